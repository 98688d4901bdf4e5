//! Frame sources: video files and image sequences (through `ffmpeg`), the webcam (feature `webcam`).

mod video;
#[cfg(feature = "webcam")]
pub mod webcam;

pub use video::{CapturedFrame, FrameSource, VideoFileSource};
