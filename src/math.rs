//! Small geometry helpers shared by the rig and the renderers, and the pacing of senders.

use std::time::Duration;

/// Says when something sent at a fixed rate is due: steady, and after a hitch it starts again from now
/// rather than catching up with a burst.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pacer {
    next_at: Option<f64>,
}

impl Pacer {
    /// Whether a send every `interval` is due at `now` (seconds); if so, the next one is scheduled.
    pub(crate) fn due(&mut self, now: f64, interval: Duration) -> bool {
        let interval = interval.as_secs_f64().max(1e-3);
        match self.next_at {
            Some(at) if now < at => return false,
            Some(at) if now < at + interval => self.next_at = Some(at + interval),
            _ => self.next_at = Some(now + interval),
        }
        true
    }
}

/// Hermite step from 0 at `a` to 1 at `b` (either order).
pub(crate) fn smoothstep(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The smallest and largest x and y of `points`: `([min x, min y], [max x, max y])` (`f32::MAX` and
/// `f32::MIN` for no points).
pub(crate) fn bounds(points: impl IntoIterator<Item = [f32; 2]>) -> ([f32; 2], [f32; 2]) {
    points
        .into_iter()
        .fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), p| {
            (
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            )
        })
}

/// `y(x)` on a polyline of points sorted by x, linear between them and flat beyond the ends (0 for an
/// empty line).
pub(crate) fn polyline_y(line: &[[f32; 2]], x: f32) -> f32 {
    let (Some(first), Some(last)) = (line.first(), line.last()) else {
        return 0.0;
    };
    if x <= first[0] {
        return first[1];
    }
    for w in line.windows(2) {
        if x <= w[1][0] {
            let t = (x - w[0][0]) / (w[1][0] - w[0][0]).max(1e-6);
            return w[0][1] + t * (w[1][1] - w[0][1]);
        }
    }
    last[1]
}

/// Point in polygon (even-odd rule), in `f32` or `f64`.
pub(crate) fn inside<T: Copy + Into<f64>>(poly: &[[T; 2]], p: [T; 2]) -> bool {
    let (px, py) = (p[0].into(), p[1].into());
    let mut inside = false;
    let mut j = poly.len().wrapping_sub(1);
    for i in 0..poly.len() {
        let (ax, ay) = (poly[i][0].into(), poly[i][1].into());
        let (bx, by) = (poly[j][0].into(), poly[j][1].into());
        if (ay > py) != (by > py) && px < (bx - ax) * (py - ay) / (by - ay) + ax {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Box means of a `w x h` image over a `(2r + 1)` square window (clipped at the borders), by integral
/// images.
pub(crate) fn box_mean(v: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut integral = vec![0.0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0.0f64;
        for x in 0..w {
            row += v[y * w + x] as f64;
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        let (ya, yb) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (xa, xb) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = integral[yb * (w + 1) + xb]
                - integral[ya * (w + 1) + xb]
                - integral[yb * (w + 1) + xa]
                + integral[ya * (w + 1) + xa];
            out[y * w + x] = (sum / ((yb - ya) * (xb - xa)) as f64) as f32;
        }
    }
    out
}
