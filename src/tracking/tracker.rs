//! [`FaceTracker`]: detector -> rotated crop -> 468 landmarks -> iris, on stills and on video.

use std::path::Path;
use std::sync::Arc;

use super::crop::{Crop, ImageView};
use super::detector::{Detection, DetectorKind, FaceDetector};
use super::landmarks::{
    EyeLandmarks, FaceLandmarker, FaceLandmarks, IrisLandmarker, crop_from_detection,
    crop_from_landmarks,
};
use crate::error::Result;
use crate::onnx::{OnnxModel, SessionOptions};

/// Which face to follow when there are several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaceChoice {
    /// The largest face.
    #[default]
    Largest,
    /// The n-th most confident face.
    Index(usize),
}

/// One face found in one image, in image pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedFace {
    /// The detection it started from (`None` when it was tracked from the previous frame's landmarks).
    pub detection: Option<Detection>,
    /// The 468 mesh points and their crop.
    pub landmarks: FaceLandmarks,
    /// Both eyes, `[subject's right, subject's left]`, when the iris model ran.
    pub eyes: Option<[EyeLandmarks; 2]>,
}

/// Finds and follows one face. No Bevy inside: it runs on any thread.
///
/// In video mode ([`track`](Self::track)) the next crop comes from the last landmarks and the detector runs
/// only when the face is lost. For stills ([`detect_still`](Self::detect_still)) it searches harder: the
/// full-range detector and overlapping tiles find small faces, and a second landmark pass starts from the
/// first pass's landmarks.
#[derive(Debug, Clone)]
pub struct FaceTracker {
    detector: FaceDetector,
    full_range: Option<FaceDetector>,
    landmarker: FaceLandmarker,
    iris: Option<IrisLandmarker>,
    last: Option<TrackedFace>,
    /// Which face to follow.
    pub choice: FaceChoice,
    /// Below this presence score the face counts as lost.
    pub min_presence: f32,
}

/// File names, in a models folder, of the models [`FaceTracker::from_dir`] loads.
pub const MODEL_FILES: [&str; 4] = [
    "face_detector.onnx",
    "face_detector_full_range.onnx",
    "face_landmarks.onnx",
    "iris_landmarks.onnx",
];

impl FaceTracker {
    /// A tracker from its parts. `full_range` and `iris` are optional.
    pub fn new(
        detector: FaceDetector,
        full_range: Option<FaceDetector>,
        landmarker: FaceLandmarker,
        iris: Option<IrisLandmarker>,
    ) -> Self {
        Self {
            detector,
            full_range,
            landmarker,
            iris,
            last: None,
            choice: FaceChoice::Largest,
            min_presence: 0.5,
        }
    }

    /// Loads the four models of [`MODEL_FILES`] from `dir` (`assets/models` after `make setup`).
    pub fn from_dir(dir: impl AsRef<Path>, options: &SessionOptions) -> Result<Self> {
        let dir = dir.as_ref();
        let load = |name: &str| -> Result<Arc<OnnxModel>> {
            Ok(Arc::new(OnnxModel::from_file(
                dir.join(name),
                None,
                options,
            )?))
        };
        Ok(Self::new(
            FaceDetector::new(load(MODEL_FILES[0])?, DetectorKind::ShortRange)?,
            Some(FaceDetector::new(
                load(MODEL_FILES[1])?,
                DetectorKind::FullRange,
            )?),
            FaceLandmarker::new(load(MODEL_FILES[2])?)?,
            Some(IrisLandmarker::new(load(MODEL_FILES[3])?)?),
        ))
    }

    /// Forgets the followed face: the next [`track`](Self::track) runs the detector.
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// Video mode: follows the face from the previous frame, detecting only when it was lost.
    pub fn track(&mut self, image: &ImageView<'_>) -> Result<Option<TrackedFace>> {
        if let Some(last) = &self.last {
            let crop = crop_from_landmarks(&last.landmarks.points);
            let landmarks = self.landmarker.run(image, crop)?;
            if landmarks.presence >= self.min_presence {
                let face = self.finish(image, None, landmarks)?;
                self.last = Some(face.clone());
                return Ok(Some(face));
            }
        }
        let detections = self.detector.detect(image)?;
        let face = match self.choose(&detections) {
            Some(d) => self.landmarks_from(image, d, 1)?,
            None => None,
        };
        self.last = face.clone();
        Ok(face)
    }

    /// Still mode: finds the chosen face anywhere in the image, however small, with a second landmark
    /// pass. `None` when there is no face.
    pub fn detect_still(&self, image: &ImageView<'_>) -> Result<Option<TrackedFace>> {
        let detections = self.search(image)?;
        match self.choose(&detections) {
            Some(d) => self.landmarks_from(image, d, 2),
            None => Ok(None),
        }
    }

    /// Every face the detectors find: the short-range model on the whole image, then (if it finds none)
    /// the full-range model, then the short-range model on overlapping tiles (half a tile apart) of 3/4,
    /// 1/2 and 3/10 of the short side, stopping at the first size that finds a face.
    pub fn search(&self, image: &ImageView<'_>) -> Result<Vec<Detection>> {
        let found = self.detector.detect(image)?;
        if !found.is_empty() {
            return Ok(found);
        }
        if let Some(full) = &self.full_range {
            let found = full.detect(image)?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let (w, h) = (image.width() as f32, image.height() as f32);
        let mut found = Vec::new();
        for fraction in [0.75f32, 0.5, 0.3] {
            let side = w.min(h) * fraction;
            let step = side / 2.0;
            let mut y = side / 2.0;
            while y - side / 2.0 < h {
                let mut x = side / 2.0;
                while x - side / 2.0 < w {
                    found.extend(self.detector.detect_in(image, [x, y], side)?);
                    x += step;
                }
                y += step;
            }
            if !found.is_empty() {
                break;
            }
        }
        Ok(super::detector::weighted_nms(
            found,
            self.detector.iou_threshold,
        ))
    }

    fn choose<'d>(&self, detections: &'d [Detection]) -> Option<&'d Detection> {
        match self.choice {
            FaceChoice::Largest => detections
                .iter()
                .max_by(|a, b| (a.size[0] * a.size[1]).total_cmp(&(b.size[0] * b.size[1]))),
            FaceChoice::Index(i) => detections.get(i),
        }
    }

    fn landmarks_from(
        &self,
        image: &ImageView<'_>,
        d: &Detection,
        passes: usize,
    ) -> Result<Option<TrackedFace>> {
        let crop = crop_from_detection(d);
        let mut landmarks = self.landmarker.run(image, crop)?;
        if landmarks.presence < self.min_presence && passes > 1 {
            // The detector's eye keypoints can be off on small or turned faces (einstein in the test data):
            // an upright crop of the same box often finds the face.
            let upright = self.landmarker.run(image, Crop { angle: 0.0, ..crop })?;
            if upright.presence > landmarks.presence {
                landmarks = upright;
            }
        }
        for _ in 1..passes {
            if landmarks.presence < self.min_presence {
                break;
            }
            landmarks = self
                .landmarker
                .run(image, crop_from_landmarks(&landmarks.points))?;
        }
        if landmarks.presence < self.min_presence {
            return Ok(None);
        }
        self.finish(image, Some(*d), landmarks).map(Some)
    }

    fn finish(
        &self,
        image: &ImageView<'_>,
        detection: Option<Detection>,
        landmarks: FaceLandmarks,
    ) -> Result<TrackedFace> {
        let eyes = match &self.iris {
            Some(iris) => Some(iris.run(image, &landmarks.points)?),
            None => None,
        };
        Ok(TrackedFace {
            detection,
            landmarks,
            eyes,
        })
    }
}

/// Where the face models are by default: `assets/models` under `BEVY_ASSET_ROOT`, else in the places
/// ONNX Runtime is looked for (the working directory, the executable's folders, this crate's folder): the
/// first that holds them (`make setup` puts them in the repository's `assets/models`).
pub fn default_models_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    let roots = std::env::var_os("BEVY_ASSET_ROOT")
        .map(PathBuf::from)
        .into_iter()
        .chain(crate::onnx::setup_roots());
    roots
        .map(|root| root.join("assets/models"))
        .find(|dir| dir.join(MODEL_FILES[2]).exists())
        .unwrap_or_else(|| PathBuf::from("assets/models"))
}
