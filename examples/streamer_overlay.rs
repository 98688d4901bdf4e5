//! A streamer overlay: your webcam drives a painted persona in a window that OBS captures. The persona is
//! cut out of its portrait's background (`TalkingHead::with_cutout`: a matte made once by the segmentation
//! model and saved beside the portrait as `<portrait>.matte.png`, to touch up; `--whole` shows the whole
//! picture). The window's background is a chroma-key green (key it out in OBS with a "Chroma Key"
//! filter; B cycles blue and magenta), or transparent with `--transparent` where the window system
//! supports it.
//!
//! ```sh
//! make setup                                                   # once
//! cargo run --example streamer_overlay --features webcam       # the first webcam drives the persona
//! cargo run --example streamer_overlay -- --video clip.mp4     # a video file instead
//! cargo run --example streamer_overlay -- --portrait portraits/astronaut.png --transparent
//! cargo run --example streamer_overlay --features mic -- --mic default   # your voice moves the mouth
//! cargo run --example streamer_overlay -- --live-link 11111    # an iPhone's Live Link Face app drives it
//! cargo run --example streamer_overlay -- --vmc 39539          # VSeeFace, Warudo, ... send VMC to it
//! cargo run --example streamer_overlay -- --vmc-out 127.0.0.1:39540   # and/or send its face to a VMC app
//! ```
//!
//! `--live-link PORT` listens for the Live Link Face iPhone app (set the app's target to this machine's
//! address and PORT, 11111 by default; `--subject NAME` keeps one phone's packets); `--vmc PORT` for a
//! VMC protocol sender. `--vmc-out HOST:PORT` sends the persona's face (whatever drives it) over VMC, so
//! a VSeeFace, Warudo or VNyan avatar moves with this crate's webcam tracking.
//!
//! With the `mic` feature, `--mic NAME` (a part of the device's name, or `default`) lip-syncs the
//! persona's mouth to that microphone over the tracked face; the inspector (feature `egui`) lists the
//! devices.
//!
//! Without a camera (or without the `webcam` feature) it takes `--video`, else the project's test video
//! if it is next to the repository, else a recorded face stream, so it always moves. Keys:
//!
//! | key | does |
//! |---|---|
//! | 1, 2, 3 | smile, surprise, anger: blended over the tracked face for a moment |
//! | C | calibrate: your face now is the neutral face (mouth closed, looking at the screen) |
//! | L | landmark driving on or off: your own lips, lids and brows move the persona (`LiveDriving::Landmarks`) instead of the 52 weights |
//! | [ and ] (or click the bar) | less or more smoothing |
//! | B | next background colour (green, blue, magenta) |
//! | H | hide or show the help |

mod common;

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::ui::RelativeCursorPosition;
use bevy::window::CompositeAlphaMode;
use bevy_talking_head::prelude::*;
use common::HeadlessCapturePlugin;

const KEYS: [Color; 3] = [
    Color::srgb(0.0, 1.0, 0.0),
    Color::srgb(0.0, 0.0, 1.0),
    Color::srgb(1.0, 0.0, 1.0),
];

/// The command line.
#[derive(Resource, Clone, Debug)]
struct Options {
    portrait: String,
    video: Option<PathBuf>,
    transparent: bool,
    /// `--mic NAME`: lip sync from this microphone (feature `mic`).
    mic: Option<String>,
    /// `--live-link PORT`: the Live Link Face app drives the persona.
    live_link: Option<u16>,
    /// `--subject NAME`: only this Live Link subject.
    subject: Option<String>,
    /// `--vmc PORT`: a VMC sender drives the persona.
    vmc: Option<u16>,
    /// `--vmc-out HOST:PORT`: the persona's face goes out over VMC.
    vmc_out: Option<std::net::SocketAddr>,
    /// `--whole`: the whole portrait, not the cut-out person.
    whole: bool,
}

const USAGE: &str = "usage: streamer_overlay [--portrait ASSET_PATH] [--video FILE] [--transparent] [--whole] \
     [--mic NAME] [--live-link PORT [--subject NAME]] [--vmc PORT] [--vmc-out HOST:PORT]";

fn fail(problem: String) -> ! {
    eprintln!("streamer_overlay: {problem}\n{USAGE}");
    std::process::exit(2);
}

fn port(arg: &str, value: Option<String>) -> u16 {
    let value = value.unwrap_or_else(|| fail(format!("{arg} needs a port")));
    value
        .parse()
        .unwrap_or_else(|_| fail(format!("{arg} `{value}` is not a UDP port")))
}

fn options() -> Options {
    let mut o = Options {
        portrait: "portraits/astronaut_painted.png".into(),
        video: None,
        transparent: false,
        mic: None,
        live_link: None,
        subject: None,
        vmc: None,
        vmc_out: None,
        whole: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--portrait" => o.portrait = args.next().unwrap_or(o.portrait),
            "--video" => o.video = args.next().map(PathBuf::from),
            "--transparent" => o.transparent = true,
            "--whole" => o.whole = true,
            "--mic" => o.mic = args.next(),
            "--live-link" => o.live_link = Some(port(&a, args.next())),
            "--subject" => o.subject = args.next(),
            "--vmc" => o.vmc = Some(port(&a, args.next())),
            "--vmc-out" => {
                let value = args
                    .next()
                    .unwrap_or_else(|| fail("--vmc-out needs HOST:PORT".into()));
                let addr = std::net::ToSocketAddrs::to_socket_addrs(&value)
                    .ok()
                    .and_then(|mut a| a.next())
                    .unwrap_or_else(|| fail(format!("--vmc-out `{value}` is not HOST:PORT")));
                o.vmc_out = Some(addr);
            }
            other => fail(format!("unknown argument `{other}`")),
        }
    }
    o
}

fn main() {
    let options = options();
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: streamer_overlay".into(),
                resolution: (600, 700).into(),
                transparent: options.transparent,
                composite_alpha_mode: if options.transparent {
                    CompositeAlphaMode::PostMultiplied
                } else {
                    CompositeAlphaMode::Auto
                },
                ..default()
            }),
            ..default()
        }))
        .insert_resource(ClearColor(if options.transparent {
            Color::NONE
        } else {
            KEYS[0]
        }))
        .insert_resource(options)
        .add_plugins(TalkingHeadPlugins)
        .add_plugins(HeadlessCapturePlugin {
            name: "streamer_overlay",
            at: vec![1.5, 3.0],
        })
        .add_systems(Startup, setup)
        .add_systems(Update, (hotkeys, smoothing_bar, status_line))
        .run();
}

#[derive(Component)]
struct Persona;

#[derive(Component)]
struct Help;

#[derive(Component)]
struct SmoothingBar;

#[derive(Component)]
struct SmoothingFill;

#[derive(Component)]
struct Status;

/// The driver: a face stream asked for, else the webcam if there is one, else a video file, else a
/// recorded stream.
fn driver(options: &Options) -> (Option<LiveFace>, &'static str) {
    if let Some(port) = options.live_link {
        let source = LiveSource::LiveLink {
            port,
            subject: options.subject.clone(),
        };
        return (Some(LiveFace::new(source)), "Live Link Face");
    }
    if let Some(port) = options.vmc {
        return (Some(LiveFace::vmc(port)), "VMC");
    }
    #[cfg(feature = "webcam")]
    if options.video.is_none()
        && bevy_talking_head::capture::webcam::list_cameras().is_ok_and(|c| !c.is_empty())
    {
        return (Some(LiveFace::webcam(CameraRequest::default())), "webcam");
    }
    let test_video = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/driving/webcam_talking.mp4");
    let video = options
        .video
        .clone()
        .or_else(|| test_video.exists().then_some(test_video));
    match video {
        Some(v) => (Some(LiveFace::video(v)), "video file"),
        None => (None, "recorded stream (no camera, no video)"),
    }
}

fn setup(
    mut commands: Commands,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
    options: Res<Options>,
) {
    commands.spawn(Camera2d);
    let output = images.add(Image::default());
    let (live, source) = driver(&options);
    info!("streamer_overlay: driven by the {source}");
    let mut persona = commands.spawn((
        Persona,
        TalkingHead::new(assets.load(options.portrait.clone()))
            .with_output_size(UVec2::splat(512))
            .with_output(output.clone())
            .with_cutout(!options.whole),
        IdleLife::default(),
        FaceClipPlayer::default(),
        Sprite {
            image: output,
            custom_size: Some(Vec2::splat(560.0)),
            // Head and shoulders.
            rect: Some(Rect::new(64.0, 0.0, 448.0, 384.0)),
            ..default()
        },
        Transform::from_xyz(0.0, 60.0, 0.0),
    ));
    match live {
        Some(live) => {
            persona.insert(live);
        }
        None => {
            let mut player = FaceClipPlayer::default();
            player.play(assets.load("recordings/talking.face.ron"));
            persona.insert(player);
        }
    }
    if let Some(target) = options.vmc_out {
        info!("streamer_overlay: sending the persona's face over VMC to {target}");
        persona.insert(bevy_talking_head::interop::VmcSender::new(target));
    }
    if let Some(name) = &options.mic {
        #[cfg(feature = "mic")]
        {
            use bevy_talking_head::drive::MicRequest;
            let request = if name == "default" {
                MicRequest::default_device()
            } else {
                MicRequest::named(name.clone())
            };
            persona.insert(LipSync::microphone(request));
        }
        #[cfg(not(feature = "mic"))]
        warn!("streamer_overlay: --mic {name} needs the `mic` feature (cargo run --features mic)");
    }
    // Help, status and the smoothing slider at the bottom.
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                left: px(12),
                right: px(12),
                bottom: px(10),
                padding: UiRect::all(px(10)),
                flex_direction: FlexDirection::Column,
                row_gap: px(6),
                ..default()
            },
            BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.6)),
            Help,
        ))
        .with_children(|p| {
            let font = TextFont {
                font_size: FontSize::Px(15.0),
                ..default()
            };
            p.spawn((Status, Text::new(format!("source: {source}")), font.clone()));
            p.spawn((
                Text::new("1 smile  2 surprise  3 anger  C calibrate  L landmarks  [ ] smoothing  B background  H help"),
                font.clone(),
            ));
            p.spawn((
                SmoothingBar,
                RelativeCursorPosition::default(),
                Interaction::default(),
                Node {
                    width: percent(100),
                    height: px(12),
                    ..default()
                },
                BackgroundColor(Color::srgb(0.25, 0.25, 0.3)),
            ))
            .with_children(|bar| {
                bar.spawn((
                    SmoothingFill,
                    Node {
                        width: percent(0),
                        height: percent(100),
                        ..default()
                    },
                    BackgroundColor(Color::srgb(1.0, 0.75, 0.3)),
                ));
            });
        });
}

#[allow(clippy::too_many_arguments)]
fn hotkeys(
    keys: Res<ButtonInput<KeyCode>>,
    assets: Res<AssetServer>,
    options: Res<Options>,
    mut clear: ResMut<ClearColor>,
    mut background: Local<usize>,
    mut personas: Query<(&mut FaceClipPlayer, Option<&mut LiveFace>), With<Persona>>,
    mut help: Query<&mut Visibility, With<Help>>,
) {
    for (mut player, live) in &mut personas {
        for (key, clip) in [
            (KeyCode::Digit1, "smile"),
            (KeyCode::Digit2, "surprise"),
            (KeyCode::Digit3, "anger"),
        ] {
            if keys.just_pressed(key) {
                // Layer 1, over tracking (clips outrank it) and over the stream on layer 0.
                player
                    .layer(1)
                    .crossfade(assets.load(format!("clips/{clip}.face.ron")), 0.15);
            }
        }
        if let Some(mut live) = live {
            if keys.just_pressed(KeyCode::KeyC) {
                live.calibrate();
                info!("calibrating on the next tracked face");
            }
            if keys.just_pressed(KeyCode::KeyL) {
                let driving = match live.driving() {
                    LiveDriving::Expressions => LiveDriving::Landmarks,
                    LiveDriving::Landmarks => LiveDriving::Expressions,
                };
                live.set_driving(driving);
                info!("driving by {driving:?}");
            }
            let step = if keys.just_pressed(KeyCode::BracketRight) {
                0.1
            } else if keys.just_pressed(KeyCode::BracketLeft) {
                -0.1
            } else {
                0.0
            };
            live.smoothing = (live.smoothing + step).clamp(0.0, 1.0);
        }
    }
    if keys.just_pressed(KeyCode::KeyB) && !options.transparent {
        *background = (*background + 1) % KEYS.len();
        clear.0 = KEYS[*background];
    }
    if keys.just_pressed(KeyCode::KeyH) {
        for mut v in &mut help {
            v.toggle_visible_hidden();
        }
    }
}

/// Clicking the bar sets the smoothing; the fill shows it.
fn smoothing_bar(
    bar: Query<(&Interaction, &RelativeCursorPosition), With<SmoothingBar>>,
    mut fill: Query<&mut Node, With<SmoothingFill>>,
    mut lives: Query<&mut LiveFace>,
) {
    for (interaction, cursor) in &bar {
        if *interaction == Interaction::Pressed
            && let Some(at) = cursor.normalized
        {
            for mut live in &mut lives {
                live.smoothing = (at.x + 0.5).clamp(0.0, 1.0);
            }
        }
    }
    let value = lives.iter().next().map_or(0.0, |l| l.smoothing);
    for mut node in &mut fill {
        node.width = percent(value * 100.0);
    }
}

fn status_line(
    lives: Query<&LiveFace>,
    stats: Res<TalkingHeadStats>,
    mut text: Query<&mut Text, With<Status>>,
) {
    let (Ok(mut text), Some((_, s))) = (text.single_mut(), stats.iter().next()) else {
        return;
    };
    let source = match lives.iter().next() {
        Some(l) => {
            let name = &l.status().source_name;
            let short = std::path::Path::new(name)
                .file_name()
                .map_or(name.clone(), |f| f.to_string_lossy().into_owned());
            let state = match &l.status().state {
                bevy_talking_head::drive::LiveFaceState::Reconnecting(_) => {
                    "lost, idle life".to_owned()
                }
                s => format!("{s:?}"),
            };
            format!("{short} ({state}), smoothing {:.1}", l.smoothing)
        }
        None => "recorded stream (no camera, no video)".to_owned(),
    };
    text.0 = format!(
        "source: {source} | {} frames, {:.1} ms to render",
        s.frames_rendered,
        s.last_render_time.as_secs_f64() * 1e3
    );
}
