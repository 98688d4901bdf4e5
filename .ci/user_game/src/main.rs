//! The README's quick start, headless, in a game outside the repository: a head on the demo portrait
//! rigs from the face models shipped in the package, ONNX Runtime comes from the `fetch-runtime` path,
//! and the mesh warp renders frames that change. Prints the times and exits 0 once 10 frames differed
//! from the one before; exits 1 on a `TalkingHeadError` or after 300 s.

use std::time::{Duration, Instant};

use bevy::image::{CompressedImageFormats, ImageLoader};
use bevy::prelude::*;
use bevy_talking_head::prelude::*;

#[derive(Resource)]
struct Watch {
    started: Instant,
    output: Handle<Image>,
    last: Option<Vec<u8>>,
    first_frame: Option<Duration>,
    changes: u32,
}

fn main() -> AppExit {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        bevy::log::LogPlugin::default(),
        AssetPlugin::default(),
        ImagePlugin::default(),
        TalkingHeadPlugins,
    ))
    // Without a render device Bevy registers no image loader.
    .register_asset_loader(ImageLoader::new(CompressedImageFormats::empty()))
    .insert_resource(Watch {
        started: Instant::now(),
        output: Handle::default(),
        last: None,
        first_frame: None,
        changes: 0,
    })
    .add_systems(Startup, spawn)
    .add_systems(Update, (talk, watch));
    app.run()
}

fn spawn(
    mut commands: Commands,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
    mut watch: ResMut<Watch>,
) {
    let output = images.add(Image::default());
    // The mesh warp is the default renderer: no model to train or download.
    commands.spawn(
        TalkingHead::new(assets.load("portraits/astronaut.png")).with_output(output.clone()),
    );
    watch.output = output;
}

fn talk(time: Res<Time>, mut faces: Query<&mut FaceFrame>) {
    let t = time.elapsed_secs();
    for mut face in &mut faces {
        face.expressions
            .set(Expression::JawOpen, (t * 3.0).sin() * 0.3 + 0.3);
        let blink = if t % 4.0 < 0.15 { 1.0 } else { 0.0 };
        face.expressions.set(Expression::EyeBlinkLeft, blink);
        face.expressions.set(Expression::EyeBlinkRight, blink);
        face.head.yaw = (t * 0.5).sin() * 0.2;
    }
}

fn watch(
    mut watch: ResMut<Watch>,
    images: Res<Assets<Image>>,
    stats: Res<TalkingHeadStats>,
    mut errors: MessageReader<TalkingHeadError>,
    mut exit: MessageWriter<AppExit>,
) {
    for e in errors.read() {
        eprintln!("user_game: FAILED: {}", e.error);
        exit.write(AppExit::error());
        return;
    }
    let elapsed = watch.started.elapsed();
    if elapsed > Duration::from_secs(300) {
        eprintln!(
            "user_game: FAILED: {} changed frames after 300 s",
            watch.changes
        );
        exit.write(AppExit::error());
        return;
    }
    // Frames the renderer drew (before the rig is ready the output holds the still portrait, or nothing).
    if stats.iter().all(|(_, s)| s.frames_rendered == 0) {
        return;
    }
    let Some(data) = images.get(&watch.output).and_then(|i| i.data.clone()) else {
        return;
    };
    if data.is_empty() || watch.last.as_ref() == Some(&data) {
        return;
    }
    if watch.last.is_some() {
        watch.changes += 1;
    } else {
        watch.first_frame = Some(elapsed);
    }
    watch.last = Some(data);
    if watch.changes == 10 {
        let first = watch.first_frame.unwrap_or_default();
        println!(
            "user_game: first rendered frame after {:.2} s (ONNX Runtime, rig, render), 10 changed frames after {:.2} s",
            first.as_secs_f64(),
            elapsed.as_secs_f64()
        );
        exit.write(AppExit::Success);
    }
}
