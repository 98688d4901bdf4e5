//! What connects a live face's system to its capture and tracking threads: the status and control
//! messages, the one-slot channels that keep only the newest item, and [`Runtime`], which stops the
//! threads when it is dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::status::LiveSample;
use crate::capture::SourceInterrupt;

/// Tells a live face's threads to stop, and interrupts the capture thread's source if it is blocked in
/// a read (kills its `ffmpeg`): set when the face is removed or restarted, and when the tracking thread
/// ends (nothing would use the frames).
#[derive(Default)]
pub(super) struct Stop {
    flag: AtomicBool,
    /// The open source's interrupter.
    interrupt: Mutex<Option<SourceInterrupt>>,
}

impl Stop {
    pub(super) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    pub(super) fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(interrupt) = &*self.interrupt.lock().unwrap_or_else(|e| e.into_inner()) {
            interrupt();
        }
    }

    /// [`set`](Self::set) for the main thread: the flag now, the interruption on a helper thread.
    pub(super) fn set_from_main(self: &Arc<Self>) {
        self.flag.store(true, Ordering::SeqCst);
        let me = self.clone();
        crate::threads::off_main(move || me.set());
    }

    /// The interrupter of the source the capture thread opened (`None` when it closes it); called at
    /// once if the threads were told to stop meanwhile.
    pub(super) fn source(&self, interrupt: Option<SourceInterrupt>) {
        let mut slot = self.interrupt.lock().unwrap_or_else(|e| e.into_inner());
        *slot = interrupt;
        if self.flag.load(Ordering::SeqCst)
            && let Some(interrupt) = &*slot
        {
            interrupt();
        }
    }
}

pub(super) enum Status {
    Opened(String),
    Lost(String),
    Ended,
    Failed(String),
    Face(bool),
    /// A received packet could not be read (network sources); the stream goes on.
    BadPacket(String),
}

pub(super) enum Control {
    Calibrate,
}

pub(super) struct Runtime {
    pub(super) samples: Receiver<LiveSample>,
    pub(super) status: Receiver<Status>,
    pub(super) control: Sender<Control>,
    pub(super) stop: Arc<Stop>,
    pub(super) dropped: Arc<AtomicU64>,
    /// Capture, then tracking.
    pub(super) threads: Vec<JoinHandle<()>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // The threads see the flag (or their channels closing) and end on their own; a capture thread
        // blocked in its source is interrupted (its `ffmpeg` killed, from a helper thread). The main
        // thread does not wait for them (removing a head costs nothing): they are joined when the app goes (with the render
        // workers, within their shutdown wait), so ONNX Runtime is not torn down under the tracking
        // thread. A custom source that cannot be interrupted keeps its thread until its read returns.
        self.stop.set_from_main();
        for t in self.threads.drain(..) {
            crate::threads::linger(t);
        }
    }
}

/// Sends `value`, replacing what waits in the (one-slot) channel. Returns what it replaced.
pub(super) fn send_newest<T>(
    tx: &Sender<T>,
    rx: &Receiver<T>,
    value: T,
) -> std::result::Result<Option<T>, ()> {
    match tx.try_send(value) {
        Ok(()) => Ok(None),
        Err(TrySendError::Full(value)) => {
            let replaced = rx.try_recv().ok();
            match tx.try_send(value) {
                Ok(()) | Err(TrySendError::Full(_)) => Ok(replaced),
                Err(TrySendError::Disconnected(_)) => Err(()),
            }
        }
        Err(TrySendError::Disconnected(_)) => Err(()),
    }
}
