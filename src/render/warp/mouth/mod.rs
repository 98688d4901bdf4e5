//! The mouth layer: what shows through the mouth hole of the face mesh (cavity, teeth, tongue, or a
//! reference portrait's open mouth), in the mouth's own frame.

use super::geometry::{hash, luma, luma3, mix3};
use super::raster::Texture;
use crate::math::smoothstep;
use crate::render::PortraitImage;
use crate::rig::topology::{LOWER_OUTER_LIP, UPPER_OUTER_LIP};

mod frame;
mod style;

pub(crate) use frame::{MouthFrame, MouthReference};
use style::Style;

/// The mean colour of `pixels` (RGBA) whose luma lies in the `from..to` share of their luma order.
fn mean_by_luma(mut pixels: Vec<[u8; 4]>, from: f32, to: f32) -> Option<[f32; 3]> {
    if pixels.is_empty() {
        return None;
    }
    pixels.sort_by(|a, b| luma(a).total_cmp(&luma(b)));
    let n = pixels.len();
    let a = ((n as f32 * from) as usize).min(n - 1);
    let b = ((n as f32 * to).ceil() as usize).clamp(a + 1, n);
    let mut c = [0f32; 3];
    for p in &pixels[a..b] {
        for k in 0..3 {
            c[k] += p[k] as f32 / (b - a) as f32;
        }
    }
    Some(c)
}

/// `c`'s grey scaled by `grey` plus its colour (what differs from its grey) scaled by `colour`, no
/// channel below 0.
fn chroma_scaled(c: [f32; 3], grey: f32, colour: f32) -> [f32; 3] {
    let l = luma3(c);
    c.map(|k| (l * grey + (k - l) * colour).max(0.0))
}

/// The lightest the back of an open mouth is, as a share of the lips' luma ([`MouthLayer::new`]; the
/// painted portraits' own darks give 0.28-0.30).
const BACK_OF_LIPS: f32 = 0.3;

/// Where the teeth of a row divide in a front view, from the midline to the corner (`x`: 0..1 across
/// half the mouth): incisors, canine, premolars, narrower as the arch turns away.
const UPPER_TEETH: [f32; 7] = [0.0, 0.32, 0.57, 0.78, 0.93, 1.05, 1.15];
const LOWER_TEETH: [f32; 7] = [0.0, 0.2, 0.39, 0.58, 0.74, 0.88, 1.0];

/// The tooth at `x` (-1..1 across the mouth): `(distance to the nearest gap in pixels, position across
/// the tooth 0..1)` for a mouth `w` pixels wide.
fn tooth(x: f32, w: f32, bounds: &[f32]) -> (f32, f32) {
    let a = x.abs();
    let k = bounds.iter().rposition(|&b| b <= a).unwrap_or(0);
    let (b0, b1) = (
        bounds[k],
        bounds.get(k + 1).copied().unwrap_or(bounds[k] + 0.1),
    );
    let t = ((a - b0) / (b1 - b0)).clamp(0.0, 1.0);
    ((a - b0).min(b1 - a) * w / 2.0, t)
}

/// What a synthetic interior draws, besides the cavity and the tongue.
#[derive(Clone, Copy, Debug)]
struct Rows {
    upper: bool,
    lower: bool,
}

/// The mouth interior of a head: an open-mouthed reference if it has one, and a synthetic interior
/// (teeth rows, tongue, a cavity lit at the front and dark at the back) in the picture's colours and
/// style.
#[derive(Clone, Debug)]
pub(crate) struct MouthLayer {
    pub reference: Option<MouthReference>,
    pub style: Style,
    /// The deep cavity and its lit front.
    back: [f32; 3],
    front: [f32; 3],
    /// The lips' own colour, a little shaded: where the lips barely part they still look closed.
    lip_line: [f32; 3],
    tongue: [f32; 3],
    /// The lit colour of a tongue stuck out (`tongueOut`).
    tongue_out: [f32; 3],
    teeth: [f32; 3],
    /// The colour of the upper and lower lip just outside their inner edges, at `s` = k / 16.
    lip_upper: [[f32; 3]; 17],
    lip_lower: [[f32; 3]; 17],
    /// Whether the reference shows teeth, or the picture draws its own upper teeth above the tracked
    /// inner lip (else the painted interior draws both rows).
    reference_teeth: bool,
}

impl MouthLayer {
    /// `image`/`points`: the main portrait (its face gives the colours and the style); `sclera`: its
    /// eyes' white, the teeth are tinted to match the picture's palette.
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
        // The face: from the eyes to the chin, inside the cheeks (little background or hair).
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in points.iter().take(468) {
            lo = [lo[0].min(p[0]), lo[1].min(p[1])];
            hi = [hi[0].max(p[0]), hi[1].max(p[1])];
        }
        let inset = 0.15 * (hi[0] - lo[0]);
        let (lo, hi) = (
            [lo[0] + inset, points[168][1].max(lo[1])],
            [hi[0] - inset, hi[1] - 0.05 * (hi[1] - lo[1])],
        );
        let lips = UPPER_OUTER_LIP.iter().chain(&LOWER_OUTER_LIP);
        let (mut mlo, mut mhi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for &i in lips {
            mlo = [mlo[0].min(points[i][0]), mlo[1].min(points[i][1])];
            mhi = [mhi[0].max(points[i][0]), mhi[1].max(points[i][1])];
        }
        let grow = 0.25 * (mhi[0] - mlo[0]);
        let style = Style::estimate(
            &tex,
            (lo, hi),
            (
                [mlo[0] - grow, mlo[1] - grow],
                [mhi[0] + grow, mhi[1] + grow],
            ),
        );
        let mut face = Vec::new();
        let step = ((hi[0] - lo[0]).max(hi[1] - lo[1]) / 96.0).max(1.0);
        let mut y = lo[1];
        while y < hi[1] {
            let mut x = lo[0];
            while x < hi[0] {
                face.push(tex.sample(x, y));
                x += step;
            }
            y += step;
        }
        let dark = mean_by_luma(face.clone(), 0.0, 0.03).unwrap_or([20.0, 12.0, 12.0]);
        let light = mean_by_luma(face, 0.9, 1.0).unwrap_or([230.0, 210.0, 200.0]);
        // The line where the lips meet, as the picture paints it: its darker part is as dark as the
        // painter makes the mouth's shadow.
        let rest = MouthFrame::new(points);
        let mut seam = Vec::new();
        for k in 1..24 {
            let s = k as f32 / 24.0;
            let (u, l) = rest.edges(s);
            let q = rest.world(s, (u + l) / 2.0);
            seam.push(tex.sample(q[0], q[1]));
        }
        let seam = mean_by_luma(seam, 0.0, 0.3).unwrap_or(lip.map(|v| v * 0.5));
        // The cavity: its lit front the seam's colour (no darker than the lips in shade), its back the
        // picture's own darks, warmed by the lips.
        let back = mix3(dark.map(|v| v * 0.8), lip.map(|v| v * 0.22), 0.4);
        // However light the picture's darks (a high-key photo, Einstein's: 0.44 of the lips' luma), the
        // back of a mouth is no lighter than `BACK_OF_LIPS` of the lips: it gets little light. Lighter, the
        // cavity read as a flat grey box, its back hardly darker than its lit front.
        let back = {
            let cap = BACK_OF_LIPS * luma3(lip);
            let l = luma3(back);
            if l > cap {
                back.map(|v| v * cap / l)
            } else {
                back
            }
        };
        // A seam hardly darker than the lips is not the mouth's shadow (a moustache over the lips,
        // Einstein's: 0.87 of the lips' luma; a painter's light stroke, van Gogh's: 0.85): the front
        // then comes from the back and the lips in shade, as where no seam shows at all.
        let shaded = mix3(back, lip.map(|v| v * 0.5), 0.55);
        let no_seam = smoothstep(0.6, 0.85, luma3(seam) / luma3(lip).max(1.0));
        let front = mix3(mix3(seam, back, 0.25), shaded, no_seam);
        // The tongue: darker than the lips and their own hue made stronger, so it is as colourful as
        // the picture is (a black-and-white photo gets a grey tongue, not a red one).
        let tongue = chroma_scaled(lip, 0.65, 1.3);
        let tongue_out = chroma_scaled(lip, 0.95, 1.8);
        // Teeth: the eyes' white towards the face's highlights, no brighter than the highlights; a
        // reference's own teeth (the brighter part of its opening) when it shows them.
        let mut teeth = mix3(sclera, light, 0.45);
        teeth = mix3(teeth, [luma3(teeth); 3], 0.25);
        let mut reference_teeth = false;
        if let Some(r) = &reference {
            let rtex = Texture {
                width: r.image.width as usize,
                height: r.image.height as usize,
                rgba: &r.image.rgba,
                px: &[],
            };
            let mut inside = Vec::new();
            for i in 1..16 {
                let s = i as f32 / 16.0;
                let (u, l) = r.frame.edges(s);
                let mut v = u + 0.5;
                while v < l - 0.5 {
                    let q = r.frame.world(s, v);
                    inside.push(rtex.sample(q[0], q[1]));
                    v += 1.0;
                }
            }
            if inside.len() >= 8
                && let Some(t) = mean_by_luma(inside, 0.7, 1.0)
                && luma3(t) > 1.15 * luma3(lip)
                && r.frame.openness() > 0.04
            {
                teeth = t;
                reference_teeth = true;
            }
        }
        // Teeth the picture draws itself just above the tracked inner lip (a stylised rig whose lip
        // line sits under the drawn teeth): they move with the upper lip, so the painted interior
        // draws no second upper row under them.
        let mut own_teeth = Vec::new();
        for k in 0..9 {
            let s = 0.3 + 0.4 * k as f32 / 8.0;
            let (u, _) = rest.edges(s);
            for f in [0.03, 0.05] {
                let q = rest.world(s, u - f * rest.width);
                own_teeth.push(tex.sample(q[0], q[1]));
            }
        }
        // Teeth: as bright as the lips or brighter, and much greyer.
        let chroma = |c: [f32; 3]| c[0].max(c[1]).max(c[2]) - c[0].min(c[1]).min(c[2]);
        let own = mean_by_luma(own_teeth, 0.25, 1.0).unwrap_or([0.0; 3]);
        if !reference_teeth && luma3(own) > 0.95 * luma3(lip) && chroma(own) < 0.5 * chroma(lip) {
            reference_teeth = true;
        }
        let cap = 0.97 * luma3(light).max(luma3(lip));
        if luma3(teeth) > cap {
            teeth = teeth.map(|v| v * cap / luma3(teeth));
        }
        // The colour the warped lips carry at their inner edges: the picture's own line where the lips
        // meet (the interior fades in from it, so no lighter or darker rim shows between).
        let off = 0.0;
        let edge = |k: usize, upper: bool| {
            let s = (k as f32 / 16.0).clamp(0.04, 0.96);
            let (u, l) = rest.edges(s);
            let mut c = [0f32; 3];
            for d in [off, off + 0.75] {
                let q = if upper {
                    rest.world(s, u.min(l) - d)
                } else {
                    rest.world(s, l.max(u) + d)
                };
                let p = tex.sample(q[0], q[1]);
                for j in 0..3 {
                    c[j] += p[j] as f32 / 2.0;
                }
            }
            c
        };
        Self {
            reference,
            style,
            back,
            front,
            lip_line: lip.map(|v| v * 0.7),
            tongue,
            tongue_out,
            teeth,
            lip_upper: std::array::from_fn(|k| edge(k, true)),
            lip_lower: std::array::from_fn(|k| edge(k, false)),
            reference_teeth,
        }
    }

    fn lip_at(table: &[[f32; 3]; 17], s: f32) -> [f32; 3] {
        let f = s.clamp(0.0, 1.0) * 16.0;
        let k = (f as usize).min(15);
        mix3(table[k], table[k + 1], f - k as f32)
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
        let soft = self.style.blur.max(0.6);
        let feather = 0.5 + 1.5 * soft + 0.03 * w;
        let rows = Rows {
            upper: !self.reference_teeth,
            lower: !self.reference_teeth || self.reference.as_ref().is_none_or(|r| r.bite >= 1.0),
        };
        for x in x0..=x1 {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let [s, v] = target.local(p);
            let (vu, vl) = target.edges(s);
            let d_up = (v - vu).max(0.0);
            let d_lo = (vl - v).max(0.0);
            let h = (vl - vu).max(0.0);
            // How much of the interior is new (1) rather than the reference's own opening (0): at
            // the reference's own opening it maps onto itself, untouched.
            let mut fresh = 1.0;
            let mut colour = None;
            if let Some(r) = &self.reference {
                // Teeth hang from the upper lip and sit on the lower one at their own size; a mouth less
                // open than the reference squeezes the reference's interior in (so the reference, at its
                // own opening, maps onto itself). Where the mouth opens wider, the reference stops a
                // little short of its own lips (no rim of lip under the teeth) and fades into the
                // painted interior.
                let (ru, rl) = r.frame.edges(s);
                let hh = h.max(1e-3);
                // How much wider than the reference's own opening (at this mouth's scale) the lips
                // part. A sliver more is the reference's own opening stretched, with the line where
                // its lips meet (Einstein's mouth, open at rest under the moustache, parting a little:
                // before 2026-12-05 a hard one-pixel line of painted cavity under the reference),
                // the painted interior fading in as for a mouth without a reference
                // (`LIP_SEAM_CLOSED`..`LIP_SEAM_OPEN`).
                let extra = h - (rl - ru) * r.frame.width / w;
                fresh = smoothstep(super::LIP_SEAM_CLOSED * w, super::LIP_SEAM_OPEN * w, extra);
                let fill = (rl - ru) / hh;
                let k = fill + ((r.frame.width / w).max(fill) - fill) * fresh;
                let margin = 0.5 * fresh * soft;
                let split = ru + r.bite * (rl - ru);
                let (rv, alpha) = if d_up <= r.bite * hh {
                    let rv = ru + d_up * k;
                    let limit = if r.bite >= 1.0 { rl - margin } else { split };
                    (rv, smoothstep(-soft, soft, limit + 0.25 - rv))
                } else {
                    let rv = rl - d_lo * k;
                    (rv, smoothstep(-soft, soft, rv - (split - 0.25)))
                };
                // At its own opening the reference maps onto itself, whole; the painted interior
                // takes over its edges as the mouth opens wider.
                let whole = 1.0 - smoothstep(0.25, 1.5, (ru - rv).max(rv - rl));
                let alpha = whole + (alpha - whole) * fresh;
                if alpha > 0.0 && rl - ru > 1.0 {
                    let q = r.frame.world(s, rv);
                    let tex = Texture {
                        width: r.image.width as usize,
                        height: r.image.height as usize,
                        rgba: &r.image.rgba,
                        px: &[],
                    };
                    let c = tex.sample(q[0], q[1]);
                    colour = Some(([c[0] as f32, c[1] as f32, c[2] as f32], alpha));
                }
            }
            let mut c = match colour {
                Some((c, a)) if a >= 1.0 => c,
                Some((c, a)) => mix3(
                    self.synthetic(s, target.arch(s), [d_up, d_lo], w, rows, v, feather),
                    c,
                    a,
                ),
                None => self.synthetic(s, target.arch(s), [d_up, d_lo], w, rows, v, feather),
            };
            if fresh > 0.0 {
                // Soft lip edges over the interior: the lips' own colour fading in over the picture's
                // edge width.
                // Wider where the mouth opens wider: the lips' inner sides curl in.
                let f = feather + 0.05 * h;
                let a_up = 1.0 - smoothstep(0.0, f, d_up);
                let a_lo = 1.0 - smoothstep(0.0, f, d_lo);
                // And at the corners, where the opening's sides stand up steeply.
                let a_side = 1.0 - smoothstep(0.0, feather, s.min(1.0 - s) * w);
                let side = mix3(
                    Self::lip_at(&self.lip_upper, s),
                    Self::lip_at(&self.lip_lower, s),
                    (d_up / h.max(1e-3)).clamp(0.0, 1.0),
                );
                c = mix3(c, side, 0.85 * a_side * fresh);
                c = mix3(c, Self::lip_at(&self.lip_upper, s), 0.85 * a_up * fresh);
                c = mix3(c, Self::lip_at(&self.lip_lower, s), 0.85 * a_lo * fresh);
                // A sliver of an opening (lips that barely part, at a corner in a smile) is a shaded
                // lip line, not a black speck.
                c = mix3(
                    c,
                    self.lip_line,
                    (1.0 - smoothstep(0.015 * w, 0.05 * w, h)) * fresh,
                );
            }
            let i = (y * out_width + x) * 4;
            out[i] = c[0].clamp(0.0, 255.0) as u8;
            out[i + 1] = c[1].clamp(0.0, 255.0) as u8;
            out[i + 2] = c[2].clamp(0.0, 255.0) as u8;
            out[i + 3] = 255;
        }
    }

    /// Draws the tongue for `tongueOut` = `weight`: a rounded, shaded tongue (the lips' hue, stronger) coming out of the
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
        // Out of the lips' midline, `u` -1..1 across it: as wide on either side (a tongue pushed out in
        // front of the teeth is not foreshortened as the arch of the teeth behind it is).
        let across = |u: f32| frame.midline() + u * half / w;
        let mid = across(0.0);
        let (_, lip_edge) = frame.edges(mid);
        let lip = (frame.lower_outer(mid) - lip_edge).max(0.05 * w);
        // The tip: from behind the lower lip's inner edge to past its outer edge at full weight.
        let tip = lip_edge + t * (0.9 * lip + 0.1 * w);
        let cap = half.min((tip - frame.edges(mid).0).max(1.0));
        let top = (0..=8)
            .map(|k| frame.edges(across(k as f32 / 4.0 - 1.0)).0)
            .fold(f32::MAX, f32::min);
        // Bounding box in the picture.
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (u, v) in [(-1.0, top), (1.0, top), (-1.0, tip), (1.0, tip)] {
            let p = frame.world(across(u), v);
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        let xs = (x0.floor().max(0.0) as usize)..((x1.ceil() + 1.0).min(out_width as f32) as usize);
        let ys =
            (y0.floor().max(0.0) as usize)..((y1.ceil() + 1.0).min(out_height as f32) as usize);
        let base = self.tongue_out;
        let mut drawn = 0;
        for y in ys {
            for x in xs.clone() {
                let [s, v] = frame.local([x as f32 + 0.5, y as f32 + 0.5]);
                let u = (s - frame.midline()) * w / half;
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

    /// A painted interior at `s` (0..1 across the mouth; `x` and `side` where it lies across the arch,
    /// [`MouthFrame::arch`]), `d_up`/`d_lo` pixels below the upper lip and above the lower one, for a
    /// mouth `w` pixels wide (`v`: the row in the mouth's frame, for the
    /// grain; `feather`: the width of the lips' soft edges): a cavity lit at the front and dark at the back and in the corners, the tongue low behind
    /// the lower teeth, the lower row, the upper row hanging from the upper lip; each tooth rounded,
    /// with gaps, shaded towards the corners and under the lip.
    #[allow(clippy::too_many_arguments)]
    fn synthetic(
        &self,
        s: f32,
        [x, side]: [f32; 2],
        [d_up, d_lo]: [f32; 2],
        w: f32,
        rows: Rows,
        v: f32,
        feather: f32,
    ) -> [f32; 3] {
        let ss = smoothstep;
        let h = d_up + d_lo;
        let ax = x.abs();
        let soft = self.style.blur.max(0.6);
        let flat = self.style.flat;
        // Flat styles shade less: each layer's shading pulled towards one tone.
        let tone = |shade: f32, mean: f32| shade + (mean - shade) * 0.75 * flat;
        // Cavity: the walls by the lips lit, the back dark, the corners darkest.
        let q = (d_up.min(d_lo) / (0.5 * h).max(1e-3)).clamp(0.0, 1.0);
        let corner = ss(0.45, 1.0, ax);
        let deep = ss(0.1, 1.0, q.max(corner));
        let mut c = mix3(self.front, self.back, tone(deep, 0.6));
        // Tongue: a dome on the floor of the mouth, over the lower teeth's edge by a third of what
        // the teeth leave open; lit at its front.
        // Under the lips' soft edges the teeth start in their shade.
        let (upper_h, lower_h) = (0.15 * w + 0.4 * feather, 0.05 * w + 0.7 * feather);
        let t_top = (lower_h + 0.35 * (h - upper_h - lower_h).max(0.0)).min(0.25 * w)
            * (1.0 - (x / 0.72).powi(2)).max(0.0).sqrt();
        if t_top > 0.5 {
            // Behind the lower teeth until the mouth opens well (else it reads as more lower lip).
            let a = ss(-soft, soft, t_top - d_lo) * ss(0.12 * w, 0.28 * w, h);
            if a > 0.0 {
                let along = (d_lo / t_top).clamp(0.0, 1.0);
                let groove = 1.0 - 0.12 * (-(x / 0.08).powi(2)).exp();
                let shade = (0.95 - 0.4 * along) * (1.0 - 0.45 * corner) * groove;
                c = mix3(c, self.tongue.map(|k| k * tone(shade, 0.8)), a);
            }
        }
        let enamel = |shade: f32| self.teeth.map(|k| k * tone(shade, 0.85));
        let gap_width = 0.4 + 0.006 * w;
        // Gaps between teeth only where the teeth are several pixels wide (else they would alias).
        let gap_depth = 0.25 * smoothstep(20.0, 60.0, w);
        if rows.lower && ax < 0.8 {
            let (gap, t) = tooth(x, w * side, &LOWER_TEETH);
            let round = (std::f32::consts::PI * t).sin();
            let height = lower_h * (1.0 - 0.5 * x * x) - 0.012 * w * (1.0 - round).powi(2);
            // Behind the lower lip and the upper teeth until the mouth opens well.
            let a = ss(-soft, soft, height - d_lo)
                * (1.0 - ss(0.6, 0.8, ax))
                * ss(0.1 * w, 0.22 * w, h);
            if a > 0.0 {
                let shade = (0.64 + 0.14 * round.sqrt())
                    * (1.0 - 0.6 * gap_depth * (1.0 - ss(0.0, gap_width + soft, gap)))
                    * (1.0 - 0.55 * ss(0.25, 0.75, ax))
                    * (0.85 + 0.15 * ss(0.0, 0.03 * w, d_lo));
                c = mix3(c, enamel(shade), a);
            }
        }
        if rows.upper && ax < 0.85 {
            let (gap, t) = tooth(x, w * side, &UPPER_TEETH);
            let round = (std::f32::consts::PI * t).sin();
            let height = upper_h * (1.0 - 0.4 * x * x) - 0.03 * w * (1.0 - round).powi(3);
            let a = ss(-soft, soft, height - d_up) * (1.0 - ss(0.65, 0.85, ax));
            if a > 0.0 {
                let edge = 1.0 - 0.1 * ss(height - 0.03 * w, height, d_up);
                let shade = (0.8 + 0.2 * round.sqrt())
                    * (1.0 - gap_depth * (1.0 - ss(0.0, gap_width + soft, gap)))
                    * (1.0 - 0.5 * ss(0.3, 0.8, ax))
                    * (0.72 + 0.28 * ss(0.0, 0.05 * w, d_up))
                    * edge;
                c = mix3(c, enamel(shade), a);
            }
        }
        // The picture's grain, fixed to the mouth.
        let g = self.style.grain * (1.0 - flat);
        if g > 0.0 {
            let n = 1.73 * g * hash((s * w).round() as i32, v.round() as i32);
            c = c.map(|k| k + n);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::frame::MIDLINE_RANGE;
    use super::*;
    use crate::math::inside;
    use crate::rig::PortraitRig;

    /// A grey face (180) with grey lips (165) and a line where they meet of `seam`.
    fn portrait(seam: u8) -> (PortraitImage, Vec<[f32; 3]>) {
        let (w, h) = (256u32, 256u32);
        let points = PortraitRig::template([w, h]).landmarks;
        let lips: Vec<[f32; 2]> = UPPER_OUTER_LIP
            .iter()
            .chain(LOWER_OUTER_LIP.iter().rev())
            .map(|&i| [points[i][0], points[i][1]])
            .collect();
        let frame = MouthFrame::new(&points);
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let p = [x as f32 + 0.5, y as f32 + 0.5];
                let [s, v] = frame.local(p);
                let (u, l) = frame.edges(s.clamp(0.0, 1.0));
                let l = if (0.0..=1.0).contains(&s) && (v - (u + l) / 2.0).abs() < 1.0 {
                    seam
                } else if inside(&lips, p) {
                    165
                } else {
                    180
                };
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        (PortraitImage::new(w, h, rgba).unwrap(), points)
    }

    #[test]
    fn a_turned_mouths_front_teeth_part_at_the_lips_midline_and_its_far_side_is_narrower() {
        let (image, mut points) = portrait(60);
        let frontal = MouthFrame::new(&points);
        for s in [0.0, 0.2, 0.5, 0.8, 1.0] {
            let [x, side] = frontal.arch(s);
            assert!(
                (x - (2.0 * s - 1.0)).abs() < 0.02 && (side - 1.0).abs() < 0.02,
                "{s}: {x} {side}"
            );
        }
        // The lips' midline a fifth of the way in from the subject's right corner (a face turned to
        // its right): the front teeth part there, the right side's teeth are narrower.
        let (a, b) = (points[78], points[308]);
        let along = |s: f32| a[0] + (b[0] - a[0]) * s;
        let layer = MouthLayer::new(&image, &points, [230.0; 3], None);
        for (midline, taken) in [(0.3, 0.3), (-0.2, MIDLINE_RANGE.0), (1.3, MIDLINE_RANGE.1)] {
            for i in [13, 14] {
                points[i][0] = along(midline);
            }
            let frame = MouthFrame::new(&points);
            assert!((frame.arch(taken)[0]).abs() < 0.02, "midline {midline}");
            assert_eq!(frame.arch(0.0)[0], -1.0);
            assert_eq!(frame.arch(1.0)[0], 1.0);
            assert!(
                (frame.midline() - taken).abs() < 0.01,
                "midline {}",
                frame.midline()
            );
            assert!((frame.arch(0.0)[1] - 2.0 * taken).abs() < 0.03);
            // Across the upper teeth just under the lip, the darkest column near the middle is the
            // gap between the front teeth.
            let rows = Rows {
                upper: true,
                lower: true,
            };
            let gap = (0..=60)
                .map(|k| taken - 0.06 + 0.12 * k as f32 / 60.0)
                .map(|s| {
                    let c = layer.synthetic(s, frame.arch(s), [3.0, 30.0], 80.0, rows, 0.0, 1.0);
                    (s, luma3(c))
                })
                .fold((0.0, f32::MAX), |a, b| if b.1 < a.1 { b } else { a });
            assert!(
                (gap.0 - taken).abs() < 0.011,
                "midline at {midline}: the front teeth part at {} (luma {})",
                gap.0,
                gap.1
            );
        }
    }

    #[test]
    fn the_cavity_is_dark_even_where_the_lips_meet_in_a_light_line() {
        // A seam hardly darker than the lips (a moustache over them, Einstein's at 0.87 of the lips'
        // luma) is not the mouth's shadow: the open mouth's lit front stays well under the lips (it
        // took 0.75 of the seam's colour: a pale grey box of a mouth). A dark seam still gives it.
        let lip = 165.0;
        for (seam, most) in [(144u8, 0.6 * lip), (60, 0.5 * lip)] {
            let (image, points) = portrait(seam);
            let layer = MouthLayer::new(&image, &points, [230.0; 3], None);
            let front = luma3(layer.front);
            assert!(front < most, "seam {seam}: front {front}, at most {most}");
            if seam == 60 {
                assert!(
                    front < 0.8 * 60.0 + 0.2 * luma3(layer.back) + 1.0,
                    "seam {seam}: front {front}"
                );
            }
        }
    }
}
