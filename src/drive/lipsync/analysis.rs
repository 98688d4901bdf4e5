//! Speech audio to mouth shapes: [`AudioLipSync`] (the level, a background gate, MFCC vowels and the
//! spectral centroid) and its [`LipSyncSettings`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::mfcc::{HOP, MAX_SAMPLE_RATE, Mfcc, WINDOW};
use super::vowel::{Vowel, VowelProfiles};
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
    /// Seconds over which the vowel shape follows the voice (one-pole time constant).
    pub vowel_smoothing: f32,
    /// How far (dB) the level must rise over the background (a low percentile of the last two seconds'
    /// levels) to count as voice: a steady room, fan or music bed does not move the mouth. 0 turns it off.
    pub gate_db: f32,
}

impl Default for LipSyncSettings {
    fn default() -> Self {
        Self {
            silence_db: -48.0,
            full_db: -16.0,
            attack: 0.03,
            release: 0.08,
            jaw: 0.65,
            vowel_smoothing: 0.02,
            gate_db: 6.0,
        }
    }
}

/// Levels kept for the background estimate: two seconds of frames.
const FLOOR_FRAMES: usize = 200;
/// The background is this quantile of the recent levels.
const FLOOR_QUANTILE: f32 = 0.2;

/// One analysis frame: what the voice is doing in one 25 ms window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LipSyncFrame {
    /// Seconds from the start of the audio to the centre of the window.
    pub time: f32,
    /// The window's level, dBFS.
    pub level_db: f32,
    /// How much it is voice (`0..=1`, before smoothing): the level between the settings' silence and
    /// full levels, gated by the background.
    pub voice: f32,
    /// How open the mouth is (`0..=1`, after attack and release).
    pub open: f32,
    /// Confidence in each vowel (A, I, U, E, O; smoothed, summing to 1).
    pub vowels: [f32; 5],
    /// `0..=1`: a hiss ("s", "f"): the teeth close.
    pub hiss: f32,
}

impl LipSyncFrame {
    /// The vowel with the highest confidence.
    pub fn vowel(&self) -> Vowel {
        Vowel::ALL[(0..5)
            .max_by(|a, b| self.vowels[*a].total_cmp(&self.vowels[*b]))
            .unwrap_or(0)]
    }

    /// The mouth as expression weights: each vowel's shape ([`Vowel::shape`]) blended by confidence and
    /// scaled by how open the mouth is. The loudness keeps driving the jaw: `jawOpen` is `open * jaw`
    /// times 0.4 plus 0.6 of the vowels' own opening (an "ah" opens it fully, an "oo" to 55 %).
    pub fn face(&self, jaw: f32) -> FaceFrame {
        let o = self.open;
        let mut f = FaceFrame::neutral();
        let e = &mut f.expressions;
        let mut vowel_jaw = 0.0;
        for v in Vowel::ALL {
            let w = self.vowels[v.index()];
            for &(x, amount) in v.shape() {
                if x == Expression::JawOpen {
                    vowel_jaw += w * amount;
                } else if w * o > 0.0 {
                    e.set(x, e.get(x) + w * o * amount);
                }
            }
        }
        // A hiss brings the teeth together and lifts the upper lip off them.
        e.set(
            Expression::JawOpen,
            o * jaw * (0.4 + 0.6 * vowel_jaw) * (1.0 - 0.6 * self.hiss),
        );
        for x in [Expression::MouthUpperUpLeft, Expression::MouthUpperUpRight] {
            e.set(x, e.get(x) + o * self.hiss * 0.2);
        }
        f
    }
}

/// Speech audio to mouth shapes, 100 frames a second, as samples arrive. The level (RMS in dBFS) opens
/// the jaw between [`LipSyncSettings::silence_db`] and `full_db` when it stands
/// [`gate_db`](LipSyncSettings::gate_db) over the background, smoothed with separate attack and
/// release; each window's MFCCs are matched to [`VowelProfiles`] and the vowels' shapes blended by
/// confidence; the spectral centroid tells a hiss.
#[derive(Clone, Debug)]
pub struct AudioLipSync {
    settings: LipSyncSettings,
    profiles: Arc<VowelProfiles>,
    mfcc: Mfcc,
    sample_rate: u32,
    hop: usize,
    window: usize,
    pending: Vec<f32>,
    /// Where the next window starts in `pending`.
    offset: usize,
    frame: LipSyncFrame,
    /// The last [`FLOOR_FRAMES`] levels, a ring.
    levels: Vec<f32>,
    sorted: Vec<f32>,
    frames: u64,
}

impl AudioLipSync {
    /// An analyser for mono samples at `sample_rate` Hz with the default vowel profiles.
    pub fn new(sample_rate: u32, settings: LipSyncSettings) -> Self {
        Self::with_profiles(sample_rate, settings, VowelProfiles::shared_default())
    }

    /// An analyser matching vowels against `profiles` (a speaker's own, from [`VowelCalibration`]).
    ///
    /// [`VowelCalibration`]: super::VowelCalibration
    pub fn with_profiles(
        sample_rate: u32,
        settings: LipSyncSettings,
        profiles: Arc<VowelProfiles>,
    ) -> Self {
        let rate = sample_rate.clamp(1000, MAX_SAMPLE_RATE);
        let window = ((rate as f32 * WINDOW) as usize).max(2);
        Self {
            settings,
            profiles,
            mfcc: Mfcc::new(rate, window),
            sample_rate: rate,
            hop: ((rate as f32 * HOP) as usize).max(1),
            window,
            pending: Vec::new(),
            offset: 0,
            frame: LipSyncFrame {
                vowels: [0.2; 5],
                ..Default::default()
            },
            // Until two seconds are heard, the background is taken to be silence: a voice from the
            // first moment is a voice.
            levels: vec![settings.silence_db; FLOOR_FRAMES],
            sorted: Vec::with_capacity(FLOOR_FRAMES),
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

    /// The background level: a low quantile of the recent levels.
    fn floor(&mut self, db: f32) -> f32 {
        self.levels[self.frames as usize % FLOOR_FRAMES] = db;
        self.sorted.clear();
        self.sorted.extend_from_slice(&self.levels);
        let k = ((self.sorted.len() - 1) as f32 * FLOOR_QUANTILE) as usize;
        *self.sorted.select_nth_unstable_by(k, f32::total_cmp).1
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
        let db = (20.0 * rms.max(1e-9).log10()) as f32;
        let floor = self.floor(db);
        let s = self.settings;
        let gate = if s.gate_db > 0.0 {
            smoothstep(floor + s.gate_db, floor + 2.0 * s.gate_db, db)
        } else {
            1.0
        };
        let voice = smoothstep(s.silence_db, s.full_db, db) * gate;
        // E[slope^2] / E[x^2] = 2 (1 - cos w) for a sine of angular frequency w: the centroid.
        let ratio = if energy > 0.0 { slope / energy } else { 0.0 };
        let w_c = (1.0 - ratio / 2.0).clamp(-1.0, 1.0).acos();
        let centroid = (w_c / std::f64::consts::TAU * self.sample_rate as f64) as f32;
        let hiss = smoothstep(3000.0, 4500.0, centroid);
        let follow = |old: f32, new: f32, tau: f32| {
            let a = if tau > 0.0 {
                1.0 - (-HOP / tau).exp()
            } else {
                1.0
            };
            old + (new - old) * a
        };
        let old = self.frame;
        let tau = if voice > old.open {
            s.attack
        } else {
            s.release
        };
        // The vowel follows only while there is voice (the mouth closes on the last vowel's shape), so
        // silence costs no spectrum.
        let vowels = if voice > 0.05 {
            let w = &self.pending[self.offset..self.offset + self.window];
            let c = self.profiles.confidences(&self.mfcc.compute(w));
            std::array::from_fn(|v| follow(old.vowels[v], c[v], s.vowel_smoothing))
        } else {
            old.vowels
        };
        self.frame = LipSyncFrame {
            time: (self.frames as f32 * self.hop as f32 + self.window as f32 / 2.0)
                / self.sample_rate as f32,
            level_db: db,
            voice,
            open: follow(old.open, voice, tau),
            vowels,
            hiss: follow(old.hiss, hiss, tau),
        };
        self.frames += 1;
    }

    /// The latest analysis frame.
    pub fn frame(&self) -> LipSyncFrame {
        self.frame
    }

    /// The mouth now (after the last complete analysis frame), as expression weights.
    pub fn face(&self) -> FaceFrame {
        self.frame.face(self.settings.jaw)
    }

    /// Seconds of audio analysed so far.
    pub fn time(&self) -> f32 {
        self.frames as f32 * HOP
    }

    /// The whole of `samples` analysed: one frame per 10 ms, then the mouth closing over a window of
    /// silence.
    pub fn analyse_frames(
        samples: &[f32],
        sample_rate: u32,
        settings: LipSyncSettings,
    ) -> Vec<LipSyncFrame> {
        let mut a = Self::new(sample_rate, settings);
        let hop = a.hop;
        let mut frames = Vec::with_capacity(samples.len() / hop + 4);
        let tail = vec![0.0; a.window];
        for chunk in samples.chunks(hop).chain(tail.chunks(hop)) {
            if a.push(chunk) > 0 {
                frames.push(a.frame);
            }
        }
        frames
    }

    /// The whole of `samples` analysed: one face per 10 ms.
    pub fn analyse(samples: &[f32], sample_rate: u32, settings: LipSyncSettings) -> Vec<FaceFrame> {
        Self::analyse_frames(samples, sample_rate, settings)
            .iter()
            .map(|f| f.face(settings.jaw))
            .collect()
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
        let frames = AudioLipSync::analyse_frames(&s, rate, LipSyncSettings::default());
        let open = |i: usize| frames[i].open;
        assert!(open(40) < 1e-6, "silence: {}", open(40));
        // 50 ms after the onset the mouth is most of the way open (attack 30 ms)...
        assert!(open(50 + 5) > 0.5, "{}", open(55));
        assert!(open(90) > 0.9, "{}", open(90));
        // ...and 300 ms after the end it has closed (release 80 ms).
        assert!(open(100 + 3) > 0.3, "release is not instant: {}", open(103));
        assert!(open(130) < 0.05, "{}", open(130));
        let jaw = frames[90].face(0.65).expressions.get(Expression::JawOpen);
        assert!(jaw > 0.1 && jaw <= 0.65, "{jaw}");
        // A low tone is a rounded mouth, a high one a spread mouth.
        let low = AudioLipSync::analyse(&tone(300.0, 0.3, 0.5, rate), rate, Default::default());
        let high = AudioLipSync::analyse(&tone(2500.0, 0.3, 0.5, rate), rate, Default::default());
        let (l, h) = (low[20].expressions, high[20].expressions);
        let round = |e: &crate::face::ExpressionWeights| {
            e.get(Expression::MouthFunnel) + e.get(Expression::MouthPucker)
        };
        let spread = |e: &crate::face::ExpressionWeights| e.get(Expression::MouthStretchLeft);
        assert!(round(&l) > 0.3 && spread(&l) < 0.1, "{l:?}");
        assert!(spread(&h) > 0.2 && round(&h) < 0.1, "{h:?}");
    }
}
