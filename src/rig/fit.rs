//! Does a tracked rig sit on the face that is drawn? The face tracker learnt photographs; on stylised art
//! it can put the lips on the chin below a drawn mouth, and the head then opens a second mouth there.
//! [`check_fit`] looks for the drawn lip line (the darkest horizontal line across the mouth) and the drawn
//! eyes near where the rig has them; [`refine_fit`] moves the rig's mouth onto a drawn lip line it finds
//! clearly elsewhere, and pushes an eye ring that sits inside a large drawn eye out to its drawn rim (a
//! cartoon's white otherwise shows beside a closed lid). Rigging from the tracker runs both and warns, naming the sidecar to check in
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
/// How far (in eye widths) [`refine_fit`] looks past an eye-ring point for the drawn rim.
pub const RIM_SEARCH: f32 = 0.25;
/// Moves to the drawn rim shorter than this (pixels) are left alone: the tracker's own spread on photos.
pub const RIM_MIN_MOVE: f32 = 1.5;

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
    /// For each eye, the longest move (pixels) of an eye-ring point that [`refine_fit`] pushed out over
    /// the drawn white of the eye to its drawn rim (`0` when none moved; `[subject's right, left]`).
    pub rim_moves: [f32; 2],
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
    luma_of(rgb(image, x, y))
}

/// Colour at a point, bilinear, edges repeated (pixel `i`'s centre at `i`).
fn rgb(image: &PortraitImage, x: f32, y: f32) -> [f32; 3] {
    crate::tracking::bilinear(&image.rgba, image.width, image.height, 4, x + 0.5, y + 0.5)
}

fn luma_of(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// How coloured a pixel is: `(max - min) / max` of its channels (`0` grey or white, near `1` a pure hue).
fn chroma(c: [f32; 3]) -> f32 {
    let (hi, lo) = (c[0].max(c[1]).max(c[2]), c[0].min(c[1]).min(c[2]));
    (hi - lo) / (hi + 1.0)
}

/// A dark line across a band: the mean luma of rows `t` (along `down`) over `across` (along `right`),
/// about `centre`. Returns the darkest row's offset and how much it stands out (`0..1`), and how much the
/// darkest row within `own` (the rig's own lips, offsets from their top to their bottom) does.
fn darkest_row(
    image: &PortraitImage,
    centre: [f32; 2],
    right: [f32; 2],
    across: f32,
    range: (f32, f32),
    own: (f32, f32),
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
    // The rig's own lips' darkest row, where they lie in the band (a rig's line outside it is no line).
    let here = rows
        .iter()
        .filter(|r| (own.0 - 1.0..=own.1 + 1.0).contains(&r.0))
        .map(|r| stand_out(r.1))
        .fold(0.0, f32::max);
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

/// How far past an eye-ring point `q`, along the outward unit vector `n`, the drawn rim begins: `None`
/// unless `q` lies on the white of a drawn eye that a drawn line bounds. Read along `n` in half pixels:
/// - the rim is the first dark band (under 0.6 of `q`'s luma) within [`RIM_SEARCH`] eye widths;
/// - the skin is the brightest sample within 0.15 eye widths past the rim's darkest point: about as bright
///   as `q` (0.7 to 1.25 times), so the rim is a line and not the edge of a shadow or of the hair;
/// - `q` is on the white when it is nearly grey (chroma at most 0.25) and much less coloured than that
///   skin (under 0.7 of its chroma, which is at least 0.15: a grey photograph has no white to tell), and
///   the white runs on, as grey and as bright (0.8 of `q`'s luma), to 2 px short of the rim.
///
/// The rim begins where the luma has fallen half-way from `q`'s to the rim's darkest.
fn rim_distance(image: &PortraitImage, q: [f32; 2], n: [f32; 2], w: f32) -> Option<f32> {
    const STEP: f32 = 0.5;
    let count = ((RIM_SEARCH + 0.15) * w / STEP).ceil() as usize;
    let colours: Vec<[f32; 3]> = (0..=count)
        .map(|k| {
            let d = k as f32 * STEP;
            rgb(image, q[0] + d * n[0], q[1] + d * n[1])
        })
        .collect();
    let l: Vec<f32> = colours.iter().map(|&c| luma_of(c)).collect();
    let first = l.iter().position(|&v| v < 0.6 * l[0])?;
    if first as f32 * STEP > RIM_SEARCH * w {
        return None;
    }
    let mut trough = first;
    while trough + 1 < l.len() && l[trough + 1] <= l[trough] {
        trough += 1;
    }
    let past = (trough + (0.15 * w / STEP).ceil() as usize).min(l.len() - 1);
    let skin = (trough..=past).max_by(|&a, &b| l[a].total_cmp(&l[b]))?;
    let (c0, cs) = (chroma(colours[0]), chroma(colours[skin]));
    if cs < 0.15 || c0 > 0.25f32.min(0.7 * cs) || !(0.7 * l[0]..=1.25 * l[0]).contains(&l[skin]) {
        return None;
    }
    let half = (l[0] + l[trough]) / 2.0;
    let cross = l.iter().position(|&v| v < half)?;
    let grey = (c0 + 0.1).max(1.5 * c0);
    let white =
        (0..cross.saturating_sub(4)).all(|k| chroma(colours[k]) <= grey && l[k] >= 0.8 * l[0]);
    if !white {
        return None;
    }
    let (a, b) = (l[cross - 1], l[cross]);
    Some((cross as f32 - 1.0 + (a - half) / (a - b).max(1e-3)) * STEP)
}

/// Pushes the points of an eye's ring that lie on the drawn white of the eye out to where its drawn rim
/// begins ([`rim_distance`]; along the ring's outward normal, a corner along its angle's bisector): the
/// tracker learnt photographs, and on stylised art its ring can sit well inside a large drawn eye, leaving
/// a crescent of white outside it that a closed lid never covers. The points around the eye move with
/// the ring (by its outline's move where it is nearest): wholly within 0.1 eye widths of it, less with
/// distance, none beyond 0.5 eye widths. The irises stay. Returns the longest move (pixels).
fn snap_rim(image: &PortraitImage, p: &mut [[f32; 3]], ring: &[usize; 16]) -> f32 {
    let (c, dir, w) = eye_frame(p, ring);
    // (A point that is not a number makes the width one: nothing is read then.)
    if w.is_nan() || w < MIN_CHECKED_EYE {
        return 0.0;
    }
    let outwards = |q: [f32; 3], n: [f32; 2]| {
        if (q[0] - c[0]) * n[0] + (q[1] - c[1]) * n[1] < 0.0 {
            [-n[0], -n[1]]
        } else {
            n
        }
    };
    let mut moves = [[0.0f32; 2]; 16];
    for (k, m) in moves.iter_mut().enumerate() {
        let q = p[ring[k]];
        let (a, b) = (p[ring[(k + 15) % 16]], p[ring[(k + 1) % 16]]);
        let n = if k % 8 == 0 {
            // A corner: out along the bisector of its angle, into the drawn eye's tip.
            let (ua, ub) = (sub(a, q), sub(b, q));
            let (la, lb) = (len(ua).max(1e-3), len(ub).max(1e-3));
            let s = [-(ua[0] / la + ub[0] / lb), -(ua[1] / la + ub[1] / lb)];
            let l = len(s);
            if l < 1e-3 {
                outwards(q, dir)
            } else {
                outwards(q, [s[0] / l, s[1] / l])
            }
        } else {
            let t = sub(b, a);
            let l = len(t).max(1e-3);
            outwards(q, [t[1] / l, -t[0] / l])
        };
        if let Some(d) = rim_distance(image, [q[0], q[1]], n, w)
            && d >= RIM_MIN_MOVE
        {
            *m = [d * n[0], d * n[1]];
        }
    }
    let longest = moves.iter().map(|&m| len(m)).fold(0.0, f32::max);
    if longest == 0.0 {
        return 0.0;
    }
    let before: Vec<[f32; 3]> = ring.iter().map(|&i| p[i]).collect();
    let (near, reach) = (0.1 * w, 0.5 * w);
    // The 468 mesh points: the irises stay where they are.
    for (i, q) in p.iter_mut().enumerate().take(468) {
        let m = if let Some(k) = ring.iter().position(|&r| r == i) {
            moves[k]
        } else {
            // The move of the nearest point of the ring's outline, between its two ends' moves.
            let (mut nearest, mut m) = (f32::MAX, [0.0f32; 2]);
            for k in 0..16 {
                let (a, b) = (before[k], before[(k + 1) % 16]);
                let ab = sub(b, a);
                let aq = sub(*q, a);
                let t = ((aq[0] * ab[0] + aq[1] * ab[1])
                    / (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-6))
                .clamp(0.0, 1.0);
                let d = len([aq[0] - t * ab[0], aq[1] - t * ab[1]]);
                if d < nearest {
                    let (ma, mb) = (moves[k], moves[(k + 1) % 16]);
                    (nearest, m) = (
                        d,
                        [ma[0] + t * (mb[0] - ma[0]), ma[1] + t * (mb[1] - ma[1])],
                    );
                }
            }
            let fall = ((reach - nearest) / (reach - near)).clamp(0.0, 1.0);
            [fall * m[0], fall * m[1]]
        };
        q[0] += m[0];
        q[1] += m[1];
    }
    longest
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
    // The drawn lip line: between just below the nose and just above the chin, where lips can be (from
    // `LIPS_HIGH` to `LIPS_LOW` of the way), across the middle half of the mouth. (A beard's strokes
    // below a painted mouth are darker than its lips.)
    let range = (
        (nose + 0.15 * width)
            .max(nose + LIPS_HIGH * (chin - nose))
            .max(-0.9 * width),
        (chin - 0.2 * width)
            .min(nose + LIPS_LOW * (chin - nose))
            .min(0.9 * width),
    );
    if width < MIN_CHECKED_MOUTH {
        return report;
    }
    // The rig's own lips: from the top of the upper lip to the bottom of the lower one.
    let own = (along(p[0]).min(0.0), along(p[17]).max(0.0));
    if let Some((t, stands, here)) = darkest_row(image, centre, right, 0.5 * width, range, own) {
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
/// what was found, and that it was moved. Last, each eye's ring is pushed out over a drawn white of the
/// eye to the drawn rim that bounds it ([`FitReport::rim_moves`]): photographs and paintings, whose
/// white meets the lid without a drawn line, are left as tracked.
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
    if rig.landmarks.len() >= 468 {
        for (side, ring) in [(0, &RIGHT_EYE), (1, &LEFT_EYE)] {
            report.rim_moves[side] = snap_rim(image, &mut rig.landmarks, ring);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drawn eye: a white ellipse (semi-axes 50 x 22 px about (100, 60)) bounded by a dark rim 3 px
    /// wide, on skin; `grey` draws it without colour (a black-and-white picture).
    fn drawn_eye(grey: bool) -> PortraitImage {
        let (w, h) = (200u32, 120u32);
        let (skin, white, rim) = if grey {
            ([170u8; 3], [225u8; 3], [60u8; 3])
        } else {
            ([220, 170, 140], [235, 230, 225], [90, 40, 30])
        };
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let r = ((x as f32 - 100.0) / 50.0).hypot((y as f32 - 60.0) / 22.0);
                let c = if r <= 1.0 {
                    white
                } else if r <= 1.12 {
                    rim
                } else {
                    skin
                };
                rgba.extend_from_slice(&[c[0], c[1], c[2], 255]);
            }
        }
        PortraitImage::new(w, h, rgba).unwrap()
    }

    /// The subject's right eye ring on an ellipse about the drawn eye's centre (outer corner on the
    /// left, then the lower lid), the other points far from it.
    fn ring_on(a: f32, b: f32) -> Vec<[f32; 3]> {
        let mut p = vec![[0.0f32; 3]; 478];
        for (k, &i) in RIGHT_EYE.iter().enumerate() {
            let phi = std::f32::consts::PI * (1.0 - k as f32 / 8.0);
            p[i] = [100.0 + a * phi.cos(), 60.0 + b * phi.sin(), 0.0];
        }
        p
    }

    /// How far each ring point is from the drawn white's edge, in the ellipse's normalised radius.
    fn radii(p: &[[f32; 3]]) -> Vec<f32> {
        RIGHT_EYE
            .iter()
            .map(|&i| ((p[i][0] - 100.0) / 50.0).hypot((p[i][1] - 60.0) / 22.0))
            .collect()
    }

    #[test]
    fn a_ring_inside_a_drawn_eye_moves_out_to_its_rim_and_a_grey_or_fitting_one_stays() {
        let image = drawn_eye(false);
        let mut p = ring_on(40.0, 15.0);
        let longest = snap_rim(&image, &mut p, &RIGHT_EYE);
        let r = radii(&p);
        assert!(longest > 6.0, "moved at most {longest} px");
        assert!(
            r.iter().all(|r| (0.9..=1.08).contains(r)),
            "the ring is not on the drawn rim: {r:.2?}"
        );
        // Points far from the eye stay.
        assert_eq!(p[1], [0.0; 3]);
        // A grey picture has no white to tell from the skin; a ring already on the rim is the
        // tracker's own.
        let mut grey = ring_on(40.0, 15.0);
        assert_eq!(snap_rim(&drawn_eye(true), &mut grey, &RIGHT_EYE), 0.0);
        assert_eq!(grey, ring_on(40.0, 15.0));
        let mut fitting = ring_on(49.5, 21.5);
        assert_eq!(snap_rim(&image, &mut fitting, &RIGHT_EYE), 0.0);
        // A ring point that is not a number reads nothing.
        let mut broken = ring_on(40.0, 15.0);
        broken[RIGHT_EYE[0]][0] = f32::NAN;
        assert_eq!(snap_rim(&image, &mut broken, &RIGHT_EYE), 0.0);
    }
}
