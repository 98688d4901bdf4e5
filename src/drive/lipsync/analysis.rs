//! Speech audio to mouth shapes: [`AudioLipSync`], the level and spectral-centroid analysis, and its
//! [`LipSyncSettings`].

use serde::{Deserialize, Serialize};

use crate::face::{Expression, FaceFrame};
use crate::math::smoothstep;

/// How audio becomes a mouth.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LipSyncSettings {
    /// Level (dBFS, RMS over 25 ms) at and below which the mouth is closed.
    pub silence_db: f32,
    /// Level at and above which the mouth is fully open.
    pub full_db: f32,
    /// Seconds for the mouth to open (one-pole time constant).
    pub attack: f32,
    /// Seconds for the mouth to close.
    pub release: f32,
    /// `jawOpen` at full level.
    pub jaw: f32,
}

impl Default for LipSyncSettings {
    fn default() -> Self {
        Self {
            silence_db: -48.0,
            full_db: -16.0,
            attack: 0.03,
            release: 0.08,
            jaw: 0.65,
        }
    }
}

/// The highest sample rate accepted (Hz): a WAV file declaring more is an error naming it, and a stream
/// at more is analysed as if at this rate. Above it the analysis window alone would be megabytes (a 44-byte
/// file declaring 4 GHz asked for about 0.9 GB).
pub const MAX_SAMPLE_RATE: u32 = 384_000;

/// The hop between analysis frames, seconds (100 per second).
pub(super) const HOP: f32 = 0.01;
/// The analysis window, seconds.
const WINDOW: f32 = 0.025;

/// One analysis frame of speech: how open and which shape.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct MouthShape {
    /// `0..=1` after attack/release smoothing.
    open: f32,
    /// `0..=1`: rounded lips (low spectral centroid: "oo", "oh").
    round: f32,
    /// `0..=1`: spread lips ("ee", "eh").
    wide: f32,
    /// `0..=1`: hiss ("s", "f"): teeth close.
    hiss: f32,
}

impl MouthShape {
    fn face(&self, jaw: f32) -> FaceFrame {
        let o = self.open;
        let mut f = FaceFrame::neutral();
        let e = &mut f.expressions;
        e.set(Expression::JawOpen, o * jaw * (1.0 - 0.6 * self.hiss));
        e.set(Expression::MouthFunnel, o * self.round * 0.5);
        e.set(Expression::MouthPucker, o * self.round * 0.3);
        e.set(Expression::MouthStretchLeft, o * self.wide * 0.35);
        e.set(Expression::MouthStretchRight, o * self.wide * 0.35);
        e.set(
            Expression::MouthLowerDownLeft,
            o * (1.0 - self.round) * 0.25,
        );
        e.set(
            Expression::MouthLowerDownRight,
            o * (1.0 - self.round) * 0.25,
        );
        e.set(Expression::MouthUpperUpLeft, o * self.hiss * 0.2);
        e.set(Expression::MouthUpperUpRight, o * self.hiss * 0.2);
        f
    }
}

/// Speech audio to mouth shapes, 100 frames a second, as samples arrive: the level (RMS in dBFS) opens
/// the jaw between [`LipSyncSettings::silence_db`] and `full_db`, smoothed with separate attack and
/// release; the spectral centroid (from the energy of the signal's slope) rounds or spreads the lips.
#[derive(Clone, Debug)]
pub struct AudioLipSync {
    settings: LipSyncSettings,
    sample_rate: u32,
    hop: usize,
    window: usize,
    pending: Vec<f32>,
    /// Where the next window starts in `pending`.
    offset: usize,
    shape: MouthShape,
    frames: u64,
}

impl AudioLipSync {
    /// An analyser for mono samples at `sample_rate` Hz.
    pub fn new(sample_rate: u32, settings: LipSyncSettings) -> Self {
        let rate = sample_rate.clamp(1000, MAX_SAMPLE_RATE);
        Self {
            settings,
            sample_rate: rate,
            hop: ((rate as f32 * HOP) as usize).max(1),
            window: ((rate as f32 * WINDOW) as usize).max(2),
            pending: Vec::new(),
            offset: 0,
            shape: MouthShape::default(),
            frames: 0,
        }
    }

    /// Feeds mono samples in `-1..=1`; returns how many analysis frames were completed.
    pub fn push(&mut self, samples: &[f32]) -> usize {
        self.pending.extend_from_slice(samples);
        let mut done = 0;
        while self.pending.len() - self.offset >= self.window {
            self.analyse_window();
            self.offset += self.hop;
            done += 1;
        }
        // Drop what no window needs any more, once per push.
        self.pending.drain(..self.offset);
        self.offset = 0;
        done
    }

    fn analyse_window(&mut self) {
        let w = &self.pending[self.offset..self.offset + self.window];
        let (mut energy, mut slope) = (0.0f64, 0.0f64);
        let mut prev = w[0] as f64;
        for &x in w {
            let x = if x.is_finite() { x as f64 } else { 0.0 };
            energy += x * x;
            slope += (x - prev) * (x - prev);
            prev = x;
        }
        let n = w.len() as f64;
        let rms = (energy / n).sqrt();
        let db = 20.0 * rms.max(1e-9).log10();
        let s = &self.settings;
        let target = smoothstep(s.silence_db, s.full_db, db as f32);
        // E[slope^2] / E[x^2] = 2 (1 - cos w) for a sine of angular frequency w: the centroid.
        let ratio = if energy > 0.0 { slope / energy } else { 0.0 };
        let w_c = (1.0 - ratio / 2.0).clamp(-1.0, 1.0).acos();
        let centroid = (w_c / std::f64::consts::TAU * self.sample_rate as f64) as f32;
        let round = 1.0 - smoothstep(500.0, 1100.0, centroid);
        let wide =
            smoothstep(1300.0, 2200.0, centroid) * (1.0 - smoothstep(3200.0, 4200.0, centroid));
        let hiss = smoothstep(3000.0, 4500.0, centroid);
        let tau = if target > self.shape.open {
            s.attack
        } else {
            s.release
        };
        let a = if tau > 0.0 {
            1.0 - (-HOP / tau).exp()
        } else {
            1.0
        };
        let follow = |old: f32, new: f32| old + (new - old) * a;
        self.shape = MouthShape {
            open: follow(self.shape.open, target),
            round: follow(self.shape.round, round),
            wide: follow(self.shape.wide, wide),
            hiss: follow(self.shape.hiss, hiss),
        };
        self.frames += 1;
    }

    /// The mouth now (after the last complete analysis frame), as expression weights.
    pub fn face(&self) -> FaceFrame {
        self.shape.face(self.settings.jaw)
    }

    /// Seconds of audio analysed so far.
    pub fn time(&self) -> f32 {
        self.frames as f32 * HOP
    }

    /// The whole of `samples` analysed: one face per 10 ms.
    pub fn analyse(samples: &[f32], sample_rate: u32, settings: LipSyncSettings) -> Vec<FaceFrame> {
        let mut a = Self::new(sample_rate, settings);
        let hop = a.hop;
        let mut faces = Vec::with_capacity(samples.len() / hop + 1);
        for chunk in samples.chunks(hop) {
            if a.push(chunk) > 0 {
                faces.push(a.face());
            }
        }
        // Flush the tail with silence so the mouth closes at the end.
        let tail = vec![0.0; a.window];
        for chunk in tail.chunks(hop) {
            if a.push(chunk) > 0 {
                faces.push(a.face());
            }
        }
        faces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, seconds: f32, amp: f32, rate: u32) -> Vec<f32> {
        (0..(seconds * rate as f32) as usize)
            .map(|i| amp * (i as f32 / rate as f32 * freq * std::f32::consts::TAU).sin())
            .collect()
    }

    #[test]
    fn loud_audio_opens_the_mouth_with_attack_and_release_and_silence_keeps_it_shut() {
        let rate = 16000;
        let mut s = vec![0.0; rate as usize / 2];
        s.extend(tone(300.0, 0.5, 0.5, rate));
        s.extend(vec![0.0; rate as usize / 2]);
        let faces = AudioLipSync::analyse(&s, rate, LipSyncSettings::default());
        let jaw = |i: usize| faces[i].expressions.get(Expression::JawOpen);
        assert!(jaw(40) < 1e-6, "silence: {}", jaw(40));
        // 50 ms after the onset the mouth is most of the way open (attack 30 ms)...
        assert!(jaw(50 + 5) > 0.5 * 0.65, "{}", jaw(55));
        assert!(jaw(90) > 0.6);
        // ...and 300 ms after the end it has closed (release 80 ms).
        assert!(jaw(100 + 3) > 0.2, "release is not instant: {}", jaw(103));
        assert!(jaw(130) < 0.05, "{}", jaw(130));
        // A low tone is a rounded mouth, a high one a spread mouth.
        let low = AudioLipSync::analyse(&tone(300.0, 0.3, 0.5, rate), rate, Default::default());
        let high = AudioLipSync::analyse(&tone(1800.0, 0.3, 0.5, rate), rate, Default::default());
        let (l, h) = (low[20].expressions, high[20].expressions);
        assert!(l.get(Expression::MouthFunnel) > 0.3 && l.get(Expression::MouthStretchLeft) < 0.05);
        assert!(h.get(Expression::MouthStretchLeft) > 0.2 && h.get(Expression::MouthFunnel) < 0.05);
    }
}
