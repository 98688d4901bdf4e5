//! The eye layer: what shows through the eye holes of the face mesh (sclera and iris, behind the lids),
//! and the redrawn skin of a closing upper lid ([`lid`]).

mod edge;
mod facing;
mod lid;

use super::geometry::{SegmentFrame, Similarity, hash, luma, luma3, mix3};
use super::raster::Texture;
use crate::math::{inside, polyline_y as interp_y, smoothstep};
use crate::render::PortraitImage;
use crate::rig::topology::{eye_fold, eye_ring};
pub(crate) use facing::shown;
use lid::LID_GRAIN;

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

/// One eye of the main portrait: its opening, iris and colours.
#[derive(Clone, Debug)]
pub(crate) struct EyeLayer {
    /// The eye's frame (outer corner at 0, inner corner at 1), and in it the upper lid edge and the fold
    /// above it, as `[u, v]` polylines sorted by u (v in pixels, down).
    pub frame: SegmentFrame,
    pub lid: Vec<[f32; 2]>,
    pub fold: Vec<[f32; 2]>,
    /// The lower lid edge, likewise.
    pub lower: Vec<[f32; 2]>,
    /// Outer and inner corner (the eyeball moves rigidly with them).
    pub corners: [[f32; 2]; 2],
    /// The opening in the portrait.
    pub opening: Vec<[f32; 2]>,
    pub iris: [f32; 2],
    pub radius: f32,
    pub sclera: [f32; 3],
    pub iris_colour: [f32; 3],
    /// How thick the portrait's dark band at the upper lid edge is, in pixels
    /// ([`EyeLayer::lash_thickness`]): a closing lid keeps its lashes this thick.
    pub lashes: f32,
    /// Luma above which a pixel of the iris is a highlight (a catchlight, or its bright rim), not its
    /// texture ([`HIGHLIGHT_SHARE`] of the way from the iris's mean to the white). The hidden top of an
    /// iris is never drawn from one.
    pub highlight: f32,
    /// The skin a closing lid is drawn with where it covers more than its portrait shows: at
    /// [`lid::LID_SKIN_STEPS`] + 1 places along the lid (corner to corner), the colour at the fold and the
    /// lit lid's ([`EyeLayer::lid_skin`]).
    pub lid_skin: Vec<[[f32; 3]; 2]>,
    /// The fine grain (levels, the strongest channel) above which a sample of the skin above the fold
    /// is an edge (a brow hair, a crease), not the skin's grain: a closing lid takes no grain from it
    /// ([`EyeLayer::grain_edge`]).
    pub grain_edge: f32,
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
        let highlight = {
            let (i, s) = (luma3(iris_colour), luma3(sclera));
            (i + HIGHLIGHT_SHARE * (s - i)).max(i + HIGHLIGHT_MIN)
        };
        let frame = SegmentFrame::eye(corners, side);
        let (lid, fold) = lid_lines(&frame, points, side, |p| p);
        let lower = lower_line(&frame, points, side, |p| p);
        let mut layer = Self {
            frame,
            lid,
            fold,
            lower,
            corners,
            opening,
            iris,
            radius,
            sclera,
            iris_colour,
            lashes: 1.0,
            highlight,
            lid_skin: Vec::new(),
            grain_edge: LID_GRAIN,
        };
        let tex = Texture {
            width: w,
            height: h,
            rgba: &image.rgba,
            px: &[],
        };
        layer.lashes = layer.lash_thickness(&tex, lash_reach(layer.frame.width));
        layer.lid_skin = layer.lid_skin(&tex);
        layer.grain_edge = layer.grain_edge(&tex);
        layer
    }

    /// Where the target's lids are, mapped back into the portrait by `to_source`, in the eye's frame:
    /// `[upper, lower]` lid edges (for [`EyeLayer::shade_span`]).
    pub fn target_lids(
        &self,
        to_source: &Similarity,
        target: &[[f32; 3]],
        side: usize,
    ) -> [Vec<[f32; 2]>; 2] {
        let (upper, _) = lid_lines(&self.frame, target, side, |p| to_source.apply(p));
        let lower = lower_line(&self.frame, target, side, |p| to_source.apply(p));
        [upper, lower]
    }

    /// What the portrait point `q` shows where the target's lids (`lids`, from
    /// [`EyeLayer::target_lids`]) have opened past the portrait's own. Just inside the portrait's
    /// opening lie its lash lines and lid shadows: drawn in place inside the widened eye they read as a
    /// second, grey and broken lid line above the iris, and the risen lid, without them, as a pale arc.
    /// So the lash band moves with its lid, at its own thickness, and what it uncovers is eyeball. Where
    /// the lids have not moved nothing changes: a neutral face draws the portrait as it is. (A lowered
    /// lower lid stretches the eye's lower half instead: [`EyeLayer::lower_lid_stretch`].)
    fn lid_band(&self, lids: &[Vec<[f32; 2]>; 2], q: [f32; 2]) -> LidBand {
        let [u, v] = self.frame.local(q);
        if !(0.0..=1.0).contains(&u) {
            return LidBand::Portrait;
        }
        if let Some((upper, risen, band)) = self.risen_lid(lids, u) {
            let raised = upper - risen;
            if v < risen + band {
                return LidBand::Lash(self.frame.world(u, upper + (v - risen)));
            }
            if v < upper + band {
                // The portrait's white just below where the lash band was, in the risen lid's shadow
                // near the lashes: unshaded, it read as a bright box under the lashes.
                let depth = v - (risen + band);
                let shade = EYEBALL_SHADOW
                    + (1.0 - EYEBALL_SHADOW)
                        * smoothstep(0.0, EYEBALL_SHADOW_DEPTH * raised, depth);
                return LidBand::Eyeball(self.frame.world(u, upper + band + 0.5), shade);
            }
        }
        LidBand::Portrait
    }

    /// Where the portrait point `q` of an eye whose lower lid the target lowered (`lids`, from
    /// [`EyeLayer::target_lids`]) shows the portrait: the eye's lower half, from the middle between the
    /// portrait's lids down to its lower lid, stretched down to the lowered lid (its lash line, the
    /// iris's lower part and the white beside it, all moved as the skin is). An un-squinting eye
    /// (`eyeSquint` below the portrait's own, [`ExpressionRig::relative_to_portrait`]) opens by a pixel
    /// or two: uncovering eyeball in place of the lid's old band drew the iris's bottom as a dark sliver
    /// under it, a pale arc at its rim and dark dots where the lower lashes were. Elsewhere `q` itself.
    ///
    /// [`ExpressionRig::relative_to_portrait`]: crate::rig::ExpressionRig::relative_to_portrait
    fn lower_lid_stretch(&self, lids: &[Vec<[f32; 2]>; 2], q: [f32; 2]) -> [f32; 2] {
        let [u, v] = self.frame.local(q);
        if !(0.0..=1.0).contains(&u) {
            return q;
        }
        let lower = interp_y(&self.lower, u);
        let dropped = interp_y(&lids[1], u);
        let mid = (interp_y(&self.lid, u) + lower) / 2.0;
        if dropped <= lower || v <= mid || lower <= mid {
            return q;
        }
        self.frame
            .world(u, mid + (v - mid) * (lower - mid) / (dropped - mid))
    }

    /// Shades the target pixels of `span` (row `y`, `x0..=x1`) of an eye whose corners moved to
    /// `corners`, with the iris shifted by `gaze` (portrait pixels), into `out`; `lids` are the target's
    /// lids from [`EyeLayer::target_lids`].
    #[allow(clippy::too_many_arguments)]
    pub fn shade_span(
        &self,
        tex: &Texture<'_>,
        to_source: &Similarity,
        gaze: [f32; 2],
        lids: &[Vec<[f32; 2]>; 2],
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
            let q = self.lower_lid_stretch(lids, to_source.apply(p));
            let dm = ((q[0] - moved[0]).powi(2) + (q[1] - moved[1]).powi(2)).sqrt();
            let band = self.lid_band(lids, q);
            let colour: [u8; 4] = if let LidBand::Lash(src) = band {
                tex.sample(src[0], src[1])
            } else if dm < rr {
                // The iris, from where it is in the portrait; its hidden top mirrored from the bottom.
                // Under a risen lid it is in the lid's shadow, like the white beside it.
                let shade = match band {
                    LidBand::Eyeball(_, shade) => shade,
                    _ => 1.0,
                };
                let a = [q[0] - gaze[0], q[1] - gaze[1]];
                let visible = |b: [f32; 2]| self.open_at(lids, b);
                let iris = if visible(a) {
                    tex.sample(a[0], a[1])
                } else {
                    // Mirrored from the bottom, only from inside the portrait's iris (the rim's
                    // mirror, between the radius and the 1.1 radii drawn, is the white below it); or
                    // the visible iris nearer its centre along the same ray (an iris's texture runs
                    // along its rays; a small or half-closed eye looking down). Under a risen lid the
                    // ray comes first: the iris's top it uncovers is dark like the iris just below,
                    // where the mirrored bottom (lit, lighter) drew a pale arc under the lashes.
                    // Never from a catchlight: the lit spot just under a risen lid, copied up, drew
                    // a second highlight stretched above the first (photos in surprise).
                    // The iris's own texture at `b`: visible and no highlight.
                    let texture = |b: [f32; 2]| {
                        visible(b)
                            .then(|| tex.sample(b[0], b[1]))
                            .filter(|c| luma(c) <= self.highlight)
                    };
                    let m = [a[0], 2.0 * self.iris[1] - a[1]];
                    let mirror = ((m[0] - self.iris[0]).hypot(m[1] - self.iris[1]) < self.radius)
                        .then(|| texture(m))
                        .flatten();
                    // The points nearer the iris's centre on `a`'s ray, outermost first.
                    let along_ray = || {
                        IRIS_PULL.iter().map(|t| {
                            [
                                self.iris[0] + (a[0] - self.iris[0]) * t,
                                self.iris[1] + (a[1] - self.iris[1]) * t,
                            ]
                        })
                    };
                    let pulled = || along_ray().find_map(texture);
                    // A flat fill here read as a hard-edged patch of paint.
                    let from = if matches!(band, LidBand::Eyeball(..)) {
                        pulled().or(mirror)
                    } else {
                        mirror.or_else(pulled)
                    };
                    // Where all the iris in reach is lit (a pale iris, a large reflection), the
                    // nearest, dimmed to the highlight's start.
                    let dimmed = || {
                        let b = along_ray().find(|b| visible(*b))?;
                        let c = tex.sample(b[0], b[1]);
                        let k = (self.highlight / luma(&c).max(1.0)).min(1.0);
                        Some([
                            (c[0] as f32 * k) as u8,
                            (c[1] as f32 * k) as u8,
                            (c[2] as f32 * k) as u8,
                            c[3],
                        ])
                    };
                    if let Some(c) = from {
                        c
                    } else if let Some(c) = dimmed() {
                        c
                    } else {
                        let c = self.iris_colour;
                        [c[0] as u8, c[1] as u8, c[2] as u8, 255]
                    }
                };
                shaded(iris, shade)
            } else {
                let d0 = self.iris_distance(q);
                let beside = |b: [f32; 2]| self.iris_distance(b) >= rr && inside(&self.opening, b);
                if d0 >= rr && inside(&self.opening, q) && band == LidBand::Portrait {
                    tex.sample(q[0], q[1])
                } else if let LidBand::Eyeball(b, shade) = band
                    && beside(b)
                {
                    shaded(tex.sample(b[0], b[1]), shade)
                } else if let LidBand::Eyeball(b, shade) = band
                    && let Some(c) = self.sclera_beside(b, lids)
                {
                    // Eyeball a risen lid uncovers where the white below it is not the portrait's open
                    // eye beside the iris (over the portrait's iris disc, or past a corner where the
                    // opening thins): the portrait's white beside its iris at that height (a pale fill
                    // there, under a lid's shadow, read as a speck). Within `LID_CORNER_FEATHER` of a
                    // corner it fades to the portrait as it is there: a lid lifted a pixel at the
                    // corner (raised outer brows) drew a white pixel in the pink corner.
                    let white = shaded(tex.sample(c[0], c[1]), shade);
                    let away = away_from_corners(self.frame.local(q)[0]);
                    mix_px(tex.sample(q[0], q[1]), white, away)
                } else if band == LidBand::Portrait && !inside(&self.opening, q) {
                    // Beyond the portrait's opening where no lid moved (past a corner of a widened
                    // eye, a pixel's sliver at its rim): the portrait's lid and corner there. Painted
                    // sclera here came out as pale dots along the rim, apart from the eye.
                    tex.sample(q[0], q[1])
                } else if let LidBand::Eyeball(b, shade) = band {
                    // Eyeball a risen lid uncovers with no white beside the iris at that height: the
                    // eye beside the iris's disc carried across it, as below, in the lid's shadow.
                    shaded(self.across(tex, b), shade)
                } else {
                    // Where the iris was: the portrait's own rows beside its disc carried across it
                    // (`EyeLayer::across`): the white, and the lash line and lid shadow at the lids.
                    // A fill of the eye's mean white read as a disc of paint with a hard rim (grey-pink
                    // on the painted demo, whose opening takes in skin; pale on Mona Lisa), and over
                    // the lash line where the tracked opening reaches into it (a look down broke the
                    // lid line).
                    self.across(tex, q)
                }
            };
            // A sliver of eyeball between a risen lid's lash band and the iris's top continues the
            // lash band down to the iris.
            let sliver = if dm < rr {
                None
            } else {
                self.sliver_over_iris(lids, q, band, moved)
            };
            let colour = match sliver {
                Some((k, b)) => mix_px(colour, tex.sample(b[0], b[1]), k),
                None => colour,
            };
            let i = (y * out_width + x) * 4;
            out[i..i + 4].copy_from_slice(&colour);
        }
    }

    /// Where the target's upper lid has risen above the portrait's at `u` (along the eye, 0..1), in
    /// the eye's frame: `(the portrait's lid, the risen lid, the lash band's thickness)`; `None` where
    /// it has not (by a quarter pixel).
    fn risen_lid(&self, lids: &[Vec<[f32; 2]>; 2], u: f32) -> Option<(f32, f32, f32)> {
        let upper = interp_y(&self.lid, u);
        let risen = interp_y(&lids[0], u);
        let raised = upper - risen;
        (raised > 0.25).then_some((upper, risen, UPPER_LASH_BAND * self.frame.width))
    }

    /// How much of the portrait point `q` (the iris moved to `centre`) is a sliver of eyeball a risen
    /// lid uncovered between its lash band and the iris's top (1 for a run of eyeball down that column
    /// of at most half of [`SLIVER`] pixels, fading to 0 at [`SLIVER`]), with the bottom row of the
    /// portrait's lash band there (what the risen lid's band ends in, [`EyeLayer::lid_band`]). Drawn as
    /// the white, such a sliver, a pixel or two deep, read as a dotted pale arc along the iris's top
    /// (the demo in surprise); it continues the lash band instead. A deeper band of white above the
    /// iris (a lid risen well past it) is the white it is. `None` elsewhere.
    fn sliver_over_iris(
        &self,
        lids: &[Vec<[f32; 2]>; 2],
        q: [f32; 2],
        band: LidBand,
        centre: [f32; 2],
    ) -> Option<(f32, [f32; 2])> {
        if !matches!(band, LidBand::Eyeball(..)) {
            return None;
        }
        let [u, v] = self.frame.local(q);
        let [cu, cv] = self.frame.local(centre);
        // The iris's top edge in this column of the eye.
        let dx = (u - cu) * self.frame.width;
        let rr = self.radius * 1.1;
        let top = cv - chord(rr, dx);
        if dx.abs() >= rr || v >= top {
            return None;
        }
        let (upper, risen, band) = self.risen_lid(lids, u)?;
        let k = 1.0 - smoothstep(0.5 * SLIVER, SLIVER, top - (risen + band));
        (k > 0.0).then(|| (k, self.frame.world(u, upper + band - 0.5)))
    }
}

/// The most a closing lid's lash band can be, in pixels, for an eye `width` pixels wide: 0.18 of it
/// (the measured band, [`EyeLayer::lash_thickness`], is usually thinner).
fn lash_reach(width: f32) -> f32 {
    (0.18 * width).max(1.0)
}

/// Over how much of the eye's width (from each corner) a closing lid's redrawn skin fades in from the
/// corner's own skin (no vertical edge at the corner).
const LID_CORNER_FEATHER: f32 = 0.12;

/// The deepest run of eyeball (pixels, down a column of the eye) between a risen lid's lash band and
/// the iris's top that is drawn as the lash band's end, not as white (fully up to half of it:
/// [`EyeLayer::sliver_over_iris`]).
const SLIVER: f32 = 2.5;

/// How far towards its centre a hidden point of a moved iris looks for visible iris, as shares of its
/// distance from the centre ([`EyeLayer::shade_span`]).
const IRIS_PULL: [f32; 4] = [0.8, 0.6, 0.4, 0.2];

/// Where a highlight in the iris starts, as a share of the way from the iris's mean luma to the white's
/// ([`EyeLayer::highlight`]).
const HIGHLIGHT_SHARE: f32 = 0.12;
/// The least a highlight in the iris is brighter than the iris's mean, in luma levels
/// ([`EyeLayer::highlight`]; where the white is hardly lighter than the iris, a painting's grey eye).
const HIGHLIGHT_MIN: f32 = 15.0;

/// The largest grain (levels) a place the iris left takes from the portrait beside it
/// ([`EyeLayer::across`]): a fifth to a third of the picture's grain there. Grain from the middle of
/// the white (mirrored, as the mean fill before took it) made the tracker read the eyes' openings less
/// faithfully in self-reenactment (eye r on the green-screen video 0.87 -> 0.83-0.85, at 4 to 12
/// levels); from the same place between the lids, 6 or 10 levels made no difference (0.869, 0.868).
const ACROSS_GRAIN: f32 = 6.0;
/// How far outwards, in shares of its distance from the iris's centre, the grain of a place the iris
/// left is taken from beside it (a fixed scatter per pixel).
const ACROSS_SCATTER: f32 = 0.3;
/// Over which shares of the eye's width from a corner a side lends fully to a place the iris left
/// ([`EyeLayer::across`]): none at the corner (not white), all past the second.
const ACROSS_CORNER: [f32; 2] = [0.04, 0.14];

/// Where the eye lent to a place the iris left is taken from: beyond this many iris radii from the
/// iris's centre (past its soft rim and the dark ring around it).
const SCLERA_FROM: f32 = 1.3;

impl EyeLayer {
    /// What shows at `q`, a point of the portrait's iris disc that the moved iris has left: the portrait
    /// beside the disc on both sides (at [`SCLERA_FROM`] radii from its centre on `q`'s row), at the
    /// same place between the lids (white, lash line or lid shadow, whatever is there), blended by where
    /// `q` lies between the two; a side that falls into a corner lends less. With the fine grain of the
    /// portrait there.
    fn across(&self, tex: &Texture<'_>, q: [f32; 2]) -> [u8; 4] {
        let width = self.frame.width.max(1.0);
        let [u, v] = self.frame.local(q);
        let [iu, iv] = self.frame.local(self.iris);
        let from = (SCLERA_FROM * self.radius).max(1.0);
        let half = chord(from, v - iv).max(0.5 * from);
        let (up, lo) = (interp_y(&self.lid, u), interp_y(&self.lower, u));
        let s = ((v - up) / (lo - up).max(1.0)).clamp(0.0, 1.0);
        // The same place between the lids beside the disc at `uu`: as far below the upper lid near the
        // top, as far above the lower one near the bottom (the lash lines keep their thickness).
        let rows = |uu: f32| {
            let (us, ls) = (interp_y(&self.lid, uu), interp_y(&self.lower, uu));
            (us + (v - up), ls - (lo - v))
        };
        // The portrait at `(uu, vv)` with the fine grain of the portrait `jj` further out (a blend of
        // two samples is smoother than the picture; whole samples scattered there put lashes into the
        // white as dark dots).
        let px = |uu: f32, vv: f32, jj: f32| {
            let a = self.frame.world(uu, vv);
            let c = tex.sample(a[0], a[1]);
            let g = grain_at(tex, self.frame.world(uu + jj, vv), ACROSS_GRAIN);
            [0, 1, 2].map(|k| c[k] as f32 + g[k])
        };
        let at = |uu: f32, jj: f32| {
            let (va, vb) = rows(uu);
            mix3(px(uu, va, jj), px(uu, vb, jj), s)
        };
        // Each side at `SCLERA_FROM` radii on `q`'s row; on the rows it takes (the lids' curve moves them
        // nearer the iris's middle) about 1.15-1.3 radii. Further out on those rows (at 1.3 radii there)
        // a corner's dark lid line reached Girl with a Pearl Earring's far eye, foreshortened, and drew
        // a broken line there on a look aside.
        let (ul, ur) = (iu - half / width, iu + half / width);
        // The grain's scatter, fixed to the picture's pixels.
        let j =
            ACROSS_SCATTER * half / width * hash(q[0].floor() as i32, q[1].floor() as i32).abs();
        let (l, r) = (at(ul, -j), at(ur, j));
        let t = (((u - iu) * width + half) / (2.0 * half)).clamp(0.0, 1.0);
        // A side that falls into a corner (an iris resting aside) lends less: its corner is not white.
        let [c0, c1] = ACROSS_CORNER;
        let inner = |uu: f32| smoothstep(c0, c1, uu) * smoothstep(c0, c1, 1.0 - uu) + 1e-3;
        let (wl, wr) = ((1.0 - t) * inner(ul), t * inner(ur));
        let [r, g, b] = mix3(l, r, wr / (wl + wr)).map(|v| v.round().clamp(0.0, 255.0) as u8);
        [r, g, b, 255]
    }

    /// How far the portrait point `p` lies from the portrait's iris's centre, in pixels.
    fn iris_distance(&self, p: [f32; 2]) -> f32 {
        ((p[0] - self.iris[0]).powi(2) + (p[1] - self.iris[1]).powi(2)).sqrt()
    }

    /// Whether the portrait shows its open eye at `b` as it is: inside its opening and not where a moved
    /// lid's lash band or the eyeball it uncovered is drawn ([`EyeLayer::lid_band`]).
    fn open_at(&self, lids: &[Vec<[f32; 2]>; 2], b: [f32; 2]) -> bool {
        inside(&self.opening, b) && self.lid_band(lids, b) == LidBand::Portrait
    }

    /// The portrait point whose white shows at `q`, a point of the portrait's iris disc (where a risen
    /// lid's eyeball is taken from, over the iris): along the eye's row through `q`, as deep beyond the
    /// iris's rim (at [`SCLERA_FROM`] radii) as `q` lies inside it, on the nearer side, else the other,
    /// on its own row or one nearer the iris's middle; `None` where none of these is open eye in the
    /// portrait.
    fn sclera_beside(&self, q: [f32; 2], lids: &[Vec<[f32; 2]>; 2]) -> Option<[f32; 2]> {
        let width = self.frame.width.max(1.0);
        let [u, v] = self.frame.local(q);
        let [iu, iv] = self.frame.local(self.iris);
        let dx = (u - iu) * width;
        let dy = v - iv;
        let rr = self.radius * 1.1;
        let near = if dx < 0.0 { -1.0 } else { 1.0 };
        // Its own row first; near the lids, where the opening beside the iris narrows to nothing, rows
        // nearer the iris's middle.
        [1.0, 0.6, 0.3].into_iter().find_map(|t| {
            let dy = dy * t;
            let depth = (chord(rr, dy) - dx.abs()).max(0.0);
            let reach = chord(SCLERA_FROM * self.radius, dy) + depth;
            [near, -near].into_iter().find_map(|side| {
                let b = self.frame.world(iu + side * reach / width, iv + dy);
                let far = self.iris_distance(b) >= rr;
                (far && self.open_at(lids, b)).then_some(b)
            })
        })
    }
}

/// Half the chord at distance `d` from the centre of a circle of radius `r` (0 past it).
fn chord(r: f32, d: f32) -> f32 {
    (r * r - d * d).max(0.0).sqrt()
}

/// `a` towards `b` by `t` (0..=1), per channel.
fn mix_px(a: [u8; 4], b: [u8; 4], t: f32) -> [u8; 4] {
    std::array::from_fn(|k| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * t).round() as u8)
}

/// How far a point at `u` along the eye (0 and 1: its corners) is from both corners: 0 at a corner,
/// rising to 1 over [`LID_CORNER_FEATHER`] of the eye's width.
fn away_from_corners(u: f32) -> f32 {
    smoothstep(0.0, LID_CORNER_FEATHER, u) * smoothstep(0.0, LID_CORNER_FEATHER, 1.0 - u)
}

/// `c` with its colour times `shade` (1: `c` as it is, the common case: no lid risen over it).
fn shaded(c: [u8; 4], shade: f32) -> [u8; 4] {
    if shade >= 1.0 {
        return c;
    }
    [
        (c[0] as f32 * shade).round() as u8,
        (c[1] as f32 * shade).round() as u8,
        (c[2] as f32 * shade).round() as u8,
        c[3],
    ]
}

/// The fine grain of the portrait at `b`: its sample less the mean of its four neighbours 1.5 px away,
/// each channel clamped to `limit` levels (what the place an iris left and a closing lid's smooth skin
/// take from the picture).
fn grain_at(tex: &Texture<'_>, b: [f32; 2], limit: f32) -> [f32; 3] {
    let at = tex.sample(b[0], b[1]);
    let mut mean = [0f32; 3];
    for (dx, dy) in [(-1.5, 0.0), (1.5, 0.0), (0.0, -1.5), (0.0, 1.5)] {
        let n = tex.sample(b[0] + dx, b[1] + dy);
        for c in 0..3 {
            mean[c] += n[c] as f32 / 4.0;
        }
    }
    [0, 1, 2].map(|c| (at[c] as f32 - mean[c]).clamp(-limit, limit))
}

/// What a point of the eye shows where the lids have opened wider than the portrait's
/// ([`EyeLayer::lid_band`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum LidBand {
    /// The portrait as it is.
    Portrait,
    /// The lash band, moved with its lid: the portrait at this point.
    Lash([f32; 2]),
    /// Uncovered eyeball (iris or sclera); the sclera as at this point of the portrait, times the
    /// shade (the risen lid's shadow).
    Eyeball([f32; 2], f32),
}

/// How far below the portrait's upper lid edge its lash line and lid shadow reach into the opening, in
/// eye widths: they move with a risen lid, and eyeball shows where they were ([`EyeLayer::lid_band`]).
const UPPER_LASH_BAND: f32 = 0.1;
/// The shade of the eyeball a risen upper lid uncovers, just under its lashes ([`EyeLayer::lid_band`]):
/// the lid's shadow. Unshaded, the white copied there read as a bright box under the lashes.
const EYEBALL_SHADOW: f32 = 0.75;
/// Over how much of the lid's rise (from the lashes down) that shadow lightens to none.
const EYEBALL_SHADOW_DEPTH: f32 = 0.6;

/// The lower lid edge (corners included) of one eye of `points`, mapped by `map`, in `frame`'s
/// coordinates, sorted by u.
fn lower_line(
    frame: &SegmentFrame,
    points: &[[f32; 3]],
    side: usize,
    map: impl Fn([f32; 2]) -> [f32; 2],
) -> Vec<[f32; 2]> {
    let mut l: Vec<[f32; 2]> = eye_ring(side)[..=8]
        .iter()
        .map(|&i| frame.local(map([points[i][0], points[i][1]])))
        .collect();
    l.sort_by(|a, b| a[0].total_cmp(&b[0]));
    l
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
