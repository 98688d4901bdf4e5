//! What to ask of a webcam: [`CameraRequest`]. Always compiled, so settings and drivers name cameras the
//! same way with or without the `webcam` feature.

use serde::{Deserialize, Serialize};

/// Which camera `WebcamSource::open` (feature `webcam`) opens.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub enum CameraSelector {
    /// The first camera, in `list_cameras` order, that opens. Devices that list but cannot stream video
    /// (the metadata nodes Linux lists next to most webcams) are skipped.
    #[default]
    First,
    /// The camera whose `CameraDescription::index` is this number (on Linux `N` of `/dev/videoN`).
    Index(u32),
    /// The first camera that opens among those whose human name (`CameraDescription::name`) contains this
    /// text, ignoring case.
    Name(String),
}

/// The pixel format to capture in, when the camera offers a choice. Frames are always handed out as RGB8.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub enum PixelFormat {
    /// Whatever fits the requested resolution and frame rate best; uncompressed YUYV wins a tie.
    #[default]
    Any,
    /// Motion JPEG: compressed, so cameras usually offer higher frame rates at large sizes.
    Mjpeg,
    /// YUYV 4:2:2: uncompressed, cheap to decode, free of compression artifacts.
    Yuyv,
}

/// What to open: which camera and, as closely as the camera allows, at which size, rate and format.
///
/// The default asks the first camera for 640x480 at 30 fps in any format: enough for face tracking, and a
/// mode nearly every webcam has. A camera without it gives its closest size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraRequest {
    /// Which camera.
    pub camera: CameraSelector,
    /// Wanted width and height in pixels; the camera's closest size is used. `None`: the largest size.
    pub resolution: Option<(u32, u32)>,
    /// Wanted frames per second. If the chosen size does not offer it, its highest rate is used.
    /// `None`: the highest rate.
    pub fps: Option<u32>,
    /// Preferred pixel format; another one is used (with a warning) when the camera does not offer it.
    pub format: PixelFormat,
}

impl Default for CameraRequest {
    fn default() -> Self {
        Self {
            camera: CameraSelector::First,
            resolution: Some((640, 480)),
            fps: Some(30),
            format: PixelFormat::Any,
        }
    }
}

impl CameraRequest {
    /// Picks the camera.
    #[must_use]
    pub fn with_camera(mut self, camera: CameraSelector) -> Self {
        self.camera = camera;
        self
    }

    /// Asks for `width` x `height` pixels (set [`resolution`](Self::resolution) to `None` for the largest).
    #[must_use]
    pub fn with_resolution(mut self, width: u32, height: u32) -> Self {
        self.resolution = Some((width, height));
        self
    }

    /// Asks for `fps` frames per second (set [`fps`](Self::fps) to `None` for the highest).
    #[must_use]
    pub fn with_fps(mut self, fps: u32) -> Self {
        self.fps = Some(fps);
        self
    }

    /// Picks the preferred pixel format.
    #[must_use]
    pub fn with_format(mut self, format: PixelFormat) -> Self {
        self.format = format;
        self
    }
}
