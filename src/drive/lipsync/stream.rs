//! A streaming lip sync's analysis thread: the PCM queue is drained and analysed off the main thread;
//! the app copies the newest face (item 5 of issue 20: no analysis on the main thread).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::analysis::AudioLipSync;
use crate::face::FaceFrame;

/// What the analysis thread publishes.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct StreamOut {
    pub(super) face: FaceFrame,
    /// Seconds of audio analysed.
    pub(super) analysed: f32,
    /// Chunks with samples received so far (the app compares it between frames to tell a stream that
    /// stopped sending).
    pub(super) chunks: u64,
}

/// A PCM stream's end in the component: the queue, and the analyser until its thread starts.
#[derive(Clone, Debug)]
pub(super) struct Stream {
    rx: Receiver<Vec<f32>>,
    /// Waits here until the lip sync is first updated in an app (a component never spawned starts no
    /// thread); afterwards it lives on the thread.
    analyser: Option<Box<AudioLipSync>>,
    out: Arc<Mutex<StreamOut>>,
}

impl Stream {
    pub(super) fn new(analyser: AudioLipSync, rx: Receiver<Vec<f32>>) -> Self {
        Self {
            rx,
            analyser: Some(Box::new(analyser)),
            out: Arc::default(),
        }
    }

    /// Seconds of audio analysed so far.
    pub(super) fn analysed(&self) -> f32 {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).analysed
    }

    /// The newest analysis, starting the thread the first time. Should the thread fail to start, the
    /// queue is analysed here instead.
    pub(super) fn poll(&mut self) -> StreamOut {
        if let Some(analyser) = self.analyser.take() {
            let (rx, out) = (self.rx.clone(), self.out.clone());
            let cell = Arc::new(Mutex::new(Some(analyser)));
            let on_thread = cell.clone();
            let spawned = std::thread::Builder::new()
                .name("lip sync analysis".into())
                .spawn(move || {
                    let analyser = on_thread.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(analyser) = analyser {
                        run(analyser, rx, out);
                    }
                });
            if let Err(e) = spawned {
                bevy::log::warn!(
                    "lip sync: no analysis thread ({e}); analysing on the main thread"
                );
                self.analyser = cell.lock().unwrap_or_else(|e| e.into_inner()).take();
            }
        }
        if let Some(analyser) = &mut self.analyser {
            analyse(analyser, self.rx.try_iter(), &self.out);
        }
        *self.out.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Analyses `chunks` and publishes the face once.
fn analyse(
    analyser: &mut AudioLipSync,
    chunks: impl Iterator<Item = Vec<f32>>,
    out: &Mutex<StreamOut>,
) {
    let mut got = 0;
    for chunk in chunks {
        got += !chunk.is_empty() as u64;
        analyser.push(&chunk);
    }
    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
    o.face = analyser.face();
    o.analysed = analyser.time();
    o.chunks += got;
}

/// The thread: analyses chunks as they come; ends when every sender is gone, or within 100 ms of the
/// lip sync being dropped (it then holds the only reference to `out`).
fn run(mut analyser: Box<AudioLipSync>, rx: Receiver<Vec<f32>>, out: Arc<Mutex<StreamOut>>) {
    loop {
        if Arc::strong_count(&out) == 1 {
            return;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            // This chunk and whatever queued behind it.
            Ok(chunk) => analyse(
                &mut analyser,
                std::iter::once(chunk).chain(rx.try_iter()),
                &out,
            ),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
