//! The face meshes (MediaPipe's 468-point mesh and Face Mesh V2's 478 points) and the iris model, run on
//! rotated crops.

use std::sync::Arc;

use super::crop::{Crop, ImageView, Sampling};
use super::detector::Detection;
use crate::error::Result;
use crate::math::bounds;
use crate::onnx::{OnnxModel, TensorData, contracts};

/// Mesh points that the crops are built from.
pub mod points {
    /// Outer corner of the eye on the image's left (the subject's right eye).
    pub const RIGHT_EYE_OUTER: usize = 33;
    /// Inner corner of the subject's right eye.
    pub const RIGHT_EYE_INNER: usize = 133;
    /// Inner corner of the subject's left eye.
    pub const LEFT_EYE_INNER: usize = 362;
    /// Outer corner of the subject's left eye (on the image's right).
    pub const LEFT_EYE_OUTER: usize = 263;
}

/// The landmarks of one face, in image pixels (`z` on the same scale, negative towards the camera).
#[derive(Clone, Debug, PartialEq)]
pub struct FaceLandmarks {
    /// 468 mesh points `[x, y, z]`, then (from Face Mesh V2) the irises: 468-472 the subject's right iris
    /// (centre first), 473-477 the left.
    pub points: Vec<[f32; 3]>,
    /// Probability that a face is in the crop.
    pub presence: f32,
    /// The crop they were found in.
    pub crop: Crop,
}

/// The crop the landmark model wants around a detection: rotated so the eyes are level, 1.5x the box.
pub fn crop_from_detection(d: &Detection) -> Crop {
    let [a, b] = [d.keypoints[0], d.keypoints[1]];
    let angle = (b[1] - a[1]).atan2(b[0] - a[0]);
    Crop {
        centre: d.centre,
        side: 1.5 * d.size[0].max(d.size[1]),
        aspect: 1.0,
        angle,
        size: 192,
        mirror: false,
    }
}

/// The crop around a detection as MediaPipe's Face Landmarker makes it (`face_detector_graph.cc`:
/// DetectionsToRects with the eye keypoints 0 -> 1 level, RectTransformation 1.5 x 1.5, no squaring): the
/// detection's box, 1.5 times wider and 1.5 times taller, turned with the eyes; not square when the box is
/// not (the mesh's ImageToTensor stretches it to the model's square input, `keep_aspect_ratio` false).
pub fn crop_from_detection_mediapipe(d: &Detection, size: u32) -> Crop {
    let [a, b] = [d.keypoints[0], d.keypoints[1]];
    let angle = (b[1] - a[1]).atan2(b[0] - a[0]);
    let [w, h] = d.size;
    Crop {
        centre: d.centre,
        side: 1.5 * w,
        aspect: if w > 0.0 { h / w } else { 1.0 },
        angle,
        size,
        mirror: false,
    }
}

/// The crop for the next frame from this frame's landmarks: eyes level, 1.5x the box around all points.
pub fn crop_from_landmarks(points: &[[f32; 3]]) -> Crop {
    let a = points[points::RIGHT_EYE_OUTER];
    let b = points[points::LEFT_EYE_OUTER];
    let angle = (b[1] - a[1]).atan2(b[0] - a[0]);
    let (s, c) = angle.sin_cos();
    // Bounding box in the rotated frame.
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in points {
        let u = c * p[0] + s * p[1];
        let v = -s * p[0] + c * p[1];
        lo = [lo[0].min(u), lo[1].min(v)];
        hi = [hi[0].max(u), hi[1].max(v)];
    }
    let (mu, mv) = ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
    let centre = [c * mu - s * mv, s * mu + c * mv];
    let side = 1.5 * (hi[0] - lo[0]).max(hi[1] - lo[1]);
    Crop {
        centre,
        side,
        aspect: 1.0,
        angle,
        size: 192,
        mirror: false,
    }
}

/// The crop for the next frame as MediaPipe's Face Landmarker makes it: the upright bounding box of all the
/// points, turned so the outer eye corners (33, 263) are level, squared on its longer side and scaled 1.5
/// (`face_landmarks_detector_graph.cc`: LandmarksToDetection, DetectionsToRects, RectTransformation).
pub fn crop_from_landmarks_mediapipe(points: &[[f32; 3]], size: u32) -> Crop {
    let a = points[points::RIGHT_EYE_OUTER];
    let b = points[points::LEFT_EYE_OUTER];
    let angle = (b[1] - a[1]).atan2(b[0] - a[0]);
    let (lo, hi) = bounds(points.iter().map(|p| [p[0], p[1]]));
    Crop {
        centre: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0],
        side: 1.5 * (hi[0] - lo[0]).max(hi[1] - lo[1]),
        aspect: 1.0,
        angle,
        size,
        mirror: false,
    }
}

/// Runs a landmark model (input `image`, RGB in 0..1) on `crop` of `image`.
fn run_on_crop(
    model: &OnnxModel,
    image: &ImageView<'_>,
    crop: &Crop,
    outputs: &[&str],
    sampling: Sampling,
) -> Result<Vec<TensorData>> {
    let n = crop.size as i64;
    let input = crop.sample_chw_with(image, 1.0 / 255.0, 0.0, false, sampling);
    model.run(
        vec![(
            "image",
            TensorData {
                shape: vec![1, 3, n, n],
                data: input,
            },
        )],
        outputs,
    )
}

/// A model output point `[x, y, z]` in crop pixels, in image pixels.
fn crop_point(crop: &Crop, p: &[f32]) -> [f32; 3] {
    let [x, y] = crop.to_image(p[0], p[1]);
    [x, y, p[2] * crop.scale()]
}

/// Which face-mesh model a [`FaceLandmarker`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshModel {
    /// MediaPipe's first face mesh (`face_landmarks.onnx`): 468 points from a 192 px crop; the irises
    /// come from the separate iris model.
    V1,
    /// Face Mesh V2 from Google's Face Landmarker (`face_mesh_v2.onnx`): 478 points, irises included,
    /// from a 256 px crop.
    V2,
}

impl MeshModel {
    /// The crop side in model pixels.
    pub fn input_size(self) -> u32 {
        match self {
            MeshModel::V1 => 192,
            MeshModel::V2 => 256,
        }
    }

    /// How many points it gives.
    pub fn points(self) -> usize {
        match self {
            MeshModel::V1 => 468,
            MeshModel::V2 => 478,
        }
    }

    /// How its input is read from the crop ([`Crop::sample_chw_with`]). V2 as Google's MediaPipe cuts it
    /// on CPU ([`Sampling::MediaPipe`]: OpenCV's warpPerspective, its pixel convention, 8-bit values);
    /// V1 at the pixel centre, as its Python reference.
    pub fn sampling(self) -> Sampling {
        match self {
            MeshModel::V1 => Sampling::At(0.5),
            MeshModel::V2 => Sampling::MediaPipe,
        }
    }

    /// The first crop of a face from its detection, as the model's own pipeline makes it: V2 as MediaPipe's
    /// Face Landmarker ([`crop_from_detection_mediapipe`], the box 1.5x each way, stretched to the square
    /// input), V1 square on the longer side ([`crop_from_detection`]).
    pub fn from_detection(self, d: &Detection) -> Crop {
        match self {
            MeshModel::V1 => crop_from_detection(d),
            MeshModel::V2 => crop_from_detection_mediapipe(d, self.input_size()),
        }
    }

    /// The crop that follows a face from its points, as the model's own pipeline makes it.
    pub fn follow(self, points: &[[f32; 3]]) -> Crop {
        match self {
            MeshModel::V1 => crop_from_landmarks(points),
            MeshModel::V2 => crop_from_landmarks_mediapipe(points, self.input_size()),
        }
    }
}

/// A face-mesh model ([`MeshModel::V1`] or [`MeshModel::V2`], told apart by their contracts).
#[derive(Debug, Clone)]
pub struct FaceLandmarker {
    model: Arc<OnnxModel>,
    kind: MeshModel,
}

impl FaceLandmarker {
    /// Wraps a model, checking that it follows [`contracts::FACE_MESH_V2`] or [`contracts::FACE_LANDMARKS`].
    pub fn new(model: Arc<OnnxModel>) -> Result<Self> {
        let kind = match model.check(&contracts::FACE_MESH_V2) {
            Ok(()) => MeshModel::V2,
            Err(v2) => match model.check(&contracts::FACE_LANDMARKS) {
                Ok(()) => MeshModel::V1,
                // A model meant for V2 (478 points) reports against V2; anything else against V1.
                Err(v1) => {
                    let for_v2 = model
                        .inputs()
                        .iter()
                        .any(|i| i.name == "image" && i.shape.last() == Some(&256));
                    return Err(if for_v2 { v2 } else { v1 });
                }
            },
        };
        Ok(Self { model, kind })
    }

    /// Which mesh model this is.
    pub fn kind(&self) -> MeshModel {
        self.kind
    }

    /// Runs the mesh on `crop` of `image` (the crop's `size` is set to the model's).
    pub fn run(&self, image: &ImageView<'_>, crop: Crop) -> Result<FaceLandmarks> {
        let crop = Crop {
            size: self.kind.input_size(),
            ..crop
        };
        let sampling = self.kind.sampling();
        let out = run_on_crop(
            &self.model,
            image,
            &crop,
            &["landmarks", "presence"],
            sampling,
        )?;
        let n = self.kind.points();
        if out[0].data.len() < 3 * n || out[1].data.is_empty() {
            return Err(crate::error::Error::Inference {
                path: self.model.label().to_owned(),
                message: format!(
                    "the face mesh gave {} landmark values and {} presence values ({} and 1 expected)",
                    out[0].data.len(),
                    out[1].data.len(),
                    3 * n
                ),
                source: None,
            });
        }
        let points = out[0]
            .data
            .chunks_exact(3)
            .take(n)
            .map(|p| crop_point(&crop, p))
            .collect();
        let presence = 1.0 / (1.0 + (-out[1].data[0]).exp());
        Ok(FaceLandmarks {
            points,
            presence,
            crop,
        })
    }
}

/// One eye from the iris model, in image pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct EyeLandmarks {
    /// 71 points of the eye contour and brow.
    pub contour: Vec<[f32; 3]>,
    /// Iris centre then 4 points on its edge.
    pub iris: [[f32; 3]; 5],
}

/// The iris model.
#[derive(Debug, Clone)]
pub struct IrisLandmarker {
    model: Arc<OnnxModel>,
}

impl IrisLandmarker {
    /// Wraps a model, checking its contract.
    pub fn new(model: Arc<OnnxModel>) -> Result<Self> {
        model.check(&contracts::IRIS_LANDMARKS)?;
        Ok(Self { model })
    }

    /// Both eyes of a face: `[subject's right (image left), subject's left]`.
    pub fn run(&self, image: &ImageView<'_>, face: &[[f32; 3]]) -> Result<[EyeLandmarks; 2]> {
        let right = self.eye(
            image,
            face[points::RIGHT_EYE_OUTER],
            face[points::RIGHT_EYE_INNER],
            false,
        )?;
        // The model knows one eye; the other is mirrored in and out.
        let left = self.eye(
            image,
            face[points::LEFT_EYE_INNER],
            face[points::LEFT_EYE_OUTER],
            true,
        )?;
        Ok([right, left])
    }

    fn eye(
        &self,
        image: &ImageView<'_>,
        a: [f32; 3],
        b: [f32; 3],
        mirror: bool,
    ) -> Result<EyeLandmarks> {
        let centre = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        let width = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        let angle = (b[1] - a[1]).atan2(b[0] - a[0]);
        let crop = Crop {
            centre,
            side: 2.3 * width.max(1.0),
            aspect: 1.0,
            angle,
            size: 64,
            mirror,
        };
        let out = run_on_crop(
            &self.model,
            image,
            &crop,
            &["eye_contour", "iris"],
            Sampling::At(0.5),
        )?;
        let map = |p: &[f32]| crop_point(&crop, p);
        let contour = out[0].data.chunks_exact(3).map(map).collect();
        let mut iris = [[0.0; 3]; 5];
        for (dst, p) in iris.iter_mut().zip(out[1].data.chunks_exact(3)) {
            *dst = map(p);
        }
        Ok(EyeLandmarks { contour, iris })
    }
}
