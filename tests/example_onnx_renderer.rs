//! The `onnx_renderer` example (the `expression_filter` model `expression_tint.onnx` as the head's
//! renderer) runs in a real window (Xvfb + lavapipe), saves two screenshots, and the head in them is
//! neither blank nor frozen: the model darkens it with the scripted jaw.
//!
//! Needs `xvfb-run` and Mesa's lavapipe (`.ci/run` installs them). Without them the test says so and
//! passes, unless `CI` is set, where it fails.

mod common;

use common::examples::{region, run_example};

#[test]
fn onnx_renderer_example_shows_a_head_that_changes() {
    let Some(shots) = run_example("onnx_renderer", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    assert_eq!(a.dimensions(), (800, 600));
    // The head's sprite is 440 px wide, centred 30 px above the middle: sample its middle.
    let (x0, y0, w, h) = (260, 130, 280, 240);
    let (mean_a, std_a, px_a) = region(a, x0, y0, w, h);
    let (mean_b, std_b, px_b) = region(b, x0, y0, w, h);
    let background = a.get_pixel(20, 20).0;
    for (name, mean, std, px) in [
        ("first", mean_a, std_a, &px_a),
        ("second", mean_b, std_b, &px_b),
    ] {
        assert!(
            std > 15.0,
            "{name} screenshot: the head region is flat (std {std:.1}): blank?"
        );
        let not_background = px
            .iter()
            .filter(|p| p.iter().zip(background).any(|(a, b)| a.abs_diff(b) > 8))
            .count();
        assert!(
            not_background > px.len() * 9 / 10,
            "{name}: the head region is mostly background"
        );
        assert!(
            mean > 10.0,
            "{name}: the head region is black (mean {mean:.1})"
        );
    }
    // At script time 1 s the jaw is open (the filter darkens by 60 %), at 2 s it is closed.
    assert!(
        mean_b > mean_a * 1.4,
        "the head did not change between screenshots: luma {mean_a:.1} -> {mean_b:.1}"
    );
}
