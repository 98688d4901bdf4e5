//! Face tracking with ONNX (no Bevy inside, so it runs on any thread): BlazeFace detection, rotated crops,
//! Face Mesh V2 (478 points) and the blendshape model (the 52 ARKit weights), in still and video modes; the
//! older 468-point mesh and iris model on request.

mod blendshapes;
mod crop;
mod detector;
mod expression;
pub mod ibug;
mod landmarks;
mod models;
mod pose;
mod smoothing;
mod tracker;

pub use blendshapes::{BLENDSHAPE_NAMES, BLENDSHAPE_POINTS, BlendshapeModel, to_weights};
pub(crate) use crop::bilinear;
pub use crop::{Crop, ImageView, MAX_IMAGE_SIDE, MIN_IMAGE_SIDE, Sampling};
pub use detector::{Detection, DetectorKind, FaceDetector, weighted_nms};
pub use expression::{Calibration, ExpressionFeatures, EyeDetail, FaceAnalyzer};
pub use landmarks::{
    EyeLandmarks, FaceLandmarker, FaceLandmarks, IrisLandmarker, MeshModel, crop_from_detection,
    crop_from_detection_mediapipe, crop_from_landmarks, crop_from_landmarks_mediapipe, points,
};
pub(crate) use models::explain_models_error;
pub use models::{
    EMBEDDED_MODELS, FaceModels, MESH_V1_MODEL_FILES, MODEL_FILES, MODELS_HINT,
    SEGMENTATION_MODEL_FILE, TrackerModels, default_face_models, default_models_dir,
};
pub use pose::{HEAD_PIVOT, PoseFit, RIGID_POINTS, canonical_face, fit_pose, rotation_from_angles};
pub use smoothing::{OneEuroFilter, OneEuroParams, PointSmoother, VideoSmoother};
pub use tracker::{FaceChoice, FaceTracker, TrackedFace};
