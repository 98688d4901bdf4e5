//! The `streamer_overlay` example in a real window: the persona shows on the chroma-key green, driven by
//! the test video through the live driver, and moves.

mod common;

use common::examples::{moving_head, run_example};

#[test]
fn streamer_overlay_example_follows_the_video() {
    let Some(shots) = run_example("streamer_overlay", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    assert_eq!(a.dimensions(), (600, 700));
    // The key colour around the persona.
    let corner = a.get_pixel(5, 5).0;
    assert_eq!(corner, [0, 255, 0], "chroma-key green background");
    // The persona is cut out: the portrait's own background (its top corners, inside the persona's
    // sprite, which spans x 20..580, y 10..570) shows the key colour too.
    for (x, y) in [(40, 30), (560, 30)] {
        let px = a.get_pixel(x, y).0;
        assert!(
            px[1] > 240 && px[0] < 20 && px[2] < 20,
            "the portrait's background shows at ({x}, {y}): {px:?}"
        );
    }
    // The 560 px persona is centred 60 px above the middle: its face in the upper middle.
    let changed = moving_head(a, b, (200, 90, 200, 200), "the persona's face");
    assert!(
        changed > 300,
        "the persona does not move ({changed} pixels changed)"
    );
}

/// `--live-link PORT --vmc-out ADDR`: an iPhone's Live Link Face stream (played here by the test) drives
/// the persona, and the persona's face goes out over VMC to a VMC app (this test again): the face makes
/// the whole trip through the running example.
#[test]
fn streamer_overlay_takes_live_link_in_and_sends_vmc_out() {
    use std::net::UdpSocket;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bevy_talking_head::drive::VmcFaceReader;
    use bevy_talking_head::interop::livelink::{self, LiveLinkPacket};
    use bevy_talking_head::{Expression, FaceFrame};

    let vmc_in = UdpSocket::bind("127.0.0.1:0").unwrap();
    vmc_in
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let vmc_port = vmc_in.local_addr().unwrap().port();
    let live_link_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let done = Arc::new(AtomicBool::new(false));
    // The phone: 60 packets a second, the mouth wide open and the head turned.
    let phone = {
        let done = done.clone();
        std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut face = FaceFrame::default().with_expression(Expression::JawOpen, 1.0);
            face.head.yaw = 0.3;
            let mut frame = 0;
            while !done.load(Ordering::Relaxed) {
                frame += 1;
                let bytes = livelink::encode(&LiveLinkPacket {
                    device_id: "00000000-0000-4000-8000-000000000001",
                    subject: "iPhone",
                    frame,
                    sub_frame: 0.0,
                    rate: (60, 1),
                    values: Some(livelink::values_of(&face)),
                });
                let _ = socket.send_to(&bytes, ("127.0.0.1", live_link_port));
                std::thread::sleep(Duration::from_millis(16));
            }
        })
    };
    // The VMC app: the faces that arrive.
    let received = Arc::new(Mutex::new(Vec::<FaceFrame>::new()));
    let app = {
        let (done, received) = (done.clone(), received.clone());
        std::thread::spawn(move || {
            let mut reader = VmcFaceReader::default();
            let mut buf = vec![0u8; 65536];
            while !done.load(Ordering::Relaxed) {
                if let Ok(n) = vmc_in.recv(&mut buf)
                    && let Ok(Some(face)) = reader.feed(&buf[..n])
                {
                    received.lock().unwrap().push(face);
                }
            }
        })
    };
    let out = format!("127.0.0.1:{vmc_port}");
    let lp = live_link_port.to_string();
    let shots = common::examples::run_example_with_args(
        "streamer_overlay",
        &["--live-link", &lp, "--vmc-out", &out],
        2,
    );
    done.store(true, Ordering::Relaxed);
    phone.join().unwrap();
    app.join().unwrap();
    let Some((shots, log)) = shots else {
        return;
    };
    assert!(log.contains("Live Link Face"), "{log}");
    let faces = received.lock().unwrap().clone();
    let open = faces
        .iter()
        .filter(|f| {
            f.expressions.get(Expression::JawOpen) > 0.99 && (f.head.yaw - 0.3).abs() < 1e-3
        })
        .count();
    eprintln!(
        "VMC out of the example: {} faces, {open} with the phone's open jaw and turned head",
        faces.len()
    );
    assert!(
        open >= 10,
        "{open} of {} faces carry the phone's face",
        faces.len()
    );
    // The persona is on screen, on the key colour.
    assert_eq!(shots[0].get_pixel(5, 5).0, [0, 255, 0]);
    let (_, std, _) = common::examples::region(&shots[1], 200, 90, 200, 200);
    assert!(std > 12.0, "the persona's face is flat (std {std:.1})");
}
