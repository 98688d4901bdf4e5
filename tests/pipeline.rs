//! The async texture pipeline, headless: textures follow faces, in order, without blocking the app.

mod common;

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use common::*;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn onnx_model_changes_the_texture_with_expression_weights() {
    let mut app = app(2);
    let head = spawn_filter_head(
        &mut app,
        24,
        [128, 128, 128, 255],
        "assets/models/expression_tint.onnx",
    );
    update_until(&mut app, WAIT, "the first ONNX frame", |a| {
        stats(a, head).frames_rendered >= 1
    });
    assert_eq!(
        pixels(&app, head).len(),
        24 * 24 * 4,
        "output takes the portrait's size"
    );
    assert_eq!(
        first_pixel(&app, head),
        [128, 128, 128, 255],
        "a neutral face leaves the portrait unchanged"
    );

    // jawOpen darkens by 60 %: 128 * 0.4 = 51.2.
    set_face(&mut app, head, |f| {
        f.expressions.set(Expression::JawOpen, 1.0)
    });
    update_until(&mut app, WAIT, "the jawOpen frame", |a| {
        stats(a, head).frames_rendered >= 2
    });
    assert_eq!(first_pixel(&app, head), [51, 51, 51, 255]);

    // mouthSmileLeft adds red, eyeBlinkLeft adds blue (0.5 each).
    set_face(&mut app, head, |f| {
        f.expressions.set(Expression::JawOpen, 0.0);
        f.expressions.set(Expression::MouthSmileLeft, 1.0);
        f.expressions.set(Expression::EyeBlinkLeft, 0.5);
    });
    update_until(&mut app, WAIT, "the smile frame", |a| {
        stats(a, head).frames_rendered >= 3
    });
    assert_eq!(first_pixel(&app, head), [255, 128, 192, 255]);
    let all = pixels(&app, head);
    assert!(
        all.chunks_exact(4).all(|p| p == [255, 128, 192, 255]),
        "every pixel is written"
    );
    assert!(SeenErrors::texts(app.world().resource()).is_empty());
}

#[test]
fn results_apply_in_frame_order_and_the_last_face_wins() {
    let mut app = app(2);
    let portrait = flat_portrait(&mut app, 8, [0, 0, 0, 255]);
    // Jobs take 0-24 ms depending on the frame, so they finish out of step with the updates.
    let renderer = time_painter(|t| Duration::from_millis((t as u64 * 7) % 25));
    let head = app
        .world_mut()
        .spawn(TalkingHead::new(portrait).with_renderer(renderer))
        .id();
    let mut seen = Vec::new();
    for frame in 1..=120u32 {
        set_face(&mut app, head, |f| f.time = frame as f64);
        app.update();
        if let Some(p) = pixels(&app, head).first() {
            seen.push(*p);
        }
        std::thread::sleep(Duration::from_millis(3));
    }
    update_until(&mut app, WAIT, "the last face", |a| {
        first_pixel(a, head)[0] == 120
    });
    seen.push(120);
    // The texture never goes back to an older frame (0 is the still portrait, shown first).
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "frames applied out of order: {seen:?}"
    );
    let s = stats(&app, head);
    assert!(s.frames_rendered >= 5, "{s:?}");
    assert!(
        s.frames_dropped > 0,
        "faces arriving faster than renders must be dropped: {s:?}"
    );
    assert_eq!(
        s.frames_rendered + s.frames_dropped,
        120,
        "every face is either rendered or dropped: {s:?}"
    );
}

#[test]
fn a_slow_job_never_overwrites_a_newer_frame() {
    let mut app = app(2);
    let portrait = flat_portrait(&mut app, 8, [7, 7, 7, 255]);
    let head = app
        .world_mut()
        .spawn(
            TalkingHead::new(portrait).with_renderer(time_painter(|_| Duration::from_millis(300))),
        )
        .id();
    set_face(&mut app, head, |f| f.time = 200.0);
    app.update();
    update_until(&mut app, WAIT, "the slow job to start", |a| {
        stats(a, head).in_flight
    });
    // While the slow job runs, the head switches to its still portrait: that shows at once...
    app.world_mut()
        .get_mut::<TalkingHead>(head)
        .unwrap()
        .renderer = HeadRendererKind::Still;
    app.update();
    assert_eq!(first_pixel(&app, head), [7, 7, 7, 255]);
    // ...and the slow result, older than the still, is discarded when it lands.
    update_until(&mut app, WAIT, "the slow job to finish", |a| {
        !stats(a, head).in_flight
    });
    for _ in 0..5 {
        app.update();
    }
    assert_eq!(
        first_pixel(&app, head),
        [7, 7, 7, 255],
        "a stale result overwrote a newer frame"
    );
    assert_eq!(stats(&app, head).frames_dropped, 1);
    assert_eq!(stats(&app, head).frames_rendered, 0);
}

#[test]
fn a_200ms_renderer_never_makes_update_wait() {
    let mut app = app(1);
    let portrait = flat_portrait(&mut app, 8, [0, 0, 0, 255]);
    let head = app
        .world_mut()
        .spawn(
            TalkingHead::new(portrait).with_renderer(time_painter(|_| Duration::from_millis(200))),
        )
        .id();
    let window = Duration::from_millis(1000);
    let start = Instant::now();
    let mut updates = 0u32;
    while start.elapsed() < window {
        set_face(&mut app, head, |f| f.time = (updates % 250) as f64);
        app.update();
        updates += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    let s = stats(&app, head);
    // If updates waited for the renderer there would be at most 5 of them in a second.
    assert!(
        updates >= 50,
        "only {updates} updates in {window:?}: the app waited for the renderer"
    );
    assert!((3..=5).contains(&s.frames_rendered), "{s:?}");
    assert!(s.last_render_time >= Duration::from_millis(200), "{s:?}");
}

#[test]
fn a_hundred_heads_render_without_stalling() {
    let mut app = app(2);
    let renderer = time_painter(|_| Duration::from_micros(300));
    let heads: Vec<Entity> = (0..100)
        .map(|i| {
            let portrait = flat_portrait(&mut app, 32, [i as u8, 0, 0, 255]);
            app.world_mut()
                .spawn(TalkingHead::new(portrait).with_renderer(renderer.clone()))
                .id()
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for frame in 1..=60u32 {
        for &h in &heads {
            set_face(&mut app, h, |f| f.time = frame as f64);
        }
        let t = Instant::now();
        app.update();
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    update_until(&mut app, WAIT, "every head to show frame 60", |a| {
        heads.iter().all(|&h| first_pixel(a, h)[0] == 60)
    });
    for &h in &heads {
        let s = stats(&app, h);
        assert!(
            s.frames_rendered >= 2,
            "head {h} rendered too little: {s:?}"
        );
        assert_eq!(s.frames_rendered + s.frames_dropped, 60, "{s:?}");
    }
    // A stall would be an update waiting on renderers: 100 heads x 0.3 ms = 30 ms of work in one go.
    assert!(
        slowest < Duration::from_millis(250),
        "an update took {slowest:?}"
    );
}

#[test]
fn output_texture_exists_at_spawn_and_takes_the_output_size() {
    let mut app = app(1);
    let portrait = flat_portrait(&mut app, 10, [1, 2, 3, 255]);
    let head = app
        .world_mut()
        .spawn(TalkingHead::new(portrait).with_output_size(UVec2::new(20, 6)))
        .id();
    let output = app
        .world()
        .get::<TalkingHead>(head)
        .unwrap()
        .output()
        .clone();
    assert!(
        app.world()
            .resource::<Assets<Image>>()
            .get(&output)
            .is_some(),
        "created when the component is added"
    );
    app.update();
    let image = app
        .world()
        .resource::<Assets<Image>>()
        .get(&output)
        .unwrap();
    assert_eq!((image.width(), image.height()), (20, 6));
    assert_eq!(
        &image.data.as_ref().unwrap()[..4],
        &[1, 2, 3, 255],
        "the still portrait shows at once"
    );
}
