//! Without ONNX Runtime the game still runs: an ONNX head shows its still portrait and the error says
//! which command to run. (Its own test binary: ONNX Runtime is loaded once per process.)

mod common;

use std::time::Duration;

use common::*;

#[test]
fn missing_onnx_runtime_names_the_setup_command_and_keeps_the_still_portrait() {
    // SAFETY: set before any thread of this test binary reads the environment.
    unsafe { std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1") };
    let mut app = app(1);
    let head = spawn_filter_head(
        &mut app,
        8,
        [33, 66, 99, 255],
        "assets/models/expression_tint.onnx",
    );
    update_until(&mut app, Duration::from_secs(20), "an error", |a| {
        !a.world().resource::<SeenErrors>().texts().is_empty()
    });
    let errors = app.world().resource::<SeenErrors>().texts();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert!(e.contains("assets/models/expression_tint.onnx"), "{e}");
    assert!(
        e.contains("ONNX Runtime is not available") && e.contains("make setup"),
        "{e}"
    );
    assert!(e.contains("/nonexistent/libonnxruntime.so.1.31.1"), "{e}");
    for _ in 0..5 {
        app.update();
    }
    assert_eq!(first_pixel(&app, head), [33, 66, 99, 255]);
}
