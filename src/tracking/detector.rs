//! BlazeFace face detection: letterbox, run, decode anchors, weighted non-max suppression.

use std::sync::Arc;

use super::crop::{Crop, ImageView, Sampling};
use crate::error::Result;
use crate::onnx::{ModelContract, OnnxModel, TensorData, contracts};

/// A face found by the detector, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// Confidence in `0..1`.
    pub score: f32,
    /// Box centre.
    pub centre: [f32; 2],
    /// Box width and height.
    pub size: [f32; 2],
    /// Keypoints: 0 and 1 the eyes (image left, image right), 2 nose tip, 3 mouth, 4 and 5 the ears.
    pub keypoints: [[f32; 2]; 6],
}

impl Detection {
    /// Whether every number is finite, the score positive and the box not empty: what non-max suppression
    /// and the landmark crop need. A model that yields NaN or infinity (a float16 execution provider, a
    /// corrupt file) produces detections that are not.
    pub fn is_sane(&self) -> bool {
        self.score.is_finite()
            && self.score > 0.0
            && self.centre.iter().all(|v| v.is_finite())
            && self.size.iter().all(|v| v.is_finite() && *v > 0.0)
            && self.keypoints.iter().flatten().all(|v| v.is_finite())
    }

    fn iou(&self, other: &Detection) -> f32 {
        let (a0, a1) = self.corners();
        let (b0, b1) = other.corners();
        let w = (a1[0].min(b1[0]) - a0[0].max(b0[0])).max(0.0);
        let h = (a1[1].min(b1[1]) - a0[1].max(b0[1])).max(0.0);
        let inter = w * h;
        let union = self.size[0] * self.size[1] + other.size[0] * other.size[1] - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    fn corners(&self) -> ([f32; 2], [f32; 2]) {
        let [cx, cy] = self.centre;
        let [w, h] = self.size;
        ([cx - w / 2.0, cy - h / 2.0], [cx + w / 2.0, cy + h / 2.0])
    }
}

/// Which BlazeFace model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectorKind {
    /// Faces within about 2 m of a webcam (128 px input, 896 anchors).
    ShortRange,
    /// Faces up to about 5 m, small faces in photos (192 px input, 2304 anchors).
    FullRange,
}

impl DetectorKind {
    fn input(self) -> u32 {
        match self {
            DetectorKind::ShortRange => 128,
            DetectorKind::FullRange => 192,
        }
    }

    /// The contract its model must fit.
    pub fn contract(self) -> &'static ModelContract {
        match self {
            DetectorKind::ShortRange => &contracts::FACE_DETECTOR,
            DetectorKind::FullRange => &contracts::FACE_DETECTOR_FULL_RANGE,
        }
    }

    /// Anchor centres (normalised), in the order of the model's outputs.
    fn anchors(self) -> Vec<[f32; 2]> {
        // (cells per side, anchors per cell) for each stride.
        let layers: &[(u32, u32)] = match self {
            DetectorKind::ShortRange => &[(16, 2), (8, 6)],
            DetectorKind::FullRange => &[(48, 1)],
        };
        let mut out = Vec::new();
        for &(n, per_cell) in layers {
            for y in 0..n {
                for x in 0..n {
                    for _ in 0..per_cell {
                        out.push([(x as f32 + 0.5) / n as f32, (y as f32 + 0.5) / n as f32]);
                    }
                }
            }
        }
        out
    }
}

/// The BlazeFace detector on a model that fits its contract.
#[derive(Debug, Clone)]
pub struct FaceDetector {
    model: Arc<OnnxModel>,
    kind: DetectorKind,
    anchors: Vec<[f32; 2]>,
    /// Minimum score of a detection.
    pub min_score: f32,
    /// Overlap (intersection over union) above which detections are merged.
    pub iou_threshold: f32,
    /// How the input is read from the image: by default as MediaPipe's Face Detector reads it
    /// ([`Sampling::MediaPipe`]).
    pub sampling: Sampling,
}

impl FaceDetector {
    /// Wraps a model, checking its contract.
    pub fn new(model: Arc<OnnxModel>, kind: DetectorKind) -> Result<Self> {
        model.check(kind.contract())?;
        Ok(Self {
            model,
            kind,
            anchors: kind.anchors(),
            // MediaPipe's Face Detector: min_detection_confidence 0.5, min_suppression_threshold 0.5
            // (face_detector_graph_options.proto).
            min_score: 0.5,
            iou_threshold: 0.5,
            sampling: Sampling::MediaPipe,
        })
    }

    /// Which model this is.
    pub fn kind(&self) -> DetectorKind {
        self.kind
    }

    /// Finds faces in the whole image (letterboxed to a square), best first (MediaPipe's order).
    pub fn detect(&self, image: &ImageView<'_>) -> Result<Vec<Detection>> {
        let (w, h) = (image.width() as f32, image.height() as f32);
        self.detect_in(image, [w / 2.0, h / 2.0], w.max(h))
    }

    /// Finds faces in the square region of `side` pixels centred on `centre` (black outside the image).
    pub fn detect_in(
        &self,
        image: &ImageView<'_>,
        centre: [f32; 2],
        side: f32,
    ) -> Result<Vec<Detection>> {
        let n = self.kind.input();
        let crop = Crop {
            centre,
            side,
            aspect: 1.0,
            angle: 0.0,
            size: n,
            mirror: false,
        };
        // MediaPipe's Face Detector letterboxes with BORDER_ZERO and reads with OpenCV's bilinear filter
        // (no antialiasing): a large picture aliases in the 128 px input, so only the same pixels give the
        // same box.
        let input = crop.sample_chw_with(image, 1.0 / 127.5, -1.0, true, self.sampling);
        let out = self.model.run(
            vec![(
                "image",
                TensorData {
                    shape: vec![1, 3, n as i64, n as i64],
                    data: input,
                },
            )],
            &["regressors", "classificators"],
        )?;
        let (regressors, scores) = (&out[0].data, &out[1].data);
        let nf = n as f32;
        let mut found = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = 1.0 / (1.0 + (-scores[i].clamp(-100.0, 100.0)).exp());
            // A NaN score (a model or execution provider gone wrong) is rejected too.
            if score.is_nan() || score < self.min_score {
                continue;
            }
            let r = &regressors[i * 16..(i + 1) * 16];
            let to_image = |dx: f32, dy: f32| {
                crop.to_image((dx / nf + anchor[0]) * nf, (dy / nf + anchor[1]) * nf)
            };
            let mut keypoints = [[0.0; 2]; 6];
            for (k, kp) in keypoints.iter_mut().enumerate() {
                *kp = to_image(r[4 + 2 * k], r[5 + 2 * k]);
            }
            let detection = Detection {
                score,
                centre: to_image(r[0], r[1]),
                size: [r[2] * crop.scale(), r[3] * crop.scale()],
                keypoints,
            };
            if detection.is_sane() {
                found.push(detection);
            }
        }
        Ok(weighted_nms(found, self.iou_threshold))
    }
}

/// Merges overlapping detections into their score-weighted average, best first.
///
/// Detections that are not [`Detection::is_sane`] (NaN or infinite numbers, a score of 0, an empty box)
/// are dropped first. It ends for any input and returns at most as many detections as it was given: each
/// round removes the best detection by position, not by comparing it with itself (NaN != NaN).
pub fn weighted_nms(mut detections: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    detections.retain(Detection::is_sane);
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !detections.is_empty() {
        let best = detections.remove(0);
        let mut group = vec![best];
        let (merged_in, rest): (Vec<Detection>, Vec<Detection>) = detections
            .into_iter()
            .partition(|d| d.iou(&best) > iou_threshold);
        group.extend(merged_in);
        detections = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = best;
        merged.centre = [0.0; 2];
        merged.size = [0.0; 2];
        merged.keypoints = [[0.0; 2]; 6];
        for d in &group {
            let w = d.score / total;
            for k in 0..2 {
                merged.centre[k] += d.centre[k] * w;
                merged.size[k] += d.size[k] * w;
            }
            for (m, p) in merged.keypoints.iter_mut().zip(d.keypoints) {
                m[0] += p[0] * w;
                m[1] += p[1] * w;
            }
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_match_the_model_outputs() {
        let a = DetectorKind::ShortRange.anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[512], [0.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(a[895], [7.5 / 8.0, 7.5 / 8.0]);
        assert_eq!(DetectorKind::FullRange.anchors().len(), 2304);
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_apart_faces() {
        let d = |score, cx: f32| Detection {
            score,
            centre: [cx, 10.0],
            size: [10.0, 10.0],
            keypoints: [[cx, 10.0]; 6],
        };
        let out = weighted_nms(vec![d(0.6, 12.0), d(0.9, 10.0), d(0.8, 100.0)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        assert!((out[0].centre[0] - (10.0 * 0.9 + 12.0 * 0.6) / 1.5).abs() < 1e-4);
        assert_eq!(out[1].centre[0], 100.0);
    }
}
