//! Retargeting: a [`FaceFrame`] applied to a portrait's rig, giving where each landmark of the portrait goes.
//!
//! Expressions move the portrait's own landmarks by the [`ExpressionRig`]'s offsets, measured in the
//! canonical face frame and scaled to the portrait's proportions: the driver's change, never its face shape,
//! so the portrait keeps its identity. Head rotation turns the points with their depth about a pivot inside
//! the head, then the portrait's own pose puts them back into its pixels. A neutral frame gives back the
//! portrait's landmarks exactly.

use super::expressions::{BLINK_MEET, ExpressionRig};
use super::head_motion::HeadMotion;
use super::lid_band::{LidBand, OuterCorners, limit_brow_descent};
use super::portrait::PortraitRig;
use super::topology::{LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE, SKULL_OUTLINE, TEMPLES};
use super::untangle::Untangle;
use crate::face::{Expression, FaceFrame, LandmarkMotion};
use crate::portrait::PortraitImage;
use crate::tracking::{PoseFit, canonical_face, fit_pose};

/// How far the upper lid rises for a full `eyeLookUp*`, in this portrait's eye openings. 0.15 until the
/// eyeball a risen lid uncovers took the lid's shadow (before, more rise drew a bright box under the
/// lashes); at 0.5 the round trip reads eyeLookUp at r 0.77/0.63 on the demo and 0.70/0.45 on Mona Lisa
/// (0.75/0.59 and 0.67/0.44 at 0.15); at 0.8 the demo's raised eye drew as a box with dark lash corners.
pub const LOOK_UP_LID: f32 = 0.5;

/// How far the upper lid lowers for a full `eyeLookDown*`, in this portrait's eye openings (never past
/// the lower lid: a closed eye stays closed). Until 2026-12-05 it did not (lowering measured once left
/// out: the tracker then read the lowered lids as neither a look down nor a blink; the eye layer has
/// changed since). In tests/round_trip.rs, means none 0.837 / 0.729 (demo / Mona Lisa), 0.25 0.841 /
/// 0.736, 0.4 0.841 / 0.736, 0.6 0.842 / 0.737, 0.8 0.843 / 0.735; at 0.4 eyeLookDown reads back at r
/// 0.93/0.92 and 0.69/0.70 (0.88/0.87 and 0.64/0.64 without), the blinks 0.93/0.94 and 0.91/0.86.
pub const LOOK_DOWN_LID: f32 = 0.4;

/// The inner lips' pairs `(upper, lower)` facing each other across the mouth.
const LIP_PAIRS: [(usize, usize); 9] = [
    (13, 14),
    (82, 87),
    (81, 178),
    (80, 88),
    (191, 95),
    (312, 317),
    (311, 402),
    (310, 318),
    (415, 324),
];

/// The seven lid pairs of an eye `ring` (lower, upper, and the opening between them in `canon`'s y).
fn lid_pairs<'a>(
    ring: &'a [usize; 16],
    canon: &'a [[f32; 3]],
) -> impl Iterator<Item = (usize, usize, f32)> + 'a {
    (1..8).map(move |k| {
        let (lower, upper) = (ring[k], ring[16 - k]);
        (lower, upper, canon[lower][1] - canon[upper][1])
    })
}

/// A face retargeted onto a portrait.
#[derive(Clone, Debug, PartialEq)]
pub struct RetargetedFace {
    /// Where the 468 landmarks go, in portrait pixels `[x, y, depth]`.
    pub points: Vec<[f32; 3]>,
    /// Where the iris centres go `[subject's right, subject's left]`, if the portrait rig has irises.
    pub iris: Option<[[f32; 2]; 2]>,
    /// How far each iris moves inside its eye (gaze), in the portrait's pixels before head motion.
    pub gaze_shift: [[f32; 2]; 2],
    /// The head's rigid motion.
    pub motion: HeadMotion,
    /// How far the tongue is out (`tongueOut`, 0..=1): the renderer draws it, the mesh only parts the lips.
    pub tongue_out: f32,
}

/// The widest lip gap a full jawOpen gives on a portrait, as a share of its face's height (forehead,
/// landmark 10, to chin, 152): about 30 mm on an adult face, a wide "ah". The fitted shape alone opens
/// 20-22 % on the demo and the shared paintings, which looks cartoonish. (0.15 looked better still but
/// the tracker then read the demo's rendered jawOpen at r 0.75 in tests/round_trip.rs, against 0.81 at
/// 0.18 and 0.87 unlimited.)
pub const MAX_JAW_OPENING: f32 = 0.19;

/// How far an iris travels from where it rests at a full sideways look, in eye widths, for an iris that
/// rests in the middle of its eye. One that rests aside travels half its offset further back across the
/// eye and as much less on into its corner: on Mona Lisa, whose irises rest 0.12 and 0.19 eye widths
/// to her left, looks to her right read back at r 0.78/0.81 -> 0.88/0.89 in tests/round_trip.rs.
pub const IRIS_TRAVEL: f32 = 0.3;

/// The channels on which retargeting starts from the portrait's own expression
/// ([`ExpressionRig::relative_to_portrait`]). A squint is undone by its lower lid alone (the lower lid
/// ring and the cheek below the eye's corners): the upper lid and the corners stay where the portrait
/// has them. Measured in `tests/round_trip.rs` (2026-12-05), with the eyeSquints added: Mona Lisa, who
/// squints at rest (0.53/0.36), 0.742 -> 0.762 (her looks down 0.73 -> 0.85/0.83, looks up 0.69/0.46 ->
/// 0.77/0.56, brows down 0.66/0.73 -> 0.71/0.78: her lids and gaze read better from a more open eye);
/// the demo (0.44/0.28) 0.853 -> 0.848. The eye layer draws the lowered lids by stretching the eye's
/// lower half (`EyeLayer::lower_lid_stretch`).
pub const RELATIVE_CHANNELS: [Expression; 6] = [
    Expression::MouthSmileLeft,
    Expression::MouthSmileRight,
    Expression::MouthUpperUpLeft,
    Expression::MouthUpperUpRight,
    Expression::EyeSquintLeft,
    Expression::EyeSquintRight,
];
/// The most of a shape's negative a driver weight of 0 applies to undo the portrait's own expression.
pub const RELATIVE_MAX: f32 = 0.8;
/// A portrait's own score up to this is taken as its neutral (a neutral face reads 0-0.1).
pub const RELATIVE_FLOOR: f32 = 0.1;

/// How far above the brows (canonical units: the eye-corner distance) the forehead still takes some of
/// a faint brow's extra raise ([`Retargeter::with_brow_gain`]).
pub const BROW_CARRY: f32 = 0.5;

/// Whether landmark `i` is the lower lid of the eye `ring` or lies below both its corners (the cheek)
/// in the face `canon`.
fn below_the_eye(canon: &[[f32; 3]], ring: &[usize; 16], i: usize) -> bool {
    ring[1..8].contains(&i)
        || (!ring.contains(&i) && canon[i][1] > canon[ring[0]][1].max(canon[ring[8]][1]))
}

/// Retargets faces onto one portrait; made once per portrait rig and expression rig.
#[derive(Clone, Debug)]
pub struct Retargeter {
    pose: PoseFit,
    canon: Vec<[f32; 3]>,
    /// The portrait's lower face height over the canonical face's (vertical offsets scale by it).
    vertical: f32,
    /// How much of the rig's jawOpen shape this portrait takes (`MAX_JAW_OPENING`).
    jaw_scale: f32,
    shapes: Vec<Vec<(u16, [f32; 3])>>,
    look_angle: [f32; 2],
    iris: Option<[[f32; 3]; 2]>,
    eye_width: [f32; 2],
    /// How far each iris rests aside of its eye's middle, in eye widths (+ towards the head's left).
    iris_rest: [f32; 2],
    /// Per channel, how much of the portrait's own expression a driver weight of 0 undoes
    /// ([`ExpressionRig::relative_to_portrait`]); 0 for most.
    rest: [f32; Expression::COUNT],
    /// The eyeSquint shapes (subject's right, left) as a negative weight applies them, undoing the
    /// portrait's own squint: their lower lid and the cheek below the eye's corners alone.
    undo_squint: [Vec<(u16, [f32; 3])>; 2],
    /// [`with_brow_gain`](Self::with_brow_gain)'s gain; 1 for most portraits.
    brow_gain: f32,
    /// The skin between the brows and the upper lids, kept in order after the shapes.
    lid_band: LidBand,
    /// The skin at the outer eye corners, kept from turning over as the lids close.
    corners: OuterCorners,
    /// Every face triangle kept from turning over, last.
    untangle: Untangle,
}

/// The skull's outline stays where it is: the shapes fitted from driving videos move the temples out
/// (a frown by 2 to 3 px at 384 px), which on a portrait turned from the camera, whose far temple is the
/// face's outline against the background, stretched the picture's soft edge there into a light sliver.
/// Each [`SKULL_OUTLINE`] point keeps only its move up or down (across the face, `x`, and towards the
/// camera, `z`, which a turned portrait shows across, are dropped): the forehead still rises with
/// raised brows. The skin just inside it at the temples ([`TEMPLES`]) keeps half of its move across, so
/// that it does not pass the outline.
fn hold_skull_outline(shapes: &mut [Vec<(u16, [f32; 3])>]) {
    for shape in shapes {
        for (i, d) in shape.iter_mut() {
            let keep = if SKULL_OUTLINE.contains(&(*i as usize)) {
                0.0
            } else if TEMPLES.contains(&(*i as usize)) {
                0.5
            } else {
                continue;
            };
            d[0] *= keep;
            d[2] *= keep;
        }
    }
}

impl Retargeter {
    /// Prepares retargeting onto `portrait` with the shapes of `expressions`.
    pub fn new(portrait: &PortraitRig, expressions: &ExpressionRig) -> Self {
        let pose = fit_pose(&portrait.landmarks);
        let canon: Vec<[f32; 3]> = portrait
            .landmarks
            .iter()
            .map(|p| pose.to_canonical(*p))
            .collect();
        let reference = canonical_face();
        let lower = |c: &[[f32; 3]]| c[152][1] - c[168][1];
        let vertical = (lower(&canon) / lower(reference)).clamp(0.7, 1.4);
        let vertical = if vertical.is_finite() { vertical } else { 1.0 };
        let dist = |a: usize, b: usize| {
            ((canon[a][0] - canon[b][0]).powi(2) + (canon[a][1] - canon[b][1]).powi(2)).sqrt()
        };
        let iris = portrait.iris.map(|[r, l]| {
            // Depth of the eye surface: that of the lids around it.
            let z = |ring: [usize; 2]| {
                (portrait.landmarks[ring[0]][2] + portrait.landmarks[ring[1]][2]) / 2.0
            };
            [
                pose.to_canonical([r[0], r[1], z([159, 145])]),
                pose.to_canonical([l[0], l[1], z([386, 374])]),
            ]
        });
        let eye_width = [dist(33, 133), dist(362, 263)];
        // How far each iris rests from its eye's middle, in eye widths (at most the travel: it still
        // travels half of it on into its corner).
        let iris_rest = match iris {
            Some(i) => [(0, 33, 133), (1, 362, 263)].map(|(side, a, b)| {
                let middle = (canon[a][0] + canon[b][0]) / 2.0;
                let rest = (i[side][0] - middle) / eye_width[side];
                if rest.is_finite() {
                    rest.clamp(-IRIS_TRAVEL, IRIS_TRAVEL)
                } else {
                    0.0
                }
            }),
            None => [0.0; 2],
        };
        let mut shapes = expressions.dense();
        // Blinks close this portrait's own lids, whatever their opening: the shapes' offsets for the lid
        // pairs were made on the canonical face's opening, so they are replaced by this portrait's
        // (vertical offsets are scaled by `vertical` when applied, hence the division).
        for (ring, blink) in [
            (&RIGHT_EYE, Expression::EyeBlinkRight),
            (&LEFT_EYE, Expression::EyeBlinkLeft),
        ] {
            let shape = &mut shapes[blink as usize];
            for (lower, upper, gap) in lid_pairs(ring, &canon) {
                for (i, dy) in [
                    (upper, BLINK_MEET * gap),
                    (lower, -(1.0 - BLINK_MEET) * gap),
                ] {
                    let dy = dy / vertical;
                    match shape.iter_mut().find(|(j, _)| *j as usize == i) {
                        Some((_, d)) => d[1] = dy,
                        None => shape.push((i as u16, [0.0, dy, 0.0])),
                    }
                }
            }
        }
        // The upper lid follows the eye, as a real one does: looking up raises it by a fraction of this
        // portrait's own opening (more of the eye shows), looking down lowers it.
        for (ring, up, down) in [
            (
                &RIGHT_EYE,
                Expression::EyeLookUpRight,
                Expression::EyeLookDownRight,
            ),
            (
                &LEFT_EYE,
                Expression::EyeLookUpLeft,
                Expression::EyeLookDownLeft,
            ),
        ] {
            for (_, upper, gap) in lid_pairs(ring, &canon) {
                let dy = gap / vertical;
                shapes[up as usize].push((upper as u16, [0.0, -LOOK_UP_LID * dy, 0.0]));
                shapes[down as usize].push((upper as u16, [0.0, LOOK_DOWN_LID * dy, 0.0]));
            }
        }
        // A full jawOpen opens the lips by at most `MAX_JAW_OPENING` of this face's height (forehead to
        // chin): the fitted shape extrapolates the drivers' widest openings (their scores stop near
        // 0.87) to a gap that looks cartoonish on a portrait. The whole shape scales, so weights keep
        // their proportion.
        let jaw = &mut shapes[Expression::JawOpen as usize];
        let dy = |i: usize| {
            jaw.iter()
                .find(|(j, _)| *j as usize == i)
                .map_or(0.0, |(_, d)| d[1])
        };
        let gap = (dy(14) - dy(13)) * vertical;
        let face_height = canon[152][1] - canon[10][1];
        let jaw_scale = if gap > MAX_JAW_OPENING * face_height && face_height > 0.0 {
            MAX_JAW_OPENING * face_height / gap
        } else {
            1.0
        };
        for (_, d) in jaw.iter_mut() {
            *d = d.map(|v| v * jaw_scale);
        }
        let mut rest = [0.0; Expression::COUNT];
        if let (true, Some(own)) = (expressions.relative_to_portrait, &portrait.expressions) {
            for e in RELATIVE_CHANNELS {
                let p = own.get(e);
                if p.is_finite() {
                    rest[e as usize] = (p - RELATIVE_FLOOR).clamp(0.0, RELATIVE_MAX);
                }
            }
        }
        let undo_squint = [
            (&RIGHT_EYE, Expression::EyeSquintRight),
            (&LEFT_EYE, Expression::EyeSquintLeft),
        ]
        .map(|(ring, squint)| {
            shapes[squint as usize]
                .iter()
                .copied()
                .filter(|&(i, _)| below_the_eye(&canon, ring, i as usize))
                .collect()
        });
        limit_brow_descent(&canon, &mut shapes, vertical);
        hold_skull_outline(&mut shapes);
        let lid_band = LidBand::new(&canon);
        let mut this = Self {
            pose,
            canon,
            vertical,
            jaw_scale,
            shapes,
            undo_squint,
            look_angle: [expressions.look_angle, expressions.look_angle_vertical],
            iris,
            eye_width,
            iris_rest,
            lid_band,
            corners: OuterCorners::new(&portrait.landmarks),
            untangle: Untangle::new(&portrait.landmarks),
            rest,
            brow_gain: 1.0,
        };
        this.raise_brows(1.0);
        this
    }

    /// The raised-brow shapes (browInnerUp, browOuterUp*) `gain` times stronger, for a portrait whose
    /// brows are not drawn ([`brow_gain`](super::brow_gain)): the brows and everything below them move
    /// `gain` times as far, and the forehead above them takes the extra raise of the brow under it,
    /// fading out over [`BROW_CARRY`] above it, so the skin between brows and hair is not crowded into
    /// the hair. `gain` is clamped to `1..=3` (1, or not a number, leaves the shapes as they are).
    pub fn with_brow_gain(mut self, gain: f32) -> Self {
        let gain = if gain.is_finite() {
            gain.clamp(1.0, 3.0)
        } else {
            1.0
        };
        self.brow_gain = gain;
        if gain != 1.0 {
            self.raise_brows(gain);
        }
        self
    }

    /// Carries a brow's raise up the forehead in the raised-brow shapes, and moves brows not drawn
    /// `gain` times as far ([`with_brow_gain`](Self::with_brow_gain)). At `gain` 1 (every portrait, from
    /// [`new`](Self::new)) a point of the forehead above a brow rises at least as far as the brow under
    /// it, less a share fading to nothing over [`BROW_CARRY`] above it: the shapes' own falloff above the
    /// brows is steeper than the forehead's spacing where it slopes away from the camera (Einstein's,
    /// Girl with a Pearl Earring's, a face turned away), and the points between the brows passed those
    /// above them: a fold, a hard cut across the forehead's wrinkles. Above 1, as described there.
    fn raise_brows(&mut self, gain: f32) {
        let canon = &self.canon;
        // The brows' upper contours: over a point of the forehead, the one nearest in x.
        let upper: Vec<usize> = RIGHT_BROW[..5]
            .iter()
            .chain(&LEFT_BROW[..5])
            .copied()
            .collect();
        let (x_min, x_max) = upper.iter().fold((f32::MAX, f32::MIN), |(a, b), &i| {
            (a.min(canon[i][0]), b.max(canon[i][0]))
        });
        for e in [
            Expression::BrowInnerUp,
            Expression::BrowOuterUpLeft,
            Expression::BrowOuterUpRight,
        ] {
            let shape = &mut self.shapes[e as usize];
            let mut offset = [[0.0f32; 3]; 468];
            for &(i, d) in shape.iter() {
                offset[i as usize] = d;
            }
            let mut moved = Vec::with_capacity(shape.len());
            for (i, p) in canon.iter().enumerate().take(468) {
                let own = offset[i];
                let brow = upper
                    .iter()
                    .copied()
                    .min_by(|&a, &b| {
                        (canon[a][0] - p[0])
                            .abs()
                            .total_cmp(&(canon[b][0] - p[0]).abs())
                    })
                    .expect("ten brow points");
                let height = canon[brow][1] - p[1];
                let d = if height > 0.0 && (x_min - 0.1..=x_max + 0.1).contains(&p[0]) {
                    let fade = (1.0 - height / BROW_CARRY).clamp(0.0, 1.0);
                    let under = offset[brow];
                    // At gain 1 the carry (up is -y), above it the extra raise on top.
                    let carried = under.map(|v| v * fade);
                    if gain == 1.0 {
                        if carried[1] < own[1] { carried } else { own }
                    } else {
                        std::array::from_fn(|k| own[k] + (gain - 1.0) * carried[k])
                    }
                } else if gain == 1.0 {
                    own
                } else {
                    own.map(|v| v * gain)
                };
                if d.iter().any(|v| *v != 0.0) {
                    moved.push((i as u16, d));
                }
            }
            *shape = moved;
        }
    }

    /// Lets a raised brow stretch the light skin between it and the lid rather than the shadow under it,
    /// as measured in `image`, the portrait whose rig this retargeter was made from (`landmarks`, its
    /// points in pixels): see `LidBand::shade`.
    pub fn with_shaded_lids(mut self, image: &PortraitImage, landmarks: &[[f32; 3]]) -> Self {
        if landmarks.len() >= 468 {
            self.lid_band.shade(image, landmarks);
        }
        self
    }

    /// The gain on this portrait's raised-brow shapes ([`with_brow_gain`](Self::with_brow_gain)).
    pub fn brow_gain(&self) -> f32 {
        self.brow_gain
    }

    /// Per channel (in [`Expression`]'s order), how much of the portrait's own expression a driver
    /// weight of 0 undoes: the shape applied is the weight minus this ([`RELATIVE_CHANNELS`]).
    pub fn portrait_rest(&self) -> &[f32; Expression::COUNT] {
        &self.rest
    }

    /// The portrait's pose (its head angles as the rig sees them).
    pub fn portrait_pose(&self) -> &PoseFit {
        &self.pose
    }

    /// The portrait's lower face height (nose bridge to chin) over the canonical face's, clamped to
    /// `0.7..=1.4`: vertical expression offsets are scaled by it.
    pub fn vertical_proportion(&self) -> f32 {
        self.vertical
    }

    /// How much of the rig's jawOpen shape this portrait takes (1, or less where the full shape would
    /// open the lips by more than [`MAX_JAW_OPENING`] of the face's height).
    pub fn jaw_scale(&self) -> f32 {
        self.jaw_scale
    }

    /// Where everything goes for `face`.
    pub fn retarget(&self, face: &FaceFrame) -> RetargetedFace {
        let mut canon = self.canon.clone();
        // The weights from the portrait's own expression: a channel it already shows moves the other
        // way below its own score.
        let weights: [f32; Expression::COUNT] = std::array::from_fn(|k| {
            let w = face.expressions.0[k];
            let w = if w.is_finite() {
                w.clamp(0.0, 1.0)
            } else {
                0.0
            };
            w - self.rest[k]
        });
        self.add_weights(&weights, &mut canon);
        self.finish(face, &weights, canon, HeadMotion::new(self.pose, face))
    }

    /// Landmark-faithful driving: the portrait's landmarks move as the driver's did from its neutral face
    /// (`motion`, scaled to the portrait's proportions: width by face width, height by lower-face height),
    /// instead of by the expression shapes of `face`'s weights; at full weight the head moves by the
    /// motion's own [`RigidMotion`](crate::face::RigidMotion) when it has one (turning about the point
    /// between the eyes, where it was measured). Each eye opens and closes by the driver's own fraction
    /// of its neutral opening (a driver with wider eyes than the portrait closes the
    /// portrait's lids exactly, never past each other); lips never cross. Head pose, gaze and `tongueOut`
    /// come from `face`, and the shapes of what `face` holds beyond the motion's own weights
    /// ([`LandmarkMotion::weights`]: a clip over tracking). With `motion.weight` below 1 the shapes of
    /// `face` make up the rest; a motion that is not [usable](LandmarkMotion::is_usable) gives
    /// [`retarget`](Self::retarget)'s result.
    pub fn retarget_motion(&self, face: &FaceFrame, motion: &LandmarkMotion) -> RetargetedFace {
        if !motion.is_usable() {
            return self.retarget(face);
        }
        let w = motion.weight.min(1.0);
        let mut canon = self.canon.clone();
        // What the motion does not show: all of the face's weights for the part of the head it does not
        // hold, and what the face holds beyond the motion's own weights (a clip over tracking).
        let weights: Vec<f32> = face
            .expressions
            .0
            .iter()
            .zip(motion.weights.0.iter())
            .map(|(f, m)| ((1.0 - w) * f + w * (f - m).max(0.0)).max(0.0))
            .collect();
        self.add_weights(&weights, &mut canon);
        self.add_motion(motion, w, &mut canon);
        let head = match &motion.rigid {
            Some(rigid) if w >= 1.0 => HeadMotion::rigid(self.pose, rigid),
            _ => HeadMotion::new(self.pose, face),
        };
        let weights: [f32; Expression::COUNT] = std::array::from_fn(|k| face.expressions.0[k]);
        self.finish(face, &weights, canon, head)
    }

    /// Adds the expression shapes at `weights` (one per [`Expression`], in its order, `-1..=1`: a
    /// negative one moves the face the shape's other way) to `canon`.
    fn add_weights(&self, weights: &[f32], canon: &mut [[f32; 3]]) {
        for (k, (shape, &w)) in self.shapes.iter().zip(weights).enumerate() {
            if !(w.is_finite() && w != 0.0) {
                continue;
            }
            let w = w.clamp(-1.0, 1.0);
            // A squint undone (the portrait's own, `RELATIVE_CHANNELS`) lowers the lower lid only.
            let shape = match k {
                _ if w > 0.0 => shape,
                k if k == Expression::EyeSquintRight as usize => &self.undo_squint[0],
                k if k == Expression::EyeSquintLeft as usize => &self.undo_squint[1],
                _ => shape,
            };
            for &(i, d) in shape {
                let c = &mut canon[i as usize];
                c[0] += w * d[0];
                c[1] += w * d[1] * self.vertical;
                c[2] += w * d[2];
            }
        }
        // The lids never pass each other: a full blink already closes them, and a look down
        // (`LOOK_DOWN_LID`) or a squint on top of it must not push the upper lid under the lower one
        // (the eye's outline would fold). A portrait drawn with crossed lids keeps them.
        for ring in [&RIGHT_EYE, &LEFT_EYE] {
            for (lower, upper, gap) in lid_pairs(ring, &self.canon) {
                if gap >= 0.0 && canon[upper][1] > canon[lower][1] {
                    canon[upper][1] = canon[lower][1];
                }
            }
        }
        // Nor does the skin above them fold between brow and lid.
        self.lid_band.apply(canon);
    }

    /// Adds the driver's motion, times `w`, to `canon` (see [`retarget_motion`](Self::retarget_motion)).
    fn add_motion(&self, motion: &LandmarkMotion, w: f32, canon: &mut [[f32; 3]]) {
        let (n, c) = (&motion.neutral[..], &motion.current[..]);
        let own = &self.canon;
        let ratio = |portrait: f32, driver: f32| {
            let r = portrait / driver;
            if r.is_finite() {
                r.clamp(0.6, 1.6)
            } else {
                1.0
            }
        };
        let sx = ratio(own[454][0] - own[234][0], n[454][0] - n[234][0]);
        let sy = ratio(own[152][1] - own[168][1], n[152][1] - n[168][1]);
        let scale = [sx, sy, sx];
        for (i, p) in canon.iter_mut().enumerate() {
            for k in 0..3 {
                p[k] += w * scale[k] * (c[i][k] - n[i][k]);
            }
        }
        // Lids: the pair's common motion as it is, its opening by the driver's fraction of its own.
        for ring in [&RIGHT_EYE, &LEFT_EYE] {
            for (lower, upper, gap) in lid_pairs(ring, own) {
                let driver_gap = n[lower][1] - n[upper][1];
                if !(driver_gap > 1e-3 && gap > 0.0) {
                    continue;
                }
                let (du, dl) = (
                    sy * (c[upper][1] - n[upper][1]),
                    sy * (c[lower][1] - n[lower][1]),
                );
                let mid = (du + dl) / 2.0;
                let k = (gap / (sy * driver_gap)).clamp(0.0, 4.0);
                let (mut du, mut dl) = (mid + k * (du - mid), mid + k * (dl - mid));
                // Closed is closed: the lids meet and stop.
                let opening = gap + dl - du;
                if opening < 0.0 {
                    du += opening * BLINK_MEET;
                    dl -= opening * (1.0 - BLINK_MEET);
                }
                canon[upper][1] = own[upper][1] + w * du;
                canon[lower][1] = own[lower][1] + w * dl;
            }
        }
        // Lips: a driver pressing its lips harder than at neutral must not push the portrait's through
        // each other.
        for (upper, lower) in LIP_PAIRS {
            let overlap = canon[upper][1] - canon[lower][1];
            if overlap > 0.0 {
                let mid = (canon[upper][1] + canon[lower][1]) / 2.0;
                canon[upper][1] = mid;
                canon[lower][1] = mid;
            }
        }
    }

    /// The head's motion and gaze on `canon`, the portrait's landmarks in the canonical frame after
    /// expressions; `weights` are the expression weights applied (the `eyeLook*` ones turn the irises).
    fn finish(
        &self,
        face: &FaceFrame,
        weights: &[f32; Expression::COUNT],
        canon: Vec<[f32; 3]>,
        motion: HeadMotion,
    ) -> RetargetedFace {
        let mut points: Vec<[f32; 3]> = canon
            .iter()
            .map(|c| motion.canonical_to_image(*c))
            .collect();
        self.corners.apply(&mut points);
        // Whatever still turns a face triangle over, against the face at rest under the same motion.
        let rest: Vec<[f32; 3]> = self
            .canon
            .iter()
            .take(468)
            .map(|c| motion.canonical_to_image(*c))
            .collect();
        self.untangle.apply(&mut points, &rest);

        let e = crate::face::ExpressionWeights(*weights);
        let look = |gaze: [f32; 2], outward: f32, inward: f32, up: f32, down: f32, side: f32| {
            let g = |v: f32| if v.is_finite() { v } else { 0.0 };
            [
                g(gaze[0]) + side * (outward - inward) * self.look_angle[0],
                g(gaze[1]) + (up - down) * self.look_angle[1],
            ]
        };
        // Gaze yaw is towards the head's own left (+x in the canonical frame); the right eye looks out to
        // the head's right (-x).
        let gaze = [
            look(
                face.gaze.right,
                e.get(Expression::EyeLookOutRight),
                e.get(Expression::EyeLookInRight),
                e.get(Expression::EyeLookUpRight),
                e.get(Expression::EyeLookDownRight),
                -1.0,
            ),
            look(
                face.gaze.left,
                e.get(Expression::EyeLookOutLeft),
                e.get(Expression::EyeLookInLeft),
                e.get(Expression::EyeLookUpLeft),
                e.get(Expression::EyeLookDownLeft),
                1.0,
            ),
        ];
        let mut gaze_shift = [[0.0; 2]; 2];
        let mut iris_canon = self.iris;
        for side in 0..2 {
            let w = self.eye_width[side];
            // The iris rides on a ball about half an eye width across; it stays inside the opening.
            // Its travel is centred halfway between where it rests and the eye's middle: an iris painted
            // looking aside travels further back across the eye than on into the corner it looks to.
            let dx = w * gaze[side][0].clamp(-1.2, 1.2).sin() / 2.0;
            let rest = self.iris_rest[side];
            let reach = if dx * rest < 0.0 {
                IRIS_TRAVEL + rest.abs() / 2.0
            } else {
                IRIS_TRAVEL - rest.abs() / 2.0
            };
            let gain = reach / IRIS_TRAVEL;
            let dx = (dx * gain).clamp(-reach * w, reach * w);
            let dy = (-w * gaze[side][1].clamp(-1.2, 1.2).sin() / 2.0).clamp(-0.16 * w, 0.16 * w);
            let r = &self.pose.rotation;
            let s = self.pose.scale;
            gaze_shift[side] = [
                s * (r[0][0] * dx + r[0][1] * dy),
                s * (r[1][0] * dx + r[1][1] * dy),
            ];
            if let Some(iris) = iris_canon.as_mut() {
                iris[side][0] += dx;
                iris[side][1] += dy;
            }
        }
        let iris = iris_canon.map(|i| {
            i.map(|c| {
                let p = motion.canonical_to_image(c);
                [p[0], p[1]]
            })
        });
        let tongue_out = face.expressions.get(Expression::TongueOut);
        RetargetedFace {
            points,
            iris,
            gaze_shift,
            motion,
            tongue_out: if tongue_out.is_finite() {
                tongue_out.clamp(0.0, 1.0)
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::RigidMotion;
    use crate::rig::RigSource;
    use crate::rig::head_motion::{FACE_WIDTH, MAX_BODY_SHIFT, MAX_SHIFT};
    use crate::tracking::rotation_from_angles;

    fn portrait() -> PortraitRig {
        let mut rig = PortraitRig::template([400, 500]);
        rig.source = RigSource::Tracked;
        rig.iris = Some([
            [rig.landmarks[159][0], rig.landmarks[159][1] + 3.0],
            [rig.landmarks[386][0], rig.landmarks[386][1] + 3.0],
        ]);
        rig
    }

    #[test]
    fn neutral_gives_back_the_portrait() {
        let rig = portrait();
        let r = Retargeter::new(&rig, &ExpressionRig::default()).retarget(&FaceFrame::neutral());
        for (a, b) in r.points.iter().zip(&rig.landmarks) {
            assert!(
                (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3,
                "{a:?} {b:?}"
            );
        }
        let iris = r.iris.unwrap();
        assert!((iris[0][0] - rig.iris.unwrap()[0][0]).abs() < 1e-3);
    }

    #[test]
    fn blink_closes_this_portraits_own_lids() {
        let mut rig = portrait();
        // Eyes much more open than the canonical face's.
        for &i in &RIGHT_EYE[9..] {
            rig.landmarks[i][1] -= 6.0;
        }
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        let face = FaceFrame::neutral().with_expression(Expression::EyeBlinkRight, 1.0);
        let r = t.retarget(&face);
        for k in 1..8 {
            let (lower, upper) = (RIGHT_EYE[k], RIGHT_EYE[16 - k]);
            let gap = r.points[lower][1] - r.points[upper][1];
            assert!(gap.abs() < 0.05, "pair {k}: {gap} px apart");
        }
    }

    #[test]
    fn a_look_down_or_squint_on_a_closed_eye_does_not_push_the_lids_past_each_other() {
        let rig = portrait();
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        for extra in [
            [
                (Expression::EyeLookDownLeft, 1.0),
                (Expression::EyeLookDownRight, 1.0),
            ],
            [
                (Expression::EyeSquintLeft, 1.0),
                (Expression::EyeSquintRight, 1.0),
            ],
        ] {
            let mut face = FaceFrame::neutral()
                .with_expression(Expression::EyeBlinkLeft, 1.0)
                .with_expression(Expression::EyeBlinkRight, 1.0);
            for (e, w) in extra {
                face = face.with_expression(e, w);
            }
            let r = t.retarget(&face);
            for ring in [&RIGHT_EYE, &LEFT_EYE] {
                for k in 1..8 {
                    let (lower, upper) = (ring[k], ring[16 - k]);
                    let gap = r.points[lower][1] - r.points[upper][1];
                    assert!(
                        gap > -1e-3,
                        "{extra:?}, pair {k}: the upper lid {gap} px under the lower"
                    );
                    assert!(
                        gap < 0.05,
                        "{extra:?}, pair {k}: {gap} px apart, not closed"
                    );
                }
            }
        }
    }

    #[test]
    fn looking_up_raises_and_looking_down_lowers_the_upper_lid_only() {
        let rig = portrait();
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        for (look, rises) in [
            (Expression::EyeLookUpLeft, LOOK_UP_LID),
            (Expression::EyeLookDownLeft, -LOOK_DOWN_LID),
        ] {
            let r = t.retarget(&FaceFrame::neutral().with_expression(look, 1.0));
            for k in 1..8 {
                let (lower, upper) = (LEFT_EYE[k], LEFT_EYE[16 - k]);
                let opening = rig.landmarks[lower][1] - rig.landmarks[upper][1];
                let rise = rig.landmarks[upper][1] - r.points[upper][1];
                assert!(
                    (rise - rises * opening).abs() < 0.05 * opening.abs().max(1.0),
                    "{look:?}, pair {k}: the upper lid rose {rise} px of a {opening} px opening"
                );
                assert!((r.points[lower][1] - rig.landmarks[lower][1]).abs() < 1e-3);
            }
            // The other eye stays.
            for &i in &RIGHT_EYE {
                assert!(
                    (r.points[i][1] - rig.landmarks[i][1]).abs() < 1e-3,
                    "{look:?}, landmark {i}"
                );
            }
        }
    }

    #[test]
    fn a_squinting_portrait_opens_its_lower_lid_to_a_neutral_player() {
        let mut rig = portrait();
        rig.expressions =
            Some(crate::face::ExpressionWeights::default().with(Expression::EyeSquintLeft, 0.6));
        let t = Retargeter::new(&rig, &ExpressionRig::player_driven());
        let rest = t.portrait_rest()[Expression::EyeSquintLeft as usize];
        assert!((rest - (0.6 - RELATIVE_FLOOR)).abs() < 1e-6, "{rest}");
        let neutral = t.retarget(&FaceFrame::neutral());
        let moved = |i: usize| neutral.points[i][1] - rig.landmarks[i][1];
        // The left eye's lower lid comes down (image y grows downwards), by at least a tenth of a pixel
        // in the middle of the lid...
        let lowest = LEFT_EYE[1..8].iter().map(|&i| moved(i)).fold(0.0, f32::max);
        assert!(lowest > 0.1, "lower lid lowered by {lowest} px");
        assert!(LEFT_EYE[1..8].iter().all(|&i| moved(i) > -1e-3));
        // ...its upper lid and corners stay, and so does the other eye.
        for &i in LEFT_EYE[8..].iter().chain([&LEFT_EYE[0]]).chain(&RIGHT_EYE) {
            assert!(moved(i).abs() < 1e-3, "landmark {i} moved {}", moved(i));
        }
        // A player squinting as much as the portrait does gives the portrait's own eye back.
        let same = t.retarget(
            &FaceFrame::neutral().with_expression(Expression::EyeSquintLeft, 0.6 - RELATIVE_FLOOR),
        );
        for &i in &LEFT_EYE {
            assert!(
                (same.points[i][1] - rig.landmarks[i][1]).abs() < 1e-3,
                "landmark {i}"
            );
        }
    }

    #[test]
    fn a_smiling_portrait_is_driven_from_its_own_smile() {
        let mut rig = portrait();
        let plain = Retargeter::new(&rig, &ExpressionRig::default());
        rig.expressions = Some(
            crate::face::ExpressionWeights::default()
                .with(Expression::MouthSmileLeft, 0.9)
                .with(Expression::MouthSmileRight, 0.9)
                .with(Expression::BrowInnerUp, 0.9),
        );
        assert!(ExpressionRig::player_driven().relative_to_portrait);
        // Off by default: a neutral face draws the portrait as it is.
        let off = Retargeter::new(&rig, &ExpressionRig::default());
        assert_eq!(off.portrait_rest(), &[0.0; Expression::COUNT]);
        let t = Retargeter::new(
            &rig,
            &ExpressionRig {
                relative_to_portrait: true,
                ..ExpressionRig::default()
            },
        );
        let rest = RELATIVE_MAX.min(0.9 - RELATIVE_FLOOR);
        assert_eq!(t.portrait_rest()[Expression::MouthSmileLeft as usize], rest);
        // Only the listed channels.
        assert_eq!(t.portrait_rest()[Expression::BrowInnerUp as usize], 0.0);
        let corner = |r: &RetargetedFace| r.points[291];
        let own = rig.landmarks[291];
        let smile =
            plain.retarget(&FaceFrame::neutral().with_expression(Expression::MouthSmileLeft, 1.0));
        let (sx, sy) = (corner(&smile)[0] - own[0], corner(&smile)[1] - own[1]);
        assert!(
            sx.abs() + sy.abs() > 1.0,
            "the smile shape moves the corner: {sx}, {sy}"
        );
        // A neutral player: the corner moves against the smile, by `rest` of the shape.
        let neutral = t.retarget(&FaceFrame::neutral());
        let (nx, ny) = (corner(&neutral)[0] - own[0], corner(&neutral)[1] - own[1]);
        assert!(
            (nx + rest * sx).abs() < 0.05 * sx.abs().max(1.0)
                && (ny + rest * sy).abs() < 0.05 * sy.abs().max(1.0),
            "un-smiled by {nx}, {ny}; the smile moves it {sx}, {sy}"
        );
        // A full smile: the portrait's own plus the difference, the shape at 1 - rest.
        let full =
            t.retarget(&FaceFrame::neutral().with_expression(Expression::MouthSmileLeft, 1.0));
        let (fx, fy) = (corner(&full)[0] - own[0], corner(&full)[1] - own[1]);
        assert!(
            (fx - (1.0 - rest) * sx).abs() < 0.05 * sx.abs().max(1.0),
            "{fx} vs {sx}"
        );
        assert!(
            (fy - (1.0 - rest) * sy).abs() < 0.05 * sy.abs().max(1.0),
            "{fy} vs {sy}"
        );
        // Landmark-faithful driving keeps the portrait's own face.
        let mut still = motion(|_| {});
        still.weights = FaceFrame::neutral().expressions;
        let r = t.retarget_motion(&FaceFrame::neutral(), &still);
        assert!(
            (r.points[291][0] - own[0]).abs() < 1e-3 && (r.points[291][1] - own[1]).abs() < 1e-3
        );
    }

    /// A driver whose face is the canonical one, with `f` applied to its current points.
    fn motion(f: impl Fn(&mut Vec<[f32; 3]>)) -> LandmarkMotion {
        let neutral = crate::tracking::canonical_face().to_vec();
        let mut current = neutral.clone();
        f(&mut current);
        LandmarkMotion::new(std::sync::Arc::new(neutral), current)
    }

    #[test]
    fn a_still_driver_gives_back_the_portrait_and_a_broken_one_falls_back_to_shapes() {
        let rig = portrait();
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        let face = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.8);
        let mut still = motion(|_| {});
        // The tracked face's own weights: the motion shows them.
        still.weights = face.expressions;
        let r = t.retarget_motion(&face, &still);
        for (a, b) in r.points.iter().zip(&rig.landmarks) {
            assert!((a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3);
        }
        // NaN in the motion: the weights drive (the jaw opens).
        let broken = motion(|c| c[14][1] = f32::NAN);
        assert!(!broken.is_usable());
        assert_eq!(t.retarget_motion(&face, &broken), t.retarget(&face));
    }

    #[test]
    fn the_portrait_moves_as_the_driver_did_scaled_to_its_proportions() {
        let rig = portrait();
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        let scale = t.pose.scale;
        // The driver drops its lower lip and chin by 0.1 eye-corner distances.
        let m = motion(|c| {
            for i in [14, 17, 152] {
                c[i][1] += 0.1;
            }
        });
        let r = t.retarget_motion(&FaceFrame::neutral(), &m);
        for i in [14, 17, 152] {
            let moved = r.points[i][1] - rig.landmarks[i][1];
            let expected = 0.1 * scale * t.vertical;
            assert!(
                (moved - expected).abs() < 0.05 * expected,
                "point {i} moved {moved} px, expected {expected}"
            );
        }
        // Points the driver did not move stay.
        assert!((r.points[1][1] - rig.landmarks[1][1]).abs() < 1e-3);
    }

    #[test]
    fn a_clip_over_the_tracked_face_still_shows_its_shapes() {
        let rig = portrait();
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        let mut m = motion(|_| {});
        m.weights = FaceFrame::neutral()
            .with_expression(Expression::JawOpen, 0.2)
            .expressions;
        // The composed face: tracking's jaw 0.2, and a clip's smile on top.
        let face = FaceFrame::neutral()
            .with_expression(Expression::JawOpen, 0.2)
            .with_expression(Expression::MouthSmileLeft, 1.0);
        let r = t.retarget_motion(&face, &m);
        let smile =
            t.retarget(&FaceFrame::neutral().with_expression(Expression::MouthSmileLeft, 1.0));
        for (i, (a, b)) in r.points.iter().zip(&smile.points).enumerate() {
            assert!(
                (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3,
                "point {i}"
            );
        }
    }

    #[test]
    fn a_driver_blink_closes_the_portraits_own_lids_by_the_drivers_fraction() {
        let mut rig = portrait();
        // The portrait's eyes open twice as wide as the driver's (the canonical face).
        for &i in &RIGHT_EYE[9..] {
            rig.landmarks[i][1] -= 6.0;
        }
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        let canon = crate::tracking::canonical_face();
        for (fraction, expected_open) in [(1.0, 0.0), (0.5, 0.5)] {
            // The driver closes its right eye by `fraction` of its opening, both lids moving.
            let m = motion(|c| {
                for k in 1..8 {
                    let (lower, upper) = (RIGHT_EYE[k], RIGHT_EYE[16 - k]);
                    let gap = canon[lower][1] - canon[upper][1];
                    c[upper][1] += fraction * 0.7 * gap;
                    c[lower][1] -= fraction * 0.3 * gap;
                }
            });
            let r = t.retarget_motion(&FaceFrame::neutral(), &m);
            for k in 1..8 {
                let (lower, upper) = (RIGHT_EYE[k], RIGHT_EYE[16 - k]);
                let before = rig.landmarks[lower][1] - rig.landmarks[upper][1];
                let after = r.points[lower][1] - r.points[upper][1];
                assert!(
                    (after - expected_open * before).abs() < 0.05 * before,
                    "pair {k}: {after} px open of {before} ({fraction} closed)"
                );
            }
        }
        // A driver squeezing harder than closed: the lids meet and stop.
        let m = motion(|c| {
            for k in 1..8 {
                let (lower, upper) = (RIGHT_EYE[k], RIGHT_EYE[16 - k]);
                let gap = canon[lower][1] - canon[upper][1];
                c[upper][1] += 1.5 * gap;
            }
        });
        let r = t.retarget_motion(&FaceFrame::neutral(), &m);
        for k in 1..8 {
            let (lower, upper) = (RIGHT_EYE[k], RIGHT_EYE[16 - k]);
            assert!(
                r.points[lower][1] - r.points[upper][1] >= -1e-3,
                "pair {k} crossed"
            );
        }
    }

    #[test]
    fn the_drivers_rigid_motion_turns_the_head_about_the_point_between_the_eyes() {
        let rig = portrait();
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        let mut m = motion(|_| {});
        m.rigid = Some(RigidMotion {
            rotation: rotation_from_angles(0.3, 0.0, 0.0),
            scale: 1.0,
            shift: [0.0; 3],
        });
        let r = t.retarget_motion(&FaceFrame::neutral(), &m);
        // The nose tip (in front) goes to the image right; the point between the eyes (the origin)
        // stays.
        let origin = t.pose.translation;
        let mid = |p: &[[f32; 3]]| [(p[33][0] + p[263][0]) / 2.0, (p[33][1] + p[263][1]) / 2.0];
        let before = mid(&rig.landmarks);
        let after = mid(&r.points);
        assert!(
            (after[0] - before[0]).abs() < 2.0,
            "{before:?} -> {after:?} (origin {origin:?})"
        );
        assert!(r.points[1][0] - rig.landmarks[1][0] > 5.0);
        // A shift beyond the limits is held at them: the neck's share, then the whole picture's.
        m.rigid = Some(RigidMotion {
            rotation: rotation_from_angles(0.0, 0.0, 0.0),
            scale: 1.0,
            shift: [10.0, 0.0, 0.0],
        });
        let r = t.retarget_motion(&FaceFrame::neutral(), &m);
        let moved = r.points[1][0] - rig.landmarks[1][0];
        let limit = MAX_BODY_SHIFT * FACE_WIDTH * t.pose.scale;
        assert!((moved - limit).abs() < 0.02 * limit, "{moved} vs {limit}");
        // The whole picture takes all but the neck's share.
        let body = r.motion.body_shift();
        let beyond = (MAX_BODY_SHIFT - MAX_SHIFT) * FACE_WIDTH * t.pose.scale;
        assert!(
            (body[0] - beyond).abs() < 0.03 * beyond,
            "{body:?} vs {beyond}"
        );
        // A small move is nearly all the neck's.
        m.rigid = Some(RigidMotion {
            rotation: rotation_from_angles(0.0, 0.0, 0.0),
            scale: 1.0,
            shift: [0.05, 0.0, 0.0],
        });
        let r = t.retarget_motion(&FaceFrame::neutral(), &m);
        let body = r.motion.body_shift();
        let moved = r.points[1][0] - rig.landmarks[1][0];
        assert!(body[0].abs() < 0.03 * moved, "{body:?} of {moved}");
    }

    #[test]
    fn yaw_moves_the_nose_more_than_the_ears_and_gaze_moves_the_iris() {
        let rig = portrait();
        let t = Retargeter::new(&rig, &ExpressionRig::default());
        let mut face = FaceFrame::neutral();
        face.head.yaw = 0.3;
        let r = t.retarget(&face);
        let nose = r.points[1][0] - rig.landmarks[1][0];
        let ear = r.points[234][0] - rig.landmarks[234][0];
        // Turning to the head's left brings the nose to the image right, past the cheeks.
        assert!(nose > 10.0, "nose moved {nose}");
        assert!(nose > ear + 5.0, "nose {nose} ear {ear}");
        let mut face = FaceFrame::neutral();
        face.gaze.left = [0.4, 0.0];
        face.gaze.right = [0.4, 0.0];
        let r = t.retarget(&face);
        assert!(r.gaze_shift[0][0] > 1.0 && r.gaze_shift[1][0] > 1.0);
        assert!(r.iris.unwrap()[0][0] > rig.iris.unwrap()[0][0] + 1.0);
    }

    #[test]
    fn an_iris_resting_aside_travels_further_back_across_its_eye_than_into_its_corner() {
        let mut centred = portrait();
        let [a, b] = [centred.landmarks[33], centred.landmarks[133]];
        let mut iris = centred.iris.unwrap();
        iris[0] = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        centred.iris = Some(iris);
        let eye_width = |rig: &PortraitRig| rig.landmarks[133][0] - rig.landmarks[33][0];
        // The same portrait with its right iris painted a fifth of an eye width to the image right.
        let mut aside = centred.clone();
        let mut iris = aside.iris.unwrap();
        iris[0][0] += 0.2 * eye_width(&aside).abs();
        aside.iris = Some(iris);
        let travel = |rig: &PortraitRig, look: f32| {
            let t = Retargeter::new(rig, &ExpressionRig::default());
            let mut face = FaceFrame::neutral();
            face.gaze.right = [look, 0.0];
            t.retarget(&face).iris.unwrap()[0][0]
                - t.retarget(&FaceFrame::neutral()).iris.unwrap()[0][0]
        };
        let (right, left) = (travel(&centred, 0.9), travel(&centred, -0.9));
        assert!(
            right > 1.0 && (right + left).abs() < 0.05 * right,
            "{right} {left}"
        );
        // It rests where it was painted, travels less on to the image right, further back to the left.
        let (on, back) = (travel(&aside, 0.9), travel(&aside, -0.9));
        assert!(
            on > 0.5 * right && on < 0.9 * right,
            "on {on} against {right}"
        );
        assert!(-back > 1.1 * right, "back {back} against {right}");
    }

    #[test]
    fn a_brow_gain_raises_the_brows_further_and_carries_the_forehead_with_them() {
        let rig = portrait();
        let expressions = ExpressionRig::default();
        let plain = Retargeter::new(&rig, &expressions);
        let strong = Retargeter::new(&rig, &expressions).with_brow_gain(1.6);
        assert_eq!((plain.brow_gain(), strong.brow_gain()), (1.0, 1.6));
        let raised = FaceFrame::neutral().with_expression(Expression::BrowInnerUp, 1.0);
        let rise =
            |t: &Retargeter, i: usize| rig.landmarks[i][1] - t.retarget(&raised).points[i][1];
        // The inner brows (107, 336) and the lid skin below them: 1.6 times as far.
        for i in [107, 336, 55, 285] {
            let (a, b) = (rise(&plain, i), rise(&strong, i));
            assert!(a > 0.5, "landmark {i} rises {a} px at 1x");
            assert!((b / a - 1.6).abs() < 0.02, "landmark {i}: {a} -> {b} px");
        }
        // The forehead above them rises with them, at both gains (at 1x too: the shape's own falloff
        // above the brows folded the forehead of a face whose forehead slopes away, Einstein's): the
        // point above the inner brows (151) by most of their rise, and by 1.6 times as far at 1.6x.
        let (a, b) = (rise(&plain, 151), rise(&strong, 151));
        assert!(a > 0.6 * rise(&plain, 107), "forehead (151) at 1x: {a} px");
        assert!((b / a - 1.6).abs() < 0.05, "forehead (151): {a} -> {b} px");
        // Other shapes and a neutral face are untouched; nonsense gains leave the shapes as they are.
        let smile = FaceFrame::neutral().with_expression(Expression::MouthSmileLeft, 1.0);
        assert_eq!(
            plain.retarget(&smile).points,
            strong.retarget(&smile).points
        );
        let neutral = FaceFrame::neutral();
        assert_eq!(
            plain.retarget(&neutral).points,
            strong.retarget(&neutral).points
        );
        for g in [f32::NAN, 0.5, -2.0] {
            let t = Retargeter::new(&rig, &expressions).with_brow_gain(g);
            assert_eq!(t.brow_gain(), 1.0);
            assert_eq!(t.retarget(&raised).points, plain.retarget(&raised).points);
        }
    }
}
