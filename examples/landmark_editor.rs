//! The landmark editor: for art the face tracker misses or misplaces (anime, heavy stylisation). The
//! portrait with its 468 points on the left, the head animated with that rig on the right; the head
//! re-rigs as you edit.
//!
//! ```sh
//! make setup                                   # once
//! cargo run --example landmark_editor -- portraits/astronaut_painted.png
//! ```
//!
//! | input | does |
//! |---|---|
//! | drag a point | moves it (an iris centre too) |
//! | Shift + drag a point | moves its whole region: eye, brow, mouth, nose or face outline |
//! | M / N | mirror the subject's left side onto the right / the right onto the left |
//! | Ctrl+Z / Ctrl+Y | undo / redo |
//! | S | save `<portrait>.rig.json` (the sidecar every head with this portrait then uses) |
//!
//! A portrait without a sidecar starts from the face tracker's rig, or from the template (the average
//! face in the middle of the picture) when the tracker finds no face.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::PortraitImage;
use bevy_talking_head::rig::editor::{Grab, Region, Side};
use bevy_talking_head::rig::{PortraitRig, RigEditor, refine_fit};
use bevy_talking_head::tracking::{FaceTracker, ImageView};
use common::{HeadlessCapturePlugin, ScriptClock};

/// Display size of the portrait and of the preview, in window pixels.
const SHOWN: f32 = 500.0;
const LEFT: Vec2 = Vec2::new(-280.0, 20.0);
const RIGHT: Vec2 = Vec2::new(280.0, 20.0);

fn main() {
    let asset = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "portraits/astronaut_painted.png".into());
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "bevy_talking_head: landmark_editor".into(),
                resolution: (1100, 620).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(TalkingHeadPlugins)
        .add_plugins(HeadlessCapturePlugin {
            name: "landmark_editor",
            at: vec![1.0, 2.5],
        })
        .insert_resource(Portrait { asset, ..default() })
        .add_systems(Startup, setup)
        .add_systems(
            Update,
            (
                open_editor,
                frame_views,
                mouse,
                keys,
                scripted_edit,
                show_points,
                rerig,
            )
                .chain(),
        )
        .run();
}

#[derive(Resource, Default)]
struct Portrait {
    asset: String,
    image: Handle<Image>,
    size: UVec2,
    /// The part of the portrait shown: a square around the face, `[x0, y0, side]` in portrait pixels.
    view: [f32; 3],
    editor: Option<RigEditor>,
    /// Bumped on every edit, so the preview re-rigs once per change.
    revision: u64,
    rigged: u64,
}

impl Portrait {
    fn file(&self) -> PathBuf {
        bevy::asset::io::file::FileAssetReader::get_base_path()
            .join("assets")
            .join(&self.asset)
    }
    fn scale(&self) -> f32 {
        SHOWN / self.view[2].max(1.0)
    }
    /// Window world position -> portrait pixels.
    fn to_pixels(&self, world: Vec2) -> [f32; 2] {
        let local = (world - LEFT) / self.scale();
        let half = self.view[2] / 2.0;
        [self.view[0] + half + local.x, self.view[1] + half - local.y]
    }
    fn to_world(&self, p: [f32; 2]) -> Vec2 {
        let half = self.view[2] / 2.0;
        LEFT + Vec2::new(p[0] - self.view[0] - half, self.view[1] + half - p[1]) * self.scale()
    }
    /// The shown square as a sprite rectangle.
    fn rect(&self) -> Rect {
        Rect::new(
            self.view[0],
            self.view[1],
            self.view[0] + self.view[2],
            self.view[1] + self.view[2],
        )
    }
}

#[derive(Component)]
struct Dot(Option<usize>, Option<usize>);

#[derive(Component)]
struct Preview;

#[derive(Component)]
struct Shown;

#[derive(Component)]
struct Status;

fn setup(
    mut commands: Commands,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
    mut portrait: ResMut<Portrait>,
) {
    commands.spawn(Camera2d);
    portrait.image = assets.load(portrait.asset.clone());
    commands.spawn((
        Shown,
        Sprite {
            image: portrait.image.clone(),
            custom_size: Some(Vec2::splat(SHOWN)),
            ..default()
        },
        Transform::from_translation(LEFT.extend(0.0)),
    ));
    let output = images.add(Image::default());
    commands.spawn((
        Shown,
        Sprite {
            image: output.clone(),
            custom_size: Some(Vec2::splat(SHOWN)),
            ..default()
        },
        Transform::from_translation(RIGHT.extend(0.0)),
    ));
    // The head is spawned by `open_editor` once the rig exists; keep its texture handle.
    commands.insert_resource(PreviewOutput(output));
    commands.spawn((
        Status,
        Text::new("loading the portrait..."),
        TextFont {
            font_size: FontSize::Px(15.0),
            ..default()
        },
        Node {
            position_type: PositionType::Absolute,
            bottom: px(10),
            left: px(14),
            ..default()
        },
    ));
}

#[derive(Resource)]
struct PreviewOutput(Handle<Image>);

fn colour(i: usize) -> (Color, f32) {
    for (region, c) in [
        (Region::RightEye, Color::srgb(0.2, 0.9, 1.0)),
        (Region::LeftEye, Color::srgb(0.2, 0.9, 1.0)),
        (Region::RightBrow, Color::srgb(1.0, 0.9, 0.2)),
        (Region::LeftBrow, Color::srgb(1.0, 0.9, 0.2)),
        (Region::Mouth, Color::srgb(1.0, 0.3, 0.8)),
        (Region::Nose, Color::srgb(1.0, 0.6, 0.2)),
        (Region::Oval, Color::srgb(0.3, 1.0, 0.4)),
    ] {
        if region.points().contains(&i) {
            return (c, 4.0);
        }
    }
    (Color::srgba(1.0, 1.0, 1.0, 0.55), 2.0)
}

/// Once the portrait has loaded: its sidecar, else the tracker's rig, else the template; the dots; the
/// animated preview head.
fn open_editor(
    mut commands: Commands,
    mut portrait: ResMut<Portrait>,
    images: Res<Assets<Image>>,
    output: Res<PreviewOutput>,
    assets: Res<AssetServer>,
) {
    if portrait.editor.is_some() {
        return;
    }
    let Some(image) = images.get(&portrait.image) else {
        return;
    };
    let size = image.size();
    portrait.size = size;
    let file = portrait.file();
    let mut editor = match RigEditor::open(&file, [size.x, size.y]) {
        Ok(e) => e,
        Err(e) => {
            error!("{e}; starting from the template");
            RigEditor::new(PortraitRig::template([size.x, size.y]))
        }
    };
    if editor.rig().source == bevy_talking_head::rig::RigSource::Template
        && let Some(data) = image.data.as_ref()
    {
        // No sidecar: start from the rig the head would make, the tracker's, moved onto the drawn face
        // where it missed it (what it found is the first thing to check here).
        let models = bevy_talking_head::tracking::default_models_dir();
        let tracked = FaceTracker::from_dir(&models, &Default::default()).and_then(|t| {
            let view = ImageView::new(size.x, size.y, 4, data, &portrait.asset)?;
            let mut rig = PortraitRig::build(&t, &view, &portrait.asset)?;
            let picture = PortraitImage::new(size.x, size.y, data.clone())?;
            let fit = refine_fit(&picture, &mut rig);
            if !fit.is_good() {
                warn!("{}: {}", portrait.asset, fit.problems.join("; "));
            }
            Ok(rig)
        });
        match tracked {
            Ok(rig) => editor = RigEditor::new(rig),
            Err(e) => warn!("{e}; starting from the template"),
        }
    }
    // Show the face: a square twice the landmarks' extent, inside the picture.
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in &editor.rig().landmarks {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    let side = ((hi[0] - lo[0]).max(hi[1] - lo[1]) * 2.0).clamp(64.0, size.x.min(size.y) as f32);
    let x0 = ((lo[0] + hi[0]) / 2.0 - side / 2.0).clamp(0.0, size.x as f32 - side);
    let y0 = ((lo[1] + hi[1]) / 2.0 - side / 2.0).clamp(0.0, size.y as f32 - side);
    portrait.view = [x0, y0, side];
    for i in 0..468 {
        let (color, size) = colour(i);
        commands.spawn((
            Dot(Some(i), None),
            Sprite::from_color(color, Vec2::splat(size)),
            Transform::from_xyz(0.0, 0.0, 1.0),
        ));
    }
    for k in 0..2 {
        commands.spawn((
            Dot(None, Some(k)),
            Sprite::from_color(Color::srgb(1.0, 0.1, 0.1), Vec2::splat(6.0)),
            Transform::from_xyz(0.0, 0.0, 2.0),
        ));
    }
    let mut clips = FaceClipPlayer::default();
    clips.play(assets.load("clips/talk.face.ron"));
    commands.spawn((
        Preview,
        TalkingHead::new(portrait.image.clone())
            .with_rigs(vec![editor.rig().clone()])
            .with_output(output.0.clone()),
        IdleLife::default(),
        clips,
    ));
    portrait.editor = Some(editor);
    portrait.revision += 1;
    portrait.rigged = portrait.revision;
}

/// Both pictures show the same square around the face.
fn frame_views(portrait: Res<Portrait>, mut shown: Query<&mut Sprite, With<Shown>>) {
    if !portrait.is_changed() || portrait.view[2] <= 0.0 {
        return;
    }
    for mut sprite in &mut shown {
        sprite.rect = Some(portrait.rect());
    }
}

fn mouse(
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    windows: Query<&Window>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    mut portrait: ResMut<Portrait>,
) {
    let (Ok(window), Ok((camera, at))) = (windows.single(), cameras.single()) else {
        return;
    };
    let Some(world) = window
        .cursor_position()
        .and_then(|c| camera.viewport_to_world_2d(at, c).ok())
    else {
        return;
    };
    let p = portrait.to_pixels(world);
    let radius = 7.0 / portrait.scale();
    let shift = keys.pressed(KeyCode::ShiftLeft) || keys.pressed(KeyCode::ShiftRight);
    let Some(editor) = portrait.editor.as_mut() else {
        return;
    };
    if buttons.just_pressed(MouseButton::Left)
        && let Some(grab) = editor.pick(p, radius)
    {
        let grab = match (grab, shift) {
            (Grab::Point(i), true) => region_of(i).map_or(grab, Grab::Region),
            (Grab::Iris(k), true) => Grab::Region([Region::RightEye, Region::LeftEye][k]),
            _ => grab,
        };
        editor.begin_drag(grab, p);
    }
    if buttons.pressed(MouseButton::Left) {
        editor.drag_to(p);
    }
    if buttons.just_released(MouseButton::Left) {
        editor.end_drag();
        portrait.revision += 1;
    }
}

fn region_of(i: usize) -> Option<Region> {
    [
        Region::RightEye,
        Region::LeftEye,
        Region::RightBrow,
        Region::LeftBrow,
        Region::Mouth,
        Region::Nose,
        Region::Oval,
    ]
    .into_iter()
    .find(|r| r.points().contains(&i))
}

fn keys(
    keys: Res<ButtonInput<KeyCode>>,
    mut portrait: ResMut<Portrait>,
    mut status: Query<&mut Text, With<Status>>,
) {
    let file = portrait.file();
    let ctrl = keys.pressed(KeyCode::ControlLeft) || keys.pressed(KeyCode::ControlRight);
    let Some(editor) = portrait.editor.as_mut() else {
        return;
    };
    let mut changed = false;
    let mut said = None;
    if ctrl && keys.just_pressed(KeyCode::KeyZ) {
        changed = editor.undo();
    } else if ctrl && keys.just_pressed(KeyCode::KeyY) {
        changed = editor.redo();
    } else if keys.just_pressed(KeyCode::KeyM) {
        editor.mirror(Side::Left);
        changed = true;
    } else if keys.just_pressed(KeyCode::KeyN) {
        editor.mirror(Side::Right);
        changed = true;
    } else if keys.just_pressed(KeyCode::KeyS) {
        said = Some(match editor.save(&file) {
            Ok(path) => format!("saved {}", path.display()),
            Err(e) => format!("not saved: {e}"),
        });
    }
    let dirty = editor.is_dirty();
    let source = editor.rig().source;
    if changed {
        portrait.revision += 1;
    }
    if let Ok(mut text) = status.single_mut() {
        if let Some(s) = said {
            text.0 = s;
        } else if changed || text.0.starts_with("loading") {
            text.0 = format!(
                "{} ({source:?}{}) | drag: point, Shift+drag: region, M/N mirror, Ctrl+Z/Y undo/redo, S save",
                portrait.asset,
                if dirty { ", edited" } else { "" }
            );
        }
    }
}

/// In a headless run (screenshots), an edit a user would make by dragging: the mouth region 12 px down.
fn scripted_edit(clock: Res<ScriptClock>, mut portrait: ResMut<Portrait>, mut done: Local<bool>) {
    if *done || std::env::var_os("TALKING_HEAD_SCREENSHOTS").is_none() || clock.t < 1.5 {
        return;
    }
    if let Some(editor) = portrait.editor.as_mut() {
        editor.nudge(Grab::Region(Region::Mouth), [0.0, 12.0]);
        *done = true;
        portrait.revision += 1;
    }
}

fn show_points(portrait: Res<Portrait>, mut dots: Query<(&Dot, &mut Transform)>) {
    let Some(editor) = &portrait.editor else {
        return;
    };
    let rig = editor.rig();
    for (dot, mut t) in &mut dots {
        let p = match (dot.0, dot.1) {
            (Some(i), _) => [rig.landmarks[i][0], rig.landmarks[i][1]],
            (_, Some(k)) => match rig.iris {
                Some(iris) => iris[k],
                None => [-1e4, -1e4],
            },
            _ => continue,
        };
        let w = portrait.to_world(p);
        t.translation.x = w.x;
        t.translation.y = w.y;
    }
}

/// The preview head takes each new revision of the rig (not while a drag is under way).
fn rerig(
    mut portrait: ResMut<Portrait>,
    buttons: Res<ButtonInput<MouseButton>>,
    mut heads: Query<&mut TalkingHead, With<Preview>>,
) {
    if portrait.rigged == portrait.revision || buttons.pressed(MouseButton::Left) {
        return;
    }
    let Some(editor) = &portrait.editor else {
        return;
    };
    for mut head in &mut heads {
        head.rigs = vec![Some(Arc::new(editor.rig().clone()))];
    }
    portrait.rigged = portrait.revision;
}
