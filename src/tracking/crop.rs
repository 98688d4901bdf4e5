//! Images as the tracker sees them, and rotated square crops with bilinear sampling.

use crate::error::{Error, Result};

/// The smallest image side the tracker accepts.
pub const MIN_IMAGE_SIDE: u32 = 32;
/// The largest image side the tracker accepts.
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// A borrowed 8-bit RGB or RGBA image, top row first, tightly packed.
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    width: u32,
    height: u32,
    channels: usize,
    data: &'a [u8],
}

impl<'a> ImageView<'a> {
    /// Wraps RGB (`channels = 3`) or RGBA (`channels = 4`) bytes. `label` names the image in errors.
    pub fn new(
        width: u32,
        height: u32,
        channels: usize,
        data: &'a [u8],
        label: &str,
    ) -> Result<Self> {
        let problem = |problem: String| Error::Portrait {
            path: label.to_owned(),
            problem,
        };
        if channels != 3 && channels != 4 {
            return Err(problem(format!(
                "{channels} channels: the tracker takes RGB or RGBA images"
            )));
        }
        if width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE {
            return Err(problem(format!(
                "{width}x{height} is too small to find a face in (at least {MIN_IMAGE_SIDE} px a side)"
            )));
        }
        if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
            return Err(problem(format!(
                "{width}x{height} is larger than the {MAX_IMAGE_SIDE} px limit"
            )));
        }
        let expected = width as usize * height as usize * channels;
        if data.len() != expected {
            return Err(problem(format!(
                "{} bytes for {width}x{height}x{channels} ({expected} expected)",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            channels,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bilinear sample at continuous coordinates (pixel centres at `+0.5`); outside the image the border
    /// is replicated, or black when `zero_outside`.
    #[inline]
    pub fn sample(&self, x: f32, y: f32, zero_outside: bool) -> [f32; 3] {
        if zero_outside && (x < 0.0 || y < 0.0 || x >= self.width as f32 || y >= self.height as f32)
        {
            return [0.0; 3];
        }
        bilinear(self.data, self.width, self.height, self.channels, x, y)
    }
}

/// Bilinear sample of the first three channels of `data` (`channels` bytes a pixel, top row first) at
/// continuous coordinates (pixel centres at `+0.5`), the border replicated outside the image. The image
/// must not be empty.
#[inline]
pub(crate) fn bilinear(
    data: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    x: f32,
    y: f32,
) -> [f32; 3] {
    let pixel = |x: i64, y: i64| {
        let x = x.clamp(0, width as i64 - 1) as usize;
        let y = y.clamp(0, height as i64 - 1) as usize;
        let i = (y * width as usize + x) * channels;
        [data[i] as f32, data[i + 1] as f32, data[i + 2] as f32]
    };
    let fx = x - 0.5;
    let fy = y - 0.5;
    let x0 = fx.floor();
    let y0 = fy.floor();
    let tx = fx - x0;
    let ty = fy - y0;
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = if x0 >= 0 && y0 >= 0 && x0 + 1 < width as i64 && y0 + 1 < height as i64 {
        // Inside the image (almost every sample): the four pixels without clamping, same values.
        let row = width as usize * channels;
        let i = y0 as usize * row + x0 as usize * channels;
        let px = |i: usize| [data[i] as f32, data[i + 1] as f32, data[i + 2] as f32];
        (px(i), px(i + channels), px(i + row), px(i + row + channels))
    } else {
        (
            pixel(x0, y0),
            pixel(x0 + 1, y0),
            pixel(x0, y0 + 1),
            pixel(x0 + 1, y0 + 1),
        )
    };
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * tx;
        let bottom = c[k] + (d[k] - c[k]) * tx;
        out[k] = top + (bottom - top) * ty;
    }
    out
}

/// A square region of an image, rotated by `angle` (radians, image x towards image y), resampled to
/// `size` x `size` pixels. Maps crop pixels to image pixels and back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crop {
    /// Centre in image pixels.
    pub centre: [f32; 2],
    /// Side length in image pixels.
    pub side: f32,
    /// Rotation in radians.
    pub angle: f32,
    /// Output size in pixels.
    pub size: u32,
    /// Mirror horizontally (crop x runs the other way).
    pub mirror: bool,
}

impl Crop {
    /// Image coordinates of crop coordinates `(u, v)` (both continuous, `0..size`).
    pub fn to_image(&self, u: f32, v: f32) -> [f32; 2] {
        let scale = self.side / self.size as f32;
        let mut dx = (u - self.size as f32 / 2.0) * scale;
        let dy = (v - self.size as f32 / 2.0) * scale;
        if self.mirror {
            dx = -dx;
        }
        let (s, c) = self.angle.sin_cos();
        [
            self.centre[0] + c * dx - s * dy,
            self.centre[1] + s * dx + c * dy,
        ]
    }

    /// A length in crop pixels as image pixels.
    pub fn scale(&self) -> f32 {
        self.side / self.size as f32
    }

    /// Samples the crop into a CHW float tensor, each value `pixel * mul + add`; tensor pixel `(u, v)` is
    /// the crop's point `(u + 0.5, v + 0.5)`.
    pub fn sample_chw(
        &self,
        image: &ImageView<'_>,
        mul: f32,
        add: f32,
        zero_outside: bool,
    ) -> Vec<f32> {
        self.sample_chw_at(image, mul, add, zero_outside, 0.5)
    }

    /// [`sample_chw`](Self::sample_chw) with tensor pixel `(u, v)` at the crop's point `(u + at, v + at)`.
    /// Google's MediaPipe samples its crops differently from the pixel centre: `at = 0.25` reproduces its
    /// Face Mesh V2 points best (measured; see `MeshModel::sample_at`).
    pub fn sample_chw_at(
        &self,
        image: &ImageView<'_>,
        mul: f32,
        add: f32,
        zero_outside: bool,
        at: f32,
    ) -> Vec<f32> {
        let n = self.size as usize;
        let plane = n * n;
        let mut out = vec![0f32; 3 * plane];
        // `to_image` for every tensor pixel, its per-crop terms computed once (the same arithmetic, so
        // the same numbers).
        let scale = self.scale();
        let half = self.size as f32 / 2.0;
        let (s, c) = self.angle.sin_cos();
        let offsets: Vec<f32> = (0..n)
            .map(|u| {
                let d = (u as f32 + at - half) * scale;
                if self.mirror { -d } else { d }
            })
            .collect();
        for v in 0..n {
            let dy = (v as f32 + at - half) * scale;
            for u in 0..n {
                let dx = offsets[u];
                let x = self.centre[0] + c * dx - s * dy;
                let y = self.centre[1] + s * dx + c * dy;
                let p = image.sample(x, y, zero_outside);
                let i = v * n + u;
                out[i] = p[0] * mul + add;
                out[plane + i] = p[1] * mul + add;
                out[2 * plane + i] = p[2] * mul + add;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_maps_its_corners_and_centre() {
        let crop = Crop {
            centre: [50.0, 40.0],
            side: 20.0,
            angle: 0.0,
            size: 10,
            mirror: false,
        };
        assert_eq!(crop.to_image(5.0, 5.0), [50.0, 40.0]);
        assert_eq!(crop.to_image(0.0, 0.0), [40.0, 30.0]);
        let rotated = Crop {
            angle: std::f32::consts::FRAC_PI_2,
            ..crop
        };
        let p = rotated.to_image(10.0, 5.0);
        assert!(
            (p[0] - 50.0).abs() < 1e-4 && (p[1] - 50.0).abs() < 1e-4,
            "{p:?}"
        );
        let mirrored = Crop {
            mirror: true,
            ..crop
        };
        assert_eq!(mirrored.to_image(0.0, 5.0), [60.0, 40.0]);
    }

    #[test]
    fn sampling_is_exact_at_pixel_centres_and_replicates_borders() {
        let data: Vec<u8> = (0..32 * 32)
            .flat_map(|i| [(i % 32) as u8, (i / 32) as u8, 7])
            .collect();
        let img = ImageView::new(32, 32, 3, &data, "t").unwrap();
        assert_eq!(img.sample(3.5, 4.5, false), [3.0, 4.0, 7.0]);
        assert_eq!(img.sample(4.0, 4.5, false), [3.5, 4.0, 7.0]);
        assert_eq!(img.sample(-5.0, 0.0, false), [0.0, 0.0, 7.0]);
        assert_eq!(img.sample(-5.0, 0.0, true), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_crop_tensor_is_the_image_sampled_at_each_pixels_mapped_point() {
        let data: Vec<u8> = (0..40 * 36)
            .flat_map(|i| {
                [
                    (i * 7 % 251) as u8,
                    (i * 13 % 241) as u8,
                    (i % 40 * 6) as u8,
                ]
            })
            .collect();
        let img = ImageView::new(40, 36, 3, &data, "t").unwrap();
        for (angle, mirror, zero) in [(0.0, false, false), (0.7, true, false), (-2.1, false, true)]
        {
            // Partly outside the image, so both the border and the inside paths are taken.
            let crop = Crop {
                centre: [12.3, 20.9],
                side: 31.0,
                angle,
                size: 16,
                mirror,
            };
            let t = crop.sample_chw_at(&img, 0.5, -1.0, zero, 0.25);
            for v in 0..16 {
                for u in 0..16 {
                    let [x, y] = crop.to_image(u as f32 + 0.25, v as f32 + 0.25);
                    let p = img.sample(x, y, zero);
                    for k in 0..3 {
                        assert_eq!(
                            t[k * 256 + v * 16 + u],
                            p[k] * 0.5 - 1.0,
                            "{angle} {u} {v} {k}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bad_images_are_refused_with_the_reason() {
        let e = ImageView::new(16, 16, 3, &[0; 768], "tiny.png")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tiny.png") && e.contains("too small"), "{e}");
        let e = ImageView::new(9000, 40, 3, &[], "huge.png")
            .unwrap_err()
            .to_string();
        assert!(e.contains("8192"), "{e}");
        let e = ImageView::new(40, 40, 1, &[0; 1600], "grey.png")
            .unwrap_err()
            .to_string();
        assert!(e.contains("RGB"), "{e}");
        assert!(ImageView::new(40, 40, 3, &[0; 10], "short.png").is_err());
    }
}
