//! Dispatch and the worker pool: one render job per head whose face changed goes to worker threads that
//! run [`HeadRenderer`]s off the main thread, joined to the ECS by crossbeam channels. The dispatch system
//! runs in [`TalkingHeadSystems::Dispatch`](crate::schedule::TalkingHeadSystems::Dispatch).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::ecs::prelude::*;
use crossbeam_channel::{Receiver, Sender, unbounded};

use super::state::HeadState;
use super::stats::TalkingHeadStats;
use crate::error::Error;
use crate::portrait::PortraitImage;
use crate::renderer::{HeadRenderer, RenderRequest, RenderTarget};
use crate::rig::{HeadRig, RiggedFace, RiggedPortraits};

/// One frame to render for one head.
pub(crate) struct RenderJob {
    pub head: Entity,
    pub seq: u64,
    /// The face, sanitised and retargeted (once: the job's only copy).
    pub face: RiggedFace,
    pub portraits: Vec<Arc<PortraitImage>>,
    /// The head's rigged portraits, for renderers that need them.
    pub rig: Option<Arc<RiggedPortraits>>,
    pub width: u32,
    pub height: u32,
    pub renderer: Arc<dyn HeadRenderer>,
    /// A recycled pixel buffer to render into (resized by the worker as needed).
    pub buffer: Vec<u8>,
    pub dispatched_at: Instant,
}

/// What came back from a worker.
pub(crate) struct RenderOutcome {
    pub head: Entity,
    pub seq: u64,
    pub width: u32,
    pub height: u32,
    pub pixels: Result<Vec<u8>, Error>,
    pub dispatched_at: Instant,
    pub render_time: Duration,
    /// `time` of the face it shows.
    pub face_time: f64,
    /// The renderer drew a stand-in and wants the face again ([`HeadRenderer::wants_redraw`]).
    pub redraw: bool,
}

/// Sends one job per head whose face changed, unless that head already has one in flight (then the newest
/// face waits, replacing any older waiting face). A head whose renderer needs a rig waits for it.
pub(crate) fn dispatch_jobs(
    mut heads: Query<(Entity, Ref<RiggedFace>, &HeadRig, &mut HeadState)>,
    pool: Res<RenderPool>,
    mut stats: ResMut<TalkingHeadStats>,
) {
    for (entity, face, head_rig, mut state) in &mut heads {
        let state = &mut *state;
        if face.is_changed() {
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
        let rig = if renderer.needs_rig() {
            match (head_rig.rigged(), &face.target) {
                (Some(rig), Some(_)) => Some(rig.clone()),
                // Still being rigged (or rigging failed, which was reported): the still portrait shows.
                _ => continue,
            }
        } else {
            None
        };
        let seq = state.bump();
        let job = RenderJob {
            head: entity,
            seq,
            face: RiggedFace::clone(&face),
            portraits: state.portraits.clone(),
            rig,
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

/// The render worker pool. Jobs go out on one channel, finished frames come back on another; the apply
/// system drains it every frame without waiting.
#[derive(Resource)]
pub struct RenderPool {
    jobs: Option<Sender<RenderJob>>,
    results: Receiver<RenderOutcome>,
    workers: Vec<JoinHandle<()>>,
}

impl RenderPool {
    /// Starts `workers` threads (at least one).
    pub fn new(workers: usize) -> Self {
        let (job_tx, job_rx) = unbounded::<RenderJob>();
        let (result_tx, result_rx) = unbounded::<RenderOutcome>();
        let workers = (0..workers.max(1))
            .map(|i| {
                let jobs = job_rx.clone();
                let results = result_tx.clone();
                std::thread::Builder::new()
                    .name(format!("talking-head-render-{i}"))
                    .spawn(move || worker(jobs, results))
                    .expect("spawning a render worker thread")
            })
            .collect();
        Self {
            jobs: Some(job_tx),
            results: result_rx,
            workers,
        }
    }

    /// Number of worker threads.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    pub(crate) fn submit(&self, job: RenderJob) -> bool {
        self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }

    pub(crate) fn finished(&self) -> impl Iterator<Item = RenderOutcome> + '_ {
        self.results.try_iter()
    }
}

impl Drop for RenderPool {
    fn drop(&mut self) {
        // Closing the job channel ends each worker after its current job; a job stuck for longer than
        // the shutdown wait (a driver call that never returns) does not hang the game's exit.
        self.jobs.take();
        let workers = std::mem::take(&mut self.workers);
        crate::threads::join_within(workers, crate::threads::SHUTDOWN_WAIT, "render worker");
    }
}

fn worker(jobs: Receiver<RenderJob>, results: Sender<RenderOutcome>) {
    for job in jobs.iter() {
        let started = Instant::now();
        let RenderJob {
            head,
            seq,
            face,
            portraits,
            rig,
            width,
            height,
            renderer,
            mut buffer,
            dispatched_at,
        } = job;
        buffer.resize(width as usize * height as usize * 4, 0);
        let request = RenderRequest {
            face: &face.face,
            portraits: &portraits,
            rig: rig.as_ref(),
            target: face.target.as_deref(),
        };
        let mut target = RenderTarget {
            width,
            height,
            rgba: &mut buffer,
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            renderer
                .render(&request, &mut target)
                .map(|()| renderer.wants_redraw(&request))
        }));
        let (pixels, redraw) = match result {
            Ok(Ok(again)) => (Ok(buffer), again),
            Ok(Err(e)) => (Err(e), false),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let error = Error::Render {
                    renderer: renderer.name().to_owned(),
                    message: format!("panicked: {message}"),
                };
                (Err(error), false)
            }
        };
        let outcome = RenderOutcome {
            head,
            seq,
            width,
            height,
            pixels,
            dispatched_at,
            render_time: started.elapsed(),
            face_time: face.face.time,
            redraw,
        };
        if results.send(outcome).is_err() {
            return;
        }
    }
}
