//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `bevy_talking_head`. Systems never panic on these: they log them, send
/// them as [`TalkingHeadError`](crate::TalkingHeadError) messages and keep the head on its still portrait.
///
/// Where ONNX Runtime failed, its error is kept as the [`source`](std::error::Error::source) (boxed, so
/// that this type does not change with `ort`, pinned while it is a release candidate): downcast it with
/// `downcast_ref::<ort::Error>()` to read, say, its `ort::ErrorCode`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error(
        "ONNX Runtime is not available: {reason}. Set ORT_DYLIB_PATH to a libonnxruntime {version} file, \
         enable bevy_talking_head's feature `fetch-runtime` to download it from PyPI on first use, or run \
         `make setup` in the bevy_talking_head repository. Looked in: {searched}"
    )]
    OnnxRuntimeMissing {
        /// What went wrong.
        reason: String,
        /// The ONNX Runtime version this crate is built for.
        version: &'static str,
        /// The places searched, joined for display.
        searched: String,
        /// What ONNX Runtime (`ort`) reported, when the library was found but failed to load
        /// (`ort::LoadDynamicError`) or to start (`ort::Error`). Its text is already in `reason`.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Fetching ONNX Runtime from the package index failed (feature `fetch-runtime`): no network, no
    /// wheel for this platform, a download cut short or not matching its published sha256. Nothing is
    /// left in the cache.
    #[error("cannot fetch ONNX Runtime from `{url}`: {problem}")]
    RuntimeFetch {
        /// The index page or wheel asked for.
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// A model file could not be read.
    #[error("cannot read model `{}`: {source}", path.display())]
    ModelIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// ONNX Runtime rejected a model (not an ONNX file, unsupported operator, ...).
    #[error("cannot load model `{path}`: {message}")]
    ModelLoad {
        /// The file or asset path.
        path: String,
        /// ONNX Runtime's message.
        message: String,
        /// ONNX Runtime's error (an `ort::Error`), when it is ONNX Runtime that failed; its text is
        /// `message`.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A model loaded but does not match the contract it is used for.
    #[error("model `{path}` does not fit the `{contract}` contract: {problem}")]
    ModelContract {
        /// The file or asset path.
        path: String,
        /// The contract's name, e.g. `expression_filter`.
        contract: &'static str,
        /// What does not match.
        problem: String,
    },
    /// Running a model failed.
    #[error("running model `{path}` failed: {message}")]
    Inference {
        /// The file or asset path.
        path: String,
        /// ONNX Runtime's message.
        message: String,
        /// ONNX Runtime's error (an `ort::Error`), when it is ONNX Runtime that failed (not, say, an
        /// output of the wrong shape); its text is `message`.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A portrait image could not be used.
    #[error("portrait `{path}` cannot be used: {problem}")]
    Portrait {
        /// The asset path, or `<unnamed>` for images made in code.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An asset (portrait or model) failed to load.
    #[error("loading `{path}` failed: {message}")]
    Asset {
        /// The asset path.
        path: String,
        /// The asset server's message.
        message: String,
    },
    /// A portrait rig (sidecar file) is missing, unreadable or wrong.
    #[error("portrait rig `{path}`: {problem}")]
    Rig {
        /// The portrait or sidecar path.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A frame source (webcam, video file, image sequence) failed.
    #[error("frame source `{source_name}`: {problem}")]
    Capture {
        /// The device name or path.
        source_name: String,
        /// What went wrong.
        problem: String,
    },
    /// A face clip (`*.face.ron`) or a recording could not be read, parsed or written.
    #[error("face clip `{path}`: {problem}")]
    Clip {
        /// The file or asset path.
        path: String,
        /// What is wrong, with the line and column for syntax errors.
        problem: String,
    },
    /// Audio for lip sync (a WAV file, a PCM stream) could not be used.
    #[error("audio `{path}`: {problem}")]
    Audio {
        /// The file or asset path.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A face stream from the network carried something that is not a face.
    #[error("face stream `{stream}`: {problem}")]
    Stream {
        /// The stream's name (e.g. the player's) or its entity.
        stream: String,
        /// What is wrong.
        problem: String,
    },
    /// A renderer failed on one frame.
    #[error("renderer `{renderer}` failed: {message}")]
    Render {
        /// The renderer's name.
        renderer: String,
        /// What went wrong.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Sent whenever something goes wrong for a head: a portrait or model that fails to load or does not fit,
/// a renderer error. The head keeps running on its still portrait. Read it with
/// `MessageReader<TalkingHeadError>`; the same text is logged once per head.
#[derive(bevy::ecs::message::Message, Clone, Debug)]
pub struct TalkingHeadError {
    /// The head it concerns.
    pub entity: bevy::ecs::entity::Entity,
    /// What went wrong.
    pub error: std::sync::Arc<Error>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn errors_with_an_ort_source_stay_send_and_sync() {
        assert_send_sync::<Error>();
        assert_send_sync::<TalkingHeadError>();
    }
}
