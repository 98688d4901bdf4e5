//! [`TalkingHeadSystems`]: the public, chained system sets of the pipeline. The ground floor of the
//! crate: every stage puts its systems in one of these sets, and imports nothing else to do so.

use bevy::ecs::schedule::SystemSet;

/// The pipeline's stages, run in this order in `PostUpdate`, after your game logic in `Update`.
///
/// Write [`FaceFrame`](crate::face::FaceFrame)s in `Update` or in [`GatherFaces`](Self::GatherFaces); read
/// [`TalkingHeadStats`](crate::render::TalkingHeadStats) after [`Apply`](Self::Apply).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TalkingHeadSystems {
    /// The drivers' systems ([`drive`](crate::drive), [`net`](crate::net)): idle life, clips, lip sync,
    /// live tracking and remote faces each write their layer into the head's
    /// [`FaceLayers`](crate::drive::FaceLayers). Game code may write a `FaceFrame` here directly.
    GatherFaces,
    /// The layers of each head whose layers changed are blended by priority, weight and mask into its
    /// `FaceFrame` (heads without layers keep the `FaceFrame` they are given).
    /// [`FaceRecorder`](crate::drive::FaceRecorder) records right after this set.
    Compose,
    /// Portraits and faces are made ready for the renderer, on the main thread: each head's portraits are
    /// converted to its output size when they (or the head) change, and the still portrait is shown; heads
    /// whose renderer needs a rig get it from the rig cache, or have it made on a rig thread (given rig, else the
    /// portrait's sidecar, else the face tracker); every changed `FaceFrame` is sanitised and retargeted
    /// onto the rig ([`RiggedFace`](crate::rig::RiggedFace)).
    Rig,
    /// Each head's renderer is resolved from its [`HeadRendererKind`](crate::head::HeadRendererKind)
    /// (waiting for model assets), and one render job per head whose `RiggedFace` changed goes to the
    /// worker pool (never more than one in flight per head; the newest face waits, older waiting faces
    /// are dropped and counted).
    Dispatch,
    /// Finished frames are written into the heads' textures in place, newest only (a failed frame shows
    /// the still portrait); stats are updated.
    Apply,
}
