//! Hostile input never hangs, floods or corrupts the crate (issue 16): NaN from a model, files that
//! declare absurd sizes, metadata out of bounds. Each test runs the code under test on a guarded thread:
//! a memory budget (an allocation past it aborts the test binary with a message, rather than letting a
//! runaway loop eat the CI machine's memory) and a generous deadline (a hang fails the test rather than
//! hanging CI). Neither is a timing assertion: correct code is thousands of times inside both.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::time::Duration;

use bevy_talking_head::tracking::{Detection, weighted_nms};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Counts the bytes the armed thread holds, keeps their peak, and refuses past a budget.
struct Budget;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
    static LIMIT: Cell<i64> = const { Cell::new(i64::MAX) };
}

unsafe impl GlobalAlloc for Budget {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let armed = ARMED.try_with(Cell::get).unwrap_or(false);
        if armed {
            let live = LIVE.with(Cell::get) + layout.size() as i64;
            if live > LIMIT.with(Cell::get) {
                ARMED.with(|a| a.set(false));
                let _ = std::io::stderr().write_all(
                    b"hostile_inputs: the code under test went over its memory budget (a runaway loop or an unbounded allocation); aborting\n",
                );
                return std::ptr::null_mut();
            }
            LIVE.with(|l| l.set(live));
            PEAK.with(|p| p.set(p.get().max(live)));
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.try_with(Cell::get).unwrap_or(false) {
            LIVE.with(|l| l.set(l.get() - layout.size() as i64));
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static BUDGET: Budget = Budget;

const MB: i64 = 1 << 20;

/// Runs `f` on its own thread with a memory budget of `budget` bytes and a deadline; returns its result
/// and the peak of the bytes it held at once.
fn guarded<T: Send + 'static>(
    what: &str,
    budget: i64,
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> (T, i64) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        LIMIT.with(|l| l.set(budget));
        LIVE.with(|l| l.set(0));
        PEAK.with(|p| p.set(0));
        ARMED.with(|a| a.set(true));
        let out = f();
        ARMED.with(|a| a.set(false));
        let _ = tx.send((out, PEAK.with(Cell::get)));
    });
    match rx.recv_timeout(deadline) {
        Ok(out) => out,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not return within {deadline:?}: it hangs")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

// ---------------------------------------------------------------------------------------------------
// Hazard 1: a NaN from a model hung tracking (weighted NMS never removed a NaN detection).

fn hostile_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => -50.0f32..250.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => Just(f32::MAX),
    ]
}

fn hostile_detection() -> impl Strategy<Value = Detection> {
    (
        prop_oneof![3 => 0.0f32..=1.0, 1 => hostile_f32()],
        [hostile_f32(), hostile_f32()],
        [hostile_f32(), hostile_f32()],
        hostile_f32(),
    )
        .prop_map(|(score, centre, size, kp)| Detection {
            score,
            centre,
            size,
            keypoints: [[kp, kp]; 6],
        })
}

fn sane_detection() -> impl Strategy<Value = Detection> {
    (
        0.05f32..=1.0,
        [0.0f32..200.0, 0.0f32..200.0],
        [1.0f32..80.0, 1.0f32..80.0],
    )
        .prop_map(|(score, centre, size)| Detection {
            score,
            centre,
            size,
            keypoints: [centre; 6],
        })
}

#[test]
fn nms_ends_on_nan_inf_and_empty_boxes_and_drops_them() {
    let ((), peak) = guarded(
        "weighted_nms on NaN, infinite and zero-size detections",
        256 * MB,
        Duration::from_secs(120),
        || {
            let mut runner = TestRunner::new(Config {
                cases: 2_000,
                failure_persistence: None,
                ..Config::default()
            });
            let inputs = (
                prop::collection::vec(sane_detection(), 0..12),
                prop::collection::vec(hostile_detection(), 0..12),
                0usize..100,
            );
            runner
                .run(&inputs, |(sane, hostile, seed)| {
                    let mut all = sane.clone();
                    all.extend(hostile.iter().copied());
                    // Interleave, so that the bad ones are not all at the end.
                    let n = all.len().max(1);
                    all.rotate_left(seed % n);
                    let given = all.len();
                    let out = weighted_nms(all.clone(), 0.3);
                    prop_assert!(out.len() <= given, "{} out of {given}", out.len());
                    for d in &out {
                        prop_assert!(
                            d.score.is_finite()
                                && d.centre.iter().chain(&d.size).all(|v| v.is_finite()),
                            "a non-finite detection came out: {d:?}"
                        );
                    }
                    // The bad detections are dropped, the good ones merged as if the bad were not there.
                    let sane_in: Vec<Detection> =
                        all.iter().copied().filter(Detection::is_sane).collect();
                    prop_assert_eq!(out, weighted_nms(sane_in, 0.3));
                    Ok(())
                })
                .unwrap();
        },
    );
    assert!(peak < 256 * MB);
}

#[test]
fn one_nan_detection_among_faces_is_dropped() {
    let face = |score, cx: f32| Detection {
        score,
        centre: [cx, 50.0],
        size: [40.0, 40.0],
        keypoints: [[cx, 50.0]; 6],
    };
    let mut nan_centre = face(0.95, 50.0);
    nan_centre.centre[0] = f32::NAN;
    let mut nan_score = face(0.8, 52.0);
    nan_score.score = f32::NAN;
    let mut empty = face(0.9, 150.0);
    empty.size = [0.0, 0.0];
    let input = vec![
        nan_centre,
        face(0.9, 50.0),
        nan_score,
        face(0.7, 52.0),
        empty,
    ];
    let (out, _) = guarded(
        "weighted_nms",
        64 * MB,
        Duration::from_secs(60),
        move || weighted_nms(input, 0.3),
    );
    assert_eq!(out.len(), 1, "one face: {out:?}");
    let expected = (50.0 * 0.9 + 52.0 * 0.7) / 1.6;
    assert!((out[0].centre[0] - expected).abs() < 1e-3, "{:?}", out[0]);
    assert_eq!(out[0].score, 0.9);
}
