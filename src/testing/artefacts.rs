//! An artefact counter for rendered frames: what a viewer notices first in a warped face that a plain
//! pixel difference does not single out. Given a rendered frame, the same head's neutral frame and the
//! face region, [`find_artefacts`] finds
//!
//! - **specks** ([`ArtefactKind::Speck`]): small connected regions that differ strongly both from the
//!   neutral frame (allowing for the motion of what the neutral frame shows nearby) and from their own
//!   surroundings, like black dots at a smiling mouth's corners;
//! - **broken lines** ([`ArtefactKind::BrokenLine`]): a drawn line (lid, lash line) that falls apart into
//!   a dotted arc of thin fragments where the neutral frame has no such fragments (pieces still joined
//!   by pixels at 80 % of the line contrast are one piece: a thin line resampled lighter in places is
//!   whole to the eye; a row of thick blobs is texture, not a line; a textured patch, whose freckles
//!   cross the contrast or not with each resampling, may show a few more than the neutral by chance);
//! - **seams** ([`ArtefactKind::Seam`]): thin dark lines that the neutral frame does not have nearby,
//!   like a dark seam between the lips of a smile or a grey arc left above an iris.
//!
//! Sizes scale with the face region, so the same thresholds hold at 256 or 1024 pixels. Given how the
//! renderer moved the picture ([`MotionField`], from the landmarks), [`find_artefacts_moved`] also takes
//! detail found again where the motion carried it as the picture's own. Draw what was found onto a
//! frame, for looking at, with [`circle_artefacts`].
//!
//! ```
//! use bevy_talking_head::testing::artefacts::{find_artefacts, ArtefactKind};
//!
//! let (w, h) = (128u32, 128u32);
//! let neutral = vec![180u8; (w * h * 4) as usize];
//! let mut frame = neutral.clone();
//! // A black 2 x 2 speck in the middle of the face.
//! for (x, y) in [(64, 64), (65, 64), (64, 65), (65, 65)] {
//!     frame[(y * w as usize + x) * 4..][..3].copy_from_slice(&[0, 0, 0]);
//! }
//! let found = find_artefacts(&frame, &neutral, w, h, [16, 16, 112, 112]);
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].kind, ArtefactKind::Speck);
//! assert!(find_artefacts(&neutral, &neutral, w, h, [16, 16, 112, 112]).is_empty());
//! ```

use crate::math::box_mean;

/// What kind of artefact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArtefactKind {
    /// A small isolated region unlike both the neutral frame and its surroundings.
    Speck,
    /// A line broken into a dotted arc of fragments.
    BrokenLine,
    /// A thin dark line that is not in the neutral frame.
    Seam,
}

/// One artefact found in a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Artefact {
    /// What it is.
    pub kind: ArtefactKind,
    /// Its bounding box in frame pixels, `[x0, y0, x1, y1]` (inclusive).
    pub bounds: [u32; 4],
    /// How many pixels it covers.
    pub pixels: usize,
}

impl Artefact {
    /// The middle of its bounding box.
    pub fn centre(&self) -> [f32; 2] {
        [
            (self.bounds[0] + self.bounds[2]) as f32 / 2.0 + 0.5,
            (self.bounds[1] + self.bounds[3]) as f32 / 2.0 + 0.5,
        ]
    }
}

/// Contrast (luma, 0-255) a speck or seam has against the neutral frame and against its surroundings.
const CONTRAST: f32 = 40.0;
/// How much darker than its surroundings a pixel of a drawn line is (for broken lines).
const LINE_CONTRAST: f32 = 28.0;
/// The share of [`LINE_CONTRAST`] that still joins the dark pieces of one line (hysteresis).
const LINE_FAINT: f32 = 0.8;

/// The artefacts in `frame` (RGBA8, `width` x `height`) against `neutral` (the same head's neutral
/// frame, same size), looked for inside `face` (`[x0, y0, x1, y1]`, pixels, exclusive end; clipped to
/// the frame), in reading order of their kind: specks, broken lines, seams.
///
/// # Panics
///
/// When either buffer is not `width * height * 4` bytes.
pub fn find_artefacts(
    frame: &[u8],
    neutral: &[u8],
    width: u32,
    height: u32,
    face: [u32; 4],
) -> Vec<Artefact> {
    find_artefacts_outside(frame, neutral, width, height, face, &[])
}

/// [`find_artefacts`], leaving out what lies inside the polygon `ignore` (frame pixels; empty: none),
/// for instance a mouth drawn open on purpose, whose interior (teeth, tongue) is new by design and
/// judged on its own. An artefact counts when most of its pixels lie outside.
pub fn find_artefacts_outside(
    frame: &[u8],
    neutral: &[u8],
    width: u32,
    height: u32,
    face: [u32; 4],
    ignore: &[[f32; 2]],
) -> Vec<Artefact> {
    find_artefacts_moved(frame, neutral, width, height, face, ignore, None)
}

/// Where each pixel of a frame was in the neutral frame: the motion the renderer gave the picture,
/// interpolated over a triangle mesh of landmarks whose positions are known in both frames (for
/// [`find_artefacts_moved`]). Pixels no triangle covers did not move.
#[derive(Clone, Debug)]
pub struct MotionField {
    width: usize,
    height: usize,
    /// Per frame pixel, the offset to its place in the neutral frame.
    back: Vec<[f32; 2]>,
}

impl MotionField {
    /// The motion of the mesh `triangles` (indices into both point lists) from `neutral` to `frame`
    /// (frame pixels; `z` is ignored), for a `width` x `height` frame. Where triangles overlap (a fold),
    /// the last one drawn wins.
    pub fn from_landmarks(
        width: u32,
        height: u32,
        triangles: &[[u16; 3]],
        neutral: &[[f32; 3]],
        frame: &[[f32; 3]],
    ) -> Self {
        let (w, h) = (width as usize, height as usize);
        let mut back = vec![[0.0f32; 2]; w * h];
        for t in triangles {
            let idx = t.map(usize::from);
            if idx.iter().any(|&i| i >= neutral.len() || i >= frame.len()) {
                continue;
            }
            let [a, b, c] = idx.map(|i| [frame[i][0], frame[i][1]]);
            let d = idx.map(|i| [neutral[i][0] - frame[i][0], neutral[i][1] - frame[i][1]]);
            let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            if !area.is_finite() || area.abs() < 1e-6 {
                continue;
            }
            let lo = [a[0].min(b[0]).min(c[0]), a[1].min(b[1]).min(c[1])];
            let hi = [a[0].max(b[0]).max(c[0]), a[1].max(b[1]).max(c[1])];
            let (x0, y0) = (
                lo[0].floor().max(0.0) as usize,
                lo[1].floor().max(0.0) as usize,
            );
            let (x1, y1) = (
                (hi[0].ceil().max(0.0) as usize).min(w),
                (hi[1].ceil().max(0.0) as usize).min(h),
            );
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = [x as f32 + 0.5, y as f32 + 0.5];
                    let wb = ((p[0] - a[0]) * (c[1] - a[1]) - (p[1] - a[1]) * (c[0] - a[0])) / area;
                    let wc = ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])) / area;
                    let wa = 1.0 - wb - wc;
                    if wa < 0.0 || wb < 0.0 || wc < 0.0 {
                        continue;
                    }
                    back[y * w + x] = [
                        wa * d[0][0] + wb * d[1][0] + wc * d[2][0],
                        wa * d[0][1] + wb * d[1][1] + wc * d[2][1],
                    ];
                }
            }
        }
        Self {
            width: w,
            height: h,
            back,
        }
    }

    /// The offset from frame pixel `(x, y)` to where its content was in the neutral frame (zero
    /// outside the frame).
    pub fn back(&self, x: usize, y: usize) -> [f32; 2] {
        if x < self.width && y < self.height {
            self.back[y * self.width + x]
        } else {
            [0.0; 2]
        }
    }
}

/// [`find_artefacts_outside`], knowing how the renderer moved the picture (`motion`, from the neutral
/// frame to this one): detail of the neutral frame found again where the motion carried it (a lower
/// lip and the teeth or beard strokes below it, moved down by an opening jaw further than the fixed
/// allowance for motion reaches) is the picture's own detail moved, not an artefact. Without `motion`,
/// as [`find_artefacts_outside`]. The motion only ever leaves more out: what the neutral frame shows
/// near the same place still counts as moved detail too.
pub fn find_artefacts_moved(
    frame: &[u8],
    neutral: &[u8],
    width: u32,
    height: u32,
    face: [u32; 4],
    ignore: &[[f32; 2]],
    motion: Option<&MotionField>,
) -> Vec<Artefact> {
    let (w, h) = (width as usize, height as usize);
    assert_eq!(
        frame.len(),
        w * h * 4,
        "frame is not {width}x{height} RGBA8"
    );
    assert_eq!(
        neutral.len(),
        w * h * 4,
        "neutral is not {width}x{height} RGBA8"
    );
    let x0 = (face[0] as usize).min(w);
    let y0 = (face[1] as usize).min(h);
    let x1 = (face[2] as usize).min(w);
    let y1 = (face[3] as usize).min(h);
    if x1 <= x0 + 2 || y1 <= y0 + 2 {
        return Vec::new();
    }
    let size = (x1 - x0).max(y1 - y0) as f32;
    // Work on the region grown by a margin (for the filters), as its own small image.
    let surround = ((0.03 * size).round() as usize).max(3);
    let allowance = ((0.02 * size).round() as usize).max(2);
    let margin = surround.max(allowance) + 1;
    let (gx0, gy0) = (x0.saturating_sub(margin), y0.saturating_sub(margin));
    let (gx1, gy1) = ((x1 + margin).min(w), (y1 + margin).min(h));
    let (rw, rh) = (gx1 - gx0, gy1 - gy0);
    let luma_of = |rgba: &[u8]| -> Vec<f32> {
        let mut l = Vec::with_capacity(rw * rh);
        for y in gy0..gy1 {
            for x in gx0..gx1 {
                let i = (y * w + x) * 4;
                l.push(
                    0.299 * rgba[i] as f32
                        + 0.587 * rgba[i + 1] as f32
                        + 0.114 * rgba[i + 2] as f32,
                );
            }
        }
        l
    };
    let lf = luma_of(frame);
    let ln = luma_of(neutral);
    let mean_f = box_mean(&lf, rw, rh, surround);
    let mean_n = box_mean(&ln, rw, rh, surround);
    let (min_n, max_n) = (
        extreme(&ln, rw, rh, allowance, f32::min),
        extreme(&ln, rw, rh, allowance, f32::max),
    );
    // Only inside the face region proper, and outside `ignore`.
    let inside = |i: usize| {
        let (x, y) = (i % rw + gx0, i / rw + gy0);
        (x0..x1).contains(&x)
            && (y0..y1).contains(&y)
            && (ignore.len() < 3 || !in_polygon(ignore, [x as f32 + 0.5, y as f32 + 0.5]))
    };
    let to_frame = |b: [usize; 4]| {
        [
            (b[0] + gx0) as u32,
            (b[1] + gy0) as u32,
            (b[2] + gx0) as u32,
            (b[3] + gy0) as u32,
        ]
    };
    let mut found = Vec::new();

    // Specks and seams: unlike the neutral frame nearby, and unlike their surroundings.
    let novel_dark: Vec<bool> = (0..rw * rh)
        .map(|i| inside(i) && min_n[i] - lf[i] > CONTRAST && mean_f[i] - lf[i] > CONTRAST)
        .collect();
    let novel_bright: Vec<bool> = (0..rw * rh)
        .map(|i| inside(i) && lf[i] - max_n[i] > CONTRAST && lf[i] - mean_f[i] > CONTRAST)
        .collect();
    let speck_area = ((0.03 * size).powi(2)).max(4.0) as usize;
    let speck_extent = (0.05 * size).max(3.0) as usize;
    let seam_length = (0.05 * size).max(6.0) as usize;
    // Moved detail is not new: a component whose pixels find, within `reach`, neutral pixels about as
    // dark (bright) and about as far from their own surroundings is the picture's own detail moved by
    // the expression or the head (freckles, hair, a lip line), not an artefact.
    let reach = ((0.06 * size).round() as usize).max(3);
    // Where a region pixel's content was in the neutral frame, in region pixels (clamped to it).
    let source = |x: usize, y: usize| -> (usize, usize) {
        let Some(m) = motion else {
            return (x, y);
        };
        let d = m.back(x + gx0, y + gy0);
        (
            (x as f32 + d[0]).round().clamp(0.0, (rw - 1) as f32) as usize,
            (y as f32 + d[1]).round().clamp(0.0, (rh - 1) as f32) as usize,
        )
    };
    let moved = |pixels: &[usize], dark: bool| {
        let like = |v: f32, k: f32, x: usize, y: usize| {
            (y.saturating_sub(reach)..(y + reach + 1).min(rh)).any(|yy| {
                (x.saturating_sub(reach)..(x + reach + 1).min(rw)).any(|xx| {
                    let j = yy * rw + xx;
                    let (n, m) = (ln[j], mean_n[j]);
                    if dark {
                        n <= v + 0.4 * CONTRAST && m - n >= 0.6 * k
                    } else {
                        n >= v - 0.4 * CONTRAST && n - m >= 0.6 * k
                    }
                })
            })
        };
        let matched = pixels
            .iter()
            .filter(|&&i| {
                let (x, y) = (i % rw, i / rw);
                let (v, k) = (lf[i], (mean_f[i] - lf[i]).abs());
                let (sx, sy) = source(x, y);
                like(v, k, x, y) || ((sx, sy) != (x, y) && like(v, k, sx, sy))
            })
            .count();
        2 * matched >= pixels.len()
    };
    for (mask, dark) in [(&novel_dark, true), (&novel_bright, false)] {
        for c in regions(mask, rw, rh) {
            if moved(&c.members, dark) {
                continue;
            }
            let extent = (c.bounds[2] - c.bounds[0]).max(c.bounds[3] - c.bounds[1]) + 1;
            if c.pixels <= speck_area && extent <= speck_extent {
                found.push(Artefact {
                    kind: ArtefactKind::Speck,
                    bounds: to_frame(c.bounds),
                    pixels: c.pixels,
                });
            } else if dark && extent >= seam_length {
                // Thin: on average at most ~3 pixels (or 1.2 % of the face) across.
                let thickness = c.pixels as f32 / extent as f32;
                if thickness <= (0.012 * size).max(3.0) {
                    found.push(Artefact {
                        kind: ArtefactKind::Seam,
                        bounds: to_frame(c.bounds),
                        pixels: c.pixels,
                    });
                }
            }
        }
    }

    // Broken lines: chains of small thin dark fragments (darker than their surroundings) where the
    // neutral frame has far fewer fragments (a line that was whole, or no line at all) than chance
    // allows for its texture.
    let fragments_f = fragments(&lf, &mean_f, rw, rh, size, &inside);
    let fragments_n = fragments(&ln, &mean_n, rw, rh, size, &inside);
    let near = |b: [usize; 4]| {
        let m = allowance;
        fragments_n
            .iter()
            .filter(|n| {
                n.bounds[0] <= b[2] + m
                    && b[0] <= n.bounds[2] + m
                    && n.bounds[1] <= b[3] + m
                    && b[1] <= n.bounds[3] + m
            })
            .count()
    };
    for (count, c) in dotted_chains(&fragments_f, size) {
        // Where the chain's middle was in the neutral frame: the box moved there.
        let (cx, cy) = (
            (c.bounds[0] + c.bounds[2]) / 2,
            (c.bounds[1] + c.bounds[3]) / 2,
        );
        let (sx, sy) = source(cx, cy);
        let shift = |v: usize, from: usize, to: usize, max: usize| {
            (v as i64 + to as i64 - from as i64).clamp(0, max as i64 - 1) as usize
        };
        let moved_box = [
            shift(c.bounds[0], cx, sx, rw),
            shift(c.bounds[1], cy, sy, rh),
            shift(c.bounds[2], cx, sx, rw),
            shift(c.bounds[3], cy, sy, rh),
        ];
        let before = near(c.bounds).max(near(moved_box));
        if count >= before + 3 + noise(before) {
            let b = to_frame(c.bounds);
            // The fragments of a broken line (and those at its ends that did not pass for line) are not
            // specks or seams of their own.
            let m = (2 * allowance) as u32;
            found.retain(|a| {
                !(a.bounds[0] + m >= b[0]
                    && a.bounds[1] + m >= b[1]
                    && a.bounds[2] <= b[2] + m
                    && a.bounds[3] <= b[3] + m)
            });
            found.push(Artefact {
                kind: ArtefactKind::BrokenLine,
                bounds: b,
                pixels: c.pixels,
            });
        }
    }
    found.sort_by_key(|a| a.kind as u8);
    found
}

/// Leaves out of `found` the broken lines that lie in a parted mouth: `mouth` is the polygon (frame
/// pixels) of lips that are apart, however little: their outer contour (or, narrower, the opening
/// between them). What shows between parted lips is the mouth layer's interior, and the dark gaps
/// between its teeth are a row of small dark fragments, which is what a broken line looks like; so are
/// the gaps of a portrait's own teeth that show at its lower lip's edge and travel down with the lip as
/// the jaw opens (the photo's teeth lie under the rig's inner lip line). They are the mouth's content,
/// not a lid or lash line fallen apart. A broken line counts as in the mouth when its centre lies
/// inside the polygon or within `slack` pixels of its edge. Specks and seams there still count (a dark
/// seam between the lips of a smile is an artefact), and so does a broken line anywhere else.
pub fn leave_out_mouth_content(found: &mut Vec<Artefact>, mouth: &[[f32; 2]], slack: f32) {
    leave_out_near(found, ArtefactKind::BrokenLine, mouth, slack);
}

/// Leaves out of `found` the seams that are a closed eye's lash line: `eye` is the contour of an eye
/// whose lids meet (frame pixels; a thin polygon along the lid line). A closed eye shows one dark line
/// of lashes from corner to corner, drawn on purpose (a closed eye drawn without it reads as open, to a
/// viewer and to a tracker); it is not in the neutral frame, thin and dark, which is what a seam looks
/// like. A seam counts as that line when its centre lies inside `eye` or within `slack` pixels of its
/// edge (the line's half-thickness and a pixel). Specks and broken lines there still count, and so does
/// a seam anywhere else.
pub fn leave_out_closed_lash_line(found: &mut Vec<Artefact>, eye: &[[f32; 2]], slack: f32) {
    leave_out_near(found, ArtefactKind::Seam, eye, slack);
}

/// Leaves out of `found` the artefacts of `kind` centred inside `poly` or within `slack` pixels of its
/// edge (nothing when `poly` has fewer than 3 points).
fn leave_out_near(found: &mut Vec<Artefact>, kind: ArtefactKind, poly: &[[f32; 2]], slack: f32) {
    if poly.len() < 3 {
        return;
    }
    found.retain(|a| {
        let c = a.centre();
        a.kind != kind || !(in_polygon(poly, c) || distance_to_polygon(poly, c) <= slack)
    });
}

/// The distance from `p` to the nearest edge of the closed polygon `poly`.
fn distance_to_polygon(poly: &[[f32; 2]], p: [f32; 2]) -> f32 {
    let n = poly.len();
    (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let l2 = dx * dx + dy * dy;
            let t = if l2 > 0.0 {
                (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            ((a[0] + t * dx - p[0]).powi(2) + (a[1] + t * dy - p[1]).powi(2)).sqrt()
        })
        .fold(f32::INFINITY, f32::min)
}

/// The artefacts of `found`, counted by kind: `[specks, broken lines, seams]`.
pub fn count_by_kind(found: &[Artefact]) -> [usize; 3] {
    let mut n = [0; 3];
    for a in found {
        n[a.kind as usize] += 1;
    }
    n
}

/// Draws a circle around each artefact onto `rgba` (`width` x `height`): red for specks, yellow for
/// broken lines, cyan for seams.
pub fn circle_artefacts(rgba: &mut [u8], width: u32, height: u32, found: &[Artefact]) {
    for a in found {
        let [cx, cy] = a.centre();
        let r = ((a.bounds[2] - a.bounds[0]).max(a.bounds[3] - a.bounds[1]) as f32 / 2.0 + 5.0)
            .max(6.0);
        let colour = match a.kind {
            ArtefactKind::Speck => [255, 0, 0],
            ArtefactKind::BrokenLine => [255, 230, 0],
            ArtefactKind::Seam => [0, 230, 255],
        };
        let steps = (r * 8.0) as usize;
        for k in 0..steps {
            let t = k as f32 / steps as f32 * std::f32::consts::TAU;
            for dr in [0.0, 1.0] {
                let (x, y) = (cx + (r + dr) * t.cos(), cy + (r + dr) * t.sin());
                if x >= 0.0 && y >= 0.0 && (x as u32) < width && (y as u32) < height {
                    let i = (y as usize * width as usize + x as usize) * 4;
                    rgba[i..i + 3].copy_from_slice(&colour);
                }
            }
        }
    }
}

/// Whether `p` lies inside the polygon `poly` (even-odd rule).
fn in_polygon(poly: &[[f32; 2]], p: [f32; 2]) -> bool {
    let mut inside = false;
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
        {
            inside = !inside;
        }
    }
    inside
}

/// A connected region of a mask ([`regions`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    /// Its bounding box in mask pixels, `[x0, y0, x1, y1]` (inclusive).
    pub bounds: [usize; 4],
    /// How many pixels it covers.
    pub pixels: usize,
    /// Its pixels' indices in the mask (`y * w + x`).
    pub members: Vec<usize>,
}

/// The 8-connected regions of `mask` (`w` x `h`, row by row), in the order of their first pixel.
pub fn regions(mask: &[bool], w: usize, h: usize) -> Vec<Region> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut c = Region {
            bounds: [usize::MAX, usize::MAX, 0, 0],
            pixels: 0,
            members: Vec::new(),
        };
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            c.pixels += 1;
            c.members.push(i);
            c.bounds = [
                c.bounds[0].min(x),
                c.bounds[1].min(y),
                c.bounds[2].max(x),
                c.bounds[3].max(y),
            ];
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(c);
    }
    out
}

/// The small fragments of dark line in `luma` (darker than their surroundings, `mean`).
fn fragments(
    luma: &[f32],
    mean: &[f32],
    w: usize,
    h: usize,
    size: f32,
    inside: &impl Fn(usize) -> bool,
) -> Vec<Region> {
    // A fragment is a dark piece whose darkness does not go on at `LINE_FAINT` of the contrast: a thin
    // line that resampling left a little lighter in places (still a line to the eye) is one piece,
    // while the dashes of a dotted arc, with skin between them, stay apart.
    let dark: Vec<bool> = (0..w * h)
        .map(|i| inside(i) && mean[i] - luma[i] > LINE_CONTRAST)
        .collect();
    let faint: Vec<bool> = (0..w * h)
        .map(|i| inside(i) && mean[i] - luma[i] > LINE_FAINT * LINE_CONTRAST)
        .collect();
    let fragment_area = ((0.04 * size).powi(2)).max(8.0) as usize;
    let fragment_extent = (0.05 * size).max(5.0) as usize;
    regions(&faint, w, h)
        .into_iter()
        .filter(|c| {
            c.pixels <= fragment_area
                && (c.bounds[2] - c.bounds[0]).max(c.bounds[3] - c.bounds[1]) < fragment_extent
                && c.members.iter().any(|&i| dark[i])
        })
        .collect()
}

/// How many more fragments than the neutral frame's a textured patch may show by chance: twice the
/// square root of the neutral's count (which of a patch's freckles or pores cross the line contrast
/// changes with every resampling, by about the square root of how many there are). None where the
/// neutral frame has none.
fn noise(before: usize) -> usize {
    (2.0 * (before as f32).sqrt()) as usize
}

/// Chains of three or more thin `fragments` (each within a small gap of the next) that together span
/// a line's length: a dotted arc. With how many fragments each has.
fn dotted_chains(fragments: &[Region], size: f32) -> Vec<(usize, Region)> {
    let gap = (0.025 * size).max(2.0) as usize;
    let span = (0.06 * size).max(8.0) as usize;
    // Single-link clusters of fragments whose boxes are within `gap`.
    let n = fragments.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let close = |a: &Region, b: &Region| {
        a.bounds[0] <= b.bounds[2] + gap
            && b.bounds[0] <= a.bounds[2] + gap
            && a.bounds[1] <= b.bounds[3] + gap
            && b.bounds[1] <= a.bounds[3] + gap
    };
    for i in 0..n {
        for j in i + 1..n {
            if close(&fragments[i], &fragments[j]) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    // Per cluster: its fragments, their union, and the sum of their lengths.
    let mut clusters: std::collections::HashMap<usize, (usize, Region, usize)> = Default::default();
    for (i, f) in fragments.iter().enumerate() {
        let r = root(&mut parent, i);
        let e = clusters.entry(r).or_insert((
            0,
            Region {
                bounds: f.bounds,
                pixels: 0,
                members: Vec::new(),
            },
            0,
        ));
        e.0 += 1;
        e.1.pixels += f.pixels;
        // The piece's length: the longer side of its box.
        e.2 += (f.bounds[2] - f.bounds[0]).max(f.bounds[3] - f.bounds[1]) + 1;
        e.1.bounds = [
            e.1.bounds[0].min(f.bounds[0]),
            e.1.bounds[1].min(f.bounds[1]),
            e.1.bounds[2].max(f.bounds[2]),
            e.1.bounds[3].max(f.bounds[3]),
        ];
    }
    let thin = (0.012 * size).max(3.0);
    let mut out: Vec<(usize, Region)> = clusters
        .into_values()
        .filter(|(count, c, lengths)| {
            let long = (c.bounds[2] - c.bounds[0]).max(c.bounds[3] - c.bounds[1]) + 1;
            let across = (c.bounds[2] - c.bounds[0]).min(c.bounds[3] - c.bounds[1]) + 1;
            // A line: long, and much longer than it is wide; and its pieces thin (on average at most
            // ~3 pixels, or 1.2 % of the face, across, as a seam is): a row of blobs is texture (a
            // brow's hair, a patch of freckles), not a drawn line fallen apart.
            *count >= 3
                && long >= span
                && long >= 2 * across
                && c.pixels as f32 <= thin * *lengths as f32
        })
        .map(|(count, c, _)| (count, c))
        .collect();
    out.sort_by_key(|(_, c)| (c.bounds[1], c.bounds[0]));
    out
}

/// The minimum (or maximum, by `pick`) of `v` over a `(2r+1)^2` box around each pixel.
fn extreme(v: &[f32], w: usize, h: usize, r: usize, pick: fn(f32, f32) -> f32) -> Vec<f32> {
    let mut rows = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let (xa, xb) = (x.saturating_sub(r), (x + r + 1).min(w));
            rows[y * w + x] = v[y * w + xa..y * w + xb]
                .iter()
                .copied()
                .reduce(pick)
                .unwrap_or(0.0);
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let (ya, yb) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            out[y * w + x] = (ya..yb)
                .map(|yy| rows[yy * w + x])
                .reduce(pick)
                .unwrap_or(0.0);
        }
    }
    out
}
