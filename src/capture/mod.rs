//! Frame sources: the webcam (feature `webcam`); video files and image sequences come with tracking.

#[cfg(feature = "webcam")]
pub mod webcam;
