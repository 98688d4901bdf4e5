//! Portrait pixels in the form renderers take: sRGB RGBA8, tightly packed, top row first.

use bevy::image::Image;
use wgpu_types::TextureFormat;

use crate::error::{Error, Result};

/// The largest portrait side accepted (larger images are almost always a mistake and cost a lot of memory).
pub const MAX_PORTRAIT_SIDE: u32 = 8192;

/// What [`PortraitImage::decode`] lets the decoder allocate beyond the pixels the file declares
/// (PNG's and JPEG's working buffers).
const DECODE_SLACK: u64 = 16 << 20;

/// An RGBA8 (sRGB) image owned by the CPU: a portrait, or a rendered frame.
#[derive(Clone, PartialEq, Eq)]
pub struct PortraitImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes, RGBA, top row first.
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for PortraitImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PortraitImage({}x{})", self.width, self.height)
    }
}

impl PortraitImage {
    /// Wraps RGBA8 bytes; fails if the length does not match the size or the size is empty.
    pub fn new(width: u32, height: u32, rgba: Vec<u8>) -> Result<Self> {
        Self::checked(width, height, rgba, "<pixels>")
    }

    fn checked(width: u32, height: u32, rgba: Vec<u8>, label: &str) -> Result<Self> {
        check_size(width, height, label)?;
        let expected = width as usize * height as usize * 4;
        if rgba.len() != expected {
            return Err(Error::Portrait {
                path: label.into(),
                problem: format!(
                    "{} bytes of RGBA8 for {width}x{height} ({expected} expected)",
                    rgba.len()
                ),
            });
        }
        Ok(Self {
            width,
            height,
            rgba,
        })
    }

    /// Decodes a PNG or JPEG file's bytes with the crate's caps: for portraits from places the game does
    /// not control (a player's upload, a mod, a download). The size in the file's header is checked
    /// against [`MAX_PORTRAIT_SIDE`] before anything is allocated for the pixels, and the decoder may
    /// allocate no more than those pixels take plus 16 MB. `label` (the file name) names it in errors.
    ///
    /// Bevy's own image loader (`AssetServer::load`) decodes without limits: a file whose header
    /// declares 60,000 x 60,000 pixels asks it for 14 GB. Load untrusted portraits through this (or
    /// [`decode_portrait`], which gives the Bevy [`Image`] a [`TalkingHead`](crate::TalkingHead) takes)
    /// instead; a decode takes milliseconds to a second, so do it off the main thread
    /// (`AsyncComputeTaskPool`).
    pub fn decode(bytes: &[u8], label: &str) -> Result<Self> {
        let problem = |problem: String| Error::Portrait {
            path: label.to_owned(),
            problem,
        };
        let reader = || {
            image::ImageReader::new(std::io::Cursor::new(bytes))
                .with_guessed_format()
                .map_err(|e| problem(format!("cannot read it: {e}")))
        };
        let first = reader()?;
        match first.format() {
            Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
            Some(other) => {
                return Err(problem(format!(
                    "{other:?} is not a portrait format this decoder takes (PNG or JPEG)"
                )));
            }
            None => return Err(problem("not a PNG or JPEG file".into())),
        }
        let (width, height) = first
            .into_dimensions()
            .map_err(|e| problem(format!("its header cannot be read: {e}")))?;
        check_size(width, height, label)?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_PORTRAIT_SIDE);
        limits.max_image_height = Some(MAX_PORTRAIT_SIDE);
        limits.max_alloc = Some(u64::from(width) * u64::from(height) * 4 + DECODE_SLACK);
        let mut decoder = reader()?;
        decoder.limits(limits);
        let decoded = decoder
            .decode()
            .map_err(|e| problem(format!("cannot decode it: {e}")))?;
        let rgba = decoded.into_rgba8();
        Self::checked(rgba.width(), rgba.height(), rgba.into_raw(), label)
    }

    /// This portrait as a Bevy [`Image`] (sRGB RGBA8), ready for `Assets<Image>::add`.
    pub fn into_image(self) -> Image {
        Image::new(
            wgpu_types::Extent3d {
                width: self.width,
                height: self.height,
                depth_or_array_layers: 1,
            },
            wgpu_types::TextureDimension::D2,
            self.rgba,
            TextureFormat::Rgba8UnormSrgb,
            bevy::asset::RenderAssetUsages::default(),
        )
    }

    /// Converts a Bevy [`Image`] (any 2D format Bevy can convert to RGBA8). `label` names it in errors.
    pub fn from_image(image: &Image, label: &str) -> Result<Self> {
        Self::from_image_resized(image, label, image.width(), image.height())
    }

    /// [`from_image`](Self::from_image) scaled to `width` x `height` ([`resized`](Self::resized)) in one
    /// pass, reading only the pixels the output needs, where they lie: no copy or conversion of the
    /// whole image, so the cost is that of the output however large the image (an 8192 x 8192 portrait
    /// for a 256 x 256 head costs what a 256 x 256 one does).
    pub fn from_image_resized(image: &Image, label: &str, width: u32, height: u32) -> Result<Self> {
        let (w, h) = (image.width(), image.height());
        check_size(w, h, label)?;
        let problem = |problem: String| Error::Portrait {
            path: label.to_owned(),
            problem,
        };
        if image.texture_descriptor.size.depth_or_array_layers != 1 {
            return Err(problem(
                "it has several layers; a portrait must be a plain 2D image".into(),
            ));
        }
        let format = image.texture_descriptor.format;
        // The formats Bevy converts to RGBA8 (`Image::convert`), converted as it does, pixel by pixel.
        let bytes = match format {
            TextureFormat::Rgba8UnormSrgb
            | TextureFormat::Rgba8Unorm
            | TextureFormat::Bgra8UnormSrgb
            | TextureFormat::Bgra8Unorm => 4,
            TextureFormat::Rg8Unorm => 2,
            TextureFormat::R8Unorm => 1,
            _ => {
                return Err(problem(format!(
                    "its pixel format {format:?} cannot be converted to RGBA8"
                )));
            }
        };
        let data = image.data.as_deref().unwrap_or_default();
        let expected = w as usize * h as usize * bytes;
        if data.len() != expected {
            return Err(problem(format!(
                "{} bytes of {format:?} for {w}x{h} ({expected} expected)",
                data.len()
            )));
        }
        let rgba = match format {
            TextureFormat::Bgra8UnormSrgb | TextureFormat::Bgra8Unorm => {
                resample(w, h, width, height, |i| {
                    let p = &data[i * 4..i * 4 + 4];
                    [p[2], p[1], p[0], p[3]]
                })
            }
            TextureFormat::Rg8Unorm => resample(w, h, width, height, |i| {
                let (l, a) = (data[i * 2], data[i * 2 + 1]);
                [l, l, l, a]
            }),
            TextureFormat::R8Unorm => resample(w, h, width, height, |i| {
                let l = data[i];
                [l, l, l, 255]
            }),
            _ if (width, height) == (w, h) => data.to_vec(),
            _ => resample(w, h, width, height, |i| {
                let p = &data[i * 4..i * 4 + 4];
                [p[0], p[1], p[2], p[3]]
            }),
        };
        Ok(Self {
            width,
            height,
            rgba,
        })
    }

    /// A copy scaled to `width` x `height` with bilinear filtering (pixel centres aligned).
    pub fn resized(&self, width: u32, height: u32) -> Self {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let src = &self.rgba;
        Self {
            width,
            height,
            rgba: resample(self.width, self.height, width, height, |i| {
                let p = &src[i * 4..i * 4 + 4];
                [p[0], p[1], p[2], p[3]]
            }),
        }
    }
}

/// An image of `sw` x `sh` whose pixel `i` (row-major) is `pixel(i)` as RGBA8, scaled to `width` x
/// `height` with bilinear filtering (pixel centres aligned); reads only the pixels it needs.
fn resample(
    sw: u32,
    sh: u32,
    width: u32,
    height: u32,
    pixel: impl Fn(usize) -> [u8; 4],
) -> Vec<u8> {
    let mut out = vec![0u8; width as usize * height as usize * 4];
    let (w, h) = (sw as usize, sh as usize);
    if (width, height) == (sw, sh) {
        for (i, px) in out.chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&pixel(i));
        }
        return out;
    }
    let sx = sw as f32 / width as f32;
    let sy = sh as f32 / height as f32;
    for y in 0..height as usize {
        let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (h - 1) as f32);
        let y0 = fy as usize;
        let y1 = (y0 + 1).min(h - 1);
        let ty = fy - y0 as f32;
        for x in 0..width as usize {
            let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (w - 1) as f32);
            let x0 = fx as usize;
            let x1 = (x0 + 1).min(w - 1);
            let tx = fx - x0 as f32;
            let (a, b) = (pixel(y0 * w + x0), pixel(y0 * w + x1));
            let (c, d) = (pixel(y1 * w + x0), pixel(y1 * w + x1));
            for ch in 0..4 {
                let top = a[ch] as f32 * (1.0 - tx) + b[ch] as f32 * tx;
                let bottom = c[ch] as f32 * (1.0 - tx) + d[ch] as f32 * tx;
                out[(y * width as usize + x) * 4 + ch] =
                    (top * (1.0 - ty) + bottom * ty).round() as u8;
            }
        }
    }
    out
}

/// Decodes an untrusted portrait file's bytes (PNG or JPEG) into the Bevy [`Image`] a
/// [`TalkingHead`](crate::TalkingHead) takes, within the crate's caps: see [`PortraitImage::decode`].
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// # fn spawn(mut commands: Commands, mut images: ResMut<Assets<Image>>, upload: Vec<u8>) {
/// match bevy_talking_head::render::decode_portrait(&upload, "player 7's portrait") {
///     Ok(image) => {
///         commands.spawn(TalkingHead::new(images.add(image)));
///     }
///     Err(e) => warn!("{e}"), // e.g. "... 60000x60000 is larger than the 8192 px limit ..."
/// }
/// # }
/// ```
pub fn decode_portrait(bytes: &[u8], label: &str) -> Result<Image> {
    PortraitImage::decode(bytes, label).map(PortraitImage::into_image)
}

fn check_size(width: u32, height: u32, label: &str) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Portrait {
            path: label.to_owned(),
            problem: format!("it is empty ({width}x{height})"),
        });
    }
    if width > MAX_PORTRAIT_SIDE || height > MAX_PORTRAIT_SIDE {
        return Err(Error::Portrait {
            path: label.to_owned(),
            problem: format!(
                "{width}x{height} is larger than the {MAX_PORTRAIT_SIDE} px limit; scale it down first"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_flat_colour_and_interpolates_edges() {
        let img = PortraitImage::new(2, 1, vec![0, 0, 0, 255, 200, 100, 50, 255]).unwrap();
        let big = img.resized(4, 2);
        assert_eq!((big.width, big.height), (4, 2));
        // Outer pixels keep the source colours, inner ones blend.
        assert_eq!(&big.rgba[0..4], &[0, 0, 0, 255]);
        assert_eq!(&big.rgba[12..16], &[200, 100, 50, 255]);
        assert_eq!(&big.rgba[4..8], &[50, 25, 13, 255]);
    }

    fn image(w: u32, h: u32, format: TextureFormat, data: Vec<u8>) -> Image {
        Image::new(
            wgpu_types::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            wgpu_types::TextureDimension::D2,
            data,
            format,
            bevy::asset::RenderAssetUsages::default(),
        )
    }

    #[test]
    fn sampling_in_place_matches_converting_then_resizing() {
        let (w, h) = (7, 5);
        let bytes = |n: usize| {
            (0..w * h * n)
                .map(|i| (i * 37 % 251) as u8)
                .collect::<Vec<_>>()
        };
        for (format, n) in [
            (TextureFormat::Rgba8UnormSrgb, 4),
            (TextureFormat::Bgra8UnormSrgb, 4),
            (TextureFormat::Rg8Unorm, 2),
            (TextureFormat::R8Unorm, 1),
        ] {
            let img = image(w as u32, h as u32, format, bytes(n as usize));
            // What Bevy's conversion gives, then the bilinear resize.
            let converted = img.convert(TextureFormat::Rgba8UnormSrgb).unwrap();
            let full = PortraitImage::new(w as u32, h as u32, converted.data.unwrap()).unwrap();
            assert_eq!(
                PortraitImage::from_image(&img, "x").unwrap(),
                full,
                "{format:?}"
            );
            for (ow, oh) in [(3, 4), (11, 2), (7, 5)] {
                assert_eq!(
                    PortraitImage::from_image_resized(&img, "x", ow, oh).unwrap(),
                    full.resized(ow, oh),
                    "{format:?} at {ow}x{oh}"
                );
            }
        }
        let short = image(4, 4, TextureFormat::Rgba8UnormSrgb, vec![0; 64]);
        let mut short = short;
        short.data = Some(vec![0; 10]);
        let e = PortraitImage::from_image(&short, "short.png")
            .unwrap_err()
            .to_string();
        assert!(e.contains("short.png") && e.contains("10 bytes"), "{e}");
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(
            PortraitImage::new(0, 4, vec![])
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(PortraitImage::new(2, 2, vec![0; 3]).is_err());
        assert!(
            PortraitImage::new(9000, 1, vec![0; 36000])
                .unwrap_err()
                .to_string()
                .contains("8192")
        );
    }
}
