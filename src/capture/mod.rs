//! Frame sources: video files and image sequences (through `ffmpeg`), the webcam (feature `webcam`).
//!
//! This module holds the interface every source implements ([`FrameSource`], yielding
//! [`CapturedFrame`]s); the sources are in `video` and `webcam`, the camera request in `camera`.

mod camera;
mod video;
#[cfg(feature = "webcam")]
#[cfg_attr(docsrs, doc(cfg(feature = "webcam")))]
pub mod webcam;

pub use camera::{CameraRequest, CameraSelector, PixelFormat};
pub use video::VideoFileSource;

use std::time::Duration;

use crate::error::Result;

/// One captured frame: RGB8, top row first.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// When the frame was captured, from the start of the source.
    pub timestamp: Duration,
    /// Frame number from 0.
    pub index: u64,
}

/// Anything that yields frames: a webcam, a video file, an image sequence.
///
/// Not `Send`: some camera backends must stay on the thread that opened them, so the capture driver opens
/// its source on its own capture thread (from a `Send` opener).
pub trait FrameSource {
    /// The next frame, `None` at the end. Blocks until it is there.
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>>;
    /// A name for logs and errors (a path or a device name).
    fn name(&self) -> &str;
    /// Something another thread can call to make a [`next_frame`](Self::next_frame) blocked in this
    /// source return soon (with an error or `None`): how a [`LiveFace`](crate::drive::LiveFace) that
    /// is removed stops a capture thread waiting on a stalled decoder or device. `None` (the default):
    /// the source cannot be interrupted, and a thread blocked in it ends when the call returns.
    /// [`VideoFileSource`] kills its `ffmpeg` child.
    fn interrupter(&self) -> Option<SourceInterrupt> {
        None
    }
    /// Takes back the pixel buffer of a frame this source gave out and nobody needs any more, to fill
    /// again instead of allocating a new one (the default drops it).
    fn recycle(&mut self, rgb: Vec<u8>) {
        drop(rgb);
    }
}

/// See [`FrameSource::interrupter`]: safe to call from any thread, more than once, and after the
/// source is gone.
pub type SourceInterrupt = Box<dyn Fn() + Send + Sync>;
