//! Drivers: what moves a head. Each is its own plugin writing a [`FaceLayer`] into the head's
//! [`FaceLayers`]; the layers are blended into the head's [`FaceFrame`](crate::FaceFrame) in
//! [`TalkingHeadSystems::Compose`], lowest priority first:
//!
//! | priority | driver | component | moves by default |
//! |---|---|---|---|
//! | [`IDLE`](Priority::IDLE) | idle life | [`IdleLife`] | blinks, gaze, head |
//! | [`TRACKING`](Priority::TRACKING) | webcam / video tracking | [`LiveFace`] | everything |
//! | [`CLIP`](Priority::CLIP)` + i` | face clips | [`FaceClipPlayer`] | what the clip keys |
//! | [`LIP_SYNC`](Priority::LIP_SYNC) | lip sync | [`LipSync`] | the mouth |
//! | [`OVERRIDE`](Priority::OVERRIDE) | your code | [`FaceLayers::set_override`] | what you say |
//!
//! Every layer has a weight per channel (a layer weight times a [`FaceMask`](crate::FaceMask)), so a talk clip can own the
//! mouth while tracking owns the head, and an expression hotkey can blend half-way over the webcam.
//! [`FaceRecorder`] records whatever the blend produced into a [`FaceClip`].

mod clip;
mod idle;
mod layers;
mod lipsync;
pub mod livelink;
pub use livelink::LiveLinkImport;
mod live;
#[cfg(feature = "test-utils")]
#[doc(hidden)]
pub use live::PANIC_IN_TRACKING;
mod record;

pub use clip::player::{ClipLayer, FaceClipEvent, FaceClipPlayer};
pub use clip::{ClipEvent, FaceClip, FaceClipLoader, Interpolation, Keyframe, PlayMode, Track};
pub use idle::{
    BlinkSettings, BreathingSettings, DriftSettings, IdleGenerator, IdleLife, IdleSettings,
    SaccadeSettings,
};
pub use layers::{Blend, FaceLayer, FaceLayers, LayerId, Priority};
pub use lipsync::{
    AudioLipSync, DEFAULT_LOOKAHEAD, DEFAULT_PCM_QUEUE, LipSync, LipSyncFrame, LipSyncSettings,
    MAX_SAMPLE_RATE, MFCC_COEFFS, Mfcc, MfccVector, PcmSender, SpeechAudio, SpeechAudioLoader,
    Viseme, VisemeKey, VisemeTrack, Vowel, VowelCalibration, VowelProfiles, VowelProfilesLoader,
};
#[cfg(feature = "mic")]
pub use lipsync::{MIC_ANALYSIS_RATE, MicRequest, MicState, MicStatus, microphones};
pub use live::{
    LiveDriving, LiveFace, LiveFaceState, LiveFaceStatus, LivePreview, LiveSample, LiveSource,
    SourceOpener, VmcFaceReader,
};
pub use record::{DEFAULT_MAX_RECORDED_FRAMES, FaceRecorder};

pub(crate) use layers::{compose_faces, remove_layers};
pub(crate) use live::TrackerConfig;

use bevy::app::{App, Plugin, PostUpdate};
use bevy::asset::AssetApp;
use bevy::ecs::schedule::IntoScheduleConfigs;

use crate::schedule::TalkingHeadSystems;

/// Idle life ([`IdleLife`]).
#[derive(Default)]
pub struct IdleLifePlugin;

impl Plugin for IdleLifePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            PostUpdate,
            idle::animate_idle.in_set(TalkingHeadSystems::GatherFaces),
        );
    }
}

/// Face clips: the `*.face.ron` asset, [`FaceClipPlayer`] and [`FaceClipEvent`].
#[derive(Default)]
pub struct FaceClipPlugin;

impl Plugin for FaceClipPlugin {
    fn build(&self, app: &mut App) {
        app.init_asset::<FaceClip>()
            .register_asset_loader(FaceClipLoader)
            .add_message::<FaceClipEvent>()
            .add_systems(
                PostUpdate,
                clip::player::play_clips.in_set(TalkingHeadSystems::GatherFaces),
            );
    }
}

/// Lip sync from audio (WAV assets, PCM streams) and viseme tracks ([`LipSync`]).
#[derive(Default)]
pub struct LipSyncPlugin;

impl Plugin for LipSyncPlugin {
    fn build(&self, app: &mut App) {
        app.init_asset::<SpeechAudio>()
            .register_asset_loader(SpeechAudioLoader)
            .init_asset::<VowelProfiles>()
            .register_asset_loader(VowelProfilesLoader)
            .add_systems(
                PostUpdate,
                lipsync::drive_lip_sync.in_set(TalkingHeadSystems::GatherFaces),
            );
    }
}

/// Live tracking from a webcam, a video file or an image sequence ([`LiveFace`]).
#[derive(Default)]
pub struct LiveFacePlugin;

impl Plugin for LiveFacePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            PostUpdate,
            live::drive_live_faces.in_set(TalkingHeadSystems::GatherFaces),
        );
    }
}

/// Recording what drives a head ([`FaceRecorder`]).
#[derive(Default)]
pub struct FaceRecorderPlugin;

impl Plugin for FaceRecorderPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            PostUpdate,
            record::record_faces
                .after(TalkingHeadSystems::Compose)
                .before(TalkingHeadSystems::Rig),
        );
    }
}
