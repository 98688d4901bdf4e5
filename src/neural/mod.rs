//! The neural path of Zakharov et al. 2019 (few-shot adversarial talking heads): the landmark sketch
//! the generator is conditioned on, and the contract of the embedder and generator models
//! ([`validate_pair`]). The training code lives in `models/training`.

mod contract;
mod sketch;

pub use contract::{
    EMBEDDING_SIZE_KEY, NeuralModelInfo, RESOLUTION_KEY, SHOTS_KEY, SKETCH_VERSION_KEY,
    validate_pair,
};
pub use sketch::{SKETCH_V1, SketchRegion, SketchSpec};
