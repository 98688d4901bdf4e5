//! The head's rigid motion for one frame: turn, shift and scale, about a pivot inside the head, with the
//! shift shared between the neck and the whole person.

use crate::face::{FaceFrame, RigidMotion};
use crate::tracking::{PoseFit, rotation_from_angles};

pub use crate::tracking::HEAD_PIVOT;
/// The most of a head translation the neck takes, in face widths ([`HeadPose::translation`](crate::HeadPose)):
/// a small move is the head's over its shoulders; the rest of a larger one moves the whole person with
/// the head (the neck's share is `MAX_SHIFT * tanh(shift / MAX_SHIFT)`), so a player who leans moves the
/// picture's body too instead of tearing its neck and dragging its hair.
pub const MAX_SHIFT: f32 = 0.2;
/// The largest head translation rendered, in face widths: beyond the neck's share the whole picture
/// moves with the head (its border stays: the strip along it stretches or squeezes).
pub const MAX_BODY_SHIFT: f32 = 0.85;
/// The largest head scale rendered (and its inverse the smallest).
pub const MAX_SCALE: f32 = 1.2;

fn clamp_finite(v: f32, limit: f32) -> f32 {
    if v.is_finite() {
        v.clamp(-limit, limit)
    } else {
        0.0
    }
}

/// Depth beyond which points turn with the head as if they were at this depth.
const DEPTH_CAP: f32 = 0.05;
/// Face width in canonical units (cheek to cheek), the unit of [`HeadPose::translation`](crate::HeadPose).
pub(super) const FACE_WIDTH: f32 = 1.5;

/// The head's rigid motion for one frame, able to move any point of the portrait (the renderer moves its
/// anchors around the face with it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadMotion {
    pose: PoseFit,
    rotation: [[f32; 3]; 3],
    scale: f32,
    shift: [f32; 3],
    /// The part of `shift` beyond [`MAX_SHIFT`]: the whole picture moves by it.
    body: [f32; 3],
    pivot: [f32; 3],
}

/// `shift` (canonical units) held to [`MAX_BODY_SHIFT`]: `(shift, body)`, `body` the part the neck
/// does not take (see [`MAX_SHIFT`]).
fn split_shift(shift: [f32; 2]) -> ([f32; 3], [f32; 3]) {
    let neck = MAX_SHIFT * FACE_WIDTH;
    let all = MAX_BODY_SHIFT * FACE_WIDTH;
    let s = shift.map(|v| clamp_finite(v, all));
    let b = s.map(|v| v - neck * (v / neck).tanh());
    ([s[0], s[1], 0.0], [b[0], b[1], 0.0])
}

impl HeadMotion {
    /// A driver's measured rigid motion ([`RigidMotion`], in the camera's frame) on the portrait posed
    /// `pose`: turned about the point between the eyes, where the motion was measured, within the same
    /// limits as a [`HeadPose`](crate::HeadPose).
    pub(super) fn rigid(pose: PoseFit, rigid: &RigidMotion) -> Self {
        // Into the portrait's canonical frame: Rp^T R Rp, and the shift by Rp^T.
        let r = &pose.rotation;
        let conj: [[f32; 3]; 3] = std::array::from_fn(|i| {
            std::array::from_fn(|j| {
                (0..3)
                    .map(|k| {
                        (0..3)
                            .map(|l| r[k][i] * rigid.rotation[k][l] * r[l][j])
                            .sum::<f32>()
                    })
                    .sum()
            })
        });
        let shift: [f32; 2] =
            std::array::from_fn(|i| (0..3).map(|k| r[k][i] * rigid.shift[k]).sum());
        let (shift, body) = split_shift(shift);
        Self {
            pose,
            rotation: conj,
            scale: rigid.scale.clamp(1.0 / MAX_SCALE, MAX_SCALE),
            shift,
            body,
            pivot: [0.0; 3],
        }
    }

    pub(super) fn new(pose: PoseFit, face: &FaceFrame) -> Self {
        let h = face.head;
        let (shift, body) = split_shift([
            h.translation[0] * FACE_WIDTH,
            -h.translation[1] * FACE_WIDTH,
        ]);
        Self {
            pivot: HEAD_PIVOT,
            pose,
            rotation: rotation_from_angles(h.yaw, h.pitch, h.roll),
            // A portrait's head moves over its shoulders a little (or the neck tears), and further
            // with the whole picture; larger moves are for the sprite or node that shows the head.
            scale: if h.scale.is_finite() && h.scale > 0.0 {
                h.scale.clamp(1.0 / MAX_SCALE, MAX_SCALE)
            } else {
                1.0
            },
            shift,
            body,
        }
    }

    /// How far the whole picture moves with the head (portrait pixels): the head's shift beyond
    /// [`MAX_SHIFT`]. The renderer moves everything but the picture's border by it.
    pub fn body_shift(&self) -> [f32; 2] {
        let p = &self.pose;
        std::array::from_fn(|k| {
            p.scale * (0..3).map(|j| p.rotation[k][j] * self.body[j]).sum::<f32>()
        })
    }

    /// A canonical point, moved by the head, in portrait pixels (`[x, y, depth]`).
    pub fn canonical_to_image(&self, c: [f32; 3]) -> [f32; 3] {
        // The outline of the face (ears, jaw corners) turns as if it were as near as the cheeks: a 2D warp
        // cannot show the far side of the head, and letting the outline lag behind the face folds the mesh.
        self.turned_as_at(c, c[2].min(DEPTH_CAP))
    }

    /// A point of the portrait (pixels, with depth on the landmarks' scale), moved by the head as a
    /// point at canonical depth `depth` beside it would be (the motion's displacement at that depth,
    /// not capped): the renderer moves the hair and ears around the face as if they lay behind it.
    pub fn move_point_as_at(&self, p: [f32; 3], depth: f32) -> [f32; 3] {
        self.turned_as_at(self.pose.to_canonical(p), depth)
    }

    /// Canonical point `c` moved by the displacement its twin at depth `z` takes, in portrait pixels.
    fn turned_as_at(&self, c: [f32; 3], z: f32) -> [f32; 3] {
        let d = [
            c[0] - self.pivot[0],
            c[1] - self.pivot[1],
            z - self.pivot[2],
        ];
        let r = &self.rotation;
        // The point moves as its twin at depth `z` does.
        let moved: [f32; 3] = std::array::from_fn(|k| {
            c[k] + self.scale * (r[k][0] * d[0] + r[k][1] * d[1] + r[k][2] * d[2]) - d[k]
                + self.shift[k]
        });
        let p = &self.pose;
        std::array::from_fn(|k| {
            p.scale
                * (p.rotation[k][0] * moved[0]
                    + p.rotation[k][1] * moved[1]
                    + p.rotation[k][2] * moved[2])
                + p.translation[k]
        })
    }

    /// A point of the portrait (pixels, with depth on the landmarks' scale), moved by the head.
    pub fn move_point(&self, p: [f32; 3]) -> [f32; 3] {
        self.canonical_to_image(self.pose.to_canonical(p))
    }

    /// Whether the head is where the portrait has it.
    pub fn is_identity(&self) -> bool {
        self.rotation == rotation_from_angles(0.0, 0.0, 0.0)
            && self.scale == 1.0
            && self.shift == [0.0; 3]
    }
}
