//! Shared by the examples: scripted screenshots for headless runs (CI, README pictures).
//!
//! `TALKING_HEAD_SCREENSHOTS=DIR` makes an example save `DIR/<name>_1.png` and `DIR/<name>_2.png` at the
//! times (seconds after its first rendered frame) that the example passes, then exit. Each screenshot's log
//! line says how many frames each head had rendered by then (`frames rendered [N, ...]`), for the tests.
#![allow(dead_code)]

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy_talking_head::prelude::*;

/// Saves screenshots at fixed script times and exits, when `TALKING_HEAD_SCREENSHOTS` is set.
pub struct HeadlessCapturePlugin {
    /// File name prefix.
    pub name: &'static str,
    /// Script times (seconds after the first rendered frame) of the screenshots.
    pub at: Vec<f32>,
}

#[derive(Resource)]
struct Capture {
    dir: PathBuf,
    name: &'static str,
    at: Vec<f32>,
    taken: usize,
    exit_in_frames: Option<u32>,
}

/// Seconds since the first head showed its first rendered frame (0 before that): examples script their
/// animation on this clock so that screenshots show the same moment however slow the start-up was.
#[derive(Resource, Default)]
pub struct ScriptClock {
    started: Option<f32>,
    /// Current script time in seconds.
    pub t: f32,
}

impl Plugin for HeadlessCapturePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ScriptClock>()
            .add_systems(First, tick_clock);
        if let Some(dir) = std::env::var_os("TALKING_HEAD_SCREENSHOTS") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("creating the screenshot folder");
            app.insert_resource(Capture {
                dir,
                name: self.name,
                at: self.at.clone(),
                taken: 0,
                exit_in_frames: None,
            })
            .add_systems(Last, capture);
        }
    }
}

fn tick_clock(mut clock: ResMut<ScriptClock>, time: Res<Time>, stats: Res<TalkingHeadStats>) {
    let now = time.elapsed_secs();
    // Start at the first rendered frame, or after 30 s without one (then the pictures show the failure).
    if clock.started.is_none() && (stats.iter().any(|(_, s)| s.frames_rendered > 0) || now > 30.0) {
        clock.started = Some(now);
    }
    clock.t = clock.started.map_or(0.0, |s| now - s);
}

fn capture(
    mut commands: Commands,
    mut capture: ResMut<Capture>,
    clock: Res<ScriptClock>,
    stats: Res<TalkingHeadStats>,
    mut exit: MessageWriter<AppExit>,
) {
    if let Some(n) = capture.exit_in_frames.as_mut() {
        *n = n.saturating_sub(1);
        if *n == 0 {
            exit.write(AppExit::Success);
        }
        return;
    }
    if let Some(&at) = capture.at.get(capture.taken)
        && clock.t >= at
    {
        capture.taken += 1;
        let path = capture
            .dir
            .join(format!("{}_{}.png", capture.name, capture.taken));
        let mut rendered: Vec<u64> = stats.iter().map(|(_, s)| s.frames_rendered).collect();
        rendered.sort_unstable();
        info!(
            "screenshot at script time {:.2} s -> {} (frames rendered {rendered:?})",
            clock.t,
            path.display()
        );
        commands
            .spawn(Screenshot::primary_window())
            .observe(save_to_disk(path));
        if capture.taken == capture.at.len() {
            // Give the last screenshot a few frames to reach the disk.
            capture.exit_in_frames = Some(15);
        }
    }
}
