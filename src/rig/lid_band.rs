//! The skin between each brow and the upper lid below it: it stretches and bunches between the two, and
//! never folds over either.
//!
//! The expression shapes move the band's points each by its own offset. Where two shapes squeeze it
//! (a lowered brow over a widened eye, anger's glare; a brow lowered on a portrait whose brows sit close
//! above the lids, Mona Lisa's and the Girl with a Pearl Earring's), a point near the brow, pushed down
//! by the brow's shape, passed one near the lid: a triangle turned over, a dark or light crease cut
//! across the upper lid. Two guards: `limit_brow_descent` scales each browDown shape so that a full
//! frown closes at most `MAX_BROW_DESCENT` of a brow's height over its lid, and `LidBand` places every
//! band point at its rest share of the way from the brow to the lid, as the two now lie, wherever they
//! have come closer, so the band keeps its order whatever the shapes do.
//!
//! At the outer eye corners a closing lid folds the skin too: `open_outer_corners` turns the skin point
//! above each corner about the corner until the two triangles between it, the corner and the lid keep a
//! quarter of their rest area.

use super::topology::{LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE};
use crate::face::Expression;

/// A point of the band: where it lies between the brow's lower contour and the upper lid, each read as
/// a polyline at the point's rest `x`.
#[derive(Clone, Copy, Debug)]
struct BandPoint {
    /// The landmark.
    index: u16,
    /// The brow's lower contour over it: two landmarks and the share of the second.
    brow: (u16, u16, f32),
    /// The upper lid under it, likewise.
    lid: (u16, u16, f32),
    /// Its rest share of the way from the brow (0) to the lid (1).
    share: f32,
    /// The brow's and the lid's rest heights over and under it.
    rest: [f32; 2],
}

/// The points between the brows and the upper lids of one portrait (see the module).
#[derive(Clone, Debug, Default)]
pub(crate) struct LidBand {
    points: Vec<BandPoint>,
}

/// A contour's points sorted by `x` in `canon`.
fn by_x(canon: &[[f32; 3]], contour: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = contour.into_iter().collect();
    v.sort_by(|&a, &b| canon[a][0].total_cmp(&canon[b][0]));
    v
}

/// An eye's upper lid from corner to corner, sorted by `x` (the ring runs along the lower lid first).
fn upper_lid(canon: &[[f32; 3]], eye: &[usize; 16]) -> Vec<usize> {
    by_x(
        canon,
        [eye[0], eye[8]].into_iter().chain(eye[9..].iter().copied()),
    )
}

/// The segment of `contour` (sorted by x) over `x` and the share of its second end, if `x` is inside.
fn over(canon: &[[f32; 3]], contour: &[usize], x: f32) -> Option<(u16, u16, f32)> {
    contour.windows(2).find_map(|w| {
        let (a, b) = (canon[w[0]][0], canon[w[1]][0]);
        (a <= x && x <= b && b > a).then(|| (w[0] as u16, w[1] as u16, (x - a) / (b - a)))
    })
}

fn at(canon: &[[f32; 3]], (a, b, t): (u16, u16, f32)) -> f32 {
    canon[a as usize][1] * (1.0 - t) + canon[b as usize][1] * t
}

/// The most of a brow's rest height over its lid (at any point of its lower contour) that a full
/// browDown takes away: a lowered brow bunches the skin above the lid, it does not reach the lid.
/// Folds under the 17 test portraits' frowns: 142 unlimited, 46 at 0.5, 23 at 0.4, 15 at 0.35 (where
/// the frowns grow faint on portraits with a wide brow-lid gap).
pub const MAX_BROW_DESCENT: f32 = 0.4;

/// Scales each browDown shape of `shapes` (one per [`Expression`], vertical offsets applied times
/// `vertical`) so that at full weight no point of the brow's lower contour comes closer to the lid under
/// it than `1 - MAX_BROW_DESCENT` of its rest height over it in `canon`.
pub(crate) fn limit_brow_descent(
    canon: &[[f32; 3]],
    shapes: &mut [Vec<(u16, [f32; 3])>],
    vertical: f32,
) {
    for (eye, brow, down) in [
        (&RIGHT_EYE, &RIGHT_BROW, Expression::BrowDownRight),
        (&LEFT_EYE, &LEFT_BROW, Expression::BrowDownLeft),
    ] {
        let shape = &mut shapes[down as usize];
        let dy = |i: u16| {
            shape
                .iter()
                .find(|(j, _)| *j == i)
                .map_or(0.0, |(_, d)| d[1] * vertical)
        };
        let lid = upper_lid(canon, eye);
        let mut worst = 0.0f32;
        for &b in &brow[5..] {
            let Some(l) = over(canon, &lid, canon[b][0]) else {
                continue;
            };
            let gap = at(canon, l) - canon[b][1];
            let closing = dy(b as u16) - (dy(l.0) * (1.0 - l.2) + dy(l.1) * l.2);
            if gap > 1e-4 && closing.is_finite() {
                worst = worst.max(closing / gap);
            }
        }
        if worst > MAX_BROW_DESCENT {
            let scale = MAX_BROW_DESCENT / worst;
            for (_, d) in shape.iter_mut() {
                *d = d.map(|v| v * scale);
            }
        }
    }
}

impl LidBand {
    /// The band of a portrait whose landmarks in the canonical frame are `canon` (the face mesh's 468,
    /// y down): every landmark but the brows' and the eyes' own that lies between a brow's lower
    /// contour and the upper lid under it.
    pub(crate) fn new(canon: &[[f32; 3]]) -> Self {
        let mut points = Vec::new();
        for (eye, brow) in [(&RIGHT_EYE, &RIGHT_BROW), (&LEFT_EYE, &LEFT_BROW)] {
            let lid = upper_lid(canon, eye);
            let lower_brow = by_x(canon, brow[5..].iter().copied());
            for (i, p) in canon.iter().enumerate().take(468) {
                if eye.contains(&i) || brow.contains(&i) || !p.iter().all(|v| v.is_finite()) {
                    continue;
                }
                let (Some(b), Some(l)) = (over(canon, &lower_brow, p[0]), over(canon, &lid, p[0]))
                else {
                    continue;
                };
                let (top, bottom) = (at(canon, b), at(canon, l));
                let share = (p[1] - top) / (bottom - top);
                if bottom - top > 1e-4 && share > 0.0 && share < 1.0 {
                    points.push(BandPoint {
                        index: i as u16,
                        brow: b,
                        lid: l,
                        share,
                        rest: [top, bottom],
                    });
                }
            }
        }
        Self { points }
    }

    /// How many landmarks the band holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    /// Puts each band point of `canon` (after the shapes) at its rest share between the brow and the lid
    /// as they lie in `canon` now, where the two have come closer together: fully once the gap has
    /// closed by [`SQUEEZE`], by the share of that before (so nothing jumps). A lid that closes (a
    /// blink) does not stretch the band: the band's lower end stays at the lid's rest height then, and
    /// the shapes' own motion of the band is kept. A column whose brow has come down to its lid is left
    /// as it is.
    pub(crate) fn apply(&self, canon: &mut [[f32; 3]]) {
        for p in &self.points {
            let top = at(canon, p.brow);
            let bottom = at(canon, p.lid).min(p.rest[1]);
            let squeeze = 1.0 - (bottom - top) / (p.rest[1] - p.rest[0]);
            let k = (squeeze / SQUEEZE).clamp(0.0, 1.0);
            let y = &mut canon[p.index as usize][1];
            let placed = *y + k * (top + p.share * (bottom - top) - *y);
            if bottom > top && placed.is_finite() {
                *y = placed;
            }
        }
    }
}

/// How far the gap between a brow and its lid closes (a share of its rest height) before [`LidBand`]
/// places the points between them wholly by their rest shares.
const SQUEEZE: f32 = 0.1;

/// The skin point above each outer eye corner and the two triangles it closes with the corner and the
/// upper lid: `(skin point, corner, upper lid point next to the corner, skin point over that)`, the
/// triangles `[lid, corner, skin]` and `[over, lid, skin]`; the subject's right eye, then the left.
const CORNER_FANS: [[usize; 4]; 2] = [[247, 33, 246, 30], [467, 263, 466, 260]];

/// How much of its rest area each corner triangle keeps at least.
const CORNER_KEEP: f32 = 0.25;

/// How far the skin point above an outer eye corner turns about the corner at most, degrees.
const MAX_CORNER_TURN: i32 = 30;

/// Twice the signed areas of each outer corner's two triangles ([`CORNER_FANS`]) in `points`' x and y.
pub(crate) fn corner_areas(points: &[[f32; 3]]) -> [[f32; 2]; 2] {
    let cross = |[a, b, c]: [usize; 3]| {
        let p = points;
        (p[b][0] - p[a][0]) * (p[c][1] - p[a][1]) - (p[b][1] - p[a][1]) * (p[c][0] - p[a][0])
    };
    CORNER_FANS
        .map(|[skin, corner, lid, over]| [cross([lid, corner, skin]), cross([over, lid, skin])])
}

/// Keeps the two triangles of skin between each outer eye corner and the upper lid from turning over as
/// drawn (`points`: a retargeted face in the portrait's pixels; `rest`: the portrait's own
/// [`corner_areas`]). The lower lid falls away from the corner about along the line from the skin
/// point above the corner through the corner, so an upper lid closed onto it left the triangle at the
/// corner edge-on or turned over on 14 of the 17 test portraits (a kink in the lash line): the skin
/// point turns about the corner, by the least angle that leaves both triangles [`CORNER_KEEP`] of their
/// rest area (or, where no angle within [`MAX_CORNER_TURN`] does, by the one that leaves the smaller
/// share largest).
pub(crate) fn open_outer_corners(rest: [[f32; 2]; 2], points: &mut [[f32; 3]]) {
    for (k, (fan, at_rest)) in CORNER_FANS.into_iter().zip(rest).enumerate() {
        let share = |points: &[[f32; 3]]| {
            let now = corner_areas(points)[k];
            (0..2)
                .map(|t| now[t] / at_rest[t])
                .fold(f32::INFINITY, f32::min)
        };
        let here = share(points);
        if here >= CORNER_KEEP || here.is_nan() || at_rest.iter().any(|a| a.abs() < 1e-6) {
            continue;
        }
        let [skin, corner, ..] = fan;
        let (centre, start) = (points[corner], points[skin]);
        let turned = |degrees: i32| {
            let (s, c) = (degrees as f32).to_radians().sin_cos();
            let d = [start[0] - centre[0], start[1] - centre[1]];
            [
                centre[0] + c * d[0] - s * d[1],
                centre[1] + s * d[0] + c * d[1],
                start[2],
            ]
        };
        let (mut best, mut best_share) = (0, here);
        for step in 1..=MAX_CORNER_TURN {
            for degrees in [step, -step] {
                points[skin] = turned(degrees);
                let s = share(points);
                if s > best_share {
                    (best, best_share) = (degrees, s);
                }
            }
            if best_share >= CORNER_KEEP {
                break;
            }
        }
        points[skin] = turned(best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::canonical_face;

    #[test]
    fn a_lid_closed_steeply_beside_the_outer_corner_leaves_the_corner_triangles_unturned() {
        // The canonical face at 100 px an eye distance; each upper lid point next to an outer corner
        // comes down below the corner, onto the line from the skin point above through the corner (as
        // a lid closed onto a lower lid that falls away steeply from the corner does).
        let rest: Vec<[f32; 3]> = canonical_face()
            .iter()
            .map(|p| [100.0 * p[0], 100.0 * p[1], 100.0 * p[2]])
            .collect();
        let areas = corner_areas(&rest);
        let mut closed = rest.clone();
        for (lid, corner, skin) in [(246, 33, 247), (466, 263, 467)] {
            let down = [
                closed[corner][0] - closed[skin][0],
                closed[corner][1] - closed[skin][1],
            ];
            closed[lid] = [
                closed[corner][0] + 0.6 * down[0],
                closed[corner][1] + 0.6 * down[1],
                closed[lid][2],
            ];
        }
        let turned = |p: &[[f32; 3]]| {
            let now = corner_areas(p);
            (0..2)
                .flat_map(|k| (0..2).map(move |t| (k, t)))
                .filter(|&(k, t)| now[k][t] * areas[k][t] <= 0.0)
                .count()
        };
        assert!(
            turned(&closed) > 0,
            "the test lid does not turn a triangle over"
        );
        let mut kept = closed.clone();
        open_outer_corners(areas, &mut kept);
        let now = corner_areas(&kept);
        for k in 0..2 {
            for t in 0..2 {
                let share = now[k][t] / areas[k][t];
                assert!(
                    share >= CORNER_KEEP - 1e-3,
                    "eye {k}, triangle {t}: {share} of its area"
                );
            }
        }
        // Only the skin points above the corners moved, and not far (within a turn of 30 degrees).
        for (i, (a, b)) in closed.iter().zip(&kept).enumerate() {
            let moved = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            if i == 247 || i == 467 {
                assert!(moved > 0.0 && moved < 3.0, "{i} moved {moved} px");
            } else {
                assert_eq!(moved, 0.0, "{i} moved");
            }
        }
        // A face whose corners are fine is left as it is.
        let mut open = rest.clone();
        open_outer_corners(areas, &mut open);
        assert_eq!(open, rest);
    }

    #[test]
    fn the_band_holds_the_creases_and_folds_above_both_eyes_and_leaves_a_still_face_still() {
        let canon = canonical_face().to_vec();
        let band = LidBand::new(&canon);
        // The crease above each lid and the fold above it (MediaPipe's eyeUpper1/2 rings).
        for i in [27, 28, 29, 56, 222, 223, 257, 258, 259, 286, 442, 443] {
            assert!(
                band.points.iter().any(|p| p.index == i),
                "landmark {i} is between a brow and its lid"
            );
        }
        assert!(band.len() < 40, "{} points: only the band", band.len());
        let mut moved = canon.clone();
        band.apply(&mut moved);
        for (a, b) in canon.iter().zip(&moved) {
            assert!((a[1] - b[1]).abs() < 1e-5);
        }
    }

    #[test]
    fn a_brow_lowered_onto_a_risen_lid_keeps_the_band_in_order() {
        let canon = canonical_face().to_vec();
        let band = LidBand::new(&canon);
        let mut moved = canon.clone();
        // The brow down by 80 % of its height over the lid, the lid up by 10 %: the crease (27) must
        // stay between the fold (223) and the lid (159), and all of them between brow (52) and lid.
        let gap = canon[159][1] - canon[52][1];
        for i in RIGHT_BROW {
            moved[i][1] += 0.8 * gap;
        }
        for i in RIGHT_EYE[9..].iter() {
            moved[*i][1] -= 0.1 * gap;
        }
        // What a shape might have done to the band on its own: the fold pushed down past the crease.
        moved[223][1] = canon[27][1] + 0.05 * gap;
        band.apply(&mut moved);
        assert!(moved[52][1] < moved[223][1], "brow above the fold");
        assert!(moved[223][1] < moved[27][1], "fold above the crease");
        assert!(moved[27][1] < moved[159][1], "crease above the lid");
        // NaN from a broken shape is not spread.
        moved[52][1] = f32::NAN;
        band.apply(&mut moved);
        assert!(moved[223][1].is_finite());
    }

    #[test]
    fn a_closing_lid_leaves_the_band_as_the_shapes_moved_it() {
        let canon = canonical_face().to_vec();
        let band = LidBand::new(&canon);
        let mut moved = canon.clone();
        // A blink: the upper lid down by most of the eye's height, the crease a little down with it.
        for i in RIGHT_EYE[9..].iter() {
            moved[*i][1] += 0.04;
        }
        moved[27][1] += 0.005;
        let before = moved.clone();
        band.apply(&mut moved);
        assert_eq!(before, moved, "a blink alone squeezes nothing");
        // The brow down by 5 % of its gap: the band moves part of the way to its shares.
        let gap = canon[159][1] - canon[52][1];
        for i in RIGHT_BROW {
            moved[i][1] += 0.05 * gap;
        }
        let shaped = moved[27][1];
        band.apply(&mut moved);
        let p = band.points.iter().find(|p| p.index == 27).unwrap();
        let (top, bottom) = (at(&moved, p.brow), at(&moved, p.lid).min(p.rest[1]));
        let k = (1.0 - (bottom - top) / (p.rest[1] - p.rest[0])) / SQUEEZE;
        assert!(k > 0.3 && k < 0.7, "half squeezed: {k}");
        let placed = top + p.share * (bottom - top);
        assert!((moved[27][1] - (shaped + k * (placed - shaped))).abs() < 1e-6);
        assert!(
            (moved[27][1] - shaped).abs() > 1e-4,
            "the crease moved towards its share"
        );
    }
}
