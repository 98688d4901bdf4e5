//! Reading lip-sync files and assets (WAV audio, vowel profiles) with errors that name them.

use std::path::Path;

use bevy::asset::LoadContext;
use bevy::asset::io::Reader;

use crate::error::{Error, Result};

/// A lip-sync file's bytes and its path for errors (an [`Error::Audio`] naming it if it cannot be read).
pub(super) fn read_file(path: &Path) -> Result<(Vec<u8>, String)> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok((bytes, name)),
        Err(e) => Err(cannot_read(name, e)),
    }
}

/// An asset's bytes and its path, as [`read_file`].
pub(super) async fn read_asset(
    reader: &mut dyn Reader,
    load_context: &LoadContext<'_>,
) -> Result<(Vec<u8>, String)> {
    let path = load_context.path().to_string();
    let mut bytes = Vec::new();
    match reader.read_to_end(&mut bytes).await {
        Ok(_) => Ok((bytes, path)),
        Err(e) => Err(cannot_read(path, e)),
    }
}

fn cannot_read(path: String, e: impl std::fmt::Display) -> Error {
    Error::Audio {
        path,
        problem: format!("cannot read the file: {e}"),
    }
}
