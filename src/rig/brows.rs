//! Faint brows: a portrait whose brows are not drawn (Mona Lisa) shows a raise only in the skin around
//! them, so its raised-brow shapes move further ([`brow_gain`]).

use crate::math::inside;
use crate::portrait::PortraitImage;

use super::fit::luma;
use super::portrait::PortraitRig;
use super::topology::{LEFT_BROW, RIGHT_BROW};

/// [`brow_visibility`] at or below which the brows count as not drawn: the full gain. Measured on the 17
/// shared and demo portraits, each as given and at half its size (`tests/portrait_rig.rs`): Mona Lisa
/// 0.38-0.39 (no brows drawn); every portrait with brows 0.60 or more (the faintest: a 225 px photo of
/// light brows 0.60, astronaut_painted's flat paint 0.72, Girl with a Pearl Earring 0.75).
pub const FAINT_BROWS: f32 = 0.45;

/// [`brow_visibility`] from which the brows count as drawn: no gain. Between this and [`FAINT_BROWS`] the
/// gain falls linearly.
pub const DRAWN_BROWS: f32 = 0.55;

/// How much further the raised-brow shapes (browInnerUp, browOuterUp*) move brows that are not drawn.
/// Measured in `tests/round_trip.rs` on Mona Lisa: her raised inner brows read back at r 0.65 at 1x,
/// 0.82 at 1.6x; on portraits with drawn brows the same gain pushed the forehead into a fringe of hair
/// (specks in `tests/artefacts.rs`), hence only for faint ones.
pub const FAINT_BROW_GAIN: f32 = 1.6;

/// How visible a portrait's brows are: the fine detail (luma minus its local mean, at a 40th of the
/// eye-corner distance) inside the brows against the more detailed of the bands just above and just
/// below them (forehead; lid and lashes), for the brow that shows more. About 1 or more where hairs or
/// strokes are drawn (they add detail of their own) or where the skin is as grained as around; well
/// under 1 only where the brows hold clearly less detail than around them: smooth shading, no brows
/// drawn. `None` where the brows lie outside the picture or cover too few pixels to measure.
pub fn brow_visibility(image: &PortraitImage, rig: &PortraitRig) -> Option<f32> {
    let lm = &rig.landmarks;
    if lm.len() < 468 {
        return None;
    }
    let (w, h) = (image.width as usize, image.height as usize);
    let iod = ((lm[33][0] - lm[263][0]).powi(2) + (lm[33][1] - lm[263][1]).powi(2)).sqrt();
    if !iod.is_finite() || iod < 8.0 {
        return None;
    }
    let s = ((iod / 40.0).round() as usize).max(1);
    let luma = |x: usize, y: usize| luma(image, x as f32, y as f32);
    // Mean |luma - mean of the 3x3 samples s apart| over the pixels inside `poly`.
    let detail = |poly: &[[f32; 2]]| -> Option<f32> {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for q in poly {
            (x0, y0, x1, y1) = (x0.min(q[0]), y0.min(q[1]), x1.max(q[0]), y1.max(q[1]));
        }
        let lo = s as f32;
        let (xa, xb) = (
            x0.max(lo) as usize,
            x1.min(w.saturating_sub(s + 1) as f32).max(0.0) as usize,
        );
        let (ya, yb) = (
            y0.max(lo) as usize,
            y1.min(h.saturating_sub(s + 1) as f32).max(0.0) as usize,
        );
        let (mut n, mut sum) = (0usize, 0f32);
        for y in ya..=yb.max(ya) {
            for x in xa..=xb.max(xa) {
                if x + s >= w || y + s >= h || !inside(poly, [x as f32 + 0.5, y as f32 + 0.5]) {
                    continue;
                }
                let mut mean = 0.0;
                for yy in [y - s, y, y + s] {
                    for xx in [x - s, x, x + s] {
                        mean += luma(xx, yy);
                    }
                }
                sum += (luma(x, y) - mean / 9.0).abs();
                n += 1;
            }
        }
        (n >= 12).then(|| sum / n as f32)
    };
    let mut best: Option<f32> = None;
    for ring in [RIGHT_BROW, LEFT_BROW] {
        let brow: Vec<[f32; 2]> = ring.iter().map(|&i| [lm[i][0], lm[i][1]]).collect();
        // The brow's thickness; the bands above and below are as thick, 1.6 and 1.3 of it away.
        let thick = (0..5)
            .map(|k| (lm[ring[9 - k]][1] - lm[ring[k]][1]).abs())
            .sum::<f32>()
            / 5.0;
        let shifted =
            |dy: f32| -> Vec<[f32; 2]> { brow.iter().map(|q| [q[0], q[1] + dy]).collect() };
        let (Some(inner), Some(above), Some(below)) = (
            detail(&brow),
            detail(&shifted(-1.6 * thick)),
            detail(&shifted(1.3 * thick)),
        ) else {
            continue;
        };
        let v = inner / above.max(below).max(0.5);
        best = Some(best.map_or(v, |b: f32| b.max(v)));
    }
    best
}

/// How much further this portrait's raised-brow shapes move, for a `full` gain
/// ([`ExpressionRig::faint_brow_gain`](super::ExpressionRig::faint_brow_gain), by default
/// [`FAINT_BROW_GAIN`]): `full` where its brows are not drawn ([`brow_visibility`] at most
/// [`FAINT_BROWS`]), 1 where they are (at least [`DRAWN_BROWS`]) or cannot be measured, linear between.
pub fn brow_gain(image: &PortraitImage, rig: &PortraitRig, full: f32) -> f32 {
    match brow_visibility(image, rig) {
        Some(v) => {
            let t = ((DRAWN_BROWS - v) / (DRAWN_BROWS - FAINT_BROWS)).clamp(0.0, 1.0);
            1.0 + (full - 1.0) * t
        }
        None => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> PortraitImage {
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let l = f(x, y);
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        PortraitImage::new(w, h, rgba).unwrap()
    }

    #[test]
    fn strokes_in_the_brows_read_as_drawn_and_smooth_shading_as_not() {
        let rig = PortraitRig::template([256, 256]);
        let brow_band = |x: u32, y: u32| {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            [RIGHT_BROW, LEFT_BROW].iter().any(|ring| {
                let poly: Vec<[f32; 2]> = ring
                    .iter()
                    .map(|&i| [rig.landmarks[i][0], rig.landmarks[i][1]])
                    .collect();
                inside(&poly, p)
            })
        };
        // Skin with a little grain everywhere; brows of dark strokes (every other column), or none.
        let grain = |x: u32, y: u32| ((x * 7 + y * 13) % 5) as u8;
        let drawn = image(256, 256, |x, y| {
            if brow_band(x, y) {
                if x % 2 == 0 { 60 } else { 110 }
            } else {
                180 + grain(x, y)
            }
        });
        // No brows, as Mona Lisa's: a brow ridge's smooth shadow, a few brow thicknesses tall, smooth
        // where brows would be, between grained skin (and lids) above and below. (With the same grain
        // over the brows as around them it reads about 1: brows are taken as drawn unless they hold
        // clearly less detail than around.)
        let ridge = (rig.landmarks[105][1] + rig.landmarks[334][1]) / 2.0;
        let shaded = image(256, 256, |x, y| {
            let t = (y as f32 - ridge) / 12.0;
            let smooth = (180.0 - 30.0 * (-t * t).exp()) as u8;
            if brow_band(x, y) {
                smooth
            } else {
                smooth - 6 + 3 * grain(x, y)
            }
        });
        let (d, n) = (
            brow_visibility(&drawn, &rig).unwrap(),
            brow_visibility(&shaded, &rig).unwrap(),
        );
        assert!(
            d >= DRAWN_BROWS && n <= FAINT_BROWS,
            "drawn {d}, shaded {n}"
        );
        assert_eq!(brow_gain(&drawn, &rig, 1.6), 1.0);
        assert_eq!(brow_gain(&shaded, &rig, 1.6), 1.6);
        assert_eq!(brow_gain(&shaded, &rig, 1.0), 1.0);
    }

    #[test]
    fn brows_outside_the_picture_or_too_small_are_not_measured() {
        let plain = image(64, 64, |_, _| 128);
        // A face far larger than the picture, and one of a few pixels.
        for k in [40.0f32, 0.02] {
            let mut rig = PortraitRig::template([64, 64]);
            for p in &mut rig.landmarks {
                p[0] *= k;
                p[1] *= k;
            }
            assert_eq!(brow_visibility(&plain, &rig), None, "scale {k}");
            assert_eq!(brow_gain(&plain, &rig, 1.6), 1.0);
        }
    }
}
