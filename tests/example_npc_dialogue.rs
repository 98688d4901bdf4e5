//! The `npc_dialogue` example in a real window: three NPCs show, and the speaker's face changes between
//! the two screenshots (first line: the painted captain; second line: the engineer).

mod common;

use common::examples::{moving_head, region, run_example};

#[test]
fn npc_dialogue_example_talks() {
    let Some(shots) = run_example("npc_dialogue", 2) else {
        return;
    };
    let (a, b) = (&shots[0], &shots[1]);
    assert_eq!(a.dimensions(), (1100, 650));
    // Each NPC's 320 px portrait is centred at x = 550 + (i - 1) * 350, y = 325 - 90; its face is in the
    // upper middle.
    let mut changed_total = 0;
    for i in 0..3u32 {
        let head = (550 + i * 350 - 350 - 70, 110, 140, 140);
        changed_total += moving_head(a, b, head, &format!("NPC {i}"));
    }
    assert!(
        changed_total > 500,
        "the faces do not move ({changed_total} pixels changed)"
    );
    // The dialogue box is drawn: dark, with light text in it.
    let (mean, std, _) = region(a, 60, 490, 980, 120);
    assert!(
        mean < 90.0 && std > 10.0,
        "dialogue box: mean {mean:.1}, std {std:.1}"
    );
}
