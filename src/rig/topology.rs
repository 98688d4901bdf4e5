//! The face mesh's regions (MediaPipe's contour index lists) and its triangles, rebuilt by a Delaunay
//! triangulation of the canonical face with the eye and mouth openings left empty.

use std::sync::OnceLock;

pub(crate) use crate::math::inside;
use crate::tracking::canonical_face;

/// The face outline, clockwise from the top of the forehead (36 points).
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// The face's outline above the eyes, from the subject's right temple over the forehead to the left one:
/// the skull, whose outline no expression moves across (`Retargeter` keeps only these points' moves
/// along it).
pub const SKULL_OUTLINE: [usize; 13] =
    [162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389];
/// The skin just inside [`SKULL_OUTLINE`] at each temple, beside the brow's tail (right, then left).
pub const TEMPLES: [usize; 6] = [71, 139, 68, 301, 368, 298];
/// The opening of the subject's right eye (image left), from the outer corner along the lower lid.
pub const RIGHT_EYE: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
];
/// The opening of the subject's left eye (image right), from the outer corner along the lower lid.
pub const LEFT_EYE: [usize; 16] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
];
/// The inner edge of the lips: the mouth opening.
pub const INNER_LIPS: [usize; 20] = [
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
];

/// The outer edge of the upper lip, from the subject's right mouth corner to the left one.
pub const UPPER_OUTER_LIP: [usize; 11] = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
/// The outer edge of the lower lip, corner to corner.
pub const LOWER_OUTER_LIP: [usize; 11] = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291];
/// The inner edge of the upper lip, corner to corner.
pub const UPPER_INNER_LIP: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
/// The inner edge of the lower lip, corner to corner.
pub const LOWER_INNER_LIP: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
/// The fold above the subject's right upper lid, outer to inner (MediaPipe's `rightEyeUpper2`).
pub const RIGHT_EYE_FOLD: [usize; 7] = [113, 225, 224, 223, 222, 221, 189];
/// The fold above the subject's left upper lid, outer to inner (MediaPipe's `leftEyeUpper2`).
pub const LEFT_EYE_FOLD: [usize; 7] = [342, 445, 444, 443, 442, 441, 413];

/// The subject's right brow as a ring: its upper contour outer to inner, then its lower contour inner to
/// outer (`RIGHT_BROW[k]` lies above `RIGHT_BROW[9 - k]`).
pub const RIGHT_BROW: [usize; 10] = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46];
/// The subject's left brow, likewise.
pub const LEFT_BROW: [usize; 10] = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276];

/// The opening of one eye: side 0 is the subject's right ([`RIGHT_EYE`]), 1 the left ([`LEFT_EYE`]).
pub fn eye_ring(side: usize) -> &'static [usize; 16] {
    if side == 0 { &RIGHT_EYE } else { &LEFT_EYE }
}

/// The fold above one eye's upper lid (side as in [`eye_ring`]).
pub fn eye_fold(side: usize) -> &'static [usize; 7] {
    if side == 0 {
        &RIGHT_EYE_FOLD
    } else {
        &LEFT_EYE_FOLD
    }
}

/// The mesh's triangles (indices into the 468 points), none inside the eyes or the mouth.
pub fn triangles() -> &'static [[u16; 3]] {
    static TRIANGLES: OnceLock<Vec<[u16; 3]>> = OnceLock::new();
    TRIANGLES.get_or_init(|| {
        let points: Vec<[f64; 2]> = canonical_face()
            .iter()
            .map(|p| [p[0] as f64, p[1] as f64])
            .collect();
        let holes: Vec<Vec<[f64; 2]>> = [&RIGHT_EYE[..], &LEFT_EYE[..], &INNER_LIPS[..]]
            .iter()
            .map(|ring| ring.iter().map(|&i| points[i]).collect())
            .collect();
        let oval: Vec<[f64; 2]> = FACE_OVAL.iter().map(|&i| points[i]).collect();
        // Points that fall inside an opening (the mesh's lips curl inwards) take no part: the openings'
        // rings must be edges of the mesh.
        let on_ring: Vec<usize> = RIGHT_EYE
            .iter()
            .chain(&LEFT_EYE)
            .chain(&INNER_LIPS)
            .copied()
            .collect();
        let kept: Vec<usize> = (0..points.len())
            .filter(|&i| on_ring.contains(&i) || !holes.iter().any(|h| inside(h, points[i])))
            .collect();
        let subset: Vec<[f64; 2]> = kept.iter().map(|&i| points[i]).collect();
        let mut tris: Vec<[usize; 3]> = delaunay(&subset)
            .into_iter()
            .map(|t| t.map(|v| kept[v]))
            .collect();
        // Near the eye and mouth corners the rings are thin and a plain Delaunay cuts across them: flip
        // edges until every ring edge is in the mesh.
        for ring in [&RIGHT_EYE[..], &LEFT_EYE[..], &INNER_LIPS[..]] {
            for k in 0..ring.len() {
                recover_edge(&points, &mut tris, ring[k], ring[(k + 1) % ring.len()]);
            }
        }
        tris.into_iter()
            .filter(|t| {
                let c = centroid(&points, t);
                !holes.iter().any(|h| inside(h, c)) && inside(&oval, c)
            })
            .map(|t| [t[0] as u16, t[1] as u16, t[2] as u16])
            .collect()
    })
}

fn has_edge(t: &[usize; 3], a: usize, b: usize) -> bool {
    t.contains(&a) && t.contains(&b)
}

fn cross(o: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Whether segments pq and rs cross at a point inside both.
fn segments_cross(p: [f64; 2], q: [f64; 2], r: [f64; 2], s: [f64; 2]) -> bool {
    let d1 = cross(p, q, r);
    let d2 = cross(p, q, s);
    let d3 = cross(r, s, p);
    let d4 = cross(r, s, q);
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

/// Makes `a`-`b` an edge of the triangulation by flipping the edges that cross it (Sloan's method).
pub(crate) fn recover_edge(p: &[[f64; 2]], tris: &mut [[usize; 3]], a: usize, b: usize) {
    for _ in 0..64 {
        if tris.iter().any(|t| has_edge(t, a, b)) {
            return;
        }
        // An edge c-d crossing a-b whose two triangles form a convex quad: flip it.
        let mut flipped = false;
        'search: for i in 0..tris.len() {
            for k in 0..3 {
                let (c, d) = (tris[i][k], tris[i][(k + 1) % 3]);
                if [c, d].contains(&a)
                    || [c, d].contains(&b)
                    || !segments_cross(p[a], p[b], p[c], p[d])
                {
                    continue;
                }
                let e = tris[i][(k + 2) % 3];
                let Some(j) = (0..tris.len()).find(|&j| j != i && has_edge(&tris[j], c, d)) else {
                    continue;
                };
                let f = tris[j]
                    .iter()
                    .copied()
                    .find(|&v| v != c && v != d)
                    .unwrap_or(c);
                if !segments_cross(p[e], p[f], p[c], p[d]) {
                    continue;
                }
                tris[i] = orient(p, [e, f, c]);
                tris[j] = orient(p, [f, e, d]);
                flipped = true;
                break 'search;
            }
        }
        if !flipped {
            return;
        }
    }
}

fn centroid(p: &[[f64; 2]], t: &[usize; 3]) -> [f64; 2] {
    [
        (p[t[0]][0] + p[t[1]][0] + p[t[2]][0]) / 3.0,
        (p[t[0]][1] + p[t[1]][1] + p[t[2]][1]) / 3.0,
    ]
}

/// Bowyer-Watson Delaunay triangulation; triangles counter-clockwise in a y-down frame.
pub(crate) fn delaunay(points: &[[f64; 2]]) -> Vec<[usize; 3]> {
    let n = points.len();
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in points {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]) * 20.0;
    let mid = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let mut all = points.to_vec();
    all.extend([
        [mid[0] - span, mid[1] - span],
        [mid[0] + span, mid[1] - span],
        [mid[0], mid[1] + span],
    ]);
    let mut tris: Vec<[usize; 3]> = vec![[n, n + 1, n + 2]];
    for i in 0..n {
        let p = all[i];
        let (bad, good): (Vec<[usize; 3]>, Vec<[usize; 3]>) =
            tris.into_iter().partition(|t| in_circumcircle(&all, t, p));
        tris = good;
        // The boundary of the cavity: edges of bad triangles that no other bad triangle shares.
        let mut edges: Vec<[usize; 2]> = Vec::new();
        for t in &bad {
            for e in [[t[0], t[1]], [t[1], t[2]], [t[2], t[0]]] {
                if let Some(k) = edges
                    .iter()
                    .position(|f| f[0] == e[1] && f[1] == e[0] || *f == e)
                {
                    edges.swap_remove(k);
                } else {
                    edges.push(e);
                }
            }
        }
        for e in edges {
            tris.push(orient(&all, [e[0], e[1], i]));
        }
    }
    tris.into_iter()
        .filter(|t| t.iter().all(|&v| v < n))
        .collect()
}

fn orient(p: &[[f64; 2]], t: [usize; 3]) -> [usize; 3] {
    let [a, b, c] = [p[t[0]], p[t[1]], p[t[2]]];
    let cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if cross < 0.0 { [t[0], t[2], t[1]] } else { t }
}

fn in_circumcircle(p: &[[f64; 2]], t: &[usize; 3], d: [f64; 2]) -> bool {
    let [a, b, c] = [p[t[0]], p[t[1]], p[t[2]]];
    let (ax, ay) = (a[0] - d[0], a[1] - d[1]);
    let (bx, by) = (b[0] - d[0], b[1] - d[1]);
    let (cx, cy) = (c[0] - d[0], c[1] - d[1]);
    let det = (ax * ax + ay * ay) * (bx * cy - cx * by) - (bx * bx + by * by) * (ax * cy - cx * ay)
        + (cx * cx + cy * cy) * (ax * by - bx * ay);
    det > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangulation_covers_the_face_and_leaves_eyes_and_mouth_open() {
        let tris = triangles();
        // MediaPipe's own tessellation has 852 triangles over the same points.
        assert!(
            (780..=900).contains(&tris.len()),
            "{} triangles",
            tris.len()
        );
        let pts = canonical_face();
        let area = |t: &[u16; 3]| {
            let [a, b, c] = t.map(|i| pts[i as usize]);
            ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / 2.0
        };
        assert!(
            tris.iter().all(|t| area(t) > 0.0),
            "every triangle has the same winding and no zero area"
        );
        let used: std::collections::HashSet<u16> = tris.iter().flatten().copied().collect();
        assert!(used.len() > 440, "only {} of 468 points used", used.len());
        // No triangle lies inside an eye opening.
        let eye: Vec<[f64; 2]> = RIGHT_EYE
            .iter()
            .map(|&i| [pts[i][0] as f64, pts[i][1] as f64])
            .collect();
        for t in tris {
            let [a, b, c] = t.map(|i| pts[i as usize]);
            let centre = [
                ((a[0] + b[0] + c[0]) / 3.0) as f64,
                ((a[1] + b[1] + c[1]) / 3.0) as f64,
            ];
            assert!(!inside(&eye, centre));
        }
    }
}

#[cfg(test)]
mod hole_tests {
    use super::*;

    #[test]
    fn hole_rings_are_mesh_edges() {
        let tris = triangles();
        let has = |a: usize, b: usize| {
            tris.iter().any(|t| {
                let t = t.map(|v| v as usize);
                (0..3).any(|k| {
                    (t[k] == a && t[(k + 1) % 3] == b) || (t[k] == b && t[(k + 1) % 3] == a)
                })
            })
        };
        let mut missing = Vec::new();
        for ring in [&RIGHT_EYE[..], &LEFT_EYE[..], &INNER_LIPS[..]] {
            for k in 0..ring.len() {
                let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                if !has(a, b) {
                    missing.push((a, b));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "ring edges not in the mesh: {missing:?}"
        );
    }
}
