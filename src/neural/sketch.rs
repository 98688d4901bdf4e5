//! The landmark sketch: what the neural generator is conditioned on. Landmarks drawn as coloured
//! polylines per region (jaw, brows, nose, eyes, lips) on black, as in Zakharov et al. 2019.
//!
//! One definition, `sketch_v1.json` beside this file, is read here and by the training code
//! (`models/training/sketch.py`), and both draw it the same way: for each region in order, each segment
//! between consecutive points (and back to the first for closed regions) colours every pixel whose
//! centre lies within half the line width (scaled from 256 px, at least 1 px) of the segment. No anti-aliasing, all arithmetic in `f64`, so
//! the two agree pixel for pixel but for rounding at the very edge of a line (the parity test allows 1 %).

use serde::Deserialize;

use crate::error::{Error, Result};

/// The sketch definition this crate draws (and that models made by this crate were trained on).
pub const SKETCH_V1: &str = include_str!("sketch_v1.json");

/// A sketch definition: regions drawn in order.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SketchSpec {
    /// Format and drawing version; stored in the models' metadata.
    pub version: u32,
    /// Line width in pixels for a 256-pixel sketch (scaled with the size, never under 1).
    pub line_width_at_256: f64,
    /// The regions, in drawing order.
    pub regions: Vec<SketchRegion>,
}

/// One polyline of a [`SketchSpec`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SketchRegion {
    /// E.g. `"jaw"`, `"left_eye"`.
    pub name: String,
    /// sRGB colour.
    pub color: [u8; 3],
    /// Whether the last point joins the first.
    pub closed: bool,
    /// Face-mesh landmark indices along the line.
    pub points: Vec<usize>,
}

impl SketchSpec {
    /// The built-in definition ([`SKETCH_V1`]).
    pub fn v1() -> Self {
        Self::from_json(SKETCH_V1).expect("the built-in sketch definition parses")
    }

    /// A definition from its JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        let spec: Self = serde_json::from_str(text).map_err(|e| Error::ModelContract {
            path: "sketch definition".into(),
            contract: "landmark_sketch",
            problem: e.to_string(),
        })?;
        Ok(spec)
    }

    /// The line width in pixels at `size`: scaled from 256, at least 1.
    pub fn line_width(&self, size: u32) -> f64 {
        (self.line_width_at_256 * f64::from(size) / 256.0).max(1.0)
    }

    /// The highest landmark index the sketch uses, plus one: how many landmarks it needs.
    pub fn landmarks_needed(&self) -> usize {
        self.regions
            .iter()
            .flat_map(|r| r.points.iter())
            .max()
            .map_or(0, |m| m + 1)
    }

    /// Draws the sketch of `landmarks` (pixel coordinates of the `size` x `size` output) as RGB bytes,
    /// row by row. Errors if there are too few landmarks or one that is used is not finite.
    pub fn rasterise(&self, landmarks: &[[f32; 2]], size: u32) -> Result<Vec<u8>> {
        let needed = self.landmarks_needed();
        let problem = |p: String| Error::ModelContract {
            path: "landmarks".into(),
            contract: "landmark_sketch",
            problem: p,
        };
        if landmarks.len() < needed {
            return Err(problem(format!(
                "{} landmarks, the sketch needs {needed}",
                landmarks.len()
            )));
        }
        let n = size as usize;
        let mut out = vec![0u8; n * n * 3];
        let half = self.line_width(size) / 2.0;
        for region in &self.regions {
            let pts: Vec<[f64; 2]> = region
                .points
                .iter()
                .map(|&i| [f64::from(landmarks[i][0]), f64::from(landmarks[i][1])])
                .collect();
            if let Some(i) = region
                .points
                .iter()
                .position(|&i| !landmarks[i].iter().all(|v| v.is_finite()))
            {
                return Err(problem(format!(
                    "landmark {} of `{}` is not a number",
                    region.points[i], region.name
                )));
            }
            let segments =
                pts.len().saturating_sub(1) + usize::from(region.closed && pts.len() > 2);
            for s in 0..segments {
                let (a, b) = (pts[s], pts[(s + 1) % pts.len()]);
                draw_segment(&mut out, n, a, b, half, region.color);
            }
        }
        Ok(out)
    }
}

/// Colours the pixels whose centres are within `half` of the segment `a`-`b`.
fn draw_segment(out: &mut [u8], n: usize, a: [f64; 2], b: [f64; 2], half: f64, color: [u8; 3]) {
    let x0 = (a[0].min(b[0]) - half).floor().max(0.0);
    let x1 = (a[0].max(b[0]) + half).ceil().min(n as f64 - 1.0);
    let y0 = (a[1].min(b[1]) - half).floor().max(0.0);
    let y1 = (a[1].max(b[1]) + half).ceil().min(n as f64 - 1.0);
    if x0 > x1 || y0 > y1 {
        return;
    }
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let r2 = half * half;
    for y in y0 as usize..=y1 as usize {
        for x in x0 as usize..=x1 as usize {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let t = if len2 > 0.0 {
                (((px - a[0]) * dx + (py - a[1]) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (ex, ey) = (a[0] + t * dx - px, a[1] + t * dy - py);
            if ex * ex + ey * ey <= r2 {
                let i = (y * n + x) * 3;
                out[i..i + 3].copy_from_slice(&color);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_sketch_covers_every_region_of_the_paper() {
        let spec = SketchSpec::v1();
        let names: Vec<&str> = spec.regions.iter().map(|r| r.name.as_str()).collect();
        for part in ["jaw", "brow", "nose", "eye", "lips"] {
            assert!(names.iter().any(|n| n.contains(part)), "{part}: {names:?}");
        }
        assert!(spec.landmarks_needed() <= 468);
    }

    #[test]
    fn a_segment_is_as_wide_as_the_line_and_bad_landmarks_are_errors() {
        let spec = SketchSpec {
            version: 1,
            // 2 px wide at 16 px.
            line_width_at_256: 32.0,
            regions: vec![SketchRegion {
                name: "line".into(),
                color: [10, 20, 30],
                closed: false,
                points: vec![0, 1],
            }],
        };
        let img = spec.rasterise(&[[2.0, 8.0], [14.0, 8.0]], 16).unwrap();
        let lit = |x: usize, y: usize| img[(y * 16 + x) * 3] == 10;
        // Pixel centres at y 7.5 and 8.5 are within 1 of the line at y = 8; 6.5 and 9.5 are not.
        assert!(lit(5, 7) && lit(5, 8) && !lit(5, 6) && !lit(5, 9));
        // Round caps: x 1 (centre 1.5, 0.71 from the end) and 14 are in, 0 and 15 are not.
        assert!(lit(1, 8) && lit(14, 7) && !lit(0, 8) && !lit(15, 8));
        assert_eq!(img.iter().filter(|v| **v == 20).count(), 2 * 14);
        assert!(spec.rasterise(&[[2.0, 8.0]], 16).is_err());
        assert!(spec.rasterise(&[[2.0, 8.0], [f32::NAN, 1.0]], 16).is_err());
    }
}
