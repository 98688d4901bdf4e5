//! The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): little smoothing when things move fast, a lot
//! when they keep still, so landmarks neither lag nor jitter.

use serde::{Deserialize, Serialize};

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
}
