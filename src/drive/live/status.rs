//! What a live face reports: each tracked [`LiveSample`], its [`LiveFaceState`] and [`LiveFaceStatus`].

use std::sync::Arc;
use std::time::Instant;

use super::preview::LivePreview;
use crate::face::{FaceFrame, LandmarkMotion};

/// One tracked frame, as the main thread receives it.
#[derive(Clone, Debug)]
pub struct LiveSample {
    /// The face; `time` is seconds from when the driver started.
    pub frame: FaceFrame,
    /// Frames captured before this one since the driver started (across reconnects and loops), so a
    /// later sample always has a larger index.
    pub index: u64,
    /// The source's own frame number.
    pub source_index: u64,
    /// When the capture thread got the frame.
    pub captured_at: Instant,
    /// When the tracking thread finished it.
    pub tracked_at: Instant,
    /// The frame with its landmarks, small, when a preview was asked for
    /// ([`LiveFace::set_preview`](super::LiveFace::set_preview)).
    pub preview: Option<Arc<LivePreview>>,
    /// The face's own landmark motion, when the driver moves the head by it
    /// ([`LiveDriving::Landmarks`](super::LiveDriving::Landmarks)).
    pub motion: Option<Arc<LandmarkMotion>>,
}

/// What a [`LiveFace`](super::LiveFace) is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveFaceState {
    /// Threads starting, source opening, models loading.
    Starting,
    /// Frames arrive and a face is tracked.
    Streaming,
    /// Frames arrive but show no face.
    NoFace,
    /// The source failed or is gone; it is opened again every `retry_interval`. The message says why.
    Reconnecting(String),
    /// A file source reached its end (not looping).
    Ended,
    /// Tracking cannot run (no face models); the message says which command fixes it.
    Failed(String),
}

/// Counters and the latest sample of a [`LiveFace`](super::LiveFace).
#[derive(Clone, Debug)]
pub struct LiveFaceStatus {
    /// What it is doing.
    pub state: LiveFaceState,
    /// The source's name.
    pub source_name: String,
    /// Samples that reached the main thread.
    pub samples: u64,
    /// Frames captured but replaced by a newer one before tracking or before the main thread took them.
    pub dropped: u64,
    /// The latest sample.
    pub last: Option<LiveSample>,
    /// When the driver started (the zero of `FaceFrame::time`).
    pub epoch: Option<Instant>,
}

impl Default for LiveFaceStatus {
    fn default() -> Self {
        Self {
            state: LiveFaceState::Starting,
            source_name: String::new(),
            samples: 0,
            dropped: 0,
            last: None,
            epoch: None,
        }
    }
}
