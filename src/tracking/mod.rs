//! Face tracking with ONNX (no Bevy inside, so it runs on any thread): BlazeFace detection, rotated crops,
//! the 468-point face mesh and the iris model, in still and video modes.

mod crop;
mod detector;
pub mod ibug;
mod landmarks;
mod smoothing;
mod tracker;

pub use crop::{Crop, ImageView, MAX_IMAGE_SIDE, MIN_IMAGE_SIDE};
pub use detector::{Detection, DetectorKind, FaceDetector, weighted_nms};
pub use landmarks::{
    EyeLandmarks, FaceLandmarker, FaceLandmarks, IrisLandmarker, crop_from_detection,
    crop_from_landmarks, points,
};
pub use smoothing::{OneEuroFilter, OneEuroParams, PointSmoother};
pub use tracker::{FaceChoice, FaceTracker, MODEL_FILES, TrackedFace};
