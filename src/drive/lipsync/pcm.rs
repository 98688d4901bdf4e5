//! [`PcmSender`]: the sending end of a streaming lip sync.

use crossbeam_channel::Sender;

/// Sends PCM samples (mono, `-1..=1`) to a streaming [`LipSync`](super::LipSync), from any thread (a
/// voice chat, a microphone callback, a speech synthesiser).
#[derive(Clone, Debug)]
pub struct PcmSender(pub(super) Sender<Vec<f32>>);

impl PcmSender {
    /// Sends samples; `false` if the lip sync is gone.
    pub fn send(&self, samples: Vec<f32>) -> bool {
        self.0.send(samples).is_ok()
    }
}
