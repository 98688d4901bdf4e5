//! Training data for the neural path (`models/training`): frames of videos, cropped around the face by the
//! crate's own [`FaceCrop`] and landmarked by the crate's own face tracker, so the model sees faces as
//! [`NeuralRenderer`](bevy_talking_head::neural::NeuralRenderer) will show them. No window.
//!
//! ```sh
//! cargo run --release --example prepare_training_data -- --out data --size 64 videos/*.mp4
//! cargo run --release --example prepare_training_data -- --out DIR [--size PX] [--every N]
//!     [--max-frames N] VIDEO...
//! ```
//!
//! A VIDEO may be a folder of PNG frames (read in name order at 25 fps), such as the `bake` example's.
//!
//! Writes, for each video, `DIR/<video name>/000000.png ...` (RGB, `--size` square) and
//! `DIR/<video name>/landmarks.json`: `{"version": 1, "resolution", "source", "crop", "frames": [{"file",
//! "index", "time", "landmarks": [[x, y], ...]}]}` with the 468 face-mesh points in crop pixels. One crop
//! for the whole video (the median of the per-frame crops), so head motion stays in the frames. Frames
//! without a face are left out (and counted). A video that cannot be read is reported and skipped; the
//! exit status is 1 when no video gave frames.

#[path = "common/cli.rs"]
mod cli;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bevy_talking_head::capture::{FrameSource, VideoFileSource};
use bevy_talking_head::neural::FaceCrop;
use bevy_talking_head::tracking::default_models_dir;
use bevy_talking_head::tracking::{FaceTracker, ImageView};

const USAGE: &str =
    "usage: prepare_training_data --out DIR [--size PX] [--every N] [--max-frames N] VIDEO...
  --out        output folder (one folder per video inside)
  --size       square crop size in pixels, a power of two from 16 to 1024 (default: 64)
  --every      keep every Nth frame (default: 1)
  --max-frames stop each video after this many kept frames (default: all)";

struct Args {
    out: PathBuf,
    size: u32,
    every: u64,
    max_frames: usize,
    videos: Vec<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        out: PathBuf::new(),
        size: 64,
        every: 1,
        max_frames: usize::MAX,
        videos: Vec::new(),
    };
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |name: &str, v: String| -> Result<u64, String> {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} must be a positive whole number, not `{v}`"))
        };
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--size" => {
                let v = number("--size", value("--size")?)?;
                if !(16..=1024).contains(&v) || !v.is_power_of_two() {
                    return Err(format!(
                        "--size must be a power of two from 16 to 1024, not {v}"
                    ));
                }
                parsed.size = v as u32;
            }
            "--every" => parsed.every = number("--every", value("--every")?)?,
            "--max-frames" => {
                parsed.max_frames = number("--max-frames", value("--max-frames")?)? as usize
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option `{s}`")),
            _ => parsed.videos.push(PathBuf::from(a)),
        }
    }
    parsed.out = out.ok_or("--out is required")?;
    if parsed.videos.is_empty() {
        return Err("no videos given".into());
    }
    Ok(parsed)
}

/// One tracked frame, before cropping.
struct Tracked {
    index: u64,
    time: f64,
    rgb: Vec<u8>,
    width: u32,
    height: u32,
    landmarks: Vec<[f32; 2]>,
}

fn prepare(video: &Path, args: &Args, tracker: &mut FaceTracker) -> Result<usize, String> {
    // A folder is an image sequence (25 fps), as the `bake` example writes.
    let mut source = if video.is_dir() {
        VideoFileSource::open_sequence(video, 25.0)
    } else {
        VideoFileSource::open(video)
    }
    .map_err(|e| e.to_string())?;
    tracker.reset();
    let mut tracked = Vec::new();
    let (mut seen, mut faceless) = (0u64, 0usize);
    while tracked.len() < args.max_frames {
        let Some(frame) = source.next_frame().map_err(|e| e.to_string())? else {
            break;
        };
        seen += 1;
        if frame.index % args.every != 0 {
            continue;
        }
        let label = format!("{} frame {}", video.display(), frame.index);
        let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, &label)
            .map_err(|e| e.to_string())?;
        match tracker.track(&view).map_err(|e| e.to_string())? {
            Some(face) => tracked.push(Tracked {
                index: frame.index,
                time: frame.timestamp.as_secs_f64(),
                landmarks: face.landmarks.points.iter().map(|p| [p[0], p[1]]).collect(),
                rgb: frame.rgb,
                width: frame.width,
                height: frame.height,
            }),
            None => faceless += 1,
        }
        eprint!(
            "\r  {}: {} frames read, {} with a face",
            video.display(),
            seen,
            tracked.len()
        );
        let _ = std::io::stderr().flush();
    }
    eprintln!();
    let crops: Vec<FaceCrop> = tracked
        .iter()
        .filter_map(|t| FaceCrop::around(&t.landmarks))
        .collect();
    let Some(crop) = FaceCrop::median(&crops) else {
        return Err(format!("no face found in {seen} frames"));
    };
    let name = if video.is_dir() {
        video.file_name()
    } else {
        video.file_stem()
    };
    let name = name
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    let dir = args.out.join(&name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut entries = Vec::new();
    for t in &tracked {
        let rgb = crop.sample_rgb(&t.rgb, 3, t.width, t.height, args.size);
        let file = format!("{:06}.png", t.index);
        let img = image::RgbImage::from_raw(args.size, args.size, rgb).expect("size matches");
        img.save(dir.join(&file))
            .map_err(|e| format!("{}: {e}", dir.join(&file).display()))?;
        let landmarks: Vec<[f32; 2]> = t
            .landmarks
            .iter()
            .map(|p| crop.to_crop(*p, args.size))
            .collect();
        entries.push(serde_json::json!({
            "file": file, "index": t.index, "time": t.time, "landmarks": landmarks,
        }));
    }
    let meta = serde_json::json!({
        "version": 1,
        "resolution": args.size,
        "source": video.display().to_string(),
        "crop": crop,
        "frames": entries,
    });
    let path = dir.join("landmarks.json");
    std::fs::write(&path, serde_json::to_string(&meta).expect("json"))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!(
        "  -> {}: {} frames ({} without a face left out)",
        dir.display(),
        tracked.len(),
        faceless
    );
    Ok(tracked.len())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    cli::main(USAGE, parse_args(&args), run)
}

fn run(args: &Args) -> Result<(), String> {
    let mut tracker = FaceTracker::from_dir(default_models_dir(), &Default::default())
        .map_err(|e| format!("{e} (the face models come from `make setup`)"))?;
    let mut total = 0;
    for video in &args.videos {
        match prepare(video, args, &mut tracker) {
            Ok(n) => total += n,
            Err(e) => eprintln!("error: {}: {e}; skipped", video.display()),
        }
    }
    if total == 0 {
        return Err("no frames were prepared".into());
    }
    eprintln!("{total} frames in {}", args.out.display());
    Ok(())
}
