//! The self-reenactment benchmark (feature `test-utils`): how faithfully a head follows its driver.
//!
//! The protocol of the few-shot talking-head paper (Zakharov et al. 2019) and of FOMM and LivePortrait:
//! one frame of a driving video is the portrait (the calmest frame, mouth closed), every other frame
//! drives it, and each rendered frame is compared with the real frame it was driven by, on the face
//! crop. A perfect renderer gives back the video. [`self_reenactment`] runs it for each way of driving
//! (the 52 weights through the expression shapes, and the driver's own landmark motion); the
//! `reenactment` example prints the table for the shared driving videos and `tests/reenactment.rs`
//! bounds it. Figures in BENCHMARKS.md.
//!
//! Scores per way of driving:
//! - **AKD**: the mean distance between the tracker's 468 points on the rendered frame and on the real
//!   frame, in % of the real frame's outer eye-corner distance (lower is better);
//! - **PSNR** (dB) and **SSIM** (Gaussian window, sigma 1.5, on luma) on the face crop, a square of 1.2
//!   times the real face's landmark extent, resampled to [`ReenactmentOptions::crop`] pixels;
//! - **mouth r** and **eye r**: Pearson's r over the frames between the rendered and the real inner-lip
//!   gap, and the mean lid gap of both eyes;
//! - **person PSNR** ([`ReenactmentOptions::score_person`]): the PSNR with the real frame's
//!   background (outside its selfie-segmentation matte) taken as drawn perfectly, so only the person's
//!   pixels (face, hair, ears, neck, clothes) count. With the person drawn as it is, no handling of the
//!   background scores above it (as far as the real frame's segmentation is right): it says how much of
//!   a video's PSNR is the person's rendering and how much the background's.

use std::path::Path;
use std::sync::Arc;

use crate::capture::{CapturedFrame, FrameSource, VideoFileSource};
use crate::drive::LiveDriving;
use crate::error::{Error, Result};
use crate::face::FaceFrame;
use crate::onnx::SessionOptions;
use crate::portrait::PortraitImage;
use crate::render::PreparedHead;
use crate::rig::{ExpressionRig, PortraitRig, RiggedPortraits, Segmenter};
use crate::tracking::{FaceAnalyzer, FaceModels, FaceTracker, ImageView, TrackedFace};

/// How [`self_reenactment`] runs.
#[derive(Clone, Debug)]
pub struct ReenactmentOptions {
    /// Side of the face crop the frames are compared on, pixels.
    pub crop: u32,
    /// Every `stride`-th frame is rendered and scored (all frames still drive the analyser, in order).
    pub stride: usize,
    /// The ways of driving to score.
    pub drivings: Vec<LiveDriving>,
    /// Every this-many scored frames one row (real | each driving) goes into the contact sheet; 0: none.
    pub sheet_every: usize,
    /// The expression shapes for the weights path.
    pub expressions: ExpressionRig,
    /// Also score [`ReenactmentScores::person_psnr`]: the selfie segmentation runs on every scored real
    /// frame (a few per cent more time: 27.3 -> 28.9 s for the three shared videos in the debug test).
    pub score_person: bool,
    /// Keep the portrait's background still behind the moving head
    /// ([`RiggedPortraits::with_still_background`], by the source frame's matte), as
    /// [`TalkingHead::with_still_background`](crate::TalkingHead::with_still_background) does. A source
    /// frame in which the segmentation finds no person is an error here (a head warns and moves its
    /// background instead).
    pub still_background: bool,
}

impl Default for ReenactmentOptions {
    fn default() -> Self {
        Self {
            crop: 256,
            stride: 1,
            drivings: vec![LiveDriving::Expressions, LiveDriving::Landmarks],
            sheet_every: 0,
            expressions: ExpressionRig::default(),
            score_person: false,
            still_background: false,
        }
    }
}

/// One way of driving's scores over a video (see the [module](self) for what each measures).
#[derive(Clone, Debug, PartialEq)]
pub struct ReenactmentScores {
    /// How the head was driven.
    pub driving: LiveDriving,
    /// Frames scored.
    pub frames: usize,
    /// Rendered frames where the tracker found no face (left out of AKD and the correlations).
    pub lost: usize,
    /// Average keypoint distance, % of the outer eye-corner distance.
    pub akd: f64,
    /// Mean PSNR on the face crop, dB.
    pub psnr: f64,
    /// Mean SSIM on the face crop.
    pub ssim: f64,
    /// Pearson's r of the inner-lip gap, rendered against real.
    pub mouth_r: f64,
    /// Pearson's r of the mean lid gap, rendered against real.
    pub eye_r: f64,
    /// Mean PSNR on the face crop with the real frame's background counted as drawn perfectly (the
    /// rendered pixels weighted by the real frame's person matte, the real ones by the rest), dB; `None`
    /// without [`ReenactmentOptions::score_person`].
    pub person_psnr: Option<f64>,
}

/// A video's self-reenactment.
#[derive(Clone, Debug)]
pub struct Reenactment {
    /// The video's file name.
    pub video: String,
    /// The frame that became the portrait.
    pub source_frame: u64,
    /// Frames with a face in the video.
    pub frames: usize,
    /// The scores, one per [`ReenactmentOptions::drivings`], in that order.
    pub scores: Vec<ReenactmentScores>,
    /// The contact sheet (RGBA, `width` x `height`): rows of real | each driving, face crops.
    pub sheet: Option<(u32, u32, Vec<u8>)>,
}

/// Runs the self-reenactment benchmark on `video` with the face models in `models_dir`.
pub fn self_reenactment(
    models_dir: &Path,
    video: &Path,
    options: &ReenactmentOptions,
) -> Result<Reenactment> {
    let name = video.file_name().map_or_else(
        || video.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tracker = || FaceTracker::from_dir(models_dir, &SessionOptions::default());
    let problem = |what: &str| Error::Capture {
        source_name: video.display().to_string(),
        problem: what.to_owned(),
    };

    // The driver: every frame, each frame's own landmarks (the paper's protocol; live tracking's
    // temporal smoothing adds a lag of its own, which this benchmark leaves out).
    let mut driver = tracker()?;
    let mut source = VideoFileSource::open(video)?;
    let mut frames: Vec<(CapturedFrame, TrackedFace)> = Vec::new();
    while let Some(frame) = source.next_frame()? {
        let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, &name)?;
        if let Some(face) = driver.track(&view)? {
            frames.push((frame, face));
        }
    }
    if frames.len() < 3 {
        return Err(problem("fewer than 3 frames with a face"));
    }
    // The portrait: the calmest frame (least blendshape weight in all), mouth closed.
    let calm = |f: &TrackedFace| -> f32 {
        let sum: f32 = f.blendshapes.map_or(0.0, |b| b.as_slice().iter().sum());
        let p = &f.landmarks.points;
        let gap = dist(p[13], p[14]) / dist(p[33], p[263]).max(1e-3);
        sum + 10.0 * (gap - 0.03).max(0.0)
    };
    let (source_at, _) = frames
        .iter()
        .enumerate()
        .min_by(|a, b| calm(&a.1.1).total_cmp(&calm(&b.1.1)))
        .expect("at least 3 frames");
    let (source_frame, source_face) = &frames[source_at];
    let portrait = Arc::new(PortraitImage::new(
        source_frame.width,
        source_frame.height,
        rgba(&source_frame.rgb),
    )?);
    let still = tracker()?;
    let view = ImageView::new(portrait.width, portrait.height, 4, &portrait.rgba, &name)?;
    let rigged = still
        .detect_still(&view)?
        .ok_or_else(|| problem("no face in the source frame"))?;
    let rig = PortraitRig::from_tracked(&rigged, [portrait.width, portrait.height]);
    let segmenter = if options.score_person || options.still_background {
        Some(Segmenter::load(
            &FaceModels::Dir(models_dir.to_path_buf()),
            &SessionOptions::default(),
        )?)
    } else {
        None
    };
    let mut portraits = RiggedPortraits::new(
        std::slice::from_ref(&portrait),
        &[rig],
        &options.expressions,
    )?;
    if let (true, Some(segmenter)) = (options.still_background, &segmenter) {
        let (matte, report) = segmenter.matte(&portrait, portraits.rig().face_box())?;
        if !report.person {
            return Err(problem(
                "no person found in the source frame for its still background",
            ));
        }
        portraits = portraits.with_still_background(&matte);
    }
    let head = PreparedHead::from_rigged(portraits);
    let segmenter = segmenter.filter(|_| options.score_person);
    let mut analyzer = FaceAnalyzer::default();
    analyzer.calibrate(source_face);

    let modes = options.drivings.len();
    // The rendered frames are read by trackers of their own (one per way of driving: each follows its
    // own frames), as the real frames were.
    let mut judges: Vec<FaceTracker> = (0..modes).map(|_| tracker()).collect::<Result<_>>()?;
    let mut series: Vec<Series> = (0..modes).map(|_| Series::default()).collect();
    let side = options.crop.max(16);
    let thumb = side / 2;
    let mut sheet_rows: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut out = vec![0u8; portrait.rgba.len()];
    let mut scored = 0usize;
    for (k, (frame, face)) in frames.iter().enumerate() {
        let driven: FaceFrame = analyzer.analyze(face, frame.timestamp.as_secs_f64());
        if k == source_at || k % options.stride.max(1) != 0 {
            continue;
        }
        let real = rgba(&frame.rgb);
        let t = &face.landmarks.points;
        let iod = dist(t[33], t[263]).max(1.0);
        let crop = FaceBox::around(t);
        let real_crop = crop.sample(&real, frame.width, frame.height, side);
        // The real frame's person on the crop (its matte as grey RGBA), to split the error.
        let person = match &segmenter {
            Some(segmenter) => {
                let image = PortraitImage::new(frame.width, frame.height, real.clone())?;
                let (matte, _) = segmenter.matte(&image, landmark_box(t))?;
                let grey: Vec<u8> = matte.alpha.iter().flat_map(|&a| [a, a, a, 255]).collect();
                Some(crop.sample(&grey, frame.width, frame.height, side))
            }
            None => None,
        };
        let mut row = vec![resize(&real_crop, side, thumb)];
        for (m, driving) in options.drivings.iter().enumerate() {
            let target = match driving {
                LiveDriving::Expressions => head.retarget(&driven),
                LiveDriving::Landmarks => {
                    let mut motion = analyzer.landmark_motion(face);
                    motion.weights = driven.expressions;
                    head.rigged().retargeter().retarget_motion(&driven, &motion)
                }
            };
            head.render_retargeted(&target, &mut out);
            let crop_out = crop.sample(&out, portrait.width, portrait.height, side);
            let s = &mut series[m];
            s.psnr.push(psnr(&real_crop, &crop_out));
            s.ssim.push(ssim(&real_crop, &crop_out, side, side));
            if let Some(person) = &person {
                s.person_psnr.push(psnr(
                    &real_crop,
                    &over_background(&crop_out, &real_crop, person),
                ));
            }
            let view = ImageView::new(portrait.width, portrait.height, 4, &out, "rendered")?;
            match judges[m].track(&view)? {
                Some(seen) => {
                    let p = &seen.landmarks.points;
                    let akd = p
                        .iter()
                        .zip(t.iter())
                        .take(468)
                        .map(|(a, b)| dist(*a, *b))
                        .sum::<f32>()
                        / 468.0;
                    s.akd.push(f64::from(100.0 * akd / iod));
                    s.mouth.push((openings(t).0, openings(p).0));
                    s.eyes.push((openings(t).1, openings(p).1));
                }
                None => s.lost += 1,
            }
            row.push(resize(&crop_out, side, thumb));
        }
        if options.sheet_every > 0 && scored.is_multiple_of(options.sheet_every) {
            sheet_rows.push(row);
        }
        scored += 1;
    }
    let scores = options
        .drivings
        .iter()
        .zip(series)
        .map(|(driving, s)| s.scores(*driving, scored))
        .collect();
    let sheet = (!sheet_rows.is_empty()).then(|| grid(&sheet_rows, thumb));
    Ok(Reenactment {
        video: name,
        source_frame: source_frame.index,
        frames: frames.len(),
        scores,
        sheet,
    })
}

#[derive(Default)]
struct Series {
    psnr: Vec<f64>,
    ssim: Vec<f64>,
    akd: Vec<f64>,
    mouth: Vec<(f32, f32)>,
    eyes: Vec<(f32, f32)>,
    person_psnr: Vec<f64>,
    lost: usize,
}

impl Series {
    fn scores(self, driving: LiveDriving, frames: usize) -> ReenactmentScores {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        ReenactmentScores {
            driving,
            frames,
            lost: self.lost,
            akd: mean(&self.akd),
            psnr: mean(&self.psnr),
            ssim: mean(&self.ssim),
            mouth_r: pearson(&self.mouth),
            eye_r: pearson(&self.eyes),
            person_psnr: (!self.person_psnr.is_empty()).then(|| mean(&self.person_psnr)),
        }
    }
}

/// `rendered` (RGBA) where `person` (a matte as grey RGBA) is, `real` elsewhere, blended by the matte.
fn over_background(rendered: &[u8], real: &[u8], person: &[u8]) -> Vec<u8> {
    rendered
        .chunks_exact(4)
        .zip(real.chunks_exact(4))
        .zip(person.chunks_exact(4))
        .flat_map(|((o, r), m)| {
            let a = f32::from(m[0]) / 255.0;
            let mix = |c: usize| (a * f32::from(o[c]) + (1.0 - a) * f32::from(r[c])).round() as u8;
            [mix(0), mix(1), mix(2), 255]
        })
        .collect()
}

/// The box `[x0, y0, x1, y1]` around the face mesh's 468 points.
fn landmark_box(points: &[[f32; 3]]) -> [f32; 4] {
    let (lo, hi) = crate::math::bounds(points.iter().take(468).map(|p| [p[0], p[1]]));
    [lo[0], lo[1], hi[0], hi[1]]
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The inner-lip gap and the mean lid gap of both eyes, in pixels.
fn openings(p: &[[f32; 3]]) -> (f32, f32) {
    (
        dist(p[13], p[14]),
        (dist(p[159], p[145]) + dist(p[386], p[374])) / 2.0,
    )
}

/// Pearson's r of pairs (0 when either side is constant).
pub fn pearson(pairs: &[(f32, f32)]) -> f64 {
    let n = pairs.len().max(1) as f64;
    let ma = pairs.iter().map(|p| f64::from(p.0)).sum::<f64>() / n;
    let mb = pairs.iter().map(|p| f64::from(p.1)).sum::<f64>() / n;
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for &(a, b) in pairs {
        let (a, b) = (f64::from(a) - ma, f64::from(b) - mb);
        ab += a * b;
        aa += a * a;
        bb += b * b;
    }
    ab / (aa * bb).sqrt().max(1e-12)
}

fn rgba(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|c| [c[0], c[1], c[2], 255])
        .collect()
}

/// The square the frames are compared in: 1.2 times the landmarks' larger extent, about their centre.
#[derive(Clone, Copy, Debug)]
struct FaceBox {
    centre: [f32; 2],
    side: f32,
}

impl FaceBox {
    fn around(points: &[[f32; 3]]) -> Self {
        let [x0, y0, x1, y1] = landmark_box(points);
        Self {
            centre: [(x0 + x1) / 2.0, (y0 + y1) / 2.0],
            side: 1.2 * (x1 - x0).max(y1 - y0).max(1.0),
        }
    }

    /// The box out of an RGBA image, bilinear, `n` x `n` RGBA (edges repeated).
    fn sample(&self, rgba: &[u8], w: u32, h: u32, n: u32) -> Vec<u8> {
        let mut out = vec![0u8; (n * n * 4) as usize];
        let step = self.side / n as f32;
        let x0 = self.centre[0] - self.side / 2.0;
        let y0 = self.centre[1] - self.side / 2.0;
        let at = |x: i64, y: i64, c: usize| -> f32 {
            let x = x.clamp(0, i64::from(w) - 1) as usize;
            let y = y.clamp(0, i64::from(h) - 1) as usize;
            f32::from(rgba[(y * w as usize + x) * 4 + c])
        };
        for j in 0..n {
            for i in 0..n {
                let x = x0 + (i as f32 + 0.5) * step - 0.5;
                let y = y0 + (j as f32 + 0.5) * step - 0.5;
                let (xf, yf) = (x.floor(), y.floor());
                let (fx, fy) = (x - xf, y - yf);
                let (xi, yi) = (xf as i64, yf as i64);
                for c in 0..4 {
                    let v = at(xi, yi, c) * (1.0 - fx) * (1.0 - fy)
                        + at(xi + 1, yi, c) * fx * (1.0 - fy)
                        + at(xi, yi + 1, c) * (1.0 - fx) * fy
                        + at(xi + 1, yi + 1, c) * fx * fy;
                    out[((j * n + i) * 4) as usize + c] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        out
    }
}

fn resize(rgba: &[u8], from: u32, to: u32) -> Vec<u8> {
    let b = FaceBox {
        centre: [from as f32 / 2.0; 2],
        side: from as f32,
    };
    b.sample(rgba, from, from, to)
}

fn grid(rows: &[Vec<Vec<u8>>], thumb: u32) -> (u32, u32, Vec<u8>) {
    let cols = rows[0].len() as u32;
    let (w, h) = (cols * thumb, rows.len() as u32 * thumb);
    let mut out = vec![0u8; (w * h * 4) as usize];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            for y in 0..thumb {
                let src = (y * thumb * 4) as usize;
                let dst = (((r as u32 * thumb + y) * w + c as u32 * thumb) * 4) as usize;
                out[dst..dst + (thumb * 4) as usize]
                    .copy_from_slice(&cell[src..src + (thumb * 4) as usize]);
            }
        }
    }
    (w, h, out)
}

/// PSNR of two RGBA images of the same size over their RGB channels, dB (100 when identical).
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for c in 0..3 {
            sum += (f64::from(pa[c]) - f64::from(pb[c])).powi(2);
            n += 1;
        }
    }
    let mse = sum / n.max(1) as f64;
    if mse <= 0.0 {
        100.0
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// SSIM (Wang et al. 2004: Gaussian window, sigma 1.5, K1 0.01, K2 0.03) of two RGBA images of
/// `w` x `h` on their luma.
pub fn ssim(a: &[u8], b: &[u8], w: u32, h: u32) -> f64 {
    let (w, h) = (w as usize, h as usize);
    let luma = |img: &[u8]| -> Vec<f64> {
        img.chunks_exact(4)
            .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
            .collect()
    };
    let (x, y) = (luma(a), luma(b));
    let kernel: Vec<f64> = {
        let k: Vec<f64> = (-5..=5)
            .map(|i: i32| (-(f64::from(i * i)) / (2.0 * 1.5 * 1.5)).exp())
            .collect();
        let s: f64 = k.iter().sum();
        k.into_iter().map(|v| v / s).collect()
    };
    // One pass of the window along x or y, edges repeated.
    let pass = |v: &[f64], along_x: bool| -> Vec<f64> {
        let mut out = vec![0.0; w * h];
        for j in 0..h {
            for i in 0..w {
                out[j * w + i] = kernel
                    .iter()
                    .enumerate()
                    .map(|(t, k)| {
                        let d = t as i64 - 5;
                        let at = if along_x {
                            j * w + (i as i64 + d).clamp(0, w as i64 - 1) as usize
                        } else {
                            (j as i64 + d).clamp(0, h as i64 - 1) as usize * w + i
                        };
                        k * v[at]
                    })
                    .sum();
            }
        }
        out
    };
    let blur = |v: &[f64]| pass(&pass(v, true), false);
    let prod = |p: &[f64], q: &[f64]| -> Vec<f64> { p.iter().zip(q).map(|(a, b)| a * b).collect() };
    let (mx, my) = (blur(&x), blur(&y));
    let (sxx, syy, sxy) = (
        blur(&prod(&x, &x)),
        blur(&prod(&y, &y)),
        blur(&prod(&x, &y)),
    );
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    for i in 0..w * h {
        let (vx, vy, cxy) = (
            sxx[i] - mx[i] * mx[i],
            syy[i] - my[i] * my[i],
            sxy[i] - mx[i] * my[i],
        );
        total += ((2.0 * mx[i] * my[i] + c1) * (2.0 * cxy + c2))
            / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
    }
    total / (w * h).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if i % 4 == 3 { 255 } else { (s >> 24) as u8 }
            })
            .collect()
    }

    #[test]
    fn identical_images_score_perfectly_and_noise_does_not() {
        let a = noise(64 * 64 * 4, 1);
        assert_eq!(psnr(&a, &a), 100.0);
        assert!((ssim(&a, &a, 64, 64) - 1.0).abs() < 1e-9);
        let b = noise(64 * 64 * 4, 2);
        assert!(psnr(&a, &b) < 10.0, "{}", psnr(&a, &b));
        assert!(ssim(&a, &b, 64, 64) < 0.1, "{}", ssim(&a, &b, 64, 64));
        // One grey level off everywhere: 48 dB.
        let c: Vec<u8> = a.iter().map(|v| v.saturating_add(1).max(1)).collect();
        assert!(psnr(&a, &c) > 45.0);
    }

    #[test]
    fn pearson_of_a_line_is_one() {
        let pairs: Vec<(f32, f32)> = (0..10).map(|i| (i as f32, 2.0 * i as f32 + 1.0)).collect();
        assert!((pearson(&pairs) - 1.0).abs() < 1e-9);
        let flipped: Vec<(f32, f32)> = pairs.iter().map(|p| (p.0, -p.1)).collect();
        assert!((pearson(&flipped) + 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_face_box_samples_the_box() {
        // A 4x4 image with a bright 2x2 centre: the box over the centre reads bright everywhere.
        let mut img = vec![0u8; 4 * 4 * 4];
        for y in 1..3 {
            for x in 1..3 {
                img[(y * 4 + x) * 4..(y * 4 + x) * 4 + 4].copy_from_slice(&[200, 200, 200, 255]);
            }
        }
        let b = FaceBox {
            centre: [2.0, 2.0],
            side: 1.0,
        };
        let out = b.sample(&img, 4, 4, 2);
        assert!(out.chunks_exact(4).all(|p| p[0] == 200), "{out:?}");
    }
}
