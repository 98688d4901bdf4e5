//! [`LiveFace`]: a head driven by a tracked face from a webcam, a video file or an image sequence.
//!
//! Three threads per driven head: a capture thread reads frames (pacing files to their frame rate) and
//! hands the newest to the tracking thread; the tracking thread runs the face tracker and the
//! [`FaceAnalyzer`] and hands the newest [`LiveSample`] to the main thread, whose system only copies it
//! into the head's tracking layer. Nothing on the main thread waits.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::message::MessageWriter;
use bevy::ecs::system::{Query, Res};
use bevy::log::{info, warn};
use bevy::time::Time;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::idle::IdleLife;
use super::layers::{FaceLayer, FaceLayers, LayerId, Priority};
use crate::capture::{CameraRequest, CapturedFrame, FrameSource, VideoFileSource};
use crate::error::{Error, Result, TalkingHeadError};
use crate::face::{FaceFrame, FaceMask};
use crate::onnx::SessionOptions;
use crate::tracking::{FaceAnalyzer, FaceTracker, ImageView};

/// Opens a frame source. Called on the capture thread, again after each failure.
pub type SourceOpener = Arc<dyn Fn() -> Result<Box<dyn FrameSource>> + Send + Sync>;

/// Where a [`LiveFace`] gets its frames.
#[derive(Clone)]
pub enum LiveSource {
    /// A webcam (needs the `webcam` feature; without it, opening fails with an error saying so, and the
    /// head stays on idle life).
    Webcam(CameraRequest),
    /// A video file, decoded by `ffmpeg`, played at its frame rate.
    Video {
        /// The file.
        path: PathBuf,
        /// Start over at the end.
        looping: bool,
    },
    /// A folder of `.png` or `.jpg` frames in name order.
    ImageSequence {
        /// The folder.
        dir: PathBuf,
        /// Frames per second.
        fps: f64,
        /// Start over at the end.
        looping: bool,
    },
    /// Your own source.
    Custom {
        /// A name for logs.
        name: String,
        /// Opens the source (on the capture thread).
        open: SourceOpener,
    },
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Webcam(r) => f.debug_tuple("Webcam").field(r).finish(),
            Self::Video { path, looping } => f
                .debug_struct("Video")
                .field("path", path)
                .field("looping", looping)
                .finish(),
            Self::ImageSequence { dir, fps, looping } => f
                .debug_struct("ImageSequence")
                .field("dir", dir)
                .field("fps", fps)
                .field("looping", looping)
                .finish(),
            Self::Custom { name, .. } => f.debug_struct("Custom").field("name", name).finish(),
        }
    }
}

impl LiveSource {
    /// A name for logs: the device or the path.
    pub fn name(&self) -> String {
        match self {
            Self::Webcam(r) => format!("webcam {:?}", r.camera),
            Self::Video { path, .. } => path.display().to_string(),
            Self::ImageSequence { dir, .. } => dir.display().to_string(),
            Self::Custom { name, .. } => name.clone(),
        }
    }

    /// Whether the capture thread paces frames to their timestamps (files) or takes them as they come
    /// (cameras, custom sources).
    fn paced(&self) -> bool {
        matches!(self, Self::Video { .. } | Self::ImageSequence { .. })
    }

    fn looping(&self) -> bool {
        match self {
            Self::Video { looping, .. } | Self::ImageSequence { looping, .. } => *looping,
            Self::Webcam(_) | Self::Custom { .. } => true,
        }
    }

    fn opener(&self) -> SourceOpener {
        match self.clone() {
            Self::Webcam(request) => Arc::new(move || open_webcam(&request)),
            Self::Video { path, .. } => Arc::new(move || {
                VideoFileSource::open(&path).map(|s| Box::new(s) as Box<dyn FrameSource>)
            }),
            Self::ImageSequence { dir, fps, .. } => Arc::new(move || {
                VideoFileSource::open_sequence(&dir, fps)
                    .map(|s| Box::new(s) as Box<dyn FrameSource>)
            }),
            Self::Custom { open, .. } => open,
        }
    }
}

#[cfg(feature = "webcam")]
fn open_webcam(request: &CameraRequest) -> Result<Box<dyn FrameSource>> {
    crate::capture::webcam::WebcamSource::open(request).map(|s| Box::new(s) as Box<dyn FrameSource>)
}

#[cfg(not(feature = "webcam"))]
fn open_webcam(request: &CameraRequest) -> Result<Box<dyn FrameSource>> {
    Err(Error::Capture {
        source_name: format!("webcam {:?}", request.camera),
        problem:
            "this build has no webcam support: enable the `webcam` feature of bevy_talking_head"
                .to_owned(),
    })
}

/// A small copy of a captured frame with the tracked landmarks on it, for previews (the inspector's).
#[derive(Clone, Debug, PartialEq)]
pub struct LivePreview {
    /// Width in pixels (at most 240).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA8, top row first.
    pub rgba: Vec<u8>,
    /// The 468 landmarks in the preview's pixels.
    pub landmarks: Vec<[f32; 2]>,
}

impl LivePreview {
    /// The frame scaled (nearest) so its longer side is at most `max_side`, with `points` (frame pixels).
    pub fn of(frame: &CapturedFrame, points: &[[f32; 3]], max_side: u32) -> Self {
        let k = (max_side as f32 / frame.width.max(frame.height).max(1) as f32).min(1.0);
        let (w, h) = (
            ((frame.width as f32 * k) as u32).max(1),
            ((frame.height as f32 * k) as u32).max(1),
        );
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            let sy = ((y as f32 + 0.5) / k) as u32;
            for x in 0..w {
                let sx = ((x as f32 + 0.5) / k) as u32;
                let i = ((sy.min(frame.height - 1) * frame.width + sx.min(frame.width - 1)) * 3)
                    as usize;
                let px = frame.rgb.get(i..i + 3).unwrap_or(&[0, 0, 0]);
                rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
            }
        }
        Self {
            width: w,
            height: h,
            rgba,
            landmarks: points.iter().map(|p| [p[0] * k, p[1] * k]).collect(),
        }
    }
}

/// One tracked frame, as the main thread receives it.
#[derive(Clone, Debug)]
pub struct LiveSample {
    /// The face; `time` is seconds from when the driver started.
    pub frame: FaceFrame,
    /// Frames captured before this one since the driver started (across reconnects and loops), so a
    /// later sample always has a larger index.
    pub index: u64,
    /// The source's own frame number.
    pub source_index: u64,
    /// When the capture thread got the frame.
    pub captured_at: Instant,
    /// When the tracking thread finished it.
    pub tracked_at: Instant,
    /// The frame with its landmarks, small, when a preview was asked for ([`LiveFace::set_preview`]).
    pub preview: Option<Arc<LivePreview>>,
}

/// What a [`LiveFace`] is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveFaceState {
    /// Threads starting, source opening, models loading.
    Starting,
    /// Frames arrive and a face is tracked.
    Streaming,
    /// Frames arrive but show no face.
    NoFace,
    /// The source failed or is gone; it is opened again every `retry_interval`. The message says why.
    Reconnecting(String),
    /// A file source reached its end (not looping).
    Ended,
    /// Tracking cannot run (no face models); the message says which command fixes it.
    Failed(String),
}

/// Counters and the latest sample of a [`LiveFace`].
#[derive(Clone, Debug)]
pub struct LiveFaceStatus {
    /// What it is doing.
    pub state: LiveFaceState,
    /// The source's name.
    pub source_name: String,
    /// Samples that reached the main thread.
    pub samples: u64,
    /// Frames captured but replaced by a newer one before tracking or before the main thread took them.
    pub dropped: u64,
    /// The latest sample.
    pub last: Option<LiveSample>,
    /// When the driver started (the zero of `FaceFrame::time`).
    pub epoch: Option<Instant>,
}

impl Default for LiveFaceStatus {
    fn default() -> Self {
        Self {
            state: LiveFaceState::Starting,
            source_name: String::new(),
            samples: 0,
            dropped: 0,
            last: None,
            epoch: None,
        }
    }
}

enum Status {
    Opened(String),
    Lost(String),
    Ended,
    Failed(String),
    Face(bool),
}

enum Control {
    Calibrate,
}

struct Runtime {
    samples: Receiver<LiveSample>,
    status: Receiver<Status>,
    control: Sender<Control>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    /// Capture, then tracking.
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // The threads see the flag (or their channels closing) and end on their own. The tracking thread
        // is waited for a little (it ends within one inference), so ONNX Runtime is not torn down under
        // it when the app exits; a capture thread blocked in a camera read is not waited for.
        self.stop.store(true, Ordering::Relaxed);
        let until = Instant::now() + Duration::from_millis(100);
        while self.threads.iter().skip(1).any(|t| !t.is_finished()) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A head driven live by a tracked face: a webcam, a video file, an image sequence or your own
/// [`FrameSource`].
///
/// Capture and tracking run on their own threads; each frame the newest tracked face becomes the head's
/// tracking layer ([`Priority::TRACKING`]). When there is no camera, the camera fails to open or is
/// unplugged, one warning is logged (and sent as a [`TalkingHeadError`]), the tracking layer fades out so
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
#[component(on_remove = remove_live_layer)]
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
    /// The face models; `None` uses the plugin's `models_dir`, then `assets/models`.
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
    preview: Arc<AtomicBool>,
    warned: bool,
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
        Self {
            source,
            weight: 1.0,
            mask: FaceMask::ALL,
            retry_interval: Duration::from_secs(1),
            face_timeout: Duration::from_millis(500),
            models_dir: None,
            smoothing: 0.0,
            status: LiveFaceStatus::default(),
            runtime: None,
            restart: true,
            calibrate: false,
            presence: 0.0,
            last_face: None,
            smoothed: None,
            preview: Arc::new(AtomicBool::new(false)),
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

    /// Where the frames come from.
    pub fn source(&self) -> &LiveSource {
        &self.source
    }

    /// Switches to another source: the threads of the old one stop, new ones start on the next frame.
    pub fn set_source(&mut self, source: LiveSource) {
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
            .unwrap_or_else(crate::tracking::default_models_dir);
        let name = self.source.name();
        let epoch = Instant::now();
        self.status = LiveFaceStatus {
            source_name: name.clone(),
            epoch: Some(epoch),
            ..LiveFaceStatus::default()
        };
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let (frame_tx, frame_rx) = crossbeam_channel::bounded::<(CapturedFrame, u64, Instant)>(1);
        let (sample_tx, sample_rx) = crossbeam_channel::bounded::<LiveSample>(1);
        let (status_tx, status_rx) = crossbeam_channel::unbounded();
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
            dropped: dropped.clone(),
            epoch,
            name: name.clone(),
            preview: self.preview.clone(),
        };
        let mut threads = Vec::new();
        for (label, job) in [
            (
                "capture",
                Box::new(move || capture.run()) as Box<dyn FnOnce() + Send>,
            ),
            ("tracking", Box::new(move || track.run())),
        ] {
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
        self.warned = false;
    }
}

/// Sends `value`, replacing what waits in the (one-slot) channel. Returns whether something was dropped.
fn send_newest<T>(tx: &Sender<T>, rx: &Receiver<T>, value: T) -> std::result::Result<bool, ()> {
    match tx.try_send(value) {
        Ok(()) => Ok(false),
        Err(TrySendError::Full(value)) => {
            let replaced = rx.try_recv().is_ok();
            match tx.try_send(value) {
                Ok(()) | Err(TrySendError::Full(_)) => Ok(replaced),
                Err(TrySendError::Disconnected(_)) => Err(()),
            }
        }
        Err(TrySendError::Disconnected(_)) => Err(()),
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, total: Duration) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(20)));
    }
}

struct CaptureLoop {
    opener: SourceOpener,
    paced: bool,
    looping: bool,
    retry: Duration,
    frames: Sender<(CapturedFrame, u64, Instant)>,
    frames_back: Receiver<(CapturedFrame, u64, Instant)>,
    status: Sender<Status>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

impl CaptureLoop {
    fn run(self) {
        let mut sequence = 0u64;
        let mut failing = false;
        while !self.stop.load(Ordering::Relaxed) {
            let mut source = match (self.opener)() {
                Ok(s) => s,
                Err(e) => {
                    if !failing {
                        failing = true;
                        let _ = self.status.send(Status::Lost(e.to_string()));
                    }
                    sleep_unless_stopped(&self.stop, self.retry);
                    continue;
                }
            };
            let name = source.name().to_owned();
            let opened = Instant::now();
            let mut frames = 0u64;
            loop {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                match source.next_frame() {
                    Ok(Some(frame)) => {
                        if self.paced {
                            let due = opened + frame.timestamp;
                            sleep_unless_stopped(
                                &self.stop,
                                due.saturating_duration_since(Instant::now()),
                            );
                        }
                        let item = (frame, sequence, Instant::now());
                        sequence += 1;
                        if frames == 0 && (failing || sequence == 1) {
                            // Opened and delivering: that is when a source counts as (back) up.
                            let _ = self.status.send(Status::Opened(name.clone()));
                        }
                        frames += 1;
                        failing = false;
                        match send_newest(&self.frames, &self.frames_back, item) {
                            Ok(true) => {
                                self.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(false) => {}
                            Err(()) => return,
                        }
                    }
                    // A source that ends before its first frame is broken, not finished: wait before
                    // opening it again, so it cannot spin.
                    Ok(None) if frames == 0 => {
                        if !failing {
                            failing = true;
                            let _ = self.status.send(Status::Lost(
                                "the source opened but gave no frames".to_owned(),
                            ));
                        }
                        sleep_unless_stopped(&self.stop, self.retry);
                        break;
                    }
                    Ok(None) if self.looping => break,
                    Ok(None) => {
                        let _ = self.status.send(Status::Ended);
                        return;
                    }
                    Err(e) => {
                        if !failing {
                            failing = true;
                            let _ = self.status.send(Status::Lost(e.to_string()));
                        }
                        sleep_unless_stopped(&self.stop, self.retry);
                        break;
                    }
                }
            }
        }
    }
}

struct TrackLoop {
    models: PathBuf,
    options: SessionOptions,
    frames: Receiver<(CapturedFrame, u64, Instant)>,
    samples: Sender<LiveSample>,
    samples_back: Receiver<LiveSample>,
    status: Sender<Status>,
    control: Receiver<Control>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    epoch: Instant,
    name: String,
    preview: Arc<AtomicBool>,
}

impl TrackLoop {
    fn run(self) {
        let mut tracker = match FaceTracker::from_dir(&self.models, &self.options) {
            Ok(t) => t,
            Err(e) => {
                let _ = self.status.send(Status::Failed(format!(
                    "{e}. The face models come from `make setup` (or `python3 models/setup.py`)"
                )));
                // Nothing will track: let the capture thread close the camera.
                self.stop.store(true, Ordering::Relaxed);
                return;
            }
        };
        let mut analyzer = FaceAnalyzer::default();
        let mut calibrate = false;
        let mut had_face: Option<bool> = None;
        let mut last_source_index = None;
        let mut frame_error_reported = false;
        while !self.stop.load(Ordering::Relaxed) {
            let (frame, index, captured_at) =
                match self.frames.recv_timeout(Duration::from_millis(50)) {
                    Ok(item) => item,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
            for c in self.control.try_iter() {
                match c {
                    Control::Calibrate => calibrate = true,
                }
            }
            // A new source (reconnect or loop) starts from its frame 0: track from scratch.
            if last_source_index.is_some_and(|last| frame.index <= last) {
                tracker.reset();
            }
            last_source_index = Some(frame.index);
            let view = match ImageView::new(frame.width, frame.height, 3, &frame.rgb, &self.name) {
                Ok(v) => v,
                Err(e) => {
                    if !frame_error_reported {
                        frame_error_reported = true;
                        let _ = self.status.send(Status::Lost(e.to_string()));
                    }
                    continue;
                }
            };
            let tracked = match tracker.track(&view) {
                Ok(t) => t,
                Err(e) => {
                    if !frame_error_reported {
                        frame_error_reported = true;
                        let _ = self.status.send(Status::Lost(e.to_string()));
                    }
                    continue;
                }
            };
            let seen = tracked.is_some();
            if had_face != Some(seen) {
                had_face = Some(seen);
                let _ = self.status.send(Status::Face(seen));
            }
            let Some(face) = tracked else { continue };
            if calibrate {
                analyzer.calibrate(&face);
                calibrate = false;
            }
            let t = captured_at
                .saturating_duration_since(self.epoch)
                .as_secs_f64();
            let mut out = analyzer.analyze(&face, t);
            out.time = t;
            let preview = self
                .preview
                .load(Ordering::Relaxed)
                .then(|| Arc::new(LivePreview::of(&frame, &face.landmarks.points, 240)));
            let sample = LiveSample {
                frame: out,
                index,
                source_index: frame.index,
                captured_at,
                tracked_at: Instant::now(),
                preview,
            };
            match send_newest(&self.samples, &self.samples_back, sample) {
                Ok(true) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(()) => return,
            }
        }
    }
}

/// `next` after the previous smoothed face, with a time constant of `amount` x 0.25 s.
fn smooth(previous: Option<FaceFrame>, next: &FaceFrame, amount: f32) -> FaceFrame {
    let tau = if amount.is_finite() {
        amount.clamp(0.0, 1.0) * 0.25
    } else {
        0.0
    };
    let Some(prev) = previous.filter(|p| tau > 0.0 && next.time > p.time) else {
        return *next;
    };
    let a = 1.0 - (-((next.time - prev.time) as f32) / tau).exp();
    // The smoothed face keeps the newest sample's capture time.
    FaceFrame {
        time: next.time,
        ..prev.lerp(next, a)
    }
}

/// Where tracking finds its models, from the plugin.
#[derive(bevy::ecs::resource::Resource, Clone, Debug, Default)]
pub(crate) struct TrackerConfig {
    pub(crate) models_dir: Option<PathBuf>,
    pub(crate) options: SessionOptions,
}

fn live_layer() -> LayerId {
    LayerId::new(Priority::TRACKING, "live face")
}

fn remove_live_layer(
    world: bevy::ecs::world::DeferredWorld,
    ctx: bevy::ecs::lifecycle::HookContext,
) {
    super::layers::remove_layers_where(world, ctx.entity, |id| *id == live_layer());
}

/// Starts drivers, takes their newest samples and writes the tracking layers.
pub(crate) fn drive_live_faces(
    time: Res<Time>,
    config: Option<Res<TrackerConfig>>,
    mut heads: Query<(Entity, &mut LiveFace, &mut FaceLayers)>,
    mut errors: MessageWriter<TalkingHeadError>,
) {
    let dt = time.delta_secs();
    let default_config = TrackerConfig::default();
    let config = config.as_deref().unwrap_or(&default_config);
    for (entity, mut live, mut layers) in &mut heads {
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
            warn!(
                "talking head {entity}: live face from `{}`: {why}; idle life takes over until it works",
                live.status.source_name
            );
            errors.write(TalkingHeadError {
                entity,
                error: Arc::new(Error::Capture {
                    source_name: live.status.source_name.clone(),
                    problem: why,
                }),
            });
        }
        if let Some(sample) = rt.samples.try_iter().last() {
            live.smoothed = Some(smooth(live.smoothed, &sample.frame, live.smoothing));
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
        let id = live_layer();
        match (&live.smoothed, live.presence > 0.0) {
            (Some(face), true) => layers.set(
                id,
                FaceLayer::new(*face, live.weight * live.presence, live.mask),
            ),
            _ => {
                if layers.get(&id).is_some() {
                    layers.remove(&id);
                }
            }
        }
    }
}
