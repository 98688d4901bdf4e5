//! Property-based fuzzing of everything that reads face bytes from the network: the codec's decoders,
//! (with the `replicon` feature) `FacePacket` as postcard bytes, and the streamer protocols (Live Link
//! Face packets, OSC, VMC faces), on random and on mutated valid input. No panic, no allocation over
//! 1 KiB (none at all for the streamer protocols), and whatever decodes is a sane face.
//!
//! `FACE_CODEC_FUZZ=N` runs N cases per property (default 20,000; `FACE_CODEC_FUZZ=1000000` for the
//! local million-input run). A failure prints the shrunk input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bevy_talking_head::codec::{self, FaceDecoder, FaceEncoder};
use bevy_talking_head::{Channel, FaceFrame};
use proptest::prelude::*;

/// Records the largest allocation made by this thread while armed.
struct Watch;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ARMED.try_with(|armed| {
            if armed.get() {
                let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
            }
        });
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static WATCH: Watch = Watch;

/// Runs `f`, returning its result and the largest allocation it made.
fn watched<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    ARMED.with(|a| a.set(true));
    let out = f();
    ARMED.with(|a| a.set(false));
    (out, LARGEST.with(Cell::get))
}

fn cases() -> u32 {
    std::env::var("FACE_CODEC_FUZZ")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn sane(face: &FaceFrame) -> bool {
    Channel::all().all(|c| face.channel(c).is_finite())
        && face.expressions.0.iter().all(|w| (0.0..=1.0).contains(w))
}

/// A random face: every channel somewhere in (and a little beyond) its range.
fn face() -> impl Strategy<Value = FaceFrame> {
    prop::collection::vec(-1.5f32..1.5, Channel::COUNT).prop_map(|v| {
        let mut f = FaceFrame::neutral();
        for (c, x) in Channel::all().zip(v) {
            let value = if c.index() < bevy_talking_head::Expression::COUNT {
                x.abs().min(1.0)
            } else {
                c.neutral() + x * 0.5
            };
            f.set_channel(c, value);
        }
        f
    })
}

/// The codec's step and range (either side of neutral) for a channel.
fn step_and_range(c: Channel) -> (f32, f32) {
    match c {
        Channel::Expression(_) => (1.0 / 255.0, 1.0),
        Channel::HeadX | Channel::HeadY | Channel::HeadZ | Channel::HeadScale => (0.002, 0.254),
        _ => (0.005, 0.635),
    }
}

/// Valid bytes with one mutation: truncated, a byte changed, or bytes appended.
fn mutate(bytes: Vec<u8>, how: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut b = bytes;
    let at = at % (b.len() + 1);
    match how % 3 {
        0 => b.truncate(at),
        1 if !b.is_empty() => {
            let i = at.min(b.len() - 1);
            b[i] ^= byte | 1;
        }
        _ => b.extend(std::iter::repeat_n(byte, at % 9 + 1)),
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_or_allocate_much(bytes in prop::collection::vec(any::<u8>(), 0..200), base in face()) {
        let (result, largest) = watched(|| {
            let plain = codec::decode(&bytes);
            // A decoder with a previous frame gets past the "no base" check for frames of changes.
            let mut decoder = FaceDecoder::default();
            decoder.decode(&codec::encode(&base)).unwrap();
            (plain, decoder.decode(&bytes))
        });
        prop_assert!(largest <= 1024, "allocated {largest} bytes");
        for face in [result.0, result.1].into_iter().flatten() {
            prop_assert!(sane(&face), "{face:?}");
        }
    }

    #[test]
    fn mutated_frames_never_panic(a in face(), b in face(), how: u8, at: usize, byte: u8) {
        let mut encoder = FaceEncoder::default();
        let full = encoder.encode_changes(&a);
        let changes = encoder.encode_changes(&b);
        for bytes in [mutate(full.clone(), how, at, byte), mutate(changes, how, at, byte)] {
            let mut decoder = FaceDecoder::default();
            decoder.decode(&full).unwrap();
            let (result, largest) = watched(|| decoder.decode(&bytes));
            prop_assert!(largest <= 1024, "allocated {largest} bytes");
            if let Ok(face) = result {
                prop_assert!(sane(&face));
            }
        }
    }

    #[test]
    fn faces_round_trip_within_half_a_step(a in face()) {
        let bytes = codec::encode(&a);
        prop_assert_eq!(bytes.len(), codec::FULL_SIZE);
        prop_assert!(bytes.len() <= 64);
        let back = codec::decode(&bytes).unwrap();
        for c in Channel::all() {
            let (x, y) = (a.channel(c), back.channel(c));
            // Values beyond a channel's range come back as its end.
            let (step, range) = step_and_range(c);
            let expected = x.clamp(c.neutral() - range, c.neutral() + range);
            prop_assert!((expected - y).abs() <= step / 2.0 + 1e-4, "{c:?}: {x} came back as {y}");
        }
    }
}

#[cfg(feature = "replicon")]
mod packets {
    use super::*;
    use bevy_replicon::postcard;
    use bevy_talking_head::net::{FacePacket, RemoteFace};

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        /// What a server or client does with a message off the wire: postcard, then the jitter buffer.
        #[test]
        fn packet_bytes_never_panic_or_allocate_much(bytes in prop::collection::vec(any::<u8>(), 0..200), a in face(), b in face(), how: u8, at: usize, byte: u8, random: bool) {
            let mut buf = [0u8; 256];
            let valid = postcard::to_slice(&FacePacket::new(7, 1234, &a).with_previous(33, &b), &mut buf).unwrap().to_vec();
            let input = if random { bytes } else { mutate(valid, how, at, byte) };
            let mut remote = RemoteFace::default();
            let (_, largest) = watched(|| {
                if let Ok(packet) = postcard::from_bytes::<FacePacket>(&input) {
                    let _ = remote.push(&packet, 1.0);
                    let _ = remote.buffer_mut().sample(1.2);
                }
            });
            // The jitter buffer's first frame allocates its queues (a few hundred bytes); a length
            // prefix of a billion must not.
            prop_assert!(largest <= 4096, "allocated {largest} bytes");
        }
    }
}

/// Live Link Face packets, OSC packets and VMC faces: what `LiveSource::LiveLink` and `LiveSource::Vmc`
/// read off a UDP socket.
mod streamer_protocols {
    use super::*;
    use bevy_talking_head::drive::VmcFaceReader;
    use bevy_talking_head::interop::livelink::{self, LiveLinkPacket};
    use bevy_talking_head::interop::{osc, vmc};

    fn live_link(f: &FaceFrame, subject: &str, frame: i32) -> Vec<u8> {
        livelink::encode(&LiveLinkPacket {
            device_id: "00000000-0000-4000-8000-000000000001",
            subject,
            frame,
            sub_frame: 0.5,
            rate: (60, 1),
            values: Some(livelink::values_of(f)),
        })
    }

    /// A VMC bundle of blendshape values with any names (ARKit's, VRM presets, anything), then Apply.
    fn vmc_names(names: &[(String, f32)]) -> Vec<u8> {
        use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
        let mut content: Vec<OscPacket> = names
            .iter()
            .map(|(n, v)| {
                OscPacket::Message(OscMessage {
                    addr: "/VMC/Ext/Blend/Val".into(),
                    args: vec![OscType::String(n.clone()), OscType::Float(*v)],
                })
            })
            .collect();
        content.push(OscPacket::Message(OscMessage {
            addr: "/VMC/Ext/Blend/Apply".into(),
            args: vec![],
        }));
        rosc::encoder::encode(&OscPacket::Bundle(OscBundle {
            timetag: OscTime {
                seconds: 0,
                fractional: 1,
            },
            content,
        }))
        .unwrap()
    }

    /// What the receiver does with a packet: read it as Live Link and as VMC, make the faces (into
    /// `faces`, made beforehand: nothing here may allocate).
    fn receive(bytes: &[u8], reader: &mut VmcFaceReader, faces: &mut Vec<FaceFrame>) {
        if let Ok(p) = livelink::decode(bytes)
            && let Some(f) = p.face(false, false)
        {
            faces.push(f);
        }
        let mut messages = 0;
        let _ = osc::read_packet(bytes, &mut |m, _| {
            messages += 1;
            let _ = m.args().count();
            let _ = vmc::VmcEvent::of(&m);
        });
        if let Ok(Some(f)) = reader.feed(bytes) {
            faces.push(f);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn streamer_packets_never_panic_or_allocate(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            f in face(),
            subject in "[a-zA-Z0-9 ]{0,12}",
            frame: i32,
            how: u8, at: usize, byte: u8,
            pick in 0u8..4,
            names in prop::collection::vec(("[a-zA-Z_]{0,14}", -2.0f32..2.0), 0..12),
        ) {
            let input = match pick {
                0 => bytes,
                1 => mutate(live_link(&f, &subject, frame), how, at, byte),
                2 => mutate(vmc::encode_face(&f, 1.5), how, at, byte),
                // Names the reader does not know (VRM presets, other apps' names) must not allocate
                // either (an error type that owns the name would).
                _ => mutate(vmc_names(&names), how, at, byte),
            };
            let mut reader = VmcFaceReader::default();
            let mut faces = Vec::with_capacity(2);
            let ((), largest) = watched(|| receive(&input, &mut reader, &mut faces));
            prop_assert!(largest == 0, "allocated {largest} bytes");
            for face in &faces {
                prop_assert!(sane(face), "{face:?}");
            }
        }

        #[test]
        fn valid_streamer_packets_carry_the_face(f in face(), subject in "[a-z]{1,12}", frame: i32) {
            let p = live_link(&f, &subject, frame);
            let back = livelink::decode(&p).unwrap();
            prop_assert_eq!(back.subject, subject.as_str());
            prop_assert_eq!(back.frame, frame);
            let face = back.face(false, false).unwrap();
            prop_assert_eq!(face.expressions, f.expressions);
            let mut reader = VmcFaceReader::default();
            let v = reader.feed(&vmc::encode_face(&f, 0.0)).unwrap().unwrap();
            prop_assert_eq!(v.expressions, f.expressions);
            // Angles within 1e-3 (the rotation's round trip), for angles below a quarter turn.
            if f.head.pitch.abs() < 1.4 {
                for (x, y) in [(f.head.yaw, v.head.yaw), (f.head.pitch, v.head.pitch), (f.head.roll, v.head.roll)] {
                    let d = (x - y).abs();
                    prop_assert!(d < 1e-3 || (d - std::f32::consts::TAU).abs() < 1e-3, "{x} came back as {y}");
                }
            }
        }
    }
}
