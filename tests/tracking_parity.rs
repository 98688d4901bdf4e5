//! The Rust tracker on the older 468-point mesh ([`TrackerModels::MeshV1`]) and the Python reference
//! (models/reference/tracker.py: numpy + onnxruntime, the same pipeline step for step) agree within 0.5 px on
//! real images. (The default tracker, Face Mesh V2, is compared with Google's MediaPipe itself in
//! tests/mediapipe_parity.rs.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bevy_talking_head::tracking::{ImageView, TrackerModels};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn rust_and_python_landmarks_agree_within_half_a_pixel() {
    let Some(data) = common::testdata("") else {
        return;
    };
    let images: Vec<PathBuf> = [
        "faces/einstein.jpg",
        "faces/takeo.ppm",
        "faces/aflw2000_00050.jpg",
        "faces/aflw2000_00430.jpg",
        "paintings/mona_lisa.jpg",
        "paintings/van_gogh_self_portrait.jpg",
        "stylized/concept_art_scifi.png",
    ]
    .iter()
    .map(|p| data.join(p))
    .collect();
    // Both sides read the same decoded pixels (JPEG decoders differ by a grey level here and there), written
    // as binary PPM, which both decode exactly.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parity");
    std::fs::create_dir_all(&tmp).unwrap();
    let ppms: Vec<PathBuf> = images
        .iter()
        .map(|p| {
            let (w, h, rgb) = image_rgb(p);
            let out = tmp.join(p.file_name().unwrap()).with_extension("ppm");
            let mut bytes = format!("P6\n{w} {h}\n255\n").into_bytes();
            bytes.extend(rgb);
            std::fs::write(&out, bytes).unwrap();
            out
        })
        .collect();
    let python = root().join("models/.venv/bin/python");
    let out = Command::new(&python)
        .arg(root().join("models/reference/tracker.py"))
        .args(&ppms)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", python.display()));
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let tracker = common::tracker_with(TrackerModels::MeshV1);
    for path in &ppms {
        let img = image_rgb(path);
        let view = ImageView::new(img.0, img.1, 3, &img.2, "parity").unwrap();
        let ours = tracker
            .detect_still(&view)
            .unwrap()
            .expect("Rust found no face");
        let theirs = &reference[path.to_str().unwrap()]["points"];
        let theirs = theirs
            .as_array()
            .unwrap_or_else(|| panic!("Python found no face in {}", path.display()));
        assert_eq!(theirs.len(), 468);
        let dists: Vec<f64> = ours
            .landmarks
            .points
            .iter()
            .zip(theirs)
            .map(|(a, b)| {
                let (bx, by) = (b[0].as_f64().unwrap(), b[1].as_f64().unwrap());
                ((a[0] as f64 - bx).powi(2) + (a[1] as f64 - by).powi(2)).sqrt()
            })
            .collect();
        let mean = dists.iter().sum::<f64>() / dists.len() as f64;
        let max = dists.iter().cloned().fold(0.0, f64::max);
        println!("{}: mean {mean:.4} px, max {max:.4} px", path.display());
        assert!(
            mean <= 0.5 && max <= 1.0,
            "{}: Rust and Python differ by {mean:.3} px (max {max:.3})",
            path.display()
        );
    }
}

/// Decodes JPEG/PNG with the image crate and binary PPM by hand, as RGB8.
fn image_rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    if path.extension().is_some_and(|e| e == "ppm") {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes[..20]).to_string();
        let fields: Vec<&str> = text.split_whitespace().take(4).collect();
        let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let start = bytes.len() - (w * h * 3) as usize;
        return (w, h, bytes[start..].to_vec());
    }
    let img = image::open(path).unwrap().to_rgb8();
    (img.width(), img.height(), img.into_raw())
}
