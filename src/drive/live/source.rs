//! Where a live face's frames come from: [`LiveSource`] and how each kind is opened.

use std::path::PathBuf;
use std::sync::Arc;

use crate::capture::{CameraRequest, FrameSource, VideoFileSource};
#[cfg(not(feature = "webcam"))]
use crate::error::Error;
use crate::error::Result;

/// Opens a frame source. Called on the capture thread, again after each failure.
pub type SourceOpener = Arc<dyn Fn() -> Result<Box<dyn FrameSource>> + Send + Sync>;

/// Where a [`LiveFace`](super::LiveFace) gets its frames.
#[derive(Clone)]
pub enum LiveSource {
    /// A webcam (needs the `webcam` feature; without it, opening fails with an error saying so, and the
    /// head stays on idle life).
    Webcam(CameraRequest),
    /// A video file, decoded by `ffmpeg`, played at its frame rate.
    Video {
        /// The file.
        path: PathBuf,
        /// Start over at the end.
        looping: bool,
    },
    /// A folder of `.png` or `.jpg` frames in name order.
    ImageSequence {
        /// The folder.
        dir: PathBuf,
        /// Frames per second.
        fps: f64,
        /// Start over at the end.
        looping: bool,
    },
    /// Your own source.
    Custom {
        /// A name for logs.
        name: String,
        /// Opens the source (on the capture thread).
        open: SourceOpener,
    },
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Webcam(r) => f.debug_tuple("Webcam").field(r).finish(),
            Self::Video { path, looping } => f
                .debug_struct("Video")
                .field("path", path)
                .field("looping", looping)
                .finish(),
            Self::ImageSequence { dir, fps, looping } => f
                .debug_struct("ImageSequence")
                .field("dir", dir)
                .field("fps", fps)
                .field("looping", looping)
                .finish(),
            Self::Custom { name, .. } => f.debug_struct("Custom").field("name", name).finish(),
        }
    }
}

impl LiveSource {
    /// A name for logs: the device or the path.
    pub fn name(&self) -> String {
        match self {
            Self::Webcam(r) => format!("webcam {:?}", r.camera),
            Self::Video { path, .. } => path.display().to_string(),
            Self::ImageSequence { dir, .. } => dir.display().to_string(),
            Self::Custom { name, .. } => name.clone(),
        }
    }

    /// Whether the capture thread paces frames to their timestamps (files) or takes them as they come
    /// (cameras, custom sources).
    pub(super) fn paced(&self) -> bool {
        matches!(self, Self::Video { .. } | Self::ImageSequence { .. })
    }

    pub(super) fn looping(&self) -> bool {
        match self {
            Self::Video { looping, .. } | Self::ImageSequence { looping, .. } => *looping,
            Self::Webcam(_) | Self::Custom { .. } => true,
        }
    }

    pub(super) fn opener(&self) -> SourceOpener {
        match self.clone() {
            Self::Webcam(request) => Arc::new(move || open_webcam(&request)),
            Self::Video { path, .. } => Arc::new(move || {
                VideoFileSource::open(&path).map(|s| Box::new(s) as Box<dyn FrameSource>)
            }),
            Self::ImageSequence { dir, fps, .. } => Arc::new(move || {
                VideoFileSource::open_sequence(&dir, fps)
                    .map(|s| Box::new(s) as Box<dyn FrameSource>)
            }),
            Self::Custom { open, .. } => open,
        }
    }
}

#[cfg(feature = "webcam")]
fn open_webcam(request: &CameraRequest) -> Result<Box<dyn FrameSource>> {
    crate::capture::webcam::WebcamSource::open(request).map(|s| Box::new(s) as Box<dyn FrameSource>)
}

#[cfg(not(feature = "webcam"))]
fn open_webcam(request: &CameraRequest) -> Result<Box<dyn FrameSource>> {
    Err(Error::Capture {
        source_name: format!("webcam {:?}", request.camera),
        problem:
            "this build has no webcam support: enable the `webcam` feature of bevy_talking_head"
                .to_owned(),
    })
}
