//! Worker threads that run [`HeadRenderer`]s off the main thread, joined to the ECS by crossbeam channels.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::ecs::entity::Entity;
use bevy::ecs::resource::Resource;
use crossbeam_channel::{Receiver, Sender, unbounded};

use super::portrait::PortraitImage;
use super::renderer::{HeadRenderer, RenderRequest, RenderTarget};
use crate::error::Error;
use crate::face::FaceFrame;
use crate::rig::{PortraitRig, RiggedFace};

/// One frame to render for one head.
pub(crate) struct RenderJob {
    pub head: Entity,
    pub seq: u64,
    pub face: FaceFrame,
    pub rig: RiggedFace,
    pub portraits: Vec<Arc<PortraitImage>>,
    pub rigs: Vec<Option<Arc<PortraitRig>>>,
    pub portrait_files: Vec<Option<PathBuf>>,
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
        // Closing the job channel ends each worker after its current job.
        self.jobs.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(jobs: Receiver<RenderJob>, results: Sender<RenderOutcome>) {
    for job in jobs.iter() {
        let started = Instant::now();
        let RenderJob {
            head,
            seq,
            face,
            rig,
            portraits,
            rigs,
            portrait_files,
            width,
            height,
            renderer,
            mut buffer,
            dispatched_at,
        } = job;
        buffer.resize(width as usize * height as usize * 4, 0);
        let request = RenderRequest {
            face: &face,
            rig: &rig,
            portraits: &portraits,
            rigs: &rigs,
            portrait_files: &portrait_files,
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
            face_time: face.time,
            redraw,
        };
        if results.send(outcome).is_err() {
            return;
        }
    }
}
