//! Pose and expression from landmarks on the driving videos: calibrated neutral reads as zero, jawOpen
//! follows the mouth, yaw follows the head turns. Writes a contact sheet to
//! `target/tmp/expression/<video>.png` (frames with jawOpen, blink and yaw bars) to look at.

mod common;

use std::path::Path;

use bevy_talking_head::capture::{FrameSource, VideoFileSource};
use bevy_talking_head::tracking::{ExpressionFeatures, FaceAnalyzer, ImageView, fit_pose};
use bevy_talking_head::{Expression, FaceFrame};

struct Sample {
    frame: image::RgbImage,
    face: FaceFrame,
}

fn run(name: &str) -> Option<Vec<Sample>> {
    let data = common::testdata("driving")?;
    let mut tracker = common::tracker();
    let mut analyzer = FaceAnalyzer::default();
    let mut source = VideoFileSource::open(data.join(name)).unwrap();
    let mut out = Vec::new();
    while let Some(frame) = source.next_frame().unwrap() {
        let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, name).unwrap();
        let tracked = tracker.track(&view).unwrap().expect("face lost");
        if frame.index == 0 {
            let pose = fit_pose(&tracked.landmarks.points);
            let canon: Vec<_> = tracked
                .landmarks
                .points
                .iter()
                .map(|p| pose.to_canonical(*p))
                .collect();
            println!(
                "{name} frame 0 features {:?}",
                ExpressionFeatures::measure(&canon, None)
            );
            analyzer.calibrate(&tracked);
        }
        let face = analyzer.analyze(&tracked, frame.timestamp.as_secs_f64());
        if frame.index == 0 {
            // The calibration frame has no expression offsets.
            let offsets = analyzer.expression_offsets(&tracked);
            assert!(
                offsets.iter().flatten().all(|v| v.abs() < 1e-4),
                "{name}: neutral offsets"
            );
        }
        if face.expressions.get(Expression::JawOpen) > 0.4 {
            // An open jaw moves the lower lip (mesh point 14) and the chin (152) down in the canonical frame.
            let offsets = analyzer.expression_offsets(&tracked);
            let (lip, chin) = (offsets[14], offsets[152]);
            let gap = offsets[14][1] - offsets[13][1];
            // (The blendshape model reads jawOpen 0.4 from a lip gap of about 0.12 eye widths.)
            assert!(
                lip[1] > 0.03 && chin[1] > 0.0 && gap > 0.08,
                "{name} frame {}: lip {lip:?}, chin {chin:?}, gap {gap}",
                frame.index
            );
        }
        out.push(Sample {
            frame: image::RgbImage::from_raw(frame.width, frame.height, frame.rgb).unwrap(),
            face,
        });
    }
    Some(out)
}

/// 8 frames in a row, each with bars under it: jawOpen (red), eyeBlinkLeft (blue), yaw (green, centred).
fn contact_sheet(name: &str, samples: &[Sample]) {
    let (tile, bar) = (160u32, 12u32);
    let picks: Vec<usize> = (0..8).map(|i| i * (samples.len() - 1) / 7).collect();
    let mut sheet =
        image::RgbImage::from_pixel(tile * 8, tile + 3 * bar, image::Rgb([255, 255, 255]));
    for (col, &i) in picks.iter().enumerate() {
        let s = &samples[i];
        let small =
            image::imageops::resize(&s.frame, tile, tile, image::imageops::FilterType::Triangle);
        image::imageops::overlay(&mut sheet, &small, (col as u32 * tile) as i64, 0);
        let bars = [
            (
                s.face.expressions.get(Expression::JawOpen),
                [220, 40, 40],
                false,
            ),
            (
                s.face.expressions.get(Expression::EyeBlinkLeft),
                [40, 40, 220],
                false,
            ),
            (s.face.head.yaw / 0.8, [40, 160, 40], true),
        ];
        for (row, (v, c, centred)) in bars.into_iter().enumerate() {
            let y0 = tile + row as u32 * bar + 2;
            let (from, to) = if centred {
                let mid = tile as f32 / 2.0;
                let end = mid + v.clamp(-1.0, 1.0) * mid;
                (mid.min(end), mid.max(end))
            } else {
                (0.0, v.clamp(0.0, 1.0) * tile as f32)
            };
            for x in from as u32..(to as u32).max(from as u32 + 1).min(tile) {
                for y in y0..y0 + bar - 4 {
                    sheet.put_pixel(col as u32 * tile + x, y, image::Rgb(c));
                }
            }
        }
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("expression");
    std::fs::create_dir_all(&dir).unwrap();
    sheet.save(dir.join(format!("{name}.png"))).unwrap();
}

fn range(samples: &[Sample], f: impl Fn(&FaceFrame) -> f32) -> (f32, f32) {
    samples
        .iter()
        .map(|s| f(&s.face))
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

#[test]
fn jaw_open_follows_the_mouth_and_the_calibrated_neutral_reads_as_zero() {
    for name in ["expressions_greenscreen.mp4", "webcam_talking.mp4"] {
        let Some(samples) = run(name) else { return };
        contact_sheet(name, &samples);
        let first = &samples[0].face;
        let strongest = first
            .expressions
            .iter_nonzero()
            .map(|(_, w)| w)
            .fold(0.0, f32::max);
        assert!(
            strongest < 0.05,
            "{name}: the calibration frame reads {:?}",
            first.expressions
        );
        let (lo, hi) = range(&samples, |f| f.expressions.get(Expression::JawOpen));
        println!("{name}: jawOpen {lo:.2}..{hi:.2}");
        // The blendshape model's jawOpen: Google's MediaPipe reads at most 0.24 on the greenscreen video (the
        // actor barely drops the jaw while grimacing) and 0.87 on the talking one
        // (tests/data/mediapipe_reference.json); calibration takes a little off.
        let open = if name == "webcam_talking.mp4" {
            0.6
        } else {
            0.15
        };
        assert!(lo < 0.05 && hi > open, "{name}: jawOpen {lo:.2}..{hi:.2}");
    }
}

#[test]
fn yaw_follows_head_turns() {
    let name = "expressions_head_turns.mp4";
    let Some(samples) = run(name) else { return };
    contact_sheet(name, &samples);
    let (lo, hi) = range(&samples, |f| f.head.yaw);
    let (plo, phi) = range(&samples, |f| f.head.pitch);
    println!(
        "{name}: yaw {:.0}..{:.0} deg, pitch {:.0}..{:.0} deg",
        lo.to_degrees(),
        hi.to_degrees(),
        plo.to_degrees(),
        phi.to_degrees()
    );
    let (gxlo, gxhi) = range(&samples, |f| {
        f.expressions.get(Expression::EyeLookOutLeft) - f.expressions.get(Expression::EyeLookInLeft)
    });
    println!("{name}: left eye eyeLookOut - eyeLookIn {gxlo:.2}..{gxhi:.2}");
    // Only frames with open eyes: a closed lid hides the iris.
    let open: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.face
                .expressions
                .get(Expression::EyeBlinkLeft)
                .max(s.face.expressions.get(Expression::EyeBlinkRight))
                < 0.3
        })
        .collect();
    let corr = |a: &dyn Fn(&FaceFrame) -> f32, b: &dyn Fn(&FaceFrame) -> f32| {
        let samples = &open;
        let n = samples.len() as f32;
        let (ma, mb) = (
            samples.iter().map(|s| a(&s.face)).sum::<f32>() / n,
            samples.iter().map(|s| b(&s.face)).sum::<f32>() / n,
        );
        let cov: f32 = samples
            .iter()
            .map(|s| (a(&s.face) - ma) * (b(&s.face) - mb))
            .sum();
        let va: f32 = samples.iter().map(|s| (a(&s.face) - ma).powi(2)).sum();
        let vb: f32 = samples.iter().map(|s| (b(&s.face) - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    };
    // Gaze arrives as the eyeLook weights (the blendshape model reads them; the gaze angles stay 0): each
    // eye's turn to the head's left and up.
    let e = |f: &FaceFrame, x: Expression| f.expressions.get(x);
    let left_yaw =
        |f: &FaceFrame| e(f, Expression::EyeLookOutLeft) - e(f, Expression::EyeLookInLeft);
    let right_yaw =
        |f: &FaceFrame| e(f, Expression::EyeLookInRight) - e(f, Expression::EyeLookOutRight);
    let left_pitch =
        |f: &FaceFrame| e(f, Expression::EyeLookUpLeft) - e(f, Expression::EyeLookDownLeft);
    let right_pitch =
        |f: &FaceFrame| e(f, Expression::EyeLookUpRight) - e(f, Expression::EyeLookDownRight);
    let yaw_corr = corr(&left_yaw, &right_yaw);
    let pitch_corr = corr(&left_pitch, &right_pitch);
    println!(
        "{name}: left/right eye gaze correlation over {} open-eye frames: yaw {yaw_corr:.2}, pitch {pitch_corr:.2}",
        open.len()
    );
    // Both eyes look the same way, sideways and (with the blendshape model) up and down.
    assert!(
        pitch_corr > 0.5,
        "{name}: the two eyes' vertical gaze disagree (correlation {pitch_corr:.2})"
    );
    assert!(
        yaw_corr > 0.5,
        "{name}: the two eyes' horizontal gaze disagree (correlation {yaw_corr:.2})"
    );
    let (blo, bhi) = range(&samples, |f| f.expressions.get(Expression::EyeBlinkLeft));
    println!("{name}: eyeBlinkLeft {blo:.2}..{bhi:.2}");
    // The eyes close fully around 1.5 s into the video: the blendshape model reads that as 0.70 (Google's
    // MediaPipe too: tests/data/mediapipe_reference.json), a little less after calibration.
    assert!(
        blo < 0.05 && bhi > 0.6,
        "{name}: eyeBlinkLeft {blo:.2}..{bhi:.2}"
    );
    // The video turns the head by about 20 degrees each way (looked at in the contact sheet).
    assert!(
        lo < -0.2 && hi > 0.2,
        "{name}: yaw {lo:.2}..{hi:.2} rad; the head turns both ways by over 11 degrees"
    );
}
