//! [`FaceRecorder`]: records what drives a head into a [`FaceClip`].

use bevy::ecs::component::Component;
use bevy::ecs::system::{Query, Res};
use bevy::time::Time;

use super::clip::FaceClip;
use crate::error::Result;
use crate::face::FaceFrame;

/// Records a head's [`FaceFrame`] every frame, after all drivers are blended (webcam, clips, idle life,
/// lip sync, your own writes), into a [`FaceClip`] that plays back the same faces at the same times.
/// Frames while the game's clock is paused are skipped. A frame takes about 270 bytes: an hour at 60 fps
/// is some 60 MB, so stop long takes now and then.
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
#[derive(Component, Clone, Debug, Default)]
pub struct FaceRecorder {
    recording: bool,
    start: Option<f64>,
    frames: Vec<FaceFrame>,
}

impl FaceRecorder {
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
pub(crate) fn record_faces(time: Res<Time>, mut heads: Query<(&FaceFrame, &mut FaceRecorder)>) {
    let now = time.elapsed_secs_f64();
    for (face, mut recorder) in &mut heads {
        if !recorder.recording {
            continue;
        }
        let start = *recorder.start.get_or_insert(now);
        let t = now - start;
        // A paused clock repeats its time: one frame per instant.
        if recorder.frames.last().is_some_and(|last| t <= last.time) {
            continue;
        }
        let mut f = *face;
        f.sanitize();
        f.time = t;
        recorder.frames.push(f);
    }
}
