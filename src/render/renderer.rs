//! The seam for renderers: [`HeadRenderer`], and the two built in here.

use std::path::PathBuf;
use std::sync::Arc;

use super::portrait::PortraitImage;
use crate::error::{Error, Result};
use crate::face::FaceFrame;
use crate::onnx::{OnnxModel, TensorData, contracts};
use crate::rig::{PortraitRig, RiggedFace};

/// What a renderer gets for one frame. Portraits are already scaled to the output size.
#[derive(Debug)]
pub struct RenderRequest<'a> {
    /// The face to show.
    pub face: &'a FaceFrame,
    /// The face retargeted onto this head's portrait by the rig stage.
    pub rig: &'a RiggedFace,
    /// The head's portraits (at least one), each at the output size.
    pub portraits: &'a [Arc<PortraitImage>],
    /// Rigs given with the head ([`TalkingHead::with_rigs`](crate::TalkingHead::with_rigs)), one slot per
    /// portrait, in each rig's own image size.
    pub rigs: &'a [Option<Arc<PortraitRig>>],
    /// The file of each portrait on disk, when it is one (for rig sidecars).
    pub portrait_files: &'a [Option<PathBuf>],
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

/// Shows the first portrait unchanged: the fallback of every head.
#[derive(Clone, Copy, Debug, Default)]
pub struct StillRenderer;

impl HeadRenderer for StillRenderer {
    fn name(&self) -> &str {
        "still"
    }

    fn render(&self, request: &RenderRequest<'_>, target: &mut RenderTarget<'_>) -> Result<()> {
        let portrait = &request.portraits[0];
        target.rgba.copy_from_slice(&portrait.rgba);
        Ok(())
    }
}

/// Runs an ONNX model of the [`EXPRESSION_FILTER`](contracts::EXPRESSION_FILTER) contract: the portrait and
/// the 52 expression weights in, an image out.
#[derive(Debug, Clone)]
pub struct ExpressionFilterRenderer {
    model: Arc<OnnxModel>,
    name: String,
}

impl ExpressionFilterRenderer {
    /// Wraps a loaded model, checking it against the contract.
    pub fn new(model: Arc<OnnxModel>) -> Result<Self> {
        model.check(&contracts::EXPRESSION_FILTER)?;
        let name = format!("expression_filter({})", model.label());
        Ok(Self { model, name })
    }
}

impl HeadRenderer for ExpressionFilterRenderer {
    fn name(&self) -> &str {
        &self.name
    }

    fn render(&self, request: &RenderRequest<'_>, target: &mut RenderTarget<'_>) -> Result<()> {
        let portrait = &request.portraits[0];
        let (w, h) = (target.width as usize, target.height as usize);
        let plane = w * h;
        let mut chw = vec![0f32; 3 * plane];
        for (i, px) in portrait.rgba.chunks_exact(4).enumerate() {
            for c in 0..3 {
                chw[c * plane + i] = px[c] as f32 / 255.0;
            }
        }
        let inputs = vec![
            (
                "portrait",
                TensorData {
                    shape: vec![1, 3, h as i64, w as i64],
                    data: chw,
                },
            ),
            (
                "expression",
                TensorData {
                    shape: vec![1, 52],
                    data: request.face.expressions.as_slice().to_vec(),
                },
            ),
        ];
        let out = self.model.run(inputs, &["image"])?.remove(0);
        if out.shape != [1, 3, h as i64, w as i64] {
            return Err(Error::Inference {
                path: self.model.label().to_owned(),
                message: format!(
                    "output `image` has shape {:?}, expected [1, 3, {h}, {w}]",
                    out.shape
                ),
                source: None,
            });
        }
        for (i, (dst, src)) in target
            .rgba
            .chunks_exact_mut(4)
            .zip(portrait.rgba.chunks_exact(4))
            .enumerate()
        {
            for c in 0..3 {
                let v = out.data[c * plane + i];
                dst[c] = if v.is_finite() {
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8
                } else {
                    src[c]
                };
            }
            dst[3] = src[3];
        }
        Ok(())
    }
}
