//! Threads that end (issue 16, hazard 7): a stuck renderer does not hang the game's exit, removing live
//! faces costs the frame nothing, and their capture and tracking threads and `ffmpeg` children are gone
//! soon after, even when the source was blocked in a read; a tracking thread that dies stops capture.
//!
//! The tests count this process's threads (by name) and child processes (through /proc), so they run
//! one at a time ([`serial`]). The time bounds are the issue's; each test says what it measures.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_talking_head::capture::{CapturedFrame, FrameSource};
use bevy_talking_head::drive::{LiveFace, LiveFaceState, LiveSource};
use bevy_talking_head::prelude::*;
use bevy_talking_head::testing::{headless_app, update_until};
use bevy_talking_head::{RenderRequest, RenderTarget};
use common::sched::{Cost, measure};

const WAIT: Duration = Duration::from_secs(120);

fn serial() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn models() -> PathBuf {
    let dir = root().join("assets/models");
    assert!(
        dir.join("face_detector.onnx").is_file(),
        "no face models in {} (run `make setup`)",
        dir.display()
    );
    dir
}

const CAPTURE: &str = "talking-head ca";
const TRACKING: &str = "talking-head tr";

/// How many of this process's threads have a name starting with one of `names` ("talking-head capture"
/// is [`CAPTURE`], "talking-head tracking" [`TRACKING`]).
fn threads(names: &[&str]) -> usize {
    common::sched::threads_named(names)
}

/// This process's live-face threads.
fn live_threads() -> usize {
    threads(&[CAPTURE, TRACKING])
}

/// Process ids of this process's `ffmpeg` children (zombies included: a child nobody reaped is not gone).
fn ffmpeg_children() -> Vec<u32> {
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|p| {
            let p = p.ok()?;
            let pid: u32 = p.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(p.path().join("stat")).ok()?;
            // pid (comm) state ppid ...
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == me && comm == "ffmpeg").then_some(pid)
        })
        .collect()
}

/// Sends `signal` (`STOP`, `KILL`) to `pids` with the `kill` program.
fn signal(pids: &[u32], signal: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .args(pids.iter().map(u32::to_string))
        .stderr(std::process::Stdio::null())
        .status();
}

/// Kills the `ffmpeg` children a test froze, whatever happens to the test (a stopped child outlives
/// its parent otherwise).
struct Thaw(Vec<u32>);

impl Drop for Thaw {
    fn drop(&mut self) {
        signal(&self.0, "KILL");
    }
}

/// Polls `done` every millisecond for up to `limit`; how long it took, or `None`.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if done() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn state(app: &App, head: Entity) -> LiveFaceState {
    app.world()
        .get::<LiveFace>(head)
        .unwrap()
        .status()
        .state
        .clone()
}

/// Ten minutes of a 64 x 64 test pattern at 30 fps, made by `ffmpeg`; `None` (test skipped) without it.
fn test_video(dir: &Path) -> Option<PathBuf> {
    let path = dir.join("pattern.mkv");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=size=64x64:rate=30")
        .args(["-t", "600", "-c:v", "mpeg4"])
        .arg(&path)
        .status();
    made.is_ok_and(|s| s.success()).then_some(path)
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bth-shutdown-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the app at about 60 frames a second for `how_long`, as a game does while its sources settle
/// (rather than leaving it idle: the first update after an idle pause catches up on fixed time steps and
/// finds cold caches, a few ms that a running game never pays and that are not the despawn's).
fn run_for(app: &mut App, how_long: Duration) {
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        app.update();
        std::thread::sleep(Duration::from_millis(16));
    }
}

/// What the frame that despawns live faces costs the main thread.
#[derive(Debug)]
struct FrameCost {
    /// That update's wall time, the main thread's time on a CPU in it (its own work, without the time
    /// other threads and processes that wake up meanwhile take the CPU from it: the test machine may
    /// have two cores), and its own time (wall time less the run-queue waits: see `common::sched`).
    despawn: Cost,
    /// The frame before it, which despawned nothing: the update's own cost, for comparison.
    #[expect(dead_code, reason = "read through Debug, in the test's output")]
    ordinary: Cost,
}

impl FrameCost {
    /// The bound for the frame that removes ten live faces (it used to sleep 100 ms for each):
    /// 5 ms of the main thread's work, and no waiting: an own time under 100 ms, so sleeping 100 ms
    /// for one head, as it did, fails it. (The own time is not held to 5 ms: where ten `ffmpeg`
    /// processes are killed, they and ten threads tearing down their models take the two cores of a
    /// CI machine from the main thread for a few tens of ms; its own work stays near 3 ms. The wall
    /// time is not held at all: the fresh-clone CI once read 124 ms of wall time with 4.4 ms of CPU, the
    /// rest waiting for the two cores that the other tests of this file held.)
    fn check(&self) {
        assert!(self.within_bound(), "that frame cost {self:?}");
    }

    fn within_bound(&self) -> bool {
        let d = &self.despawn;
        let work = if d.cpu > Duration::ZERO {
            d.cpu
        } else {
            d.wall
        };
        work < Duration::from_millis(5) && d.own < Duration::from_millis(100)
    }
}

/// Despawns `heads` in one frame, as a game does (commands applied in the update), and returns that
/// update's cost.
fn despawn_in_one_frame(app: &mut App, heads: &[Entity]) -> FrameCost {
    let ordinary = measure(|| app.update());
    std::thread::sleep(Duration::from_millis(16));
    for head in heads {
        app.world_mut().commands().entity(*head).despawn();
    }
    let despawn = measure(|| app.update());
    FrameCost { despawn, ordinary }
}

/// The bound for threads and children to be gone once their source no longer blocks.
const GONE: Duration = Duration::from_millis(200);
/// Tracking threads are not blocked by their sources: they see the stop within 50 ms, then drop their
/// models (ten trackers at once take a few hundred ms of CPU on two cores).
const TRACKING_GONE: Duration = Duration::from_secs(2);

#[test]
fn dropping_the_app_does_not_wait_for_a_stuck_renderer() {
    let _one = serial();
    let mut app = headless_app("assets", TalkingHeadPlugin::default());
    let (stuck, release) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (stuck_in, release_in) = (stuck.clone(), release.clone());
    // A renderer stuck for 60 s (or until the test lets it go, after the check), like a driver call
    // that hangs.
    let renderer = HeadRendererKind::Custom(Arc::new(common::FnRenderer(
        "stuck",
        move |_: &RenderRequest<'_>, _: &mut RenderTarget<'_>| {
            stuck_in.store(true, Ordering::SeqCst);
            let until = Instant::now() + Duration::from_secs(60);
            while !release_in.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(())
        },
    )));
    let portrait = common::flat_portrait(&mut app, 32, [90, 90, 90, 255]);
    let head = app
        .world_mut()
        .spawn(TalkingHead::new(portrait).with_renderer(renderer))
        .id();
    update_until(&mut app, WAIT, "a job in the stuck renderer", |a| {
        let _ = common::stats(a, head);
        stuck.load(Ordering::SeqCst)
    });
    // An `App` cannot move to another thread: a watchdog ends the test binary if the drop hangs.
    let done = Arc::new(AtomicBool::new(false));
    let watched = done.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        if !watched.load(Ordering::SeqCst) {
            eprintln!("shutdown: dropping the app hangs on a stuck renderer; aborting");
            std::process::exit(101);
        }
    });
    let started = Instant::now();
    drop(app);
    let dropped = started.elapsed();
    done.store(true, Ordering::SeqCst);
    release.store(true, Ordering::SeqCst);
    eprintln!("dropping the app with a renderer stuck for 60 s took {dropped:?}");
    assert!(
        dropped < Duration::from_secs(3),
        "dropping the app took {dropped:?}"
    );
}

/// A source that gives one grey frame, then blocks until its channel gives the word (or closes), like a
/// camera read that hangs. It cannot be interrupted: its thread ends when the read returns.
struct Blocking {
    gate: crossbeam_channel::Receiver<()>,
    given: bool,
}

impl FrameSource for Blocking {
    fn next_frame(&mut self) -> bevy_talking_head::Result<Option<CapturedFrame>> {
        if std::mem::replace(&mut self.given, true) {
            let _ = self.gate.recv();
        }
        Ok(Some(CapturedFrame {
            width: 64,
            height: 64,
            rgb: vec![128; 64 * 64 * 3],
            timestamp: Duration::ZERO,
            index: 0,
        }))
    }

    fn name(&self) -> &str {
        "blocking test source"
    }
}

/// Spawns `n` live faces on the real models, made by `source(i)`, and updates until each tracked a
/// frame (its tracker is loaded: what stays is a thread waiting on its source, not one loading models).
fn tracking_heads(app: &mut App, n: usize, source: impl Fn(usize) -> LiveSource) -> Vec<Entity> {
    let heads: Vec<Entity> = (0..n)
        .map(|i| {
            let live = LiveFace::new(source(i)).with_models_dir(models());
            app.world_mut().spawn((FaceFrame::default(), live)).id()
        })
        .collect();
    update_until(app, WAIT, "every live face to track a frame", |a| {
        heads.iter().all(|h| {
            matches!(
                state(a, *h),
                LiveFaceState::NoFace | LiveFaceState::Streaming
            )
        })
    });
    heads
}

#[test]
fn despawning_live_faces_whose_sources_block_costs_the_frame_nothing_and_their_threads_end() {
    let _one = serial();
    assert_eq!(live_threads(), 0, "live threads of another test are left");
    let mut app = headless_app("assets", TalkingHeadPlugin::default());
    let (open, gate) = crossbeam_channel::unbounded::<()>();
    let heads = tracking_heads(&mut app, 10, |i| LiveSource::Custom {
        name: format!("blocking {i}"),
        open: {
            let gate = gate.clone();
            Arc::new(move || {
                Ok(Box::new(Blocking {
                    gate: gate.clone(),
                    given: false,
                }) as Box<dyn FrameSource>)
            })
        },
    });
    drop(gate);
    assert_eq!(live_threads(), 20);
    // Every capture thread is in its blocked read by now (it had its one frame long ago).
    run_for(&mut app, Duration::from_millis(50));
    let frame = despawn_in_one_frame(&mut app, &heads);
    eprintln!("despawning 10 live faces whose sources block: that frame cost {frame:?}");
    // The tracking threads end on their own; the capture threads stay in their reads.
    let tracking_gone = within(TRACKING_GONE, || threads(&[TRACKING]) == 0);
    std::thread::sleep(Duration::from_millis(100));
    let blocked = threads(&[CAPTURE]);
    // The sources unblock: the reads return, the threads see the stop and end.
    drop(open);
    let gone = within(Duration::from_secs(10), || live_threads() == 0);
    eprintln!(
        "tracking threads gone {tracking_gone:?} after the despawn; capture threads (still {blocked} \
         in their reads) gone {gone:?} after their sources unblocked"
    );
    frame.check();
    assert!(
        tracking_gone.is_some(),
        "tracking threads not gone within {TRACKING_GONE:?}"
    );
    assert_eq!(blocked, 10, "the capture threads were in their reads");
    assert!(
        gone.is_some_and(|t| t < GONE),
        "capture threads gone after {gone:?}"
    );
    drop(app);
}

#[test]
fn despawning_live_faces_stuck_in_ffmpeg_kills_ffmpeg_and_ends_their_threads() {
    let _one = serial();
    let dir = temp_dir("ffmpeg");
    let Some(video) = test_video(&dir) else {
        eprintln!("no ffmpeg: skipped");
        return;
    };
    // The frame's CPU time is read on a shared machine: a round over the bound is tried again (up to
    // three rounds, each with ten new faces); a despawn that does real work on the main thread (or
    // sleeps) fails every round. The fresh-clone CI once read 6.0 ms in a round whose idle reruns read
    // 1.4-2.5 ms.
    let mut costs = Vec::new();
    for round in 1..=3 {
        let frame = despawn_stuck_in_ffmpeg(&video);
        let ok = frame.within_bound();
        costs.push(frame);
        if ok {
            break;
        }
        eprintln!("round {round} over the bound; again");
    }
    let last = costs.last().unwrap();
    assert!(
        last.within_bound(),
        "that frame cost, round by round: {costs:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ten live faces reading a video through `ffmpeg`, each `ffmpeg` frozen, despawned in one frame: that
/// frame's cost; the children and threads must be gone within their bounds.
fn despawn_stuck_in_ffmpeg(video: &Path) -> FrameCost {
    assert_eq!(live_threads(), 0, "live threads of another test are left");
    let mut app = headless_app("assets", TalkingHeadPlugin::default());
    let heads = tracking_heads(&mut app, 10, |_| LiveSource::Video {
        path: video.to_path_buf(),
        looping: true,
    });
    // A decoder that stalls (a network share, a hung driver): each `ffmpeg` frozen with SIGSTOP.
    let children = ffmpeg_children();
    let _thaw = Thaw(children.clone());
    assert_eq!(children.len(), 10, "{children:?}");
    signal(&children, "STOP");
    // The capture threads read what is left in the pipes (64 KB: five frames, paced at 30 fps), then
    // block in their reads.
    run_for(&mut app, Duration::from_millis(500));
    let frame = despawn_in_one_frame(&mut app, &heads);
    // Removing the faces interrupts the sources (kills their `ffmpeg`): the reads return at once.
    let children_gone = within(Duration::from_secs(10), || ffmpeg_children().is_empty());
    let capture_gone = within(Duration::from_secs(10), || threads(&[CAPTURE]) == 0);
    let tracking_gone = within(Duration::from_secs(10), || threads(&[TRACKING]) == 0);
    eprintln!(
        "despawning 10 live faces stuck in ffmpeg: that frame cost {frame:?}; ffmpeg children gone \
         after {children_gone:?}, capture threads {capture_gone:?} later, tracking threads \
         {tracking_gone:?} later still"
    );
    // A killed `ffmpeg` is gone once the kernel has torn it down (its pipe closes on the way: that is
    // when the blocked read returns) and its capture thread has reaped it: 44-123 ms for ten on two
    // busy cores.
    assert!(
        children_gone.is_some_and(|t| t < GONE),
        "ffmpeg children gone after {children_gone:?}: {:?}",
        ffmpeg_children()
    );
    assert!(
        capture_gone.is_some_and(|t| t < GONE),
        "capture threads gone {capture_gone:?} after their ffmpeg children"
    );
    assert!(
        tracking_gone.is_some_and(|t| t < TRACKING_GONE),
        "tracking threads gone after {tracking_gone:?}"
    );
    drop(app);
    frame
}

/// The tracking thread dies (its detector model turns out to be garbage, read from a pipe that gave
/// nothing until now) while capture is blocked in a frozen `ffmpeg`: the face fails and capture stops,
/// its `ffmpeg` killed.
#[cfg(unix)]
#[test]
fn a_tracking_thread_that_dies_stops_capture_even_when_blocked_in_ffmpeg() {
    use std::io::Write;

    let _one = serial();
    let dir = temp_dir("dies");
    let Some(video) = test_video(&dir) else {
        eprintln!("no ffmpeg: skipped");
        return;
    };
    let models_dir = dir.join("models");
    std::fs::create_dir_all(&models_dir).unwrap();
    let fifo = models_dir.join("face_detector.onnx");
    if !std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("no mkfifo: skipped");
        return;
    }
    assert_eq!(live_threads(), 0, "live threads of another test are left");
    let mut app = headless_app("assets", TalkingHeadPlugin::default());
    let source = LiveSource::Video {
        path: video,
        looping: true,
    };
    let head = app
        .world_mut()
        .spawn((
            FaceFrame::default(),
            LiveFace::new(source).with_models_dir(&models_dir),
        ))
        .id();
    let started = Instant::now();
    let mut children = Vec::new();
    while children.is_empty() && started.elapsed() < WAIT {
        app.update();
        std::thread::sleep(Duration::from_millis(5));
        children = ffmpeg_children();
    }
    let _thaw = Thaw(children.clone());
    assert_eq!(children.len(), 1, "{children:?}");
    signal(&children, "STOP");
    // The capture threads read what is left in the pipes (64 KB: five frames, paced at 30 fps), then
    // block in their reads.
    std::thread::sleep(Duration::from_millis(500));
    // The tracking thread reads its model now: not a model.
    let write = Instant::now();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(b"not a model")
        .unwrap();
    let children_gone = within(Duration::from_secs(10), || ffmpeg_children().is_empty());
    let threads_gone = within(Duration::from_secs(10), || live_threads() == 0);
    eprintln!(
        "after the tracking thread died: ffmpeg gone {children_gone:?}, threads gone {threads_gone:?} \
         (from the model's bytes, {:?} ago)",
        write.elapsed()
    );
    let failed = within(WAIT, || {
        app.update();
        matches!(state(&app, head), LiveFaceState::Failed(_))
    });
    assert!(failed.is_some(), "{:?}", state(&app, head));
    let LiveFaceState::Failed(why) = state(&app, head) else {
        unreachable!()
    };
    assert!(why.contains("face_detector.onnx"), "{why}");
    // Hazard 2's bound: capture stops within 100 ms of the tracking thread's end.
    let bound = Duration::from_millis(100);
    assert!(
        children_gone.is_some_and(|t| t < bound),
        "ffmpeg gone after {children_gone:?}"
    );
    assert!(
        threads_gone.is_some_and(|t| t < bound),
        "threads gone after {threads_gone:?}"
    );
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Removing live faces whose tracking threads are stuck loading a model (from a pipe nobody writes, as
/// a slow disk or network read) costs the frame nothing: it used to wait 100 ms for each.
#[cfg(unix)]
#[test]
fn despawning_live_faces_stuck_loading_models_does_not_block_the_frame() {
    use std::os::unix::fs::OpenOptionsExt;

    let _one = serial();
    let dir = temp_dir("fifo");
    let fifo = dir.join("face_detector.onnx");
    if !std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("no mkfifo: skipped");
        return;
    }
    let mut app = headless_app("assets", TalkingHeadPlugin::default());
    let (open, gate) = crossbeam_channel::unbounded::<()>();
    let heads: Vec<Entity> = (0..10)
        .map(|_| {
            let gate = gate.clone();
            let source = LiveSource::Custom {
                name: "blocking".into(),
                open: Arc::new(move || {
                    Ok(Box::new(Blocking {
                        gate: gate.clone(),
                        given: false,
                    }) as Box<dyn FrameSource>)
                }),
            };
            let live = LiveFace::new(source).with_models_dir(&dir);
            app.world_mut().spawn((FaceFrame::default(), live)).id()
        })
        .collect();
    for _ in 0..5 {
        app.update();
    }
    run_for(&mut app, Duration::from_millis(100));
    let frame = despawn_in_one_frame(&mut app, &heads);
    eprintln!("despawning 10 live faces stuck loading models: that frame cost {frame:?}");
    // Unblock the loads (an empty file: they fail, see the stop and end) and the sources.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(0o4000) // O_NONBLOCK: no wait if no reader is left
        .open(&fifo);
    drop((open, gate));
    let gone = within(Duration::from_secs(10), || live_threads() == 0);
    eprintln!("their threads gone {gone:?} after the loads unblocked");
    frame.check();
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}
