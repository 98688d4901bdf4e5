//! The default renderer, the mesh warp, animating the demo portrait through a scripted sequence: neutral,
//! blink, smile, jaw open, look left, look right, turn left, turn right, nod. Each step eases in and out
//! over two seconds; the caption says which one is on.
//!
//! ```sh
//! make demo                          # set-up (ONNX Runtime, face models, portrait) and run this example
//! cargo run --example expressions    # once set-up has run
//! ```
//!
//! The first start rigs the portrait with the face tracker (a fraction of a second, on a worker) and saves
//! the rig beside it as `assets/portraits/astronaut.png.rig.json`; later starts read that file.

mod common;
#[path = "common/sheet.rs"]
mod sheet;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use common::{HeadlessCapturePlugin, ScriptClock};
use sheet::steps;

/// Seconds per step of the script.
const STEP: f32 = 2.0;

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: expressions".into(),
                resolution: (800, 600).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(TalkingHeadPlugins)
        .add_plugins(HeadlessCapturePlugin {
            name: "expressions",
            // The middle of the neutral, jaw-open and turn-left steps.
            at: vec![STEP * 0.5, STEP * 3.5, STEP * 6.5],
        })
        .add_systems(Startup, setup)
        .add_systems(Update, (animate, caption))
        .run();
}

#[derive(Component)]
struct Caption;

fn setup(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
    commands.spawn(Camera2d);
    let output = images.add(Image::default());
    commands.spawn((
        // The mesh warp is the default renderer.
        TalkingHead::new(assets.load("portraits/astronaut.png")).with_output(output.clone()),
        Sprite {
            image: output,
            custom_size: Some(Vec2::splat(520.0)),
            ..default()
        },
        Transform::from_xyz(0.0, 20.0, 0.0),
    ));
    commands.spawn((
        Caption,
        Text::new("rigging the portrait..."),
        TextFont {
            font_size: FontSize::Px(20.0),
            ..default()
        },
        Node {
            position_type: PositionType::Absolute,
            bottom: px(14),
            left: px(16),
            ..default()
        },
    ));
}

/// Blends from neutral to the step's face and back, over each step.
fn animate(clock: Res<ScriptClock>, mut faces: Query<&mut FaceFrame>) {
    let steps = steps();
    let t = clock.t;
    let k = (t / STEP) as usize % steps.len();
    let phase = (t % STEP) / STEP;
    // 0 -> 1 -> 0 over the step, holding the peak in the middle.
    let w = (std::f32::consts::PI * phase).sin().powf(0.5);
    let target = steps[k].1;
    for mut face in &mut faces {
        let mut f = FaceFrame::neutral();
        f.time = t as f64;
        for e in Expression::ALL {
            f.expressions.set(e, target.expressions.get(e) * w);
        }
        f.head.yaw = target.head.yaw * w;
        f.head.pitch = target.head.pitch * w;
        f.gaze.left = target.gaze.left.map(|g| g * w);
        f.gaze.right = target.gaze.right.map(|g| g * w);
        *face = f;
    }
}

fn caption(
    clock: Res<ScriptClock>,
    stats: Res<TalkingHeadStats>,
    mut text: Query<&mut Text, With<Caption>>,
) {
    let (Some((_, s)), Ok(mut text)) = (stats.iter().next(), text.single_mut()) else {
        return;
    };
    if s.frames_rendered == 0 {
        return;
    }
    let steps = steps();
    let k = (clock.t / STEP) as usize % steps.len();
    text.0 = format!(
        "{}  |  {}: {} frames, {:.1} ms to render",
        steps[k].0,
        s.renderer,
        s.frames_rendered,
        s.last_render_time.as_secs_f64() * 1e3
    );
}
