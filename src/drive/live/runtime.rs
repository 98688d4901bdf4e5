//! What connects a live face's system to its capture and tracking threads: the status and control
//! messages, the one-slot channels that keep only the newest item, and [`Runtime`], which stops the
//! threads when it is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::status::LiveSample;

pub(super) enum Status {
    Opened(String),
    Lost(String),
    Ended,
    Failed(String),
    Face(bool),
}

pub(super) enum Control {
    Calibrate,
}

pub(super) struct Runtime {
    pub(super) samples: Receiver<LiveSample>,
    pub(super) status: Receiver<Status>,
    pub(super) control: Sender<Control>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) dropped: Arc<AtomicU64>,
    /// Capture, then tracking.
    pub(super) threads: Vec<JoinHandle<()>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // The threads see the flag (or their channels closing) and end on their own; the main thread
        // does not wait for them (removing a head costs nothing). The tracking thread is joined when the
        // app goes (with the render workers, within their shutdown wait), so ONNX Runtime is not torn
        // down under it; a capture thread blocked in a camera read is left alone.
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..).skip(1) {
            crate::threads::linger(t);
        }
    }
}

/// Sends `value`, replacing what waits in the (one-slot) channel. Returns whether something was dropped.
pub(super) fn send_newest<T>(
    tx: &Sender<T>,
    rx: &Receiver<T>,
    value: T,
) -> std::result::Result<bool, ()> {
    match tx.try_send(value) {
        Ok(()) => Ok(false),
        Err(TrySendError::Full(value)) => {
            let replaced = rx.try_recv().is_ok();
            match tx.try_send(value) {
                Ok(()) | Err(TrySendError::Full(_)) => Ok(replaced),
                Err(TrySendError::Disconnected(_)) => Err(()),
            }
        }
        Err(TrySendError::Disconnected(_)) => Err(()),
    }
}
