//! Landmark accuracy on annotated faces in ../shared/testdata/faces (iBUG 68-point ground truth), and
//! detection on paintings and stylised art. Writes overlay PNGs to `target/tmp/tracking/` to look at.

mod common;

use std::path::Path;

use bevy_talking_head::tracking::ibug::{ibug68, nme};
use bevy_talking_head::tracking::{FaceTracker, ImageView, TrackedFace};

/// Ground truth from a `.pts` file, moved from 1-based pixel indices to this crate's continuous
/// coordinates (pixel centres at +0.5): x - 1 + 0.5.
fn read_pts(path: &Path) -> [[f32; 2]; 68] {
    let text = std::fs::read_to_string(path).unwrap();
    let inner = text.split('{').nth(1).unwrap().split('}').next().unwrap();
    let values: Vec<f32> = inner
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(values.len(), 136, "{}", path.display());
    let mut out = [[0.0; 2]; 68];
    for (i, o) in out.iter_mut().enumerate() {
        *o = [values[2 * i] - 0.5, values[2 * i + 1] - 0.5];
    }
    out
}

fn track(tracker: &FaceTracker, path: &Path) -> (image::RgbImage, Option<TrackedFace>) {
    let img = common::open_rgb(path);
    let view = ImageView::new(
        img.width(),
        img.height(),
        3,
        img.as_raw(),
        &path.display().to_string(),
    )
    .unwrap();
    let face = tracker.detect_still(&view).unwrap();
    (img, face)
}

fn overlay(
    mut img: image::RgbImage,
    points: &[[f32; 2]],
    truth: Option<&[[f32; 2]; 68]>,
    out: &Path,
) {
    let r = (img.width().max(img.height()) / 400).max(1) as i32;
    let mut dot = |p: [f32; 2], c: [u8; 3]| {
        for dy in -r..=r {
            for dx in -r..=r {
                let (x, y) = (p[0] as i32 + dx, p[1] as i32 + dy);
                if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
                    img.put_pixel(x as u32, y as u32, image::Rgb(c));
                }
            }
        }
    };
    for p in truth.into_iter().flatten() {
        dot(*p, [0, 255, 0]);
    }
    for p in points {
        dot(*p, [255, 0, 0]);
    }
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    img.save(out).unwrap();
}

#[test]
fn landmarks_on_annotated_faces_have_mean_nme51_under_5_percent() {
    let Some(data) = common::testdata("") else {
        return;
    };
    let tracker = common::tracker();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tracking");
    let names = [
        "einstein.jpg",
        "takeo.ppm",
        "aflw2000_00050.jpg",
        "aflw2000_00081.jpg",
        "aflw2000_00430.jpg",
        "aflw2000_00514.jpg",
        "aflw2000_01038.jpg",
    ];
    let mut nme51s = Vec::new();
    println!("{:<22} {:>7} {:>7}", "image", "NME51%", "NME68%");
    for name in names {
        let path = data.join("faces").join(name);
        let truth = read_pts(&path.with_extension("pts"));
        let (img, face) = track(&tracker, &path);
        let face = face.unwrap_or_else(|| panic!("no face found in {name}"));
        let points = ibug68(&face.landmarks.points);
        let (n51, n68) = (nme(&points, &truth, 17..68), nme(&points, &truth, 0..68));
        println!("{name:<22} {:>7.2} {:>7.2}", n51 * 100.0, n68 * 100.0);
        overlay(
            img,
            &points,
            Some(&truth),
            &out_dir.join(format!("{name}.png")),
        );
        nme51s.push(n51);
    }
    let mean = nme51s.iter().sum::<f32>() / nme51s.len() as f32;
    println!("mean NME51 {:.2} %", mean * 100.0);
    assert!(
        mean <= 0.05,
        "mean NME51 {:.2} % is above 5 %",
        mean * 100.0
    );
}

#[test]
fn faces_are_found_in_paintings_and_stylised_art() {
    let Some(data) = common::testdata("") else {
        return;
    };
    let tracker = common::tracker();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tracking");
    let mut missed = Vec::new();
    for folder in ["paintings", "stylized", "faces"] {
        for path in common::files_with(&data.join(folder), &["jpg", "png", "ppm"]) {
            let (img, face) = track(&tracker, &path);
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            match face {
                Some(f) => {
                    let pts: Vec<[f32; 2]> =
                        f.landmarks.points.iter().map(|p| [p[0], p[1]]).collect();
                    println!("{folder}/{name}: presence {:.2}", f.landmarks.presence);
                    overlay(
                        img,
                        &pts,
                        None,
                        &out_dir.join(format!("{folder}_{name}.png")),
                    );
                }
                None => missed.push(format!("{folder}/{name}")),
            }
        }
    }
    assert!(missed.is_empty(), "no face found in {missed:?}");
}
