//! The smallest talking head: the demo portrait, rendered through an ONNX model every frame, driven by a
//! scripted expression (the jaw opens and closes, darkening the face; a smile tints it red, a blink blue).
//!
//! ```sh
//! make demo                      # set-up (ONNX Runtime, models, portrait) and run this example
//! cargo run --example minimal    # once set-up has run
//! ```
//!
//! The model, `assets/models/expression_tint.onnx`, is the tiny image-to-image model that proves the
//! pipeline end to end (portrait + 52 expression weights in, image out). The mesh-warp and neural renderers
//! use the same `TalkingHead` and texture.

mod common;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use common::{HeadlessCapturePlugin, ScriptClock};

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: minimal".into(),
                resolution: (800, 600).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(TalkingHeadPlugin::default())
        .add_plugins(HeadlessCapturePlugin {
            name: "minimal",
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
