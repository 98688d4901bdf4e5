//! The eye opening's edges where the lids moved: drawn whole-pixel (the opening is rasterised exactly,
//! the skin around it by the mesh), a lid moved off the portrait's own edge shows a staircase along it,
//! the lash band above against the eyeball below.

use super::super::geometry::Similarity;
use super::{EyeLayer, lid_lines, lower_line};
use crate::math::{polyline_y as interp_y, smoothstep};
use crate::rig::topology::eye_ring;

impl EyeLayer {
    /// Blends the pixels the eye opening's upper and lower edges cross by the share of each that the
    /// eye covers: the pixel the rasteriser gave the eye takes the skin's share from its neighbour
    /// across the edge, the pixel it gave the skin the eye's share from its neighbour. Only where the
    /// target's lid lies off the portrait's own (by a pixel, fully from 1.5): where it has not moved
    /// the picture's own edge is drawn as it is. Only along the edges' flatter parts (at most 45
    /// degrees), where the neighbour above or below lies across the edge; nothing where the lids all
    /// but meet (under 2 pixels apart: the closed lid and its lash line are drawn there).
    pub fn smooth_opening_edges(
        &self,
        to_source: &Similarity,
        target: &[[f32; 3]],
        side: usize,
        out: &mut [u8],
        out_width: usize,
        out_height: usize,
    ) {
        let ring = eye_ring(side);
        let line = |idx: &mut dyn Iterator<Item = usize>| {
            let mut l: Vec<[f32; 2]> = idx.map(|i| [target[i][0], target[i][1]]).collect();
            l.sort_by(|a, b| a[0].total_cmp(&b[0]));
            l
        };
        let upper = line(&mut ring[8..].iter().copied().chain([ring[0]]));
        let lower = line(&mut ring[..=8].iter().copied());
        // How far each target lid lies from the portrait's, in the eye's frame (portrait pixels).
        let (lid_t, _) = lid_lines(&self.frame, target, side, |p| to_source.apply(p));
        let low_t = lower_line(&self.frame, target, side, |p| to_source.apply(p));
        let pixel = to_source.scale().max(1e-3);
        let (x0, x1) = (upper[0][0], upper[upper.len() - 1][0]);
        let px = |out: &[u8], x: usize, y: usize| {
            let i = (y * out_width + x) * 4;
            [out[i], out[i + 1], out[i + 2]].map(f32::from)
        };
        for x in (x0.ceil().max(0.0) as usize)..(x1.floor().max(0.0) as usize).min(out_width) {
            let xc = x as f32 + 0.5;
            let (yu, yl) = (interp_y(&upper, xc), interp_y(&lower, xc));
            // A landmark that is not a number draws nothing here.
            if !(yu.is_finite() && yl.is_finite()) || yl - yu < 2.0 {
                continue;
            }
            for (y_edge, eye_below, moved) in [
                (yu, true, {
                    let u = self.frame.local(to_source.apply([xc, yu]))[0];
                    interp_y(&lid_t, u) - interp_y(&self.lid, u)
                }),
                (yl, false, {
                    let u = self.frame.local(to_source.apply([xc, yl]))[0];
                    interp_y(&low_t, u) - interp_y(&self.lower, u)
                }),
            ] {
                let weight = smoothstep(1.0, 1.5, moved.abs() / pixel);
                let line = if eye_below { &upper } else { &lower };
                let slope = (interp_y(line, xc + 1.0) - interp_y(line, xc - 1.0)) / 2.0;
                if !(weight.is_finite() && slope.is_finite())
                    || weight <= 0.0
                    || slope.abs() > 1.0
                    || y_edge < 1.0
                {
                    continue;
                }
                let yc = y_edge.floor() as usize;
                if yc + 1 >= out_height {
                    continue;
                }
                // The share of pixel row `yc` on the eye's side of the edge.
                let eye = if eye_below {
                    yc as f32 + 1.0 - y_edge
                } else {
                    y_edge - yc as f32
                };
                let (cur, above, below) = (px(out, x, yc), px(out, x, yc - 1), px(out, x, yc + 1));
                // The rasteriser gave the pixel to the eye where its centre lies on the eye's side.
                let (eye_colour, skin_colour) = match (eye > 0.5, eye_below) {
                    (true, true) => (cur, above),
                    (true, false) => (cur, below),
                    (false, true) => (below, cur),
                    (false, false) => (above, cur),
                };
                let i = (yc * out_width + x) * 4;
                for k in 0..3 {
                    let smooth = skin_colour[k] + (eye_colour[k] - skin_colour[k]) * eye;
                    out[i + k] = (cur[k] + (smooth - cur[k]) * weight)
                        .round()
                        .clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}
