//! [`PortraitRigger`]: rigs portraits (given rig, else the portrait's sidecar, else the face tracker, which
//! then writes the sidecar) and keeps one cache of rigged portraits, keyed by the portraits' identity and
//! freed when the last head showing them is gone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bevy::asset::AssetId;
use bevy::image::Image;

use super::expressions::ExpressionRig;
use super::fit::refine_fit;
use super::matte::{Matte, Segmenter, matte_path};
use super::portrait::{PortraitRig, sidecar_path};
use super::rigged::RiggedPortraits;
use crate::error::{Error, Result};
use crate::onnx::SessionOptions;
use crate::portrait::PortraitImage;
use crate::tracking::{FaceModels, FaceTracker, ImageView, TrackerModels, default_face_models};

/// Where the rig stage finds the face models to rig portraits that have no rig.
#[derive(Clone, Debug, Default)]
pub enum TrackerSource {
    /// [`default_face_models`]: `assets/models` where `make setup` put them, else the models embedded in
    /// the crate.
    #[default]
    Auto,
    /// The four models in this folder.
    Dir(PathBuf),
    /// Never track: portraits need a rig given with the head or a sidecar.
    None,
}

/// One head's portraits to rig, at its output size.
#[derive(Clone, Debug)]
pub struct RigRequest {
    /// The portraits' assets (their identity in the cache).
    pub ids: Vec<AssetId<Image>>,
    /// The portraits at output size; the first is the main one.
    pub portraits: Vec<Arc<PortraitImage>>,
    /// Rigs given with the head, one slot per portrait (in any size; `None`: sidecar or tracker).
    pub given: Vec<Option<Arc<PortraitRig>>>,
    /// Each portrait's file on disk, where known (for its sidecar).
    pub files: Vec<Option<PathBuf>>,
    /// Cut the main portrait's person out of its background: its [`Matte`] becomes its alpha
    /// ([`TalkingHead::with_cutout`](crate::head::TalkingHead::with_cutout)).
    pub cutout: bool,
    /// Draw the main portrait's background still behind the moving head (with its [`Matte`];
    /// [`TalkingHead::with_still_background`](crate::head::TalkingHead::with_still_background)). A
    /// cut-out head has no background to keep: `cutout` wins.
    pub still_background: bool,
}

impl RigRequest {
    /// Portraits made in code (no asset, no file), with the given rigs.
    pub fn from_images(
        portraits: Vec<Arc<PortraitImage>>,
        given: Vec<Option<Arc<PortraitRig>>>,
    ) -> Self {
        Self {
            ids: (0..portraits.len()).map(|_| AssetId::invalid()).collect(),
            files: vec![None; portraits.len()],
            portraits,
            given,
            cutout: false,
            still_background: false,
        }
    }

    fn size(&self) -> Option<[u32; 2]> {
        self.portraits.first().map(|p| [p.width, p.height])
    }

    fn same_key(&self, entry: &CacheEntry) -> bool {
        let invalid = AssetId::<Image>::invalid();
        self.size() == Some(entry.size)
            && self.cutout == entry.cutout
            && self.still_background == entry.still_background
            && self.ids == entry.ids
            // Portraits made in code have no asset: they are told apart by their pixels' identity.
            && self
                .ids
                .iter()
                .zip(&self.portraits)
                .zip(&entry.images)
                .all(|((id, p), cached)| {
                    *id != invalid || std::ptr::eq(Arc::as_ptr(p), cached.as_ptr())
                })
            && self.given.len() == entry.given.len()
            && self.given.iter().zip(&entry.given).all(|(a, b)| match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => std::ptr::eq(Arc::as_ptr(a), b.as_ptr()),
                _ => false,
            })
    }
}

struct CacheEntry {
    cutout: bool,
    still_background: bool,
    ids: Vec<AssetId<Image>>,
    size: [u32; 2],
    images: Vec<Weak<PortraitImage>>,
    given: Vec<Option<Weak<PortraitRig>>>,
    rigged: Weak<RiggedPortraits>,
}

/// Rigs portraits and caches them. The plugin keeps one ([`Rigger`](super::Rigger)); the cache holds
/// rigged portraits weakly: the heads hold them, and an entry goes with the last head.
pub struct PortraitRigger {
    expressions: Arc<ExpressionRig>,
    tracker_source: TrackerSource,
    session_options: SessionOptions,
    write_sidecars: bool,
    tracker: OnceLock<std::result::Result<Arc<FaceTracker>, String>>,
    segmenter: OnceLock<std::result::Result<Arc<Segmenter>, String>>,
    cache: Mutex<Vec<CacheEntry>>,
}

impl std::fmt::Debug for PortraitRigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortraitRigger")
            .field("tracker_source", &self.tracker_source)
            .field("write_sidecars", &self.write_sidecars)
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}

impl Default for PortraitRigger {
    fn default() -> Self {
        Self::new()
    }
}

impl PortraitRigger {
    /// The built-in expression shapes; portraits without a rig are tracked with the models `make setup`
    /// converts; sidecars are written.
    pub fn new() -> Self {
        Self {
            expressions: Arc::new(ExpressionRig::default()),
            tracker_source: TrackerSource::Auto,
            session_options: SessionOptions::default(),
            write_sidecars: true,
            tracker: OnceLock::new(),
            segmenter: OnceLock::new(),
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

    /// Builder: a ready tracker (an already loaded one).
    pub fn with_face_tracker(self, tracker: Arc<FaceTracker>) -> Self {
        let _ = self.tracker.set(Ok(tracker));
        self
    }

    /// Builder: write `<portrait>.rig.json` after tracking a portrait that is a file (default: yes).
    pub fn with_sidecars(mut self, write: bool) -> Self {
        self.write_sidecars = write;
        self
    }

    /// The expression shapes faces are retargeted with.
    pub fn expressions(&self) -> &ExpressionRig {
        &self.expressions
    }

    /// How many rigged portrait sets are alive in the cache (held by a head or a job).
    pub fn cached(&self) -> usize {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.iter().filter(|e| e.rigged.strong_count() > 0).count()
    }

    /// Drops the entries whose portraits are gone; returns how many are left.
    pub fn prune(&self) -> usize {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|e| e.rigged.strong_count() > 0);
        cache.len()
    }

    /// Forgets the rigs of a portrait whose asset changed (hot reload), so the next request rigs it anew.
    pub fn forget_image(&self, id: AssetId<Image>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|e| !e.ids.contains(&id));
    }

    /// The rigged portraits of `request` if they are cached (cheap: for the main thread).
    pub fn cached_rig(&self, request: &RigRequest) -> Option<Arc<RiggedPortraits>> {
        lookup(
            &self.cache.lock().unwrap_or_else(|e| e.into_inner()),
            request,
        )
    }

    /// The rigged portraits of `request`: cached, or made now (which may run the face tracker: seconds,
    /// so not on the main thread) and cached.
    pub fn rig(&self, request: &RigRequest) -> Result<Arc<RiggedPortraits>> {
        if let Some(r) = self.cached_rig(request) {
            return Ok(r);
        }
        let made = Arc::new(self.rig_uncached(request)?);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // Another thread may have made the same meanwhile: share one.
        if let Some(r) = lookup(&cache, request) {
            return Ok(r);
        }
        cache.retain(|e| e.rigged.strong_count() > 0);
        cache.push(CacheEntry {
            cutout: request.cutout,
            still_background: request.still_background,
            ids: request.ids.clone(),
            size: request.size().unwrap_or_default(),
            images: request.portraits.iter().map(Arc::downgrade).collect(),
            given: request
                .given
                .iter()
                .map(|g| g.as_ref().map(Arc::downgrade))
                .collect(),
            rigged: Arc::downgrade(&made),
        });
        Ok(made)
    }

    fn rig_uncached(&self, request: &RigRequest) -> Result<RiggedPortraits> {
        // Each portrait with its rig; the main one must have one, references without one are left out
        // (with their image, so the rest stay paired).
        let mut usable = Vec::new();
        let mut rigs = Vec::new();
        let mut warnings = Vec::new();
        for (i, image) in request.portraits.iter().enumerate() {
            let given = request.given.get(i).and_then(|r| r.as_ref());
            let file = request.files.get(i).and_then(|f| f.as_deref());
            match self.rig_for(image, given, file, &mut warnings) {
                Ok(r) => {
                    usable.push(image.clone());
                    rigs.push(r);
                }
                Err(e) if i == 0 => return Err(e),
                Err(e) => bevy::log::warn!("few-shot reference {i} left out: {e}"),
            }
        }
        let file = request.files.first().and_then(|f| f.as_deref());
        let mut still = None;
        if let (Some(image), Some(rig)) = (usable.first_mut(), rigs.first()) {
            if request.cutout {
                let matte = self.matte(image, rig, file, "no cut-out (shown whole)", &mut warnings);
                if let Some(matte) = matte {
                    *image = Arc::new(matte.apply(image));
                }
            } else if request.still_background {
                let without = "no still background (it moves with the head)";
                if image.rgba.chunks_exact(4).any(|px| px[3] < 255) {
                    // A picture with its own transparency keeps it: a plate would show its hidden colours.
                    warnings.push((
                        file.map_or_else(|| "<portrait>".to_owned(), |f| f.display().to_string()),
                        format!("{without}: the picture is transparent in places already"),
                    ));
                } else {
                    still = self.matte(image, rig, file, without, &mut warnings);
                }
            }
        }
        let label = request
            .files
            .first()
            .cloned()
            .flatten()
            .map_or_else(|| "<portrait>".to_owned(), |f| f.display().to_string());
        let mut rigged =
            RiggedPortraits::new(&usable, &rigs, &self.expressions).map_err(|e| match e {
                Error::Rig { problem, .. } => Error::Rig {
                    path: label.clone(),
                    problem,
                },
                e => e,
            })?;
        if let Some(matte) = still {
            rigged = rigged.with_still_background(&matte);
        }
        let gain = rigged.retargeter().brow_gain();
        if gain > 1.0 {
            bevy::log::info!(
                "{label}: its brows are not drawn (or barely): raised brows move {gain:.2}x as far \
                 (ExpressionRig::faint_brow_gain)"
            );
        }
        rigged.set_warnings(warnings);
        Ok(rigged)
    }

    fn tracker(&self) -> Result<Arc<FaceTracker>> {
        self.tracker
            .get_or_init(|| {
                let models = match &self.tracker_source {
                    TrackerSource::None => {
                        return Err("face tracking is off for this rigger".to_owned());
                    }
                    TrackerSource::Dir(d) => FaceModels::Dir(d.clone()),
                    TrackerSource::Auto => default_face_models(),
                };
                FaceTracker::load(&models, &self.session_options, TrackerModels::MeshV2)
                    .map(Arc::new)
                    .map_err(|e| {
                        format!(
                            "{}; or give the head its rig (TalkingHead::with_rigs)",
                            crate::tracking::explain_models_error(&e)
                        )
                    })
            })
            .clone()
            .map_err(|message| Error::Rig {
                path: "<portrait>".into(),
                problem: format!("cannot rig the portrait: {message}"),
            })
    }

    /// The segmentation model, loaded once from where the tracker's models are.
    fn segmenter(&self) -> std::result::Result<Arc<Segmenter>, String> {
        self.segmenter
            .get_or_init(|| {
                let models = match &self.tracker_source {
                    TrackerSource::Dir(d) => FaceModels::Dir(d.clone()),
                    TrackerSource::Auto | TrackerSource::None => default_face_models(),
                };
                Segmenter::load(&models, &self.session_options)
                    .map(Arc::new)
                    .map_err(|e| crate::tracking::explain_models_error(&e))
            })
            .clone()
    }

    /// The person's matte of `image`: the matte beside the file if there is one that fits it, else made
    /// by the segmentation model from the file at its own resolution (or from `image`, without a file)
    /// and saved beside the file. Without a person, or without the model, `None`, and a warning that
    /// starts with `without` (what the head does instead) says why.
    fn matte(
        &self,
        image: &PortraitImage,
        rig: &PortraitRig,
        file: Option<&Path>,
        without: &str,
        warnings: &mut Vec<(String, String)>,
    ) -> Option<Matte> {
        let label = file.map_or_else(|| "<portrait>".to_owned(), |f| f.display().to_string());
        let file_size = file.and_then(|f| image_file_size(f).ok());
        // Whether a matte file must be (re)written: none, or one that does not fit the picture.
        let mut write = true;
        if let Some(file) = file {
            let path = matte_path(file);
            match Matte::load(&path) {
                Ok(Some(matte)) if Some([matte.width, matte.height]) == file_size => {
                    return Some(matte);
                }
                Ok(Some(matte)) => warnings.push((
                    label.clone(),
                    format!(
                        "`{}` is {}x{} but the portrait {}; making a new matte",
                        path.display(),
                        matte.width,
                        matte.height,
                        file_size
                            .map_or_else(|| "unreadable".to_owned(), |[w, h]| format!("{w}x{h}"))
                    ),
                )),
                Ok(None) => {}
                Err(e) => warnings.push((label.clone(), format!("{e}; making a new one"))),
            }
        } else {
            write = false;
        }
        let segmenter = match self.segmenter() {
            Ok(s) => s,
            Err(e) => {
                warnings.push((label, format!("{without}: {e}")));
                return None;
            }
        };
        // The picture at its own resolution (the matte is kept for every head size), at most 2048 px.
        let full = file
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| PortraitImage::decode(&bytes, &label).ok())
            .map(|p| {
                let k = (2048.0 / p.width.max(p.height) as f32).min(1.0);
                if k < 1.0 {
                    p.resized((p.width as f32 * k) as u32, (p.height as f32 * k) as u32)
                } else {
                    p
                }
            });
        let source = full.as_ref().unwrap_or(image);
        let rig = rig.scaled_to([source.width, source.height]);
        let (matte, report) = match segmenter.matte(source, rig.face_box()) {
            Ok(m) => m,
            Err(e) => {
                warnings.push((label, format!("{without}: {e}")));
                return None;
            }
        };
        if !report.person {
            warnings.push((
                label.clone(),
                format!(
                    "{without}: no person found (the segmentation sees {:.0} % of the face). Paint a \
                     matte (white: the person) and save it as `{}`",
                    100.0 * report.face_alpha,
                    file.map_or_else(
                        || "<file>.matte.png".to_owned(),
                        |f| matte_path(f).display().to_string()
                    )
                ),
            ));
            return None;
        }
        if write
            && self.write_sidecars
            && let (Some(file), Some([w, h])) = (file, file_size)
            && let Err(e) = matte.resized(w, h).save(&matte_path(file))
        {
            bevy::log::debug!("not keeping the matte: {e}");
        }
        Some(matte)
    }

    /// The rig of one portrait: given, else its sidecar, else tracked (and saved as the sidecar).
    fn rig_for(
        &self,
        image: &PortraitImage,
        given: Option<&Arc<PortraitRig>>,
        file: Option<&Path>,
        warnings: &mut Vec<(String, String)>,
    ) -> Result<PortraitRig> {
        if let Some(rig) = given {
            return Ok(PortraitRig::clone(rig));
        }
        // The file's own size (read from its header): the sidecar belongs to it.
        let file_size = file.and_then(|f| image_file_size(f).ok());
        if let Some(file) = file
            && let Some(rig) = PortraitRig::load_sidecar(file, file_size)?
        {
            return Ok(rig);
        }
        let tracker = self.tracker()?;
        let label = file.map_or_else(|| "<portrait>".to_owned(), |f| f.display().to_string());
        let view = ImageView::new(image.width, image.height, 4, &image.rgba, &label)?;
        let mut rig = PortraitRig::build(&tracker, &view, &label)?;
        // The tracker learnt photographs: on stylised art its lips can miss the drawn mouth.
        let fit = refine_fit(image, &mut rig);
        if !fit.is_good() {
            let fix = match file {
                Some(f) => format!(
                    "check the rig in the landmark editor (examples/landmark_editor.rs) and save `{}`",
                    sidecar_path(f).display()
                ),
                None => "give the head a rig fixed by hand (TalkingHead::with_rigs)".to_owned(),
            };
            warnings.push((label.clone(), format!("{}; {fix}", fit.problems.join("; "))));
        }
        if self.write_sidecars
            && let (Some(file), Some(size)) = (file, file_size)
        {
            // The rig was made at output size; the sidecar is in the file's pixels. Tracking took a
            // while: a sidecar saved meanwhile (the editor, another head) wins over this automatic one.
            match rig.scaled_to(size).save_if_absent(&sidecar_path(file)) {
                Ok(true) => {}
                Ok(false) => bevy::log::debug!(
                    "`{}` appeared while the portrait was tracked; kept it",
                    sidecar_path(file).display()
                ),
                Err(e) => bevy::log::debug!("not caching the portrait rig: {e}"),
            }
        }
        Ok(rig)
    }
}

/// The live rigged portraits of `request` in `cache`.
fn lookup(cache: &[CacheEntry], request: &RigRequest) -> Option<Arc<RiggedPortraits>> {
    cache
        .iter()
        .filter(|e| request.same_key(e))
        .find_map(|e| e.rigged.upgrade())
}

/// The pixel size of a PNG or JPEG file, from its header.
pub(crate) fn image_file_size(file: &Path) -> std::io::Result<[u32; 2]> {
    let bytes = std::fs::read(file)?;
    header_size(&bytes).ok_or_else(|| std::io::Error::other("unknown image header"))
}

/// Width and height from a PNG or JPEG header (the image crate is not a dependency of the library).
fn header_size(b: &[u8]) -> Option<[u32; 2]> {
    if b.starts_with(b"\x89PNG") && b.len() >= 24 {
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        return Some([w, h]);
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
                return Some([w, h]);
            }
            i += 2 + len;
        }
    }
    None
}
