//! Round-trip fidelity (issue 17): the driving videos' faces, read by the tracker and its blendshape model,
//! drive the mesh warp on a portrait; the same tracker reads the rendered frames back. The figure is
//! Pearson's r, per ARKit channel over every frame of the three videos, between the blendshape model's raw
//! weights on the DRIVER and on the RENDERED frames: what a viewer (here the model) sees of each expression
//! after the whole chain (tracking, calibration, retargeting, rig shapes, warp). The pipeline before
//! issue 17 (the 468-point mesh and the iris model, about 10 channels read by rules, the hand-made
//! shapes) runs beside it on the same frames, read back by the same judge: the new one must carry at
//! least 0.1 more mean r on each portrait (measured: 0.788 against 0.434, 0.699 against 0.468 on
//! 2026-12-01; 0.714 against 0.442, 0.681 against 0.469 when this test was written).
//!
//! To iterate on one part (the figures are printed, the floors are not checked): `ROUND_TRIP_PORTRAITS`
//! (`astronaut`, `mona_lisa`, or any other of the shared paintings' file stems, comma-separated; a
//! painting other than these two may lose more rendered frames than the check allows: printed),
//! `ROUND_TRIP_VIDEOS` (file names), `ROUND_TRIP_OLD=0`
//! (leave the old pipeline out), `ROUND_TRIP_RELATIVE=0` (the default rig instead of
//! `ExpressionRig::player_driven`).
//!
//! Writes `target/round_trip_greenscreen.png` (driver | rendered pairs, expressions_greenscreen.mp4 on the
//! demo portrait, every 6th frame) and `target/round_trip_greenscreen_mona_lisa.png` for looking at;
//! with `ROUND_TRIP_FRAMES=<dir>`, those rendered frames at full size too; with `ROUND_TRIP_CSV=<file>`,
//! every frame's 52 driver and rendered weights per portrait (`d_<name>`, `r_<name>`; empty where no face
//! was read back).

mod common;

use std::path::Path;

use bevy_talking_head::capture::{FrameSource, VideoFileSource};
use bevy_talking_head::prelude::*;
use bevy_talking_head::rig::ExpressionRig;
use bevy_talking_head::tracking::{
    FaceAnalyzer, FaceTracker, ImageView, TrackedFace, TrackerModels,
};
use common::warp::{contact_sheet_cols, demo, face_portrait_with, images, pearson};

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

/// Regression floors where a target does not hold yet: the figure measured (printed beside each) minus
/// about 0.05, per portrait `(demo, painting)`; the target where it holds. A floor never exceeds its
/// target; raise these as the round trip improves. What holds the gaps back (looked at in the contact
/// sheets and in the slopes the test prints): Face Mesh V2 does not see Mona Lisa's rendered closed eye
/// as fully closed (its lids stay about 75 % open, where a real blink in the driving videos leaves them
/// under 10 %; the closed lid was drawn as a pale patch over her shadowed eye socket; a darker, thicker
/// lash line took her blinks from 0.72/0.71 to 0.79/0.75, and the eye's opening filled exactly instead of
/// as a fan that drew eyeball over her lowered lids, to 0.86/0.81); her raised inner brows came back at
/// 0.25 of the driver's (r 0.65) until brows the picture does not draw were raised 1.6x
/// (`rig::brow_gain`; the same gain on drawn brows crowded the demo's fringe into specks in
/// tests/artefacts.rs); her vertical gaze (eyeLookDown r 0.65-0.67, slope 0.18-0.19) and squints
/// (0.56-0.61) keep her mean down.
///
/// 2026-12-01, `ExpressionRig::player_driven` (the portrait's own expression as the starting point: the
/// demo smiles with her teeth at rest, and read her smile at slope 0.12, r 0.62, before; mouthPucker
/// 1.5x) and the closed eye's lash line: demo 0.707 -> 0.788, Mona Lisa 0.684 -> 0.699 (the default
/// rig: see BENCHMARKS.md). 2026-12-03, the eye's opening filled exactly (no fan over lowered lids),
/// closing lids faded in along the lid, the sclera where an iris was with the portrait's grain: demo
/// 0.788 -> 0.790, Mona Lisa 0.690 -> 0.702, her blinks 0.79/0.75 -> 0.86/0.81. Her faint brows raised
/// 1.6x: her browInnerUp 0.653 -> 0.817, mean 0.704. Her closed lids as skin with the grain of the skin
/// above the fold, the lashes kept at their measured thickness (a fixed share of the eye had copied her
/// lid crease onto the closed lid as a dark band): blinks 0.87/0.84, eyeLookDown 0.54/0.57 ->
/// 0.65/0.67 (the model reads a closed eye as looking down too), mean 0.714. The default rig's gains on
/// the lips' smaller motions (`rig::SHAPE_GAINS`: mouthUpperUp 1.5x, mouthStretch and mouthShrug 2x,
/// mouthLowerDown 1.4x): means 0.827 and 0.731. 2026-12-03, looking up raises the lid by half the
/// opening over eyeball in its shadow: 0.833 and 0.741. 2026-12-04, the place an iris leaves shows the
/// eye beside it, not a disc of the mean white: 0.837 and 0.728 (Mona Lisa's sideways looks and look up
/// read weaker from her own dim white than from the pale disc). 2026-12-05, the upper lid lowers with a
/// look down (`rig::LOOK_DOWN_LID`), never past the lower lid: 0.841 and 0.736 (her eyeLookDown
/// 0.64/0.64 -> 0.69/0.70). 2026-12-05, the open mouth rounder and darker: 0.854 and 0.743; a
/// portrait's own squint undone by its lower lids (`rig::RELATIVE_CHANNELS`), the eye's lower half
/// stretched down to the lowered lid: 0.848 and 0.762 (0.761 with the iris-top sliver; her looks down 0.73 -> 0.85/0.83, brows down
/// 0.66/0.73 -> 0.71/0.78): the target holds on both portraits.
const MEAN_FLOOR: (f32, f32) = (0.75, 0.75); // measured 0.848, 0.761
const KEY_FLOORS: [(&str, f32, f32); 8] = [
    ("jawOpen", 0.8, 0.8),         // 0.856, 0.877
    ("eyeBlinkLeft", 0.8, 0.8), // 0.930, 0.910 (Mona Lisa 0.72 before the lash line, 0.79 the fan)
    ("eyeBlinkRight", 0.8, 0.8), // 0.940, 0.860 (0.71, 0.75)
    ("mouthSmileLeft", 0.8, 0.8), // 0.932, 0.985 (demo 0.62 before the portrait's own smile)
    ("mouthSmileRight", 0.8, 0.8), // 0.936, 0.975 (demo 0.60)
    ("mouthPucker", 0.8, 0.8),  // 0.846, 0.887 (0.68, 0.87 before; 1.5x and the un-smiled rest)
    ("mouthFunnel", 0.8, 0.8),  // driver std below 0.05 in these videos: not judged
    ("browInnerUp", 0.8, 0.8),  // 0.861, 0.817 (Mona Lisa 0.653 before her faint brows' gain)
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

/// The items of the comma-separated list in the environment variable `var` that `keep` names; all
/// when it is unset.
fn filtered<T>(var: &str, items: Vec<T>, name: impl Fn(&T) -> String) -> (Vec<T>, bool) {
    match std::env::var(var) {
        Ok(list) => {
            let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
            let kept: Vec<T> = items
                .into_iter()
                .filter(|t| wanted.contains(&name(t).as_str()))
                .collect();
            assert!(!kept.is_empty(), "{var}={list} names none");
            (kept, true)
        }
        Err(_) => (items, false),
    }
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
    let mut pipelines = vec![
        Pipeline {
            name: "mesh V2 + blendshapes",
            models: TrackerModels::MeshV2,
            // A head a player drives (`ExpressionRig::player_driven`): from the portrait's own expression
            // (the demo smiles at rest), a stronger pucker. `ROUND_TRIP_RELATIVE=0` measures the default
            // rig instead.
            rig: if std::env::var("ROUND_TRIP_RELATIVE").is_ok_and(|v| v == "0") {
                ExpressionRig::default()
            } else {
                ExpressionRig::player_driven()
            },
        },
        Pipeline {
            name: "old: 468 + iris, rules, hand-made shapes",
            models: TrackerModels::MeshV1,
            rig: ExpressionRig::hand_made(),
        },
    ];
    let with_old = std::env::var("ROUND_TRIP_OLD").map_or(true, |v| v != "0");
    if !with_old {
        pipelines.truncate(1);
    }
    // The demo and Mona Lisa by default; `ROUND_TRIP_PORTRAITS` may name any of the shared paintings.
    let stem = |p: &std::path::PathBuf| p.file_stem().unwrap().to_string_lossy().into_owned();
    let (paths, some_portraits) = match std::env::var("ROUND_TRIP_PORTRAITS") {
        Ok(_) => {
            let mut all = vec![demo()];
            all.extend(images(&paintings));
            filtered("ROUND_TRIP_PORTRAITS", all, stem)
        }
        Err(_) => (vec![demo(), paintings.join("mona_lisa.jpg")], false),
    };
    let (videos, some_videos) = filtered("ROUND_TRIP_VIDEOS", VIDEOS.to_vec(), |v| v.to_string());
    let relative_off = std::env::var("ROUND_TRIP_RELATIVE").is_ok_and(|v| v == "0");
    let filtered_run = !with_old || some_portraits || some_videos || relative_off;
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
    let mut sheets: Vec<Vec<Vec<u8>>> = vec![Vec::new(); paths.len()];
    let frames_dir = std::env::var_os("ROUND_TRIP_FRAMES").map(std::path::PathBuf::from);
    // The portraits' own expressions (the scores the rig starts from).
    for ((p, _), path) in portraits[0].iter().zip(&paths) {
        let view = ImageView::new(p.width, p.height, 4, &p.rgba, "portrait").unwrap();
        if let Some(face) = common::tracker().detect_still(&view).unwrap() {
            let mut own: Vec<(Expression, f32)> = face
                .blendshapes
                .unwrap()
                .iter_nonzero()
                .filter(|(_, w)| *w >= 0.1)
                .collect();
            own.sort_by(|a, b| b.1.total_cmp(&a.1));
            eprintln!(
                "{}: its own expression {}",
                path.file_stem().unwrap().to_string_lossy(),
                own.iter()
                    .map(|(e, w)| format!("{} {w:.2}", e.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    for name in videos.iter().copied() {
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
            for (n, ((p, head), readback)) in portraits[k].iter().zip(&mut readbacks[k]).enumerate()
            {
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
                    if k == 0 && name == VIDEOS[0] && frame.index % 6 == 0 {
                        sheets[n].push(small(&rgba(&frame.rgb), frame.width, frame.height, 224));
                        sheets[n].push(small(&out, p.width, p.height, 224));
                        if let Some(dir) = &frames_dir {
                            std::fs::create_dir_all(dir).unwrap();
                            let img = image::RgbaImage::from_raw(p.width, p.height, out.clone());
                            img.unwrap()
                                .save(dir.join(format!("{}_{:03}.png", readback.name, frame.index)))
                                .unwrap();
                        }
                    }
                }
                eprintln!(
                    "{name} on {} ({}): no face read back on {lost}/{} rendered frames",
                    readback.name,
                    pipe.name,
                    frames.len()
                );
                // (A filtered run may name a portrait the tracker loses more often: printed above.)
                assert!(
                    some_portraits || lost * 20 <= frames.len(),
                    "{name} on {} ({}): lost {lost} frames",
                    readback.name,
                    pipe.name
                );
            }
        }
    }
    for (sheet, readback) in sheets.iter().zip(&readbacks[0]) {
        let file = match readback.name.as_str() {
            "astronaut" => "target/round_trip_greenscreen.png".to_string(),
            other => format!("target/round_trip_greenscreen_{other}.png"),
        };
        let sheet_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        contact_sheet_cols(sheet, 224, 224, 8, &sheet_path);
        eprintln!("wrote {}", sheet_path.display());
    }

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
    if let Some(path) = std::env::var_os("ROUND_TRIP_CSV") {
        let mut csv = String::from("portrait,frame");
        for e in Expression::ALL {
            csv += &format!(",d_{0},r_{0}", e.name());
        }
        csv.push('\n');
        for readback in &readbacks[0] {
            for (i, (d, w)) in driver.iter().zip(&readback.weights).enumerate() {
                csv += &format!("{},{i}", readback.name);
                for e in Expression::ALL {
                    csv += &format!(
                        ",{:.4},{}",
                        d.get(e),
                        w.map_or(String::new(), |w| format!("{:.4}", w.get(e)))
                    );
                }
                csv.push('\n');
            }
        }
        std::fs::write(path, csv).unwrap();
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
    let portraits_n = readbacks[0].len();
    let mut header = format!("{:<20} {:>10}", "channel", "driver std");
    for k in 0..portraits_n {
        header += &format!(" {:>9}", format!("r {}", short(k)));
    }
    for k in 0..portraits_n {
        header += &format!(" {:>11}", format!("slope {}", short(k)));
    }
    if pipelines.len() > 1 {
        for k in 0..portraits_n {
            header += &format!(" {:>11}", format!("old {}", short(k)));
        }
    }
    eprintln!("{header}");
    for row in &rows {
        let key = if KEY.contains(&row.name) { " *" } else { "" };
        let mut line = format!("{:<20} {:>10.3}", row.name, row.std);
        for k in 0..portraits_n {
            line += &format!(" {:>9.2}", row.r[0][k]);
        }
        for k in 0..portraits_n {
            line += &format!(" {:>11.2}", row.slope[k]);
        }
        if pipelines.len() > 1 {
            for k in 0..portraits_n {
                line += &format!(" {:>11.2}", row.r[1][k]);
            }
        }
        eprintln!("{line}{key}");
    }
    for (n, pipe) in pipelines.iter().enumerate() {
        let means: Vec<String> = (0..portraits_n)
            .map(|k| format!("{:.3} ({})", mean(n, k), readbacks[n][k].name))
            .collect();
        eprintln!("{}: mean r {}", pipe.name, means.join(", "));
    }
    let mut failures = Vec::new();
    for (k, readback) in readbacks[0].iter().enumerate() {
        let demo_portrait = readback.name == "astronaut";
        let new = mean(0, k);
        let floor = if demo_portrait {
            MEAN_FLOOR.0
        } else {
            MEAN_FLOOR.1
        }
        .min(TARGET_MEAN);
        let old = if pipelines.len() > 1 {
            format!("; the old pipeline {:.3}", mean(1, k))
        } else {
            String::new()
        };
        eprintln!(
            "{}: mean r {new:.3} (target {TARGET_MEAN}, regression floor {floor}{old})",
            readback.name
        );
        if new < floor {
            failures.push(format!("{}: mean r {new:.3} < {floor}", readback.name));
        }
        // What issue 17 was for: the new pipeline carries more of the driver's face than the old one.
        if pipelines.len() > 1 && new < mean(1, k) + 0.1 {
            failures.push(format!(
                "{}: mean r {new:.3} is not 0.1 above the old pipeline's {:.3}",
                readback.name,
                mean(1, k)
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
            let floor = if demo_portrait {
                demo_floor
            } else {
                painting_floor
            }
            .min(TARGET_KEY);
            let gap = if r < TARGET_KEY { "  BELOW TARGET" } else { "" };
            let old = if pipelines.len() > 1 {
                format!("; old {:.3}", row.r[1][k])
            } else {
                String::new()
            };
            eprintln!("  {channel:<16} r {r:.3} (target {TARGET_KEY}, floor {floor}{old}){gap}");
            if r < floor {
                failures.push(format!("{}: {channel} r {r:.3} < {floor}", readback.name));
            }
        }
    }
    if filtered_run {
        eprintln!(
            "a filtered run (ROUND_TRIP_PORTRAITS, ROUND_TRIP_VIDEOS or ROUND_TRIP_OLD): the floors are \
             not checked; failures would be {failures:#?}"
        );
        return;
    }
    assert!(failures.is_empty(), "round trip regressed: {failures:#?}");
}
