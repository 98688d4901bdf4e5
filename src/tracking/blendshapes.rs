//! [`BlendshapeModel`]: MediaPipe's Blendshape V2, which reads the 52 ARKit weights from 146 of Face Mesh
//! V2's 478 points, prepared as MediaPipe's `face_blendshapes_graph.cc` prepares them.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::face::{Expression, ExpressionWeights};
use crate::onnx::{OnnxModel, TensorData, contracts};

/// The points the model reads, in its input order (`kLandmarksSubsetIdxs` in MediaPipe's
/// `face_blendshapes_graph.cc`): 136 mesh points and the 10 iris points.
pub const BLENDSHAPE_POINTS: [u16; 146] = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
];

/// The model's 52 outputs by name (`kBlendshapeNames`): `_neutral`, then 51 of ARKit's 52 (it has no
/// `tongueOut`).
pub const BLENDSHAPE_NAMES: [&str; 52] = [
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
];

/// MediaPipe's Blendshape V2 (`face_blendshapes.onnx`, [`contracts::FACE_BLENDSHAPES`]).
#[derive(Debug, Clone)]
pub struct BlendshapeModel {
    model: Arc<OnnxModel>,
}

impl BlendshapeModel {
    /// Wraps a model, checking its contract.
    pub fn new(model: Arc<OnnxModel>) -> Result<Self> {
        model.check(&contracts::FACE_BLENDSHAPES)?;
        Ok(Self { model })
    }

    /// The model's 52 scores in its own order ([`BLENDSHAPE_NAMES`]) for a face's 478 points in image
    /// pixels (MediaPipe feeds the normalised landmarks times the image size, which is the same).
    pub fn scores(&self, points: &[[f32; 3]]) -> Result<[f32; 52]> {
        if points.len() < 478 {
            return Err(Error::Inference {
                path: self.model.label().to_owned(),
                message: format!(
                    "the blendshape model needs Face Mesh V2's 478 points, not {}",
                    points.len()
                ),
                source: None,
            });
        }
        let data = BLENDSHAPE_POINTS
            .iter()
            .flat_map(|&i| {
                let p = points[i as usize];
                [p[0], p[1]]
            })
            .collect();
        let out = self.model.run(
            vec![(
                "points",
                TensorData {
                    shape: vec![1, 146, 2],
                    data,
                },
            )],
            &["blendshapes"],
        )?;
        let values = &out[0].data;
        let finite = values.iter().all(|v| v.is_finite());
        if values.len() != 52 || !finite {
            return Err(Error::Inference {
                path: self.model.label().to_owned(),
                message: format!(
                    "the blendshape model gave {} values{} (52 finite scores expected)",
                    values.len(),
                    if finite { "" } else { ", not all finite" }
                ),
                source: None,
            });
        }
        let mut scores = [0.0; 52];
        scores.copy_from_slice(values);
        Ok(scores)
    }

    /// The 52 ARKit weights for a face's 478 points: the model's 51 named scores, `tongueOut` 0.
    pub fn run(&self, points: &[[f32; 3]]) -> Result<ExpressionWeights> {
        Ok(to_weights(&self.scores(points)?))
    }
}

/// The model's scores ([`BLENDSHAPE_NAMES`] order) as ARKit weights (`_neutral` dropped, `tongueOut` 0).
pub fn to_weights(scores: &[f32; 52]) -> ExpressionWeights {
    let mut weights = ExpressionWeights::default();
    for (name, &score) in BLENDSHAPE_NAMES.iter().zip(scores).skip(1) {
        if let Ok(e) = name.parse::<Expression>() {
            weights.set(e, score.clamp(0.0, 1.0));
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_name_but_neutral_is_an_arkit_expression_and_only_tongue_out_is_missing() {
        let named: Vec<Expression> = BLENDSHAPE_NAMES[1..]
            .iter()
            .map(|n| {
                n.parse()
                    .unwrap_or_else(|_| panic!("{n} is not an ARKit name"))
            })
            .collect();
        let missing: Vec<_> = Expression::ALL
            .iter()
            .filter(|e| !named.contains(e))
            .collect();
        assert_eq!(missing, [&Expression::TongueOut]);
        let mut scores = [0.0; 52];
        scores[25] = 0.7; // jawOpen
        scores[0] = 0.9; // _neutral
        let w = to_weights(&scores);
        assert_eq!(w.get(Expression::JawOpen), 0.7);
        assert_eq!(w.as_slice().iter().sum::<f32>(), 0.7);
    }

    #[test]
    fn the_subset_is_sorted_mesh_and_iris_points() {
        assert!(BLENDSHAPE_POINTS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(*BLENDSHAPE_POINTS.last().unwrap(), 477);
        assert_eq!(BLENDSHAPE_POINTS.iter().filter(|&&i| i >= 468).count(), 10);
    }
}
