//! The hand-made expression shapes: each one built from the face mesh's regions (lids, lips, jaw, brows)
//! with falloffs, the default rig's starting point and what it keeps where the fitted shapes are weaker.

use super::super::topology::{
    LEFT_EYE, LOWER_INNER_LIP as LOWER_INNER, LOWER_OUTER_LIP as LOWER_OUTER, RIGHT_EYE,
    UPPER_INNER_LIP as UPPER_INNER, UPPER_OUTER_LIP as UPPER_OUTER,
};
use super::*;

fn polygon(c: &[[f32; 3]], ring: impl Iterator<Item = usize>) -> Vec<[f64; 2]> {
    ring.map(|i| [c[i][0] as f64, c[i][1] as f64]).collect()
}

struct Builder {
    c: &'static [[f32; 3]],
    rig: ExpressionRig,
}

impl Builder {
    fn add(&mut self, e: Expression, offsets: impl Fn(usize, [f32; 3]) -> [f32; 3]) {
        let mut shape = Shape {
            gain: 1.0,
            offsets: BTreeMap::new(),
        };
        for (i, p) in self.c.iter().enumerate() {
            let d = offsets(i, *p);
            if d.iter().any(|v| v.abs() > 5e-4) {
                let round = |v: f32| (v * 1e4).round() / 1e4;
                shape.offsets.insert(i as u16, d.map(round));
            }
        }
        self.rig.shapes.insert(e.name().to_owned(), shape);
    }

    /// A Gaussian blob of motion `delta` around `centre` (canonical x, y) of radius `r`.
    fn blob(&mut self, e: Expression, centre: [f32; 2], r: f32, delta: [f32; 3]) {
        self.add(e, |_, p| {
            let d2 = ((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2)) / (r * r);
            let w = (-d2).exp();
            if w < 0.02 {
                [0.0; 3]
            } else {
                delta.map(|v| v * w)
            }
        });
    }
}

/// For each point, whether it lies on the lips (inside their outer contour, or on it) and whether above
/// the line halfway between their inner edges (the upper lip's side).
fn lip_sides(c: &[[f32; 3]]) -> Vec<(bool, bool)> {
    let outer = polygon(
        c,
        UPPER_OUTER.iter().chain(LOWER_OUTER.iter().rev()).copied(),
    );
    let mid: Vec<[f32; 2]> = UPPER_INNER
        .iter()
        .zip(LOWER_INNER)
        .map(|(&u, l)| [(c[u][0] + c[l][0]) / 2.0, (c[u][1] + c[l][1]) / 2.0])
        .collect();
    c.iter()
        .enumerate()
        .map(|(i, p)| {
            let on_lips = super::super::topology::inside(&outer, [p[0] as f64, p[1] as f64])
                || UPPER_OUTER.contains(&i)
                || LOWER_OUTER.contains(&i);
            (on_lips, p[1] <= interp(&mid, p[0]))
        })
        .collect()
}

/// Which points belong to the upper lip: its outer and inner edges (the corners too) and the points of
/// the lips above the line halfway between their inner edges.
pub(super) fn upper_lip_membership(c: &[[f32; 3]]) -> Vec<bool> {
    lip_sides(c)
        .into_iter()
        .enumerate()
        .map(|(i, (on_lips, above))| {
            UPPER_OUTER.contains(&i) || UPPER_INNER.contains(&i) || (on_lips && above)
        })
        .collect()
}

/// How much each point belongs to the lower jaw: 1 for the lower lip and chin, 0 for the upper lip and
/// above, smooth in between.
pub(super) fn jaw_membership(c: &[[f32; 3]]) -> Vec<f32> {
    let sides = lip_sides(c);
    let corner_y = (c[61][1] + c[291][1]) / 2.0;
    let centre_x = (c[61][0] + c[291][0]) / 2.0;
    let half_width = (c[291][0] - c[61][0]) / 2.0;
    c.iter()
        .enumerate()
        .map(|(i, p)| {
            if [61, 291, 78, 308].contains(&i) {
                return 0.45;
            }
            let (on_lips, above) = sides[i];
            if on_lips {
                if above {
                    return 0.0;
                }
                // The lower lip hangs from the corners: it drops most in the middle, so the mouth opens
                // round, not square.
                let x = ((p[0] - centre_x) / half_width).abs().min(1.0);
                return 1.0 - 0.55 * x * x;
            }
            let down = smoothstep(corner_y - 0.04, corner_y + 0.16, p[1]);
            let side = 1.0 - 0.6 * smoothstep(0.5, 0.85, p[0].abs());
            down * side
        })
        .collect()
}

/// Lid travel to close one eye: for each landmark, how far down it moves (canonical units).
fn blink_offsets(c: &[[f32; 3]], ring: &[usize; 16], close: f32) -> Vec<[f32; 3]> {
    // ring: outer corner, 7 lower, inner corner, 7 upper (inner to outer).
    let lower: Vec<usize> = ring[1..8].to_vec();
    let upper: Vec<usize> = ring[9..16].iter().rev().copied().collect();
    // Gap between the lids along x, zero at the corners.
    let mut gap: Vec<[f32; 2]> = vec![[c[ring[0]][0], 0.0]];
    for (u, l) in upper.iter().zip(&lower) {
        gap.push([(c[*u][0] + c[*l][0]) / 2.0, c[*l][1] - c[*u][1]]);
    }
    gap.push([c[ring[8]][0], 0.0]);
    gap.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let upper_curve = {
        let mut v: Vec<[f32; 2]> = upper.iter().map(|&u| [c[u][0], c[u][1]]).collect();
        v.push([c[ring[0]][0], c[ring[0]][1]]);
        v.push([c[ring[8]][0], c[ring[8]][1]]);
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v
    };
    let lower_curve = {
        let mut v: Vec<[f32; 2]> = lower.iter().map(|&l| [c[l][0], c[l][1]]).collect();
        v.push([c[ring[0]][0], c[ring[0]][1]]);
        v.push([c[ring[8]][0], c[ring[8]][1]]);
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v
    };
    let (x0, x1) = (
        c[ring[0]][0].min(c[ring[8]][0]),
        c[ring[0]][0].max(c[ring[8]][0]),
    );
    let margin = 0.06;
    c.iter()
        .enumerate()
        .map(|(i, p)| {
            if p[0] < x0 - margin || p[0] > x1 + margin || ring[0] == i || ring[8] == i {
                return [0.0; 3];
            }
            let g = interp(&gap, p[0]);
            if upper.contains(&i) {
                return [0.0, close * g, 0.0];
            }
            if lower.contains(&i) {
                return [0.0, -(1.0 - close) * g, 0.0];
            }
            let fade_x = 1.0 - smoothstep(0.0, margin, (x0 - p[0]).max(p[0] - x1));
            let above = interp(&upper_curve, p[0]) - p[1];
            let below = p[1] - interp(&lower_curve, p[0]);
            if above > 0.0 {
                // Lid skin between the lid edge and the brow unfolds: it follows less the higher it is.
                let w = (-(above / 0.07).powi(2)).exp();
                [0.0, close * g * w * 0.6 * fade_x, 0.0]
            } else if below > 0.0 {
                let w = (-(below / 0.05).powi(2)).exp();
                [0.0, -(1.0 - close) * g * w * 0.5 * fade_x, 0.0]
            } else {
                [0.0; 3]
            }
        })
        .collect()
}

pub(super) fn build_hand_made() -> ExpressionRig {
    use Expression as E;
    let c = canonical_face();
    let mut b = Builder {
        c,
        rig: ExpressionRig {
            version: EXPRESSION_RIG_VERSION,
            shapes: BTreeMap::new(),
            look_angle: default_look_angle(),
            look_angle_vertical: default_look_angle_vertical(),
            faint_brow_gain: default_faint_brow_gain(),
            relative_to_portrait: false,
        },
    };
    let jaw = jaw_membership(c);
    // The jaw drops and swings back a little; 0.45 eye-corner distances is a wide-open mouth.
    b.add(E::JawOpen, |i, _| [0.0, 0.45 * jaw[i], 0.12 * jaw[i]]);
    b.add(E::JawLeft, |i, _| [0.12 * jaw[i], 0.0, 0.0]);
    b.add(E::JawRight, |i, _| [-0.12 * jaw[i], 0.0, 0.0]);
    b.add(E::JawForward, |i, _| [0.0, 0.02 * jaw[i], -0.1 * jaw[i]]);
    // Lips back together over an open jaw.
    let lip_centre = [(c[13][0] + c[14][0]) / 2.0, (c[13][1] + c[14][1]) / 2.0];
    b.add(E::MouthClose, |i, p| {
        let near = (-((p[0] - lip_centre[0]) / 0.45).powi(2)).exp();
        let lip = if LOWER_OUTER.contains(&i) || LOWER_INNER.contains(&i) || jaw[i] >= 1.0 {
            (1.0 - smoothstep(0.0, 0.2, p[1] - c[17][1])) * near
        } else {
            0.0
        };
        [0.0, -0.35 * lip * jaw[i].min(1.0), 0.0]
    });

    for (ring, blink, wide, squint) in [
        (
            &RIGHT_EYE,
            E::EyeBlinkRight,
            E::EyeWideRight,
            E::EyeSquintRight,
        ),
        (&LEFT_EYE, E::EyeBlinkLeft, E::EyeWideLeft, E::EyeSquintLeft),
    ] {
        let closing = blink_offsets(c, ring, BLINK_MEET);
        b.add(blink, |i, _| closing[i]);
        // Wide: the upper lid lifts a third of the opening.
        let lifting = blink_offsets(c, ring, 1.0);
        b.add(wide, |i, _| {
            let d = lifting[i];
            if d[1] > 0.0 {
                [0.0, -0.35 * d[1], 0.0]
            } else {
                [0.0; 3]
            }
        });
        // Squint: the lower lid rises a third, the upper drops a little.
        let squeeze = blink_offsets(c, ring, 0.0);
        b.add(squint, |i, _| {
            let up = closing[i];
            let low = squeeze[i];
            [0.0, 0.1 * up[1].max(0.0) + 0.35 * low[1].min(0.0), 0.0]
        });
    }

    let (rc, lc) = (c[61], c[291]);
    for (corner, sign, smile, frown, stretch, dimple, press, upper_up, lower_down, cheek, sneer) in [
        (
            rc,
            -1.0f32,
            E::MouthSmileRight,
            E::MouthFrownRight,
            E::MouthStretchRight,
            E::MouthDimpleRight,
            E::MouthPressRight,
            E::MouthUpperUpRight,
            E::MouthLowerDownRight,
            E::CheekSquintRight,
            E::NoseSneerRight,
        ),
        (
            lc,
            1.0,
            E::MouthSmileLeft,
            E::MouthFrownLeft,
            E::MouthStretchLeft,
            E::MouthDimpleLeft,
            E::MouthPressLeft,
            E::MouthUpperUpLeft,
            E::MouthLowerDownLeft,
            E::CheekSquintLeft,
            E::NoseSneerLeft,
        ),
    ] {
        let at = [corner[0], corner[1]];
        b.add(smile, |_, p| {
            let d2 = ((p[0] - at[0]).powi(2) + (p[1] - at[1]).powi(2)) / 0.26f32.powi(2);
            let cheek_d2 =
                ((p[0] - at[0] * 1.15).powi(2) + (p[1] - 0.35).powi(2)) / 0.22f32.powi(2);
            let w = (-d2).exp();
            let wc = (-cheek_d2).exp();
            if w < 0.02 && wc < 0.02 {
                return [0.0; 3];
            }
            [sign * 0.07 * w, -0.1 * w - 0.035 * wc, 0.02 * w]
        });
        b.blob(frown, at, 0.22, [sign * 0.01, 0.08, 0.0]);
        b.blob(stretch, at, 0.24, [sign * 0.09, 0.03, 0.0]);
        b.blob(dimple, at, 0.18, [sign * 0.04, 0.0, 0.02]);
        b.blob(press, at, 0.16, [sign * 0.025, -0.015, 0.0]);
        let side = [at[0] * 0.5, c[0][1]];
        b.add(upper_up, |i, p| {
            if jaw[i] > 0.5 {
                return [0.0; 3];
            }
            let d2 = ((p[0] - side[0]).powi(2) + (p[1] - side[1]).powi(2)) / 0.2f32.powi(2);
            let w = (-d2).exp();
            if w < 0.02 {
                [0.0; 3]
            } else {
                [0.0, -0.06 * w, 0.0]
            }
        });
        let side_low = [at[0] * 0.5, c[17][1]];
        b.add(lower_down, |i, p| {
            if jaw[i] < 0.5 {
                return [0.0; 3];
            }
            let d2 = ((p[0] - side_low[0]).powi(2) + (p[1] - side_low[1]).powi(2)) / 0.2f32.powi(2);
            let w = (-d2).exp();
            if w < 0.02 {
                [0.0; 3]
            } else {
                [0.0, 0.07 * w, 0.0]
            }
        });
        b.blob(cheek, [sign * 0.5, 0.33], 0.2, [0.0, -0.045, 0.0]);
        // Sneer: the nostril wing and the upper lip beside it lift, the skin up the side of the nose
        // bunches up; the lower lip and jaw stay.
        let wing = c[if sign > 0.0 { 327 } else { 98 }];
        b.add(sneer, |i, p| {
            let d2 =
                ((p[0] - wing[0]).powi(2) + ((p[1] - wing[1]) / 1.5).powi(2)) / 0.15f32.powi(2);
            let w = (-d2).exp() * (1.0 - jaw[i]);
            if w < 0.02 {
                [0.0; 3]
            } else {
                [sign * 0.008 * w, -0.06 * w, -0.01 * w]
            }
        });
    }

    let mouth_centre = [(rc[0] + lc[0]) / 2.0, (c[13][1] + c[14][1]) / 2.0];
    let half_width = (lc[0] - rc[0]) / 2.0;
    let mouth_weight = move |p: [f32; 3]| {
        let dx = (p[0] - mouth_centre[0]) / (half_width * 1.3);
        let dy = (p[1] - mouth_centre[1]) / 0.3;
        (-(dx * dx + dy * dy)).exp()
    };
    b.add(E::MouthPucker, |_, p| {
        let w = mouth_weight(p);
        if w < 0.02 {
            return [0.0; 3];
        }
        [-(p[0] - mouth_centre[0]) * 0.35 * w, 0.0, -0.08 * w]
    });
    b.add(E::MouthFunnel, |i, p| {
        let w = mouth_weight(p);
        if w < 0.02 {
            return [0.0; 3];
        }
        // Lips part in the middle, not at the corners.
        let centre = 1.0 - ((p[0] - mouth_centre[0]) / half_width).abs().min(1.0);
        let open = if UPPER_INNER.contains(&i) || UPPER_OUTER.contains(&i) {
            -0.04 * centre
        } else if LOWER_INNER.contains(&i) || LOWER_OUTER.contains(&i) {
            0.07 * centre
        } else {
            0.0
        };
        [-(p[0] - mouth_centre[0]) * 0.25 * w, open, -0.06 * w]
    });
    b.blob(E::MouthLeft, mouth_centre, 0.32, [0.1, 0.0, 0.0]);
    b.blob(E::MouthRight, mouth_centre, 0.32, [-0.1, 0.0, 0.0]);
    b.add(E::MouthShrugLower, |i, p| {
        let w = mouth_weight(p) * jaw[i];
        [0.0, -0.05 * w, 0.0]
    });
    b.add(E::MouthShrugUpper, |i, p| {
        let w = mouth_weight(p) * (1.0 - jaw[i]);
        [0.0, -0.03 * w, 0.0]
    });
    // Lip rolls: the lip turns in over the teeth, so its red shows less: the outer edge moves towards the
    // inner one and back, most in the middle.
    let centre_of = |p: [f32; 3]| 1.0 - ((p[0] - mouth_centre[0]) / half_width).abs().min(1.0);
    b.add(E::MouthRollLower, |i, p| {
        let centre = centre_of(p);
        if LOWER_OUTER.contains(&i) {
            [0.0, -0.06 * centre, 0.05 * centre]
        } else if LOWER_INNER.contains(&i) {
            [0.0, -0.015 * centre, 0.04 * centre]
        } else {
            // The skin under the lip follows a little.
            let w = mouth_weight(p) * jaw[i];
            [0.0, -0.02 * w, 0.01 * w]
        }
    });
    b.add(E::MouthRollUpper, |i, p| {
        let centre = centre_of(p);
        if UPPER_OUTER.contains(&i) {
            [0.0, 0.05 * centre, 0.05 * centre]
        } else if UPPER_INNER.contains(&i) {
            [0.0, 0.012 * centre, 0.04 * centre]
        } else {
            let w = mouth_weight(p) * (1.0 - jaw[i]);
            [0.0, 0.015 * w, 0.01 * w]
        }
    });
    // The tongue (drawn by the renderer) pushes the lower lip down and out a little: the lips part.
    b.add(E::TongueOut, |i, p| {
        let w = jaw[i] * (0.4 + 0.6 * mouth_weight(p));
        [0.0, 0.07 * w, -0.02 * w]
    });
    b.add(E::CheekPuff, |_, p| {
        // Both cheeks swell outwards and forwards.
        let sign = p[0].signum();
        let d2 = ((p[0].abs() - 0.5).powi(2) + (p[1] - 0.6).powi(2)) / 0.22f32.powi(2);
        let w = (-d2).exp();
        if w < 0.02 {
            [0.0; 3]
        } else {
            [sign * 0.05 * w, 0.0, -0.03 * w]
        }
    });

    let inner_brow = [(c[107][0] + c[336][0]) / 2.0, (c[107][1] + c[336][1]) / 2.0];
    b.add(E::BrowInnerUp, |_, p| {
        let dx = (p[0] - inner_brow[0]) / 0.3;
        let dy = (p[1] - inner_brow[1]) / 0.16;
        let w = (-(dx * dx + dy * dy)).exp();
        if w < 0.02 {
            [0.0; 3]
        } else {
            // 0.144 eye-corner distances at the inner ends: at 0.09 the round trip read the raised brows back
            // at 0.1-0.3 of the driver's score (r 0.78 / 0.57 on the demo portrait / Mona Lisa, 0.86 / 0.66
            // now; stronger still pulls mouthPucker and browOuterUp down with it).
            [0.0, -0.144 * w, 0.0]
        }
    });
    for (brow, outer, sign, down, up) in [
        (105, 70, -1.0f32, E::BrowDownRight, E::BrowOuterUpRight),
        (334, 300, 1.0, E::BrowDownLeft, E::BrowOuterUpLeft),
    ] {
        b.blob(
            down,
            [c[brow][0] * 0.8, c[brow][1]],
            0.2,
            [-sign * 0.02, 0.06, 0.0],
        );
        b.blob(
            up,
            [c[outer][0], c[outer][1] - 0.05],
            0.16,
            [0.0, -0.08, 0.0],
        );
    }
    b.rig
}
