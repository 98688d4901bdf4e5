//! Portrait pixels in the form renderers take: sRGB RGBA8, tightly packed, top row first.

use bevy::image::Image;
use wgpu_types::TextureFormat;

use crate::error::{Error, Result};

/// The largest portrait side accepted (larger images are almost always a mistake and cost a lot of memory).
pub const MAX_PORTRAIT_SIDE: u32 = 8192;

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

    /// Converts a Bevy [`Image`] (any 2D format Bevy can convert to RGBA8). `label` names it in errors.
    pub fn from_image(image: &Image, label: &str) -> Result<Self> {
        let (width, height) = (image.width(), image.height());
        check_size(width, height, label)?;
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
        let rgba = match format {
            TextureFormat::Rgba8UnormSrgb | TextureFormat::Rgba8Unorm => image.data.clone(),
            _ => image
                .convert(TextureFormat::Rgba8UnormSrgb)
                .and_then(|c| c.data),
        }
        .ok_or_else(|| {
            problem(format!(
                "its pixel format {format:?} cannot be converted to RGBA8"
            ))
        })?;
        Self::checked(width, height, rgba, label)
    }

    /// A copy scaled to `width` x `height` with bilinear filtering (pixel centres aligned).
    pub fn resized(&self, width: u32, height: u32) -> Self {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let mut out = vec![0u8; width as usize * height as usize * 4];
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let (w, h) = (self.width as usize, self.height as usize);
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
                for c in 0..4 {
                    let p = |xx: usize, yy: usize| self.rgba[(yy * w + xx) * 4 + c] as f32;
                    let top = p(x0, y0) * (1.0 - tx) + p(x1, y0) * tx;
                    let bottom = p(x0, y1) * (1.0 - tx) + p(x1, y1) * tx;
                    out[(y * width as usize + x) * 4 + c] =
                        (top * (1.0 - ty) + bottom * ty).round() as u8;
                }
            }
        }
        Self {
            width,
            height,
            rgba: out,
        }
    }
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
