//! How squarely the frame shows each eye. On a face turned far from the camera the far eye lies around
//! the bridge of the nose and the temple, turned away, where the picture shows no eye: the mesh there
//! is skin, and the closing lid's redrawn skin and dark lash line, drawn over the face after it, must
//! fade out with it (a dash across the bridge of the nose where no eye can be seen).

use crate::math::smoothstep;
use crate::rig::topology::{eye_fold, eye_ring};
use crate::tracking::canonical_face;

/// How squarely the frame shows an eye (the skin between its corners and its fold: its area in the
/// frame over its area in 3D, negative when it faces away) below which, and up to which, the closing
/// lid fades out. Over the test portraits: 0.55-0.99 for eyes facing the camera, 0.34-0.46 for the far
/// eye of a three-quarter view (the Girl with a Pearl Earring, Mona Lisa, van Gogh; less in a squint,
/// whose fold comes down), 0.13 and 0.17-0.19 for the far eyes of the two photos turned far from the
/// camera, hidden behind the nose.
const FACING: [f32; 2] = [0.15, 0.33];

/// How much of what is drawn of eye `side` over the face (its closing lid and lash line) shows in
/// `target` (frame pixels with depth): 1 for an eye facing the camera, fading to 0 as it turns away
/// ([`FACING`]). A face with too few points, or not a number, shows it.
pub(crate) fn shown(target: &[[f32; 3]], side: usize) -> f32 {
    let f = facing(target, side);
    if f.is_nan() {
        1.0
    } else {
        smoothstep(FACING[0], FACING[1], f)
    }
}

/// How squarely `points` show eye `side` (the skin between its corners and its fold): its signed area
/// in the frame over its area in 3D, positive when it is drawn the way round the face seen from the
/// front draws it (the canonical face, whose axes the frame shares, as the 3D proxy's back faces
/// assume: `proxy::facing` is the same measure for one triangle).
fn facing(points: &[[f32; 3]], side: usize) -> f32 {
    if points.len() < 468 {
        return f32::NAN;
    }
    // The skin between the eye's corners and the fold above it: the opening itself closes in a blink
    // (no area to tell), this does not.
    let (eye, fold) = (eye_ring(side), eye_fold(side));
    let mut band = [eye[0]; 9];
    band[1] = eye[8];
    for (b, &f) in band[2..].iter_mut().zip(fold.iter().rev()) {
        *b = f;
    }
    // Twice the band's vector area in `p`.
    let area = |p: &[[f32; 3]]| {
        let mut n = [0.0f32; 3];
        for (k, &i) in band.iter().enumerate() {
            let (a, b) = (p[i], p[band[(k + 1) % band.len()]]);
            n[0] += a[1] * b[2] - a[2] * b[1];
            n[1] += a[2] * b[0] - a[0] * b[2];
            n[2] += a[0] * b[1] - a[1] * b[0];
        }
        n
    };
    let front = area(canonical_face())[2].signum();
    let n = area(points);
    front * n[2] / (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical face in pixels (its axes are the frame's: y down, nearer is smaller), turned by
    /// `yaw` radians about the vertical axis.
    fn face(yaw: f32) -> Vec<[f32; 3]> {
        canonical_face()
            .iter()
            .map(|p| {
                let (x, z) = (
                    p[0] * yaw.cos() + p[2] * yaw.sin(),
                    -p[0] * yaw.sin() + p[2] * yaw.cos(),
                );
                [200.0 + 100.0 * x, 200.0 + 100.0 * p[1], 100.0 * z]
            })
            .collect()
    }

    #[test]
    fn eyes_facing_the_camera_show_and_a_far_eye_turned_away_fades() {
        let front = face(0.0);
        for side in 0..2 {
            assert!(facing(&front, side) > 0.5, "{}", facing(&front, side));
            assert_eq!(shown(&front, side), 1.0);
        }
        // Turned 80 degrees either way: the far eye faces away and draws nothing; the near one still
        // shows nearly all. Which eye is far depends on the turn's sign and the canonical face's
        // handedness, so each turn is checked on both eyes.
        for yaw in [1.4f32, -1.4] {
            let turned = face(yaw);
            let mut s = [shown(&turned, 0), shown(&turned, 1)];
            s.sort_by(f32::total_cmp);
            assert_eq!(s[0], 0.0, "yaw {yaw}: {s:?}");
            assert!(s[1] > 0.8, "yaw {yaw}: {s:?}");
        }
        // Too few points, or not a number: shown.
        assert_eq!(shown(&front[..100], 0), 1.0);
        let mut nan = front.clone();
        nan[33] = [f32::NAN; 3];
        assert_eq!(shown(&nan, 0), 1.0);
    }
}
