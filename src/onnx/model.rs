//! A loaded ONNX model checked against a contract, usable from any thread (no Bevy inside).

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::value::{Tensor, TensorElementType, ValueType};

use super::contracts::{self, CONTRACT_METADATA_KEY, Dim, ModelContract};
use super::runtime::{SessionOptions, onnx_runtime};
use crate::error::{Error, Result};

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
    /// The contract a wrapper (detector, landmarker) last checked it against: the outputs of each run
    /// are held to it.
    checked: OnceLock<&'static ModelContract>,
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
            checked: OnceLock::new(),
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
    /// compatible shapes, and no extra inputs. From then on each [`run`](Self::run)'s outputs are held
    /// to it too (exact sizes where the file leaves a dimension dynamic).
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
        let _ = self.checked.set(contract);
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
    ///
    /// Every output is checked before it is returned: its data fills its shape, the shape is the one its
    /// contract fixes, and every value is finite; otherwise an [`Error::Inference`] naming the model.
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
                let out = TensorData {
                    shape: shape.to_vec(),
                    data: data.to_vec(),
                };
                self.check_output(name, &out)?;
                Ok(out)
            })
            .collect()
    }

    /// What a run returned, checked before anyone indexes it: the data fills the shape, the shape fits
    /// the contract exactly (a dynamic dimension in the file satisfies a fixed one at load; here it
    /// must have come out at that size), and every value is a finite number.
    fn check_output(&self, name: &str, out: &TensorData) -> Result<()> {
        let problem = |message: String| Error::Inference {
            path: self.label.clone(),
            message,
            source: None,
        };
        let elements = out.shape.iter().try_fold(1usize, |n, d| {
            usize::try_from(*d).ok().and_then(|d| n.checked_mul(d))
        });
        if elements != Some(out.data.len()) {
            return Err(problem(format!(
                "output `{name}` has shape {:?} but {} values",
                out.shape,
                out.data.len()
            )));
        }
        let contract = self.contract.or_else(|| self.checked.get().copied());
        if let Some(spec) = contract.and_then(|c| c.outputs.iter().find(|s| s.name == name)) {
            let fits = out.shape.len() == spec.shape.len()
                && out
                    .shape
                    .iter()
                    .zip(spec.shape)
                    .all(|(have, want)| match want {
                        Dim::Any => true,
                        Dim::Fixed(n) => have == n,
                    });
            if !fits {
                return Err(problem(format!(
                    "output `{name}` came out with shape {:?}; the `{}` contract says {:?}",
                    out.shape,
                    contract.map_or("", |c| c.name),
                    spec.shape
                )));
            }
        }
        if let Some(i) = out.data.iter().position(|v| !v.is_finite()) {
            return Err(problem(format!(
                "output `{name}` has a value that is not a finite number ({} at index {i}); the model \
                 or its execution provider is broken (float16 overflow?)",
                out.data[i]
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::path::Path;

    use super::*;
    use crate::error::Error;

    #[test]
    fn a_model_load_failure_keeps_the_ort_error_as_its_source() {
        let e = OnnxModel::from_bytes(
            b"not an ONNX file",
            "garbage.onnx",
            None,
            &SessionOptions::default(),
        )
        .expect_err("garbage is not a model");
        let Error::ModelLoad {
            path,
            message,
            source: Some(_),
        } = &e
        else {
            panic!(
                "a model-load error with a source (is ONNX Runtime set up? `make setup`): {e:?}"
            );
        };
        assert_eq!(path, "garbage.onnx");
        let ort = e
            .source()
            .and_then(|s| s.downcast_ref::<ort::Error>())
            .expect("the source is the ort::Error");
        // The text is what it was before the source was kept: ONNX Runtime's message after the path.
        assert_eq!(ort.to_string(), *message);
        assert_eq!(
            e.to_string(),
            format!("cannot load model `garbage.onnx`: {message}")
        );
        assert!(
            matches!(
                ort.code(),
                ort::ErrorCode::InvalidProtobuf | ort::ErrorCode::InvalidGraph
            ),
            "{:?}",
            ort.code()
        );
    }

    #[test]
    fn an_inference_failure_keeps_the_ort_error_and_an_empty_file_has_none() {
        let model = OnnxModel::from_file(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/expression_tint.onnx"),
            None,
            &SessionOptions::default(),
        )
        .expect("the committed tint model loads (is ONNX Runtime set up? `make setup`)");
        let input = TensorData {
            shape: vec![1, 52],
            data: vec![0.0; 52],
        };
        let e = model
            .run(vec![("no_such_input", input)], &["image"])
            .expect_err("an input the model does not have");
        assert!(
            matches!(
                &e,
                Error::Inference {
                    source: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
        let ort = e.source().and_then(|s| s.downcast_ref::<ort::Error>());
        assert!(ort.is_some(), "the source is the ort::Error: {e:?}");
        assert!(e.to_string().starts_with("running model `"), "{e}");

        // Failures that are not ONNX Runtime's have no source.
        let empty = OnnxModel::from_bytes(b"", "empty.onnx", None, &SessionOptions::default())
            .expect_err("an empty file");
        assert!(
            matches!(&empty, Error::ModelLoad { source: None, .. }),
            "{empty:?}"
        );
        assert!(empty.source().is_none());
        assert_eq!(
            empty.to_string(),
            "cannot load model `empty.onnx`: the file is empty"
        );
    }
}
