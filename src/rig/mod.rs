//! The rig stage: a [`FaceFrame`] retargeted onto one head's portrait.
//!
//! The [`PortraitRig`] says where a portrait's face is; the [`ExpressionRig`] says what each ARKit
//! expression does to a face; the [`Retargeter`] puts the two together for each frame.

pub mod editor;
mod expressions;
mod portrait;
mod retarget;
pub mod topology;

pub use editor::RigEditor;
pub use expressions::{EXPRESSION_RIG_VERSION, ExpressionRig, Shape};
pub use portrait::{PortraitRig, RIG_VERSION, RigSource, sidecar_path};
pub use retarget::{HEAD_PIVOT, HeadMotion, RetargetedFace, Retargeter};

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
    /// Target landmark positions on the portrait, in output pixels, for renderers that want them
    /// precomputed. The Rig set leaves it `None`: the mesh warp retargets on its worker thread
    /// ([`Retargeter`]), which keeps the main thread's cost per head flat.
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
