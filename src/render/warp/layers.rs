//! What shows through the holes of the face mesh: the eyes (sclera and iris, behind the lids) and the
//! mouth interior (cavity, teeth, tongue, or a reference portrait's open mouth).

use std::sync::Arc;

use super::raster::Texture;
pub(crate) use crate::math::inside;
use crate::math::{polyline_y as interp_y, smoothstep};
use crate::render::PortraitImage;
use crate::rig::topology::{
    LOWER_INNER_LIP, LOWER_OUTER_LIP, UPPER_INNER_LIP, UPPER_OUTER_LIP, eye_fold, eye_ring,
};

fn luma(p: &[u8]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

fn bbox(poly: &[[f32; 2]], w: usize, h: usize) -> (usize, usize, usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in poly {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let c = |v: f32, n: usize| (v.max(0.0) as usize).min(n.saturating_sub(1));
    (c(x0, w), c(y0, h), c(x1.ceil(), w), c(y1.ceil(), h))
}

/// Maps points by the similarity taking segment `from` onto segment `to`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Similarity {
    origin: [f32; 2],
    target: [f32; 2],
    z: [f32; 2],
}

impl Similarity {
    pub fn new(from: [[f32; 2]; 2], to: [[f32; 2]; 2]) -> Self {
        let f = [from[1][0] - from[0][0], from[1][1] - from[0][1]];
        let t = [to[1][0] - to[0][0], to[1][1] - to[0][1]];
        let n = (f[0] * f[0] + f[1] * f[1]).max(1e-9);
        // z = t / f as complex numbers.
        let z = [
            (t[0] * f[0] + t[1] * f[1]) / n,
            (t[1] * f[0] - t[0] * f[1]) / n,
        ];
        Self {
            origin: from[0],
            target: to[0],
            z,
        }
    }

    #[inline]
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let d = [p[0] - self.origin[0], p[1] - self.origin[1]];
        [
            self.target[0] + self.z[0] * d[0] - self.z[1] * d[1],
            self.target[1] + self.z[1] * d[0] + self.z[0] * d[1],
        ]
    }
}

/// One eye of the main portrait: its opening, iris and colours.
#[derive(Clone, Debug)]
pub(crate) struct EyeLayer {
    /// The eye's frame (outer corner at 0, inner corner at 1), and in it the upper lid edge and the fold
    /// above it, as `[u, v]` polylines sorted by u (v in pixels, down).
    pub frame: SegmentFrame,
    pub lid: Vec<[f32; 2]>,
    pub fold: Vec<[f32; 2]>,
    /// Outer and inner corner (the eyeball moves rigidly with them).
    pub corners: [[f32; 2]; 2],
    /// The opening in the portrait.
    pub opening: Vec<[f32; 2]>,
    pub iris: [f32; 2],
    pub radius: f32,
    pub sclera: [f32; 3],
    pub iris_colour: [f32; 3],
}

impl EyeLayer {
    pub fn new(
        image: &PortraitImage,
        points: &[[f32; 3]],
        side: usize,
        iris: Option<[f32; 2]>,
        radius: Option<f32>,
    ) -> Self {
        let opening: Vec<[f32; 2]> = eye_ring(side)
            .iter()
            .map(|&i| [points[i][0], points[i][1]])
            .collect();
        let corners = [opening[0], opening[8]];
        let width = ((corners[1][0] - corners[0][0]).powi(2)
            + (corners[1][1] - corners[0][1]).powi(2))
        .sqrt();
        let centre = {
            let mut c = [0.0; 2];
            for p in &opening {
                c[0] += p[0] / 16.0;
                c[1] += p[1] / 16.0;
            }
            c
        };
        let iris = iris
            .filter(|i| i[0].is_finite() && i[1].is_finite())
            .unwrap_or(centre);
        let radius = radius
            .filter(|r| r.is_finite() && *r > 0.5)
            .unwrap_or(0.22 * width)
            .min(0.4 * width);
        let (w, h) = (image.width as usize, image.height as usize);
        let (x0, y0, x1, y1) = bbox(&opening, w, h);
        let mut sclera_px: Vec<[u8; 4]> = Vec::new();
        let mut iris_sum = [0f32; 4];
        for y in y0..=y1 {
            for x in x0..=x1 {
                let p = [x as f32 + 0.5, y as f32 + 0.5];
                if !inside(&opening, p) {
                    continue;
                }
                let i = (y * w + x) * 4;
                let px = [
                    image.rgba[i],
                    image.rgba[i + 1],
                    image.rgba[i + 2],
                    image.rgba[i + 3],
                ];
                let d = ((p[0] - iris[0]).powi(2) + (p[1] - iris[1]).powi(2)).sqrt();
                if d > radius * 1.2 {
                    sclera_px.push(px);
                } else if d < radius * 0.9 {
                    for c in 0..3 {
                        iris_sum[c] += px[c] as f32;
                    }
                    iris_sum[3] += 1.0;
                }
            }
        }
        // The sclera is the middle of what is not iris: lashes and lid shadows are darker, highlights
        // brighter, and a fill from the brightest part looks startled on paintings.
        let sclera = if sclera_px.len() >= 4 {
            sclera_px.sort_by(|a, b| luma(a).total_cmp(&luma(b)));
            let n = sclera_px.len();
            let top = &sclera_px[n * 3 / 10..(n * 8 / 10).max(n * 3 / 10 + 1)];
            let mut s = [0f32; 3];
            for p in top {
                for c in 0..3 {
                    s[c] += p[c] as f32 / top.len() as f32;
                }
            }
            s
        } else {
            [225.0, 215.0, 205.0]
        };
        let iris_colour = if iris_sum[3] > 0.0 {
            [
                iris_sum[0] / iris_sum[3],
                iris_sum[1] / iris_sum[3],
                iris_sum[2] / iris_sum[3],
            ]
        } else {
            [70.0, 50.0, 40.0]
        };
        let frame = SegmentFrame::eye(corners, side);
        let (lid, fold) = lid_lines(&frame, points, side, |p| p);
        Self {
            frame,
            lid,
            fold,
            corners,
            opening,
            iris,
            radius,
            sclera,
            iris_colour,
        }
    }

    /// Redraws the lid skin of a closing upper lid: between the fold and the lid edge the skin is
    /// stretched from the skin above the lashes, and the lashes keep their own thickness at the edge
    /// (stretching the whole band smears the lash line over the closed eye).
    #[allow(clippy::too_many_arguments)]
    pub fn draw_closing_lid(
        &self,
        tex: &Texture<'_>,
        to_source: &Similarity,
        target: &[[f32; 3]],
        side: usize,
        out: &mut [u8],
        out_width: usize,
        out_height: usize,
    ) {
        let (lid_t, fold_t) = lid_lines(&self.frame, target, side, |p| to_source.apply(p));
        let closing = (1..10).any(|k| {
            let u = k as f32 / 10.0;
            interp_y(&lid_t, u) > interp_y(&self.lid, u) + 0.5
        });
        if !closing {
            return;
        }
        let width = self.frame.width;
        let lash = (0.18 * width).max(1.0);
        // Target pixels to visit: around the target lid and fold.
        // The lid skin between the fold and the lid edge is what covers the eye.
        let pts: Vec<[f32; 2]> = eye_ring(side)
            .iter()
            .chain(eye_fold(side))
            .map(|&i| [target[i][0], target[i][1]])
            .collect();
        let (x0, y0, x1, y1) = bbox(&pts, out_width, out_height);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let q = to_source.apply([x as f32 + 0.5, y as f32 + 0.5]);
                let [u, v] = self.frame.local(q);
                if !(0.0..=1.0).contains(&u) {
                    continue;
                }
                let (lt, ft) = (interp_y(&lid_t, u), interp_y(&fold_t, u));
                let (ls, fs) = (interp_y(&self.lid, u), interp_y(&self.fold, u));
                if v < ft || v > lt || lt <= ls + 0.25 || lt - ft < 2.0 * lash {
                    continue;
                }
                let vs = if v >= lt - lash {
                    ls - (lt - v)
                } else {
                    fs + (v - ft) * (ls - lash - fs) / (lt - lash - ft)
                };
                let src = self.frame.world(u, vs);
                let colour = tex.sample(src[0], src[1]);
                let i = (y * out_width + x) * 4;
                out[i..i + 4].copy_from_slice(&colour);
            }
        }
    }

    /// Shades the target pixels of `span` (row `y`, `x0..=x1`) of an eye whose corners moved to
    /// `corners`, with the iris shifted by `gaze` (portrait pixels), into `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn shade_span(
        &self,
        tex: &Texture<'_>,
        to_source: &Similarity,
        gaze: [f32; 2],
        top: &[[f32; 2]],
        y: usize,
        x0: usize,
        x1: usize,
        out: &mut [u8],
        out_width: usize,
    ) {
        let rr = self.radius * 1.1;
        let moved = [self.iris[0] + gaze[0], self.iris[1] + gaze[1]];
        for x in x0..=x1 {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let q = to_source.apply(p);
            let dm = ((q[0] - moved[0]).powi(2) + (q[1] - moved[1]).powi(2)).sqrt();
            let colour: [u8; 4] = if dm < rr {
                // The iris, from where it is in the portrait; its hidden top mirrored from the bottom.
                let a = [q[0] - gaze[0], q[1] - gaze[1]];
                if inside(&self.opening, a) {
                    tex.sample(a[0], a[1])
                } else {
                    let m = [a[0], 2.0 * self.iris[1] - a[1]];
                    if inside(&self.opening, m) {
                        tex.sample(m[0], m[1])
                    } else {
                        let c = self.iris_colour;
                        [c[0] as u8, c[1] as u8, c[2] as u8, 255]
                    }
                }
            } else {
                let d0 = ((q[0] - self.iris[0]).powi(2) + (q[1] - self.iris[1]).powi(2)).sqrt();
                if d0 >= rr && inside(&self.opening, q) {
                    tex.sample(q[0], q[1])
                } else {
                    // Sclera where the iris was, shaded under the upper lid.
                    let lid = interp_y(top, p[0]);
                    let depth = ((p[1] - lid) / (0.6 * self.radius).max(1.0)).clamp(0.0, 1.0);
                    let shade = 0.8 + 0.2 * depth;
                    let s = self.sclera;
                    [
                        (s[0] * shade) as u8,
                        (s[1] * shade) as u8,
                        (s[2] * shade) as u8,
                        255,
                    ]
                }
            };
            let i = (y * out_width + x) * 4;
            out[i..i + 4].copy_from_slice(&colour);
        }
    }
}

/// The frame of a segment `a -> b`: `u` along it (0 at `a`, 1 at `b`), `v` across it in pixels, positive
/// on the side of `normal_sign * (-dy, dx)` (towards the chin for the mouth's and the eyes' segments as
/// this module builds them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegmentFrame {
    origin: [f32; 2],
    axis: [f32; 2],
    normal: [f32; 2],
    pub width: f32,
}

impl SegmentFrame {
    fn new(a: [f32; 2], b: [f32; 2], normal_sign: f32) -> Self {
        let d = [b[0] - a[0], b[1] - a[1]];
        let width = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-3);
        let axis = [d[0] / width, d[1] / width];
        Self {
            origin: a,
            axis,
            normal: [-axis[1] * normal_sign, axis[0] * normal_sign],
            width,
        }
    }

    /// The frame of one eye, from its outer (`u` = 0) to its inner corner, `v` towards the chin. The
    /// subject's right eye runs towards the subject's left, like the mouth; the left eye the other way.
    pub fn eye(corners: [[f32; 2]; 2], side: usize) -> Self {
        Self::new(corners[0], corners[1], if side == 0 { 1.0 } else { -1.0 })
    }

    /// The unit vector of growing `v`.
    pub fn normal(&self) -> [f32; 2] {
        self.normal
    }

    #[inline]
    pub fn local(&self, p: [f32; 2]) -> [f32; 2] {
        let d = [p[0] - self.origin[0], p[1] - self.origin[1]];
        [
            (d[0] * self.axis[0] + d[1] * self.axis[1]) / self.width,
            d[0] * self.normal[0] + d[1] * self.normal[1],
        ]
    }

    pub fn world(&self, u: f32, v: f32) -> [f32; 2] {
        [
            self.origin[0] + self.axis[0] * u * self.width + self.normal[0] * v,
            self.origin[1] + self.axis[1] * u * self.width + self.normal[1] * v,
        ]
    }
}

/// The upper lid edge (corners included) and the fold above it of one eye of `points`, mapped by `map`,
/// in `frame`'s coordinates, sorted by u.
fn lid_lines(
    frame: &SegmentFrame,
    points: &[[f32; 3]],
    side: usize,
    map: impl Fn([f32; 2]) -> [f32; 2],
) -> (Vec<[f32; 2]>, Vec<[f32; 2]>) {
    let ring = eye_ring(side);
    let line = |idx: &mut dyn Iterator<Item = usize>| {
        let mut l: Vec<[f32; 2]> = idx
            .map(|i| frame.local(map([points[i][0], points[i][1]])))
            .collect();
        l.sort_by(|a, b| a[0].total_cmp(&b[0]));
        l
    };
    let lid = line(&mut ring[8..].iter().copied().chain([ring[0]]));
    let fold = line(&mut eye_fold(side).iter().copied());
    (lid, fold)
}

/// A mouth in its own frame: `s` along the inner corners (0..1), `v` across (pixels, towards the chin),
/// with its inner lip edges.
#[derive(Clone, Debug)]
pub(crate) struct MouthFrame {
    frame: SegmentFrame,
    pub width: f32,
    upper: Vec<[f32; 2]>,
    lower: Vec<[f32; 2]>,
}

impl MouthFrame {
    pub fn new(points: &[[f32; 3]]) -> Self {
        let at = |i: usize| [points[i][0], points[i][1]];
        let frame = SegmentFrame::new(at(78), at(308), 1.0);
        let line = |idx: &[usize; 11]| {
            let mut l: Vec<[f32; 2]> = idx.iter().map(|&i| frame.local(at(i))).collect();
            l.sort_by(|p, q| p[0].total_cmp(&q[0]));
            l
        };
        Self {
            width: frame.width,
            upper: line(&UPPER_INNER_LIP),
            lower: line(&LOWER_INNER_LIP),
            frame,
        }
    }

    #[inline]
    pub fn local(&self, p: [f32; 2]) -> [f32; 2] {
        self.frame.local(p)
    }

    pub fn world(&self, s: f32, v: f32) -> [f32; 2] {
        self.frame.world(s, v)
    }

    /// Upper and lower inner-lip edges at `s`.
    pub fn edges(&self, s: f32) -> (f32, f32) {
        (interp_y(&self.upper, s), interp_y(&self.lower, s))
    }

    /// The widest gap between the lips over the mouth width.
    pub fn openness(&self) -> f32 {
        (1..20)
            .map(|k| {
                let (u, l) = self.edges(k as f32 / 20.0);
                (l - u).max(0.0)
            })
            .fold(0.0, f32::max)
            / self.width
    }
}

/// A portrait whose open mouth lends its interior.
#[derive(Clone, Debug)]
pub(crate) struct MouthReference {
    /// Which of the head's portraits it is.
    pub index: usize,
    pub image: Arc<PortraitImage>,
    pub frame: MouthFrame,
    /// Where the upper teeth meet the lower ones (or the darkest row between), as a fraction of the
    /// opening from the upper lip: above it the interior hangs from the upper lip, below it sits on the
    /// lower lip.
    pub bite: f32,
}

impl MouthReference {
    pub fn new(index: usize, image: Arc<PortraitImage>, frame: MouthFrame) -> Self {
        let tex = Texture {
            width: image.width as usize,
            height: image.height as usize,
            rgba: &image.rgba,
            px: &[],
        };
        // The luminance across the opening (middle of the mouth): the bite is a dark row between bright
        // teeth. Without one (the teeth fill the opening, or it is all dark), everything hangs from the
        // upper lip.
        let mut profile = Vec::new();
        for k in 0..=32 {
            let f = 0.05 + 0.9 * k as f32 / 32.0;
            let mut sum = 0.0;
            for j in 0..9 {
                let s = 0.3 + 0.4 * j as f32 / 8.0;
                let (u, l) = frame.edges(s);
                if l - u < 3.0 {
                    return Self {
                        index,
                        image: image.clone(),
                        frame,
                        bite: 1.0,
                    };
                }
                let p = frame.world(s, u + f * (l - u));
                sum += luma(&tex.sample(p[0], p[1])) / 9.0;
            }
            profile.push((f, sum));
        }
        let brightest = profile.iter().map(|p| p.1).fold(0.0, f32::max);
        let darkest = profile
            .iter()
            .filter(|p| (0.45..=0.92).contains(&p.0))
            .fold((1.0, f32::MAX), |a, p| if p.1 < a.1 { *p } else { a });
        let best = if darkest.1 < 0.75 * brightest {
            (darkest.1, darkest.0)
        } else {
            (0.0, 1.0)
        };
        Self {
            index,
            bite: best.1,
            image,
            frame,
        }
    }
}

/// The mouth interior of a head: an open-mouthed reference if it has one, and colours for a synthetic
/// interior.
#[derive(Clone, Debug)]
pub(crate) struct MouthLayer {
    pub reference: Option<MouthReference>,
    cavity: [f32; 3],
    /// The lips' own colour, a little shaded: where the lips barely part they still look closed.
    lip_line: [f32; 3],
    tongue: [f32; 3],
    teeth: [f32; 3],
}

impl MouthLayer {
    /// `lip_image`/`points`: the main portrait (its lips give the colours); `sclera`: its eyes' white, the
    /// teeth are tinted to match the picture's palette.
    pub fn new(
        image: &PortraitImage,
        points: &[[f32; 3]],
        sclera: [f32; 3],
        reference: Option<MouthReference>,
    ) -> Self {
        let tex = Texture {
            width: image.width as usize,
            height: image.height as usize,
            rgba: &image.rgba,
            px: &[],
        };
        // The outer lip contour once around (both corners once), each point taken halfway towards the
        // mouth centre: on the lip, not its edge.
        let outline: Vec<usize> = UPPER_OUTER_LIP
            .iter()
            .chain(LOWER_OUTER_LIP[1..LOWER_OUTER_LIP.len() - 1].iter().rev())
            .copied()
            .collect();
        let c = [
            (points[13][0] + points[14][0]) / 2.0,
            (points[13][1] + points[14][1]) / 2.0,
        ];
        let mut lip = [0f32; 3];
        for &i in &outline {
            let p = [(points[i][0] + c[0]) / 2.0, (points[i][1] + c[1]) / 2.0];
            let s = tex.sample(p[0], p[1]);
            for k in 0..3 {
                lip[k] += s[k] as f32 / outline.len() as f32;
            }
        }
        let cavity = [
            lip[0] * 0.28 + 8.0,
            lip[1] * 0.16 + 2.0,
            lip[2] * 0.16 + 2.0,
        ];
        let tongue = [lip[0] * 0.55 + 10.0, lip[1] * 0.33, lip[2] * 0.35];
        let ivory = [236.0, 228.0, 212.0];
        let teeth = [
            (ivory[0] + sclera[0]) / 2.0 * 0.95,
            (ivory[1] + sclera[1]) / 2.0 * 0.95,
            (ivory[2] + sclera[2]) / 2.0 * 0.95,
        ];
        Self {
            reference,
            cavity,
            lip_line: lip.map(|v| v * 0.7),
            tongue,
            teeth,
        }
    }

    /// Shades row `y`, `x0..=x1` of the mouth opening `target`.
    #[allow(clippy::too_many_arguments)]
    pub fn shade_span(
        &self,
        target: &MouthFrame,
        y: usize,
        x0: usize,
        x1: usize,
        out: &mut [u8],
        out_width: usize,
    ) {
        let w = target.width;
        for x in x0..=x1 {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let [s, v] = target.local(p);
            let (vu, vl) = target.edges(s);
            let d_up = (v - vu).max(0.0);
            let d_lo = (vl - v).max(0.0);
            let mut colour = None;
            if let Some(r) = &self.reference {
                // Teeth hang from the upper lip and sit on the lower one at their own size; a mouth less
                // open than the reference squeezes the reference's interior in (so the reference, at its
                // own opening, maps onto itself).
                let (ru, rl) = r.frame.edges(s);
                let h = (vl - vu).max(1e-3);
                let k = (r.frame.width / w).max((rl - ru) / h);
                let split = ru + r.bite * (rl - ru);
                let (rv, valid) = if d_up <= r.bite * h {
                    let rv = ru + d_up * k;
                    (rv, rv <= split + 0.25)
                } else {
                    let rv = rl - d_lo * k;
                    (rv, rv >= split - 0.25)
                };
                if valid && rv >= ru - 0.25 && rv <= rl + 0.25 && rl - ru > 1.0 {
                    let q = r.frame.world(s, rv);
                    let tex = Texture {
                        width: r.image.width as usize,
                        height: r.image.height as usize,
                        rgba: &r.image.rgba,
                        px: &[],
                    };
                    colour = Some(tex.sample(q[0], q[1]));
                }
            }
            let colour = colour.unwrap_or_else(|| self.synthetic(s, d_up, d_lo, w));
            let i = (y * out_width + x) * 4;
            out[i..i + 4].copy_from_slice(&colour);
        }
    }

    /// A painted interior: dark cavity, upper and lower teeth, tongue, darker towards the corners.
    fn synthetic(&self, s: f32, d_up: f32, d_lo: f32, w: f32) -> [u8; 4] {
        let h = d_up + d_lo;
        let centre = (1.0 - (2.0 * s - 1.0).abs()).clamp(0.0, 1.0);
        let ss = smoothstep;
        // Darkest deep inside, a little light where the lips meet the opening, and towards the corners.
        let inside_depth = (d_up.min(d_lo) / (0.5 * h).max(1e-3)).clamp(0.0, 1.0);
        let depth = (1.0 - 0.45 * inside_depth) * (0.7 + 0.3 * ss(0.0, 0.5, centre));
        let mut c = self.cavity.map(|v| v * depth);
        let mix = |c: &mut [f32; 3], o: [f32; 3], a: f32| {
            for k in 0..3 {
                c[k] = c[k] * (1.0 - a) + o[k] * a;
            }
        };
        if h > 0.12 * w {
            // The tongue lies low, in shadow, behind the lower teeth.
            let a = ss(0.4 * h, 0.1 * h, d_lo) * ss(0.15, 0.45, centre) * 0.85;
            mix(&mut c, self.tongue.map(|v| v * (0.6 + 0.4 * centre)), a);
        }
        // Teeth: a row under the upper lip, separated into teeth, and the lower row when wide open.
        let tooth = ((s - 0.5) * w / (0.16 * w)).abs().fract();
        let gap = 1.0 - 0.18 * ss(0.4, 0.5, (tooth - 0.5).abs());
        let shade = (0.65 + 0.35 * centre) * gap;
        let upper_h = 0.13 * w;
        let a = ss(upper_h, upper_h * 0.75, d_up) * ss(0.2, 0.45, centre);
        let under_lip = 0.8 + 0.2 * ss(0.0, 0.04 * w, d_up);
        mix(&mut c, self.teeth.map(|v| v * shade * under_lip), a);
        if h > 0.2 * w {
            // Only the edges of the lower teeth show above the lower lip.
            let lower_h = 0.045 * w;
            let a = ss(lower_h, lower_h * 0.6, d_lo) * ss(0.3, 0.55, centre);
            mix(&mut c, self.teeth.map(|v| v * shade * 0.92), a);
        }
        // A sliver of an opening (lips that barely part, at a corner in a smile) is a shaded lip line,
        // not a black speck.
        mix(&mut c, self.lip_line, 1.0 - ss(0.015 * w, 0.05 * w, h));
        [
            c[0].clamp(0.0, 255.0) as u8,
            c[1].clamp(0.0, 255.0) as u8,
            c[2].clamp(0.0, 255.0) as u8,
            255,
        ]
    }
}
