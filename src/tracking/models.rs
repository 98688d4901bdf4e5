//! Where the face models come from: a folder of `.onnx` files, or the copies compiled into the crate.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Which landmark models a [`FaceTracker`](super::FaceTracker) loads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrackerModels {
    /// Face Mesh V2 (478 points, irises included) and the blendshape model (52 weights): Google's Face
    /// Landmarker. [`MODEL_FILES`].
    #[default]
    MeshV2,
    /// The older 468-point mesh and the iris model (the expression weights come from
    /// [`FaceAnalyzer`](super::FaceAnalyzer)'s rules). [`MESH_V1_MODEL_FILES`].
    MeshV1,
}

/// File names, in a models folder, of the models [`FaceTracker::from_dir`](super::FaceTracker::from_dir) loads: the two detectors, Face
/// Mesh V2 and the blendshape model.
pub const MODEL_FILES: [&str; 4] = [
    "face_detector.onnx",
    "face_detector_full_range.onnx",
    "face_mesh_v2.onnx",
    "face_blendshapes.onnx",
];

/// File names of the models of [`TrackerModels::MeshV1`]: the two detectors, the 468-point mesh, the iris
/// model.
pub const MESH_V1_MODEL_FILES: [&str; 4] = [
    "face_detector.onnx",
    "face_detector_full_range.onnx",
    "face_landmarks.onnx",
    "iris_landmarks.onnx",
];

/// Where a [`FaceTracker`](super::FaceTracker) loads its models from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaceModels {
    /// A folder holding the files of [`MODEL_FILES`] (or, for [`TrackerModels::MeshV1`],
    /// [`MESH_V1_MODEL_FILES`]): `assets/models` after the repository's `make setup`, or a game's own copy.
    Dir(PathBuf),
    /// The four models of [`MODEL_FILES`] and [`SEGMENTATION_MODEL_FILE`] compiled into the crate
    /// (feature `embedded-models`, on by default; 5.0 MB): the same weights as the converted float32 files, stored as float16, which they
    /// were in MediaPipe's TFLite files, so the landmarks are the same. Without the feature, loading them
    /// is an error that says so.
    Embedded,
}

impl From<PathBuf> for FaceModels {
    fn from(dir: PathBuf) -> Self {
        FaceModels::Dir(dir)
    }
}

impl From<&Path> for FaceModels {
    fn from(dir: &Path) -> Self {
        FaceModels::Dir(dir.to_path_buf())
    }
}

impl std::fmt::Display for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaceModels::Dir(dir) => write!(f, "{}", dir.display()),
            FaceModels::Embedded => f.write_str("the models embedded in bevy_talking_head"),
        }
    }
}

/// What an error about missing face models adds: where the models come from.
pub const MODELS_HINT: &str = "The face models are embedded in bevy_talking_head (feature `embedded-models`, \
     on by default); without it, point TalkingHeadPlugin::models_dir at a folder holding them (the \
     repository's `make setup` converts them into assets/models)";

/// `error` with [`MODELS_HINT`] added when it is about the model files (not when ONNX Runtime itself is
/// missing: its own error says what to do).
pub(crate) fn explain_models_error(error: &Error) -> String {
    match error {
        Error::OnnxRuntimeMissing { .. } | Error::RuntimeFetch { .. } => error.to_string(),
        _ => format!("{error}. {MODELS_HINT}"),
    }
}

/// Whether this build carries the face models (feature `embedded-models`).
pub const EMBEDDED_MODELS: bool = cfg!(feature = "embedded-models");

#[cfg(feature = "embedded-models")]
macro_rules! embedded {
    ($($name:literal),*) => {
        [$(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/embedded/", $name)).as_slice())),*]
    };
}

/// The selfie segmentation model that mattes portraits (`rig::Segmenter`), in the models folder or embedded.
pub const SEGMENTATION_MODEL_FILE: &str = "selfie_segmentation.onnx";

/// The embedded files, by name (made by `models/pack_embedded.py`; set-up checks they equal a fresh pack).
#[cfg(feature = "embedded-models")]
static EMBEDDED: [(&str, &[u8]); 5] = embedded!(
    "face_detector.onnx",
    "face_detector_full_range.onnx",
    "face_mesh_v2.onnx",
    "face_blendshapes.onnx",
    "selfie_segmentation.onnx"
);

impl FaceModels {
    /// The label that names one model of this source in errors and logs.
    pub fn label(&self, name: &str) -> String {
        match self {
            FaceModels::Dir(dir) => dir.join(name).display().to_string(),
            FaceModels::Embedded => format!("<embedded>/{name}"),
        }
    }

    /// Whether every model of `set` is there (the folder holds the files; the crate was built with the
    /// models, for Face Mesh V2's set).
    pub fn has(&self, set: TrackerModels) -> bool {
        let files = files(set);
        match self {
            FaceModels::Dir(dir) => files.iter().all(|f| dir.join(f).is_file()),
            FaceModels::Embedded => EMBEDDED_MODELS && set == TrackerModels::MeshV2,
        }
    }

    /// The bytes of the model file `name`.
    pub fn read(&self, name: &str) -> Result<Cow<'static, [u8]>> {
        match self {
            FaceModels::Dir(dir) => {
                let path = dir.join(name);
                std::fs::read(&path)
                    .map(Cow::Owned)
                    .map_err(|source| Error::ModelIo { path, source })
            }
            FaceModels::Embedded => embedded(name).map(Cow::Borrowed).ok_or_else(|| {
                Error::ModelLoad {
                    path: self.label(name),
                    message: if EMBEDDED_MODELS {
                        format!(
                            "the crate embeds only Face Mesh V2's models ({}) and {SEGMENTATION_MODEL_FILE}; \
                             load the others from a folder",
                            MODEL_FILES.join(", ")
                        )
                    } else {
                        "bevy_talking_head was built without its feature `embedded-models` (on by \
                         default): load the face models from a folder (TalkingHeadPlugin::models_dir)"
                            .into()
                    },
                    source: None,
                }
            }),
        }
    }
}

#[cfg(feature = "embedded-models")]
fn embedded(name: &str) -> Option<&'static [u8]> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

#[cfg(not(feature = "embedded-models"))]
fn embedded(_name: &str) -> Option<&'static [u8]> {
    None
}

pub(super) fn files(set: TrackerModels) -> [&'static str; 4] {
    match set {
        TrackerModels::MeshV2 => MODEL_FILES,
        TrackerModels::MeshV1 => MESH_V1_MODEL_FILES,
    }
}

/// Where the face models are by default: `assets/models` under `BEVY_ASSET_ROOT`, the working directory,
/// the executable's folders or this crate's folder when one holds them ([`default_models_dir`]), else
/// the models embedded in the crate (feature `embedded-models`), else `assets/models` (which then names the
/// missing files in the error).
///
pub fn default_face_models() -> FaceModels {
    match find_models_dir() {
        Some(dir) => FaceModels::Dir(dir),
        None if EMBEDDED_MODELS => FaceModels::Embedded,
        None => FaceModels::Dir(PathBuf::from("assets/models")),
    }
}

/// Where the face models are on disk by default: `assets/models` under `BEVY_ASSET_ROOT`, else in the
/// places ONNX Runtime is looked for (the working directory, the executable's folders, this crate's
/// folder): the first that holds them (`make setup` puts them in the repository's `assets/models`), else
/// `assets/models`. [`default_face_models`] falls back to the embedded models instead.
pub fn default_models_dir() -> PathBuf {
    find_models_dir().unwrap_or_else(|| PathBuf::from("assets/models"))
}

fn find_models_dir() -> Option<PathBuf> {
    std::env::var_os("BEVY_ASSET_ROOT")
        .map(PathBuf::from)
        .into_iter()
        .chain(crate::onnx::setup_roots())
        .map(|root| root.join("assets/models"))
        .find(|dir| dir.join(MODEL_FILES[2]).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_names_its_files_and_a_missing_file_is_an_io_error_naming_it() {
        let models = FaceModels::Dir(PathBuf::from("/nowhere/models"));
        assert_eq!(models.label("a.onnx"), "/nowhere/models/a.onnx");
        assert!(!models.has(TrackerModels::MeshV2));
        match models.read("a.onnx") {
            Err(Error::ModelIo { path, .. }) => {
                assert_eq!(path, Path::new("/nowhere/models/a.onnx"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_embedded_set_is_face_mesh_v2s_and_other_names_are_errors() {
        let e = FaceModels::Embedded;
        assert_eq!(e.has(TrackerModels::MeshV2), EMBEDDED_MODELS);
        assert!(!e.has(TrackerModels::MeshV1));
        for name in MODEL_FILES {
            let got = e.read(name);
            if EMBEDDED_MODELS {
                // A serialized ONNX ModelProto starts with field 1 (ir_version, varint): 0x08.
                let bytes = got.unwrap();
                assert!(bytes.len() > 100_000 && bytes[0] == 0x08, "{name}");
            } else {
                assert!(got.unwrap_err().to_string().contains("embedded-models"));
            }
        }
        let err = e.read("iris_landmarks.onnx").unwrap_err().to_string();
        assert!(err.contains("<embedded>/iris_landmarks.onnx"), "{err}");
    }
}
