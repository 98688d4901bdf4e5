//! The expression sheet's steps (`examples/expressions.rs`, `make demo`), shared with the tests that
//! render them (`tests/artefacts.rs`): included with `#[path]`.

use bevy_talking_head::prelude::*;

/// The steps of the script, and the face at full strength for each.
pub fn steps() -> [(&'static str, FaceFrame); 9] {
    use Expression as E;
    let n = FaceFrame::neutral;
    let look = |yaw: f32| {
        let mut f = n();
        f.gaze.left = [yaw, 0.0];
        f.gaze.right = [yaw, 0.0];
        f
    };
    let turn = |yaw: f32, pitch: f32| {
        let mut f = n();
        f.head.yaw = yaw;
        f.head.pitch = pitch;
        f
    };
    [
        ("neutral", n()),
        (
            "blink",
            n().with_expression(E::EyeBlinkLeft, 1.0)
                .with_expression(E::EyeBlinkRight, 1.0),
        ),
        (
            "smile",
            n().with_expression(E::MouthSmileLeft, 1.0)
                .with_expression(E::MouthSmileRight, 1.0),
        ),
        ("jaw open", n().with_expression(E::JawOpen, 0.8)),
        ("look left", look(0.5)),
        ("look right", look(-0.5)),
        ("turn left", turn(0.35, 0.0)),
        ("turn right", turn(-0.35, 0.0)),
        ("nod", turn(0.0, -0.3)),
    ]
}
