//! The redrawn skin of a closing upper lid, and the closed eye's lash line: what the portrait's lid
//! looks like where it covers more of the eye than the portrait shows.

use super::super::geometry::{Similarity, luma, luma3, mix3};
use super::super::raster::Texture;
use super::{EyeLayer, away_from_corners, bbox, grain_at, lash_reach, lid_lines, lower_line};
use crate::math::{polyline_y as interp_y, smoothstep};
use crate::rig::topology::{eye_fold, eye_ring};

impl EyeLayer {
    /// Redraws the lid skin of a closing upper lid: between the fold and the lid edge the skin is
    /// stretched from the skin above the lashes, and the lashes keep their own thickness at the edge
    /// (stretching the whole band smears the lash line over the closed eye; the thickness is measured,
    /// `lash_thickness`: a fixed share of the eye's width copied a painting's lid crease onto
    /// the lid edge). It fades in from the fold and from the corners. Where the lids (nearly)
    /// meet, one dark lash line runs from corner to corner. All of it is drawn `shown` strong (an
    /// eye turned away from the viewer draws none, [`super::shown`]).
    #[allow(clippy::too_many_arguments)]
    pub fn draw_closing_lid(
        &self,
        tex: &Texture<'_>,
        to_source: &Similarity,
        target: &[[f32; 3]],
        side: usize,
        shown: f32,
        out: &mut [u8],
        out_width: usize,
        out_height: usize,
    ) {
        let (lid_t, fold_t) = lid_lines(&self.frame, target, side, |p| to_source.apply(p));
        let closing = (1..10).any(|k| {
            let u = k as f32 / 10.0;
            interp_y(&lid_t, u) > interp_y(&self.lid, u) + 0.5
        });
        if !closing || shown.is_nan() || shown <= 0.0 {
            return;
        }
        let width = self.frame.width;
        let lash = lash_reach(width);
        let lashes = self.lashes;
        // Where the lids meet, a closed eye shows one dark line of lashes from corner to corner; the
        // stretched lid skin alone reads as a pale patch (to a viewer and to the tracker: a fully closed
        // eye drawn without it was read as a quarter of a blink). Its colour is the darkest of the
        // portrait's own upper lash line; it fades in as the lids meet.
        let low_t = lower_line(&self.frame, target, side, |p| to_source.apply(p));
        let half = (LASH_LINE_HALF_WIDTH * width).max(0.8);
        let line_colour = {
            let mut samples: Vec<[u8; 4]> = (1..10)
                .map(|k| {
                    let u = k as f32 / 10.0;
                    let src = self.frame.world(u, interp_y(&self.lid, u) - 1.0);
                    tex.sample(src[0], src[1])
                })
                .collect();
            samples.sort_by(|a, b| luma(a).total_cmp(&luma(b)));
            let mut c = [0f32; 3];
            for p in &samples[..3] {
                for k in 0..3 {
                    c[k] += p[k] as f32 / 3.0 * LASH_LINE_SHADE;
                }
            }
            c
        };
        // Target pixels to visit: around the target lid and fold.
        // The lid skin between the fold and the lid edge is what covers the eye.
        let pts: Vec<[f32; 2]> = eye_ring(side)
            .iter()
            .chain(eye_fold(side))
            .map(|&i| [target[i][0], target[i][1]])
            .collect();
        let (x0, y0, x1, y1) = bbox(&pts, out_width, out_height);
        let bw = x1 + 1 - x0;
        // What each pixel of the box gets: the redrawn lid (its colour, how much of it, and whether it
        // is skin rather than the lash band) and the lash line; drawn once the lid's ends are matched
        // to the skin beside them.
        let mut px = vec![LidPixel::default(); bw * (y1 + 1 - y0)];
        for y in y0..=y1 {
            for x in x0..=x1 {
                let q = to_source.apply([x as f32 + 0.5, y as f32 + 0.5]);
                let [u, v] = self.frame.local(q);
                if !(0.0..=1.0).contains(&u) {
                    continue;
                }
                let (lt, ft) = (interp_y(&lid_t, u), interp_y(&fold_t, u));
                let (ls, fs) = (interp_y(&self.lid, u), interp_y(&self.fold, u));
                let p = &mut px[(y - y0) * bw + x - x0];
                if !(v < ft || v > lt || lt <= ls + 0.25 || lt - ft < LID_MIN_BAND * lash) {
                    // The skin above the lashes, stretched from the fold down; where the
                    // portrait's fold lies close over its lashes (a painting's lid often has no fold
                    // drawn) the stretch is limited, so the band comes from the skin above the fold
                    // too: a few rows stretched over the whole lid read as vertical streaks.
                    let natural = (ls - lashes - fs) / (lt - lashes - ft);
                    let ratio = natural.max(MIN_LID_STRETCH);
                    p.skin = v < lt - lashes;
                    let c = if !p.skin {
                        let src = self.frame.world(u, ls - (lt - v));
                        tex.sample(src[0], src[1])
                    } else {
                        let src = self.frame.world(u, ls - lashes - (lt - lashes - v) * ratio);
                        let stretched = tex.sample(src[0], src[1]);
                        // A lid stretched several times over (a thin band of skin above the
                        // lashes) is drawn as smooth skin instead: from the skin at the fold, where
                        // the face around continues it (no edge there), to the skin above the lashes,
                        // each averaged along the lid (no streaks), with the fine grain of the skin
                        // above the fold (a smooth lid read as a pasted patch on a textured face).
                        let smooth = 1.0 - smoothstep(MIN_LID_STRETCH, SMOOTH_LID_STRETCH, natural);
                        if smooth > 0.0 {
                            let t = smoothstep(ft, lt - lashes, v);
                            let [top, bottom] = self.lid_skin_at(u);
                            let grain = self.lid_grain(tex, u, fs, v - ft, lash);
                            let mut c = stretched;
                            for j in 0..3 {
                                let flat = top[j] + (bottom[j] - top[j]) * t;
                                let value = flat + grain[j];
                                c[j] = (stretched[j] as f32 * (1.0 - smooth) + value * smooth)
                                    .round()
                                    .clamp(0.0, 255.0) as u8;
                            }
                            c
                        } else {
                            stretched
                        }
                    };
                    p.colour = [c[0], c[1], c[2]].map(f32::from);
                    // Faded in along the lid from where it starts to close and its band is wide
                    // enough to redraw: cut off there, the redrawn lid ended in a vertical edge
                    // beside the warped skin towards the corners.
                    p.alpha = smoothstep(0.25, LID_FADE_DROP, lt - ls)
                        * smoothstep(LID_MIN_BAND * lash, 2.0 * LID_MIN_BAND * lash, lt - ft)
                        * smoothstep(ft - 0.5, ft + LID_FEATHER * (lt - ft), v)
                        * away_from_corners(u);
                }
                // The lash line, where the lids (nearly) meet.
                let d = (v - lt).abs();
                if d >= half + 1.0 {
                    continue;
                }
                let lo = interp_y(&low_t, u);
                let closed = ((lt - ls) / (lo - ls).max(1.0)).clamp(0.0, 1.0);
                if closed > 0.5 {
                    let fade = smoothstep(0.5, 0.9, closed);
                    let taper = smoothstep(0.0, 0.12, u) * smoothstep(0.0, 0.12, 1.0 - u);
                    let cover = (half + 0.5 - d).clamp(0.0, 1.0);
                    p.line = fade * taper * cover;
                }
            }
        }
        let ends = matched_ends(&px, bw, |x, y| {
            let i = ((y0 + y) * out_width + x0 + x) * 4;
            [out[i], out[i + 1], out[i + 2]].map(f32::from)
        });
        for (r, row) in px.chunks(bw).enumerate() {
            for (c, p) in row.iter().enumerate() {
                let i = ((y0 + r) * out_width + x0 + c) * 4;
                let (alpha, line) = (p.alpha * shown, p.line * shown);
                if alpha > 0.0 {
                    let offset = if p.skin { ends.offset(r, c) } else { [0.0; 3] };
                    for k in 0..3 {
                        let colour = (p.colour[k] + offset[k]).clamp(0.0, 255.0);
                        out[i + k] =
                            (out[i + k] as f32 * (1.0 - alpha) + colour * alpha).round() as u8;
                    }
                }
                if line > 0.0 {
                    for k in 0..3 {
                        out[i + k] = (out[i + k] as f32 * (1.0 - line) + line_colour[k] * line)
                            .round() as u8;
                    }
                }
            }
        }
    }

    /// The fine grain of the portrait's skin above the fold for a point `depth` pixels below the target
    /// fold at `u`: the skin there mirrored about the fold (`fold`, the portrait's fold at `u`), back and
    /// forth within a lash band's height, so it runs on from the skin above the fold without repeating
    /// a distant brow; only its detail (the sample less the mean of its neighbours), clamped.
    fn lid_grain(&self, tex: &Texture<'_>, u: f32, fold: f32, depth: f32, lash: f32) -> [f32; 3] {
        let period = lash.max(2.0);
        let m = depth.max(0.0) % (2.0 * period);
        let up = if m < period { m } else { 2.0 * period - m };
        let g = grain_at(tex, self.frame.world(u, fold - up), 255.0);
        if g.iter().any(|c| c.abs() > self.grain_edge) {
            [0.0; 3]
        } else {
            g.map(|c| c.clamp(-LID_GRAIN, LID_GRAIN))
        }
    }

    /// The mean colour of the portrait across 5 places along the lid around `u` (0.03 of the eye's
    /// width apart), `v` pixels from the corners' line.
    fn mean_along(&self, tex: &Texture<'_>, u: f32, v: f32) -> [f32; 3] {
        let mut c = [0f32; 3];
        for k in -2..=2 {
            let p = self.frame.world(u + 0.03 * k as f32, v);
            let px = tex.sample(p[0], p[1]);
            for j in 0..3 {
                c[j] += px[j] as f32 / 5.0;
            }
        }
        c
    }

    /// The skin a closing lid is drawn with where it covers more than the portrait shows
    /// ([`EyeLayer::lid_skin`]): at each place along the lid, the colour at the fold (where the face
    /// around continues it) and the lit lid's, the lightest row between the lashes and the fold. The
    /// lid closed over the eyeball catches the light like the lid the portrait shows; the row just above
    /// the lashes was a painted crease or the lash line itself on a cartoon's thick lashes (the closed
    /// lid a brown patch).
    pub(super) fn lid_skin(&self, tex: &Texture<'_>) -> Vec<[[f32; 3]; 2]> {
        (0..=LID_SKIN_STEPS)
            .map(|k| {
                let u = k as f32 / LID_SKIN_STEPS as f32;
                let (ls, fs) = (interp_y(&self.lid, u), interp_y(&self.fold, u));
                let mut v = ls - self.lashes - 0.5;
                let mut lit = self.mean_along(tex, u, v);
                while v - 1.0 > fs {
                    v -= 1.0;
                    let c = self.mean_along(tex, u, v);
                    if luma3(c) > luma3(lit) {
                        lit = c;
                    }
                }
                [self.mean_along(tex, u, fs), lit]
            })
            .collect()
    }

    /// [`EyeLayer::lid_skin`] at `u`, interpolated between its places.
    fn lid_skin_at(&self, u: f32) -> [[f32; 3]; 2] {
        let n = self.lid_skin.len().saturating_sub(1);
        if n == 0 {
            return [self.sclera; 2];
        }
        let x = u.clamp(0.0, 1.0) * n as f32;
        let i = (x as usize).min(n - 1);
        let (a, b) = (self.lid_skin[i], self.lid_skin[i + 1]);
        let t = x - i as f32;
        [mix3(a[0], b[0], t), mix3(a[1], b[1], t)]
    }

    /// The grain above which a sample of the skin above the fold is an edge ([`EyeLayer::grain_edge`]):
    /// [`GRAIN_EDGE_TIMES`] the median grain (the strongest channel) of the skin above the fold and of
    /// the cheek under the eye as many pixels deep, within 3 and [`LID_GRAIN`] levels. A cartoon's
    /// smooth skin under a hairy brow gave the closed lid the brow's strands (the skin above the fold
    /// alone, mostly brow there, set the edge above them).
    pub(super) fn grain_edge(&self, tex: &Texture<'_>) -> f32 {
        let period = lash_reach(self.frame.width).max(2.0);
        let mut g: Vec<f32> = Vec::new();
        for k in 3..=17 {
            let u = k as f32 / 20.0;
            let (fs, lo) = (interp_y(&self.fold, u), interp_y(&self.lower, u));
            let mut d = 0.0;
            while d <= period {
                for v in [fs - d, lo + period + d] {
                    let c = grain_at(tex, self.frame.world(u, v), 255.0);
                    g.push(c.iter().fold(0f32, |m, v| m.max(v.abs())));
                }
                d += 1.0;
            }
        }
        g.sort_by(f32::total_cmp);
        (GRAIN_EDGE_TIMES * g[g.len() / 2]).clamp(3.0, LID_GRAIN)
    }

    /// How thick the portrait's dark band at its upper lid edge (lashes, lash shadow) is, in pixels, at
    /// most `reach`: the median over the middle of the lid of how far above the lid edge the portrait
    /// first reaches 60 % of the way from the darkest to the brightest luma within `reach`. A painted
    /// lid with no lashes drawn (Mona Lisa's light lid margin) gives about a pixel; the demo's 5.
    pub(super) fn lash_thickness(&self, tex: &Texture<'_>, reach: f32) -> f32 {
        let n = reach.ceil().max(1.0) as usize;
        let mut ks: Vec<f32> = [0.3, 0.4, 0.5, 0.6, 0.7]
            .iter()
            .map(|&u| {
                let edge = interp_y(&self.lid, u);
                let profile: Vec<f32> = (0..=n)
                    .map(|k| {
                        let p = self.frame.world(u, edge - k as f32);
                        luma(&tex.sample(p[0], p[1]))
                    })
                    .collect();
                let lo = profile.iter().copied().fold(f32::MAX, f32::min);
                let hi = profile.iter().copied().fold(f32::MIN, f32::max);
                let threshold = lo + 0.6 * (hi - lo);
                profile.iter().position(|&l| l >= threshold).unwrap_or(n) as f32
            })
            .collect();
        ks.sort_by(f32::total_cmp);
        ks[2].clamp(1.0, reach)
    }
}

/// A closing lid is redrawn where its band from the fold to the lid edge is at least this many lash
/// bands ([`EyeLayer::draw_closing_lid`]), faded in up to twice that.
const LID_MIN_BAND: f32 = 1.2;
/// Over how far a closing lid's drop (pixels below the portrait's lid edge) its redrawn skin fades in.
const LID_FADE_DROP: f32 = 3.0;

/// The top share of a closing lid's redrawn band over which it fades in from the skin warped there
/// (no edge at the fold).
const LID_FEATHER: f32 = 0.2;

/// The largest grain (levels) a closing lid's smooth skin takes from the skin above the fold.
pub(super) const LID_GRAIN: f32 = 14.0;
/// How many times the skin's median grain a sample's grain must exceed to be an edge
/// ([`EyeLayer::grain_edge`]).
const GRAIN_EDGE_TIMES: f32 = 3.0;
/// How many steps along the lid [`EyeLayer::lid_skin`] is measured at.
pub(super) const LID_SKIN_STEPS: usize = 16;

/// The least of the lid skin's source band over the band it covers on a closing lid (1: the skin moves
/// down unstretched).
const MIN_LID_STRETCH: f32 = 0.3;
/// Below this share of source band over covered band a closing lid's skin turns from the stretched band
/// into smooth skin between the fold's colour and the lid's (fully at [`MIN_LID_STRETCH`]).
const SMOOTH_LID_STRETCH: f32 = 1.0;
/// Half the thickness of a closed eye's lash line, in eye widths (corner to corner). At 0.035 and a shade
/// of 0.85 Face Mesh V2 read Mona Lisa's closed eyes as blinks at r 0.72/0.71 in tests/round_trip.rs (her
/// painted lash line is faint); 0.045 and 0.5: 0.79/0.75; 0.045 and 0.3 (0.80/0.76) drew the demo's lash
/// line as black eyeliner.
const LASH_LINE_HALF_WIDTH: f32 = 0.045;
/// The lash line's colour: the darkest of the portrait's upper lash line, times this.
const LASH_LINE_SHADE: f32 = 0.5;

/// What [`EyeLayer::draw_closing_lid`] draws at one pixel: the redrawn lid's colour and how much of it
/// (0: none), whether that is the lid's skin (not its lash band), and how much of the lash line.
#[derive(Clone, Copy, Debug, Default)]
struct LidPixel {
    colour: [f32; 3],
    alpha: f32,
    skin: bool,
    line: f32,
}

/// Where each row of a closing lid's redrawn skin begins and ends (box columns), and what its colour
/// must gain at the eye's left and right end to match the skin it fades into ([`matched_ends`]).
struct EndMatch {
    runs: Vec<Option<(usize, usize)>>,
    left: [f32; 3],
    right: [f32; 3],
}

impl EndMatch {
    /// The offset at row `r`, column `c`: each end's, fading out towards the row's middle over
    /// [`END_MATCH_REACH`] of it (the middle keeps the lit lid's colour); none on a row without a run.
    fn offset(&self, r: usize, c: usize) -> [f32; 3] {
        let Some((from, to)) = self.runs.get(r).copied().flatten() else {
            return [0.0; 3];
        };
        let len = (to - from).max(1) as f32;
        let t = ((c as f32 - from as f32) / len).clamp(0.0, 1.0);
        let (wl, wr) = (
            1.0 - smoothstep(0.0, END_MATCH_REACH, t),
            1.0 - smoothstep(0.0, END_MATCH_REACH, 1.0 - t),
        );
        std::array::from_fn(|k| self.left[k] * wl + self.right[k] * wr)
    }
}

/// Per row of the box (`px`, `bw` columns), where the redrawn lid skin begins and ends, and how far its
/// colour at each end is from what lies under it (`under`: the warped face, box coordinates): one
/// offset per end of the eye, the median over its rows (each channel), so that an end row lying on a
/// lash, a crease or a drawn corner white does not streak the lid. A closing lid drawn in its lit
/// colour met the skin beside it, darker in the shadow of the socket on a photo, in a light vertical
/// mark at each end; its ends now take that skin's colour and its middle keeps its own (a
/// boundary-matched blend along the rows).
fn matched_ends(px: &[LidPixel], bw: usize, under: impl Fn(usize, usize) -> [f32; 3]) -> EndMatch {
    let runs: Vec<Option<(usize, usize)>> = px
        .chunks(bw)
        .map(|row| {
            let mut cols = (0..bw).filter(|&c| row[c].skin && row[c].alpha > END_ALPHA);
            let from = cols.next()?;
            let to = cols.next_back()?;
            (to + 1 >= from + 2 * END_SAMPLES).then_some((from, to))
        })
        .collect();
    let mut gaps: [[Vec<f32>; 3]; 2] = Default::default();
    for (r, run) in runs.iter().enumerate() {
        let Some((from, to)) = *run else { continue };
        for (end, cols) in [from..from + END_SAMPLES, to + 1 - END_SAMPLES..to + 1]
            .into_iter()
            .enumerate()
        {
            for c in cols {
                let (below, p) = (under(c, r), px[r * bw + c]);
                for k in 0..3 {
                    gaps[end][k].push(below[k] - p.colour[k]);
                }
            }
        }
    }
    let median = |v: &mut Vec<f32>| {
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f32::total_cmp);
        v[v.len() / 2].clamp(-END_MATCH_MAX, END_MATCH_MAX)
    };
    let [mut l, mut r] = gaps;
    EndMatch {
        left: [0, 1, 2].map(|k| median(&mut l[k])),
        right: [0, 1, 2].map(|k| median(&mut r[k])),
        runs,
    }
}

/// A pixel of a closing lid's redrawn skin counts towards its row's ends where it is drawn at least this
/// much ([`matched_ends`]).
const END_ALPHA: f32 = 0.05;
/// How many pixels at each end of a row give its end's colour.
const END_SAMPLES: usize = 2;
/// Over which share of a row, from each end, the end's colour match fades out.
const END_MATCH_REACH: f32 = 0.6;
/// The most (levels) a closing lid's colour is moved at its ends.
const END_MATCH_MAX: f32 = 48.0;
