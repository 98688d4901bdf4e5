//! The `inspector` example (feature `egui`) in a real window: the egui panel is drawn (with the
//! portrait and the rendered head in it), and the head beside it talks.
#![cfg(feature = "egui")]

mod common;

use common::examples::{moving_head, region, run_example};

#[test]
fn inspector_example_draws_the_panel_and_the_head_talks() {
    let Some(shots) = run_example("inspector", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    assert_eq!(a.dimensions(), (1200, 760));
    // The egui window at the top left: its dark panel with text, and the two 250 px pictures in it.
    let (mean, std, _) = region(a, 20, 20, 500, 24);
    eprintln!("panel title bar: mean {mean:.1}, std {std:.1}");
    assert!(
        mean < 90.0 && std > 5.0,
        "no egui panel drawn (mean {mean:.1}, std {std:.1})"
    );
    let (_, std, _) = region(a, 40, 80, 200, 200);
    assert!(
        std > 15.0,
        "the portrait in the panel is missing (std {std:.1})"
    );
    // Third in the row: the driving video's preview with its landmarks (green).
    let video = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/driving/webcam_talking.mp4");
    if video.exists() {
        let (_, std, px) = region(a, 550, 90, 140, 140);
        let green = px
            .iter()
            .filter(|p| p[1] > 200 && p[0] < 140 && p[2] < 170)
            .count();
        eprintln!("video preview: std {std:.1}, {green} landmark pixels");
        assert!(
            std > 12.0 && green > 30,
            "no video preview with landmarks (std {std:.1}, {green} green)"
        );
    }
    // The head on the right (440 px, centred at x = 600 + 360, y = 380 - 40).
    let changed = moving_head(a, b, (880, 150, 160, 160), "the head");
    assert!(
        changed > 100,
        "the head does not move ({changed} pixels changed)"
    );
}
