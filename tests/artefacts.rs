//! Artefacts a viewer notices in the mesh warp (issue 18, items 5 and 6): the artefact counter
//! (`testing::artefacts`) on frames with planted specks, dotted arcs and seams, and on clean ones; then
//! every portrait (the demo ones and every image of `../shared/testdata` faces, paintings and stylized)
//! through the six clips and the expression sheet's poses must show none; and in a sweep of head turns
//! no folded triangle of the warp mesh may show in the frame.
//!
//! Contact sheets of what was found (circled: red specks, yellow broken lines, cyan seams) and of the turn
//! sweep go to `target/tmp/artefacts/` (or `$ARTEFACT_SHEETS`). For looking closer: `ARTEFACT_DUMP=1`
//! saves every frame with a find, enlarged; `ARTEFACT_DEBUG=1` prints each find and saves the neutral
//! frame, the frame and the find (with the inner lips' outline) around it; `ARTEFACT_EYES=<label>` (and
//! `ARTEFACT_MOUTH=1`) saves the eyes (the mouth) of the faces whose label contains it.

mod common;
#[path = "../examples/common/sheet.rs"]
mod sheet;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, PreparedHead};
use bevy_talking_head::rig::topology::{
    INNER_LIPS, LEFT_BROW, LOWER_OUTER_LIP, RIGHT_BROW, UPPER_OUTER_LIP, eye_ring, triangles,
};
use bevy_talking_head::rig::{ExpressionRig, PortraitRig, refine_fit};
use bevy_talking_head::testing::artefacts::{
    Artefact, ArtefactKind, MotionField, circle_artefacts, count_by_kind, find_artefacts,
    find_artefacts_moved, leave_out_closed_lash_line, leave_out_mouth_content,
};
use bevy_talking_head::tracking::{FaceTracker, ImageView};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sheets_dir() -> PathBuf {
    let d = std::env::var_os("ARTEFACT_SHEETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/tmp/artefacts"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Opens JPEG, PNG, or binary PPM (see [`common::open_rgb`]).
fn open(path: &Path) -> image::RgbaImage {
    image::DynamicImage::ImageRgb8(common::open_rgb(path)).to_rgba8()
}

/// Every portrait ([`common::every_portrait`]), or those `ARTEFACT_ONLY` names.
fn portraits() -> Vec<PathBuf> {
    let mut v = common::every_portrait();
    // `ARTEFACT_ONLY=name` to look at one portrait.
    if let Ok(only) = std::env::var("ARTEFACT_ONLY") {
        v.retain(|p| name(p).contains(&only));
    }
    v
}

fn name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// A portrait cropped to its face (a square twice the face's size, as a game shows a talking head) and
/// scaled to `side` pixels, rigged by the tracker (`None`: no face found).
fn prepare(
    tracker: &FaceTracker,
    path: &Path,
    side: u32,
) -> Option<(Arc<PortraitImage>, PreparedHead)> {
    let img = open(path);
    let full = PortraitImage::new(img.width(), img.height(), img.into_raw()).unwrap();
    let rig_of = |p: &PortraitImage| {
        let view = ImageView::new(p.width, p.height, 4, &p.rgba, "portrait").unwrap();
        match PortraitRig::build(tracker, &view, "portrait") {
            // As the product rigs: moved onto the drawn face where the tracker missed it.
            Ok(mut r) => {
                refine_fit(p, &mut r);
                Some(r)
            }
            Err(e) => {
                eprintln!("{}: not rigged ({e})", path.display());
                None
            }
        }
    };
    let r = rig_of(&full)?;
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
    let rig = rig_of(&p)?;
    let head = PreparedHead::new(
        std::slice::from_ref(&p),
        std::slice::from_ref(&rig),
        &ExpressionRig::default(),
    )
    .ok()?;
    Some((p, head))
}

/// The convex hull of a face's landmarks (the face without hair, ears and background), counter-clockwise.
fn face_hull(points: &[[f32; 3]]) -> Vec<[f32; 2]> {
    let mut p: Vec<[f32; 2]> = points.iter().map(|q| [q[0], q[1]]).collect();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let cross = |o: [f32; 2], a: [f32; 2], b: [f32; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f32; 2]> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f32; 2]>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0
            {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

/// Whether `q` lies inside the convex polygon `hull` (counter-clockwise).
fn in_hull(hull: &[[f32; 2]], q: [f32; 2]) -> bool {
    (0..hull.len()).all(|i| {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]) >= 0.0
    })
}

/// The mouth opening of a retargeted face when its lips have parted on purpose (more than 5 % of the
/// mouth's width: its interior is the mouth layer's, judged on its own); empty when they (nearly) meet,
/// so that a seam or speck between closed lips counts.
fn open_mouth(points: &[[f32; 3]]) -> Vec<[f32; 2]> {
    let d = |a: usize, b: usize| apart(points, a, b);
    if d(13, 14) > 0.05 * d(78, 308) {
        INNER_LIPS
            .iter()
            .map(|&i| [points[i][0], points[i][1]])
            .collect()
    } else {
        Vec::new()
    }
}

/// The lips' outer contour of a retargeted face whose lips are apart at all (more than a pixel and 1 %
/// of the mouth's width: the mouth layer's interior, its teeth, shows between them, and a photo's own
/// teeth at the lower lip's edge travel with it); empty when they meet.
fn parted_lips(points: &[[f32; 3]]) -> Vec<[f32; 2]> {
    let d = |a: usize, b: usize| apart(points, a, b);
    if d(13, 14) > (0.01 * d(78, 308)).max(1.0) {
        UPPER_OUTER_LIP
            .iter()
            .chain(
                LOWER_OUTER_LIP
                    .iter()
                    .rev()
                    .skip(1)
                    .take(LOWER_OUTER_LIP.len() - 2),
            )
            .map(|&i| [points[i][0], points[i][1]])
            .collect()
    } else {
        Vec::new()
    }
}

/// The contours of a retargeted face's closed eyes (its lids meet: upper and lower lid less than a tenth
/// of the eye's width apart at the middle), each with the slack around it that its lash line takes (the
/// eye layer draws it 9 % of the eye's width thick, `LASH_LINE_HALF_WIDTH`, and a pixel).
fn closed_eyes(points: &[[f32; 3]]) -> Vec<(Vec<[f32; 2]>, f32)> {
    let d = |a: usize, b: usize| apart(points, a, b);
    (0..2)
        .filter_map(|side| {
            let ring = eye_ring(side);
            let width = d(ring[0], ring[8]);
            (d(ring[4], ring[12]) < 0.1 * width).then(|| {
                let contour = ring.iter().map(|&i| [points[i][0], points[i][1]]).collect();
                (contour, 0.045 * width + 1.0)
            })
        })
        .collect()
}

/// How far apart points `a` and `b` of `points` are, in frame pixels.
fn apart(points: &[[f32; 3]], a: usize, b: usize) -> f32 {
    (points[a][0] - points[b][0]).hypot(points[a][1] - points[b][1])
}

/// The face region of a rig: the landmarks' box grown by a tenth of its size on each side.
fn face_box(rig: &PortraitRig, w: u32, h: u32) -> [u32; 4] {
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in &rig.landmarks {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    let m = 0.1 * (hi[0] - lo[0]).max(hi[1] - lo[1]);
    [
        (lo[0] - m).max(0.0) as u32,
        (lo[1] - m).max(0.0) as u32,
        ((hi[0] + m) as u32).min(w),
        ((hi[1] + m) as u32).min(h),
    ]
}

const CLIPS: [&str; 6] = ["anger", "nod", "shake", "smile", "surprise", "talk"];

/// Every face to check: the sheet's poses, then each clip every `step` seconds.
fn faces(step: f32) -> Vec<(String, FaceFrame)> {
    let mut v: Vec<(String, FaceFrame)> = sheet::steps()
        .into_iter()
        .map(|(n, f)| (format!("sheet {n}"), f))
        .collect();
    for clip in CLIPS {
        let c = FaceClip::load(root().join(format!("assets/clips/{clip}.face.ron"))).unwrap();
        let n = (c.duration() / step).floor() as usize;
        for k in 0..=n {
            let t = k as f32 * step;
            v.push((format!("{clip} {t:.1}s"), c.sample(t)));
        }
    }
    v
}

fn crop(rgba: &[u8], w: u32, h: u32, b: [u32; 4]) -> image::RgbaImage {
    let img = image::RgbaImage::from_raw(w, h, rgba.to_vec()).unwrap();
    image::imageops::crop_imm(&img, b[0], b[1], b[2] - b[0], b[3] - b[1]).to_image()
}

/// Tiles of the same size in a grid of `cols` columns, saved to `path`.
fn save_sheet(tiles: &[image::RgbaImage], cols: usize, path: &Path) {
    if tiles.is_empty() {
        return;
    }
    let side = 320u32;
    let rows = tiles.len().div_ceil(cols) as u32;
    let mut sheet =
        image::RgbaImage::from_pixel(side * cols as u32, side * rows, image::Rgba([0, 0, 0, 255]));
    for (k, t) in tiles.iter().enumerate() {
        let s = side as f32 / t.width().max(t.height()) as f32;
        let t = image::imageops::resize(
            t,
            (t.width() as f32 * s) as u32,
            (t.height() as f32 * s) as u32,
            image::imageops::FilterType::Triangle,
        );
        image::imageops::replace(
            &mut sheet,
            &t,
            (k % cols) as i64 * side as i64,
            (k / cols) as i64 * side as i64,
        );
    }
    sheet.save(path).unwrap();
}

// ---------------------------------------------------------------------------------------------------
// The counter itself.

/// The demo portrait at 512 x 512, as a clean frame to plant artefacts in, with its face region.
fn clean_demo() -> (Vec<u8>, u32, u32, [u32; 4]) {
    let img = open(&root().join("assets/portraits/astronaut.png"));
    let img = image::imageops::resize(&img, 512, 512, image::imageops::FilterType::Triangle);
    // The face from the committed golden rig (256 px) scaled up.
    let mut rig = PortraitRig::load(&root().join("tests/golden/astronaut_256.rig.json")).unwrap();
    for p in &mut rig.landmarks {
        p[0] *= 2.0;
        p[1] *= 2.0;
    }
    let b = face_box(&rig, 512, 512);
    (img.into_raw(), 512, 512, b)
}

/// A point of the face region at fractions `fx`, `fy` of its width and height.
fn at(face: [u32; 4], fx: f32, fy: f32) -> (i32, i32) {
    (
        face[0] as i32 + (fx * (face[2] - face[0]) as f32) as i32,
        face[1] as i32 + (fy * (face[3] - face[1]) as f32) as i32,
    )
}

/// Saves the face of `frame` with what was found circled, three times enlarged.
fn show(frame: &[u8], w: u32, h: u32, face: [u32; 4], found: &[Artefact], name: &str) {
    let mut shown = frame.to_vec();
    circle_artefacts(&mut shown, w, h, found);
    let c = crop(&shown, w, h, face);
    image::imageops::resize(
        &c,
        c.width() * 3,
        c.height() * 3,
        image::imageops::FilterType::Nearest,
    )
    .save(sheets_dir().join(format!("{name}.png")))
    .unwrap();
}

fn put(rgba: &mut [u8], w: u32, x: i32, y: i32, c: [u8; 3]) {
    let i = (y as usize * w as usize + x as usize) * 4;
    rgba[i..i + 3].copy_from_slice(&c);
}

#[test]
fn the_counter_finds_planted_specks() {
    let (neutral, w, h, face) = clean_demo();
    let mut frame = neutral.clone();
    // Three dark specks (1, 4 and 6 pixels) on the cheeks and the forehead, and a white one on the chin.
    let (x, y) = at(face, 0.3, 0.62);
    put(&mut frame, w, x, y, [0, 0, 0]);
    let (x, y) = at(face, 0.75, 0.5);
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        put(&mut frame, w, x + dx, y + dy, [10, 5, 5]);
    }
    let (x, y) = at(face, 0.5, 0.3);
    for (dx, dy) in [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)] {
        put(&mut frame, w, x + dx, y + dy, [20, 20, 20]);
    }
    let (x, y) = at(face, 0.5, 0.88);
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        put(&mut frame, w, x + dx, y + dy, [255, 255, 255]);
    }
    let found = find_artefacts(&frame, &neutral, w, h, face);
    show(&frame, w, h, face, &found, "planted_specks");
    assert_eq!(count_by_kind(&found), [4, 0, 0], "{found:?}");
}

#[test]
fn detail_the_motion_carried_is_the_pictures_but_a_new_speck_still_counts() {
    // The picture with three freckles below the nose; the frame opens a "jaw": everything below the
    // nose moved down by an eighth of the face (further than the counter's fixed allowance for motion),
    // and one new speck.
    let (mut neutral, w, h, face) = clean_demo();
    let freckles = [(0.3, 0.68), (0.72, 0.7), (0.5, 0.76)].map(|(fx, fy)| at(face, fx, fy));
    for &(x, y) in &freckles {
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            put(&mut neutral, w, x + dx, y + dy, [25, 15, 10]);
        }
    }
    let (_, cut) = at(face, 0.5, 0.58);
    let shift = (face[3] - face[1]) as usize / 8;
    let row = w as usize * 4;
    let mut frame = neutral.clone();
    for y in cut as usize..h as usize {
        let from = y.saturating_sub(shift).max(cut as usize);
        frame[y * row..(y + 1) * row].copy_from_slice(&neutral[from * row..(from + 1) * row]);
    }
    let (nx, ny) = at(face, 0.85, 0.76);
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        put(&mut frame, w, nx + dx, ny + dy, [20, 10, 10]);
    }
    // The motion of the part below the cut: two triangles, from where it was to where it is.
    let (x0, x1, y0, y1) = (0.0, w as f32, cut as f32, h as f32 + 40.0);
    let before = [[x0, y0, 0.0], [x1, y0, 0.0], [x0, y1, 0.0], [x1, y1, 0.0]];
    let after = before.map(|p| [p[0], p[1] + shift as f32, 0.0]);
    let motion = MotionField::from_landmarks(w, h, &[[0, 1, 2], [1, 3, 2]], &before, &after);
    assert_eq!(motion.back(100, cut as usize + 100), [0.0, -(shift as f32)]);

    let plain = find_artefacts(&frame, &neutral, w, h, face);
    let moved = find_artefacts_moved(&frame, &neutral, w, h, face, &[], Some(&motion));
    show(&frame, w, h, face, &moved, "planted_motion");
    let specks = |found: &[Artefact]| -> Vec<[f32; 2]> {
        found
            .iter()
            .filter(|a| a.kind == ArtefactKind::Speck)
            .map(|a| a.centre())
            .collect()
    };
    // Without the motion, each moved freckle is new where it now is.
    for &(x, y) in &freckles {
        let now = [x as f32 + 1.0, (y + shift as i32) as f32 + 1.0];
        assert!(
            specks(&plain)
                .iter()
                .any(|c| (c[0] - now[0]).abs() <= 2.0 && (c[1] - now[1]).abs() <= 2.0),
            "without the motion the freckle moved to {now:?} is not found: {plain:?}"
        );
    }
    // With it, only the new speck counts.
    assert_eq!(count_by_kind(&moved), [1, 0, 0], "{moved:?}");
    let c = moved[0].centre();
    assert!(
        (c[0] - nx as f32 - 1.0).abs() <= 2.0 && (c[1] - ny as f32 - 1.0).abs() <= 2.0,
        "{moved:?}"
    );
}

/// A dark arc of dashes (2 px on, 2 off), 2 px thick, under the left eye of `face`: a lower lid line
/// gone dotted.
fn plant_dotted_arc(frame: &mut [u8], w: u32, face: [u32; 4]) {
    let size = (face[2] - face[0]) as f32;
    let (cx, cy) = at(face, 0.38, 0.5);
    for k in 0..48 {
        if k % 4 >= 2 {
            continue;
        }
        let t = -0.7 + 1.4 * k as f32 / 48.0;
        let r = 0.2 * size;
        let (x, y) = (cx as f32 + r * t.sin(), cy as f32 + r * t.cos() - 0.8 * r);
        for d in 0..2 {
            put(frame, w, x as i32, y as i32 + d, [40, 25, 20]);
        }
    }
}

#[test]
fn the_counter_finds_a_planted_dotted_arc() {
    let (neutral, w, h, face) = clean_demo();
    let mut frame = neutral.clone();
    plant_dotted_arc(&mut frame, w, face);
    let found = find_artefacts(&frame, &neutral, w, h, face);
    show(&frame, w, h, face, &found, "planted_arc");
    let n = count_by_kind(&found);
    assert_eq!(n[1], 1, "the dotted arc is one broken line: {found:?}");
    assert!(
        found.iter().all(|a| a.kind == ArtefactKind::BrokenLine),
        "{found:?}"
    );
}

#[test]
fn a_line_resampled_lighter_in_places_is_whole_but_one_with_gaps_is_broken() {
    // Grey 150, a face region 200 px wide; a 2 px line across it at luma 90 in the neutral frame. In
    // the frames, every other 3 px of the line is lighter: 118 (still about 25 darker than its
    // surroundings: the line a warp's resampling left lighter in places, whole to the eye) or 150 (gaps
    // of bare skin: a dotted line). Only the second is a broken line.
    let (w, h) = (256u32, 256u32);
    let face = [28, 28, 228, 228];
    let grey = |v: u8| [v, v, v, 255];
    let paint = |gap: Option<u8>| {
        let mut f: Vec<u8> = (0..w * h).flat_map(|_| grey(150)).collect();
        for y in 127..129usize {
            for x in 60..196usize {
                let v = match gap {
                    Some(g) if (x / 3) % 2 == 1 => g,
                    _ => 90,
                };
                f[(y * w as usize + x) * 4..][..4].copy_from_slice(&grey(v));
            }
        }
        f
    };
    let neutral = paint(None);
    let lighter = find_artefacts(&paint(Some(118)), &neutral, w, h, face);
    assert_eq!(count_by_kind(&lighter)[1], 0, "{lighter:?}");
    let dotted = find_artefacts(&paint(Some(150)), &neutral, w, h, face);
    assert_eq!(count_by_kind(&dotted)[1], 1, "{dotted:?}");
}

/// A grey-150 frame with a face region 200 px wide and `dots` (top-left corners) painted into it, each
/// `size` (width, height) at luma `v`.
fn dotted(dots: &[(usize, usize)], size: (usize, usize), v: u8) -> Vec<u8> {
    let (w, h) = (256usize, 256usize);
    let mut f: Vec<u8> = (0..w * h).flat_map(|_| [150, 150, 150, 255]).collect();
    paint_dots(&mut f, dots, size, v);
    f
}

fn paint_dots(f: &mut [u8], dots: &[(usize, usize)], size: (usize, usize), v: u8) {
    for &(x, y) in dots {
        for yy in y..y + size.1 {
            for xx in x..x + size.0 {
                f[(yy * 256 + xx) * 4..][..3].copy_from_slice(&[v, v, v]);
            }
        }
    }
}

#[test]
fn a_freckled_patch_with_a_few_more_freckles_is_not_a_broken_line_but_a_dotted_arc_across_it_is() {
    // Nine 2 px freckles in a row, 6 px apart (a chain of fragments, as freckled skin under an eye or
    // on a nose is), in the neutral frame; in the frame four more show between them (freckles a
    // resampling takes over the line contrast: concept art's anger, 2026-12-06). The neutral's count
    // allows for that by chance (twice its square root); a dotted arc of ten dashes across the same
    // patch is still a broken line.
    let face = [28, 28, 228, 228];
    let freckles: Vec<(usize, usize)> = (0..9).map(|i| (80 + 6 * i, 121 + 4 * (i % 3))).collect();
    let more: Vec<(usize, usize)> = (0..4).map(|i| (83 + 6 * i, 127)).collect();
    let neutral = dotted(&freckles, (2, 2), 100);
    let mut frame = neutral.clone();
    paint_dots(&mut frame, &more, (2, 2), 100);
    let found = find_artefacts(&frame, &neutral, 256, 256, face);
    assert_eq!(count_by_kind(&found), [0, 0, 0], "{found:?}");
    let dashes: Vec<(usize, usize)> = (0..10).map(|i| (80 + 6 * i, 134)).collect();
    paint_dots(&mut frame, &dashes, (3, 1), 90);
    let found = find_artefacts(&frame, &neutral, 256, 256, face);
    assert_eq!(count_by_kind(&found)[1], 1, "{found:?}");
}

#[test]
fn a_row_of_thick_blobs_is_texture_but_a_row_of_thin_dashes_is_a_broken_line() {
    // A dark band at luma 90 in the neutral frame, whole: 6 px thick (a brow) or 2 px (a lid line). In
    // the frame every 8 px of it has 3 px a little lighter (130, not dark enough to join the pieces):
    // the thick band is a row of 5 x 6 px blobs, a brow's hair resampled (aflw2000_00050 raising its
    // brows, 2026-12-06), still a brow to the eye; the thin line is a row of dashes, a lid line
    // fallen apart.
    let face = [28, 28, 228, 228];
    let band = |thick: usize, gaps: bool| {
        let mut f = dotted(&[], (0, 0), 0);
        for y in 120..120 + thick {
            for x in 80..140usize {
                let v = if gaps && (x - 80) % 8 >= 5 { 130 } else { 90 };
                f[(y * 256 + x) * 4..][..3].copy_from_slice(&[v, v, v]);
            }
        }
        f
    };
    let thick = find_artefacts(&band(6, true), &band(6, false), 256, 256, face);
    assert_eq!(count_by_kind(&thick)[1], 0, "{thick:?}");
    let thin = find_artefacts(&band(2, true), &band(2, false), 256, 256, face);
    assert_eq!(count_by_kind(&thin)[1], 1, "{thin:?}");
}

#[test]
fn teeth_gaps_in_parted_lips_are_the_mouths_content_not_a_broken_line() {
    let (neutral, w, h, face) = clean_demo();
    let mut frame = neutral.clone();
    // A row of teeth gaps, dark 1 x 3 dashes every 3 px, as between barely parted lips (planted on the
    // cheek, where the neutral frame has no dark fragments of its own).
    let (mx, my) = at(face, 0.12, 0.6);
    let size = (face[2] - face[0]) as f32;
    let n = (0.2 * size / 3.0) as i32;
    for k in 0..n {
        for d in 0..3 {
            put(&mut frame, w, mx + 3 * k, my + d, [35, 25, 25]);
        }
    }
    let found = find_artefacts(&frame, &neutral, w, h, face);
    show(&frame, w, h, face, &found, "planted_teeth");
    let n_found = count_by_kind(&found);
    assert_eq!(
        n_found[1], 1,
        "without the mouth, the row is a broken line: {found:?}"
    );
    // The lips' opening: 4 px high around the row.
    let (x0, x1) = ((mx - 3) as f32, (mx + 3 * n + 3) as f32);
    let (y0, y1) = ((my - 1) as f32, (my + 3) as f32);
    let opening = [
        [x0, y0 + 1.0],
        [(x0 + x1) / 2.0, y0],
        [x1, y0 + 1.0],
        [x1, y1 - 1.0],
        [(x0 + x1) / 2.0, y1],
        [x0, y1 - 1.0],
    ];
    let mut inside = found.clone();
    leave_out_mouth_content(&mut inside, &opening, 2.0);
    assert_eq!(
        count_by_kind(&inside)[1],
        0,
        "teeth gaps in the opening are left out: {inside:?}"
    );
    // A black speck between the lips still counts.
    let mut speck = neutral.clone();
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        put(&mut speck, w, mx + 6 + dx, my + 1 + dy, [0, 0, 0]);
    }
    let mut found_speck = find_artefacts(&speck, &neutral, w, h, face);
    leave_out_mouth_content(&mut found_speck, &opening, 2.0);
    assert_eq!(
        count_by_kind(&found_speck),
        [1, 0, 0],
        "a speck between the lips still counts: {found_speck:?}"
    );
    // The same opening does not hide a broken line elsewhere (the planted lower lid arc), nor anything
    // when the lips meet (no opening).
    let mut lid = frame.clone();
    plant_dotted_arc(&mut lid, w, face);
    let mut found = find_artefacts(&lid, &neutral, w, h, face);
    let lines = count_by_kind(&found)[1];
    leave_out_mouth_content(&mut found, &opening, 2.0);
    assert_eq!(
        count_by_kind(&found)[1],
        lines - 1,
        "the lid arc still counts: {found:?}"
    );
    let mut closed = find_artefacts(&frame, &neutral, w, h, face);
    leave_out_mouth_content(&mut closed, &[], 2.0);
    assert_eq!(count_by_kind(&closed)[1], 1);
}

/// The planted seam's pixels: a thin dark line, 1 px, slightly curved, 20 px long, on the cheek.
fn seam_line(face: [u32; 4]) -> Vec<(i32, i32)> {
    let (cx, cy) = at(face, 0.2, 0.66);
    (0..20)
        .map(|k| (cx + k, cy + (((k - 10) * (k - 10)) as f32 / 30.0) as i32))
        .collect()
}

#[test]
fn the_counter_finds_a_planted_seam() {
    let (neutral, w, h, face) = clean_demo();
    let mut frame = neutral.clone();
    for (x, y) in seam_line(face) {
        put(&mut frame, w, x, y, [30, 15, 15]);
    }
    let found = find_artefacts(&frame, &neutral, w, h, face);
    show(&frame, w, h, face, &found, "planted_seam");
    assert_eq!(count_by_kind(&found), [0, 0, 1], "{found:?}");
}

#[test]
fn a_closed_eyes_lash_line_is_the_eyes_not_a_seam() {
    let (neutral, w, h, face) = clean_demo();
    // The planted seam...
    let line = seam_line(face);
    let mut frame = neutral.clone();
    for &(x, y) in &line {
        put(&mut frame, w, x, y, [30, 15, 15]);
    }
    let found = find_artefacts(&frame, &neutral, w, h, face);
    assert_eq!(count_by_kind(&found), [0, 0, 1], "{found:?}");
    // ... unless it runs along a closed eye: a thin contour along the line, lids 1 px apart.
    let eye: Vec<[f32; 2]> = line
        .iter()
        .map(|&(x, y)| [x as f32, y as f32 - 0.5])
        .chain(line.iter().rev().map(|&(x, y)| [x as f32, y as f32 + 0.5]))
        .collect();
    let mut along = found.clone();
    leave_out_closed_lash_line(&mut along, &eye, 2.0);
    assert!(along.is_empty(), "the closed eye's line counted: {along:?}");
    // The same eye does not hide a seam elsewhere, nor a speck on the line.
    let shifted: Vec<[f32; 2]> = eye.iter().map(|p| [p[0], p[1] - 12.0]).collect();
    let mut elsewhere = found.clone();
    leave_out_closed_lash_line(&mut elsewhere, &shifted, 2.0);
    assert_eq!(count_by_kind(&elsewhere), [0, 0, 1], "{elsewhere:?}");
    let mut speck = neutral.clone();
    let (x, y) = line[10];
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        put(&mut speck, w, x + dx, y + dy, [0, 0, 0]);
    }
    let mut on_line = find_artefacts(&speck, &neutral, w, h, face);
    leave_out_closed_lash_line(&mut on_line, &eye, 2.0);
    assert_eq!(count_by_kind(&on_line), [1, 0, 0], "{on_line:?}");
}

#[test]
fn the_counter_is_quiet_on_clean_frames() {
    let (neutral, w, h, face) = clean_demo();
    // The frame itself, the frame moved by two pixels (motion is not an artefact), and a little noise.
    assert!(find_artefacts(&neutral, &neutral, w, h, face).is_empty());
    let img = image::RgbaImage::from_raw(w, h, neutral.clone()).unwrap();
    let mut moved = image::RgbaImage::new(w, h);
    image::imageops::replace(&mut moved, &img, 2, 1);
    let found = find_artefacts(moved.as_raw(), &neutral, w, h, face);
    assert!(found.is_empty(), "a moved frame: {found:?}");
    let mut noisy = neutral.clone();
    let mut seed = 12345u32;
    for v in noisy.iter_mut() {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = (*v as i32 + (seed >> 28) as i32 - 8).clamp(0, 255) as u8;
    }
    let found = find_artefacts(&noisy, &neutral, w, h, face);
    assert!(found.is_empty(), "a noisy frame: {found:?}");
}

// ---------------------------------------------------------------------------------------------------
// The renderer.

/// Renders every face of `faces` on every portrait, counts the artefacts, writes sheets, and returns the
/// total counts and a line per portrait.
/// What the survey found on one portrait.
struct Found {
    /// `[specks, broken lines, seams]` over every face.
    counts: [usize; 3],
    /// Likewise on the smiles only (the expression sheet's and the smile clip's frames).
    smile: [usize; 3],
    line: String,
}

fn survey(faces: &[(String, FaceFrame)], max: u32) -> Vec<Found> {
    let tracker = common::tracker();
    let dir = sheets_dir();
    let mut results = Vec::new();
    for path in portraits() {
        let Some((p, head)) = prepare(&tracker, &path, max) else {
            continue;
        };
        let (w, h) = (p.width, p.height);
        let b = face_box(head.rig(), w, h);
        let mut neutral = vec![0u8; p.rgba.len()];
        head.render(&FaceFrame::neutral(), &mut neutral);
        let mut counts = [0usize; 3];
        let mut smile = [0usize; 3];
        let mut tiles = vec![crop(&neutral, w, h, b)];
        if std::env::var_os("ARTEFACT_DUMP").is_some() {
            let c = crop(&neutral, w, h, b);
            image::imageops::resize(
                &c,
                c.width() * 3,
                c.height() * 3,
                image::imageops::FilterType::Nearest,
            )
            .save(dir.join(format!("{}_neutral.png", name(&path))))
            .unwrap();
        }
        let mut where_: Vec<String> = Vec::new();
        let mut out = vec![0u8; p.rgba.len()];
        let mut posed_frame = vec![0u8; p.rgba.len()];
        for (label, face) in faces {
            let target = head.retarget(face);
            head.render_retargeted(&target, &mut out);
            let ignore = open_mouth(&target.points);
            // Against the neutral face in the same head pose: what the expression adds (a turn's own
            // faults are the turn sweep's, below).
            let mut posed = FaceFrame::neutral();
            posed.head = face.head;
            let reference = if posed.head == FaceFrame::neutral().head {
                &neutral
            } else {
                head.render(&posed, &mut posed_frame);
                &posed_frame
            };
            // How the expression moved the picture: detail carried further than the counter's fixed
            // allowance (an opening jaw moves the lower lip and chin 15-35 px) is still the picture's.
            let motion = MotionField::from_landmarks(
                w,
                h,
                triangles(),
                &head.retarget(&posed).points,
                &target.points,
            );
            // On the face itself (hair and background are the turn sweep's and a look's business).
            let hull = face_hull(&target.points);
            let mut found: Vec<Artefact> =
                find_artefacts_moved(&out, reference, w, h, b, &ignore, Some(&motion))
                    .into_iter()
                    .filter(|a| in_hull(&hull, a.centre()))
                    .collect();
            // The gaps between the teeth of parted lips (the mouth layer's, or the photo's own at the
            // lower lip's edge) are the mouth's content.
            leave_out_mouth_content(&mut found, &parted_lips(&target.points), 2.0);
            // A closed eye's lash line is the eye's.
            for (eye, slack) in closed_eyes(&target.points) {
                leave_out_closed_lash_line(&mut found, &eye, slack);
            }
            if let Ok(filter) = std::env::var("ARTEFACT_EYES") {
                // The eyes, six times enlarged, of the faces whose label contains the filter.
                if label.contains(&filter) {
                    let pts = &target.points;
                    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
                    let mouth = std::env::var_os("ARTEFACT_MOUTH").is_some();
                    let at: &[usize] = if mouth {
                        &[61, 291, 0, 17]
                    } else {
                        &[33, 133, 159, 145, 263, 362, 386, 374, 105, 334]
                    };
                    for &i in at {
                        lo = [lo[0].min(pts[i][0]), lo[1].min(pts[i][1])];
                        hi = [hi[0].max(pts[i][0]), hi[1].max(pts[i][1])];
                    }
                    let e = [
                        (lo[0] - 6.0).max(0.0) as u32,
                        (lo[1] - 4.0).max(0.0) as u32,
                        ((hi[0] + 6.0) as u32).min(w),
                        ((hi[1] + 10.0) as u32).min(h),
                    ];
                    let c = crop(&out, w, h, e);
                    let c = image::imageops::resize(
                        &c,
                        c.width() * 6,
                        c.height() * 6,
                        image::imageops::FilterType::Nearest,
                    );
                    let file = format!(
                        "eyes_{}_{}.png",
                        name(&path),
                        label.replace([' ', '.'], "_")
                    );
                    c.save(dir.join(file)).unwrap();
                }
            }
            if found.is_empty() {
                continue;
            }
            if std::env::var_os("ARTEFACT_DEBUG").is_some() {
                for a in &found {
                    eprintln!("  {} {label}: {a:?}", name(&path));
                    dump_artefact(&out, reference, w, h, a, &target.points, &dir, &path, label);
                }
            }
            let n = count_by_kind(&found);
            for k in 0..3 {
                counts[k] += n[k];
                if label.contains("smile") {
                    smile[k] += n[k];
                }
            }
            where_.push(format!("{label} {n:?}"));
            let mut shown = out.clone();
            circle_artefacts(&mut shown, w, h, &found);
            if std::env::var_os("ARTEFACT_DUMP").is_some() {
                let c = crop(&shown, w, h, b);
                let c = image::imageops::resize(
                    &c,
                    c.width() * 3,
                    c.height() * 3,
                    image::imageops::FilterType::Nearest,
                );
                let file = format!("{}_{}.png", name(&path), label.replace([' ', '.'], "_"));
                c.save(dir.join(file)).unwrap();
            }
            if tiles.len() < 36 {
                tiles.push(crop(&shown, w, h, b));
            }
        }
        if tiles.len() > 1 {
            save_sheet(&tiles, 5, &dir.join(format!("{}.png", name(&path))));
        }
        let line = format!(
            "{:<28} specks {:>4}, broken lines {:>4}, seams {:>4}{}",
            name(&path),
            counts[0],
            counts[1],
            counts[2],
            if where_.is_empty() {
                String::new()
            } else {
                format!(
                    "  ({}{})",
                    where_[..where_.len().min(8)].join("; "),
                    if where_.len() > 8 { "; ..." } else { "" }
                )
            }
        );
        eprintln!("{line}");
        results.push(Found {
            counts,
            smile,
            line,
        });
    }
    results
}

/// With `ARTEFACT_DEBUG`: the neutral frame, the frame, and the frame with the artefact circled and the
/// inner lips' outline drawn in green, around one artefact, six times enlarged.
#[allow(clippy::too_many_arguments)]
fn dump_artefact(
    out: &[u8],
    reference: &[u8],
    w: u32,
    h: u32,
    a: &Artefact,
    points: &[[f32; 3]],
    dir: &Path,
    path: &Path,
    label: &str,
) {
    let c = a.centre();
    let e = [
        (c[0] - 20.0).max(0.0) as u32,
        (c[1] - 14.0).max(0.0) as u32,
        ((c[0] + 20.0) as u32).min(w),
        ((c[1] + 14.0) as u32).min(h),
    ];
    let mut marked = out.to_vec();
    circle_artefacts(&mut marked, w, h, std::slice::from_ref(a));
    for k in 0..INNER_LIPS.len() {
        let (p0, p1) = (
            points[INNER_LIPS[k]],
            points[INNER_LIPS[(k + 1) % INNER_LIPS.len()]],
        );
        for t in 0..=20 {
            let t = t as f32 / 20.0;
            let (x, y) = (p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1]));
            if x >= 0.0 && y >= 0.0 && (x as u32) < w && (y as u32) < h {
                let i = (y as usize * w as usize + x as usize) * 4;
                marked[i..i + 3].copy_from_slice(&[0, 255, 0]);
            }
        }
    }
    let panels = [reference, out, &marked[..]].map(|f| crop(f, w, h, e));
    let pw = panels[0].width();
    let mut row = image::RgbaImage::new(pw * 3 + 4, panels[0].height());
    for (k, p) in panels.iter().enumerate() {
        image::imageops::replace(&mut row, p, k as i64 * (pw as i64 + 2), 0);
    }
    image::imageops::resize(
        &row,
        row.width() * 6,
        row.height() * 6,
        image::imageops::FilterType::Nearest,
    )
    .save(dir.join(format!(
        "debug_{}_{}_{}_{}.png",
        name(path),
        label.replace([' ', '.'], "_"),
        a.bounds[0],
        a.bounds[1]
    )))
    .unwrap();
}

/// Issue 18's target: no specks, broken lines or seams on any portrait through the expression sheet and
/// the six clips (every 0.2 s, the debug build of CI), and none on a smile at any sampling. Reached on
/// 2026-12-06 (session 28) from 0 / 4 / 0, the last four of them the counter's own misreadings, looked
/// at on enlarged crops: a raised brow's hair resampled into blobs (aflw2000_00050 surprise 0.8 s;
/// a line's pieces are now thin), a photo's own lower teeth carried down with the lip by the opening
/// jaw (takeo; the gaps of teeth inside a parted mouth's outer lip contour are the mouth's), and a few
/// more freckles crossing the line contrast under the eye and on the nose (concept art anger 2.0 s; the
/// neutral's own freckle count allows for chance). The history of the ratchet that led there (80
/// broken lines, 64 specks and 3 seams on 2026-12-01) is in BENCHMARKS.md. At every 0.1 s
/// (`ARTEFACT_STEP=0.1`) two finds are left, reported, not asserted: the cartoon boy's lower lid line
/// in dashes at anger 1.7 s, and a short chain along aflw2000_01038's nose wing at smile 1.7 s.
#[test]
fn no_artefacts_on_any_portrait_and_none_on_smiles() {
    // Every 6th frame at 30 fps (0.2 s) in the debug build of CI; `ARTEFACT_STEP=0.1` for every 3rd.
    let step = std::env::var("ARTEFACT_STEP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.2);
    let faces = faces(step);
    let results = survey(&faces, 384);
    let mut total = [0usize; 3];
    for r in &results {
        for (t, c) in total.iter_mut().zip(r.counts) {
            *t += c;
        }
    }
    eprintln!(
        "{} faces per portrait, {} portraits; total: specks {}, broken lines {}, seams {} (target: none)",
        faces.len(),
        results.len(),
        total[0],
        total[1],
        total[2]
    );
    let sheets = sheets_dir();
    // The smile's dark seam between the lips and black specks at the mouth corners are gone everywhere.
    let smiles: Vec<&Found> = results
        .iter()
        .filter(|r| r.smile[0] + r.smile[2] > 0)
        .collect();
    assert!(
        smiles.is_empty(),
        "specks or seams on a smile (sheets in {}):\n{}",
        sheets.display(),
        smiles
            .iter()
            .map(|r| r.line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    if step != 0.2 {
        return;
    }
    let any: Vec<&Found> = results.iter().filter(|r| r.counts != [0; 3]).collect();
    assert!(
        any.is_empty(),
        "artefacts (sheets in {}; ARTEFACT_DEBUG=1 ARTEFACT_ONLY=<portrait> shows each):\n{}",
        sheets.display(),
        any.iter()
            .map(|r| r.line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Degrees to the radians of `HeadPose`.
fn deg(d: f32) -> f32 {
    d.to_radians()
}

/// Folded triangles in front: per portrait, over the turn sweep, the folded (back-facing) face
/// triangles whose landmark depth puts them in front of the face the frame shows (`Fold::in_front`, by
/// more than a twentieth of the eye-corner distance; they are drawn behind it all the same). A ratchet:
/// lower a line when a fix lowers it; 5 % and 10 more pass (rigs differ a little between machines, and
/// the counts are small).
const IN_FRONT_TODAY: &[(&str, usize)] = &[
    ("astronaut", 90),
    ("astronaut_painted", 203),
    ("aflw2000_00050", 139),
    ("aflw2000_00081", 27),
    ("aflw2000_00251", 125),
    ("aflw2000_00430", 127),
    ("aflw2000_00475", 24),
    ("aflw2000_00514", 154),
    ("aflw2000_00516", 161),
    ("aflw2000_01038", 162),
    ("einstein", 28),
    ("takeo", 90),
    ("girl_with_a_pearl_earring", 60),
    ("mona_lisa", 71),
    ("van_gogh_self_portrait", 26),
    ("cartoon_boy", 113),
    ("concept_art_scifi", 170),
];

/// The turn sweep (yaw -35..35, pitch -25..25 degrees, every portrait): no folded triangle shows in
/// the frame. "Folded" is a triangle of the warp mesh facing away from the viewer (a face triangle whose
/// orientation is the opposite of the canonical face's seen from the front; a triangle around the face
/// turned over against the portrait). Turning the face's 3D proxy makes many of them (the far cheek, the
/// sides of the nose); it "shows" where no triangle that did not fold covers a pixel of it
/// (`Fold::visible`): the renderer draws folded triangles behind all others, so a fold hidden behind
/// the nearer face is not a visible fold. Also a ratchet on folds the landmarks' depth puts in front
/// of the drawn face (`Fold::in_front`, [`IN_FRONT_TODAY`]).
#[test]
fn no_folded_triangle_shows_over_the_turn_sweep() {
    let sweep = fold_sweep();
    assert!(
        sweep.failures.is_empty(),
        "folds:\n{}",
        sweep.failures.join("\n")
    );
    let worse: Vec<String> = sweep
        .in_front
        .iter()
        .filter(|(n, folds)| {
            let limit = IN_FRONT_TODAY.iter().find(|t| t.0 == n).map_or(0, |t| t.1);
            *folds * 100 > limit * 105 + 1000
        })
        .map(|(n, f)| format!("{n}: {f} folded triangles in front of the drawn face"))
        .collect();
    assert!(
        worse.is_empty(),
        "more folds in front than today: {worse:?}"
    );
}

/// Yaw -35..35 and pitch -25..25 degrees in 5-degree steps on every portrait: the folded triangles per
/// portrait (all, and visible: a folded triangle with at least one pixel where it shows, see
/// [`Fold::visible`](bevy_talking_head::render::Fold::visible)), and a line for each pose with a
/// visible fold (the first 40). Writes a sheet of the corner poses.
fn fold_sweep() -> FoldSweep {
    let tracker = common::tracker();
    let dir = sheets_dir();
    let mut failures = Vec::new();
    let mut checked = 0;
    // Folded triangles over all portraits, per pose: [pitch][yaw], all and visible.
    let mut grid = [[0usize; 15]; 11];
    let mut grid_visible = [[0usize; 15]; 11];
    let mut grid_front = [[0usize; 15]; 11];
    let mut in_front_all = 0;
    let mut in_front = Vec::new();
    let mut fold_s = 0.0f64;
    let (mut visible, mut all, mut square_pixel) = (0, 0, 0);
    let (mut retarget_s, mut render_s, mut renders) = (0.0f64, 0.0f64, 0);
    for path in portraits() {
        let Some((p, head)) = prepare(&tracker, &path, 384) else {
            continue;
        };
        let mut tiles = Vec::new();
        let b = face_box(head.rig(), p.width, p.height);
        let (mut folds_here, mut visible_here, mut in_front_here) = (0, 0, 0);
        for pitch in (-25..=25).step_by(5) {
            for yaw in (-35..=35).step_by(5) {
                let mut face = FaceFrame::neutral();
                face.head.yaw = deg(yaw as f32);
                face.head.pitch = deg(pitch as f32);
                let t0 = std::time::Instant::now();
                let target = head.retarget(&face);
                retarget_s += t0.elapsed().as_secs_f64();
                let t0 = std::time::Instant::now();
                let folded = head.folded_triangles(&target);
                fold_s += t0.elapsed().as_secs_f64();
                let shown: Vec<_> = folded.iter().filter(|f| f.visible > 0).collect();
                let front = folded.iter().filter(|f| f.in_front > 0).count();
                in_front_here += front;
                in_front_all += front;
                grid_front[(pitch + 25) as usize / 5][(yaw + 35) as usize / 5] += front;
                checked += 1;
                let cell = ((pitch + 25) as usize / 5, (yaw + 35) as usize / 5);
                grid[cell.0][cell.1] += folded.len();
                grid_visible[cell.0][cell.1] += shown.len();
                square_pixel += folded.iter().filter(|f| f.area >= 1.0).count();
                visible += shown.len();
                all += folded.len();
                folds_here += folded.len();
                visible_here += shown.len();
                if !shown.is_empty() && failures.len() < 40 {
                    failures.push(format!(
                        "{} yaw {yaw} pitch {pitch}: {} folded triangles show, e.g. {:?}",
                        name(&path),
                        shown.len(),
                        shown[..shown.len().min(3)]
                            .iter()
                            .map(|f| (f.triangle, f.area, f.visible))
                            .collect::<Vec<_>>()
                    ));
                }
                if yaw % 35 == 0 && pitch % 25 == 0 {
                    let mut out = vec![0u8; p.rgba.len()];
                    let t0 = std::time::Instant::now();
                    head.render_retargeted(&target, &mut out);
                    render_s += t0.elapsed().as_secs_f64();
                    renders += 1;
                    tiles.push(crop(&out, p.width, p.height, b));
                }
            }
        }
        eprintln!(
            "{}: {folds_here} folded triangles over the sweep, {visible_here} of them visible, {in_front_here} in front of the drawn face",
            name(&path)
        );
        in_front.push((name(&path), in_front_here));
        save_sheet(&tiles, 3, &dir.join(format!("turns_{}.png", name(&path))));
    }
    eprintln!(
        "{all} folded triangles ({square_pixel} of them covering a square pixel or more), {visible} visible, {in_front_all} in front of the drawn face"
    );
    eprintln!(
        "{checked} poses checked; per pose, {:.2} ms retargeting, {:.2} ms finding the folds and where they show, {:.2} ms drawing the corner poses (this build, 384 px)",
        retarget_s * 1e3 / checked.max(1) as f64,
        fold_s * 1e3 / checked.max(1) as f64,
        render_s * 1e3 / renders.max(1) as f64
    );
    eprintln!(
        "folded triangles over all portraits (rows pitch -25..25, columns yaw -35..35, 5-degree steps):"
    );
    for row in grid {
        eprintln!("{}", row.map(|n| format!("{n:>6}")).join(""));
    }
    eprintln!("of them visible:");
    for row in grid_visible {
        eprintln!("{}", row.map(|n| format!("{n:>6}")).join(""));
    }
    eprintln!("of them in front of the drawn face:");
    for row in grid_front {
        eprintln!("{}", row.map(|n| format!("{n:>6}")).join(""));
    }
    eprintln!("folds in front per portrait, as the IN_FRONT_TODAY table:");
    for (n, f) in &in_front {
        eprintln!("    (\"{n}\", {f}),");
    }
    FoldSweep { in_front, failures }
}

/// What [`fold_sweep`] found.
struct FoldSweep {
    /// Folded triangles in front of the drawn face over the sweep, per portrait.
    in_front: Vec<(String, usize)>,
    /// A line for each pose with a visible fold (the first 40).
    failures: Vec<String>,
}

/// Where a turn brings into view a side that the portrait shows much less than its other side, the
/// mirrored face fills it instead of a few stretched pixels: Girl with a Pearl Earring (turned about 40
/// degrees) turned 35 degrees towards her hidden side draws a tenth of her face box or more from the
/// mirrored side (measured 17-24 %); at her own pose and turned the other way, nothing. On the frontal
/// demo, whose sides the portrait shows alike, under 2 % at every corner of the sweep (measured 0.5-1.2 %:
/// where Face Mesh's two sides differ a little).
#[test]
fn a_turn_towards_the_hidden_side_is_filled_from_the_mirrored_face() {
    let tracker = common::tracker();
    let poses = [
        (-35, -25),
        (-35, 0),
        (-35, 25),
        (35, -25),
        (35, 0),
        (35, 25),
        (0, 0),
    ];
    // Mirrored pixels and the face box's area for each pose.
    let mirrored = |head: &PreparedHead, p: &PortraitImage| -> Vec<(i32, i32, usize)> {
        let mut out = vec![0u8; p.rgba.len()];
        poses
            .iter()
            .map(|&(yaw, pitch)| {
                let mut face = FaceFrame::neutral();
                face.head.yaw = deg(yaw as f32);
                face.head.pitch = deg(pitch as f32);
                (yaw, pitch, head.render(&face, &mut out).mirrored_pixels)
            })
            .collect()
    };
    let area = |head: &PreparedHead, p: &PortraitImage| {
        let b = face_box(head.rig(), p.width, p.height);
        ((b[2] - b[0]) * (b[3] - b[1])) as usize
    };
    let (p, head) = prepare(
        &tracker,
        &root().join("assets/portraits/astronaut.png"),
        384,
    )
    .expect("the demo portrait rigs");
    let demo = mirrored(&head, &p);
    eprintln!("demo (face box {} px): {demo:?}", area(&head, &p));
    for (yaw, pitch, n) in &demo {
        assert!(
            *n * 50 < area(&head, &p),
            "the frontal demo at yaw {yaw}, pitch {pitch}: {n} mirrored pixels"
        );
    }
    let Some(dir) = common::testdata("paintings") else {
        return;
    };
    let (p, head) = prepare(&tracker, &dir.join("girl_with_a_pearl_earring.jpg"), 384)
        .expect("Girl with a Pearl Earring rigs");
    let girl = mirrored(&head, &p);
    let face = area(&head, &p);
    eprintln!("girl_with_a_pearl_earring (face box {face} px): {girl:?}");
    for (yaw, pitch, n) in &girl {
        assert!(
            *yaw > 0 || *n == 0,
            "at her own pose or turned away from her hidden side (yaw {yaw}, pitch {pitch}): {n} mirrored pixels"
        );
    }
    let most = girl.iter().map(|g| g.2).max().unwrap();
    assert!(
        most * 10 > face,
        "turned towards her hidden side, {most} of {face} face pixels mirrored"
    );
}

/// Raised brows turn no triangle of the forehead over on any portrait (each raise, and all three at
/// once, at full weight). A fold there is a hard cut across the forehead: the points between the brows,
/// raised fully, passed those above them where the forehead slopes away from the camera (Einstein's,
/// before 2026-12-06: six triangles over the glabella, a curved cut through his wrinkles). Counted on
/// triangles whose three corners lie at or above the brows' upper contours in the canonical face and
/// that face the viewer in the portrait (at least 0.3 of their frontal area at the portrait's scale: a
/// triangle nearly edge-on in a turned face flips with any motion and is drawn behind the rest). Two
/// photos turned far from the camera folded one each until `rig::untangle` (2026-12-07) kept every face
/// triangle from turning over; none now ([`RAISED_BROW_FOLDS_TODAY`]).
#[test]
fn raised_brows_turn_no_forehead_triangle_over() {
    let tracker = common::tracker();
    let canon = bevy_talking_head::tracking::canonical_face();
    // The brows' upper contours (each ring's first five points).
    let brow_top = RIGHT_BROW[..5]
        .iter()
        .chain(&LEFT_BROW[..5])
        .map(|&i| canon[i][1])
        .fold(f32::MIN, f32::max);
    let forehead: Vec<&[u16; 3]> = triangles()
        .iter()
        .filter(|t| t.iter().all(|&v| canon[v as usize][1] <= brow_top + 0.01))
        .collect();
    let raises = [
        vec![Expression::BrowInnerUp],
        vec![Expression::BrowOuterUpLeft],
        vec![Expression::BrowOuterUpRight],
        vec![
            Expression::BrowInnerUp,
            Expression::BrowOuterUpLeft,
            Expression::BrowOuterUpRight,
        ],
    ];
    let mut worse = Vec::new();
    for path in portraits() {
        let Some((_, head)) = prepare(&tracker, &path, 384) else {
            continue;
        };
        let rest = head.retarget(&FaceFrame::neutral()).points;
        let (folds, line) = folds_under(&head, &rest, &raises, &forehead);
        let n = name(&path);
        eprintln!("{n:32} forehead folds {folds}{line}");
        ratchet(RAISED_BROW_FOLDS_TODAY, &n, folds, &line, &mut worse);
    }
    assert!(worse.is_empty(), "forehead folds:\n{}", worse.join("\n"));
}

/// A face with each of `expressions` at full weight.
fn at_full(expressions: &[Expression]) -> FaceFrame {
    expressions
        .iter()
        .fold(FaceFrame::neutral(), |f, &e| f.with_expression(e, 1.0))
}

/// The triangles of `among` that `moved` turns over: their area on `rest` (a portrait's retargeted
/// neutral face) is more than 0.3 of the canonical face's at the same eye distance (not a sliver already
/// turned edge-on), and on `moved` it is 0 or less.
fn turned_over<'a>(
    rest: &[[f32; 3]],
    moved: &[[f32; 3]],
    among: impl IntoIterator<Item = &'a [u16; 3]>,
) -> Vec<[u16; 3]> {
    let area = |q: &[[f32; 3]], t: &[u16; 3]| {
        let (a, b, c) = (q[t[0] as usize], q[t[1] as usize], q[t[2] as usize]);
        (b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])
    };
    let iod = apart(rest, 33, 263);
    let frontal: Vec<[f32; 3]> = bevy_talking_head::tracking::canonical_face()
        .iter()
        .map(|p| [p[0] * iod, p[1] * iod, 0.0])
        .collect();
    among
        .into_iter()
        .filter(|t| area(rest, t) > 0.3 * area(&frontal, t).abs() && area(moved, t) <= 0.0)
        .copied()
        .collect()
}

/// The triangles of `among` that each of `sets` (its expressions at full weight) turns over on `head`,
/// against its neutral face `rest` (see [`turned_over`]): how many in all, and a line naming each with
/// its set.
fn folds_under(
    head: &PreparedHead,
    rest: &[[f32; 3]],
    sets: &[Vec<Expression>],
    among: &[&[u16; 3]],
) -> (usize, String) {
    let mut folds = 0;
    let mut line = String::new();
    for set in sets {
        let moved = head.retarget(&at_full(set)).points;
        for t in turned_over(rest, &moved, among.iter().copied()) {
            folds += 1;
            line += &format!(" {t:?} in {set:?};");
        }
    }
    (folds, line)
}

/// The face mesh's triangles among its 468 points (no anchors around the face).
fn face_triangles() -> Vec<&'static [u16; 3]> {
    triangles()
        .iter()
        .filter(|t| t.iter().all(|&v| (v as usize) < 468))
        .collect()
}

/// The box (`[x0, y0, x1, y1]` in `p`'s pixels) around `points`' landmarks on `rest`, widened on each
/// side by 0.15 of its width, for a sheet.
fn box_around<'a>(
    rest: &[[f32; 3]],
    points: impl Iterator<Item = &'a usize>,
    p: &PortraitImage,
) -> [u32; 4] {
    let (lo, hi) = points.fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), &i| {
        (
            [lo[0].min(rest[i][0]), lo[1].min(rest[i][1])],
            [hi[0].max(rest[i][0]), hi[1].max(rest[i][1])],
        )
    });
    let m = 0.15 * (hi[0] - lo[0]);
    [
        (lo[0] - m).max(0.0) as u32,
        (lo[1] - m).max(0.0) as u32,
        ((hi[0] + m) as u32).min(p.width),
        ((hi[1] + m) as u32).min(p.height),
    ]
}

/// Checks portrait `name`'s `count` against its line in the ratchet `table` (0 when it has none): a count
/// over it goes into `worse`, with `detail`.
fn ratchet(
    table: &[(&str, usize)],
    name: &str,
    count: usize,
    detail: &str,
    worse: &mut Vec<String>,
) {
    let today = table.iter().find(|t| t.0 == name).map_or(0, |t| t.1);
    if count > today {
        worse.push(format!("{name}: {count} (today {today}):{detail}"));
    }
}

/// Forehead folds of raised brows today (`raised_brows_turn_no_forehead_triangle_over`): none (before
/// `rig::untangle`, 3 on the two photos turned far from the camera). A ratchet: add no line.
const RAISED_BROW_FOLDS_TODAY: &[(&str, usize)] = &[];

/// A lowered brow (browDown, anger's and concentration's frown) bunches the skin above the lid without
/// folding it: no triangle of the face turns over, for each brow, both, and both with squinted or widened
/// eyes (the band between brow and lid is squeezed from both sides). Before the brow's descent was
/// limited to 40 % of its height over the lid and the band kept in order, 12 of the 17 portraits folded
/// 142 triangles here in all, Mona Lisa's (whose brows sit 7 px above the lids at 384) 40 of them.
/// And the brows still come down: at full browDown each brow's lower contour descends by at least a
/// sixth of its rest height over the lid.
#[test]
fn lowered_brows_fold_no_triangle_between_brow_and_lid() {
    let tracker = common::tracker();
    use Expression::*;
    let frowns = [
        vec![BrowDownLeft],
        vec![BrowDownRight],
        vec![BrowDownLeft, BrowDownRight],
        vec![BrowDownLeft, BrowDownRight, EyeSquintLeft, EyeSquintRight],
        vec![BrowDownLeft, BrowDownRight, EyeWideLeft, EyeWideRight],
    ];
    let face_triangles = face_triangles();
    let mut worse = Vec::new();
    let dir = sheets_dir();
    for path in portraits() {
        let Some((p, head)) = prepare(&tracker, &path, 384) else {
            continue;
        };
        let n = name(&path);
        let rest = head.retarget(&FaceFrame::neutral()).points;
        // A sheet to look at: the brows and eyes at rest and frowning (both brows; with a squint; with
        // the eyes wide).
        let region = RIGHT_BROW
            .iter()
            .chain(&LEFT_BROW)
            .chain(eye_ring(0))
            .chain(eye_ring(1));
        let b = box_around(&rest, region, &p);
        let mut tiles = Vec::new();
        for frown in [&[][..], &frowns[2], &frowns[3], &frowns[4]] {
            let mut out = vec![0u8; p.rgba.len()];
            head.render(&at_full(frown), &mut out);
            tiles.push(crop(&out, p.width, p.height, b));
        }
        save_sheet(&tiles, 4, &dir.join(format!("brows_down_{n}.png")));
        let (folds, line) = folds_under(&head, &rest, &frowns, &face_triangles);
        // Each brow's middle (its lower contour's middle point) over the lid's top.
        let down = head.retarget(&at_full(&frowns[2])).points;
        for (brow, lid) in [(RIGHT_BROW[7], 159), (LEFT_BROW[7], 386)] {
            let gap = rest[lid][1] - rest[brow][1];
            let descent = down[brow][1] - rest[brow][1];
            eprintln!("{n:32} brow {brow}: {descent:5.2} px of {gap:5.2} over the lid");
            assert!(
                descent >= gap / 6.0,
                "{n}: brow {brow} came down {descent:.2} px of the {gap:.2} px over its lid"
            );
        }
        eprintln!("{n:32} folds {folds}{line}");
        ratchet(LOWERED_BROW_FOLDS_TODAY, &n, folds, &line, &mut worse);
    }
    assert!(
        worse.is_empty(),
        "folds under lowered brows:\n{}",
        worse.join("\n")
    );
}

/// Folds under lowered brows today (`lowered_brows_fold_no_triangle_between_brow_and_lid`): 1. Before
/// `rig::untangle` (2026-12-07) 23, nearly all with the eyes squinted or widened as well: thin triangles
/// at the inner end of the band (56, 221, 222) where the brow comes down more than the lid moves, and the
/// far eye of the turned aflw2000_00251. Left: Mona Lisa's [28, 56, 158] with the brows down over widened
/// eyes, where her brow (whose points give a quarter as much as skin) and lid leave the skin between no
/// room. A ratchet: lower a line when a fix lowers it.
const LOWERED_BROW_FOLDS_TODAY: &[(&str, usize)] = &[("mona_lisa", 1)];

/// A closing eye folds no triangle at its corners: full blinks (both eyes; with a squint; with a look
/// down) turn over none of the face's triangles. Before this test, 14 of the 17 portraits folded 65
/// triangles here, nearly all [246, 33, 247] and [263, 466, 467]: the upper lid's point next to the
/// outer corner came down past the line from the skin point above the corner through the corner. Now
/// the two skin points there turn until every triangle holding them keeps a quarter of its rest area
/// (`rig::lid_band::OuterCorners`): 21 left, on 5 portraits; then every face triangle keeps a
/// twentieth of its rest area by its skin points' moves (`rig::untangle`): 5 left, on the two photos
/// turned far from the camera ([`CLOSED_EYE_FOLDS_TODAY`]). Writes
/// `blinks_<portrait>.png` (eyes open, then the three blinks).
#[test]
fn closed_eyes_fold_no_triangle_at_the_corners() {
    let tracker = common::tracker();
    let blinks = blink_sets();
    let face_triangles = face_triangles();
    let mut worse = Vec::new();
    let mut all = 0;
    for path in portraits() {
        let Some((p, head)) = prepare(&tracker, &path, 384) else {
            continue;
        };
        let n = name(&path);
        let rest = head.retarget(&FaceFrame::neutral()).points;
        // A sheet to look at: the eyes open and closed (and closed with a squint, with a look down).
        let b = box_around(&rest, eye_ring(0).iter().chain(eye_ring(1)), &p);
        let tiles: Vec<_> = std::iter::once(&[][..])
            .chain(blinks.iter().map(|b| &b[..]))
            .map(|blink| {
                let mut out = vec![0u8; p.rgba.len()];
                head.render(&at_full(blink), &mut out);
                crop(&out, p.width, p.height, b)
            })
            .collect();
        save_sheet(&tiles, 1, &sheets_dir().join(format!("blinks_{n}.png")));
        let (folds, line) = folds_under(&head, &rest, &blinks, &face_triangles);
        all += folds;
        eprintln!("{n:32} folds {folds}{line}");
        ratchet(CLOSED_EYE_FOLDS_TODAY, &n, folds, &line, &mut worse);
    }
    eprintln!("{all} folds in all");
    assert!(
        worse.is_empty(),
        "folds at closed eyes:\n{}",
        worse.join("\n")
    );
}

/// The three blinks the closed-eye tests render: both eyes; with a squint; with a look down.
fn blink_sets() -> [Vec<Expression>; 3] {
    use Expression::*;
    [
        vec![EyeBlinkLeft, EyeBlinkRight],
        vec![EyeBlinkLeft, EyeBlinkRight, EyeSquintLeft, EyeSquintRight],
        vec![
            EyeBlinkLeft,
            EyeBlinkRight,
            EyeLookDownLeft,
            EyeLookDownRight,
        ],
    ]
}

/// Folds at closed eyes today (`closed_eyes_fold_no_triangle_at_the_corners`): 5, on the two photos
/// turned far from the camera: aflw2000_00251's squinted blink at the inner corner ([157, 56, 190]) and
/// the profile aflw2000_00475's far inner corner ([286, 384, 414], [398, 362, 414]), where the skin
/// points between the closed lid and the fold pull against each other and `rig::untangle`'s passes, each
/// move held small so the skin moves smoothly, stop short. 21 on 5 portraits before it. A ratchet: lower
/// a line when a fix lowers it.
const CLOSED_EYE_FOLDS_TODAY: &[(&str, usize)] = &[("aflw2000_00251", 1), ("aflw2000_00475", 4)];

/// A far eye the picture does not show draws no lash line when it closes: on the two photos turned far
/// from the camera the far eye's landmarks lie on the bridge of the nose (aflw2000_00475) or the far
/// temple (aflw2000_00251), where the picture shows skin. The closing lid and its dark lash line are
/// drawn over the face after it; before they faded with the eye's facing (`render::warp::eye::facing`,
/// 2026-12-07) they drew a dark dash there in every blink. Counted: pixels around the far eye at 384 px
/// darker by 40 levels than with the eyes open, at most [`HIDDEN_EYE_DARKER`] on aflw2000_00475 (15-16
/// before, 0 now). On the dark aflw2000_00251 the dash was hardly darker than the skin under it (21 and 9
/// before, 18 and 0 now: the rest is the warp's own closing), so it is printed, not bounded.
#[test]
fn a_far_eye_turned_away_draws_no_lash_line_when_it_closes() {
    let tracker = common::tracker();
    let blinks = blink_sets();
    let turned: Vec<_> = portraits()
        .into_iter()
        .filter(|p| ["aflw2000_00475", "aflw2000_00251"].contains(&name(p).as_str()))
        .collect();
    if turned.is_empty() {
        eprintln!("skipped: the shared test data is not there");
        return;
    }
    let mut over = Vec::new();
    for path in turned {
        let n = name(&path);
        let (p, head) = prepare(&tracker, &path, 384).expect("a far-turned photo rigs");
        let rest = head.retarget(&FaceFrame::neutral()).points;
        // The far eye: the narrower in the picture.
        let far = if apart(&rest, 33, 133) < apart(&rest, 263, 362) {
            0
        } else {
            1
        };
        let b = box_around(&rest, eye_ring(far).iter(), &p);
        let mut open = vec![0u8; p.rgba.len()];
        head.render(&FaceFrame::neutral(), &mut open);
        for blink in &blinks {
            let mut out = vec![0u8; p.rgba.len()];
            head.render(&at_full(blink), &mut out);
            let darker = (b[1]..b[3])
                .flat_map(|y| (b[0]..b[2]).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    luma_of(&open, p.width, x, y) - luma_of(&out, p.width, x, y) > 40.0
                })
                .count();
            let line =
                format!("{n}: far eye {far}, {blink:?}: {darker} pixels darker by 40 levels");
            eprintln!("{line}");
            if n == "aflw2000_00475" && darker > HIDDEN_EYE_DARKER {
                over.push(line);
            }
        }
    }
    assert!(
        over.is_empty(),
        "lash lines where no eye shows:\n{}",
        over.join("\n")
    );
}

/// Pixels around aflw2000_00475's far eye (turned away, behind the nose) that a blink may darken by 40
/// levels or more (`a_far_eye_turned_away_draws_no_lash_line_when_it_closes`; 15-16 with the lash line).
const HIDDEN_EYE_DARKER: usize = 4;

/// The face's points move smoothly as an expression comes on: sweeps of a blink (both eyes; with a
/// squint) and of lowered brows over widened eyes, in steps of 0.01, move no landmark by more than
/// [`MAX_STEP`] px (at 384 px) between two steps, on every portrait. What keeps the skin from folding
/// (`rig::lid_band`, `rig::untangle`) must not do it by a jump where a gate or a search switches: a
/// first try at holding the inner eye corners' skin (session 33) passed the fold tests but jumped
/// 2.2-2.4 px in one step of a blink on the two photos turned far from the camera.
#[test]
fn the_skin_moves_smoothly_through_blinks_and_frowns() {
    let tracker = common::tracker();
    use Expression::*;
    let sweeps: [&[Expression]; 3] = [
        &[EyeBlinkLeft, EyeBlinkRight],
        &[EyeBlinkLeft, EyeBlinkRight, EyeSquintLeft, EyeSquintRight],
        &[BrowDownLeft, BrowDownRight, EyeWideLeft, EyeWideRight],
    ];
    let mut worst = (0.0f32, String::new());
    let mut over = Vec::new();
    for path in portraits() {
        let Some((_, head)) = prepare(&tracker, &path, 384) else {
            continue;
        };
        let n = name(&path);
        for sweep in sweeps {
            let at = |w: f32| {
                let f = sweep
                    .iter()
                    .fold(FaceFrame::neutral(), |f, &e| f.with_expression(e, w));
                head.retarget(&f).points
            };
            let mut before = at(0.0);
            let (mut largest, mut at_step, mut point) = (0.0f32, 0, 0);
            for k in 1..=100 {
                let now = at(k as f32 / 100.0);
                for (i, (a, b)) in before.iter().zip(&now).enumerate().take(468) {
                    let d = (a[0] - b[0]).hypot(a[1] - b[1]);
                    if d > largest {
                        (largest, at_step, point) = (d, k, i);
                    }
                }
                before = now;
            }
            let line = format!(
                "{n}: {sweep:?}: largest step {largest:.2} px (point {point}, step {at_step})"
            );
            eprintln!("{line}");
            if largest > worst.0 {
                worst = (largest, line.clone());
            }
            let bound = LARGEST_STEP_TODAY
                .iter()
                .find(|t| t.0 == n)
                .map_or(MAX_STEP, |t| t.1);
            if largest > bound {
                over.push(format!("{line} (at most {bound})"));
            }
        }
    }
    eprintln!("largest: {}", worst.1);
    assert!(over.is_empty(), "jumps:\n{}", over.join("\n"));
}

/// The largest move of a landmark between two steps of 0.01 of a blink or frown sweep
/// (`the_skin_moves_smoothly_through_blinks_and_frowns`), px at 384 px, on portraits not in
/// [`LARGEST_STEP_TODAY`]. The rest measure at most 0.91 (the Girl with a Pearl Earring's outer corner
/// skin in a blink, 247).
const MAX_STEP: f32 = 1.0;

/// The two photos turned far from the camera, their largest step today: aflw2000_00251 1.60 px (skin
/// 339 in a squinted blink, where `rig::untangle` gives up a fold it was holding); aflw2000_00475 2.22
/// px (the skin above the outer corner, 30, where `OuterCorners`' search changes its turn: 2.53 px before
/// `rig::untangle`) and 1.54 px (414 at the far inner corner in a blink). A ratchet: lower a line when a
/// fix lowers it.
const LARGEST_STEP_TODAY: &[(&str, f32)] = &[("aflw2000_00251", 1.65), ("aflw2000_00475", 2.3)];

/// Luma of pixel `(x, y)` of an RGBA frame `w` pixels wide.
fn luma_of(rgba: &[u8], w: u32, x: u32, y: u32) -> f32 {
    let p = &rgba[((y * w + x) * 4) as usize..][..3];
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

/// Distance from `q` to the closed polygon `hull`.
fn to_hull(hull: &[[f32; 2]], q: [f32; 2]) -> f32 {
    (0..hull.len())
        .map(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
            let ab = [b[0] - a[0], b[1] - a[1]];
            let t = (((q[0] - a[0]) * ab[0] + (q[1] - a[1]) * ab[1])
                / (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-6))
            .clamp(0.0, 1.0);
            (q[0] - a[0] - t * ab[0]).hypot(q[1] - a[1] - t * ab[1])
        })
        .fold(f32::MAX, f32::min)
}

/// A frowning or raised inner brow leaves the outline of the temples beside it where it was: the
/// expression shapes (fitted from driving videos) moved the temples out by 2 to 3 px at 384 px in a
/// frown, which covered the background beside them with skin, and on a portrait turned from the camera
/// (the Girl with a Pearl Earring) stretched the picture's soft edge into a light sliver beside her far
/// temple. Over every portrait at 384 px, browDown (both brows, each alone) and browInnerUp at full
/// weight against the neutral frame: pixels outside the face's landmarks, within 6 px of them, between
/// the brows' top and the eyes' corners, whose luma changes by more than 24 levels. Before the skull's
/// outline was held (`rig::topology::SKULL_OUTLINE`, 2026-12-07): 2427 in all on 15 portraits (the
/// Girl 169, the cartoon boy 522); now 111 on 6 ([`TEMPLE_CHANGES_TODAY`], a ratchet). browOuterUp is
/// left out: a raised outer brow moves drawn brow tails that reach past the landmarks (the cartoon boy's,
/// aflw2000_01038's). Writes `temples_<portrait>.png` (neutral, then the four).
#[test]
fn a_moving_brow_leaves_the_temples_outline_where_it_was() {
    let tracker = common::tracker();
    use Expression::*;
    let brows = [
        vec![BrowDownLeft, BrowDownRight],
        vec![BrowDownLeft],
        vec![BrowDownRight],
        vec![BrowInnerUp],
    ];
    let dir = sheets_dir();
    let (mut total, mut worse) = (0, Vec::new());
    for path in portraits() {
        let Some((p, head)) = prepare(&tracker, &path, 384) else {
            continue;
        };
        let n = name(&path);
        let rest = head.retarget(&FaceFrame::neutral()).points;
        let hull = face_hull(&rest[..468]);
        let top = RIGHT_BROW
            .iter()
            .chain(&LEFT_BROW)
            .map(|&i| rest[i][1])
            .fold(f32::MAX, f32::min);
        let eyes = [33, 133, 263, 362].map(|i| rest[i][1]).iter().sum::<f32>() / 4.0;
        let band: Vec<(u32, u32)> = (top.max(0.0) as u32..(eyes.max(0.0) as u32).min(p.height))
            .flat_map(|y| (0..p.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let q = [x as f32 + 0.5, y as f32 + 0.5];
                !in_hull(&hull, q) && to_hull(&hull, q) <= 6.0
            })
            .collect();
        let mut neutral = vec![0u8; p.rgba.len()];
        head.render(&FaceFrame::neutral(), &mut neutral);
        let region = RIGHT_BROW
            .iter()
            .chain(&LEFT_BROW)
            .chain(eye_ring(0))
            .chain(eye_ring(1));
        let b = box_around(&rest, region, &p);
        let mut tiles = vec![crop(&neutral, p.width, p.height, b)];
        let mut changed = Vec::new();
        for set in &brows {
            let mut out = vec![0u8; p.rgba.len()];
            head.render(&at_full(set), &mut out);
            changed.push(
                band.iter()
                    .filter(|&&(x, y)| {
                        (luma_of(&out, p.width, x, y) - luma_of(&neutral, p.width, x, y)).abs()
                            > 24.0
                    })
                    .count(),
            );
            tiles.push(crop(&out, p.width, p.height, b));
        }
        save_sheet(&tiles, 5, &dir.join(format!("temples_{n}.png")));
        let sum: usize = changed.iter().sum();
        eprintln!("{n:32} temple pixels changed {changed:?} of {}", band.len());
        total += sum;
        ratchet(
            TEMPLE_CHANGES_TODAY,
            &n,
            sum,
            &format!(" {changed:?}"),
            &mut worse,
        );
    }
    eprintln!("{total} temple pixels changed in all");
    assert!(
        worse.is_empty(),
        "the temples' outline moved:\n{}",
        worse.join("\n")
    );
}

/// Temple pixels that still change under a moving brow today
/// (`a_moving_brow_leaves_the_temples_outline_where_it_was`). A ratchet: lower a line when a fix lowers
/// it.
const TEMPLE_CHANGES_TODAY: &[(&str, usize)] = &[
    ("aflw2000_00475", 2),
    ("aflw2000_01038", 63),
    ("cartoon_boy", 14),
    ("concept_art_scifi", 24),
    ("girl_with_a_pearl_earring", 8),
];
