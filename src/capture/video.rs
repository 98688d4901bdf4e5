//! Frames from video files and image sequences (both decoded by the `ffmpeg` program), behind the same
//! [`FrameSource`] interface the webcam uses.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{CapturedFrame, FrameSource, SourceInterrupt};
use crate::error::{Error, Result};

fn video_error(path: &Path, problem: impl Into<String>) -> Error {
    Error::Capture {
        source_name: path.display().to_string(),
        problem: problem.into(),
    }
}

/// A video file decoded by `ffmpeg` (Debian's `ffmpeg` package) in a child process, frame by frame.
pub struct VideoFileSource {
    path: PathBuf,
    name: String,
    width: u32,
    height: u32,
    fps: f64,
    /// Shared with the [`interrupter`](FrameSource::interrupter), which kills it from another thread.
    child: Arc<Mutex<Child>>,
    stdout: ChildStdout,
    index: u64,
    /// A frame buffer given back ([`FrameSource::recycle`]), filled again by the next frame.
    spare: Option<Vec<u8>>,
}

impl std::fmt::Debug for VideoFileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFileSource")
            .field("path", &self.path)
            .field("size", &(self.width, self.height))
            .field("fps", &self.fps)
            .finish()
    }
}

impl VideoFileSource {
    /// Opens a video file: probes its size and frame rate with `ffprobe`, then starts `ffmpeg`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(video_error(&path, "no such file"));
        }
        let (width, height, fps) = probe(&path)?;
        if fps <= 0.0 {
            return Err(video_error(&path, "the video has no frame rate"));
        }
        Self::start(path.clone(), &[], &path, width, height, fps)
    }

    /// Opens a folder of `.png` (or, if there are none, `.jpg`) frames in file-name order at `fps`.
    pub fn open_sequence(dir: impl AsRef<Path>, fps: f64) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if !(fps.is_finite() && fps > 0.0) {
            return Err(video_error(
                &dir,
                format!("frame rate {fps} must be positive"),
            ));
        }
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| video_error(&dir, format!("cannot list the folder: {e}")))?;
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        let ext = ["png", "jpg"]
            .into_iter()
            .find(|ext| {
                files
                    .iter()
                    .any(|f| f.extension().is_some_and(|e| e == *ext))
            })
            .ok_or_else(|| video_error(&dir, "no .png or .jpg frames in the folder"))?;
        let first = files
            .iter()
            .find(|f| f.extension().is_some_and(|e| e == ext))
            .expect("found above");
        let (width, height, _) = probe(first)?;
        let pattern = dir.join(format!("*.{ext}"));
        let rate = fps.to_string();
        let args = ["-framerate", rate.as_str(), "-pattern_type", "glob"];
        Self::start(dir, &args, &pattern, width, height, fps)
    }

    fn start(
        path: PathBuf,
        input_args: &[&str],
        input: &Path,
        width: u32,
        height: u32,
        fps: f64,
    ) -> Result<Self> {
        let mut child = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin"])
            .args(input_args)
            .arg("-i")
            .arg(input)
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                video_error(
                    &path,
                    format!(
                        "cannot run ffmpeg ({e}): install ffmpeg (Debian: apt-get install ffmpeg)"
                    ),
                )
            })?;
        let stdout = child.stdout.take().expect("piped stdout");
        Ok(Self {
            name: path.display().to_string(),
            path,
            width,
            height,
            fps,
            child: Arc::new(Mutex::new(child)),
            stdout,
            index: 0,
            spare: None,
        })
    }

    /// Frames per second of the file.
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Frame size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
}

impl FrameSource for VideoFileSource {
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>> {
        let len = self.width as usize * self.height as usize * 3;
        // Every byte is overwritten below (or the frame is not returned): a recycled buffer needs no
        // clearing.
        let mut rgb = match self.spare.take() {
            Some(b) if b.len() == len => b,
            _ => vec![0u8; len],
        };
        let mut filled = 0;
        while filled < rgb.len() {
            match self.stdout.read(&mut rgb[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(video_error(
                        &self.path,
                        format!("reading decoded frames failed: {e}"),
                    ));
                }
            }
        }
        if filled < rgb.len() {
            return Ok(None);
        }
        let frame = CapturedFrame {
            width: self.width,
            height: self.height,
            rgb,
            timestamp: Duration::from_secs_f64(self.index as f64 / self.fps),
            index: self.index,
        };
        self.index += 1;
        Ok(Some(frame))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn interrupter(&self) -> Option<SourceInterrupt> {
        let child = self.child.clone();
        // A killed `ffmpeg` closes its end of the pipe: a read blocked in `next_frame` returns.
        // (Once the child is reaped, `kill` sends nothing: no stray signal to a reused process id.)
        Some(Box::new(move || {
            let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
        }))
    }

    fn recycle(&mut self, rgb: Vec<u8>) {
        if rgb.len() == self.width as usize * self.height as usize * 3 {
            self.spare = Some(rgb);
        }
    }
}

impl Drop for VideoFileSource {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Width, height and frame rate of the first video stream of `path`, from `ffprobe`.
fn probe(path: &Path) -> Result<(u32, u32, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,avg_frame_rate",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .map_err(|e| {
            video_error(
                path,
                format!(
                    "cannot run ffprobe ({e}): install ffmpeg (Debian: apt-get install ffmpeg)"
                ),
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.trim().split(',').collect();
    if !out.status.success() || fields.len() < 3 {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(video_error(
            path,
            format!("not a video or image ffprobe can read: {why}"),
        ));
    }
    let width: u32 = fields[0]
        .parse()
        .map_err(|_| video_error(path, format!("bad width `{}`", fields[0])))?;
    let height: u32 = fields[1]
        .parse()
        .map_err(|_| video_error(path, format!("bad height `{}`", fields[1])))?;
    let fps = match fields[2].split_once('/') {
        Some((n, d)) => n.parse::<f64>().unwrap_or(0.0) / d.parse::<f64>().unwrap_or(1.0),
        None => fields[2].parse().unwrap_or(0.0),
    };
    if width == 0 || height == 0 {
        return Err(video_error(
            path,
            format!("unusable stream: {width}x{height}"),
        ));
    }
    // Each frame is a buffer of width x height x 3 bytes: a stream declaring more than the tracker
    // reads would allocate gigabytes a frame for nothing.
    let max = crate::tracking::MAX_IMAGE_SIDE;
    if width > max || height > max {
        return Err(video_error(
            path,
            format!("{width}x{height} frames are larger than the {max} px limit"),
        ));
    }
    Ok((width, height, if fps.is_finite() { fps } else { 0.0 }))
}
