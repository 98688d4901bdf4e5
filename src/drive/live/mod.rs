//! [`LiveFace`]: a head driven by a tracked face from a webcam, a video file or an image sequence.
//!
//! Three threads per driven head: a capture thread reads frames (pacing files to their frame rate) and
//! hands the newest to the tracking thread; the tracking thread runs the face tracker and the
//! [`FaceAnalyzer`](crate::tracking::FaceAnalyzer) and hands the newest [`LiveSample`] to the main
//! thread, whose system only copies it into the head's tracking layer. Nothing on the main thread waits.
//!
//! This module holds the [`LiveFace`] component and its system; the sources are in `source`, what it
//! reports in `status` and `preview`, the threads in `capture_thread` and `tracking_thread`, what
//! connects them to the system in `runtime`, and its smoothing in `smoother`.

mod capture_thread;
mod network;
mod preview;
mod runtime;
mod smoother;
mod source;
mod status;
mod tracking_thread;
mod vmc_face;

pub use preview::LivePreview;
pub use vmc_face::VmcFaceReader;

/// A live source with this name makes the tracking thread panic on its first frame: the test kit's fail
/// point for what a bug there does (the face fails with the reason, and capture stops).
#[cfg(feature = "test-utils")]
pub const PANIC_IN_TRACKING: &str = "panic in tracking (test fail point)";
pub use source::{LiveSource, SourceOpener};
pub use status::{LiveFaceState, LiveFaceStatus, LiveSample};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bevy::ecs::change_detection::DetectChangesMut;
use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::system::{Commands, Query, Res};
use bevy::log::info;
use bevy::time::Time;

use super::idle::IdleLife;
use super::layers::{FaceLayer, FaceLayers, LayerId, Priority, remove_layers};
use crate::capture::{CameraRequest, CapturedFrame};
use crate::error::Error;
use crate::face::{FaceFrame, FaceMask, LandmarkMotion};
use crate::onnx::SessionOptions;
use crate::report::HeadErrors;
use crate::tracking::FaceModels;

use capture_thread::CaptureLoop;
use runtime::{Control, Runtime, Status, Stop};
use smoother::smooth;
use tracking_thread::TrackLoop;

/// A head driven live by a tracked face: a webcam, a video file, an image sequence or your own
/// [`FrameSource`](crate::capture::FrameSource).
///
/// Capture and tracking run on their own threads; each frame the newest tracked face becomes the head's
/// tracking layer ([`Priority::TRACKING`]). When there is no camera, the camera fails to open or is
/// unplugged, one warning is logged (and sent as a [`TalkingHeadError`](crate::TalkingHeadError)), the tracking layer fades out so
/// the head's [`IdleLife`] (required, added with default settings) takes over, and the source is opened
/// again every [`retry_interval`](Self::retry_interval) until it comes back.
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// # fn spawn(mut commands: Commands, portrait: Handle<Image>) {
/// commands.spawn((
///     TalkingHead::new(portrait),
///     LiveFace::webcam(CameraRequest::default()),
/// ));
/// # }
/// ```
#[derive(Component)]
#[require(FaceLayers, IdleLife)]
#[component(on_remove = on_remove_live)]
pub struct LiveFace {
    source: LiveSource,
    /// How much of the tracked face shows, `0..=1`.
    pub weight: f32,
    /// The channels tracking moves (everything by default).
    pub mask: FaceMask,
    /// How often a failed source is opened again.
    pub retry_interval: Duration,
    /// With no face for this long, the tracking layer fades out to idle life.
    pub face_timeout: Duration,
    /// The face models; `None` uses the plugin's `models_dir`, then `assets/models`, then the models
    /// embedded in the crate ([`default_face_models`](crate::tracking::default_face_models)).
    pub models_dir: Option<PathBuf>,
    /// Extra smoothing of the tracked face, `0..=1`: 0 shows each sample as tracked (the tracker already
    /// filters jitter), 1 follows with a 0.25 s time constant (calmer, but blinks and words lag).
    pub smoothing: f32,
    status: LiveFaceStatus,
    runtime: Option<Runtime>,
    restart: bool,
    calibrate: bool,
    presence: f32,
    last_face: Option<Instant>,
    smoothed: Option<FaceFrame>,
    motion: Option<Arc<LandmarkMotion>>,
    preview: Arc<AtomicBool>,
    landmarks: Arc<AtomicBool>,
    warned: bool,
}

/// How a [`LiveFace`] moves its head's face.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LiveDriving {
    /// By the 52 ARKit weights (the [`FaceFrame`]), through the rig's expression shapes: what every other
    /// driver, the network and the neural renderer use.
    #[default]
    Expressions,
    /// By the tracked face's own landmark motion ([`LandmarkMotion`]), scaled to the portrait: the mouth,
    /// lids and brows move exactly as the player's do, beyond what 52 weights say. Head pose, gaze and the
    /// tongue still come from the weights, which are also still written (and sent over the network).
    /// The motion is measured from the neutral face: call [`LiveFace::calibrate`] with the mouth closed;
    /// until then the calmest face of the first seconds is taken.
    Landmarks,
}

/// [`LiveFace`]'s removal hook: its tracking layer and its landmark motion go with it.
fn on_remove_live(
    mut world: bevy::ecs::world::DeferredWorld<'_>,
    ctx: bevy::ecs::lifecycle::HookContext,
) {
    remove_layers(|id| *id == LIVE_LAYER)(world.reborrow(), ctx);
    world
        .commands()
        .entity(ctx.entity)
        .remove::<LandmarkMotion>();
}

impl std::fmt::Debug for LiveFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFace")
            .field("source", &self.source)
            .field("weight", &self.weight)
            .field("state", &self.status.state)
            .finish_non_exhaustive()
    }
}

impl LiveFace {
    /// A driver for `source`.
    pub fn new(source: LiveSource) -> Self {
        let face_timeout = default_face_timeout(&source);
        Self {
            source,
            weight: 1.0,
            mask: FaceMask::ALL,
            retry_interval: Duration::from_secs(1),
            face_timeout,
            models_dir: None,
            smoothing: 0.0,
            status: LiveFaceStatus::default(),
            runtime: None,
            restart: true,
            calibrate: false,
            presence: 0.0,
            last_face: None,
            smoothed: None,
            motion: None,
            preview: Arc::new(AtomicBool::new(false)),
            landmarks: Arc::new(AtomicBool::new(false)),
            warned: false,
        }
    }

    /// Driven by a webcam.
    pub fn webcam(request: CameraRequest) -> Self {
        Self::new(LiveSource::Webcam(request))
    }

    /// Driven by a video file (looping).
    pub fn video(path: impl Into<PathBuf>) -> Self {
        Self::new(LiveSource::Video {
            path: path.into(),
            looping: true,
        })
    }

    /// Driven by the Live Link Face app streaming to UDP `port` (every subject; see
    /// [`LiveSource::LiveLink`] to pick one).
    pub fn live_link(port: u16) -> Self {
        Self::new(LiveSource::LiveLink {
            port,
            subject: None,
        })
    }

    /// Driven by a VMC protocol sender streaming to UDP `port`.
    pub fn vmc(port: u16) -> Self {
        Self::new(LiveSource::Vmc { port })
    }

    /// Where the frames come from.
    pub fn source(&self) -> &LiveSource {
        &self.source
    }

    /// Switches to another source: the threads of the old one stop, new ones start on the next frame.
    /// A [`face_timeout`](Self::face_timeout) left at the old kind of source's default takes the new
    /// one's (a stream received over the network is held for less than a tracked camera).
    pub fn set_source(&mut self, source: LiveSource) {
        if self.face_timeout == default_face_timeout(&self.source) {
            self.face_timeout = default_face_timeout(&source);
        }
        self.source = source;
        self.restart = true;
    }

    /// Starts the driver again (models and source opened anew, calibration forgotten).
    pub fn restart(&mut self) {
        self.restart = true;
    }

    /// Builder: the mask.
    pub fn with_mask(mut self, mask: FaceMask) -> Self {
        self.mask = mask;
        self
    }

    /// Builder: how the face moves the head ([`LiveDriving::Expressions`] by default).
    pub fn with_driving(self, driving: LiveDriving) -> Self {
        self.set_driving(driving);
        self
    }

    /// Switches how the face moves the head; takes effect with the next tracked frame.
    pub fn set_driving(&self, driving: LiveDriving) {
        self.landmarks
            .store(driving == LiveDriving::Landmarks, Ordering::Relaxed);
    }

    /// How the face moves the head.
    pub fn driving(&self) -> LiveDriving {
        if self.landmarks.load(Ordering::Relaxed) {
            LiveDriving::Landmarks
        } else {
            LiveDriving::Expressions
        }
    }

    /// Builder: the face models' folder.
    pub fn with_models_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.models_dir = Some(dir.into());
        self
    }

    /// Takes the next tracked face as the user's neutral face (mouth closed, looking ahead): expression
    /// weights are measured from it from then on.
    pub fn calibrate(&mut self) {
        self.calibrate = true;
    }

    /// Asks the tracking thread for a small copy of each frame with its landmarks
    /// ([`LiveSample::preview`]); off by default (it costs a little on the tracking thread).
    pub fn set_preview(&self, on: bool) {
        self.preview.store(on, Ordering::Relaxed);
    }

    /// What the driver is doing, its counters and its latest sample.
    pub fn status(&self) -> &LiveFaceStatus {
        &self.status
    }

    /// How much the tracking layer shows now (`0` while the face or the source is lost, fading to 1).
    pub fn presence(&self) -> f32 {
        self.presence
    }

    fn start(&mut self, config: &TrackerConfig) {
        let models = self
            .models_dir
            .clone()
            .or_else(|| config.models_dir.clone())
            .map_or_else(crate::tracking::default_face_models, FaceModels::Dir);
        let name = self.source.name();
        let epoch = Instant::now();
        self.status = LiveFaceStatus {
            source_name: name.clone(),
            epoch: Some(epoch),
            ..LiveFaceStatus::default()
        };
        if let Some((protocol, port, subject)) = self.source.network() {
            self.restart = false;
            self.presence = 0.0;
            self.last_face = None;
            self.smoothed = None;
            self.motion = None;
            self.warned = false;
            self.runtime = Some(network::listen(protocol, port, subject, name, epoch));
            return;
        }
        let stop = Arc::new(Stop::default());
        // Two buffers in flight (one waiting, one tracked) and one coming back are all a source needs.
        let (recycle_tx, recycle_rx) = crossbeam_channel::bounded::<Vec<u8>>(2);
        let dropped = Arc::new(AtomicU64::new(0));
        let (frame_tx, frame_rx) = crossbeam_channel::bounded::<(CapturedFrame, u64, Instant)>(1);
        let (sample_tx, sample_rx) = crossbeam_channel::bounded::<LiveSample>(1);
        let (status_tx, status_rx) = crossbeam_channel::unbounded();
        let status_panic = status_tx.clone();
        let (control_tx, control_rx) = crossbeam_channel::unbounded();
        let capture = CaptureLoop {
            opener: self.source.opener(),
            paced: self.source.paced(),
            looping: self.source.looping(),
            retry: self.retry_interval,
            frames: frame_tx,
            frames_back: frame_rx.clone(),
            status: status_tx.clone(),
            stop: stop.clone(),
            recycled: recycle_rx,
            dropped: dropped.clone(),
        };
        let track = TrackLoop {
            models,
            options: config.options.clone(),
            frames: frame_rx,
            samples: sample_tx,
            samples_back: sample_rx.clone(),
            status: status_tx,
            control: control_rx,
            stop: stop.clone(),
            recycle: recycle_tx,
            dropped: dropped.clone(),
            epoch,
            name: name.clone(),
            preview: self.preview.clone(),
            landmarks: self.landmarks.clone(),
        };
        let mut threads = Vec::new();
        for (label, job) in [
            (
                "capture",
                Box::new(move || capture.run()) as Box<dyn FnOnce() + Send>,
            ),
            ("tracking", Box::new(move || track.run())),
        ] {
            let (status, stop) = (status_panic.clone(), stop.clone());
            // A panic (a bug, a custom source's, a model's) must not end a thread silently: the face
            // says `Failed` with the reason and the other thread stops too.
            let job = move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                if label == "tracking" || result.is_err() {
                    // Nothing tracks any more (or a thread broke): the capture thread stops too, at
                    // once even if it waits in its source.
                    stop.set();
                }
                if let Err(panic) = result {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".to_owned());
                    let _ = status.send(Status::Failed(format!(
                        "the {label} thread panicked ({why}); live tracking stopped"
                    )));
                }
            };
            match std::thread::Builder::new()
                .name(format!("talking-head {label}"))
                .spawn(job)
            {
                Ok(t) => threads.push(t),
                Err(e) => {
                    self.status.state =
                        LiveFaceState::Failed(format!("cannot start a thread: {e}"));
                }
            }
        }
        self.restart = false;
        self.runtime = Some(Runtime {
            samples: sample_rx,
            status: status_rx,
            control: control_tx,
            stop,
            dropped,
            threads,
        });
        self.presence = 0.0;
        self.last_face = None;
        self.smoothed = None;
        self.motion = None;
        self.warned = false;
    }
}

/// Where tracking finds its models, from the plugin.
#[derive(bevy::ecs::resource::Resource, Clone, Debug, Default)]
pub(crate) struct TrackerConfig {
    pub(crate) models_dir: Option<PathBuf>,
    pub(crate) options: SessionOptions,
}

/// How long a face received over the network is held after its last packet before it fades (over a
/// quarter of a second) to the layers below: as [`RemoteFace`](crate::net::RemoteFace)'s default hold.
const NETWORK_HOLD: Duration = Duration::from_millis(250);

/// How long a source's face is held after the last one: [`NETWORK_HOLD`] for a stream received over the
/// network, half a second for a tracked source (tracking misses a frame now and then).
fn default_face_timeout(source: &LiveSource) -> Duration {
    if source.network().is_some() {
        NETWORK_HOLD
    } else {
        Duration::from_millis(500)
    }
}

/// The layer live tracking writes (and takes with it when it goes).
const LIVE_LAYER: LayerId = LayerId::fixed(Priority::TRACKING, "live face");

/// Starts drivers, takes their newest samples and writes the tracking layers.
pub(crate) fn drive_live_faces(
    time: Res<Time>,
    config: Option<Res<TrackerConfig>>,
    mut heads: Query<(
        Entity,
        &mut LiveFace,
        &mut FaceLayers,
        Option<&mut LandmarkMotion>,
    )>,
    mut commands: Commands,
    mut errors: HeadErrors,
) {
    let dt = time.delta_secs();
    let default_config = TrackerConfig::default();
    let config = config.as_deref().unwrap_or(&default_config);
    for (entity, mut live, mut layers, mut motion) in &mut heads {
        let live = &mut *live;
        if live.restart {
            live.runtime = None;
            live.start(config);
        }
        let Some(rt) = &live.runtime else { continue };
        if std::mem::take(&mut live.calibrate) {
            let _ = rt.control.send(Control::Calibrate);
        }
        let mut problem = None;
        for status in rt.status.try_iter() {
            match status {
                Status::Opened(name) => {
                    live.status.source_name = name;
                    if matches!(
                        live.status.state,
                        LiveFaceState::Starting | LiveFaceState::Reconnecting(_)
                    ) {
                        live.status.state = LiveFaceState::Starting;
                    }
                }
                Status::Lost(why) => {
                    live.status.state = LiveFaceState::Reconnecting(why.clone());
                    problem = Some(why);
                }
                Status::Ended => live.status.state = LiveFaceState::Ended,
                Status::Failed(why) => {
                    live.status.state = LiveFaceState::Failed(why.clone());
                    problem = Some(why);
                }
                Status::BadPacket(why) => errors.warn(
                    entity,
                    Error::Stream {
                        stream: live.status.source_name.clone(),
                        problem: why,
                    },
                ),
                Status::Face(seen) => {
                    live.status.state = if seen {
                        LiveFaceState::Streaming
                    } else {
                        LiveFaceState::NoFace
                    };
                }
            }
        }
        if let Some(why) = problem
            && !live.warned
        {
            live.warned = true;
            // Lower layers (idle life) take over until the source works again.
            errors.warn(
                entity,
                Error::Capture {
                    source_name: live.status.source_name.clone(),
                    problem: why,
                },
            );
        }
        if let Some(sample) = rt.samples.try_iter().last() {
            live.smoothed = Some(smooth(live.smoothed, &sample.frame, live.smoothing));
            live.motion = sample.motion.clone();
            if live.warned {
                info!(
                    "talking head {entity}: `{}` works again; tracking resumes",
                    live.status.source_name
                );
                live.warned = false;
            }
            live.status.samples += 1;
            live.last_face = Some(Instant::now());
            if matches!(
                live.status.state,
                LiveFaceState::Starting | LiveFaceState::NoFace
            ) {
                live.status.state = LiveFaceState::Streaming;
            }
            live.status.last = Some(sample);
        }
        live.status.dropped = rt.dropped.load(Ordering::Relaxed);
        let fresh = live
            .last_face
            .is_some_and(|t| t.elapsed() <= live.face_timeout);
        let present = fresh && live.status.state == LiveFaceState::Streaming;
        // Fade in or out over a quarter of a second.
        let step = dt / 0.25;
        live.presence = if present {
            (live.presence + step).min(1.0)
        } else {
            (live.presence - step).max(0.0)
        };
        let layer = match (&live.smoothed, live.presence > 0.0) {
            (Some(face), true) => Some(FaceLayer::new(
                *face,
                live.weight * live.presence,
                live.mask,
            )),
            _ => None,
        };
        FaceLayers::put(&mut layers, LIVE_LAYER, layer);
        // Landmark driving: the newest motion, faded with the layer.
        let weight = live.weight * live.presence;
        match (&live.motion, live.driving()) {
            (Some(m), LiveDriving::Landmarks) if weight > 0.0 => {
                let update = LandmarkMotion {
                    weight,
                    // What the tracking layer shows: anything the composed face holds beyond it (a
                    // clip on top) is added as shapes.
                    weights: live.smoothed.map(|f| f.expressions).unwrap_or_default(),
                    ..LandmarkMotion::clone(m)
                };
                match motion.as_mut() {
                    Some(old) => {
                        old.set_if_neq(update);
                    }
                    None => {
                        commands.entity(entity).insert(update);
                    }
                }
            }
            _ => {
                if motion.is_some() {
                    commands.entity(entity).remove::<LandmarkMotion>();
                }
            }
        }
    }
}
