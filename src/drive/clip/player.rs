//! [`FaceClipPlayer`]: plays, queues, crossfades and layers [`FaceClip`]s on a head.

use std::collections::VecDeque;

use bevy::asset::{AssetId, Assets, Handle};
use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::message::{Message, MessageWriter};
use bevy::ecs::system::{Query, Res};
use bevy::time::Time;

use super::FaceClip;
use crate::drive::layers::{FaceLayer, FaceLayers, LayerId, Priority, remove_layers};
use crate::face::{Channel, FaceMask};
use crate::report::HeadErrors;

/// Sent when a playing clip passes one of its named events, and with the name
/// [`FINISHED`](Self::FINISHED) when a [`PlayMode::Once`](super::PlayMode::Once) clip reaches its end.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct FaceClipEvent {
    /// The head.
    pub entity: Entity,
    /// The player's layer the clip plays on.
    pub layer: usize,
    /// The clip.
    pub clip: AssetId<FaceClip>,
    /// The event's name from the clip file, or `"finished"`.
    pub name: String,
}

impl FaceClipEvent {
    /// The name of the event sent when a once clip ends.
    pub const FINISHED: &'static str = "finished";
}

#[derive(Clone, Debug)]
struct Playing {
    clip: Handle<FaceClip>,
    /// Seconds played (times speed), before looping.
    elapsed: f32,
    finished: bool,
    /// The first frame of a clip shows its time 0; time moves from the next.
    started: bool,
}

impl Playing {
    fn new(clip: Handle<FaceClip>) -> Self {
        Self {
            clip,
            elapsed: 0.0,
            finished: false,
            started: false,
        }
    }
}

#[derive(Clone, Debug)]
struct Fade {
    from: Option<Playing>,
    elapsed: f32,
    duration: f32,
}

/// One layer of a [`FaceClipPlayer`]: a clip playing (possibly crossfading from the previous one), a queue,
/// and the layer's speed, weight and mask.
#[derive(Clone, Debug)]
pub struct ClipLayer {
    /// Playback speed (1 = real time; 0 pauses; negative values count as 0).
    pub speed: f32,
    /// How much the layer moves the face, `0..=1`.
    pub weight: f32,
    /// The channels the layer may move (intersected with what its clips animate).
    pub mask: FaceMask,
    current: Option<Playing>,
    fade: Option<Fade>,
    fade_out: Option<(f32, f32)>,
    queue: VecDeque<Handle<FaceClip>>,
}

impl Default for ClipLayer {
    fn default() -> Self {
        Self {
            speed: 1.0,
            weight: 1.0,
            mask: FaceMask::ALL,
            current: None,
            fade: None,
            fade_out: None,
            queue: VecDeque::new(),
        }
    }
}

impl ClipLayer {
    /// Plays `clip` from its start now, replacing whatever played (no fade). Clears the queue.
    pub fn play(&mut self, clip: Handle<FaceClip>) -> &mut Self {
        self.current = Some(Playing::new(clip));
        self.fade = None;
        self.fade_out = None;
        self.queue.clear();
        self
    }

    /// Plays `clip` from its start, blending from what played over `seconds` (that keeps playing while it
    /// fades). Clears the queue.
    pub fn crossfade(&mut self, clip: Handle<FaceClip>, seconds: f32) -> &mut Self {
        let from = self.current.take();
        self.current = Some(Playing::new(clip));
        self.fade = (seconds > 0.0).then_some(Fade {
            from,
            elapsed: 0.0,
            duration: seconds,
        });
        self.fade_out = None;
        self.queue.clear();
        self
    }

    /// Plays `clip` after the current one: when a once clip ends, or a looping one comes to the end of
    /// its cycle. Plays it now if nothing plays.
    pub fn queue(&mut self, clip: Handle<FaceClip>) -> &mut Self {
        if self.current.is_none() {
            self.current = Some(Playing::new(clip));
            self.fade_out = None;
        } else {
            self.queue.push_back(clip);
        }
        self
    }

    /// Stops now: the layer no longer moves the face. Clears the queue.
    pub fn stop(&mut self) -> &mut Self {
        self.current = None;
        self.fade = None;
        self.fade_out = None;
        self.queue.clear();
        self
    }

    /// Fades the layer out over `seconds`, then stops.
    pub fn fade_out(&mut self, seconds: f32) -> &mut Self {
        if seconds > 0.0 && self.current.is_some() {
            self.fade_out = Some((0.0, seconds));
        } else {
            self.stop();
        }
        self
    }

    /// Builder-style setters.
    pub fn set_speed(&mut self, speed: f32) -> &mut Self {
        self.speed = speed;
        self
    }

    /// Sets the layer's weight.
    pub fn set_weight(&mut self, weight: f32) -> &mut Self {
        self.weight = weight;
        self
    }

    /// Sets the layer's mask.
    pub fn set_mask(&mut self, mask: FaceMask) -> &mut Self {
        self.mask = mask;
        self
    }

    /// Jumps to `seconds` into the current clip (its events in between are not sent).
    pub fn seek(&mut self, seconds: f32) -> &mut Self {
        if let Some(p) = &mut self.current
            && seconds.is_finite()
        {
            p.elapsed = seconds.max(0.0);
            p.started = true;
            p.finished = false;
        }
        self
    }

    /// The clip playing, if any.
    pub fn current(&self) -> Option<&Handle<FaceClip>> {
        self.current.as_ref().map(|p| &p.clip)
    }

    /// Seconds the current clip has played (times speed, before looping).
    pub fn elapsed(&self) -> f32 {
        self.current.as_ref().map_or(0.0, |p| p.elapsed)
    }

    /// Whether a clip plays (a once clip stops at its end).
    pub fn is_playing(&self) -> bool {
        self.current.is_some()
    }

    /// Clips waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

/// Plays [`FaceClip`]s on a head, on one or more [`ClipLayer`]s.
///
/// Layer `i` is blended at [`Priority::CLIP`]` + i`, over idle life and tracking and under lip sync and
/// overrides. Each layer plays one clip at a time (crossfading between clips), has a queue, a speed, a
/// weight and a mask; a channel that no key of the clip names is left to the layers below.
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// fn emote(mut players: Query<&mut FaceClipPlayer>, assets: Res<AssetServer>) {
///     for mut player in &mut players {
///         // Layer 0: talk, then smile.
///         player.play(assets.load("clips/talk.face.ron"));
///         player.queue(assets.load("clips/smile.face.ron"));
///         // Layer 1: a nod on the head only, at half strength.
///         player.layer(1).set_mask(FaceMask::HEAD).set_weight(0.5)
///             .crossfade(assets.load("clips/nod.face.ron"), 0.3);
///     }
/// }
/// ```
#[derive(Component, Clone, Debug, Default)]
#[require(FaceLayers)]
#[component(on_remove = remove_layers(is_clip_layer))]
pub struct FaceClipPlayer {
    layers: Vec<ClipLayer>,
}

impl FaceClipPlayer {
    /// A player already playing `clip` on layer 0.
    pub fn playing(clip: Handle<FaceClip>) -> Self {
        let mut p = Self::default();
        p.play(clip);
        p
    }

    /// Layer `index`, created (empty, weight 1, all channels) if it does not exist yet.
    pub fn layer(&mut self, index: usize) -> &mut ClipLayer {
        if self.layers.len() <= index {
            self.layers.resize_with(index + 1, ClipLayer::default);
        }
        &mut self.layers[index]
    }

    /// The layers.
    pub fn layers(&self) -> &[ClipLayer] {
        &self.layers
    }

    /// [`ClipLayer::play`] on layer 0.
    pub fn play(&mut self, clip: Handle<FaceClip>) -> &mut ClipLayer {
        self.layer(0).play(clip)
    }

    /// [`ClipLayer::crossfade`] on layer 0.
    pub fn crossfade(&mut self, clip: Handle<FaceClip>, seconds: f32) -> &mut ClipLayer {
        self.layer(0).crossfade(clip, seconds)
    }

    /// [`ClipLayer::queue`] on layer 0.
    pub fn queue(&mut self, clip: Handle<FaceClip>) -> &mut ClipLayer {
        self.layer(0).queue(clip)
    }

    /// Stops every layer.
    pub fn stop(&mut self) {
        for l in &mut self.layers {
            l.stop();
        }
    }

    /// Sets the speed of layer 0.
    pub fn set_speed(&mut self, speed: f32) -> &mut ClipLayer {
        self.layer(0).set_speed(speed)
    }
}

/// Whether `id` is one of a player's layers ([`layer_id`]).
fn is_clip_layer(id: &LayerId) -> bool {
    (Priority::CLIP.0..Priority::CLIP.0 + 100).contains(&id.priority.0)
        && id.name.starts_with("clip ")
}

fn layer_id(index: usize) -> LayerId {
    // Layers beyond the hundredth share its priority (in their order), staying under lip sync.
    LayerId::new(
        Priority(Priority::CLIP.0 + index.min(99) as i32),
        format!("clip {index}"),
    )
}

/// What one playing clip contributes: its layer, or `None` while it loads.
fn sample(playing: &Playing, clips: &Assets<FaceClip>) -> Option<FaceLayer> {
    let clip = clips.get(&playing.clip)?;
    Some(clip.layer_at(clip.clip_time(playing.elapsed)))
}

/// `a` fading out and `b` fading in at `f` (0 = all `a`): per channel, the weighted mean of the values,
/// with the weights mixed.
fn crossfade_layers(a: Option<&FaceLayer>, b: Option<&FaceLayer>, f: f32) -> Option<FaceLayer> {
    let (a, b) = match (a, b) {
        (None, None) => return None,
        (Some(a), None) => return Some(a.clone().scaled(1.0 - f, FaceMask::ALL)),
        (None, Some(b)) => return Some(b.clone().scaled(f, FaceMask::ALL)),
        (Some(a), Some(b)) => (a, b),
    };
    let (va, vb) = (a.frame.to_channels(), b.frame.to_channels());
    let mut values = [0.0; Channel::COUNT];
    let mut weights = [0.0; Channel::COUNT];
    for i in 0..Channel::COUNT {
        let (wa, wb) = (a.weights[i] * (1.0 - f), b.weights[i] * f);
        let w = wa + wb;
        weights[i] = w;
        values[i] = if w > 0.0 {
            (va[i] * wa + vb[i] * wb) / w
        } else {
            vb[i]
        };
    }
    let mut layer = FaceLayer::new(
        crate::face::FaceFrame::from_channels(&values, b.frame.time),
        1.0,
        FaceMask::ALL,
    );
    layer.weights = weights;
    Some(layer)
}

/// Advances `playing` by `dt` seconds of clip time; sends its events. Returns whether it crossed the end
/// of a cycle (or finished) in this step.
fn advance(
    playing: &mut Playing,
    dt: f32,
    clips: &Assets<FaceClip>,
    entity: Entity,
    layer: usize,
    events: &mut MessageWriter<FaceClipEvent>,
) -> bool {
    let Some(clip) = clips.get(&playing.clip) else {
        return false;
    };
    let id = playing.clip.id();
    let send = |events: &mut MessageWriter<FaceClipEvent>, name: &str| {
        events.write(FaceClipEvent {
            entity,
            layer,
            clip: id,
            name: name.to_owned(),
        });
    };
    let dt = if playing.started {
        dt
    } else {
        // Starting: the events at 0, and those the clip starts past (a queued clip picks up the time
        // its predecessor overran).
        playing.started = true;
        for e in clip.events_at_start() {
            send(events, &e.name);
        }
        for e in clip.events_between(0.0, playing.elapsed) {
            send(events, &e.name);
        }
        0.0
    };
    let (from, to) = (playing.elapsed, playing.elapsed + dt);
    for e in clip.events_between(from, to) {
        send(events, &e.name);
    }
    playing.elapsed = to;
    let d = clip.duration();
    if clip.is_finished(to) {
        if !playing.finished {
            playing.finished = true;
            send(events, FaceClipEvent::FINISHED);
        }
        return true;
    }
    if d <= 0.0 {
        // A looping clip of one instant: every frame is the end of a cycle.
        return dt > 0.0;
    }
    let period = if clip.mode() == super::PlayMode::PingPong {
        2.0 * d
    } else {
        d
    };
    // Kept within one cycle, so a clip looping for days keeps its precision.
    playing.elapsed = to.rem_euclid(period);
    dt > 0.0 && (to / period).floor() > (from / period).floor()
}

/// Advances every player by the frame's time and writes its layers.
pub(crate) fn play_clips(
    time: Res<Time>,
    clips: Res<Assets<FaceClip>>,
    mut heads: Query<(Entity, &mut FaceClipPlayer, &mut FaceLayers)>,
    mut events: MessageWriter<FaceClipEvent>,
    mut errors: HeadErrors,
) {
    let real_dt = time.delta_secs();
    for (entity, mut player, mut layers) in &mut heads {
        for (index, layer) in player.layers.iter_mut().enumerate() {
            // A clip that failed to load is dropped with an error; the queue moves on.
            if let Some(p) = &layer.current
                && clips.get(&p.clip).is_none()
                && errors.report_failed_asset(entity, &p.clip)
            {
                layer.current = layer.queue.pop_front().map(Playing::new);
            }
            let speed = if layer.speed.is_finite() {
                layer.speed.max(0.0)
            } else {
                0.0
            };
            let dt = real_dt * speed;
            let mut next = false;
            if let Some(p) = &mut layer.current {
                next =
                    advance(p, dt, &clips, entity, index, &mut events) && !layer.queue.is_empty();
            }
            if next && let Some(clip) = layer.queue.pop_front() {
                // The time past the end (or the cycle's end) carries over into the next clip.
                let overflow = layer.current.as_ref().and_then(|p| {
                    let c = clips.get(&p.clip)?;
                    let d = c.duration();
                    Some(match c.mode() {
                        _ if d <= 0.0 => 0.0,
                        super::PlayMode::Once => (p.elapsed - d).max(0.0),
                        // Already wrapped into the new cycle.
                        _ => p.elapsed,
                    })
                });
                let mut playing = Playing::new(clip);
                playing.elapsed = overflow.unwrap_or(0.0);
                layer.current = Some(playing);
            }
            // A once clip that has ended lets go of the face, unless something is queued after it.
            if layer.current.as_ref().is_some_and(|p| p.finished) && layer.queue.is_empty() {
                layer.current = None;
                layer.fade_out = None;
            }
            if let Some(fade) = &mut layer.fade {
                if let Some(from) = &mut fade.from {
                    // The outgoing clip keeps playing, silently (its events were its own).
                    if clips.get(&from.clip).is_some() {
                        from.elapsed += dt;
                    }
                }
                fade.elapsed += real_dt;
            }
            if layer.fade.as_ref().is_some_and(|f| f.elapsed >= f.duration) {
                layer.fade = None;
            }
            let mut out_weight = 1.0;
            if let Some((elapsed, duration)) = &mut layer.fade_out {
                *elapsed += real_dt;
                out_weight = (1.0 - *elapsed / *duration).max(0.0);
            }
            if out_weight <= 0.0 {
                layer.stop();
            }
            let current = layer.current.as_ref().and_then(|p| sample(p, &clips));
            let blended = match &layer.fade {
                Some(fade) => {
                    let from = fade.from.as_ref().and_then(|p| sample(p, &clips));
                    let f = (fade.elapsed / fade.duration).clamp(0.0, 1.0);
                    crossfade_layers(from.as_ref(), current.as_ref(), f)
                }
                None => current,
            };
            let blended = blended.map(|l| l.scaled(layer.weight * out_weight, layer.mask));
            FaceLayers::put(&mut layers, layer_id(index), blended);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::{Expression, FaceFrame};

    #[test]
    fn a_crossfade_mixes_shared_channels_and_fades_the_others() {
        let a = FaceLayer::new(
            FaceFrame::neutral()
                .with_expression(Expression::JawOpen, 1.0)
                .with_expression(Expression::EyeBlinkLeft, 1.0),
            1.0,
            FaceMask::of([
                Channel::Expression(Expression::JawOpen),
                Channel::Expression(Expression::EyeBlinkLeft),
            ]),
        );
        let b = FaceLayer::new(
            FaceFrame::neutral().with_expression(Expression::JawOpen, 0.0),
            1.0,
            FaceMask::of([Channel::Expression(Expression::JawOpen)]),
        );
        let m = crossfade_layers(Some(&a), Some(&b), 0.25).unwrap();
        let jaw = Expression::JawOpen as usize;
        let blink = Expression::EyeBlinkLeft as usize;
        assert_eq!(m.weights[jaw], 1.0);
        assert!((m.frame.expressions.get(Expression::JawOpen) - 0.75).abs() < 1e-6);
        assert!((m.weights[blink] - 0.75).abs() < 1e-6);
        assert_eq!(m.frame.expressions.get(Expression::EyeBlinkLeft), 1.0);
        assert_eq!(m.weights[Channel::HeadYaw.index()], 0.0);
    }
}
