//! [`FaceRecorder`]: records what drives a head into a [`FaceClip`].

use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::system::{Query, Res};
use bevy::log::warn;
use bevy::time::Time;

use super::clip::FaceClip;
use crate::error::Result;
use crate::face::FaceFrame;

/// Records a head's [`FaceFrame`] every frame, after all drivers are blended (webcam, clips, idle life,
/// lip sync, your own writes), into a [`FaceClip`] that plays back the same faces at the same times.
/// Frames while the game's clock is paused are skipped. A frame takes about 270 bytes; a recording keeps
/// at most [`max_frames`](Self::with_max_frames) frames ([`DEFAULT_MAX_RECORDED_FRAMES`]: 30 minutes at 60 fps,
/// some 30 MB), then stops adding frames and logs a warning once.
///
/// ```no_run
/// # use bevy_talking_head::prelude::*;
/// # fn f(recorder: &mut FaceRecorder) -> bevy_talking_head::Result<()> {
/// recorder.start();
/// // ... frames later:
/// let clip = recorder.stop()?;
/// clip.save("assets/clips/take1.face.ron")?;
/// # Ok(()) }
/// ```
#[derive(Component, Clone, Debug)]
pub struct FaceRecorder {
    recording: bool,
    start: Option<f64>,
    frames: Vec<FaceFrame>,
    max_frames: usize,
    full: bool,
}

/// The frames a [`FaceRecorder`] keeps by default: 30 minutes at 60 fps.
pub const DEFAULT_MAX_RECORDED_FRAMES: usize = 30 * 60 * 60;

impl Default for FaceRecorder {
    fn default() -> Self {
        Self {
            recording: false,
            start: None,
            frames: Vec::new(),
            max_frames: DEFAULT_MAX_RECORDED_FRAMES,
            full: false,
        }
    }
}

impl FaceRecorder {
    /// Builder: the most frames one recording keeps (at least 1); later frames are not recorded.
    pub fn with_max_frames(mut self, max_frames: usize) -> Self {
        self.max_frames = max_frames.max(1);
        self
    }

    /// Whether the recording reached its most frames (and stopped growing).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// A recorder that starts recording at once.
    pub fn recording() -> Self {
        let mut r = Self::default();
        r.start();
        r
    }

    /// Starts a new recording (the previous frames are dropped). The first recorded frame is at time 0.
    pub fn start(&mut self) {
        self.recording = true;
        self.start = None;
        self.frames.clear();
        self.full = false;
    }

    /// Stops and returns the recording as a once clip with a linear key per frame on every channel that
    /// moved. The frames stay available through [`frames`](Self::frames).
    pub fn stop(&mut self) -> Result<FaceClip> {
        self.recording = false;
        FaceClip::from_frames(&self.frames)
    }

    /// Whether it is recording.
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// The frames recorded so far; `time` is seconds from the first.
    pub fn frames(&self) -> &[FaceFrame] {
        &self.frames
    }
}

/// Appends each recording head's blended face.
pub(crate) fn record_faces(
    time: Res<Time>,
    mut heads: Query<(Entity, &FaceFrame, &mut FaceRecorder)>,
) {
    let now = time.elapsed_secs_f64();
    for (entity, face, mut recorder) in &mut heads {
        if !recorder.recording {
            continue;
        }
        let start = *recorder.start.get_or_insert(now);
        let t = now - start;
        // A paused clock repeats its time: one frame per instant.
        if recorder.frames.last().is_some_and(|last| t <= last.time) {
            continue;
        }
        if recorder.frames.len() >= recorder.max_frames {
            if !recorder.full {
                recorder.full = true;
                warn!(
                    "talking head {entity}: the face recording is full ({} frames); later frames are \
                     not recorded (stop it, or raise FaceRecorder::with_max_frames)",
                    recorder.max_frames
                );
            }
            continue;
        }
        let mut f = *face;
        f.sanitize();
        f.time = t;
        recorder.frames.push(f);
    }
}
