//! Multiplayer avatars: four players' faces, each animated from a recorded face stream (what a webcam
//! driver would send: expression weights, head pose and gaze, 25 times a second), on the demo portrait and
//! its painted version. Idle life fills in whatever a stream does not move. The networked version, with a
//! server relaying the streams, comes with the networking work; here the streams are `*.face.ron`
//! recordings in `assets/recordings`, made from the project's driving videos by its face tracker.
//!
//! ```sh
//! make setup                              # once: ONNX Runtime, face models, the demo portraits
//! cargo run --example multiplayer_avatars
//! ```
//!
//! Each tile shows the player's name, how many of the 63 face channels their stream moves and what that
//! costs as plain 32-bit floats at 25 Hz (the quantised codec of the networking work sends far less).

mod common;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use common::HeadlessCapturePlugin;

/// (name, portrait, recording, start offset in seconds)
const PLAYERS: [(&str, &str, &str, f32); 4] = [
    (
        "ada",
        "portraits/astronaut.png",
        "recordings/talking.face.ron",
        0.0,
    ),
    (
        "brix",
        "portraits/astronaut_painted.png",
        "recordings/expressions.face.ron",
        0.0,
    ),
    (
        "cosmo",
        "portraits/astronaut_painted.png",
        "recordings/head_turns.face.ron",
        1.5,
    ),
    (
        "dee",
        "portraits/astronaut.png",
        "recordings/expressions.face.ron",
        2.2,
    ),
];

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: multiplayer_avatars".into(),
                resolution: (900, 700).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(TalkingHeadPlugin::default())
        .add_plugins(HeadlessCapturePlugin {
            name: "multiplayer_avatars",
            at: vec![1.0, 2.5],
        })
        .add_systems(Startup, setup)
        .add_systems(Update, (start_streams, label))
        .run();
}

#[derive(Component)]
struct Player {
    name: &'static str,
    stream: Handle<FaceClip>,
    offset: f32,
    started: bool,
}

#[derive(Component)]
struct Label(Entity);

fn setup(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
    commands.spawn(Camera2d);
    for (i, (name, portrait, stream, offset)) in PLAYERS.into_iter().enumerate() {
        let head = TalkingHead::new(assets.load(portrait)).with_output_size(UVec2::splat(260));
        // The texture the head renders into, made here so the sprite can show it from the start.
        let output = images.add(Image::default());
        let head = head.with_output(output.clone());
        let (col, row) = ((i % 2) as f32, (i / 2) as f32);
        let (x, y) = (-200.0 + 400.0 * col, 185.0 - 345.0 * row);
        let avatar = commands
            .spawn((
                head,
                Player {
                    name,
                    stream: assets.load(stream),
                    offset,
                    started: false,
                },
                IdleLife::default().with_seed(i as u64),
                FaceClipPlayer::default(),
                Sprite {
                    image: output,
                    custom_size: Some(Vec2::splat(260.0)),
                    // Head and shoulders: the upper middle of the 260 px portrait.
                    rect: Some(Rect::new(39.0, 0.0, 221.0, 182.0)),
                    ..default()
                },
                Transform::from_xyz(x, y, 0.0),
            ))
            .id();
        commands.spawn((
            Label(avatar),
            Text2d::new(name),
            TextFont {
                font_size: FontSize::Px(14.0),
                ..default()
            },
            Transform::from_xyz(x, y - 152.0, 1.0),
        ));
    }
}

/// Plays each player's stream once it has loaded, from the player's own point in it.
fn start_streams(
    mut players: Query<(&mut Player, &mut FaceClipPlayer)>,
    clips: Res<Assets<FaceClip>>,
) {
    for (mut player, mut clips_player) in &mut players {
        if player.started || clips.get(&player.stream).is_none() {
            continue;
        }
        player.started = true;
        clips_player.play(player.stream.clone()).seek(player.offset);
    }
}

/// Name and stream figures under each avatar.
fn label(
    players: Query<(&Player, &FaceFrame)>,
    clips: Res<Assets<FaceClip>>,
    mut labels: Query<(&Label, &mut Text2d)>,
) {
    for (label, mut text) in &mut labels {
        let Ok((player, face)) = players.get(label.0) else {
            continue;
        };
        let name = player.name;
        let moving = clips.get(&player.stream).map_or(0, |c| c.tracks().len());
        let jaw = face.expressions.get(Expression::JawOpen);
        text.0 = format!(
            "{name}\n{moving} channels, {} B/s as f32, jaw {jaw:.2}",
            moving * 4 * 25
        );
    }
}
