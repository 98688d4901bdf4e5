//! [`VmcFaceReader`]: a face assembled from VMC messages.

use crate::drive::lipsync::Vowel;
use crate::face::{Expression, ExpressionWeights, FaceFrame};
use crate::interop::osc::{OscError, read_packet};
use crate::interop::vmc::{VmcEvent, angles_of};

/// The VRM expression presets a VMC sender may send instead of (or besides) ARKit names, VRM 0.x's and
/// VRM 1.0's names: blink, blink left, blink right, then the vowels A, I, U, E, O.
const PRESETS: [&[&str]; 8] = [
    &["Blink"],
    &["Blink_L", "blinkLeft"],
    &["Blink_R", "blinkRight"],
    &["A", "aa"],
    &["I", "ih"],
    &["U", "ou"],
    &["E", "ee"],
    &["O", "oh"],
];

/// Assembles faces from a VMC stream (`/VMC/Ext/Blend/Val` values, the `Head`, `LeftEye` and `RightEye`
/// bones), one at each `/VMC/Ext/Blend/Apply`, as a receiver does.
///
/// Blendshapes are matched by their ARKit names in any case (`eyeBlinkLeft`, `EyeBlinkLeft`) and by the
/// VRM presets `Blink`, `Blink_L`, `Blink_R` (VRM 1.0: `blinkLeft`, `blinkRight`) and `A`, `I`, `U`,
/// `E`, `O` (VRM 1.0: `aa`, `ih`, `ou`, `ee`, `oh`; the [`Vowel`] mouth shapes); other names are
/// counted in [`ignored`](Self::ignored). Nothing here allocates. A value stays until
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
    /// Reads one UDP packet: the face as it was at the packet's last `Apply` (values after it wait for
    /// the next), or `None` if it has none. A packet that turns out malformed after an `Apply` still
    /// gives that face; an error means no face was applied before the packet stopped being OSC (what it
    /// held up to there was taken).
    pub fn feed(&mut self, packet: &[u8]) -> Result<Option<FaceFrame>, OscError> {
        let mut applied = None;
        let read = read_packet(packet, &mut |m, _| {
            if self.event(VmcEvent::of(&m)) {
                applied = Some(self.face());
            }
        });
        match (read, applied) {
            (_, Some(face)) => Ok(Some(face)),
            (Ok(()), None) => Ok(None),
            (Err(e), None) => Err(e),
        }
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
                if let Some(e) = Expression::from_name(name) {
                    self.weights.set(e, value);
                } else if let Some(i) = PRESETS
                    .iter()
                    .position(|names| names.iter().any(|p| p.eq_ignore_ascii_case(name)))
                {
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
    fn a_packet_gives_the_face_at_its_last_apply() {
        use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
        let blend = |name: &str, v: f32| {
            OscPacket::Message(OscMessage {
                addr: "/VMC/Ext/Blend/Val".into(),
                args: vec![OscType::String(name.into()), OscType::Float(v)],
            })
        };
        let apply = OscPacket::Message(OscMessage {
            addr: "/VMC/Ext/Blend/Apply".into(),
            args: vec![],
        });
        let packet = rosc::encoder::encode(&OscPacket::Bundle(OscBundle {
            timetag: OscTime {
                seconds: 0,
                fractional: 1,
            },
            content: vec![blend("jawOpen", 0.5), apply, blend("jawOpen", 0.9)],
        }))
        .unwrap();
        let mut reader = VmcFaceReader::default();
        let f = reader.feed(&packet).unwrap().unwrap();
        assert_eq!(f.expressions.get(Expression::JawOpen), 0.5);
        // The value after the Apply waits for the next one; a malformed tail keeps the applied face.
        let mut cut = packet.clone();
        cut.truncate(packet.len() - 8);
        assert_eq!(
            reader
                .feed(&cut)
                .unwrap()
                .unwrap()
                .expressions
                .get(Expression::JawOpen),
            0.5
        );
    }

    #[test]
    fn vrm_presets_and_unknown_names() {
        let mut reader = VmcFaceReader::default();
        for (name, value) in [
            ("Blink_L", 1.0),
            ("A", 0.5),
            ("Joy", 1.0),
            ("EYEWIDERIGHT", 0.4),
            ("blinkRight", 0.5),
        ] {
            reader.event(VmcEvent::Blend { name, value });
        }
        assert!(reader.event(VmcEvent::Apply));
        let f = reader.face();
        assert_eq!(f.expressions.get(Expression::EyeBlinkLeft), 1.0);
        assert_eq!(f.expressions.get(Expression::EyeBlinkRight), 0.5);
        assert_eq!(f.expressions.get(Expression::JawOpen), 0.5);
        assert_eq!(f.expressions.get(Expression::EyeWideRight), 0.4);
        assert_eq!(reader.ignored(), 1);
    }
}
