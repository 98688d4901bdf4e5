//! The rig stage: a [`FaceFrame`] retargeted onto one head's portrait.
//!
//! Today this carries the face through unchanged; the portrait rig (landmarks, regions, mesh) and the
//! retargeting that moves its points arrive with the tracking and mesh-warp renderer work, in this stage.

mod portrait;
pub mod topology;

pub use portrait::{PortraitRig, RIG_VERSION, RigSource, sidecar_path};

use bevy::ecs::component::Component;
use bevy::ecs::query::Changed;
use bevy::ecs::system::Query;

use crate::face::FaceFrame;

/// The face as the renderer of one head should draw it. Written by the [`Rig`](crate::TalkingHeadSystems::Rig)
/// set whenever the head's [`FaceFrame`] changes; renderers read it.
#[derive(Component, Clone, Debug, Default, PartialEq)]
pub struct RiggedFace {
    /// The driving face, sanitised (weights in `0..=1`, no NaN).
    pub face: FaceFrame,
    /// Target landmark positions on the portrait, in output pixels, once the head has a portrait rig.
    pub landmarks: Option<Vec<[f32; 2]>>,
}

/// Copies changed faces into [`RiggedFace`].
pub(crate) fn rig_faces(mut heads: Query<(&FaceFrame, &mut RiggedFace), Changed<FaceFrame>>) {
    for (face, mut rigged) in &mut heads {
        let mut face = *face;
        face.sanitize();
        rigged.face = face;
    }
}
