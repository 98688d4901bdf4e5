//! The tracking thread: runs the face tracker and the [`FaceAnalyzer`] on the newest captured frame and
//! hands the newest [`LiveSample`] to the main thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::preview::LivePreview;
use super::runtime::{Control, Status, Stop, send_newest};
use super::status::LiveSample;
use crate::capture::CapturedFrame;
use crate::onnx::SessionOptions;
use crate::tracking::{FaceAnalyzer, FaceModels, FaceTracker, ImageView, TrackerModels};

pub(super) struct TrackLoop {
    pub(super) models: FaceModels,
    pub(super) options: SessionOptions,
    pub(super) frames: Receiver<(CapturedFrame, u64, Instant)>,
    pub(super) samples: Sender<LiveSample>,
    pub(super) samples_back: Receiver<LiveSample>,
    pub(super) status: Sender<Status>,
    pub(super) control: Receiver<Control>,
    pub(super) stop: Arc<Stop>,
    /// Frame buffers done with, back to the capture thread (bounded: extra ones are dropped).
    pub(super) recycle: Sender<Vec<u8>>,
    pub(super) dropped: Arc<AtomicU64>,
    pub(super) epoch: Instant,
    pub(super) name: String,
    pub(super) preview: Arc<AtomicBool>,
    pub(super) landmarks: Arc<AtomicBool>,
}

/// Without a calibration, landmark driving measures from the calmest face (least blendshape weight in
/// all) of the first this-many seconds with a face.
const AUTO_NEUTRAL_SECONDS: f64 = 3.0;

/// Landmark driving's neutral without a calibration: the calmest face's blendshape weight in all, its
/// canonical points, and when the first face was seen.
type AutoNeutral = (f32, Arc<Vec<[f32; 3]>>, f64);

impl TrackLoop {
    pub(super) fn run(self) {
        let stopped = || self.stop.is_set();
        let loaded =
            FaceTracker::load_unless(&self.models, &self.options, TrackerModels::MeshV2, &stopped);
        let mut tracker = match loaded {
            Ok(t) => t,
            // Removed while loading: nobody to tell.
            Err(_) if self.stop.is_set() => return,
            Err(e) => {
                let _ = self
                    .status
                    .send(Status::Failed(crate::tracking::explain_models_error(&e)));
                // Nothing will track: the capture thread closes the camera (the caller stops it).
                return;
            }
        };
        let mut analyzer = FaceAnalyzer::default();
        let mut calibrate = false;
        let mut had_face: Option<bool> = None;
        let mut last_source_index = None;
        let mut frame_error_reported = false;
        // Landmark driving's own neutral when not calibrated.
        let mut auto_neutral: Option<AutoNeutral> = None;
        while !self.stop.is_set() {
            let (frame, index, captured_at) =
                match self.frames.recv_timeout(Duration::from_millis(50)) {
                    Ok(item) => item,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
            'frame: {
                // The test kit's fail point: a bug that panics here must fail the face, not end the
                // thread silently (tests/hostile_inputs.rs).
                #[cfg(feature = "test-utils")]
                if self.name == super::PANIC_IN_TRACKING {
                    panic!("{}", super::PANIC_IN_TRACKING);
                }
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
                let view =
                    match ImageView::new(frame.width, frame.height, 3, &frame.rgb, &self.name) {
                        Ok(v) => v,
                        Err(e) => {
                            if !frame_error_reported {
                                frame_error_reported = true;
                                let _ = self.status.send(Status::Lost(e.to_string()));
                            }
                            break 'frame;
                        }
                    };
                // MediaPipe's VIDEO mode: points smoothed over the capture times, blendshapes from them.
                let tracked = match tracker
                    .track_video(&view, captured_at.saturating_duration_since(self.epoch))
                {
                    Ok(t) => t,
                    Err(e) => {
                        if !frame_error_reported {
                            frame_error_reported = true;
                            let _ = self.status.send(Status::Lost(e.to_string()));
                        }
                        break 'frame;
                    }
                };
                let seen = tracked.is_some();
                if had_face != Some(seen) {
                    had_face = Some(seen);
                    let _ = self.status.send(Status::Face(seen));
                }
                let Some(face) = tracked else { break 'frame };
                if calibrate {
                    analyzer.calibrate(&face);
                    calibrate = false;
                }
                let t = captured_at
                    .saturating_duration_since(self.epoch)
                    .as_secs_f64();
                let mut out = analyzer.analyze(&face, t);
                out.time = t;
                let motion = self.landmarks.load(Ordering::Relaxed).then(|| {
                    let mut motion = analyzer.landmark_motion(&face);
                    if analyzer.calibration.points.is_none() {
                        let calm: f32 = face.blendshapes.map_or(0.0, |b| b.as_slice().iter().sum());
                        let since = auto_neutral.as_ref().map_or(t, |a| a.2);
                        let calmer = auto_neutral.as_ref().is_none_or(|a| calm < a.0);
                        if calmer && t - since <= AUTO_NEUTRAL_SECONDS {
                            auto_neutral = Some((calm, Arc::new(motion.current.clone()), since));
                        }
                        if let Some(a) = &auto_neutral {
                            motion.neutral = a.1.clone();
                        }
                    }
                    Arc::new(motion)
                });
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
                    motion,
                };
                match send_newest(&self.samples, &self.samples_back, sample) {
                    Ok(Some(_)) => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(None) => {}
                    Err(()) => return,
                }
            }
            let _ = self.recycle.try_send(frame.rgb);
        }
    }
}
