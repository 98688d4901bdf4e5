//! [`TalkingHeadPlugin`] (the core pipeline) and [`TalkingHeadPlugins`] (the core with every driver,
//! remote faces and, with feature `egui`, the inspector).

use std::path::PathBuf;
use std::sync::Arc;

use bevy::app::{App, Plugin, PluginGroup, PluginGroupBuilder, PostUpdate};
use bevy::asset::AssetApp;
use bevy::ecs::schedule::IntoScheduleConfigs;
use bevy::log::{info, warn};

use crate::drive::{
    FaceClipPlugin, FaceRecorderPlugin, IdleLifePlugin, LipSyncPlugin, LiveFacePlugin,
    TrackerConfig, compose_faces,
};
use crate::error::TalkingHeadError;
use crate::head::TalkingHead;
use crate::net::RemoteFacePlugin;
use crate::neural::resolve_neural_renderers;
use crate::onnx::{OnnxModelAsset, OnnxModelLoader, SessionOptions, onnx_runtime};
use crate::render::{
    AssetFolder, HeadState, RenderPool, TalkingHeadStats, apply_results, create_output,
    dispatch_jobs, forget_head, load_portraits, resolve_renderers,
};
use crate::report::LoggedErrors;
use crate::rig::{
    HeadRig, PortraitRigger, RigThreads, RiggedFace, Rigger, TrackerSource, retarget_faces,
    rig_portraits,
};
use crate::schedule::TalkingHeadSystems;

/// The core of talking heads: the `.onnx` model asset, the rig stage, the render worker pool and the
/// pipeline's systems ([`TalkingHeadSystems`]). Without drivers: heads move when their
/// [`FaceFrame`](crate::face::FaceFrame) is written. [`TalkingHeadPlugins`] adds this with every driver;
/// add it alone to pick drivers one by one from [`drive`](crate::drive).
///
/// Needs `AssetPlugin` and `ImagePlugin` (both in `DefaultPlugins`).
#[derive(Clone, Debug)]
pub struct TalkingHeadPlugin {
    /// Render worker threads, and as many threads that rig portraits (run the face tracker on a new
    /// portrait). Default: one less than the CPU count, at least one.
    pub workers: usize,
    /// The ONNX Runtime library to load. `None` looks at `ORT_DYLIB_PATH`, then beside the executable and
    /// where `make setup` puts it, then (feature `fetch-runtime`) fetches it (`runtime_fetch`).
    /// Without ONNX Runtime, heads with ONNX renderers stay on their still portrait, with an error saying
    /// which command to run.
    pub onnxruntime_library: Option<PathBuf>,
    /// Execution providers and threads for model sessions.
    pub session_options: SessionOptions,
    /// Where the face models are that rig portraits (portraits without a rig or sidecar are tracked
    /// once). `None` finds `assets/models` (where `make setup` puts them), else uses the models embedded
    /// in the crate (feature `embedded-models`, on by default).
    pub models_dir: Option<PathBuf>,
    /// What to fetch, from where, when no ONNX Runtime library is on disk (feature `fetch-runtime`):
    /// the CPU build from PyPI into the user's cache folder by default; [`RuntimePackage::Gpu`] for
    /// CUDA / TensorRT.
    ///
    /// [`RuntimePackage::Gpu`]: crate::onnx::fetch::RuntimePackage::Gpu
    #[cfg(feature = "fetch-runtime")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch-runtime")))]
    pub runtime_fetch: crate::onnx::fetch::FetchOptions,
    /// Save a `<portrait>.rig.json` sidecar next to portrait files after tracking them (default: yes), so
    /// the next start skips tracking and the rig can be edited by hand.
    pub write_rig_sidecars: bool,
}

impl Default for TalkingHeadPlugin {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            workers: cpus.saturating_sub(1).max(1),
            onnxruntime_library: None,
            session_options: SessionOptions::default(),
            models_dir: None,
            #[cfg(feature = "fetch-runtime")]
            runtime_fetch: Default::default(),
            write_rig_sidecars: true,
        }
    }
}

impl Plugin for TalkingHeadPlugin {
    fn build(&self, app: &mut App) {
        #[cfg(feature = "fetch-runtime")]
        crate::onnx::fetch::set_fetch_options(self.runtime_fetch.clone());
        let library = self.onnxruntime_library.clone();
        let load = move || match onnx_runtime(library.as_deref()) {
            Ok(rt) => info!(
                "bevy_talking_head: ONNX Runtime from {}",
                rt.library().display()
            ),
            Err(e) => warn!("bevy_talking_head: {e}"),
        };
        if crate::onnx::would_fetch(self.onnxruntime_library.as_deref()) {
            // A download: not while the app is built. Model loads wait for it on their own threads; heads
            // stay on their still portraits meanwhile.
            info!("bevy_talking_head: no ONNX Runtime on disk; fetching it on a thread of its own");
            if let Err(e) = std::thread::Builder::new()
                .name("bevy_talking_head: fetch onnxruntime".into())
                .spawn(load)
            {
                warn!("bevy_talking_head: cannot start the fetch thread: {e}");
            }
        } else {
            load();
        }
        info!(
            "bevy_talking_head: {} render worker(s), execution providers {:?}",
            self.workers.max(1),
            self.session_options.execution_providers
        );
        if !app.world().contains_resource::<Rigger>() {
            let rigger = PortraitRigger::new()
                .with_tracker(
                    self.models_dir
                        .clone()
                        .map_or(TrackerSource::Auto, TrackerSource::Dir),
                    self.session_options.clone(),
                )
                .with_sidecars(self.write_rig_sidecars);
            app.insert_resource(Rigger(Arc::new(rigger)));
        }
        app.init_asset::<OnnxModelAsset>()
            .register_asset_loader(OnnxModelLoader {
                options: self.session_options.clone(),
            })
            .add_message::<TalkingHeadError>()
            .init_resource::<LoggedErrors>()
            .insert_resource(RenderPool::new(self.workers))
            .insert_resource(RigThreads::new(self.workers))
            .init_resource::<TalkingHeadStats>()
            .insert_resource(TrackerConfig {
                models_dir: self.models_dir.clone(),
                options: self.session_options.clone(),
            })
            // What the stages keep per head.
            .register_required_components::<TalkingHead, RiggedFace>()
            .register_required_components::<TalkingHead, HeadRig>()
            .register_required_components::<TalkingHead, HeadState>()
            .add_observer(create_output)
            .add_observer(forget_head)
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
            .add_systems(
                PostUpdate,
                (
                    compose_faces.in_set(TalkingHeadSystems::Compose),
                    (load_portraits, rig_portraits, retarget_faces)
                        .chain()
                        .in_set(TalkingHeadSystems::Rig),
                    ((resolve_renderers, resolve_neural_renderers), dispatch_jobs)
                        .chain()
                        .in_set(TalkingHeadSystems::Dispatch),
                    apply_results.in_set(TalkingHeadSystems::Apply),
                ),
            );
        insert_asset_folder(app);
    }

    fn finish(&self, app: &mut App) {
        // In case AssetPlugin was added after this plugin.
        insert_asset_folder(app);
        if !app.is_plugin_added::<IdleLifePlugin>() && !app.is_plugin_added::<FaceClipPlugin>() {
            info!(
                "bevy_talking_head: no drivers added (heads move only when their FaceFrame is \
                 written); add TalkingHeadPlugins for idle life, clips, lip sync, live tracking and \
                 remote faces"
            );
        }
    }
}

/// Everything: [`TalkingHeadPlugin`] (the core) with every driver ([`IdleLifePlugin`],
/// [`FaceClipPlugin`], [`LipSyncPlugin`], [`LiveFacePlugin`], [`FaceRecorderPlugin`]), remote faces
/// ([`RemoteFacePlugin`]), VMC output ([`VmcSenderPlugin`](crate::interop::VmcSenderPlugin)) and, with feature `egui`, the inspector
/// (`TalkingHeadInspectorPlugin`, disabled: enable it where the app has `EguiPlugin`).
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// App::new().add_plugins((
///     DefaultPlugins,
///     // Like DefaultPlugins: `set` a plugin's settings, `disable` what you don't want.
///     TalkingHeadPlugins.set(TalkingHeadPlugin { workers: 2, ..default() }),
/// ));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TalkingHeadPlugins;

impl PluginGroup for TalkingHeadPlugins {
    fn build(self) -> PluginGroupBuilder {
        let group = PluginGroupBuilder::start::<Self>()
            .add(TalkingHeadPlugin::default())
            .add(IdleLifePlugin)
            .add(FaceClipPlugin)
            .add(LipSyncPlugin)
            .add(LiveFacePlugin)
            .add(FaceRecorderPlugin)
            .add(RemoteFacePlugin)
            .add(crate::interop::VmcSenderPlugin);
        #[cfg(feature = "egui")]
        let group = group
            .add(crate::ui::TalkingHeadInspectorPlugin)
            .disable::<crate::ui::TalkingHeadInspectorPlugin>();
        group
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
