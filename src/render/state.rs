//! [`HeadState`]: what the render stage keeps per head (registered as a required component of
//! `TalkingHead` by the plugin).

use std::sync::Arc;

use bevy::ecs::component::Component;
use bevy::math::UVec2;

use crate::portrait::PortraitImage;
use crate::renderer::HeadRenderer;

/// Per-head bookkeeping of the render stage (internal).
#[derive(Component, Default)]
pub(crate) struct HeadState {
    /// The portraits at output size; empty until they have loaded.
    pub portraits: Vec<Arc<PortraitImage>>,
    pub size: UVec2,
    /// The renderer resolved from the head's `HeadRendererKind`; `None` while its model loads or after it
    /// failed.
    pub renderer: Option<Arc<dyn HeadRenderer>>,
    /// Sequence numbers: every write into the texture and every job gets the next one.
    pub next_seq: u64,
    /// The job on the worker pool, if any (at most one per head).
    pub in_flight: Option<u64>,
    /// A newer face (or a new portrait or renderer) waits to be rendered.
    pub pending: bool,
    /// The pending render was asked for by a face change (so replacing it drops a frame).
    pub pending_face: bool,
    /// The newest sequence number written into the texture; older results are discarded.
    pub applied_seq: u64,
    /// A pixel buffer to recycle for the next job.
    pub spare: Vec<u8>,
    /// The portraits or the renderer failed for the head's current settings: don't retry every frame.
    pub portraits_failed: bool,
    pub renderer_failed: bool,
    /// A cut-out head shows nothing until its rig (and matte) is ready; if rigging fails, its whole still
    /// portrait.
    pub cutout_waiting: bool,
}

impl HeadState {
    pub fn bump(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}
