//! The seam for renderers: [`HeadRenderer`], with what it gets ([`RenderRequest`]) and where it draws
//! ([`RenderTarget`]). The built-in renderers are in [`render`](crate::render) and
//! [`neural`](crate::neural); `HeadRendererKind::Custom` takes your own.

use std::sync::Arc;

use crate::error::Result;
use crate::face::FaceFrame;
use crate::portrait::PortraitImage;
use crate::rig::{RetargetedFace, RiggedPortraits};

/// What a renderer gets for one frame. Portraits are already scaled to the output size.
#[derive(Debug)]
pub struct RenderRequest<'a> {
    /// The face to show, sanitised (weights in `0..=1`, no NaN).
    pub face: &'a FaceFrame,
    /// The head's portraits (at least one), each at the output size.
    pub portraits: &'a [Arc<PortraitImage>],
    /// The head's rigged portraits, for renderers that [need a rig](HeadRenderer::needs_rig).
    pub rig: Option<&'a Arc<RiggedPortraits>>,
    /// `face` retargeted onto [`rig`](Self::rig) by the rig stage, when there is a rig.
    pub target: Option<&'a RetargetedFace>,
}

impl<'a> RenderRequest<'a> {
    /// A request without a rig (for renderers that need none).
    pub fn new(face: &'a FaceFrame, portraits: &'a [Arc<PortraitImage>]) -> Self {
        Self {
            face,
            portraits,
            rig: None,
            target: None,
        }
    }

    /// A request with the rigged portraits and the face retargeted onto them.
    pub fn rigged(
        face: &'a FaceFrame,
        rig: &'a Arc<RiggedPortraits>,
        target: &'a RetargetedFace,
    ) -> Self {
        Self {
            face,
            portraits: std::slice::from_ref(rig.portrait()),
            rig: Some(rig),
            target: Some(target),
        }
    }
}

/// Where a renderer writes: RGBA8 sRGB, `width * height * 4` bytes, top row first. Every byte must be
/// written; the buffer holds an older frame when the call starts.
#[derive(Debug)]
pub struct RenderTarget<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels.
    pub rgba: &'a mut [u8],
}

/// Turns a portrait and a face into pixels. Runs on the worker pool, never on the main thread; it may take
/// as long as it needs (the head keeps showing its last frame meanwhile) and must not panic (a panic is
/// caught, reported as an error, and the head falls back to its still portrait).
pub trait HeadRenderer: Send + Sync + 'static {
    /// A short name for logs and stats.
    fn name(&self) -> &str;

    /// Whether this renderer draws from the rig: then the head's portraits are rigged before its first
    /// frame (the still portrait shows meanwhile), and every request carries the
    /// [`rig`](RenderRequest::rig) and the [retargeted face](RenderRequest::target). Default: no.
    fn needs_rig(&self) -> bool {
        false
    }

    /// Renders one frame.
    fn render(&self, request: &RenderRequest<'_>, target: &mut RenderTarget<'_>) -> Result<()>;

    /// Asked after each successful [`render`](Self::render): whether that frame was a stand-in (say the
    /// still portrait while a model prepares the head) and the same face should be drawn again soon. The
    /// plugin then sends the head's face again on the next frame, even if it did not change. Default: no.
    fn wants_redraw(&self, request: &RenderRequest<'_>) -> bool {
        let _ = request;
        false
    }
}
