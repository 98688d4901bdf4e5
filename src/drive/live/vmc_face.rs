//! [`VmcFaceReader`]: a face assembled from VMC messages.

use crate::drive::lipsync::Vowel;
use crate::face::{Expression, ExpressionWeights, FaceFrame};
use crate::interop::osc::{OscError, read_packet};
use crate::interop::vmc::{VmcEvent, angles_of};

/// The VRM blendshape presets a VMC sender may send instead of (or besides) ARKit names.
const PRESETS: [&str; 8] = ["Blink", "Blink_L", "Blink_R", "A", "I", "U", "E", "O"];

/// Assembles faces from a VMC stream (`/VMC/Ext/Blend/Val` values, the `Head`, `LeftEye` and `RightEye`
/// bones), one at each `/VMC/Ext/Blend/Apply`, as a receiver does.
///
/// Blendshapes are matched by their ARKit names in any case (`eyeBlinkLeft`, `EyeBlinkLeft`) and by the
/// VRM presets `Blink`, `Blink_L`, `Blink_R` (the blinks) and `A`, `I`, `U`, `E`, `O` (the
/// [`Vowel`] mouth shapes); other names are counted in [`ignored`](Self::ignored). A value stays until
/// it is sent again, as in the protocol. [`LiveSource::Vmc`](super::LiveSource::Vmc) uses this; use it
/// yourself to read VMC from your own socket.
#[derive(Clone, Debug, Default)]
pub struct VmcFaceReader {
    weights: ExpressionWeights,
    presets: [f32; PRESETS.len()],
    head: (f32, f32, f32),
    eyes: [[f32; 2]; 2],
    time: f32,
    frames: u64,
    ignored: u64,
}

impl VmcFaceReader {
    /// Reads one UDP packet: the face at its last `Apply`, or `None` if it has none. An error means
    /// the packet is not OSC (what it held before the error was used).
    pub fn feed(&mut self, packet: &[u8]) -> Result<Option<FaceFrame>, OscError> {
        let mut applied = false;
        read_packet(packet, &mut |m, _| applied |= self.event(VmcEvent::of(&m)))?;
        Ok(applied.then(|| self.face()))
    }

    /// Takes one event; `true` at an `Apply` (a new face is ready: [`face`](Self::face)).
    pub fn event(&mut self, event: VmcEvent<'_>) -> bool {
        match event {
            VmcEvent::Blend { name, value } => {
                let value = if value.is_finite() {
                    value.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if let Ok(e) = name.parse::<Expression>() {
                    self.weights.set(e, value);
                } else if let Some(i) = PRESETS.iter().position(|p| p.eq_ignore_ascii_case(name)) {
                    self.presets[i] = value;
                } else {
                    self.ignored += 1;
                }
            }
            VmcEvent::Apply => {
                self.frames += 1;
                return true;
            }
            VmcEvent::Bone { name, rotation, .. } => {
                if let Some((yaw, pitch, roll)) = angles_of(rotation) {
                    match name {
                        "Head" => self.head = (yaw, pitch, roll),
                        "LeftEye" => self.eyes[0] = [yaw, pitch],
                        "RightEye" => self.eyes[1] = [yaw, pitch],
                        _ => {}
                    }
                }
            }
            VmcEvent::Time(t) if t.is_finite() => self.time = t,
            _ => {}
        }
        false
    }

    /// The face as the stream last set it.
    pub fn face(&self) -> FaceFrame {
        let mut face = FaceFrame {
            time: self.time as f64,
            expressions: self.weights,
            ..FaceFrame::default()
        };
        let e = &mut face.expressions;
        let p = &self.presets;
        let raise = |e: &mut ExpressionWeights, x: Expression, v: f32| e.set(x, e.get(x).max(v));
        raise(e, Expression::EyeBlinkLeft, p[0].max(p[1]));
        raise(e, Expression::EyeBlinkRight, p[0].max(p[2]));
        for (vowel, v) in [Vowel::A, Vowel::I, Vowel::U, Vowel::E, Vowel::O]
            .into_iter()
            .zip(&p[3..])
        {
            for &(x, w) in vowel.shape() {
                raise(e, x, w * v);
            }
        }
        (face.head.yaw, face.head.pitch, face.head.roll) = self.head;
        face.gaze.left = self.eyes[0];
        face.gaze.right = self.eyes[1];
        face.sanitize();
        face
    }

    /// Faces applied so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Blendshape values with a name that is neither ARKit's nor a known VRM preset.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interop::vmc::encode_face;

    #[test]
    fn the_senders_face_comes_back() {
        let mut face = FaceFrame::default()
            .with_expression(Expression::MouthSmileLeft, 0.7)
            .with_expression(Expression::EyeBlinkRight, 0.3);
        face.head.pitch = -0.15;
        face.head.roll = 0.05;
        face.gaze.right = [-0.2, 0.1];
        let mut reader = VmcFaceReader::default();
        let back = reader.feed(&encode_face(&face, 2.0)).unwrap().unwrap();
        assert_eq!(back.expressions, face.expressions);
        assert!((back.head.pitch + 0.15).abs() < 1e-5 && (back.head.roll - 0.05).abs() < 1e-5);
        assert!((back.gaze.right[0] + 0.2).abs() < 1e-5);
        assert_eq!(back.time, 2.0);
        assert_eq!((reader.frames(), reader.ignored()), (1, 0));
    }

    #[test]
    fn vrm_presets_and_unknown_names() {
        let mut reader = VmcFaceReader::default();
        for (name, value) in [
            ("Blink_L", 1.0),
            ("A", 0.5),
            ("Joy", 1.0),
            ("EYEWIDERIGHT", 0.4),
        ] {
            reader.event(VmcEvent::Blend { name, value });
        }
        assert!(reader.event(VmcEvent::Apply));
        let f = reader.face();
        assert_eq!(f.expressions.get(Expression::EyeBlinkLeft), 1.0);
        assert_eq!(f.expressions.get(Expression::EyeBlinkRight), 0.0);
        assert_eq!(f.expressions.get(Expression::JawOpen), 0.5);
        assert_eq!(f.expressions.get(Expression::EyeWideRight), 0.4);
        assert_eq!(reader.ignored(), 1);
    }
}
