//! A thread's own time, from Linux's schedstat: its wall time less what it waited in run queues for a
//! CPU that other threads and programs held. The timing tests bound that, so another program's build
//! on the same two cores does not fail them, while every wait of the crate's making (a lock, a join, a
//! sleep, I/O) still counts. Zero where schedstat is missing (not Linux).

use std::time::{Duration, Instant};

/// A thread's time on a CPU and its time waiting in a run queue for one (Linux's schedstat at `path`),
/// zero without it.
pub fn sched_of(path: &str) -> (Duration, Duration) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut fields = text
        .split_whitespace()
        .map(|f| Duration::from_nanos(f.parse().unwrap_or(0)));
    (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    )
}

/// The calling thread's [`sched_of`].
pub fn sched() -> (Duration, Duration) {
    sched_of("/proc/thread-self/schedstat")
}

/// This process's threads: each one's name (Linux keeps its first 15 bytes) and its folder in
/// `/proc/self/task`; none where that is missing (not Linux).
fn tasks() -> Vec<(String, std::path::PathBuf)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| {
            let t = t.ok()?.path();
            Some((std::fs::read_to_string(t.join("comm")).ok()?, t))
        })
        .collect()
}

/// How many of this process's threads have a name starting with one of `prefixes` (15 bytes at most:
/// "talking-head capture" is "talking-head ca").
pub fn threads_named(prefixes: &[&str]) -> usize {
    tasks()
        .iter()
        .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
        .count()
}

/// The schedstat files of Bevy's compute task pool threads, which run the systems of an update while
/// the main thread waits for them.
pub fn compute_pool_threads() -> Vec<String> {
    tasks()
        .into_iter()
        .filter(|(name, _)| name.starts_with("Compute Task"))
        .map(|(_, t)| t.join("schedstat").display().to_string())
        .collect()
}

/// How long each of `threads` has waited in a run queue so far.
pub fn queued(threads: &[String]) -> Vec<Duration> {
    threads.iter().map(|t| sched_of(t).1).collect()
}

/// What one piece of work (an `app.update()`) cost the calling thread.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    /// Its wall time.
    pub wall: Duration,
    /// The calling thread's time on a CPU in it.
    pub cpu: Duration,
    /// Its wall time less the calling thread's run-queue wait and the longest run-queue wait of one of
    /// Bevy's compute threads (the main thread waits for them).
    pub own: Duration,
}

/// Runs `work` on the calling thread and measures it.
pub fn measure(work: impl FnOnce()) -> Cost {
    measure_with(&compute_pool_threads(), work)
}

/// [`measure`] with Bevy's compute threads listed once beforehand ([`compute_pool_threads`]), for a loop
/// that measures every update.
pub fn measure_with(pool: &[String], work: impl FnOnce()) -> Cost {
    let pool_before = queued(pool);
    let (t, (cpu, main_queued)) = (Instant::now(), sched());
    work();
    let wall = t.elapsed();
    let (cpu_after, main_queued_after) = sched();
    let pool_queued = queued(pool)
        .iter()
        .zip(&pool_before)
        .map(|(after, before)| after.saturating_sub(*before))
        .max()
        .unwrap_or_default();
    Cost {
        wall,
        cpu: cpu_after.saturating_sub(cpu),
        own: wall
            .saturating_sub(main_queued_after.saturating_sub(main_queued))
            .saturating_sub(pool_queued),
    }
}
