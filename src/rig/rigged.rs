//! [`RiggedPortraits`]: a head's portraits with their rigs and the retargeter, made once per portrait set
//! and shared by every head and renderer that shows it.

use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex};

use super::brows::brow_gain;
use super::expressions::ExpressionRig;
use super::matte::Matte;
use super::portrait::PortraitRig;
use super::retarget::{RetargetedFace, Retargeter};
use super::topology::eye_ring;
use crate::error::{Error, Result};
use crate::face::FaceFrame;
use crate::portrait::PortraitImage;

type Prepared = Arc<dyn Any + Send + Sync>;

/// A head's portraits, rigged: the main portrait's rig at output size (checked), every usable portrait
/// with its rig (the few shots), and the [`Retargeter`] that puts a [`FaceFrame`] onto the main portrait.
///
/// Made by the rig stage ([`PortraitRigger`](super::PortraitRigger)) and kept while a head shows these
/// portraits; renderers keep what they derive from it (a warp mesh, an embedding) in it with
/// [`prepared`](Self::prepared), so all of it is freed with the last head.
pub struct RiggedPortraits {
    portrait: Arc<PortraitImage>,
    rig: PortraitRig,
    retargeter: Retargeter,
    shots: Vec<(Arc<PortraitImage>, PortraitRig)>,
    prepared: Mutex<Vec<(TypeId, u64, Prepared)>>,
    warnings: Vec<(String, String)>,
    /// The person and the background drawn still behind it
    /// ([`with_still_background`](Self::with_still_background)).
    still: Option<(Arc<PortraitImage>, Arc<PortraitImage>)>,
}

impl std::fmt::Debug for RiggedPortraits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiggedPortraits")
            .field("portrait", &self.portrait)
            .field("shots", &self.shots.len())
            .finish_non_exhaustive()
    }
}

impl RiggedPortraits {
    /// Rigs `portraits[0]` (with `rigs[0]`, in any size: it is scaled to the portrait) for retargeting;
    /// the other portraits with their rigs are few-shot references. References whose rig is unsound are
    /// left out; the main one must be sound.
    pub fn new(
        portraits: &[Arc<PortraitImage>],
        rigs: &[PortraitRig],
        expressions: &ExpressionRig,
    ) -> Result<Self> {
        let (Some(portrait), Some(rig)) = (portraits.first(), rigs.first()) else {
            return Err(Error::Rig {
                path: "<portrait>".into(),
                problem: "a head needs a portrait and its rig".into(),
            });
        };
        let mut rig = rig.scaled_to([portrait.width, portrait.height]);
        rig.check().map_err(|problem| Error::Rig {
            path: "<portrait>".into(),
            problem,
        })?;
        open_eye_rings(&mut rig);
        // Brows the picture does not draw move further (a raise shows only in the skin around them).
        let retargeter = Retargeter::new(&rig, expressions)
            .with_brow_gain(brow_gain(portrait, &rig, expressions.faint_brow_gain))
            .with_shaded_lids(portrait, &rig.landmarks);
        let shots = portraits
            .iter()
            .zip(rigs)
            .filter_map(|(image, r)| {
                let r = r.scaled_to([image.width, image.height]);
                r.check().is_ok().then(|| (image.clone(), r))
            })
            .collect();
        Ok(Self {
            portrait: portrait.clone(),
            rig,
            retargeter,
            shots,
            prepared: Mutex::new(Vec::new()),
            warnings: Vec::new(),
            still: None,
        })
    }

    /// Keeps the main portrait's background still behind the moving head, by `matte` (the person in
    /// the main portrait, any size: it is scaled). The portrait is split ([`Matte::split`]) into the
    /// person (its alpha the matte) and a plate, the background with the person taken out. The mesh warp
    /// then draws the warped person over the still plate: where the head moves away from, the plate's
    /// fill shows, and the background is never dragged with it. Where nothing moves, the frame is as
    /// before, to within a few levels at the matte's soft edge. Frames stay opaque.
    /// [`portrait`](Self::portrait) stays the whole picture, which other renderers draw as they did
    /// (only the mesh warp keeps the background still).
    pub fn with_still_background(mut self, matte: &Matte) -> Self {
        let (person, plate) = matte.split(&self.portrait);
        // Anything a renderer made from these portraits before was made without it.
        self.prepared = Mutex::new(Vec::new());
        self.still = Some((Arc::new(person), Arc::new(plate)));
        self
    }

    /// With a still background ([`with_still_background`](Self::with_still_background)): the person
    /// (its alpha the matte) and the plate behind it (opaque), both at the main portrait's size.
    pub fn still_layers(&self) -> Option<(&PortraitImage, &PortraitImage)> {
        self.still.as_ref().map(|(p, b)| (p.as_ref(), b.as_ref()))
    }

    /// What rigging found doubtful (a tracked rig that misses the drawn face, [`check_fit`](super::check_fit)):
    /// `(portrait, what and which sidecar to check)`; the rig stage logs them and sends them as warnings
    /// ([`TalkingHeadError`](crate::TalkingHeadError)).
    pub fn warnings(&self) -> &[(String, String)] {
        &self.warnings
    }

    pub(crate) fn set_warnings(&mut self, warnings: Vec<(String, String)>) {
        self.warnings = warnings;
    }

    /// The main portrait, at output size.
    pub fn portrait(&self) -> &Arc<PortraitImage> {
        &self.portrait
    }

    /// The main portrait's rig at output size, its eye openings widened by a pixel or two (see
    /// [`Retargeter`]); retargeted faces move these landmarks.
    pub fn rig(&self) -> &PortraitRig {
        &self.rig
    }

    /// Every portrait whose rig is sound, with that rig in its own pixels; the main portrait first (the
    /// few shots a neural embedder averages, the references a mouth interior is taken from).
    pub fn shots(&self) -> &[(Arc<PortraitImage>, PortraitRig)] {
        &self.shots
    }

    /// The retargeter of the main portrait.
    pub fn retargeter(&self) -> &Retargeter {
        &self.retargeter
    }

    /// Where the face's landmarks go on the main portrait.
    pub fn retarget(&self, face: &FaceFrame) -> RetargetedFace {
        self.retargeter.retarget(face)
    }

    /// What a renderer derives from these portraits, made by `make` the first time it is asked for
    /// (by type and `key`, e.g. one per renderer instance) and kept as long as the portraits are. Errors
    /// are not kept: the next call tries again.
    pub fn prepared<T: Any + Send + Sync>(
        &self,
        key: u64,
        make: impl FnOnce(&Self) -> Result<T>,
    ) -> Result<Arc<T>> {
        let mut prepared = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        let id = TypeId::of::<T>();
        if let Some((_, _, p)) = prepared.iter().find(|(t, k, _)| *t == id && *k == key)
            && let Ok(p) = p.clone().downcast::<T>()
        {
            return Ok(p);
        }
        let made = Arc::new(make(self)?);
        prepared.push((id, key, made.clone()));
        Ok(made)
    }
}

/// Widens each eye opening by a pixel or two across (upper lid up, lower lid down). Landmarks sit on the
/// lid edges to within a pixel or so; a slightly larger opening puts all of the white of the eye in the
/// eye, so none of it is left on the lid skin that covers the eye in a blink.
fn open_eye_rings(rig: &mut PortraitRig) {
    for side in 0..2 {
        let ring = eye_ring(side);
        let corners = [ring[0], ring[8]].map(|i| [rig.landmarks[i][0], rig.landmarks[i][1]]);
        // The unit normal of the corner-to-corner line, towards the chin.
        let d = [corners[1][0] - corners[0][0], corners[1][1] - corners[0][1]];
        let width = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-3);
        let axis = [d[0] / width, d[1] / width];
        let sign = if side == 0 { 1.0 } else { -1.0 };
        let n = [-axis[1] * sign, axis[0] * sign];
        let delta = (0.07 * width).clamp(0.5, 4.0);
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
