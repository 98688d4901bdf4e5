//! One client flooding the relay cannot flood the others (issue 16, hazard 4): a server and two clients
//! connected through replicon's in-process test transport (`ServerTestAppExt`), on a manual clock (each
//! update is 1/60 s of `Time<Real>`), so the figures do not depend on the machine's speed.

use std::time::Duration;

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::time::TimeUpdateStrategy;
use bevy_replicon::prelude::*;
use bevy_replicon::test_app::{ServerTestAppExt, TestClientEntity};
use bevy_talking_head::FaceFrame;
use bevy_talking_head::net::replicon::{
    FaceReplicationPlugin, FaceStreamOwner, FaceUpload, ReceiveStats, RelayLimit, RelayStats,
};
use bevy_talking_head::net::{FacePacket, RemoteFace};

const STEP: f64 = 1.0 / 60.0;

fn app() -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        StatesPlugin,
        RepliconPlugins.set(ServerPlugin::new(PostUpdate)),
    ))
    .add_plugins(FaceReplicationPlugin)
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
        STEP,
    )));
    app.finish();
    app
}

struct Net {
    server: App,
    a: App,
    b: App,
}

impl Net {
    fn start() -> Self {
        let (mut server, mut a, mut b) = (app(), app(), app());
        server.connect_client(&mut a);
        server.connect_client(&mut b);
        // An avatar for each client, as a game's server spawns them.
        for client in [&a, &b] {
            let entity = **client.world().resource::<TestClientEntity>();
            server
                .world_mut()
                .spawn(FaceStreamOwner(ClientId::Client(entity)));
        }
        let mut net = Self { server, a, b };
        for _ in 0..10 {
            net.step();
        }
        net
    }

    /// One 1/60 s step of every app, messages exchanged both ways.
    fn step(&mut self) {
        self.a.update();
        self.b.update();
        self.server.exchange_with_client(&mut self.a);
        self.server.exchange_with_client(&mut self.b);
        self.server.update();
        self.server.exchange_with_client(&mut self.a);
        self.server.exchange_with_client(&mut self.b);
    }
}

/// Uploads `n` faces from `client`, numbered on from `seq`, stamped `ms`.
fn upload(client: &mut App, seq: &mut u32, ms: u32, n: usize) {
    let face = FaceFrame::default();
    for _ in 0..n {
        client
            .world_mut()
            .write_message(FaceUpload(FacePacket::new(*seq, ms, &face)));
        *seq += 1;
    }
}

#[test]
fn a_client_sending_10000_uploads_a_second_is_relayed_at_the_limit() {
    let mut net = Net::start();
    let limit = *net.server.world().resource::<RelayLimit>();
    // B at a normal 30 Hz for 2 s: nothing throttled, everything relayed.
    let (mut seq_a, mut seq_b) = (0u32, 0u32);
    for step in 0..120u32 {
        if step % 2 == 0 {
            upload(&mut net.b, &mut seq_b, step * 17, 1);
        }
        net.step();
    }
    let before = net.server.world().resource::<RelayStats>().clone();
    assert_eq!(before.throttled, 0, "{before:?}");
    assert_eq!(before.relayed, 60, "{before:?}");
    let played_before = net.a.world().resource::<ReceiveStats>().played;
    assert!(played_before >= 55, "A played B's faces: {played_before}");

    // A floods: 10,000 uploads a second (167 an update) for 5 s.
    for step in 0..300u32 {
        upload(&mut net.a, &mut seq_a, 10_000 + step * 17, 167);
        net.step();
    }
    let after = net.server.world().resource::<RelayStats>().clone();
    let relayed = after.relayed - before.relayed;
    eprintln!(
        "flood: {} uploads, {relayed} relayed ({:.1}/s), {} throttled",
        seq_a,
        relayed as f64 / 5.0,
        after.throttled
    );
    // At most the limit's rate over the 5 s, plus one burst.
    let most = (limit.per_second * 5.0 + limit.burst).ceil() as u64;
    assert!(relayed <= most, "{relayed} relayed, at most {most}");
    assert!(
        relayed >= (limit.per_second * 5.0 * 0.9) as u64,
        "{relayed}: the limit still relays"
    );
    // The rest is dropped and counted.
    assert!(after.throttled >= u64::from(seq_a) - most, "{after:?}");
    // B received no more than was relayed, and its RemoteFace for A stays bounded.
    let b_played = net.b.world().resource::<ReceiveStats>().played;
    assert!(b_played <= most, "B played {b_played}");
    let mut remotes = net.b.world_mut().query::<&RemoteFace>();
    for remote in remotes.iter(net.b.world()) {
        assert!(remote.buffer().len() <= remote.buffer().settings().capacity);
        assert!(
            remote.buffer().delay() < Duration::from_millis(150),
            "{:?}",
            remote.buffer().delay()
        );
    }
}
