//! The inspector (feature `egui`): the demo portrait, driven by a video through the live driver (or by the
//! talk clip when the project's test video is not there), and the inspector window beside it: the
//! portrait with its rig, the rendered texture, the video with its tracked landmarks, render latency and
//! dropped-frame plots, the drivers, and a slider for every expression and the pose to puppeteer the head
//! by hand.
//!
//! ```sh
//! make setup                                           # once
//! cargo run --example inspector --features egui
//! ```
//!
//! F1 shows or hides the inspector. Add it to your own game with
//! `app.add_plugins(bevy_talking_head::ui::TalkingHeadInspectorPlugin)`.

mod common;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use bevy_talking_head::ui::{InspectorState, TalkingHeadInspectorPlugin};
use common::HeadlessCapturePlugin;

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: inspector".into(),
                resolution: (1200, 760).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins((TalkingHeadPlugins, TalkingHeadInspectorPlugin))
        .add_plugins(HeadlessCapturePlugin {
            name: "inspector",
            at: vec![1.5, 3.0],
        })
        .add_systems(Startup, setup)
        .add_systems(Update, toggle)
        .run();
}

fn setup(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
    commands.spawn(Camera2d);
    let output = images.add(Image::default());
    let mut head = commands.spawn((
        TalkingHead::new(assets.load("portraits/astronaut.png"))
            .with_output_size(UVec2::splat(400))
            .with_output(output.clone()),
        IdleLife::default(),
        Sprite {
            image: output,
            custom_size: Some(Vec2::splat(440.0)),
            ..default()
        },
        Transform::from_xyz(360.0, 40.0, 0.0),
    ));
    // Driven by the project's test video when it is next to the repository (the inspector then shows
    // the video with its landmarks), else by the talk clip.
    let video = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/driving/webcam_talking.mp4");
    if video.exists() {
        head.insert(LiveFace::video(video));
    } else {
        head.insert(FaceClipPlayer::playing(assets.load("clips/talk.face.ron")));
    }
}

fn toggle(keys: Res<ButtonInput<KeyCode>>, mut state: ResMut<InspectorState>) {
    if keys.just_pressed(KeyCode::F1) {
        state.open = !state.open;
    }
}
