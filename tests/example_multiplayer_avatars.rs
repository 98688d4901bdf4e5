//! The `multiplayer_avatars` example in a real window: four avatars show and move with their recorded
//! face streams.

mod common;

use common::examples::{changed_pixels, region, run_example};

#[test]
fn multiplayer_avatars_example_animates_four_heads() {
    let Some(shots) = run_example("multiplayer_avatars", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    assert_eq!(a.dimensions(), (900, 700));
    // Tile i's 260 px portrait is centred at (450 - 200 + 400 col, 350 - 185 + 345 row); the face fills
    // its upper middle.
    for i in 0..4u32 {
        let (col, row) = (i % 2, i / 2);
        let (cx, cy) = (250 + 400 * col, 165 + 345 * row);
        let (x0, y0, w, h) = (cx - 60, cy - 90, 120, 120);
        let (_, std, _) = region(a, x0, y0, w, h);
        assert!(
            std > 12.0,
            "avatar {i}: the head region is flat (std {std:.1}): blank?"
        );
        let changed = changed_pixels(a, b, x0, y0, w, h);
        eprintln!("avatar {i}: {changed} pixels changed between the screenshots");
        assert!(
            changed > 100,
            "avatar {i} does not move ({changed} pixels changed)"
        );
    }
}
