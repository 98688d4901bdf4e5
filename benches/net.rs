//! Faces over the network (`cargo bench --bench net --features replicon`; figures go to
//! BENCHMARKS.md).
//!
//! - Before criterion runs: the payload of a real face stream (the `talking` recording, sent at 30 Hz
//!   with redundancy), then a server and two clients over bevy_replicon + renet on loopback, with a
//!   clean link and with 10 % loss and 20-40 ms of delay each way: bytes per second per avatar (renet's
//!   counters) and end-to-end delay (the lag at which B's copy of A's face best matches A's).
//! - `net/*`: the CPU cost of each step of one packet (sending, postcard, receiving, playing).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/loopback.rs"]
mod loopback;
#[path = "../examples/common/lossy_link.rs"]
mod lossy_link;
#[path = "../examples/common/net.rs"]
mod net;

use std::path::Path;
use std::time::Duration;

use bevy::prelude::*;
use bevy_replicon::postcard;
use bevy_replicon::prelude::ClientStats;
use bevy_talking_head::net::{FacePacket, FaceSender, RemoteFace};
use bevy_talking_head::prelude::*;
use criterion::Criterion;
use loopback::{Loopback, Trace, best_lag};
use lossy_link::LinkConditions;

fn repo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Packets of the talking recording, as a 30 Hz sender makes them.
fn talking_packets() -> Vec<FacePacket> {
    let clip = FaceClip::load(repo("assets/recordings/talking.face.ron")).expect("recording");
    let mut sender = FaceSender::default();
    let mut out = Vec::new();
    let mut t = 0.0;
    while t < f64::from(clip.duration()) {
        if let Some(p) = sender.poll(&clip.sample(t as f32), 100.0 + t) {
            out.push(p);
        }
        t += 1.0 / 120.0;
    }
    out
}

fn figures() {
    let packets = talking_packets();
    let n = packets.len() as f64;
    let mean = |f: &dyn Fn(&FacePacket) -> usize| packets.iter().map(f).sum::<usize>() as f64 / n;
    let wire = mean(&|p| p.wire_size());
    let copy = mean(&|p| p.previous.as_ref().map_or(0, |c| c.frame.len()));
    println!(
        "payload of the talking recording at 30 Hz: {wire:.1} B a packet (frame 64 B, redundant copy \
         {copy:.1} B), {:.0} B/s",
        wire * 30.0
    );
    for (name, conditions) in [
        (
            "clean loopback",
            LinkConditions {
                loss: 0.0,
                delay: Duration::ZERO,
                jitter: Duration::ZERO,
                seed: 0,
            },
        ),
        (
            "10 % loss, 20-40 ms",
            LinkConditions {
                loss: 0.10,
                delay: Duration::from_millis(20),
                jitter: Duration::from_millis(20),
                seed: 0,
            },
        ),
    ] {
        let mut lo = Loopback::start(conditions);
        let run = lo.run(9.0, |_, _| {});
        let settled: Trace = run
            .a_seen_by_b
            .iter()
            .copied()
            .filter(|s| s.0 > 3.5)
            .collect();
        let (lag, mean_error, _, _) = best_lag(&run.a_sent, &settled);
        let buffer = run.b_delays.last().map_or(0.0, |d| d.1 * 1000.0);
        let sent = lo.a.world().resource::<ClientStats>().sent_bps;
        let received = lo.b.world().resource::<ClientStats>().received_bps;
        println!(
            "{name}: A sends {sent:.0} B/s, B receives {received:.0} B/s (renet, per avatar); B shows A \
             {lag} ms late (jitter buffer {buffer:.0} ms), jaw error {mean_error:.4}"
        );
    }
}

fn costs(c: &mut Criterion) {
    let mut group = c.benchmark_group("net");
    let packets = talking_packets();
    let clip = FaceClip::load(repo("assets/recordings/talking.face.ron")).expect("recording");
    let face = clip.sample(1.0);
    let mut sender = FaceSender::default();
    let mut now = 0.0;
    group.bench_function("sender_poll (encode + redundant copy)", |b| {
        b.iter(|| {
            now += 1.0 / 30.0;
            sender.poll(&face, now)
        })
    });
    let packet = &packets[packets.len() / 2];
    let mut buf = [0u8; 256];
    group.bench_function("postcard_serialize", |b| {
        b.iter(|| postcard::to_slice(packet, &mut buf).map(|s| s.len()))
    });
    let bytes = postcard::to_slice(packet, &mut buf).unwrap().to_vec();
    group.bench_function("postcard_deserialize", |b| {
        b.iter(|| postcard::from_bytes::<FacePacket>(&bytes))
    });
    group.bench_function(
        "remote_push_and_sample (decode both, buffer, interpolate)",
        |b| {
            let mut remote = RemoteFace::default();
            let mut i = 0;
            b.iter(|| {
                let p = &packets[i % packets.len()];
                i += 1;
                if i % packets.len() == 0 {
                    remote = RemoteFace::default();
                }
                let arrival = f64::from(p.time_ms) / 1000.0 + 0.03;
                let _ = remote.push(p, arrival);
                remote.buffer_mut().sample(arrival)
            })
        },
    );
    group.finish();
}

fn main() {
    figures();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    costs(&mut c);
    c.final_summary();
}
