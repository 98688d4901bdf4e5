//! Round-trip fidelity (issue 17): the driving videos' faces, read by the tracker and its blendshape model,
//! drive the mesh warp on a portrait; the same tracker reads the rendered frames back. The figure is
//! Pearson's r, per ARKit channel over every frame of the three videos, between the blendshape model's raw
//! weights on the DRIVER and on the RENDERED frames: what a viewer (here the model) sees of each expression
//! after the whole chain (tracking, calibration, retargeting, rig shapes, warp).
//!
//! Writes `target/round_trip_greenscreen.png` (driver | rendered pairs, expressions_greenscreen.mp4 on the
//! demo portrait, every 6th frame) for looking at.

mod common;

use std::path::Path;

use bevy_talking_head::capture::{FrameSource, VideoFileSource};
use bevy_talking_head::prelude::*;
use bevy_talking_head::tracking::{FaceAnalyzer, ImageView};
use common::warp::{contact_sheet_cols, demo, face_portrait, pearson};

const VIDEOS: [&str; 3] = [
    "expressions_greenscreen.mp4",
    "expressions_head_turns.mp4",
    "webcam_talking.mp4",
];

/// Channels the driver moves less than this (standard deviation of its raw weight over all frames) are
/// left out: their r would measure noise.
const MIN_STD: f32 = 0.05;

/// The targets: the mean r over the channels the drivers move, and each of the key channels.
const TARGET_MEAN: f32 = 0.75;
const TARGET_KEY: f32 = 0.8;
const KEY: [&str; 8] = [
    "jawOpen",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthPucker",
    "mouthFunnel",
    "browInnerUp",
];

/// Regression floors where a target does not hold yet: the figure measured when this test was written
/// (printed beside each) minus 0.05, per portrait `(demo, painting)`; the target where it holds. A floor
/// never exceeds its target; raise these as the round trip improves. What holds the gaps back (looked at
/// in the contact sheet and in the slopes the test prints): the demo portrait smiles with her teeth at
/// rest, so the model reads her smile as near its ceiling whatever the driver does (slope 0.13, against
/// 1.0 on Mona Lisa); the blinks come back at 0.4-0.56 of the driver's score: Face Mesh V2 does not
/// see the rendered closed eye as fully closed (its lids stay 31 % open on the demo portrait and 75 %
/// on Mona Lisa, where a real blink in the driving videos leaves them under 10 %), so the painting's
/// blinks scatter more; browInnerUp comes back at 0.1-0.3 of the driver's (the rig's brow shape is
/// weak, and a stronger one pulls eyeLookDown, mouthPucker and browOuterUp down with it).
const MEAN_FLOOR: (f32, f32) = (0.66, 0.62); // measured 0.710, 0.672
const KEY_FLOORS: [(&str, f32, f32); 8] = [
    ("jawOpen", 0.8, 0.8),          // 0.859, 0.884
    ("eyeBlinkLeft", 0.8, 0.71),    // 0.888, 0.767 (0.851, 0.743 before the closed eye's lash line)
    ("eyeBlinkRight", 0.8, 0.69),   // 0.911, 0.749 (0.891, 0.723)
    ("mouthSmileLeft", 0.56, 0.8),  // 0.592, 0.991
    ("mouthSmileRight", 0.55, 0.8), // 0.578, 0.985
    ("mouthPucker", 0.74, 0.8),     // 0.793 (slope 0.01: the resting smile again), 0.848
    ("mouthFunnel", 0.8, 0.8),      // driver std below 0.05 in these videos: not judged
    ("browInnerUp", 0.72, 0.51),    // 0.776, 0.562
];

/// The portrait size the frames are rendered at (the face cropped, twice its size: about 250 px of face,
/// as in the 512 px driving videos).
const SIDE: u32 = 512;

fn rgba(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|c| [c[0], c[1], c[2], 255])
        .collect()
}

fn small(rgba: &[u8], w: u32, h: u32, side: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_raw(w, h, rgba.to_vec()).unwrap();
    image::imageops::resize(&img, side, side, image::imageops::FilterType::Triangle).into_raw()
}

/// Least-squares slope of `y` on `x`.
fn slope(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len() as f32;
    let (mx, my) = (x.iter().sum::<f32>() / n, y.iter().sum::<f32>() / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
    }
    sxy / sxx.max(1e-12)
}

fn std(x: &[f32]) -> f32 {
    let n = x.len() as f32;
    let m = x.iter().sum::<f32>() / n;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f32>() / n).sqrt()
}

/// One portrait's half of the round trip: the rendered frames' weights, `None` where the tracker found no
/// face in the rendered frame.
struct Readback {
    name: String,
    weights: Vec<Option<ExpressionWeights>>,
}

#[test]
fn driver_expressions_survive_the_round_trip() {
    let Some(data) = common::testdata("driving") else {
        return;
    };
    let Some(paintings) = common::testdata("paintings") else {
        return;
    };
    let tracker = common::tracker();
    let portraits = [demo(), paintings.join("mona_lisa.jpg")]
        .map(|path| (path.clone(), face_portrait(&tracker, &path, SIDE)));
    let mut driver: Vec<ExpressionWeights> = Vec::new();
    let mut readbacks: Vec<Readback> = portraits
        .iter()
        .map(|(path, _)| Readback {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            weights: Vec::new(),
        })
        .collect();
    let mut sheet = Vec::new();
    for name in VIDEOS {
        // The driver: every frame in video mode; the frames without a face (none in these videos) are left
        // out.
        let mut driver_tracker = common::tracker();
        let mut source = VideoFileSource::open(data.join(name)).unwrap();
        let mut frames = Vec::new();
        let mut total = 0;
        while let Some(frame) = source.next_frame().unwrap() {
            total += 1;
            let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, name).unwrap();
            if let Some(tracked) = driver_tracker.track(&view).unwrap() {
                assert!(
                    tracked.blendshapes.is_some(),
                    "Face Mesh V2 gives blendshapes"
                );
                frames.push((frame, tracked));
            }
        }
        eprintln!("{name}: a face on {}/{total} frames", frames.len());
        assert!(
            frames.len() * 10 >= total * 9,
            "{name}: the driver lost its face"
        );
        // The user's neutral, as a calibration step would capture it: the frame whose weights sum least.
        let sum = |t: &bevy_talking_head::tracking::TrackedFace| -> f32 {
            t.blendshapes.unwrap().as_slice().iter().sum()
        };
        let neutral = frames
            .iter()
            .min_by(|a, b| sum(&a.1).total_cmp(&sum(&b.1)))
            .unwrap();
        eprintln!(
            "{name}: neutral frame {} (weights sum {:.2})",
            neutral.0.index,
            sum(&neutral.1)
        );
        driver.extend(frames.iter().map(|(_, t)| t.blendshapes.unwrap()));
        for ((_, (p, head)), readback) in portraits.iter().zip(&mut readbacks) {
            let mut analyzer = FaceAnalyzer::default();
            analyzer.calibrate(&neutral.1);
            let mut follower = common::tracker();
            let mut out = vec![0u8; p.rgba.len()];
            let mut lost = 0;
            for (frame, tracked) in &frames {
                let face = analyzer.analyze(tracked, frame.timestamp.as_secs_f64());
                let stats = head.render(&face, &mut out);
                assert_eq!(stats.uncovered, 0, "{name} frame {}: holes", frame.index);
                let view = ImageView::new(p.width, p.height, 4, &out, "rendered").unwrap();
                let seen = follower.track(&view).unwrap();
                lost += seen.is_none() as usize;
                readback
                    .weights
                    .push(seen.map(|s| s.blendshapes.expect("Face Mesh V2 gives blendshapes")));
                if name == VIDEOS[0] && readback.name == "astronaut" && frame.index % 6 == 0 {
                    sheet.push(small(&rgba(&frame.rgb), frame.width, frame.height, 224));
                    sheet.push(small(&out, p.width, p.height, 224));
                }
            }
            eprintln!(
                "{name} on {}: no face read back on {lost}/{} rendered frames",
                readback.name,
                frames.len()
            );
            assert!(
                lost * 20 <= frames.len(),
                "{name} on {}: lost {lost} frames",
                readback.name
            );
        }
    }
    let sheet_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/round_trip_greenscreen.png");
    contact_sheet_cols(&sheet, 224, 224, 8, &sheet_path);
    eprintln!("wrote {}", sheet_path.display());

    // Per channel: the driver's spread, and per portrait r and the slope of rendered on driver (what gain
    // on the analyzer's output would bring the rendered weight to the driver's: about 1 / slope, where the
    // response is linear).
    struct Row {
        name: &'static str,
        std: f32,
        r: Vec<f32>,
        slope: Vec<f32>,
    }
    let mut rows = Vec::new();
    for e in Expression::ALL {
        let all: Vec<f32> = driver.iter().map(|w| w.get(e)).collect();
        let sd = std(&all);
        if sd < MIN_STD {
            continue;
        }
        let (mut r, mut k) = (Vec::new(), Vec::new());
        for readback in &readbacks {
            let (x, y): (Vec<f32>, Vec<f32>) = driver
                .iter()
                .zip(&readback.weights)
                .filter_map(|(d, w)| w.map(|w| (d.get(e), w.get(e))))
                .unzip();
            r.push(pearson(&x, &y));
            k.push(slope(&x, &y));
        }
        rows.push(Row {
            name: e.name(),
            std: sd,
            r,
            slope: k,
        });
    }
    eprintln!(
        "\nround trip over {} driver frames, the {} channels with driver std >= {MIN_STD}:",
        driver.len(),
        rows.len()
    );
    eprintln!(
        "{:<20} {:>10} {:>9} {:>9} {:>11} {:>11}",
        "channel",
        "driver std",
        format!("r {}", &readbacks[0].name[..readbacks[0].name.len().min(7)]),
        format!("r {}", &readbacks[1].name[..readbacks[1].name.len().min(7)]),
        "slope demo",
        "slope paint"
    );
    for row in &rows {
        let key = if KEY.contains(&row.name) { " *" } else { "" };
        eprintln!(
            "{:<20} {:>10.3} {:>9.2} {:>9.2} {:>11.2} {:>11.2}{key}",
            row.name, row.std, row.r[0], row.r[1], row.slope[0], row.slope[1]
        );
    }
    let mut failures = Vec::new();
    let floors = [MEAN_FLOOR.0, MEAN_FLOOR.1];
    for (k, readback) in readbacks.iter().enumerate() {
        let mean = rows.iter().map(|row| row.r[k]).sum::<f32>() / rows.len() as f32;
        let floor = floors[k].min(TARGET_MEAN);
        eprintln!(
            "{}: mean r {mean:.3} (target {TARGET_MEAN}, regression floor {floor})",
            readback.name
        );
        if mean < floor {
            failures.push(format!("{}: mean r {mean:.3} < {floor}", readback.name));
        }
        for (channel, demo_floor, painting_floor) in KEY_FLOORS {
            let Some(row) = rows.iter().find(|row| row.name == channel) else {
                let e: Expression = channel.parse().unwrap();
                let sd = std(&driver.iter().map(|w| w.get(e)).collect::<Vec<f32>>());
                eprintln!("  {channel}: driver std {sd:.3} below {MIN_STD}, not judged");
                continue;
            };
            let floor = [demo_floor, painting_floor][k].min(TARGET_KEY);
            let gap = if row.r[k] < TARGET_KEY {
                "  BELOW TARGET"
            } else {
                ""
            };
            eprintln!(
                "  {channel:<16} r {:.3} (target {TARGET_KEY}, floor {floor}){gap}",
                row.r[k]
            );
            if row.r[k] < floor {
                failures.push(format!(
                    "{}: {channel} r {:.3} < {floor}",
                    readback.name, row.r[k]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "round trip regressed: {failures:#?}");
}
