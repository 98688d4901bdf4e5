//! [`Mfcc`]: mel-frequency cepstral coefficients of one analysis window, the features the vowel profiles
//! ([`VowelProfiles`](super::VowelProfiles)) are matched against.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// The highest sample rate accepted (Hz): a WAV file declaring more is an error naming it, and a stream
/// at more is analysed as if at this rate. Above it the analysis window alone would be megabytes (a 44-byte
/// file declaring 4 GHz asked for about 0.9 GB).
pub const MAX_SAMPLE_RATE: u32 = 384_000;

/// The hop between analysis frames, seconds (100 per second).
pub(super) const HOP: f32 = 0.01;
/// The analysis window, seconds.
pub(super) const WINDOW: f32 = 0.025;
/// Coefficients per window (c1..c12; c0, the loudness, is left out: the level is measured apart).
pub const MFCC_COEFFS: usize = 12;
/// One window's coefficients.
pub type MfccVector = [f32; MFCC_COEFFS];

/// Mel bands the spectrum is pooled into.
const BANDS: usize = 26;
/// The bands span this range (Hz): vowel formants F1-F3 lie within it for adult voices.
const LOW_HZ: f32 = 100.0;
const HIGH_HZ: f32 = 5000.0;
/// Pre-emphasis: the first difference tilts the spectrum up as speech falls off.
const PRE_EMPHASIS: f32 = 0.97;

fn mel(hz: f32) -> f32 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn hz(mel: f32) -> f32 {
    700.0 * (10f32.powf(mel / 2595.0) - 1.0)
}

/// MFCCs of windows of a fixed length at one sample rate: pre-emphasis, a Hamming window, the power
/// spectrum (a real FFT padded to a power of two), 26 triangular mel bands from 100 Hz to 5 kHz (or
/// Nyquist), their logarithm and a DCT-II. Allocates once, in [`new`](Self::new).
pub struct Mfcc {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Per band: the first FFT bin and the weights from there.
    bands: Vec<(usize, Vec<f32>)>,
    dct: Vec<[f32; BANDS]>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl std::fmt::Debug for Mfcc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfcc")
            .field("window", &self.window.len())
            .field("fft", &self.input.len())
            .finish()
    }
}

impl Clone for Mfcc {
    fn clone(&self) -> Self {
        Self {
            fft: self.fft.clone(),
            window: self.window.clone(),
            bands: self.bands.clone(),
            dct: self.dct.clone(),
            input: self.input.clone(),
            spectrum: self.spectrum.clone(),
            scratch: self.scratch.clone(),
        }
    }
}

impl Mfcc {
    /// For windows of `window` samples (at least 2) at `sample_rate` Hz.
    pub fn new(sample_rate: u32, window: usize) -> Self {
        let n = window.max(2);
        let size = n.next_power_of_two();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(size);
        let rate = sample_rate.max(1) as f32;
        let top = HIGH_HZ.min(rate / 2.0);
        let (lo, hi) = (mel(LOW_HZ.min(top / 2.0)), mel(top));
        let edges: Vec<f32> = (0..BANDS + 2)
            .map(|i| hz(lo + (hi - lo) * i as f32 / (BANDS + 1) as f32) / rate * size as f32)
            .collect();
        let bins = size / 2 + 1;
        let bands = (0..BANDS)
            .map(|j| {
                let (l, c, r) = (edges[j], edges[j + 1], edges[j + 2]);
                let first = (l.floor().max(0.0) as usize).min(bins - 1);
                let last = (r.ceil() as usize).min(bins - 1);
                let weights = (first..=last)
                    .map(|k| {
                        let k = k as f32;
                        ((k - l) / (c - l).max(1e-6))
                            .min((r - k) / (r - c).max(1e-6))
                            .max(0.0)
                    })
                    .collect();
                (first, weights)
            })
            .collect();
        let dct = (1..=MFCC_COEFFS)
            .map(|k| {
                std::array::from_fn(|j| {
                    (std::f32::consts::PI / BANDS as f32 * (j as f32 + 0.5) * k as f32).cos()
                })
            })
            .collect();
        let window = (0..n)
            .map(|i| 0.54 - 0.46 * (std::f32::consts::TAU * i as f32 / (n - 1) as f32).cos())
            .collect();
        Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            bands,
            dct,
        }
    }

    /// The window length this computes for.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// The coefficients of `samples` (its first [`window_len`](Self::window_len) samples; missing ones
    /// count as silence, non-finite ones as 0).
    pub fn compute(&mut self, samples: &[f32]) -> MfccVector {
        let clean = |x: f32| if x.is_finite() { x } else { 0.0 };
        self.input.fill(0.0);
        let mut prev = samples.first().copied().map(clean).unwrap_or(0.0);
        for (i, w) in self.window.iter().enumerate() {
            let x = samples.get(i).copied().map(clean).unwrap_or(0.0);
            let y = if i == 0 { x } else { x - PRE_EMPHASIS * prev };
            prev = x;
            self.input[i] = y * w;
        }
        // Lengths come from the plan itself, so the transform cannot fail.
        let _ =
            self.fft
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        let mut log = [0.0f32; BANDS];
        for (l, (first, weights)) in log.iter_mut().zip(&self.bands) {
            let e: f32 = weights
                .iter()
                .zip(&self.spectrum[*first..])
                .map(|(w, c)| w * c.norm_sqr())
                .sum();
            *l = (e + 1e-10).ln();
        }
        std::array::from_fn(|k| self.dct[k].iter().zip(&log).map(|(d, l)| d * l).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, n: usize, rate: u32) -> Vec<f32> {
        (0..n)
            .map(|i| 0.5 * (i as f32 / rate as f32 * freq * std::f32::consts::TAU).sin())
            .collect()
    }

    #[test]
    fn coefficients_tell_low_from_high_spectra_and_ignore_the_level() {
        let rate = 16_000;
        let mut m = Mfcc::new(rate, 400);
        let low = m.compute(&tone(300.0, 400, rate));
        let high = m.compute(&tone(2500.0, 400, rate));
        // c1 measures the spectral tilt: energy low is positive, energy high negative.
        assert!(low[0] > 5.0 && high[0] < -5.0, "{} {}", low[0], high[0]);
        // Ten times the amplitude shifts every log band equally: c1.. do not change.
        let loud: Vec<f32> = tone(300.0, 400, rate).iter().map(|x| x * 10.0).collect();
        let l2 = m.compute(&loud);
        for k in 0..MFCC_COEFFS {
            assert!(
                (l2[k] - low[k]).abs() < 1e-2,
                "c{}: {} {}",
                k + 1,
                l2[k],
                low[k]
            );
        }
        // Short or broken input is silence, not a panic.
        let short = m.compute(&[f32::NAN, 1.0]);
        assert!(short.iter().all(|c| c.is_finite()));
    }
}
