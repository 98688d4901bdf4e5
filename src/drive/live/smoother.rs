//! The live face's own smoothing of tracked faces ([`LiveFace::smoothing`](super::LiveFace::smoothing)).

use crate::face::FaceFrame;

/// `next` after the previous smoothed face, with a time constant of `amount` x 0.25 s.
pub(super) fn smooth(previous: Option<FaceFrame>, next: &FaceFrame, amount: f32) -> FaceFrame {
    let tau = if amount.is_finite() {
        amount.clamp(0.0, 1.0) * 0.25
    } else {
        0.0
    };
    let Some(prev) = previous.filter(|p| tau > 0.0 && next.time > p.time) else {
        return *next;
    };
    let a = 1.0 - (-((next.time - prev.time) as f32) / tau).exp();
    // The smoothed face keeps the newest sample's capture time.
    FaceFrame {
        time: next.time,
        ..prev.lerp(next, a)
    }
}
