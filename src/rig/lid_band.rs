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
//! At the outer eye corners a closing lid folds the skin too: `OuterCorners` turns the two skin points
//! there until every triangle holding them keeps a quarter of its rest area.

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
    /// Where a raised brow stretches the band, how much further towards the brow (negative) or the
    /// lid than an even stretch this point goes, per unit of stretch: the band's stretch goes into
    /// its lighter skin rather than into the shadow under the brow ([`LidBand::shade`]). 0 until
    /// measured.
    lift: f32,
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
                        lift: 0.0,
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
            // A stretched band (a raised brow) stretches its light skin more than its shadow; a lid
            // closing below its rest does not stretch it.
            let grown = (bottom - top) - (p.rest[1] - p.rest[0]);
            let lifted = canon[p.index as usize][1] + grown.max(0.0) * p.lift;
            if grown > 0.0 && lifted.is_finite() {
                canon[p.index as usize][1] = lifted;
            }
        }
    }
}

/// How much more a stretched band's lighter skin stretches than its darker: the stretch density along a
/// column goes as `(luma / brightest) ^ SHADE_POWER`.
const SHADE_POWER: f32 = 4.0;

/// The least stretch density, against the brightest skin's 1: a black band still stretches a little.
const SHADE_FLOOR: f32 = 0.05;

/// Samples along a column of the band from brow to lid.
const SHADE_SAMPLES: usize = 24;

impl LidBand {
    /// Measures, in `image` (whose landmarks in pixels are `landmarks`), where each column of the band
    /// is light and where it is in shadow, so that a raised brow stretches the light skin and carries
    /// the shadow under the brow up with it, instead of stretching that shadow into a dark arch (Mona
    /// Lisa: the shading between her lid crease and brow ridge, stretched 4 times at a full raise, drew
    /// heavy brows she does not have). Along each point's column (from the brow's lower contour to
    /// the upper lid, at the point's place along both) the stretch density is
    /// `(luma / brightest) ^ SHADE_POWER`; the point moves by the band's growth times how much of that
    /// density lies between the brow and it, less its even share. A column of even luma keeps the
    /// shapes' own motion.
    pub(crate) fn shade(&mut self, image: &crate::portrait::PortraitImage, landmarks: &[[f32; 3]]) {
        let pos = |(a, b, t): (u16, u16, f32)| -> [f32; 2] {
            let (p, q) = (landmarks[a as usize], landmarks[b as usize]);
            [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t]
        };
        for p in &mut self.points {
            p.lift = 0.0;
            let (top, bottom) = (pos(p.brow), pos(p.lid));
            let mut luma = [0.0f32; SHADE_SAMPLES];
            for (j, l) in luma.iter_mut().enumerate() {
                let s = (j as f32 + 0.5) / SHADE_SAMPLES as f32;
                let (x, y) = (
                    top[0] + (bottom[0] - top[0]) * s,
                    top[1] + (bottom[1] - top[1]) * s,
                );
                *l = (-1..=1)
                    .map(|dx| super::fit::luma(image, x + dx as f32, y))
                    .sum::<f32>()
                    / 3.0;
            }
            let brightest = luma.iter().copied().fold(0.0f32, f32::max);
            if luma.iter().any(|v| !v.is_finite()) || brightest <= 1.0 {
                continue;
            }
            let density = luma.map(|l| (l / brightest).powf(SHADE_POWER).max(SHADE_FLOOR));
            let total: f32 = density.iter().sum();
            // The density's share from the brow to the point's rest share (piecewise constant).
            let at = p.share.clamp(0.0, 1.0) * SHADE_SAMPLES as f32;
            let whole = (at as usize).min(SHADE_SAMPLES);
            let mut below: f32 = density[..whole].iter().sum();
            if whole < SHADE_SAMPLES {
                below += density[whole] * (at - whole as f32);
            }
            p.lift = below / total - p.share;
        }
    }
}

/// How far the gap between a brow and its lid closes (a share of its rest height) before [`LidBand`]
/// places the points between them wholly by their rest shares.
const SQUEEZE: f32 = 0.1;

/// Each outer eye corner's points that a closing lid folds the skin around: `[skin point above the
/// corner, corner, upper lid point next to the corner, skin point above that]`; the subject's right eye,
/// then the left.
const CORNER_FANS: [[usize; 4]; 2] = [[247, 33, 246, 30], [467, 263, 466, 260]];

/// How much of its rest area each of the two triangles at an outer corner (`[lid, corner, skin]` and
/// `[over, lid, skin]` of [`CORNER_FANS`]) keeps at least.
const CORNER_KEEP: f32 = 0.25;

/// How much of its rest area each other triangle holding one of the corner's skin points keeps at least
/// (it may be squeezed, as a closing lid squeezes it, but not turned over).
const AROUND_KEEP: f32 = 0.05;

/// How far each of the two skin points at an outer eye corner turns at most, and the step, degrees.
const MAX_CORNER_TURN: i32 = 30;
const CORNER_TURN_STEP: i32 = 2;

/// The skin at one outer eye corner: the face's triangles that hold either skin point of its
/// [`CORNER_FANS`] line.
#[derive(Clone, Debug, Default)]
struct CornerSkin {
    fan: [usize; 4],
    /// Each triangle with twice the signed area it keeps at least (its rest area's share).
    triangles: Vec<([usize; 3], f32)>,
}

/// The skin at both outer eye corners of one portrait, kept from folding as the lids close (see
/// [`OuterCorners::apply`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct OuterCorners {
    eyes: Vec<CornerSkin>,
}

/// Twice the signed area of triangle `t` in `points`' x and y.
fn cross(points: &[[f32; 3]], [a, b, c]: [usize; 3]) -> f32 {
    let p = points;
    (p[b][0] - p[a][0]) * (p[c][1] - p[a][1]) - (p[b][1] - p[a][1]) * (p[c][0] - p[a][0])
}

impl OuterCorners {
    /// The corners of a portrait whose landmarks are `rest` (pixels).
    pub fn new(rest: &[[f32; 3]]) -> Self {
        let eyes = CORNER_FANS
            .into_iter()
            .map(|fan| {
                let [skin, corner, lid, over] = fan;
                let is = |t: &[usize; 3], set: [usize; 3]| set.iter().all(|v| t.contains(v));
                let triangles = super::topology::triangles()
                    .iter()
                    .map(|t| t.map(usize::from))
                    .filter(|t| t.iter().all(|&v| v < rest.len()))
                    .filter(|t| t.contains(&skin) || t.contains(&over))
                    .map(|t| {
                        let keep = if is(&t, [lid, corner, skin]) || is(&t, [over, lid, skin]) {
                            CORNER_KEEP
                        } else {
                            AROUND_KEEP
                        };
                        (t, keep * cross(rest, t))
                    })
                    .filter(|(_, area)| area.abs() > 1e-6)
                    .collect();
                CornerSkin { fan, triangles }
            })
            .collect();
        Self { eyes }
    }

    /// Keeps the skin at each outer eye corner from turning over as drawn (`points`: a retargeted face
    /// in the portrait's pixels). The lower lid falls away from the outer corner about along the line
    /// from the skin point above the corner through the corner, so an upper lid closed onto it turned
    /// the triangle at the corner over on 14 of the 17 test portraits (a kink in the lash line); moving
    /// that skin point alone off the line moved the fold to the next triangle. The skin point above the
    /// corner turns about the corner by the least angle that leaves the two triangles between the
    /// corner, the lid and the skin [`CORNER_KEEP`] of their rest area and every other triangle holding
    /// either skin point [`AROUND_KEEP`] of its own (or, where no angle within [`MAX_CORNER_TURN`]
    /// does, by the one that leaves the smallest share largest). Only where that still leaves a
    /// triangle turned over does the skin point above the lid's next point turn too, about that lid
    /// point, by the least angles in all that do: it lies on the lid's fold, and on the demo portrait
    /// at 512 px turning it as well drew a light mark at the closed lid's end (`mesh_warp`'s lid end
    /// mark 6.3 -> 10.1 levels). A face whose corners keep that much is left as it is.
    pub fn apply(&self, points: &mut [[f32; 3]]) {
        for eye in &self.eyes {
            // The least of the triangles' areas over what each keeps at least: 1 or more is enough.
            let share = |points: &[[f32; 3]]| {
                eye.triangles
                    .iter()
                    .map(|&(t, keep)| cross(points, t) / keep)
                    .fold(f32::INFINITY, f32::min)
            };
            let here = share(points);
            if here >= 1.0 || here.is_nan() {
                continue;
            }
            let [skin, corner, lid, over] = eye.fan;
            let turned = |point: [f32; 3], about: [f32; 3], degrees: i32| {
                let (s, c) = (degrees as f32).to_radians().sin_cos();
                let d = [point[0] - about[0], point[1] - about[1]];
                [
                    about[0] + c * d[0] - s * d[1],
                    about[1] + s * d[0] + c * d[1],
                    point[2],
                ]
            };
            let (skin_at, over_at) = (points[skin], points[over]);
            let (centres, mut best, mut best_share) = ([points[corner], points[lid]], (0, 0), here);
            // The skin point above the corner alone first, the least turn first (a degree at a time);
            // then both, the least turn in all first (in steps of `CORNER_TURN_STEP`).
            let steps = MAX_CORNER_TURN / CORNER_TURN_STEP;
            let alone = (1..=MAX_CORNER_TURN).flat_map(|a| [(a, 0), (-a, 0)]);
            let both = (1..=2 * steps).flat_map(move |total| {
                (-total.min(steps)..=total.min(steps))
                    .map(move |a| (a, total - a.abs()))
                    .filter(move |&(_, b)| b <= steps)
                    .flat_map(|(a, b)| {
                        [(a, b), (a, -b)]
                            .into_iter()
                            .take(if b == 0 { 1 } else { 2 })
                    })
                    .map(|(a, b)| (a * CORNER_TURN_STEP, b * CORNER_TURN_STEP))
            });
            // The second point turns only where the first alone leaves a triangle turned over: it
            // lies on the lid's fold, which shows where it moves.
            let alone = alone.map(|t| (false, t));
            for (second, (a, b)) in alone.chain(both.map(|t| (true, t))) {
                if second && best_share > 0.0 {
                    break;
                }
                points[skin] = turned(skin_at, centres[0], a);
                points[over] = turned(over_at, centres[1], b);
                let s = share(points);
                if s > best_share {
                    (best, best_share) = ((a, b), s);
                }
                if best_share >= 1.0 {
                    break;
                }
            }
            points[skin] = turned(skin_at, centres[0], best.0);
            points[over] = turned(over_at, centres[1], best.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::canonical_face;

    /// The canonical face at 100 px an eye distance, moved into a 400 px picture, and that picture with
    /// each pixel's luma from `f(y as a share of the way from the right brow's lower contour to the
    /// right upper lid)`.
    fn shaded_face(f: impl Fn(f32) -> u8) -> (Vec<[f32; 3]>, crate::portrait::PortraitImage) {
        let face: Vec<[f32; 3]> = canonical_face()
            .iter()
            .map(|p| [200.0 + 100.0 * p[0], 200.0 + 100.0 * p[1], 100.0 * p[2]])
            .collect();
        let (brow, lid) = (face[52][1], face[159][1]);
        let mut rgba = Vec::with_capacity(400 * 400 * 4);
        for y in 0..400 {
            let l = f((y as f32 + 0.5 - brow) / (lid - brow));
            for _ in 0..400 {
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        let image = crate::portrait::PortraitImage::new(400, 400, rgba).unwrap();
        (face, image)
    }

    /// The band's points with the brows raised by `rise` (canonical units) and `band` applied.
    fn raised(band: &LidBand, canon: &[[f32; 3]], rise: f32) -> Vec<[f32; 3]> {
        let mut c = canon.to_vec();
        for &i in RIGHT_BROW.iter().chain(&LEFT_BROW) {
            c[i][1] -= rise;
        }
        // The shapes' own motion of the band: half the brow's.
        for p in &band.points {
            c[p.index as usize][1] -= rise / 2.0;
        }
        band.apply(&mut c);
        c
    }

    #[test]
    fn a_raised_brow_stretches_the_light_skin_of_the_band_and_carries_its_shadow_up() {
        let canon = canonical_face().to_vec();
        let plain = LidBand::new(&canon);
        assert!(plain.len() > 10, "{} band points", plain.len());
        // Even skin: the shapes' own motion, exactly.
        let (face, even) = shaded_face(|_| 180);
        let mut band = plain.clone();
        band.shade(&even, &face);
        assert!(band.points.iter().all(|p| p.lift.abs() < 1e-4));
        let most = |a: &[[f32; 3]], b: &[[f32; 3]]| {
            a.iter()
                .zip(b)
                .flat_map(|(p, q)| (0..3).map(move |k| (p[k] - q[k]).abs()))
                .fold(0.0f32, f32::max)
        };
        assert!(most(&raised(&band, &canon, 0.2), &raised(&plain, &canon, 0.2)) < 1e-6);
        // A shadow under the brow, light skin above the lid: the band's points between them rise
        // further, so the light skin takes the stretch; none passes the brow; a blink moves nothing.
        let (face, shadowed) = shaded_face(|s| if s < 0.6 { 70 } else { 200 });
        let mut band = plain.clone();
        band.shade(&shadowed, &face);
        let right: Vec<&BandPoint> = band
            .points
            .iter()
            .filter(|p| {
                RIGHT_BROW[5..].contains(&(p.brow.0 as usize)) && p.share > 0.1 && p.share < 0.5
            })
            .collect();
        assert!(!right.is_empty());
        assert!(
            right.iter().all(|p| p.lift < -0.1),
            "lifts {:?}",
            right.iter().map(|p| p.lift).collect::<Vec<_>>()
        );
        let (up, even) = (raised(&band, &canon, 0.2), raised(&plain, &canon, 0.2));
        for p in &right {
            let i = p.index as usize;
            assert!(
                up[i][1] < even[i][1] - 0.01,
                "point {i}: {} against {}",
                up[i][1],
                even[i][1]
            );
            assert!(up[i][1] > at(&up, p.brow), "point {i} passed the brow");
        }
        let mut blink = canon.clone();
        for &i in &RIGHT_EYE[9..] {
            blink[i][1] += 0.05;
        }
        let mut shaded_blink = blink.clone();
        plain.apply(&mut blink);
        band.apply(&mut shaded_blink);
        let d = most(&blink, &shaded_blink);
        assert!(d < 1e-6, "a blink moved the band by {d}");
        // Landmarks that are not numbers read nothing: the shapes' own motion.
        let lost: Vec<[f32; 3]> = face.iter().map(|p| [f32::NAN, p[1], p[2]]).collect();
        let mut band = plain.clone();
        band.shade(&shadowed, &lost);
        assert!(band.points.iter().all(|p| p.lift == 0.0));
    }

    #[test]
    fn a_lid_closed_steeply_beside_the_outer_corner_leaves_the_corner_triangles_unturned() {
        // The canonical face at 100 px an eye distance; each upper lid point next to an outer corner
        // comes down below the corner, onto the line from the skin point above through the corner (as
        // a lid closed onto a lower lid that falls away steeply from the corner does).
        let rest: Vec<[f32; 3]> = canonical_face()
            .iter()
            .map(|p| [100.0 * p[0], 100.0 * p[1], 100.0 * p[2]])
            .collect();
        let corners = OuterCorners::new(&rest);
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
        let shares = |p: &[[f32; 3]]| -> Vec<f32> {
            corners
                .eyes
                .iter()
                .flat_map(|e| e.triangles.iter().map(|&(t, keep)| cross(p, t) / keep))
                .collect()
        };
        assert!(
            shares(&closed).iter().any(|&s| s <= 0.0),
            "the test lid does not turn a triangle over"
        );
        let mut kept = closed.clone();
        corners.apply(&mut kept);
        for s in shares(&kept) {
            assert!(s >= 1.0 - 1e-3, "a corner triangle keeps {s} of its area");
        }
        // Only the skin points at the corners moved, and not far (a turn of at most 30 degrees).
        for (i, (a, b)) in closed.iter().zip(&kept).enumerate() {
            let moved = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            if [247, 30, 467, 260].contains(&i) {
                assert!(moved < 4.0, "{i} moved {moved} px");
            } else {
                assert_eq!(moved, 0.0, "{i} moved");
            }
        }
        assert!(kept[247] != closed[247] && kept[467] != closed[467]);
        // A face whose corners are fine is left as it is.
        let mut open = rest.clone();
        corners.apply(&mut open);
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
