//! The `expressions` example (the mesh warp, the default renderer) runs in a real window: the head shows,
//! and the jaw-open and turn-left screenshots differ from the neutral one where the face is.

mod common;

use common::examples::{changed_pixels, region, run_example};

#[test]
fn expressions_example_animates_the_portrait() {
    let Some(shots) = run_example("expressions", 3) else {
        return;
    };
    let (neutral, jaw, turn) = (&shots[0], &shots[1], &shots[2]);
    assert_eq!(neutral.dimensions(), (800, 600));
    // The 520 px sprite is centred 20 px above the middle; its face is in the upper middle.
    let (x0, y0, w, h) = (300, 60, 200, 200);
    let (_, std, _) = region(neutral, x0, y0, w, h);
    assert!(std > 15.0, "the head region is flat (std {std:.1}): blank?");
    let (d_jaw, d_turn) = (
        changed_pixels(neutral, jaw, x0, y0, w, h),
        changed_pixels(neutral, turn, x0, y0, w, h),
    );
    eprintln!("pixels changed from neutral: jaw open {d_jaw}, turn left {d_turn}");
    assert!(
        d_jaw > 300,
        "the jaw-open screenshot looks neutral ({d_jaw} pixels changed)"
    );
    assert!(
        d_turn > 300,
        "the turn-left screenshot looks neutral ({d_turn} pixels changed)"
    );
}
