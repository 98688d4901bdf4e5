//! [`MeshWarpRenderer`]: the default renderer. It moves the portrait's own pixels along the face mesh
//! (piecewise-affine warp with anchors around the face and on the border), with the eyes and the mouth
//! interior drawn as layers behind the lids and lips. No trained weights. It only draws: the portraits
//! come rigged and the face retargeted from the rig stage ([`crate::rig`]).

mod eye;
mod geometry;
mod mesh;
mod mouth;
mod proxy;
mod raster;
mod still;

use std::sync::Arc;

use eye::EyeLayer;
use geometry::Similarity;
use mesh::WarpMesh;
use mouth::{MouthFrame, MouthLayer, MouthReference};
use proxy::Proxy;
use raster::{SpanMap, Texture, affine, rasterize, texels};
use still::{over_plate, texture};

use crate::error::{Error, Result};
use crate::face::FaceFrame;
use crate::math::smoothstep;
use crate::portrait::PortraitImage;
use crate::renderer::{HeadRenderer, RenderRequest, RenderTarget};
use crate::rig::topology::{INNER_LIPS, LEFT_EYE, RIGHT_EYE, eye_ring, triangles};
use crate::rig::{ExpressionRig, PortraitRig, RetargetedFace, RiggedPortraits};

/// What the warp derives from a head's rigged portraits, made once (kept in the
/// [`RiggedPortraits`], freed with them).
#[derive(Debug)]
pub struct WarpHead {
    mesh: WarpMesh,
    eyes: [EyeLayer; 2],
    mouth: MouthLayer,
    /// The portrait's own mouth (its lips where they meet: what a sliver between barely parted lips shows).
    mouth_rest: MouthFrame,
    /// The portrait's pixels spread one channel per 16-bit lane and padded (`raster::texels`), for the fast
    /// sampler.
    texels: Vec<u64>,
    /// The face as a 3D proxy: back faces and the mirrored fill.
    proxy: Proxy,
}

/// A head's portraits rigged and made ready for the warp, outside an app (baking frames, tests,
/// benchmarks): the [`RiggedPortraits`] and the [`WarpHead`] together. In an app the rig stage and
/// [`MeshWarpRenderer`] do this.
#[derive(Debug)]
pub struct PreparedHead {
    rigged: Arc<RiggedPortraits>,
    warp: Arc<WarpHead>,
}

/// A triangle of the warp mesh turned over ([`PreparedHead::folded_triangles`]): a face triangle facing
/// away from the viewer (its orientation the opposite of the canonical face's seen from the front), or a
/// triangle around the face whose orientation is the opposite of the portrait's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fold {
    /// Its vertices (0..468 the landmarks, then the anchors around the face).
    pub triangle: [u32; 3],
    /// The area it covers turned over, in square pixels.
    pub area: f32,
    /// The pixels where it shows in the frame (at the portrait's size): those that no triangle which
    /// did not turn over covers (the renderer draws the turned-over ones behind all others). A back face
    /// of the 3D proxy, hidden behind the face, has none: it is not a visible fold.
    pub visible: u32,
    /// For a face triangle, the pixels where the landmarks' depth puts it in front of the face that the
    /// frame shows there (by more than a twentieth of the eye-corner distance): where the proxy's depth
    /// disagrees with what is drawn (0 for the triangles around the face, which have no depth).
    pub in_front: u32,
}

/// What one frame drew.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WarpStats {
    /// Pixels no triangle or layer covered (filled with the still portrait; 0 for a sound mesh).
    pub uncovered: usize,
    /// Pixels drawn by the eye layers.
    pub eye_pixels: usize,
    /// Pixels drawn by the mouth layer.
    pub mouth_pixels: usize,
    /// Pixels the tongue covers (`tongueOut`).
    pub tongue_pixels: usize,
    /// Pixels drawn from the warped portrait (more than the frame where the mesh folds over itself).
    pub skin_pixels: usize,
    /// Of those, pixels that took some of the mirrored face (a side the turn brings into view that the
    /// portrait shows less than its other side).
    pub mirrored_pixels: usize,
}

impl PreparedHead {
    /// Rigs `portraits[0]` (with its `rigs[0]`, in the portrait's pixels) and prepares it for warping;
    /// the other portraits and rigs are few-shot references (the most open mouth lends its interior).
    pub fn new(
        portraits: &[Arc<PortraitImage>],
        rigs: &[PortraitRig],
        expressions: &ExpressionRig,
    ) -> Result<Self> {
        Ok(Self::from_rigged(RiggedPortraits::new(
            portraits,
            rigs,
            expressions,
        )?))
    }

    /// The head of portraits rigged already (for example with a still background,
    /// [`RiggedPortraits::with_still_background`]).
    pub fn from_rigged(rigged: RiggedPortraits) -> Self {
        let warp = Arc::new(WarpHead::new(&rigged));
        Self {
            rigged: Arc::new(rigged),
            warp,
        }
    }

    /// The rigged portraits.
    pub fn rigged(&self) -> &Arc<RiggedPortraits> {
        &self.rigged
    }

    /// The main portrait's rig, at output size.
    pub fn rig(&self) -> &PortraitRig {
        self.rigged.rig()
    }

    /// Where the face's landmarks go on this portrait.
    pub fn retarget(&self, face: &FaceFrame) -> RetargetedFace {
        self.rigged.retarget(face)
    }

    /// Which portrait lends the mouth interior, as an index into the usable portraits (those with a
    /// sound rig): the one with the most open mouth (`None` when every mouth is closed: the interior is
    /// painted).
    pub fn mouth_reference(&self) -> Option<usize> {
        self.warp.mouth_reference()
    }

    /// Renders `face` into `out` (RGBA8, the portrait's size).
    pub fn render(&self, face: &FaceFrame, out: &mut [u8]) -> WarpStats {
        let target = self.retarget(face);
        self.render_retargeted(&target, out)
    }

    /// Renders an already retargeted face.
    pub fn render_retargeted(&self, target: &RetargetedFace, out: &mut [u8]) -> WarpStats {
        self.warp.draw(&self.rigged, target, out)
    }

    /// The triangles of the warp mesh (the face's and those around it, out to the image border) that
    /// are turned over when the landmarks go to `target` (see [`Fold`]): back faces of the 3D proxy. The
    /// renderer draws them behind every triangle that did not turn over, so they show only where
    /// [`Fold::visible`] says.
    pub fn folded_triangles(&self, target: &RetargetedFace) -> Vec<Fold> {
        self.warp.folded_triangles(&self.rigged, target)
    }
}

impl WarpHead {
    /// Builds the warp mesh and the eye and mouth layers of `rigged`'s main portrait; the reference
    /// with the most open mouth lends its interior.
    pub fn new(rigged: &RiggedPortraits) -> Self {
        let portrait = rigged.portrait();
        let rig = rigged.rig();
        let pose = *rigged.retargeter().portrait_pose();
        let canonical_y: Vec<f32> = rig
            .landmarks
            .iter()
            .map(|p| pose.to_canonical(*p)[1])
            .collect();
        let mesh = WarpMesh::new(
            &rig.landmarks,
            &canonical_y,
            portrait.width as f32,
            portrait.height as f32,
        );
        let eyes = [0, 1].map(|side| {
            EyeLayer::new(
                portrait,
                &rig.landmarks,
                side,
                rig.iris.map(|i| i[side]),
                rig.iris_radius.map(|r| r[side]),
            )
        });
        let sclera = [0, 1, 2].map(|k| (eyes[0].sclera[k] + eyes[1].sclera[k]) / 2.0);
        // Few shots: the reference with the most open mouth lends its interior.
        let mut reference: Option<(f32, MouthReference)> = None;
        for (index, (image, r)) in rigged.shots().iter().enumerate() {
            let frame = MouthFrame::new(&r.landmarks);
            let open = frame.openness();
            if open > 0.0 && reference.as_ref().is_none_or(|(o, _)| open > *o) {
                reference = Some((open, MouthReference::new(index, image.clone(), frame)));
            }
        }
        let mouth = MouthLayer::new(portrait, &rig.landmarks, sclera, reference.map(|r| r.1));
        Self {
            mesh,
            eyes,
            mouth,
            mouth_rest: MouthFrame::new(&rig.landmarks),
            // With a still background the warp moves the person alone (its alpha the matte).
            texels: texels(&texture(rigged).rgba, portrait.width as usize),
            proxy: Proxy::new(&rig.landmarks, triangles()),
        }
    }

    /// Which shot of the rigged portraits lends the mouth interior (`None`: painted).
    pub fn mouth_reference(&self) -> Option<usize> {
        self.mouth.reference.as_ref().map(|r| r.index)
    }

    /// Where every vertex of the warp mesh goes for `target`.
    fn vertex_targets(&self, rigged: &RiggedPortraits, target: &RetargetedFace) -> Vec<[f32; 2]> {
        let mut dst: Vec<[f32; 2]> = Vec::with_capacity(self.mesh.src.len());
        let motion = target.motion;
        let src_points = &rigged.rig().landmarks;
        self.mesh.targets(
            &target.points,
            |i| {
                if motion.is_identity() {
                    [[src_points[i][0], src_points[i][1]]; 2]
                } else {
                    let p = motion.move_point(src_points[i]);
                    let deep = motion.move_point_as_at(src_points[i], mesh::HAIR_DEPTH);
                    [[p[0], p[1]], [deep[0], deep[1]]]
                }
            },
            motion.body_shift(),
            &mut dst,
        );
        dst
    }

    /// The mesh's triangles (face and surround) whose orientation flips between the portrait and
    /// `target` (see [`PreparedHead::folded_triangles`]), with where each would show.
    pub fn folded_triangles(&self, rigged: &RiggedPortraits, target: &RetargetedFace) -> Vec<Fold> {
        let dst = self.vertex_targets(rigged, target);
        let (face, outer) = self.split_folded(&dst);
        let area = |p: &[[f32; 2]], t: [u32; 3]| {
            let [a, b, c] = t.map(|i| p[i as usize]);
            ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / 2.0
        };
        let folded: Vec<[u32; 3]> = face.1.iter().chain(&outer.1).copied().collect();
        if folded.is_empty() {
            return Vec::new();
        }
        let portrait = rigged.portrait();
        let p = &target.points;
        let eye = ((p[33][0] - p[263][0]).powi(2)
            + (p[33][1] - p[263][1]).powi(2)
            + (p[33][2] - p[263][2]).powi(2))
        .sqrt();
        let visible = Proxy::visible_pixels(
            &dst,
            |i| (i < p.len()).then(|| p[i][2]),
            &face.0,
            &outer.0,
            &folded,
            portrait.width as usize,
            portrait.height as usize,
            eye / 20.0,
        );
        folded
            .into_iter()
            .zip(visible)
            .map(|(t, [visible, in_front])| Fold {
                triangle: t,
                area: area(&dst, t).abs(),
                visible,
                in_front,
            })
            .collect()
    }

    /// The face's triangles and the outer ones, each as (not turned over, turned over) at `dst`.
    #[allow(clippy::type_complexity)]
    fn split_folded(
        &self,
        dst: &[[f32; 2]],
    ) -> (
        (Vec<[u32; 3]>, Vec<[u32; 3]>),
        (Vec<[u32; 3]>, Vec<[u32; 3]>),
    ) {
        let (mut face, mut face_folded) = (Vec::new(), Vec::new());
        for (k, t) in triangles().iter().enumerate() {
            if self.proxy.folded(k, *t, dst) {
                face_folded.push(t.map(u32::from));
            } else {
                face.push(t.map(u32::from));
            }
        }
        let (mut outer, mut outer_folded) = (Vec::new(), Vec::new());
        for t in &self.mesh.outer {
            if self.outer_folded(*t, dst) {
                outer_folded.push(*t);
            } else {
                outer.push(*t);
            }
        }
        ((face, face_folded), (outer, outer_folded))
    }

    /// Whether outer triangle `t` is turned over at `dst`.
    fn outer_folded(&self, t: [u32; 3], dst: &[[f32; 2]]) -> bool {
        let area = |p: &[[f32; 2]]| {
            let [a, b, c] = t.map(|i| p[i as usize]);
            ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / 2.0
        };
        let before = area(&self.mesh.src);
        // A sliver with no area in the portrait has no orientation to keep.
        before.abs() > 1e-3 && area(dst) * before.signum() < -1e-3
    }

    /// Where the lips have barely parted (a smile's stretched mouth, the corners), the sliver between them
    /// shows the portrait's own lips where they meet instead of the mouth interior: a painted interior
    /// squeezed into a pixel or two reads as a dark or grey seam between the lips, and as black specks at
    /// the corners. It fades to the interior as the lips part.
    #[allow(clippy::too_many_arguments)]
    fn lip_seam_span(
        &self,
        tex: &Texture<'_>,
        target: &MouthFrame,
        y: usize,
        x0: usize,
        x1: usize,
        out: &mut [u8],
        w: usize,
    ) {
        let rest = &self.mouth_rest;
        let width = target.width.max(1.0);
        for x in x0..=x1 {
            let [s, v] = target.local([x as f32 + 0.5, y as f32 + 0.5]);
            let (up, lo) = target.edges(s);
            let a = 1.0 - smoothstep(LIP_SEAM_CLOSED * width, LIP_SEAM_OPEN * width, lo - up);
            if a <= 0.0 {
                continue;
            }
            // The portrait's lips at the same place along the mouth, around where they meet.
            let (rup, rlo) = rest.edges(s);
            let half = ((rlo - rup).max(0.0) / 2.0).max(0.5);
            let mid = (rup + rlo) / 2.0 + (v - (up + lo) / 2.0).clamp(-half, half);
            let src = rest.world(s.clamp(0.0, 1.0), mid);
            let c = tex.sample(src[0], src[1]);
            let i = (y * w + x) * 4;
            for k in 0..3 {
                out[i + k] = (out[i + k] as f32 * (1.0 - a) + c[k] as f32 * a).round() as u8;
            }
        }
    }

    /// Draws `target` (retargeted onto `rigged`, the portraits this was made from) into `out` (RGBA8,
    /// the portrait's size).
    pub fn draw(
        &self,
        rigged: &RiggedPortraits,
        target: &RetargetedFace,
        out: &mut [u8],
    ) -> WarpStats {
        let portrait = texture(rigged);
        let (w, h) = (portrait.width as usize, portrait.height as usize);
        let tex = Texture {
            width: w,
            height: h,
            rgba: &portrait.rgba,
            px: &self.texels,
        };
        let mut stats = WarpStats::default();
        let mut covered = vec![false; w * h];
        let dst = self.vertex_targets(rigged, target);
        let src = &self.mesh.src;

        let drawn = std::cell::Cell::new(0usize);
        let mirrored = std::cell::Cell::new(0usize);
        let skin = |t: [u32; 3], out: &mut [u8], covered: &mut [bool]| {
            let to = t.map(|i| dst[i as usize]);
            let from = t.map(|i| src[i as usize]);
            let Some(m) = affine(to, from).map(SpanMap::new) else {
                return;
            };
            rasterize(to, w, h, |y, x0, x1| {
                tex.sample_span(&m, y, x0, x1, out, w);
                drawn.set(drawn.get() + x1 + 1 - x0);
                covered[y * w + x0..=y * w + x1].fill(true);
            });
        };
        // Where a turn shows a side more squarely than the portrait does and the portrait shows its
        // mirror image better, the mirror image lends its pixels (blended per pixel by the landmarks'
        // weights, so the blend has no seams).
        // The turn alone decides (an expression moves the skin over the face, it does not bring a
        // side into view): the portrait's landmarks moved by the head's motion.
        let mut mirror_w = Vec::new();
        if !target.motion.is_identity() {
            let turned: Vec<[f32; 3]> = rigged
                .rig()
                .landmarks
                .iter()
                .map(|p| target.motion.move_point(*p))
                .collect();
            self.proxy
                .mirror_weights(triangles(), &turned, &mut mirror_w);
        }
        let mut scratch = vec![0u8; if mirror_w.is_empty() { 0 } else { w * 4 }];
        let mut face_skin = |t: [u32; 3], out: &mut [u8], covered: &mut [bool]| {
            let wt = if mirror_w.is_empty() {
                [0.0; 3]
            } else {
                t.map(|i| mirror_w[i as usize])
            };
            if wt.iter().all(|&v| v <= 0.0) {
                return skin(t, out, covered);
            }
            let to = t.map(|i| dst[i as usize]);
            let from = t.map(|i| src[i as usize]);
            let from_mirror = t.map(|i| self.proxy.mirror_src[i as usize]);
            let (Some(m), Some(mm), Some(wp)) = (
                affine(to, from),
                affine(to, from_mirror),
                affine(to, wt.map(|v| [v, 0.0])),
            ) else {
                return skin(t, out, covered);
            };
            let (m, mm, wp) = (SpanMap::new(m), SpanMap::new(mm), wp[0]);
            rasterize(to, w, h, |y, x0, x1| {
                tex.sample_span(&m, y, x0, x1, out, w);
                // Into `scratch` at `x0..=x1` (an output width of 0 writes row `y` at the start).
                tex.sample_span(&mm, y, x0, x1, &mut scratch[..], 0);
                let row = &mut out[(y * w + x0) * 4..(y * w + x1 + 1) * 4];
                let yc = y as f32 + 0.5;
                for (k, (o, s)) in row
                    .chunks_exact_mut(4)
                    .zip(scratch[x0 * 4..(x1 + 1) * 4].chunks_exact(4))
                    .enumerate()
                {
                    let a = (wp[0] * ((x0 + k) as f32 + 0.5) + wp[1] * yc + wp[2]).clamp(0.0, 1.0);
                    for c in 0..3 {
                        o[c] = (o[c] as f32 + (s[c] as f32 - o[c] as f32) * a).round() as u8;
                    }
                }
                drawn.set(drawn.get() + x1 + 1 - x0);
                mirrored.set(mirrored.get() + x1 + 1 - x0);
                covered[y * w + x0..=y * w + x1].fill(true);
            });
        };
        // The 3D proxy: triangles that turned over (back faces) first, behind everything, so they show
        // only where nothing else covers (a sound mesh leaves no such place); then the surround; then
        // the face, far to near.
        let ((face_tris, face_folded), (outer, outer_folded)) = self.split_folded(&dst);
        for t in face_folded.iter().chain(&outer_folded) {
            skin(*t, out, &mut covered);
        }
        for t in &outer {
            skin(*t, out, &mut covered);
        }

        // The face, far to near; each eye and the mouth as one item at its depth.
        enum Item {
            Skin([u32; 3]),
            Eye(usize),
            Mouth,
        }
        let z = |i: usize| target.points[i][2];
        let mut items: Vec<(f32, Item)> = face_tris
            .iter()
            .map(|&t| {
                (
                    (z(t[0] as usize) + z(t[1] as usize) + z(t[2] as usize)) / 3.0,
                    Item::Skin(t),
                )
            })
            .collect();
        let ring_depth =
            |ring: &[usize]| ring.iter().map(|&i| z(i)).sum::<f32>() / ring.len() as f32;
        items.push((ring_depth(&RIGHT_EYE), Item::Eye(0)));
        items.push((ring_depth(&LEFT_EYE), Item::Eye(1)));
        items.push((ring_depth(&INNER_LIPS), Item::Mouth));
        items.sort_by(|a, b| b.0.total_cmp(&a.0));

        let mouth_frame = MouthFrame::new(&target.points);
        // Each eye's target pixels map back to the portrait by the similarity of its corners (the eyeball
        // moves rigidly with them): used by the eye layer and by the closing lids.
        let to_source = [0, 1].map(|side| {
            let ring = eye_ring(side);
            let corners = [ring[0], ring[8]].map(|i| [target.points[i][0], target.points[i][1]]);
            Similarity::new(corners, self.eyes[side].corners)
        });
        for (_, item) in items {
            match item {
                Item::Skin(t) => face_skin(t, out, &mut covered),
                Item::Eye(side) => {
                    let poly: Vec<[f32; 2]> = eye_ring(side)
                        .iter()
                        .map(|&i| [target.points[i][0], target.points[i][1]])
                        .collect();
                    let eye = &self.eyes[side];
                    let lids = eye.target_lids(&to_source[side], &target.points, side);
                    fill_ring(&poly, w, h, |y, x0, x1| {
                        eye.shade_span(
                            &tex,
                            &to_source[side],
                            target.gaze_shift[side],
                            &lids,
                            y,
                            x0,
                            x1,
                            out,
                            w,
                        );
                        covered[y * w + x0..=y * w + x1].fill(true);
                        stats.eye_pixels += x1 + 1 - x0;
                    });
                }
                Item::Mouth => {
                    let poly: Vec<[f32; 2]> = INNER_LIPS
                        .iter()
                        .map(|&i| [target.points[i][0], target.points[i][1]])
                        .collect();
                    fill_ring(&poly, w, h, |y, x0, x1| {
                        self.mouth.shade_span(&mouth_frame, y, x0, x1, out, w);
                        self.lip_seam_span(&tex, &mouth_frame, y, x0, x1, out, w);
                        covered[y * w + x0..=y * w + x1].fill(true);
                        stats.mouth_pixels += x1 + 1 - x0;
                    });
                }
            }
        }
        // The tongue comes out between the lips, over the lower lip.
        if target.tongue_out > 0.0 {
            stats.tongue_pixels =
                self.mouth
                    .draw_tongue(&mouth_frame, target.tongue_out, out, w, h);
        }
        // Closing lids: lid skin over the eye, not a smear of lashes.
        for (side, eye) in self.eyes.iter().enumerate() {
            eye.draw_closing_lid(
                &tex,
                &to_source[side],
                &target.points,
                side,
                eye::shown(&target.points, side),
                out,
                w,
                h,
            );
            eye.smooth_opening_edges(&to_source[side], &target.points, side, out, w, h);
        }
        stats.skin_pixels = drawn.get();
        stats.mirrored_pixels = mirrored.get();
        // Anything left (only where the mesh folds over itself) shows the portrait.
        // (Looked for 64 pixels at a time, with no early exit inside a chunk, so the scan vectorises: a
        // sound mesh leaves no gap, and the pixel-at-a-time search cost more than the mouth layer.)
        let gap = covered
            .chunks(64)
            .position(|chunk| !chunk.iter().fold(true, |all, &c| all & c));
        if let Some(first) = gap.map(|k| k * 64) {
            for (i, c) in covered.iter().enumerate().skip(first) {
                if !c {
                    stats.uncovered += 1;
                    out[i * 4..i * 4 + 4].copy_from_slice(&portrait.rgba[i * 4..i * 4 + 4]);
                }
            }
        }
        // A still background: the warped person over it, by the person's matte (its alpha).
        if let Some((_, plate)) = rigged.still_layers() {
            over_plate(out, &plate.rgba);
        }
        stats
    }
}

/// Below this opening between the lips (in mouth widths) the sliver between them is the portrait's own
/// lip line ([`WarpHead::lip_seam_span`]); above [`LIP_SEAM_OPEN`] it is the mouth interior. The same
/// sliver beyond a reference mouth's own opening stretches the reference (`MouthLayer::shade_span`).
pub(super) const LIP_SEAM_CLOSED: f32 = 0.02;
/// See [`LIP_SEAM_CLOSED`].
pub(super) const LIP_SEAM_OPEN: f32 = 0.07;

/// Rasterises a ring polygon (an eye's opening, the inner lips) exactly: its own area, each pixel once
/// ([`triangulate`]). A fan around the centroid also covered what lies between the centroid and a ring
/// that bends inward: a closing upper lid sagging towards the lower one drew eyeball over the lid skin
/// above it (flat patches of sclera and iris above the lash line on Mona Lisa's lowered lids).
fn fill_ring(poly: &[[f32; 2]], w: usize, h: usize, mut span: impl FnMut(usize, usize, usize)) {
    for t in triangulate(poly) {
        rasterize(t, w, h, &mut span);
    }
}

/// Triangles of a ring polygon, by ear clipping, on its own vertices (so its edges are the skin
/// triangles' edges and the rasteriser's exact shared edges leave no seam). Either winding. What is
/// left where no ear can be cut (a ring that crosses itself, as lids pressed past each other) is fanned
/// around its centroid, as before: it covers the ring at least, and a few pixels more.
fn triangulate(poly: &[[f32; 2]]) -> Vec<[[f32; 2]; 3]> {
    let n = poly.len();
    let mut tris = Vec::with_capacity(n.saturating_sub(2));
    if n < 3 || poly.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
        return tris;
    }
    let area2: f64 = (0..n)
        .map(|k| {
            let (a, b) = (poly[k], poly[(k + 1) % n]);
            a[0] as f64 * b[1] as f64 - b[0] as f64 * a[1] as f64
        })
        .sum();
    let sign = if area2 < 0.0 { -1.0 } else { 1.0 };
    let cross = |a: usize, b: usize, c: usize| {
        let (a, b, c) = (poly[a], poly[b], poly[c]);
        sign * ((b[0] - a[0]) as f64 * (c[1] - a[1]) as f64
            - (b[1] - a[1]) as f64 * (c[0] - a[0]) as f64)
    };
    let mut ring: Vec<usize> = (0..n).collect();
    while ring.len() > 3 {
        let m = ring.len();
        let ear = (0..m).find(|&k| {
            let (a, b, c) = (ring[(k + m - 1) % m], ring[k], ring[(k + 1) % m]);
            // Convex (a collinear or zero-length corner is an ear of no area: cut it too), and no other
            // vertex of the ring inside or on the triangle.
            cross(a, b, c) >= 0.0
                && ring.iter().all(|&o| {
                    // (The ear's own corners, and any vertex at one of their places.)
                    [a, b, c].iter().any(|&v| poly[o] == poly[v])
                        || !(cross(a, b, o) >= 0.0
                            && cross(b, c, o) >= 0.0
                            && cross(c, a, o) >= 0.0)
                })
        });
        let Some(k) = ear else {
            // No ear: a ring that crosses itself. Fan the rest around its centroid.
            let c = m as f32;
            let centre = ring.iter().fold([0.0f32; 2], |s, &i| {
                [s[0] + poly[i][0] / c, s[1] + poly[i][1] / c]
            });
            for k in 0..m {
                tris.push([centre, poly[ring[k]], poly[ring[(k + 1) % m]]]);
            }
            return tris;
        };
        tris.push([ring[(k + m - 1) % m], ring[k], ring[(k + 1) % m]].map(|i| poly[i]));
        ring.remove(k);
    }
    tris.push([ring[0], ring[1], ring[2]].map(|i| poly[i]));
    tris
}

/// The default renderer: a piecewise-affine warp of the portrait along the face mesh, with eye and mouth
/// layers. It needs a rig: the rig stage rigs the head's portraits and retargets each face onto them; the
/// warp's mesh and layers are made once per rigged portrait set and kept in it.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeshWarpRenderer;

impl MeshWarpRenderer {
    /// The mesh warp.
    pub fn new() -> Self {
        Self
    }
}

impl HeadRenderer for MeshWarpRenderer {
    fn name(&self) -> &str {
        "mesh_warp"
    }

    fn needs_rig(&self) -> bool {
        true
    }

    fn render(&self, request: &RenderRequest<'_>, target: &mut RenderTarget<'_>) -> Result<()> {
        let (Some(rigged), Some(face)) = (request.rig, request.target) else {
            return Err(Error::Render {
                renderer: "mesh_warp".into(),
                message: "the request carries no rig".into(),
            });
        };
        let p = rigged.portrait();
        if (p.width, p.height) != (target.width, target.height) {
            return Err(Error::Render {
                renderer: "mesh_warp".into(),
                message: format!(
                    "portrait is {}x{} but the target {}x{}",
                    p.width, p.height, target.width, target.height
                ),
            });
        }
        // One warp per rigged portrait set, whichever renderer instance draws it.
        let warp = rigged.prepared(0, |r| Ok(WarpHead::new(r)))?;
        warp.draw(rigged, face, target.rgba);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::inside;

    /// Pixels `fill_ring` draws, each counted as often as drawn.
    fn drawn(poly: &[[f32; 2]]) -> Vec<u32> {
        let mut n = vec![0u32; 64 * 64];
        fill_ring(poly, 64, 64, |y, x0, x1| {
            for x in x0..=x1 {
                n[y * 64 + x] += 1;
            }
        });
        n
    }

    #[test]
    fn a_ring_that_bends_inward_is_filled_exactly_once() {
        // An eye whose upper lid sags into a U towards the lower one: its centroid lies above the U, and
        // a fan around it drew the band between them (eyeball over the lid's skin).
        let mut ring: Vec<[f32; 2]> = (0..=8)
            .map(|k| {
                let t = k as f32 / 8.0;
                [
                    8.0 + 48.0 * t,
                    30.0 + 20.0 * (std::f32::consts::PI * t).sin(),
                ]
            })
            .collect();
        ring.extend((1..8).rev().map(|k| {
            let t = k as f32 / 8.0;
            [
                8.0 + 48.0 * t,
                30.0 + 14.0 * (std::f32::consts::PI * t).sin(),
            ]
        }));
        let n = drawn(&ring);
        let mut expected = 0;
        for y in 0..64 {
            for x in 0..64 {
                let centre = [x as f32 + 0.5, y as f32 + 0.5];
                let want = inside(&ring, centre) as u32;
                expected += want;
                assert_eq!(n[y * 64 + x], want, "pixel ({x}, {y})");
            }
        }
        assert!(expected > 150, "{expected} pixels inside");
    }

    #[test]
    fn a_ring_that_crosses_itself_is_still_covered() {
        // Lids pressed past each other: no ear to cut; what is left is fanned, covering the ring.
        let ring = [[10.0, 10.0], [50.0, 40.0], [50.0, 10.0], [10.0, 40.0]];
        let n = drawn(&ring);
        for y in 0..64 {
            for x in 0..64 {
                if inside(&ring, [x as f32 + 0.5, y as f32 + 0.5]) {
                    assert!(n[y * 64 + x] > 0, "pixel ({x}, {y}) left out");
                }
            }
        }
        // Degenerate rings (a closed eye whose lids coincide, fewer than three points) draw nothing.
        assert_eq!(
            drawn(&[[5.0, 5.0], [20.0, 5.0], [5.0, 5.0], [20.0, 5.0]])
                .iter()
                .sum::<u32>(),
            0
        );
        assert_eq!(drawn(&[[5.0, 5.0], [20.0, 5.0]]).iter().sum::<u32>(), 0);
    }
}
