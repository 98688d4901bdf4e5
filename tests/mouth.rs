//! The open mouth and the jaw (issue 18, items 3 and 4), measured on rendered frames: the cavity's edge is
//! no sharper than the picture's own lip line, the chin passing over the collar leaves no edge stronger
//! than the picture's own, and a full jawOpen opens the mouth by a plausible share of the face. Writes
//! contact sheets of open mouths to `target/tmp/mouth/` (and `/tmp/mouth/` when that exists), for looking
//! at.

mod common;

use std::path::{Path, PathBuf};

use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, PreparedHead};
use bevy_talking_head::rig::topology::{
    INNER_LIPS, LOWER_INNER_LIP, LOWER_OUTER_LIP, UPPER_INNER_LIP, UPPER_OUTER_LIP,
};
use common::warp::{contact_sheet_cols, demo, face_portrait, prepared};

/// The open mouths of the sheets: name and face.
fn open_mouths() -> Vec<(&'static str, FaceFrame)> {
    use Expression as E;
    let n = FaceFrame::neutral;
    vec![
        ("neutral", n()),
        ("jawOpen 0.3", n().with_expression(E::JawOpen, 0.3)),
        ("jawOpen 0.6", n().with_expression(E::JawOpen, 0.6)),
        ("jawOpen 1.0", n().with_expression(E::JawOpen, 1.0)),
        (
            "smile + open",
            n().with_expression(E::MouthSmileLeft, 1.0)
                .with_expression(E::MouthSmileRight, 1.0)
                .with_expression(E::JawOpen, 0.4),
        ),
        (
            "funnel",
            n().with_expression(E::MouthFunnel, 1.0)
                .with_expression(E::JawOpen, 0.2),
        ),
    ]
}

/// The demo, the painted demo, and the shared paintings and cartoon that have a mouth to open.
fn portraits() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = vec![demo(), root.join("assets/portraits/astronaut_painted.png")];
    if let Some(dir) = common::testdata("paintings") {
        v.push(dir.join("mona_lisa.jpg"));
        v.push(dir.join("girl_with_a_pearl_earring.jpg"));
    }
    if let Some(dir) = common::testdata("stylized") {
        v.push(dir.join("cartoon_boy.jpg"));
    }
    v
}

fn out_dirs() -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/mouth");
    std::fs::create_dir_all(&d).unwrap();
    let mut v = vec![d];
    if Path::new("/tmp/mouth").is_dir() {
        v.push(PathBuf::from("/tmp/mouth"));
    }
    v
}

fn render(head: &PreparedHead, p: &PortraitImage, face: &FaceFrame) -> Vec<u8> {
    let mut out = vec![0u8; p.rgba.len()];
    let stats = head.render(face, &mut out);
    assert_eq!(stats.uncovered, 0, "holes in the mesh");
    out
}

fn luma_of(rgba: &[u8]) -> Vec<f32> {
    rgba.chunks_exact(4)
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect()
}

/// Squared gradient magnitude (Sobel, luma) at every pixel (0 on the border).
fn gradient_energy(rgba: &[u8], w: usize, h: usize) -> Vec<f32> {
    let l = luma_of(rgba);
    let mut g = vec![0.0; w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let at = |dx: isize, dy: isize| {
                l[(y as isize + dy) as usize * w + (x as isize + dx) as usize]
            };
            let gx = (at(1, -1) + 2.0 * at(1, 0) + at(1, 1))
                - (at(-1, -1) + 2.0 * at(-1, 0) + at(-1, 1));
            let gy = (at(-1, 1) + 2.0 * at(0, 1) + at(1, 1))
                - (at(-1, -1) + 2.0 * at(0, -1) + at(1, -1));
            g[y * w + x] = (gx * gx + gy * gy) / 16.0;
        }
    }
    g
}

fn segment_distance(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let ab = [b[0] - a[0], b[1] - a[1]];
    let ap = [p[0] - a[0], p[1] - a[1]];
    let t = ((ap[0] * ab[0] + ap[1] * ab[1]) / (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-9))
        .clamp(0.0, 1.0);
    ((ap[0] - t * ab[0]).powi(2) + (ap[1] - t * ab[1]).powi(2)).sqrt()
}

/// The mean gradient energy over the pixels within `band` px of the polyline `line`.
fn band_energy(energy: &[f32], w: usize, h: usize, line: &[[f32; 2]], band: f32) -> f32 {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in line {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in ((y0 - band).floor().max(1.0) as usize)..((y1 + band).ceil() as usize).min(h - 1) {
        for x in ((x0 - band).floor().max(1.0) as usize)..((x1 + band).ceil() as usize).min(w - 1) {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let d = line
                .windows(2)
                .map(|s| segment_distance(p, s[0], s[1]))
                .fold(f32::MAX, f32::min);
            if d <= band {
                sum += energy[y * w + x] as f64;
                n += 1;
            }
        }
    }
    (sum / n.max(1) as f64) as f32
}

fn inside_polygon(ring: &[[f32; 2]], p: [f32; 2]) -> bool {
    let mut inside = false;
    for s in ring.windows(2) {
        let (a, b) = (s[0], s[1]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0])
        {
            inside = !inside;
        }
    }
    inside
}

fn line_of(points: &[[f32; 3]], idx: &[usize]) -> Vec<[f32; 2]> {
    idx.iter().map(|&i| [points[i][0], points[i][1]]).collect()
}

/// The lower face around the mouth of the neutral rig, square: the crop of every frame of a sheet.
fn mouth_box(points: &[[f32; 3]], w: u32, h: u32) -> (u32, u32, u32) {
    let width = ((points[291][0] - points[61][0]).powi(2)
        + (points[291][1] - points[61][1]).powi(2))
    .sqrt();
    let chin = points[152][1] - points[13][1];
    let size = (2.4 * width).max(1.9 * chin).min(w.min(h) as f32);
    let cx = (points[61][0] + points[291][0]) / 2.0;
    let cy = (points[13][1] + points[152][1]) / 2.0 + 0.05 * size;
    let left = (cx - size / 2.0).clamp(0.0, w as f32 - size) as u32;
    let top = (cy - size / 2.0).clamp(0.0, h as f32 - size) as u32;
    (left, top, size as u32)
}

fn crop(frame: &[u8], w: u32, h: u32, (left, top, size): (u32, u32, u32), side: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_raw(w, h, frame.to_vec()).unwrap();
    let c = image::imageops::crop_imm(&img, left, top, size, size).to_image();
    image::imageops::resize(&c, side, side, image::imageops::FilterType::CatmullRom).into_raw()
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The cavity's border against the picture's own lip line: for every portrait, every open mouth of the
/// sheet, the mean gradient energy within a band around the inner lip contour of the rendered frame is
/// at most 1.5 times the same measure on the neutral picture's lips (the larger of the closed lip line
/// and the lips' outer edge: what the picture itself draws as the mouth's edge). A hard-edged cavity on a
/// soft painting fails it (measured before issue 18: 3.0-4.0x on Mona Lisa, 2.5-3.5x on Girl with a
/// Pearl Earring, 3.1-4.9x on the painted demo; after: at most 0.72x, 1.13x and 1.12x).
#[test]
fn the_open_mouth_is_no_sharper_than_the_picture_lips() {
    let tracker = common::tracker();
    let mut failures = Vec::new();
    let mut sheet = Vec::new();
    let mut zoom = Vec::new();
    let side = 160;
    for path in portraits() {
        let (p, head) = face_portrait(&tracker, &path, 512);
        let (w, h) = (p.width as usize, p.height as usize);
        let rest = head.rig().landmarks.clone();
        let width =
            ((rest[308][0] - rest[78][0]).powi(2) + (rest[308][1] - rest[78][1]).powi(2)).sqrt();
        let band = (0.035 * width).max(1.5);
        // The picture itself, not its neutral rendering.
        let e0 = gradient_energy(&p.rgba, w, h);
        let seam = band_energy(&e0, w, h, &line_of(&rest, &UPPER_INNER_LIP), band).max(
            band_energy(&e0, w, h, &line_of(&rest, &LOWER_INNER_LIP), band),
        );
        let outer = band_energy(&e0, w, h, &line_of(&rest, &UPPER_OUTER_LIP), band).max(
            band_energy(&e0, w, h, &line_of(&rest, &LOWER_OUTER_LIP), band),
        );
        let lips = seam.max(outer);
        let bx = mouth_box(&rest, p.width, p.height);
        let zx = {
            let cx = (rest[61][0] + rest[291][0]) / 2.0;
            let cy = (rest[13][1] + rest[14][1]) / 2.0 + 0.15 * width;
            let size = 1.3 * width;
            (
                (cx - size / 2.0).max(0.0) as u32,
                (cy - size / 2.0).max(0.0) as u32,
                (size as u32).min(p.width.min(p.height)),
            )
        };
        for (name, face) in open_mouths() {
            let out = render(&head, &p, &face);
            sheet.push(crop(&out, p.width, p.height, bx, side));
            zoom.push(crop(&out, p.width, p.height, zx, 240));
            if name == "neutral" {
                continue;
            }
            let moved = head.retarget(&face).points;
            let mut ring = line_of(&moved, &INNER_LIPS);
            ring.push(ring[0]);
            let e = gradient_energy(&out, w, h);
            let cavity = band_energy(&e, w, h, &ring, band);
            // The same band on the neutral picture's pixels moved by the warp alone would show what
            // the lips bring; here, for diagnosis, the band's energy inside the opening only.
            let inside: Vec<f32> = e
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let p = [(i % w) as f32 + 0.5, (i / w) as f32 + 0.5];
                    if inside_polygon(&ring, p) { *v } else { 0.0 }
                })
                .collect();
            let inner = band_energy(&inside, w, h, &ring, band);
            let ratio = cavity / lips.max(1.0);
            eprintln!(
                "{} {name}: cavity border {cavity:.0} ({inner:.0} of it inside), lips {lips:.0} (seam {seam:.0}, outer {outer:.0}): {ratio:.2}x",
                stem(&path)
            );
            if ratio > 1.5 {
                failures.push(format!("{} {name}: {ratio:.2}x", stem(&path)));
            }
        }
    }
    for d in out_dirs() {
        contact_sheet_cols(
            &sheet,
            side,
            side,
            open_mouths().len(),
            &d.join("open_mouths.png"),
        );
        let n = open_mouths().len();
        for (k, path) in portraits().iter().enumerate() {
            contact_sheet_cols(
                &zoom[k * n..(k + 1) * n],
                240,
                240,
                n,
                &d.join(format!("zoom_{}.png", stem(path))),
            );
        }
    }
    assert!(
        failures.is_empty(),
        "cavity borders sharper than 1.5x the lips: {failures:?}"
    );
}

/// The jaw on the demo portrait at its own size (the chin over the dark collar): opening it leaves no edge
/// along the chin's path stronger than the picture's own chin edge, the chin keeps its outline (the
/// rendered chin edge at jawOpen 1 is as strong as the neutral one and where the rig puts it), and the
/// opening at jawOpen 1 is a plausible share of the face's height.
#[test]
fn the_jaw_opens_over_the_collar_without_a_hard_edge() {
    let tracker = common::tracker();
    let mut sheet = Vec::new();
    let mut failures = Vec::new();
    for path in portraits() {
        let (p, head) = prepared(&tracker, &path, 512);
        let (w, h) = (p.width as usize, p.height as usize);
        let rest = head.rig().landmarks.clone();
        let face_h = rest[152][1] - rest[10][1];
        let open = FaceFrame::neutral().with_expression(Expression::JawOpen, 1.0);
        let moved = head.retarget(&open).points;
        // The opening: the inner lips' gap in the middle, as a share of the face (forehead to chin).
        let gap = (moved[14][1] - moved[13][1]) - (rest[14][1] - rest[13][1]);
        let share = gap / face_h;
        let drop = moved[152][1] - rest[152][1];
        eprintln!(
            "{}: jawOpen 1 opens the lips by {gap:.1} px, {:.1} % of the face height {face_h:.0} px; the chin drops {drop:.1} px",
            stem(&path),
            100.0 * share
        );
        if !(0.07..=0.2).contains(&share) {
            failures.push(format!(
                "{}: jawOpen 1 opens the mouth by {:.1} % of the face height",
                stem(&path),
                100.0 * share
            ));
        }
        let neutral = render(&head, &p, &FaceFrame::neutral());
        let out = render(&head, &p, &open);
        let e0 = gradient_energy(&neutral, w, h);
        let e1 = gradient_energy(&out, w, h);
        // The chin's path: below the rendered chin line (the jaw outline between the jaw's corners) down
        // to the neutral chin plus the drop and a margin, over the middle of the jaw. The strongest edge
        // there (95th percentile of the energy per column, the column's maximum) against the neutral
        // picture's chin edge measured the same way.
        let chin_line = |pts: &[[f32; 3]]| {
            line_of(
                pts,
                &[
                    172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397,
                ],
            )
        };
        let column_peaks = |e: &[f32], line: &[[f32; 2]], below: f32| -> Vec<f32> {
            let x0 = line[2][0].max(1.0) as usize;
            let x1 = (line[line.len() - 3][0] as usize).min(w - 2);
            (x0..=x1)
                .map(|x| {
                    let xf = x as f32 + 0.5;
                    let y = line
                        .windows(2)
                        .find(|s| (s[0][0] - xf) * (s[1][0] - xf) <= 0.0)
                        .map(|s| {
                            let t = (xf - s[0][0]) / (s[1][0] - s[0][0]).abs().max(1e-3);
                            s[0][1] + t.abs() * (s[1][1] - s[0][1])
                        })
                        .unwrap_or(line[6][1]);
                    let y0 = (y - 3.0).max(1.0) as usize;
                    let y1 = ((y + below) as usize).min(h - 2);
                    (y0..=y1).map(|y| e[y * w + x]).fold(0.0, f32::max)
                })
                .collect()
        };
        let pct = |mut v: Vec<f32>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[(v.len() as f32 * 0.9) as usize]
        };
        let margin = 0.06 * face_h;
        let before = pct(column_peaks(&e0, &chin_line(&rest), drop + margin));
        // Below the moved chin: what the jaw leaves behind as it slides over the neck and collar (the
        // chin's own edge is the first rows; start past it).
        let after_path = {
            let line: Vec<[f32; 2]> = chin_line(&moved)
                .iter()
                .map(|p| [p[0], p[1] + 0.03 * face_h])
                .collect();
            pct(column_peaks(&e1, &line, margin))
        };
        let chin_edge = pct(column_peaks(&e1, &chin_line(&moved), 0.03 * face_h));
        eprintln!(
            "{}: chin edge neutral {before:.0}, at jawOpen 1 {chin_edge:.0}; below the moved chin {after_path:.0}",
            stem(&path)
        );
        if after_path > 1.1 * before.max(100.0) {
            failures.push(format!(
                "{}: an edge of {after_path:.0} below the opened chin (the picture's own chin edge: {before:.0})",
                stem(&path)
            ));
        }
        let bx = mouth_box(&rest, p.width, p.height);
        let side = 200;
        sheet.push(crop(&neutral, p.width, p.height, bx, side));
        sheet.push(crop(&out, p.width, p.height, bx, side));
    }
    for d in out_dirs() {
        contact_sheet_cols(&sheet, 200, 200, 4, &d.join("jaw.png"));
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// The mouth takes the picture's colourfulness: a black-and-white photo's open mouth, teeth and tongue
/// stay grey (Einstein's talk clip drew a red tongue between grey lips before). The demo portrait made
/// grey, its mouth opened and its tongue out: no pixel of the frame has more colour (largest minus
/// smallest channel) than 6 levels; and the colour photo's own tongue stays red (its stronger channel
/// red), so the test is not passed by drawing every tongue grey.
#[test]
fn a_black_and_white_portrait_gets_a_grey_mouth_and_tongue() {
    use bevy_talking_head::rig::PortraitRig;
    use bevy_talking_head::tracking::ImageView;
    let tracker = common::tracker();
    let colour = common::warp::scaled(&demo(), 384);
    let mut grey = colour.rgba.clone();
    for px in grey.chunks_exact_mut(4) {
        let l = (0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32).round() as u8;
        px[..3].fill(l);
    }
    let grey = PortraitImage::new(colour.width, colour.height, grey).unwrap();
    use Expression as E;
    let faces = [
        FaceFrame::neutral().with_expression(E::JawOpen, 1.0),
        FaceFrame::neutral()
            .with_expression(E::JawOpen, 0.5)
            .with_expression(E::TongueOut, 1.0),
    ];
    let mut frames = Vec::new();
    let mut reds = Vec::new();
    for (name, p) in [("grey", &grey), ("colour", &colour)] {
        let view = ImageView::new(p.width, p.height, 4, &p.rgba, name).unwrap();
        let rig = PortraitRig::build(&tracker, &view, name).unwrap();
        let rest = rig.landmarks.clone();
        let head = common::warp::head_of(&std::sync::Arc::new(p.clone()), &rig);
        for face in &faces {
            let out = render(&head, p, face);
            let (w, h) = (p.width, p.height);
            let chroma = out
                .chunks_exact(4)
                .map(|c| c[0].max(c[1]).max(c[2]) - c[0].min(c[1]).min(c[2]))
                .max()
                .unwrap();
            if name == "grey" {
                assert!(
                    chroma <= 6,
                    "the grey portrait's frame has a pixel {chroma} levels from grey (the mouth \
                     drawn in colours the picture does not have)"
                );
            } else {
                // The tongue's middle, below the lower lip's inner edge: its red against its green.
                let moved = head.retarget(face).points;
                let (x, y) = (
                    moved[14][0],
                    moved[14][1] + 0.02 * (rest[152][1] - rest[10][1]),
                );
                let i = (y as usize * w as usize + x as usize) * 4;
                reds.push(out[i] as i32 - out[i + 1] as i32);
            }
            frames.push(crop(&out, w, h, mouth_box(&rest, w, h), 192));
        }
    }
    for d in out_dirs() {
        contact_sheet_cols(&frames, 192, 192, 4, &d.join("grey_mouth.png"));
    }
    let tongue_red = *reds.last().unwrap();
    assert!(
        tongue_red > 20,
        "the colour photo's tongue is red minus green {tongue_red} levels, not red"
    );
}

/// The luma of every pixel of `frame` (`w` x `h`) inside the inner lips' polygon of `points`, grown by
/// a pixel.
fn inner_lip_lumas(frame: &[u8], points: &[[f32; 3]], w: usize, h: usize) -> Vec<f32> {
    let ring = line_of(points, &INNER_LIPS);
    let mut closed = ring.clone();
    closed.push(ring[0]);
    let (c0, c1) = ring
        .iter()
        .fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), q| {
            (
                [lo[0].min(q[0]), lo[1].min(q[1])],
                [hi[0].max(q[0]), hi[1].max(q[1])],
            )
        });
    let l = luma_of(frame);
    let mut inside = Vec::new();
    for y in (c0[1] as usize).saturating_sub(1)..((c1[1] + 2.0) as usize).min(h) {
        for x in (c0[0] as usize).saturating_sub(1)..((c1[0] + 2.0) as usize).min(w) {
            let near = [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
                .iter()
                .any(|d| inside_polygon(&closed, [x as f32 + 0.5 + d[0], y as f32 + 0.5 + d[1]]));
            if near {
                inside.push(l[y * w + x]);
            }
        }
    }
    inside
}

/// The mean luma of `frame` (`w` wide) in the middle of the lips of `points`: 3 x 3 pixels half-way
/// between the outer and the inner edge, at the 7 middle places of each lip.
fn lips_luma(frame: &[u8], points: &[[f32; 3]], w: usize) -> f32 {
    let l = luma_of(frame);
    let mut sum = (0.0, 0.0);
    for (outer, inner) in [
        (UPPER_OUTER_LIP, UPPER_INNER_LIP),
        (LOWER_OUTER_LIP, LOWER_INNER_LIP),
    ] {
        for k in 2..9 {
            let (a, b) = (points[outer[k]], points[inner[k]]);
            let (x, y) = (
                ((a[0] + b[0]) / 2.0) as usize,
                ((a[1] + b[1]) / 2.0) as usize,
            );
            for (dx, dy) in (0..9).map(|i| (i % 3, i / 3)) {
                sum.0 += l[(y + dy - 1) * w + x + dx - 1];
                sum.1 += 1.0;
            }
        }
    }
    sum.0 / sum.1
}

/// However light a picture's darks, the back of an open mouth is dark: a high-key photo (Einstein's, his
/// face's darkest 3 % at 0.73 of his lips' luma) drew its cavity as a flat grey box, its back (0.44 of
/// the lips) hardly darker than its lit front. The back is now at most 0.3 of the lips' luma (the
/// painted portraits' own darks give 0.28-0.30 and are unchanged). Measured at jawOpen 0.8, 512 px: the
/// 10th percentile of luma inside the inner lips over the lips' luma (before: Einstein 0.48, the profile
/// aflw2000_00475 0.51; now 0.33 and 0.33; bound 0.4). Also writes `dark_back.png`.
#[test]
fn a_high_key_photos_open_mouth_has_a_dark_back() {
    let Some(dir) = common::testdata("faces") else {
        return;
    };
    let tracker = common::tracker();
    let open = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.8);
    let mut frames = Vec::new();
    let mut failures = Vec::new();
    for name in ["einstein.jpg", "aflw2000_00475.jpg"] {
        let (p, head) = face_portrait(&tracker, &dir.join(name), 512);
        let (w, h) = (p.width as usize, p.height as usize);
        let lips = lips_luma(&p.rgba, &head.rig().landmarks, w);
        let frame = render(&head, &p, &open);
        let points = head.retarget(&open).points;
        let mut cavity = inner_lip_lumas(&frame, &points, w, h);
        cavity.sort_by(f32::total_cmp);
        let back = cavity[cavity.len() / 10] / lips;
        eprintln!("{name}: lips {lips:.0}, the cavity's 10th percentile {back:.2} of them");
        if back > 0.4 {
            failures.push(format!("{name}: {back:.2}"));
        }
        frames.push(crop(
            &frame,
            p.width,
            p.height,
            mouth_box(&points, p.width, p.height),
            192,
        ));
    }
    for d in out_dirs() {
        contact_sheet_cols(&frames, 192, 192, 2, &d.join("dark_back.png"));
    }
    assert!(
        failures.is_empty(),
        "an open mouth's back lighter than 0.4 of the lips: {failures:?}"
    );
}

/// A mouth the tracker finds open at rest parting by a sliver more. Einstein's inner lips read apart
/// under his moustache, so the portrait lends its own opening to the mouth layer; a jaw opening by a
/// little more stretches that opening, with the line where his lips meet, instead of drawing a hard
/// line of painted cavity under it (before 2026-12-05: a dark one-pixel line, counted as a broken line
/// by `tests/artefacts.rs` in surprise). Over the inner lips' polygon of each frame (grown by a pixel),
/// the darkest pixels (the 2nd percentile of luma) are at most 10 levels darker than the neutral
/// frame's darkest there (before: 14, 23 and 14 levels darker at jawOpen 0.03, 0.05, 0.08; now within
/// 1).
#[test]
fn a_mouth_open_at_rest_parts_by_a_sliver_without_a_hard_line() {
    let Some(dir) = common::testdata("faces") else {
        return;
    };
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &dir.join("einstein.jpg"), 384);
    assert!(
        head.mouth_reference().is_some(),
        "Einstein's mouth reads open at rest (the case this test is about)"
    );
    let (w, h) = (p.width as usize, p.height as usize);
    // The 2nd percentile of luma over the inner lips' polygon of `face`, grown by a pixel.
    let darkest = |face: &FaceFrame| {
        let frame = render(&head, &p, face);
        let mut inside = inner_lip_lumas(&frame, &head.retarget(face).points, w, h);
        inside.sort_by(f32::total_cmp);
        (inside[inside.len() / 50], frame)
    };
    let (neutral, _) = darkest(&FaceFrame::neutral());
    let mut frames = Vec::new();
    let mut failures = Vec::new();
    for jaw in [0.03, 0.05, 0.08] {
        let (d, frame) = darkest(&FaceFrame::neutral().with_expression(Expression::JawOpen, jaw));
        eprintln!("einstein jawOpen {jaw}: darkest {d:.0} (neutral {neutral:.0})");
        if d < neutral - 10.0 {
            failures.push(format!(
                "jawOpen {jaw}: {d:.0} against {neutral:.0} at rest"
            ));
        }
        frames.push(frame);
    }
    for dir in out_dirs() {
        contact_sheet_cols(
            &frames,
            p.width,
            p.height,
            3,
            &dir.join("sliver_einstein.png"),
        );
    }
    assert!(failures.is_empty(), "a hard dark line: {failures:?}");
}
