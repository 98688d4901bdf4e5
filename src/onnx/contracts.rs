//! Model contracts: what a model must look like to be used for one purpose ([`ModelContract`],
//! [`TensorSpec`], [`Dim`]), and the contracts this crate knows. Models made by `models/setup.py` and
//! `models/tiny_models.py` declare theirs in their metadata ([`CONTRACT_METADATA_KEY`]).

use Dim::{Any, Fixed};

/// The metadata key in which the project's model scripts record which contract a model follows.
pub const CONTRACT_METADATA_KEY: &str = "talking_head.contract";

/// One dimension of a tensor in a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// Exactly this size.
    Fixed(i64),
    /// Any size (dynamic in the model, or fixed to any value).
    Any,
}

/// A named float32 tensor a contract requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// The tensor's name in the graph.
    pub name: &'static str,
    /// Its shape.
    pub shape: &'static [Dim],
}

/// What a model must look like to be used for one purpose: input and output names and shapes (all float32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelContract {
    /// Short name, also written in models' metadata (`talking_head.contract`).
    pub name: &'static str,
    /// Required inputs (the model may have no others).
    pub inputs: &'static [TensorSpec],
    /// Required outputs (the model may have more).
    pub outputs: &'static [TensorSpec],
}

/// Image in, image out, steered by the 52 expression weights: `portrait [1,3,H,W]` and `expression`
/// `[1,52]` -> `image [1,3,H,W]`, RGB in 0..1. `assets/models/expression_tint.onnx` follows it.
pub const EXPRESSION_FILTER: ModelContract = ModelContract {
    name: "expression_filter",
    inputs: &[
        TensorSpec {
            name: "portrait",
            shape: &[Fixed(1), Fixed(3), Any, Any],
        },
        TensorSpec {
            name: "expression",
            shape: &[Fixed(1), Fixed(52)],
        },
    ],
    outputs: &[TensorSpec {
        name: "image",
        shape: &[Fixed(1), Fixed(3), Any, Any],
    }],
};
/// MediaPipe BlazeFace short range: `image [1,3,128,128]` -> `regressors [1,896,16]`, `classificators`
/// `[1,896,1]`.
pub const FACE_DETECTOR: ModelContract = ModelContract {
    name: "face_detector",
    inputs: &[TensorSpec {
        name: "image",
        shape: &[Fixed(1), Fixed(3), Fixed(128), Fixed(128)],
    }],
    outputs: &[
        TensorSpec {
            name: "regressors",
            shape: &[Fixed(1), Fixed(896), Fixed(16)],
        },
        TensorSpec {
            name: "classificators",
            shape: &[Fixed(1), Fixed(896), Fixed(1)],
        },
    ],
};
/// MediaPipe BlazeFace full range: `image [1,3,192,192]` -> `regressors [1,2304,16]`, `classificators`
/// `[1,2304,1]`.
pub const FACE_DETECTOR_FULL_RANGE: ModelContract = ModelContract {
    name: "face_detector_full_range",
    inputs: &[TensorSpec {
        name: "image",
        shape: &[Fixed(1), Fixed(3), Fixed(192), Fixed(192)],
    }],
    outputs: &[
        TensorSpec {
            name: "regressors",
            shape: &[Fixed(1), Fixed(2304), Fixed(16)],
        },
        TensorSpec {
            name: "classificators",
            shape: &[Fixed(1), Fixed(2304), Fixed(1)],
        },
    ],
};
/// MediaPipe face mesh: `image [1,3,192,192]` -> `landmarks [1,1404,1,1]` (468 x xyz, crop pixels),
/// `presence [1,1,1,1]` (logit).
pub const FACE_LANDMARKS: ModelContract = ModelContract {
    name: "face_landmarks",
    inputs: &[TensorSpec {
        name: "image",
        shape: &[Fixed(1), Fixed(3), Fixed(192), Fixed(192)],
    }],
    outputs: &[
        TensorSpec {
            name: "landmarks",
            shape: &[Fixed(1), Fixed(1404), Fixed(1), Fixed(1)],
        },
        TensorSpec {
            name: "presence",
            shape: &[Fixed(1), Fixed(1), Fixed(1), Fixed(1)],
        },
    ],
};
/// MediaPipe Face Mesh V2 (from Google's Face Landmarker bundle): `image [1,3,256,256]` (RGB in 0..1) ->
/// `landmarks [1,1,1,1434]` (478 x xyz in crop pixels: the 468 mesh points, then the irises),
/// `presence [1,1,1,1]` (logit). Its third output, `score_2 [1,1]`, is not documented by Google and unused.
pub const FACE_MESH_V2: ModelContract = ModelContract {
    name: "face_mesh_v2",
    inputs: &[TensorSpec {
        name: "image",
        shape: &[Fixed(1), Fixed(3), Fixed(256), Fixed(256)],
    }],
    outputs: &[
        TensorSpec {
            name: "landmarks",
            shape: &[Fixed(1), Fixed(1), Fixed(1), Fixed(1434)],
        },
        TensorSpec {
            name: "presence",
            shape: &[Fixed(1), Fixed(1), Fixed(1), Fixed(1)],
        },
    ],
};
/// MediaPipe Blendshape V2: `points [1,146,2]` (146 of Face Mesh V2's points, image pixels) ->
/// `blendshapes [52]` (MediaPipe's order: `_neutral`, then 51 ARKit names without `tongueOut`).
pub const FACE_BLENDSHAPES: ModelContract = ModelContract {
    name: "face_blendshapes",
    inputs: &[TensorSpec {
        name: "points",
        shape: &[Fixed(1), Fixed(146), Fixed(2)],
    }],
    outputs: &[TensorSpec {
        name: "blendshapes",
        shape: &[Fixed(52)],
    }],
};
/// MediaPipe iris: `image [1,3,64,64]` -> `eye_contour [1,213]` (71 x xyz), `iris [1,15]` (5 x xyz).
pub const IRIS_LANDMARKS: ModelContract = ModelContract {
    name: "iris_landmarks",
    inputs: &[TensorSpec {
        name: "image",
        shape: &[Fixed(1), Fixed(3), Fixed(64), Fixed(64)],
    }],
    outputs: &[
        TensorSpec {
            name: "eye_contour",
            shape: &[Fixed(1), Fixed(213)],
        },
        TensorSpec {
            name: "iris",
            shape: &[Fixed(1), Fixed(15)],
        },
    ],
};

/// The neural path's embedder (Zakharov et al. 2019): `frames [K,3,R,R]` and their landmark
/// `sketches [K,3,R,R]`, RGB in -1..1, -> `embedding [1,D]`, the mean over the K shots. Metadata:
/// `talking_head.sketch_version`, `talking_head.resolution` (R), `talking_head.shots` (the K it was
/// trained with), `talking_head.embedding_size` (D). See `neural::validate_pair`.
pub const NEURAL_EMBEDDER: ModelContract = ModelContract {
    name: "neural_embedder",
    inputs: &[
        TensorSpec {
            name: "frames",
            shape: &[Any, Fixed(3), Any, Any],
        },
        TensorSpec {
            name: "sketches",
            shape: &[Any, Fixed(3), Any, Any],
        },
    ],
    outputs: &[TensorSpec {
        name: "embedding",
        shape: &[Fixed(1), Any],
    }],
};
/// The neural path's generator: a landmark `sketch [B,3,R,R]` (-1..1) and the person's `embedding
/// [B,D]` -> `image [B,3,R,R]`, RGB in -1..1. Metadata as [`NEURAL_EMBEDDER`] (without `shots`).
pub const NEURAL_GENERATOR: ModelContract = ModelContract {
    name: "neural_generator",
    inputs: &[
        TensorSpec {
            name: "sketch",
            shape: &[Any, Fixed(3), Any, Any],
        },
        TensorSpec {
            name: "embedding",
            shape: &[Any, Any],
        },
    ],
    outputs: &[TensorSpec {
        name: "image",
        shape: &[Any, Fixed(3), Any, Any],
    }],
};

/// MediaPipe Selfie Segmentation (general): `image [1,3,256,256]` (RGB in 0..1) -> `mask [1,256,256,1]`,
/// the probability that each pixel shows a person.
pub const SELFIE_SEGMENTATION: ModelContract = ModelContract {
    name: "selfie_segmentation",
    inputs: &[TensorSpec {
        name: "image",
        shape: &[Fixed(1), Fixed(3), Fixed(256), Fixed(256)],
    }],
    outputs: &[TensorSpec {
        name: "mask",
        shape: &[Fixed(1), Fixed(256), Fixed(256), Fixed(1)],
    }],
};

/// Every known contract.
pub const ALL: [&ModelContract; 10] = [
    &EXPRESSION_FILTER,
    &NEURAL_EMBEDDER,
    &NEURAL_GENERATOR,
    &FACE_DETECTOR,
    &FACE_DETECTOR_FULL_RANGE,
    &FACE_LANDMARKS,
    &IRIS_LANDMARKS,
    &FACE_MESH_V2,
    &FACE_BLENDSHAPES,
    &SELFIE_SEGMENTATION,
];

/// The contract called `name`.
pub fn by_name(name: &str) -> Option<&'static ModelContract> {
    ALL.into_iter().find(|c| c.name == name)
}
