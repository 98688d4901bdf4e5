//! Helpers to test your talking-head code headlessly (feature `test-utils`): no window, no GPU, only
//! `MinimalPlugins`, the asset server, images and [`TalkingHeadPlugins`] (the core with every driver).
//! This crate's own tests and benchmarks use them.
//!
//! - [`headless_app`]: an app with the plugins, reading assets from a folder, collecting errors in
//!   [`SeenErrors`] (the system [`collect_errors`]);
//! - [`flat_portrait`]: a one-colour portrait made in memory, for heads whose renderer needs no face;
//! - [`update_until`]: updates until a condition holds (renderers run on worker threads: frames arrive a
//!   few updates later), failing the test after a timeout;
//! - [`output_pixels`] and [`head_stats`]: what a head shows, and its frame counts.
//!
//! In your game's `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! bevy_talking_head = { version = "0.1", features = ["test-utils"] }
//! ```
//!
//! and a test in `tests/`, say `tests/npc.rs`, that spawns a head the way your game does and checks
//! what it shows:
//!
//! ```no_run
//! // tests/npc.rs: the body of a `#[test]` function (here `main`, so that the docs compile it).
//! use std::time::Duration;
//!
//! use bevy::prelude::*;
//! use bevy_talking_head::prelude::*;
//! use bevy_talking_head::testing::{SeenErrors, head_stats, headless_app, update_until};
//!
//! fn main() {
//!     // Assets from your crate's `assets/` folder (relative to its Cargo.toml when run by `cargo test`).
//!     let mut app = headless_app("assets", TalkingHeadPlugin::default());
//!     let portrait = app.world().resource::<AssetServer>().load("portraits/captain.png");
//!     let head = app
//!         .world_mut()
//!         .spawn((TalkingHead::new(portrait), IdleLife::default().with_seed(1)))
//!         .id();
//!     // The first frame comes after the portrait is rigged on a worker.
//!     update_until(&mut app, Duration::from_secs(30), "the first frame", |app| {
//!         head_stats(app, head).frames_rendered > 0
//!     });
//!     assert!(app.world().resource::<SeenErrors>().texts().is_empty());
//! }
//! ```
//!
//! Portrait files decode with the image formats of your build of Bevy (its default features have PNG and
//! JPEG; with `default-features = false`, enable `png` or `jpeg`). The mesh-warp renderer rigs portraits
//! with the face models that `make setup` puts in `assets/models` (or [`TalkingHeadPlugin::models_dir`]),
//! and model renderers need ONNX Runtime: without them, heads stay on their still portrait and
//! [`SeenErrors`] says why. Renderers that need neither (`HeadRendererKind::Still`, your own
//! `HeadRendererKind::Custom`) run anywhere.

pub mod artefacts;

pub use crate::drive::PANIC_IN_TRACKING;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::asset::RenderAssetUsages;
use bevy::image::{CompressedImageFormats, ImageLoader};
use bevy::prelude::*;
use wgpu_types::{Extent3d, TextureDimension, TextureFormat};

use crate::error::TalkingHeadError;
use crate::head::TalkingHead;
use crate::plugin::{TalkingHeadPlugin, TalkingHeadPlugins};
use crate::render::{HeadStats, TalkingHeadStats};

/// Every [`TalkingHeadError`] sent since the app started, collected by [`collect_errors`] in `Last`
/// (a message only lives for two updates, so reading them after the fact needs this). Cloning it shares
/// the list.
///
/// ```
/// use bevy::prelude::*;
/// use bevy_talking_head::prelude::*;
/// use bevy_talking_head::testing::{SeenErrors, headless_app, update_until};
///
/// let mut app = headless_app("assets", TalkingHeadPlugin::default());
/// let missing = app.world().resource::<AssetServer>().load("no/such/portrait.png");
/// app.world_mut().spawn(TalkingHead::new(missing));
/// update_until(&mut app, std::time::Duration::from_secs(10), "an error", |app| {
///     !app.world().resource::<SeenErrors>().texts().is_empty()
/// });
/// let texts = app.world().resource::<SeenErrors>().texts();
/// assert!(texts[0].contains("no/such/portrait.png"), "{texts:?}");
/// ```
#[derive(Resource, Default, Clone, Debug)]
pub struct SeenErrors(pub Arc<Mutex<Vec<TalkingHeadError>>>);

impl SeenErrors {
    /// The errors' messages, oldest first.
    pub fn texts(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|e| e.error.to_string())
            .collect()
    }
}

/// Adds each [`TalkingHeadError`] to [`SeenErrors`]. [`headless_app`] runs it in `Last`; add it to an app
/// of your own with the resource:
///
/// ```
/// use bevy::prelude::*;
/// use bevy_talking_head::testing::{SeenErrors, collect_errors};
///
/// # let mut app = App::new();
/// # app.add_message::<bevy_talking_head::TalkingHeadError>();
/// app.init_resource::<SeenErrors>().add_systems(Last, collect_errors);
/// app.update();
/// assert!(app.world().resource::<SeenErrors>().texts().is_empty());
/// ```
pub fn collect_errors(mut reader: MessageReader<TalkingHeadError>, seen: Res<SeenErrors>) {
    seen.0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(reader.read().cloned());
}

/// A headless app: `MinimalPlugins`, `AssetPlugin` reading `asset_folder`, `ImagePlugin` with Bevy's
/// plain image loader (without a render device Bevy registers none), [`TalkingHeadPlugins`] with the core
/// set to `plugin`, and [`collect_errors`]
/// filling [`SeenErrors`].
///
/// `asset_folder` is relative to the crate being tested when run by `cargo` (`BEVY_ASSET_ROOT` or
/// `CARGO_MANIFEST_DIR`), or absolute. Time is real time; for exact steps insert
/// `TimeUpdateStrategy::ManualDuration`.
///
/// ```
/// use bevy::prelude::*;
/// use bevy_talking_head::prelude::*;
/// use bevy_talking_head::testing::headless_app;
///
/// let mut app = headless_app("assets", TalkingHeadPlugin { workers: 1, ..default() });
/// app.update();
/// assert!(app.world().contains_resource::<TalkingHeadStats>());
/// ```
pub fn headless_app(asset_folder: impl Into<String>, plugin: TalkingHeadPlugin) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: asset_folder.into(),
            ..default()
        },
        ImagePlugin::default(),
        TalkingHeadPlugins.set(plugin),
    ));
    // Without a render device Bevy registers no image loader; the plain one reads PNG and JPEG where the
    // build of Bevy has them.
    app.register_asset_loader(ImageLoader::new(CompressedImageFormats::empty()));
    app.init_resource::<SeenErrors>()
        .add_systems(Last, collect_errors);
    app
}

/// A `size` x `size` portrait of one colour (sRGB RGBA), added to `Assets<Image>`: no file, no decoding.
/// Faces are not found in it, so give it a renderer that needs none (or a rig with
/// [`TalkingHead::with_rigs`]).
///
/// ```
/// use std::time::Duration;
///
/// use bevy::prelude::*;
/// use bevy_talking_head::prelude::*;
/// use bevy_talking_head::testing::{flat_portrait, headless_app, output_pixels, update_until};
///
/// let mut app = headless_app("assets", TalkingHeadPlugin { workers: 1, ..default() });
/// let portrait = flat_portrait(&mut app, 16, [200, 40, 40, 255]);
/// let head = app
///     .world_mut()
///     .spawn(TalkingHead::new(portrait).with_renderer(HeadRendererKind::Still))
///     .id();
/// update_until(&mut app, Duration::from_secs(10), "the portrait", |app| {
///     output_pixels(app, head).starts_with(&[200, 40, 40, 255])
/// });
/// assert_eq!(output_pixels(&app, head).len(), 16 * 16 * 4);
/// ```
pub fn flat_portrait(app: &mut App, size: u32, rgba: [u8; 4]) -> Handle<Image> {
    let image = Image::new_fill(
        Extent3d {
            width: size,
            height: size,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        &rgba,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    app.world_mut().resource_mut::<Assets<Image>>().add(image)
}

/// Updates `app` until `done` holds, sleeping 2 ms between updates (renderers and drivers work on other
/// threads); panics with `what` after `timeout`. `done` is checked after each update.
///
/// ```
/// use std::time::Duration;
///
/// use bevy::prelude::*;
/// use bevy_talking_head::testing::update_until;
///
/// let mut app = App::new();
/// app.add_plugins(MinimalPlugins);
/// let mut updates = 0;
/// update_until(&mut app, Duration::from_secs(1), "three updates", |_| {
///     updates += 1;
///     updates == 3
/// });
/// ```
pub fn update_until(
    app: &mut App,
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&mut App) -> bool,
) {
    let start = Instant::now();
    loop {
        app.update();
        if done(app) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The RGBA8 pixels `head` shows now (its [`TalkingHead::output`]); empty before the texture exists.
/// Panics if `head` has no [`TalkingHead`].
///
/// ```
/// use bevy::prelude::*;
/// use bevy_talking_head::prelude::*;
/// use bevy_talking_head::testing::{flat_portrait, headless_app, output_pixels};
///
/// let mut app = headless_app("assets", TalkingHeadPlugin { workers: 1, ..default() });
/// let portrait = flat_portrait(&mut app, 16, [0, 0, 255, 255]);
/// let head = app
///     .world_mut()
///     .spawn(TalkingHead::new(portrait).with_output_size(UVec2::new(32, 24)))
///     .id();
/// app.update();
/// // After one update the texture has the output size and shows the still portrait.
/// let pixels = output_pixels(&app, head);
/// assert_eq!(pixels.len(), 32 * 24 * 4);
/// assert_eq!(pixels[..4], [0, 0, 255, 255]);
/// ```
pub fn output_pixels(app: &App, head: Entity) -> Vec<u8> {
    let head = app
        .world()
        .get::<TalkingHead>(head)
        .unwrap_or_else(|| panic!("{head} has no TalkingHead"));
    app.world()
        .resource::<Assets<Image>>()
        .get(head.output())
        .and_then(|i| i.data.clone())
        .unwrap_or_default()
}

/// The [`HeadStats`] of `head` (its renderer's name, frames rendered, dropped and failed, latency); zeros
/// before its first job.
///
/// ```
/// use std::time::Duration;
///
/// use bevy::prelude::*;
/// use bevy_talking_head::prelude::*;
/// use bevy_talking_head::testing::{flat_portrait, head_stats, headless_app, update_until};
///
/// let mut app = headless_app("assets", TalkingHeadPlugin { workers: 1, ..default() });
/// let portrait = flat_portrait(&mut app, 64, [90, 90, 90, 255]);
/// // The default renderer, the mesh warp, with a rig given (no face tracker, no model files).
/// let rig = PortraitRig::template([64, 64]);
/// let head = app.world_mut().spawn(TalkingHead::new(portrait).with_rigs(vec![rig])).id();
/// assert_eq!(head_stats(&app, head).frames_rendered, 0);
/// update_until(&mut app, Duration::from_secs(10), "a frame", |app| {
///     head_stats(app, head).frames_rendered > 0
/// });
/// assert_eq!(head_stats(&app, head).renderer, "mesh_warp");
/// ```
pub fn head_stats(app: &App, head: Entity) -> HeadStats {
    app.world()
        .resource::<TalkingHeadStats>()
        .get(head)
        .cloned()
        .unwrap_or_default()
}
