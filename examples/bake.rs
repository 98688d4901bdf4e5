//! Bake a portrait and a face clip into PNG frames, a sprite sheet and an animated GIF: for artists who
//! want the animation without the game, and for engines that only play sprite sheets. No window; a
//! progress bar on the terminal.
//!
//! ```sh
//! cargo run --release --example bake -- assets/portraits/astronaut.png assets/clips/talk.face.ron
//! cargo run --release --example bake -- PORTRAIT CLIP [--out DIR] [--fps N] [--size PX] [--columns N]
//! ```
//!
//! Writes `DIR/frame_0000.png ...`, `DIR/sheet.png` (frames left to right, top to bottom, `--columns` to a
//! row) and `DIR/animation.gif` (looping). Defaults: `--out baked`, `--fps 25`, `--size 256` (the longer
//! side of each frame), `--columns` the square root of the frame count. A once clip is baked from start to
//! end, a looping one for one cycle, a ping-pong one there and back. The portrait is rigged from its
//! `<portrait>.rig.json` sidecar, or by the face tracker (`make setup` provides its models) which then
//! writes the sidecar.

#[path = "common/cli.rs"]
mod cli;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use bevy_talking_head::drive::{FaceClip, PlayMode};
use bevy_talking_head::render::{PortraitImage, PreparedHead};
use bevy_talking_head::rig::{ExpressionRig, PortraitRig};
use bevy_talking_head::tracking::{FaceTracker, ImageView};

const USAGE: &str = "usage: bake PORTRAIT CLIP [--out DIR] [--fps N] [--size PX] [--columns N]
  PORTRAIT  a PNG or JPEG portrait (its rig: PORTRAIT.rig.json, else the face tracker)
  CLIP      a *.face.ron face clip
  --out     output folder (default: baked)
  --fps     frames per second, 1-120 (default: 25)
  --size    longer side of a frame in pixels, 16-2048 (default: 256)
  --columns frames per sprite-sheet row (default: about the square root of the frame count)";

struct Args {
    portrait: PathBuf,
    clip: PathBuf,
    out: PathBuf,
    fps: u32,
    size: u32,
    columns: Option<u32>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut positional = Vec::new();
    let (mut out, mut fps, mut size, mut columns) = (PathBuf::from("baked"), 25, 256, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |name: &str, v: String, lo: u32, hi: u32| -> Result<u32, String> {
            match v.parse::<u32>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(format!(
                    "{name} must be a whole number from {lo} to {hi}, not `{v}`"
                )),
            }
        };
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--out" => out = PathBuf::from(value("--out")?),
            "--fps" => fps = number("--fps", value("--fps")?, 1, 120)?,
            "--size" => size = number("--size", value("--size")?, 16, 2048)?,
            "--columns" => columns = Some(number("--columns", value("--columns")?, 1, 1000)?),
            s if s.starts_with("--") => return Err(format!("unknown option `{s}`")),
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [portrait, clip] = <[PathBuf; 2]>::try_from(positional).map_err(|p| {
        format!(
            "expected a PORTRAIT and a CLIP, got {} file arguments",
            p.len()
        )
    })?;
    Ok(Args {
        portrait,
        clip,
        out,
        fps,
        size,
        columns,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    cli::main(USAGE, parse_args(&args), bake)
}

/// The portrait scaled so its longer side is `size`, and its rig at that size.
fn load_portrait(path: &Path, size: u32) -> Result<(Arc<PortraitImage>, PortraitRig), String> {
    let img = image::open(path)
        .map_err(|e| format!("portrait `{}`: {e}", path.display()))?
        .to_rgba8();
    let (w, h) = img.dimensions();
    let full = ImageView::new(w, h, 4, img.as_raw(), &path.display().to_string())
        .map_err(|e| e.to_string())?;
    let rig = match PortraitRig::load_sidecar(path, Some([w, h])).map_err(|e| e.to_string())? {
        Some(rig) => rig,
        None => {
            eprintln!("rigging {} with the face tracker...", path.display());
            let models = bevy_talking_head::tracking::default_models_dir();
            let tracker = FaceTracker::from_dir(&models, &Default::default()).map_err(|e| {
                format!(
                    "{e}. The face models come from `make setup` (or `python3 models/setup.py`)"
                )
            })?;
            PortraitRig::load_or_build(path, &full, &tracker).map_err(|e| e.to_string())?
        }
    };
    let k = size as f32 / w.max(h) as f32;
    let (sw, sh) = (
        ((w as f32 * k).round() as u32).max(1),
        ((h as f32 * k).round() as u32).max(1),
    );
    let portrait = PortraitImage::new(w, h, img.into_raw()).map_err(|e| e.to_string())?;
    let portrait = Arc::new(if (sw, sh) == (w, h) {
        portrait
    } else {
        portrait.resized(sw, sh)
    });
    Ok((portrait, rig.scaled_to([sw, sh])))
}

fn bake(args: &Args) -> Result<(), String> {
    let clip = FaceClip::load(&args.clip).map_err(|e| e.to_string())?;
    let (portrait, rig) = load_portrait(&args.portrait, args.size)?;
    let head = PreparedHead::new(
        std::slice::from_ref(&portrait),
        &[rig],
        &ExpressionRig::default(),
    )
    .map_err(|e| e.to_string())?;
    let length = match clip.mode() {
        PlayMode::PingPong => 2.0 * clip.duration(),
        _ => clip.duration(),
    };
    // A once clip includes its last instant; a cycle does not repeat its first.
    let steps = (length * args.fps as f32).round() as u32;
    let count = if clip.mode() == PlayMode::Once {
        steps + 1
    } else {
        steps.max(1)
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create `{}`: {e}", args.out.display()))?;
    let (w, h) = (portrait.width, portrait.height);
    let columns = args
        .columns
        .unwrap_or_else(|| (count as f32).sqrt().ceil() as u32)
        .clamp(1, count);
    let rows = count.div_ceil(columns);
    let mut sheet = image::RgbaImage::new(w * columns, h * rows);
    let gif_path = args.out.join("animation.gif");
    let gif_file = std::fs::File::create(&gif_path)
        .map_err(|e| format!("cannot write `{}`: {e}", gif_path.display()))?;
    let mut gif = image::codecs::gif::GifEncoder::new_with_speed(gif_file, 10);
    gif.set_repeat(image::codecs::gif::Repeat::Infinite)
        .map_err(|e| e.to_string())?;
    let mut pixels = vec![0u8; (w * h * 4) as usize];
    for i in 0..count {
        let t = i as f32 / args.fps as f32;
        head.render(&clip.sample(clip.clip_time(t)), &mut pixels);
        let frame = image::RgbaImage::from_raw(w, h, pixels.clone()).expect("frame size");
        let path = args.out.join(format!("frame_{i:04}.png"));
        frame
            .save(&path)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        image::imageops::replace(
            &mut sheet,
            &frame,
            ((i % columns) * w) as i64,
            ((i / columns) * h) as i64,
        );
        let delay = image::Delay::from_numer_denom_ms(1000, args.fps);
        gif.encode_frame(image::Frame::from_parts(frame, 0, 0, delay))
            .map_err(|e| format!("cannot write `{}`: {e}", gif_path.display()))?;
        progress(i + 1, count);
    }
    drop(gif);
    let sheet_path = args.out.join("sheet.png");
    sheet
        .save(&sheet_path)
        .map_err(|e| format!("cannot write `{}`: {e}", sheet_path.display()))?;
    eprintln!(
        "\n{count} frames of {w}x{h} at {} fps -> {}/frame_*.png, {} ({}x{}, {columns} a row), {}",
        args.fps,
        args.out.display(),
        sheet_path.display(),
        sheet.width(),
        sheet.height(),
        gif_path.display()
    );
    Ok(())
}

fn progress(done: u32, total: u32) {
    let width = 30;
    let filled = (done * width / total.max(1)) as usize;
    eprint!(
        "\r[{}{}] {done}/{total} frames",
        "#".repeat(filled),
        " ".repeat(width as usize - filled)
    );
    let _ = std::io::stderr().flush();
}
