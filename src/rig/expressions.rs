//! [`ExpressionRig`]: what each ARKit expression does to the face mesh, as data.
//!
//! A shape is a sparse list of landmark offsets in the canonical face frame (origin between the outer eye
//! corners, x towards the image right, y towards the chin, z away from the camera, unit = the outer
//! eye-corner distance), for the expression at weight 1. Retargeting scales the offsets to the portrait and
//! sums them by weight.
//!
//! The built-in rig ([`ExpressionRig::default`]) has a shape for every ARKit name but the `eyeLook*` ones
//! (gaze turns the irises in retargeting). Each is one of two kinds:
//!
//! - **fitted** (`fitted_shapes.json`, made by `models/fit_expression_rig.py`): a ridge regression of
//!   Google's MediaPipe landmarks on its own blendshape scores over the 615 frames of the three shared
//!   driving videos, in this frame, one neutral per actor, each channel held to its region of the face.
//!   Used for the channels those videos exercise and where the fit predicts held-out frames better than
//!   the hand-made shape (the file's header lists them and the table): jawOpen, the smiles, pucker,
//!   funnel, mouthLeft/Right, mouthUpperUp, the brows but browInnerUp, eyeSquint (the fitted jawOpen
//!   leaves the upper lip where it is; the blinks, though fitted a little better, stay hand-made: they
//!   close the rendered eyes fully);
//! - **hand-made** ([`ExpressionRig::hand_made`]): a few rules on the canonical face, for the rest:
//!   channels the videos hardly move (cheekPuff, cheekSquint, jawForward, noseSneer, the lip rolls,
//!   mouthClose, tongueOut, which MediaPipe does not score and which only parts the lips a little: the
//!   renderer draws the tongue) or where the fitted shape did not predict better.
//!
//! Save a rig with [`ExpressionRig::save`], tune the numbers, and load yours with [`ExpressionRig::load`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::topology::{
    LEFT_EYE, LOWER_INNER_LIP as LOWER_INNER, LOWER_OUTER_LIP as LOWER_OUTER, RIGHT_EYE,
    UPPER_INNER_LIP as UPPER_INNER, UPPER_OUTER_LIP as UPPER_OUTER,
};
use crate::error::{Error, Result};
use crate::face::Expression;
use crate::math::{polyline_y as interp, smoothstep};
use crate::tracking::canonical_face;

/// Where closed lids meet, as a fraction of the opening from the upper lid: the upper lid does nearly all
/// of a blink.
pub const BLINK_MEET: f32 = 1.0;
/// The rig file format version.
pub const EXPRESSION_RIG_VERSION: u32 = 1;

/// One expression's landmark offsets at weight 1, in canonical units.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shape {
    /// A gain on the whole shape (1 as built); the quickest knob to tune.
    pub gain: f32,
    /// `landmark index -> [dx, dy, dz]`; landmarks not listed do not move.
    pub offsets: BTreeMap<u16, [f32; 3]>,
}

/// The expression shapes of the mesh-warp renderer, keyed by ARKit name.
///
/// Expressions without a shape do not move the mesh; the default rig leaves out only the `eyeLook*` ones,
/// which move the irises through gaze (and the upper lids: [`LOOK_UP_LID`](super::LOOK_UP_LID),
/// [`LOOK_DOWN_LID`](super::LOOK_DOWN_LID)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpressionRig {
    /// File format version ([`EXPRESSION_RIG_VERSION`]).
    pub version: u32,
    /// Shapes by ARKit name (`"jawOpen"`).
    pub shapes: BTreeMap<String, Shape>,
    /// How far the iris turns sideways for a full `eyeLookIn*` / `eyeLookOut*` weight, radians. MediaPipe's
    /// blendshape model scores a gaze at the corner of the eye about 0.6-0.7, so a full weight turns further
    /// than a real eye does (round trip through Mona Lisa, whose irises rest to one side: eyeLookIn/Out r
    /// 0.53-0.67 at 0.6, 0.68-0.84 at 0.9, and no better at 1.2).
    #[serde(default = "default_look_angle")]
    pub look_angle: f32,
    /// How far the iris turns up or down for a full `eyeLookUp*` / `eyeLookDown*` weight, radians (0.45 to
    /// 0.75 measured the same; further down, the iris slides under the lower lid).
    #[serde(default = "default_look_angle_vertical")]
    pub look_angle_vertical: f32,
    /// Whether a portrait's own expression is the starting point of retargeting: on for a head a player
    /// drives ([`player_driven`](Self::player_driven)), off by default (and in rig files without the field). A portrait that smiles at rest
    /// ([`PortraitRig::expressions`](super::PortraitRig::expressions): the tracker's scores of the
    /// still) then shows the driver's smile, not its own plus the driver's: a driver weight below the
    /// portrait's own moves the face the other way (the shape's negative, at most
    /// [`RELATIVE_MAX`](crate::rig::RELATIVE_MAX) of it: a neutral player un-smiles the portrait), one
    /// above it adds the difference. Only the channels in
    /// [`RELATIVE_CHANNELS`](crate::rig::RELATIVE_CHANNELS) and only the weights path
    /// ([`Retargeter::retarget`](super::Retargeter::retarget)); landmark-faithful driving moves the
    /// portrait from its own face as it is. Off, a neutral [`FaceFrame`](crate::face::FaceFrame) draws
    /// the portrait exactly as it is (an idle head, a clip's rest pose); on, it draws a smiling
    /// portrait un-smiled. Measured in `tests/round_trip.rs` (BENCHMARKS.md, "Round trip"): the demo
    /// portrait's smile read back at r 0.93 on, 0.62 off.
    #[serde(default)]
    pub relative_to_portrait: bool,
    /// How much further the raised-brow shapes (browInnerUp, browOuterUp*) move on a portrait whose
    /// brows are not drawn ([`brow_gain`](super::brow_gain): Mona Lisa), the extra raise carried up the
    /// forehead; 1 turns it off. Portraits with drawn brows are moved as the shapes say.
    #[serde(default = "default_faint_brow_gain")]
    pub faint_brow_gain: f32,
}

fn default_look_angle() -> f32 {
    0.9
}

fn default_look_angle_vertical() -> f32 {
    0.6
}

fn default_faint_brow_gain() -> f32 {
    super::brows::FAINT_BROW_GAIN
}

impl Default for ExpressionRig {
    fn default() -> Self {
        static RIG: OnceLock<ExpressionRig> = OnceLock::new();
        RIG.get_or_init(build_default).clone()
    }
}

impl ExpressionRig {
    /// The default shapes for a head a player drives: from the portrait's own expression
    /// ([`relative_to_portrait`](Self::relative_to_portrait)), and the mouthPucker shape
    /// [`PLAYER_PUCKER_GAIN`] times stronger. Measured in `tests/round_trip.rs` on the demo portrait, which
    /// smiles at rest: the tracker read its rendered pucker back at 0.14 of the driver's score (r 0.72;
    /// 0.86 at 1.5x). Without the portrait's own smile undone the stronger pucker costs more than it gives
    /// (its smile r 0.63 -> 0.46, jawOpen 0.82 -> 0.76, for pucker 0.65 -> 0.73), so the default rig keeps
    /// 1x.
    pub fn player_driven() -> Self {
        let mut rig = Self {
            relative_to_portrait: true,
            ..Self::default()
        };
        if let Some(shape) = rig.shapes.get_mut("mouthPucker") {
            shape.gain *= PLAYER_PUCKER_GAIN;
        }
        rig
    }

    /// The rule-made shapes alone, without the fitted ones (what `models/fit_expression_rig.py` compares
    /// its fit with): one for every expression but the `eyeLook*` ones.
    pub fn hand_made() -> Self {
        build_hand_made()
    }

    /// The shape of `expression`, if it has one.
    pub fn shape(&self, expression: Expression) -> Option<&Shape> {
        self.shapes.get(expression.name())
    }

    /// The dense table used by retargeting: for each of the 52 expressions, its offsets times its gain.
    pub fn dense(&self) -> Vec<Vec<(u16, [f32; 3])>> {
        Expression::ALL
            .iter()
            .map(|&e| match self.shape(e) {
                Some(s) => s
                    .offsets
                    .iter()
                    .map(|(&i, d)| (i, d.map(|v| v * s.gain)))
                    .collect(),
                None => Vec::new(),
            })
            .collect()
    }

    /// Reads and checks a rig file (JSON).
    pub fn load(path: &Path) -> Result<Self> {
        let err = |problem: String| Error::Rig {
            path: path.display().to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let rig: ExpressionRig = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        rig.check().map_err(err)?;
        Ok(rig)
    }

    /// Writes the rig as pretty JSON, atomically (a crash mid-save leaves the old file).
    pub fn save(&self, path: &Path) -> Result<()> {
        let err = |problem: String| Error::Rig {
            path: path.display().to_string(),
            problem,
        };
        self.check().map_err(err)?;
        let json = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        crate::files::write_atomic(path, json.as_bytes(), crate::files::Replace::Always)
            .map(|_| ())
            .map_err(|e| err(format!("cannot write: {e}")))
    }

    /// What is wrong with the rig, if anything: version, unknown names, bad indices or numbers.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.version != EXPRESSION_RIG_VERSION {
            return Err(format!(
                "version {} (this crate reads version {EXPRESSION_RIG_VERSION})",
                self.version
            ));
        }
        if !self.look_angle.is_finite() {
            return Err("look_angle is not a finite number".into());
        }
        if !self.look_angle_vertical.is_finite() {
            return Err("look_angle_vertical is not a finite number".into());
        }
        if !(1.0..=3.0).contains(&self.faint_brow_gain) {
            return Err(format!(
                "faint_brow_gain {} is not a number in 1..=3",
                self.faint_brow_gain
            ));
        }
        for (name, shape) in &self.shapes {
            name.parse::<Expression>()
                .map_err(|_| format!("`{name}` is not an ARKit expression name"))?;
            if !shape.gain.is_finite() {
                return Err(format!("shape `{name}`: gain is not a finite number"));
            }
            for (i, d) in &shape.offsets {
                if *i >= 468 {
                    return Err(format!("shape `{name}`: landmark {i} (there are 468)"));
                }
                if d.iter().any(|v| !v.is_finite() || v.abs() > 2.0) {
                    return Err(format!(
                        "shape `{name}`: offset {d:?} of landmark {i} is not a number in -2..=2"
                    ));
                }
            }
        }
        Ok(())
    }
}

fn polygon(c: &[[f32; 3]], ring: impl Iterator<Item = usize>) -> Vec<[f64; 2]> {
    ring.map(|i| [c[i][0] as f64, c[i][1] as f64]).collect()
}

struct Builder {
    c: &'static [[f32; 3]],
    rig: ExpressionRig,
}

impl Builder {
    fn add(&mut self, e: Expression, offsets: impl Fn(usize, [f32; 3]) -> [f32; 3]) {
        let mut shape = Shape {
            gain: 1.0,
            offsets: BTreeMap::new(),
        };
        for (i, p) in self.c.iter().enumerate() {
            let d = offsets(i, *p);
            if d.iter().any(|v| v.abs() > 5e-4) {
                let round = |v: f32| (v * 1e4).round() / 1e4;
                shape.offsets.insert(i as u16, d.map(round));
            }
        }
        self.rig.shapes.insert(e.name().to_owned(), shape);
    }

    /// A Gaussian blob of motion `delta` around `centre` (canonical x, y) of radius `r`.
    fn blob(&mut self, e: Expression, centre: [f32; 2], r: f32, delta: [f32; 3]) {
        self.add(e, |_, p| {
            let d2 = ((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2)) / (r * r);
            let w = (-d2).exp();
            if w < 0.02 {
                [0.0; 3]
            } else {
                delta.map(|v| v * w)
            }
        });
    }
}

/// For each point, whether it lies on the lips (inside their outer contour, or on it) and whether above
/// the line halfway between their inner edges (the upper lip's side).
fn lip_sides(c: &[[f32; 3]]) -> Vec<(bool, bool)> {
    let outer = polygon(
        c,
        UPPER_OUTER.iter().chain(LOWER_OUTER.iter().rev()).copied(),
    );
    let mid: Vec<[f32; 2]> = UPPER_INNER
        .iter()
        .zip(LOWER_INNER)
        .map(|(&u, l)| [(c[u][0] + c[l][0]) / 2.0, (c[u][1] + c[l][1]) / 2.0])
        .collect();
    c.iter()
        .enumerate()
        .map(|(i, p)| {
            let on_lips = super::topology::inside(&outer, [p[0] as f64, p[1] as f64])
                || UPPER_OUTER.contains(&i)
                || LOWER_OUTER.contains(&i);
            (on_lips, p[1] <= interp(&mid, p[0]))
        })
        .collect()
}

/// Which points belong to the upper lip: its outer and inner edges (the corners too) and the points of
/// the lips above the line halfway between their inner edges.
fn upper_lip_membership(c: &[[f32; 3]]) -> Vec<bool> {
    lip_sides(c)
        .into_iter()
        .enumerate()
        .map(|(i, (on_lips, above))| {
            UPPER_OUTER.contains(&i) || UPPER_INNER.contains(&i) || (on_lips && above)
        })
        .collect()
}

/// How much each point belongs to the lower jaw: 1 for the lower lip and chin, 0 for the upper lip and
/// above, smooth in between.
fn jaw_membership(c: &[[f32; 3]]) -> Vec<f32> {
    let sides = lip_sides(c);
    let corner_y = (c[61][1] + c[291][1]) / 2.0;
    let centre_x = (c[61][0] + c[291][0]) / 2.0;
    let half_width = (c[291][0] - c[61][0]) / 2.0;
    c.iter()
        .enumerate()
        .map(|(i, p)| {
            if [61, 291, 78, 308].contains(&i) {
                return 0.45;
            }
            let (on_lips, above) = sides[i];
            if on_lips {
                if above {
                    return 0.0;
                }
                // The lower lip hangs from the corners: it drops most in the middle, so the mouth opens
                // round, not square.
                let x = ((p[0] - centre_x) / half_width).abs().min(1.0);
                return 1.0 - 0.55 * x * x;
            }
            let down = smoothstep(corner_y - 0.04, corner_y + 0.16, p[1]);
            let side = 1.0 - 0.6 * smoothstep(0.5, 0.85, p[0].abs());
            down * side
        })
        .collect()
}

/// Lid travel to close one eye: for each landmark, how far down it moves (canonical units).
fn blink_offsets(c: &[[f32; 3]], ring: &[usize; 16], close: f32) -> Vec<[f32; 3]> {
    // ring: outer corner, 7 lower, inner corner, 7 upper (inner to outer).
    let lower: Vec<usize> = ring[1..8].to_vec();
    let upper: Vec<usize> = ring[9..16].iter().rev().copied().collect();
    // Gap between the lids along x, zero at the corners.
    let mut gap: Vec<[f32; 2]> = vec![[c[ring[0]][0], 0.0]];
    for (u, l) in upper.iter().zip(&lower) {
        gap.push([(c[*u][0] + c[*l][0]) / 2.0, c[*l][1] - c[*u][1]]);
    }
    gap.push([c[ring[8]][0], 0.0]);
    gap.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let upper_curve = {
        let mut v: Vec<[f32; 2]> = upper.iter().map(|&u| [c[u][0], c[u][1]]).collect();
        v.push([c[ring[0]][0], c[ring[0]][1]]);
        v.push([c[ring[8]][0], c[ring[8]][1]]);
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v
    };
    let lower_curve = {
        let mut v: Vec<[f32; 2]> = lower.iter().map(|&l| [c[l][0], c[l][1]]).collect();
        v.push([c[ring[0]][0], c[ring[0]][1]]);
        v.push([c[ring[8]][0], c[ring[8]][1]]);
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v
    };
    let (x0, x1) = (
        c[ring[0]][0].min(c[ring[8]][0]),
        c[ring[0]][0].max(c[ring[8]][0]),
    );
    let margin = 0.06;
    c.iter()
        .enumerate()
        .map(|(i, p)| {
            if p[0] < x0 - margin || p[0] > x1 + margin || ring[0] == i || ring[8] == i {
                return [0.0; 3];
            }
            let g = interp(&gap, p[0]);
            if upper.contains(&i) {
                return [0.0, close * g, 0.0];
            }
            if lower.contains(&i) {
                return [0.0, -(1.0 - close) * g, 0.0];
            }
            let fade_x = 1.0 - smoothstep(0.0, margin, (x0 - p[0]).max(p[0] - x1));
            let above = interp(&upper_curve, p[0]) - p[1];
            let below = p[1] - interp(&lower_curve, p[0]);
            if above > 0.0 {
                // Lid skin between the lid edge and the brow unfolds: it follows less the higher it is.
                let w = (-(above / 0.07).powi(2)).exp();
                [0.0, close * g * w * 0.6 * fade_x, 0.0]
            } else if below > 0.0 {
                let w = (-(below / 0.05).powi(2)).exp();
                [0.0, -(1.0 - close) * g * w * 0.5 * fade_x, 0.0]
            } else {
                [0.0; 3]
            }
        })
        .collect()
}

/// The fitted shapes, as `models/fit_expression_rig.py` writes them.
#[derive(Deserialize)]
struct FittedFile {
    header: FittedHeader,
    shapes: BTreeMap<String, BTreeMap<u16, [f32; 3]>>,
}

#[derive(Deserialize)]
struct FittedHeader {
    /// The channels whose fitted shape is used (the others keep the hand-made one).
    use_fitted: Vec<String>,
}

fn fitted_file() -> FittedFile {
    serde_json::from_str(include_str!("fitted_shapes.json"))
        .expect("src/rig/fitted_shapes.json is valid (made by models/fit_expression_rig.py)")
}

/// Channels that keep the hand-made shape although the fit predicted held-out frames a little better:
/// with the fitted blinks' lid skin, the demo portrait's rendered right eye stayed 18 % open
/// (tests/mesh_warp.rs `blink_closes_the_eyes_in_the_rendered_frame`), for a 2 % smaller error.
const KEEP_HAND_MADE: [&str; 2] = ["eyeBlinkLeft", "eyeBlinkRight"];

fn build_default() -> ExpressionRig {
    let mut rig = build_hand_made();
    let fitted = fitted_file();
    let jaw = jaw_membership(canonical_face());
    for name in &fitted.header.use_fitted {
        if KEEP_HAND_MADE.contains(&name.as_str()) {
            continue;
        }
        let mut offsets = fitted.shapes[name].clone();
        if name == "jawOpen" {
            // The fit drags the whole upper lip down a little with the jaw (MediaPipe's mesh does: its
            // middle, 13 and 0, by 0.035-0.04); that drag is taken away and the face above the lips
            // stays, as in the hand-made shape. The upper lip keeps what it drops beyond the drag,
            // which grows towards the corners: its inner edge curves down into the corners, which drop
            // the fit's 0.17 less the drag. With the whole upper lip held still (before 2026-12-05) the
            // corners fell 0.17 below their upper-lip neighbours: an open mouth with vertical side
            // walls and a step at each corner (Takeo, Einstein). Round trip: demo 0.842 -> 0.854, Mona
            // Lisa 0.738 -> 0.742. (Keeping the whole drag read 0.860 / 0.742 but moved the upper lip's
            // middle and, with a smaller lip gap, opened the jaw further over the collar.)
            let drop = |i: u16| offsets.get(&i).map_or(0.0, |d| d[1]);
            let drag = drop(13).min(drop(0)).max(0.0);
            let upper = upper_lip_membership(canonical_face());
            offsets = offsets
                .into_iter()
                .filter_map(|(i, d)| {
                    if upper[i as usize] {
                        let dy = d[1] - drag;
                        (dy > 0.0).then_some((i, [d[0], dy, d[2]]))
                    } else {
                        (jaw[i as usize] > 0.0).then_some((i, d))
                    }
                })
                .collect();
        }
        rig.shapes
            .get_mut(name)
            .expect("a fitted name is an ARKit name")
            .offsets = offsets;
    }
    for (prefix, gain) in SHAPE_GAINS {
        for (name, shape) in rig.shapes.iter_mut() {
            if name.starts_with(prefix) {
                shape.gain *= gain;
            }
        }
    }
    rig
}

/// The default rig's gains on its shapes, by name prefix (both sides; `mouthShrug`: upper and lower).
/// These shapes move the lips less than the drivers did, as the tracker reads them back: the fitted rise
/// of the upper lip (least squares shares it with the smile and the sneer that come with it), and the
/// hand-made stretch, shrug and lower-lip shapes (a small motion beside them). Measured in
/// `tests/round_trip.rs` (slope of the rendered score on the driver's, r): mouthUpperUp 1.5x, r
/// 0.83/0.77 -> 0.88/0.82 on the demo and 0.68/0.66 -> 0.77/0.71 on Mona Lisa; mouthStretch 2x, slopes
/// 0.10-0.14 -> 0.22-0.36, r 0.87/0.60 -> 0.93/0.78 and 0.74/0.66 -> 0.80/0.81; mouthShrug 2x, the demo's
/// shrugLower 0.64 -> 0.77; mouthLowerDown 1.4x, 0.59/0.78 -> 0.65/0.82. The means 0.791 -> 0.827 (demo)
/// and 0.714 -> 0.731 (Mona Lisa), with no artefact more in `tests/artefacts.rs` (one broken line fewer).
/// Tried and left at 1: browOuterUp 1.4x (means +0.003; six broken lines and a speck more there),
/// eyeSquint 1.6x (Mona Lisa's mean 0.716 -> 0.695), mouthPress 1.6x, mouthFrown 1.6x, mouthLeft/Right 2x
/// and jawOpen 1.2x (each within 0.003, or lower).
pub const SHAPE_GAINS: [(&str, f32); 4] = [
    ("mouthUpperUp", 1.5),
    ("mouthStretch", 2.0),
    ("mouthShrug", 2.0),
    ("mouthLowerDown", 1.4),
];

/// [`ExpressionRig::player_driven`]'s gain on the fitted mouthPucker shape.
pub const PLAYER_PUCKER_GAIN: f32 = 1.5;

fn build_hand_made() -> ExpressionRig {
    use Expression as E;
    let c = canonical_face();
    let mut b = Builder {
        c,
        rig: ExpressionRig {
            version: EXPRESSION_RIG_VERSION,
            shapes: BTreeMap::new(),
            look_angle: default_look_angle(),
            look_angle_vertical: default_look_angle_vertical(),
            faint_brow_gain: default_faint_brow_gain(),
            relative_to_portrait: false,
        },
    };
    let jaw = jaw_membership(c);
    // The jaw drops and swings back a little; 0.45 eye-corner distances is a wide-open mouth.
    b.add(E::JawOpen, |i, _| [0.0, 0.45 * jaw[i], 0.12 * jaw[i]]);
    b.add(E::JawLeft, |i, _| [0.12 * jaw[i], 0.0, 0.0]);
    b.add(E::JawRight, |i, _| [-0.12 * jaw[i], 0.0, 0.0]);
    b.add(E::JawForward, |i, _| [0.0, 0.02 * jaw[i], -0.1 * jaw[i]]);
    // Lips back together over an open jaw.
    let lip_centre = [(c[13][0] + c[14][0]) / 2.0, (c[13][1] + c[14][1]) / 2.0];
    b.add(E::MouthClose, |i, p| {
        let near = (-((p[0] - lip_centre[0]) / 0.45).powi(2)).exp();
        let lip = if LOWER_OUTER.contains(&i) || LOWER_INNER.contains(&i) || jaw[i] >= 1.0 {
            (1.0 - smoothstep(0.0, 0.2, p[1] - c[17][1])) * near
        } else {
            0.0
        };
        [0.0, -0.35 * lip * jaw[i].min(1.0), 0.0]
    });

    for (ring, blink, wide, squint) in [
        (
            &RIGHT_EYE,
            E::EyeBlinkRight,
            E::EyeWideRight,
            E::EyeSquintRight,
        ),
        (&LEFT_EYE, E::EyeBlinkLeft, E::EyeWideLeft, E::EyeSquintLeft),
    ] {
        let closing = blink_offsets(c, ring, BLINK_MEET);
        b.add(blink, |i, _| closing[i]);
        // Wide: the upper lid lifts a third of the opening.
        let lifting = blink_offsets(c, ring, 1.0);
        b.add(wide, |i, _| {
            let d = lifting[i];
            if d[1] > 0.0 {
                [0.0, -0.35 * d[1], 0.0]
            } else {
                [0.0; 3]
            }
        });
        // Squint: the lower lid rises a third, the upper drops a little.
        let squeeze = blink_offsets(c, ring, 0.0);
        b.add(squint, |i, _| {
            let up = closing[i];
            let low = squeeze[i];
            [0.0, 0.1 * up[1].max(0.0) + 0.35 * low[1].min(0.0), 0.0]
        });
    }

    let (rc, lc) = (c[61], c[291]);
    for (corner, sign, smile, frown, stretch, dimple, press, upper_up, lower_down, cheek, sneer) in [
        (
            rc,
            -1.0f32,
            E::MouthSmileRight,
            E::MouthFrownRight,
            E::MouthStretchRight,
            E::MouthDimpleRight,
            E::MouthPressRight,
            E::MouthUpperUpRight,
            E::MouthLowerDownRight,
            E::CheekSquintRight,
            E::NoseSneerRight,
        ),
        (
            lc,
            1.0,
            E::MouthSmileLeft,
            E::MouthFrownLeft,
            E::MouthStretchLeft,
            E::MouthDimpleLeft,
            E::MouthPressLeft,
            E::MouthUpperUpLeft,
            E::MouthLowerDownLeft,
            E::CheekSquintLeft,
            E::NoseSneerLeft,
        ),
    ] {
        let at = [corner[0], corner[1]];
        b.add(smile, |_, p| {
            let d2 = ((p[0] - at[0]).powi(2) + (p[1] - at[1]).powi(2)) / 0.26f32.powi(2);
            let cheek_d2 =
                ((p[0] - at[0] * 1.15).powi(2) + (p[1] - 0.35).powi(2)) / 0.22f32.powi(2);
            let w = (-d2).exp();
            let wc = (-cheek_d2).exp();
            if w < 0.02 && wc < 0.02 {
                return [0.0; 3];
            }
            [sign * 0.07 * w, -0.1 * w - 0.035 * wc, 0.02 * w]
        });
        b.blob(frown, at, 0.22, [sign * 0.01, 0.08, 0.0]);
        b.blob(stretch, at, 0.24, [sign * 0.09, 0.03, 0.0]);
        b.blob(dimple, at, 0.18, [sign * 0.04, 0.0, 0.02]);
        b.blob(press, at, 0.16, [sign * 0.025, -0.015, 0.0]);
        let side = [at[0] * 0.5, c[0][1]];
        b.add(upper_up, |i, p| {
            if jaw[i] > 0.5 {
                return [0.0; 3];
            }
            let d2 = ((p[0] - side[0]).powi(2) + (p[1] - side[1]).powi(2)) / 0.2f32.powi(2);
            let w = (-d2).exp();
            if w < 0.02 {
                [0.0; 3]
            } else {
                [0.0, -0.06 * w, 0.0]
            }
        });
        let side_low = [at[0] * 0.5, c[17][1]];
        b.add(lower_down, |i, p| {
            if jaw[i] < 0.5 {
                return [0.0; 3];
            }
            let d2 = ((p[0] - side_low[0]).powi(2) + (p[1] - side_low[1]).powi(2)) / 0.2f32.powi(2);
            let w = (-d2).exp();
            if w < 0.02 {
                [0.0; 3]
            } else {
                [0.0, 0.07 * w, 0.0]
            }
        });
        b.blob(cheek, [sign * 0.5, 0.33], 0.2, [0.0, -0.045, 0.0]);
        // Sneer: the nostril wing and the upper lip beside it lift, the skin up the side of the nose
        // bunches up; the lower lip and jaw stay.
        let wing = c[if sign > 0.0 { 327 } else { 98 }];
        b.add(sneer, |i, p| {
            let d2 =
                ((p[0] - wing[0]).powi(2) + ((p[1] - wing[1]) / 1.5).powi(2)) / 0.15f32.powi(2);
            let w = (-d2).exp() * (1.0 - jaw[i]);
            if w < 0.02 {
                [0.0; 3]
            } else {
                [sign * 0.008 * w, -0.06 * w, -0.01 * w]
            }
        });
    }

    let mouth_centre = [(rc[0] + lc[0]) / 2.0, (c[13][1] + c[14][1]) / 2.0];
    let half_width = (lc[0] - rc[0]) / 2.0;
    let mouth_weight = move |p: [f32; 3]| {
        let dx = (p[0] - mouth_centre[0]) / (half_width * 1.3);
        let dy = (p[1] - mouth_centre[1]) / 0.3;
        (-(dx * dx + dy * dy)).exp()
    };
    b.add(E::MouthPucker, |_, p| {
        let w = mouth_weight(p);
        if w < 0.02 {
            return [0.0; 3];
        }
        [-(p[0] - mouth_centre[0]) * 0.35 * w, 0.0, -0.08 * w]
    });
    b.add(E::MouthFunnel, |i, p| {
        let w = mouth_weight(p);
        if w < 0.02 {
            return [0.0; 3];
        }
        // Lips part in the middle, not at the corners.
        let centre = 1.0 - ((p[0] - mouth_centre[0]) / half_width).abs().min(1.0);
        let open = if UPPER_INNER.contains(&i) || UPPER_OUTER.contains(&i) {
            -0.04 * centre
        } else if LOWER_INNER.contains(&i) || LOWER_OUTER.contains(&i) {
            0.07 * centre
        } else {
            0.0
        };
        [-(p[0] - mouth_centre[0]) * 0.25 * w, open, -0.06 * w]
    });
    b.blob(E::MouthLeft, mouth_centre, 0.32, [0.1, 0.0, 0.0]);
    b.blob(E::MouthRight, mouth_centre, 0.32, [-0.1, 0.0, 0.0]);
    b.add(E::MouthShrugLower, |i, p| {
        let w = mouth_weight(p) * jaw[i];
        [0.0, -0.05 * w, 0.0]
    });
    b.add(E::MouthShrugUpper, |i, p| {
        let w = mouth_weight(p) * (1.0 - jaw[i]);
        [0.0, -0.03 * w, 0.0]
    });
    // Lip rolls: the lip turns in over the teeth, so its red shows less: the outer edge moves towards the
    // inner one and back, most in the middle.
    let centre_of = |p: [f32; 3]| 1.0 - ((p[0] - mouth_centre[0]) / half_width).abs().min(1.0);
    b.add(E::MouthRollLower, |i, p| {
        let centre = centre_of(p);
        if LOWER_OUTER.contains(&i) {
            [0.0, -0.06 * centre, 0.05 * centre]
        } else if LOWER_INNER.contains(&i) {
            [0.0, -0.015 * centre, 0.04 * centre]
        } else {
            // The skin under the lip follows a little.
            let w = mouth_weight(p) * jaw[i];
            [0.0, -0.02 * w, 0.01 * w]
        }
    });
    b.add(E::MouthRollUpper, |i, p| {
        let centre = centre_of(p);
        if UPPER_OUTER.contains(&i) {
            [0.0, 0.05 * centre, 0.05 * centre]
        } else if UPPER_INNER.contains(&i) {
            [0.0, 0.012 * centre, 0.04 * centre]
        } else {
            let w = mouth_weight(p) * (1.0 - jaw[i]);
            [0.0, 0.015 * w, 0.01 * w]
        }
    });
    // The tongue (drawn by the renderer) pushes the lower lip down and out a little: the lips part.
    b.add(E::TongueOut, |i, p| {
        let w = jaw[i] * (0.4 + 0.6 * mouth_weight(p));
        [0.0, 0.07 * w, -0.02 * w]
    });
    b.add(E::CheekPuff, |_, p| {
        // Both cheeks swell outwards and forwards.
        let sign = p[0].signum();
        let d2 = ((p[0].abs() - 0.5).powi(2) + (p[1] - 0.6).powi(2)) / 0.22f32.powi(2);
        let w = (-d2).exp();
        if w < 0.02 {
            [0.0; 3]
        } else {
            [sign * 0.05 * w, 0.0, -0.03 * w]
        }
    });

    let inner_brow = [(c[107][0] + c[336][0]) / 2.0, (c[107][1] + c[336][1]) / 2.0];
    b.add(E::BrowInnerUp, |_, p| {
        let dx = (p[0] - inner_brow[0]) / 0.3;
        let dy = (p[1] - inner_brow[1]) / 0.16;
        let w = (-(dx * dx + dy * dy)).exp();
        if w < 0.02 {
            [0.0; 3]
        } else {
            // 0.144 eye-corner distances at the inner ends: at 0.09 the round trip read the raised brows back
            // at 0.1-0.3 of the driver's score (r 0.78 / 0.57 on the demo portrait / Mona Lisa, 0.86 / 0.66
            // now; stronger still pulls mouthPucker and browOuterUp down with it).
            [0.0, -0.144 * w, 0.0]
        }
    });
    for (brow, outer, sign, down, up) in [
        (105, 70, -1.0f32, E::BrowDownRight, E::BrowOuterUpRight),
        (334, 300, 1.0, E::BrowDownLeft, E::BrowOuterUpLeft),
    ] {
        b.blob(
            down,
            [c[brow][0] * 0.8, c[brow][1]],
            0.2,
            [-sign * 0.02, 0.06, 0.0],
        );
        b.blob(
            up,
            [c[outer][0], c[outer][1] - 0.05],
            0.16,
            [0.0, -0.08, 0.0],
        );
    }
    b.rig
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shape's offset of landmark `i` (zero when it does not move it).
    fn d(rig: &ExpressionRig, name: &str, i: u16) -> [f32; 3] {
        rig.shapes[name]
            .offsets
            .get(&i)
            .copied()
            .unwrap_or([0.0; 3])
    }

    #[test]
    fn default_rig_is_valid_and_round_trips() {
        let rig = ExpressionRig::default();
        rig.check().unwrap();
        let json = serde_json::to_string(&rig).unwrap();
        let back: ExpressionRig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rig);
        ExpressionRig::hand_made().check().unwrap();
        for name in ["jawOpen", "eyeBlinkLeft", "mouthSmileRight", "browInnerUp"] {
            assert!(
                rig.shapes[name].offsets.len() > 5,
                "{name} moves only {} points",
                rig.shapes[name].offsets.len()
            );
        }
    }

    #[test]
    fn every_expression_but_gaze_moves_the_face_visibly() {
        for (kind, rig) in [
            ("default", ExpressionRig::default()),
            ("hand-made", ExpressionRig::hand_made()),
        ] {
            for e in Expression::ALL {
                let name = e.name();
                if name.starts_with("eyeLook") {
                    assert!(rig.shape(e).is_none(), "{kind}: {name} has a shape");
                    continue;
                }
                let shape = rig
                    .shape(e)
                    .unwrap_or_else(|| panic!("{kind}: no shape for {name}"));
                let most = shape
                    .offsets
                    .values()
                    .map(|d| (d[0] * d[0] + d[1] * d[1]).sqrt() * shape.gain)
                    .fold(0.0, f32::max);
                // 2 % of the eye-corner distance: two pixels on a face 100 px between the eyes.
                assert!(
                    most >= 0.02,
                    "{kind}: {name} moves a landmark at most {most} in the image plane"
                );
            }
            assert_eq!(rig.shapes.len(), 52 - 8, "{kind}");
        }
    }

    #[test]
    fn fitted_shapes_file_is_sound_and_used() {
        let text = include_str!("fitted_shapes.json");
        assert!(text.len() < 300_000, "{} bytes", text.len());
        let file = fitted_file();
        let rig = ExpressionRig::default();
        for name in &file.header.use_fitted {
            assert!(name.parse::<Expression>().is_ok(), "{name}");
            assert!(!name.starts_with("eyeLook"));
            // The default rig's shape is the fitted one (but a blink's lid edges).
            let fitted = &file.shapes[name];
            let (i, d) = fitted
                .iter()
                .max_by(|a, b| a.1[1].abs().total_cmp(&b.1[1].abs()))
                .unwrap();
            if !name.starts_with("eyeBlink") {
                assert_eq!(rig.shapes[name].offsets[i], *d, "{name}");
            }
        }
        for name in ["jawOpen", "mouthSmileLeft", "mouthPucker", "mouthLeft"] {
            assert!(
                file.header.use_fitted.iter().any(|n| n == name),
                "{name} is not fitted"
            );
        }
    }

    #[test]
    fn jaw_open_moves_lower_lip_and_chin_not_upper_lip() {
        let rig = ExpressionRig::default();
        for i in [14u16, 17, 152] {
            let dy = d(&rig, "jawOpen", i)[1];
            assert!((0.3..0.5).contains(&dy), "{i}: {dy}");
        }
        // The lower lip drops less towards the corners: the mouth opens round.
        for i in [87u16, 317] {
            let dy = d(&rig, "jawOpen", i)[1];
            assert!(dy > 0.2 && dy < d(&rig, "jawOpen", 14)[1], "{i}: {dy}");
        }
        // The upper lip's middle and the face above it hardly move.
        for i in [13u16, 0, 1, 2, 164, 33, 263] {
            assert!(d(&rig, "jawOpen", i)[1].abs() < 0.05, "{i}");
        }
        // The nose and the skin between it and the lip stay still.
        for i in [1u16, 2, 94, 164, 167, 393] {
            assert_eq!(d(&rig, "jawOpen", i)[1], 0.0, "{i}");
        }
        // The upper lip's inner edge curves down into the dropping corners: each point drops at least as
        // much as the one nearer the middle, and the corners' neighbours (191, 415) at least half as much
        // as the corners. (Holding the upper lip still while the corners dropped 0.17 drew an open
        // mouth with vertical side walls and a step at each corner.)
        for half in [[13u16, 82, 81, 80, 191, 78], [13, 312, 311, 310, 415, 308]] {
            let drops: Vec<f32> = half.iter().map(|&i| d(&rig, "jawOpen", i)[1]).collect();
            assert!(
                drops.windows(2).all(|w| w[1] >= w[0]),
                "{half:?}: {drops:?}"
            );
            assert!(
                drops[5] > 0.1 && drops[4] >= 0.5 * drops[5],
                "{half:?}: {drops:?}"
            );
        }
    }

    #[test]
    fn mouth_shapes_move_the_right_way() {
        let rig = ExpressionRig::default();
        // Left is the face's own left: +x. 291 is its mouth corner, 61 the right one.
        for (name, corner, out) in [
            ("mouthSmileLeft", 291u16, 1.0),
            ("mouthSmileRight", 61, -1.0),
        ] {
            let c = d(&rig, name, corner);
            assert!(c[1] < -0.04 && c[0] * out > 0.02, "{name}: corner {c:?}");
        }
        for (name, corner) in [("mouthFrownLeft", 291u16), ("mouthFrownRight", 61)] {
            assert!(d(&rig, name, corner)[1] > 0.04, "{name}");
        }
        for i in [0u16, 13, 14, 17] {
            assert!(d(&rig, "mouthLeft", i)[0] > 0.05, "mouthLeft {i}");
            assert!(d(&rig, "mouthRight", i)[0] < -0.05, "mouthRight {i}");
        }
        // Pucker and funnel narrow the mouth.
        for name in ["mouthPucker", "mouthFunnel"] {
            assert!(
                d(&rig, name, 291)[0] < -0.02 && d(&rig, name, 61)[0] > 0.02,
                "{name}"
            );
        }
        // Lip rolls: the outer edge of the lip goes towards the inner one and in (away from the camera).
        let roll = d(&rig, "mouthRollLower", 17);
        assert!(roll[1] < -0.03 && roll[2] > 0.02, "mouthRollLower {roll:?}");
        let roll = d(&rig, "mouthRollUpper", 0);
        assert!(roll[1] > 0.03 && roll[2] > 0.02, "mouthRollUpper {roll:?}");
        // Sneer lifts the nostril wing on its side, not the lower lip.
        for (name, wing, other) in [
            ("noseSneerLeft", 327u16, 98u16),
            ("noseSneerRight", 98, 327),
        ] {
            assert!(d(&rig, name, wing)[1] < -0.04, "{name}");
            assert!(
                d(&rig, name, other)[1] > -0.02,
                "{name} lifts the other wing"
            );
            assert_eq!(d(&rig, name, 14), [0.0; 3], "{name}");
        }
        // Cheek puff swells both cheeks outwards; jawForward brings the chin forwards.
        assert!(d(&rig, "cheekPuff", 425)[0] > 0.02 && d(&rig, "cheekPuff", 205)[0] < -0.02);
        assert!(d(&rig, "jawForward", 152)[2] < -0.05);
        // The tongue parts the lips: the lower lip drops, the upper stays.
        assert!(d(&rig, "tongueOut", 14)[1] > 0.04 && d(&rig, "tongueOut", 13)[1].abs() < 1e-3);
    }

    #[test]
    fn eye_and_brow_shapes_move_the_right_way() {
        let rig = ExpressionRig::default();
        for (side, upper, lower, brow) in
            [("Left", 386u16, 374u16, 334u16), ("Right", 159, 145, 105)]
        {
            assert!(
                d(&rig, &format!("eyeBlink{side}"), upper)[1] > 0.05,
                "blink {side}"
            );
            assert!(
                d(&rig, &format!("eyeSquint{side}"), lower)[1] < -0.02,
                "squint {side}"
            );
            assert!(
                d(&rig, &format!("eyeWide{side}"), upper)[1] < -0.015,
                "wide {side}"
            );
            assert!(
                d(&rig, &format!("browDown{side}"), brow)[1] > 0.03,
                "browDown {side}"
            );
            assert!(
                d(&rig, &format!("browOuterUp{side}"), brow)[1] < -0.02,
                "browOuterUp {side}"
            );
        }
        assert!(d(&rig, "browInnerUp", 107)[1] < -0.05 && d(&rig, "browInnerUp", 336)[1] < -0.05);
    }

    /// Writes the hand-made shapes for `models/fit_expression_rig.py --hand target/hand_rig.json`:
    /// `cargo test --lib rig::expressions::tests::save_hand_made_rig -- --ignored`.
    #[test]
    #[ignore = "a tool: writes target/hand_rig.json"]
    fn save_hand_made_rig() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/hand_rig.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        ExpressionRig::hand_made().save(&path).unwrap();
    }

    #[test]
    fn blink_meets_the_lids() {
        let c = canonical_face();
        let rig = ExpressionRig::default();
        for (name, upper, lower) in [("eyeBlinkRight", 159, 145), ("eyeBlinkLeft", 386, 374)] {
            let s = &rig.shapes[name].offsets;
            let dy = |i: usize| s.get(&(i as u16)).map_or(0.0, |d| d[1]);
            let gap = (c[lower][1] + dy(lower)) - (c[upper][1] + dy(upper));
            // Within 1 % of the eye-corner distance here; retargeting then makes each portrait's own lids
            // meet exactly.
            assert!(gap.abs() < 0.01, "{name}: lids {gap} apart");
        }
    }

    #[test]
    fn bad_rig_files_are_errors() {
        let mut rig = ExpressionRig::default();
        rig.shapes.insert("smile".into(), Shape::default());
        assert!(rig.check().unwrap_err().contains("`smile`"));
        let mut rig = ExpressionRig::default();
        rig.shapes
            .get_mut("jawOpen")
            .unwrap()
            .offsets
            .insert(500, [0.0; 3]);
        assert!(rig.check().unwrap_err().contains("500"));
        let mut rig = ExpressionRig::default();
        rig.shapes
            .get_mut("jawOpen")
            .unwrap()
            .offsets
            .insert(1, [f32::NAN, 0.0, 0.0]);
        assert!(rig.check().is_err());
    }
}
