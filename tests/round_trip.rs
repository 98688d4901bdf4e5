//! Round-trip fidelity (issue 17): the driving videos' faces, read by the tracker and its blendshape model,
//! drive the mesh warp on a portrait; the same tracker reads the rendered frames back. The figure is
//! Pearson's r, per ARKit channel over every frame of the three videos, between the blendshape model's raw
//! weights on the DRIVER and on the RENDERED frames: what a viewer (here the model) sees of each expression
//! after the whole chain (tracking, calibration, retargeting, rig shapes, warp). The pipeline before
//! issue 17 (the 468-point mesh and the iris model, about 10 channels read by rules, the hand-made
//! shapes) runs beside it on the same frames, read back by the same judge: the new one must carry at
//! least 0.1 more mean r on each portrait (measured: 0.714 against 0.442, 0.681 against 0.469).
//!
//! Writes `target/round_trip_greenscreen.png` (driver | rendered pairs, expressions_greenscreen.mp4 on the
//! demo portrait, every 6th frame) for looking at.

mod common;

use std::path::Path;

use bevy_talking_head::capture::{FrameSource, VideoFileSource};
use bevy_talking_head::prelude::*;
use bevy_talking_head::rig::ExpressionRig;
use bevy_talking_head::tracking::{
    FaceAnalyzer, FaceTracker, ImageView, TrackedFace, TrackerModels,
};
use common::warp::{contact_sheet_cols, demo, face_portrait_with, pearson};

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
/// blinks scatter more; browInnerUp comes back at 0.2-0.3 of the driver's on Mona Lisa (a stronger
/// shape than today's pulls eyeLookDown, mouthPucker and browOuterUp down with it).
const MEAN_FLOOR: (f32, f32) = (0.66, 0.63); // measured 0.714, 0.681
const KEY_FLOORS: [(&str, f32, f32); 8] = [
    ("jawOpen", 0.8, 0.8),          // 0.865, 0.888
    ("eyeBlinkLeft", 0.8, 0.71),    // 0.889, 0.732 (0.851, 0.743 before the closed eye's lash line)
    ("eyeBlinkRight", 0.8, 0.69),   // 0.910, 0.706 (0.891, 0.723)
    ("mouthSmileLeft", 0.56, 0.8),  // 0.592, 0.990
    ("mouthSmileRight", 0.55, 0.8), // 0.588, 0.986
    // Demo 0.768 before issue 18's mouth, 0.641 after (slope 0.01-0.02 both times: the resting smile
    // keeps the model's pucker flat on the demo, so its r is read on a near-zero response; the new
    // interior and the jawOpen limit (MAX_JAW_OPENING) moved it, Mona Lisa's 0.826 -> 0.805 held).
    ("mouthPucker", 0.59, 0.8),
    ("mouthFunnel", 0.8, 0.8), // driver std below 0.05 in these videos: not judged
    ("browInnerUp", 0.8, 0.6), // 0.861, 0.650
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

/// One way from the driver's face to the portrait: the tracker that reads the driver (and rigs the
/// portraits) and the expression rig. The rendered frames are always read back by the same judge, Face
/// Mesh V2 and its blendshape model.
struct Pipeline {
    name: &'static str,
    models: TrackerModels,
    rig: ExpressionRig,
}

#[test]
fn driver_expressions_survive_the_round_trip() {
    let Some(data) = common::testdata("driving") else {
        return;
    };
    let Some(paintings) = common::testdata("paintings") else {
        return;
    };
    // Today's pipeline, and the one before issue 17 (468 points and the iris model, about 10 channels
    // read by rules from the mesh's geometry, the hand-made shapes): its figures on this harness are
    // what the new pipeline is measured against.
    let pipelines = [
        Pipeline {
            name: "mesh V2 + blendshapes",
            models: TrackerModels::MeshV2,
            rig: ExpressionRig::default(),
        },
        Pipeline {
            name: "old: 468 + iris, rules, hand-made shapes",
            models: TrackerModels::MeshV1,
            rig: ExpressionRig::hand_made(),
        },
    ];
    let paths = [demo(), paintings.join("mona_lisa.jpg")];
    let portraits: Vec<Vec<_>> = pipelines
        .iter()
        .map(|pipe| {
            let tracker = common::tracker_with(pipe.models);
            paths
                .iter()
                .map(|path| face_portrait_with(&tracker, path, SIDE, &pipe.rig))
                .collect()
        })
        .collect();
    let mut driver: Vec<ExpressionWeights> = Vec::new();
    let mut readbacks: Vec<Vec<Readback>> = pipelines
        .iter()
        .map(|_| {
            paths
                .iter()
                .map(|path| Readback {
                    name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                    weights: Vec::new(),
                })
                .collect()
        })
        .collect();
    let mut sheet = Vec::new();
    for name in VIDEOS {
        // The driver: every frame in video mode, read by each pipeline's tracker; the judge's scores are
        // Face Mesh V2's. The frames without a face (none in these videos) are left out.
        let mut trackers: Vec<FaceTracker> = pipelines
            .iter()
            .map(|p| common::tracker_with(p.models))
            .collect();
        let mut source = VideoFileSource::open(data.join(name)).unwrap();
        let mut frames = Vec::new();
        let mut total = 0;
        while let Some(frame) = source.next_frame().unwrap() {
            total += 1;
            let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, name).unwrap();
            let tracked: Vec<Option<TrackedFace>> = trackers
                .iter_mut()
                .map(|t| t.track(&view).unwrap())
                .collect();
            if let Some(judged) = &tracked[0] {
                assert!(
                    judged.blendshapes.is_some(),
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
        let sum = |t: &[Option<TrackedFace>]| -> f32 {
            t[0].as_ref()
                .unwrap()
                .blendshapes
                .unwrap()
                .as_slice()
                .iter()
                .sum()
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
        driver.extend(
            frames
                .iter()
                .map(|(_, t)| t[0].as_ref().unwrap().blendshapes.unwrap()),
        );
        for (k, pipe) in pipelines.iter().enumerate() {
            for ((p, head), readback) in portraits[k].iter().zip(&mut readbacks[k]) {
                let mut analyzer = FaceAnalyzer::default();
                if let Some(n) = &neutral.1[k] {
                    analyzer.calibrate(n);
                }
                let mut follower = common::tracker();
                let mut out = vec![0u8; p.rgba.len()];
                let mut lost = 0;
                let mut face = FaceFrame::neutral();
                for (frame, tracked) in &frames {
                    // Where this pipeline's tracker lost the face, the avatar holds its last face.
                    if let Some(t) = &tracked[k] {
                        face = analyzer.analyze(t, frame.timestamp.as_secs_f64());
                    }
                    let stats = head.render(&face, &mut out);
                    assert_eq!(stats.uncovered, 0, "{name} frame {}: holes", frame.index);
                    let view = ImageView::new(p.width, p.height, 4, &out, "rendered").unwrap();
                    let seen = follower.track(&view).unwrap();
                    lost += seen.is_none() as usize;
                    readback
                        .weights
                        .push(seen.map(|s| s.blendshapes.expect("Face Mesh V2 gives blendshapes")));
                    if k == 0
                        && name == VIDEOS[0]
                        && readback.name == "astronaut"
                        && frame.index % 6 == 0
                    {
                        sheet.push(small(&rgba(&frame.rgb), frame.width, frame.height, 224));
                        sheet.push(small(&out, p.width, p.height, 224));
                    }
                }
                eprintln!(
                    "{name} on {} ({}): no face read back on {lost}/{} rendered frames",
                    readback.name,
                    pipe.name,
                    frames.len()
                );
                assert!(
                    lost * 20 <= frames.len(),
                    "{name} on {} ({}): lost {lost} frames",
                    readback.name,
                    pipe.name
                );
            }
        }
    }
    let sheet_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/round_trip_greenscreen.png");
    contact_sheet_cols(&sheet, 224, 224, 8, &sheet_path);
    eprintln!("wrote {}", sheet_path.display());

    // Per channel: the driver's spread, and per portrait r and the slope of rendered on driver (what gain
    // on the analyzer's output would bring the rendered weight to the driver's: about 1 / slope, where the
    // response is linear); r of the old pipeline beside.
    struct Row {
        name: &'static str,
        std: f32,
        /// `[pipeline][portrait]`.
        r: Vec<Vec<f32>>,
        slope: Vec<f32>,
    }
    let mut rows = Vec::new();
    for e in Expression::ALL {
        let all: Vec<f32> = driver.iter().map(|w| w.get(e)).collect();
        let sd = std(&all);
        if sd < MIN_STD {
            continue;
        }
        let mut r = Vec::new();
        let mut k = Vec::new();
        for (n, pipeline) in readbacks.iter().enumerate() {
            let mut rs = Vec::new();
            for readback in pipeline {
                let (x, y): (Vec<f32>, Vec<f32>) = driver
                    .iter()
                    .zip(&readback.weights)
                    .filter_map(|(d, w)| w.map(|w| (d.get(e), w.get(e))))
                    .unzip();
                rs.push(pearson(&x, &y));
                if n == 0 {
                    k.push(slope(&x, &y));
                }
            }
            r.push(rs);
        }
        rows.push(Row {
            name: e.name(),
            std: sd,
            r,
            slope: k,
        });
    }
    let mean = |pipeline: usize, portrait: usize| {
        rows.iter()
            .map(|row| row.r[pipeline][portrait])
            .sum::<f32>()
            / rows.len() as f32
    };
    eprintln!(
        "\nround trip over {} driver frames, the {} channels with driver std >= {MIN_STD}:",
        driver.len(),
        rows.len()
    );
    let short = |k: usize| &readbacks[0][k].name[..readbacks[0][k].name.len().min(7)];
    eprintln!(
        "{:<20} {:>10} {:>9} {:>9} {:>11} {:>11} {:>9} {:>9}",
        "channel",
        "driver std",
        format!("r {}", short(0)),
        format!("r {}", short(1)),
        "slope demo",
        "slope paint",
        "old demo",
        "old paint"
    );
    for row in &rows {
        let key = if KEY.contains(&row.name) { " *" } else { "" };
        eprintln!(
            "{:<20} {:>10.3} {:>9.2} {:>9.2} {:>11.2} {:>11.2} {:>9.2} {:>9.2}{key}",
            row.name,
            row.std,
            row.r[0][0],
            row.r[0][1],
            row.slope[0],
            row.slope[1],
            row.r[1][0],
            row.r[1][1]
        );
    }
    for (n, pipe) in pipelines.iter().enumerate() {
        eprintln!(
            "{}: mean r {:.3} ({}), {:.3} ({})",
            pipe.name,
            mean(n, 0),
            readbacks[n][0].name,
            mean(n, 1),
            readbacks[n][1].name
        );
    }
    let mut failures = Vec::new();
    let floors = [MEAN_FLOOR.0, MEAN_FLOOR.1];
    for (k, readback) in readbacks[0].iter().enumerate() {
        let (new, old) = (mean(0, k), mean(1, k));
        let floor = floors[k].min(TARGET_MEAN);
        eprintln!(
            "{}: mean r {new:.3} (target {TARGET_MEAN}, regression floor {floor}; the old pipeline {old:.3})",
            readback.name
        );
        if new < floor {
            failures.push(format!("{}: mean r {new:.3} < {floor}", readback.name));
        }
        // What issue 17 was for: the new pipeline carries more of the driver's face than the old one.
        if new < old + 0.1 {
            failures.push(format!(
                "{}: mean r {new:.3} is not 0.1 above the old pipeline's {old:.3}",
                readback.name
            ));
        }
        for (channel, demo_floor, painting_floor) in KEY_FLOORS {
            let Some(row) = rows.iter().find(|row| row.name == channel) else {
                let e: Expression = channel.parse().unwrap();
                let sd = std(&driver.iter().map(|w| w.get(e)).collect::<Vec<f32>>());
                eprintln!("  {channel}: driver std {sd:.3} below {MIN_STD}, not judged");
                continue;
            };
            let r = row.r[0][k];
            let floor = [demo_floor, painting_floor][k].min(TARGET_KEY);
            let gap = if r < TARGET_KEY { "  BELOW TARGET" } else { "" };
            eprintln!(
                "  {channel:<16} r {r:.3} (target {TARGET_KEY}, floor {floor}; old {:.3}){gap}",
                row.r[1][k]
            );
            if r < floor {
                failures.push(format!("{}: {channel} r {r:.3} < {floor}", readback.name));
            }
        }
    }
    assert!(failures.is_empty(), "round trip regressed: {failures:#?}");
}
