//! Portrait mattes: a soft alpha mask of the person (head, hair, neck, shoulders) in a portrait, so a head
//! can be drawn cut out of its background ([`TalkingHead::with_cutout`](crate::TalkingHead::with_cutout)).
//!
//! [`Segmenter`] runs MediaPipe's selfie segmentation (256 x 256, converted by set-up and embedded in the
//! crate) on the portrait, or on a square around the face when the face is small in the picture; the
//! coarse mask is then refined at the portrait's resolution by a guided filter (He, Sun and Tang 2010)
//! with the portrait's luma as the guide: where the person's outline has an edge in the picture the
//! matte's edge moves onto it, where it has none (hair against a like background) the matte stays soft.
//! Only the part of the matte connected to the face is kept, and the person's colours are carried under
//! the soft edge ([`Matte::apply`]).
//!
//! The matte is made from the portrait file at its own resolution (at most 2048 px) and saved beside it
//! as an editable greyscale PNG of the same size (`face.png` -> `face.png.matte.png`, [`matte_path`]);
//! it is reused from there for every head size: paint it to fix a cut-out. A matte of another size than
//! its portrait (the picture was replaced) or one that cannot be read is made anew.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::math::box_mean;
use crate::onnx::{OnnxModel, SessionOptions, TensorData};
use crate::portrait::PortraitImage;
use crate::tracking::{FaceModels, SEGMENTATION_MODEL_FILE};

/// The segmentation model's input and output size.
const SIZE: usize = 256;
/// A face shorter than this fraction of the picture is matted on a square around it (the model is made
/// for selfies: a person filling the frame).
const SMALL_FACE: f32 = 0.2;
/// Below this mean alpha over the face, no person was found.
const NO_PERSON: f32 = 0.5;
/// The person is what is connected to the face through pixels at least this sure: the model gives
/// textured backgrounds (a painting's brushwork) 0.3-0.7, the person near 1.
const SURE: f32 = 0.75;

/// The matte of a portrait's main file: `face.png` -> `face.png.matte.png`.
pub fn matte_path(portrait: &Path) -> PathBuf {
    let mut name = portrait.as_os_str().to_owned();
    name.push(".matte.png");
    PathBuf::from(name)
}

/// A soft alpha mask: one byte per pixel, 255 where the person is.
#[derive(Clone, PartialEq, Eq)]
pub struct Matte {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` alpha values, top row first.
    pub alpha: Vec<u8>,
}

impl std::fmt::Debug for Matte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Matte({}x{})", self.width, self.height)
    }
}

impl Matte {
    /// A matte of `width x height` that keeps everything (full opacity).
    pub fn opaque(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            alpha: vec![255; width as usize * height as usize],
        }
    }

    /// Whether the fields agree (`width * height` alpha values, neither side 0). A matte that does not is
    /// taken as opaque by [`resized`](Self::resized) and [`apply`](Self::apply).
    pub fn is_valid(&self) -> bool {
        self.width > 0
            && self.height > 0
            && self.alpha.len() == self.width as usize * self.height as usize
    }

    /// The alpha at pixel `(x, y)`, `0..=1` (0 outside the matte).
    pub fn at(&self, x: u32, y: u32) -> f32 {
        if x >= self.width || y >= self.height {
            return 0.0;
        }
        self.alpha
            .get(y as usize * self.width as usize + x as usize)
            .map_or(0.0, |a| *a as f32 / 255.0)
    }

    /// Reads a greyscale (or any) PNG or JPEG as a matte (its luma); `Ok(None)` when there is no file.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let err = |problem: String| Error::Portrait {
            path: path.display().to_string(),
            problem,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(format!("cannot read the matte: {e}"))),
        };
        let image = image::load_from_memory(&bytes)
            .map_err(|e| err(format!("not a matte image: {e}")))?
            .to_luma8();
        let (width, height) = image.dimensions();
        if width == 0 || height == 0 {
            return Err(err("the matte is empty".into()));
        }
        Ok(Some(Self {
            width,
            height,
            alpha: image.into_raw(),
        }))
    }

    /// Writes the matte as a greyscale PNG (whole or not at all).
    pub fn save(&self, path: &Path) -> Result<()> {
        let err = |problem: String| Error::Portrait {
            path: path.display().to_string(),
            problem,
        };
        let mut png = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut png),
            &self.alpha,
            self.width,
            self.height,
            image::ExtendedColorType::L8,
        )
        .map_err(|e| err(format!("cannot encode the matte: {e}")))?;
        let mut tmp = path.as_os_str().to_owned();
        // Its own temporary file per writer (two apps may write one portrait's matte at once).
        tmp.push(format!(
            ".{}.{:?}.part",
            std::process::id(),
            std::thread::current().id()
        ));
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &png)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                err(format!("cannot write the matte: {e}"))
            })
    }

    /// The matte resampled (bilinear) to `width x height`.
    pub fn resized(&self, width: u32, height: u32) -> Self {
        if !self.is_valid() || width == 0 || height == 0 {
            return Self::opaque(width, height);
        }
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let (sx, sy) = (
            self.width as f32 / width as f32,
            self.height as f32 / height as f32,
        );
        let src = |x: usize, y: usize| self.alpha[y * self.width as usize + x] as f32;
        let mut alpha = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height {
            let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (self.height - 1) as f32);
            let (y0, ty) = (fy as usize, fy.fract());
            let y1 = (y0 + 1).min(self.height as usize - 1);
            for x in 0..width {
                let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (self.width - 1) as f32);
                let (x0, tx) = (fx as usize, fx.fract());
                let x1 = (x0 + 1).min(self.width as usize - 1);
                let top = src(x0, y0) * (1.0 - tx) + src(x1, y0) * tx;
                let bottom = src(x0, y1) * (1.0 - tx) + src(x1, y1) * tx;
                alpha.push((top * (1.0 - ty) + bottom * ty).round() as u8);
            }
        }
        Self {
            width,
            height,
            alpha,
        }
    }

    /// `portrait` with this matte (resampled to its size) as its alpha channel, and the person's colours
    /// carried out under the soft and transparent pixels.
    ///
    /// A pixel on a soft edge mixes the person with the background (`I = a F + (1 - a) B`); shown over
    /// another background it would keep a fringe of the old one, and transparent pixels keep the old
    /// background's colour, which bilinear sampling (the warp's, the GPU's) pulls into the edge. So every
    /// pixel below full opacity takes the colour of the person nearby instead: the mean colour of the
    /// sure pixels of the person (alpha above 0.9) in the nearest window that holds some (1/64, 1/16,
    /// 1/4 of the picture's smaller side, then all of it).
    pub fn apply(&self, portrait: &PortraitImage) -> PortraitImage {
        let matte = self.resized(portrait.width, portrait.height);
        let alpha: Vec<f32> = matte
            .alpha
            .iter()
            .zip(portrait.rgba.chunks_exact(4))
            .map(|(a, px)| (*a as f32 / 255.0) * (px[3] as f32 / 255.0))
            .collect();
        // Only the person's sure pixels lend their colour (soft ones carry the background's).
        let weight: Vec<f32> = alpha
            .iter()
            .map(|a| ((a - 0.9) / 0.1).clamp(0.0, 1.0))
            .collect();
        let mut rgba = portrait.rgba.clone();
        let lent = nearest_mean(portrait, &weight);
        for (k, px) in rgba.chunks_exact_mut(4).enumerate() {
            let a = alpha[k];
            px[3] = (a * 255.0).round() as u8;
            if a >= 0.98 {
                continue;
            }
            if let Some(c) = lent(k) {
                px[..3].copy_from_slice(&c);
            }
        }
        PortraitImage {
            width: portrait.width,
            height: portrait.height,
            rgba,
        }
    }

    /// The portrait's background with the person taken out: every pixel that is not surely background
    /// (alpha above 0.1) takes the mean colour of the sure background nearby. Opaque RGBA at the
    /// portrait's size.
    fn background_plate(&self, portrait: &PortraitImage) -> Vec<u8> {
        let matte = self.resized(portrait.width, portrait.height);
        let weight: Vec<f32> = matte
            .alpha
            .iter()
            .map(|&a| ((0.1 - a as f32 / 255.0) / 0.1).clamp(0.0, 1.0))
            .collect();
        let mut rgba = portrait.rgba.clone();
        let lent = nearest_mean(portrait, &weight);
        for (k, px) in rgba.chunks_exact_mut(4).enumerate() {
            px[3] = 255;
            if weight[k] >= 1.0 {
                continue;
            }
            if let Some(c) = lent(k) {
                let w = weight[k];
                for i in 0..3 {
                    px[i] = (w * px[i] as f32 + (1.0 - w) * c[i] as f32).round() as u8;
                }
            }
        }
        rgba
    }

    /// The portrait split into the person and the background behind it, for a still background: the
    /// person (alpha: this matte) and an opaque plate (the background with the person taken out: where
    /// the matte is not surely clear, the mean colour of the sure background nearby, as
    /// [`apply`](Self::apply) carries the person's colours out). Under a soft edge the two share the
    /// picture's colour (`I = a F + (1 - a) B`): the person takes what the plate does not explain, the
    /// plate what the person cannot (where a share would leave 0..255), so the person drawn over the
    /// plate where it has not moved gives the picture back, to within a few levels (where neither share
    /// fits in 0..255). Both at the portrait's size.
    pub fn split(&self, portrait: &PortraitImage) -> (PortraitImage, PortraitImage) {
        let mut plate = self.background_plate(portrait);
        let carried = self.apply(portrait);
        let mut rgba = carried.rgba.clone();
        for ((px, own), bg) in rgba
            .chunks_exact_mut(4)
            .zip(portrait.rgba.chunks_exact(4))
            .zip(plate.chunks_exact_mut(4))
        {
            let a = px[3] as f32 / 255.0;
            if a >= 1.0 {
                px[..3].copy_from_slice(&own[..3]);
                continue;
            }
            // Near clear, the person's share would magnify noise: its colour leans to the carried one.
            let sure = ((a - 0.05) / 0.25).clamp(0.0, 1.0);
            for c in 0..3 {
                let (i, b) = (own[c] as f32, bg[c] as f32);
                let f = if a > 0.0 {
                    ((i - (1.0 - a) * b) / a).clamp(0.0, 255.0)
                } else {
                    px[c] as f32
                };
                let mut f = sure * f + (1.0 - sure) * px[c] as f32;
                let mut b = b;
                // What is left over goes to whichever of the two has the larger share.
                let rest = i - a * f - (1.0 - a) * b;
                if 1.0 - a >= a {
                    b = (b + rest / (1.0 - a)).clamp(0.0, 255.0);
                } else {
                    f = (f + rest / a).clamp(0.0, 255.0);
                }
                px[c] = f.round() as u8;
                bg[c] = b.round() as u8;
            }
        }
        let image = |rgba| PortraitImage {
            width: portrait.width,
            height: portrait.height,
            rgba,
        };
        (image(rgba), image(plate))
    }
}

/// For each pixel of `portrait`, the mean colour of the pixels weighted by `weight` in the nearest
/// window around it that holds some (1/64, 1/16, 1/4 of the picture's smaller side, then all of it);
/// `None` where no pixel has weight.
fn nearest_mean(portrait: &PortraitImage, weight: &[f32]) -> impl Fn(usize) -> Option<[u8; 3]> {
    let (w, h) = (portrait.width as usize, portrait.height as usize);
    let base = (w.min(h) / 64).max(2);
    // (weight, [r, g, b] x weight) box means at each radius.
    let levels: Vec<(Vec<f32>, [Vec<f32>; 3])> = [base, 4 * base, 16 * base, w.max(h)]
        .into_iter()
        .map(|r| {
            let den = box_mean(weight, w, h, r);
            let num = [0, 1, 2].map(|c| {
                let v: Vec<f32> = portrait
                    .rgba
                    .chunks_exact(4)
                    .zip(weight)
                    .map(|(px, wt)| px[c] as f32 * wt)
                    .collect();
                box_mean(&v, w, h, r)
            });
            (den, num)
        })
        .collect();
    move |k| {
        levels
            .iter()
            .find(|(den, _)| den[k] > 1e-4)
            .map(|(den, num)| {
                [0, 1, 2].map(|c| (num[c][k] / den[k]).round().clamp(0.0, 255.0) as u8)
            })
    }
}

/// What [`Segmenter::matte`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatteReport {
    /// The mean alpha over the face's box (before falling back to an opaque matte).
    pub face_alpha: f32,
    /// Whether a person was found; without one the matte is opaque.
    pub person: bool,
    /// The region of the portrait the model saw `[x0, y0, x1, y1]` (pixels): all of it, or a square
    /// around a small face.
    pub region: [f32; 4],
}

/// MediaPipe's selfie segmentation, for mattes.
#[derive(Clone, Debug)]
pub struct Segmenter {
    model: Arc<OnnxModel>,
}

impl Segmenter {
    /// Loads the model from `models` (a folder holding `selfie_segmentation.onnx`, or the embedded one).
    pub fn load(models: &FaceModels, options: &SessionOptions) -> Result<Self> {
        let name = SEGMENTATION_MODEL_FILE;
        let bytes = models.read(name)?;
        let model = OnnxModel::from_bytes(
            &bytes,
            &models.label(name),
            Some(&crate::onnx::contracts::SELFIE_SEGMENTATION),
            options,
        )?;
        Ok(Self {
            model: Arc::new(model),
        })
    }

    /// The person's probability at each of the model's 256 x 256 pixels for the `region` of `portrait`
    /// (stretched to the square, as MediaPipe's graph does), row-major.
    pub fn probabilities(&self, portrait: &PortraitImage, region: [f32; 4]) -> Result<Vec<f32>> {
        let [x0, y0, x1, y1] = region;
        let mut input = vec![0.0f32; 3 * SIZE * SIZE];
        let (sx, sy) = ((x1 - x0) / SIZE as f32, (y1 - y0) / SIZE as f32);
        for y in 0..SIZE {
            for x in 0..SIZE {
                let px = sample(
                    portrait,
                    x0 + (x as f32 + 0.5) * sx,
                    y0 + (y as f32 + 0.5) * sy,
                );
                for c in 0..3 {
                    input[c * SIZE * SIZE + y * SIZE + x] = px[c] / 255.0;
                }
            }
        }
        let out = self.model.run(
            vec![(
                "image",
                TensorData {
                    shape: vec![1, 3, SIZE as i64, SIZE as i64],
                    data: input,
                },
            )],
            &["mask"],
        )?;
        Ok(out.into_iter().next().map(|t| t.data).unwrap_or_default())
    }

    /// The matte of `portrait`, whose face's box is `face` (`[x0, y0, x1, y1]` pixels, from its rig):
    /// the model on the whole picture (or on a square around a small face), refined at full resolution.
    /// Without a person over the face, the matte is opaque (the report says so).
    pub fn matte(&self, portrait: &PortraitImage, face: [f32; 4]) -> Result<(Matte, MatteReport)> {
        let (w, h) = (portrait.width as f32, portrait.height as f32);
        let face_h = (face[3] - face[1]).max(1.0);
        let region = if face_h < SMALL_FACE * h {
            // A square of five face heights: the head, the shoulders and some of the chest.
            let side = (5.0 * face_h).min(w.max(h));
            let cx = (face[0] + face[2]) / 2.0;
            let x0 = (cx - side / 2.0).clamp(0.0, (w - side).max(0.0));
            let y0 = (face[1] - 0.8 * face_h).clamp(0.0, (h - side).max(0.0));
            [x0, y0, (x0 + side).min(w), (y0 + side).min(h)]
        } else {
            [0.0, 0.0, w, h]
        };
        let probabilities = self.probabilities(portrait, region)?;
        let coarse = upsample(&probabilities, region, portrait.width, portrait.height);
        let mut refined = guided_filter(portrait, &coarse);
        let radius = (portrait.width.min(portrait.height) as usize / 64).max(2);
        keep_connected_to(&mut refined, portrait.width as usize, face, 2 * radius);
        let face_alpha = mean_in(&refined, portrait.width, face);
        let person = face_alpha >= NO_PERSON;
        let matte = if person {
            Matte {
                width: portrait.width,
                height: portrait.height,
                alpha: refined
                    .iter()
                    .map(|a| (a.clamp(0.0, 1.0) * 255.0).round() as u8)
                    .collect(),
            }
        } else {
            Matte::opaque(portrait.width, portrait.height)
        };
        Ok((
            matte,
            MatteReport {
                face_alpha,
                person,
                region,
            },
        ))
    }
}

/// Bilinear RGB sample at `(x, y)` (pixel centres at +0.5), clamped to the edges.
fn sample(p: &PortraitImage, x: f32, y: f32) -> [f32; 3] {
    let fx = (x - 0.5).clamp(0.0, (p.width - 1) as f32);
    let fy = (y - 0.5).clamp(0.0, (p.height - 1) as f32);
    let (x0, y0) = (fx as usize, fy as usize);
    let (x1, y1) = (
        (x0 + 1).min(p.width as usize - 1),
        (y0 + 1).min(p.height as usize - 1),
    );
    let (tx, ty) = (fx.fract(), fy.fract());
    let px = |x: usize, y: usize, c: usize| p.rgba[(y * p.width as usize + x) * 4 + c] as f32;
    [0, 1, 2].map(|c| {
        let top = px(x0, y0, c) * (1.0 - tx) + px(x1, y0, c) * tx;
        let bottom = px(x0, y1, c) * (1.0 - tx) + px(x1, y1, c) * tx;
        top * (1.0 - ty) + bottom * ty
    })
}

/// The model's mask over `region`, at the portrait's resolution (0 outside the region).
fn upsample(mask: &[f32], region: [f32; 4], width: u32, height: u32) -> Vec<f32> {
    let [x0, y0, x1, y1] = region;
    let (sx, sy) = (SIZE as f32 / (x1 - x0), SIZE as f32 / (y1 - y0));
    let at = |x: usize, y: usize| mask.get(y * SIZE + x).copied().unwrap_or(0.0);
    let mut out = vec![0.0f32; width as usize * height as usize];
    for y in 0..height as usize {
        let py = y as f32 + 0.5;
        if py < y0 || py >= y1 {
            continue;
        }
        let fy = ((py - y0) * sy - 0.5).clamp(0.0, (SIZE - 1) as f32);
        let (r0, ty) = (fy as usize, fy.fract());
        let r1 = (r0 + 1).min(SIZE - 1);
        for x in 0..width as usize {
            let px = x as f32 + 0.5;
            if px < x0 || px >= x1 {
                continue;
            }
            let fx = ((px - x0) * sx - 0.5).clamp(0.0, (SIZE - 1) as f32);
            let (c0, tx) = (fx as usize, fx.fract());
            let c1 = (c0 + 1).min(SIZE - 1);
            let top = at(c0, r0) * (1.0 - tx) + at(c1, r0) * tx;
            let bottom = at(c0, r1) * (1.0 - tx) + at(c1, r1) * tx;
            out[y * width as usize + x] = top * (1.0 - ty) + bottom * ty;
        }
    }
    out
}

/// The mean of `values` (an image `width` wide) over the box `[x0, y0, x1, y1]`.
fn mean_in(values: &[f32], width: u32, b: [f32; 4]) -> f32 {
    let height = values.len() as u32 / width.max(1);
    let (x0, x1) = (b[0].max(0.0) as u32, (b[2].max(0.0) as u32).min(width));
    let (y0, y1) = (b[1].max(0.0) as u32, (b[3].max(0.0) as u32).min(height));
    let (mut sum, mut n) = (0.0f64, 0u32);
    for y in y0..y1 {
        for x in x0..x1 {
            sum += values[(y * width + x) as usize] as f64;
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

/// Keeps the person: the part of the matte at least [`SURE`] connected to the face's box, and its soft
/// edge, fading to 0 over `margin` pixels beyond it; blobs elsewhere (a flag, a second figure, background
/// the model half took for a person) go to 0.
fn keep_connected_to(alpha: &mut [f32], w: usize, face: [f32; 4], margin: usize) {
    let h = alpha.len() / w.max(1);
    if w == 0 || h == 0 {
        return;
    }
    let mut kept = vec![false; w * h];
    let mut stack = Vec::new();
    // Seeds: the middle half of the face's box.
    let (fx0, fx1) = (
        face[0] + 0.25 * (face[2] - face[0]),
        face[0] + 0.75 * (face[2] - face[0]),
    );
    let (fy0, fy1) = (
        face[1] + 0.25 * (face[3] - face[1]),
        face[1] + 0.75 * (face[3] - face[1]),
    );
    for y in (fy0.max(0.0) as usize)..(fy1.max(0.0) as usize).min(h) {
        for x in (fx0.max(0.0) as usize)..(fx1.max(0.0) as usize).min(w) {
            let k = y * w + x;
            if alpha[k] >= SURE && !kept[k] {
                kept[k] = true;
                stack.push(k);
            }
        }
    }
    if stack.is_empty() {
        // No person over the face: the caller falls back to an opaque matte.
        return;
    }
    while let Some(k) = stack.pop() {
        let (x, y) = (k % w, k / w);
        let mut visit = |n: usize| {
            if !kept[n] && alpha[n] >= SURE {
                kept[n] = true;
                stack.push(n);
            }
        };
        if x > 0 {
            visit(k - 1);
        }
        if x + 1 < w {
            visit(k + 1);
        }
        if y > 0 {
            visit(k - w);
        }
        if y + 1 < h {
            visit(k + w);
        }
    }
    // A smooth reach around the kept part (its box mean, times four: 1 inside, on its border and over
    // the soft edge next to it, fading to 0 at `margin` beyond): what lies further fades out without a
    // hard border.
    let reach = box_mean(
        &kept
            .iter()
            .map(|&k| if k { 1.0 } else { 0.0 })
            .collect::<Vec<f32>>(),
        w,
        h,
        margin,
    );
    for (a, r) in alpha.iter_mut().zip(reach) {
        *a *= (4.0 * r).min(1.0);
    }
}

/// The guided filter of `p` (the coarse matte) with the portrait's luma as the guide: `q = a I + b` with
/// `a`, `b` fitted in each window, so that `q` follows the guide's edges where `p` changes across them.
/// Radius: 1/64 of the portrait's smaller side; regularisation 1e-3 (luma in 0..1): edges weaker than
/// that leave the coarse matte soft.
fn guided_filter(portrait: &PortraitImage, p: &[f32]) -> Vec<f32> {
    let (w, h) = (portrait.width as usize, portrait.height as usize);
    let r = (w.min(h) / 64).max(2);
    let eps = 1e-3f32;
    let guide: Vec<f32> = portrait
        .rgba
        .chunks_exact(4)
        .map(|px| (0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32) / 255.0)
        .collect();
    let mean_i = box_mean(&guide, w, h, r);
    let mean_p = box_mean(p, w, h, r);
    let ip: Vec<f32> = guide.iter().zip(p).map(|(i, p)| i * p).collect();
    let ii: Vec<f32> = guide.iter().map(|i| i * i).collect();
    let mean_ip = box_mean(&ip, w, h, r);
    let mean_ii = box_mean(&ii, w, h, r);
    let mut a = vec![0.0f32; w * h];
    let mut b = vec![0.0f32; w * h];
    for k in 0..w * h {
        let cov = mean_ip[k] - mean_i[k] * mean_p[k];
        let var = mean_ii[k] - mean_i[k] * mean_i[k];
        a[k] = cov / (var + eps);
        b[k] = mean_p[k] - a[k] * mean_i[k];
    }
    let mean_a = box_mean(&a, w, h, r);
    let mean_b = box_mean(&b, w, h, r);
    (0..w * h)
        .map(|k| (mean_a[k] * guide[k] + mean_b[k]).clamp(0.0, 1.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matte_saves_loads_resizes_and_applies() {
        let dir = std::env::temp_dir().join(format!("bth-matte-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = matte_path(&dir.join("face.png"));
        assert!(path.ends_with("face.png.matte.png"));
        assert_eq!(Matte::load(&path).unwrap(), None);
        let m = Matte {
            width: 4,
            height: 2,
            alpha: vec![0, 255, 255, 0, 0, 128, 128, 0],
        };
        m.save(&path).unwrap();
        assert_eq!(Matte::load(&path).unwrap(), Some(m.clone()));
        let big = m.resized(8, 4);
        assert_eq!((big.width, big.height, big.alpha.len()), (8, 4, 32));
        assert_eq!(big.at(0, 0), 0.0);
        let p = PortraitImage::new(4, 2, vec![200; 32]).unwrap();
        let cut = m.apply(&p);
        assert_eq!(cut.rgba[3], 0);
        assert_eq!(cut.rgba[7], 200);
        assert_eq!(cut.rgba[0..3], [200, 200, 200]);
        std::fs::write(&path, b"not a png").unwrap();
        let e = Matte::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("face.png.matte.png") && e.contains("not a matte"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn soft_and_transparent_pixels_take_the_persons_colour_not_the_backgrounds() {
        // Red person on the left half, white background on the right, a soft edge between.
        let (w, h) = (64u32, 16u32);
        let mut rgba = Vec::new();
        let mut alpha = Vec::new();
        for _y in 0..h {
            for x in 0..w {
                let a = ((40.0 - x as f32) / 16.0).clamp(0.0, 1.0);
                let mix = |f: f32, b: f32| (a * f + (1.0 - a) * b) as u8;
                rgba.extend([mix(220.0, 255.0), mix(20.0, 255.0), mix(20.0, 255.0), 255]);
                alpha.push((a * 255.0) as u8);
            }
        }
        let cut = Matte {
            width: w,
            height: h,
            alpha,
        }
        .apply(&PortraitImage::new(w, h, rgba).unwrap());
        for x in [30u32, 36, 45, 63] {
            let px = &cut.rgba[((8 * w + x) * 4) as usize..][..4];
            // The background's white is gone from the colour: red, whatever the alpha.
            assert!(px[0] > 180 && px[1] < 90 && px[2] < 90, "x {x}: {px:?}");
        }
        assert_eq!(cut.rgba[((8 * w + 63) * 4 + 3) as usize], 0);
    }

    #[test]
    fn the_guided_filter_moves_a_misplaced_edge_onto_the_pictures_edge() {
        // A bright square on black; the model's coarse matte is the square 2 px off (down and right) and
        // blurred by 3 px (the filter's radius is 4 at this size).
        let (w, h) = (256u32, 256u32);
        let mut rgba = vec![0u8; (w * h * 4) as usize];
        let inside = |x: u32, y: u32| (64..192).contains(&x) && (64..192).contains(&y);
        for y in 0..h {
            for x in 0..w {
                let v = if inside(x, y) { 220 } else { 20 };
                let k = ((y * w + x) * 4) as usize;
                rgba[k..k + 4].copy_from_slice(&[v, v, v, 255]);
            }
        }
        let p = PortraitImage::new(w, h, rgba).unwrap();
        let off: Vec<f32> = (0..w * h)
            .map(|k| {
                if inside((k % w).wrapping_sub(2), (k / w).wrapping_sub(2)) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let coarse = box_mean(&off, w as usize, h as usize, 3);
        let refined = guided_filter(&p, &coarse);
        // Where each crosses 0.5 along the middle row, from the left.
        let crossing = |m: &[f32]| {
            (40..100)
                .find(|&x| m[(128 * w + x) as usize] >= 0.5)
                .unwrap()
        };
        assert_eq!(crossing(&coarse), 66);
        assert!(
            (63..=64).contains(&crossing(&refined)),
            "{}",
            crossing(&refined)
        );
        // Flat areas stay as they were.
        assert!(refined[(128 * w + 128) as usize] > 0.99 && refined[(2 * w + 2) as usize] < 0.01);
    }

    #[test]
    fn a_split_portrait_gives_the_picture_back_and_its_plate_holds_no_person() {
        // Red on the left, blue on the right; a grey disc (the person) in the middle with a soft edge 6 px
        // wide, the picture mixed by it (I = a F + (1 - a) B).
        let (w, h) = (128u32, 96u32);
        let alpha = |x: u32, y: u32| {
            let d = ((x as f32 - 64.0).powi(2) + (y as f32 - 48.0).powi(2)).sqrt();
            ((30.0 - d) / 6.0).clamp(0.0, 1.0)
        };
        let bg = |x: u32| {
            if x < 64 {
                [200.0, 40.0, 30.0]
            } else {
                [30.0, 50.0, 210.0]
            }
        };
        let mut rgba = Vec::new();
        let mut matte = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let a = alpha(x, y);
                let b = bg(x);
                rgba.extend(b.map(|c| (a * 128.0 + (1.0 - a) * c).round() as u8));
                rgba.push(255);
                matte.push((a * 255.0).round() as u8);
            }
        }
        let p = PortraitImage::new(w, h, rgba).unwrap();
        let m = Matte {
            width: w,
            height: h,
            alpha: matte,
        };
        let (person, plate) = m.split(&p);
        let plate = plate.rgba;
        // Over the plate, the person gives the picture back.
        let mut out = person.rgba.clone();
        for (o, b) in out.chunks_exact_mut(4).zip(plate.chunks_exact(4)) {
            let a = o[3] as f32 / 255.0;
            for c in 0..3 {
                o[c] = (a * o[c] as f32 + (1.0 - a) * b[c] as f32).round() as u8;
            }
        }
        let worst = out
            .chunks_exact(4)
            .zip(p.rgba.chunks_exact(4))
            .flat_map(|(a, b)| (0..3).map(move |c| a[c].abs_diff(b[c])))
            .max()
            .unwrap();
        assert!(worst <= 2, "composited back, {worst} levels off");
        // The plate: the sure background as it was; under the person the colours of the background
        // beside it (reddish on the left, bluish on the right), no grey.
        let at = |img: &[u8], x: u32, y: u32| {
            let k = ((y * w + x) * 4) as usize;
            [img[k], img[k + 1], img[k + 2]]
        };
        assert_eq!(at(&plate, 5, 5), at(&p.rgba, 5, 5));
        assert_eq!(at(&plate, 120, 90), at(&p.rgba, 120, 90));
        let (left, right) = (at(&plate, 44, 48), at(&plate, 84, 48));
        assert!(
            left[0] > 150 && left[2] < 80,
            "left under the person {left:?}"
        );
        assert!(
            right[2] > 150 && right[0] < 80,
            "right under the person {right:?}"
        );
        // The person is opaque grey where the matte is whole.
        assert_eq!(at(&person.rgba, 64, 48), [128, 128, 128]);
        assert!(plate.chunks_exact(4).all(|px| px[3] == 255));
    }
}
