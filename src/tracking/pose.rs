//! Head pose from landmarks: a similarity fit (Horn's quaternion method) of the canonical face's rigid
//! points onto the tracked mesh, and the rotation as yaw, pitch and roll.

use std::sync::OnceLock;

/// The canonical face (468 points), derived by `models/make_canonical_face.py` from the face mesh of the
/// demo portrait: origin between the outer eye corners, x towards the image right, y towards the chin, z away
/// from the camera, unit = the outer eye-corner distance.
pub fn canonical_face() -> &'static [[f32; 3]] {
    static FACE: OnceLock<Vec<[f32; 3]>> = OnceLock::new();
    FACE.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct File {
            points: Vec<[f32; 3]>,
        }
        let file: File = serde_json::from_str(include_str!("../face/canonical_face.json")).expect(
            "src/face/canonical_face.json is valid (made by models/make_canonical_face.py)",
        );
        assert_eq!(file.points.len(), 468);
        file.points
    })
}

/// The centre of head rotation in the canonical frame: behind the face, level with the cheekbones.
/// Renderers turn a head about it (`rig::HeadMotion`), and [`FaceAnalyzer`](super::FaceAnalyzer) reports
/// as translation only what a turn about it does not explain.
pub const HEAD_PIVOT: [f32; 3] = [0.0, 0.35, 0.9];

/// Mesh points that move with the skull, not with expressions: forehead, nose, outer eye corners, temples,
/// cheekbones. The pose is fitted on these.
pub const RIGID_POINTS: [usize; 30] = [
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 263, 127, 356, 234, 454, 93, 323, 116, 345, 50,
    280, 71, 301, 54, 284, 103, 332, 109,
];

/// A similarity transform `image = scale * rotation * canonical + translation`, with the rotation also as
/// angles in [`FaceFrame`](crate::FaceFrame)'s convention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoseFit {
    /// Row-major rotation matrix, canonical face frame to image frame (x right, y down, z away).
    pub rotation: [[f32; 3]; 3],
    /// Image pixels per canonical unit (the outer eye-corner distance in pixels, for a frontal face).
    pub scale: f32,
    /// Where the canonical origin (between the eyes) is in the image, pixels (z on the mesh's scale).
    pub translation: [f32; 3],
    /// Turn to the head's own left (+), radians.
    pub yaw: f32,
    /// Nod up (+), radians.
    pub pitch: f32,
    /// Tilt towards the head's left shoulder (+), radians.
    pub roll: f32,
    /// Root-mean-square distance of the rigid points after the fit, in canonical units.
    pub residual: f32,
}

impl PoseFit {
    /// Maps an image point back into the canonical face frame (undoes rotation, scale and translation).
    pub fn to_canonical(&self, p: [f32; 3]) -> [f32; 3] {
        let d = [
            p[0] - self.translation[0],
            p[1] - self.translation[1],
            p[2] - self.translation[2],
        ];
        let r = &self.rotation;
        let mut out = [0.0; 3];
        for (k, o) in out.iter_mut().enumerate() {
            *o = (r[0][k] * d[0] + r[1][k] * d[1] + r[2][k] * d[2]) / self.scale;
        }
        out
    }
}

/// Builds the rotation matrix of head angles in [`FaceFrame`](crate::FaceFrame)'s convention.
pub fn rotation_from_angles(yaw: f32, pitch: f32, roll: f32) -> [[f32; 3]; 3] {
    // Image frame: y down, z away. Turning left moves the nose (z < 0) to the image right: Ry(-yaw);
    // nodding up moves it up: Rx(-pitch); tilting left moves the crown (y < 0) right: Rz(roll).
    let (sy, cy) = (-yaw).sin_cos();
    let (sp, cp) = (-pitch).sin_cos();
    let (sr, cr) = roll.sin_cos();
    let rx = [[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]];
    let ry = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
    let rz = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    mul(&rz, &mul(&ry, &rx))
}

fn mul(a: &[[f32; 3]; 3], b: &[[f32; 3]; 3]) -> [[f32; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// Fits the canonical face's rigid points to `mesh` (468 points in image pixels).
pub fn fit_pose(mesh: &[[f32; 3]]) -> PoseFit {
    let canon = canonical_face();
    let n = RIGID_POINTS.len() as f64;
    let mut cx = [0f64; 3];
    let mut cy = [0f64; 3];
    for &i in &RIGID_POINTS {
        for k in 0..3 {
            cx[k] += canon[i][k] as f64 / n;
            cy[k] += mesh[i][k] as f64 / n;
        }
    }
    // Cross-covariance S = sum x y^T of the centred points.
    let mut s = [[0f64; 3]; 3];
    let mut xx = 0f64;
    for &i in &RIGID_POINTS {
        let x: Vec<f64> = (0..3).map(|k| canon[i][k] as f64 - cx[k]).collect();
        let y: Vec<f64> = (0..3).map(|k| mesh[i][k] as f64 - cy[k]).collect();
        for a in 0..3 {
            for b in 0..3 {
                s[a][b] += x[a] * y[b];
            }
            xx += x[a] * x[a];
        }
    }
    let [[sxx, sxy, sxz], [syx, syy, syz], [szx, szy, szz]] = s;
    let nmat = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let q = largest_eigenvector(nmat);
    let (w, x, y, z) = (q[0], q[1], q[2], q[3]);
    let r64 = [
        [
            w * w + x * x - y * y - z * z,
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            w * w - x * x + y * y - z * z,
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            w * w - x * x - y * y + z * z,
        ],
    ];
    // scale = sum y . (R x) / sum |x|^2
    let mut yrx = 0f64;
    for &i in &RIGID_POINTS {
        let xc: Vec<f64> = (0..3).map(|k| canon[i][k] as f64 - cx[k]).collect();
        for a in 0..3 {
            let rx: f64 = (0..3).map(|b| r64[a][b] * xc[b]).sum();
            yrx += (mesh[i][a] as f64 - cy[a]) * rx;
        }
    }
    let scale = yrx / xx.max(1e-12);
    let mut rotation = [[0f32; 3]; 3];
    let mut translation = [0f32; 3];
    for a in 0..3 {
        for b in 0..3 {
            rotation[a][b] = r64[a][b] as f32;
        }
        translation[a] = (cy[a] - scale * (0..3).map(|b| r64[a][b] * cx[b]).sum::<f64>()) as f32;
    }
    // R = Rz(roll) Ry(-yaw) Rx(-pitch): R[2][0] = sin(yaw), R[2][1] = cos(yaw) sin(-pitch) ...
    let yaw = rotation[2][0].clamp(-1.0, 1.0).asin();
    let pitch = -rotation[2][1].atan2(rotation[2][2]);
    let roll = rotation[1][0].atan2(rotation[0][0]);
    let mut fit = PoseFit {
        rotation,
        scale: scale as f32,
        translation,
        yaw,
        pitch,
        roll,
        residual: 0.0,
    };
    let sq: f32 = RIGID_POINTS
        .iter()
        .map(|&i| {
            let c = fit.to_canonical(mesh[i]);
            (0..3).map(|k| (c[k] - canon[i][k]).powi(2)).sum::<f32>()
        })
        .sum();
    fit.residual = (sq / RIGID_POINTS.len() as f32).sqrt();
    fit
}

/// The eigenvector of the largest eigenvalue of a symmetric 4x4 matrix (Jacobi rotations).
fn largest_eigenvector(mut a: [[f64; 4]; 4]) -> [f64; 4] {
    let mut v = [[0f64; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _ in 0..50 {
        let off: f64 = (0..4)
            .flat_map(|i| (0..4).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j].powi(2))
            .sum();
        if off < 1e-20 {
            break;
        }
        for p in 0..4 {
            for q in p + 1..4 {
                if a[p][q].abs() < 1e-30 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (rp, rq) = (a[p], a[q]);
                a[p] = std::array::from_fn(|k| c * rp[k] - s * rq[k]);
                a[q] = std::array::from_fn(|k| s * rp[k] + c * rq[k]);
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let best = (0..4)
        .max_by(|&i, &j| a[i][i].total_cmp(&a[j][j]))
        .unwrap_or(0);
    let mut q = [v[0][best], v[1][best], v[2][best], v[3][best]];
    let norm = q.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    if q[0] < 0.0 {
        q.iter_mut().for_each(|x| *x = -*x);
    }
    q.map(|x| x / norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posed(yaw: f32, pitch: f32, roll: f32, scale: f32, t: [f32; 3]) -> Vec<[f32; 3]> {
        let r = rotation_from_angles(yaw, pitch, roll);
        canonical_face()
            .iter()
            .map(|p| {
                let mut o = [0.0; 3];
                for a in 0..3 {
                    o[a] = scale * (0..3).map(|b| r[a][b] * p[b]).sum::<f32>() + t[a];
                }
                o
            })
            .collect()
    }

    #[test]
    fn known_poses_are_recovered() {
        for (yaw, pitch, roll) in [
            (0.0, 0.0, 0.0),
            (0.4, 0.0, 0.0),
            (0.0, -0.3, 0.0),
            (0.0, 0.0, 0.5),
            (-0.35, 0.25, -0.2),
        ] {
            let mesh = posed(yaw, pitch, roll, 120.0, [300.0, 200.0, 5.0]);
            let fit = fit_pose(&mesh);
            for (got, want, name) in [
                (fit.yaw, yaw, "yaw"),
                (fit.pitch, pitch, "pitch"),
                (fit.roll, roll, "roll"),
            ] {
                assert!(
                    (got - want).abs() < 1e-3,
                    "{name}: {got} != {want} for {yaw} {pitch} {roll}"
                );
            }
            assert!((fit.scale - 120.0).abs() < 1e-2, "{}", fit.scale);
            assert!(
                (fit.translation[0] - 300.0).abs() < 1e-2
                    && (fit.translation[1] - 200.0).abs() < 1e-2
            );
            assert!(fit.residual < 1e-4);
        }
    }

    #[test]
    fn angle_signs_follow_face_frame() {
        // Turning to its own left moves the nose tip (point 1) towards the image right.
        let r = rotation_from_angles(0.3, 0.0, 0.0);
        let nose = canonical_face()[1];
        let x: f32 = (0..3).map(|b| r[0][b] * nose[b]).sum();
        assert!(x > nose[0]);
        // Nodding up moves it up (smaller y).
        let r = rotation_from_angles(0.0, 0.3, 0.0);
        let y: f32 = (0..3).map(|b| r[1][b] * nose[b]).sum();
        assert!(y < nose[1]);
    }
}
