//! The neutral type that flows between stages: [`FaceFrame`], and the expression vocabulary.

mod channel;
mod expression;
mod motion;

pub use channel::{Channel, FaceMask, UnknownChannel};
pub use expression::{Expression, ExpressionWeights, UnknownExpression};
pub use motion::{LandmarkMotion, MOTION_POINTS, RigidMotion};

use bevy::ecs::component::Component;
use serde::{Deserialize, Serialize};

/// Head rotation, translation and scale, relative to the neutral head looking into the camera.
///
/// Angles are radians. Yaw turns the head to its own left (positive) or right; pitch nods it up (positive)
/// or down; roll tilts it towards its left shoulder (positive). Translation is in units of the face's width,
/// x right and y up as seen by the viewer; scale is 1 for the neutral distance.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeadPose {
    /// Turn left (+) or right (-), radians.
    pub yaw: f32,
    /// Nod up (+) or down (-), radians.
    pub pitch: f32,
    /// Tilt, radians.
    pub roll: f32,
    /// Offset from the neutral position, in face widths: `[x, y, z]`.
    pub translation: [f32; 3],
    /// Size relative to neutral.
    pub scale: f32,
}

impl Default for HeadPose {
    fn default() -> Self {
        Self {
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            translation: [0.0; 3],
            scale: 1.0,
        }
    }
}

/// Where each eye looks: yaw (+ towards the head's left) and pitch (+ up), radians.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gaze {
    /// Left eye `[yaw, pitch]`.
    pub left: [f32; 2],
    /// Right eye `[yaw, pitch]`.
    pub right: [f32; 2],
}

/// One moment of a face: head pose, the 52 ARKit expression weights, gaze and the time it was captured.
///
/// Every driver (webcam tracking, clips, idle life, lip sync, the network) writes this component on a
/// [`TalkingHead`](crate::TalkingHead) entity; renderers read it. Nothing downstream knows which driver
/// wrote it.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaceFrame {
    /// Seconds on the source's clock (capture time for a camera, clip time for a clip).
    pub time: f64,
    /// Head rotation, translation and scale.
    pub head: HeadPose,
    /// ARKit blendshape weights in `0..=1`.
    pub expressions: ExpressionWeights,
    /// Eye direction.
    pub gaze: Gaze,
}

impl FaceFrame {
    /// A neutral face at time 0.
    pub fn neutral() -> Self {
        Self::default()
    }

    /// Builder: sets one expression weight (clamped to `0..=1`).
    pub fn with_expression(mut self, expression: Expression, weight: f32) -> Self {
        self.expressions.set(expression, weight);
        self
    }

    /// Makes the frame safe to render: weights clamped to `0..=1`, non-finite numbers replaced by neutral
    /// values. Returns `true` if anything had to change.
    pub fn sanitize(&mut self) -> bool {
        let before = *self;
        self.expressions.sanitize();
        let neutral = HeadPose::default();
        let fix = |v: &mut f32, n: f32| {
            if !v.is_finite() {
                *v = n;
            }
        };
        fix(&mut self.head.yaw, neutral.yaw);
        fix(&mut self.head.pitch, neutral.pitch);
        fix(&mut self.head.roll, neutral.roll);
        fix(&mut self.head.scale, neutral.scale);
        for t in &mut self.head.translation {
            fix(t, 0.0);
        }
        for g in self.gaze.left.iter_mut().chain(self.gaze.right.iter_mut()) {
            fix(g, 0.0);
        }
        if !self.time.is_finite() {
            self.time = 0.0;
        }
        // NaN != NaN, so compare bit patterns.
        !bitwise_eq(&before, self)
    }
}

fn bitwise_eq(a: &FaceFrame, b: &FaceFrame) -> bool {
    // Every number's bits, without allocating (network decoders call `sanitize` on each packet).
    let floats = |f: &FaceFrame| {
        let h = f.head;
        f.expressions
            .0
            .into_iter()
            .chain([h.yaw, h.pitch, h.roll, h.scale])
            .chain(h.translation)
            .chain(f.gaze.left)
            .chain(f.gaze.right)
            .map(f32::to_bits)
    };
    a.time.to_bits() == b.time.to_bits() && floats(a).eq(floats(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn face_frame_round_trips_through_json() {
        let mut f = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.25);
        f.head.yaw = 0.1;
        f.gaze.left = [0.2, -0.1];
        f.time = 1.5;
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.contains(r#""jawOpen":0.25"#), "{json}");
        let back: FaceFrame = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        // Missing fields take neutral values.
        let partial: FaceFrame =
            serde_json::from_str(r#"{"expressions":{"eyeBlinkLeft":1.0}}"#).unwrap();
        assert_eq!(partial.head.scale, 1.0);
        assert_eq!(partial.expressions.get(Expression::EyeBlinkLeft), 1.0);
    }

    #[test]
    fn sanitize_replaces_non_finite_values() {
        let mut f = FaceFrame::neutral();
        assert!(!f.sanitize());
        f.head.yaw = f32::NAN;
        f.head.scale = f32::INFINITY;
        f.expressions.0[3] = 7.0;
        assert!(f.sanitize());
        assert_eq!(f.head.yaw, 0.0);
        assert_eq!(f.head.scale, 1.0);
        assert_eq!(f.expressions.0[3], 1.0);
    }
}
