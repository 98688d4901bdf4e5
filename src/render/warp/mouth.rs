//! The mouth layer: what shows through the mouth hole of the face mesh (cavity, teeth, tongue, or a
//! reference portrait's open mouth), in the mouth's own frame.

use std::sync::Arc;

use super::geometry::{SegmentFrame, luma};
use super::raster::Texture;
use crate::math::{polyline_y as interp_y, smoothstep};
use crate::render::PortraitImage;
use crate::rig::topology::{LOWER_INNER_LIP, LOWER_OUTER_LIP, UPPER_INNER_LIP, UPPER_OUTER_LIP};

/// A mouth in its own frame: `s` along the inner corners (0..1), `v` across (pixels, towards the chin),
/// with its inner lip edges.
#[derive(Clone, Debug)]
pub(crate) struct MouthFrame {
    frame: SegmentFrame,
    pub width: f32,
    upper: Vec<[f32; 2]>,
    lower: Vec<[f32; 2]>,
    /// The lower lip's outer edge (where it meets the chin skin).
    lower_outer: Vec<[f32; 2]>,
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
            lower_outer: line(&LOWER_OUTER_LIP),
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

    /// The lower lip's outer edge at `s`.
    pub fn lower_outer(&self, s: f32) -> f32 {
        interp_y(&self.lower_outer, s)
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

    /// Draws the tongue for `tongueOut` = `weight`: a rounded, shaded pink-red tongue coming out of the
    /// middle of the mouth over the lower lip, longer with the weight; behind the upper lip (clipped at its
    /// inner edge), and only as far as the lips have parted (the rig's tongueOut shape parts them a
    /// little). Returns the pixels it covered.
    pub fn draw_tongue(
        &self,
        frame: &MouthFrame,
        weight: f32,
        out: &mut [u8],
        out_width: usize,
        out_height: usize,
    ) -> usize {
        let w = frame.width;
        // Lips that have not parted hold the tongue in.
        let t = weight.clamp(0.0, 1.0) * smoothstep(0.02, 0.08, frame.openness());
        if t <= 0.01 || w < 4.0 {
            return 0;
        }
        let half = w * (0.2 + 0.06 * t);
        let (_, lip_edge) = frame.edges(0.5);
        let lip = (frame.lower_outer(0.5) - lip_edge).max(0.05 * w);
        // The tip: from behind the lower lip's inner edge to past its outer edge at full weight.
        let tip = lip_edge + t * (0.9 * lip + 0.1 * w);
        let cap = half.min((tip - frame.edges(0.5).0).max(1.0));
        let top = (0..=8)
            .map(|k| frame.edges(0.5 + (k as f32 / 4.0 - 1.0) * half / w).0)
            .fold(f32::MAX, f32::min);
        // Bounding box in the picture.
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (s, v) in [(-1.0, top), (1.0, top), (-1.0, tip), (1.0, tip)] {
            let p = frame.world(0.5 + s * half / w, v);
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        let xs = (x0.floor().max(0.0) as usize)..((x1.ceil() + 1.0).min(out_width as f32) as usize);
        let ys =
            (y0.floor().max(0.0) as usize)..((y1.ceil() + 1.0).min(out_height as f32) as usize);
        let base = [
            0.75 * 212.0 + 0.25 * self.lip_line[0] / 0.7,
            0.75 * 84.0 + 0.25 * self.lip_line[1] / 0.7,
            0.75 * 96.0 + 0.25 * self.lip_line[2] / 0.7,
        ];
        let mut drawn = 0;
        for y in ys {
            for x in xs.clone() {
                let [s, v] = frame.local([x as f32 + 0.5, y as f32 + 0.5]);
                let u = (s - 0.5) * w / half;
                if u.abs() >= 1.0 {
                    continue;
                }
                let round = (1.0 - u * u).sqrt();
                let bottom = tip - cap * (1.0 - round);
                let (upper, lower) = frame.edges(s);
                // Antialiased edges: distance inside, in pixels.
                let inside = (bottom - v).min((1.0 - u.abs()) * half).min(v - upper);
                let alpha = (inside + 0.5).clamp(0.0, 1.0);
                if alpha <= 0.0 {
                    continue;
                }
                // Rounded across (light from the front), a groove down the middle, in shadow inside the
                // mouth (darkest under the upper lip), a highlight towards the tip.
                let groove =
                    1.0 - 0.14 * (-(u / 0.14).powi(2)).exp() * smoothstep(tip, lip_edge, v);
                let depth = if v < lower {
                    0.55 + 0.45 * smoothstep(upper, lower, v)
                } else {
                    1.0
                };
                let shade = (0.62 + 0.38 * round) * groove * depth;
                let hv = (v - (tip - 0.55 * cap)) / (0.4 * cap).max(1.0);
                let gloss = 0.18 * (-((u / 0.4).powi(2) + hv * hv)).exp() * t;
                let i = (y * out_width + x) * 4;
                for k in 0..3 {
                    let c = (base[k] * shade * (1.0 - gloss) + 255.0 * gloss).clamp(0.0, 255.0);
                    out[i + k] = (out[i + k] as f32 * (1.0 - alpha) + c * alpha).round() as u8;
                }
                drawn += 1;
            }
        }
        drawn
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
