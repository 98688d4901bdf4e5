//! [`FaceTracker`]: detector -> rotated crop -> Face Mesh V2's 478 landmarks -> the 52 blendshapes, on
//! stills and on video (or, with [`TrackerModels::MeshV1`], the older 468-point mesh and the iris model).

use std::path::Path;
use std::sync::Arc;

use super::blendshapes::BlendshapeModel;
use super::crop::{Crop, ImageView, Sampling};
use super::detector::{Detection, DetectorKind, FaceDetector};
use super::landmarks::{EyeLandmarks, FaceLandmarker, FaceLandmarks, IrisLandmarker, MeshModel};
use super::models::{FaceModels, TrackerModels};
use super::smoothing::VideoSmoother;
use crate::error::{Error, Result};
use crate::face::ExpressionWeights;
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
    /// The mesh points (468, or 478 with the irises from Face Mesh V2) and their crop.
    pub landmarks: FaceLandmarks,
    /// Both eyes, `[subject's right, subject's left]`, when the iris model ran ([`TrackerModels::MeshV1`]).
    pub eyes: Option<[EyeLandmarks; 2]>,
    /// The 52 ARKit weights from the blendshape model, when it ran ([`TrackerModels::MeshV2`]).
    pub blendshapes: Option<ExpressionWeights>,
}

impl TrackedFace {
    /// Each iris, `[subject's right, subject's left]`: its centre, then 4 points on its edge. From Face Mesh
    /// V2's points 468-477, else from the iris model; `None` when neither ran.
    pub fn irises(&self) -> Option<[[[f32; 3]; 5]; 2]> {
        let p = &self.landmarks.points;
        if p.len() >= 478 {
            let iris = |start: usize| std::array::from_fn(|k| p[start + k]);
            return Some([iris(468), iris(473)]);
        }
        self.eyes.as_ref().map(|e| [e[0].iris, e[1].iris])
    }
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
    blendshapes: Option<BlendshapeModel>,
    /// The last frame's raw (unsmoothed) points: the next crop follows them.
    last: Option<Vec<[f32; 3]>>,
    smoother: VideoSmoother,
    /// Which face to follow.
    pub choice: FaceChoice,
    /// Below this presence score the face counts as lost.
    pub min_presence: f32,
}

impl FaceTracker {
    /// A tracker from its parts. `full_range` and `iris` are optional (Face Mesh V2 has its own irises);
    /// add the blendshape model with [`with_blendshapes`](Self::with_blendshapes).
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
            blendshapes: None,
            last: None,
            smoother: VideoSmoother::default(),
            choice: FaceChoice::Largest,
            min_presence: 0.5,
        }
    }

    /// Reads the 52 weights of each Face Mesh V2 face with `model`.
    pub fn with_blendshapes(mut self, model: BlendshapeModel) -> Self {
        self.blendshapes = Some(model);
        self
    }

    /// Which mesh model it runs.
    pub fn mesh_model(&self) -> MeshModel {
        self.landmarker.kind()
    }

    /// Loads the four models of [`MODEL_FILES`](super::MODEL_FILES) from `dir` (`assets/models` after `make setup`).
    pub fn from_dir(dir: impl AsRef<Path>, options: &SessionOptions) -> Result<Self> {
        Self::from_dir_with(dir, options, TrackerModels::MeshV2)
    }

    /// Loads the models of `models` from `dir`.
    pub fn from_dir_with(
        dir: impl AsRef<Path>,
        options: &SessionOptions,
        models: TrackerModels,
    ) -> Result<Self> {
        Self::load(
            &FaceModels::Dir(dir.as_ref().to_path_buf()),
            options,
            models,
        )
    }

    /// Loads the four models of [`MODEL_FILES`](super::MODEL_FILES) compiled into the crate (feature `embedded-models`, on by
    /// default): tracking with nothing on disk.
    pub fn embedded(options: &SessionOptions) -> Result<Self> {
        Self::load(&FaceModels::Embedded, options, TrackerModels::MeshV2)
    }

    /// Loads the models of `set` from `models` (a folder, or the embedded ones).
    pub fn load(models: &FaceModels, options: &SessionOptions, set: TrackerModels) -> Result<Self> {
        Self::load_unless(models, options, set, &|| false)
    }

    /// As [`load`](Self::load), giving up before each model once `stopped` says so (a live face removed
    /// while its tracker loads): an error saying loading was stopped.
    pub(crate) fn load_unless(
        source: &FaceModels,
        options: &SessionOptions,
        models: TrackerModels,
        stopped: &dyn Fn() -> bool,
    ) -> Result<Self> {
        let load = |name: &str| -> Result<Arc<OnnxModel>> {
            if stopped() {
                return Err(Error::ModelLoad {
                    path: source.label(name),
                    message: "loading was stopped".into(),
                    source: None,
                });
            }
            let bytes = source.read(name)?;
            Ok(Arc::new(OnnxModel::from_bytes(
                &bytes,
                &source.label(name),
                None,
                options,
            )?))
        };
        let files = super::models::files(models);
        let mut detector = FaceDetector::new(load(files[0])?, DetectorKind::ShortRange)?;
        let mut full_range = FaceDetector::new(load(files[1])?, DetectorKind::FullRange)?;
        if models == TrackerModels::MeshV1 {
            // The older pipeline reads the detector's input at pixel centres and merges boxes above 0.3
            // overlap, as its Python reference (models/reference/tracker.py) does.
            for d in [&mut detector, &mut full_range] {
                d.sampling = Sampling::At(0.5);
                d.iou_threshold = 0.3;
            }
        }
        let landmarker = FaceLandmarker::new(load(files[2])?)?;
        Ok(match models {
            TrackerModels::MeshV2 => Self::new(detector, Some(full_range), landmarker, None)
                .with_blendshapes(BlendshapeModel::new(load(files[3])?)?),
            TrackerModels::MeshV1 => Self::new(
                detector,
                Some(full_range),
                landmarker,
                Some(IrisLandmarker::new(load(files[3])?)?),
            ),
        })
    }

    /// Forgets the followed face: the next [`track`](Self::track) runs the detector.
    pub fn reset(&mut self) {
        self.last = None;
        self.smoother.reset();
    }

    /// Video mode: follows the face from the previous frame, detecting only when it was lost. The points are
    /// as the model gives them, frame by frame; [`track_video`](Self::track_video) smooths them.
    pub fn track(&mut self, image: &ImageView<'_>) -> Result<Option<TrackedFace>> {
        self.track_inner(image, None)
    }

    /// Video mode as MediaPipe's Face Landmarker runs it (`running_mode=VIDEO`): [`track`](Self::track),
    /// then the points smoothed over time ([`VideoSmoother`], MediaPipe's filter) and the blendshapes read
    /// from the smoothed points; the next crop still follows the raw points. `timestamp` is the frame's time
    /// since the stream began (increasing; a frame at or before the last one is not smoothed).
    pub fn track_video(
        &mut self,
        image: &ImageView<'_>,
        timestamp: std::time::Duration,
    ) -> Result<Option<TrackedFace>> {
        let ns = i64::try_from(timestamp.as_nanos()).unwrap_or(i64::MAX);
        self.track_inner(image, Some(ns))
    }

    fn track_inner(
        &mut self,
        image: &ImageView<'_>,
        timestamp_ns: Option<i64>,
    ) -> Result<Option<TrackedFace>> {
        let mut found = None;
        if let Some(last) = &self.last {
            let crop = self.landmarker.kind().follow(last);
            let landmarks = self.landmarker.run(image, crop)?;
            if landmarks.presence >= self.min_presence {
                found = Some((None, landmarks));
            }
        }
        if found.is_none() {
            let detections = self.detector.detect(image)?;
            if let Some(d) = self.choose(&detections) {
                found = self.raw_landmarks(image, d, 1)?.map(|l| (Some(*d), l));
            }
        }
        let Some((detection, mut landmarks)) = found else {
            self.last = None;
            self.smoother.reset();
            return Ok(None);
        };
        self.last = Some(landmarks.points.clone());
        if let Some(ns) = timestamp_ns {
            self.smoother.smooth(&mut landmarks.points, ns);
        }
        self.finish(image, detection, landmarks).map(Some)
    }

    /// MediaPipe's IMAGE mode: the short-range detector on the whole image, then one landmark pass from
    /// the chosen detection. Quicker than [`detect_still`](Self::detect_still), which finds more faces and
    /// places the points better for rigging a portrait.
    pub fn detect_image(&self, image: &ImageView<'_>) -> Result<Option<TrackedFace>> {
        let detections = self.detector.detect(image)?;
        match self.choose(&detections) {
            Some(d) => self.landmarks_from(image, d, 1),
            None => Ok(None),
        }
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
        match self.raw_landmarks(image, d, passes)? {
            Some(landmarks) => self.finish(image, Some(*d), landmarks).map(Some),
            None => Ok(None),
        }
    }

    /// The landmarks of the face detected as `d`, if the mesh finds a face there.
    fn raw_landmarks(
        &self,
        image: &ImageView<'_>,
        d: &Detection,
        passes: usize,
    ) -> Result<Option<FaceLandmarks>> {
        let crop = self.landmarker.kind().from_detection(d);
        let mut landmarks = self.landmarker.run(image, crop)?;
        if landmarks.presence < self.min_presence && passes > 1 {
            // The detector's eye keypoints can be off on small or turned faces (einstein in the test data):
            // an upright crop of the same box often finds the face; and Face Mesh V2 often places the
            // points well on a painted face while doubting it (van Gogh's self-portrait: presence 0.02),
            // then is sure of it from the crop those points make (1.00).
            let upright = self.landmarker.run(image, Crop { angle: 0.0, ..crop })?;
            let refined = self
                .landmarker
                .run(image, self.landmarker.kind().follow(&landmarks.points))?;
            for other in [upright, refined] {
                if other.presence > landmarks.presence {
                    landmarks = other;
                }
            }
        }
        for _ in 1..passes {
            if landmarks.presence < self.min_presence {
                break;
            }
            landmarks = self
                .landmarker
                .run(image, self.landmarker.kind().follow(&landmarks.points))?;
        }
        Ok((landmarks.presence >= self.min_presence).then_some(landmarks))
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
        let blendshapes = match &self.blendshapes {
            Some(model) if landmarks.points.len() >= 478 => Some(model.run(&landmarks.points)?),
            _ => None,
        };
        Ok(TrackedFace {
            detection,
            landmarks,
            eyes,
            blendshapes,
        })
    }
}
