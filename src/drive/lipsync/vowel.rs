//! Vowels from the voice: [`VowelProfiles`] (an MFCC model of A, I, U, E and O that the analysis matches
//! every window against), the default profiles compiled in, and [`VowelCalibration`], which records one
//! speaker's vowels and makes profiles of them.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, LoadContext};
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::mfcc::{HOP, MAX_SAMPLE_RATE, MFCC_COEFFS, Mfcc, MfccVector, WINDOW};
use crate::error::{Error, Result};
use crate::face::Expression;

/// The five vowel shapes of the mouth (the Japanese vowels VTube Studio and uLipSync use): English
/// "father"/"cat"/"cup" are [`A`](Vowel::A), "see"/"sit" [`I`](Vowel::I), "food"/"put"
/// [`U`](Vowel::U), "bed"/"say" [`E`](Vowel::E), "law"/"go" [`O`](Vowel::O).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vowel {
    /// Open: "ah".
    A,
    /// Spread, nearly closed: "ee".
    I,
    /// Rounded, nearly closed: "oo".
    U,
    /// Spread, half open: "eh".
    E,
    /// Rounded, half open: "oh".
    O,
}

impl Vowel {
    /// All five, in the order of [`VowelProfiles::means`] and of confidences.
    pub const ALL: [Vowel; 5] = [Vowel::A, Vowel::I, Vowel::U, Vowel::E, Vowel::O];

    /// Its place in [`ALL`](Self::ALL).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The mouth for this vowel fully voiced, as ARKit weights (`jawOpen` here is the vowel's share of
    /// the opening; see [`LipSyncFrame::face`](super::LipSyncFrame::face)).
    pub fn shape(self) -> &'static [(Expression, f32)] {
        use Expression::*;
        match self {
            Vowel::A => &[
                (JawOpen, 1.0),
                (MouthLowerDownLeft, 0.3),
                (MouthLowerDownRight, 0.3),
                (MouthUpperUpLeft, 0.1),
                (MouthUpperUpRight, 0.1),
            ],
            Vowel::I => &[
                (JawOpen, 0.3),
                (MouthStretchLeft, 0.45),
                (MouthStretchRight, 0.45),
                (MouthSmileLeft, 0.2),
                (MouthSmileRight, 0.2),
                (MouthUpperUpLeft, 0.15),
                (MouthUpperUpRight, 0.15),
            ],
            Vowel::U => &[(JawOpen, 0.25), (MouthPucker, 0.8), (MouthFunnel, 0.45)],
            Vowel::E => &[
                (JawOpen, 0.55),
                (MouthStretchLeft, 0.3),
                (MouthStretchRight, 0.3),
                (MouthLowerDownLeft, 0.25),
                (MouthLowerDownRight, 0.25),
            ],
            Vowel::O => &[(JawOpen, 0.65), (MouthFunnel, 0.7), (MouthPucker, 0.3)],
        }
    }

    fn name(self) -> &'static str {
        ["A", "I", "U", "E", "O"][self.index()]
    }
}

/// A model of one or more speakers' vowels: the mean MFCC vector of each vowel and the inverse of the
/// covariance within vowels (pooled over all five). A window's confidence in each vowel falls with its
/// Mahalanobis distance from that vowel's mean (a softmax of `-sharpness * d / 2`).
///
/// [`Default`] is the compiled-in set, fitted to twelve espeak-ng voices by `tests/lip_sync_vowels.rs`
/// (`write_default_profiles`); it works without calibration for typical adult voices. [`VowelCalibration`] makes a speaker's own. Stored as
/// JSON (`.vowels.json`, loadable as an asset).
#[derive(Asset, TypePath, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VowelProfiles {
    /// Where they come from (free text).
    pub source: String,
    /// The mean coefficients of A, I, U, E and O.
    pub means: [MfccVector; 5],
    /// The inverse within-vowel covariance, row by row (`MFCC_COEFFS` x `MFCC_COEFFS`).
    pub precision: Vec<f32>,
    /// How sharply confidence falls with distance (1: the Gaussian posterior; less blends more).
    pub sharpness: f32,
    /// A speaker's own vowels ([`calibrated`](Self::calibrated)): further means, each of one vowel. A
    /// vowel's distance is the least over its means.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speaker: Vec<(Vowel, MfccVector)>,
}

const DEFAULT_JSON: &str = include_str!("default.vowels.json");

impl Default for VowelProfiles {
    fn default() -> Self {
        (*Self::shared_default()).clone()
    }
}

impl VowelProfiles {
    /// The compiled-in profiles, parsed once.
    pub fn shared_default() -> Arc<VowelProfiles> {
        static DEFAULT: OnceLock<Arc<VowelProfiles>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                Arc::new(
                    Self::from_json(DEFAULT_JSON.as_bytes(), "default.vowels.json")
                        .expect("the compiled-in vowel profiles are valid (a unit test checks)"),
                )
            })
            .clone()
    }

    /// Fits profiles to labelled windows (at least 20 of each vowel): each vowel's mean and the pooled
    /// covariance, regularised by 1 % of its mean variance before it is inverted.
    pub fn fit(frames: &[(Vowel, MfccVector)], source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        let err = |problem: String| Error::Audio {
            path: source.clone(),
            problem,
        };
        let mut sums = [[0.0f64; MFCC_COEFFS]; 5];
        let mut counts = [0usize; 5];
        for (v, x) in frames {
            if x.iter().all(|c| c.is_finite()) {
                counts[v.index()] += 1;
                for (s, c) in sums[v.index()].iter_mut().zip(x) {
                    *s += *c as f64;
                }
            }
        }
        let missing: Vec<&str> = Vowel::ALL
            .iter()
            .filter(|v| counts[v.index()] < 20)
            .map(|v| v.name())
            .collect();
        if !missing.is_empty() {
            return Err(err(format!(
                "too few voiced windows of the vowels {} (at least 20 each, about 0.2 s of voice)",
                missing.join(", ")
            )));
        }
        let means: [[f64; MFCC_COEFFS]; 5] =
            std::array::from_fn(|v| sums[v].map(|s| s / counts[v] as f64));
        let mut cov = [[0.0f64; MFCC_COEFFS]; MFCC_COEFFS];
        let mut n = 0.0;
        for (v, x) in frames {
            if !x.iter().all(|c| c.is_finite()) {
                continue;
            }
            let m = &means[v.index()];
            let d: [f64; MFCC_COEFFS] = std::array::from_fn(|i| x[i] as f64 - m[i]);
            for i in 0..MFCC_COEFFS {
                for j in 0..MFCC_COEFFS {
                    cov[i][j] += d[i] * d[j];
                }
            }
            n += 1.0;
        }
        let ridge =
            (0..MFCC_COEFFS).map(|i| cov[i][i] / n).sum::<f64>() / MFCC_COEFFS as f64 * 0.01;
        for (i, row) in cov.iter_mut().enumerate() {
            for c in row.iter_mut() {
                *c /= n;
            }
            row[i] += ridge;
        }
        let precision =
            invert(cov).ok_or_else(|| err("the windows' covariance is singular".into()))?;
        Ok(Self {
            source,
            means: means.map(|m| m.map(|c| c as f32)),
            precision: precision.iter().flatten().map(|&p| p as f32).collect(),
            sharpness: 1.0,
            speaker: Vec::new(),
        })
    }

    /// Confidence in each vowel (A, I, U, E, O; they sum to 1) for one window's coefficients.
    pub fn confidences(&self, x: &MfccVector) -> [f32; 5] {
        let d: [f32; 5] = std::array::from_fn(|v| self.distance(x, v));
        let best = d.iter().copied().fold(f32::INFINITY, f32::min);
        let mut p = d.map(|d| (-0.5 * self.sharpness * (d - best)).exp());
        let sum: f32 = p.iter().sum();
        if !(sum.is_finite() && sum > 0.0) {
            return [0.2; 5];
        }
        p.iter_mut().for_each(|p| *p /= sum);
        p
    }

    /// The squared Mahalanobis distance of `x` from vowel `v`'s nearest mean.
    fn distance(&self, x: &MfccVector, v: usize) -> f32 {
        self.speaker
            .iter()
            .filter(|(w, _)| w.index() == v)
            .map(|(_, m)| self.distance_to(x, m))
            .fold(self.distance_to(x, &self.means[v]), f32::min)
    }

    fn distance_to(&self, x: &MfccVector, m: &MfccVector) -> f32 {
        let d: [f32; MFCC_COEFFS] = std::array::from_fn(|i| x[i] - m[i]);
        let mut sum = 0.0;
        for i in 0..MFCC_COEFFS {
            let row = &self.precision[i * MFCC_COEFFS..(i + 1) * MFCC_COEFFS];
            sum += d[i] * row.iter().zip(&d).map(|(p, d)| p * d).sum::<f32>();
        }
        sum
    }

    /// These profiles with the speaker's mean of each vowel in `frames` added (each vowel needs at least
    /// 20 windows): a window near either the default or the speaker's own "ah" reads as A. Replacing the
    /// defaults did worse in `tests/lip_sync_vowels.rs`: a sustained "ah" is not the "a" of "cat", which
    /// also reads as A. The covariance is kept: a second of each vowel is too little to estimate it.
    pub fn calibrated(&self, frames: &[(Vowel, MfccVector)], source: impl Into<String>) -> Self {
        let mut out = self.clone();
        out.source = source.into();
        for v in Vowel::ALL {
            let mine: Vec<&MfccVector> = frames
                .iter()
                .filter(|(w, x)| *w == v && x.iter().all(|c| c.is_finite()))
                .map(|(_, x)| x)
                .collect();
            if mine.len() >= 20 {
                out.speaker.retain(|(w, _)| *w != v);
                out.speaker.push((
                    v,
                    std::array::from_fn(|i| {
                        mine.iter().map(|x| x[i]).sum::<f32>() / mine.len() as f32
                    }),
                ));
            }
        }
        out
    }

    /// Parses `.vowels.json` bytes; `path` names the file in errors.
    pub fn from_json(bytes: &[u8], path: &str) -> Result<Self> {
        let err = |problem: String| Error::Audio {
            path: path.to_owned(),
            problem,
        };
        let p: Self =
            serde_json::from_slice(bytes).map_err(|e| err(format!("not vowel profiles: {e}")))?;
        if p.precision.len() != MFCC_COEFFS * MFCC_COEFFS {
            return Err(err(format!(
                "precision has {} numbers, not {}",
                p.precision.len(),
                MFCC_COEFFS * MFCC_COEFFS
            )));
        }
        let finite = p
            .means
            .iter()
            .chain(p.speaker.iter().map(|(_, m)| m))
            .flatten()
            .chain(&p.precision)
            .all(|x| x.is_finite());
        if !(finite && p.sharpness.is_finite() && p.sharpness > 0.0) {
            return Err(err(
                "a number is not finite, or sharpness is not above 0".into()
            ));
        }
        Ok(p)
    }

    /// Reads a `.vowels.json` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let (bytes, path) = super::io::read_file(path.as_ref())?;
        Self::from_json(&bytes, &path)
    }

    /// Writes them as JSON, atomically (a crash mid-save leaves the old file).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let err = |problem: String| Error::Audio {
            path: path.display().to_string(),
            problem,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        crate::files::write_atomic(path, &json, crate::files::Replace::Always)
            .map_err(|e| err(format!("cannot write the file: {e}")))?;
        Ok(())
    }
}

/// Inverts a symmetric positive definite matrix (Gauss-Jordan with partial pivoting); `None` if singular.
fn invert<const N: usize>(m: [[f64; N]; N]) -> Option<[[f64; N]; N]> {
    let mut a = m;
    let mut inv = [[0.0; N]; N];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..N {
        let pivot = (col..N).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col];
        for j in 0..N {
            a[col][j] /= p;
            inv[col][j] /= p;
        }
        for i in 0..N {
            if i != col {
                let f = a[i][col];
                if f != 0.0 {
                    for j in 0..N {
                        a[i][j] -= f * a[col][j];
                        inv[i][j] -= f * inv[col][j];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// Records a speaker's vowels for [`VowelProfiles::calibrated`]: say each vowel steadily for about a
/// second into [`record`](Self::record); windows more than 25 dB under the loudest of the recording,
/// or under -50 dBFS, are not kept (breath, silence before and after).
#[derive(Clone, Debug)]
pub struct VowelCalibration {
    mfcc: Mfcc,
    hop: usize,
    frames: Vec<(Vowel, MfccVector, f32)>,
}

impl VowelCalibration {
    /// A calibration of mono audio at `sample_rate` Hz.
    pub fn new(sample_rate: u32) -> Self {
        let rate = sample_rate.clamp(1000, MAX_SAMPLE_RATE) as f32;
        Self {
            mfcc: Mfcc::new(rate as u32, (rate * WINDOW) as usize),
            hop: ((rate * HOP) as usize).max(1),
            frames: Vec::new(),
        }
    }

    /// Adds a recording of `vowel`; returns how many windows of it are kept.
    pub fn record(&mut self, vowel: Vowel, samples: &[f32]) -> usize {
        let n = self.mfcc.window_len();
        let mut got = Vec::new();
        let mut start = 0;
        while start + n <= samples.len() {
            let w = &samples[start..start + n];
            let rms = (w
                .iter()
                .map(|x| if x.is_finite() { x * x } else { 0.0 })
                .sum::<f32>()
                / n as f32)
                .sqrt();
            got.push((vowel, self.mfcc.compute(w), 20.0 * rms.max(1e-9).log10()));
            start += self.hop;
        }
        let loudest = got.iter().map(|f| f.2).fold(f32::NEG_INFINITY, f32::max);
        got.retain(|f| f.2 > -50.0 && f.2 > loudest - 25.0);
        let kept = got.len();
        self.frames.extend(got);
        kept
    }

    /// Windows kept of `vowel` so far.
    pub fn windows(&self, vowel: Vowel) -> usize {
        self.frames.iter().filter(|f| f.0 == vowel).count()
    }

    /// `base` (usually [`VowelProfiles::default`]) with this speaker's recorded vowels added. An error
    /// names the vowels with under 20 windows (0.2 s of voice).
    pub fn finish(&self, base: &VowelProfiles) -> Result<VowelProfiles> {
        let short: Vec<&str> = Vowel::ALL
            .iter()
            .filter(|v| self.windows(**v) < 20)
            .map(|v| v.name())
            .collect();
        if !short.is_empty() {
            return Err(Error::Audio {
                path: "<vowel calibration>".into(),
                problem: format!(
                    "too little voice recorded for {} (say each vowel steadily for about a second)",
                    short.join(", ")
                ),
            });
        }
        let frames: Vec<(Vowel, MfccVector)> = self.frames.iter().map(|f| (f.0, f.1)).collect();
        Ok(base.calibrated(&frames, "calibrated from a speaker's recorded vowels"))
    }
}

/// Loads `.vowels.json` files as [`VowelProfiles`].
#[derive(TypePath, Default)]
pub struct VowelProfilesLoader;

impl AssetLoader for VowelProfilesLoader {
    type Asset = VowelProfiles;
    type Settings = ();
    type Error = Error;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _: &(),
        load_context: &mut LoadContext<'_>,
    ) -> Result<VowelProfiles> {
        let (bytes, path) = super::io::read_asset(reader, load_context).await?;
        VowelProfiles::from_json(&bytes, &path)
    }

    fn extensions(&self) -> &[&str] {
        &["vowels.json"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_profiles_parse_and_a_bad_file_is_an_error_naming_it() {
        let p = VowelProfiles::default();
        assert_eq!(p.precision.len(), 144);
        let e =
            VowelProfiles::from_json(b"{\"source\":\"x\"}", "voices/me.vowels.json").unwrap_err();
        assert!(e.to_string().contains("voices/me.vowels.json"), "{e}");
        let mut bad = p.clone();
        bad.precision.pop();
        let json = serde_json::to_vec(&bad).unwrap();
        let e = VowelProfiles::from_json(&json, "short.vowels.json").unwrap_err();
        assert!(e.to_string().contains("143 numbers"), "{e}");
    }

    #[test]
    fn fitted_profiles_recognise_their_own_vowels_and_the_inverse_is_one() {
        // Five clusters along different axes, with noise: each window is nearest its own mean.
        let mut frames = Vec::new();
        let mut seed = 1u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for v in Vowel::ALL {
            for _ in 0..50 {
                let x: MfccVector =
                    std::array::from_fn(|i| if i == v.index() { 4.0 } else { 0.0 } + noise());
                frames.push((v, x));
            }
        }
        let p = VowelProfiles::fit(&frames, "test").unwrap();
        for (v, x) in &frames {
            let c = p.confidences(x);
            let best = (0..5).max_by(|a, b| c[*a].total_cmp(&c[*b])).unwrap();
            assert_eq!(best, v.index(), "{c:?}");
            assert!((c.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        // Too few windows of a vowel is an error naming it.
        let e = VowelProfiles::fit(&frames[..60], "few")
            .unwrap_err()
            .to_string();
        assert!(e.contains("I, U, E, O") && e.contains("few"), "{e}");
    }
}
