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

/// OpenCV's bilinear read of 8-bit pixels (`cv::warpPerspective` / `cv::remap` with `INTER_LINEAR`), which
/// Google's MediaPipe uses on CPU to cut its model inputs: `(x, y)` in OpenCV's convention (pixel `i` at
/// `i`, not `i + 0.5`), rounded to 1/32 px (`INTER_BITS`), the four taps weighted in 15-bit fixed point and
/// the result rounded to an integer. Taps outside the image are black (`zero_outside`, `BORDER_CONSTANT`)
/// or the nearest edge pixel (`BORDER_REPLICATE`). No antialiasing: a downscale reads 4 pixels, as OpenCV.
#[inline]
pub(crate) fn bilinear_opencv(
    data: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    x: f64,
    y: f64,
    zero_outside: bool,
) -> [f32; 3] {
    const BITS: i64 = 5;
    const TAB: i64 = 1 << BITS;
    let clamp = |v: f64| v.clamp(i32::MIN as f64, i32::MAX as f64);
    let ix = clamp((x * TAB as f64).round_ties_even()) as i64;
    let iy = clamp((y * TAB as f64).round_ties_even()) as i64;
    let (x0, y0) = (ix >> BITS, iy >> BITS);
    let (fx, fy) = (ix & (TAB - 1), iy & (TAB - 1));
    let (w, h) = (width as i64, height as i64);
    if zero_outside && (x0 >= w || x0 + 1 < 0 || y0 >= h || y0 + 1 < 0) {
        return [0.0; 3];
    }
    let tap = |x: i64, y: i64| -> [i64; 3] {
        if zero_outside && (x < 0 || y < 0 || x >= w || y >= h) {
            return [0; 3];
        }
        let i =
            (y.clamp(0, h - 1) as usize * width as usize + x.clamp(0, w - 1) as usize) * channels;
        [data[i] as i64, data[i + 1] as i64, data[i + 2] as i64]
    };
    let taps = [
        (tap(x0, y0), (TAB - fx) * (TAB - fy)),
        (tap(x0 + 1, y0), fx * (TAB - fy)),
        (tap(x0, y0 + 1), (TAB - fx) * fy),
        (tap(x0 + 1, y0 + 1), fx * fy),
    ];
    // OpenCV's table holds w * 32 (summing to 1 << 15); (sum + (1 << 14)) >> 15 is (sum_w + 512) >> 10.
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let sum: i64 = taps.iter().map(|(p, w)| p[k] * w).sum();
        *o = ((sum + 512) >> 10).clamp(0, 255) as f32;
    }
    out
}

/// `(v * 32).round_ties_even()` as an integer, as [`bilinear_opencv`] rounds a coordinate to 1/32 px,
/// without the library call `round_ties_even` is on CPUs before SSE4.1 (the crate's baseline); `None`
/// far outside any image (`bilinear_opencv` handles those).
#[inline]
fn fixed_5(v: f64) -> Option<i64> {
    // Adding and taking away 1.5 * 2^52 rounds to an integer, ties to even, in the default rounding
    // mode, for |v * 32| < 2^51.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let t = v * 32.0;
    (t.abs() < 1e9).then_some(((t + MAGIC) - MAGIC) as i64)
}

/// How a model input is read from a [`Crop`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// Tensor pixel `(u, v)` is the crop's point `(u + at, v + at)`, read bilinearly in floating point
    /// (pixel centres at `+0.5`; outside the image the border is replicated, or black for `zero_outside`).
    At(f32),
    /// As Google's MediaPipe cuts its inputs on CPU (`ImageToTensorCalculator`'s OpenCV converter):
    /// tensor pixel `(u, v)` is the crop's point `(u, v)`, read with [`cv::warpPerspective`]'s bilinear
    /// filter in OpenCV's pixel convention (centres at integers; see `bilinear_opencv`), 8-bit results.
    ///
    /// [`cv::warpPerspective`]: https://docs.opencv.org/4.x/da/d54/group__imgproc__transform.html
    MediaPipe,
}

/// A region of an image, rotated by `angle` (radians, image x towards image y), resampled to `size` x
/// `size` pixels: a square, or (`aspect` other than 1) a `side` x `side * aspect` rectangle stretched to
/// the square as MediaPipe does with a face detection's box. Maps crop pixels to image pixels and back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crop {
    /// Centre in image pixels.
    pub centre: [f32; 2],
    /// Side length (the width, along the rotated x axis) in image pixels.
    pub side: f32,
    /// Height over width of the region (1 for a square).
    pub aspect: f32,
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
        let dy = (v - self.size as f32 / 2.0) * scale * self.aspect;
        if self.mirror {
            dx = -dx;
        }
        let (s, c) = self.angle.sin_cos();
        [
            self.centre[0] + c * dx - s * dy,
            self.centre[1] + s * dx + c * dy,
        ]
    }

    /// A length along the crop's x axis in crop pixels as image pixels.
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
        self.sample_chw_with(image, mul, add, zero_outside, Sampling::At(0.5))
    }

    /// [`sample_chw`](Self::sample_chw) read as `sampling` says.
    pub fn sample_chw_with(
        &self,
        image: &ImageView<'_>,
        mul: f32,
        add: f32,
        zero_outside: bool,
        sampling: Sampling,
    ) -> Vec<f32> {
        let n = self.size as usize;
        let plane = n * n;
        let mut out = vec![0f32; 3 * plane];
        match sampling {
            Sampling::At(at) => {
                for v in 0..n {
                    for u in 0..n {
                        let [x, y] = self.to_image(u as f32 + at, v as f32 + at);
                        let p = image.sample(x, y, zero_outside);
                        let i = v * n + u;
                        out[i] = p[0] * mul + add;
                        out[plane + i] = p[1] * mul + add;
                        out[2 * plane + i] = p[2] * mul + add;
                    }
                }
            }
            Sampling::MediaPipe => {
                let (r, rest) = out.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                let planes = [r, g, b];
                let to = |p: f32| p * mul + add;
                if image.channels == 3 {
                    self.sample_opencv::<3>(image, zero_outside, planes, to);
                } else {
                    self.sample_opencv::<4>(image, zero_outside, planes, to);
                }
            }
        }
        out
    }

    /// The crop's affine map in double precision, as OpenCV inverts and applies it: crop pixel `(u, v)`
    /// reads image point `(cx + ax du + bx dv, cy + ay du + by dv)`, `du = u - size / 2`, `dv = v - size /
    /// 2`; returned as `[ax, ay, bx, by, cx, cy]`.
    fn opencv_map(&self) -> [f64; 6] {
        let scale = self.side as f64 / self.size as f64;
        let (s, c) = (self.angle as f64).sin_cos();
        let flip = if self.mirror { -1.0 } else { 1.0 };
        [
            c * scale * flip,
            s * scale * flip,
            -s * scale * self.aspect as f64,
            c * scale * self.aspect as f64,
            self.centre[0] as f64,
            self.centre[1] as f64,
        ]
    }

    /// [`Sampling::MediaPipe`]'s read into three planes of `size` x `size`, each value passed through
    /// `to`, for images of `C` bytes a pixel.
    fn sample_opencv<const C: usize>(
        &self,
        image: &ImageView<'_>,
        zero_outside: bool,
        [r, g, b]: [&mut [f32]; 3],
        to: impl Fn(f32) -> f32,
    ) {
        let n = self.size as usize;
        // The column terms worked out once (the same sums in the same order as `opencv_map`'s).
        let [ax, ay, bx, by, cx, cy] = self.opencv_map();
        let half = n as f64 / 2.0;
        let columns: Vec<[f64; 2]> = (0..n)
            .map(|u| {
                let du = u as f64 - half;
                [cx + ax * du, cy + ay * du]
            })
            .collect();
        let data = image.data;
        let (w, h) = (image.width as i64, image.height as i64);
        let row = image.width as usize * C;
        for (v, ((r, g), b)) in r
            .chunks_exact_mut(n)
            .zip(g.chunks_exact_mut(n))
            .zip(b.chunks_exact_mut(n))
            .enumerate()
        {
            let dv = v as f64 - half;
            let (ox, oy) = (bx * dv, by * dv);
            for (u, [x, y]) in columns.iter().enumerate() {
                let (x, y) = (x + ox, y + oy);
                let p = match (fixed_5(x), fixed_5(y)) {
                    // All four taps inside the image (almost every sample): the same arithmetic as
                    // `bilinear_opencv` without its clamps and 64-bit taps.
                    (Some(ix), Some(iy))
                        if ix >= 0 && iy >= 0 && (ix >> 5) + 1 < w && (iy >> 5) + 1 < h =>
                    {
                        let (fx, fy) = ((ix & 31) as i32, (iy & 31) as i32);
                        let i = (iy >> 5) as usize * row + (ix >> 5) as usize * C;
                        let top = &data[i..i + 2 * C];
                        let bottom = &data[i + row..i + row + 2 * C];
                        let [w00, w01, w10, w11] = [
                            (32 - fx) * (32 - fy),
                            fx * (32 - fy),
                            (32 - fx) * fy,
                            fx * fy,
                        ];
                        let tap = |k: usize| {
                            let sum = top[k] as i32 * w00
                                + top[C + k] as i32 * w01
                                + bottom[k] as i32 * w10
                                + bottom[C + k] as i32 * w11;
                            ((sum + 512) >> 10) as f32
                        };
                        // (Not `[0, 1, 2].map(tap)`: it was not inlined, 40 % of the sampler's time.)
                        [tap(0), tap(1), tap(2)]
                    }
                    _ => bilinear_opencv(data, image.width, image.height, C, x, y, zero_outside),
                };
                r[u] = to(p[0]);
                g[u] = to(p[1]);
                b[u] = to(p[2]);
            }
        }
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
            aspect: 1.0,
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
    fn opencv_sampling_puts_pixel_centres_at_integers_and_rounds_like_opencv() {
        // Row 0: 10, 20, 30, ...; row 1 the same plus 100.
        let data: Vec<u8> = (0..32 * 32)
            .flat_map(|i| {
                let v = ((i % 32) * 5 + (i / 32) * 100).min(255) as u8;
                [v, v, 7]
            })
            .collect();
        let at = |x, y, zero| bilinear_opencv(&data, 32, 32, 3, x, y, zero);
        assert_eq!(at(3.0, 0.0, true), [15.0, 15.0, 7.0]);
        // Half-way between 15 and 20 is 17.5, rounded up by the fixed point's + 1/2.
        assert_eq!(at(3.5, 0.0, true), [18.0, 18.0, 7.0]);
        // Positions snap to 1/32 px: 3.01 reads as 3.
        assert_eq!(at(3.01, 0.0, true), [15.0, 15.0, 7.0]);
        assert_eq!(at(3.0, 0.5, true), [65.0, 65.0, 7.0]);
        // BORDER_CONSTANT blends the edge with black; BORDER_REPLICATE keeps it.
        assert_eq!(at(-0.5, 0.0, true), [0.0, 0.0, 4.0]);
        assert_eq!(at(-0.5, 0.0, false), [0.0, 0.0, 7.0]);
        assert_eq!(at(-1.0, 0.0, true), [0.0; 3]);
        assert_eq!(at(31.5, 0.0, false), [155.0, 155.0, 7.0]);
    }

    #[test]
    fn mediapipe_sampling_matches_the_opencv_read_at_every_pixel() {
        // The sampler's fast path inside the image against `bilinear_opencv` itself, on rotated and
        // mirrored crops that reach past the image's edges (both border modes), RGB and RGBA, and one
        // crop whose points fall on exact halves of 1/32 px (the rounding's ties).
        let (w, h) = (61u32, 47u32);
        for channels in [3usize, 4] {
            let data: Vec<u8> = (0..w as usize * h as usize * channels)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
                .collect();
            let img = ImageView::new(w, h, channels, &data, "t").unwrap();
            let crops = [
                (Crop {
                    centre: [30.3, 20.7],
                    side: 70.0,
                    aspect: 1.0,
                    angle: 0.4,
                    size: 32,
                    mirror: false,
                }),
                (Crop {
                    centre: [10.0, 40.0],
                    side: 40.0,
                    aspect: 1.3,
                    angle: -2.0,
                    size: 24,
                    mirror: true,
                }),
                (Crop {
                    centre: [30.0, 23.0],
                    side: 16.0 * 65.0 / 64.0,
                    aspect: 1.0,
                    angle: 0.0,
                    size: 16,
                    mirror: false,
                }),
            ];
            for crop in crops {
                for zero_outside in [false, true] {
                    let t = crop.sample_chw_with(&img, 1.0, 0.0, zero_outside, Sampling::MediaPipe);
                    let n = crop.size as usize;
                    let [ax, ay, bx, by, cx, cy] = crop.opencv_map();
                    let half = n as f64 / 2.0;
                    for v in 0..n {
                        for u in 0..n {
                            let (du, dv) = (u as f64 - half, v as f64 - half);
                            let want = bilinear_opencv(
                                &data,
                                w,
                                h,
                                channels,
                                cx + ax * du + bx * dv,
                                cy + ay * du + by * dv,
                                zero_outside,
                            );
                            let got = [0, 1, 2].map(|k| t[k * n * n + v * n + u]);
                            assert_eq!(got, want, "{crop:?} {zero_outside} ({u}, {v})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn mediapipe_sampling_reads_crop_point_u_at_opencv_coordinates() {
        let data: Vec<u8> = (0..64 * 64)
            .flat_map(|i| [(i % 64) as u8 * 3, (i / 64) as u8 * 3, 9])
            .collect();
        let img = ImageView::new(64, 64, 3, &data, "t").unwrap();
        // A 16 px crop of a 32 x 16 region: tensor pixel (u, v) reads image (8 + 2u, 24 + v).
        let crop = Crop {
            centre: [24.0, 32.0],
            side: 32.0,
            aspect: 0.5,
            angle: 0.0,
            size: 16,
            mirror: false,
        };
        let t = crop.sample_chw_with(&img, 1.0, 0.0, true, Sampling::MediaPipe);
        for (u, v) in [(0, 0), (5, 3), (15, 15)] {
            assert_eq!(t[v * 16 + u], (8 + 2 * u) as f32 * 3.0, "{u} {v}");
            assert_eq!(t[256 + v * 16 + u], (24 + v) as f32 * 3.0, "{u} {v}");
        }
        assert_eq!(crop.to_image(5.0, 3.0), [18.0, 27.0]);
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
