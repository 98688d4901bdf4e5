//! Frame sources: video files and image sequences (through `ffmpeg`), the webcam (feature `webcam`).

mod camera;
mod video;
#[cfg(feature = "webcam")]
#[cfg_attr(docsrs, doc(cfg(feature = "webcam")))]
pub mod webcam;

pub use camera::{CameraRequest, CameraSelector, PixelFormat};
pub use video::{CapturedFrame, FrameSource, VideoFileSource};
