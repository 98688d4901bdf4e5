//! From a tracked face to a [`FaceFrame`]: head pose against the canonical face, the 52 ARKit expression
//! weights (from the blendshape model when it ran, else from landmark geometry in the canonical frame),
//! gaze from the irises, and calibration to a user's neutral face.

use super::pose::{PoseFit, fit_pose, rotation_from_angles};
use super::smoothing::{OneEuroFilter, OneEuroParams};
use super::tracker::TrackedFace;
use crate::face::{Expression, ExpressionWeights, FaceFrame, Gaze, HeadPose};

/// Landmark measurements in the canonical frame (units of the outer eye-corner distance, y down) that the
/// expression weights are read from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpressionFeatures {
    /// Lid gap over eye width, `[subject's right, subject's left]`.
    pub eye_open: [f32; 2],
    /// Gap between the inner lips.
    pub lip_gap: f32,
    /// Distance between the mouth corners.
    pub mouth_width: f32,
    /// Height of each mouth corner above the inner edge of the upper lip (which an opening jaw leaves where
    /// it is), `[right, left]`.
    pub corner_lift: [f32; 2],
    /// Height of the inner brow ends above the eye line.
    pub brow_inner: f32,
    /// Height of the middle of each brow above the eye line, `[right, left]`.
    pub brow: [f32; 2],
    /// Iris centre relative to the eye centre over eye width, `[[x, y] right, [x, y] left]`.
    pub iris: [[f32; 2]; 2],
}

impl ExpressionFeatures {
    /// A neutral face: measured on neutral frames of the test videos (eyes open, lips closed, relaxed
    /// mouth), used until [`FaceAnalyzer::calibrate`] measures the user's own.
    pub const TYPICAL_NEUTRAL: ExpressionFeatures = ExpressionFeatures {
        eye_open: [0.30, 0.30],
        lip_gap: 0.01,
        mouth_width: 0.62,
        corner_lift: [0.02, 0.02],
        brow_inner: 0.22,
        brow: [0.28, 0.28],
        iris: [[0.0, 0.0], [0.0, 0.0]],
    };

    /// Measures `canon` (468 mesh points in the canonical frame) and, if given, the eyes from the iris model
    /// (also in the canonical frame), whose lids follow blinks much better than the mesh's.
    pub fn measure(canon: &[[f32; 3]], eyes: Option<&[EyeDetail; 2]>) -> Self {
        let d = |a: usize, b: usize| {
            ((canon[a][0] - canon[b][0]).powi(2) + (canon[a][1] - canon[b][1]).powi(2)).sqrt()
        };
        let y = |i: usize| canon[i][1];
        let eye = |side: usize, outer: usize, inner: usize, upper: usize, lower: usize| {
            let gap = match eyes {
                Some(e) => e[side].lower[1] - e[side].upper[1],
                None => y(lower) - y(upper),
            };
            gap.max(0.0) / d(outer, inner).max(1e-6)
        };
        // Horizontally against the eye corners; vertically against the middle of the lids.
        let iris_offset = |e: &EyeDetail, a: usize, b: usize| {
            let w = d(a, b).max(1e-6);
            [
                (e.iris[0] - (canon[a][0] + canon[b][0]) / 2.0) / w,
                (e.iris[1] - (e.upper[1] + e.lower[1]) / 2.0) / w,
            ]
        };
        ExpressionFeatures {
            eye_open: [eye(0, 33, 133, 159, 145), eye(1, 263, 362, 386, 374)],
            lip_gap: (y(14) - y(13)).max(0.0),
            mouth_width: d(61, 291),
            corner_lift: [y(13) - y(61), y(13) - y(291)],
            brow_inner: -(y(107) + y(336)) / 2.0,
            brow: [-y(105), -y(334)],
            iris: match eyes {
                Some([r, l]) => [iris_offset(r, 33, 133), iris_offset(l, 362, 263)],
                None => [[0.0; 2]; 2],
            },
        }
    }
}

impl ExpressionFeatures {
    /// Measures a tracked face (pose removed with [`fit_pose`]).
    pub fn of(face: &TrackedFace) -> Self {
        let pose = fit_pose(&face.landmarks.points);
        let (canon, eyes) = to_canonical(face, &pose);
        Self::measure(&canon, eyes.as_ref())
    }
}

/// One eye from the iris model, in the canonical frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EyeDetail {
    /// Iris centre.
    pub iris: [f32; 3],
    /// Middle of the upper lid (the iris model's contour point 12, the mesh's 159 or 386).
    pub upper: [f32; 3],
    /// Middle of the lower lid (contour point 4, the mesh's 145 or 374).
    pub lower: [f32; 3],
}

/// The neutral a face is measured against: expression features, and head pose.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Features of the neutral face.
    pub features: ExpressionFeatures,
    /// The neutral head pose (its angles are subtracted; translation and scale are measured from it).
    pub pose: Option<PoseFit>,
    /// The neutral mesh in the canonical frame (expression offsets are measured from it; the canonical face
    /// when not calibrated).
    pub points: Option<Vec<[f32; 3]>>,
    /// The blendshape model's weights on the neutral face: each channel then reads 0 there and 1 at full
    /// (`(w - neutral) / (1 - neutral)`). `None`: the model's weights as they are.
    pub blendshapes: Option<ExpressionWeights>,
}

/// Turns [`TrackedFace`]s into [`FaceFrame`]s, with smoothing of the head angles.
#[derive(Clone, Debug)]
pub struct FaceAnalyzer {
    /// The neutral reference.
    pub calibration: Calibration,
    /// Smoothing of yaw, pitch and roll.
    pub angle_smoothing: OneEuroParams,
    filters: [OneEuroFilter; 3],
    first_pose: Option<PoseFit>,
}

impl Default for FaceAnalyzer {
    fn default() -> Self {
        Self {
            calibration: Calibration {
                features: ExpressionFeatures::TYPICAL_NEUTRAL,
                pose: None,
                points: None,
                blendshapes: None,
            },
            angle_smoothing: OneEuroParams::ANGLES,
            filters: Default::default(),
            first_pose: None,
        }
    }
}

fn clamp01(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Canonical-frame mesh and eyes of a tracked face under `pose`.
fn to_canonical(face: &TrackedFace, pose: &PoseFit) -> (Vec<[f32; 3]>, Option<[EyeDetail; 2]>) {
    let points = &face.landmarks.points;
    let canon: Vec<[f32; 3]> = points
        .iter()
        .take(468)
        .map(|p| pose.to_canonical(*p))
        .collect();
    let eyes = match &face.eyes {
        Some(eyes) => Some(eyes.clone().map(|e| EyeDetail {
            iris: pose.to_canonical(e.iris[0]),
            upper: pose.to_canonical(e.contour[12]),
            lower: pose.to_canonical(e.contour[4]),
        })),
        // Face Mesh V2: its own irises, and the lids of the mesh (which V2 follows through blinks).
        None => face.irises().map(|irises| {
            [(0, 159, 145), (1, 386, 374)].map(|(side, upper, lower)| EyeDetail {
                iris: pose.to_canonical(irises[side][0]),
                upper: canon[upper],
                lower: canon[lower],
            })
        }),
    };
    (canon, eyes)
}

impl FaceAnalyzer {
    /// Makes `face` the neutral: its expression reads as all zeros and its pose as the origin.
    pub fn calibrate(&mut self, face: &TrackedFace) {
        let pose = fit_pose(&face.landmarks.points);
        let (canon, eyes) = to_canonical(face, &pose);
        let features = ExpressionFeatures::measure(&canon, eyes.as_ref());
        self.calibration = Calibration {
            features,
            pose: Some(pose),
            points: Some(canon),
            blendshapes: face.blendshapes,
        };
        self.filters = Default::default();
    }

    /// The expression as landmark offsets in the canonical frame: each of the 468 points minus the same
    /// point of the neutral face (the calibrated one, else the canonical face), with head pose removed. Units
    /// of the outer eye-corner distance; retargeting scales them to a portrait's proportions.
    pub fn expression_offsets(&self, face: &TrackedFace) -> Vec<[f32; 3]> {
        let pose = fit_pose(&face.landmarks.points);
        let neutral = self
            .calibration
            .points
            .as_deref()
            .unwrap_or(super::pose::canonical_face());
        face.landmarks
            .points
            .iter()
            .zip(neutral)
            .map(|(p, n)| {
                let c = pose.to_canonical(*p);
                [c[0] - n[0], c[1] - n[1], c[2] - n[2]]
            })
            .collect()
    }

    /// The driver's own motion for landmark-faithful driving: `face`'s mesh and the neutral one (the
    /// calibrated face, else the canonical face), both in the canonical frame with head pose removed,
    /// and the head's rigid motion from the calibrated pose (none without a calibration).
    pub fn landmark_motion(&self, face: &TrackedFace) -> crate::face::LandmarkMotion {
        let pose = fit_pose(&face.landmarks.points);
        let neutral = self
            .calibration
            .points
            .clone()
            .unwrap_or_else(|| super::pose::canonical_face().to_vec());
        let current = face
            .landmarks
            .points
            .iter()
            .take(crate::face::MOTION_POINTS)
            .map(|p| pose.to_canonical(*p))
            .collect();
        let mut motion = crate::face::LandmarkMotion::new(std::sync::Arc::new(neutral), current);
        motion.rigid = self.calibration.pose.map(|n| {
            // rotation = R * Rn^T; the origin's move in the neutral face's units.
            let rotation = std::array::from_fn(|i| {
                std::array::from_fn(|j| {
                    (0..3)
                        .map(|k| pose.rotation[i][k] * n.rotation[j][k])
                        .sum::<f32>()
                })
            });
            crate::face::RigidMotion {
                rotation,
                scale: pose.scale / n.scale,
                shift: std::array::from_fn(|k| (pose.translation[k] - n.translation[k]) / n.scale),
            }
        });
        motion
    }

    /// Forgets the calibration and the smoothing history.
    pub fn reset(&mut self) {
        *self = Self {
            angle_smoothing: self.angle_smoothing,
            ..Self::default()
        };
    }

    /// The face as a [`FaceFrame`] at time `t` (seconds).
    pub fn analyze(&mut self, face: &TrackedFace, t: f64) -> FaceFrame {
        let pose = fit_pose(&face.landmarks.points);
        // Translation and scale are measured from the calibrated pose, or else from the first face seen;
        // angles from the calibrated pose, or else from the canonical (frontal) face.
        let reference = match self.calibration.pose {
            Some(p) => p,
            None => *self.first_pose.get_or_insert(pose),
        };
        let neutral_angles = self
            .calibration
            .pose
            .map_or([0.0; 3], |p| [p.yaw, p.pitch, p.roll]);
        let mut frame = FaceFrame {
            time: t,
            ..FaceFrame::default()
        };
        let angles = [
            pose.yaw - neutral_angles[0],
            pose.pitch - neutral_angles[1],
            pose.roll - neutral_angles[2],
        ];
        let mut smoothed = [0.0; 3];
        for k in 0..3 {
            smoothed[k] = self.filters[k].filter(angles[k], t, &self.angle_smoothing);
        }
        // A head turns about the neck, which moves the point between the eyes (the pose's origin) too:
        // renderers turn the head about the same pivot ([`HEAD_PIVOT`]), so the translation is what the
        // turn does not explain (else the turn's own shift would be applied twice).
        let turned = rotation_from_angles(smoothed[0], smoothed[1], smoothed[2]);
        let (pivot, grown) = (super::pose::HEAD_PIVOT, pose.scale / reference.scale);
        let origin_shift: [f32; 3] = std::array::from_fn(|k| {
            pivot[k] - grown * (0..3).map(|j| turned[k][j] * pivot[j]).sum::<f32>()
        });
        let in_image: [f32; 2] = std::array::from_fn(|k| {
            reference.scale
                * (0..3)
                    .map(|j| reference.rotation[k][j] * origin_shift[j])
                    .sum::<f32>()
        });
        frame.head = HeadPose {
            yaw: smoothed[0],
            pitch: smoothed[1],
            roll: smoothed[2],
            // Face widths: the canonical unit is the eye-corner distance, a face is about 1.5 of them.
            translation: [
                (pose.translation[0] - reference.translation[0] - in_image[0])
                    / (1.5 * reference.scale),
                -(pose.translation[1] - reference.translation[1] - in_image[1])
                    / (1.5 * reference.scale),
                0.0,
            ],
            scale: pose.scale / reference.scale,
        };

        if let Some(weights) = &face.blendshapes {
            // The blendshape model reads all 52 (gaze too, as the eyeLook weights: the gaze angles stay 0 so
            // renderers do not turn the eyes twice); calibrated per channel against the neutral face.
            // Linear, blinks included: the model's eyeBlink reads about 0.7 on closed eyes, but boosting it
            // (to close the portrait's eyes fully) also closed lids lowered to look down, and a painting
            // with small eyes then lost its downward gaze (round trip through Mona Lisa: eyeLookDown r 0.57
            // -> 0.09, eyeBlink 0.73 -> 0.42).
            frame.expressions =
                weights.relative_to(&self.calibration.blendshapes.unwrap_or_default());
            return frame;
        }
        // Without the blendshape model: rules on the mesh's geometry.
        let (canon, eyes) = to_canonical(face, &pose);
        let f = ExpressionFeatures::measure(&canon, eyes.as_ref());
        let n = self.calibration.features;
        let e = &mut frame.expressions;
        // ARKit's Left and Right are the face's own sides: its right eye is on the image left.
        for (side, blink, wide) in [
            (0, Expression::EyeBlinkRight, Expression::EyeWideRight),
            (1, Expression::EyeBlinkLeft, Expression::EyeWideLeft),
        ] {
            let open = n.eye_open[side].max(1e-3);
            e.set(blink, clamp01((open - f.eye_open[side]) / (0.75 * open)));
            e.set(wide, clamp01((f.eye_open[side] - open) / (0.4 * open)));
        }
        let jaw = clamp01((f.lip_gap - n.lip_gap) / 0.45);
        e.set(Expression::JawOpen, jaw);
        let width = n.mouth_width.max(1e-3);
        let stretch = (f.mouth_width - width) / (0.2 * width);
        for (side, smile) in [
            (0, Expression::MouthSmileRight),
            (1, Expression::MouthSmileLeft),
        ] {
            let lift = (f.corner_lift[side] - n.corner_lift[side]) / 0.08;
            e.set(smile, clamp01(0.7 * lift + 0.3 * stretch));
        }
        let narrow = clamp01((width - f.mouth_width) / (0.25 * width));
        e.set(Expression::MouthPucker, narrow * (1.0 - clamp01(jaw * 4.0)));
        e.set(Expression::MouthFunnel, narrow * clamp01(jaw * 4.0));
        e.set(
            Expression::BrowInnerUp,
            clamp01((f.brow_inner - n.brow_inner) / 0.1),
        );
        e.set(
            Expression::BrowDownRight,
            clamp01((n.brow[0] - f.brow[0]) / 0.06),
        );
        e.set(
            Expression::BrowDownLeft,
            clamp01((n.brow[1] - f.brow[1]) / 0.06),
        );

        if eyes.is_some() {
            // The iris sits on a ball about half an eye-width in radius.
            let angle = |offset: f32| (2.0 * offset).clamp(-1.0, 1.0).asin();
            let g = |side: usize| {
                [
                    angle(f.iris[side][0] - n.iris[side][0]),
                    angle(-(f.iris[side][1] - n.iris[side][1])),
                ]
            };
            frame.gaze = Gaze {
                right: g(0),
                left: g(1),
            };
        }
        frame
    }
}
