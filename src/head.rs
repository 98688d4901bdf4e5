//! The [`TalkingHead`] component and its [`HeadRendererKind`]: the user's data of a head (portraits,
//! renderer, rigs, output). The stages register what they keep per head themselves.

use std::sync::Arc;

use bevy::asset::Handle;
use bevy::ecs::component::Component;
use bevy::image::Image;
use bevy::math::UVec2;

use crate::face::FaceFrame;
use crate::onnx::OnnxModelAsset;
use crate::renderer::HeadRenderer;
use crate::rig::PortraitRig;

/// Which renderer draws a head.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum HeadRendererKind {
    /// The default: [`MeshWarpRenderer`](crate::render::MeshWarpRenderer), the portrait's own pixels moved
    /// along the face mesh, with eye and mouth layers. The plugin shares one renderer between heads.
    #[default]
    MeshWarp,
    /// The first portrait, unchanged (no renderer runs).
    Still,
    /// An ONNX model of the `expression_filter` contract (portrait + expression weights -> image), such as
    /// `assets/models/expression_tint.onnx`. The head shows its still portrait until the model has loaded,
    /// and if it fails to load.
    ExpressionFilter(Handle<OnnxModelAsset>),
    /// The few-shot neural model ([`NeuralRenderer`](crate::neural::NeuralRenderer)): an embedder and a
    /// generator exported by `models/training/train.py export`. Heads with the same two models share one
    /// renderer, so their frames are batched. The head shows its still portrait until both have loaded
    /// and its embedding is ready, and if either fails to load or the pair breaks the contract.
    Neural(NeuralModels),
    /// Your own renderer.
    Custom(Arc<dyn HeadRenderer>),
}

impl HeadRendererKind {
    /// Whether this renderer draws from the portrait's rig (then the rig stage rigs the head's
    /// portraits before its first frame).
    pub fn needs_rig(&self) -> bool {
        match self {
            Self::MeshWarp | Self::Neural(_) => true,
            Self::Still | Self::ExpressionFilter(_) => false,
            Self::Custom(r) => r.needs_rig(),
        }
    }
}

/// The two model assets of a neural head, for [`HeadRendererKind::Neural`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NeuralModels {
    /// `embedder.onnx`.
    pub embedder: Handle<OnnxModelAsset>,
    /// `generator.onnx`.
    pub generator: Handle<OnnxModelAsset>,
}

impl std::fmt::Debug for HeadRendererKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MeshWarp => f.write_str("MeshWarp"),
            Self::Still => f.write_str("Still"),
            Self::ExpressionFilter(h) => {
                f.debug_tuple("ExpressionFilter").field(&h.path()).finish()
            }
            Self::Neural(m) => f
                .debug_struct("Neural")
                .field("embedder", &m.embedder.path())
                .field("generator", &m.generator.path())
                .finish(),
            Self::Custom(r) => f.debug_tuple("Custom").field(&r.name()).finish(),
        }
    }
}

/// A talking head: one or a few portraits of the same face, the renderer that animates them, and the
/// texture it draws into.
///
/// The output texture is created when the component is added (unless you gave one with
/// [`with_output`](Self::with_output)); put [`output`](Self::output) on a `Sprite`, a UI `ImageNode`, a
/// material or an egui image. It shows the first portrait as soon as that has loaded, and every frame the
/// renderer finishes after that. Drive the head by writing its [`FaceFrame`] component.
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// fn spawn(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
///     let output = images.add(Image::default());
///     commands.spawn((
///         TalkingHead::new(assets.load("portraits/astronaut.png"))
///             .with_renderer(HeadRendererKind::ExpressionFilter(assets.load("models/expression_tint.onnx")))
///             .with_output(output.clone()),
///         Sprite::from_image(output),
///     ));
/// }
/// ```
#[derive(Component, Clone, Debug)]
#[require(FaceFrame)]
pub struct TalkingHead {
    /// The portraits of this face; the first is the main one. Changing them re-renders the head.
    pub portraits: Vec<Handle<Image>>,
    /// The renderer.
    pub renderer: HeadRendererKind,
    /// Output size in pixels; `None` uses the first portrait's size.
    pub output_size: Option<UVec2>,
    /// Rigs of the portraits (one slot per portrait), in each portrait's own pixels. A slot left `None`
    /// is read from the portrait's `<file>.rig.json` sidecar, or found by the face tracker.
    pub rigs: Vec<Option<Arc<PortraitRig>>>,
    /// Draw the person cut out of the portrait's background: the output's alpha is the portrait's
    /// [`Matte`](crate::rig::Matte) carried by the warp (transparent around the head, soft at the hair),
    /// for overlays and dialogue boxes. The matte is read from `<file>.matte.png` beside the portrait, or
    /// made once by the segmentation model (and saved there, to edit). Off by default (the whole
    /// picture). The mesh warp carries it; the neural renderer draws the whole picture. Until its rig is
    /// ready a cut-out head shows nothing (not its picture's background); if rigging fails, its whole
    /// still portrait.
    pub cutout: bool,
    /// Keep the portrait's background still behind the moving head: the mesh warp draws the person
    /// (by the same [`Matte`](crate::rig::Matte) as [`cutout`](Self::cutout), read from or saved to
    /// `<file>.matte.png`) over the background with the person taken out
    /// ([`RiggedPortraits::with_still_background`](crate::rig::RiggedPortraits::with_still_background)).
    /// A nodding or leaning head then no longer drags a painted landscape or a room with it; where it
    /// moves away, the background's colours nearby fill in. Off by default. The mesh warp draws it (and
    /// your own renderer can, through
    /// [`RiggedPortraits::still_layers`](crate::rig::RiggedPortraits::still_layers)); other renderers
    /// ignore it, and no matte is made for them. A cut-out head has no background, so
    /// [`cutout`](Self::cutout) wins. Without a person in the picture, without the segmentation model,
    /// or for a picture that is transparent in places already, the background moves as before and a
    /// warning says why.
    pub still_background: bool,
    output: Handle<Image>,
}

impl TalkingHead {
    /// A head showing `portrait`, animated by the mesh-warp renderer.
    pub fn new(portrait: Handle<Image>) -> Self {
        Self::from_portraits(vec![portrait])
    }

    /// A head with several portraits of the same face (the mesh warp takes the mouth interior from the one
    /// with the most open mouth; few-shot renderers use them all).
    pub fn from_portraits(portraits: Vec<Handle<Image>>) -> Self {
        Self {
            portraits,
            renderer: HeadRendererKind::MeshWarp,
            output_size: None,
            rigs: Vec::new(),
            cutout: false,
            still_background: false,
            output: Handle::default(),
        }
    }

    /// Builder: draw the person cut out of the background ([`cutout`](Self::cutout)).
    pub fn with_cutout(mut self, cutout: bool) -> Self {
        self.cutout = cutout;
        self
    }

    /// Builder: keep the portrait's background still behind the moving head
    /// ([`still_background`](Self::still_background)).
    pub fn with_still_background(mut self, still: bool) -> Self {
        self.still_background = still;
        self
    }

    /// Builder: the renderer.
    pub fn with_renderer(mut self, renderer: HeadRendererKind) -> Self {
        self.renderer = renderer;
        self
    }

    /// Builder: the portraits' rigs (for example edited ones, or loaded with
    /// [`PortraitRig::load`]), in the order of the portraits.
    pub fn with_rigs(mut self, rigs: Vec<PortraitRig>) -> Self {
        self.rigs = rigs.into_iter().map(|r| Some(Arc::new(r))).collect();
        self
    }

    /// Builder: a fixed output size (the portrait is scaled to it).
    pub fn with_output_size(mut self, size: UVec2) -> Self {
        self.output_size = Some(size);
        self
    }

    /// Builder: render into this image instead of a new one (handy to put it on a `Sprite` at spawn).
    /// The image is resized and overwritten.
    pub fn with_output(mut self, output: Handle<Image>) -> Self {
        self.output = output;
        self
    }

    /// The texture this head renders into (a new one is made when the head is added, unless you gave
    /// one).
    pub fn output(&self) -> &Handle<Image> {
        &self.output
    }

    /// Sets the texture this head renders into (the render stage gives a head without one its own).
    pub fn set_output(&mut self, output: Handle<Image>) {
        self.output = output;
    }
}
