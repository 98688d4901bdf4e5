//! The `expressions` example (the mesh warp, the default renderer) runs in a real window: the head shows,
//! and the jaw-open and turn-left screenshots differ from the neutral one where the face is.

mod common;

use common::examples::{region, run_example};

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
    let differing = |a: &image::RgbImage, b: &image::RgbImage| {
        let (_, _, pa) = region(a, x0, y0, w, h);
        let (_, _, pb) = region(b, x0, y0, w, h);
        pa.iter()
            .zip(&pb)
            .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 24))
            .count()
    };
    let (d_jaw, d_turn) = (differing(neutral, jaw), differing(neutral, turn));
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
