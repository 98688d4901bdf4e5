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

use crate::error::{Error, Result};
use crate::face::Expression;
use crate::math::{polyline_y as interp, smoothstep};
use crate::tracking::canonical_face;

mod hand_made;
use hand_made::{build_hand_made, jaw_membership, upper_lip_membership};

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
    serde_json::from_str(include_str!("../fitted_shapes.json"))
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
        let text = include_str!("../fitted_shapes.json");
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
