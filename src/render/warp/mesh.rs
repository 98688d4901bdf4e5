//! The warp mesh of one portrait: the face mesh's triangles, plus a ring of anchors around the face and
//! anchors on the image border, so hair, neck and background follow the face smoothly.

use std::sync::OnceLock;

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
    /// Source positions of every vertex: the 468 landmarks, then the ring, the border points and the
    /// image corners. `[x, y]`.
    pub src: Vec<[f32; 2]>,
    /// Index of the first ring vertex (468) and the ring's size (one per boundary landmark).
    pub ring_start: usize,
    /// How much each ring anchor follows its boundary landmark (1 above the jaw, less on the neck).
    pub ring_follow: Vec<f32>,
    /// Triangles outside the face (between the face outline, the ring and the border), drawn first.
    pub outer: Vec<[u32; 3]>,
}

fn smoothstep(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl WarpMesh {
    /// Builds the anchors for landmarks `points` (portrait pixels) in a `width` x `height` image;
    /// `canonical_y` is each landmark's height in the canonical frame (to find the jaw and neck).
    pub fn new(points: &[[f32; 3]], canonical_y: &[f32], width: f32, height: f32) -> Self {
        let boundary = boundary_loop();
        let k = boundary.len();
        let mut src: Vec<[f32; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
        let mut centre = [0.0f32; 2];
        for &i in boundary {
            centre[0] += src[i][0] / k as f32;
            centre[1] += src[i][1] / k as f32;
        }
        let centre = [centre[0].clamp(1.0, width - 1.0), centre[1].clamp(1.0, height - 1.0)];
        // Distance from the centre along `d` (unit) to the image edge.
        let exit = |d: [f32; 2]| {
            let mut t = f32::MAX;
            if d[0] > 1e-6 {
                t = t.min((width - centre[0]) / d[0]);
            } else if d[0] < -1e-6 {
                t = t.min(-centre[0] / d[0]);
            }
            if d[1] > 1e-6 {
                t = t.min((height - centre[1]) / d[1]);
            } else if d[1] < -1e-6 {
                t = t.min(-centre[1] / d[1]);
            }
            t
        };
        let mut ring = Vec::with_capacity(k);
        let mut border = Vec::with_capacity(k);
        let mut follow = Vec::with_capacity(k);
        for &i in boundary {
            let d = [src[i][0] - centre[0], src[i][1] - centre[1]];
            let r = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-3);
            let u = [d[0] / r, d[1] / r];
            let t = exit(u);
            let ring_r = if t > r { r + (0.45 * r).min(0.5 * (t - r)) } else { r };
            ring.push([centre[0] + u[0] * ring_r, centre[1] + u[1] * ring_r]);
            let border_r = t.max(ring_r);
            border.push([centre[0] + u[0] * border_r, centre[1] + u[1] * border_r]);
            // Hair and ears follow the head; the neck below the chin only partly.
            follow.push(1.0 - 0.65 * smoothstep(0.6, 1.15, canonical_y[i]));
        }
        let ring_start = src.len();
        src.extend(&ring);
        let border_start = src.len();
        src.extend(&border);
        let corner_start = src.len();
        let corners = [[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]];
        src.extend(corners);

        // Winding of the boundary around the centre, to sweep angles the same way.
        let area: f32 = (0..k)
            .map(|a| {
                let (p, q) = (src[boundary[a]], src[boundary[(a + 1) % k]]);
                (p[0] - centre[0]) * (q[1] - centre[1]) - (q[0] - centre[0]) * (p[1] - centre[1])
            })
            .sum();
        let dir = if area >= 0.0 { 1.0 } else { -1.0 };
        let angle = |p: [f32; 2]| (p[1] - centre[1]).atan2(p[0] - centre[0]);
        let sweep = |from: f32, to: f32| ((to - from) * dir).rem_euclid(std::f32::consts::TAU);

        let mut outer = Vec::with_capacity(5 * k);
        for a in 0..k {
            let b = (a + 1) % k;
            let (ba, bb) = (boundary[a] as u32, boundary[b] as u32);
            let (ra, rb) = ((ring_start + a) as u32, (ring_start + b) as u32);
            let (da, db) = ((border_start + a) as u32, (border_start + b) as u32);
            outer.push([ba, bb, rb]);
            outer.push([ba, rb, ra]);
            // Between the ring and the border, with any image corner the sweep passes.
            let start = angle(border[a]);
            let span = sweep(start, angle(border[b]));
            let mut passed: Vec<(f32, u32)> = (0..4)
                .filter_map(|c| {
                    let s = sweep(start, angle(corners[c]));
                    (s > 0.0 && s < span).then_some((s, (corner_start + c) as u32))
                })
                .collect();
            passed.sort_by(|x, y| x.0.total_cmp(&y.0));
            let mut path = vec![da];
            path.extend(passed.iter().map(|p| p.1));
            path.push(db);
            for w in path.windows(2) {
                outer.push([ra, w[0], w[1]]);
            }
            outer.push([ra, db, rb]);
        }
        Self {
            src,
            ring_start,
            ring_follow: follow,
            outer,
        }
    }

    /// Target positions of every vertex, given where the landmarks go.
    pub fn targets(&self, landmarks: &[[f32; 3]], out: &mut Vec<[f32; 2]>) {
        out.clear();
        out.extend(landmarks.iter().map(|p| [p[0], p[1]]));
        let boundary = boundary_loop();
        for (k, &i) in boundary.iter().enumerate() {
            let moved = [landmarks[i][0] - self.src[i][0], landmarks[i][1] - self.src[i][1]];
            let r = self.src[self.ring_start + k];
            let f = self.ring_follow[k];
            out.push([r[0] + f * moved[0], r[1] + f * moved[1]]);
        }
        out.extend_from_slice(&self.src[self.ring_start + boundary.len()..]);
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
