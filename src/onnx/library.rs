//! Which ONNX Runtime library this crate loads: its version and its file name on this platform.

/// The ONNX Runtime version this crate is built and tested with (`ort` 2.0.0-rc.15 wraps 1.31).
pub const ONNXRUNTIME_VERSION: &str = "1.31.1";

/// The library's file name on this platform (as the official builds name it).
pub(crate) fn library_file_name() -> &'static str {
    if cfg!(target_os = "windows") {
        "onnxruntime.dll"
    } else if cfg!(target_os = "macos") {
        "libonnxruntime.1.31.1.dylib"
    } else {
        "libonnxruntime.so.1.31.1"
    }
}
