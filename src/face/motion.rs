//! [`LandmarkMotion`]: a driver's own landmark motion, for landmark-faithful driving.

use std::sync::Arc;

use bevy::ecs::component::Component;

/// How many mesh points a [`LandmarkMotion`] carries (Face Mesh's 468; the irises travel as gaze).
pub const MOTION_POINTS: usize = 468;

/// A driver's own face motion: its 468 mesh points in the canonical face frame (head pose removed, units
/// of the outer eye-corner distance), now and in its neutral face.
///
/// [`FaceFrame`](crate::FaceFrame) carries a face as 52 ARKit weights, which every driver, the network
/// codec and the neural renderer understand. A tracked driver also knows exactly where its lips, lids
/// and brows went; retargeting this motion ([`Retargeter::retarget_motion`](crate::rig::Retargeter))
/// moves the portrait the way the driver moved, scaled to the portrait's proportions (the relative-motion
/// transfer of FOMM and LivePortrait), instead of through expression shapes. Local live tracking writes
/// it when asked ([`LiveFace::with_driving`](crate::drive::LiveFace::with_driving)); it stays on this
/// machine (the network carries the weights).
///
/// As a component on a [`TalkingHead`](crate::TalkingHead) it replaces the expression shapes for as long
/// as its `weight` is above 0; head pose, gaze and `tongueOut` still come from the [`FaceFrame`](crate::FaceFrame).
#[derive(Component, Clone, Debug, PartialEq)]
pub struct LandmarkMotion {
    /// The driver's neutral face (shared between frames).
    pub neutral: Arc<Vec<[f32; 3]>>,
    /// The driver's face now.
    pub current: Vec<[f32; 3]>,
    /// How much of the motion shows, `0..=1` (live tracking fades it in and out with the face).
    pub weight: f32,
    /// The head's own rigid motion from the neutral face, measured on the same landmarks (more exact
    /// than [`HeadPose`](crate::HeadPose)'s angles; used at full weight). `None`: the
    /// [`FaceFrame`](crate::FaceFrame)'s head pose moves the head.
    pub rigid: Option<RigidMotion>,
}

/// A head's rigid motion from its neutral pose, in the camera's frame (x right, y down, z away): a
/// point `p` of the neutral face (relative to the point between the eyes, in eye-corner distances) goes
/// to `scale * rotation * p + shift`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RigidMotion {
    /// Row-major rotation.
    pub rotation: [[f32; 3]; 3],
    /// Size relative to the neutral face.
    pub scale: f32,
    /// Where the point between the eyes moved, in the neutral face's eye-corner distances.
    pub shift: [f32; 3],
}

impl RigidMotion {
    /// Whether every number is finite and the scale positive.
    pub fn is_finite(&self) -> bool {
        self.rotation.iter().flatten().all(|v| v.is_finite())
            && self.shift.iter().all(|v| v.is_finite())
            && self.scale.is_finite()
            && self.scale > 0.0
    }
}

impl LandmarkMotion {
    /// Motion from `neutral` to `current` (each [`MOTION_POINTS`] canonical points), at full weight.
    pub fn new(neutral: Arc<Vec<[f32; 3]>>, current: Vec<[f32; 3]>) -> Self {
        Self {
            neutral,
            current,
            weight: 1.0,
            rigid: None,
        }
    }

    /// Whether retargeting can use it: both faces have [`MOTION_POINTS`] finite points and the weight is
    /// above 0 (a motion that is not usable is ignored: the expression shapes drive the head).
    pub fn is_usable(&self) -> bool {
        let finite = |v: &[[f32; 3]]| {
            v.len() == MOTION_POINTS && v.iter().all(|p| p.iter().all(|c| c.is_finite()))
        };
        self.weight.is_finite()
            && self.weight > 0.0
            && self.rigid.is_none_or(|r| r.is_finite())
            && finite(&self.neutral)
            && finite(&self.current)
    }
}
