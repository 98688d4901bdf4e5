//! Faces over a network: a player's face travels as a few bytes a frame and every receiver renders the
//! avatar itself.
//!
//! The pieces below do not depend on any networking crate:
//!
//! - [`FacePacket`]: one frame on the wire: a sequence number, the sender's clock and the face as
//!   [`codec`] bytes (64 for a whole face). `serde` types, so any transport can carry them.
//! - [`FaceSender`] on a local head: makes a packet of its face at a fixed rate (30 Hz by default).
//! - [`RemoteFace`] on an avatar: push the packets that arrive; a [`JitterBuffer`] plays them back at a
//!   steady delay, interpolating across late and lost packets, as the head's tracking layer
//!   ([`Priority::TRACKING`]). When the stream stops, the last face is held briefly and then fades into the
//!   head's lower layers (its [`IdleLife`](crate::drive::IdleLife), or the still portrait).
//!
//! With the `replicon` feature, [`replicon`] wires these into [bevy_replicon](https://docs.rs/bevy_replicon):
//! clients upload their packets, the server keeps each player's newest packet on their avatar entity,
//! and replication relays it to everyone else.
//!
//! To use another networking crate: send `FaceSender::poll`'s packets from each client, relay them to
//! the others, and call [`RemoteFace::push`] with each one that arrives.

mod jitter;
#[cfg(feature = "replicon")]
#[cfg_attr(docsrs, doc(cfg(feature = "replicon")))]
pub mod replicon;

pub use jitter::{
    JitterBuffer, JitterSample, JitterSettings, JitterStats, MAX_TRANSITS, Playout, Pushed,
};

use std::time::Duration;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::codec::{self, DecodeError};
use crate::drive::{FaceLayer, FaceLayers, LayerId, Priority};
use crate::error::Error;
use crate::error::TalkingHeadError;
use crate::face::{FaceFrame, FaceMask};
use crate::math::Pacer;
use crate::report::HeadErrors;
use crate::schedule::TalkingHeadSystems;

/// One face on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FacePacket {
    /// Counts up by one per packet from each sender (orders packets, finds the lost ones).
    pub seq: u32,
    /// The sender's clock when the face was sampled, in milliseconds, wrapping (any origin: only
    /// differences between one sender's packets matter).
    pub time_ms: u32,
    /// The face, a whole [`codec`] frame.
    #[serde(with = "wire_bytes")]
    pub frame: Vec<u8>,
    /// The previous packet's face again, so that a receiver that lost the previous packet still gets
    /// it: a single lost packet costs nothing.
    pub previous: Option<PreviousFace>,
}

/// The previous packet's face, carried again in a [`FacePacket`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousFace {
    /// How many milliseconds older than the packet's face it is.
    pub ms: u16,
    /// Its channels that differ from the packet's face, as a [`codec`] frame of changes (or a whole
    /// frame, when that is smaller).
    #[serde(with = "wire_bytes")]
    pub frame: Vec<u8>,
}

/// Frames as byte strings: on postcard the same bytes as a `Vec<u8>`, but a length is checked against
/// the input and `MAX_FRAME` before anything is allocated.
mod wire_bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    /// No codec frame is longer (a frame of changes to all 63 channels is 72 bytes).
    pub const MAX_FRAME: usize = 128;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_bytes(Frame)
    }

    struct Frame;

    impl<'de> Visitor<'de> for Frame {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a face frame of at most {MAX_FRAME} bytes")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            if v.len() > MAX_FRAME {
                return Err(E::invalid_length(v.len(), &self));
            }
            Ok(v.to_vec())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element()? {
                if out.len() == MAX_FRAME {
                    return Err(A::Error::invalid_length(out.len() + 1, &self));
                }
                out.push(b);
            }
            Ok(out)
        }
    }
}

impl FacePacket {
    /// A packet of `face`.
    pub fn new(seq: u32, time_ms: u32, face: &FaceFrame) -> Self {
        Self {
            seq,
            time_ms,
            frame: codec::encode(face),
            previous: None,
        }
    }

    /// Adds the previous packet's face, `ms` milliseconds older.
    pub fn with_previous(mut self, ms: u16, face: &FaceFrame) -> Self {
        let mut encoder = codec::FaceEncoder::default();
        let Ok(this) = self.face() else {
            return self;
        };
        encoder.encode_changes(&this);
        self.previous = Some(PreviousFace {
            ms,
            frame: encoder.encode_changes(face),
        });
        self
    }

    /// The face in it.
    pub fn face(&self) -> Result<FaceFrame, DecodeError> {
        codec::decode(&self.frame)
    }

    /// The previous packet's face and how many milliseconds older it is, if the packet carries it.
    pub fn previous_face(&self) -> Option<Result<(u16, FaceFrame), DecodeError>> {
        match self.faces() {
            Ok((_, previous)) => previous,
            Err(e) => self.previous.as_ref().map(|_| Err(e)),
        }
    }

    /// The face and, if the packet carries it, the previous face (or why that copy does not decode),
    /// decoding the frame once.
    #[allow(clippy::type_complexity)]
    pub fn faces(
        &self,
    ) -> Result<(FaceFrame, Option<Result<(u16, FaceFrame), DecodeError>>), DecodeError> {
        let mut decoder = codec::FaceDecoder::default();
        let face = decoder.decode(&self.frame)?;
        let previous = self
            .previous
            .as_ref()
            .map(|p| decoder.decode(&p.frame).map(|f| (p.ms, f)));
        Ok((face, previous))
    }

    /// Its size with postcard (bevy_replicon's encoding), before any transport's headers.
    pub fn wire_size(&self) -> usize {
        fn varint(v: u64) -> usize {
            (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
        }
        varint(u64::from(self.seq))
            + varint(u64::from(self.time_ms))
            + varint(self.frame.len() as u64)
            + self.frame.len()
            + 1
            + self.previous.as_ref().map_or(0, |p| {
                varint(u64::from(p.ms)) + varint(p.frame.len() as u64) + p.frame.len()
            })
    }
}

/// Sends the face of a local head (e.g. the player's webcam-driven avatar): each
/// [`interval`](Self::interval) a network integration takes a [`FacePacket`] of the head's [`FaceFrame`]
/// from [`poll`](Self::poll) (the `replicon` integration does this itself).
#[derive(Component, Clone, Debug)]
#[require(FaceFrame)]
pub struct FaceSender {
    /// Time between packets (1/30 s by default).
    pub interval: Duration,
    /// Whether packets are made (e.g. a mute button).
    pub enabled: bool,
    /// Whether each packet also carries the previous face ([`FacePacket::previous`]): a lost packet
    /// costs nothing, for a few more bytes (about 10 for a talking face, up to 64 for a tracked one
    /// where every channel moves).
    pub redundancy: bool,
    next_seq: u32,
    pacer: Pacer,
    last: Option<(u32, FaceFrame)>,
}

impl Default for FaceSender {
    fn default() -> Self {
        Self::at_rate(30.0)
    }
}

impl FaceSender {
    /// Sends `hz` packets a second (clamped to 1..=120; 30 if not a number).
    pub fn at_rate(hz: f32) -> Self {
        let hz = if hz.is_finite() {
            hz.clamp(1.0, 120.0)
        } else {
            30.0
        };
        Self {
            interval: Duration::from_secs_f32(1.0 / hz),
            enabled: true,
            redundancy: true,
            next_seq: 0,
            pacer: Pacer::default(),
            last: None,
        }
    }

    /// A packet of `face` if one is due at `now` (seconds on this machine's clock, e.g. `Time<Real>`).
    pub fn poll(&mut self, face: &FaceFrame, now: f64) -> Option<FacePacket> {
        if !self.enabled {
            return None;
        }
        // A steady rate; after a hitch, again from now rather than a burst.
        if !self.pacer.due(now, self.interval) {
            return None;
        }
        // Milliseconds, wrapping after 49.7 days (receivers unwrap them).
        let time_ms = (now * 1000.0) as u64 as u32;
        let mut packet = FacePacket::new(self.next_seq, time_ms, face);
        if self.redundancy
            && let Some((last_ms, last)) = &self.last
            && let Ok(ms) = u16::try_from(time_ms.wrapping_sub(*last_ms))
        {
            packet = packet.with_previous(ms, last);
        }
        self.last = Some((time_ms, *face));
        self.next_seq = self.next_seq.wrapping_add(1);
        Some(packet)
    }

    /// Packets made so far.
    pub fn sent(&self) -> u32 {
        self.next_seq
    }
}

/// A face received over the network: its packets go through a [`JitterBuffer`] and drive the head's
/// tracking layer ([`Priority::TRACKING`], named `"network"`).
///
/// ```
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// # use bevy_talking_head::net::{FacePacket, RemoteFace};
/// fn receive(mut avatars: Query<&mut RemoteFace>, time: Res<Time<Real>>, /* your transport */) {
///     # let (avatar, packet): (Entity, FacePacket) = todo!();
///     if let Ok(mut remote) = avatars.get_mut(avatar) {
///         // A bad packet is an error (logged by the plugin); the stream carries on.
///         let _ = remote.push(&packet, time.elapsed_secs_f64());
///     }
/// }
/// ```
#[derive(Component, Clone, Debug)]
#[require(FaceLayers, FaceFrame)]
#[component(on_remove = crate::drive::remove_layers(|id| *id == NETWORK_LAYER))]
pub struct RemoteFace {
    buffer: JitterBuffer,
    /// How much of the received face shows, `0..=1`.
    pub weight: f32,
    /// The channels the stream moves (everything by default; e.g. leave out the mouth for a lip-synced
    /// avatar).
    pub mask: FaceMask,
    /// Where the stream comes from, for messages (e.g. the player's name).
    pub name: String,
    rejected: u64,
    error: Option<DecodeError>,
    reported: bool,
    last_ms: Option<(u32, f64)>,
}

impl Default for RemoteFace {
    fn default() -> Self {
        Self::new(JitterSettings::default())
    }
}

impl RemoteFace {
    /// A stream played with these settings.
    pub fn new(settings: JitterSettings) -> Self {
        Self {
            buffer: JitterBuffer::new(settings),
            weight: 1.0,
            mask: FaceMask::ALL,
            name: String::new(),
            rejected: 0,
            error: None,
            reported: false,
            last_ms: None,
        }
    }

    /// Names the stream in messages.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds a packet that arrived at `arrival` (seconds on this machine's clock: `Time<Real>`, the clock
    /// the plugin plays the stream on). A packet whose face does not decode is counted, remembered for
    /// the plugin to report once, and otherwise ignored.
    pub fn push(&mut self, packet: &FacePacket, arrival: f64) -> Result<Pushed, DecodeError> {
        let (face, previous) = match packet.faces() {
            Ok(faces) => faces,
            Err(e) => {
                self.rejected += 1;
                self.error = Some(e.clone());
                return Err(e);
            }
        };
        // The sender's clock in milliseconds wraps after 49.7 days: unwrap it against the last packet.
        let sent = match self.last_ms {
            Some((ms, secs)) => secs + f64::from(packet.time_ms.wrapping_sub(ms) as i32) / 1000.0,
            None => f64::from(packet.time_ms) / 1000.0,
        };
        self.last_ms = Some((packet.time_ms, sent));
        // A redundant copy that does not decode is only ignored: the packet's own face is good.
        if let Some(Ok((ms, previous))) = previous
            && let Some(seq) = packet.seq.checked_sub(1)
        {
            self.buffer
                .push_redundant(seq, sent - f64::from(ms) / 1000.0, previous, arrival);
        }
        Ok(self.buffer.push(packet.seq, sent, face, arrival))
    }

    /// The jitter buffer (its counters, state and settings).
    pub fn buffer(&self) -> &JitterBuffer {
        &self.buffer
    }

    /// The jitter buffer, to change its settings or clear it.
    pub fn buffer_mut(&mut self) -> &mut JitterBuffer {
        &mut self.buffer
    }

    /// Packets rejected because their face did not decode.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

/// The layer a remote face writes (and takes with it when it goes).
const NETWORK_LAYER: LayerId = LayerId::fixed(Priority::TRACKING, "network");

/// Plays each [`RemoteFace`] into its head's tracking layer, and reports bad packets once per stream.
pub(crate) fn play_remote_faces(
    time: Res<Time<Real>>,
    mut heads: Query<(Entity, &mut RemoteFace, &mut FaceLayers)>,
    mut errors: HeadErrors,
) {
    let now = time.elapsed_secs_f64();
    for (entity, mut remote, mut layers) in &mut heads {
        let remote = &mut *remote;
        if let Some(e) = remote.error.take()
            && !remote.reported
        {
            remote.reported = true;
            let name = if remote.name.is_empty() {
                format!("{entity}")
            } else {
                remote.name.clone()
            };
            // Further bad packets are only counted.
            errors.warn(
                entity,
                Error::Stream {
                    stream: name,
                    problem: format!("a bad packet, ignored: {e}"),
                },
            );
        }
        let layer = match remote.buffer.sample(now) {
            Some(s) if s.weight > 0.0 => Some(FaceLayer::new(
                s.face,
                s.weight * remote.weight.clamp(0.0, 1.0),
                remote.mask,
            )),
            _ => None,
        };
        FaceLayers::put(&mut layers, NETWORK_LAYER, layer);
    }
}

/// Plays received faces ([`RemoteFace`]); added by the [`TalkingHeadPlugin`](crate::TalkingHeadPlugin)
/// with the drivers.
#[derive(Default)]
pub struct RemoteFacePlugin;

impl Plugin for RemoteFacePlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<TalkingHeadError>().add_systems(
            PostUpdate,
            play_remote_faces.in_set(TalkingHeadSystems::GatherFaces),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Expression;

    #[test]
    fn the_sender_keeps_its_rate_and_skips_rather_than_bursting_after_a_hitch() {
        let mut s = FaceSender::default();
        let face = FaceFrame::neutral();
        let mut sent = Vec::new();
        let mut now = 0.0;
        while now < 1.0 {
            if let Some(p) = s.poll(&face, now) {
                sent.push(p);
            }
            now += 1.0 / 144.0;
        }
        assert!((29..=31).contains(&sent.len()), "{}", sent.len());
        assert!(sent.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        assert_eq!(sent[0].frame.len(), crate::codec::FULL_SIZE);
        // A 0.5 s hitch: one packet, then the rate again.
        assert!(s.poll(&face, 1.5).is_some());
        assert!(s.poll(&face, 1.51).is_none());
        assert!(s.poll(&face, 1.54).is_some());
    }

    #[test]
    fn a_lost_packet_is_recovered_from_the_next_ones_copy() {
        let mut sender = FaceSender::default();
        let jaw = |w| FaceFrame::neutral().with_expression(Expression::JawOpen, w);
        let packets: Vec<FacePacket> = (0..3)
            .filter_map(|i| {
                sender.poll(
                    &jaw(0.2 * i as f32),
                    10.0 + f64::from(i) / 30.0 + 1e-3 * f64::from(i),
                )
            })
            .collect();
        assert_eq!(packets.len(), 3);
        assert!(packets[0].previous.is_none());
        // The copy of a frame that differs in one channel: a header, a mask and one byte.
        assert_eq!(packets[2].previous.as_ref().unwrap().frame.len(), 10);
        // seq, time (10,067 ms: two varint bytes), length, frame, Some, 33 ms, length, copy.
        assert_eq!(packets[2].wire_size(), 1 + 2 + 1 + 64 + 1 + 1 + 1 + 10);
        let (ms, face) = packets[2].previous_face().unwrap().unwrap();
        assert_eq!(ms, 34);
        assert!((face.expressions.get(Expression::JawOpen) - 0.2).abs() < 0.003);

        let mut r = RemoteFace::default();
        r.push(&packets[0], 1.0).unwrap();
        // Packet 1 is lost.
        r.push(&packets[2], 1.07).unwrap();
        let stats = r.buffer().stats();
        assert_eq!((stats.recovered, stats.missing), (1, 0), "{stats:?}");
        assert_eq!(r.buffer().len(), 3);
    }

    #[test]
    fn the_senders_clock_may_wrap_and_a_bad_copy_is_only_ignored() {
        let jaw = |w| FaceFrame::neutral().with_expression(Expression::JawOpen, w);
        let mut r = RemoteFace::default();
        // 49.7 days in, the millisecond clock wraps between two packets.
        let before = u32::MAX - 10;
        r.push(&FacePacket::new(7, before, &jaw(0.0)), 100.0)
            .unwrap();
        let mut next = FacePacket::new(8, before.wrapping_add(33), &jaw(0.5));
        next.previous = Some(PreviousFace {
            ms: 33,
            frame: vec![0x11, 0xff],
        });
        assert_eq!(r.push(&next, 100.033), Ok(Pushed::Accepted));
        assert_eq!((r.rejected(), r.buffer().stats().restarts), (0, 0));
        // Play-out between the two: halfway.
        let s = r.buffer_mut().sample(100.033 + 0.05 - 0.0165).unwrap();
        assert!(
            (s.face.expressions.get(Expression::JawOpen) - 0.25).abs() < 0.02,
            "{s:?}"
        );
    }

    #[test]
    fn a_remote_face_rejects_bad_packets_and_keeps_playing_good_ones() {
        let mut r = RemoteFace::default();
        let face = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.6);
        assert_eq!(
            r.push(&FacePacket::new(0, 1000, &face), 5.0),
            Ok(Pushed::Accepted)
        );
        let mut bad = FacePacket::new(1, 1033, &face);
        bad.frame.truncate(40);
        assert!(matches!(
            r.push(&bad, 5.03),
            Err(DecodeError::Truncated { .. })
        ));
        bad.frame = vec![0x20; 64];
        assert_eq!(r.push(&bad, 5.04), Err(DecodeError::Version(2)));
        assert_eq!(r.rejected(), 2);
        let s = r.buffer.sample(5.2).unwrap();
        assert!((s.face.expressions.get(Expression::JawOpen) - 0.6).abs() < 0.003);
    }
}
