//! A mouth in its own frame (along the inner corners and across), and a reference portrait whose open
//! mouth lends its interior.

use std::sync::Arc;

use super::super::geometry::{SegmentFrame, luma};
use super::super::raster::Texture;
use crate::math::polyline_y as interp_y;
use crate::render::PortraitImage;
use crate::rig::topology::{LOWER_INNER_LIP, LOWER_OUTER_LIP, UPPER_INNER_LIP};

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
    /// Where the lips' midline lies along the mouth (`s`), kept within [`MIDLINE_RANGE`].
    mid: f32,
}

/// The range the lips' midline is taken in along the mouth (`s`, 0..1 between the inner corners): a face
/// turned a little has its midline off the middle of the opening (the Girl with a Pearl Earring's at
/// 0.24, van Gogh's at 0.32); a profile's lies beyond the far corner, whose interior the picture does
/// not show.
pub(super) const MIDLINE_RANGE: (f32, f32) = (0.25, 0.75);

impl MouthFrame {
    pub fn new(points: &[[f32; 3]]) -> Self {
        let at = |i: usize| [points[i][0], points[i][1]];
        let frame = SegmentFrame::new(at(78), at(308), 1.0);
        let line = |idx: &[usize; 11]| {
            let mut l: Vec<[f32; 2]> = idx.iter().map(|&i| frame.local(at(i))).collect();
            l.sort_by(|p, q| p[0].total_cmp(&q[0]));
            l
        };
        let mid = (frame.local(at(13))[0] + frame.local(at(14))[0]) / 2.0;
        let mid = if mid.is_finite() {
            mid.clamp(MIDLINE_RANGE.0, MIDLINE_RANGE.1)
        } else {
            0.5
        };
        Self {
            mid,
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

    /// Where `s` lies across the mouth's arch: -1 at the subject's right inner corner, 0 at the lips'
    /// midline, 1 at the left corner; and how many times wider that side is in the picture than on a
    /// frontal face's (where the midline lies in the middle). On a turned face the far side's teeth are
    /// narrower.
    pub fn arch(&self, s: f32) -> [f32; 2] {
        if s < self.mid {
            [(s - self.mid) / self.mid, 2.0 * self.mid]
        } else {
            [(s - self.mid) / (1.0 - self.mid), 2.0 * (1.0 - self.mid)]
        }
    }

    /// Where the lips' midline lies along the mouth (`s`, within [`MIDLINE_RANGE`]).
    pub fn midline(&self) -> f32 {
        self.mid
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
