//! Live face input and output over UDP on loopback, as streamers run it: Live Link Face packets and VMC
//! bundles into a `LiveFace` (weights and angles arrive, subjects tell heads apart, lost and reordered
//! packets, a sender that stops, bad packets, a port that is taken), a `VmcSender`'s packets read back by
//! a VMC receiver, and the latency from a packet to the head's texture.
//!
//! The fixtures in tests/fixtures (`livelink_v6_*.bin`, `vmc_bundle.bin`) were written by
//! tests/fixtures/make_interop_fixtures.py with Python's struct module from the documented layouts,
//! independently of the crate's encoders.

mod common;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_talking_head::drive::{LiveFaceState, VmcFaceReader};
use bevy_talking_head::interop::livelink::{self, LiveLinkPacket};
use bevy_talking_head::interop::{VmcSender, vmc};
use bevy_talking_head::net::JitterSettings;
use bevy_talking_head::prelude::*;
use common::*;

const WAIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The sending side: a socket of its own, as the phone or the other app.
fn sender() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

fn live_link_bytes(subject: &str, frame: i32, face: &FaceFrame) -> Vec<u8> {
    livelink::encode(&LiveLinkPacket {
        device_id: "00000000-0000-4000-8000-000000000001",
        subject,
        frame,
        sub_frame: 0.0,
        rate: (60, 1),
        values: Some(livelink::values_of(face)),
    })
}

/// A head that needs no rig (a flat portrait, a renderer painting one colour), driven by `live`.
fn head(app: &mut App, live: LiveFace) -> Entity {
    let portrait = flat_portrait(app, 32, [90, 90, 90, 255]);
    app.world_mut()
        .spawn((
            TalkingHead::new(portrait).with_renderer(time_painter(|_| Duration::ZERO)),
            live,
        ))
        .id()
}

fn live(app: &App, head: Entity) -> &LiveFace {
    app.world().get::<LiveFace>(head).unwrap()
}

fn face(app: &App, head: Entity) -> FaceFrame {
    *app.world().get::<FaceFrame>(head).unwrap()
}

/// A face with every kind of value the protocols carry.
fn test_face(jaw: f32) -> FaceFrame {
    let mut f = FaceFrame::default()
        .with_expression(Expression::JawOpen, jaw)
        .with_expression(Expression::EyeBlinkLeft, 0.8)
        .with_expression(Expression::MouthSmileRight, 0.35)
        .with_expression(Expression::BrowInnerUp, 0.6)
        .with_expression(Expression::TongueOut, 0.2);
    f.head.yaw = 0.21;
    f.head.pitch = -0.12;
    f.head.roll = 0.07;
    f.gaze.left = [0.15, -0.05];
    f.gaze.right = [0.11, -0.04];
    f
}

/// The largest difference between two faces' weights, head angles and gaze.
fn difference(a: &FaceFrame, b: &FaceFrame) -> f32 {
    let weights = a
        .expressions
        .0
        .iter()
        .zip(&b.expressions.0)
        .map(|(x, y)| (x - y).abs());
    let angles = [
        a.head.yaw - b.head.yaw,
        a.head.pitch - b.head.pitch,
        a.head.roll - b.head.roll,
        a.gaze.left[0] - b.gaze.left[0],
        a.gaze.left[1] - b.gaze.left[1],
        a.gaze.right[0] - b.gaze.right[0],
        a.gaze.right[1] - b.gaze.right[1],
    ]
    .map(f32::abs);
    weights.chain(angles).fold(0.0, f32::max)
}

/// Sends `bytes` to `port` every frame until `done`.
fn stream_until(
    app: &mut App,
    what: &str,
    mut send: impl FnMut(u64) -> Vec<Vec<u8>>,
    port: u16,
    mut done: impl FnMut(&mut App) -> bool,
) {
    let socket = sender();
    let mut n = 0;
    update_until(app, WAIT, what, |app| {
        for bytes in send(n) {
            socket.send_to(&bytes, ("127.0.0.1", port)).unwrap();
        }
        n += 1;
        std::thread::sleep(Duration::from_millis(5));
        done(app)
    });
}

#[test]
fn the_fixtures_decode_as_documented() {
    let p = fixture("livelink_v6_face.bin");
    let p = livelink::decode(&p).unwrap();
    assert_eq!(p.subject, "iPhone");
    assert_eq!(p.device_id, "7A1C0E52-3B4D-4E6F-8A9B-0C1D2E3F4A5B");
    assert_eq!((p.frame, p.sub_frame, p.rate), (4711, 0.25, (60, 1)));
    let f = p.face(false, false).unwrap();
    assert_eq!(f.expressions.get(Expression::JawOpen), 0.5);
    assert_eq!(f.expressions.get(Expression::EyeBlinkLeft), 0.75);
    assert_eq!(f.expressions.get(Expression::MouthSmileRight), 0.25);
    assert_eq!(f.expressions.iter_nonzero().count(), 3);
    assert!((f.head.yaw - 0.1).abs() < 1e-6 && (f.head.pitch + 0.2).abs() < 1e-6);
    assert!((f.head.roll - 0.05).abs() < 1e-6);
    assert!((f.gaze.left[0] - 0.15).abs() < 1e-6 && (f.gaze.right[1] + 0.08).abs() < 1e-6);
    // Our encoder writes the same bytes.
    assert_eq!(livelink::encode(&p), fixture("livelink_v6_face.bin"));
    let none = fixture("livelink_v6_noface.bin");
    assert_eq!(livelink::decode(&none).unwrap().values, None);

    let mut reader = VmcFaceReader::default();
    let f = reader.feed(&fixture("vmc_bundle.bin")).unwrap().unwrap();
    assert_eq!(f.expressions.get(Expression::JawOpen), 0.5);
    assert_eq!(f.expressions.get(Expression::EyeBlinkRight), 1.0);
    // -0.2 rad about Unity's y: this crate's yaw +0.2 (turned to the head's own left).
    assert!((f.head.yaw - 0.2).abs() < 1e-5, "{}", f.head.yaw);
    assert!(f.head.pitch.abs() < 1e-5 && f.head.roll.abs() < 1e-5);
    assert_eq!(f.time, 12.5);
}

#[test]
fn live_link_weights_and_angles_arrive_and_subjects_tell_heads_apart() {
    let mut app = app(1);
    let port = free_port();
    let a = head(
        &mut app,
        LiveFace::new(LiveSource::LiveLink {
            port,
            subject: Some("alice".into()),
        }),
    );
    let b = head(
        &mut app,
        LiveFace::new(LiveSource::LiveLink {
            port,
            subject: Some("bob".into()),
        }),
    );
    let (fa, fb) = (test_face(0.9), test_face(0.1));
    stream_until(
        &mut app,
        "both heads show their subject's face",
        |n| {
            vec![
                live_link_bytes("alice", n as i32, &fa),
                live_link_bytes("bob", n as i32, &fb),
            ]
        },
        port,
        |app| live(app, a).presence() == 1.0 && live(app, b).presence() == 1.0,
    );
    app.update();
    let (da, db) = (
        difference(&face(&app, a), &fa),
        difference(&face(&app, b), &fb),
    );
    eprintln!("Live Link: composed face vs sent: {da:.2e} (alice), {db:.2e} (bob)");
    assert!(da < 1e-3 && db < 1e-3, "{da} {db}");
    assert_eq!(live(&app, a).status().state, LiveFaceState::Streaming);
    assert!(
        live(&app, a)
            .status()
            .source_name
            .contains(&format!("UDP port {port}")),
        "{}",
        live(&app, a).status().source_name
    );

    // Alice's head switches to Bob.
    app.world_mut()
        .get_mut::<LiveFace>(a)
        .unwrap()
        .set_source(LiveSource::LiveLink {
            port,
            subject: Some("bob".into()),
        });
    stream_until(
        &mut app,
        "the switched head shows bob",
        |n| {
            vec![
                live_link_bytes("alice", 1000 + n as i32, &fa),
                live_link_bytes("bob", 1000 + n as i32, &fb),
            ]
        },
        port,
        |app| live(app, a).presence() == 1.0 && difference(&face(app, a), &fb) < 1e-3,
    );
    assert!(app.world().resource::<SeenErrors>().texts().is_empty());
}

#[test]
fn a_late_live_link_packet_never_replaces_a_newer_face() {
    let mut app = app(1);
    let port = free_port();
    let h = head(&mut app, LiveFace::live_link(port));
    let socket = sender();
    let send = |frame: i32| {
        socket
            .send_to(
                &live_link_bytes("iPhone", frame, &test_face((frame % 100) as f32 / 100.0)),
                ("127.0.0.1", port),
            )
            .unwrap();
    };
    let shown = |app: &App| live(app, h).status().last.as_ref().map(|s| s.source_index);
    // Twenty times: frame 2k+1 arrives and shows; then frame 2k arrives late, on its own (from 10 s on
    // the sender's clock).
    for k in 0..20 {
        let (newer, older) = (600 + 2 * k + 1, 600 + 2 * k);
        // (Sent again until it shows: the first goes out before the head listens.)
        update_until(&mut app, WAIT, "the newer frame", |app| {
            send(newer);
            std::thread::sleep(Duration::from_millis(2));
            shown(app) == Some(newer as u64)
        });
        send(older);
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(4));
            app.update();
            assert_eq!(
                shown(&app),
                Some(newer as u64),
                "frame {older} arrived late and was shown"
            );
        }
    }
    // A sender that starts over (its frame numbers jump back by more than a second): taken at once.
    update_until(&mut app, WAIT, "the restarted stream", |app| {
        send(5);
        std::thread::sleep(Duration::from_millis(2));
        shown(app) == Some(5)
    });
    assert!((face(&app, h).expressions.get(Expression::JawOpen) - 0.05).abs() < 1e-3);
}

#[test]
fn a_lossy_live_link_stream_shows_rising_frames_and_ends_on_the_last() {
    let mut app = app(1);
    let port = free_port();
    let h = head(&mut app, LiveFace::live_link(port));
    let socket = sender();
    // 300 frames, three per app update: every fifth lost, every seventh pair swapped; the frame number
    // in the jaw, so each face shown tells its frame.
    let jaw = |frame: i32| frame as f32 / 300.0;
    let mut order: Vec<i32> = (0..300).filter(|f| f % 5 != 3).collect();
    for i in (0..order.len() - 1).step_by(7) {
        order.swap(i, i + 1);
    }
    let sent = order.len();
    let mut shown = Vec::new();
    let mut last_index = None;
    for chunk in order.chunks(3) {
        for &frame in chunk {
            socket
                .send_to(
                    &live_link_bytes("iPhone", frame, &test_face(jaw(frame))),
                    ("127.0.0.1", port),
                )
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(4));
        app.update();
        let status = live(&app, h).status();
        if let Some(s) = &status.last
            && last_index != Some(s.index)
        {
            last_index = Some(s.index);
            shown.push(s.source_index as i32);
        }
    }
    // The last pair is swapped too: 299 arrives before 298, which must not show after it.
    update_until(&mut app, WAIT, "the last frame", |app| {
        std::thread::sleep(Duration::from_millis(2));
        live(app, h).status().last.as_ref().map(|s| s.source_index) == Some(299)
    });
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(4));
        app.update();
    }
    let status = live(&app, h).status().clone();
    eprintln!(
        "Live Link over loopback: {sent} of 300 packets sent (1 in 5 lost), 1 pair in 7 swapped, 3 per \
         frame; {} faces reached the head, {} packets replaced by a newer one or dropped as older; shown \
         frames rise: {:?}...",
        status.samples,
        status.dropped,
        &shown[..shown.len().min(12)]
    );
    assert!(
        shown.windows(2).all(|w| w[1] > w[0]),
        "a face older than the one shown came back: {shown:?}"
    );
    assert!(status.samples >= 20, "{} faces", status.samples);
    assert_eq!(status.last.as_ref().map(|s| s.source_index), Some(299));
    let f = face(&app, h);
    assert!((f.expressions.get(Expression::JawOpen) - jaw(299)).abs() < 1e-3);
}

#[test]
fn a_sender_that_stops_fades_to_idle_after_the_remote_face_hold() {
    let mut app = app(1);
    let port = free_port();
    let h = head(&mut app, LiveFace::live_link(port));
    let f = test_face(1.0);
    stream_until(
        &mut app,
        "the stream showing",
        |n| vec![live_link_bytes("iPhone", n as i32, &f)],
        port,
        |app| live(app, h).presence() == 1.0,
    );
    assert_eq!(
        live(&app, h).face_timeout,
        JitterSettings::default().hold,
        "a live stream holds its face as long as a remote face"
    );
    let stopped = Instant::now();
    let mut faded_from = None;
    update_until(&mut app, WAIT, "the face faded out", |app| {
        std::thread::sleep(Duration::from_millis(4));
        let p = live(app, h).presence();
        if p < 1.0 && faded_from.is_none() {
            faded_from = Some(stopped.elapsed());
        }
        p == 0.0
    });
    let gone = stopped.elapsed();
    let faded_from = faded_from.unwrap();
    eprintln!(
        "sender stopped: held {:.0} ms, faded out by {:.0} ms",
        faded_from.as_secs_f64() * 1e3,
        gone.as_secs_f64() * 1e3
    );
    assert!(faded_from >= Duration::from_millis(240), "{faded_from:?}");
    // Held 250 ms, faded over 250 ms; a loaded machine's slow frames add a little.
    assert!(gone <= Duration::from_millis(1500), "{gone:?}");
    // Idle life has the head: the streamed jaw is gone.
    app.update();
    assert!(face(&app, h).expressions.get(Expression::JawOpen) < 0.1);
    // The stream comes back: the face with it.
    stream_until(
        &mut app,
        "the stream back",
        |n| vec![live_link_bytes("iPhone", 10_000 + n as i32, &f)],
        port,
        |app| live(app, h).presence() == 1.0,
    );
}

#[test]
fn calibration_measures_weights_from_the_received_neutral_face() {
    let mut app = app(1);
    let port = free_port();
    let h = head(&mut app, LiveFace::live_link(port));
    // The performer's resting face holds a little smile and a turned head.
    let mut rest = FaceFrame::default().with_expression(Expression::MouthSmileLeft, 0.3);
    rest.head.yaw = 0.1;
    stream_until(
        &mut app,
        "the resting face showing",
        |n| vec![live_link_bytes("iPhone", n as i32, &rest)],
        port,
        |app| live(app, h).presence() == 1.0,
    );
    app.world_mut().get_mut::<LiveFace>(h).unwrap().calibrate();
    let mut smile = rest.with_expression(Expression::MouthSmileLeft, 0.65);
    smile.head.yaw = 0.3;
    let mut n = 1000;
    stream_until(
        &mut app,
        "the calibrated smile",
        |_| {
            n += 1;
            // The first packets after the calibration are the resting face, then the smile.
            let f = if n < 1010 { rest } else { smile };
            vec![live_link_bytes("iPhone", n, &f)]
        },
        port,
        |app| {
            let f = face(app, h);
            (f.expressions.get(Expression::MouthSmileLeft) - 0.5).abs() < 1e-3
                && (f.head.yaw - 0.2).abs() < 1e-3
        },
    );
}

#[test]
fn a_vmc_senders_packets_reproduce_its_face_on_a_vmc_receiver() {
    let mut app = app(1);
    let port = free_port();
    // The sending head: its face set by the override layer (what the game's own code would do).
    let portrait = flat_portrait(&mut app, 32, [90, 90, 90, 255]);
    let sent = test_face(0.55);
    let mut layers = FaceLayers::default();
    layers.set_override(sent, 1.0, FaceMask::ALL);
    let from = app
        .world_mut()
        .spawn((
            TalkingHead::new(portrait).with_renderer(time_painter(|_| Duration::ZERO)),
            layers,
            VmcSender::new(([127, 0, 0, 1], port).into()),
        ))
        .id();
    let to = head(&mut app, LiveFace::vmc(port));
    update_until(&mut app, WAIT, "the VMC face arriving", |app| {
        std::thread::sleep(Duration::from_millis(4));
        live(app, to).presence() == 1.0
    });
    app.update();
    let composed = face(&app, from);
    let d = difference(&face(&app, to), &composed);
    let sender = app.world().get::<VmcSender>(from).unwrap();
    eprintln!(
        "VMC: {} bundles sent ({} failed), {} bytes each; received face vs sent: {d:.2e}",
        sender.sent(),
        sender.failed(),
        vmc::encode_face(&composed, 0.0).len()
    );
    assert!(d < 1e-3, "{d}");
    assert_eq!(sender.failed(), 0);
    assert!(app.world().resource::<SeenErrors>().texts().is_empty());
}

#[test]
fn bad_packets_are_one_warning_and_the_stream_goes_on() {
    let mut app = app(1);
    let port = free_port();
    let h = head(&mut app, LiveFace::live_link(port));
    let f = test_face(0.7);
    let mut truncated = live_link_bytes("iPhone", 5, &f);
    truncated.truncate(100);
    stream_until(
        &mut app,
        "the good packets showing among bad ones",
        |n| {
            vec![
                b"GET / HTTP/1.1\r\n\r\n".to_vec(),
                truncated.clone(),
                fixture("vmc_bundle.bin"),
                live_link_bytes("iPhone", n as i32, &f),
            ]
        },
        port,
        |app| live(app, h).presence() == 1.0,
    );
    let errors = app.world().resource::<SeenErrors>().texts();
    eprintln!("bad packets: {errors:?}");
    assert!(!errors.is_empty() && errors.len() <= 2, "{errors:?}");
    assert!(errors[0].contains(&format!("UDP port {port}")) && errors[0].contains("not Live Link"));
    assert!(difference(&face(&app, h), &f) < 1e-3);
}

#[test]
fn a_taken_port_is_reported_and_retried_and_protocols_do_not_share_a_port() {
    let mut app = app(1);
    let taken = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let h = head(&mut app, LiveFace::live_link(port));
    update_until(&mut app, WAIT, "the port reported taken", |app| {
        std::thread::sleep(Duration::from_millis(4));
        matches!(live(app, h).status().state, LiveFaceState::Reconnecting(_))
    });
    let errors = app.world().resource::<SeenErrors>().texts();
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&format!("cannot listen on UDP port {port}"))),
        "{errors:?}"
    );
    // A VMC head on the same port: refused with a reason, the Live Link head unaffected.
    let v = head(&mut app, LiveFace::vmc(port));
    app.update();
    match &live(&app, v).status().state {
        LiveFaceState::Failed(why) => assert!(why.contains("already receives Live Link"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The other program lets the port go: the head listens within the retry interval.
    drop(taken);
    let f = test_face(0.4);
    stream_until(
        &mut app,
        "the stream after the port was freed",
        |n| vec![live_link_bytes("iPhone", n as i32, &f)],
        port,
        |app| live(app, h).presence() == 1.0,
    );
    // Both heads gone: the port is free again at once (the listener ended).
    app.world_mut().entity_mut(h).despawn();
    app.world_mut().entity_mut(v).despawn();
    app.update();
    let start = Instant::now();
    loop {
        if UdpSocket::bind(("0.0.0.0", port)).is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "the port is still taken 500 ms after its heads went"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn latency_from_a_live_link_packet_to_the_heads_texture() {
    let mut app = app(1);
    let port = free_port();
    let portrait: Handle<Image> = app
        .world()
        .resource::<AssetServer>()
        .load("assets/portraits/astronaut.png");
    let h = app
        .world_mut()
        .spawn((
            TalkingHead::new(portrait).with_output_size(UVec2::new(256, 256)),
            LiveFace::live_link(port),
        ))
        .id();
    let closed = test_face(0.0);
    stream_until(
        &mut app,
        "the rigged head showing the stream",
        |n| vec![live_link_bytes("iPhone", n as i32, &closed)],
        port,
        |app| live(app, h).presence() == 1.0 && stats(app, h).frames_rendered > 5,
    );
    let socket = sender();
    let mut latencies = Vec::new();
    let mut frame = 100_000;
    let mut jaw = 0.0;
    for _ in 0..12 {
        // Let the head settle on the previous face, the stream going on.
        for _ in 0..10 {
            frame += 1;
            let bytes = live_link_bytes("iPhone", frame, &test_face(jaw));
            socket.send_to(&bytes, ("127.0.0.1", port)).unwrap();
            app.update();
            std::thread::sleep(Duration::from_millis(3));
        }
        jaw = 1.0 - jaw;
        let before = pixels(&app, h).to_vec();
        frame += 1;
        let bytes = live_link_bytes("iPhone", frame, &test_face(jaw));
        let sent = Instant::now();
        socket.send_to(&bytes, ("127.0.0.1", port)).unwrap();
        update_until(&mut app, WAIT, "the texture changing", |app| {
            pixels(app, h) != before.as_slice()
        });
        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "Live Link packet -> texture (debug build, 256 px mesh warp): median {:.1} ms, max {:.1} ms over {} changes",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        latencies.len()
    );
    assert!(app.world().resource::<SeenErrors>().texts().is_empty());
}
