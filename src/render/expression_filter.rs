//! [`ExpressionFilterRenderer`]: an ONNX model of the `expression_filter` contract as a renderer.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::onnx::{OnnxModel, TensorData, contracts};
use crate::renderer::{HeadRenderer, RenderRequest, RenderTarget};

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
