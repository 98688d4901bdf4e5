//! A [`FaceFrame`] as a few bytes, for sending faces over a network (independent of any transport).
//!
//! Version 1, all integers little-endian. The first byte is `version << 4 | flags`.
//!
//! - **Full frame** (flags 0): then the 52 expression weights as `u8` (`round(w * 255)`), then 11 `i8`:
//!   yaw, pitch, roll (steps of 0.005 rad, +-0.635), gaze left yaw and pitch, right yaw and pitch (0.005
//!   rad), translation x, y, z (steps of 0.002 face widths, +-0.254) and scale (1 + 0.002 steps). 64 bytes.
//! - **Changed channels** (flag [`FLAG_DELTA`]): then a `u64` mask of the [`Channel`]s that follow, and one
//!   byte per channel in index order, encoded as above; the others keep their value from the previous
//!   frame ([`FaceEncoder::encode_changes`], [`FaceDecoder`]).
//!
//! Values outside the ranges are clamped when encoding. `FaceFrame::time` is not sent: the transport's
//! own tick or timestamp orders frames. Decoding never panics and never allocates more than a frame: it
//! rejects empty, truncated, over-long, unknown-version and unknown-flag input with a [`DecodeError`].

use crate::face::{Channel, Expression, FaceFrame};

/// The format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Flag: the frame carries only the channels of its mask, relative to the previous frame.
pub const FLAG_DELTA: u8 = 1;
/// Size of a full frame in bytes.
pub const FULL_SIZE: usize = 1 + Expression::COUNT + 11;

const ANGLE_STEP: f32 = 0.005;
const OFFSET_STEP: f32 = 0.002;

/// Why bytes are not a face frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No bytes at all.
    #[error("empty input: a face frame has at least one byte")]
    Empty,
    /// Another format version.
    #[error("format version {0}, this crate reads version {VERSION}")]
    Version(u8),
    /// Flags this version does not define.
    #[error("unknown flags {0:#06b}")]
    Flags(u8),
    /// Fewer bytes than the header says.
    #[error("truncated: {got} bytes, {need} needed")]
    Truncated {
        /// Bytes given.
        got: usize,
        /// Bytes the frame needs.
        need: usize,
    },
    /// More bytes than the header says.
    #[error("{extra} bytes after the end of the frame")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// A mask bit beyond the 63 channels.
    #[error("channel mask {0:#018x} names channels that do not exist")]
    Mask(u64),
    /// A frame of changes came before any frame to apply them to.
    #[error("a frame of changes arrived before a full frame")]
    NoBase,
}

fn quantise(c: Channel, v: f32) -> u8 {
    let v = if v.is_finite() { v } else { c.neutral() };
    match c {
        Channel::Expression(_) => (v.clamp(0.0, 1.0) * 255.0).round() as u8,
        Channel::HeadX | Channel::HeadY | Channel::HeadZ => {
            (v / OFFSET_STEP).round().clamp(-127.0, 127.0) as i8 as u8
        }
        Channel::HeadScale => ((v - 1.0) / OFFSET_STEP).round().clamp(-127.0, 127.0) as i8 as u8,
        _ => (v / ANGLE_STEP).round().clamp(-127.0, 127.0) as i8 as u8,
    }
}

fn dequantise(c: Channel, b: u8) -> f32 {
    match c {
        Channel::Expression(_) => b as f32 / 255.0,
        Channel::HeadX | Channel::HeadY | Channel::HeadZ => b as i8 as f32 * OFFSET_STEP,
        Channel::HeadScale => 1.0 + b as i8 as f32 * OFFSET_STEP,
        _ => b as i8 as f32 * ANGLE_STEP,
    }
}

/// The order of the 11 pose and gaze bytes in a full frame.
const POSE_ORDER: [Channel; 11] = [
    Channel::HeadYaw,
    Channel::HeadPitch,
    Channel::HeadRoll,
    Channel::GazeLeftYaw,
    Channel::GazeLeftPitch,
    Channel::GazeRightYaw,
    Channel::GazeRightPitch,
    Channel::HeadX,
    Channel::HeadY,
    Channel::HeadZ,
    Channel::HeadScale,
];

fn quantised(frame: &FaceFrame) -> [u8; Channel::COUNT] {
    let mut q = [0u8; Channel::COUNT];
    for c in Channel::all() {
        q[c.index()] = quantise(c, frame.channel(c));
    }
    q
}

fn frame_of(q: &[u8; Channel::COUNT]) -> FaceFrame {
    let mut f = FaceFrame::neutral();
    for c in Channel::all() {
        f.set_channel(c, dequantise(c, q[c.index()]));
    }
    f
}

/// A whole frame as [`FULL_SIZE`] bytes.
pub fn encode(frame: &FaceFrame) -> Vec<u8> {
    let q = quantised(frame);
    let mut out = Vec::with_capacity(FULL_SIZE);
    out.push(VERSION << 4);
    out.extend_from_slice(&q[..Expression::COUNT]);
    out.extend(POSE_ORDER.iter().map(|c| q[c.index()]));
    out
}

/// A full frame from bytes (a frame of changes is [`DecodeError::NoBase`]: use a [`FaceDecoder`]).
pub fn decode(bytes: &[u8]) -> Result<FaceFrame, DecodeError> {
    FaceDecoder::default().decode(bytes)
}

/// Encodes a stream of frames, sending only what changed (after quantisation) when that is smaller.
#[derive(Clone, Debug, Default)]
pub struct FaceEncoder {
    last: Option<[u8; Channel::COUNT]>,
}

impl FaceEncoder {
    /// The next frame: a frame of changes relative to the previous one, or a full frame (the first
    /// frame, or when the changes would not be smaller).
    pub fn encode_changes(&mut self, frame: &FaceFrame) -> Vec<u8> {
        let q = quantised(frame);
        let out = match &self.last {
            Some(last) => {
                let mask = (0..Channel::COUNT)
                    .filter(|&i| q[i] != last[i])
                    .fold(0u64, |m, i| m | 1 << i);
                let n = mask.count_ones() as usize;
                if 9 + n < FULL_SIZE {
                    let mut out = Vec::with_capacity(9 + n);
                    out.push(VERSION << 4 | FLAG_DELTA);
                    out.extend_from_slice(&mask.to_le_bytes());
                    out.extend(
                        (0..Channel::COUNT)
                            .filter(|i| mask & 1 << i != 0)
                            .map(|i| q[i]),
                    );
                    out
                } else {
                    encode(frame)
                }
            }
            None => encode(frame),
        };
        self.last = Some(q);
        out
    }

    /// Forgets the previous frame (the next one is sent whole), e.g. for a receiver that joined late.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// Decodes a stream of frames, full or changes.
#[derive(Clone, Debug, Default)]
pub struct FaceDecoder {
    last: Option<[u8; Channel::COUNT]>,
}

impl FaceDecoder {
    /// The frame these bytes describe.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<FaceFrame, DecodeError> {
        let (&head, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        let (version, flags) = (head >> 4, head & 0x0f);
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        if flags & !FLAG_DELTA != 0 {
            return Err(DecodeError::Flags(flags));
        }
        let q = if flags & FLAG_DELTA == 0 {
            check_len(bytes.len(), FULL_SIZE)?;
            let mut q = [0u8; Channel::COUNT];
            q[..Expression::COUNT].copy_from_slice(&rest[..Expression::COUNT]);
            for (c, b) in POSE_ORDER.iter().zip(&rest[Expression::COUNT..]) {
                q[c.index()] = *b;
            }
            q
        } else {
            if bytes.len() < 9 {
                return Err(DecodeError::Truncated {
                    got: bytes.len(),
                    need: 9,
                });
            }
            let mut m = [0u8; 8];
            m.copy_from_slice(&rest[..8]);
            let mask = u64::from_le_bytes(m);
            if mask >> Channel::COUNT != 0 {
                return Err(DecodeError::Mask(mask));
            }
            check_len(bytes.len(), 9 + mask.count_ones() as usize)?;
            let mut q = self.last.ok_or(DecodeError::NoBase)?;
            let mut values = rest[8..].iter();
            for (i, slot) in q.iter_mut().enumerate() {
                if mask & 1 << i != 0
                    && let Some(v) = values.next()
                {
                    *slot = *v;
                }
            }
            q
        };
        self.last = Some(q);
        Ok(frame_of(&q))
    }
}

fn check_len(got: usize, need: usize) -> Result<(), DecodeError> {
    match got.cmp(&need) {
        std::cmp::Ordering::Less => Err(DecodeError::Truncated { got, need }),
        std::cmp::Ordering::Greater => Err(DecodeError::TrailingBytes { extra: got - need }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64, for reproducible random frames and bytes.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn f(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * (self.next() >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    fn random_frame(r: &mut Rng) -> FaceFrame {
        let mut f = FaceFrame::neutral();
        for e in Expression::ALL {
            f.expressions.set(e, r.f(0.0, 1.0));
        }
        f.head.yaw = r.f(-0.6, 0.6);
        f.head.pitch = r.f(-0.6, 0.6);
        f.head.roll = r.f(-0.6, 0.6);
        f.head.translation = [r.f(-0.25, 0.25), r.f(-0.25, 0.25), r.f(-0.25, 0.25)];
        f.head.scale = r.f(0.75, 1.25);
        f.gaze.left = [r.f(-0.6, 0.6), r.f(-0.6, 0.6)];
        f.gaze.right = [r.f(-0.6, 0.6), r.f(-0.6, 0.6)];
        f
    }

    fn close(a: &FaceFrame, b: &FaceFrame) -> f32 {
        Channel::all()
            .map(|c| {
                let tol = match c {
                    Channel::Expression(_) => 0.5 / 255.0,
                    Channel::HeadX | Channel::HeadY | Channel::HeadZ | Channel::HeadScale => {
                        OFFSET_STEP / 2.0
                    }
                    _ => ANGLE_STEP / 2.0,
                };
                (a.channel(c) - b.channel(c)).abs() / tol
            })
            .fold(0.0, f32::max)
    }

    #[test]
    fn random_frames_round_trip_within_quantisation_in_64_bytes() {
        let mut r = Rng(1);
        for _ in 0..10_000 {
            let f = random_frame(&mut r);
            let bytes = encode(&f);
            assert_eq!(bytes.len(), 64);
            let back = decode(&bytes).unwrap();
            assert!(close(&f, &back) <= 1.0001, "{f:?} -> {back:?}");
        }
        assert_eq!(FULL_SIZE, 64);
    }

    #[test]
    fn changes_only_send_what_moved() {
        let mut r = Rng(2);
        let (mut enc, mut dec) = (FaceEncoder::default(), FaceDecoder::default());
        let mut f = random_frame(&mut r);
        let first = enc.encode_changes(&f);
        assert_eq!(first.len(), 64, "the first frame is whole");
        dec.decode(&first).unwrap();
        for step in 0..200 {
            // A blink and a little jaw: three channels change.
            f.expressions.set(Expression::EyeBlinkLeft, r.f(0.0, 1.0));
            f.expressions.set(Expression::EyeBlinkRight, r.f(0.0, 1.0));
            f.expressions.set(Expression::JawOpen, r.f(0.0, 1.0));
            let bytes = enc.encode_changes(&f);
            assert!(bytes.len() <= 9 + 3, "step {step}: {} bytes", bytes.len());
            let back = dec.decode(&bytes).unwrap();
            assert!(close(&f, &back) <= 1.0001, "step {step}");
        }
        assert_eq!(
            decode(&enc.encode_changes(&f)).unwrap_err(),
            DecodeError::NoBase,
            "nothing changed: an empty change frame needs a base"
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let full = encode(&FaceFrame::neutral());
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(decode(&[0x20]), Err(DecodeError::Version(2)));
        assert_eq!(decode(&[0x14]), Err(DecodeError::Flags(4)));
        assert_eq!(
            decode(&full[..40]),
            Err(DecodeError::Truncated { got: 40, need: 64 })
        );
        let mut long = full.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(DecodeError::TrailingBytes { extra: 1 }));
        let mut bad_mask = vec![0x11];
        bad_mask.extend_from_slice(&(1u64 << 63).to_le_bytes());
        assert!(matches!(decode(&bad_mask), Err(DecodeError::Mask(_))));
        // Non-finite and out-of-range values are clamped when encoding.
        let mut wild = FaceFrame::neutral();
        wild.head.yaw = f32::NAN;
        wild.head.pitch = 9.0;
        let back = decode(&encode(&wild)).unwrap();
        assert_eq!(back.head.yaw, 0.0);
        assert!((back.head.pitch - 0.635).abs() < 1e-6);
    }

    /// Random bytes never panic the decoder. `FACE_CODEC_FUZZ=N` runs N inputs (a million locally).
    #[test]
    fn fuzzed_bytes_never_panic() {
        let n: usize = std::env::var("FACE_CODEC_FUZZ")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000);
        let mut r = Rng(3);
        let mut dec = FaceDecoder::default();
        let mut ok = 0usize;
        let base = encode(&FaceFrame::neutral());
        for i in 0..n {
            let len = (r.next() % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            // Half the inputs start like a real frame, so the decoder gets past the header.
            if i % 2 == 0 && !bytes.is_empty() {
                bytes[0] = if i % 4 == 0 { 0x10 } else { 0x11 };
            }
            if i % 1000 == 0 {
                dec.decode(&base).unwrap();
            }
            if let Ok(f) = dec.decode(&bytes) {
                ok += 1;
                assert!(Channel::all().all(|c| f.channel(c).is_finite()));
            }
        }
        assert!(ok > 0, "some random inputs are valid frames");
    }
}
