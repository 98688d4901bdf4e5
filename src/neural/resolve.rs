//! Resolving [`HeadRendererKind::Neural`] heads into a shared [`NeuralRenderer`] per pair of models (so
//! their frames batch). Runs in [`TalkingHeadSystems::Dispatch`](crate::schedule::TalkingHeadSystems::Dispatch),
//! beside the render stage's resolution of the built-in kinds.

use std::sync::{Arc, Weak};

use bevy::asset::{AssetEvent, AssetId, Assets};
use bevy::ecs::prelude::*;

use super::renderer::NeuralRenderer;
use crate::error::Error;
use crate::head::{HeadRendererKind, NeuralModels, TalkingHead};
use crate::onnx::OnnxModelAsset;
use crate::render::{HeadState, TalkingHeadStats, install, loaded_model, modified};
use crate::renderer::HeadRenderer;
use crate::report::HeadErrors;

/// Neural renderers by (embedder, generator), shared by the heads that use the pair; dropped with the
/// last head.
#[derive(Default)]
pub(crate) struct NeuralCache(
    Vec<(
        AssetId<OnnxModelAsset>,
        AssetId<OnnxModelAsset>,
        Weak<NeuralRenderer>,
    )>,
);

/// Resolves the renderers of neural heads.
pub(crate) fn resolve_neural_renderers(
    mut heads: Query<(Entity, &TalkingHead, &mut HeadState)>,
    models: Res<Assets<OnnxModelAsset>>,
    mut model_events: MessageReader<AssetEvent<OnnxModelAsset>>,
    mut errors: HeadErrors,
    mut stats: ResMut<TalkingHeadStats>,
    mut cache: Local<NeuralCache>,
) {
    let modified = modified(&mut model_events);
    cache
        .0
        .retain(|(e, g, r)| r.strong_count() > 0 && !modified.contains(e) && !modified.contains(g));
    for (entity, head, mut state) in &mut heads {
        let HeadRendererKind::Neural(m) = &head.renderer else {
            continue;
        };
        if modified.contains(&m.embedder.id()) || modified.contains(&m.generator.id()) {
            state.renderer = None;
            state.renderer_failed = false;
        }
        if state.renderer.is_some() || state.renderer_failed {
            continue;
        }
        let made = neural_renderer(m, &models, &errors, &mut cache)
            .map(|r| r.map(|r| r as Arc<dyn HeadRenderer>));
        install(entity, &mut state, made, &mut errors, &mut stats);
    }
}

/// The shared renderer of a pair of neural models: `Ok(None)` while either is loading.
fn neural_renderer(
    m: &NeuralModels,
    models: &Assets<OnnxModelAsset>,
    errors: &HeadErrors,
    cache: &mut NeuralCache,
) -> Result<Option<Arc<NeuralRenderer>>, Error> {
    let (e, g) = (m.embedder.id(), m.generator.id());
    if let Some(r) = cache
        .0
        .iter()
        .find(|(ce, cg, _)| *ce == e && *cg == g)
        .and_then(|(_, _, r)| r.upgrade())
    {
        return Ok(Some(r));
    }
    let Some(embedder) = loaded_model(models, errors, &m.embedder)? else {
        return Ok(None);
    };
    let Some(generator) = loaded_model(models, errors, &m.generator)? else {
        return Ok(None);
    };
    let renderer = NeuralRenderer::new(embedder, generator)?;
    cache.0.push((e, g, Arc::downgrade(&renderer)));
    Ok(Some(renderer))
}
