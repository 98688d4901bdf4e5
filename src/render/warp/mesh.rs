//! The warp mesh of one portrait: the face mesh's triangles, plus a ring of anchors around the face and
//! anchors on the image border, so hair, neck and background follow the face smoothly.

use std::sync::OnceLock;

use crate::math::{bounds, smoothstep};
use crate::rig::topology::triangles;
use crate::tracking::canonical_face;

/// The outer boundary of the face mesh, as a loop of landmark indices.
pub(crate) fn boundary_loop() -> &'static [usize] {
    static LOOP: OnceLock<Vec<usize>> = OnceLock::new();
    LOOP.get_or_init(|| {
        let tris = triangles();
        let mut directed = std::collections::HashSet::new();
        for t in tris {
            for k in 0..3 {
                directed.insert((t[k] as usize, t[(k + 1) % 3] as usize));
            }
        }
        let mut next = std::collections::HashMap::new();
        for &(a, b) in &directed {
            if !directed.contains(&(b, a)) {
                next.insert(a, b);
            }
        }
        // Walk every loop; keep the longest (the outline; the others are the eyes and the mouth).
        let c = canonical_face();
        let mut best: Vec<usize> = Vec::new();
        let mut best_len = 0.0;
        let mut seen = std::collections::HashSet::new();
        let mut starts: Vec<usize> = next.keys().copied().collect();
        starts.sort_unstable();
        for start in starts {
            if seen.contains(&start) {
                continue;
            }
            let mut ring = vec![start];
            seen.insert(start);
            let mut at = start;
            while let Some(&n) = next.get(&at) {
                if n == start || seen.contains(&n) || ring.len() > 468 {
                    break;
                }
                seen.insert(n);
                ring.push(n);
                at = n;
            }
            let len: f32 = ring
                .iter()
                .zip(ring.iter().cycle().skip(1))
                .map(|(&a, &b)| ((c[a][0] - c[b][0]).powi(2) + (c[a][1] - c[b][1]).powi(2)).sqrt())
                .sum();
            if len > best_len {
                best_len = len;
                best = ring;
            }
        }
        best
    })
}

/// Anchors and the triangles outside the face of one portrait (its pixels).
#[derive(Clone, Debug)]
pub(crate) struct WarpMesh {
    /// Source positions of every vertex: the 468 landmarks, then the anchors (a grid over the image
    /// outside the face, its outer rows and columns on the image border, then a ring around the image a
    /// margin out). `[x, y]`.
    pub src: Vec<[f32; 2]>,
    /// Index of the first anchor (468).
    anchor_start: usize,
    /// For each anchor, how much of the face outline's motion it takes (1 next to the face, 0 on the
    /// image border), how much of the jaw's (the same next to the face, none past half a face below
    /// it), and the weights of the outline points in that motion (normalised).
    anchor_weights: Vec<(f32, f32, Vec<f32>)>,
    /// For each anchor, how much of the outline's motion it takes as if it lay at [`HAIR_DEPTH`]
    /// (none next to the face, its whole `reach` from [`HAIR_RAMP`] face sizes out).
    /// With it, the anchor's distance to the outline and the unit vector from the outline out to it:
    /// the hair's motion towards the face is held to [`HAIR_SQUEEZE`] of that distance.
    deep_reach: Vec<(f32, f32, [f32; 2])>,
    /// [`HAIR_REACH`] in pixels.
    hair_reach: f32,
    /// How much of the body's shift each anchor takes: 1 over the picture, 0 on the ring around it.
    body_follow: Vec<f32>,
    /// How much each outline point's motion reaches out, `[head motion, expression motion, jaw
    /// motion, head motion at depth]`: the head and the face above the jaw reach far; the jaw's own
    /// motion (an opening jaw) only stretches the skin just below it; the hair and ears beside and
    /// above the face turn as if they lay behind it.
    outline_follow: Vec<[f32; 4]>,
    /// Triangles outside the face (between the face outline and the image border), drawn first.
    pub outer: Vec<[u32; 3]>,
}

/// How far out the ring of anchors around the picture lies, in face sizes (the outline's larger
/// extent): more than the largest body shift ([`crate::rig::MAX_BODY_SHIFT`] face widths less the
/// neck's share), so the strip between never turns over.
const BODY_MARGIN: f32 = 1.5;

/// The canonical depth the hair and ears beside and above the face turn as if they lay at (the face's
/// outline at the cheeks lies at about 0.6, the eyes at 0, the nose tip at -0.48): a turning head's
/// hair moves against its face as far as the outline's own depth says, where the outline itself turns
/// as if it were as near as the cheeks (`HeadMotion::canonical_to_image`).
pub(crate) const HAIR_DEPTH: f32 = 1.2;

/// How far out from the face (in face sizes) the hair's motion goes from the face's own to the hair's
/// ([`HAIR_DEPTH`]).
const HAIR_RAMP: f32 = 0.2;

/// How far (in face sizes) the hair moves against the face at most (softly: `tanh`): a 2D warp shows
/// the side of the head a turn uncovers only as the hair beside the face stretched, which past this
/// reads as hair blown sideways.
const HAIR_REACH: f32 = 0.15;

/// The shares of its distance to the face outline that the hair's motion brings an anchor closer to the
/// face as it is, and at most: between them the motion is squeezed smoothly, so the hair is pressed
/// against the face, never pushed over it.
const HAIR_SQUEEZE: [f32; 2] = [0.5, 0.8];

/// The distance from `p` to the segment `a`-`b` and the vector from its nearest point to `p`.
fn point_segment_distance(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> (f32, [f32; 2]) {
    let ab = [b[0] - a[0], b[1] - a[1]];
    let ap = [p[0] - a[0], p[1] - a[1]];
    let t = ((ap[0] * ab[0] + ap[1] * ab[1]) / (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-9))
        .clamp(0.0, 1.0);
    let v = [ap[0] - t * ab[0], ap[1] - t * ab[1]];
    (v[0].hypot(v[1]), v)
}

impl WarpMesh {
    /// Builds the anchors for landmarks `points` (portrait pixels) in a `width` x `height` image;
    /// `canonical_y` is each landmark's height in the canonical frame (to find the jaw and neck).
    pub fn new(points: &[[f32; 3]], canonical_y: &[f32], width: f32, height: f32) -> Self {
        let boundary = boundary_loop();
        let k = boundary.len();
        let outline: Vec<[f32; 2]> = boundary
            .iter()
            .map(|&i| [points[i][0], points[i][1]])
            .collect();
        let outline64: Vec<[f64; 2]> = outline.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
        // The distance to the outline and the unit vector from the outline's nearest point out to `p`.
        let nearest_outline = |p: [f32; 2]| {
            let (d, v) = (0..k)
                .map(|a| point_segment_distance(p, outline[a], outline[(a + 1) % k]))
                .fold((f32::MAX, [0.0; 2]), |m, c| if c.0 < m.0 { c } else { m });
            (d, [v[0] / d.max(1e-6), v[1] / d.max(1e-6)])
        };
        let distance_to_outline = |p: [f32; 2]| nearest_outline(p).0;
        // Face size: the outline's extent.
        let (lo, hi) = bounds(outline.iter().copied());
        let face = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1.0);

        // A grid over the image, finer than the face, without the points on or near the face.
        let cells = ((width.max(height) / (face / 5.0)).ceil() as usize).clamp(8, 48);
        let step = width.max(height) / cells as f32;
        let nx = (width / step).ceil().max(1.0) as usize;
        let ny = (height / step).ceil().max(1.0) as usize;
        // Each anchor with its distance to the face outline (for its reach below).
        let mut anchors: Vec<[f32; 2]> = Vec::new();
        let mut to_face: Vec<f32> = Vec::new();
        for j in 0..=ny {
            for i in 0..=nx {
                let p = [width * i as f32 / nx as f32, height * j as f32 / ny as f32];
                let on_border = i == 0 || j == 0 || i == nx || j == ny;
                if !on_border
                    && crate::rig::topology::inside(&outline64, [p[0] as f64, p[1] as f64])
                {
                    continue;
                }
                let d = distance_to_outline(p);
                if on_border || d > 0.45 * step {
                    anchors.push(p);
                    to_face.push(d);
                }
            }
        }
        // A ring around the picture, a margin out: it stays while everything inside moves with a body
        // that moves with the head (`targets`' `body`), and what the body leaves behind is the strip
        // between (where the sampler repeats the picture's edge).
        let margin = BODY_MARGIN * face;
        let inside_anchors = anchors.len();
        let (ew, eh) = (width + 2.0 * margin, height + 2.0 * margin);
        let (rx, ry) = (
            (ew / (2.0 * step)).ceil().max(1.0) as usize,
            (eh / (2.0 * step)).ceil().max(1.0) as usize,
        );
        for j in 0..=ry {
            for i in 0..=rx {
                if i == 0 || j == 0 || i == rx || j == ry {
                    let p = [
                        ew * i as f32 / rx as f32 - margin,
                        eh * j as f32 / ry as f32 - margin,
                    ];
                    anchors.push(p);
                    to_face.push(distance_to_outline(p));
                }
            }
        }

        // Triangulate the outline and the anchors, keep what is outside the face, with the outline's
        // edges in the mesh.
        let mut pts: Vec<[f64; 2]> = outline64.clone();
        pts.extend(anchors.iter().map(|p| [p[0] as f64, p[1] as f64]));
        let mut tris = crate::rig::topology::delaunay(&pts);
        for a in 0..k {
            crate::rig::topology::recover_edge(&pts, &mut tris, a, (a + 1) % k);
        }
        let anchor_start = points.len();
        let index = |v: usize| {
            if v < k {
                boundary[v] as u32
            } else {
                (anchor_start + v - k) as u32
            }
        };
        let outer: Vec<[u32; 3]> = tris
            .into_iter()
            .filter(|t| {
                let c = [
                    (pts[t[0]][0] + pts[t[1]][0] + pts[t[2]][0]) / 3.0,
                    (pts[t[0]][1] + pts[t[1]][1] + pts[t[2]][1]) / 3.0,
                ];
                !crate::rig::topology::inside(&outline64, c)
            })
            .map(|t| t.map(index))
            .collect();

        // How each anchor moves: the outline's motion, by inverse squared distance, fading to nothing at
        // the image border.
        let anchor_weights: Vec<(f32, f32, Vec<f32>)> = anchors
            .iter()
            .zip(&to_face)
            .map(|(p, &to_face)| {
                let to_border = p[0].min(width - p[0]).min(p[1]).min(height - p[1]).max(0.0);
                let fade = smoothstep(0.0, 1.0, to_border / (to_border + to_face).max(1e-3));
                let reach = fade * (1.0 - smoothstep(0.4 * face, 1.1 * face, to_face));
                let jaw_reach = fade * (1.0 - smoothstep(0.0, 0.5 * face, to_face));
                let mut w: Vec<f32> = outline
                    .iter()
                    .map(|q| 1.0 / ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + 1.0))
                    .collect();
                let sum: f32 = w.iter().sum();
                w.iter_mut().for_each(|v| *v /= sum);
                (reach, jaw_reach, w)
            })
            .collect();
        // Hair and ears follow the head. The neck bends along with a turning or nodding head; an
        // opening jaw slides over it, stretching the skin just below the chin with it (so the chin
        // keeps its outline and its shadow, and what it passes over is squeezed smoothly, not
        // covered by a hard-edged block of skin).
        let outline_follow = boundary
            .iter()
            .map(|&i| {
                let below = smoothstep(0.3, 0.8, canonical_y[i]);
                [1.0 - 0.5 * below, 1.0 - below, below, 1.0 - below]
            })
            .collect();
        let deep_reach = anchor_weights
            .iter()
            .zip(&anchors)
            .map(|((reach, _, _), &p)| {
                let (d, out) = nearest_outline(p);
                (reach * smoothstep(0.0, HAIR_RAMP * face, d), d, out)
            })
            .collect();
        let body_follow = (0..anchors.len())
            .map(|a| if a < inside_anchors { 1.0 } else { 0.0 })
            .collect();
        let mut src: Vec<[f32; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
        src.extend(&anchors);
        Self {
            src,
            anchor_start,
            anchor_weights,
            deep_reach,
            hair_reach: HAIR_REACH * face,
            body_follow,
            outline_follow,
            outer,
        }
    }

    /// Target positions of every vertex, given where the landmarks go, where the head alone (no
    /// expression) takes each landmark (`head`, indexed like the landmarks: as the face's own point,
    /// and as a point at [`HAIR_DEPTH`] beside it) and how far the whole
    /// picture moves with the head (`body`, pixels: the part of the head's shift its neck does not
    /// take; everything but the image border moves by it, the strip along the border stretching).
    pub fn targets(
        &self,
        landmarks: &[[f32; 3]],
        head: impl Fn(usize) -> [[f32; 2]; 2],
        body: [f32; 2],
        out: &mut Vec<[f32; 2]>,
    ) {
        out.clear();
        out.extend(landmarks.iter().map(|p| [p[0], p[1]]));
        let boundary = boundary_loop();
        // Each outline point's far-reaching motion and its jaw motion.
        let moved: Vec<[f32; 6]> = boundary
            .iter()
            .zip(&self.outline_follow)
            .map(|(&i, f)| {
                let [rigid, deep] = head(i);
                // What the turn does to a point behind the face beyond what it does to the face's own.
                let behind = [deep[0] - rigid[0], deep[1] - rigid[1]];
                // A 2D warp can only stretch the hair the turn uncovers: held softly to a little.
                let length = behind[0].hypot(behind[1]);
                let held = self.hair_reach * (length / self.hair_reach).tanh();
                let behind = if length > 1e-6 {
                    [behind[0] * held / length, behind[1] * held / length]
                } else {
                    [0.0; 2]
                };
                let rigid = [rigid[0] - self.src[i][0], rigid[1] - self.src[i][1]];
                let expression = [
                    landmarks[i][0] - self.src[i][0] - rigid[0],
                    landmarks[i][1] - self.src[i][1] - rigid[1],
                ];
                // The head's motion over its shoulders: what the body's shift does not explain.
                let rigid = [rigid[0] - body[0], rigid[1] - body[1]];
                [
                    f[0] * rigid[0] + f[1] * expression[0],
                    f[0] * rigid[1] + f[1] * expression[1],
                    f[2] * expression[0],
                    f[2] * expression[1],
                    f[3] * behind[0],
                    f[3] * behind[1],
                ]
            })
            .collect();
        // The body's shift: all of it over the picture, none on the ring around it.
        let moves_body = body != [0.0, 0.0];
        for (a, (reach, jaw_reach, w)) in self.anchor_weights.iter().enumerate() {
            let mut p = self.src[self.anchor_start + a];
            if moves_body {
                let f = self.body_follow[a];
                p = [p[0] + f * body[0], p[1] + f * body[1]];
            }
            if *reach <= 0.0 && *jaw_reach <= 0.0 {
                out.push(p);
                continue;
            }
            let mut d = [0.0f32; 6];
            for (m, wk) in moved.iter().zip(w) {
                for k in 0..6 {
                    d[k] += wk * m[k];
                }
            }
            let (deep, to_face, outward) = self.deep_reach[a];
            let mut behind = [deep * d[4], deep * d[5]];
            // Towards the face the hair is squeezed against it, never pushed over it.
            let inward = -(behind[0] * outward[0] + behind[1] * outward[1]);
            let (room, most) = (HAIR_SQUEEZE[0] * to_face, HAIR_SQUEEZE[1] * to_face);
            if inward > room {
                let held = room + (most - room) * (1.0 - (-(inward - room) / (most - room)).exp());
                let cut = inward - held;
                behind = [behind[0] + cut * outward[0], behind[1] + cut * outward[1]];
            }
            out.push([
                p[0] + reach * d[0] + jaw_reach * d[2] + behind[0],
                p[1] + reach * d[1] + jaw_reach * d[3] + behind[1],
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outline_is_the_face_oval() {
        let b = boundary_loop();
        assert!(b.len() >= 30, "outline of {} points", b.len());
        for i in [10, 152, 234, 454] {
            assert!(b.contains(&i), "{i} not on the outline");
        }
    }
}
