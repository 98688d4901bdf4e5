//! Triangle rasterisation with exact shared edges, and bilinear sampling of RGBA8 images.
//!
//! Vertices snap to 1/256 px and edge functions are evaluated in integers with a tie rule, so two triangles
//! sharing an edge never both draw, nor both skip, a pixel on it: a mesh without holes draws every pixel
//! once.

/// An RGBA8 image to sample from: its bytes, and optionally the same pixels as [`texels`] (for the fast
/// path of [`Texture::sample_span`]; empty to do without).
#[derive(Clone, Copy)]
pub(crate) struct Texture<'a> {
    pub width: usize,
    pub height: usize,
    pub rgba: &'a [u8],
    pub px: &'a [u64],
}

/// An RGBA8 image (`width` pixels a row) as `u64` pixels with a channel in the low byte of each 16-bit
/// lane (R, B, G, A from the low lane up: a lane has room for a channel times 256, so one multiply
/// blends all four channels), with its last column and row repeated once more (`width + 1` a row), so
/// a bilinear sample's right and lower neighbours need no clamping.
pub(crate) fn texels(rgba: &[u8], width: usize) -> Vec<u64> {
    let height = rgba.len() / 4 / width.max(1);
    let stride = width + 1;
    let mut px = Vec::with_capacity(stride * (height + 1));
    for row in rgba.chunks_exact(width * 4).take(height) {
        px.extend(
            row.chunks_exact(4)
                .map(|p| spread(u32::from_le_bytes([p[0], p[1], p[2], p[3]]))),
        );
        px.push(px[px.len() - 1]);
    }
    if height > 0 {
        px.extend_from_within(px.len() - stride..);
    }
    px
}

/// Whether `px` holds [`texels`] of a `width` x `height` image.
fn padded(px: &[u64], width: usize, height: usize) -> bool {
    width > 0 && height > 0 && px.len() == (width + 1) * (height + 1)
}

const LANES: u64 = 0x00FF_00FF_00FF_00FF;

/// A little-endian RGBA pixel spread to the lanes of [`texels`].
#[inline(always)]
fn spread(p: u32) -> u64 {
    let p = p as u64;
    (p | (p << 24)) & LANES
}

/// The RGBA bytes of a pixel spread by [`spread`].
#[inline(always)]
fn gather(p: u64) -> [u8; 4] {
    (((p & 0x00FF_00FF) | ((p >> 24) & 0xFF00_FF00)) as u32).to_le_bytes()
}

/// `a + (b - a) * t / 256` on the four channels of two spread pixels at once (t in `0..=256`), rounded.
#[inline(always)]
fn lerp_px(a: u64, b: u64, t: u64) -> u64 {
    ((a * (256 - t) + b * t + 0x0080_0080_0080_0080) >> 8) & LANES
}

const SUB: f32 = 256.0;

/// Calls `span(y, x_first, x_last)` for each row of pixels (centres at +0.5) inside the triangle, clipped
/// to `width` x `height`. Degenerate triangles draw nothing.
pub(crate) fn rasterize(
    tri: [[f32; 2]; 3],
    width: usize,
    height: usize,
    mut span: impl FnMut(usize, usize, usize),
) {
    if tri.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
        return;
    }
    let limit = 1.0e6;
    let v = tri.map(|p| {
        [
            (p[0].clamp(-limit, limit) * SUB).round() as i64,
            (p[1].clamp(-limit, limit) * SUB).round() as i64,
        ]
    });
    let area =
        (v[1][0] - v[0][0]) * (v[2][1] - v[0][1]) - (v[1][1] - v[0][1]) * (v[2][0] - v[0][0]);
    if area == 0 {
        return;
    }
    let v = if area < 0 { [v[0], v[2], v[1]] } else { v };
    // Edge i from v[i] to v[i+1]: E(p) = a*px + b*py + c >= 0 inside.
    let mut edges = [(0i64, 0i64, 0i64, 0i64); 3];
    for i in 0..3 {
        let (p, q) = (v[i], v[(i + 1) % 3]);
        let a = p[1] - q[1];
        let b = q[0] - p[0];
        let c = -(a * p[0] + b * p[1]);
        let bias = if a > 0 || (a == 0 && b > 0) { 0 } else { -1 };
        edges[i] = (a, b, c, bias);
    }
    let min_y = v.iter().map(|p| p[1]).min().unwrap_or(0);
    let max_y = v.iter().map(|p| p[1]).max().unwrap_or(0);
    let sub = SUB as i64;
    // Rows whose centre y*256+128 lies in [min_y, max_y].
    let y0 = div_ceil(min_y - sub / 2, sub).max(0);
    let y1 = div_floor(max_y - sub / 2, sub).min(height as i64 - 1);
    // Per edge, 1 / (a * 256) to estimate each row's bound in floating point; the estimate is then
    // corrected with the exact integer test, so shared edges stay exact. An edge's k (below) moves by
    // b * 256 from one row to the next.
    let mut rows = edges.map(|(a, b, c, bias)| Row {
        a: a * sub,
        k: b * (y0 * sub + sub / 2) + c + bias + a * (sub / 2),
        step: b * sub,
        inv: if a != 0 { 1.0 / (a * sub) as f64 } else { 0.0 },
    });
    for y in y0..=y1 {
        let mut lo = 0i64;
        let mut hi = width as i64 - 1;
        for row in &mut rows {
            // Inside when a * (x*256 + 128) + k >= 0, k = b*py + c + bias for the row's centre py.
            let Row { a, k, inv, .. } = *row;
            row.k += row.step;
            let holds = |x: i64| a * x + k >= 0;
            if a > 0 {
                // The smallest x that holds.
                let mut x = (-k as f64 * inv) as i64;
                while !holds(x) {
                    x += 1;
                }
                while holds(x - 1) {
                    x -= 1;
                }
                lo = lo.max(x);
            } else if a < 0 {
                // The largest x that holds.
                let mut x = (-k as f64 * inv) as i64;
                while !holds(x) {
                    x -= 1;
                }
                while holds(x + 1) {
                    x += 1;
                }
                hi = hi.min(x);
            } else if k < 0 {
                hi = -1;
            }
        }
        if lo <= hi {
            span(y as usize, lo as usize, hi as usize);
        }
    }
}

/// One edge of a triangle being rasterized, per row: `a * x + k >= 0` holds inside (x in pixels, `a`
/// already times the sub-pixel scale), `k` for the current row, `step` added to it per row.
#[derive(Clone, Copy)]
struct Row {
    a: i64,
    k: i64,
    step: i64,
    inv: f64,
}

fn div_floor(a: i64, b: i64) -> i64 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn div_ceil(a: i64, b: i64) -> i64 {
    -div_floor(-a, b)
}

/// The affine map taking triangle `from` onto triangle `to` (`[[a, b, c], [d, e, f]]`: x' = a x + b y + c),
/// or `None` for a degenerate `from`.
pub(crate) fn affine(from: [[f32; 2]; 3], to: [[f32; 2]; 3]) -> Option<[[f32; 3]; 2]> {
    let [p0, p1, p2] = from.map(|p| [p[0] as f64, p[1] as f64]);
    let (ux, uy) = (p1[0] - p0[0], p1[1] - p0[1]);
    let (vx, vy) = (p2[0] - p0[0], p2[1] - p0[1]);
    let det = ux * vy - uy * vx;
    if det.abs() < 1e-9 {
        return None;
    }
    let mut out = [[0f32; 3]; 2];
    for (k, row) in out.iter_mut().enumerate() {
        let q0 = to[0][k] as f64;
        let du = to[1][k] as f64 - q0;
        let dv = to[2][k] as f64 - q0;
        // x' = q0 + du * s + dv * t, with (s, t) solving p - p0 = s u + t v.
        let a = (du * vy - dv * uy) / det;
        let b = (dv * ux - du * vx) / det;
        let c = q0 - a * p0[0] - b * p0[1];
        *row = [a as f32, b as f32, c as f32];
    }
    Some(out)
}

/// An affine map from output pixels to texture coordinates (`[[a, b, c], [d, e, f]]`: x' = a x + b y + c),
/// with what [`Texture::sample_span`] needs of it worked out once (per triangle, not per row).
pub(crate) struct SpanMap {
    m: [[f32; 3]; 2],
    /// The map moves nothing: spans are copied.
    identity: bool,
    /// One pixel's step along a row in the texture, 16.16 fixed point.
    dx: i64,
    dy: i64,
}

impl SpanMap {
    pub fn new(m: [[f32; 3]; 2]) -> Self {
        let eps = 1e-5;
        let identity = (m[0][0] - 1.0).abs() < eps
            && m[0][1].abs() < eps
            && m[0][2].abs() < eps * 100.0
            && m[1][0].abs() < eps
            && (m[1][1] - 1.0).abs() < eps
            && m[1][2].abs() < eps * 100.0;
        Self {
            m,
            identity,
            dx: (m[0][0] as f64 * 65536.0) as i64,
            dy: (m[1][0] as f64 * 65536.0) as i64,
        }
    }
}

impl Texture<'_> {
    /// Bilinear sample at `(x, y)` in pixel coordinates (centres at +0.5), clamped to the edges.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> [u8; 4] {
        let fx = (x - 0.5).clamp(0.0, (self.width - 1) as f32);
        let fy = (y - 0.5).clamp(0.0, (self.height - 1) as f32);
        self.sample_fixed((fx * 65536.0) as i32, (fy * 65536.0) as i32)
    }

    /// Bilinear sample at 16.16 fixed-point texel coordinates (texel centres at integers), inside the image.
    #[inline(always)]
    fn sample_fixed(&self, fx: i32, fy: i32) -> [u8; 4] {
        let fx = fx + 128;
        let fy = fy + 128;
        let x0 = (fx >> 16) as usize;
        let y0 = (fy >> 16) as usize;
        let ax = ((fx >> 8) & 255) as u32;
        let ay = ((fy >> 8) & 255) as u32;
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let row0 = y0 * self.width;
        let row1 = y1 * self.width;
        let px = |i: usize| -> [u8; 4] {
            let s = &self.rgba[i * 4..i * 4 + 4];
            [s[0], s[1], s[2], s[3]]
        };
        let (p00, p10, p01, p11) = (px(row0 + x0), px(row0 + x1), px(row1 + x0), px(row1 + x1));
        let mut out = [0u8; 4];
        for c in 0..4 {
            let top = p00[c] as u32 * (256 - ax) + p10[c] as u32 * ax;
            let bottom = p01[c] as u32 * (256 - ax) + p11[c] as u32 * ax;
            out[c] = ((top * (256 - ay) + bottom * ay + 32768) >> 16) as u8;
        }
        out
    }

    /// Writes pixels `x0..=x1` of row `y` of `out` (same width as `out_width`) with samples at the affine map
    /// `map` of each pixel centre.
    #[inline]
    pub fn sample_span(
        &self,
        map: &SpanMap,
        y: usize,
        x0: usize,
        x1: usize,
        out: &mut [u8],
        out_width: usize,
    ) {
        let m = &map.m;
        // Parts of the picture that do not move (the background, most of the time) are copied.
        if map.identity && out_width == self.width {
            let a = (y * out_width + x0) * 4;
            let b = (y * out_width + x1 + 1) * 4;
            out[a..b].copy_from_slice(&self.rgba[a..b]);
            return;
        }
        let (cx, cy) = (x0 as f32 + 0.5, y as f32 + 0.5);
        // Texel coordinates (centres at integers), 16.16 fixed point.
        let sx = m[0][0] * cx + m[0][1] * cy + m[0][2] - 0.5;
        let sy = m[1][0] * cx + m[1][1] * cy + m[1][2] - 0.5;
        let n = (x1 - x0) as f32;
        let (ex, ey) = (sx + m[0][0] * n, sy + m[1][0] * n);
        let (maxx, maxy) = ((self.width - 1) as f32, (self.height - 1) as f32);
        let row = &mut out[(y * out_width + x0) * 4..(y * out_width + x1 + 1) * 4];
        let inside = |x: f32, y: f32| x >= 0.0 && y >= 0.0 && x <= maxx && y <= maxy;
        if inside(sx, sy) && inside(ex, ey) && n < 60000.0 {
            // The span stays inside the texture (it is a straight line): no clamping per pixel.
            let mut fx = (sx as f64 * 65536.0) as i64;
            let mut fy = (sy as f64 * 65536.0) as i64;
            let (dx, dy) = (map.dx, map.dy);
            let (limx, limy) = ((maxx * 65536.0) as i64, (maxy * 65536.0) as i64);
            if padded(self.px, self.width, self.height) {
                let stride = self.width + 1;
                // Both ends are inside and the steps are truncated towards zero, so every sample between
                // is inside too: no clamping per pixel (the padding holds the right and lower
                // neighbours of the last column and row; indexing still checks).
                let (mut fx, mut fy) = (fx.clamp(0, limx) as i32, fy.clamp(0, limy) as i32);
                let (dx, dy) = (dx as i32, dy as i32);
                for out_px in row.chunks_exact_mut(4) {
                    let gx = (fx + 128) as u32;
                    let gy = (fy + 128) as u32;
                    let at = (gy >> 16) as usize * stride + (gx >> 16) as usize;
                    let (ax, ay) = (((gx >> 8) & 255) as u64, ((gy >> 8) & 255) as u64);
                    let (upper, lower) =
                        (&self.px[at..at + 2], &self.px[at + stride..at + stride + 2]);
                    let top = lerp_px(upper[0], upper[1], ax);
                    let bottom = lerp_px(lower[0], lower[1], ax);
                    out_px.copy_from_slice(&gather(lerp_px(top, bottom, ay)));
                    // Wrapping: after a span's last pixel the step may leave the range (a one-pixel
                    // span of a near-degenerate triangle), and that value is never read.
                    fx = fx.wrapping_add(dx);
                    fy = fy.wrapping_add(dy);
                }
            } else {
                for px in row.chunks_exact_mut(4) {
                    let s = self.sample_fixed(fx.clamp(0, limx) as i32, fy.clamp(0, limy) as i32);
                    px.copy_from_slice(&s);
                    fx = fx.wrapping_add(dx);
                    fy = fy.wrapping_add(dy);
                }
            }
        } else {
            for (i, px) in row.chunks_exact_mut(4).enumerate() {
                let x = sx + m[0][0] * i as f32;
                let y = sy + m[1][0] * i as f32;
                let s = self.sample(x + 0.5, y + 0.5);
                px.copy_from_slice(&s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_triangles_of_a_square_draw_each_pixel_once() {
        let (w, h) = (37usize, 23usize);
        let mut count = vec![0u8; w * h];
        let q = [
            [0.0, 0.0],
            [w as f32, 0.0],
            [w as f32, h as f32],
            [0.0, h as f32],
        ];
        // A diagonal through pixel centres, and an interior point shared by four triangles.
        let mid = [10.5, 7.5];
        for t in [
            [q[0], q[1], mid],
            [q[1], q[2], mid],
            [q[2], q[3], mid],
            [q[3], q[0], mid],
        ] {
            rasterize(t, w, h, |y, a, b| {
                for x in a..=b {
                    count[y * w + x] += 1;
                }
            });
        }
        assert!(count.iter().all(|&c| c == 1), "{count:?}");
    }

    /// A 16 x 16 test pattern: its RGBA bytes and its texels.
    fn pattern() -> (Vec<u8>, Vec<u64>) {
        let rgba: Vec<u8> = (0..16 * 16 * 4).map(|i| (i * 37 % 251) as u8).collect();
        let px = texels(&rgba, 16);
        (rgba, px)
    }

    #[test]
    fn a_one_pixel_span_of_a_near_degenerate_triangle_samples_without_overflow() {
        let (rgba, px) = pattern();
        let fast = Texture {
            width: 16,
            height: 16,
            rgba: &rgba,
            px: &px,
        };
        let slow = Texture { px: &[], ..fast };
        // One output pixel maps to texel (7, 7); the step to the next is nearly 32768 texels, as much
        // as 16.16 fixed point holds in an i32.
        let k = 32767.9f32;
        let m = SpanMap::new([[k, 0.0, 7.5 - k * 3.5], [k, 0.0, 7.5 - k * 3.5]]);
        for tex in [&fast, &slow] {
            let mut out = vec![0u8; 16 * 16 * 4];
            tex.sample_span(&m, 4, 3, 3, &mut out, 16);
            let at = (4 * 16 + 3) * 4;
            let want = (7 * 16 + 7) * 4;
            assert_eq!(out[at..at + 4], rgba[want..want + 4]);
        }
    }

    #[test]
    fn affine_maps_vertices_and_identity_sampling_is_exact() {
        let a = [[1.0, 2.0], [30.0, 5.0], [7.0, 40.0]];
        let b = [[3.0, 1.0], [20.0, 9.0], [2.0, 33.0]];
        let m = affine(a, b).unwrap();
        for (p, q) in a.iter().zip(&b) {
            let x = m[0][0] * p[0] + m[0][1] * p[1] + m[0][2];
            let y = m[1][0] * p[0] + m[1][1] * p[1] + m[1][2];
            assert!((x - q[0]).abs() < 1e-3 && (y - q[1]).abs() < 1e-3);
        }
        let (rgba, px) = pattern();
        let tex = Texture {
            width: 16,
            height: 16,
            rgba: &rgba,
            px: &px,
        };
        let id = affine(a, a).unwrap();
        let mut out = vec![0u8; 16 * 16 * 4];
        for y in 0..16 {
            tex.sample_span(&SpanMap::new(id), y, 0, 15, &mut out, 16);
        }
        assert_eq!(out, rgba);
        // The fast path (spread texels) and the byte path agree on a real warp (to one level of rounding).
        let m = SpanMap::new(affine(a, b).unwrap());
        let slow = Texture { px: &[], ..tex };
        let (mut fast_out, mut slow_out) = (vec![0u8; 16 * 16 * 4], vec![0u8; 16 * 16 * 4]);
        for y in 2..10 {
            tex.sample_span(&m, y, 3, 9, &mut fast_out, 16);
            slow.sample_span(&m, y, 3, 9, &mut slow_out, 16);
        }
        assert!(
            fast_out
                .iter()
                .zip(&slow_out)
                .all(|(a, b)| a.abs_diff(*b) <= 1)
        );
        assert!(fast_out.iter().any(|&v| v != 0));
        // Samples on the last column and row (the padding of `texels` as their neighbours) agree too,
        // exactly: a shift by one texel, the last pixel of the span on the last texel.
        let shift = SpanMap::new([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]);
        let (mut fast_out, mut slow_out) = (vec![0u8; 16 * 16 * 4], vec![0u8; 16 * 16 * 4]);
        for y in 0..15 {
            tex.sample_span(&shift, y, 0, 14, &mut fast_out, 16);
            slow.sample_span(&shift, y, 0, 14, &mut slow_out, 16);
        }
        assert_eq!(fast_out, slow_out);
        assert_eq!(
            fast_out[(14 * 16 + 14) * 4..][..4],
            rgba[(15 * 16 + 15) * 4..][..4]
        );
    }

    #[test]
    fn spread_pixels_round_trip_and_blend_each_channel_as_bytes_do() {
        let pixels = [
            0x0000_0000u32,
            0xFFFF_FFFF,
            0x8040_C0FF,
            0x01FE_7F80,
            0x12345678,
        ];
        for &a in &pixels {
            assert_eq!(gather(spread(a)), a.to_le_bytes());
            for &b in &pixels {
                for t in [0u64, 1, 77, 128, 255, 256] {
                    let (ab, bb) = (a.to_le_bytes(), b.to_le_bytes());
                    let want: [u8; 4] = std::array::from_fn(|c| {
                        ((ab[c] as u64 * (256 - t) + bb[c] as u64 * t + 128) >> 8) as u8
                    });
                    assert_eq!(
                        gather(lerp_px(spread(a), spread(b), t)),
                        want,
                        "{a:x} {b:x} {t}"
                    );
                }
            }
        }
    }
}
