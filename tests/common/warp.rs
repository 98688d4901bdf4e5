//! Rendering with the mesh warp without an app, for the tests that look at rendered frames (mesh_warp.rs,
//! round_trip.rs): portraits rigged by the tracker, Pearson's r, contact sheets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy_talking_head::render::{PortraitImage, PreparedHead};
use bevy_talking_head::rig::{ExpressionRig, PortraitRig, refine_fit};
use bevy_talking_head::tracking::{FaceTracker, ImageView};

/// The JPEG and PNG images of a directory (a shared test data folder), sorted by name.
pub fn images(dir: &Path) -> Vec<PathBuf> {
    super::files_with(dir, &["jpg", "png"])
}

/// The demo portrait.
pub fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/portraits/astronaut.png")
}

pub fn load(path: &Path) -> Arc<PortraitImage> {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8();
    Arc::new(PortraitImage::new(img.width(), img.height(), img.into_raw()).unwrap())
}

/// The tracker's rig of `p`, as tracked.
pub fn rig(tracker: &FaceTracker, p: &PortraitImage) -> PortraitRig {
    let view = ImageView::new(p.width, p.height, 4, &p.rgba, "portrait").unwrap();
    PortraitRig::build(tracker, &view, "portrait").unwrap()
}

/// The rig of `p` as the product makes it: tracked, then moved onto the drawn face where the tracker
/// missed it ([`refine_fit`]).
pub fn refined_rig(tracker: &FaceTracker, p: &PortraitImage) -> PortraitRig {
    let mut r = rig(tracker, p);
    refine_fit(p, &mut r);
    r
}

/// The portrait at `path` scaled so its longer side is `side` pixels.
pub fn scaled(path: &Path, side: u32) -> PortraitImage {
    let p = load(path);
    let k = side as f32 / p.width.max(p.height) as f32;
    p.resized((p.width as f32 * k) as u32, (p.height as f32 * k) as u32)
}

/// A head of one portrait with its rig and the default expression rig.
pub fn head_of(p: &Arc<PortraitImage>, rig: &PortraitRig) -> PreparedHead {
    PreparedHead::new(
        std::slice::from_ref(p),
        std::slice::from_ref(rig),
        &ExpressionRig::default(),
    )
    .unwrap()
}

/// A portrait scaled so its longer side is at most `max`, rigged by the tracker.
pub fn prepared(
    tracker: &FaceTracker,
    path: &Path,
    max: u32,
) -> (Arc<PortraitImage>, PreparedHead) {
    let p = load(path);
    let k = (max as f32 / p.width.max(p.height) as f32).min(1.0);
    let p = Arc::new(p.resized((p.width as f32 * k) as u32, (p.height as f32 * k) as u32));
    let head = head_of(&p, &refined_rig(tracker, &p));
    (p, head)
}

/// A portrait cropped to its face (twice the face's size, square) and scaled to `side`, rigged: the eyes
/// are large enough there for the tracker to read lids to a pixel.
pub fn face_portrait(
    tracker: &FaceTracker,
    path: &Path,
    side: u32,
) -> (Arc<PortraitImage>, PreparedHead) {
    face_portrait_with(tracker, path, side, &ExpressionRig::default())
}

/// [`face_portrait`] with the shapes of `expressions`.
pub fn face_portrait_with(
    tracker: &FaceTracker,
    path: &Path,
    side: u32,
    expressions: &ExpressionRig,
) -> (Arc<PortraitImage>, PreparedHead) {
    let full = load(path);
    let r = rig(tracker, &full);
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in &r.landmarks {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    let size = ((hi[0] - lo[0]).max(hi[1] - lo[1]) * 2.0).min(full.width.min(full.height) as f32);
    let cx = ((lo[0] + hi[0]) / 2.0 - size / 2.0).clamp(0.0, full.width as f32 - size) as u32;
    let cy = ((lo[1] + hi[1]) / 2.0 - size / 2.0).clamp(0.0, full.height as f32 - size) as u32;
    let img = image::RgbaImage::from_raw(full.width, full.height, full.rgba.clone()).unwrap();
    let crop = image::imageops::crop_imm(&img, cx, cy, size as u32, size as u32).to_image();
    let crop = image::imageops::resize(&crop, side, side, image::imageops::FilterType::CatmullRom);
    let p = Arc::new(PortraitImage::new(side, side, crop.into_raw()).unwrap());
    let view = ImageView::new(p.width, p.height, 4, &p.rgba, "crop").unwrap();
    let Some(face) = tracker.detect_still(&view).unwrap() else {
        eprintln!(
            "{}: no face in the crop, using the whole portrait",
            path.display()
        );
        return prepared(tracker, path, side);
    };
    let mut r = PortraitRig::from_tracked(&face, [p.width, p.height]);
    refine_fit(&p, &mut r);
    let head = PreparedHead::new(std::slice::from_ref(&p), &[r], expressions).unwrap();
    (p, head)
}

/// Pearson's correlation of two series (0 when either is constant).
pub fn pearson(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa * sbb).sqrt().max(1e-12)
}

/// RGBA frames of `w` x `h` in a grid of `cols` columns, saved to `path`.
pub fn contact_sheet_cols(frames: &[Vec<u8>], w: u32, h: u32, cols: usize, path: &Path) {
    let rows = frames.len().div_ceil(cols) as u32;
    let mut sheet = image::RgbaImage::new(w * cols as u32, h * rows.max(1));
    for (k, f) in frames.iter().enumerate() {
        let img = image::RgbaImage::from_raw(w, h, f.clone()).unwrap();
        image::imageops::replace(
            &mut sheet,
            &img,
            (k % cols) as i64 * w as i64,
            (k / cols) as i64 * h as i64,
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    sheet.save(path).unwrap();
}
