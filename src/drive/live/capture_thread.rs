//! The capture thread: opens the source (again after each failure), reads frames, paces files to their
//! frame rate and hands the newest frame to the tracking thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::runtime::{Status, Stop, send_newest};
use super::source::SourceOpener;
use crate::capture::CapturedFrame;

pub(super) struct CaptureLoop {
    pub(super) opener: SourceOpener,
    pub(super) paced: bool,
    pub(super) looping: bool,
    pub(super) retry: Duration,
    pub(super) frames: Sender<(CapturedFrame, u64, Instant)>,
    pub(super) frames_back: Receiver<(CapturedFrame, u64, Instant)>,
    pub(super) status: Sender<Status>,
    pub(super) stop: Arc<Stop>,
    /// Frame buffers the tracking thread is done with, for the source to fill again.
    pub(super) recycled: Receiver<Vec<u8>>,
    pub(super) dropped: Arc<AtomicU64>,
}

impl CaptureLoop {
    pub(super) fn run(self) {
        let mut sequence = 0u64;
        let mut failing = false;
        while !self.stop.is_set() {
            let mut source = match (self.opener)() {
                Ok(s) => s,
                Err(e) => {
                    if !failing {
                        failing = true;
                        let _ = self.status.send(Status::Lost(e.to_string()));
                    }
                    sleep_unless_stopped(&self.stop, self.retry);
                    continue;
                }
            };
            self.stop.source(source.interrupter());
            let name = source.name().to_owned();
            let opened = Instant::now();
            let mut frames = 0u64;
            loop {
                if self.stop.is_set() {
                    return;
                }
                for rgb in self.recycled.try_iter() {
                    source.recycle(rgb);
                }
                let next = source.next_frame();
                // Stopped meanwhile (the read interrupted): whatever the read says is no news.
                if self.stop.is_set() {
                    return;
                }
                match next {
                    Ok(Some(frame)) => {
                        if self.paced {
                            let due = opened + frame.timestamp;
                            sleep_unless_stopped(
                                &self.stop,
                                due.saturating_duration_since(Instant::now()),
                            );
                        }
                        let item = (frame, sequence, Instant::now());
                        sequence += 1;
                        if frames == 0 && (failing || sequence == 1) {
                            // Opened and delivering: that is when a source counts as (back) up.
                            let _ = self.status.send(Status::Opened(name.clone()));
                        }
                        frames += 1;
                        failing = false;
                        match send_newest(&self.frames, &self.frames_back, item) {
                            Ok(Some((replaced, ..))) => {
                                self.dropped.fetch_add(1, Ordering::Relaxed);
                                source.recycle(replaced.rgb);
                            }
                            Ok(None) => {}
                            Err(()) => return,
                        }
                    }
                    // A source that ends before its first frame is broken, not finished: wait before
                    // opening it again, so it cannot spin.
                    Ok(None) if frames == 0 => {
                        if !failing {
                            failing = true;
                            let _ = self.status.send(Status::Lost(
                                "the source opened but gave no frames".to_owned(),
                            ));
                        }
                        sleep_unless_stopped(&self.stop, self.retry);
                        break;
                    }
                    Ok(None) if self.looping => break,
                    Ok(None) => {
                        let _ = self.status.send(Status::Ended);
                        return;
                    }
                    Err(e) => {
                        if !failing {
                            failing = true;
                            let _ = self.status.send(Status::Lost(e.to_string()));
                        }
                        sleep_unless_stopped(&self.stop, self.retry);
                        break;
                    }
                }
            }
            self.stop.source(None);
        }
    }
}

fn sleep_unless_stopped(stop: &Stop, total: Duration) {
    let until = Instant::now() + total;
    while !stop.is_set() {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(20)));
    }
}
