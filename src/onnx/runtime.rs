//! Finding and loading ONNX Runtime once per process.
//!
//! ONNX Runtime allows one environment per process for its whole life, so the first successful
//! initialisation wins and every later one (a second App, every test) shares it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use super::library::{ONNXRUNTIME_VERSION, library_file_name};
use crate::error::{Error, Result};

/// Where `make setup` puts the library, relative to the repository (or game) root.
pub const SETUP_LIBRARY_DIR: &str = "models/onnxruntime";

/// An execution provider for ONNX Runtime. The GPU ones need the crate feature of the same name and an
/// ONNX Runtime build that has them (e.g. the PyPI wheel `onnxruntime-gpu`); when one fails to register,
/// ONNX Runtime falls back to the CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecutionProvider {
    /// The default CPU provider.
    Cpu,
    /// NVIDIA CUDA (feature `cuda`).
    #[cfg(feature = "cuda")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cuda")))]
    Cuda {
        /// GPU index.
        device_id: i32,
    },
    /// NVIDIA TensorRT (feature `tensorrt`).
    #[cfg(feature = "tensorrt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tensorrt")))]
    TensorRt {
        /// GPU index.
        device_id: i32,
    },
    /// DirectML on Windows (feature `directml`).
    #[cfg(feature = "directml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "directml")))]
    DirectMl {
        /// Adapter index.
        device_id: i32,
    },
    /// Apple CoreML (feature `coreml`).
    #[cfg(feature = "coreml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "coreml")))]
    CoreMl,
}

impl ExecutionProvider {
    pub(crate) fn dispatch(&self) -> ort::ep::ExecutionProviderDispatch {
        match self {
            ExecutionProvider::Cpu => ort::ep::CPU::default().build(),
            #[cfg(feature = "cuda")]
            ExecutionProvider::Cuda { device_id } => {
                ort::ep::CUDA::default().with_device_id(*device_id).build()
            }
            #[cfg(feature = "tensorrt")]
            ExecutionProvider::TensorRt { device_id } => ort::ep::TensorRT::default()
                .with_device_id(*device_id)
                .build(),
            #[cfg(feature = "directml")]
            ExecutionProvider::DirectMl { device_id } => ort::ep::DirectML::default()
                .with_device_id(*device_id)
                .build(),
            #[cfg(feature = "coreml")]
            ExecutionProvider::CoreMl => ort::ep::CoreML::default().build(),
        }
    }
}

/// How sessions are created: execution providers (tried in order, CPU last) and threads per session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    /// Execution providers in order of preference. Empty means CPU.
    pub execution_providers: Vec<ExecutionProvider>,
    /// Threads ONNX Runtime may use inside one model run. 1 suits the worker pool, which already runs one
    /// job per worker thread.
    pub intra_threads: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            execution_providers: Vec::new(),
            intra_threads: 1,
        }
    }
}

/// The loaded ONNX Runtime: its environment and where the library came from.
pub struct OnnxRuntime {
    environment: Environment,
    library: PathBuf,
}

impl std::fmt::Debug for OnnxRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxRuntime")
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

impl OnnxRuntime {
    /// The ONNX Runtime environment, for building sessions.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The shared library that was loaded.
    pub fn library(&self) -> &Path {
        &self.library
    }
}

static RUNTIME: OnceLock<OnnxRuntime> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// The process-wide ONNX Runtime, loading it on first use from `explicit`, `ORT_DYLIB_PATH` or the
/// set-up location (see [`library_candidates`]); with the feature `fetch-runtime` and none of those, from
/// PyPI's wheel, fetched into the cache folder on first use (`fetch::fetch_onnx_runtime`; this call then
/// blocks while it downloads).
///
/// Once loaded, later calls return the same runtime whatever path they pass. A failure is not cached: a
/// later call (after `make setup`, say) tries again.
pub fn onnx_runtime(explicit: Option<&Path>) -> Result<&'static OnnxRuntime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let candidates = library_candidates(explicit);
    let searched = candidates
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let missing = |reason: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
        Error::OnnxRuntimeMissing {
            reason,
            version: ONNXRUNTIME_VERSION,
            searched: searched.clone(),
            source,
        }
    };
    let library = match candidates.iter().find(|p| p.is_file()) {
        Some(found) => found.clone(),
        None => fetch_fallback(explicit).map_err(|reason| missing(reason, None))?,
    };
    let environment = ort::init_from(&library)
        .map_err(|e| {
            let reason = format!("loading `{}` failed: {e}", library.display());
            missing(reason, Some(Box::new(e)))
        })?
        .with_name("bevy_talking_head")
        .build()
        .map_err(|e| {
            let reason = format!(
                "creating the environment from `{}` failed: {e}",
                library.display()
            );
            missing(reason, Some(Box::new(e)))
        })?;
    Ok(RUNTIME.get_or_init(|| OnnxRuntime {
        environment,
        library,
    }))
}

/// Without a library on disk: with the feature `fetch-runtime` (and neither an explicit path nor
/// `ORT_DYLIB_PATH`), the library fetched from PyPI into the cache folder; else why not.
fn fetch_fallback(explicit: Option<&Path>) -> std::result::Result<PathBuf, String> {
    let none = "no ONNX Runtime library file found";
    #[cfg(feature = "fetch-runtime")]
    if pinned_library(explicit).is_none() {
        return super::fetch::fetch_onnx_runtime(&super::fetch::fetch_options())
            .map_err(|e| format!("{none}, and {e}"));
    }
    let _ = explicit;
    Err(none.into())
}

/// Whether loading ONNX Runtime now would download it first (feature `fetch-runtime`, nothing on disk
/// nor in the cache): the plugin then loads it on a thread of its own, not while the app is built.
pub(crate) fn would_fetch(explicit: Option<&Path>) -> bool {
    #[cfg(feature = "fetch-runtime")]
    if RUNTIME.get().is_none()
        && pinned_library(explicit).is_none()
        && !library_candidates(None).iter().any(|p| p.is_file())
    {
        return super::fetch::fetch_options().cached_library().is_none();
    }
    let _ = explicit;
    false
}

/// The one library to load when the caller or `ORT_DYLIB_PATH` names it (nothing else is then tried).
fn pinned_library(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("ORT_DYLIB_PATH")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    })
}

/// The files tried, in order. An explicit path, or else `$ORT_DYLIB_PATH`, is the only candidate when
/// given (a wrong path is an error, not a silent fallback). Otherwise only the executable's own folder
/// (`<exe dir>/<lib>`, then `<exe dir>/models/onnxruntime/<lib>`: how a shipped game carries it) and the
/// set-up location in this crate's folder (`models/onnxruntime/<lib>`, where `make setup` puts it).
///
/// Never the working directory nor the executable's parent folders: a native library is code, and a
/// library planted in a download folder or a shared parent folder would run inside the game.
pub fn library_candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = pinned_library(explicit) {
        return vec![p];
    }
    let file = library_file_name();
    let mut out: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        out.push(dir.join(file));
        out.push(dir.join(SETUP_LIBRARY_DIR).join(file));
    }
    let setup = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(SETUP_LIBRARY_DIR)
        .join(file);
    if !out.contains(&setup) {
        out.push(setup);
    }
    out
}

/// Where the face models (data, not code) are looked for, in order and without repeats: the working
/// directory, the executable's four nearest parent folders (`target/<profile>/examples/..` up to the
/// repository), and this crate's folder. ONNX Runtime itself is looked for in fewer places
/// ([`library_candidates`]).
pub(crate) fn setup_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(4).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut out: Vec<PathBuf> = Vec::new();
    for root in roots {
        if !out.contains(&root) {
            out.push(root);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_is_the_only_candidate_else_the_setup_location_is_searched() {
        let c = library_candidates(Some(Path::new("/nowhere/libonnxruntime.so")));
        assert_eq!(c, [Path::new("/nowhere/libonnxruntime.so")]);
        if std::env::var_os("ORT_DYLIB_PATH").is_none() {
            let setup = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(SETUP_LIBRARY_DIR)
                .join(library_file_name());
            assert!(library_candidates(None).contains(&setup));
        }
    }

    #[test]
    fn the_library_is_never_looked_for_in_the_working_directory_or_parent_folders() {
        if std::env::var_os("ORT_DYLIB_PATH").is_some() {
            return;
        }
        let exe_dir = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        let setup = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(SETUP_LIBRARY_DIR)
            .join(library_file_name());
        let candidates = library_candidates(None);
        for c in &candidates {
            assert!(
                c.starts_with(&exe_dir) || *c == setup,
                "{} is neither beside the executable nor the set-up location: {candidates:?}",
                c.display()
            );
        }
        // Beside the executable: the folder itself, or its models/onnxruntime, nothing further up.
        for c in candidates.iter().filter(|c| c.starts_with(&exe_dir)) {
            let rest = c.strip_prefix(&exe_dir).unwrap();
            assert!(
                rest == Path::new(library_file_name())
                    || rest == Path::new(SETUP_LIBRARY_DIR).join(library_file_name()),
                "{}",
                c.display()
            );
        }
        assert!(candidates.contains(&setup));
        assert!(candidates.len() <= 3, "{candidates:?}");
    }

    #[test]
    fn missing_library_error_names_the_setup_command() {
        // Only meaningful before the runtime is loaded in this process; the error text is what matters.
        let e = Error::OnnxRuntimeMissing {
            reason: "x".into(),
            version: ONNXRUNTIME_VERSION,
            searched: "/a".into(),
            source: None,
        };
        let msg = e.to_string();
        assert!(
            msg.contains("make setup") && msg.contains("ORT_DYLIB_PATH") && msg.contains("1.31.1"),
            "{msg}"
        );
    }
}
