//! A loaded ONNX model checked against a contract, usable from any thread (no Bevy inside).

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::{Tensor, TensorElementType, ValueType};

use super::runtime::{SessionOptions, onnx_runtime};
use crate::error::{Error, Result};

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

/// The contracts this crate knows. Models made by `models/setup.py` and `models/tiny_models.py` declare
/// theirs in their metadata.
pub mod contracts {
    use super::Dim::{Any, Fixed};
    use super::{ModelContract, TensorSpec};

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

    /// Every known contract.
    pub const ALL: [&ModelContract; 7] = [
        &EXPRESSION_FILTER,
        &NEURAL_EMBEDDER,
        &NEURAL_GENERATOR,
        &FACE_DETECTOR,
        &FACE_DETECTOR_FULL_RANGE,
        &FACE_LANDMARKS,
        &IRIS_LANDMARKS,
    ];

    /// The contract called `name`.
    pub fn by_name(name: &str) -> Option<&'static ModelContract> {
        ALL.into_iter().find(|c| c.name == name)
    }
}

/// An input or output of a loaded model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Name in the graph.
    pub name: String,
    /// Element type, e.g. `Float32`; `None` for non-tensor values.
    pub element_type: Option<TensorElementType>,
    /// Shape, -1 where dynamic.
    pub shape: Vec<i64>,
}

impl fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| {
                if *d < 0 {
                    "?".to_string()
                } else {
                    d.to_string()
                }
            })
            .collect();
        write!(f, "`{}` [{}]", self.name, dims.join(","))
    }
}

/// A float32 tensor: shape and data.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    /// Shape.
    pub shape: Vec<i64>,
    /// Row-major data.
    pub data: Vec<f32>,
}

/// An ONNX model loaded into ONNX Runtime, checked against its contract.
///
/// `Send + Sync`; runs are serialised by an internal lock (ONNX Runtime sessions need exclusive access
/// for a run in `ort` rc.15), so give each worker its own model when one model is the bottleneck.
pub struct OnnxModel {
    session: Mutex<Session>,
    label: String,
    contract: Option<&'static ModelContract>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    metadata: Vec<(String, String)>,
}

impl fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnnxModel")
            .field("label", &self.label)
            .field("contract", &self.contract.map(|c| c.name))
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl OnnxModel {
    /// Loads a model file. With `contract: None`, the contract named in the model's metadata is checked
    /// (if it names one).
    pub fn from_file(
        path: impl AsRef<Path>,
        contract: Option<&'static ModelContract>,
        options: &SessionOptions,
    ) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::ModelIo {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, &path.display().to_string(), contract, options)
    }

    /// Loads a model from memory; `label` names it in errors (usually its path).
    pub fn from_bytes(
        bytes: &[u8],
        label: &str,
        contract: Option<&'static ModelContract>,
        options: &SessionOptions,
    ) -> Result<Self> {
        let runtime = onnx_runtime(None)?;
        let load_err = |e: ort::Error| Error::ModelLoad {
            path: label.to_owned(),
            message: e.to_string(),
            source: Some(Box::new(e)),
        };
        if bytes.is_empty() {
            return Err(Error::ModelLoad {
                path: label.to_owned(),
                message: "the file is empty".into(),
                source: None,
            });
        }
        let mut builder = Session::builder(runtime.environment()).map_err(load_err)?;
        builder = builder
            .with_intra_threads(options.intra_threads.max(1))
            .map_err(|e| load_err(e.into()))?;
        if !options.execution_providers.is_empty() {
            let eps: Vec<_> = options
                .execution_providers
                .iter()
                .map(|ep| ep.dispatch())
                .collect();
            builder = builder
                .with_execution_providers(eps)
                .map_err(|e| load_err(e.into()))?;
        }
        let session = builder.commit_from_memory(bytes).map_err(load_err)?;
        let info = |outlets: &[ort::value::Outlet]| -> Vec<TensorInfo> {
            outlets
                .iter()
                .map(|o| match o.dtype() {
                    ValueType::Tensor { ty, shape, .. } => TensorInfo {
                        name: o.name().to_owned(),
                        element_type: Some(*ty),
                        shape: shape.to_vec(),
                    },
                    _ => TensorInfo {
                        name: o.name().to_owned(),
                        element_type: None,
                        shape: Vec::new(),
                    },
                })
                .collect()
        };
        let inputs = info(session.inputs());
        let outputs = info(session.outputs());
        let metadata: Vec<(String, String)> = session
            .metadata()
            .ok()
            .map(|m| {
                m.custom_keys()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|k| m.custom(&k).map(|v| (k, v)))
                    .collect()
            })
            .unwrap_or_default();
        let declared = metadata
            .iter()
            .find(|(k, _)| k == CONTRACT_METADATA_KEY)
            .map(|(_, v)| v.clone());
        let contract = match (contract, declared) {
            (Some(c), _) => Some(c),
            (None, Some(name)) => {
                Some(contracts::by_name(&name).ok_or_else(|| Error::ModelLoad {
                    path: label.to_owned(),
                    message: format!("the model declares an unknown contract `{name}`"),
                    source: None,
                })?)
            }
            (None, None) => None,
        };
        let model = Self {
            session: Mutex::new(session),
            label: label.to_owned(),
            contract: None,
            inputs,
            outputs,
            metadata,
        };
        match contract {
            Some(c) => {
                model.check(c)?;
                Ok(Self {
                    contract: Some(c),
                    ..model
                })
            }
            None => Ok(model),
        }
    }

    /// Checks the model against `contract`: every required input and output present, float32, with
    /// compatible shapes, and no extra inputs.
    pub fn check(&self, contract: &'static ModelContract) -> Result<()> {
        let problem = |problem: String| Error::ModelContract {
            path: self.label.clone(),
            contract: contract.name,
            problem,
        };
        let names = |list: &[TensorInfo]| {
            list.iter()
                .map(|t| format!("`{}`", t.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (kind, specs, actual) in [
            ("input", contract.inputs, &self.inputs),
            ("output", contract.outputs, &self.outputs),
        ] {
            for spec in specs {
                let Some(t) = actual.iter().find(|t| t.name == spec.name) else {
                    return Err(problem(format!(
                        "{kind} `{}` is missing (the model's {kind}s are {})",
                        spec.name,
                        names(actual)
                    )));
                };
                if t.element_type != Some(TensorElementType::Float32) {
                    return Err(problem(format!(
                        "{kind} {t} is {:?}, not float32",
                        t.element_type
                    )));
                }
                let fits = t.shape.len() == spec.shape.len()
                    && t.shape
                        .iter()
                        .zip(spec.shape)
                        .all(|(have, want)| match want {
                            Dim::Any => true,
                            Dim::Fixed(n) => *have == *n || *have < 0,
                        });
                if !fits {
                    let want: Vec<String> = spec
                        .shape
                        .iter()
                        .map(|d| match d {
                            Dim::Any => "?".into(),
                            Dim::Fixed(n) => n.to_string(),
                        })
                        .collect();
                    return Err(problem(format!(
                        "{kind} {t} should have shape [{}]",
                        want.join(",")
                    )));
                }
            }
        }
        if let Some(extra) = self
            .inputs
            .iter()
            .find(|t| !contract.inputs.iter().any(|s| s.name == t.name))
        {
            return Err(problem(format!("unexpected input {extra}")));
        }
        Ok(())
    }

    /// The name used in errors (the path it was loaded from).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The contract the model was checked against, if any.
    pub fn contract(&self) -> Option<&'static ModelContract> {
        self.contract
    }

    /// A custom metadata value of the model (e.g. `talking_head.resolution`).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The model's inputs.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The model's outputs.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Runs the model on named float32 inputs and returns the named outputs, in the order asked.
    pub fn run(
        &self,
        inputs: Vec<(&str, TensorData)>,
        outputs: &[&str],
    ) -> Result<Vec<TensorData>> {
        let err = |e: ort::Error| Error::Inference {
            path: self.label.clone(),
            message: e.to_string(),
            source: Some(Box::new(e)),
        };
        let mut values = Vec::with_capacity(inputs.len());
        for (name, t) in inputs {
            let tensor = Tensor::from_array((t.shape, t.data)).map_err(err)?;
            values.push((
                std::borrow::Cow::Owned(name.to_owned()),
                ort::session::SessionInputValue::from(tensor),
            ));
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let result = session.run(values).map_err(err)?;
        outputs
            .iter()
            .map(|name| {
                let value = result.get(name).ok_or_else(|| Error::Inference {
                    path: self.label.clone(),
                    message: format!("no output `{name}`"),
                    source: None,
                })?;
                let (shape, data) = value.try_extract_tensor::<f32>().map_err(err)?;
                Ok(TensorData {
                    shape: shape.to_vec(),
                    data: data.to_vec(),
                })
            })
            .collect()
    }
}
