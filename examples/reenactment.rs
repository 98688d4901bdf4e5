//! The self-reenactment benchmark: each driving video's calmest frame becomes the portrait, every other
//! frame drives it, and the rendered head is compared with the real frame on the face crop (AKD, PSNR,
//! SSIM, mouth and eye opening r, and the PSNR of the person alone: the real background counted as
//! drawn perfectly), with the portrait's background kept still behind the moving head. Prints the
//! table for each way of driving (the 52 weights through the expression shapes, and the driver's own
//! landmark motion) and writes a contact sheet per video
//! (rows: real | weights | landmarks). No window.
//!
//! ```sh
//! cargo run --release --example reenactment -- [VIDEO ...] [--stride N] [--out DIR]
//! ```
//!
//! Without videos it runs the three of `../shared/testdata/driving`. See `bevy_talking_head::eval`.

#[path = "common/cli.rs"]
mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use bevy_talking_head::eval::{ReenactmentOptions, self_reenactment};
use bevy_talking_head::tracking::default_models_dir;

const USAGE: &str = "usage: reenactment [VIDEO ...] [--stride N] [--out DIR]";

struct Args {
    videos: Vec<PathBuf>,
    stride: usize,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let (mut videos, mut stride, mut out) = (Vec::new(), 1, PathBuf::from("reenactment"));
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--out" => out = PathBuf::from(value()?),
            "--stride" => {
                let v = value()?;
                stride =
                    v.parse().ok().filter(|s| *s >= 1).ok_or_else(|| {
                        format!("--stride must be a whole number >= 1, not `{v}`")
                    })?;
            }
            other if other.starts_with("--") => return Err(format!("unknown option `{other}`")),
            video => videos.push(PathBuf::from(video)),
        }
    }
    if videos.is_empty() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/driving");
        for name in [
            "expressions_greenscreen.mp4",
            "expressions_head_turns.mp4",
            "webcam_talking.mp4",
        ] {
            videos.push(dir.join(name));
        }
    }
    Ok(Args {
        videos,
        stride,
        out,
    })
}

fn run(args: &Args) -> Result<(), String> {
    let options = ReenactmentOptions {
        stride: args.stride,
        sheet_every: 6,
        score_person: true,
        still_background: true,
        ..ReenactmentOptions::default()
    };
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "| video | source frame | driving | frames | AKD % | PSNR dB | person PSNR dB | SSIM | mouth r | eye r | lost |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for video in &args.videos {
        let r =
            self_reenactment(&default_models_dir(), video, &options).map_err(|e| e.to_string())?;
        for s in &r.scores {
            println!(
                "| {} | {} | {:?} | {} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} | {} |",
                r.video,
                r.source_frame,
                s.driving,
                s.frames,
                s.akd,
                s.psnr,
                s.person_psnr.unwrap_or(f64::NAN),
                s.ssim,
                s.mouth_r,
                s.eye_r,
                s.lost
            );
        }
        if let Some((w, h, rgba)) = r.sheet {
            let path = args
                .out
                .join(format!("{}.png", r.video.trim_end_matches(".mp4")));
            image::RgbaImage::from_raw(w, h, rgba)
                .expect("sheet size")
                .save(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::main(USAGE, parse_args(), run)
}
