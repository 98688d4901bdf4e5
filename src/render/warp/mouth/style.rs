//! How a portrait is drawn (soft, grainy, flat), estimated from its face, so that a painted mouth
//! interior is drawn the same way.

use super::super::geometry::luma;
use super::super::raster::Texture;
use crate::math::smoothstep;

/// How a portrait is drawn, estimated from its face, so that a painted interior is drawn the same way:
/// as soft, as grainy and as flat.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Style {
    /// How soft the picture's edges are: the Gaussian blur (pixels) of a step edge with the face's
    /// strongest edges' profile (about 0.8 for a pixel-sharp picture).
    pub blur: f32,
    /// Grain: the standard deviation (luma, 0..255) of the fine detail on the face's flat areas.
    pub grain: f32,
    /// 0 for continuous shading (photos, paintings, renders), 1 for flat colour areas (cel shading,
    /// posterised art).
    pub flat: f32,
}

impl Style {
    /// Estimates the style from the face of `tex` inside `lo..hi` (grain, flatness) and its lips
    /// inside `mouth_lo..mouth_hi` (blur: how soft the picture draws the lips' edges).
    pub(super) fn estimate(
        tex: &Texture,
        (lo, hi): ([f32; 2], [f32; 2]),
        (mouth_lo, mouth_hi): ([f32; 2], [f32; 2]),
    ) -> Self {
        let mut style = Self {
            blur: 0.8,
            grain: 0.0,
            flat: 0.0,
        };
        if let Some((l, w, h)) = luma_box(tex, lo, hi) {
            let b = binomial(&l, w, h);
            let (mut still, mut n, mut res) = (0usize, 0usize, Vec::new());
            for y in 2..h - 2 {
                for x in 2..w - 2 {
                    let i = y * w + x;
                    let (mut min, mut max) = (f32::MAX, f32::MIN);
                    for j in [
                        i - w - 1,
                        i - w,
                        i - w + 1,
                        i - 1,
                        i,
                        i + 1,
                        i + w - 1,
                        i + w,
                        i + w + 1,
                    ] {
                        min = min.min(l[j]);
                        max = max.max(l[j]);
                    }
                    // Flat: nothing changes around the pixel (cel shading, posterised areas, even
                    // when scaled up).
                    if max - min <= 1.0 {
                        still += 1;
                    }
                    n += 1;
                    res.push((max - min, l[i] - b[i]));
                }
            }
            if n >= 64 {
                // Grain: what the blur takes off the flatter half (the residual of white noise keeps
                // 0.8 of its deviation).
                res.sort_by(|a, b| a.0.total_cmp(&b.0));
                let half = &res[..res.len() / 2];
                let var = half.iter().map(|p| p.1 * p.1).sum::<f32>() / half.len() as f32;
                style.grain = (var.sqrt() / 0.8).min(24.0);
                style.flat = smoothstep(0.2, 0.5, still as f32 / n as f32);
            }
        }
        if let Some((l, w, h)) = luma_box(tex, mouth_lo, mouth_hi) {
            // Edge softness at the lips, above the grain: how much more blur lowers their strongest
            // edges (a step edge of blur sigma has its peak gradient in 1 / sqrt(sigma^2 + blur^2)).
            let b1 = binomial(&l, w, h);
            let mut b4 = binomial(&b1, w, h);
            for _ in 0..2 {
                b4 = binomial(&b4, w, h);
            }
            let grad = |img: &[f32], i: usize| {
                let gx = (img[i + 1] - img[i - 1]) / 2.0;
                let gy = (img[i + w] - img[i - w]) / 2.0;
                (gx * gx + gy * gy).sqrt()
            };
            let mut g: Vec<(f32, f32)> = Vec::new();
            for y in 4..h - 4 {
                for x in 4..w - 4 {
                    let i = y * w + x;
                    g.push((grad(&b1, i), grad(&b4, i)));
                }
            }
            if g.len() >= 64 {
                g.sort_by(|a, b| b.0.total_cmp(&a.0));
                let top = &g[..g.len() / 10];
                let e1: f32 = top.iter().map(|p| p.0).sum();
                let e4: f32 = top.iter().map(|p| p.1).sum();
                let r = (e4 / e1.max(1e-3)).clamp(0.5, 0.98);
                style.blur = ((2.0 * r * r - 0.5) / (1.0 - r * r))
                    .max(0.0)
                    .sqrt()
                    .clamp(0.6, 6.0);
            }
        }
        style
    }
}

/// The luma of `tex` inside `lo..hi`, with its width and height (`None` when under 12 pixels a side).
fn luma_box(tex: &Texture, lo: [f32; 2], hi: [f32; 2]) -> Option<(Vec<f32>, usize, usize)> {
    let x0 = lo[0].max(0.0) as usize;
    let y0 = lo[1].max(0.0) as usize;
    let x1 = (hi[0].max(0.0) as usize).min(tex.width);
    let y1 = (hi[1].max(0.0) as usize).min(tex.height);
    if x1 < x0 + 12 || y1 < y0 + 12 {
        return None;
    }
    let l = (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .map(|(x, y)| luma(&tex.rgba[(y * tex.width + x) * 4..][..4]))
        .collect();
    Some((l, x1 - x0, y1 - y0))
}

/// A 3x3 binomial blur (a Gaussian of variance 0.5 a side); the border is kept.
fn binomial(l: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut b = l.to_vec();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            b[i] = (4.0 * l[i]
                + 2.0 * (l[i - 1] + l[i + 1] + l[i - w] + l[i + w])
                + l[i - w - 1]
                + l[i - w + 1]
                + l[i + w - 1]
                + l[i + w + 1])
                / 16.0;
        }
    }
    b
}
