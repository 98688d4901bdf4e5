//! [`SpeechAudio`]: speech from a WAV file, analysed once when it loads, and its asset loader.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, LoadContext};
use bevy::reflect::TypePath;

use super::analysis::{AudioLipSync, LipSyncSettings};
use super::io::{read_asset, read_file};
use super::mfcc::{HOP, MAX_SAMPLE_RATE, WINDOW};
use crate::error::{Error, Result};
use crate::face::FaceFrame;

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
        if spec.channels == 0 || spec.sample_rate == 0 || spec.sample_rate > MAX_SAMPLE_RATE {
            return Err(err(format!(
                "{} channels at {} Hz (this crate reads 1 to {MAX_SAMPLE_RATE} Hz)",
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
        let (bytes, path) = read_file(path.as_ref())?;
        Self::from_wav_bytes(&bytes, &path)
    }

    /// Length in seconds.
    pub fn duration(&self) -> f32 {
        self.samples.len() as f32 / self.sample_rate as f32
    }

    /// The mouth at `time` seconds into the audio (closed before and after): the analysis of the window
    /// centred there.
    pub fn face_at(&self, time: f32) -> FaceFrame {
        let i = (time - WINDOW / 2.0) / HOP;
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
        let (bytes, path) = read_asset(reader, load_context).await?;
        SpeechAudio::from_wav_bytes_with(&bytes, &path, *settings)
    }

    fn extensions(&self) -> &[&str] {
        &["wav"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_wav_bytes_name_the_file() {
        let err = SpeechAudio::from_wav_bytes(b"RIFF....not a wav", "voice/line1.wav").unwrap_err();
        assert!(err.to_string().contains("voice/line1.wav"), "{err}");
    }
}
