//! The landmark sketch drawn in Rust (`neural::SketchSpec`) and by the training code
//! (`models/training/sketch.py`) from the same definition: the same picture, pixel for pixel but for
//! rounding at the edge of a line (at most 1 % of the pixels may differ).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bevy_talking_head::neural::SketchSpec;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python_sketch(landmarks: &[[f32; 2]], size: u32, dir: &Path, name: &str) -> Vec<u8> {
    let input = dir.join(format!("{name}.json"));
    std::fs::write(&input, serde_json::to_string(landmarks).unwrap()).unwrap();
    let out = dir.join(format!("{name}.rgb"));
    let python = root().join("models/.venv/bin/python");
    let status = Command::new(&python)
        .arg(root().join("models/training/sketch.py"))
        .arg("--landmarks")
        .arg(&input)
        .arg("--size")
        .arg(size.to_string())
        .arg("--out")
        .arg(&out)
        .arg("--png")
        .arg(dir.join(format!("{name}_python.png")))
        .status()
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", python.display()));
    assert!(status.success(), "sketch.py failed");
    std::fs::read(out).unwrap()
}

#[test]
fn rust_and_python_draw_the_same_sketch() {
    let spec = SketchSpec::v1();
    let dir = root().join("target/tmp/sketch");
    std::fs::create_dir_all(&dir).unwrap();
    for portrait in ["astronaut.png", "astronaut_painted.png"] {
        for size in [64u32, 256] {
            let mut landmarks = common::face_crop_landmarks(portrait, size);
            // And the same face opened: the jaw and lips moved down, to draw a face that talks.
            for (k, variant) in ["still", "moved"].iter().enumerate() {
                if k == 1 {
                    for i in [
                        14usize, 17, 84, 87, 152, 148, 176, 377, 400, 178, 181, 314, 317, 402, 405,
                    ] {
                        landmarks[i][1] += size as f32 * 0.04;
                    }
                }
                let name = format!("{portrait}_{size}_{variant}");
                let rust = spec.rasterise(&landmarks, size).unwrap();
                image::RgbImage::from_raw(size, size, rust.clone())
                    .unwrap()
                    .save(dir.join(format!("{name}_rust.png")))
                    .unwrap();
                let python = python_sketch(&landmarks, size, &dir, &name);
                assert_eq!(python.len(), rust.len());
                let pixels = (size * size) as usize;
                let differ = rust
                    .chunks(3)
                    .zip(python.chunks(3))
                    .filter(|(a, b)| a != b)
                    .count();
                let lit = rust.chunks(3).filter(|p| p != &[0, 0, 0]).count();
                eprintln!("{name}: {lit} pixels drawn, {differ} differ");
                assert!(
                    differ * 100 <= pixels,
                    "{name}: {differ} of {pixels} pixels differ"
                );
                // Every region's colour shows, and the sketch is lines, not a fill.
                for region in &spec.regions {
                    assert!(
                        rust.chunks(3).any(|p| p == region.color),
                        "{name}: no `{}` pixel",
                        region.name
                    );
                }
                assert!(
                    lit * 100 > pixels && lit * 5 < pixels,
                    "{name}: {lit} of {pixels} lit"
                );
            }
        }
    }
}
