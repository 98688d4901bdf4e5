//! ONNX Runtime through `ort`: loading the library, models checked against contracts, model assets.

mod asset;
mod model;
mod runtime;

pub use asset::{OnnxModelAsset, OnnxModelLoader, OnnxModelSettings};
pub use model::{
    CONTRACT_METADATA_KEY, Dim, ModelContract, OnnxModel, TensorData, TensorInfo, TensorSpec,
    contracts,
};
pub(crate) use runtime::setup_roots;
pub use runtime::{
    ExecutionProvider, ONNXRUNTIME_VERSION, OnnxRuntime, SETUP_LIBRARY_DIR, SessionOptions,
    library_candidates, onnx_runtime,
};
