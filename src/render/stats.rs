//! [`HeadStats`] and [`TalkingHeadStats`]: what the pipeline did for each head.

use std::collections::HashMap;
use std::time::Duration;

use bevy::ecs::entity::Entity;
use bevy::ecs::resource::Resource;

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
    /// [`FaceFrame::time`](crate::face::FaceFrame::time) of the face the texture shows now: with a live
    /// driver, the capture time, so capture-to-texture latency can be measured.
    pub last_face_time: f64,
}

/// Per-head [`HeadStats`], updated in [`TalkingHeadSystems::Apply`](crate::schedule::TalkingHeadSystems::Apply).
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

    pub(crate) fn entry(&mut self, head: Entity) -> &mut HeadStats {
        self.heads.entry(head).or_default()
    }

    pub(crate) fn remove(&mut self, head: Entity) {
        self.heads.remove(&head);
    }
}
