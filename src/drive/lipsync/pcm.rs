//! [`PcmSender`]: the sending end of a streaming lip sync.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Sender, TrySendError};

/// Chunks of samples a streaming lip sync holds before it drops new ones ([`LipSync::stream`]): the
/// app drains them every frame, so only a stalled or paused app fills it.
///
/// [`LipSync::stream`]: super::LipSync::stream
pub const DEFAULT_PCM_QUEUE: usize = 256;

/// Sends PCM samples (mono, `-1..=1`) to a streaming [`LipSync`](super::LipSync), from any thread (a
/// voice chat, a microphone callback, a speech synthesiser). The queue is bounded: while it is full
/// (the app is not updating), chunks are dropped, counted in [`dropped`](Self::dropped), with one
/// warning.
#[derive(Clone, Debug)]
pub struct PcmSender {
    pub(super) tx: Sender<Vec<f32>>,
    pub(super) dropped: Arc<AtomicU64>,
}

impl PcmSender {
    /// Sends samples; `false` if the lip sync is gone. Never blocks.
    pub fn send(&self, samples: Vec<f32>) -> bool {
        match self.tx.try_send(samples) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    bevy::log::warn!(
                        "lip sync: the PCM queue is full (the app is not taking samples); chunks are \
                         dropped until it does"
                    );
                }
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Chunks dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
