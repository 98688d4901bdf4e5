//! The rig stage: portraits rigged once, and every [`FaceFrame`](crate::face::FaceFrame) retargeted onto
//! its head's portrait.
//!
//! - [`PortraitRig`]: where a portrait's face is (468 landmarks, irises), from the head
//!   ([`TalkingHead::with_rigs`](crate::head::TalkingHead::with_rigs)), the portrait's
//!   `<file>.rig.json` sidecar, or the face tracker (which then writes the sidecar).
//! - [`ExpressionRig`]: what each ARKit expression does to a face.
//! - [`Matte`]: a portrait's person cut out of its background ([`Segmenter`], `<file>.matte.png`), for
//!   heads drawn with alpha ([`TalkingHead::with_cutout`](crate::head::TalkingHead::with_cutout)).
//! - [`PortraitRigger`]: makes [`RiggedPortraits`] (a head's portraits, their rigs and the
//!   [`Retargeter`]) and keeps one cache of them by portrait identity, freed with the last head.
//! - The stage's systems ([`TalkingHeadSystems::Rig`](crate::schedule::TalkingHeadSystems::Rig)) rig
//!   the portraits of heads that ask ([`HeadRig`]) on threads of their own, and retarget each changed face
//!   ([`RiggedFace`]). Renderers receive the rigged portraits and the retargeted face, and only draw.

mod brows;
pub mod editor;
mod expressions;
mod fit;
mod head_motion;
mod lid_band;
mod matte;
mod portrait;
mod retarget;
mod rigged;
mod rigger;
mod stage;
pub mod topology;
mod untangle;

pub use brows::{DRAWN_BROWS, FAINT_BROW_GAIN, FAINT_BROWS, brow_gain, brow_visibility};
pub use editor::{MAX_UNDO, RigEditor};
pub use expressions::{
    BLINK_MEET, EXPRESSION_RIG_VERSION, ExpressionRig, PLAYER_PUCKER_GAIN, SHAPE_GAINS, Shape,
};
pub use fit::{
    EYE_ELSEWHERE, EYE_SEARCH, EYE_SNAP, FitReport, LIP_LINE_TOLERANCE, LIPS_HIGH, LIPS_LOW,
    MIN_CHECKED_EYE, MIN_CHECKED_MOUTH, RIM_MIN_MOVE, RIM_SEARCH, check_fit, refine_fit,
};
pub use head_motion::{HEAD_PIVOT, HeadMotion, MAX_BODY_SHIFT, MAX_SHIFT};
pub use lid_band::MAX_BROW_DESCENT;
pub use matte::{Matte, MatteReport, Segmenter, matte_path};
pub use portrait::{PortraitRig, RIG_VERSION, RigSource, sidecar_path};
pub use retarget::{
    BROW_CARRY, IRIS_TRAVEL, LOOK_DOWN_LID, LOOK_UP_LID, MAX_JAW_OPENING, RELATIVE_CHANNELS,
    RELATIVE_FLOOR, RELATIVE_MAX, RetargetedFace, Retargeter,
};
pub use rigged::RiggedPortraits;
pub use rigger::{PortraitRigger, RigRequest, TrackerSource};
pub use stage::{HeadRig, RiggedFace, Rigger};
pub(crate) use stage::{RigThreads, retarget_faces, rig_portraits};
