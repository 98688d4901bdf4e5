//! The neural path's ONNX contract: a pair of (tiny, untrained) models that follow it loads, validates
//! and runs (shapes, value range, different sketches give different images); pairs broken in one way
//! each are rejected with a message that names the file and the problem.

mod common;

use std::path::{Path, PathBuf};

use bevy_talking_head::neural::{NeuralModelInfo, SketchSpec, validate_pair};
use bevy_talking_head::onnx::{OnnxModel, SessionOptions, TensorData};

/// Makes a pair with `models/training/contract_models.py` (broken as `brk` says).
fn make_pair(brk: Option<&str>) -> PathBuf {
    common::contract_pair(
        brk.unwrap_or("valid"),
        brk.map(|b| vec!["--break", b]).unwrap_or_default(),
    )
}

fn load(dir: &Path) -> bevy_talking_head::Result<(OnnxModel, OnnxModel)> {
    let options = SessionOptions::default();
    Ok((
        OnnxModel::from_file(dir.join("embedder.onnx"), None, &options)?,
        OnnxModel::from_file(dir.join("generator.onnx"), None, &options)?,
    ))
}

/// A sketch of the demo portrait's face, mouth closed or opened by `open` of the size.
fn sketch(size: u32, open: f32) -> Vec<f32> {
    let mut points = common::face_crop_landmarks("astronaut.png", size);
    for i in [14usize, 17, 84, 87, 178, 181, 314, 317, 402, 405] {
        points[i][1] += open * size as f32;
    }
    let rgb = SketchSpec::v1().rasterise(&points, size).unwrap();
    // NCHW, -1..1.
    let n = (size * size) as usize;
    let mut out = vec![0.0; 3 * n];
    for (i, px) in rgb.chunks(3).enumerate() {
        for c in 0..3 {
            out[c * n + i] = f32::from(px[c]) / 127.5 - 1.0;
        }
    }
    out
}

#[test]
fn a_pair_that_follows_the_contract_validates_and_runs() {
    let dir = make_pair(None);
    let (embedder, generator) = load(&dir).unwrap();
    let info = validate_pair(&embedder, &generator).unwrap();
    assert_eq!(
        info,
        NeuralModelInfo {
            resolution: 64,
            shots: 8,
            embedding_size: 8,
            sketch_version: 1
        }
    );
    let r = i64::from(info.resolution);
    // Two shots of the person: here the sketch stands in for the frame too.
    let shots: Vec<f32> = [sketch(64, 0.0), sketch(64, 0.02)].concat();
    let tensor = |data: Vec<f32>, k: i64| TensorData {
        shape: vec![k, 3, r, r],
        data,
    };
    let embedding = embedder
        .run(
            vec![
                ("frames", tensor(shots.clone(), 2)),
                ("sketches", tensor(shots, 2)),
            ],
            &["embedding"],
        )
        .unwrap()
        .remove(0);
    assert_eq!(embedding.shape, vec![1, 8]);
    let mut images = Vec::new();
    for open in [0.0, 0.06] {
        let image = generator
            .run(
                vec![
                    ("sketch", tensor(sketch(64, open), 1)),
                    ("embedding", embedding.clone()),
                ],
                &["image"],
            )
            .unwrap()
            .remove(0);
        assert_eq!(image.shape, vec![1, 3, r, r]);
        assert!(image.data.iter().all(|v| (-1.0..=1.0).contains(v)));
        images.push(image.data);
    }
    let differ = images[0]
        .iter()
        .zip(&images[1])
        .filter(|(a, b)| (*a - *b).abs() > 0.05)
        .count();
    assert!(differ > 20, "an open mouth changed {differ} values");
}

#[test]
fn pairs_that_break_the_contract_are_rejected_with_the_reason() {
    for (brk, file, expected) in [
        (
            "sketch_version",
            "embedder.onnx",
            "trained on sketch version 2; this crate draws version 1",
        ),
        (
            "resolution_metadata",
            "generator.onnx",
            "does not match `talking_head.resolution` = 128",
        ),
        ("input_name", "embedder.onnx", "input `frames` is missing"),
        ("embedding_size", "generator.onnx", "the embedder"),
        (
            "missing_metadata",
            "embedder.onnx",
            "the metadata has no `talking_head.shots`",
        ),
    ] {
        let dir = make_pair(Some(brk));
        let err = load(&dir)
            .and_then(|(e, g)| validate_pair(&e, &g))
            .expect_err(brk)
            .to_string();
        eprintln!("{brk}: {err}");
        assert!(err.contains(expected), "{brk}: {err}");
        assert!(err.contains(file), "{brk}: the message names {file}: {err}");
    }
}
