//! A custom ONNX model as a head's renderer: `HeadRendererKind::ExpressionFilter` runs any model that fits
//! the `expression_filter` contract (inputs `portrait` [1,3,H,W] RGB 0..1 and `expression` [1,52], output
//! `image` [1,3,H,W]) on the render workers, every frame the face changes. Here the model is the tiny
//! `assets/models/expression_tint.onnx` (committed; made by `models/tiny_models.py`): a scripted face
//! opens and closes the jaw (the model darkens the portrait by up to 60 %), smiles (a red tint) and blinks
//! (a blue tint). The stats line shows the renderer, frames rendered and dropped, and the latency.
//!
//! ```sh
//! make setup                              # once: ONNX Runtime and the demo portrait
//! cargo run --example onnx_renderer
//! ```
//!
//! Your own model: export it with the contract's input and output names (and, optionally, the metadata
//! `talking_head.contract = expression_filter`, checked when it loads) and load it as an asset, as the
//! `setup` system below does. For the default renderer, the mesh warp, see the `minimal` and `expressions`
//! examples.

mod common;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use common::{HeadlessCapturePlugin, ScriptClock};

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: onnx_renderer".into(),
                resolution: (800, 600).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(TalkingHeadPlugins)
        .add_plugins(HeadlessCapturePlugin {
            name: "onnx_renderer",
            at: vec![1.0, 2.0],
        })
        .add_systems(Startup, setup)
        .add_systems(Update, (animate, show_stats))
        .run();
}

#[derive(Component)]
struct StatsText;

fn setup(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
    commands.spawn(Camera2d);
    // Render into an image we own, so the sprite can show it from the start.
    let output = images.add(Image::default());
    commands.spawn((
        TalkingHead::new(assets.load("portraits/astronaut.png"))
            .with_renderer(HeadRendererKind::ExpressionFilter(
                assets.load("models/expression_tint.onnx"),
            ))
            .with_output(output.clone()),
        Sprite {
            image: output,
            custom_size: Some(Vec2::splat(440.0)),
            ..default()
        },
        Transform::from_xyz(0.0, 30.0, 0.0),
    ));
    commands.spawn((
        StatsText,
        Text::new("loading..."),
        TextFont {
            font_size: FontSize::Px(18.0),
            ..default()
        },
        Node {
            position_type: PositionType::Absolute,
            bottom: px(16),
            left: px(16),
            ..default()
        },
    ));
}

/// The script: jaw open-close every 2 s, a smile that comes and goes, a blink every 3 s.
fn animate(clock: Res<ScriptClock>, mut faces: Query<&mut FaceFrame>) {
    let t = clock.t;
    for mut face in &mut faces {
        face.time = t as f64;
        let e = &mut face.expressions;
        e.set(
            Expression::JawOpen,
            0.5 - 0.5 * (std::f32::consts::PI * t).cos(),
        );
        e.set(Expression::MouthSmileLeft, (0.4 * t).sin().max(0.0));
        e.set(
            Expression::EyeBlinkLeft,
            if t % 3.0 > 2.85 { 1.0 } else { 0.0 },
        );
    }
}

fn show_stats(
    stats: Res<TalkingHeadStats>,
    faces: Query<&FaceFrame>,
    mut text: Query<&mut Text, With<StatsText>>,
) {
    let (Some((_, s)), Ok(face), Ok(mut text)) =
        (stats.iter().next(), faces.single(), text.single_mut())
    else {
        return;
    };
    text.0 = format!(
        "jawOpen {:.2}  smile {:.2}  |  {}  |  rendered {}  dropped {}  latency {:.1} ms",
        face.expressions.get(Expression::JawOpen),
        face.expressions.get(Expression::MouthSmileLeft),
        s.renderer,
        s.frames_rendered,
        s.frames_dropped,
        s.mean_latency.as_secs_f64() * 1e3
    );
}
