//! Webcams through nokhwa (feature `webcam`): [`list_cameras`] and [`WebcamSource`], a [`FrameSource`] that
//! the capture driver opens on its own thread.
//!
//! ```no_run
//! use bevy_talking_head::capture::FrameSource;
//! use bevy_talking_head::capture::webcam::{CameraRequest, CameraSelector, WebcamSource};
//!
//! let request = CameraRequest::default()
//!     .with_camera(CameraSelector::Name("logitech".into()))
//!     .with_resolution(1280, 720)
//!     .with_fps(30);
//! let mut camera = WebcamSource::open(&request)?;
//! println!("{} at {:?}, {} fps", camera.name(), camera.resolution(), camera.frame_rate());
//! if let Some(frame) = camera.next_frame()? {
//!     assert_eq!(frame.rgb.len(), (frame.width * frame.height * 3) as usize);
//! }
//! # Ok::<(), bevy_talking_head::Error>(())
//! ```

use std::any::Any;
use std::cmp::Reverse;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use bevy::log::{debug, info, warn};
use nokhwa::Camera;
use nokhwa::pixel_format::{FormatDecoder, RgbFormat};
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraInfo, FrameFormat, RequestedFormat, RequestedFormatType,
};
// The request types are always compiled (settings name cameras with or without this feature); they are
// re-exported here so `capture::webcam` is complete on its own.
pub use super::{CameraRequest, CameraSelector, PixelFormat};
use super::{CapturedFrame, FrameSource};
use crate::error::{Error, Result};

/// A camera the operating system reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraDescription {
    /// The index to open it by.
    pub index: String,
    /// A human-readable name.
    pub name: String,
    /// The backend's description (driver, bus).
    pub description: String,
}

impl CameraDescription {
    fn from_info(info: &CameraInfo) -> Self {
        Self {
            index: info.index().to_string(),
            name: info.human_name(),
            description: info.description().to_owned(),
        }
    }
}

/// Lists the cameras of the platform's native backend. No camera is not an error: the list is empty.
/// A backend that cannot be queried (no permission, no V4L2) is, with its message.
pub fn list_cameras() -> Result<Vec<CameraDescription>, String> {
    let backend = native_backend();
    let cameras =
        nokhwa::query(backend).map_err(|e| format!("cannot list cameras ({backend:?}): {e}"))?;
    Ok(cameras.iter().map(CameraDescription::from_info).collect())
}

/// How many undecodable frames in a row (a torn JPEG at stream start is common) are skipped before
/// [`WebcamSource::next_frame`] reports the error.
const DECODE_ATTEMPTS: u32 = 5;

/// A live webcam, decoded to RGB8 frame by frame.
///
/// Not `Send` (some backends must stay on the thread that opened them): open it on the thread that reads it.
/// Dropping it stops the stream.
pub struct WebcamSource {
    /// `None` only while dropping.
    camera: Option<Camera>,
    name: String,
    format: CameraFormat,
    opened: Instant,
    index: u64,
}

impl std::fmt::Debug for WebcamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebcamSource")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("frames", &self.index)
            .finish_non_exhaustive()
    }
}

impl WebcamSource {
    /// Finds the camera `request` selects, sets it to the closest format it offers and starts streaming.
    ///
    /// Errors ([`Error::Capture`]) when no camera is found, none matches the selector (the message lists
    /// the cameras there are), the camera cannot be opened (busy, no permission) or cannot stream.
    pub fn open(request: &CameraRequest) -> Result<Self> {
        let label = selector_label(&request.camera);
        let backend = native_backend();
        let infos = guarded(|| nokhwa::query(backend)).map_err(|e| {
            capture_error(
                &label,
                format!(
                    "cannot list cameras through {backend:?}: {e}. Check that this user may use cameras \
                     (on Linux: member of the `video` group, /dev/video* readable)"
                ),
            )
        })?;
        let descriptions: Vec<CameraDescription> =
            infos.iter().map(CameraDescription::from_info).collect();
        let candidates = resolve_selector(&request.camera, &descriptions)
            .map_err(|problem| capture_error(&label, problem))?;

        let mut failures = Vec::new();
        for &position in &candidates {
            let info = &infos[position];
            let name = info.human_name();
            match open_camera(info, backend, request) {
                Ok(camera) => {
                    let format = camera.camera_format();
                    info!(
                        "webcam `{name}` (index {}) streaming {}x{} {:?} at {} fps",
                        info.index(),
                        format.width(),
                        format.height(),
                        format.format(),
                        format.frame_rate()
                    );
                    return Ok(Self {
                        camera: Some(camera),
                        name,
                        format,
                        opened: Instant::now(),
                        index: 0,
                    });
                }
                Err(problem) => {
                    debug!("webcam `{name}` (index {}): {problem}", info.index());
                    failures.push((name, info.index().to_string(), problem));
                }
            }
        }
        Err(open_failure(&label, failures))
    }

    /// Frame size in pixels, as the camera streams it.
    pub fn resolution(&self) -> (u32, u32) {
        (self.format.width(), self.format.height())
    }

    /// Frames per second the camera was set to.
    pub fn frame_rate(&self) -> u32 {
        self.format.frame_rate()
    }

    fn error(&self, problem: impl Into<String>) -> Error {
        capture_error(&self.name, problem)
    }
}

impl FrameSource for WebcamSource {
    /// Blocks until the camera delivers a frame. Never `None`: a camera has no end; one that stops working
    /// (unplugged, taken by another program) gives an error.
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>> {
        let mut attempt = 1;
        loop {
            let Some(camera) = self.camera.as_mut() else {
                return Err(self.error("the camera is closed"));
            };
            let buffer = guarded(|| camera.frame()).map_err(|e| {
                self.error(format!(
                    "reading a frame failed: {e}. The camera may have been unplugged or taken by another \
                     program: reconnect it and open it again"
                ))
            })?;
            let timestamp = self.opened.elapsed();
            let source_format = buffer.source_frame_format();
            match guarded(|| buffer.decode_image::<RgbFormat>()) {
                Ok(image) => {
                    let (width, height) = image.dimensions();
                    let frame = CapturedFrame {
                        width,
                        height,
                        rgb: image.into_raw(),
                        timestamp,
                        index: self.index,
                    };
                    self.index += 1;
                    return Ok(Some(frame));
                }
                Err(e) if attempt < DECODE_ATTEMPTS => {
                    debug!("webcam `{}`: skipping an undecodable frame: {e}", self.name);
                    attempt += 1;
                }
                Err(e) => {
                    let (w, h) = self.resolution();
                    return Err(self.error(format!(
                        "{DECODE_ATTEMPTS} frames in a row could not be decoded from {source_format:?} \
                         {w}x{h} to RGB: {e}. Try another format (PixelFormat::Mjpeg or PixelFormat::Yuyv)"
                    )));
                }
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for WebcamSource {
    fn drop(&mut self) {
        let Some(mut camera) = self.camera.take() else {
            return;
        };
        match guarded(|| camera.stop_stream()) {
            // nokhwa's own drop stops the stream again and panics if that fails: keep a panic out of drop.
            Ok(()) => {
                if catch_unwind(AssertUnwindSafe(move || drop(camera))).is_err() {
                    warn!("webcam `{}`: closing the camera failed", self.name);
                }
            }
            Err(e) => {
                warn!(
                    "webcam `{}`: stopping the stream failed ({e}); leaving the device to the OS",
                    self.name
                );
                std::mem::forget(camera);
            }
        }
    }
}

fn native_backend() -> ApiBackend {
    nokhwa::native_api_backend().unwrap_or(ApiBackend::Auto)
}

fn capture_error(source_name: &str, problem: impl Into<String>) -> Error {
    Error::Capture {
        source_name: source_name.to_owned(),
        problem: problem.into(),
    }
}

/// A name for errors before a camera is picked.
fn selector_label(selector: &CameraSelector) -> String {
    match selector {
        CameraSelector::First => "webcam (first camera)".to_owned(),
        CameraSelector::Index(index) => format!("webcam #{index}"),
        CameraSelector::Name(name) => format!("webcam `{name}`"),
    }
}

/// Runs a nokhwa call, turning both its error and a panic (mozjpeg reports corrupt data by unwinding,
/// a few backend paths assert) into a message.
fn guarded<T, E: std::fmt::Display>(
    call: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, String> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(payload) => Err(panic_message(payload.as_ref())),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "the camera library panicked".to_owned()
    }
}

/// The cameras to try, in order, as positions in `cameras`; or why there are none.
fn resolve_selector(
    selector: &CameraSelector,
    cameras: &[CameraDescription],
) -> std::result::Result<Vec<usize>, String> {
    if cameras.is_empty() {
        return Err(
            "no camera found: plug a webcam in, check that this user may use it (on Linux: \
                    member of the `video` group) and that no other program hides it"
                .to_owned(),
        );
    }
    let positions: Vec<usize> = match selector {
        CameraSelector::First => (0..cameras.len()).collect(),
        CameraSelector::Index(index) => {
            let wanted = index.to_string();
            cameras
                .iter()
                .position(|c| c.index == wanted)
                .into_iter()
                .collect()
        }
        CameraSelector::Name(name) => {
            let wanted = name.to_lowercase();
            (0..cameras.len())
                .filter(|&i| cameras[i].name.to_lowercase().contains(&wanted))
                .collect()
        }
    };
    if positions.is_empty() {
        let what = match selector {
            CameraSelector::Index(index) => format!("no camera has index {index}"),
            CameraSelector::Name(name) => {
                format!("no camera name contains `{name}` (ignoring case)")
            }
            CameraSelector::First => unreachable!("the list is not empty"),
        };
        return Err(format!(
            "{what}; the cameras are: {}. Pick one by CameraSelector::Index or CameraSelector::Name",
            camera_list(cameras)
        ));
    }
    Ok(positions)
}

/// `` `Name` (index 0), `Other` (index 2) ``
fn camera_list(cameras: &[CameraDescription]) -> String {
    cameras
        .iter()
        .map(|c| format!("`{}` (index {})", c.name, c.index))
        .collect::<Vec<_>>()
        .join(", ")
}

fn open_failure(label: &str, failures: Vec<(String, String, String)>) -> Error {
    let hint = "Is another program using the camera? Close it, or pick another camera with \
                CameraSelector::Index or CameraSelector::Name";
    let problem = match failures.as_slice() {
        [(name, index, problem)] => {
            format!("cannot open camera `{name}` (index {index}): {problem}. {hint}")
        }
        _ => {
            let each: Vec<String> = failures
                .iter()
                .map(|(name, index, problem)| format!("`{name}` (index {index}): {problem}"))
                .collect();
            format!("no camera could be opened: {}. {hint}", each.join("; "))
        }
    };
    capture_error(label, problem)
}

/// Opens one camera, sets the format [`choose_format`] picks from those it offers and starts the stream.
fn open_camera(
    info: &CameraInfo,
    backend: ApiBackend,
    request: &CameraRequest,
) -> std::result::Result<Camera, String> {
    // nokhwa needs a format to open a camera, and lists the formats only of an open one: open it with any
    // decodable format, then switch. (nokhwa 0.10's own `Closest` request matches frame rates against the
    // requested size instead of the chosen one, so it fails whenever that size is missing.)
    let any = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
    let mut camera = guarded(|| Camera::with_backend(info.index().clone(), any, backend))
        .map_err(|e| format!("opening failed ({backend:?}): {e}"))?;

    match guarded(|| camera.compatible_camera_formats()) {
        Ok(formats) => match choose_format(&formats, request) {
            Some(chosen) => {
                if !matches_preference(chosen.format(), &request.format) {
                    warn!(
                        "webcam `{}` does not offer {:?}; using {:?}",
                        info.human_name(),
                        request.format,
                        chosen.format()
                    );
                }
                if chosen != camera.camera_format() {
                    let exact = RequestedFormat::with_formats(
                        RequestedFormatType::Exact(chosen),
                        RgbFormat::FORMATS,
                    );
                    if let Err(e) = guarded(|| camera.set_camera_requset(exact)) {
                        warn!(
                            "webcam `{}` rejected {chosen} ({e}); keeping its current format",
                            info.human_name()
                        );
                        guarded(|| camera.refresh_camera_format())
                            .map_err(|e| format!("reading its format back failed: {e}"))?;
                    }
                }
            }
            None => warn!(
                "webcam `{}` lists no format that can be decoded to RGB; keeping {}",
                info.human_name(),
                camera.camera_format()
            ),
        },
        Err(e) => warn!(
            "webcam `{}` cannot list its formats ({e}); keeping {}",
            info.human_name(),
            camera.camera_format()
        ),
    }

    guarded(|| camera.open_stream()).map_err(|e| format!("starting the stream failed: {e}"))?;
    Ok(camera)
}

fn matches_preference(format: FrameFormat, preference: &PixelFormat) -> bool {
    match preference {
        PixelFormat::Any => true,
        PixelFormat::Mjpeg => format == FrameFormat::MJPEG,
        PixelFormat::Yuyv => format == FrameFormat::YUYV,
    }
}

/// Tie-break between formats that fit equally well: uncompressed first.
fn format_rank(format: FrameFormat) -> u8 {
    match format {
        FrameFormat::YUYV => 0,
        FrameFormat::MJPEG => 1,
        FrameFormat::NV12 => 2,
        FrameFormat::RAWRGB => 3,
        FrameFormat::RAWBGR => 4,
        FrameFormat::GRAY => 5,
    }
}

/// The camera format that fits `request` best among `available`, or `None` when none can be decoded to RGB.
///
/// Only the preferred pixel format is considered when the camera offers it. Then, in order: the size closest
/// to the requested one (the largest when none is requested; the larger on a tie), the requested frame rate
/// if that size offers it and otherwise its highest, and uncompressed formats before compressed ones.
fn choose_format(available: &[CameraFormat], request: &CameraRequest) -> Option<CameraFormat> {
    let decodable: Vec<CameraFormat> = available
        .iter()
        .copied()
        .filter(|f| {
            RgbFormat::FORMATS.contains(&f.format())
                && f.width() > 0
                && f.height() > 0
                && f.frame_rate() > 0
        })
        .collect();
    let preferred: Vec<CameraFormat> = decodable
        .iter()
        .copied()
        .filter(|f| matches_preference(f.format(), &request.format))
        .collect();
    let candidates = if preferred.is_empty() {
        decodable
    } else {
        preferred
    };
    candidates.into_iter().min_by_key(|f| {
        let distance = request.resolution.map_or(0, |(w, h)| {
            let dx = i64::from(f.width()) - i64::from(w);
            let dy = i64::from(f.height()) - i64::from(h);
            dx * dx + dy * dy
        });
        let area = u64::from(f.width()) * u64::from(f.height());
        let fps_missed = request.fps.is_some_and(|fps| f.frame_rate() != fps);
        (
            distance,
            Reverse(area),
            fps_missed,
            Reverse(f.frame_rate()),
            format_rank(f.format()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(index: &str, name: &str) -> CameraDescription {
        CameraDescription {
            index: index.to_owned(),
            name: name.to_owned(),
            description: format!("Video4Linux Device @ /dev/video{index}"),
        }
    }

    fn cameras() -> Vec<CameraDescription> {
        vec![
            camera("0", "Integrated Camera: Integrated C"),
            camera("1", "Integrated Camera: Integrated C"),
            camera("2", "HD Pro Webcam C920"),
        ]
    }

    fn fmt(width: u32, height: u32, format: FrameFormat, fps: u32) -> CameraFormat {
        CameraFormat::new_from(width, height, format, fps)
    }

    /// A typical UVC webcam: YUYV only slow at large sizes, MJPEG fast everywhere.
    fn webcam_formats() -> Vec<CameraFormat> {
        vec![
            fmt(1920, 1080, FrameFormat::YUYV, 5),
            fmt(1280, 720, FrameFormat::YUYV, 10),
            fmt(640, 480, FrameFormat::YUYV, 30),
            fmt(640, 480, FrameFormat::YUYV, 15),
            fmt(320, 240, FrameFormat::YUYV, 30),
            fmt(1920, 1080, FrameFormat::MJPEG, 30),
            fmt(1280, 720, FrameFormat::MJPEG, 60),
            fmt(1280, 720, FrameFormat::MJPEG, 30),
            fmt(640, 480, FrameFormat::MJPEG, 30),
        ]
    }

    #[test]
    fn listing_cameras_never_panics_without_a_camera() {
        // These machines have no camera: either an empty list or an error message, never a panic.
        match super::list_cameras() {
            Ok(list) => assert!(list.iter().all(|c| !c.index.is_empty())),
            Err(message) => assert!(message.contains("cannot list cameras"), "{message}"),
        }
    }

    #[test]
    fn opening_without_a_camera_is_a_capture_error() {
        if list_cameras().is_ok_and(|list| !list.is_empty()) {
            return; // a real camera is attached: opening it is not this test's business
        }
        match WebcamSource::open(&CameraRequest::default()) {
            Err(Error::Capture {
                source_name,
                problem,
            }) => {
                assert_eq!(source_name, "webcam (first camera)");
                assert!(
                    problem.contains("no camera found") || problem.contains("cannot list cameras"),
                    "{problem}"
                );
            }
            Err(other) => panic!("expected a capture error, got {other}"),
            Ok(source) => panic!("opened {source:?} without a camera"),
        }
        let by_name = CameraRequest::default().with_camera(CameraSelector::Name("c920".into()));
        assert!(matches!(
            WebcamSource::open(&by_name),
            Err(Error::Capture { .. })
        ));
    }

    #[test]
    fn no_camera_is_reported_whatever_the_selector() {
        for selector in [
            CameraSelector::First,
            CameraSelector::Index(0),
            CameraSelector::Name("x".into()),
        ] {
            let problem = resolve_selector(&selector, &[]).unwrap_err();
            assert!(problem.starts_with("no camera found"), "{problem}");
        }
    }

    #[test]
    fn first_tries_every_camera_in_order() {
        assert_eq!(
            resolve_selector(&CameraSelector::First, &cameras()),
            Ok(vec![0, 1, 2])
        );
    }

    #[test]
    fn index_matches_the_reported_index_not_the_position() {
        let list = vec![camera("0", "A"), camera("2", "B")];
        assert_eq!(
            resolve_selector(&CameraSelector::Index(2), &list),
            Ok(vec![1])
        );
        let problem = resolve_selector(&CameraSelector::Index(1), &list).unwrap_err();
        assert!(problem.contains("no camera has index 1"), "{problem}");
        assert!(
            problem.contains("`A` (index 0), `B` (index 2)"),
            "{problem}"
        );
    }

    #[test]
    fn name_is_a_case_insensitive_substring() {
        let list = cameras();
        assert_eq!(
            resolve_selector(&CameraSelector::Name("c920".into()), &list),
            Ok(vec![2])
        );
        assert_eq!(
            resolve_selector(&CameraSelector::Name("INTEGRATED".into()), &list),
            Ok(vec![0, 1])
        );
        let problem = resolve_selector(&CameraSelector::Name("Brio".into()), &list).unwrap_err();
        assert!(
            problem.contains("no camera name contains `Brio`"),
            "{problem}"
        );
        assert!(
            problem.contains("`HD Pro Webcam C920` (index 2)"),
            "{problem}"
        );
    }

    #[test]
    fn the_default_request_gets_640x480_at_30_uncompressed() {
        let chosen = choose_format(&webcam_formats(), &CameraRequest::default());
        assert_eq!(chosen, Some(fmt(640, 480, FrameFormat::YUYV, 30)));
    }

    #[test]
    fn the_preferred_format_wins_when_offered() {
        let request = CameraRequest::default().with_format(PixelFormat::Mjpeg);
        assert_eq!(
            choose_format(&webcam_formats(), &request),
            Some(fmt(640, 480, FrameFormat::MJPEG, 30))
        );
        let yuyv_only: Vec<CameraFormat> = webcam_formats()
            .into_iter()
            .filter(|f| f.format() == FrameFormat::YUYV)
            .collect();
        assert_eq!(
            choose_format(&yuyv_only, &request),
            Some(fmt(640, 480, FrameFormat::YUYV, 30)),
            "falls back to a format the camera has"
        );
    }

    #[test]
    fn the_closest_size_is_used() {
        let request = CameraRequest::default().with_resolution(1280, 800);
        assert_eq!(
            choose_format(&webcam_formats(), &request),
            Some(fmt(1280, 720, FrameFormat::MJPEG, 30)),
            "1280x720 is closest; at 30 fps only MJPEG has it"
        );
        let request = CameraRequest::default()
            .with_resolution(600, 400)
            .with_fps(15);
        assert_eq!(
            choose_format(&webcam_formats(), &request),
            Some(fmt(640, 480, FrameFormat::YUYV, 15))
        );
    }

    #[test]
    fn a_missing_frame_rate_falls_back_to_the_highest() {
        let request = CameraRequest::default()
            .with_resolution(1280, 720)
            .with_fps(25);
        assert_eq!(
            choose_format(&webcam_formats(), &request),
            Some(fmt(1280, 720, FrameFormat::MJPEG, 60))
        );
        let request = CameraRequest {
            fps: None,
            ..CameraRequest::default().with_resolution(1280, 720)
        };
        assert_eq!(
            choose_format(&webcam_formats(), &request),
            Some(fmt(1280, 720, FrameFormat::MJPEG, 60))
        );
    }

    #[test]
    fn no_resolution_means_the_largest() {
        let request = CameraRequest {
            resolution: None,
            ..CameraRequest::default()
        };
        assert_eq!(
            choose_format(&webcam_formats(), &request),
            Some(fmt(1920, 1080, FrameFormat::MJPEG, 30))
        );
    }

    #[test]
    fn undecodable_formats_are_never_chosen() {
        let gray = vec![
            fmt(640, 480, FrameFormat::GRAY, 30),
            fmt(0, 0, FrameFormat::YUYV, 30),
        ];
        assert_eq!(choose_format(&gray, &CameraRequest::default()), None);
        assert_eq!(choose_format(&[], &CameraRequest::default()), None);
        let mixed = vec![
            fmt(640, 480, FrameFormat::GRAY, 30),
            fmt(320, 240, FrameFormat::NV12, 30),
        ];
        assert_eq!(
            choose_format(&mixed, &CameraRequest::default()),
            Some(fmt(320, 240, FrameFormat::NV12, 30))
        );
    }

    #[test]
    fn builders_and_defaults() {
        let request = CameraRequest::default();
        assert_eq!(request.camera, CameraSelector::First);
        assert_eq!(request.resolution, Some((640, 480)));
        assert_eq!(request.fps, Some(30));
        assert_eq!(request.format, PixelFormat::Any);
        let request = request
            .with_camera(CameraSelector::Index(2))
            .with_resolution(1280, 720)
            .with_fps(60)
            .with_format(PixelFormat::Yuyv);
        assert_eq!(
            request,
            CameraRequest {
                camera: CameraSelector::Index(2),
                resolution: Some((1280, 720)),
                fps: Some(60),
                format: PixelFormat::Yuyv,
            }
        );
    }

    #[test]
    fn requests_round_trip_through_serde() {
        let request = CameraRequest::default()
            .with_camera(CameraSelector::Name("C920".into()))
            .with_format(PixelFormat::Mjpeg);
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            serde_json::from_str::<CameraRequest>(&json).unwrap(),
            request
        );
        // Missing fields take the defaults.
        let partial: CameraRequest = serde_json::from_str(r#"{"fps": 60}"#).unwrap();
        assert_eq!(partial, CameraRequest::default().with_fps(60));
    }

    #[test]
    fn panics_inside_the_camera_library_become_messages() {
        let caught: std::result::Result<(), String> =
            guarded(|| -> std::result::Result<(), String> { panic!("corrupt JPEG data") });
        assert_eq!(caught, Err("corrupt JPEG data".to_owned()));
        let failed = guarded(|| -> std::result::Result<(), &str> { Err("busy") });
        assert_eq!(failed, Err("busy".to_owned()));
    }
}
