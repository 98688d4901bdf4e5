//! Lip sync: the mouth from speech audio (a WAV asset or a live PCM stream) or from a timed viseme track.
//!
//! This module holds the [`LipSync`] component and its system; the audio analysis is in `analysis`, its
//! MFCCs in `mfcc`, the vowel profiles and their calibration in `vowel`, WAV assets in `audio`, visemes in
//! `viseme` and the PCM stream's sender in `pcm`.

mod analysis;
mod audio;
mod io;
mod mfcc;
#[cfg(feature = "mic")]
mod mic;
mod pcm;
mod stream;
mod viseme;
mod vowel;

pub use analysis::{AudioLipSync, LipSyncFrame, LipSyncSettings};
pub use audio::{SpeechAudio, SpeechAudioLoader};
pub use mfcc::{MAX_SAMPLE_RATE, MFCC_COEFFS, Mfcc, MfccVector};
#[cfg(feature = "mic")]
pub use mic::{MIC_ANALYSIS_RATE, MicRequest, MicState, MicStatus, microphones};
pub use pcm::{DEFAULT_PCM_QUEUE, PcmSender};
pub use viseme::{Viseme, VisemeKey, VisemeTrack};
pub use vowel::{Vowel, VowelCalibration, VowelProfiles, VowelProfilesLoader};

use bevy::asset::{Assets, Handle};
use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::system::{Query, Res};
use bevy::time::Time;

use super::layers::{FaceLayer, FaceLayers, LayerId, Priority, remove_layers};
use crate::face::{FaceFrame, FaceMask};
use crate::report::HeadErrors;

#[derive(Clone, Debug)]
enum Source {
    Audio(Handle<SpeechAudio>),
    Stream(stream::Stream),
    Visemes(VisemeTrack),
}

/// Lip sync on a head, at [`Priority::LIP_SYNC`] on the mouth ([`FaceMask::MOUTH`]) by default.
///
/// A viseme track plays from when the component is added (or [`restart`](Self::restart) is called); a
/// WAV asset from when it has loaded, as Bevy's `AudioPlayer` does with the same file: start the sound at
/// the same moment. A stream follows the samples as they arrive. When the speech ends (or a stream
/// stops sending for 0.3 s), the layer fades out over 0.2 s and the layers below show again.
#[derive(Component, Clone, Debug)]
#[require(FaceLayers)]
#[component(on_remove = remove_layers(|id| *id == LIP_SYNC_LAYER))]
pub struct LipSync {
    source: Source,
    /// How much the mouth follows, `0..=1`.
    pub weight: f32,
    /// The channels it moves.
    pub mask: FaceMask,
    /// Seconds the mouth runs ahead of known audio (a WAV asset, a viseme track), so each shape forms
    /// as its sound starts and blends into the next: [`DEFAULT_LOOKAHEAD`]. Live streams are causal and
    /// ignore it.
    pub lookahead: f32,
    elapsed: f32,
    activity: f32,
    #[cfg(feature = "mic")]
    mic: Option<mic::Mic>,
    /// A stream's chunk count at the last update.
    chunks_seen: u64,
    /// Seconds since a stream last delivered samples.
    quiet_for: f32,
    reported: bool,
}

impl LipSync {
    fn with_source(source: Source) -> Self {
        Self {
            source,
            weight: 1.0,
            mask: FaceMask::MOUTH,
            lookahead: DEFAULT_LOOKAHEAD,
            elapsed: 0.0,
            activity: 0.0,
            #[cfg(feature = "mic")]
            mic: None,
            chunks_seen: 0,
            quiet_for: f32::INFINITY,
            reported: false,
        }
    }

    /// Lip sync to a WAV asset.
    pub fn audio(audio: Handle<SpeechAudio>) -> Self {
        Self::with_source(Source::Audio(audio))
    }

    /// Lip sync to a viseme track.
    pub fn visemes(track: VisemeTrack) -> Self {
        Self::with_source(Source::Visemes(track))
    }

    /// Lip sync to live PCM at `sample_rate`: push samples through the returned sender. It queues up to
    /// [`DEFAULT_PCM_QUEUE`] chunks between frames.
    pub fn stream(sample_rate: u32, settings: LipSyncSettings) -> (Self, PcmSender) {
        Self::stream_with_queue(sample_rate, settings, DEFAULT_PCM_QUEUE)
    }

    /// [`stream`](Self::stream) with a queue of `chunks` (at least 1).
    pub fn stream_with_queue(
        sample_rate: u32,
        settings: LipSyncSettings,
        chunks: usize,
    ) -> (Self, PcmSender) {
        let (tx, rx) = crossbeam_channel::bounded(chunks.max(1));
        let analyser = AudioLipSync::new(sample_rate, settings);
        (
            Self::with_source(Source::Stream(stream::Stream::new(analyser, rx))),
            PcmSender {
                tx,
                dropped: Default::default(),
            },
        )
    }

    /// Lip sync to a microphone (feature `mic`): the device is opened on a thread of its own when the
    /// component is first updated in an app, its audio mixed to mono, resampled to
    /// [`MIC_ANALYSIS_RATE`] and analysed on the stream's thread; the mouth follows live (causal: no
    /// lookahead). No such device, or one unplugged, is one warning ([`TalkingHeadError`]) per distinct
    /// failure while the layers below (idle life) show, and the device is opened again every
    /// [`MicRequest::retry_interval`]. The threads end when the component goes.
    ///
    /// [`TalkingHeadError`]: crate::TalkingHeadError
    #[cfg(feature = "mic")]
    pub fn microphone(request: MicRequest) -> Self {
        let (mut sync, pcm) =
            Self::stream_with_queue(MIC_ANALYSIS_RATE, request.settings, DEFAULT_PCM_QUEUE);
        sync.mic = Some(mic::Mic::new(request, pcm));
        sync
    }

    /// A microphone lip sync's state and tries so far (`None` for other sources).
    #[cfg(feature = "mic")]
    pub fn microphone_status(&self) -> Option<MicStatus> {
        self.mic
            .as_ref()
            .map(|m| m.status.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Builder: the weight.
    pub fn with_weight(mut self, weight: f32) -> Self {
        self.weight = weight;
        self
    }

    /// Builder: the lookahead, seconds (0 for none).
    pub fn with_lookahead(mut self, seconds: f32) -> Self {
        self.lookahead = seconds;
        self
    }

    /// Builder: the mask.
    pub fn with_mask(mut self, mask: FaceMask) -> Self {
        self.mask = mask;
        self
    }

    /// Plays the audio or track again from the start.
    pub fn restart(&mut self) {
        self.elapsed = 0.0;
        self.reported = false;
    }

    /// Seconds since it started (for streams: seconds of audio analysed).
    pub fn elapsed(&self) -> f32 {
        match &self.source {
            Source::Stream(s) => s.analysed(),
            _ => self.elapsed,
        }
    }
}

/// How far the mouth runs ahead of known audio by default: 50 ms, within the 40-60 ms that Rhubarb and
/// film animators use, and under the 45 ms (audio early) to 125 ms (audio late) beyond which viewers
/// notice an offset (ITU-R BT.1359) counted from the shape's start.
pub const DEFAULT_LOOKAHEAD: f32 = 0.05;

/// The layer lip sync writes (and takes with it when it goes).
const LIP_SYNC_LAYER: LayerId = LayerId::fixed(Priority::LIP_SYNC, "lip sync");

/// Advances each lip sync and writes its layer.
pub(crate) fn drive_lip_sync(
    time: Res<Time>,
    audio: Res<Assets<SpeechAudio>>,
    mut heads: Query<(Entity, &mut LipSync, &mut FaceLayers)>,
    mut errors: HeadErrors,
) {
    let dt = time.delta_secs();
    for (entity, mut sync, mut layers) in &mut heads {
        let sync = &mut *sync;
        #[cfg(feature = "mic")]
        if let Some(mic) = &mut sync.mic {
            mic.start();
            if let Some(problem) = mic.new_failure() {
                errors.warn(
                    entity,
                    crate::error::Error::Audio {
                        path: mic.request().describe(),
                        problem,
                    },
                );
            }
        }
        let (face, speaking) = match &mut sync.source {
            Source::Audio(handle) => match audio.get(&*handle) {
                Some(a) => {
                    sync.elapsed += dt;
                    let t = sync.elapsed + sync.lookahead.max(0.0);
                    (a.face_at(t), t <= a.duration())
                }
                None => {
                    if !sync.reported {
                        sync.reported = errors.report_failed_asset(entity, handle);
                    }
                    (FaceFrame::neutral(), false)
                }
            },
            Source::Visemes(track) => {
                sync.elapsed += dt;
                let t = sync.elapsed + sync.lookahead.max(0.0);
                (track.face_at(t), t <= track.duration())
            }
            Source::Stream(stream) => {
                // Analysed on the stream's own thread: only the newest face is copied here.
                let out = stream.poll();
                let got = out.chunks != sync.chunks_seen;
                sync.chunks_seen = out.chunks;
                sync.quiet_for = if got { 0.0 } else { sync.quiet_for + dt };
                // A stream that stops sending (or whose sender is gone) lets go after 0.3 s.
                (out.face, sync.quiet_for < 0.3)
            }
        };
        // Fade in fast, out over 0.2 s.
        let target = if speaking { 1.0 } else { 0.0 };
        let rate = if speaking { 20.0 } else { 5.0 };
        sync.activity += (target - sync.activity).clamp(-rate * dt, rate * dt);
        let weight = sync.weight * sync.activity;
        let layer = (weight > 0.0).then(|| FaceLayer::new(face, weight, sync.mask));
        FaceLayers::put(&mut layers, LIP_SYNC_LAYER, layer);
    }
}
