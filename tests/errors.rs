//! Bad input gives a clear error naming the file and the problem; the head keeps its still portrait.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{RenderRequest, RenderTarget};
use common::*;

const WAIT: Duration = Duration::from_secs(20);
const GREY: [u8; 4] = [90, 90, 90, 255];

/// Spawns a head with `renderer`, runs until an error arrives and a few frames more; returns the errors.
fn errors_for(
    renderer: impl FnOnce(&AssetServer) -> HeadRendererKind,
) -> (App, Entity, Vec<String>) {
    let mut app = app(1);
    let portrait = flat_portrait(&mut app, 16, GREY);
    let kind = renderer(app.world().resource::<AssetServer>());
    let head = app
        .world_mut()
        .spawn(TalkingHead::new(portrait).with_renderer(kind))
        .id();
    set_face(&mut app, head, |f| {
        f.expressions.set(Expression::JawOpen, 1.0)
    });
    update_until(&mut app, WAIT, "an error", |a| {
        !a.world().resource::<SeenErrors>().texts().is_empty()
    });
    for _ in 0..10 {
        set_face(&mut app, head, |f| f.time += 1.0);
        app.update();
        std::thread::sleep(Duration::from_millis(2));
    }
    let texts = app.world().resource::<SeenErrors>().texts();
    assert_eq!(
        first_pixel(&app, head),
        GREY,
        "the head must fall back to its still portrait"
    );
    assert!(pixels(&app, head).chunks_exact(4).all(|p| p == GREY));
    (app, head, texts)
}

fn model(path: &'static str) -> impl FnOnce(&AssetServer) -> HeadRendererKind {
    move |server| HeadRendererKind::ExpressionFilter(server.load(path))
}

#[test]
fn missing_model_file_names_the_file() {
    let (_, _, errors) = errors_for(model("assets/models/no_such_model.onnx"));
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    assert!(
        errors[0].contains("assets/models/no_such_model.onnx"),
        "{errors:?}"
    );
    assert!(
        errors[0].to_lowercase().contains("not found") || errors[0].contains("No such file"),
        "{errors:?}"
    );
}

#[test]
fn corrupt_model_file_names_the_file_and_says_it_is_not_a_model() {
    let (_, _, errors) = errors_for(model("tests/fixtures/corrupt.onnx"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("tests/fixtures/corrupt.onnx"),
        "{errors:?}"
    );
    assert!(errors[0].contains("cannot load model"), "{errors:?}");
}

#[test]
fn model_with_wrong_input_names_says_which_input_is_missing() {
    let (_, _, errors) = errors_for(model("tests/fixtures/wrong_inputs.onnx"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert!(e.contains("tests/fixtures/wrong_inputs.onnx"), "{e}");
    assert!(e.contains("expression_filter"), "{e}");
    assert!(
        e.contains("input `portrait` is missing") && e.contains("`x`"),
        "{e}"
    );
}

#[test]
fn a_renderer_error_is_reported_and_the_still_portrait_shown() {
    let failing = FnRenderer(
        "failing",
        |_: &RenderRequest<'_>, t: &mut RenderTarget<'_>| {
            t.rgba.fill(255);
            Err(bevy_talking_head::Error::Render {
                renderer: "failing".into(),
                message: "no luck".into(),
            })
        },
    );
    let (app, head, errors) = errors_for(|_| HeadRendererKind::Custom(Arc::new(failing)));
    assert!(
        errors
            .iter()
            .all(|e| e == "renderer `failing` failed: no luck"),
        "{errors:?}"
    );
    assert!(stats(&app, head).frames_failed >= 1);
}

#[test]
fn a_panicking_renderer_does_not_take_the_game_down() {
    let panicking = FnRenderer(
        "panicking",
        |_: &RenderRequest<'_>, _: &mut RenderTarget<'_>| -> bevy_talking_head::Result<()> {
            panic!("renderer bug")
        },
    );
    let (mut app, head, errors) = errors_for(|_| HeadRendererKind::Custom(Arc::new(panicking)));
    assert!(errors[0].contains("panicked: renderer bug"), "{errors:?}");
    // The worker survived: a working renderer on the same pool still renders.
    app.world_mut()
        .get_mut::<TalkingHead>(head)
        .unwrap()
        .renderer = time_painter(|_| Duration::ZERO);
    set_face(&mut app, head, |f| f.time = 42.0);
    update_until(&mut app, WAIT, "a frame after the panic", |a| {
        first_pixel(a, head)[0] == 42
    });
}

#[test]
fn missing_portrait_file_is_reported_by_path() {
    let mut app = app(1);
    let portrait = app
        .world()
        .resource::<AssetServer>()
        .load("assets/portraits/nobody.png");
    app.world_mut().spawn(TalkingHead::new(portrait));
    update_until(&mut app, WAIT, "an error", |a| {
        !a.world().resource::<SeenErrors>().texts().is_empty()
    });
    let errors = app.world().resource::<SeenErrors>().texts();
    assert!(
        errors[0].contains("assets/portraits/nobody.png"),
        "{errors:?}"
    );
}

#[test]
fn nan_in_a_face_frame_is_rendered_as_neutral() {
    let mut app = app(1);
    let head = spawn_filter_head(&mut app, 8, GREY, "assets/models/expression_tint.onnx");
    set_face(&mut app, head, |f| {
        f.expressions.0[Expression::JawOpen as usize] = f32::NAN;
        f.head.yaw = f32::INFINITY;
    });
    update_until(&mut app, WAIT, "a frame", |a| {
        stats(a, head).frames_rendered >= 1
    });
    assert_eq!(first_pixel(&app, head), GREY);
    assert!(app.world().resource::<SeenErrors>().texts().is_empty());
}
