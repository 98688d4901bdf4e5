//! Resolving each head's [`HeadRendererKind`] into a renderer: the built-in kinds here (the neural kind in
//! [`neural`](crate::neural)). Runs first in
//! [`TalkingHeadSystems::Dispatch`](crate::schedule::TalkingHeadSystems::Dispatch).

use std::sync::Arc;

use bevy::asset::{Asset, AssetEvent, AssetId, Assets, Handle};
use bevy::ecs::prelude::*;

use super::expression_filter::ExpressionFilterRenderer;
use super::state::HeadState;
use super::stats::TalkingHeadStats;
use super::warp::MeshWarpRenderer;
use crate::error::Error;
use crate::head::{HeadRendererKind, TalkingHead};
use crate::onnx::{OnnxModel, OnnxModelAsset};
use crate::renderer::HeadRenderer;
use crate::report::{HeadErrors, asset_label};

/// Resolves the renderers of heads of the built-in kinds (mesh warp, expression filter, custom).
pub(crate) fn resolve_renderers(
    mut heads: Query<(Entity, &TalkingHead, &mut HeadState)>,
    models: Res<Assets<OnnxModelAsset>>,
    mut model_events: MessageReader<AssetEvent<OnnxModelAsset>>,
    mut errors: HeadErrors,
    mut stats: ResMut<TalkingHeadStats>,
) {
    let modified = modified(&mut model_events);
    for (entity, head, mut state) in &mut heads {
        if let HeadRendererKind::ExpressionFilter(h) = &head.renderer
            && modified.contains(&h.id())
        {
            state.renderer = None;
            state.renderer_failed = false;
        }
        if state.renderer.is_some() || state.renderer_failed {
            continue;
        }
        let made: Result<Option<Arc<dyn HeadRenderer>>, Error> = match &head.renderer {
            // The still portrait is already showing.
            HeadRendererKind::Still => continue,
            HeadRendererKind::MeshWarp => Ok(Some(Arc::new(MeshWarpRenderer))),
            HeadRendererKind::Custom(r) => Ok(Some(r.clone())),
            HeadRendererKind::ExpressionFilter(handle) => loaded_model(&models, &errors, handle)
                .and_then(|m| m.map(ExpressionFilterRenderer::new).transpose())
                .map(|r| r.map(|r| Arc::new(r) as Arc<dyn HeadRenderer>)),
            // Resolved by the neural stage; any kind added later shows its still portrait.
            _ => continue,
        };
        install(entity, &mut state, made, &mut errors, &mut stats);
    }
}

/// Puts a resolved renderer on the head (`Ok(None)`: still loading; an error is reported and the head
/// stays on its still portrait until its settings change).
pub(crate) fn install(
    entity: Entity,
    state: &mut HeadState,
    made: Result<Option<Arc<dyn HeadRenderer>>, Error>,
    errors: &mut HeadErrors,
    stats: &mut TalkingHeadStats,
) {
    match made {
        Ok(Some(r)) => {
            stats.entry(entity).renderer = r.name().to_owned();
            state.renderer = Some(r);
            state.pending = true;
        }
        Ok(None) => {}
        Err(e) => {
            errors.report(entity, e);
            state.renderer_failed = true;
        }
    }
}

/// The assets modified since the reader last read (hot reload).
pub(crate) fn modified<A: Asset>(events: &mut MessageReader<AssetEvent<A>>) -> Vec<AssetId<A>> {
    events
        .read()
        .filter_map(|e| match e {
            AssetEvent::Modified { id } => Some(*id),
            _ => None,
        })
        .collect()
}

/// A loaded model asset: `Ok(None)` while it loads, an error naming the file when loading failed.
pub(crate) fn loaded_model(
    models: &Assets<OnnxModelAsset>,
    errors: &HeadErrors,
    handle: &Handle<OnnxModelAsset>,
) -> Result<Option<Arc<OnnxModel>>, Error> {
    if let Some(asset) = models.get(handle) {
        return Ok(Some(asset.model.clone()));
    }
    match errors.load_failure(handle) {
        Some(message) => Err(Error::Asset {
            path: asset_label(handle),
            message,
        }),
        None => Ok(None),
    }
}
