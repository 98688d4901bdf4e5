//! Apply: finished frames written into the heads' textures in place, newest only, and stats. Runs in
//! [`TalkingHeadSystems::Apply`](crate::schedule::TalkingHeadSystems::Apply). Also gives each new head
//! its output texture, and forgets a head's stats and logged errors when it goes.

use bevy::asset::{Assets, Handle, RenderAssetUsages};
use bevy::ecs::prelude::*;
use bevy::image::Image;
use bevy::math::UVec2;
use wgpu_types::{Extent3d, TextureDimension, TextureFormat};

use super::pool::RenderPool;
use super::state::HeadState;
use super::stats::TalkingHeadStats;
use crate::head::TalkingHead;
use crate::report::{HeadErrors, LoggedErrors};

/// An RGBA8 sRGB image of `size`, kept in both worlds so the CPU can keep writing it.
pub(crate) fn output_image(size: UVec2, rgba: Vec<u8>) -> Image {
    Image::new(
        Extent3d {
            width: size.x,
            height: size.y,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        rgba,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    )
}

/// Gives a new head without an output texture its own (transparent until the portrait has loaded).
pub(crate) fn create_output(
    add: On<Add, TalkingHead>,
    mut heads: Query<&mut TalkingHead>,
    images: Option<ResMut<Assets<Image>>>,
) {
    let Ok(mut head) = heads.get_mut(add.entity) else {
        return;
    };
    if *head.output() != Handle::default() {
        return;
    }
    let Some(mut images) = images else {
        bevy::log::error!(
            "TalkingHead added but there is no Assets<Image>: add ImagePlugin (DefaultPlugins has it)"
        );
        return;
    };
    let handle = images.add(output_image(UVec2::ONE, vec![0; 4]));
    head.bypass_change_detection().set_output(handle);
}

/// Forgets a head's stats and logged errors when its `TalkingHead` goes.
pub(crate) fn forget_head(
    remove: On<Remove, TalkingHead>,
    mut stats: ResMut<TalkingHeadStats>,
    mut logged: ResMut<LoggedErrors>,
) {
    stats.remove(remove.entity);
    logged.forget(remove.entity);
}

/// Writes `pixels` (at `size`) into the head's output texture, replacing the image if the size changed.
/// Returns the texture's previous pixels when they were replaced in place (a buffer to recycle).
pub(crate) fn write_output(
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

/// Writes finished frames into the heads' textures, newest only, and updates stats.
pub(crate) fn apply_results(
    pool: Res<RenderPool>,
    mut heads: Query<(&TalkingHead, &mut HeadState)>,
    mut images: ResMut<Assets<Image>>,
    mut errors: HeadErrors,
    mut stats: ResMut<TalkingHeadStats>,
) {
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
                errors.report(entity, e);
                if let Some(p) = state.portraits.first() {
                    write_output(&mut images, head, size, p.rgba.clone());
                }
            }
        }
    }
}
