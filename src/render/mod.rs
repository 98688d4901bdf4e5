//! The render stage: each head's portraits loaded at its output size, its renderer resolved, one job per
//! changed face on a pool of worker threads, and finished frames written into the head's texture.
//!
//! - `portraits`: portraits converted and the still portrait shown; the rig asked for (in
//!   [`Rig`](crate::schedule::TalkingHeadSystems::Rig), before the rig stage).
//! - `resolve` and `pool` ([`Dispatch`](crate::schedule::TalkingHeadSystems::Dispatch)): renderers
//!   resolved from [`HeadRendererKind`](crate::head::HeadRendererKind), jobs sent to the [`RenderPool`].
//! - `apply` ([`Apply`](crate::schedule::TalkingHeadSystems::Apply)): frames written, [`TalkingHeadStats`].
//! - The built-in renderers: [`MeshWarpRenderer`] (the default) and [`ExpressionFilterRenderer`]; the
//!   seam they implement is [`HeadRenderer`]. A head of kind `Still` has no renderer: it keeps the still
//!   portrait the render stage shows as soon as the portrait loads (and falls back to whenever a frame
//!   fails).

mod apply;
mod expression_filter;
mod pool;
mod portraits;
mod resolve;
mod state;
mod stats;
pub mod warp;

#[cfg(feature = "egui")]
pub(crate) use apply::output_image;
pub(crate) use apply::{apply_results, create_output, forget_head};
pub use expression_filter::ExpressionFilterRenderer;
pub use pool::RenderPool;
pub(crate) use pool::dispatch_jobs;
pub(crate) use portraits::{AssetFolder, load_portraits};
pub(crate) use resolve::{install, loaded_model, modified, resolve_renderers};
pub(crate) use state::HeadState;
pub use stats::{HeadStats, TalkingHeadStats};
pub use warp::{Fold, MeshWarpRenderer, PreparedHead, WarpHead, WarpStats};

// The seam and the image type renderers take, where users have always found them.
pub use crate::portrait::{MAX_PORTRAIT_SIDE, PortraitImage, decode_portrait};
pub use crate::renderer::{HeadRenderer, RenderRequest, RenderTarget};
pub use crate::rig::TrackerSource;
