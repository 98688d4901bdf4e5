//! Ending background threads without hanging the game: joins with a deadline, and a place for the
//! threads of removed live faces, which are told to stop but not waited for on the main thread.

use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use std::time::{Duration, Instant};

/// How long dropping the app waits for its worker threads (render, rig, live tracking) to end their
/// current job; a thread still busy then (a renderer stuck in a driver call) is left to the OS.
pub(crate) const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// Threads told to stop whose end nobody waited for yet.
static LINGERING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Keeps `thread` to be joined at shutdown instead of waiting for it now.
pub(crate) fn linger(thread: JoinHandle<()>) {
    let mut lingering = LINGERING.lock().unwrap_or_else(|e| e.into_inner());
    lingering.retain(|t| !t.is_finished());
    lingering.push(thread);
}

/// Joins `threads` (and any lingering ones) that end within `wait`; logs and leaves the rest.
pub(crate) fn join_within(mut threads: Vec<JoinHandle<()>>, wait: Duration, what: &str) {
    threads.append(&mut LINGERING.lock().unwrap_or_else(|e| e.into_inner()));
    let until = Instant::now() + wait;
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut left = 0;
    for t in threads {
        if t.is_finished() {
            let _ = t.join();
        } else {
            left += 1;
        }
    }
    if left > 0 {
        bevy::log::warn!(
            "{left} {what} thread(s) still busy after {wait:?}; not waiting for them (a renderer or \
             a source stuck in a call?)"
        );
    }
}

/// A job for [`off_main`].
type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on a helper thread of its own (started on first use), so that the main thread does not
/// pay for it: stopping what a removed head left running (killing an `ffmpeg` child wakes it, and on a
/// machine of two cores the frame would wait while it dies). Runs `job` here if there is no helper.
pub(crate) fn off_main(job: impl FnOnce() + Send + 'static) {
    static HELPER: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    let helper = HELPER.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        std::thread::Builder::new()
            .name("talking-head stopper".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .ok()
            .map(|_| tx)
    });
    match helper {
        Some(tx) => {
            if let Err(e) = tx.send(Box::new(job)) {
                (e.into_inner())();
            }
        }
        None => job(),
    }
}
