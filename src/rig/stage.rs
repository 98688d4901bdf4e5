//! The rig stage's systems, in [`TalkingHeadSystems::Rig`](crate::schedule::TalkingHeadSystems::Rig):
//! portraits are rigged (from the cache, or on the rig stage's own threads) for the heads that ask for it
//! ([`HeadRig`]), and each changed [`FaceFrame`] is sanitised and retargeted onto its head's rig
//! ([`RiggedFace`]).

use std::sync::Arc;
use std::thread::JoinHandle;

use bevy::asset::{AssetEvent, AssetId};
use bevy::ecs::prelude::*;
use bevy::image::Image;
use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};

use super::retarget::RetargetedFace;
use super::rigged::RiggedPortraits;
use super::rigger::{PortraitRigger, RigRequest};
use crate::error::{Error, Result};
use crate::face::{FaceFrame, LandmarkMotion};
use crate::report::HeadErrors;

/// The app's [`PortraitRigger`] (the plugin inserts it from its settings; insert your own before the
/// plugin to change the expression shapes).
#[derive(Resource, Clone, Debug)]
pub struct Rigger(pub Arc<PortraitRigger>);

type RigReply = Result<Arc<RiggedPortraits>>;

struct RigJob {
    rigger: Arc<PortraitRigger>,
    request: RigRequest,
    reply: Sender<RigReply>,
}

/// The threads portraits are rigged on (the face tracker takes a fraction of a second to seconds). Joined
/// when the app is dropped, so no rigging outlives it (ONNX Runtime must not be running when the process
/// exits).
#[derive(Resource)]
pub(crate) struct RigThreads {
    jobs: Option<Sender<RigJob>>,
    threads: Vec<JoinHandle<()>>,
}

impl RigThreads {
    /// Starts `count` threads (at least one).
    pub(crate) fn new(count: usize) -> Self {
        let (tx, rx) = unbounded::<RigJob>();
        let threads = (0..count.max(1))
            .filter_map(|i| {
                let jobs = rx.clone();
                std::thread::Builder::new()
                    .name(format!("talking-head-rig-{i}"))
                    .spawn(move || {
                        for job in jobs.iter() {
                            let result =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    job.rigger.rig(&job.request)
                                }))
                                .unwrap_or_else(|_| {
                                    Err(Error::Rig {
                                        path: "<portrait>".into(),
                                        problem: "rigging panicked".into(),
                                    })
                                });
                            let _ = job.reply.send(result);
                        }
                    })
                    .ok()
            })
            .collect();
        Self {
            jobs: Some(tx),
            threads,
        }
    }

    fn submit(&self, job: RigJob) -> bool {
        !self.threads.is_empty() && self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }
}

impl Drop for RigThreads {
    fn drop(&mut self) {
        // Closing the channel ends each thread after its current portrait (waited for a while).
        self.jobs.take();
        let threads = std::mem::take(&mut self.threads);
        crate::threads::join_within(threads, crate::threads::SHUTDOWN_WAIT, "rigging");
    }
}

/// The face as the renderer of one head should draw it. Written by the
/// [`Rig`](crate::schedule::TalkingHeadSystems::Rig) set whenever the head's [`FaceFrame`] or its rig
/// changes; render jobs carry it.
#[derive(Component, Clone, Debug, Default, PartialEq)]
pub struct RiggedFace {
    /// The driving face, sanitised (weights in `0..=1`, no NaN).
    pub face: FaceFrame,
    /// The face retargeted onto the head's rigged portraits (landmarks, iris, gaze and head motion in
    /// output pixels); `None` while the head has no rig (its renderer needs none, or it is being made).
    pub target: Option<Arc<RetargetedFace>>,
}

/// Where a head's rig stands.
#[derive(Default)]
enum RigState {
    /// No rig wanted.
    #[default]
    None,
    /// Wanted: made (or looked up) on the next run of the rig stage.
    Requested(RigRequest),
    /// Being made on a rig thread.
    Rigging(RigRequest, Receiver<RigReply>),
    /// Ready.
    Ready(Arc<RiggedPortraits>),
    /// Rigging failed (reported); asked again only with new portraits.
    Failed,
}

/// A head's rig: which portraits its renderer wants rigged, and the [`RiggedPortraits`] once they are.
/// The render stage asks ([`request`](Self::request)) when a head's portraits have loaded and its renderer
/// needs a rig; the rig stage answers.
#[derive(Component, Default)]
pub struct HeadRig {
    state: RigState,
    /// The rig became ready (or went) since the faces were last retargeted.
    fresh: bool,
}

impl std::fmt::Debug for HeadRig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            RigState::None => "none",
            RigState::Requested(_) => "requested",
            RigState::Rigging(..) => "rigging",
            RigState::Ready(_) => "ready",
            RigState::Failed => "failed",
        };
        f.debug_struct("HeadRig").field("state", &state).finish()
    }
}

impl HeadRig {
    /// Asks for these portraits to be rigged (`None`: no rig), dropping the current rig.
    pub fn request(&mut self, request: Option<RigRequest>) {
        self.state = request.map_or(RigState::None, RigState::Requested);
        self.fresh = true;
    }

    /// The rigged portraits, once ready.
    pub fn rigged(&self) -> Option<&Arc<RiggedPortraits>> {
        match &self.state {
            RigState::Ready(r) => Some(r),
            _ => None,
        }
    }

    /// Whether rigging failed for the current portraits.
    pub fn failed(&self) -> bool {
        matches!(self.state, RigState::Failed)
    }
}

/// Rigs the portraits of heads that asked: from the cache at once, else on a rig thread (one job per
/// portrait set at a time; other heads with the same portraits wait for it and then find it in the cache).
pub(crate) fn rig_portraits(
    mut heads: Query<(Entity, &mut HeadRig)>,
    rigger: Res<Rigger>,
    threads: Res<RigThreads>,
    mut image_events: MessageReader<AssetEvent<Image>>,
    mut errors: HeadErrors,
) {
    for event in image_events.read() {
        if let AssetEvent::Modified { id } = event {
            rigger.0.forget_image(*id);
        }
    }
    // Portrait sets being rigged now (by their main portrait's asset or pixels).
    let mut in_flight: Vec<(AssetId<Image>, *const crate::portrait::PortraitImage)> = heads
        .iter()
        .filter_map(|(_, h)| match &h.state {
            RigState::Rigging(r, _) => Some(key(r)),
            _ => None,
        })
        .collect();
    for (entity, mut head) in &mut heads {
        let head = &mut *head;
        match std::mem::take(&mut head.state) {
            RigState::Requested(request) => {
                if let Some(rigged) = rigger.0.cached_rig(&request) {
                    head.state = RigState::Ready(rigged);
                    head.fresh = true;
                } else if in_flight.contains(&key(&request)) {
                    head.state = RigState::Requested(request);
                } else {
                    in_flight.push(key(&request));
                    let (reply, answer) = bounded(1);
                    let job = RigJob {
                        rigger: rigger.0.clone(),
                        request: request.clone(),
                        reply,
                    };
                    if threads.submit(job) {
                        head.state = RigState::Rigging(request, answer);
                    } else {
                        errors.report(
                            entity,
                            Error::Rig {
                                path: "<portrait>".into(),
                                problem: "the rig threads are not running".into(),
                            },
                        );
                        head.state = RigState::Failed;
                    }
                }
            }
            RigState::Rigging(request, answer) => match answer.try_recv() {
                Err(TryRecvError::Empty) => head.state = RigState::Rigging(request, answer),
                Ok(Ok(rigged)) => {
                    for (path, problem) in rigged.warnings() {
                        errors.warn(
                            entity,
                            Error::Rig {
                                path: path.clone(),
                                problem: problem.clone(),
                            },
                        );
                    }
                    head.state = RigState::Ready(rigged);
                    head.fresh = true;
                }
                Ok(Err(e)) => {
                    errors.report(entity, e);
                    head.state = RigState::Failed;
                }
                Err(TryRecvError::Disconnected) => {
                    errors.report(
                        entity,
                        Error::Rig {
                            path: "<portrait>".into(),
                            problem: "the rig thread went away".into(),
                        },
                    );
                    head.state = RigState::Failed;
                }
            },
            other => head.state = other,
        }
    }
    rigger.0.prune();
}

fn key(request: &RigRequest) -> (AssetId<Image>, *const crate::portrait::PortraitImage) {
    let id = request
        .ids
        .first()
        .copied()
        .unwrap_or_else(AssetId::invalid);
    let pixels = if id == AssetId::invalid() {
        request
            .portraits
            .first()
            .map_or(std::ptr::null(), Arc::as_ptr)
    } else {
        std::ptr::null()
    };
    (id, pixels)
}

/// What [`retarget_faces`] reads and writes of a head.
type RetargetedHead<'a> = (
    Entity,
    Ref<'a, FaceFrame>,
    Option<Ref<'a, LandmarkMotion>>,
    &'a mut HeadRig,
    &'a mut RiggedFace,
);

/// Sanitises each changed face and retargets it onto its head's rig, into [`RiggedFace`]: by the
/// driver's own [`LandmarkMotion`] where the head has a usable one, else by the expression shapes.
pub(crate) fn retarget_faces(
    mut removed: RemovedComponents<LandmarkMotion>,
    mut heads: Query<RetargetedHead>,
) {
    // A head whose motion went away goes back to its shapes.
    let stopped: Vec<Entity> = removed.read().collect();
    for (entity, face, motion, mut rig, mut rigged) in &mut heads {
        let moved = motion.as_ref().is_some_and(|m| m.is_changed()) || stopped.contains(&entity);
        if !face.is_changed() && !moved && !rig.fresh {
            continue;
        }
        rig.bypass_change_detection().fresh = false;
        let mut face = *face;
        face.sanitize();
        let target = rig.rigged().map(|r| {
            Arc::new(match &motion {
                Some(m) => r.retargeter().retarget_motion(&face, m),
                None => r.retarget(&face),
            })
        });
        *rigged = RiggedFace { face, target };
    }
}
