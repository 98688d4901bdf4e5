//! Loading a head's portraits: converted to the output size when they (or the head) change, the still
//! portrait shown at once, and the rig asked for when the head's renderer needs one. Runs at the start
//! of [`TalkingHeadSystems::Rig`](crate::schedule::TalkingHeadSystems::Rig).

use std::path::PathBuf;
use std::sync::Arc;

use bevy::asset::{AssetEvent, AssetId, Assets};
use bevy::ecs::prelude::*;
use bevy::image::Image;
use bevy::math::UVec2;

use super::apply::write_output;
use super::resolve::modified;
use super::state::HeadState;
use crate::error::{Error, Result};
use crate::head::TalkingHead;
use crate::portrait::PortraitImage;
use crate::report::{HeadErrors, asset_label};
use crate::rig::{HeadRig, RigRequest};

/// The folder file assets are read from (to find portraits' rig sidecars).
#[derive(Resource, Clone, Debug)]
pub(crate) struct AssetFolder(pub PathBuf);

/// Loads the portraits of heads whose inputs changed; shows the still portrait as soon as it has loaded.
///
/// Bevy's loaders decode the files (on its task pools); here each portrait is converted to RGBA8 and
/// scaled to the output size in one pass that reads only the pixels the output needs, where they lie
/// ([`PortraitImage::from_image_resized`]): work in proportion to the output, no copy of the image,
/// however large it is.
pub(crate) fn load_portraits(
    mut heads: Query<(Entity, Ref<TalkingHead>, &mut HeadState, &mut HeadRig)>,
    mut images: ResMut<Assets<Image>>,
    mut image_events: MessageReader<AssetEvent<Image>>,
    folder: Option<Res<AssetFolder>>,
    mut errors: HeadErrors,
) {
    let modified = modified(&mut image_events);
    for (entity, head, mut state, mut rig) in &mut heads {
        let state = &mut *state;
        // A cut-out head whose rig failed falls back to its whole still portrait; once rigged, the
        // renderer draws it cut out.
        if state.cutout_waiting && (rig.failed() || rig.rigged().is_some()) {
            state.cutout_waiting = false;
            if rig.failed()
                && let Some(still) = state.portraits.first().map(|p| p.rgba.clone())
            {
                state.applied_seq = state.bump();
                if let Some(old) = write_output(&mut images, &head, state.size, still) {
                    state.spare = old;
                }
            }
        }
        if head.is_changed() || head.portraits.iter().any(|p| modified.contains(&p.id())) {
            state.portraits.clear();
            state.portraits_failed = false;
            // The renderer may have changed too.
            state.renderer = None;
            state.renderer_failed = false;
        }
        if !state.portraits.is_empty() || state.portraits_failed {
            continue;
        }
        let Some(loaded) = gather(
            entity,
            &head,
            state,
            &images,
            folder.as_deref(),
            &mut errors,
        ) else {
            continue;
        };
        let mut ready = Vec::new();
        for (id, portrait, file) in loaded {
            match portrait {
                Ok(p) => ready.push((id, p, file)),
                Err(e) => errors.report(entity, e),
            }
        }
        if ready.is_empty() {
            state.portraits_failed = true;
            continue;
        }
        // Some portraits failed but others loaded: go on with those.
        state.portraits_failed = false;
        let size = state.size;
        let (ids, files): (Vec<_>, Vec<_>) =
            ready.iter().map(|(id, _, f)| (*id, f.clone())).unzip();
        state.portraits = ready.into_iter().map(|(_, p, _)| Arc::new(p)).collect();
        // The still portrait shows at once, and outranks anything rendered before. A cut-out head shows
        // nothing until its matte is ready (no flash of the portrait's background in a stream overlay).
        state.applied_seq = state.bump();
        state.cutout_waiting = head.cutout && head.renderer.needs_rig();
        let still = if state.cutout_waiting {
            vec![0; state.portraits[0].rgba.len()]
        } else {
            state.portraits[0].rgba.clone()
        };
        if let Some(old) = write_output(&mut images, &head, size, still) {
            state.spare = old;
        }
        state.pending = true;
        rig.request(head.renderer.needs_rig().then(|| RigRequest {
            ids,
            portraits: state.portraits.clone(),
            given: head.rigs.clone(),
            files,
            cutout: head.cutout,
            // Only the mesh warp (or your own renderer, through `RiggedPortraits::still_layers`) draws
            // it, and a cut-out has no background: no matte is made for nothing.
            still_background: head.still_background
                && !head.cutout
                && matches!(
                    head.renderer,
                    crate::HeadRendererKind::MeshWarp | crate::HeadRendererKind::Custom(_)
                ),
        }));
    }
}

/// A portrait at output size (or why not), with its asset id and file.
type Loaded = (AssetId<Image>, Result<PortraitImage>, Option<PathBuf>);

/// The head's portraits at output size once none is loading (failed loads are reported and skipped);
/// `None` while one is loading.
fn gather(
    entity: Entity,
    head: &TalkingHead,
    state: &mut HeadState,
    images: &Assets<Image>,
    folder: Option<&AssetFolder>,
    errors: &mut HeadErrors,
) -> Option<Vec<Loaded>> {
    let (mut found, mut failed) = (Vec::new(), Vec::new());
    let mut waiting = false;
    for handle in &head.portraits {
        let label = asset_label(handle);
        if let Some(image) = images.get(handle) {
            let file = folder
                .zip(handle.path())
                .map(|(f, p)| f.0.join(p.path()))
                .filter(|f| f.is_file());
            found.push((handle.id(), image, label, file));
        } else if let Some(message) = errors.load_failure(handle) {
            failed.push(Error::Asset {
                path: label,
                message,
            });
        } else {
            waiting = true;
        }
    }
    if waiting {
        return None;
    }
    for e in failed {
        errors.report(entity, e);
    }
    if found.is_empty() {
        state.portraits_failed = true;
        return None;
    }
    let first = found[0].1;
    let size = head
        .output_size
        .unwrap_or(UVec2::new(first.width(), first.height()))
        .max(UVec2::ONE);
    state.size = size;
    Some(
        found
            .into_iter()
            .map(|(id, image, label, file)| {
                let p = PortraitImage::from_image_resized(image, &label, size.x, size.y);
                (id, p, file)
            })
            .collect(),
    )
}
