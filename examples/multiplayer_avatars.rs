//! Multiplayer avatars over bevy_replicon and its renet transport: each player's face travels as a
//! few bytes a frame (about 3 kB/s at 30 Hz, headers included) and every client renders the others'
//! avatars itself.
//!
//! ```sh
//! make setup                                                        # once
//! cargo run --example multiplayer_avatars --features replicon       # server + two clients on loopback
//! cargo run --example multiplayer_avatars --features replicon -- --loss 10   # through a 10 % lossy link
//! ```
//!
//! By default one process runs a server and two clients on loopback: this window is client A ("ada",
//! top row: her own head, and brix as she receives him); client B ("brix") runs headless on a thread
//! and its view (bottom row: his own head, and ada as he receives her) is copied into the window. Each
//! client drives its own avatar from a recording of the project's driving videos (`--webcam` drives
//! client A from the webcam instead, with the `webcam` feature). Across machines:
//!
//! ```sh
//! cargo run --example multiplayer_avatars --features replicon -- --server 0.0.0.0:5000
//! cargo run --example multiplayer_avatars --features replicon -- --connect HOST:5000 --name ada
//! ```
//!
//! Labels show what the network does: each remote avatar's jitter-buffer delay, lost and recovered
//! packets, and the client's bytes per second.

mod common;
#[path = "common/lossy_link.rs"]
mod lossy_link;
#[path = "common/net.rs"]
mod net;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_replicon::prelude::*;
use bevy_replicon_renet::RepliconRenetPlugins;
use bevy_talking_head::net::replicon::{FaceReplicationPlugin, FaceStream, FaceStreamOwner};
use bevy_talking_head::prelude::*;
use common::HeadlessCapturePlugin;
use crossbeam_channel::{Receiver, Sender};
use serde::{Deserialize, Serialize};

const PORTRAITS: [&str; 2] = ["portraits/astronaut.png", "portraits/astronaut_painted.png"];
const RECORDINGS: [&str; 2] = [
    "recordings/talking.face.ron",
    "recordings/expressions.face.ron",
];
/// The size heads render at.
const HEAD: u32 = 260;

/// A player, replicated: what the server knows of them (from their [`Join`]).
#[derive(Component, Clone, Debug, Serialize, Deserialize)]
struct Player {
    name: String,
    portrait: u8,
}

/// A client introduces itself once connected.
#[derive(Message, Clone, Debug, Serialize, Deserialize)]
struct Join {
    name: String,
    portrait: u8,
}

/// The command line.
#[derive(Clone, Debug)]
enum Mode {
    /// Server and two clients in this process.
    Loopback { loss: f32 },
    /// A dedicated server.
    Server(SocketAddr),
    /// One client with a window.
    Client { server: SocketAddr, name: String },
}

#[derive(Clone, Debug)]
struct Options {
    mode: Mode,
    webcam: bool,
}

fn options() -> Options {
    let usage = "usage: multiplayer_avatars [--loss PERCENT] [--webcam]\n       \
                 multiplayer_avatars --server ADDR:PORT\n       \
                 multiplayer_avatars --connect ADDR:PORT [--name NAME] [--webcam]";
    let fail = |why: String| -> ! {
        eprintln!("multiplayer_avatars: {why}\n{usage}");
        std::process::exit(2)
    };
    let addr = |v: Option<String>| -> SocketAddr {
        let v = v.unwrap_or_else(|| fail("an address is missing".into()));
        v.parse()
            .unwrap_or_else(|e| fail(format!("`{v}` is not an ADDR:PORT ({e})")))
    };
    let (mut loss, mut server, mut connect, mut name, mut webcam) =
        (0.0, None, None, "player".to_owned(), false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--loss" => {
                let v = args.next().unwrap_or_default();
                loss = v
                    .parse::<f32>()
                    .ok()
                    .filter(|l| (0.0..=90.0).contains(l))
                    .unwrap_or_else(|| fail(format!("`{v}` is not a percentage (0 to 90)")))
                    / 100.0;
            }
            "--server" => server = Some(addr(args.next())),
            "--connect" => connect = Some(addr(args.next())),
            "--name" => name = args.next().unwrap_or(name),
            "--webcam" => webcam = true,
            other => fail(format!("unknown argument `{other}`")),
        }
    }
    let mode = match (server, connect) {
        (Some(s), None) => Mode::Server(s),
        (None, Some(server)) => Mode::Client { server, name },
        (None, None) => Mode::Loopback { loss },
        _ => fail("--server and --connect exclude each other".into()),
    };
    Options { mode, webcam }
}

fn main() {
    let options = options();
    match options.mode.clone() {
        Mode::Server(addr) => {
            let mut app = server_app(addr);
            app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(
                Duration::from_secs_f64(1.0 / 60.0),
            )));
            info!("serving avatars on {}", addr);
            app.run();
        }
        Mode::Client { server, name } => {
            let me = Me {
                name,
                portrait: 0,
                recording: RECORDINGS[0],
                webcam: options.webcam,
            };
            window_app(me, server, None).run();
        }
        Mode::Loopback { loss } => loopback(loss, options.webcam),
    }
}

/// Server and client B on threads, client A in the window.
fn loopback(loss: f32, webcam: bool) {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = crossbeam_channel::bounded(1);
    let server = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut app = server_app((Ipv4Addr::LOCALHOST, 0).into());
            app.add_plugins(MinimalPlugins);
            app.finish();
            app.cleanup();
            let addr = net::listen(app.world_mut(), (Ipv4Addr::LOCALHOST, 0).into(), 8);
            let _ = addr_tx.send(addr.as_ref().map(|a| *a).map_err(|e| e.to_string()));
            if addr.is_ok() {
                run_headless(&mut app, &stop);
            }
        })
    };
    let addr = match addr_rx.recv() {
        Ok(Ok(addr)) => addr,
        Ok(Err(e)) => {
            eprintln!("multiplayer_avatars: the server cannot listen on loopback: {e}");
            std::process::exit(1);
        }
        Err(_) => std::process::exit(1),
    };
    // Each client through its own link (a plain relay at 0 % loss).
    let link = |seed| {
        lossy_link::LossyLink::start(
            addr,
            lossy_link::LinkConditions {
                loss,
                delay: if loss > 0.0 {
                    Duration::from_millis(20)
                } else {
                    Duration::ZERO
                },
                jitter: if loss > 0.0 {
                    Duration::from_millis(20)
                } else {
                    Duration::ZERO
                },
                seed,
            },
        )
        .unwrap_or_else(|e| {
            eprintln!("multiplayer_avatars: cannot start the loopback link: {e}");
            std::process::exit(1)
        })
    };
    let (link_a, link_b) = (link(1), link(2));
    let (view_tx, view_rx) = crossbeam_channel::bounded(2);
    let client_b = {
        let (stop, to) = (stop.clone(), link_b.addr);
        std::thread::spawn(move || {
            let me = Me {
                name: "brix".into(),
                portrait: 1,
                recording: RECORDINGS[1],
                webcam: false,
            };
            let mut app = headless_client(me, to, view_tx);
            run_headless(&mut app, &stop);
        })
    };
    let me = Me {
        name: "ada".into(),
        portrait: 0,
        recording: RECORDINGS[0],
        webcam,
    };
    let mut window = window_app(me, link_a.addr, Some((view_rx, loss)));
    window.run();
    // Client B and the server stop before client A's connection closes (with the app), so nobody
    // hears of A's leaving mid-frame.
    stop.store(true, Ordering::Relaxed);
    let _ = client_b.join();
    let _ = server.join();
    drop(window);
}

/// Updates a windowless app at 60 Hz until `stop`.
fn run_headless(app: &mut App, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        app.update();
        std::thread::sleep(Duration::from_secs_f64(1.0 / 60.0).saturating_sub(start.elapsed()));
    }
}

/// What the server and every client register, in the same order.
fn protocol(app: &mut App) {
    app.add_plugins(FaceReplicationPlugin)
        .replicate::<Player>()
        .add_client_message::<Join>(bevy_replicon::prelude::Channel::Ordered);
}

/// The server: an avatar per client, named by its `Join`; gone when the client goes.
fn server_app(addr: SocketAddr) -> App {
    let mut app = App::new();
    app.add_plugins((StatesPlugin, RepliconPlugins, RepliconRenetPlugins));
    protocol(&mut app);
    app.add_observer(|add: On<Add, AuthorizedClient>, mut commands: Commands| {
        commands.spawn(FaceStreamOwner(ClientId::Client(add.entity)));
    })
    .add_observer(net::despawn_avatar_of_leaving_client)
    .add_systems(PreUpdate, name_avatars.after(ServerSystems::Receive));
    if addr.port() != 0 {
        app.add_systems(Startup, move |world: &mut World| {
            if let Err(e) = net::listen(world, addr, 8) {
                error!("cannot listen on {addr}: {e}");
                world.write_message(AppExit::error());
            }
        });
    }
    app
}

fn name_avatars(
    mut joins: MessageReader<FromClient<Join>>,
    avatars: Query<(Entity, &FaceStreamOwner)>,
    mut commands: Commands,
) {
    for FromClient { client_id, message } in joins.read() {
        let Some((avatar, _)) = avatars.iter().find(|(_, o)| o.0 == *client_id) else {
            continue;
        };
        // Whatever a client sends is checked: a short name, a portrait that exists.
        let name: String = message
            .name
            .chars()
            .filter(|c| !c.is_control())
            .take(16)
            .collect();
        info!("{client_id:?} joined as {name}");
        commands.entity(avatar).insert(Player {
            name,
            portrait: message.portrait % PORTRAITS.len() as u8,
        });
    }
}

/// Who this client is.
#[derive(Resource, Clone, Debug)]
struct Me {
    name: String,
    portrait: u8,
    recording: &'static str,
    webcam: bool,
}

/// The player's own head.
#[derive(Component)]
struct Own;

/// A remote player's head, with its place on screen.
#[derive(Component)]
struct RemoteSlot(usize);

/// What every client does: connect, introduce itself, drive its own head, give remote avatars heads.
fn client_plugins(app: &mut App, me: Me, server: SocketAddr) {
    app.add_plugins((RepliconPlugins, RepliconRenetPlugins));
    protocol(app);
    app.insert_resource(me)
        .add_systems(Startup, move |world: &mut World| {
            let id = u64::from(std::process::id()) << 16 ^ rand_id();
            if let Err(e) = net::connect(world, id, server) {
                error!("cannot connect to {server}: {e}");
            }
        })
        .add_systems(OnEnter(ClientState::Connected), join)
        .add_systems(Update, (start_recording, log_streams));
}

/// Every two seconds: what this client receives from each player.
fn log_streams(
    time: Res<Time<Real>>,
    me: Res<Me>,
    remotes: Query<(&Player, &RemoteFace)>,
    mut last: Local<f32>,
) {
    if time.elapsed_secs() - *last < 2.0 {
        return;
    }
    *last = time.elapsed_secs();
    for (player, stream) in &remotes {
        let s = stream.buffer().stats();
        info!(
            "{} receives {}: {} frames, {} lost, {} recovered, {:.0} ms buffer",
            me.name,
            player.name,
            s.received,
            s.missing,
            s.recovered,
            stream.buffer().delay().as_secs_f64() * 1000.0
        );
    }
}

fn rand_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos().into())
}

fn join(me: Res<Me>, mut joins: MessageWriter<Join>) {
    info!("connected: joining as {}", me.name);
    joins.write(Join {
        name: me.name.clone(),
        portrait: me.portrait,
    });
}

/// The own head's recording starts once loaded (and loops).
fn start_recording(
    mut heads: Query<&mut FaceClipPlayer, With<Own>>,
    me: Res<Me>,
    assets: Res<AssetServer>,
    mut started: Local<bool>,
) {
    if *started || me.webcam {
        return;
    }
    for mut player in &mut heads {
        player.play(assets.load(me.recording));
        *started = true;
    }
}

/// Spawns the own head: it sends its face; a recording (or the webcam) and idle life drive it.
fn spawn_own_head<'a>(
    commands: &'a mut Commands,
    me: &Me,
    assets: &AssetServer,
    output: Handle<Image>,
) -> EntityCommands<'a> {
    let head = TalkingHead::new(assets.load(PORTRAITS[usize::from(me.portrait)]))
        .with_output_size(UVec2::splat(HEAD))
        .with_output(output);
    let mut own = commands.spawn((
        Own,
        head,
        FaceSender::default(),
        FaceClipPlayer::default(),
        IdleLife::default().with_seed(u64::from(me.portrait)),
    ));
    if me.webcam {
        own.insert(LiveFace::webcam(CameraRequest::default()));
    }
    own
}

/// Another player's avatar (the own one has no `FaceStream` here) without a head yet.
type HeadlessAvatar = (With<FaceStream>, Without<TalkingHead>);

/// Gives each remote player's avatar (a replicated entity with a face stream and a name) a head.
fn attach_remote_heads(
    avatars: Query<(Entity, &Player), HeadlessAvatar>,
    slots: Query<&RemoteSlot>,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
    mut commands: Commands,
) {
    for (avatar, player) in &avatars {
        info!("{} is here", player.name);
        let output = images.add(Image::default());
        let slot = (0..).find(|i| slots.iter().all(|s| s.0 != *i)).unwrap_or(0);
        commands.entity(avatar).insert((
            TalkingHead::new(
                assets.load(PORTRAITS[usize::from(player.portrait) % PORTRAITS.len()]),
            )
            .with_output_size(UVec2::splat(HEAD))
            .with_output(output),
            // While the stream stalls, the avatar still blinks and breathes.
            IdleLife::default(),
            RemoteSlot(slot),
        ));
    }
}

// ---- client B: no window; its view goes to the window through a channel ----

/// Client B's two heads as B renders them, and what B's jitter buffer does.
struct View {
    own: Image,
    remote: Option<(Image, String)>,
}

fn headless_client(me: Me, server: SocketAddr, view: Sender<View>) -> App {
    // The crate's headless app (feature `test-utils`): MinimalPlugins, assets, images with the plain
    // image loader, the talking-head plugins.
    let mut app = bevy_talking_head::testing::headless_app(
        "assets",
        TalkingHeadPlugin {
            workers: 1,
            ..default()
        },
    );
    app.add_plugins(StatesPlugin);
    client_plugins(&mut app, me, server);
    app.insert_resource(ViewSender(view))
        .add_systems(Startup, spawn_headless_own_head)
        .add_systems(Update, attach_remote_heads)
        .add_systems(Last, send_view);
    app.finish();
    app.cleanup();
    app
}

#[derive(Resource)]
struct ViewSender(Sender<View>);

fn spawn_headless_own_head(
    mut commands: Commands,
    me: Res<Me>,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
) {
    let output = images.add(Image::default());
    spawn_own_head(&mut commands, &me, &assets, output);
}

fn send_view(
    own: Query<&TalkingHead, With<Own>>,
    remote: Query<(&TalkingHead, &Player, &RemoteFace)>,
    images: Res<Assets<Image>>,
    sender: Res<ViewSender>,
) {
    let Some(own) = own.iter().next().and_then(|h| images.get(h.output())) else {
        return;
    };
    let remote = remote.iter().next().and_then(|(head, player, stream)| {
        let image = images.get(head.output())?.clone();
        Some((image, stream_label(&player.name, stream)))
    });
    // Newest wins: if the window has not taken the last view, this one waits for the next frame.
    let _ = sender.0.try_send(View {
        own: own.clone(),
        remote,
    });
}

fn stream_label(name: &str, stream: &RemoteFace) -> String {
    let b = stream.buffer();
    let s = b.stats();
    format!(
        "{name}: {:.0} ms buffer, {} lost, {} recovered",
        b.delay().as_secs_f64() * 1000.0,
        s.missing,
        s.recovered
    )
}

// ---- client A: the window ----

/// The window's copy of client B's view, and the lossy link's loss.
#[derive(Resource)]
struct MirrorOfB {
    views: Receiver<View>,
    own: Handle<Image>,
    remote: Handle<Image>,
    loss: f32,
}

#[derive(Component)]
enum Label {
    /// Under the own head.
    Own,
    /// Under a remote slot.
    Slot(usize),
    /// Under B's view of ada.
    MirrorRemote,
    /// The client's traffic.
    Traffic,
}

/// Where tiles go: the own head top left, remote slots after it; B's view takes the bottom row.
fn tile(i: usize) -> Vec3 {
    let (col, row) = ((i % 2) as f32, (i / 2) as f32);
    Vec3::new(-200.0 + 400.0 * col, 175.0 - 345.0 * row, 0.0)
}

fn window_app(me: Me, server: SocketAddr, mirror: Option<(Receiver<View>, f32)>) -> App {
    let title = format!("bevy_talking_head: multiplayer_avatars ({})", me.name);
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title,
            resolution: (900, 720).into(),
            ..default()
        }),
        ..default()
    }))
    .add_plugins(TalkingHeadPlugins)
    .add_plugins(HeadlessCapturePlugin {
        name: "multiplayer_avatars",
        at: vec![4.0, 5.0],
    });
    client_plugins(&mut app, me, server);
    if let Some((views, loss)) = mirror {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        let (own, remote) = (images.add(Image::default()), images.add(Image::default()));
        app.insert_resource(MirrorOfB {
            views,
            own,
            remote,
            loss,
        });
    }
    app.add_systems(Startup, setup_window).add_systems(
        Update,
        (attach_remote_heads, place_remote_heads, show_mirror, label).chain(),
    );
    app
}

fn text(s: &str, size: f32, at: Vec3) -> impl Bundle {
    (
        Text2d::new(s),
        TextFont {
            font_size: FontSize::Px(size),
            ..default()
        },
        Transform::from_translation(at),
    )
}

fn sprite(image: Handle<Image>, at: Vec3) -> impl Bundle {
    (
        Sprite {
            image,
            custom_size: Some(Vec2::splat(260.0)),
            // Head and shoulders: the upper middle of the 260 px portrait.
            rect: Some(Rect::new(39.0, 0.0, 221.0, 182.0)),
            ..default()
        },
        Transform::from_translation(at),
    )
}

fn setup_window(
    mut commands: Commands,
    me: Res<Me>,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
    mirror: Option<Res<MirrorOfB>>,
) {
    commands.spawn(Camera2d);
    let output = images.add(Image::default());
    spawn_own_head(&mut commands, &me, &assets, output.clone()).insert(sprite(output, tile(0)));
    commands.spawn((
        Label::Own,
        text(
            &format!("{} (you)", me.name),
            14.0,
            tile(0) - Vec3::Y * 150.0,
        ),
    ));
    commands.spawn((
        Label::Slot(0),
        text("waiting for players...", 14.0, tile(1) - Vec3::Y * 150.0),
    ));
    commands.spawn((Label::Traffic, text("", 13.0, Vec3::new(0.0, 340.0, 1.0))));
    if let Some(m) = mirror {
        commands.spawn(sprite(m.own.clone(), tile(2)));
        commands.spawn(sprite(m.remote.clone(), tile(3)));
        commands.spawn(text(
            "brix (client B, on a thread: its own view)",
            14.0,
            tile(2) - Vec3::Y * 150.0,
        ));
        commands.spawn((
            Label::MirrorRemote,
            text("", 14.0, tile(3) - Vec3::Y * 150.0),
        ));
        let note = if m.loss > 0.0 {
            format!(
                "each client's link drops {:.0} % of the datagrams, 20-40 ms late",
                m.loss * 100.0
            )
        } else {
            "loopback, no loss (try --loss 10)".to_owned()
        };
        commands.spawn(text(&note, 13.0, Vec3::new(0.0, 0.0, 1.0)));
    }
}

/// Remote heads into their tiles (slot 0 is tile 1; in loopback mode B's view has the bottom row).
fn place_remote_heads(
    heads: Query<(Entity, &TalkingHead, &RemoteSlot), Without<Sprite>>,
    mut commands: Commands,
) {
    for (entity, head, slot) in &heads {
        commands
            .entity(entity)
            .insert(sprite(head.output().clone(), tile(slot.0 + 1)));
    }
}

fn show_mirror(
    mirror: Option<Res<MirrorOfB>>,
    mut images: ResMut<Assets<Image>>,
    mut labels: Query<(&Label, &mut Text2d)>,
) {
    let Some(m) = mirror else { return };
    let Some(view) = m.views.try_iter().last() else {
        return;
    };
    if let Some(mut own) = images.get_mut(&m.own) {
        *own = view.own;
    }
    if let Some((image, label)) = view.remote {
        if let Some(mut remote) = images.get_mut(&m.remote) {
            *remote = image;
        }
        for (kind, mut text) in &mut labels {
            if matches!(kind, Label::MirrorRemote) {
                text.0 = format!(
                    "{label}
(as client B sees her)"
                );
            }
        }
    }
}

fn label(
    remotes: Query<(&Player, &RemoteFace, &RemoteSlot)>,
    stats: Option<Res<ClientStats>>,
    state: Res<State<ClientState>>,
    mut labels: Query<(&Label, &mut Text2d)>,
) {
    for (kind, mut text) in &mut labels {
        match kind {
            Label::Slot(i) => {
                if let Some((player, stream, _)) = remotes.iter().find(|r| r.2.0 == *i) {
                    text.0 = stream_label(&player.name, stream);
                }
            }
            Label::Traffic => {
                text.0 = match (state.get(), &stats) {
                    (ClientState::Connected, Some(s)) => format!(
                        "connected: sends {:.1} kB/s, receives {:.1} kB/s (renet, headers included), rtt {:.0} ms",
                        s.sent_bps / 1000.0,
                        s.received_bps / 1000.0,
                        s.rtt * 1000.0
                    ),
                    (ClientState::Connecting, _) => "connecting...".into(),
                    _ => "not connected".into(),
                }
            }
            Label::Own | Label::MirrorRemote => {}
        }
    }
}
