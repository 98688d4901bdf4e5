//! ONNX Runtime through `ort`: loading the library, models checked against contracts, model assets.

mod asset;
pub mod contracts;
#[cfg(feature = "fetch-runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "fetch-runtime")))]
pub mod fetch;
mod library;
mod model;
mod runtime;

pub use asset::{OnnxModelAsset, OnnxModelLoader, OnnxModelSettings};
pub use contracts::{CONTRACT_METADATA_KEY, Dim, ModelContract, TensorSpec};
pub use library::ONNXRUNTIME_VERSION;
pub use model::{OnnxModel, TensorData, TensorInfo};
pub use runtime::{
    ExecutionProvider, OnnxRuntime, SETUP_LIBRARY_DIR, SessionOptions, library_candidates,
    onnx_runtime,
};
pub(crate) use runtime::{setup_roots, would_fetch};
