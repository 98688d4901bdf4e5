//! The `streamer_overlay` example in a real window: the persona shows on the chroma-key green, driven by
//! the test video through the live driver, and moves.

mod common;

use common::examples::{changed_pixels, region, run_example};

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
    let (x0, y0, w, h) = (200, 90, 200, 200);
    let (_, std, _) = region(a, x0, y0, w, h);
    assert!(std > 12.0, "the head region is flat (std {std:.1}): blank?");
    let changed = changed_pixels(a, b, x0, y0, w, h);
    eprintln!("{changed} pixels of the face changed between the screenshots");
    assert!(
        changed > 300,
        "the persona does not move ({changed} pixels changed)"
    );
}
