//! The 68-point iBUG 300-W scheme (dlib's) from the 468-point mesh, for accuracy checks against annotated
//! faces. The correspondence is the one published by Peizhi Yan, "Mediapipe_2_Dlib_Landmarks" (2024): each
//! iBUG point is one mesh point or the mean of two.

/// For each iBUG point (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67): one or two mesh points.
pub const IBUG68_FROM_MESH: [[usize; 2]; 68] = [
    [127, 127],
    [234, 234],
    [93, 93],
    [132, 58],
    [58, 172],
    [136, 136],
    [150, 150],
    [176, 176],
    [152, 152],
    [400, 400],
    [379, 379],
    [365, 365],
    [397, 288],
    [361, 361],
    [323, 323],
    [454, 454],
    [356, 356],
    [70, 70],
    [63, 63],
    [105, 105],
    [66, 66],
    [107, 107],
    [336, 336],
    [296, 296],
    [334, 334],
    [293, 293],
    [300, 300],
    [168, 6],
    [197, 195],
    [5, 5],
    [4, 4],
    [75, 75],
    [97, 97],
    [2, 2],
    [326, 326],
    [305, 305],
    [33, 33],
    [160, 160],
    [158, 158],
    [133, 133],
    [153, 153],
    [144, 144],
    [362, 362],
    [385, 385],
    [387, 387],
    [263, 263],
    [373, 373],
    [380, 380],
    [61, 61],
    [39, 39],
    [37, 37],
    [0, 0],
    [267, 267],
    [269, 269],
    [291, 291],
    [321, 321],
    [314, 314],
    [17, 17],
    [84, 84],
    [91, 91],
    [78, 78],
    [82, 82],
    [13, 13],
    [312, 312],
    [308, 308],
    [317, 317],
    [14, 14],
    [87, 87],
];

/// The 68 iBUG points `[x, y]` from 468 mesh points.
pub fn ibug68(mesh: &[[f32; 3]]) -> [[f32; 2]; 68] {
    let mut out = [[0.0; 2]; 68];
    for (o, [a, b]) in out.iter_mut().zip(IBUG68_FROM_MESH) {
        *o = [
            (mesh[a][0] + mesh[b][0]) / 2.0,
            (mesh[a][1] + mesh[b][1]) / 2.0,
        ];
    }
    out
}

/// Normalised mean error of `points` against `truth` over `range` (e.g. `17..68`), as a fraction of the
/// outer-eye-corner distance of the truth (points 36 and 45).
pub fn nme(points: &[[f32; 2]; 68], truth: &[[f32; 2]; 68], range: std::ops::Range<usize>) -> f32 {
    let d = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let norm = d(truth[36], truth[45]);
    let n = range.len() as f32;
    range.map(|i| d(points[i], truth[i])).sum::<f32>() / n / norm
}
