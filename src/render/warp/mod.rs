//! [`MeshWarpRenderer`]: the default renderer. It moves the portrait's own pixels along the face mesh
//! (piecewise-affine warp with anchors around the face and on the border), with the eyes and the mouth
//! interior drawn as layers behind the lids and lips. No trained weights.

mod eye;
mod geometry;
mod mesh;
mod mouth;
mod raster;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use eye::EyeLayer;
use geometry::{SegmentFrame, Similarity};
use mesh::WarpMesh;
use mouth::{MouthFrame, MouthLayer, MouthReference};
use raster::{Texture, affine, rasterize, texels};

use super::portrait::PortraitImage;
use super::renderer::{HeadRenderer, RenderRequest, RenderTarget};
use crate::error::{Error, Result};
use crate::face::FaceFrame;
use crate::onnx::SessionOptions;
use crate::rig::topology::{INNER_LIPS, LEFT_EYE, RIGHT_EYE, eye_ring, triangles};
use crate::rig::{ExpressionRig, PortraitRig, RetargetedFace, Retargeter, sidecar_path};
use crate::tracking::{FaceTracker, ImageView};

/// Everything the warp needs about one head's portraits, made once.
#[derive(Debug)]
pub struct PreparedHead {
    rig: PortraitRig,
    retargeter: Retargeter,
    mesh: WarpMesh,
    eyes: [EyeLayer; 2],
    mouth: MouthLayer,
    portrait: Arc<PortraitImage>,
    /// The portrait's pixels as `u32`s, for the fast sampler.
    texels: Vec<u32>,
    /// Every usable portrait with its rig (scaled to that portrait), the main one first.
    shots: Vec<(Arc<PortraitImage>, PortraitRig)>,
}

/// What one frame drew.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WarpStats {
    /// Pixels no triangle or layer covered (filled with the still portrait; 0 for a sound mesh).
    pub uncovered: usize,
    /// Pixels drawn by the eye layers.
    pub eye_pixels: usize,
    /// Pixels drawn by the mouth layer.
    pub mouth_pixels: usize,
    /// Pixels drawn from the warped portrait (more than the frame where the mesh folds over itself).
    pub skin_pixels: usize,
}

impl PreparedHead {
    /// Prepares `portraits[0]` (with its `rigs[0]`, in the portrait's pixels) for warping; the other
    /// portraits and rigs are few-shot references (the most open mouth lends its interior).
    pub fn new(
        portraits: &[Arc<PortraitImage>],
        rigs: &[PortraitRig],
        expressions: &ExpressionRig,
    ) -> Result<Self> {
        let (Some(portrait), Some(rig)) = (portraits.first(), rigs.first()) else {
            return Err(Error::Render {
                renderer: "mesh_warp".into(),
                message: "the mesh warp needs a portrait and its rig".into(),
            });
        };
        let mut rig = rig.scaled_to([portrait.width, portrait.height]);
        rig.check().map_err(|problem| Error::Render {
            renderer: "mesh_warp".into(),
            message: format!("portrait rig: {problem}"),
        })?;
        open_eye_rings(&mut rig);
        let retargeter = Retargeter::new(&rig, expressions);
        let pose = *retargeter.portrait_pose();
        let canonical_y: Vec<f32> = rig
            .landmarks
            .iter()
            .map(|p| pose.to_canonical(*p)[1])
            .collect();
        let mesh = WarpMesh::new(
            &rig.landmarks,
            &canonical_y,
            portrait.width as f32,
            portrait.height as f32,
        );
        let eyes = [0, 1].map(|side| {
            EyeLayer::new(
                portrait,
                &rig.landmarks,
                side,
                rig.iris.map(|i| i[side]),
                rig.iris_radius.map(|r| r[side]),
            )
        });
        let sclera = [0, 1, 2].map(|k| (eyes[0].sclera[k] + eyes[1].sclera[k]) / 2.0);
        // Few shots: the reference with the most open mouth lends its interior.
        let mut reference: Option<(f32, MouthReference)> = None;
        let mut shots = Vec::new();
        for (index, (image, r)) in portraits.iter().zip(rigs).enumerate() {
            let r = r.scaled_to([image.width, image.height]);
            if r.check().is_err() {
                continue;
            }
            shots.push((image.clone(), r.clone()));
            let frame = MouthFrame::new(&r.landmarks);
            let open = frame.openness();
            if open > 0.0 && reference.as_ref().is_none_or(|(o, _)| open > *o) {
                reference = Some((open, MouthReference::new(index, image.clone(), frame)));
            }
        }
        let mouth = MouthLayer::new(portrait, &rig.landmarks, sclera, reference.map(|r| r.1));
        Ok(Self {
            rig,
            retargeter,
            mesh,
            eyes,
            mouth,
            texels: texels(&portrait.rgba),
            portrait: portrait.clone(),
            shots,
        })
    }

    /// The main portrait's rig, at output size.
    pub fn rig(&self) -> &PortraitRig {
        &self.rig
    }

    /// Every portrait whose rig is sound, with that rig in its own pixels; the main portrait first (the
    /// few shots a neural embedder averages).
    pub fn shots(&self) -> &[(Arc<PortraitImage>, PortraitRig)] {
        &self.shots
    }

    /// Where the face's landmarks go on this portrait.
    pub fn retarget(&self, face: &FaceFrame) -> RetargetedFace {
        self.retargeter.retarget(face)
    }

    /// The retargeter of the main portrait.
    pub fn retargeter(&self) -> &Retargeter {
        &self.retargeter
    }

    /// Which portrait lends the mouth interior, as an index into the portraits this head was prepared
    /// with: the one with the most open mouth (`None` when every mouth is closed: the interior is
    /// painted).
    pub fn mouth_reference(&self) -> Option<usize> {
        self.mouth.reference.as_ref().map(|r| r.index)
    }

    /// Renders `face` into `out` (RGBA8, the portrait's size).
    pub fn render(&self, face: &FaceFrame, out: &mut [u8]) -> WarpStats {
        let target = self.retarget(face);
        self.render_retargeted(&target, out)
    }

    /// Renders an already retargeted face.
    pub fn render_retargeted(&self, target: &RetargetedFace, out: &mut [u8]) -> WarpStats {
        let (w, h) = (self.portrait.width as usize, self.portrait.height as usize);
        let tex = Texture {
            width: w,
            height: h,
            rgba: &self.portrait.rgba,
            px: &self.texels,
        };
        let mut stats = WarpStats::default();
        let mut covered = vec![false; w * h];
        let mut dst: Vec<[f32; 2]> = Vec::with_capacity(self.mesh.src.len());
        let motion = target.motion;
        let src_points = &self.rig.landmarks;
        self.mesh.targets(
            &target.points,
            |i| {
                if motion.is_identity() {
                    [src_points[i][0], src_points[i][1]]
                } else {
                    let p = motion.move_point(src_points[i]);
                    [p[0], p[1]]
                }
            },
            &mut dst,
        );
        let src = &self.mesh.src;

        let drawn = std::cell::Cell::new(0usize);
        let skin = |t: [u32; 3], out: &mut [u8], covered: &mut [bool]| {
            let to = t.map(|i| dst[i as usize]);
            let from = t.map(|i| src[i as usize]);
            let Some(m) = affine(to, from) else {
                return;
            };
            rasterize(to, w, h, |y, x0, x1| {
                tex.sample_span(&m, y, x0, x1, out, w);
                drawn.set(drawn.get() + x1 + 1 - x0);
                covered[y * w + x0..=y * w + x1].fill(true);
            });
        };
        for t in &self.mesh.outer {
            skin(*t, out, &mut covered);
        }

        // The face, far to near; each eye and the mouth as one item at its depth.
        enum Item {
            Skin([u32; 3]),
            Eye(usize),
            Mouth,
        }
        let z = |i: usize| target.points[i][2];
        let mut items: Vec<(f32, Item)> = triangles()
            .iter()
            .map(|t| {
                let t = t.map(u32::from);
                (
                    (z(t[0] as usize) + z(t[1] as usize) + z(t[2] as usize)) / 3.0,
                    Item::Skin(t),
                )
            })
            .collect();
        let ring_depth =
            |ring: &[usize]| ring.iter().map(|&i| z(i)).sum::<f32>() / ring.len() as f32;
        items.push((ring_depth(&RIGHT_EYE), Item::Eye(0)));
        items.push((ring_depth(&LEFT_EYE), Item::Eye(1)));
        items.push((ring_depth(&INNER_LIPS), Item::Mouth));
        items.sort_by(|a, b| b.0.total_cmp(&a.0));

        let mouth_frame = MouthFrame::new(&target.points);
        // Each eye's target pixels map back to the portrait by the similarity of its corners (the eyeball
        // moves rigidly with them): used by the eye layer and by the closing lids.
        let to_source = [0, 1].map(|side| {
            let ring = eye_ring(side);
            let corners = [ring[0], ring[8]].map(|i| [target.points[i][0], target.points[i][1]]);
            Similarity::new(corners, self.eyes[side].corners)
        });
        for (_, item) in items {
            match item {
                Item::Skin(t) => skin(t, out, &mut covered),
                Item::Eye(side) => {
                    let poly: Vec<[f32; 2]> = eye_ring(side)
                        .iter()
                        .map(|&i| [target.points[i][0], target.points[i][1]])
                        .collect();
                    let eye = &self.eyes[side];
                    let mut top: Vec<[f32; 2]> = poly[8..].to_vec();
                    top.push(poly[0]);
                    top.sort_by(|a, b| a[0].total_cmp(&b[0]));
                    fan(&poly, w, h, |y, x0, x1| {
                        eye.shade_span(
                            &tex,
                            &to_source[side],
                            target.gaze_shift[side],
                            &top,
                            y,
                            x0,
                            x1,
                            out,
                            w,
                        );
                        covered[y * w + x0..=y * w + x1].fill(true);
                        stats.eye_pixels += x1 + 1 - x0;
                    });
                }
                Item::Mouth => {
                    let poly: Vec<[f32; 2]> = INNER_LIPS
                        .iter()
                        .map(|&i| [target.points[i][0], target.points[i][1]])
                        .collect();
                    fan(&poly, w, h, |y, x0, x1| {
                        self.mouth.shade_span(&mouth_frame, y, x0, x1, out, w);
                        covered[y * w + x0..=y * w + x1].fill(true);
                        stats.mouth_pixels += x1 + 1 - x0;
                    });
                }
            }
        }
        // Closing lids: lid skin over the eye, not a smear of lashes.
        for (side, eye) in self.eyes.iter().enumerate() {
            eye.draw_closing_lid(&tex, &to_source[side], &target.points, side, out, w, h);
        }
        stats.skin_pixels = drawn.get();
        // Anything left (only where the mesh folds over itself) shows the portrait.
        if let Some(first) = covered.iter().position(|c| !c) {
            for (i, c) in covered.iter().enumerate().skip(first) {
                if !c {
                    stats.uncovered += 1;
                    out[i * 4..i * 4 + 4].copy_from_slice(&self.portrait.rgba[i * 4..i * 4 + 4]);
                }
            }
        }
        stats
    }
}

/// Widens each eye opening by a pixel or two across (upper lid up, lower lid down). Landmarks sit on the
/// lid edges to within a pixel or so; a slightly larger opening puts all of the white of the eye in the eye
/// layer, so none of it is left on the lid skin that covers the eye in a blink.
fn open_eye_rings(rig: &mut PortraitRig) {
    for side in 0..2 {
        let ring = eye_ring(side);
        let corners = [ring[0], ring[8]].map(|i| [rig.landmarks[i][0], rig.landmarks[i][1]]);
        let frame = SegmentFrame::eye(corners, side);
        let n = frame.normal();
        let delta = (0.07 * frame.width).clamp(0.5, 4.0);
        for (k, &i) in ring.iter().enumerate() {
            // Lower lid: 1..8, upper lid: 9..16; the corners stay.
            let sign = match k {
                1..=7 => 1.5,
                9..=15 => -1.0,
                _ => 0.0,
            };
            // Less towards the corners.
            let along = if k < 8 {
                k as f32 / 8.0
            } else {
                (16 - k) as f32 / 8.0
            };
            let taper = (std::f32::consts::PI * along).sin();
            let p = &mut rig.landmarks[i];
            p[0] += sign * delta * taper * n[0];
            p[1] += sign * delta * taper * n[1];
        }
    }
}

/// Rasterises a ring polygon as a fan around its centroid.
fn fan(poly: &[[f32; 2]], w: usize, h: usize, mut span: impl FnMut(usize, usize, usize)) {
    let n = poly.len() as f32;
    let c = poly
        .iter()
        .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
    for k in 0..poly.len() {
        rasterize([c, poly[k], poly[(k + 1) % poly.len()]], w, h, &mut span);
    }
}

/// Where the renderer finds the face models to rig portraits that have no rig.
#[derive(Clone, Debug, Default)]
pub enum TrackerSource {
    /// `assets/models` found by [`default_models_dir`] (where `make setup` puts the models).
    #[default]
    Auto,
    /// The four models in this folder.
    Dir(PathBuf),
    /// Never track: portraits need a rig given with the head or a sidecar.
    None,
}

struct CacheEntry {
    portraits: Vec<Weak<PortraitImage>>,
    /// The rigs given with the head (`None`: sidecar or tracker), so an edited rig prepares anew.
    rigs: Vec<Option<Weak<PortraitRig>>>,
    prepared: Arc<PreparedHead>,
}

/// The default renderer: a piecewise-affine warp of the portrait along the face mesh, with eye and mouth
/// layers, driven by the [`ExpressionRig`]'s shapes. Portraits are rigged once (their rig comes with the
/// head, from a `<portrait>.rig.json` sidecar, or from the face tracker, which then writes the sidecar).
pub struct MeshWarpRenderer {
    expressions: Arc<ExpressionRig>,
    tracker_source: TrackerSource,
    session_options: SessionOptions,
    write_sidecars: bool,
    tracker: OnceLock<std::result::Result<Arc<FaceTracker>, String>>,
    cache: Mutex<Vec<CacheEntry>>,
}

impl std::fmt::Debug for MeshWarpRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshWarpRenderer")
            .field("tracker_source", &self.tracker_source)
            .finish_non_exhaustive()
    }
}

impl Default for MeshWarpRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl MeshWarpRenderer {
    /// The built-in expression shapes; portraits without a rig are tracked with the models `make setup`
    /// converts.
    pub fn new() -> Self {
        Self {
            expressions: Arc::new(ExpressionRig::default()),
            tracker_source: TrackerSource::Auto,
            session_options: SessionOptions::default(),
            write_sidecars: true,
            tracker: OnceLock::new(),
            cache: Mutex::new(Vec::new()),
        }
    }

    /// Builder: your own expression shapes.
    pub fn with_expressions(mut self, expressions: ExpressionRig) -> Self {
        self.expressions = Arc::new(expressions);
        self
    }

    /// Builder: where the face models are.
    pub fn with_tracker(mut self, source: TrackerSource, options: SessionOptions) -> Self {
        self.tracker_source = source;
        self.session_options = options;
        self
    }

    /// Builder: write `<portrait>.rig.json` after tracking a portrait that is a file (default: yes).
    pub fn with_sidecars(mut self, write: bool) -> Self {
        self.write_sidecars = write;
        self
    }

    /// A ready tracker (an already loaded one).
    pub fn with_face_tracker(self, tracker: Arc<FaceTracker>) -> Self {
        let _ = self.tracker.set(Ok(tracker));
        self
    }

    fn tracker(&self) -> Result<Arc<FaceTracker>> {
        self.tracker
            .get_or_init(|| {
                let dir = match &self.tracker_source {
                    TrackerSource::None => {
                        return Err("face tracking is off for this renderer".to_owned());
                    }
                    TrackerSource::Dir(d) => d.clone(),
                    TrackerSource::Auto => default_models_dir(),
                };
                FaceTracker::from_dir(&dir, &self.session_options)
                    .map(Arc::new)
                    .map_err(|e| {
                        format!(
                            "{e}. The face models come from `make setup` (or `python3 models/setup.py`) \
                             in the bevy_talking_head repository; point TalkingHeadPlugin::models_dir at \
                             the folder holding them, or give the head its rig (TalkingHead::with_rigs)"
                        )
                    })
            })
            .clone()
            .map_err(|message| Error::Render {
                renderer: "mesh_warp".into(),
                message: format!("cannot rig the portrait: {message}"),
            })
    }

    /// The rig of one portrait: given, else its sidecar, else tracked (and saved as the sidecar).
    fn rig_for(
        &self,
        image: &PortraitImage,
        given: Option<&Arc<PortraitRig>>,
        file: Option<&Path>,
    ) -> Result<PortraitRig> {
        if let Some(rig) = given {
            return Ok(PortraitRig::clone(rig));
        }
        // The file's own size (read from its header once): the sidecar belongs to it.
        let file_size = file.and_then(|f| image_size(f).ok()).map(|(w, h)| [w, h]);
        if let Some(file) = file
            && let Some(rig) = PortraitRig::load_sidecar(file, file_size)?
        {
            return Ok(rig);
        }
        let tracker = self.tracker()?;
        let label = file.map_or_else(|| "<portrait>".to_owned(), |f| f.display().to_string());
        let view = ImageView::new(image.width, image.height, 4, &image.rgba, &label)?;
        let rig = PortraitRig::build(&tracker, &view, &label)?;
        if self.write_sidecars
            && let (Some(file), Some(size)) = (file, file_size)
        {
            // The rig was made at output size; the sidecar is in the file's pixels.
            if let Err(e) = rig.scaled_to(size).save(&sidecar_path(file)) {
                bevy::log::debug!("not caching the portrait rig: {e}");
            }
        }
        Ok(rig)
    }

    /// The prepared head for these portraits (and given rigs), from the cache or made now.
    pub fn prepare(&self, request: &RenderRequest<'_>) -> Result<Arc<PreparedHead>> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.retain(|e| {
                e.portraits.iter().all(|p| p.strong_count() > 0)
                    && e.rigs.iter().flatten().all(|r| r.strong_count() > 0)
            });
            let given = given_rigs(request);
            if let Some(e) = cache.iter().find(|e| {
                super::same_portraits(&e.portraits, request.portraits)
                    && e.rigs.len() == given.len()
                    && e.rigs.iter().zip(&given).all(|(a, b)| match (a, b) {
                        (None, None) => true,
                        (Some(a), Some(b)) => Weak::ptr_eq(a, b),
                        _ => false,
                    })
            }) {
                return Ok(e.prepared.clone());
            }
        }
        // Each portrait with its rig; the main one must have one, references without one are left out
        // (with their image, so the rest stay paired).
        let mut usable = Vec::new();
        let mut rigs = Vec::new();
        for (i, image) in request.portraits.iter().enumerate() {
            let given = request.rigs.get(i).and_then(|r| r.as_ref());
            let file = request.portrait_files.get(i).and_then(|f| f.as_deref());
            match self.rig_for(image, given, file) {
                Ok(r) => {
                    usable.push(image.clone());
                    rigs.push(r);
                }
                Err(e) if i == 0 => return Err(e),
                Err(e) => {
                    bevy::log::warn!("few-shot reference {i} left out: {e}");
                }
            }
        }
        let prepared = Arc::new(PreparedHead::new(&usable, &rigs, &self.expressions)?);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.push(CacheEntry {
            portraits: request.portraits.iter().map(Arc::downgrade).collect(),
            rigs: given_rigs(request),
            prepared: prepared.clone(),
        });
        Ok(prepared)
    }
}

fn image_size(file: &Path) -> std::io::Result<(u32, u32)> {
    // Only the header is needed; the image crate is not a dependency, so read PNG and JPEG sizes by hand.
    let bytes = std::fs::read(file)?;
    header_size(&bytes).ok_or_else(|| std::io::Error::other("unknown image header"))
}

fn header_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.starts_with(b"\x89PNG") && b.len() >= 24 {
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        return Some((w, h));
    }
    if b.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xFF {
                i += 1;
                continue;
            }
            let marker = b[i + 1];
            let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
            if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
                let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
                return Some((w, h));
            }
            i += 2 + len;
        }
    }
    None
}

/// `assets/models` under `BEVY_ASSET_ROOT`, else in the places ONNX Runtime is looked for (the working
/// directory, the executable's folders, this crate's folder): the first that holds the face models.
pub fn default_models_dir() -> PathBuf {
    let roots = std::env::var_os("BEVY_ASSET_ROOT")
        .map(PathBuf::from)
        .into_iter()
        .chain(crate::onnx::setup_roots());
    roots
        .map(|root| root.join("assets/models"))
        .find(|dir| dir.join(crate::tracking::MODEL_FILES[2]).exists())
        .unwrap_or_else(|| PathBuf::from("assets/models"))
}

impl HeadRenderer for MeshWarpRenderer {
    fn name(&self) -> &str {
        "mesh_warp"
    }

    fn render(&self, request: &RenderRequest<'_>, target: &mut RenderTarget<'_>) -> Result<()> {
        let prepared = self.prepare(request)?;
        let p = &prepared.portrait;
        if (p.width, p.height) != (target.width, target.height) {
            return Err(Error::Render {
                renderer: "mesh_warp".into(),
                message: format!(
                    "portrait is {}x{} but the target {}x{}",
                    p.width, p.height, target.width, target.height
                ),
            });
        }
        prepared.render(request.face, target.rgba);
        Ok(())
    }
}

/// The rigs a request gives, one slot per portrait, as weak references (their identity is the cache key).
fn given_rigs(request: &RenderRequest<'_>) -> Vec<Option<Weak<PortraitRig>>> {
    (0..request.portraits.len())
        .map(|i| {
            request
                .rigs
                .get(i)
                .and_then(|r| r.as_ref())
                .map(Arc::downgrade)
        })
        .collect()
}
