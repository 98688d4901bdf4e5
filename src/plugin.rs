//! [`TalkingHeadPlugin`] and the public, chained [`TalkingHeadSystems`].

use std::path::PathBuf;
use std::sync::Arc;

use bevy::app::{App, Plugin, PostUpdate};
use bevy::asset::AssetApp;
use bevy::ecs::schedule::{IntoScheduleConfigs, SystemSet};
use bevy::log::{info, warn};

use crate::drive::{TrackerConfig, add_driver_plugins, compose_faces};
use crate::error::TalkingHeadError;
use crate::onnx::{OnnxModelAsset, OnnxModelLoader, SessionOptions, onnx_runtime};
use crate::render::systems::{
    AssetFolder, SharedMeshWarp, apply_results, dispatch_jobs, prepare_heads,
};
use crate::render::{MeshWarpRenderer, RenderPool, TalkingHeadStats, TrackerSource};
use crate::rig::rig_faces;

/// The pipeline's stages, run in this order in `PostUpdate`, after your game logic in `Update`.
///
/// Write [`FaceFrame`](crate::FaceFrame)s in `Update` or in [`GatherFaces`](Self::GatherFaces); read
/// [`TalkingHeadStats`] after [`Apply`](Self::Apply).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TalkingHeadSystems {
    /// Drivers (webcam, clips, idle life, lip sync, network) write each head's layers
    /// ([`FaceLayers`](crate::drive::FaceLayers)), or its `FaceFrame` directly.
    GatherFaces,
    /// Each head's changed layers are blended into its `FaceFrame` (heads without layers keep theirs).
    Compose,
    /// Each changed `FaceFrame` is sanitised and retargeted onto its portrait (`RiggedFace`).
    Rig,
    /// Portraits and renderers are resolved, and one render job per changed head goes to the worker pool
    /// (never more than one in flight per head; the newest face waits, older waiting faces are dropped).
    Dispatch,
    /// Finished frames are written into the heads' textures in place, newest only; stats are updated.
    Apply,
}

/// Adds talking heads to an app: the `.onnx` model asset, the render worker pool and the pipeline systems.
///
/// Needs `AssetPlugin` and `ImagePlugin` (both in `DefaultPlugins`).
#[derive(Clone, Debug)]
pub struct TalkingHeadPlugin {
    /// Render worker threads. Default: one less than the CPU count, at least one.
    pub workers: usize,
    /// The ONNX Runtime library to load. `None` looks at `ORT_DYLIB_PATH`, then where `make setup` puts it.
    /// Without ONNX Runtime, heads with ONNX renderers stay on their still portrait, with an error saying
    /// which command to run.
    pub onnxruntime_library: Option<PathBuf>,
    /// Execution providers and threads for model sessions.
    pub session_options: SessionOptions,
    /// Where the face models are that rig portraits for the mesh-warp renderer (portraits without a rig
    /// or sidecar are tracked once). `None` finds `assets/models` (where `make setup` puts them).
    pub models_dir: Option<PathBuf>,
    /// Save a `<portrait>.rig.json` sidecar next to portrait files after tracking them (default: yes), so
    /// the next start skips tracking and the rig can be edited by hand.
    pub write_rig_sidecars: bool,
    /// Add the driver plugins (idle life, clips, lip sync, live tracking, recording) if they are not
    /// added yet (default: yes). Turn off to pick drivers one by one from [`drive`](crate::drive).
    pub drivers: bool,
}

impl Default for TalkingHeadPlugin {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            workers: cpus.saturating_sub(1).max(1),
            onnxruntime_library: None,
            session_options: SessionOptions::default(),
            models_dir: None,
            write_rig_sidecars: true,
            drivers: true,
        }
    }
}

impl Plugin for TalkingHeadPlugin {
    fn build(&self, app: &mut App) {
        match onnx_runtime(self.onnxruntime_library.as_deref()) {
            Ok(rt) => info!(
                "bevy_talking_head: ONNX Runtime from {}",
                rt.library().display()
            ),
            Err(e) => warn!("bevy_talking_head: {e}"),
        }
        info!(
            "bevy_talking_head: {} render worker(s), execution providers {:?}",
            self.workers.max(1),
            self.session_options.execution_providers
        );
        app.init_asset::<OnnxModelAsset>()
            .register_asset_loader(OnnxModelLoader {
                options: self.session_options.clone(),
            })
            .add_message::<TalkingHeadError>()
            .insert_resource(RenderPool::new(self.workers))
            .insert_resource(SharedMeshWarp(Arc::new(
                MeshWarpRenderer::new()
                    .with_tracker(
                        self.models_dir
                            .clone()
                            .map_or(TrackerSource::Auto, TrackerSource::Dir),
                        self.session_options.clone(),
                    )
                    .with_sidecars(self.write_rig_sidecars),
            )))
            .init_resource::<TalkingHeadStats>()
            .configure_sets(
                PostUpdate,
                (
                    TalkingHeadSystems::GatherFaces,
                    TalkingHeadSystems::Compose,
                    TalkingHeadSystems::Rig,
                    TalkingHeadSystems::Dispatch,
                    TalkingHeadSystems::Apply,
                )
                    .chain(),
            )
            .insert_resource(TrackerConfig {
                models_dir: self.models_dir.clone(),
                options: self.session_options.clone(),
            })
            .add_systems(
                PostUpdate,
                compose_faces.in_set(TalkingHeadSystems::Compose),
            )
            .add_systems(PostUpdate, rig_faces.in_set(TalkingHeadSystems::Rig))
            .add_systems(
                PostUpdate,
                (prepare_heads, dispatch_jobs)
                    .chain()
                    .in_set(TalkingHeadSystems::Dispatch),
            )
            .add_systems(PostUpdate, apply_results.in_set(TalkingHeadSystems::Apply));
        insert_asset_folder(app);
        if self.drivers {
            add_driver_plugins(app);
        }
    }

    fn finish(&self, app: &mut App) {
        // In case AssetPlugin was added after this plugin.
        insert_asset_folder(app);
    }
}

/// Rig sidecars sit next to portrait files in the asset folder: remember where that is.
fn insert_asset_folder(app: &mut App) {
    #[cfg(not(target_arch = "wasm32"))]
    if !app.world().contains_resource::<AssetFolder>()
        && let Some(asset) = app.get_added_plugins::<bevy::asset::AssetPlugin>().first()
    {
        let base = bevy::asset::io::file::FileAssetReader::get_base_path();
        let folder = base.join(&asset.file_path);
        app.insert_resource(AssetFolder(folder));
    }
}
