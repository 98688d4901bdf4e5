//! The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): little smoothing when things move fast, a lot
//! when they keep still, so landmarks neither lag nor jitter.

use serde::{Deserialize, Serialize};

use crate::math::bounds;

/// One-Euro parameters. Lower `min_cutoff` removes more jitter at rest; higher `beta` lags less in motion.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneEuroParams {
    /// Cut-off frequency at rest, Hz.
    pub min_cutoff: f32,
    /// How fast the cut-off rises with speed (per unit of the value per second).
    pub beta: f32,
    /// Cut-off frequency for the speed estimate, Hz.
    pub d_cutoff: f32,
}

impl OneEuroParams {
    /// Defaults for landmarks in pixels at webcam frame rates.
    pub const LANDMARKS: OneEuroParams = OneEuroParams {
        min_cutoff: 0.8,
        beta: 0.05,
        d_cutoff: 1.0,
    };
    /// Defaults for head angles in radians.
    pub const ANGLES: OneEuroParams = OneEuroParams {
        min_cutoff: 1.0,
        beta: 2.0,
        d_cutoff: 1.0,
    };
}

impl Default for OneEuroParams {
    fn default() -> Self {
        Self::LANDMARKS
    }
}

/// A One-Euro filter for one value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OneEuroFilter {
    last: Option<(f64, f32, f32)>,
}

fn alpha(cutoff: f32, dt: f32) -> f32 {
    let tau = 1.0 / (std::f32::consts::TAU * cutoff.max(1e-6));
    1.0 / (1.0 + tau / dt)
}

impl OneEuroFilter {
    /// Filters `x` observed at time `t` (seconds); returns the smoothed value.
    pub fn filter(&mut self, x: f32, t: f64, p: &OneEuroParams) -> f32 {
        let Some((last_t, last_x, last_dx)) = self.last else {
            self.last = Some((t, x, 0.0));
            return x;
        };
        let dt = (t - last_t) as f32;
        if dt.is_nan() || dt <= 0.0 || !x.is_finite() {
            return last_x;
        }
        let dx = (x - last_x) / dt;
        let edx = last_dx + alpha(p.d_cutoff, dt) * (dx - last_dx);
        let cutoff = p.min_cutoff + p.beta * edx.abs();
        let out = last_x + alpha(cutoff, dt) * (x - last_x);
        self.last = Some((t, out, edx));
        out
    }

    /// Forgets the history.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// One-Euro filters for a set of points (x, y and z each filtered).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PointSmoother {
    /// The parameters, changeable at any time.
    pub params: OneEuroParams,
    filters: Vec<[OneEuroFilter; 3]>,
}

impl PointSmoother {
    /// A smoother with these parameters.
    pub fn new(params: OneEuroParams) -> Self {
        Self {
            params,
            filters: Vec::new(),
        }
    }

    /// Smooths `points` in place, observed at time `t` (seconds).
    pub fn smooth(&mut self, points: &mut [[f32; 3]], t: f64) {
        if self.filters.len() != points.len() {
            self.filters = vec![[OneEuroFilter::default(); 3]; points.len()];
        }
        for (p, f) in points.iter_mut().zip(&mut self.filters) {
            for k in 0..3 {
                p[k] = f[k].filter(p[k], t, &self.params);
            }
        }
    }

    /// Forgets the history (after the face was lost).
    pub fn reset(&mut self) {
        self.filters.clear();
    }
}

/// The landmark smoothing of MediaPipe's Face Landmarker in VIDEO mode (`LandmarksSmoothingCalculator`
/// with the one-euro filter of `one_euro_filter.cc`, configured by `face_landmarks_detector_graph.cc`:
/// `min_cutoff` 0.05, `beta` 80, `derivate_cutoff` 1, speeds divided by the face's size). Unlike
/// [`OneEuroFilter`] it estimates speed from the raw values, as MediaPipe does; reproducing it is what makes
/// the tracker's points and blendshapes match MediaPipe's on video.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VideoSmoother {
    filters: Vec<[MediaPipeOneEuro; 3]>,
}

impl VideoSmoother {
    const MIN_CUTOFF: f64 = 0.05;
    const BETA: f64 = 80.0;
    const DERIVATE_CUTOFF: f64 = 1.0;

    /// Smooths `points` (image pixels) seen at `timestamp_ns` (nanoseconds since the stream began; frame 0
    /// at 0 is passed through, as in MediaPipe).
    pub fn smooth(&mut self, points: &mut [[f32; 3]], timestamp_ns: i64) {
        if self.filters.len() != points.len() {
            self.filters = vec![[MediaPipeOneEuro::default(); 3]; points.len()];
        }
        // The face's size: the mean of its bounding box's width and height (MediaPipe's GetObjectScale).
        let (lo, hi) = bounds(points.iter().map(|p| [p[0], p[1]]));
        let scale = ((hi[0] - lo[0]) + (hi[1] - lo[1])) / 2.0;
        if !scale.is_finite() || scale < 1e-6 {
            return;
        }
        let value_scale = 1.0 / scale as f64;
        for (p, f) in points.iter_mut().zip(&mut self.filters) {
            for k in 0..3 {
                p[k] = f[k].apply(timestamp_ns, value_scale, p[k] as f64) as f32;
            }
        }
    }

    /// Forgets the history (the face was lost).
    pub fn reset(&mut self) {
        self.filters.clear();
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct LowPass {
    raw: Option<f64>,
    stored: f64,
}

impl LowPass {
    fn apply(&mut self, value: f64, alpha: f64) -> f64 {
        let out = match self.raw {
            Some(_) => alpha * value + (1.0 - alpha) * self.stored,
            None => value,
        };
        self.raw = Some(value);
        self.stored = out;
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct MediaPipeOneEuro {
    frequency: f64,
    last_time: i64,
    x: LowPass,
    dx: LowPass,
}

impl Default for MediaPipeOneEuro {
    fn default() -> Self {
        let empty = LowPass {
            raw: None,
            stored: 0.0,
        };
        Self {
            frequency: 30.0,
            last_time: 0,
            x: empty,
            dx: empty,
        }
    }
}

impl MediaPipeOneEuro {
    fn alpha(&self, cutoff: f64) -> f64 {
        let te = 1.0 / self.frequency;
        let tau = 1.0 / (std::f64::consts::TAU * cutoff);
        1.0 / (1.0 + tau / te)
    }

    fn apply(&mut self, timestamp_ns: i64, value_scale: f64, value: f64) -> f64 {
        if !value.is_finite() || self.last_time >= timestamp_ns {
            return value;
        }
        if self.last_time != 0 && timestamp_ns != 0 {
            self.frequency = 1.0 / ((timestamp_ns - self.last_time) as f64 * 1e-9);
        }
        self.last_time = timestamp_ns;
        let dvalue = match self.x.raw {
            Some(raw) => (value - raw) * value_scale * self.frequency,
            None => 0.0,
        };
        let edvalue = self
            .dx
            .apply(dvalue, self.alpha(VideoSmoother::DERIVATE_CUTOFF));
        let cutoff = VideoSmoother::MIN_CUTOFF + VideoSmoother::BETA * edvalue.abs();
        self.x.apply(value, self.alpha(cutoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn still_input_stays_and_steps_are_followed() {
        let p = OneEuroParams::LANDMARKS;
        let mut f = OneEuroFilter::default();
        for i in 0..10 {
            assert_eq!(f.filter(5.0, i as f64 / 30.0, &p), 5.0);
        }
        // A 100 px jump is followed to within 1 px in half a second.
        let mut out = 0.0;
        for i in 10..25 {
            out = f.filter(105.0, i as f64 / 30.0, &p);
        }
        assert!((out - 105.0).abs() < 1.0, "{out}");
    }

    #[test]
    fn noise_at_rest_is_reduced() {
        let p = OneEuroParams::LANDMARKS;
        let mut f = OneEuroFilter::default();
        let noisy: Vec<f32> = (0..300)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let out: Vec<f32> = noisy
            .iter()
            .enumerate()
            .map(|(i, x)| f.filter(*x, i as f64 / 30.0, &p))
            .collect();
        let spread = out[100..].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(spread < 0.15, "{spread}");
    }

    #[test]
    fn the_video_smoother_holds_a_jittering_face_and_follows_a_moving_one() {
        // A 100 px face whose points jitter by half a pixel, then move 20 px a frame.
        let face = |dx: f32, jitter: f32| -> Vec<[f32; 3]> {
            vec![
                [dx + jitter, jitter, 0.0],
                [dx + 100.0, 100.0 - jitter, 0.0],
            ]
        };
        let mut s = VideoSmoother::default();
        let frame = 40_000_000i64;
        let mut out = Vec::new();
        for i in 0..30 {
            let mut p = face(0.0, if i % 2 == 0 { 0.5 } else { -0.5 });
            s.smooth(&mut p, i * frame);
            out.push(p[0][0]);
        }
        // MediaPipe's filter follows fast changes (beta 80), frame-to-frame jitter included: it takes
        // +-0.5 px on a 100 px face down to +-0.2 (measured 0.202).
        let spread = out[10..].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(spread < 0.25, "jitter at rest left {spread} px");
        let mut last = 0.0;
        for i in 30..40 {
            let mut p = face((i - 29) as f32 * 20.0, 0.0);
            s.smooth(&mut p, i * frame);
            last = p[0][0] - (i - 29) as f32 * 20.0;
        }
        assert!(last.abs() < 3.0, "a moving face lags by {last} px");
        // Frame 0 at time 0 passes through, as MediaPipe's filter does.
        let mut fresh = VideoSmoother::default();
        let mut p = face(7.0, 0.0);
        fresh.smooth(&mut p, 0);
        assert_eq!(p[0][0], 7.0);
    }
}
