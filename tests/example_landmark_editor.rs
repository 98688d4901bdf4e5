//! The `landmark_editor` example in a real window: the portrait with its points, and the preview head;
//! a scripted edit (the mouth region 12 px down, as a Shift+drag would) moves the mouth's points and
//! re-rigs the preview.

mod common;

use common::examples::{moving_head, region, run_example};

/// Pixels of the mouth points' magenta in a region.
fn magenta(img: &image::RgbImage, x0: u32, y0: u32, w: u32, h: u32) -> Vec<(u32, u32)> {
    let mut v = Vec::new();
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let p = img.get_pixel(x, y).0;
            if p[0] > 200 && p[1] < 120 && p[2] > 150 {
                v.push((x, y));
            }
        }
    }
    v
}

#[test]
fn landmark_editor_example_edits_and_rerigs() {
    let Some(shots) = run_example("landmark_editor", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    assert_eq!(a.dimensions(), (1100, 620));
    // The portrait (500 px, centred at x = 550 - 280) with its points.
    let (_, std, _) = region(a, 70, 60, 400, 400);
    assert!(std > 12.0, "the portrait is blank (std {std:.1})");
    let (ma, mb) = (magenta(a, 20, 40, 500, 500), magenta(b, 20, 40, 500, 500));
    assert!(
        ma.len() > 40,
        "the mouth points are drawn ({} magenta pixels)",
        ma.len()
    );
    let mean_y =
        |v: &[(u32, u32)]| v.iter().map(|p| p.1 as f64).sum::<f64>() / v.len().max(1) as f64;
    let moved = mean_y(&mb) - mean_y(&ma);
    eprintln!("mouth points moved down by {moved:.1} window pixels");
    // 12 portrait pixels, shown zoomed in on the face (a square twice the face's size).
    assert!(moved > 12.0, "the mouth points moved {moved:.1} px");
    // The preview (centred at x = 550 + 280) shows the head and it moves.
    let changed = moving_head(a, b, (700, 80, 260, 260), "the preview");
    assert!(
        changed > 200,
        "the preview does not move ({changed} pixels changed)"
    );
}
