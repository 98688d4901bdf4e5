//! A server and two clients over bevy_replicon + renet on loopback, each client's link through a
//! [`LossyLink`], stepped together in one thread; shared by the loopback test and the network
//! benchmark. The including crate declares the `common` (`tests/common`), `lossy_link` and `net`
//! (`examples/common/{lossy_link,net}.rs`) modules.

#![allow(dead_code)]

use std::f32::consts::TAU;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_replicon::prelude::*;
use bevy_replicon_renet::RepliconRenetPlugins;
use bevy_talking_head::drive::PlayMode;
use bevy_talking_head::net::Playout;
use bevy_talking_head::net::replicon::{FaceReplicationPlugin, FaceStreamOwner};
use bevy_talking_head::prelude::*;

use crate::lossy_link::{LinkConditions, LossyLink};
use crate::net;

/// The server: avatars for connecting clients, relay, nothing rendered.
pub fn server() -> (App, SocketAddr) {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        StatesPlugin,
        RepliconPlugins,
        RepliconRenetPlugins,
    ))
    .add_plugins(FaceReplicationPlugin)
    .add_observer(|add: On<Add, AuthorizedClient>, mut commands: Commands| {
        commands.spawn(FaceStreamOwner(ClientId::Client(add.entity)));
    });
    // Replicon sizes its channels in `finish`; the transport needs them.
    app.finish();
    let addr = net::listen(app.world_mut(), (Ipv4Addr::LOCALHOST, 0).into(), 4).unwrap();
    (app, addr)
}

/// A client driving its own head (a `FaceSender`) with `clip`, connected through `link`.
pub fn client(id: u64, link: SocketAddr, clip: FaceClip) -> (App, Entity) {
    let mut app = crate::common::app(1);
    app.add_plugins((StatesPlugin, RepliconPlugins, RepliconRenetPlugins))
        .add_plugins(FaceReplicationPlugin);
    app.finish();
    let clip = app.world_mut().resource_mut::<Assets<FaceClip>>().add(clip);
    let own = app
        .world_mut()
        .spawn((FaceSender::default(), FaceClipPlayer::playing(clip)))
        .id();
    net::connect(app.world_mut(), id, link).unwrap();
    (app, own)
}

/// A 2.4 s loop: the jaw opens and closes every 1.2 s, the head turns +-0.3 rad every 2.4 s (`phase`
/// shifts it, so the two players differ).
pub fn clip(phase: f32) -> FaceClip {
    let frames: Vec<FaceFrame> = (0..=144)
        .map(|i| {
            let t = i as f32 / 60.0;
            let mut f = FaceFrame::neutral().with_expression(
                Expression::JawOpen,
                0.5 - 0.5 * (TAU * (t / 1.2 + phase)).cos(),
            );
            f.head.yaw = 0.3 * (TAU * (t / 2.4 + phase)).sin();
            f.time = f64::from(t);
            f
        })
        .collect();
    FaceClip::from_frames(&frames)
        .unwrap()
        .with_mode(PlayMode::Loop)
}

/// (time, jaw, yaw) samples.
pub type Trace = Vec<(f64, f32, f32)>;

pub fn sample(trace: &Trace, t: f64) -> Option<(f32, f32)> {
    let i = trace.partition_point(|s| s.0 < t);
    if i == 0 || i >= trace.len() {
        return None;
    }
    let (a, b) = (trace[i - 1], trace[i]);
    let k = ((t - a.0) / (b.0 - a.0)) as f32;
    Some((a.1 + (b.1 - a.1) * k, a.2 + (b.2 - a.2) * k))
}

/// The delay (ms) at which `seen` best matches `sent`, and the mean, 95th- and 99th-percentile jaw error
/// there.
pub fn best_lag(sent: &Trace, seen: &Trace) -> (u32, f32, f32, f32) {
    (0..=600)
        .step_by(2)
        .filter_map(|ms| {
            let lag = f64::from(ms) / 1000.0;
            let mut errors: Vec<f32> = seen
                .iter()
                .filter_map(|s| sample(sent, s.0 - lag).map(|(jaw, _)| (jaw - s.1).abs()))
                .collect();
            (errors.len() > seen.len() / 2).then(|| {
                let mean = errors.iter().sum::<f32>() / errors.len() as f32;
                errors.sort_by(f32::total_cmp);
                let at = |q: usize| errors[errors.len() * q / 100];
                (ms, mean, at(95), at(99))
            })
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

pub fn avatar_of_other(app: &mut App) -> Option<Entity> {
    app.world_mut()
        .query_filtered::<Entity, (With<RemoteFace>, With<Remote>)>()
        .iter(app.world())
        .next()
}

/// What a run saw, each on the clock of the app that sampled it (seconds since the run started).
#[derive(Default)]
pub struct Run {
    /// A's own face, and B's.
    pub a_sent: Trace,
    pub b_sent: Trace,
    /// A's avatar at B, and B's at A.
    pub a_seen_by_b: Trace,
    pub b_seen_by_a: Trace,
    /// B's jitter buffer for A: its state and its delay.
    pub b_states: Vec<(f64, Playout)>,
    pub b_delays: Vec<(f64, f64)>,
}

/// The three apps and the two links.
pub struct Loopback {
    pub server: App,
    pub a: App,
    pub b: App,
    pub a_head: Entity,
    pub b_head: Entity,
    pub link_a: LossyLink,
    pub link_b: LossyLink,
}

impl Loopback {
    /// A server and two clients, each client's link with these conditions (seeds 1 and 2); A plays
    /// `clip(0.0)`, B `clip(0.37)`.
    pub fn start(conditions: LinkConditions) -> Self {
        let (server, server_addr) = server();
        let link_a = LossyLink::start(
            server_addr,
            LinkConditions {
                seed: 1,
                ..conditions
            },
        )
        .unwrap();
        let link_b = LossyLink::start(
            server_addr,
            LinkConditions {
                seed: 2,
                ..conditions
            },
        )
        .unwrap();
        let (a, a_head) = client(1, link_a.addr, clip(0.0));
        let (b, b_head) = client(2, link_b.addr, clip(0.37));
        Self {
            server,
            a,
            b,
            a_head,
            b_head,
            link_a,
            link_b,
        }
    }

    /// Steps the apps at 60 Hz for `seconds`, recording faces; `each` runs after every step with the
    /// time.
    pub fn run(&mut self, seconds: f64, mut each: impl FnMut(&mut Self, f64)) -> Run {
        let start = Instant::now();
        let clock = |t: Instant| t.duration_since(start).as_secs_f64();
        let mut run = Run::default();
        let face = |app: &App, e: Entity| {
            let f = app.world().get::<FaceFrame>(e).unwrap();
            (f.expressions.get(Expression::JawOpen), f.head.yaw)
        };
        while clock(Instant::now()) < seconds {
            let frame = Instant::now();
            self.server.update();
            // Each app samples its faces at its `Time<Real>`, read as its update starts.
            let ta = clock(Instant::now());
            self.a.update();
            let tb = clock(Instant::now());
            self.b.update();
            let (jaw, yaw) = face(&self.a, self.a_head);
            run.a_sent.push((ta, jaw, yaw));
            let (jaw, yaw) = face(&self.b, self.b_head);
            run.b_sent.push((tb, jaw, yaw));
            if let Some(e) = avatar_of_other(&mut self.b) {
                let (jaw, yaw) = face(&self.b, e);
                run.a_seen_by_b.push((tb, jaw, yaw));
                let buffer = self.b.world().get::<RemoteFace>(e).unwrap().buffer();
                run.b_states.push((tb, buffer.state()));
                run.b_delays.push((tb, buffer.delay().as_secs_f64()));
            }
            if let Some(e) = avatar_of_other(&mut self.a) {
                let (jaw, yaw) = face(&self.a, e);
                run.b_seen_by_a.push((ta, jaw, yaw));
            }
            each(self, tb);
            std::thread::sleep(Duration::from_micros(16_667).saturating_sub(frame.elapsed()));
        }
        run
    }
}
