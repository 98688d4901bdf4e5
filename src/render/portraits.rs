//! Loading a head's portraits: converted to the output size when they (or the head) change, the still
//! portrait shown at once, and the rig asked for when the head's renderer needs one. Runs at the start
//! of [`TalkingHeadSystems::Rig`](crate::schedule::TalkingHeadSystems::Rig).

use std::path::PathBuf;
use std::sync::Arc;

use bevy::asset::{AssetEvent, Assets};
use bevy::ecs::prelude::*;
use bevy::image::Image;
use bevy::math::UVec2;

use super::apply::write_output;
use super::resolve::modified;
use super::state::HeadState;
use crate::error::Error;
use crate::head::TalkingHead;
use crate::portrait::PortraitImage;
use crate::report::{HeadErrors, asset_label};
use crate::rig::{HeadRig, RigRequest};

/// The folder file assets are read from (to find portraits' rig sidecars).
#[derive(Resource, Clone, Debug)]
pub(crate) struct AssetFolder(pub PathBuf);

/// Loads the portraits of heads whose inputs changed; shows the still portrait as soon as it has loaded.
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
        // All that have loaded (failed ones are reported and skipped), once none is loading.
        let mut loaded = Vec::new();
        let mut waiting = false;
        for handle in &head.portraits {
            let label = asset_label(handle);
            if let Some(image) = images.get(handle) {
                match PortraitImage::from_image(image, &label) {
                    Ok(p) => {
                        let file = folder
                            .as_deref()
                            .zip(handle.path())
                            .map(|(f, p)| f.0.join(p.path()))
                            .filter(|f| f.is_file());
                        loaded.push((handle.id(), p, file));
                    }
                    Err(e) => {
                        errors.report(entity, e);
                        state.portraits_failed = true;
                    }
                }
            } else if let Some(message) = errors.load_failure(handle) {
                errors.report(
                    entity,
                    Error::Asset {
                        path: label,
                        message,
                    },
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
        let first = &loaded[0].1;
        let size = head
            .output_size
            .unwrap_or(UVec2::new(first.width, first.height))
            .max(UVec2::ONE);
        state.size = size;
        let (ids, files): (Vec<_>, Vec<_>) =
            loaded.iter().map(|(id, _, f)| (*id, f.clone())).unzip();
        state.portraits = loaded
            .into_iter()
            .map(|(_, p, _)| Arc::new(p.resized(size.x, size.y)))
            .collect();
        // The still portrait shows at once, and outranks anything rendered before.
        state.applied_seq = state.bump();
        let still = state.portraits[0].rgba.clone();
        if let Some(old) = write_output(&mut images, &head, size, still) {
            state.spare = old;
        }
        state.pending = true;
        rig.request(head.renderer.needs_rig().then(|| RigRequest {
            ids,
            portraits: state.portraits.clone(),
            given: head.rigs.clone(),
            files,
        }));
    }
}
