//! The Live Link Face app's UDP packets (Epic Games' iPhone app, also written by iFacialMocap's Live
//! Link mode and other trackers), as Unreal's Live Link Face plugin reads them.
//!
//! One packet per frame, every number big-endian:
//!
//! | field | bytes |
//! |---|---|
//! | version | `u8`, 6 |
//! | device id | `i32` length, then that many UTF-8 bytes |
//! | subject name | `i32` length, then that many UTF-8 bytes |
//! | frame time | `i32` frame number, `f32` sub-frame |
//! | frame rate | `i32` numerator, `i32` denominator |
//! | value count | `u8`: 61 with a face, 0 (or the packet ends here) without one |
//! | values | 61 `f32`: the 52 ARKit blendshapes in [`Expression`] order, then head yaw, pitch, roll, left eye yaw, pitch, roll, right eye yaw, pitch, roll (radians) |
//!
//! [`decode`] reads a packet without allocating (the names borrow from it); [`encode`] writes one
//! (for tests and tools that stand in for the phone).

use crate::face::{Expression, ExpressionWeights, FaceFrame};

/// The port the app sends to unless told otherwise.
pub const DEFAULT_PORT: u16 = 11111;
/// The packet version this decoder reads.
pub const VERSION: u8 = 6;
/// Values in a packet with a face: 52 blendshapes and 9 angles.
pub const VALUE_COUNT: usize = 61;
/// Longer device ids or subject names are refused (the app's are 36 and a few dozen bytes).
pub const MAX_NAME_BYTES: usize = 256;

/// One decoded packet; the names borrow from the packet's bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveLinkPacket<'a> {
    /// The phone's id (a UUID string).
    pub device_id: &'a str,
    /// The subject name set in the app (tells several phones apart).
    pub subject: &'a str,
    /// The frame number at `fps`.
    pub frame: i32,
    /// The fraction of a frame, `0..1`.
    pub sub_frame: f32,
    /// Frame rate numerator and denominator (`60/1`).
    pub rate: (i32, i32),
    /// The 61 values, `None` in a packet without a face (the app sends those while it finds none).
    pub values: Option<[f32; VALUE_COUNT]>,
}

/// Why a packet was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than its fields say.
    #[error("the packet ends inside its {0}")]
    Truncated(&'static str),
    /// Not version 6.
    #[error("packet version {0}, this reads version 6")]
    Version(u8),
    /// A name's length is negative, too long or not UTF-8.
    #[error("its {0} is not a valid name")]
    Name(&'static str),
    /// A value count other than 0 or 61.
    #[error("{0} values, a face has 61")]
    Count(u8),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PacketError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(PacketError::Truncated(what))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PacketError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self, what: &'static str) -> Result<&'a str, PacketError> {
        let len = self.u32(what)? as i32;
        if !(0..=MAX_NAME_BYTES as i32).contains(&len) {
            return Err(PacketError::Name(what));
        }
        std::str::from_utf8(self.take(len as usize, what)?).map_err(|_| PacketError::Name(what))
    }
}

/// Reads one packet. Never panics nor allocates; anything malformed is an error.
pub fn decode(bytes: &[u8]) -> Result<LiveLinkPacket<'_>, PacketError> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.take(1, "version")?[0];
    if version != VERSION {
        return Err(PacketError::Version(version));
    }
    let device_id = r.name("device id")?;
    let subject = r.name("subject name")?;
    let frame = r.u32("frame time")? as i32;
    let sub_frame = f32::from_bits(r.u32("frame time")?);
    let rate = (r.u32("frame rate")? as i32, r.u32("frame rate")? as i32);
    let count = if r.at == bytes.len() {
        0
    } else {
        r.take(1, "value count")?[0]
    };
    let values = match count as usize {
        0 => None,
        VALUE_COUNT => {
            let mut v = [0.0f32; VALUE_COUNT];
            for x in &mut v {
                *x = f32::from_bits(r.u32("values")?);
            }
            Some(v)
        }
        _ => return Err(PacketError::Count(count)),
    };
    Ok(LiveLinkPacket {
        device_id,
        subject,
        frame,
        sub_frame,
        rate,
        values,
    })
}

/// Writes a packet (the inverse of [`decode`]). Names longer than [`MAX_NAME_BYTES`] are cut.
pub fn encode(packet: &LiveLinkPacket<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 4 * VALUE_COUNT);
    out.push(VERSION);
    for name in [packet.device_id, packet.subject] {
        let mut end = name.len().min(MAX_NAME_BYTES);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        out.extend((end as u32).to_be_bytes());
        out.extend(&name.as_bytes()[..end]);
    }
    out.extend(packet.frame.to_be_bytes());
    out.extend(packet.sub_frame.to_bits().to_be_bytes());
    out.extend(packet.rate.0.to_be_bytes());
    out.extend(packet.rate.1.to_be_bytes());
    match &packet.values {
        Some(values) => {
            out.push(VALUE_COUNT as u8);
            for v in values {
                out.extend(v.to_bits().to_be_bytes());
            }
        }
        None => out.push(0),
    }
    out
}

impl LiveLinkPacket<'_> {
    /// Seconds of the frame time (`frame + sub_frame` at the frame rate); `None` without a valid rate.
    pub fn seconds(&self) -> Option<f64> {
        let (num, den) = self.rate;
        (num > 0 && den > 0 && self.sub_frame.is_finite())
            .then(|| (self.frame as f64 + self.sub_frame as f64) * den as f64 / num as f64)
    }

    /// The face this packet carries: the 52 weights (clamped to `0..=1`), head and eye angles (radians,
    /// non-finite values neutral); `None` in a packet without a face.
    ///
    /// Angles: the app's yaw and pitch follow its own axes, this crate's turn the head to its own left and
    /// up; `flip_yaw` / `flip_pitch` negate them (as [`LiveLinkImport`](crate::drive::LiveLinkImport)
    /// does for recordings).
    pub fn face(&self, flip_yaw: bool, flip_pitch: bool) -> Option<FaceFrame> {
        let v = self.values.as_ref()?;
        let mut face = FaceFrame {
            expressions: ExpressionWeights::default(),
            ..FaceFrame::default()
        };
        for (e, w) in Expression::ALL.iter().zip(v) {
            face.expressions.set(*e, *w);
        }
        let (sy, sp) = (
            if flip_yaw { -1.0 } else { 1.0 },
            if flip_pitch { -1.0 } else { 1.0 },
        );
        face.head.yaw = sy * v[52];
        face.head.pitch = sp * v[53];
        face.head.roll = v[54];
        face.gaze.left = [sy * v[55], sp * v[56]];
        face.gaze.right = [sy * v[58], sp * v[59]];
        face.time = self.seconds().unwrap_or(0.0);
        face.sanitize();
        Some(face)
    }
}

/// The 61 values of `face` in packet order (the inverse of [`LiveLinkPacket::face`] without flips; the eye
/// rolls are 0).
pub fn values_of(face: &FaceFrame) -> [f32; VALUE_COUNT] {
    let mut v = [0.0f32; VALUE_COUNT];
    v[..Expression::COUNT].copy_from_slice(&face.expressions.0);
    v[52] = face.head.yaw;
    v[53] = face.head.pitch;
    v[54] = face.head.roll;
    v[55] = face.gaze.left[0];
    v[56] = face.gaze.left[1];
    v[58] = face.gaze.right[0];
    v[59] = face.gaze.right[1];
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(values: Option<[f32; VALUE_COUNT]>) -> Vec<u8> {
        encode(&LiveLinkPacket {
            device_id: "F3A1C2D4-0000-4000-8000-123456789ABC",
            subject: "iPhone",
            frame: 1234,
            sub_frame: 0.5,
            rate: (60, 1),
            values,
        })
    }

    #[test]
    fn a_packet_reads_back_with_its_names_time_and_values() {
        let mut v = [0.0; VALUE_COUNT];
        for (i, x) in v.iter_mut().enumerate() {
            *x = i as f32 / 100.0;
        }
        let bytes = packet(Some(v));
        // 1 + (4 + 36) + (4 + 6) + 16 + 1 + 244
        assert_eq!(bytes.len(), 312);
        let p = decode(&bytes).unwrap();
        assert_eq!(p.subject, "iPhone");
        assert_eq!(p.device_id.len(), 36);
        assert_eq!((p.frame, p.rate), (1234, (60, 1)));
        assert!((p.seconds().unwrap() - 1234.5 / 60.0).abs() < 1e-9);
        let face = p.face(false, false).unwrap();
        assert_eq!(face.expressions.get(Expression::JawOpen), 0.17);
        assert_eq!(face.head.yaw, 0.52);
        assert_eq!(face.gaze.right, [0.58, 0.59]);
        assert_eq!(values_of(&face)[..55], v[..55]);
    }

    #[test]
    fn a_packet_without_a_face_and_one_cut_short() {
        let bytes = packet(None);
        assert_eq!(decode(&bytes).unwrap().values, None);
        // Without the count byte at all: also a packet without a face.
        assert_eq!(decode(&bytes[..bytes.len() - 1]).unwrap().values, None);
        let full = packet(Some([0.5; VALUE_COUNT]));
        assert_eq!(
            decode(&full[..full.len() - 3]),
            Err(PacketError::Truncated("values"))
        );
        assert_eq!(
            decode(&full[..20]),
            Err(PacketError::Truncated("device id"))
        );
        let mut bad = full.clone();
        bad[0] = 5;
        assert_eq!(decode(&bad), Err(PacketError::Version(5)));
        let mut bad = full.clone();
        bad[1..5].copy_from_slice(&(-3i32).to_be_bytes());
        assert_eq!(decode(&bad), Err(PacketError::Name("device id")));
        let mut bad = full;
        let count_at = bad.len() - 1 - 4 * VALUE_COUNT;
        bad[count_at] = 60;
        assert_eq!(decode(&bad), Err(PacketError::Count(60)));
    }

    #[test]
    fn out_of_range_values_make_a_sane_face() {
        let mut v = [2.0; VALUE_COUNT];
        v[0] = f32::NAN;
        v[52] = f32::INFINITY;
        let face = decode(&packet(Some(v))).unwrap().face(true, false).unwrap();
        assert_eq!(face.expressions.get(Expression::EyeBlinkLeft), 0.0);
        assert_eq!(face.expressions.get(Expression::JawOpen), 1.0);
        assert_eq!(face.head.yaw, 0.0);
        assert_eq!(face.head.pitch, 2.0);
    }
}
