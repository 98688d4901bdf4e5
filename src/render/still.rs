//! [`StillRenderer`]: the first portrait, unchanged.

use crate::error::Result;
use crate::renderer::{HeadRenderer, RenderRequest, RenderTarget};

/// Shows the first portrait unchanged: the renderer of
/// [`HeadRendererKind::Still`](crate::head::HeadRendererKind::Still).
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
