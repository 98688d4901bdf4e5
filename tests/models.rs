//! The models that set-up builds load, declare and fit their contracts, and produce outputs of the
//! promised shapes; the converted face detector finds the face in the demo portrait.

use std::path::Path;

use bevy_talking_head::onnx::{OnnxModel, SessionOptions, TensorData, contracts};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn load(path: &str) -> OnnxModel {
    OnnxModel::from_file(repo(path), None, &SessionOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n(run `make setup` first)"))
}

#[test]
fn every_model_declares_and_fits_its_contract() {
    for (file, contract) in [
        (
            "assets/models/face_detector.onnx",
            &contracts::FACE_DETECTOR,
        ),
        (
            "assets/models/face_detector_full_range.onnx",
            &contracts::FACE_DETECTOR_FULL_RANGE,
        ),
        (
            "assets/models/face_landmarks.onnx",
            &contracts::FACE_LANDMARKS,
        ),
        (
            "assets/models/iris_landmarks.onnx",
            &contracts::IRIS_LANDMARKS,
        ),
        (
            "assets/models/expression_tint.onnx",
            &contracts::EXPRESSION_FILTER,
        ),
    ] {
        let model = load(file);
        assert_eq!(
            model.contract().map(|c| c.name),
            Some(contract.name),
            "{file}"
        );
        // Run on a grey input with the contract's fixed sizes (4x5 where the size is free).
        let inputs: Vec<_> = contract
            .inputs
            .iter()
            .map(|spec| {
                let shape: Vec<i64> = spec
                    .shape
                    .iter()
                    .enumerate()
                    .map(|(i, d)| match d {
                        bevy_talking_head::onnx::Dim::Fixed(n) => *n,
                        bevy_talking_head::onnx::Dim::Any => 4 + i as i64 % 2,
                    })
                    .collect();
                let n = shape.iter().product::<i64>() as usize;
                (
                    spec.name,
                    TensorData {
                        shape,
                        data: vec![0.5; n],
                    },
                )
            })
            .collect();
        let names: Vec<&str> = contract.outputs.iter().map(|o| o.name).collect();
        let outputs = model.run(inputs, &names).unwrap();
        for (spec, out) in contract.outputs.iter().zip(&outputs) {
            assert_eq!(out.shape.len(), spec.shape.len(), "{file} {}", spec.name);
            assert!(
                out.data.iter().all(|v| v.is_finite()),
                "{file} {} has non-finite values",
                spec.name
            );
        }
    }
}

#[test]
fn a_model_checked_against_the_wrong_contract_is_refused_with_the_reason() {
    let err = OnnxModel::from_file(
        repo("assets/models/face_landmarks.onnx"),
        Some(&contracts::IRIS_LANDMARKS),
        &SessionOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("face_landmarks.onnx") && err.contains("iris_landmarks"),
        "{err}"
    );
    assert!(
        err.contains("input `image` [1,3,192,192] should have shape [1,3,64,64]"),
        "{err}"
    );
    let err = OnnxModel::from_file(
        repo("assets/models/missing.onnx"),
        None,
        &SessionOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot read model") && err.contains("missing.onnx"),
        "{err}"
    );
}

#[test]
fn converted_detector_finds_the_face_in_the_demo_portrait() {
    let img = image::open(repo("assets/portraits/astronaut.png"))
        .expect("run `make setup`")
        .to_rgb8();
    let small = image::imageops::resize(&img, 128, 128, image::imageops::FilterType::Triangle);
    let mut chw = vec![0f32; 3 * 128 * 128];
    for (i, p) in small.pixels().enumerate() {
        for c in 0..3 {
            chw[c * 128 * 128 + i] = p[c] as f32 / 127.5 - 1.0;
        }
    }
    let model = load("assets/models/face_detector.onnx");
    let best_score = |data: Vec<f32>| {
        let input = TensorData {
            shape: vec![1, 3, 128, 128],
            data,
        };
        let out = model
            .run(vec![("image", input)], &["classificators"])
            .unwrap();
        let best = out[0].data.iter().cloned().fold(f32::MIN, f32::max);
        1.0 / (1.0 + (-best).exp())
    };
    let score = best_score(chw);
    assert!(score > 0.7, "best face score {score}");
    // A flat grey image has no face.
    let score = best_score(vec![0.0; 3 * 128 * 128]);
    assert!(score < 0.5, "face score {score} on a grey image");
}

/// The models embedded in the crate (float16 weights, feature `embedded-models`) track as the float32
/// files set-up converts: the same faces, landmarks and expression weights, on a photo, paintings and a
/// face from AFLW2000.
#[test]
fn the_embedded_models_track_as_the_converted_ones() {
    use bevy_talking_head::tracking::{FaceTracker, ImageView};
    let options = SessionOptions::default();
    let embedded =
        FaceTracker::embedded(&options).expect("the crate's default feature embeds them");
    let converted =
        FaceTracker::from_dir(repo("assets/models"), &options).expect("run `make setup`");
    let testdata = repo("../shared/testdata");
    let mut images = vec![repo("assets/portraits/astronaut.png")];
    for p in [
        "paintings/mona_lisa.jpg",
        "paintings/girl_with_a_pearl_earring.jpg",
        "faces/aflw2000_00050.jpg",
    ] {
        if testdata.join(p).exists() {
            images.push(testdata.join(p));
        } else {
            assert!(
                std::env::var_os("TALKING_HEAD_REQUIRE_TESTDATA").is_none(),
                "{p} is missing"
            );
        }
    }
    for path in images {
        let img = image::open(&path).unwrap().to_rgb8();
        let label = path.display().to_string();
        let view = ImageView::new(img.width(), img.height(), 3, img.as_raw(), &label).unwrap();
        let a = embedded.detect_still(&view).unwrap().expect("a face");
        let b = converted.detect_still(&view).unwrap().expect("a face");
        assert_eq!(a.landmarks.points.len(), 478, "{label}");
        let points = a
            .landmarks
            .points
            .iter()
            .zip(&b.landmarks.points)
            .map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt())
            .fold(0f32, f32::max);
        let (wa, wb) = (
            a.blendshapes.expect("weights"),
            b.blendshapes.expect("weights"),
        );
        let weights = wa
            .as_slice()
            .iter()
            .zip(wb.as_slice())
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        println!(
            "{label}: landmarks within {points:.2e} px, expression weights within {weights:.2e}"
        );
        assert!(points < 1e-3, "{label}: landmarks differ by {points} px");
        assert!(
            weights < 1e-5,
            "{label}: expression weights differ by {weights}"
        );
    }
}
