//! Webcams through nokhwa (feature `webcam`). The capture driver builds on this listing.

use nokhwa::utils::ApiBackend;

/// A camera the operating system reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraDescription {
    /// The index to open it by.
    pub index: String,
    /// A human-readable name.
    pub name: String,
    /// The backend's description (driver, bus).
    pub description: String,
}

/// Lists the cameras of the platform's native backend. No camera is not an error: the list is empty.
/// A backend that cannot be queried (no permission, no V4L2) is, with its message.
pub fn list_cameras() -> Result<Vec<CameraDescription>, String> {
    let backend = nokhwa::native_api_backend().unwrap_or(ApiBackend::Auto);
    let cameras =
        nokhwa::query(backend).map_err(|e| format!("cannot list cameras ({backend:?}): {e}"))?;
    Ok(cameras
        .into_iter()
        .map(|c| CameraDescription {
            index: c.index().to_string(),
            name: c.human_name(),
            description: c.description().to_owned(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn listing_cameras_never_panics_without_a_camera() {
        // These machines have no camera: either an empty list or an error message, never a panic.
        match super::list_cameras() {
            Ok(list) => assert!(list.iter().all(|c| !c.index.is_empty())),
            Err(message) => assert!(message.contains("cannot list cameras"), "{message}"),
        }
    }
}
