//! The ONNX contract of the neural path's two models, beyond names and shapes: the metadata that ties
//! them to this crate's sketch and to each other.

use crate::error::{Error, Result};
use crate::onnx::{OnnxModel, contracts};

use super::SketchSpec;

/// Metadata key: the [`SketchSpec::version`] the models were trained on.
pub const SKETCH_VERSION_KEY: &str = "talking_head.sketch_version";
/// Metadata key: the square resolution in pixels of frames, sketches and images.
pub const RESOLUTION_KEY: &str = "talking_head.resolution";
/// Metadata key (embedder): how many shots (K) it was trained to average.
pub const SHOTS_KEY: &str = "talking_head.shots";
/// Metadata key: the embedding's length (D).
pub const EMBEDDING_SIZE_KEY: &str = "talking_head.embedding_size";

/// The largest `talking_head.resolution` accepted: a frame at 1024 px is 12 MB of float32, and the
/// embedder's input holds one per portrait. A larger value (a hostile or corrupt file) is an error
/// naming the file, checked before anything is allocated for it.
pub const MAX_RESOLUTION: u32 = 1024;
/// The largest `talking_head.shots` (K) accepted.
pub const MAX_SHOTS: u32 = 64;
/// The largest `talking_head.embedding_size` (D) accepted (256 KB of float32 per head).
pub const MAX_EMBEDDING_SIZE: u32 = 65_536;

/// What a valid embedder and generator pair declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeuralModelInfo {
    /// Square resolution of frames, sketches and images.
    pub resolution: u32,
    /// The number of shots the embedder was trained with (it accepts any number).
    pub shots: u32,
    /// Length of the embedding.
    pub embedding_size: u32,
    /// The sketch version.
    pub sketch_version: u32,
}

fn number(model: &OnnxModel, contract: &'static str, key: &str, max: u32) -> Result<u32> {
    let problem = |p: String| Error::ModelContract {
        path: model.label().to_owned(),
        contract,
        problem: p,
    };
    let text = model
        .metadata(key)
        .ok_or_else(|| problem(format!("the metadata has no `{key}`")))?;
    let value = text
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| problem(format!("`{key}` is `{text}`, not a positive whole number")))?;
    if value > max {
        return Err(problem(format!(
            "`{key}` is {value}, over this crate's limit of {max}"
        )));
    }
    Ok(value)
}

/// Checks an embedder and a generator against their contracts and each other: input and output names
/// and shapes, the sketch version (this crate draws [`SketchSpec::v1`]), one resolution (and fixed
/// dimensions that match it), one embedding size, each within its cap ([`MAX_RESOLUTION`],
/// [`MAX_SHOTS`], [`MAX_EMBEDDING_SIZE`]). Every problem is an [`Error::ModelContract`] naming
/// the file.
pub fn validate_pair(embedder: &OnnxModel, generator: &OnnxModel) -> Result<NeuralModelInfo> {
    let (e, g) = (
        contracts::NEURAL_EMBEDDER.name,
        contracts::NEURAL_GENERATOR.name,
    );
    embedder.check(&contracts::NEURAL_EMBEDDER)?;
    generator.check(&contracts::NEURAL_GENERATOR)?;
    let sketch = SketchSpec::v1().version;
    let mut info = None;
    for (model, contract) in [(embedder, e), (generator, g)] {
        let problem = |p: String| Error::ModelContract {
            path: model.label().to_owned(),
            contract,
            problem: p,
        };
        let version = number(model, contract, SKETCH_VERSION_KEY, u32::MAX)?;
        if version != sketch {
            return Err(problem(format!(
                "trained on sketch version {version}; this crate draws version {sketch}"
            )));
        }
        let resolution = number(model, contract, RESOLUTION_KEY, MAX_RESOLUTION)?;
        let embedding_size = number(model, contract, EMBEDDING_SIZE_KEY, MAX_EMBEDDING_SIZE)?;
        // Fixed spatial dimensions must be the declared resolution.
        for t in model.inputs().iter().chain(model.outputs()) {
            if t.shape.len() == 4
                && t.shape[2..]
                    .iter()
                    .any(|d| *d >= 0 && *d != i64::from(resolution))
            {
                return Err(problem(format!(
                    "{t} does not match `{RESOLUTION_KEY}` = {resolution}"
                )));
            }
        }
        let d = if contract == e {
            model.outputs().iter().find(|t| t.name == "embedding")
        } else {
            model.inputs().iter().find(|t| t.name == "embedding")
        }
        .and_then(|t| t.shape.get(1).copied());
        if let Some(d) = d
            && d >= 0
            && d != i64::from(embedding_size)
        {
            return Err(problem(format!(
                "the embedding has {d} values, `{EMBEDDING_SIZE_KEY}` says {embedding_size}"
            )));
        }
        match info {
            None => {
                info = Some(NeuralModelInfo {
                    resolution,
                    shots: number(model, contract, SHOTS_KEY, MAX_SHOTS)?,
                    embedding_size,
                    sketch_version: version,
                });
            }
            Some(first) => {
                if first.resolution != resolution || first.embedding_size != embedding_size {
                    return Err(problem(format!(
                        "resolution {resolution} and embedding size {embedding_size}; the embedder \
                         `{}` has {} and {}",
                        embedder.label(),
                        first.resolution,
                        first.embedding_size
                    )));
                }
            }
        }
    }
    info.ok_or_else(|| Error::ModelContract {
        path: embedder.label().to_owned(),
        contract: e,
        problem: "no metadata was read".into(),
    })
}
