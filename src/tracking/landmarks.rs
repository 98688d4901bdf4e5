//! The 468-point face mesh and the iris models, run on rotated crops.

use std::sync::Arc;

use super::crop::{Crop, ImageView};
use super::detector::Detection;
use crate::error::Result;
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

/// The 468 landmarks of one face, in image pixels (`z` on the same scale, negative towards the camera).
#[derive(Clone, Debug, PartialEq)]
pub struct FaceLandmarks {
    /// 468 points `[x, y, z]`.
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
        angle,
        size: 192,
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
        angle,
        size: 192,
        mirror: false,
    }
}

/// Runs a landmark model (input `image`, RGB in 0..1) on `crop` of `image`.
fn run_on_crop(
    model: &OnnxModel,
    image: &ImageView<'_>,
    crop: &Crop,
    outputs: &[&str],
) -> Result<Vec<TensorData>> {
    let n = crop.size as i64;
    let input = crop.sample_chw(image, 1.0 / 255.0, 0.0, false);
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

/// The face-mesh model.
#[derive(Debug, Clone)]
pub struct FaceLandmarker {
    model: Arc<OnnxModel>,
}

impl FaceLandmarker {
    /// Wraps a model, checking its contract.
    pub fn new(model: Arc<OnnxModel>) -> Result<Self> {
        model.check(&contracts::FACE_LANDMARKS)?;
        Ok(Self { model })
    }

    /// Runs the mesh on `crop` of `image`.
    pub fn run(&self, image: &ImageView<'_>, crop: Crop) -> Result<FaceLandmarks> {
        let crop = Crop { size: 192, ..crop };
        let out = run_on_crop(&self.model, image, &crop, &["landmarks", "presence"])?;
        let points = out[0]
            .data
            .chunks_exact(3)
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
            angle,
            size: 64,
            mirror,
        };
        let out = run_on_crop(&self.model, image, &crop, &["eye_contour", "iris"])?;
        let map = |p: &[f32]| crop_point(&crop, p);
        let contour = out[0].data.chunks_exact(3).map(map).collect();
        let mut iris = [[0.0; 3]; 5];
        for (dst, p) in iris.iter_mut().zip(out[1].data.chunks_exact(3)) {
            *dst = map(p);
        }
        Ok(EyeLandmarks { contour, iris })
    }
}
