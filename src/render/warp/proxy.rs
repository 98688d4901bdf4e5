//! The face as a 3D proxy: the landmarks' depth turns the mesh in 3D (the retargeted points already carry
//! it), so a triangle that turns away from the viewer is a back face, not a fold to draw. This module says,
//! per frame, which triangles turned over ([`Proxy::folded`]), how much of the mirrored face each
//! landmark takes where a turn shows more of a side than the picture has ([`Proxy::mirror_weights`]), and,
//! for the fold sweep, which folded triangles would still show ([`Proxy::visible_pixels`]).

use crate::math::smoothstep;
use crate::rig::editor::mirror_pairs;
use crate::tracking::canonical_face;

use super::mesh::boundary_loop;
use super::raster::{affine, rasterize};

/// Below this signed area (square pixels, in the face's orientation seen from the front) a triangle
/// counts as turned over.
const FOLD_AREA: f32 = 1e-3;
/// How much more of a triangle a turn shows than the portrait does (its projected area over its area
/// in 3D, target against portrait) before the mirrored face starts to fill it, and where it fills it
/// fully (as far as the mirrored side is better, see [`MIRROR_BETTER`]).
const MIRROR_STRETCH: [f32; 2] = [1.3, 2.2];
/// How much better the portrait shows a triangle's mirror image than the triangle itself (the same
/// ratio) before, and until, the mirror lends its pixels.
const MIRROR_BETTER: [f32; 2] = [1.25, 2.0];
/// Below this facing (see [`Proxy::mirror_weights`]) the portrait shows a triangle too obliquely to
/// lend anything.
const MIRROR_MIN_FACING: f32 = 0.05;
/// How much more squarely (projected over 3D area, 0..1) the turn shows a triangle than the portrait,
/// and the portrait its mirror image than the triangle, before and until the mirror lends its pixels.
const MIRROR_GAIN: [f32; 2] = [0.08, 0.25];

/// What the 3D proxy keeps of one portrait (made once).
#[derive(Clone, Debug)]
pub(crate) struct Proxy {
    /// Per face triangle, the sign of its area in the canonical face seen from the front (0 for a
    /// sliver): a triangle of the opposite sign faces away from the viewer.
    sign: Vec<f32>,
    /// Per face triangle, how squarely the portrait shows it: projected area over area in 3D, negative
    /// where it faces away in the portrait (the picture has nothing of it).
    facing: Vec<f32>,
    /// Per face triangle, how squarely the portrait shows its mirror image (signed the same way).
    mirror_facing: Vec<f32>,
    /// Per landmark, its mirror image's position in the portrait (the other side of the face).
    pub mirror_src: Vec<[f32; 2]>,
    /// Per landmark, how much of the mirrored face it may take: none on the face's outline, half next
    /// to it (the mirror image of the other side's outline would bring its background and hair in, and
    /// a hard edge against the portrait's own surround).
    reach: Vec<f32>,
}

fn area2(a: [f32; 2], b: [f32; 2], c: [f32; 2]) -> f32 {
    ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / 2.0
}

fn area3(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> f32 {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt() / 2.0
}

/// How squarely triangle `t` of `p` faces the viewer: its projected area over its area in 3D, times
/// `sign` (the sign of its area seen from the front): negative when it faces away.
fn facing(p: &[[f32; 3]], t: [u16; 3], sign: f32) -> f32 {
    let [a, b, c] = t.map(|i| p[i as usize]);
    let full = area3(a, b, c);
    if full <= 1e-6 {
        return 0.0;
    }
    (sign * area2([a[0], a[1]], [b[0], b[1]], [c[0], c[1]]) / full).clamp(-1.0, 1.0)
}

impl Proxy {
    /// The proxy of the portrait whose landmarks (pixels, with depth) are `points`, meshed by `tris`.
    pub fn new(points: &[[f32; 3]], tris: &[[u16; 3]]) -> Self {
        let pairs = mirror_pairs();
        let canon = canonical_face();
        let flat = |i: u16| [canon[i as usize][0], canon[i as usize][1]];
        let sign: Vec<f32> = tris
            .iter()
            .map(|t| {
                let a = area2(flat(t[0]), flat(t[1]), flat(t[2]));
                if a.abs() > 1e-7 { a.signum() } else { 0.0 }
            })
            .collect();
        let mut reach = vec![1.0f32; points.len()];
        let outline = boundary_loop();
        for t in tris {
            if t.iter().any(|&i| outline.contains(&(i as usize))) {
                for &i in t {
                    reach[i as usize] = reach[i as usize].min(0.5);
                }
            }
        }
        for &i in outline {
            reach[i] = 0.0;
        }
        Self {
            reach,
            facing: tris
                .iter()
                .zip(&sign)
                .map(|(t, s)| facing(points, *t, *s))
                .collect(),
            // A mirror image turns a triangle over.
            mirror_facing: tris
                .iter()
                .zip(&sign)
                .map(|(t, s)| facing(points, t.map(|i| pairs[i as usize] as u16), -s))
                .collect(),
            mirror_src: (0..points.len())
                .map(|i| [points[pairs[i]][0], points[pairs[i]][1]])
                .collect(),
            sign,
        }
    }

    /// Whether face triangle `k` (vertices `t`) faces away from the viewer at `dst`: a back face of the
    /// 3D proxy, its orientation the opposite of the face's seen from the front.
    #[inline]
    pub fn folded(&self, k: usize, t: [u16; 3], dst: &[[f32; 2]]) -> bool {
        let s = self.sign[k];
        s != 0.0
            && area2(dst[t[0] as usize], dst[t[1] as usize], dst[t[2] as usize]) * s < -FOLD_AREA
    }

    /// Per landmark, how much of its pixels come from the mirrored face (0..=1) for the landmarks
    /// `target` (pixels, with depth: the portrait's, moved by the head alone). A triangle the portrait does not show (facing away in it) that
    /// the turn brings into view takes its mirror image's pixels where the portrait shows those; one the
    /// turn shows much more squarely than the portrait does (a side coming into view, a few pixels
    /// stretched) takes them as far as the portrait shows the mirror image better. Each landmark takes
    /// the most of its triangles', so the blend, per pixel between the landmarks' weights, has no seams
    /// and fades out over one ring of triangles. Empty when no landmark takes any.
    pub fn mirror_weights(&self, tris: &[[u16; 3]], target: &[[f32; 3]], out: &mut Vec<f32>) {
        out.clear();
        out.resize(target.len(), 0.0);
        let mut any = false;
        for (k, t) in tris.iter().enumerate() {
            let (own, mirror) = (self.facing[k], self.mirror_facing[k]);
            if mirror <= MIRROR_MIN_FACING || self.sign[k] == 0.0 {
                continue;
            }
            let shown = facing(target, *t, self.sign[k]);
            if shown <= 0.0 {
                continue;
            }
            // What the portrait shows of the triangle (nothing where it faces away), against what the
            // turn shows and what the portrait shows of the mirror image: the mirror lends where the
            // turn shows clearly more than the portrait, and the portrait shows the mirror clearly
            // better. At the portrait's own pose nothing changes.
            let own = own.max(0.0);
            let w = smoothstep(MIRROR_GAIN[0], MIRROR_GAIN[1], shown - own)
                * smoothstep(MIRROR_STRETCH[0], MIRROR_STRETCH[1], shown / own.max(0.01))
                * smoothstep(MIRROR_GAIN[0], MIRROR_GAIN[1], mirror - own)
                * smoothstep(MIRROR_BETTER[0], MIRROR_BETTER[1], mirror / own.max(0.01));
            if w > 0.0 {
                any = true;
                for &i in t {
                    let o = &mut out[i as usize];
                    *o = o.max(w);
                }
            }
        }
        if !any {
            out.clear();
            return;
        }
        for (w, r) in out.iter_mut().zip(&self.reach) {
            *w *= r;
        }
    }

    /// For each folded triangle in `folded` (vertices into `dst`) in a `width` x `height` frame:
    /// `[shown, in_front]`, its pixels that no unfolded triangle covers (the renderer draws folded
    /// triangles behind all others, so only there do they show in the frame), and, for a face triangle
    /// (depth `depth(i)` at its vertices, nearer is smaller), its pixels where the nearest unfolded face
    /// triangle is farther than it by more than `tolerance` (the proxy's depth would put the fold in
    /// front of the face the frame shows there). `unfolded_face` and `unfolded_outer` are the triangles
    /// that are not folded; outer triangles (no depth) lie behind the face, so a back face beyond the
    /// face's outline, covered only by them, is behind the silhouette.
    #[allow(clippy::too_many_arguments)]
    pub fn visible_pixels(
        dst: &[[f32; 2]],
        depth: impl Fn(usize) -> Option<f32>,
        unfolded_face: &[[u32; 3]],
        unfolded_outer: &[[u32; 3]],
        folded: &[[u32; 3]],
        width: usize,
        height: usize,
        tolerance: f32,
    ) -> Vec<[u32; 2]> {
        // Nearest unfolded face depth per pixel (infinity: no face there); whether anything unfolded
        // covers it.
        let mut nearest = vec![f32::INFINITY; width * height];
        let mut covered = vec![false; width * height];
        let plane = |t: [u32; 3], z: [f32; 3]| {
            let to = t.map(|i| dst[i as usize]);
            affine(to, z.map(|v| [v, 0.0])).map(|m| m[0])
        };
        let depths = |t: [u32; 3]| -> Option<[f32; 3]> {
            Some([
                depth(t[0] as usize)?,
                depth(t[1] as usize)?,
                depth(t[2] as usize)?,
            ])
        };
        for &t in unfolded_outer {
            rasterize(t.map(|i| dst[i as usize]), width, height, |y, x0, x1| {
                covered[y * width + x0..=y * width + x1].fill(true);
            });
        }
        for &t in unfolded_face {
            let p = depths(t).and_then(|z| plane(t, z));
            rasterize(t.map(|i| dst[i as usize]), width, height, |y, x0, x1| {
                for x in x0..=x1 {
                    let k = y * width + x;
                    covered[k] = true;
                    if let Some(p) = p {
                        let d = p[0] * (x as f32 + 0.5) + p[1] * (y as f32 + 0.5) + p[2];
                        nearest[k] = nearest[k].min(d);
                    }
                }
            });
        }
        folded
            .iter()
            .map(|&t| {
                let p = depths(t).and_then(|z| plane(t, z));
                let mut n = [0u32; 2];
                rasterize(t.map(|i| dst[i as usize]), width, height, |y, x0, x1| {
                    for x in x0..=x1 {
                        let k = y * width + x;
                        n[0] += !covered[k] as u32;
                        n[1] += (covered[k]
                            && nearest[k].is_finite()
                            && p.is_some_and(|p| {
                                let d = p[0] * (x as f32 + 0.5) + p[1] * (y as f32 + 0.5) + p[2];
                                d + tolerance < nearest[k]
                            })) as u32;
                    }
                });
                n
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square of two triangles (0 1 2, 0 2 3) and a third (1 4 2) beside it, in a 20 x 20 frame.
    fn square(fold_to: [f32; 2]) -> Vec<[f32; 2]> {
        vec![[2.0, 2.0], [12.0, 2.0], [12.0, 12.0], [2.0, 12.0], fold_to]
    }

    #[test]
    fn a_fold_over_nothing_shows_and_one_behind_the_face_does_not() {
        let face = [[0, 1, 2], [0, 2, 3]];
        // Vertex 4 pulled back over the square: triangle 1 4 2 turns over, inside the square.
        let dst = square([8.0, 7.0]);
        let behind = |i: usize| Some(if i == 4 { 5.0 } else { 0.0 });
        let v = Proxy::visible_pixels(&dst, behind, &face, &[], &[[1, 4, 2]], 20, 20, 0.1);
        assert_eq!(v[0][0], 0, "covered by the square");
        assert_eq!(v[0][1], 0, "behind the square");
        // The same fold nearer than the square: in front.
        let before = |i: usize| Some(if i == 4 { -5.0 } else { 0.0 });
        let v = Proxy::visible_pixels(&dst, before, &face, &[], &[[1, 4, 2]], 20, 20, 0.1);
        assert!(v[0][1] > 0, "{v:?}");
        // Without the square's triangle under it the fold is over nothing: it shows.
        let v = Proxy::visible_pixels(&dst, behind, &face[1..], &[], &[[1, 4, 2]], 20, 20, 0.1);
        assert!(v[0][0] > 0, "{v:?}");
        // Covered by an outer triangle (no depth): hidden, and not in front of any face.
        let v = Proxy::visible_pixels(
            &dst,
            before,
            &face[1..],
            &[[0, 1, 2]],
            &[[1, 4, 2]],
            20,
            20,
            0.1,
        );
        assert_eq!(v[0], [0, 0], "{v:?}");
    }
}
