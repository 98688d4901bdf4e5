//! Held-out frames of one person, redrawn by the mesh warp and by a fine-tuned neural model, scored
//! against the real frames (PSNR, SSIM) and put side by side in a contact sheet. No window.
//!
//! ```sh
//! cargo run --release --example neural_eval -- --models DIR --data DATA/person --video VIDEO
//!     [--holdout 0.2] [--out neural_eval]
//! ```
//!
//! `--data` is the person's folder from `prepare_training_data` (crops, landmarks, the crop used) and
//! `--video` the video it came from; `--models` the export of `train.py finetune` on that folder (same
//! `--holdout`: the last part of the video, never trained on). Both renderers start from the same portrait,
//! the first training frame, and are driven by the face the tracker and analyser read from each held-out
//! frame (as a webcam would drive them). The neural model is also run on the sketch of the frame's own
//! landmarks ("neural, landmarks": the paper's self-reenactment protocol, without the retargeting step).
//! Everything is compared in the data's crop at the model's resolution. Writes `OUT/metrics.json` and
//! `OUT/sheet.png` (rows: real, mesh warp, neural, neural with landmarks).

#[path = "common/cli.rs"]
mod cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bevy_talking_head::capture::{FrameSource, VideoFileSource};
use bevy_talking_head::neural::{FaceCrop, NeuralRenderer};
use bevy_talking_head::onnx::SessionOptions;
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, PreparedHead, RenderRequest, RenderTarget};
use bevy_talking_head::tracking::default_models_dir;
use bevy_talking_head::tracking::{FaceAnalyzer, FaceTracker, ImageView};

const USAGE: &str =
    "usage: neural_eval --models DIR --data DIR --video VIDEO [--holdout F] [--out DIR]";

struct Args {
    models: PathBuf,
    data: PathBuf,
    video: PathBuf,
    holdout: f64,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let (mut models, mut data, mut video) = (None, None, None);
    let (mut holdout, mut out) = (0.2, PathBuf::from("neural_eval"));
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--models" => models = Some(PathBuf::from(value()?)),
            "--data" => data = Some(PathBuf::from(value()?)),
            "--video" => video = Some(PathBuf::from(value()?)),
            "--out" => out = PathBuf::from(value()?),
            "--holdout" => {
                let v = value()?;
                holdout = v
                    .parse()
                    .ok()
                    .filter(|h| (0.0..1.0).contains(h))
                    .ok_or_else(|| format!("--holdout must be from 0 to 1, not `{v}`"))?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Args {
        models: models.ok_or("--models is required")?,
        data: data.ok_or("--data is required")?,
        video: video.ok_or("--video is required")?,
        holdout,
        out,
    })
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

/// SSIM (11-tap Gaussian, sigma 1.5, per channel, mean), as models/training/metrics.py.
fn ssim(a: &[u8], b: &[u8], n: usize) -> f64 {
    let g: Vec<f64> = {
        let g: Vec<f64> = (0..11)
            .map(|i| (-((i as f64 - 5.0).powi(2)) / (2.0 * 1.5 * 1.5)).exp())
            .collect();
        let s: f64 = g.iter().sum();
        g.into_iter().map(|v| v / s).collect()
    };
    let m = n - 10;
    let filter = |f: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
        let mut rows = vec![0.0; m * n];
        for y in 0..m {
            for x in 0..n {
                rows[y * n + x] = (0..11).map(|k| g[k] * f(x, y + k)).sum();
            }
        }
        let mut out = vec![0.0; m * m];
        for y in 0..m {
            for x in 0..m {
                out[y * m + x] = (0..11).map(|k| g[k] * rows[y * n + x + k]).sum();
            }
        }
        out
    };
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    for c in 0..3 {
        let pa = |x: usize, y: usize| f64::from(a[(y * n + x) * 3 + c]);
        let pb = |x: usize, y: usize| f64::from(b[(y * n + x) * 3 + c]);
        let ma = filter(&pa);
        let mb = filter(&pb);
        let saa = filter(&|x, y| pa(x, y) * pa(x, y));
        let sbb = filter(&|x, y| pb(x, y) * pb(x, y));
        let sab = filter(&|x, y| pa(x, y) * pb(x, y));
        for i in 0..m * m {
            let (va, vb, cov) = (
                saa[i] - ma[i] * ma[i],
                sbb[i] - mb[i] * mb[i],
                sab[i] - ma[i] * mb[i],
            );
            total += ((2.0 * ma[i] * mb[i] + c1) * (2.0 * cov + c2))
                / ((ma[i] * ma[i] + mb[i] * mb[i] + c1) * (va + vb + c2));
        }
    }
    total / (3 * m * m) as f64
}

fn run(args: &Args) -> Result<(), String> {
    let meta_path = args.data.join("landmarks.json");
    let meta: serde_json::Value = std::fs::read_to_string(&meta_path)
        .map_err(|e| format!("{}: {e}", meta_path.display()))
        .and_then(|t| {
            serde_json::from_str(&t).map_err(|e| format!("{}: {e}", meta_path.display()))
        })?;
    let crop: FaceCrop = serde_json::from_value(meta["crop"].clone())
        .map_err(|e| format!("{}: crop: {e}", meta_path.display()))?;
    let r = meta["resolution"].as_u64().ok_or("no resolution")? as u32;
    let entries = meta["frames"].as_array().ok_or("no frames")?;
    let n = entries.len();
    let cut = n - ((n as f64 * args.holdout).round() as usize).min(n - 1);
    let index = |e: &serde_json::Value| e["index"].as_u64().unwrap_or(u64::MAX);
    let portrait_index = index(&entries[0]);
    let held: Vec<&serde_json::Value> = entries[cut..].iter().collect();

    // Track the whole video (the tracker follows the face from frame to frame).
    let mut tracker = FaceTracker::from_dir(default_models_dir(), &SessionOptions::default())
        .map_err(|e| e.to_string())?;
    let mut source = VideoFileSource::open(&args.video).map_err(|e| e.to_string())?;
    let mut frames = std::collections::HashMap::new();
    while let Some(frame) = source.next_frame().map_err(|e| e.to_string())? {
        let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, "video")
            .map_err(|e| e.to_string())?;
        if let Some(t) = tracker.track(&view).map_err(|e| e.to_string())? {
            frames.insert(frame.index, (frame, t));
        }
    }
    let (pframe, ptracked) = frames
        .get(&portrait_index)
        .ok_or("no face in the portrait frame")?;
    let (w, h) = (pframe.width, pframe.height);
    let rgba: Vec<u8> = pframe
        .rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let portrait = Arc::new(PortraitImage {
        width: w,
        height: h,
        rgba,
    });
    let rig = PortraitRig::from_tracked(ptracked, [w, h]);
    let mut analyzer = FaceAnalyzer::default();
    analyzer.calibrate(ptracked);

    let warp = PreparedHead::new(
        std::slice::from_ref(&portrait),
        std::slice::from_ref(&rig),
        &ExpressionRig::default(),
    )
    .map_err(|e| e.to_string())?;
    let neural = NeuralRenderer::from_dir(&args.models, &SessionOptions::default())
        .map_err(|e| e.to_string())?;
    if neural.info().resolution != r {
        return Err(format!(
            "the models are {} px, the data {r} px",
            neural.info().resolution
        ));
    }
    // The same rigged portrait the mesh warp draws: the neural head is prepared from it.
    let rigged = warp.rigged().clone();
    let head = neural.prepare(&rigged).map_err(|e| e.to_string())?;

    let size = (r * r) as usize;
    let mut rows: [Vec<Vec<u8>>; 4] = Default::default();
    let mut scores = [[0.0f64; 2]; 3];
    let mut count = 0;
    let mut full = vec![0u8; portrait.rgba.len()];
    for (k, e) in held.iter().enumerate() {
        let i = index(e);
        let Some((frame, tracked)) = frames.get(&i) else {
            continue;
        };
        let file = args.data.join(e["file"].as_str().unwrap_or_default());
        let real = image::open(&file)
            .map_err(|err| format!("{}: {err}", file.display()))?
            .to_rgb8()
            .into_raw();
        let face = analyzer.analyze(tracked, frame.timestamp.as_secs_f64());
        let mut face = face;
        face.sanitize();
        warp.render(&face, &mut full);
        let warped = crop.sample_rgb(&full, 4, w, h, r);
        let retargeted = rigged.retarget(&face);
        let mut target = RenderTarget {
            width: w,
            height: h,
            rgba: &mut full,
        };
        neural
            .render(
                &RenderRequest::rigged(&face, &rigged, &retargeted),
                &mut target,
            )
            .map_err(|e| e.to_string())?;
        let drawn = crop.sample_rgb(&full, 4, w, h, r);
        let landmarks: Vec<[f32; 2]> = e["landmarks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        [
                            p[0].as_f64().unwrap_or(0.0) as f32,
                            p[1].as_f64().unwrap_or(0.0) as f32,
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        let sketch = neural
            .sketch_landmarks(&landmarks)
            .map_err(|e| e.to_string())?;
        let out = neural
            .generate_sketch(&head, sketch)
            .map_err(|e| e.to_string())?;
        let lm: Vec<u8> = (0..size)
            .flat_map(|p| {
                let out = &out;
                (0..3).map(move |c| {
                    ((out[c * size + p].clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
                })
            })
            .collect();
        for (s, img) in scores.iter_mut().zip([&warped, &drawn, &lm]) {
            s[0] += psnr(img, &real);
            s[1] += ssim(img, &real, r as usize);
        }
        count += 1;
        if k % (held.len() / 8).max(1) == 0 && rows[0].len() < 8 {
            for (row, img) in rows.iter_mut().zip([real, warped, drawn, lm]) {
                row.push(img);
            }
        }
    }
    if count == 0 {
        return Err("no held-out frame had a face".into());
    }
    let names = ["mesh warp", "neural", "neural, landmarks"];
    let mut report = serde_json::Map::new();
    println!("{count} held-out frames at {r} px (portrait: frame {portrait_index})");
    for (name, s) in names.iter().zip(scores) {
        let (p, q) = (s[0] / count as f64, s[1] / count as f64);
        println!("  {name:<18} PSNR {p:6.2} dB   SSIM {q:.3}");
        report.insert(name.to_string(), serde_json::json!({"psnr": p, "ssim": q}));
    }
    report.insert("frames".into(), count.into());
    report.insert("resolution".into(), r.into());
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    std::fs::write(
        args.out.join("metrics.json"),
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .map_err(|e| e.to_string())?;
    let cols = rows[0].len() as u32;
    let mut sheet = image::RgbImage::new(cols * r, 4 * r);
    for (y, row) in rows.iter().enumerate() {
        for (x, img) in row.iter().enumerate() {
            let tile = image::RgbImage::from_raw(r, r, img.clone()).expect("tile");
            image::imageops::replace(
                &mut sheet,
                &tile,
                i64::from(x as u32 * r),
                (y as u32 * r) as i64,
            );
        }
    }
    let sheet = image::imageops::resize(
        &sheet,
        cols * r * 3,
        4 * r * 3,
        image::imageops::FilterType::Nearest,
    );
    sheet
        .save(args.out.join("sheet.png"))
        .map_err(|e| e.to_string())?;
    println!("wrote {}", args.out.display());
    Ok(())
}

fn main() -> ExitCode {
    cli::main(USAGE, parse_args(), run)
}
