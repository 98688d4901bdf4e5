//! Rendering heads: the [`HeadRenderer`] seam, the worker pool, and writing finished frames into textures.

mod pool;
mod portrait;
mod renderer;
pub(crate) mod systems;
pub mod warp;

pub use pool::RenderPool;
pub(crate) use portrait::same_portraits;
pub use portrait::{MAX_PORTRAIT_SIDE, PortraitImage};
pub use renderer::{
    ExpressionFilterRenderer, HeadRenderer, RenderRequest, RenderTarget, StillRenderer,
};
pub use systems::{HeadStats, SharedMeshWarp, TalkingHeadStats};
pub use warp::{MeshWarpRenderer, PreparedHead, TrackerSource, WarpStats};
