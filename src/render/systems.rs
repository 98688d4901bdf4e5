//! The dispatch and apply systems, per-head state and stats.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bevy::asset::{AssetEvent, AssetId, AssetServer, Assets, Handle, LoadState};
use bevy::ecs::prelude::*;
use bevy::image::Image;
use bevy::log::{debug, error};
use bevy::math::UVec2;

use super::pool::{RenderJob, RenderPool};
use super::portrait::PortraitImage;
use super::renderer::{ExpressionFilterRenderer, HeadRenderer};
use super::warp::MeshWarpRenderer;
use crate::error::{Error, TalkingHeadError};
use crate::head::{HeadRendererKind, TalkingHead, output_image};
use crate::neural::{NeuralModels, NeuralRenderer};
use crate::onnx::{OnnxModel, OnnxModelAsset};
use crate::rig::RiggedFace;

/// The mesh-warp renderer the plugin shares between heads (its portrait cache and face tracker with it).
#[derive(Resource, Clone)]
pub struct SharedMeshWarp(pub Arc<MeshWarpRenderer>);

/// The folder file assets are read from (to find portraits' rig sidecars).
#[derive(Resource, Clone, Debug)]
pub(crate) struct AssetFolder(pub PathBuf);

/// Per-head bookkeeping of the pipeline (internal).
#[derive(Component, Default)]
pub(crate) struct HeadState {
    /// The portraits at output size; empty until they have loaded.
    portraits: Vec<Arc<PortraitImage>>,
    /// The portraits' files on disk, where known (for rig sidecars).
    portrait_files: Vec<Option<PathBuf>>,
    size: UVec2,
    /// The renderer resolved from [`HeadRendererKind`]; `None` while its model loads or after it failed.
    renderer: Option<Arc<dyn HeadRenderer>>,
    /// Sequence numbers: every write into the texture and every job gets the next one.
    next_seq: u64,
    /// The job on the worker pool, if any (at most one per head).
    in_flight: Option<u64>,
    /// A newer face (or a new portrait or renderer) waits to be rendered.
    pending: bool,
    /// The pending render was asked for by a face change (so replacing it drops a frame).
    pending_face: bool,
    /// The newest sequence number written into the texture; older results are discarded.
    applied_seq: u64,
    /// A pixel buffer to recycle for the next job.
    spare: Vec<u8>,
    /// Problems already logged for this head, so each is logged once.
    logged: Vec<String>,
    /// The portraits or the renderer failed for the head's current settings: don't retry every frame.
    portraits_failed: bool,
    renderer_failed: bool,
}

impl HeadState {
    fn bump(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

/// Timing and counts for one head.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadStats {
    /// The renderer's name.
    pub renderer: String,
    /// Frames rendered and written into the texture.
    pub frames_rendered: u64,
    /// Faces that were never rendered because a newer one replaced them, plus results discarded as stale.
    pub frames_dropped: u64,
    /// Frames whose rendering failed (the still portrait was shown instead).
    pub frames_failed: u64,
    /// Time from dispatch to the texture write, for the last frame.
    pub last_latency: Duration,
    /// Exponential moving average (1/8 weight) of the latency.
    pub mean_latency: Duration,
    /// The largest latency seen.
    pub max_latency: Duration,
    /// Time the renderer itself took for the last frame.
    pub last_render_time: Duration,
    /// A job is on the worker pool now.
    pub in_flight: bool,
    /// [`FaceFrame::time`](crate::FaceFrame::time) of the face the texture shows now: with a live driver,
    /// the capture time, so capture-to-texture latency can be measured.
    pub last_face_time: f64,
}

/// Per-head [`HeadStats`], updated in [`TalkingHeadSystems::Apply`](crate::TalkingHeadSystems::Apply).
#[derive(Resource, Debug, Default)]
pub struct TalkingHeadStats {
    heads: HashMap<Entity, HeadStats>,
}

impl TalkingHeadStats {
    /// Stats of one head.
    pub fn get(&self, head: Entity) -> Option<&HeadStats> {
        self.heads.get(&head)
    }

    /// All heads' stats.
    pub fn iter(&self) -> impl Iterator<Item = (Entity, &HeadStats)> {
        self.heads.iter().map(|(e, s)| (*e, s))
    }

    fn entry(&mut self, head: Entity) -> &mut HeadStats {
        self.heads.entry(head).or_default()
    }
}

fn report(
    entity: Entity,
    state: &mut HeadState,
    error: Error,
    errors: &mut MessageWriter<TalkingHeadError>,
) {
    let text = error.to_string();
    if state.logged.contains(&text) {
        debug!("talking head {entity}: {text}");
    } else {
        error!("talking head {entity}: {text}");
        state.logged.push(text);
    }
    errors.write(TalkingHeadError {
        entity,
        error: Arc::new(error),
    });
}

pub(crate) fn load_failure(
    server: Option<&AssetServer>,
    id: impl Into<bevy::asset::UntypedAssetId>,
) -> Option<String> {
    match server?.get_load_state(id)? {
        // Bevy's error text can carry a backtrace after the first line.
        LoadState::Failed(e) => Some(e.to_string().lines().next().unwrap_or_default().to_owned()),
        _ => None,
    }
}

/// Writes `pixels` (at `size`) into the head's output texture, replacing the image if the size changed.
fn write_output(
    images: &mut Assets<Image>,
    head: &TalkingHead,
    size: UVec2,
    pixels: Vec<u8>,
) -> Option<Vec<u8>> {
    let mut image = images.get_mut(head.output())?;
    if image.width() == size.x
        && image.height() == size.y
        && image.data.as_ref().is_some_and(|d| d.len() == pixels.len())
    {
        image.data.replace(pixels)
    } else {
        *image = output_image(size, pixels);
        None
    }
}

/// Resolves portraits and renderers of heads whose inputs changed; shows the still portrait as soon as it
/// has loaded.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare_heads(
    mut heads: Query<(Entity, Ref<TalkingHead>, &mut HeadState)>,
    mut images: ResMut<Assets<Image>>,
    models: Res<Assets<OnnxModelAsset>>,
    server: Option<Res<AssetServer>>,
    mut image_events: MessageReader<AssetEvent<Image>>,
    mut model_events: MessageReader<AssetEvent<OnnxModelAsset>>,
    mut errors: MessageWriter<TalkingHeadError>,
    mut stats: ResMut<TalkingHeadStats>,
    mesh_warp: Res<SharedMeshWarp>,
    folder: Option<Res<AssetFolder>>,
    mut neural: Local<NeuralCache>,
) {
    neural.retain(|(_, _, r)| r.strong_count() > 0);
    let server = server.as_deref();
    let modified_images: Vec<_> = image_events
        .read()
        .filter_map(|e| match e {
            AssetEvent::Modified { id } => Some(*id),
            _ => None,
        })
        .collect();
    let modified_models: Vec<_> = model_events
        .read()
        .filter_map(|e| match e {
            AssetEvent::Modified { id } => Some(*id),
            _ => None,
        })
        .collect();
    for (entity, head, mut state) in &mut heads {
        let state = &mut *state;
        let portraits_stale = head.is_changed()
            || head
                .portraits
                .iter()
                .any(|p| modified_images.contains(&p.id()));
        if portraits_stale {
            state.portraits.clear();
            state.renderer = None;
            state.portraits_failed = false;
            state.renderer_failed = false;
        }
        let models_changed = match &head.renderer {
            HeadRendererKind::ExpressionFilter(h) => modified_models.contains(&h.id()),
            HeadRendererKind::Neural(m) => {
                modified_models.contains(&m.embedder.id())
                    || modified_models.contains(&m.generator.id())
            }
            _ => false,
        };
        if models_changed {
            state.renderer = None;
            state.renderer_failed = false;
            neural.retain(|(e, g, _)| !modified_models.contains(e) && !modified_models.contains(g));
        }

        // Portraits: all that have loaded (failed ones are reported and skipped), once none is loading.
        if state.portraits.is_empty() && !state.portraits_failed {
            let mut loaded = Vec::new();
            let mut files = Vec::new();
            let mut waiting = false;
            for handle in &head.portraits {
                let label = handle
                    .path()
                    .map_or_else(|| "<unnamed image>".to_owned(), |p| p.to_string());
                if let Some(image) = images.get(handle) {
                    match PortraitImage::from_image(image, &label) {
                        Ok(p) => {
                            loaded.push(p);
                            files.push(
                                folder
                                    .as_deref()
                                    .zip(handle.path())
                                    .map(|(f, p)| f.0.join(p.path()))
                                    .filter(|f| f.is_file()),
                            );
                        }
                        Err(e) => {
                            report(entity, state, e, &mut errors);
                            state.portraits_failed = true;
                        }
                    }
                } else if let Some(message) = load_failure(server, handle) {
                    report(
                        entity,
                        state,
                        Error::Asset {
                            path: label,
                            message,
                        },
                        &mut errors,
                    );
                    state.portraits_failed = true;
                } else {
                    waiting = true;
                }
            }
            if waiting || loaded.is_empty() {
                continue;
            }
            // Some portraits failed but others loaded: go on with those.
            state.portraits_failed = false;
            let size = head
                .output_size
                .unwrap_or(UVec2::new(loaded[0].width, loaded[0].height))
                .max(UVec2::ONE);
            state.size = size;
            state.portrait_files = files;
            state.portraits = loaded
                .into_iter()
                .map(|p| Arc::new(p.resized(size.x, size.y)))
                .collect();
            // The still portrait shows at once, and outranks anything rendered before.
            state.applied_seq = state.bump();
            let still = state.portraits[0].rgba.clone();
            if let Some(old) = write_output(&mut images, &head, size, still) {
                state.spare = old;
            }
            state.pending = true;
        }

        if state.renderer.is_none() && !state.renderer_failed {
            // `Ok(None)`: a model is still loading.
            let made: Result<Option<Arc<dyn HeadRenderer>>, Error> = match &head.renderer {
                HeadRendererKind::Still => Ok(None),
                HeadRendererKind::MeshWarp => Ok(Some(mesh_warp.0.clone())),
                HeadRendererKind::Custom(r) => Ok(Some(r.clone())),
                HeadRendererKind::Neural(m) => {
                    neural_renderer(m, &models, server, &mesh_warp, &mut neural)
                        .map(|r| r.map(|r| r as Arc<dyn HeadRenderer>))
                }
                HeadRendererKind::ExpressionFilter(handle) => loaded_model(&models, server, handle)
                    .and_then(|m| m.map(ExpressionFilterRenderer::new).transpose())
                    .map(|r| r.map(|r| Arc::new(r) as Arc<dyn HeadRenderer>)),
            };
            state.renderer = made.unwrap_or_else(|e| {
                report(entity, state, e, &mut errors);
                state.renderer_failed = true;
                None
            });
            if let Some(r) = &state.renderer {
                stats.entry(entity).renderer = r.name().to_owned();
                state.pending = true;
            }
        }
    }
}

/// Neural renderers by (embedder, generator), shared by the heads that use the pair (so their frames
/// batch); dropped with the last head.
pub(crate) type NeuralCache = Vec<(
    AssetId<OnnxModelAsset>,
    AssetId<OnnxModelAsset>,
    Weak<NeuralRenderer>,
)>;

/// A loaded model asset: `Ok(None)` while it loads, an error naming the file when loading failed.
fn loaded_model(
    models: &Assets<OnnxModelAsset>,
    server: Option<&AssetServer>,
    handle: &Handle<OnnxModelAsset>,
) -> Result<Option<Arc<OnnxModel>>, Error> {
    if let Some(asset) = models.get(handle) {
        return Ok(Some(asset.model.clone()));
    }
    match load_failure(server, handle) {
        Some(message) => Err(Error::Asset {
            path: handle
                .path()
                .map_or_else(|| "<unnamed model>".to_owned(), |p| p.to_string()),
            message,
        }),
        None => Ok(None),
    }
}

/// The shared renderer of a pair of neural models: `Ok(None)` while either is loading.
fn neural_renderer(
    m: &NeuralModels,
    models: &Assets<OnnxModelAsset>,
    server: Option<&AssetServer>,
    mesh_warp: &SharedMeshWarp,
    cache: &mut NeuralCache,
) -> Result<Option<Arc<NeuralRenderer>>, Error> {
    let (e, g) = (m.embedder.id(), m.generator.id());
    if let Some(r) = cache
        .iter()
        .find(|(ce, cg, _)| *ce == e && *cg == g)
        .and_then(|(_, _, r)| r.upgrade())
    {
        return Ok(Some(r));
    }
    let Some(embedder) = loaded_model(models, server, &m.embedder)? else {
        return Ok(None);
    };
    let Some(generator) = loaded_model(models, server, &m.generator)? else {
        return Ok(None);
    };
    let renderer = NeuralRenderer::new(embedder, generator, mesh_warp.0.clone())?;
    cache.push((e, g, Arc::downgrade(&renderer)));
    Ok(Some(renderer))
}

/// Sends one job per head whose face changed, unless that head already has one in flight (then the newest
/// face waits, replacing any older waiting face).
pub(crate) fn dispatch_jobs(
    mut heads: Query<(Entity, &TalkingHead, Ref<RiggedFace>, &mut HeadState)>,
    pool: Res<RenderPool>,
    mut stats: ResMut<TalkingHeadStats>,
) {
    for (entity, head, rig, mut state) in &mut heads {
        let head_rigs = &head.rigs;
        let state = &mut *state;
        if rig.is_changed() {
            if state.pending_face {
                stats.entry(entity).frames_dropped += 1;
            }
            state.pending = true;
            state.pending_face = true;
        }
        let Some(renderer) = state.renderer.clone() else {
            continue;
        };
        if !state.pending || state.in_flight.is_some() || state.portraits.is_empty() {
            continue;
        }
        let seq = state.bump();
        let job = RenderJob {
            head: entity,
            seq,
            face: rig.face,
            rig: RiggedFace::clone(&rig),
            portraits: state.portraits.clone(),
            rigs: head_rigs.clone(),
            portrait_files: state.portrait_files.clone(),
            width: state.size.x,
            height: state.size.y,
            renderer,
            buffer: std::mem::take(&mut state.spare),
            dispatched_at: Instant::now(),
        };
        if pool.submit(job) {
            state.in_flight = Some(seq);
            state.pending = false;
            state.pending_face = false;
            stats.entry(entity).in_flight = true;
        }
    }
}

/// Writes finished frames into the heads' textures, newest only, and updates stats.
pub(crate) fn apply_results(
    pool: Res<RenderPool>,
    mut heads: Query<(&TalkingHead, &mut HeadState)>,
    mut images: ResMut<Assets<Image>>,
    mut errors: MessageWriter<TalkingHeadError>,
    mut stats: ResMut<TalkingHeadStats>,
    mut removed: RemovedComponents<TalkingHead>,
) {
    for entity in removed.read() {
        stats.heads.remove(&entity);
    }
    for outcome in pool.finished() {
        let Ok((head, mut state)) = heads.get_mut(outcome.head) else {
            continue;
        };
        let state = &mut *state;
        let entity = outcome.head;
        if state.in_flight == Some(outcome.seq) {
            state.in_flight = None;
            stats.entry(entity).in_flight = false;
        }
        let size = UVec2::new(outcome.width, outcome.height);
        if outcome.seq <= state.applied_seq || size != state.size {
            // Something newer is already showing (a still after a portrait or renderer change).
            stats.entry(entity).frames_dropped += 1;
            if let Ok(buffer) = outcome.pixels {
                state.spare = buffer;
            }
            continue;
        }
        state.applied_seq = outcome.seq;
        let latency = outcome.dispatched_at.elapsed();
        if outcome.redraw {
            // A stand-in frame: draw the face again next frame.
            state.pending = true;
        }
        match outcome.pixels {
            Ok(pixels) => {
                if let Some(old) = write_output(&mut images, head, size, pixels) {
                    state.spare = old;
                }
                let s = stats.entry(entity);
                s.frames_rendered += 1;
                s.last_latency = latency;
                s.mean_latency = if s.frames_rendered == 1 {
                    latency
                } else {
                    (s.mean_latency * 7 + latency) / 8
                };
                s.max_latency = s.max_latency.max(latency);
                s.last_render_time = outcome.render_time;
                s.last_face_time = outcome.face_time;
            }
            Err(e) => {
                stats.entry(entity).frames_failed += 1;
                report(entity, state, e, &mut errors);
                if let Some(p) = state.portraits.first() {
                    write_output(&mut images, head, size, p.rgba.clone());
                }
            }
        }
    }
}
