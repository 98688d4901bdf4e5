//! Does a tracked rig sit on the face that is drawn? The face tracker learnt photographs; on stylised art
//! it can put the lips on the chin below a drawn mouth, and the head then opens a second mouth there.
//! [`check_fit`] looks for the drawn lip line (the darkest horizontal line across the mouth) and the drawn
//! eyes near where the rig has them; [`refine_fit`] moves the rig's mouth onto a drawn lip line it finds
//! clearly elsewhere. Rigging from the tracker runs both and warns, naming the sidecar to check in
//! `landmark_editor`.

use super::portrait::PortraitRig;
use super::topology::{
    LEFT_EYE, LOWER_INNER_LIP, LOWER_OUTER_LIP, RIGHT_EYE, UPPER_INNER_LIP, UPPER_OUTER_LIP,
};
use crate::portrait::PortraitImage;

/// How far (in mouth widths) the drawn lip line may be from the rig's before it counts as elsewhere.
pub const LIP_LINE_TOLERANCE: f32 = 0.25;
/// The lips' height between the nose and the chin below which they sit at the nose.
pub const LIPS_HIGH: f32 = 0.12;
/// Mouths narrower than this (pixels) are not checked: the picture has too few pixels for a line.
pub const MIN_CHECKED_MOUTH: f32 = 40.0;
/// The lips' height between the nose and the chin (`0` at the nose, `1` at the chin) above which they are
/// implausibly low for a face.
pub const LIPS_LOW: f32 = 0.62;
/// How far (in eye widths) from the rig's eye [`check_fit`] looks for the drawn one.
pub const EYE_SEARCH: f32 = 1.2;
/// How much more eye-like (bright sclera on both sides of a dark iris) a row more than half an eye width
/// from the rig's eye must be than the rig's own rows before the drawn eye counts as elsewhere. The
/// correct rigs of the test data peak at 1.07 (a brow's arch, which crosses a row twice, is the nearest
/// thing to an eye).
pub const EYE_ELSEWHERE: f32 = 1.3;
/// ... and before [`refine_fit`] moves the rig's eye onto it.
pub const EYE_SNAP: f32 = 2.0;

/// What [`check_fit`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FitReport {
    /// The rig's mouth width, pixels.
    pub mouth_width: f32,
    /// Where the drawn lip line is against the rig's, pixels along the face's downward axis (positive:
    /// lower in the picture); `None` when no line stands out.
    pub lip_line_offset: Option<f32>,
    /// The rig's lips between nose and chin (`0` at the nose, `1` at the chin).
    pub lip_height: f32,
    /// Each eye's drawn eye (a dark iris between bright sclera) against the rig's eye, pixels along the
    /// face's downward axis, `[subject's right, left]`: `0` when the rig's own eye is the most eye-like
    /// place near it; `None` when the eye was not checked (turned away, too small, or no eye stands out).
    pub eye_offsets: [Option<f32>; 2],
    /// For each eye, how much more eye-like the place at [`eye_offsets`](Self::eye_offsets) is than the
    /// rig's own eye (`0` when not checked). Above [`EYE_ELSEWHERE`] the eye is named in
    /// [`problems`](Self::problems).
    pub eye_ratios: [f32; 2],
    /// Which eyes [`refine_fit`] moved onto the drawn eye (`[subject's right, left]`).
    pub snapped_eyes: [bool; 2],
    /// Whether [`refine_fit`] moved the rig's mouth onto the drawn line.
    pub snapped_mouth: bool,
    /// What looks wrong, in words (empty when the rig sits on the drawn face).
    pub problems: Vec<String>,
}

impl FitReport {
    /// Whether nothing looks wrong.
    pub fn is_good(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Luma at a point, bilinear, edges repeated.
pub(super) fn luma(image: &PortraitImage, x: f32, y: f32) -> f32 {
    let (w, h) = (image.width as i64, image.height as i64);
    let at = |x: i64, y: i64| -> f32 {
        let (x, y) = (x.clamp(0, w - 1) as usize, y.clamp(0, h - 1) as usize);
        let p = &image.rgba[(y * w as usize + x) * 4..][..3];
        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
    };
    let (xf, yf) = (x.floor(), y.floor());
    let (fx, fy) = (x - xf, y - yf);
    let (xi, yi) = (xf as i64, yf as i64);
    at(xi, yi) * (1.0 - fx) * (1.0 - fy)
        + at(xi + 1, yi) * fx * (1.0 - fy)
        + at(xi, yi + 1) * (1.0 - fx) * fy
        + at(xi + 1, yi + 1) * fx * fy
}

/// A dark line across a band: the mean luma of rows `t` (along `down`) over `across` (along `right`),
/// about `centre`. Returns the darkest row's offset and how much it stands out (`0..1`), and how much the
/// row at offset 0 does.
fn darkest_row(
    image: &PortraitImage,
    centre: [f32; 2],
    right: [f32; 2],
    across: f32,
    range: (f32, f32),
) -> Option<(f32, f32, f32)> {
    let down = [-right[1], right[0]];
    let (lo, hi) = (range.0.round() as i32, range.1.round() as i32);
    if hi - lo < 4 {
        return None;
    }
    let samples = (across.round() as i32).max(3);
    let row = |t: f32| -> f32 {
        (0..=samples)
            .map(|k| {
                let s = -across / 2.0 + across * k as f32 / samples as f32;
                luma(
                    image,
                    centre[0] + s * right[0] + t * down[0],
                    centre[1] + s * right[1] + t * down[1],
                )
            })
            .sum::<f32>()
            / (samples + 1) as f32
    };
    let rows: Vec<(f32, f32)> = (lo..=hi)
        .map(|t| {
            let t = t as f32;
            // Three rows: a line a pixel wide is still seen in a picture scaled down.
            (t, (row(t - 1.0) + row(t) + row(t + 1.0)) / 3.0)
        })
        .collect();
    let mean = rows.iter().map(|r| r.1).sum::<f32>() / rows.len() as f32;
    let (t, dark) = rows.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let stand_out = |v: f32| ((mean - v) / (mean + 1.0)).max(0.0);
    // The rig's own row, when it lies in the band (a rig's line outside it is no line).
    let here = if (range.0..=range.1).contains(&0.0) {
        stand_out((row(-1.0) + row(0.0) + row(1.0)) / 3.0)
    } else {
        0.0
    };
    Some((t, stand_out(dark), here))
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn len(v: [f32; 2]) -> f32 {
    (v[0] * v[0] + v[1] * v[1]).sqrt()
}

/// The rig's mouth frame: centre of the lip line, unit vector corner to corner (image right for an
/// upright face), mouth width.
fn mouth_frame(p: &[[f32; 3]]) -> ([f32; 2], [f32; 2], f32) {
    let across = sub(p[291], p[61]);
    let width = len(across).max(1.0);
    let centre = [(p[13][0] + p[14][0]) / 2.0, (p[13][1] + p[14][1]) / 2.0];
    (centre, [across[0] / width, across[1] / width], width)
}

/// Eyes narrower than this (pixels, corner to corner) are not checked.
pub const MIN_CHECKED_EYE: f32 = 8.0;

/// An eye's frame: the centre of its opening, the unit vector corner to corner (image right for an
/// upright face), its width.
fn eye_frame(p: &[[f32; 3]], ring: &[usize; 16]) -> ([f32; 2], [f32; 2], f32) {
    let across = sub(p[ring[8]], p[ring[0]]);
    let w = len(across).max(1.0);
    let dir = if across[0] >= 0.0 {
        [across[0] / w, across[1] / w]
    } else {
        [-across[0] / w, -across[1] / w]
    };
    let c = ring.iter().fold([0.0f32; 2], |a, &i| {
        [a[0] + p[i][0] / 16.0, a[1] + p[i][1] / 16.0]
    });
    (c, dir, w)
}

/// How eye-like the band of rows at offset `t` (pixels along the face's downward axis) from an eye's
/// centre `c` is: a dark iris with brighter sclera on both sides. The band's mean profile across
/// `1.2 w` (over five rows, `0.16 w` tall); the best dip `min(left, right) - centre` for an iris centre
/// within `0.3 w` of the middle and sides `0.22`, `0.3` or `0.38 w` from it, against the band's mean
/// luma. A brow is dark all along the row, skin is flat: both score near 0 but where a brow's arch
/// crosses a row twice.
fn eye_evidence(image: &PortraitImage, c: [f32; 2], dir: [f32; 2], w: f32, t: f32) -> f32 {
    let down = [-dir[1], dir[0]];
    let n = (1.2 * w).round().max(12.0) as usize;
    let ds = 1.2 * w / n as f32;
    let profile: Vec<f32> = (0..=n)
        .map(|i| {
            let s = -0.6 * w + i as f32 * ds;
            (0..5)
                .map(|r| {
                    let u = t - 0.08 * w + 0.04 * w * r as f32;
                    luma(
                        image,
                        c[0] + s * dir[0] + u * down[0],
                        c[1] + s * dir[1] + u * down[1],
                    )
                })
                .sum::<f32>()
                / 5.0
        })
        .collect();
    let mean = profile.iter().sum::<f32>() / profile.len() as f32;
    let mut best = 0.0f32;
    for side in [0.22f32, 0.3, 0.38] {
        let k = (side * w / ds).round() as usize;
        for i in k..profile.len().saturating_sub(k) {
            let s = -0.6 * w + i as f32 * ds;
            if s.abs() > 0.3 * w {
                continue;
            }
            best = best.max(profile[i - k].min(profile[i + k]) - profile[i]);
        }
    }
    best / (mean + 1.0)
}

/// Where the drawn eye is against the rig's eye (centre `c`, corner-to-corner `dir`, width `w`): the
/// offset along the face's downward axis of the most eye-like band more than half an eye width away,
/// and how much more eye-like it is than the best band within a quarter width of the rig's eye; or
/// `(0, ratio)` when that ratio is at most 1. `None` when nothing near is eye-like at all.
fn locate_eye(image: &PortraitImage, c: [f32; 2], dir: [f32; 2], w: f32) -> Option<(f32, f32)> {
    let step = (w / 48.0).max(1.0);
    let steps = (EYE_SEARCH * w / step).floor() as i32;
    let (mut here, mut far, mut far_t) = (0.0f32, 0.0f32, 0.0f32);
    for k in -steps..=steps {
        let t = k as f32 * step;
        let e = eye_evidence(image, c, dir, w, t);
        if t.abs() <= 0.25 * w {
            here = here.max(e);
        } else if t.abs() > 0.5 * w && e > far {
            (far, far_t) = (e, t);
        }
    }
    // Less than this against the band's luma is no drawn eye (a closed or hidden one).
    if here.max(far) < 0.1 {
        return None;
    }
    let ratio = far / here.max(1e-3);
    Some(if ratio > 1.0 {
        (far_t, ratio)
    } else {
        (0.0, ratio)
    })
}

/// Looks for the drawn lip line and eyes near the rig's: a tracked rig that misses the drawn face (the
/// tracker learnt photographs; on stylised art its lips can sit on the chin below a drawn mouth).
pub fn check_fit(image: &PortraitImage, rig: &PortraitRig) -> FitReport {
    let p = &rig.landmarks;
    let mut report = FitReport::default();
    if p.len() < 468 {
        return report;
    }
    let (centre, right, width) = mouth_frame(p);
    let down = [-right[1], right[0]];
    let along = |q: [f32; 3]| (q[0] - centre[0]) * down[0] + (q[1] - centre[1]) * down[1];
    report.mouth_width = width;
    // Lips between the nose (subnasale, 2) and the chin (152).
    let (nose, chin) = (along(p[2]), along(p[152]));
    report.lip_height = if chin - nose > 1.0 {
        -nose / (chin - nose)
    } else {
        0.5
    };
    // The drawn lip line: between just below the nose and just above the chin, across the middle half
    // of the mouth.
    let range = (
        (nose + 0.15 * width).max(-0.9 * width),
        (chin - 0.2 * width).min(0.9 * width),
    );
    if width < MIN_CHECKED_MOUTH {
        return report;
    }
    if let Some((t, stands, here)) = darkest_row(image, centre, right, 0.5 * width, range) {
        // A line stands out (a tenth darker than the band) and the rig's own line does not.
        if stands > 0.1 && here < 0.6 * stands {
            report.lip_line_offset = Some(t);
        } else {
            report.lip_line_offset = Some(0.0);
        }
    }
    let eyes = [eye_frame(p, &RIGHT_EYE), eye_frame(p, &LEFT_EYE)];
    let widest = eyes[0].2.max(eyes[1].2);
    for (side, &(c, dir, w)) in eyes.iter().enumerate() {
        // An eye much narrower than the other is turned away (or hidden): its drawn shape is no guide.
        if w < 0.7 * widest || w < MIN_CHECKED_EYE {
            continue;
        }
        if let Some((t, ratio)) = locate_eye(image, c, dir, w) {
            report.eye_offsets[side] = Some(t);
            report.eye_ratios[side] = ratio;
        }
    }
    if let Some(t) = report.lip_line_offset
        && t.abs() > LIP_LINE_TOLERANCE * width
    {
        report.problems.push(format!(
            "the tracked lips sit {:.0} px {} the drawn lip line",
            t.abs(),
            if t < 0.0 { "below" } else { "above" }
        ));
    }
    if report.lip_height < LIPS_HIGH {
        report.problems.push(format!(
            "the tracked lips sit at the nose ({:.0} % of the way from nose to chin)",
            100.0 * report.lip_height
        ));
    }
    if report.lip_height > LIPS_LOW {
        report.problems.push(format!(
            "the tracked lips sit low on the face ({:.0} % of the way from nose to chin)",
            100.0 * report.lip_height
        ));
    }
    for (side, name) in [(0, "right"), (1, "left")] {
        if let Some(t) = report.eye_offsets[side]
            && report.eye_ratios[side] > EYE_ELSEWHERE
        {
            report.problems.push(format!(
                "the subject's {name} eye is drawn about {:.0} px {} the tracked one",
                t.abs(),
                if t < 0.0 { "above" } else { "below" }
            ));
        }
    }
    report
}

/// [`check_fit`], and the rig moved onto the drawn face where [`check_fit`] found it clearly elsewhere:
/// the mouth onto a drawn lip line (the lips by the whole offset, the skin around them less with
/// distance, none beyond half a mouth width), and an eye onto a drawn eye at least [`EYE_SNAP`] times as
/// eye-like as the rig's (the eye and its lids by the whole offset, the skin around less with distance,
/// none beyond 1.2 eye widths from its centre, so the other eye stays). The report's problems still say
/// what was found, and that it was moved.
pub fn refine_fit(image: &PortraitImage, rig: &mut PortraitRig) -> FitReport {
    let mut report = check_fit(image, rig);
    if let Some(t) = report.lip_line_offset
        && t.abs() > LIP_LINE_TOLERANCE * report.mouth_width
    {
        let (_, right, width) = mouth_frame(&rig.landmarks);
        let down = [-right[1], right[0]];
        let lips: Vec<usize> = [
            &UPPER_OUTER_LIP,
            &LOWER_OUTER_LIP,
            &UPPER_INNER_LIP,
            &LOWER_INNER_LIP,
        ]
        .iter()
        .flat_map(|l| l.iter().copied())
        .collect();
        let before = rig.landmarks.clone();
        for (i, q) in rig.landmarks.iter_mut().enumerate() {
            let d = lips
                .iter()
                .map(|&l| len(sub(before[i], before[l])))
                .fold(f32::MAX, f32::min);
            let w = (1.0 - d / (0.5 * width)).clamp(0.0, 1.0);
            q[0] += w * t * down[0];
            q[1] += w * t * down[1];
        }
        report.snapped_mouth = true;
        if let Some(p) = report.problems.iter_mut().find(|p| p.contains("lip line")) {
            p.push_str("; the rig's mouth was moved onto the drawn line");
        }
    }
    for (side, ring, name) in [(0, &RIGHT_EYE, "right eye"), (1, &LEFT_EYE, "left eye")] {
        let Some(t) = report.eye_offsets[side] else {
            continue;
        };
        if report.eye_ratios[side] <= EYE_SNAP || t == 0.0 {
            continue;
        }
        let (c, dir, w) = eye_frame(&rig.landmarks, ring);
        let down = [-dir[1], dir[0]];
        for q in &mut rig.landmarks {
            let d = len([q[0] - c[0], q[1] - c[1]]);
            let k = ((1.2 * w - d) / (0.6 * w)).clamp(0.0, 1.0);
            q[0] += k * t * down[0];
            q[1] += k * t * down[1];
        }
        report.snapped_eyes[side] = true;
        if let Some(p) = report.problems.iter_mut().find(|p| p.contains(name)) {
            p.push_str("; the rig's eye was moved onto the drawn one");
        }
    }
    report
}
