//! The neural path of Zakharov et al. 2019 (few-shot adversarial talking heads): the landmark sketch
//! the generator is conditioned on. The training code lives in `models/training`.

mod sketch;

pub use sketch::{SKETCH_V1, SketchRegion, SketchSpec};
