//! The portrait rig: what renderers need to know about a still portrait (its 468 landmarks, irises, eye and
//! mouth openings, face oval, mesh triangles), found by the tracker once and kept in a human-readable
//! sidecar file beside the portrait (`<portrait>.rig.json`), which can be edited by hand.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::topology::{FACE_OVAL, INNER_LIPS, LEFT_EYE, RIGHT_EYE, triangles};
use crate::error::{Error, Result};
use crate::face::ExpressionWeights;
use crate::tracking::{FaceTracker, ImageView, TrackedFace, canonical_face};

/// The sidecar format version this crate writes and reads.
pub const RIG_VERSION: u32 = 1;

/// Where a rig came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RigSource {
    /// Found by the face tracker.
    Tracked,
    /// Edited by hand (the editor or a text editor); never overwritten automatically.
    Edited,
    /// A starting point when no face was found: the canonical face in the middle of the image, to move onto
    /// the face by hand.
    Template,
}

/// A portrait's rig, in the portrait's pixels (origin top-left, pixel centres at +0.5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortraitRig {
    /// Sidecar format version ([`RIG_VERSION`]).
    pub version: u32,
    /// Where the rig came from.
    pub source: RigSource,
    /// Size of the portrait it belongs to, `[width, height]`.
    pub image_size: [u32; 2],
    /// The 468 mesh landmarks `[x, y, z]` (z on the same scale, negative towards the viewer).
    pub landmarks: Vec<[f32; 3]>,
    /// Iris centres `[subject's right, subject's left]`, if the iris model ran.
    pub iris: Option<[[f32; 2]; 2]>,
    /// Iris radii in pixels `[right, left]`.
    pub iris_radius: Option<[f32; 2]>,
    /// Tracker confidence that this is a face (1 for hand edits).
    pub presence: f32,
    /// The blendshape model's scores of the portrait's own face (a smiling portrait's `mouthSmile*`
    /// reads high), if the tracker ran it: retargeting with
    /// [`ExpressionRig::relative_to_portrait`](super::ExpressionRig::relative_to_portrait) drives the
    /// face from this expression instead of adding to it. Absent in older sidecars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressions: Option<ExpressionWeights>,
}

/// The sidecar path of a portrait: `face.png` -> `face.png.rig.json`.
pub fn sidecar_path(portrait: &Path) -> PathBuf {
    let mut name = portrait.as_os_str().to_owned();
    name.push(".rig.json");
    PathBuf::from(name)
}

fn rig_error(path: &Path, problem: impl Into<String>) -> Error {
    Error::Rig {
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

impl PortraitRig {
    /// A rig from a tracked face.
    pub fn from_tracked(face: &TrackedFace, image_size: [u32; 2]) -> Self {
        let irises = face.irises();
        let iris = irises.map(|e| e.map(|e| [e[0][0], e[0][1]]));
        let iris_radius = irises.map(|e| {
            e.map(|e| {
                let c = e[0];
                e[1..]
                    .iter()
                    .map(|p| ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt())
                    .sum::<f32>()
                    / 4.0
            })
        });
        Self {
            version: RIG_VERSION,
            source: RigSource::Tracked,
            image_size,
            // The mesh's 468 (Face Mesh V2's irises are in `iris`).
            landmarks: face.landmarks.points.iter().take(468).copied().collect(),
            iris,
            iris_radius,
            presence: face.landmarks.presence,
            expressions: face.blendshapes,
        }
    }

    /// The canonical face scaled into the middle of an image: a template to fix by hand.
    pub fn template(image_size: [u32; 2]) -> Self {
        let scale = image_size[0].min(image_size[1]) as f32 * 0.25;
        let (cx, cy) = (image_size[0] as f32 / 2.0, image_size[1] as f32 * 0.4);
        let landmarks = canonical_face()
            .iter()
            .map(|p| [cx + p[0] * scale, cy + p[1] * scale, p[2] * scale])
            .collect();
        Self {
            version: RIG_VERSION,
            source: RigSource::Template,
            image_size,
            landmarks,
            iris: None,
            iris_radius: None,
            presence: 0.0,
            expressions: None,
        }
    }

    /// Runs the tracker on a portrait. `label` (usually its path) names it in errors.
    pub fn build(tracker: &FaceTracker, image: &ImageView<'_>, label: &str) -> Result<Self> {
        match tracker.detect_still(image)? {
            Some(face) => Ok(Self::from_tracked(&face, [image.width(), image.height()])),
            None => Err(Error::Rig {
                path: label.to_owned(),
                problem: format!(
                    "no face found; put the 468 landmarks in `{}` by hand (start from the template \
                     PortraitRig::template writes) or with the landmark editor",
                    sidecar_path(Path::new(label)).display()
                ),
            }),
        }
    }

    /// The rig of the portrait at `portrait_path` from its sidecar if there is one, else built with
    /// `tracker` and saved as the sidecar. A sidecar for an image of another size is an error (the
    /// portrait changed: delete the sidecar to rebuild it).
    pub fn load_or_build(
        portrait_path: &Path,
        image: &ImageView<'_>,
        tracker: &FaceTracker,
    ) -> Result<Self> {
        let size = [image.width(), image.height()];
        if let Some(rig) = Self::load_sidecar(portrait_path, Some(size))? {
            return Ok(rig);
        }
        let rig = Self::build(tracker, image, &portrait_path.display().to_string())?;
        rig.save(&sidecar_path(portrait_path))?;
        Ok(rig)
    }

    /// The rig in the sidecar of the portrait at `portrait_path`, if it has one. With the portrait's
    /// `image_size`, a sidecar made for another size is an error (the portrait changed: delete the sidecar
    /// to rebuild it).
    pub fn load_sidecar(
        portrait_path: &Path,
        image_size: Option<[u32; 2]>,
    ) -> Result<Option<Self>> {
        let sidecar = sidecar_path(portrait_path);
        if !sidecar.exists() {
            return Ok(None);
        }
        let rig = Self::load(&sidecar)?;
        if let Some([w, h]) = image_size
            && rig.image_size != [w, h]
        {
            return Err(rig_error(
                &sidecar,
                format!(
                    "it was made for a {}x{} image but `{}` is {w}x{h}; delete it to rebuild it",
                    rig.image_size[0],
                    rig.image_size[1],
                    portrait_path.display(),
                ),
            ));
        }
        Ok(Some(rig))
    }

    /// The box `[x0, y0, x1, y1]` around its landmarks, in pixels (the face's box a
    /// [`Segmenter`](super::Segmenter) mattes around).
    pub fn face_box(&self) -> [f32; 4] {
        let (lo, hi) = crate::math::bounds(self.landmarks.iter().map(|p| [p[0], p[1]]));
        [lo[0], lo[1], hi[0], hi[1]]
    }

    /// The rig scaled to an image of `size` (the portrait scaled to another size). Depth scales with x.
    pub fn scaled_to(&self, size: [u32; 2]) -> Self {
        if size == self.image_size {
            return self.clone();
        }
        let sx = size[0] as f32 / self.image_size[0].max(1) as f32;
        let sy = size[1] as f32 / self.image_size[1].max(1) as f32;
        Self {
            image_size: size,
            landmarks: self
                .landmarks
                .iter()
                .map(|p| [p[0] * sx, p[1] * sy, p[2] * sx])
                .collect(),
            iris: self.iris.map(|i| i.map(|p| [p[0] * sx, p[1] * sy])),
            iris_radius: self.iris_radius.map(|r| r.map(|v| v * (sx * sy).sqrt())),
            ..self.clone()
        }
    }

    /// Reads and checks a sidecar file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| rig_error(path, format!("cannot read: {e}")))?;
        let rig: PortraitRig =
            serde_json::from_str(&text).map_err(|e| rig_error(path, e.to_string()))?;
        rig.check().map_err(|problem| rig_error(path, problem))?;
        Ok(rig)
    }

    /// Writes the sidecar (pretty JSON, one landmark a line, to make hand edits easy), atomically: a
    /// temporary file in the same folder, flushed, then renamed over it, so a crash mid-save leaves the
    /// old file, never half of one.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.write(path, crate::files::Replace::Always).map(|_| ())
    }

    /// Writes the sidecar only if no file is there (atomically, as [`save`](Self::save)); returns
    /// whether it wrote. For automatic saves: a sidecar that appeared meanwhile (an editor's save, a
    /// second head rigging the same portrait) is kept.
    pub fn save_if_absent(&self, path: &Path) -> Result<bool> {
        self.write(path, crate::files::Replace::Never)
    }

    fn write(&self, path: &Path, replace: crate::files::Replace) -> Result<bool> {
        self.check().map_err(|problem| rig_error(path, problem))?;
        let json =
            serde_json::to_string_pretty(self).map_err(|e| rig_error(path, e.to_string()))?;
        crate::files::write_atomic(path, json.as_bytes(), replace)
            .map_err(|e| rig_error(path, format!("cannot write: {e}")))
    }

    /// What is wrong with the rig, if anything: version, point count, non-finite or far-out coordinates.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.version != RIG_VERSION {
            return Err(format!(
                "version {} (this crate reads version {RIG_VERSION})",
                self.version
            ));
        }
        let [w, h] = self.image_size;
        if w == 0 || h == 0 {
            return Err(format!("image size {w}x{h} is empty"));
        }
        if self.landmarks.len() != 468 {
            return Err(format!("{} landmarks (468 expected)", self.landmarks.len()));
        }
        let (w, h) = (w as f32, h as f32);
        for (i, p) in self.landmarks.iter().enumerate() {
            if p.iter().any(|v| !v.is_finite()) {
                return Err(format!("landmark {i} is not a finite number: {p:?}"));
            }
            if p[0] < -w || p[0] > 2.0 * w || p[1] < -h || p[1] > 2.0 * h {
                return Err(format!(
                    "landmark {i} {p:?} is far outside the {w}x{h} image"
                ));
            }
        }
        for p in self.iris.iter().flatten() {
            if p.iter().any(|v| !v.is_finite()) {
                return Err(format!("an iris centre is not a finite number: {p:?}"));
            }
        }
        Ok(())
    }

    fn ring(&self, indices: &[usize]) -> Vec<[f32; 2]> {
        indices
            .iter()
            .map(|&i| [self.landmarks[i][0], self.landmarks[i][1]])
            .collect()
    }

    /// The outline of the subject's right eye opening (image left).
    pub fn right_eye_opening(&self) -> Vec<[f32; 2]> {
        self.ring(&RIGHT_EYE)
    }

    /// The outline of the subject's left eye opening (image right).
    pub fn left_eye_opening(&self) -> Vec<[f32; 2]> {
        self.ring(&LEFT_EYE)
    }

    /// The outline of the mouth opening (inner lips).
    pub fn mouth_opening(&self) -> Vec<[f32; 2]> {
        self.ring(&INNER_LIPS)
    }

    /// The face outline.
    pub fn face_oval(&self) -> Vec<[f32; 2]> {
        self.ring(&FACE_OVAL)
    }

    /// The mesh triangles over [`landmarks`](Self::landmarks).
    pub fn triangles(&self) -> &'static [[u16; 3]] {
        triangles()
    }
}
