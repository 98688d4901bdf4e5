//! Face tracking with ONNX (no Bevy inside, so it runs on any thread): BlazeFace detection, rotated crops,
//! the 468-point face mesh and the iris model, in still and video modes.

mod crop;
mod detector;
mod expression;
pub mod ibug;
mod landmarks;
mod pose;
mod smoothing;
mod tracker;

pub(crate) use crop::bilinear;
pub use crop::{Crop, ImageView, MAX_IMAGE_SIDE, MIN_IMAGE_SIDE};
pub use detector::{Detection, DetectorKind, FaceDetector, weighted_nms};
pub use expression::{Calibration, ExpressionFeatures, EyeDetail, FaceAnalyzer};
pub use landmarks::{
    EyeLandmarks, FaceLandmarker, FaceLandmarks, IrisLandmarker, crop_from_detection,
    crop_from_landmarks, points,
};
pub use pose::{PoseFit, RIGID_POINTS, canonical_face, fit_pose, rotation_from_angles};
pub use smoothing::{OneEuroFilter, OneEuroParams, PointSmoother};
pub use tracker::{FaceChoice, FaceTracker, MODEL_FILES, TrackedFace, default_models_dir};
