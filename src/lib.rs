//! # bevy_talking_head
//!
//! Animate a talking head from one portrait (a photo, a painting, concept art) inside a Bevy game.
//!
//! A [`TalkingHead`] component owns a texture. Every frame, the head's [`FaceFrame`] (head pose, the 52
//! ARKit expression weights, gaze) takes one path through the stages of [`TalkingHeadSystems`]:
//!
//! 1. **drivers** ([`drive`], [`net`]) write layers, which **compose** blends into the `FaceFrame`;
//! 2. the **rig** stage ([`rig`]) rigs the head's portraits once (given rig, sidecar, or the face tracker,
//!    on rig threads; cached and shared by every head on those portraits) and retargets each changed face onto
//!    them ([`rig::RiggedFace`]);
//! 3. **dispatch** sends one job per changed head to a pool of worker threads, where a [`HeadRenderer`]
//!    draws it (through ONNX Runtime for model-based renderers);
//! 4. **apply** writes the finished frame into the texture in place.
//!
//! The default renderer, [`MeshWarpRenderer`](render::MeshWarpRenderer), needs no trained weights: it warps
//! the portrait's own pixels along the face mesh, with the eyes and the mouth interior drawn as layers. The
//! neural path of Zakharov et al. 2019 ([`neural`]) draws the face with a few-shot generator trained by the
//! code in `models/training` ([`HeadRendererKind::Neural`]). The main thread never waits for a renderer; a
//! head whose portrait, rig, model or renderer fails keeps showing its still portrait and reports a
//! [`TalkingHeadError`].
//!
//! What moves a head: write its `FaceFrame` yourself, or add drivers ([`drive`], all added by
//! [`TalkingHeadPlugins`]; [`TalkingHeadPlugin`] alone is the core without them): [`IdleLife`](drive::IdleLife)
//! (blinks, glances, breathing), [`LiveFace`](drive::LiveFace) (a webcam or a video, tracked on its own
//! threads), [`FaceClipPlayer`](drive::FaceClipPlayer) (`*.face.ron` keyframe clips),
//! [`LipSync`](drive::LipSync) (speech audio or viseme tracks). Each writes a layer; the layers are blended
//! by priority, weight and [`FaceMask`] into the `FaceFrame`.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_talking_head::prelude::*;
//!
//! fn main() {
//!     App::new()
//!         .add_plugins((DefaultPlugins, TalkingHeadPlugins))
//!         .add_systems(Startup, spawn)
//!         .add_systems(Update, talk)
//!         .run();
//! }
//!
//! fn spawn(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
//!     commands.spawn(Camera2d);
//!     let output = images.add(Image::default());
//!     commands.spawn((
//!         TalkingHead::new(assets.load("portraits/astronaut.png")).with_output(output.clone()),
//!         Sprite::from_image(output),
//!     ));
//! }
//!
//! fn talk(time: Res<Time>, mut faces: Query<&mut FaceFrame>) {
//!     for mut face in &mut faces {
//!         let t = time.elapsed_secs();
//!         face.expressions.set(Expression::JawOpen, (t * 3.0).sin() * 0.3 + 0.3);
//!         face.expressions.set(Expression::EyeBlinkLeft, if t % 4.0 < 0.15 { 1.0 } else { 0.0 });
//!         face.expressions.set(Expression::EyeBlinkRight, if t % 4.0 < 0.15 { 1.0 } else { 0.0 });
//!         face.head.yaw = (t * 0.5).sin() * 0.2;
//!     }
//! }
//! ```
//!
//! ONNX Runtime is loaded at run time (`ort`'s `load-dynamic`): from `ORT_DYLIB_PATH`, or from
//! `models/onnxruntime/` where `make setup` puts it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod capture;
pub mod codec;
pub mod drive;
mod error;
#[cfg(feature = "test-utils")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-utils")))]
pub mod eval;
pub mod face;
mod files;
mod head;
pub mod interop;
mod math;
pub mod net;
pub mod neural;
pub mod onnx;
mod plugin;
mod portrait;
pub mod render;
mod renderer;
mod report;
pub mod rig;
mod schedule;
#[cfg(feature = "test-utils")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-utils")))]
pub mod testing;
mod threads;
pub mod tracking;
#[cfg(feature = "egui")]
#[cfg_attr(docsrs, doc(cfg(feature = "egui")))]
pub mod ui;

pub use error::{Error, Result, TalkingHeadError};
pub use face::{Channel, Expression, ExpressionWeights, FaceFrame, FaceMask, Gaze, HeadPose};
pub use head::{HeadRendererKind, NeuralModels, TalkingHead};
pub use plugin::{TalkingHeadPlugin, TalkingHeadPlugins};
pub use render::{HeadStats, TalkingHeadStats};
pub use renderer::{HeadRenderer, RenderRequest, RenderTarget};
pub use report::HeadErrors;
pub use schedule::TalkingHeadSystems;

/// Everything a game usually needs: `use bevy_talking_head::prelude::*;`.
pub mod prelude {
    pub use crate::capture::CameraRequest;
    pub use crate::drive::{
        FaceClip, FaceClipEvent, FaceClipPlayer, FaceLayers, FaceRecorder, IdleLife, IdleSettings,
        LipSync, LiveDriving, LiveFace, LiveSource, PlayMode, SpeechAudio, VisemeTrack,
    };
    pub use crate::error::TalkingHeadError;
    pub use crate::face::{
        Channel, Expression, ExpressionWeights, FaceFrame, FaceMask, Gaze, HeadPose, LandmarkMotion,
    };
    pub use crate::head::{HeadRendererKind, TalkingHead};
    pub use crate::net::{FaceSender, RemoteFace};
    pub use crate::onnx::OnnxModelAsset;
    pub use crate::plugin::{TalkingHeadPlugin, TalkingHeadPlugins};
    pub use crate::render::{HeadStats, MeshWarpRenderer, TalkingHeadStats};
    pub use crate::renderer::HeadRenderer;
    pub use crate::rig::{ExpressionRig, PortraitRig};
    pub use crate::schedule::TalkingHeadSystems;
}

/// The README's Rust examples, compiled (and run, where not `no_run`) as doc tests so that the quick
/// start cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
