//! The face's skin kept from turning over, whatever moved it.
//!
//! The expression shapes, the driver's own motion and the lid band each keep their own region in
//! order, but where two regions meet a point can still be pushed past its neighbours: the skin at an
//! inner eye corner as the lid closes onto it, the thin triangles at the inner end of the brow-lid band
//! under a frown, a squinted blink on a face turned from the camera. A triangle turned over is drawn as
//! a fold (a hard cut in the picture). [`Untangle`] runs last, on the retargeted points in the
//! portrait's pixels: each face triangle keeps at least [`KEEP`] of its area at rest under the same head
//! motion, by moving its skin points (never the lids, lips or the face's outline, whose places are the
//! expression; a brow a little) the least way that restores it. A triangle the head's turn itself turns away
//! (its rest area under the motion turned over, or under [`GONE`] of its area in the portrait) is the 3D
//! proxy's to hide and is left alone.
//! Every step moves points by a continuous amount (no gate switches on or off), so a face moving
//! smoothly stays smooth.

use super::topology::{
    FACE_OVAL, LEFT_BROW, LEFT_EYE, LOWER_INNER_LIP, LOWER_OUTER_LIP, RIGHT_BROW, RIGHT_EYE,
    UPPER_INNER_LIP, UPPER_OUTER_LIP, triangles,
};

/// The least share of its rest area (under the same head motion) a face triangle keeps.
pub(crate) const KEEP: f32 = 0.05;

/// How far short of [`KEEP`] (a share of the rest area) a triangle may be left: the passes bring
/// triangles up to it only asymptotically where neighbours pull against each other.
const TOLERANCE: f32 = 1e-3;

/// The most a point moves in one update, as a share of the square root of twice the triangle's rest
/// area (its size).
const STEP_SHARE: f32 = 0.05;

/// Passes over the triangles at most (a pass that moves nothing ends it).
const PASSES: usize = 32;

/// A triangle whose rest area under the head motion is less than this share of its area in the
/// portrait (same sign) has been turned edge-on or over by the turn: it is the 3D proxy's to hide and is
/// left alone. Such slivers (a side of the nose at a small turn) are a pixel or less, and two of them
/// sharing an edge can ask for opposite moves forever.
const GONE: f32 = 0.1;

/// Twice the signed area of triangle `t` in `points`' x and y.
fn cross(points: &[[f32; 3]], [a, b, c]: [usize; 3]) -> f32 {
    let p = points;
    (p[b][0] - p[a][0]) * (p[c][1] - p[a][1]) - (p[b][1] - p[a][1]) * (p[c][0] - p[a][0])
}

/// How freely landmark `i` moves to keep the triangles around it: skin 1; a brow [`BROW_GIVE`] (a
/// brow lowered onto a lid widened under it leaves the skin between no room, and the brow gives a
/// little); a lid, a lip or the face's outline, whose places are the expression, not at all.
fn give(i: usize) -> f32 {
    if RIGHT_BROW.contains(&i) || LEFT_BROW.contains(&i) {
        BROW_GIVE
    } else if is_feature(i) {
        0.0
    } else {
        1.0
    }
}

/// How freely a brow point moves against a skin point's 1 (see [`give`]).
const BROW_GIVE: f32 = 0.25;

/// Whether landmark `i` is one whose place is the expression: a lid, a lip or the face's outline.
fn is_feature(i: usize) -> bool {
    RIGHT_EYE.contains(&i)
        || LEFT_EYE.contains(&i)
        || UPPER_OUTER_LIP.contains(&i)
        || LOWER_OUTER_LIP.contains(&i)
        || UPPER_INNER_LIP.contains(&i)
        || LOWER_INNER_LIP.contains(&i)
        || FACE_OVAL.contains(&i)
}

/// The face's triangles with at least one skin point, and which of their points may move.
#[derive(Clone, Debug)]
pub(crate) struct Untangle {
    triangles: Vec<([usize; 3], [f32; 3])>,
    /// Twice each triangle's signed area in the portrait (its landmarks as tracked).
    own: Vec<f32>,
}

impl Untangle {
    /// The face mesh's triangles among its 468 points, for the portrait whose tracked landmarks are
    /// `portrait` (pixels).
    pub fn new(portrait: &[[f32; 3]]) -> Self {
        let triangles: Vec<_> = triangles()
            .iter()
            .map(|t| t.map(usize::from))
            .filter(|t| t.iter().all(|&v| v < 468))
            .map(|t| (t, t.map(give)))
            .filter(|(_, free)| free.iter().any(|&f| f > 0.0))
            .collect();
        let own = triangles
            .iter()
            .map(|&(t, _)| {
                if portrait.len() < 468 {
                    f32::NAN
                } else {
                    cross(portrait, t)
                }
            })
            .collect();
        Self { triangles, own }
    }

    /// Moves the skin points of `points` (a retargeted face, portrait pixels) until every face
    /// triangle keeps [`KEEP`] of its area in `rest` (the portrait's face moved by the same head
    /// motion, without expression). Returns how many triangles needed it in the first pass.
    pub fn apply(&self, points: &mut [[f32; 3]], rest: &[[f32; 3]]) -> usize {
        if points.len() < 468 || rest.len() < 468 {
            return 0;
        }
        let mut first = 0;
        for pass in 0..PASSES {
            let mut moved = 0;
            for (&(t, free), &own) in self.triangles.iter().zip(&self.own) {
                let r = cross(rest, t);
                // Turned edge-on or over by the turn, or gone in the portrait (NaN fails too).
                let kept = r / own;
                if kept.is_nan() || kept <= GONE || own.abs() <= 1e-3 {
                    continue;
                }
                let want = KEEP * r;
                let area = cross(points, t);
                // Only where it is short of `KEEP`; then brought to it (to first order), so a triangle
                // just short moves just a little and the motion stays continuous.
                // Short of what it keeps, on its rest side (NaN: not a number to fix).
                let short = (want - area) * r.signum();
                if short.is_nan() || short <= TOLERANCE * r.abs() {
                    continue;
                }
                // The area's gradient at each point; the least move (over the free points) that
                // brings it to `want` to first order (exactly, when one point is free).
                let [a, b, c] = t.map(|v| [points[v][0], points[v][1]]);
                let g = [
                    [b[1] - c[1], c[0] - b[0]],
                    [c[1] - a[1], a[0] - c[0]],
                    [a[1] - b[1], b[0] - a[0]],
                ];
                let norm: f32 = (0..3)
                    .map(|q| free[q] * (g[q][0] * g[q][0] + g[q][1] * g[q][1]))
                    .sum();
                if norm.is_nan() || norm <= 1e-9 {
                    continue;
                }
                // Each update moves a point by at most a share of the triangle's size: a sliver's
                // short side would otherwise send its far point a long way for a little area, and a
                // face moving a little could then jump.
                let mut step = (want - area) / norm;
                let longest = (0..3)
                    .map(|q| free[q] * step.abs() * g[q][0].hypot(g[q][1]))
                    .fold(0.0f32, f32::max);
                let most = STEP_SHARE * r.abs().sqrt();
                if longest > most {
                    step *= most / longest;
                }
                for q in 0..3 {
                    points[t[q]][0] += step * free[q] * g[q][0];
                    points[t[q]][1] += step * free[q] * g[q][1];
                }
                moved += 1;
            }
            if pass == 0 {
                first = moved;
            }
            if moved == 0 {
                break;
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::canonical_face;

    fn face() -> Vec<[f32; 3]> {
        canonical_face()
            .iter()
            .map(|p| [200.0 + 100.0 * p[0], 200.0 + 100.0 * p[1], 100.0 * p[2]])
            .collect()
    }

    fn turned_over(rest: &[[f32; 3]], points: &[[f32; 3]]) -> usize {
        Untangle::new(rest)
            .triangles
            .iter()
            .filter(|(t, _)| cross(rest, *t) * cross(points, *t) < 0.0)
            .count()
    }

    #[test]
    fn a_face_at_rest_is_left_as_it_is() {
        let rest = face();
        let mut points = rest.clone();
        assert_eq!(Untangle::new(&rest).apply(&mut points, &rest), 0);
        assert_eq!(points, rest);
    }

    #[test]
    fn a_skin_point_pushed_past_its_neighbours_comes_back_and_features_stay() {
        let rest = face();
        let mut points = rest.clone();
        // The skin point above the right eye's inner corner (190) pushed down through the lid, and a
        // lid point (173) with it.
        points[190][1] += 6.0;
        points[173][1] += 2.0;
        let before = turned_over(&rest, &points);
        assert!(before > 0, "the test's push folds nothing");
        let fixed: Vec<usize> = (0..468).filter(|&i| give(i) == 0.0).collect();
        let n = Untangle::new(&rest).apply(&mut points, &rest);
        assert!(n > 0);
        assert_eq!(turned_over(&rest, &points), 0, "{before} folds left");
        let start = {
            let mut p = rest.clone();
            p[190][1] += 6.0;
            p[173][1] += 2.0;
            p
        };
        for i in fixed {
            assert_eq!(points[i], start[i], "feature point {i} moved");
        }
    }

    #[test]
    fn a_turn_that_turns_a_triangle_away_is_left_to_the_proxy() {
        // The turn squeezes the face's right half (x < 200) to a share of its width: at nothing or a
        // twentieth (under `GONE`) its triangles are the proxy's and left alone; at a fifth they are
        // kept from folding as any other.
        let portrait = face();
        for (share, left_alone) in [(0.0, true), (0.05, true), (0.2, false)] {
            let mut rest = face();
            for p in rest.iter_mut() {
                if p[0] < 200.0 {
                    p[0] = 200.0 - (200.0 - p[0]) * share;
                }
            }
            // The skin point above the right eye's inner corner pushed down through the lid.
            let mut points = rest.clone();
            points[190][1] += 12.0;
            Untangle::new(&portrait).apply(&mut points, &rest);
            assert_eq!(
                points[190][1] == rest[190][1] + 12.0,
                left_alone,
                "share {share}: moved to {:?} from {:?}",
                points[190],
                rest[190]
            );
        }
    }

    #[test]
    fn not_a_number_is_left_alone() {
        let rest = face();
        let mut points = rest.clone();
        points[190] = [f32::NAN; 3];
        Untangle::new(&rest).apply(&mut points, &rest);
        assert!(points[190][0].is_nan());
        assert_eq!(points[191], rest[191]);
    }
}
