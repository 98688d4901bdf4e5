//! Tracking the driving videos in ../shared/testdata through the video frame source: frames arrive in
//! order with increasing timestamps, and the face is never lost for more than 2 frames in a row.

mod common;

use bevy_talking_head::capture::{FrameSource, VideoFileSource};
use bevy_talking_head::tracking::ImageView;

#[test]
fn driving_videos_are_tracked_without_losing_the_face() {
    let Some(data) = common::testdata("driving") else {
        return;
    };
    let mut tracker = common::tracker();
    for name in [
        "expressions_greenscreen.mp4",
        "expressions_head_turns.mp4",
        "webcam_talking.mp4",
    ] {
        let mut source = VideoFileSource::open(data.join(name)).unwrap();
        tracker.reset();
        let (mut frames, mut lost_run, mut worst_run, mut lost, mut detections) =
            (0u64, 0, 0, 0, 0);
        let mut last_time = None;
        let mut mouth = Vec::new();
        while let Some(frame) = source.next_frame().unwrap() {
            assert_eq!(frame.index, frames, "{name}: frames out of order");
            if let Some(t) = last_time {
                assert!(
                    frame.timestamp > t,
                    "{name}: timestamp did not increase at frame {}",
                    frame.index
                );
            }
            last_time = Some(frame.timestamp);
            frames += 1;
            let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, name).unwrap();
            match tracker.track(&view).unwrap() {
                Some(face) => {
                    lost_run = 0;
                    detections += face.detection.is_some() as u32;
                    let p = &face.landmarks.points;
                    let d = |a: usize, b: usize| {
                        ((p[a][0] - p[b][0]).powi(2) + (p[a][1] - p[b][1]).powi(2)).sqrt()
                    };
                    // Inner-lip gap over the eye-corner distance: how open the mouth is.
                    mouth.push(d(13, 14) / d(33, 263));
                }
                None => {
                    lost += 1;
                    lost_run += 1;
                    worst_run = worst_run.max(lost_run);
                }
            }
        }
        let (lo, hi) = mouth
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), m| (lo.min(*m), hi.max(*m)));
        println!(
            "{name}: {frames} frames, {lost} lost (longest run {worst_run}), detector ran {detections} times, mouth opening {lo:.2}..{hi:.2}"
        );
        assert!(frames > 50, "{name}: only {frames} frames decoded");
        assert!(
            worst_run <= 2,
            "{name}: the face was lost for {worst_run} frames in a row"
        );
        assert!(
            detections < frames as u32 / 4,
            "{name}: tracking mode should rarely need the detector"
        );
        assert!(
            hi - lo > 0.1,
            "{name}: the mouth never moved ({lo:.2}..{hi:.2})"
        );
    }
}

#[test]
fn missing_and_broken_videos_are_clear_errors() {
    let e = VideoFileSource::open("no/such/video.mp4")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no/such/video.mp4") && e.contains("no such file"),
        "{e}"
    );
    let e = VideoFileSource::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/corrupt.onnx"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("corrupt.onnx") && e.contains("ffprobe"), "{e}");
}
