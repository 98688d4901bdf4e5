//! The `minimal` example (the demo portrait, the default mesh warp, `IdleLife`): in a real window (Xvfb +
//! lavapipe) the sprite shows the portrait and the head keeps rendering new frames; in a headless app
//! with the same head, idle life's blinks close the eyes in the rendered frames.
//!
//! The window test needs `xvfb-run` and Mesa's lavapipe (`.ci/run` installs them). Without them it says
//! so and passes, unless `CI` is set, where it fails.

mod common;

use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_talking_head::prelude::*;
use bevy_talking_head::rig::PortraitRig;
use bevy_talking_head::tracking::ImageView;
use common::examples::{changed_pixels, frames_rendered_at_screenshots, run_example_with_log};
use common::*;

const WAIT: Duration = Duration::from_secs(60);

fn demo_portrait() -> image::RgbaImage {
    image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/portraits/astronaut.png"
    ))
    .expect("the demo portrait: run `make setup`")
    .to_rgba8()
}

/// Pearson correlation of the luma of two equally long pixel lists.
fn luma_correlation(a: &[[u8; 3]], b: &[[u8; 3]]) -> f64 {
    let luma = |p: &[u8; 3]| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
    let (la, lb): (Vec<f64>, Vec<f64>) = a.iter().zip(b).map(|(p, q)| (luma(p), luma(q))).unzip();
    let n = la.len() as f64;
    let (ma, mb) = (la.iter().sum::<f64>() / n, lb.iter().sum::<f64>() / n);
    let cov: f64 = la.iter().zip(&lb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = la.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = lb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn minimal_example_shows_the_portrait_and_keeps_animating_it() {
    let Some((shots, log)) = run_example_with_log("minimal", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    // Bevy's default window; the sprite shows the 512 x 512 output at 1:1, centred.
    assert_eq!(a.dimensions(), (1280, 720));
    let portrait = demo_portrait();
    assert_eq!(portrait.dimensions(), (512, 512));
    let (x0, y0) = (384, 104);
    let expected: Vec<[u8; 3]> = portrait
        .pixels()
        .map(|p| [p.0[0], p.0[1], p.0[2]])
        .collect();
    for (name, shot) in [("first", a), ("second", b)] {
        let (_, _, shown) = common::examples::region(shot, x0, y0, 512, 512);
        let r = luma_correlation(&shown, &expected);
        eprintln!("{name} screenshot: correlation with the portrait {r:.3}");
        assert!(
            r > 0.9,
            "{name} screenshot: the sprite does not show the portrait (correlation {r:.3})"
        );
    }
    // A still head renders once; idle life changes the face every frame, so frames keep coming.
    let rendered = frames_rendered_at_screenshots(&log);
    eprintln!("frames rendered at the screenshots: {rendered:?}");
    assert_eq!(rendered.len(), 2, "two screenshot lines:\n{log}");
    let (n1, n2) = (&rendered[0], &rendered[1]);
    assert!(
        n1.len() == 1 && n1[0] > 0,
        "one head that has rendered by the first screenshot: {n1:?}"
    );
    assert!(
        n2[0] > n1[0] + 4,
        "the head stopped rendering between the screenshots: {n1:?} -> {n2:?}"
    );
    // The face, 3 s apart: idle life moved it (glances, breathing, drift).
    let changed = changed_pixels(a, b, x0 + 128, y0 + 64, 256, 320);
    eprintln!("{changed} pixels of the face changed between the screenshots");
    assert!(
        changed > 200,
        "the face did not move between the screenshots ({changed} pixels changed)"
    );
}

/// Bounding box `(x0, y0, w, h)` of both eye openings of a rig, 4 px of margin around.
fn eye_box(rig: &PortraitRig) -> (u32, u32, u32, u32) {
    let points: Vec<[f32; 2]> = rig
        .left_eye_opening()
        .into_iter()
        .chain(rig.right_eye_opening())
        .collect();
    let min = |k: usize| points.iter().map(|p| p[k]).fold(f32::MAX, f32::min) - 4.0;
    let max = |k: usize| points.iter().map(|p| p[k]).fold(f32::MIN, f32::max) + 4.0;
    let (x0, y0) = (min(0).max(0.0) as u32, min(1).max(0.0) as u32);
    (x0, y0, max(0) as u32 - x0, max(1) as u32 - y0)
}

/// Pixels of `(x0, y0, w, h)` that differ by more than 24 in some channel between two RGBA frames of
/// width `width`.
fn changed_in(a: &[u8], b: &[u8], width: u32, (x0, y0, w, h): (u32, u32, u32, u32)) -> usize {
    (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| ((y * width + x) * 4) as usize))
        .filter(|&i| (0..3).any(|c| a[i + c].abs_diff(b[i + c]) > 24))
        .count()
}

/// Moves idle life on by `dt` seconds, then updates with the clock stopped until the texture shows that
/// face. Returns the face's blink weight and the head's pixels.
fn step(app: &mut App, head: Entity, dt: f32) -> (f32, Vec<u8>) {
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f32(
        dt,
    )));
    app.update();
    let face = *app.world().get::<FaceFrame>(head).unwrap();
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::ZERO));
    update_until(app, WAIT, "the head to show the new face", |a| {
        let s = stats(a, head);
        s.frames_rendered > 0 && s.last_face_time == face.time && !s.in_flight
    });
    (
        face.expressions.get(Expression::EyeBlinkLeft),
        pixels(app, head),
    )
}

#[test]
fn minimal_example_head_blinks_in_the_rendered_frames() {
    // The example's head, headless: the demo portrait, the mesh warp, IdleLife::default().
    let mut app = app_with(
        ".",
        TalkingHeadPlugin {
            workers: 1,
            // Rig afresh, like a first start, without writing a sidecar other tests could read.
            write_rig_sidecars: false,
            ..default()
        },
    );
    let portrait = app
        .world()
        .resource::<AssetServer>()
        .load("assets/portraits/astronaut.png");
    let head = app
        .world_mut()
        .spawn((TalkingHead::new(portrait), IdleLife::default()))
        .id();
    // Where the eyes are: the rig the tracker finds, as the renderer's own.
    let image = demo_portrait();
    let view = ImageView::new(512, 512, 4, image.as_raw(), "astronaut.png").unwrap();
    let eyes = eye_box(&PortraitRig::build(&tracker(), &view, "astronaut.png").unwrap());
    eprintln!("eye box {eyes:?}");

    // 1/60 s steps, up to 30 s of idle life: the last open frame before the first blink, the most
    // closed frame of that blink, and the first open frame after it.
    let dt = 1.0 / 60.0;
    let mut open: Option<Vec<u8>> = None;
    let mut closed: Option<(f32, Vec<u8>)> = None;
    let mut reopened = None;
    for _ in 0..(30.0 / dt) as usize {
        let (blink, px) = step(&mut app, head, dt);
        match &closed {
            None if blink < 0.02 => open = Some(px),
            Some(_) if blink < 0.02 => {
                reopened = Some(px);
                break;
            }
            Some((most, _)) if blink <= *most => {}
            _ if blink > 0.5 => closed = Some((blink, px)),
            _ => {}
        }
    }
    let open = open.expect("an open-eyed frame before the first blink");
    let (weight, closed) = closed.expect("idle life blinked within 30 s");
    let reopened = reopened.expect("the eyes opened again after the blink");
    let (_, _, w, h) = eyes;
    let (closing, opening) = (
        changed_in(&open, &closed, 512, eyes),
        changed_in(&closed, &reopened, 512, eyes),
    );
    eprintln!(
        "blink weight {weight:.2}: {closing} of {} eye-box pixels changed closing, {opening} opening",
        w * h
    );
    assert!(weight > 0.8, "the blink's most closed frame: {weight:.2}");
    assert!(
        closing > (w * h / 10) as usize,
        "the rendered eyes did not close ({closing} of {} pixels changed)",
        w * h
    );
    assert!(
        opening > (w * h / 10) as usize,
        "the rendered eyes did not open again ({opening} of {} pixels changed)",
        w * h
    );
    assert!(
        app.world().resource::<SeenErrors>().texts().is_empty(),
        "{:?}",
        app.world().resource::<SeenErrors>().texts()
    );
}
