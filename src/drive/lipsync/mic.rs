//! A microphone for lip sync (feature `mic`): [`MicRequest`], [`microphones`], and the thread that opens
//! the device through cpal, mixes it to mono, resamples it to [`MIC_ANALYSIS_RATE`] and feeds the
//! stream's PCM queue; a missing or unplugged device is reported and opened again every retry interval,
//! as the webcam is.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::analysis::LipSyncSettings;
use super::pcm::PcmSender;

/// The rate microphone audio is resampled to before it is analysed (Hz): the analysis looks at 100 Hz
/// to 5 kHz, so 16 kHz loses nothing it uses.
pub const MIC_ANALYSIS_RATE: u32 = 16_000;

/// Which microphone a [`LipSync::microphone`](super::LipSync::microphone) listens to, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct MicRequest {
    /// A device whose name contains this (any case); `None`: the system's default input.
    pub device: Option<String>,
    /// How long to wait before opening the device again after it failed or went away.
    pub retry_interval: Duration,
    /// The analysis settings.
    pub settings: LipSyncSettings,
}

impl Default for MicRequest {
    fn default() -> Self {
        Self {
            device: None,
            retry_interval: Duration::from_secs(2),
            settings: LipSyncSettings::default(),
        }
    }
}

impl MicRequest {
    /// The default input device.
    pub fn default_device() -> Self {
        Self::default()
    }

    /// The first input device whose name contains `name` (any case).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            device: Some(name.into()),
            ..Self::default()
        }
    }

    /// Builder: the retry interval.
    pub fn with_retry_interval(mut self, retry: Duration) -> Self {
        self.retry_interval = retry;
        self
    }

    /// Builder: the analysis settings.
    pub fn with_settings(mut self, settings: LipSyncSettings) -> Self {
        self.settings = settings;
        self
    }

    pub(super) fn describe(&self) -> String {
        match &self.device {
            Some(name) => format!("microphone `{name}`"),
            None => "the default microphone".to_owned(),
        }
    }
}

/// Where a microphone stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum MicState {
    /// Not opened yet (the lip sync has not been updated in an app).
    #[default]
    Waiting,
    /// Capturing from this device at its own rate (Hz).
    Running {
        /// The device's name.
        device: String,
        /// Its sample rate, before resampling to [`MIC_ANALYSIS_RATE`].
        rate: u32,
    },
    /// The last try failed (the message says why); it is tried again after the retry interval.
    Failed(String),
}

/// A microphone's state and how often it has been opened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MicStatus {
    /// Now.
    pub state: MicState,
    /// Tries to open the device so far.
    pub attempts: u32,
}

/// What the component keeps of its microphone.
#[derive(Clone, Debug)]
pub(super) struct Mic {
    request: MicRequest,
    pcm: Option<PcmSender>,
    pub(super) status: Arc<Mutex<MicStatus>>,
    /// The state last reported as an error.
    reported: Option<String>,
}

impl Mic {
    pub(super) fn new(request: MicRequest, pcm: PcmSender) -> Self {
        Self {
            request,
            pcm: Some(pcm),
            status: Arc::default(),
            reported: None,
        }
    }

    pub(super) fn request(&self) -> &MicRequest {
        &self.request
    }

    /// Starts the capture thread the first time. It ends when the lip sync is gone.
    pub(super) fn start(&mut self) {
        let Some(pcm) = self.pcm.take() else { return };
        let (request, status) = (self.request.clone(), self.status.clone());
        let spawned = std::thread::Builder::new()
            .name("lip sync microphone".into())
            .spawn(move || run(request, pcm, status));
        if let Err(e) = spawned {
            let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
            s.state = MicState::Failed(format!("no thread for the microphone: {e}"));
        }
    }

    /// The text of a new failure to report, once per distinct failure.
    pub(super) fn new_failure(&mut self) -> Option<String> {
        let state = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state
            .clone();
        match state {
            MicState::Failed(why) if self.reported.as_deref() != Some(why.as_str()) => {
                self.reported = Some(why.clone());
                Some(why)
            }
            MicState::Running { .. } => {
                self.reported = None;
                None
            }
            _ => None,
        }
    }
}

fn set(status: &Mutex<MicStatus>, state: MicState) {
    status.lock().unwrap_or_else(|e| e.into_inner()).state = state;
}

/// Whether the lip sync still listens (a probe: an empty chunk is no audio).
fn alive(pcm: &PcmSender) -> bool {
    pcm.send(Vec::new())
}

/// Sleeps `wait` in short steps; `false` as soon as the lip sync is gone.
fn wait_alive(pcm: &PcmSender, wait: Duration) -> bool {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if !alive(pcm) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
    alive(pcm)
}

fn run(request: MicRequest, pcm: PcmSender, status: Arc<Mutex<MicStatus>>) {
    while alive(&pcm) {
        status.lock().unwrap_or_else(|e| e.into_inner()).attempts += 1;
        match device::open(&request, pcm.clone()) {
            Ok(open) => {
                set(
                    &status,
                    MicState::Running {
                        device: open.name.clone(),
                        rate: open.rate,
                    },
                );
                // Until the device reports an error or the lip sync is gone.
                let lost = loop {
                    match open.lost.recv_timeout(Duration::from_millis(100)) {
                        Ok(why) => break Some(why),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                            if !alive(&pcm) {
                                break None;
                            }
                        }
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                            break Some("the audio stream ended".into());
                        }
                    }
                };
                drop(open);
                match lost {
                    Some(why) => set(
                        &status,
                        MicState::Failed(format!("{} went away: {why}", request.describe())),
                    ),
                    None => return,
                }
            }
            Err(why) => set(&status, MicState::Failed(why)),
        }
        if !wait_alive(&pcm, request.retry_interval) {
            return;
        }
    }
}

/// Mixes interleaved frames to mono and resamples them linearly to [`MIC_ANALYSIS_RATE`], sending
/// 10 ms chunks.
pub(super) struct Resampler {
    channels: usize,
    /// Input samples per output sample.
    step: f64,
    /// Position of the next output sample, in input samples after `last`.
    position: f64,
    last: f32,
    chunk: Vec<f32>,
}

impl Resampler {
    pub(super) fn new(rate: u32, channels: usize) -> Self {
        Self {
            channels: channels.max(1),
            step: rate.max(1) as f64 / MIC_ANALYSIS_RATE as f64,
            // The first output sample is the first input sample.
            position: 1.0,
            last: 0.0,
            chunk: Vec::with_capacity(MIC_ANALYSIS_RATE as usize / 100),
        }
    }

    /// Takes interleaved samples; calls `send` with each full 10 ms chunk.
    pub(super) fn push(&mut self, interleaved: &[f32], mut send: impl FnMut(Vec<f32>)) {
        let per_chunk = MIC_ANALYSIS_RATE as usize / 100;
        for frame in interleaved.chunks_exact(self.channels) {
            let x = frame
                .iter()
                .map(|s| if s.is_finite() { *s } else { 0.0 })
                .sum::<f32>()
                / self.channels as f32;
            // Output samples that fall between `last` (at 0) and `x` (at 1).
            while self.position <= 1.0 {
                let t = self.position as f32;
                self.chunk.push(self.last + (x - self.last) * t);
                self.position += self.step;
                if self.chunk.len() == per_chunk {
                    send(std::mem::replace(
                        &mut self.chunk,
                        Vec::with_capacity(per_chunk),
                    ));
                }
            }
            self.position -= 1.0;
            self.last = x;
        }
    }
}

/// The input devices' names, for a device picker (empty where there are none, or no audio system).
pub fn microphones() -> Vec<String> {
    device::names()
}

mod device {
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    use cpal::{FromSample, SampleFormat, SizedSample};
    use crossbeam_channel::Receiver;

    use super::{MicRequest, PcmSender, Resampler};

    pub(super) struct Open {
        pub(super) name: String,
        pub(super) rate: u32,
        pub(super) lost: Receiver<String>,
        _stream: cpal::Stream,
    }

    pub(super) fn names() -> Vec<String> {
        cpal::default_host()
            .input_devices()
            .map(|devices| devices.map(|d| d.to_string()).collect())
            .unwrap_or_default()
    }

    pub(super) fn open(request: &MicRequest, pcm: PcmSender) -> Result<Open, String> {
        let host = cpal::default_host();
        let device = match &request.device {
            None => host
                .default_input_device()
                .ok_or_else(|| "there is no default microphone".to_owned())?,
            Some(name) => {
                let want = name.to_lowercase();
                let devices: Vec<cpal::Device> = host
                    .input_devices()
                    .map_err(|e| format!("cannot list microphones: {e}"))?
                    .collect();
                let names: Vec<String> = devices.iter().map(|d| d.to_string()).collect();
                devices
                    .into_iter()
                    .find(|d| d.to_string().to_lowercase().contains(&want))
                    .ok_or_else(|| {
                        format!(
                            "no microphone named `{name}` (there are: {})",
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                names.join(", ")
                            }
                        )
                    })?
            }
        };
        let name = device.to_string();
        let config = device
            .default_input_config()
            .map_err(|e| format!("microphone `{name}`: no input configuration: {e}"))?;
        let (rate, channels) = (config.sample_rate(), config.channels() as usize);
        let (lost_tx, lost) = crossbeam_channel::bounded(4);
        let on_error = move |e: cpal::Error| {
            let _ = lost_tx.try_send(e.to_string());
        };
        let resampler = Resampler::new(rate, channels);
        let stream = match config.sample_format() {
            SampleFormat::F32 => build::<f32>(&device, config.config(), resampler, pcm, on_error),
            SampleFormat::I16 => build::<i16>(&device, config.config(), resampler, pcm, on_error),
            SampleFormat::I32 => build::<i32>(&device, config.config(), resampler, pcm, on_error),
            SampleFormat::U16 => build::<u16>(&device, config.config(), resampler, pcm, on_error),
            SampleFormat::U8 => build::<u8>(&device, config.config(), resampler, pcm, on_error),
            other => {
                return Err(format!(
                    "microphone `{name}`: sample format {other} is not read"
                ));
            }
        }
        .map_err(|e| format!("microphone `{name}`: cannot open it: {e}"))?;
        stream
            .play()
            .map_err(|e| format!("microphone `{name}`: cannot start it: {e}"))?;
        Ok(Open {
            name,
            rate,
            lost,
            _stream: stream,
        })
    }

    fn build<T>(
        device: &cpal::Device,
        config: cpal::StreamConfig,
        mut resampler: Resampler,
        pcm: PcmSender,
        on_error: impl FnMut(cpal::Error) + Send + 'static,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + Send + 'static,
        f32: FromSample<T>,
    {
        let mut scratch = Vec::new();
        device.build_input_stream::<T, _, _>(
            config,
            move |data: &[T], _: &cpal::InputCallbackInfo| {
                scratch.clear();
                scratch.extend(data.iter().map(|s| s.to_sample::<f32>()));
                resampler.push(&scratch, |chunk| {
                    pcm.send(chunk);
                });
            },
            on_error,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_at_48_khz_becomes_mono_at_16_khz_in_10_ms_chunks() {
        let mut r = Resampler::new(48_000, 2);
        // One second of a 440 Hz tone on the left, silence on the right.
        let input: Vec<f32> = (0..48_000)
            .flat_map(|i| {
                [
                    (i as f32 / 48_000.0 * 440.0 * std::f32::consts::TAU).sin(),
                    0.0,
                ]
            })
            .collect();
        let mut chunks = Vec::new();
        r.push(&input, |c| chunks.push(c));
        assert!((99..=100).contains(&chunks.len()), "{}", chunks.len());
        assert!(chunks.iter().all(|c| c.len() == 160));
        let out: Vec<f32> = chunks.concat();
        for (k, y) in out.iter().enumerate().take(15_000).skip(1) {
            let want = 0.5 * (k as f32 / 16_000.0 * 440.0 * std::f32::consts::TAU).sin();
            assert!((y - want).abs() < 0.02, "{k}: {y} vs {want}");
        }
    }
}
