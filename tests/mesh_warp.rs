//! The mesh-warp renderer on real portraits: neutral reproduces the portrait, known motions, no holes,
//! driving videos, golden frames.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, PreparedHead};
use bevy_talking_head::rig::{ExpressionRig, PortraitRig};
use bevy_talking_head::tracking::{FaceTracker, ImageView};

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/mesh_warp");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn load(path: &Path) -> Arc<PortraitImage> {
    let img = image::open(path).unwrap().to_rgba8();
    Arc::new(PortraitImage::new(img.width(), img.height(), img.into_raw()).unwrap())
}

fn rig(tracker: &FaceTracker, p: &PortraitImage) -> PortraitRig {
    let view = ImageView::new(p.width, p.height, 4, &p.rgba, "portrait").unwrap();
    PortraitRig::build(tracker, &view, "portrait").unwrap()
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/portraits/astronaut.png")
}

fn save(path: &Path, w: u32, h: u32, rgba: &[u8]) {
    image::RgbaImage::from_raw(w, h, rgba.to_vec()).unwrap().save(path).unwrap();
}

/// The scripted sequence of the issue: name and face.
fn sequence() -> Vec<(&'static str, FaceFrame)> {
    use Expression as E;
    let n = FaceFrame::neutral;
    let mut look_left = n();
    look_left.gaze.left = [0.5, 0.0];
    look_left.gaze.right = [0.5, 0.0];
    let mut look_right = n();
    look_right.gaze.left = [-0.5, 0.0];
    look_right.gaze.right = [-0.5, 0.0];
    let mut turn_left = n();
    turn_left.head.yaw = 0.35;
    let mut turn_right = n();
    turn_right.head.yaw = -0.35;
    let mut nod = n();
    nod.head.pitch = -0.3;
    vec![
        ("neutral", n()),
        ("blink", n().with_expression(E::EyeBlinkLeft, 1.0).with_expression(E::EyeBlinkRight, 1.0)),
        ("smile", n().with_expression(E::MouthSmileLeft, 1.0).with_expression(E::MouthSmileRight, 1.0)),
        ("jaw open", n().with_expression(E::JawOpen, 1.0)),
        ("look left", look_left),
        ("look right", look_right),
        ("turn left", turn_left),
        ("turn right", turn_right),
        ("nod", nod),
    ]
}

/// The face region of frames (the rig's outline, grown by half), for looking at.
fn face_crops(frames: &[Vec<u8>], w: u32, h: u32, rig: &PortraitRig, side: u32) -> Vec<Vec<u8>> {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in &rig.landmarks {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let size = (x1 - x0).max(y1 - y0) * 1.6;
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let left = (cx - size / 2.0).clamp(0.0, (w as f32 - size).max(0.0)) as u32;
    let top = (cy - size / 2.0).clamp(0.0, (h as f32 - size).max(0.0)) as u32;
    let size = (size as u32).min(w).min(h);
    frames
        .iter()
        .map(|f| {
            let img = image::RgbaImage::from_raw(w, h, f.clone()).unwrap();
            let crop = image::imageops::crop_imm(&img, left, top, size, size).to_image();
            image::imageops::resize(&crop, side, side, image::imageops::FilterType::Triangle).into_raw()
        })
        .collect()
}

fn contact_sheet(frames: &[Vec<u8>], w: u32, h: u32, path: &Path) {
    let cols = 3;
    let rows = frames.len().div_ceil(cols) as u32;
    let mut sheet = image::RgbaImage::new(w * cols as u32, h * rows);
    for (k, f) in frames.iter().enumerate() {
        let img = image::RgbaImage::from_raw(w, h, f.clone()).unwrap();
        image::imageops::replace(&mut sheet, &img, (k % cols) as i64 * w as i64, (k / cols) as i64 * h as i64);
    }
    sheet.save(path).unwrap();
}

#[test]
fn scripted_sequence_on_the_demo_portrait() {
    let tracker = common::tracker();
    let p = load(&demo());
    let p = Arc::new(p.resized(512, 512));
    let r = rig(&tracker, &p);
    let head = PreparedHead::new(&[p.clone()], &[r], &ExpressionRig::default()).unwrap();
    let mut frames = Vec::new();
    for (name, face) in sequence() {
        let mut out = vec![0u8; p.rgba.len()];
        let stats = head.render(&face, &mut out);
        eprintln!("{name}: {stats:?}");
        frames.push(out);
    }
    let crops = face_crops(&frames, 512, 512, head.rig(), 256);
    contact_sheet(&crops, 256, 256, &out_dir().join("sequence.png"));
}
