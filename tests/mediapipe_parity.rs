//! The tracker (Face Mesh V2 + Blendshape V2 through ONNX Runtime) against Google's own MediaPipe 1.2.2 on
//! the same pixels: the three shared driving videos in VIDEO mode and the shared stills in IMAGE mode.
//! The reference values are in tests/data/mediapipe_reference.json, recorded by
//! `models/reference/mediapipe_reference.py` (no Python needed here). Both sides decode with
//! `ffmpeg -f rawvideo -pix_fmt rgb24`.

mod common;

use std::path::Path;
use std::process::Command;

use bevy_talking_head::face::Expression;
use bevy_talking_head::tracking::{BLENDSHAPE_NAMES, FaceTracker, ImageView, TrackedFace};
use serde_json::Value;

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mediapipe_reference.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Every frame of a video or still as RGB8, decoded as the reference script decodes it.
fn decode(path: &Path, width: usize, height: usize) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed on {}", path.display());
    out.stdout
        .chunks_exact(width * height * 3)
        .map(|c| c.to_vec())
        .collect()
}

/// Per-channel sums of absolute differences between our 52 weights and MediaPipe's 51 named scores.
#[derive(Default)]
struct Scores {
    sum: Vec<f64>,
    n: usize,
}

impl Scores {
    fn add(&mut self, ours: &TrackedFace, theirs: &[Value]) {
        let weights = ours.blendshapes.expect("the blendshape model ran");
        if self.sum.is_empty() {
            self.sum = vec![0.0; 52];
        }
        for (k, name) in BLENDSHAPE_NAMES.iter().enumerate().skip(1) {
            let e: Expression = name.parse().unwrap();
            let theirs = theirs[k].as_f64().unwrap();
            self.sum[k] += (weights.get(e) as f64 - theirs).abs();
        }
        self.n += 1;
    }

    fn mae(&self) -> Vec<(&'static str, f64)> {
        BLENDSHAPE_NAMES
            .iter()
            .zip(&self.sum)
            .skip(1)
            .map(|(n, s)| (*n, s / self.n.max(1) as f64))
            .collect()
    }
}

/// Mean distance between our points and the reference's flat `[x0, y0, ...]`, scaled to a 512 px image.
fn landmark_error(ours: &TrackedFace, theirs: &[Value], longer_side: usize) -> f64 {
    let pts = &ours.landmarks.points;
    assert_eq!(pts.len(), 478, "Face Mesh V2 gives 478 points");
    let (mut dx, mut dy) = (0.0, 0.0);
    for (i, p) in pts.iter().enumerate() {
        dx += p[0] as f64 - theirs[2 * i].as_f64().unwrap();
        dy += p[1] as f64 - theirs[2 * i + 1].as_f64().unwrap();
    }
    println!(
        "    mean offset (ours - MediaPipe's) {:.3}, {:.3} px",
        dx / 478.0,
        dy / 478.0
    );
    let sum: f64 = pts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = (
                theirs[2 * i].as_f64().unwrap(),
                theirs[2 * i + 1].as_f64().unwrap(),
            );
            ((p[0] as f64 - x).powi(2) + (p[1] as f64 - y).powi(2)).sqrt()
        })
        .sum();
    sum / 478.0 * 512.0 / longer_side as f64
}

fn check_scores(what: &str, scores: &Scores, bound: f64) {
    let mae = scores.mae();
    println!(
        "{what}: mean absolute difference per channel over {} faces",
        scores.n
    );
    for (name, m) in &mae {
        println!("  {name:<20} {m:.4}");
    }
    let worst = mae
        .iter()
        .cloned()
        .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
    assert!(
        worst.1 <= bound,
        "{what}: {} differs from MediaPipe by {:.4} on average ({bound} allowed)",
        worst.0,
        worst.1
    );
}

#[test]
fn videos_in_video_mode_match_mediapipe() {
    let Some(data) = common::testdata("") else {
        return;
    };
    let reference = reference();
    let mut all = Scores::default();
    for video in reference["videos"].as_array().unwrap() {
        let rel = video["path"].as_str().unwrap();
        let (w, h) = (
            video["width"].as_u64().unwrap() as usize,
            video["height"].as_u64().unwrap() as usize,
        );
        let frames = decode(&data.join(rel), w, h);
        let fps = video["fps"].as_f64().unwrap();
        assert_eq!(frames.len() as u64, video["frames"].as_u64().unwrap());
        let mut tracker: FaceTracker = common::tracker();
        let landmark_frames: Vec<usize> = video["landmark_frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let (mut errors, mut scores, mut missed) = (Vec::new(), Scores::default(), 0);
        for (i, rgb) in frames.iter().enumerate() {
            let view = ImageView::new(w as u32, h as u32, 3, rgb, rel).unwrap();
            // MediaPipe's timestamps: round(i * 1000 / fps) ms.
            let ms = (i as f64 * 1000.0 / fps).round() as u64;
            let ours = tracker
                .track_video(&view, std::time::Duration::from_millis(ms))
                .unwrap();
            let theirs = &video["blendshapes"][i];
            match (&ours, theirs.as_array()) {
                (Some(face), Some(t)) => {
                    scores.add(face, t);
                    all.add(face, t);
                    if let Some(k) = landmark_frames.iter().position(|&f| f == i) {
                        let l = video["landmarks"][k].as_array().unwrap();
                        errors.push(landmark_error(face, l, w.max(h)));
                    }
                }
                (None, Some(_)) => missed += 1,
                _ => {}
            }
        }
        let mean = errors.iter().sum::<f64>() / errors.len().max(1) as f64;
        let max = errors.iter().cloned().fold(0.0, f64::max);
        println!(
            "{rel}: landmarks {mean:.3} px mean (worst frame {max:.3}) at 512 px over {} frames; {missed} frames MediaPipe found a face and we did not",
            errors.len()
        );
        check_scores(rel, &scores, 0.03);
        assert_eq!(missed, 0, "{rel}: frames without a face");
        // The issue asks 1 px; measured 0.03-0.06 px a video with MediaPipe's own sampling (0.10-0.19 px
        // before, reading a quarter pixel off).
        assert!(
            mean <= 0.25,
            "{rel}: landmarks {mean:.3} px from MediaPipe's on average at 512 px (0.25 allowed)"
        );
    }
    check_scores("all three videos", &all, 0.03);
}

#[test]
fn stills_in_image_mode_match_mediapipe() {
    let Some(data) = common::testdata("") else {
        return;
    };
    let reference = reference();
    let tracker = common::tracker();
    let mut scores = Scores::default();
    let mut compared = 0;
    let mut errors = Vec::new();
    for still in reference["stills"].as_array().unwrap() {
        let rel = still["path"].as_str().unwrap();
        let Some(theirs) = still["landmarks"].as_array() else {
            continue;
        };
        let (w, h) = (
            still["width"].as_u64().unwrap() as usize,
            still["height"].as_u64().unwrap() as usize,
        );
        let rgb = decode(&data.join(rel), w, h).remove(0);
        let view = ImageView::new(w as u32, h as u32, 3, &rgb, rel).unwrap();
        let Some(ours) = tracker.detect_image(&view).unwrap() else {
            panic!("{rel}: MediaPipe finds a face and we do not");
        };
        let error = landmark_error(&ours, theirs, w.max(h));
        let c = &ours.landmarks.crop;
        println!(
            "{rel}: landmarks {error:.3} px mean at 512 px (crop at {:.1}, {:.1}, {:.1} x {:.1} px, {:.3} rad)",
            c.centre[0],
            c.centre[1],
            c.side,
            c.side * c.aspect,
            c.angle
        );
        scores.add(&ours, still["blendshapes"].as_array().unwrap());
        compared += 1;
        errors.push((rel, error));
    }
    assert!(compared >= 10, "only {compared} stills compared");
    let worst = errors
        .iter()
        .cloned()
        .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let mean = errors.iter().map(|e| e.1).sum::<f64>() / errors.len() as f64;
    println!(
        "stills: landmarks {mean:.3} px mean, worst {:.3} ({})",
        worst.1, worst.0
    );
    // A still starts from the detector's box, so the detector must see MediaPipe's pixels: its input cut
    // as OpenCV's warpPerspective cuts it (pixel centres at integers, 8-bit, no antialiasing, which aliases
    // on a large painting), and the mesh's the same way. Each still is then 0.002-0.009 px from MediaPipe's
    // points (the issue asks 1 px; reading at pixel centres and a quarter pixel in gave 0.50-1.49 px);
    // 0.1 px leaves room for ONNX Runtime's kernels on other CPUs.
    for (rel, error) in &errors {
        assert!(
            *error <= 0.1,
            "{rel}: landmarks {error:.3} px from MediaPipe's on average at 512 px (0.1 allowed; stills mean {mean:.3})"
        );
    }
    // The scores follow the points: the 0.03 a channel (measured at most 0.0002, mouthPucker).
    check_scores("stills", &scores, 0.03);
}
