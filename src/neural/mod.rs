//! The neural path of Zakharov et al. 2019 (few-shot adversarial talking heads): the landmark sketch
//! the generator is conditioned on, the face crop the models see, the contract of the embedder and
//! generator models ([`validate_pair`]) and the renderer that runs them ([`NeuralRenderer`], or
//! [`HeadRendererKind::Neural`](crate::head::HeadRendererKind::Neural) with two model assets). The training code
//! lives in `models/training` (see its README).

mod contract;
mod crop;
mod renderer;
mod resolve;
mod sketch;

pub use contract::{
    EMBEDDING_SIZE_KEY, MAX_EMBEDDING_SIZE, MAX_RESOLUTION, MAX_SHOTS, NeuralModelInfo,
    RESOLUTION_KEY, SHOTS_KEY, SKETCH_VERSION_KEY, validate_pair,
};
pub use crop::FaceCrop;
pub use renderer::{NeuralHead, NeuralRenderer, NeuralStats};
pub use sketch::{SKETCH_V1, SketchRegion, SketchSpec};

pub(crate) use resolve::resolve_neural_renderers;

/// The two model assets of a neural head (defined with the head's other settings).
pub use crate::head::NeuralModels;
