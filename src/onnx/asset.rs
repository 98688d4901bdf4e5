//! ONNX models as Bevy assets (`*.onnx`), checked against their contract when they load.

use std::sync::Arc;

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, LoadContext};
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::contracts;
use super::model::OnnxModel;
use super::runtime::SessionOptions;
use crate::error::Error;

/// An `.onnx` file loaded by the asset server. Cheap to clone; the model inside runs on any thread.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct OnnxModelAsset {
    /// The loaded model.
    pub model: Arc<OnnxModel>,
}

/// Per-load settings: which contract to check. `None` checks the contract the model declares in its
/// metadata (the project's scripts always declare one); a model that declares none is loaded unchecked
/// and checked when a renderer first uses it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OnnxModelSettings {
    /// A contract name from [`contracts`], e.g. `"expression_filter"`.
    pub contract: Option<String>,
}

/// Loads `.onnx` files into [`OnnxModelAsset`]s using the process-wide ONNX Runtime.
#[derive(TypePath, Default)]
pub struct OnnxModelLoader {
    /// How sessions are created (execution providers, threads).
    pub options: SessionOptions,
}

impl AssetLoader for OnnxModelLoader {
    type Asset = OnnxModelAsset;
    type Settings = OnnxModelSettings;
    type Error = Error;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        settings: &OnnxModelSettings,
        load_context: &mut LoadContext<'_>,
    ) -> Result<OnnxModelAsset, Error> {
        let label = load_context.path().to_string();
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|source| Error::ModelIo {
                path: label.clone().into(),
                source,
            })?;
        let contract = match &settings.contract {
            None => None,
            Some(name) => Some(contracts::by_name(name).ok_or_else(|| Error::ModelLoad {
                path: label.clone(),
                message: format!("the load settings name an unknown contract `{name}`"),
                source: None,
            })?),
        };
        let model = OnnxModel::from_bytes(&bytes, &label, contract, &self.options)?;
        Ok(OnnxModelAsset {
            model: Arc::new(model),
        })
    }

    fn extensions(&self) -> &[&str] {
        &["onnx"]
    }
}
