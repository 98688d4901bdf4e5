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
    /// The Live Link Face iPhone app (or any tracker speaking its protocol) streaming to this machine's
    /// UDP `port` ([`interop::livelink::DEFAULT_PORT`](crate::interop::livelink::DEFAULT_PORT), 11111,
    /// unless the app is told otherwise): the 52 ARKit weights, head and eye angles, no tracking here.
    /// With `subject`, only that subject's packets (the name set in the app): several phones on one
    /// port drive several heads. Heads on one port share one socket.
    LiveLink {
        /// The UDP port to listen on (all interfaces).
        port: u16,
        /// Only this subject; `None` takes every subject (the newest packet wins).
        subject: Option<String>,
    },
    /// A VMC protocol sender (VSeeFace, VMagicMirror, Warudo or another tracker) streaming to this
    /// machine's UDP `port`: blendshapes by ARKit name or VRM preset, the head and eye bones
    /// ([`VmcFaceReader`](super::VmcFaceReader)).
    Vmc {
        /// The UDP port to listen on (all interfaces).
        port: u16,
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
            Self::LiveLink { port, subject } => f
                .debug_struct("LiveLink")
                .field("port", port)
                .field("subject", subject)
                .finish(),
            Self::Vmc { port } => f.debug_struct("Vmc").field("port", port).finish(),
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
            Self::LiveLink {
                port,
                subject: Some(subject),
            } => format!("Live Link Face `{subject}` on UDP port {port}"),
            Self::LiveLink {
                port,
                subject: None,
            } => format!("Live Link Face on UDP port {port}"),
            Self::Vmc { port } => format!("VMC on UDP port {port}"),
            Self::Custom { name, .. } => name.clone(),
        }
    }

    /// The protocol, port and subject of a source received over the network.
    pub(super) fn network(&self) -> Option<(super::network::Protocol, u16, Option<String>)> {
        use super::network::Protocol;
        match self {
            Self::LiveLink { port, subject } => Some((Protocol::LiveLink, *port, subject.clone())),
            Self::Vmc { port } => Some((Protocol::Vmc, *port, None)),
            _ => None,
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
            _ => true,
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
            // Received, not captured: `LiveFace` listens instead of opening a frame source.
            Self::LiveLink { .. } | Self::Vmc { .. } => {
                let name = self.name();
                Arc::new(move || {
                    Err(crate::error::Error::Capture {
                        source_name: name.clone(),
                        problem: "a network source has no frames".to_owned(),
                    })
                })
            }
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
