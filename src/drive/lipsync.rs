//! Lip sync: the mouth from speech audio (a WAV asset or a live PCM stream) or from a timed viseme track.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, AssetServer, Assets, Handle, LoadContext};
use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::message::MessageWriter;
use bevy::ecs::system::{Query, Res};
use bevy::reflect::TypePath;
use bevy::time::Time;
use crossbeam_channel::{Receiver, Sender};
use serde::{Deserialize, Serialize};

use super::layers::{FaceLayer, FaceLayers, LayerId, Priority};
use crate::error::{Error, Result, TalkingHeadError};
use crate::face::{Expression, FaceFrame, FaceMask};
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

/// The hop between analysis frames, seconds (100 per second).
const HOP: f32 = 0.01;
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
        let rate = sample_rate.max(1000);
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

/// Speech audio for lip sync, loaded from a `.wav` file (PCM 8/16/24/32-bit or float, any channel count,
/// mixed to mono). Analysed once when it loads.
///
/// Bevy's own audio can play the same file: load it a second time as an `AudioSource` and start both
/// together.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct SpeechAudio {
    /// Mono samples in `-1..=1`.
    pub samples: Arc<[f32]>,
    /// Samples per second.
    pub sample_rate: u32,
    faces: Arc<[FaceFrame]>,
}

impl SpeechAudio {
    /// Speech from mono samples.
    pub fn from_samples(samples: Vec<f32>, sample_rate: u32) -> Self {
        Self::from_samples_with(samples, sample_rate, LipSyncSettings::default())
    }

    /// Speech from mono samples, analysed with these settings.
    pub fn from_samples_with(
        samples: Vec<f32>,
        sample_rate: u32,
        settings: LipSyncSettings,
    ) -> Self {
        let faces = AudioLipSync::analyse(&samples, sample_rate, settings);
        Self {
            samples: samples.into(),
            sample_rate: sample_rate.max(1),
            faces: faces.into(),
        }
    }

    /// Decodes a WAV file's bytes; `path` names it in errors.
    pub fn from_wav_bytes(bytes: &[u8], path: &str) -> Result<Self> {
        Self::from_wav_bytes_with(bytes, path, LipSyncSettings::default())
    }

    /// [`from_wav_bytes`](Self::from_wav_bytes) with analysis settings.
    pub fn from_wav_bytes_with(
        bytes: &[u8],
        path: &str,
        settings: LipSyncSettings,
    ) -> Result<Self> {
        let err = |problem: String| Error::Audio {
            path: path.to_owned(),
            problem,
        };
        let reader = hound::WavReader::new(Cursor::new(bytes))
            .map_err(|e| err(format!("not a WAV file hound can read: {e}")))?;
        let spec = reader.spec();
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(err(format!(
                "{} channels at {} Hz",
                spec.channels, spec.sample_rate
            )));
        }
        let interleaved: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Float => reader
                .into_samples::<f32>()
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| err(format!("bad sample data: {e}")))?,
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|s| s as f32 * scale))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| err(format!("bad sample data: {e}")))?
            }
        };
        let ch = spec.channels as usize;
        let mono = interleaved
            .chunks_exact(ch)
            .map(|frame| frame.iter().sum::<f32>() / ch as f32)
            .collect();
        Ok(Self::from_samples_with(mono, spec.sample_rate, settings))
    }

    /// Reads a WAV file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::Audio {
            path: path.display().to_string(),
            problem: format!("cannot read the file: {e}"),
        })?;
        Self::from_wav_bytes(&bytes, &path.display().to_string())
    }

    /// Length in seconds.
    pub fn duration(&self) -> f32 {
        self.samples.len() as f32 / self.sample_rate as f32
    }

    /// The mouth at `time` seconds into the audio (closed before and after).
    pub fn face_at(&self, time: f32) -> FaceFrame {
        let i = time / HOP;
        if !i.is_finite() || i < 0.0 || self.faces.is_empty() {
            return FaceFrame::neutral();
        }
        let (a, f) = (i.floor() as usize, i.fract());
        let get = |k: usize| self.faces.get(k).copied().unwrap_or_default();
        get(a).lerp(&get(a + 1), f)
    }
}

/// Loads `.wav` files as [`SpeechAudio`]; the load settings are the [`LipSyncSettings`] to analyse with
/// (`asset_server.load_with_settings("line.wav", |s: &mut LipSyncSettings| s.release = 0.12)`).
#[derive(TypePath, Default)]
pub struct SpeechAudioLoader;

impl AssetLoader for SpeechAudioLoader {
    type Asset = SpeechAudio;
    type Settings = LipSyncSettings;
    type Error = Error;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        settings: &LipSyncSettings,
        load_context: &mut LoadContext<'_>,
    ) -> Result<SpeechAudio, Error> {
        let path = load_context.path().to_string();
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::Audio {
                path: path.clone(),
                problem: format!("cannot read the file: {e}"),
            })?;
        SpeechAudio::from_wav_bytes_with(&bytes, &path, *settings)
    }

    fn extensions(&self) -> &[&str] {
        &["wav"]
    }
}

/// A mouth shape of speech (the 15 visemes of the Oculus/Meta set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Viseme {
    /// Silence: the mouth at rest.
    Sil,
    /// p, b, m: lips pressed.
    PP,
    /// f, v: lower lip under the teeth.
    FF,
    /// th: tongue between the teeth.
    TH,
    DD,
    KK,
    CH,
    SS,
    NN,
    RR,
    AA,
    E,
    IH,
    OH,
    OU,
}

impl Viseme {
    /// The ARKit weights of this viseme.
    pub fn weights(self) -> &'static [(Expression, f32)] {
        use Expression::*;
        match self {
            Viseme::Sil => &[],
            Viseme::PP => &[
                (MouthPressLeft, 0.5),
                (MouthPressRight, 0.5),
                (MouthClose, 0.15),
                (MouthRollLower, 0.2),
            ],
            Viseme::FF => &[
                (JawOpen, 0.08),
                (MouthRollLower, 0.55),
                (MouthUpperUpLeft, 0.2),
                (MouthUpperUpRight, 0.2),
            ],
            Viseme::TH => &[(JawOpen, 0.15), (TongueOut, 0.35)],
            Viseme::DD => &[
                (JawOpen, 0.2),
                (MouthStretchLeft, 0.1),
                (MouthStretchRight, 0.1),
            ],
            Viseme::KK => &[
                (JawOpen, 0.25),
                (MouthStretchLeft, 0.05),
                (MouthStretchRight, 0.05),
            ],
            Viseme::CH => &[(JawOpen, 0.15), (MouthFunnel, 0.5), (MouthPucker, 0.2)],
            Viseme::SS => &[
                (JawOpen, 0.07),
                (MouthStretchLeft, 0.3),
                (MouthStretchRight, 0.3),
                (MouthSmileLeft, 0.1),
                (MouthSmileRight, 0.1),
            ],
            Viseme::NN => &[(JawOpen, 0.18)],
            Viseme::RR => &[(JawOpen, 0.15), (MouthFunnel, 0.3), (MouthPucker, 0.3)],
            Viseme::AA => &[
                (JawOpen, 0.6),
                (MouthLowerDownLeft, 0.2),
                (MouthLowerDownRight, 0.2),
            ],
            Viseme::E => &[
                (JawOpen, 0.35),
                (MouthStretchLeft, 0.35),
                (MouthStretchRight, 0.35),
                (MouthSmileLeft, 0.15),
                (MouthSmileRight, 0.15),
            ],
            Viseme::IH => &[
                (JawOpen, 0.2),
                (MouthStretchLeft, 0.4),
                (MouthStretchRight, 0.4),
                (MouthSmileLeft, 0.2),
                (MouthSmileRight, 0.2),
            ],
            Viseme::OH => &[(JawOpen, 0.45), (MouthFunnel, 0.5), (MouthPucker, 0.1)],
            Viseme::OU => &[(JawOpen, 0.15), (MouthPucker, 0.7), (MouthFunnel, 0.3)],
        }
    }

    /// The viseme of an ARPABET phoneme (`AA`, `B`, `CH`, ..., stress digits ignored) or of an IPA or
    /// espeak phoneme symbol (`ə`, `ʃ`, `@`, `aI`, ...); `None` if unknown.
    pub fn from_phoneme(phoneme: &str) -> Option<Viseme> {
        let p: String = phoneme
            .chars()
            .filter(|c| !c.is_ascii_digit() && !"ˈˌː'ʲ,".contains(*c))
            .collect();
        let arpabet = match p.to_ascii_uppercase().as_str() {
            "AA" | "AE" | "AH" | "AW" | "AY" => Some(Viseme::AA),
            "AO" | "OW" | "OY" => Some(Viseme::OH),
            "EH" | "EY" | "ER" => Some(Viseme::E),
            "IH" | "IY" | "Y" => Some(Viseme::IH),
            "UH" | "UW" | "W" => Some(Viseme::OU),
            "B" | "M" | "P" => Some(Viseme::PP),
            "F" | "V" => Some(Viseme::FF),
            "TH" | "DH" => Some(Viseme::TH),
            "T" | "D" => Some(Viseme::DD),
            "K" | "G" | "NG" | "HH" => Some(Viseme::KK),
            "CH" | "JH" | "SH" | "ZH" => Some(Viseme::CH),
            "S" | "Z" => Some(Viseme::SS),
            "N" | "L" => Some(Viseme::NN),
            "R" => Some(Viseme::RR),
            "SIL" | "SP" | "_" => Some(Viseme::Sil),
            _ => None,
        };
        if arpabet.is_some() {
            return arpabet;
        }
        // IPA / espeak: the first symbol decides.
        let c = p.chars().next()?;
        Some(match c {
            'a' | 'ɑ' | 'æ' | 'ʌ' | 'ɐ' | 'A' | 'V' => Viseme::AA,
            'o' | 'ɔ' | 'ɒ' | 'O' | '0' => Viseme::OH,
            'e' | 'ɛ' | 'ə' | 'ɜ' | 'ɚ' | 'E' | '@' | '3' => Viseme::E,
            'i' | 'ɪ' | 'j' | 'I' | 'y' => Viseme::IH,
            'u' | 'ʊ' | 'w' | 'U' => Viseme::OU,
            'p' | 'b' | 'm' => Viseme::PP,
            'f' | 'v' => Viseme::FF,
            'θ' | 'ð' | 'T' | 'D' => Viseme::TH,
            't' | 'd' | 'ɾ' => Viseme::DD,
            'k' | 'g' | 'ɡ' | 'ŋ' | 'h' | 'x' | 'N' => Viseme::KK,
            'ʃ' | 'ʒ' | 'S' | 'Z' | 'ʧ' | 'ʤ' | 'c' => Viseme::CH,
            's' | 'z' => Viseme::SS,
            'n' | 'l' | 'ɫ' => Viseme::NN,
            'r' | 'ɹ' | 'ɻ' | 'R' => Viseme::RR,
            _ => return None,
        })
    }

    /// The visemes of a written English word, by letter rules (digraphs first: th, ch, sh, ph, oo, ee, ng).
    fn of_word(word: &str) -> Vec<Viseme> {
        let w: Vec<char> = word
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphabetic())
            .collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < w.len() {
            let pair: String = w[i..(i + 2).min(w.len())].iter().collect();
            let two = match pair.as_str() {
                "th" => Some(Viseme::TH),
                "ch" | "sh" => Some(Viseme::CH),
                "ph" => Some(Viseme::FF),
                "oo" | "ou" | "ew" => Some(Viseme::OU),
                "ee" | "ea" | "ie" => Some(Viseme::IH),
                "ng" | "ck" => Some(Viseme::KK),
                "ll" | "nn" => Some(Viseme::NN),
                "ss" => Some(Viseme::SS),
                _ => None,
            };
            if let Some(v) = two {
                out.push(v);
                i += 2;
                continue;
            }
            let v = match w[i] {
                'a' => Some(Viseme::AA),
                // A final silent e.
                'e' if i + 1 == w.len() && i > 0 => None,
                'e' => Some(Viseme::E),
                'i' | 'y' => Some(Viseme::IH),
                'o' => Some(Viseme::OH),
                'u' | 'w' => Some(Viseme::OU),
                'b' | 'm' | 'p' => Some(Viseme::PP),
                'f' | 'v' => Some(Viseme::FF),
                't' | 'd' => Some(Viseme::DD),
                'k' | 'c' | 'g' | 'q' | 'x' => Some(Viseme::KK),
                'j' => Some(Viseme::CH),
                's' | 'z' => Some(Viseme::SS),
                'n' | 'l' => Some(Viseme::NN),
                'r' => Some(Viseme::RR),
                _ => None,
            };
            out.extend(v);
            i += 1;
        }
        out
    }
}

/// A viseme starting at a time; it holds until the next key.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisemeKey {
    /// Seconds from the start of the track.
    pub time: f32,
    /// The mouth shape.
    pub viseme: Viseme,
}

/// Timed visemes: from text with timings, from phonemes with timings, or built by hand. Neighbouring
/// visemes blend over a short transition (co-articulation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisemeTrack {
    /// The keys, in time order (the last one should be [`Viseme::Sil`]).
    pub keys: Vec<VisemeKey>,
    /// Seconds over which one viseme blends into the next.
    pub transition: f32,
}

impl VisemeTrack {
    /// A track from keys (sorted by time).
    pub fn new(mut keys: Vec<VisemeKey>) -> Self {
        keys.sort_by(|a, b| a.time.total_cmp(&b.time));
        Self {
            keys,
            transition: 0.06,
        }
    }

    /// `text` spoken from `start` to `end` seconds: words share the time by their number of visemes,
    /// punctuation adds a short pause, and the mouth rests at the end.
    pub fn from_text(text: &str, start: f32, end: f32) -> Self {
        let mut units: Vec<Option<Viseme>> = Vec::new();
        for token in text.split_whitespace() {
            units.extend(Viseme::of_word(token).into_iter().map(Some));
            if token.ends_with([',', '.', ';', ':', '!', '?']) {
                units.push(None);
                units.push(None);
            }
            units.push(None);
        }
        while units.last() == Some(&None) {
            units.pop();
        }
        let step = if units.is_empty() {
            0.0
        } else {
            (end - start).max(0.0) / units.len() as f32
        };
        let mut keys = Vec::new();
        for (i, u) in units.iter().enumerate() {
            keys.push(VisemeKey {
                time: start + i as f32 * step,
                viseme: u.unwrap_or(Viseme::Sil),
            });
        }
        keys.push(VisemeKey {
            time: end.max(start),
            viseme: Viseme::Sil,
        });
        Self::new(keys)
    }

    /// Words with their start and end times (as a speech synthesiser or an aligner gives them).
    pub fn from_words(words: &[(&str, f32, f32)]) -> Self {
        let mut keys = Vec::new();
        for (word, start, end) in words {
            let mut t = Self::from_text(word, *start, *end).keys;
            keys.append(&mut t);
        }
        Self::new(dedup_times(keys))
    }

    /// Phonemes with their start and end times (ARPABET, IPA or espeak symbols; unknown ones are skipped).
    pub fn from_phonemes(phonemes: &[(&str, f32, f32)]) -> Self {
        let mut keys = Vec::new();
        let mut last_end: Option<f32> = None;
        for (p, start, end) in phonemes {
            if let Some(le) = last_end
                && *start > le + 0.02
            {
                keys.push(VisemeKey {
                    time: le,
                    viseme: Viseme::Sil,
                });
            }
            if let Some(v) = Viseme::from_phoneme(p) {
                keys.push(VisemeKey {
                    time: *start,
                    viseme: v,
                });
            }
            last_end = Some(*end);
        }
        if let Some(le) = last_end {
            keys.push(VisemeKey {
                time: le,
                viseme: Viseme::Sil,
            });
        }
        Self::new(dedup_times(keys))
    }

    /// Seconds until the last key.
    pub fn duration(&self) -> f32 {
        self.keys.last().map_or(0.0, |k| k.time)
    }

    /// The mouth at `time`.
    pub fn face_at(&self, time: f32) -> FaceFrame {
        let mut f = FaceFrame::neutral();
        if self.keys.is_empty() || !time.is_finite() {
            return f;
        }
        let i = self.keys.partition_point(|k| k.time <= time);
        let current = if i == 0 {
            Viseme::Sil
        } else {
            self.keys[i - 1].viseme
        };
        let previous = if i >= 2 {
            self.keys[i - 2].viseme
        } else {
            Viseme::Sil
        };
        let since = if i == 0 {
            0.0
        } else {
            time - self.keys[i - 1].time
        };
        let mix = if self.transition > 0.0 {
            smoothstep(0.0, self.transition, since)
        } else {
            1.0
        };
        for (e, w) in previous.weights() {
            f.expressions
                .set(*e, f.expressions.get(*e) + w * (1.0 - mix));
        }
        for (e, w) in current.weights() {
            f.expressions.set(*e, f.expressions.get(*e) + w * mix);
        }
        f
    }
}

fn dedup_times(mut keys: Vec<VisemeKey>) -> Vec<VisemeKey> {
    keys.sort_by(|a, b| a.time.total_cmp(&b.time));
    // A word's closing rest at the very time the next word starts gives way to the word.
    let mut out: Vec<VisemeKey> = Vec::with_capacity(keys.len());
    for k in keys {
        match out.last_mut() {
            Some(last) if last.time == k.time => *last = k,
            _ => out.push(k),
        }
    }
    out
}

/// Sends PCM samples (mono, `-1..=1`) to a streaming [`LipSync`], from any thread (a voice chat, a
/// microphone callback, a speech synthesiser).
#[derive(Clone, Debug)]
pub struct PcmSender(Sender<Vec<f32>>);

impl PcmSender {
    /// Sends samples; `false` if the lip sync is gone.
    pub fn send(&self, samples: Vec<f32>) -> bool {
        self.0.send(samples).is_ok()
    }
}

#[derive(Clone, Debug)]
enum Source {
    Audio(Handle<SpeechAudio>),
    Stream(Box<AudioLipSync>, Receiver<Vec<f32>>),
    Visemes(VisemeTrack),
}

/// Lip sync on a head, at [`Priority::LIP_SYNC`] on the mouth ([`FaceMask::MOUTH`]) by default.
///
/// A viseme track plays from when the component is added (or [`restart`](Self::restart) is called); a
/// WAV asset from when it has loaded, as Bevy's `AudioPlayer` does with the same file: start the sound at
/// the same moment. A stream follows the samples as they arrive. When the speech ends (or a stream
/// stops sending for 0.3 s), the layer fades out over 0.2 s and the layers below show again.
#[derive(Component, Clone, Debug)]
#[require(FaceLayers)]
#[component(on_remove = remove_lip_sync_layer)]
pub struct LipSync {
    source: Source,
    /// How much the mouth follows, `0..=1`.
    pub weight: f32,
    /// The channels it moves.
    pub mask: FaceMask,
    elapsed: f32,
    activity: f32,
    /// Seconds since a stream last delivered samples.
    quiet_for: f32,
    reported: bool,
}

impl LipSync {
    fn with_source(source: Source) -> Self {
        Self {
            source,
            weight: 1.0,
            mask: FaceMask::MOUTH,
            elapsed: 0.0,
            activity: 0.0,
            quiet_for: f32::INFINITY,
            reported: false,
        }
    }

    /// Lip sync to a WAV asset.
    pub fn audio(audio: Handle<SpeechAudio>) -> Self {
        Self::with_source(Source::Audio(audio))
    }

    /// Lip sync to a viseme track.
    pub fn visemes(track: VisemeTrack) -> Self {
        Self::with_source(Source::Visemes(track))
    }

    /// Lip sync to live PCM at `sample_rate`: push samples through the returned sender.
    pub fn stream(sample_rate: u32, settings: LipSyncSettings) -> (Self, PcmSender) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let analyser = AudioLipSync::new(sample_rate, settings);
        (
            Self::with_source(Source::Stream(Box::new(analyser), rx)),
            PcmSender(tx),
        )
    }

    /// Builder: the weight.
    pub fn with_weight(mut self, weight: f32) -> Self {
        self.weight = weight;
        self
    }

    /// Builder: the mask.
    pub fn with_mask(mut self, mask: FaceMask) -> Self {
        self.mask = mask;
        self
    }

    /// Plays the audio or track again from the start.
    pub fn restart(&mut self) {
        self.elapsed = 0.0;
        self.reported = false;
    }

    /// Seconds since it started (for streams: seconds of audio analysed).
    pub fn elapsed(&self) -> f32 {
        match &self.source {
            Source::Stream(a, _) => a.time(),
            _ => self.elapsed,
        }
    }
}

fn lip_sync_layer() -> LayerId {
    LayerId::new(Priority::LIP_SYNC, "lip sync")
}

fn remove_lip_sync_layer(
    world: bevy::ecs::world::DeferredWorld,
    ctx: bevy::ecs::lifecycle::HookContext,
) {
    super::layers::remove_layers_where(world, ctx.entity, |id| *id == lip_sync_layer());
}

/// Advances each lip sync and writes its layer.
pub(crate) fn drive_lip_sync(
    time: Res<Time>,
    audio: Res<Assets<SpeechAudio>>,
    server: Option<Res<AssetServer>>,
    mut heads: Query<(Entity, &mut LipSync, &mut FaceLayers)>,
    mut errors: MessageWriter<TalkingHeadError>,
) {
    let dt = time.delta_secs();
    let id = lip_sync_layer();
    for (entity, mut sync, mut layers) in &mut heads {
        let sync = &mut *sync;
        let (face, speaking) = match &mut sync.source {
            Source::Audio(handle) => match audio.get(&*handle) {
                Some(a) => {
                    sync.elapsed += dt;
                    (a.face_at(sync.elapsed), sync.elapsed <= a.duration())
                }
                None => {
                    if !sync.reported {
                        sync.reported = super::report_failed_asset(
                            entity,
                            handle,
                            server.as_deref(),
                            "lip sync",
                            &mut errors,
                        );
                    }
                    (FaceFrame::neutral(), false)
                }
            },
            Source::Visemes(track) => {
                sync.elapsed += dt;
                (
                    track.face_at(sync.elapsed),
                    sync.elapsed <= track.duration(),
                )
            }
            Source::Stream(analyser, rx) => {
                let mut got = false;
                for chunk in rx.try_iter() {
                    got |= !chunk.is_empty();
                    analyser.push(&chunk);
                }
                sync.quiet_for = if got { 0.0 } else { sync.quiet_for + dt };
                // A stream that stops sending (or whose sender is gone) lets go after 0.3 s.
                (analyser.face(), sync.quiet_for < 0.3)
            }
        };
        // Fade in fast, out over 0.2 s.
        let target = if speaking { 1.0 } else { 0.0 };
        let rate = if speaking { 20.0 } else { 5.0 };
        sync.activity += (target - sync.activity).clamp(-rate * dt, rate * dt);
        let weight = sync.weight * sync.activity;
        if weight > 0.0 {
            layers.set(id.clone(), FaceLayer::new(face, weight, sync.mask));
        } else if layers.get(&id).is_some() {
            layers.remove(&id);
        }
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

    #[test]
    fn text_phonemes_and_words_become_timed_visemes() {
        let t = VisemeTrack::from_text("Hello, bob!", 0.0, 1.0);
        let seq: Vec<Viseme> = t.keys.iter().map(|k| k.viseme).collect();
        assert_eq!(
            seq,
            [
                Viseme::E,
                Viseme::NN,
                Viseme::OH,
                Viseme::Sil,
                Viseme::Sil,
                Viseme::Sil,
                Viseme::PP,
                Viseme::OH,
                Viseme::PP,
                Viseme::Sil
            ]
        );
        assert_eq!(t.duration(), 1.0);
        // The lips are shut on the b of "bob", open on its o, at rest after the end.
        let at = |time: f32| t.face_at(time).expressions;
        let b = t.keys[6].time + 0.08;
        assert!(
            at(b).get(Expression::MouthPressLeft) > 0.4 && at(b).get(Expression::JawOpen) < 0.05
        );
        let o = t.keys[7].time + 0.08;
        assert!(at(o).get(Expression::JawOpen) > 0.4);
        assert_eq!(at(1.5), crate::face::ExpressionWeights::default());
        let p = VisemeTrack::from_phonemes(&[("HH", 0.0, 0.1), ("AH0", 0.1, 0.2), ("M", 0.5, 0.6)]);
        let seq: Vec<Viseme> = p.keys.iter().map(|k| k.viseme).collect();
        assert_eq!(
            seq,
            [Viseme::KK, Viseme::AA, Viseme::Sil, Viseme::PP, Viseme::Sil]
        );
        assert_eq!(Viseme::from_phoneme("ˈəʊ"), Some(Viseme::E));
        assert_eq!(Viseme::from_phoneme("ʃ"), Some(Viseme::CH));
        let w = VisemeTrack::from_words(&[("ma", 0.0, 0.2), ("pa", 0.2, 0.4)]);
        assert_eq!(w.keys.len(), 5, "{:?}", w.keys);
        assert_eq!(w.keys[2].viseme, Viseme::PP);
    }

    #[test]
    fn bad_wav_bytes_name_the_file() {
        let err = SpeechAudio::from_wav_bytes(b"RIFF....not a wav", "voice/line1.wav").unwrap_err();
        assert!(err.to_string().contains("voice/line1.wav"), "{err}");
    }
}
