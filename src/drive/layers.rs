//! [`FaceLayers`]: what each driver wants the face to do, blended into the head's [`FaceFrame`].

use std::borrow::Cow;

use bevy::ecs::change_detection::DetectChangesMut;
use bevy::ecs::component::Component;
use bevy::ecs::query::Changed;
use bevy::ecs::system::Query;

use crate::face::{Channel, FaceFrame, FaceMask};

/// Where a layer sits in the blend; higher priorities are applied later, over lower ones.
///
/// The built-in drivers use [`IDLE`](Self::IDLE) < [`TRACKING`](Self::TRACKING) < [`CLIP`](Self::CLIP)
/// (+ the clip layer's index) < [`LIP_SYNC`](Self::LIP_SYNC) < [`OVERRIDE`](Self::OVERRIDE). Use your own
/// numbers in between for your own drivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub i32);

impl Priority {
    /// Idle life: blinks, saccades, breathing, drift.
    pub const IDLE: Priority = Priority(0);
    /// Live tracking (webcam or video) and network streams.
    pub const TRACKING: Priority = Priority(100);
    /// Face clips; clip layer `i` is at `CLIP + i`.
    pub const CLIP: Priority = Priority(200);
    /// Lip sync (owns the mouth by default).
    pub const LIP_SYNC: Priority = Priority(300);
    /// Expression overrides: hotkeys, the inspector's sliders.
    pub const OVERRIDE: Priority = Priority(400);
}

/// How a layer combines with what is below it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Blend {
    /// Moves each channel towards the layer's value by the channel's weight: `v = lerp(v, layer, w)`.
    /// Weight 1 replaces what is below.
    #[default]
    Override,
    /// Adds the layer's difference from neutral, scaled by the weight: `v += w * (layer - neutral)`.
    Additive,
}

/// One driver's contribution to a face: a value and a weight for each of the 63 [`Channel`]s.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceLayer {
    /// The values (only channels with a weight above 0 matter).
    pub frame: FaceFrame,
    /// Per-channel weight in `0..=1`, indexed by [`Channel::index`].
    pub weights: [f32; Channel::COUNT],
    /// How it combines with the layers below.
    pub blend: Blend,
}

impl FaceLayer {
    /// `frame` on the channels of `mask`, at `weight`, overriding what is below.
    pub fn new(frame: FaceFrame, weight: f32, mask: FaceMask) -> Self {
        let w = if weight.is_finite() {
            weight.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut weights = [0.0; Channel::COUNT];
        for (i, slot) in weights.iter_mut().enumerate() {
            if mask.contains_index(i) {
                *slot = w;
            }
        }
        Self {
            frame,
            weights,
            blend: Blend::Override,
        }
    }

    /// Builder: the blend mode.
    pub fn with_blend(mut self, blend: Blend) -> Self {
        self.blend = blend;
        self
    }

    /// Multiplies every channel's weight by `weight` and clears those outside `mask`.
    pub fn scaled(mut self, weight: f32, mask: FaceMask) -> Self {
        let w = if weight.is_finite() {
            weight.clamp(0.0, 1.0)
        } else {
            0.0
        };
        for (i, slot) in self.weights.iter_mut().enumerate() {
            *slot = if mask.contains_index(i) {
                *slot * w
            } else {
                0.0
            };
        }
        self
    }

    /// The channels with a weight above 0.
    pub fn mask(&self) -> FaceMask {
        FaceMask(
            self.weights
                .iter()
                .enumerate()
                .filter(|(_, w)| **w > 0.0)
                .fold(0, |m, (i, _)| m | 1 << i),
        )
    }

    /// Applies this layer to `values` (63 channels).
    pub fn apply(&self, values: &mut [f32; Channel::COUNT]) {
        let mine = self.frame.to_channels();
        for (i, v) in values.iter_mut().enumerate() {
            let w = self.weights[i];
            if w.is_nan() || w <= 0.0 || !mine[i].is_finite() {
                continue;
            }
            match self.blend {
                // Weight 1 replaces exactly (a lerp can leave the rounding of what was below).
                Blend::Override if w >= 1.0 => *v = mine[i],
                Blend::Override => *v += (mine[i] - *v) * w,
                Blend::Additive => {
                    let neutral = Channel::from_index(i).map_or(0.0, Channel::neutral);
                    *v += (mine[i] - neutral) * w.min(1.0);
                }
            }
        }
    }
}

/// Names a layer in [`FaceLayers`]: its priority and a name unique among the head's layers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId {
    /// Where it sits in the blend.
    pub priority: Priority,
    /// The driver's name for it, e.g. `"idle"`, `"clip 0"`.
    pub name: Cow<'static, str>,
}

impl LayerId {
    /// A layer id.
    pub fn new(priority: Priority, name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            priority,
            name: name.into(),
        }
    }

    /// The override layer that [`FaceLayers::set_override`] writes.
    pub fn user_override() -> Self {
        Self::new(Priority::OVERRIDE, "override")
    }

    /// A layer id with a fixed name, for a driver's `const` layer id.
    pub(crate) const fn fixed(priority: Priority, name: &'static str) -> Self {
        Self {
            priority,
            name: Cow::Borrowed(name),
        }
    }
}

/// The layers that drive one head, blended in priority order into its [`FaceFrame`] in
/// [`TalkingHeadSystems::Compose`](crate::TalkingHeadSystems::Compose).
///
/// Every driver component (idle life, clip player, lip sync, live tracking) requires this and writes its
/// own layer each frame. The blend starts from the neutral face; each layer, lowest priority first, moves
/// the channels it has weight on ([`Blend`]). A head with a `FaceLayers` gets its whole `FaceFrame` from
/// it: to move such a head by hand, write an [`override`](Self::set_override) layer rather than the
/// `FaceFrame`. A head without one keeps whatever you write into its `FaceFrame`.
///
/// ```
/// # use bevy_talking_head::prelude::*;
/// # use bevy_talking_head::drive::{FaceLayers, FaceLayer, LayerId, Priority};
/// let mut layers = FaceLayers::default();
/// // Tracking owns everything, a talk layer owns the mouth, half strength.
/// let tracked = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.2);
/// layers.set(LayerId::new(Priority::TRACKING, "webcam"), FaceLayer::new(tracked, 1.0, FaceMask::ALL));
/// let talk = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.6);
/// layers.set(LayerId::new(Priority::CLIP, "talk"), FaceLayer::new(talk, 0.5, FaceMask::MOUTH));
/// let face = layers.compose();
/// assert!((face.expressions.get(Expression::JawOpen) - 0.4).abs() < 1e-6);
/// ```
#[derive(Component, Clone, Debug, Default)]
pub struct FaceLayers {
    layers: Vec<(LayerId, FaceLayer)>,
}

impl FaceLayers {
    /// Adds or replaces a layer.
    pub fn set(&mut self, id: LayerId, layer: FaceLayer) {
        match self.layers.iter_mut().find(|(i, _)| *i == id) {
            Some(slot) => slot.1 = layer,
            None => {
                let at = self
                    .layers
                    .iter()
                    .position(|(i, _)| i.priority > id.priority)
                    .unwrap_or(self.layers.len());
                self.layers.insert(at, (id, layer));
            }
        }
    }

    /// Removes a layer; returns it if it was there.
    pub fn remove(&mut self, id: &LayerId) -> Option<FaceLayer> {
        let at = self.layers.iter().position(|(i, _)| i == id)?;
        Some(self.layers.remove(at).1)
    }

    /// What a driver writes each frame: sets layer `id` to `layer` (adding or replacing it), or removes it
    /// if `layer` is `None`, and marks `layers` changed only if that changed anything, so writing the same
    /// layer again keeps `Changed<FaceLayers>` quiet (and the head is not composed again for nothing).
    /// Returns whether it changed.
    pub(crate) fn put(
        layers: &mut impl DetectChangesMut<Inner = FaceLayers>,
        id: LayerId,
        layer: Option<FaceLayer>,
    ) -> bool {
        let inner = layers.bypass_change_detection();
        let changed = match layer {
            Some(layer) if inner.get(&id) == Some(&layer) => false,
            Some(layer) => {
                inner.set(id, layer);
                true
            }
            None => inner.remove(&id).is_some(),
        };
        if changed {
            layers.set_changed();
        }
        changed
    }

    /// Keeps only the layers for which `keep` returns `true`.
    pub fn retain(&mut self, mut keep: impl FnMut(&LayerId) -> bool) {
        self.layers.retain(|(id, _)| keep(id));
    }

    /// The layer with this id.
    pub fn get(&self, id: &LayerId) -> Option<&FaceLayer> {
        self.layers.iter().find(|(i, _)| i == id).map(|(_, l)| l)
    }

    /// The layers, lowest priority first (layers of equal priority in the order they were added).
    pub fn iter(&self) -> impl Iterator<Item = (&LayerId, &FaceLayer)> {
        self.layers.iter().map(|(i, l)| (i, l))
    }

    /// Sets the user's override layer: `frame` on `mask` at `weight`, over every driver.
    pub fn set_override(&mut self, frame: FaceFrame, weight: f32, mask: FaceMask) {
        self.set(
            LayerId::user_override(),
            FaceLayer::new(frame, weight, mask),
        );
    }

    /// Removes the user's override layer.
    pub fn clear_override(&mut self) {
        self.remove(&LayerId::user_override());
    }

    /// The blended face. Its `time` is that of the highest layer with any weight.
    pub fn compose(&self) -> FaceFrame {
        let mut values = FaceFrame::neutral().to_channels();
        let mut time = 0.0;
        for (_, layer) in &self.layers {
            layer.apply(&mut values);
            if layer.weights.iter().any(|w| *w > 0.0) {
                time = layer.frame.time;
            }
        }
        let mut face = FaceFrame::from_channels(&values, time);
        face.sanitize();
        face
    }
}

/// A driver component's `on_remove` hook, `#[component(on_remove = remove_layers(|id| ...))]`: when the
/// component goes, the layers for which `owned` returns `true` go with it (else the face would freeze on
/// their last value).
pub(crate) fn remove_layers(
    owned: impl Fn(&LayerId) -> bool,
) -> impl Fn(bevy::ecs::world::DeferredWorld<'_>, bevy::ecs::lifecycle::HookContext) {
    move |world: bevy::ecs::world::DeferredWorld<'_>, ctx: bevy::ecs::lifecycle::HookContext| {
        remove_layers_where(world, ctx.entity, &owned)
    }
}

/// A component hook: when a driver component goes, its layers go with it (else the face would freeze
/// on its last value).
fn remove_layers_where(
    mut world: bevy::ecs::world::DeferredWorld,
    entity: bevy::ecs::entity::Entity,
    doomed: impl Fn(&LayerId) -> bool,
) {
    if let Some(mut layers) = world.get_mut::<FaceLayers>(entity) {
        layers.retain(|id| !doomed(id));
    }
}

/// Blends each head's changed [`FaceLayers`] into its [`FaceFrame`] (which changes only if the result does).
pub(crate) fn compose_faces(mut heads: Query<(&FaceLayers, &mut FaceFrame), Changed<FaceLayers>>) {
    for (layers, mut face) in &mut heads {
        let composed = layers.compose();
        face.set_if_neq(composed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Expression;

    fn with(e: Expression, w: f32) -> FaceFrame {
        FaceFrame::neutral().with_expression(e, w)
    }

    #[test]
    fn layers_blend_in_priority_order_whatever_the_insertion_order() {
        let mut layers = FaceLayers::default();
        // Added top first.
        layers.set(
            LayerId::new(Priority::CLIP, "smile"),
            FaceLayer::new(with(Expression::JawOpen, 1.0), 0.25, FaceMask::MOUTH),
        );
        layers.set(
            LayerId::new(Priority::IDLE, "idle"),
            FaceLayer::new(with(Expression::JawOpen, 0.2), 1.0, FaceMask::ALL),
        );
        // 0.2 from idle, then a quarter of the way to 1.0: 0.4.
        let f = layers.compose();
        assert!((f.expressions.get(Expression::JawOpen) - 0.4).abs() < 1e-6);
        let names: Vec<_> = layers.iter().map(|(i, _)| i.name.to_string()).collect();
        assert_eq!(names, ["idle", "smile"]);
    }

    #[test]
    fn masks_keep_a_layer_off_other_regions_and_additive_layers_add() {
        let mut layers = FaceLayers::default();
        let mut tracked =
            with(Expression::EyeBlinkLeft, 0.7).with_expression(Expression::JawOpen, 0.1);
        tracked.head.yaw = 0.3;
        layers.set(
            LayerId::new(Priority::TRACKING, "webcam"),
            FaceLayer::new(tracked, 1.0, FaceMask::ALL),
        );
        let mut talk = with(Expression::JawOpen, 0.8);
        talk.head.yaw = -1.0; // outside the mask: ignored
        layers.set(
            LayerId::new(Priority::CLIP, "talk"),
            FaceLayer::new(talk, 1.0, FaceMask::MOUTH),
        );
        let mut nod = FaceFrame::neutral();
        nod.head.yaw = 0.1;
        nod.head.scale = 1.5;
        layers.set(
            LayerId::new(Priority::OVERRIDE, "nod"),
            FaceLayer::new(nod, 0.5, FaceMask::HEAD).with_blend(Blend::Additive),
        );
        let f = layers.compose();
        assert_eq!(f.expressions.get(Expression::JawOpen), 0.8);
        assert_eq!(f.expressions.get(Expression::EyeBlinkLeft), 0.7);
        assert!((f.head.yaw - 0.35).abs() < 1e-6, "{}", f.head.yaw);
        assert!((f.head.scale - 1.25).abs() < 1e-6, "{}", f.head.scale);
        layers.remove(&LayerId::new(Priority::CLIP, "talk"));
        assert!((layers.compose().expressions.get(Expression::JawOpen) - 0.1).abs() < 1e-6);
    }

    #[test]
    fn no_layers_is_the_neutral_face_and_nan_never_leaks() {
        assert_eq!(FaceLayers::default().compose(), FaceFrame::neutral());
        let mut layers = FaceLayers::default();
        let mut bad = FaceFrame::neutral();
        bad.head.pitch = f32::NAN;
        layers.set(
            LayerId::user_override(),
            FaceLayer::new(bad, f32::NAN, FaceMask::ALL),
        );
        layers.set(
            LayerId::new(Priority::IDLE, "idle"),
            FaceLayer::new(bad, 1.0, FaceMask::ALL),
        );
        assert_eq!(layers.compose(), FaceFrame::neutral());
    }

    /// A driver writes its layer every frame; `Changed<FaceLayers>` (and so the head's composition) only
    /// sees the frames in which the layer actually changed. Plain `set` through `Mut` would mark every one.
    #[test]
    fn putting_the_same_layer_again_keeps_changed_quiet() {
        use bevy::ecs::resource::Resource;
        use bevy::ecs::schedule::{IntoScheduleConfigs, Schedule};
        use bevy::ecs::system::{Res, ResMut};
        use bevy::ecs::world::World;

        /// What the driver writes this frame.
        #[derive(Resource)]
        struct Next(Option<FaceLayer>);
        /// The frames in which `Changed<FaceLayers>` saw the head.
        #[derive(Resource, Default)]
        struct Seen(Vec<usize>);
        #[derive(Resource, Default)]
        struct Frame(usize);

        const ID: LayerId = LayerId::fixed(Priority::IDLE, "test");
        fn drive(next: Res<Next>, mut heads: Query<&mut FaceLayers>) {
            for mut layers in &mut heads {
                FaceLayers::put(&mut layers, ID, next.0.clone());
            }
        }
        fn watch(
            heads: Query<(), Changed<FaceLayers>>,
            mut frame: ResMut<Frame>,
            mut seen: ResMut<Seen>,
        ) {
            if !heads.is_empty() {
                seen.0.push(frame.0);
            }
            frame.0 += 1;
        }

        let mut world = World::new();
        world.init_resource::<Seen>();
        world.init_resource::<Frame>();
        let head = world.spawn(FaceLayers::default()).id();
        let mut schedule = Schedule::default();
        schedule.add_systems((drive, watch).chain());
        let a = FaceLayer::new(with(Expression::JawOpen, 0.5), 1.0, FaceMask::MOUTH);
        let b = FaceLayer::new(with(Expression::JawOpen, 0.7), 1.0, FaceMask::MOUTH);
        for next in [
            Some(a.clone()), // 0: added (and spawned): changed
            Some(a.clone()), // 1: the same again: quiet
            Some(b.clone()), // 2: another value: changed
            Some(b),         // 3: quiet
            None,            // 4: cleared: changed
            None,            // 5: nothing to clear: quiet
            Some(a),         // 6: back: changed
        ] {
            world.insert_resource(Next(next));
            schedule.run(&mut world);
        }
        assert_eq!(world.resource::<Seen>().0, [0, 2, 4, 6]);
        let layers = world.get::<FaceLayers>(head).unwrap();
        assert_eq!(layers.iter().count(), 1);
    }
}
