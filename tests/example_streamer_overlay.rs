//! The `streamer_overlay` example in a real window: the persona shows on the chroma-key green, driven by
//! the test video through the live driver, and moves.

mod common;

use common::examples::{moving_head, run_example};

#[test]
fn streamer_overlay_example_follows_the_video() {
    let Some(shots) = run_example("streamer_overlay", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    assert_eq!(a.dimensions(), (600, 700));
    // The key colour around the persona.
    let corner = a.get_pixel(5, 5).0;
    assert_eq!(corner, [0, 255, 0], "chroma-key green background");
    // The 560 px persona is centred 60 px above the middle: its face in the upper middle.
    let changed = moving_head(a, b, (200, 90, 200, 200), "the persona's face");
    assert!(
        changed > 300,
        "the persona does not move ({changed} pixels changed)"
    );
}
