//! [`RigEditor`]: the logic of the landmark editor, without a window: pick, drag points and whole
//! regions, scale a region, mirror one side onto the other, undo and redo, save the sidecar.
//!
//! For art the detector misses or misplaces (anime, heavy stylisation): start from the tracked rig or
//! [`PortraitRig::template`], move the points onto the face, save. A UI drives it with mouse positions in
//! portrait pixels; every edit is one undo step (a drag is one step however many moves it has).

use std::path::Path;
use std::sync::OnceLock;

use super::portrait::{PortraitRig, RigSource, sidecar_path};
use super::topology;
use crate::error::Result;

/// A part of the face that moves as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// The subject's right eye (image left): lids, fold and iris.
    RightEye,
    /// The subject's left eye.
    LeftEye,
    /// The subject's right eyebrow.
    RightBrow,
    /// The subject's left eyebrow.
    LeftBrow,
    /// Lips, outer and inner.
    Mouth,
    /// The nose: bridge, tip and wings.
    Nose,
    /// The face outline.
    Oval,
    /// Every point.
    All,
}

/// Which side of the face, as the subject sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The subject's right (the image's left for a frontal face).
    Right,
    /// The subject's left.
    Left,
}

const NOSE: [usize; 24] = [
    168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 129, 358, 49, 279, 48, 278, 64, 294, 102, 331,
    115, 344,
];

impl Region {
    /// The landmark indices of the region (the iris of an eye is moved with it separately).
    pub fn points(self) -> Vec<usize> {
        let mut v: Vec<usize> = match self {
            Region::RightEye => topology::RIGHT_EYE
                .iter()
                .chain(&topology::RIGHT_EYE_FOLD)
                .copied()
                .collect(),
            Region::LeftEye => topology::LEFT_EYE
                .iter()
                .chain(&topology::LEFT_EYE_FOLD)
                .copied()
                .collect(),
            Region::RightBrow => topology::RIGHT_BROW.to_vec(),
            Region::LeftBrow => topology::LEFT_BROW.to_vec(),
            Region::Mouth => topology::UPPER_OUTER_LIP
                .iter()
                .chain(&topology::LOWER_OUTER_LIP)
                .chain(&topology::UPPER_INNER_LIP)
                .chain(&topology::LOWER_INNER_LIP)
                .copied()
                .collect(),
            Region::Nose => NOSE.to_vec(),
            Region::Oval => topology::FACE_OVAL.to_vec(),
            Region::All => (0..468).collect(),
        };
        v.sort_unstable();
        v.dedup();
        v
    }

    fn iris(self) -> Option<usize> {
        match self {
            Region::RightEye => Some(0),
            Region::LeftEye => Some(1),
            _ => None,
        }
    }
}

/// For each of the 468 landmarks, its mirror image on the other side of the face (itself on the midline).
///
/// The contours with known left/right order (eyes, folds, brows, lips, oval, nose wings) are paired by
/// that order; the remaining points by their mirrored position on the canonical face, nearest pairs
/// first, one to one (the canonical face here is an average face, not exactly symmetric).
pub fn mirror_pairs() -> &'static [usize] {
    static PAIRS: OnceLock<Vec<usize>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        let c = crate::tracking::canonical_face();
        let n = c.len();
        let mut pair: Vec<Option<usize>> = vec![None; n];
        let link = |a: usize, b: usize, pair: &mut Vec<Option<usize>>| {
            if a < n && b < n && pair[a].is_none() && pair[b].is_none() {
                pair[a] = Some(b);
                pair[b] = Some(a);
            }
        };
        for (r, l) in topology::RIGHT_EYE.iter().zip(&topology::LEFT_EYE) {
            link(*r, *l, &mut pair);
        }
        for (r, l) in topology::RIGHT_EYE_FOLD
            .iter()
            .zip(&topology::LEFT_EYE_FOLD)
        {
            link(*r, *l, &mut pair);
        }
        for (r, l) in topology::RIGHT_BROW.iter().zip(&topology::LEFT_BROW) {
            link(*r, *l, &mut pair);
        }
        for lip in [
            &topology::UPPER_OUTER_LIP,
            &topology::LOWER_OUTER_LIP,
            &topology::UPPER_INNER_LIP,
            &topology::LOWER_INNER_LIP,
        ] {
            for k in 0..lip.len() {
                link(lip[k], lip[lip.len() - 1 - k], &mut pair);
            }
        }
        let oval = &topology::FACE_OVAL;
        for k in 0..oval.len() {
            link(oval[k], oval[(oval.len() - k) % oval.len()], &mut pair);
        }
        for w in NOSE[10..].chunks(2) {
            link(w[0], w[1], &mut pair);
        }
        for &m in &NOSE[..10] {
            link(m, m, &mut pair);
        }
        // The rest: on the midline, themselves; else the nearest free mirror, closest pairs first.
        for i in 0..n {
            if pair[i].is_none() && c[i][0].abs() < 0.01 {
                pair[i] = Some(i);
            }
        }
        let mut candidates = Vec::new();
        for i in (0..n).filter(|&i| pair[i].is_none() && c[i][0] < 0.0) {
            for j in (0..n).filter(|&j| pair[j].is_none() && c[j][0] > 0.0) {
                let d: f32 = (0..3)
                    .map(|k| (c[j][k] - if k == 0 { -c[i][0] } else { c[i][k] }).powi(2))
                    .sum();
                candidates.push((d, i, j));
            }
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, i, j) in candidates {
            link(i, j, &mut pair);
        }
        (0..n).map(|i| pair[i].unwrap_or(i)).collect()
    })
}

/// The most undo steps an editor keeps (the oldest go first): about 1.5 MB of snapshots, however long
/// the session.
pub const MAX_UNDO: usize = 256;

/// The snapshot an undo step restores.
#[derive(Clone, Debug, PartialEq)]
struct Snapshot {
    landmarks: Vec<[f32; 3]>,
    iris: Option<[[f32; 2]; 2]>,
}

/// Edits a [`PortraitRig`]: the landmark editor's logic.
#[derive(Clone, Debug)]
pub struct RigEditor {
    rig: PortraitRig,
    undo: Vec<Snapshot>,
    redo: Vec<Snapshot>,
    drag: Option<Drag>,
    saved: Snapshot,
}

#[derive(Clone, Debug)]
struct Drag {
    what: Grab,
    start: [f32; 2],
    before: Snapshot,
}

/// What a drag holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grab {
    /// One landmark.
    Point(usize),
    /// An iris centre (`0` the subject's right, `1` left).
    Iris(usize),
    /// A whole region.
    Region(Region),
}

impl RigEditor {
    /// An editor on `rig`.
    pub fn new(rig: PortraitRig) -> Self {
        let saved = Self::snapshot_of(&rig);
        Self {
            rig,
            undo: Vec::new(),
            redo: Vec::new(),
            drag: None,
            saved,
        }
    }

    /// Opens the sidecar of the portrait at `portrait_path` (of `image_size`), or starts from the template
    /// when it has none.
    pub fn open(portrait_path: &Path, image_size: [u32; 2]) -> Result<Self> {
        let rig = PortraitRig::load_sidecar(portrait_path, Some(image_size))?
            .unwrap_or_else(|| PortraitRig::template(image_size));
        Ok(Self::new(rig))
    }

    fn snapshot_of(rig: &PortraitRig) -> Snapshot {
        Snapshot {
            landmarks: rig.landmarks.clone(),
            iris: rig.iris,
        }
    }

    fn snapshot(&self) -> Snapshot {
        Self::snapshot_of(&self.rig)
    }

    fn restore(&mut self, s: Snapshot) {
        self.rig.landmarks = s.landmarks;
        self.rig.iris = s.iris;
    }

    fn edited(&mut self, before: Snapshot) {
        if before != self.snapshot() {
            if self.undo.len() >= MAX_UNDO {
                self.undo.remove(0);
            }
            self.undo.push(before);
            self.redo.clear();
            self.rig.source = RigSource::Edited;
            self.rig.presence = 1.0;
        }
    }

    /// The rig as edited.
    pub fn rig(&self) -> &PortraitRig {
        &self.rig
    }

    /// Whether there are edits since the last save (or the start).
    pub fn is_dirty(&self) -> bool {
        self.snapshot() != self.saved
    }

    /// The landmark or iris nearest to `at` (portrait pixels) within `radius`, irises first.
    pub fn pick(&self, at: [f32; 2], radius: f32) -> Option<Grab> {
        let d2 = |p: [f32; 2]| (p[0] - at[0]).powi(2) + (p[1] - at[1]).powi(2);
        let r2 = radius * radius;
        if let Some(iris) = self.rig.iris {
            for (i, c) in iris.iter().enumerate() {
                if d2(*c) <= r2 {
                    return Some(Grab::Iris(i));
                }
            }
        }
        self.rig
            .landmarks
            .iter()
            .enumerate()
            .map(|(i, p)| (i, d2([p[0], p[1]])))
            .filter(|(_, d)| *d <= r2)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| Grab::Point(i))
    }

    /// Starts dragging `what` from `at`.
    pub fn begin_drag(&mut self, what: Grab, at: [f32; 2]) {
        self.drag = Some(Drag {
            what,
            start: at,
            before: self.snapshot(),
        });
    }

    /// Moves what is being dragged so that it has moved by `at - start` in all.
    pub fn drag_to(&mut self, at: [f32; 2]) {
        let Some(drag) = self.drag.clone() else {
            return;
        };
        if !(at[0].is_finite() && at[1].is_finite()) {
            return;
        }
        self.restore(drag.before.clone());
        let delta = [at[0] - drag.start[0], at[1] - drag.start[1]];
        self.apply(drag.what, delta);
    }

    /// Ends the drag: one undo step.
    pub fn end_drag(&mut self) {
        if let Some(drag) = self.drag.take() {
            self.edited(drag.before);
        }
    }

    fn apply(&mut self, what: Grab, delta: [f32; 2]) {
        let shift = |p: &mut [f32; 3]| {
            p[0] += delta[0];
            p[1] += delta[1];
        };
        match what {
            Grab::Point(i) => {
                if let Some(p) = self.rig.landmarks.get_mut(i) {
                    shift(p);
                }
            }
            Grab::Iris(i) => {
                if let Some(iris) = &mut self.rig.iris
                    && let Some(c) = iris.get_mut(i)
                {
                    c[0] += delta[0];
                    c[1] += delta[1];
                }
            }
            Grab::Region(r) => {
                for i in r.points() {
                    if let Some(p) = self.rig.landmarks.get_mut(i) {
                        shift(p);
                    }
                }
                if let (Some(k), Some(iris)) = (r.iris(), &mut self.rig.iris) {
                    iris[k][0] += delta[0];
                    iris[k][1] += delta[1];
                }
            }
        }
    }

    /// Moves `what` by `delta` pixels: one undo step.
    pub fn nudge(&mut self, what: Grab, delta: [f32; 2]) {
        let before = self.snapshot();
        self.apply(what, delta);
        self.edited(before);
    }

    /// Scales a region about its centre by `factor` (e.g. 1.1 to enlarge an eye by 10 %): one undo step.
    pub fn scale_region(&mut self, region: Region, factor: f32) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        let before = self.snapshot();
        let pts = region.points();
        let n = pts.len().max(1) as f32;
        let c = pts.iter().fold([0.0f32; 2], |acc, &i| {
            let p = self.rig.landmarks[i];
            [acc[0] + p[0] / n, acc[1] + p[1] / n]
        });
        for &i in &pts {
            let p = &mut self.rig.landmarks[i];
            p[0] = c[0] + (p[0] - c[0]) * factor;
            p[1] = c[1] + (p[1] - c[1]) * factor;
        }
        if let (Some(k), Some(iris)) = (region.iris(), &mut self.rig.iris) {
            iris[k] = [
                c[0] + (iris[k][0] - c[0]) * factor,
                c[1] + (iris[k][1] - c[1]) * factor,
            ];
            if let Some(r) = &mut self.rig.iris_radius {
                r[k] *= factor;
            }
        }
        self.edited(before);
    }

    /// The face's axis of symmetry in the portrait: a point on it and its unit direction (forehead to
    /// chin), fitted to the midline landmarks.
    pub fn symmetry_axis(&self) -> ([f32; 2], [f32; 2]) {
        let pairs = mirror_pairs();
        let mid: Vec<[f32; 2]> = (0..pairs.len())
            .filter(|&i| pairs[i] == i)
            .map(|i| [self.rig.landmarks[i][0], self.rig.landmarks[i][1]])
            .collect();
        let n = mid.len().max(1) as f32;
        let c = mid
            .iter()
            .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
        // Principal direction of the midline points.
        let (mut sxx, mut sxy, mut syy) = (0.0f32, 0.0f32, 0.0f32);
        for p in &mid {
            let (x, y) = (p[0] - c[0], p[1] - c[1]);
            sxx += x * x;
            sxy += x * y;
            syy += y * y;
        }
        let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        let mut d = [angle.cos(), angle.sin()];
        if d[1] < 0.0 {
            d = [-d[0], -d[1]];
        }
        (c, d)
    }

    /// Copies the `from` side onto the other side, mirrored about the face's axis of symmetry (and the
    /// iris and its radius): one undo step.
    pub fn mirror(&mut self, from: Side) {
        let before = self.snapshot();
        let (c, d) = self.symmetry_axis();
        let reflect = |p: [f32; 2]| {
            let v = [p[0] - c[0], p[1] - c[1]];
            let along = v[0] * d[0] + v[1] * d[1];
            let foot = [c[0] + d[0] * along, c[1] + d[1] * along];
            [2.0 * foot[0] - p[0], 2.0 * foot[1] - p[1]]
        };
        let pairs = mirror_pairs();
        let canon = crate::tracking::canonical_face();
        let old = self.rig.landmarks.clone();
        for (i, &j) in pairs.iter().enumerate() {
            // The canonical face's +x is the subject's left.
            let on_source = match from {
                Side::Left => canon[j][0] > 0.0 && canon[i][0] < 0.0,
                Side::Right => canon[j][0] < 0.0 && canon[i][0] > 0.0,
            };
            if on_source {
                let m = reflect([old[j][0], old[j][1]]);
                self.rig.landmarks[i] = [m[0], m[1], old[j][2]];
            }
        }
        let (src, dst) = match from {
            Side::Left => (1, 0),
            Side::Right => (0, 1),
        };
        if let Some(iris) = &mut self.rig.iris {
            iris[dst] = reflect(iris[src]);
        }
        if let Some(r) = &mut self.rig.iris_radius {
            r[dst] = r[src];
        }
        self.edited(before);
    }

    /// Undoes the last edit; `false` if there is none.
    pub fn undo(&mut self) -> bool {
        let Some(s) = self.undo.pop() else {
            return false;
        };
        self.redo.push(self.snapshot());
        self.restore(s);
        true
    }

    /// Redoes the last undone edit; `false` if there is none.
    pub fn redo(&mut self) -> bool {
        let Some(s) = self.redo.pop() else {
            return false;
        };
        self.undo.push(self.snapshot());
        self.restore(s);
        true
    }

    /// Saves the rig as the sidecar of the portrait at `portrait_path` (checked first); returns the
    /// sidecar's path.
    pub fn save(&mut self, portrait_path: &Path) -> Result<std::path::PathBuf> {
        let path = sidecar_path(portrait_path);
        self.rig.save(&path)?;
        self.saved = self.snapshot();
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> PortraitRig {
        let mut rig = PortraitRig::template([512, 512]);
        if rig.iris.is_none() {
            let l = &rig.landmarks;
            let centre = |ring: &[usize]| {
                let n = ring.len() as f32;
                ring.iter()
                    .fold([0.0, 0.0], |a, &i| [a[0] + l[i][0] / n, a[1] + l[i][1] / n])
            };
            rig.iris = Some([centre(&topology::RIGHT_EYE), centre(&topology::LEFT_EYE)]);
            rig.iris_radius = Some([6.0, 6.0]);
        }
        rig
    }

    fn xy(rig: &PortraitRig, i: usize) -> [f32; 2] {
        [rig.landmarks[i][0], rig.landmarks[i][1]]
    }

    #[test]
    fn the_undo_history_keeps_the_newest_steps_up_to_its_cap() {
        let mut e = RigEditor::new(template());
        let start = xy(e.rig(), 1);
        for _ in 0..MAX_UNDO + 44 {
            e.nudge(Grab::Point(1), [1.0, 0.0]);
        }
        let mut steps = 0;
        while e.undo() {
            steps += 1;
        }
        assert_eq!(steps, MAX_UNDO);
        // The oldest 44 steps are gone: undoing all that is kept stops 44 px from the start.
        assert!(
            (xy(e.rig(), 1)[0] - (start[0] + 44.0)).abs() < 1e-3,
            "{:?}",
            xy(e.rig(), 1)
        );
    }

    #[test]
    fn a_drag_is_one_undo_step_and_moves_exactly() {
        let mut e = RigEditor::new(template());
        let p = xy(e.rig(), 1);
        assert_eq!(e.pick([p[0] + 0.5, p[1] - 0.5], 3.0), Some(Grab::Point(1)));
        e.begin_drag(Grab::Point(1), p);
        e.drag_to([p[0] + 2.0, p[1]]);
        e.drag_to([p[0] + 5.0, p[1] + 3.0]);
        e.end_drag();
        assert_eq!(xy(e.rig(), 1), [p[0] + 5.0, p[1] + 3.0]);
        assert_eq!(e.rig().source, RigSource::Edited);
        assert!(e.is_dirty());
        assert!(e.undo());
        assert_eq!(xy(e.rig(), 1), p, "one undo undoes the whole drag");
        assert!(!e.undo(), "nothing more to undo");
        assert!(e.redo());
        assert_eq!(xy(e.rig(), 1), [p[0] + 5.0, p[1] + 3.0]);
        // A new edit clears the redo history.
        e.nudge(Grab::Point(2), [1.0, 0.0]);
        assert!(!e.redo());
    }

    #[test]
    fn a_region_moves_with_its_iris_and_nothing_else_moves() {
        let mut e = RigEditor::new(template());
        let before = e.rig().clone();
        e.nudge(Grab::Region(Region::LeftEye), [4.0, -2.0]);
        let region = Region::LeftEye.points();
        for i in 0..468 {
            let (a, b) = (xy(&before, i), xy(e.rig(), i));
            let want = if region.contains(&i) {
                [a[0] + 4.0, a[1] - 2.0]
            } else {
                a
            };
            assert!(
                (b[0] - want[0]).abs() < 1e-4 && (b[1] - want[1]).abs() < 1e-4,
                "point {i}"
            );
        }
        let (i0, i1) = (before.iris.unwrap()[1], e.rig().iris.unwrap()[1]);
        assert!((i1[0] - i0[0] - 4.0).abs() < 1e-4 && (i1[1] - i0[1] + 2.0).abs() < 1e-4);
        assert_eq!(
            e.rig().iris.unwrap()[0],
            before.iris.unwrap()[0],
            "the other iris stays"
        );
        // Scaling keeps the centre.
        let centre = |r: &PortraitRig| {
            let n = region.len() as f32;
            region.iter().fold([0.0, 0.0], |a, &i| {
                [a[0] + r.landmarks[i][0] / n, a[1] + r.landmarks[i][1] / n]
            })
        };
        let c0 = centre(e.rig());
        e.scale_region(Region::LeftEye, 1.5);
        let c1 = centre(e.rig());
        assert!((c0[0] - c1[0]).abs() < 1e-3 && (c0[1] - c1[1]).abs() < 1e-3);
        assert!((e.rig().iris_radius.unwrap()[1] - 9.0).abs() < 1e-4);
    }

    #[test]
    fn mirroring_copies_one_side_onto_the_other() {
        let pairs = mirror_pairs();
        assert_eq!(pairs[33], 263, "outer eye corners pair up");
        assert_eq!(pairs[61], 291, "mouth corners pair up");
        assert_eq!(pairs[1], 1, "the nose tip is on the midline");
        assert_eq!(pairs[234], 454, "the cheeks at the oval pair up");
        assert!(
            (0..468).all(|i| pairs[pairs[i]] == i),
            "pairing is one to one"
        );
        let canon = crate::tracking::canonical_face();
        let worst = (0..468)
            .map(|i| {
                let (a, b) = (canon[i], canon[pairs[i]]);
                ((a[0] + b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
            })
            .fold(0.0f32, f32::max);
        // The canonical face is an average face: pairs are mirror images to within a tenth of an eye width.
        assert!(
            worst < 0.15,
            "a pair is {worst} eye widths from mirror images"
        );
        // Mirroring leaves the source side as it was, and mirroring again changes nothing.
        let mut e = RigEditor::new(template());
        let before = e.rig().clone();
        let canon = crate::tracking::canonical_face();
        e.mirror(Side::Left);
        let once = e.rig().clone();
        for i in (0..468).filter(|&i| canon[i][0] > 0.0 || pairs[i] == i) {
            assert_eq!(xy(&before, i), xy(&once, i), "source-side point {i} moved");
        }
        e.mirror(Side::Left);
        for i in 0..468 {
            let (a, b) = (xy(&once, i), xy(e.rig(), i));
            assert!(
                (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3,
                "point {i}: {a:?} -> {b:?}"
            );
        }
        while e.undo() {}
        assert_eq!(e.rig().landmarks, before.landmarks);
        // Move the subject's left eye out and up, then mirror the left side: the right eye follows.
        e.nudge(Grab::Region(Region::LeftEye), [6.0, -4.0]);
        e.mirror(Side::Left);
        let (c, d) = e.symmetry_axis();
        let reflect = |p: [f32; 2]| {
            let v = [p[0] - c[0], p[1] - c[1]];
            let along = v[0] * d[0] + v[1] * d[1];
            [
                2.0 * (c[0] + d[0] * along) - p[0],
                2.0 * (c[1] + d[1] * along) - p[1],
            ]
        };
        for i in Region::RightEye.points() {
            let want = reflect(xy(e.rig(), pairs[i]));
            let got = xy(e.rig(), i);
            assert!(
                (want[0] - got[0]).abs() < 1e-2 && (want[1] - got[1]).abs() < 1e-2,
                "point {i}"
            );
        }
        // The right eye moved up with the left one, and out on its own side: by (-6, -4) from where the
        // plain mirror put it (the axis is near vertical).
        let (r, r0) = (xy(e.rig(), 33), xy(&once, 33));
        assert!(
            (r[0] - (r0[0] - 6.0)).abs() < 0.5 && (r[1] - (r0[1] - 4.0)).abs() < 0.5,
            "{r0:?} -> {r:?}"
        );
        while e.undo() {}
        assert_eq!(e.rig().landmarks, before.landmarks);
    }

    #[test]
    fn saving_writes_a_sidecar_that_loads_back() {
        let dir = std::env::temp_dir().join(format!("rig_editor_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let portrait = dir.join("hero.png");
        let mut e = RigEditor::open(&portrait, [512, 512]).unwrap();
        assert_eq!(
            e.rig().source,
            RigSource::Template,
            "no sidecar yet: the template"
        );
        e.nudge(Grab::Region(Region::Mouth), [0.0, 3.0]);
        let path = e.save(&portrait).unwrap();
        assert!(!e.is_dirty());
        assert_eq!(path, sidecar_path(&portrait));
        let back = PortraitRig::load_sidecar(&portrait, Some([512, 512]))
            .unwrap()
            .unwrap();
        assert_eq!(&back, e.rig());
        assert_eq!(back.source, RigSource::Edited);
        let reopened = RigEditor::open(&portrait, [512, 512]).unwrap();
        assert_eq!(reopened.rig(), e.rig());
        // A rig moved far off the picture is refused with the file named.
        e.nudge(Grab::Region(Region::All), [5000.0, 0.0]);
        let err = e.save(&portrait).unwrap_err().to_string();
        assert!(
            err.contains("hero.png.rig.json") && err.contains("far outside"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
