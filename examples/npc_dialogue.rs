//! Dialogue portraits that talk: three NPCs (a painted, concept-art style one and two more) take turns in a
//! dialogue box. Each line of text drives the speaker's lip sync (a viseme track made from the text, each
//! shape leading its sound by `DEFAULT_LOOKAHEAD`, 50 ms) and an
//! emotion clip (smile, surprise, anger, nod); between lines, and for the listeners, idle life blinks,
//! glances and breathes.
//!
//! ```sh
//! make setup                          # once: ONNX Runtime, face models, the demo portraits
//! cargo run --example npc_dialogue
//! ```
//!
//! Space skips to the next line. The first start rigs each portrait with the face tracker (on a worker)
//! and saves the rigs beside them (`assets/portraits/*.rig.json`).

mod common;

use bevy::prelude::*;
use bevy_talking_head::drive::{DEFAULT_LOOKAHEAD, VisemeTrack};
use bevy_talking_head::prelude::*;
use common::{HeadlessCapturePlugin, ScriptClock};

/// Seconds per character of a line (a little slower than speech, for reading along).
const PER_CHAR: f32 = 0.06;
/// Pause after a line before the next one.
const PAUSE: f32 = 1.2;

/// Who says what, with which emotion clip (in assets/clips).
const SCRIPT: [(usize, &str, &str); 5] = [
    (
        0,
        "Welcome, traveller. The station has been quiet since the storm.",
        "smile",
    ),
    (
        1,
        "Quiet? Something took the relay antenna last night!",
        "surprise",
    ),
    (2, "Then whoever did it will answer to me.", "anger"),
    (0, "Easy now. First we find out what happened.", "nod"),
    (1, "No, no. I am not going out there again.", "shake"),
];

const NAMES: [&str; 3] = ["Captain Vega", "Engineer Collins", "Guard Orla"];

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: npc_dialogue".into(),
                resolution: (1100, 650).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(TalkingHeadPlugins)
        .add_plugins(HeadlessCapturePlugin {
            name: "npc_dialogue",
            // The first line (the painted captain smiling and talking), the second (the engineer).
            at: vec![1.5, 6.0],
        })
        .init_resource::<Dialogue>()
        .add_systems(Startup, setup)
        .add_systems(Update, (run_dialogue, highlight_speaker).chain())
        .run();
}

#[derive(Component)]
struct Npc(usize);

#[derive(Component)]
struct DialogueText;

#[derive(Component)]
struct SpeakerName;

/// Where the dialogue is: the line, when it started (script clock), how long it lasts.
#[derive(Resource, Default)]
struct Dialogue {
    line: Option<usize>,
    started: f32,
    length: f32,
}

fn setup(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
    commands.spawn(Camera2d);
    let portraits = [
        ("portraits/astronaut_painted.png", false),
        ("portraits/astronaut.png", true),
        ("portraits/astronaut_painted.png", true),
    ];
    for (i, (path, flip)) in portraits.into_iter().enumerate() {
        let head = TalkingHead::new(assets.load(path)).with_output_size(UVec2::splat(320));
        // The texture the head renders into, made here so the sprite can show it from the start.
        let output = images.add(Image::default());
        let head = head.with_output(output.clone());
        let x = (i as f32 - 1.0) * 350.0;
        commands
            .spawn((
                Npc(i),
                head,
                // Blinks and glances of their own: a different seed each.
                IdleLife::default().with_seed(11 + i as u64),
                FaceClipPlayer::default(),
                Transform::from_xyz(x, 90.0, 0.0),
                Visibility::default(),
            ))
            .with_children(|npc| {
                npc.spawn((
                    Sprite {
                        image: output,
                        custom_size: Some(Vec2::splat(320.0)),
                        // Head and shoulders: the upper middle of the 320 px portrait.
                        rect: Some(Rect::new(50.0, 0.0, 270.0, 220.0)),
                        flip_x: flip,
                        ..default()
                    },
                    Transform::default(),
                ));
            });
        commands.spawn((
            Text2d::new(NAMES[i]),
            TextFont {
                font_size: FontSize::Px(18.0),
                ..default()
            },
            Transform::from_xyz(x, -92.0, 1.0),
        ));
    }
    // The dialogue box.
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                left: px(40),
                right: px(40),
                bottom: px(24),
                height: px(150),
                padding: UiRect::all(px(18)),
                flex_direction: FlexDirection::Column,
                row_gap: px(8),
                ..default()
            },
            BackgroundColor(Color::srgba(0.05, 0.06, 0.1, 0.88)),
        ))
        .with_children(|b| {
            b.spawn((
                SpeakerName,
                Text::new(""),
                TextFont {
                    font_size: FontSize::Px(20.0),
                    ..default()
                },
                TextColor(Color::srgb(1.0, 0.8, 0.4)),
            ));
            b.spawn((
                DialogueText,
                Text::new("(the NPCs are getting ready...)"),
                TextFont {
                    font_size: FontSize::Px(24.0),
                    ..default()
                },
            ));
        });
}

/// Starts each line when the previous one is over: lip sync from the text, the emotion clip on clip
/// layer 1, and the typewriter text.
#[allow(clippy::too_many_arguments)]
fn run_dialogue(
    mut commands: Commands,
    clock: Res<ScriptClock>,
    keys: Res<ButtonInput<KeyCode>>,
    assets: Res<AssetServer>,
    mut dialogue: ResMut<Dialogue>,
    mut npcs: Query<(Entity, &Npc, &mut FaceClipPlayer)>,
    mut text: Query<&mut Text, (With<DialogueText>, Without<SpeakerName>)>,
    mut name: Query<&mut Text, (With<SpeakerName>, Without<DialogueText>)>,
) {
    // The script starts with the first rendered frame.
    if clock.t <= 0.0 {
        return;
    }
    let over = clock.t >= dialogue.started + dialogue.length + PAUSE;
    if dialogue.line.is_none() || over || keys.just_pressed(KeyCode::Space) {
        let next = dialogue.line.map_or(0, |l| (l + 1) % SCRIPT.len());
        let (speaker, line, emotion) = SCRIPT[next];
        let length = line.len() as f32 * PER_CHAR;
        *dialogue = Dialogue {
            line: Some(next),
            started: clock.t,
            length,
        };
        for (entity, npc, mut player) in &mut npcs {
            if npc.0 == speaker {
                // Each mouth shape forms 50 ms before its sound (the line's timing is known).
                commands.entity(entity).insert(
                    LipSync::visemes(VisemeTrack::from_text(line, 0.0, length))
                        .with_lookahead(DEFAULT_LOOKAHEAD),
                );
                player
                    .layer(1)
                    .crossfade(assets.load(format!("clips/{emotion}.face.ron")), 0.25);
            } else {
                commands.entity(entity).remove::<LipSync>();
            }
        }
        if let Ok(mut n) = name.single_mut() {
            n.0 = NAMES[speaker].to_owned();
        }
    }
    // Typewriter: the text appears as it is spoken.
    if let (Some(l), Ok(mut t)) = (dialogue.line, text.single_mut()) {
        let line = SCRIPT[l].1;
        let shown = (((clock.t - dialogue.started) / PER_CHAR) as usize).min(line.len());
        t.0 = line[..line.floor_char_boundary(shown)].to_owned();
    }
}

/// The speaker a little larger and brighter than the listeners.
fn highlight_speaker(
    dialogue: Res<Dialogue>,
    npcs: Query<(&Npc, &Children)>,
    mut sprites: Query<(&mut Sprite, &mut Transform)>,
) {
    let speaker = dialogue.line.map(|l| SCRIPT[l].0);
    for (npc, children) in &npcs {
        let on = Some(npc.0) == speaker;
        for child in children {
            if let Ok((mut sprite, mut transform)) = sprites.get_mut(*child) {
                sprite.color = if on {
                    Color::WHITE
                } else {
                    Color::srgb(0.6, 0.6, 0.65)
                };
                transform.scale = Vec3::splat(if on { 1.06 } else { 1.0 });
            }
        }
    }
}
