//! The smallest talking head: the demo portrait on a sprite, animated by the default renderer (the mesh
//! warp) and kept alive by `IdleLife`: it blinks, glances about, breathes and sways a little. No model to
//! train, nothing else drives it.
//!
//! ```sh
//! make setup                      # once: ONNX Runtime, the face models and the demo portrait
//! cargo run --example minimal
//! ```
//!
//! The first start rigs the portrait with the face tracker (on a worker, a fraction of a second; the still
//! portrait shows meanwhile) and saves the rig beside it as `assets/portraits/astronaut.png.rig.json`.
//! Next: drive the face from clips, lip sync or a webcam (`npc_dialogue`, `streamer_overlay`), or write
//! its `FaceFrame` yourself (`expressions`).

// Only for the headless test: screenshots when `TALKING_HEAD_SCREENSHOTS` is set. Leave it out in a game.
mod common;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;

fn main() {
    App::new()
        .add_plugins((DefaultPlugins, TalkingHeadPlugins))
        .add_plugins(common::HeadlessCapturePlugin {
            name: "minimal",
            at: vec![1.0, 4.0],
        })
        .add_systems(Startup, setup)
        .run();
}

fn setup(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
    commands.spawn(Camera2d);
    // The head renders into this image; the sprite shows it.
    let output = images.add(Image::default());
    commands.spawn((
        TalkingHead::new(assets.load("portraits/astronaut.png")).with_output(output.clone()),
        IdleLife::default(),
        Sprite::from_image(output),
    ));
}
