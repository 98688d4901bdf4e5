//! [`FaceClip`]: keyframed faces in `*.face.ron` files, and how they are sampled.
//!
//! This module holds the clip model ([`FaceClip`], its tracks, keys and events); the `*.face.ron` format
//! and the asset loader are in `format`, the [`FaceClipPlayer`](player::FaceClipPlayer) in `player`.

mod format;
pub(super) mod player;

pub use format::FaceClipLoader;

use bevy::asset::Asset;
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::layers::FaceLayer;
use crate::error::{Error, Result};
use crate::face::{Channel, FaceFrame, FaceMask};
use crate::math::smoothstep;

/// What a clip does at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlayMode {
    /// Plays once; at the end the player lets go of the face (the layers below show again), so a once
    /// clip should end where it started, usually neutral.
    #[default]
    Once,
    /// Starts over.
    Loop,
    /// Plays forwards, then backwards, and so on.
    PingPong,
}

/// How a channel moves from one key to the next (set on the first of the two keys).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Interpolation {
    /// Holds the key's value until the next key.
    Step,
    /// A straight line.
    Linear,
    /// Eases in and out (smoothstep): still at both keys, no overshoot.
    Ease,
    /// A Catmull-Rom spline through the keys: continuous speed across keys (still at the first and last
    /// key); can overshoot a little, weights are clamped to `0..=1`.
    #[default]
    Smooth,
}

/// One key of one channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Keyframe {
    /// Seconds from the clip's start.
    pub time: f32,
    /// The channel's value.
    pub value: f32,
    /// How the channel moves from here to its next key.
    pub interpolation: Interpolation,
}

/// The keys of one channel, in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    /// The channel it animates.
    pub channel: Channel,
    /// Its keys, times strictly increasing.
    pub keys: Vec<Keyframe>,
}

impl Track {
    /// The channel's value at `time` (seconds, clip time): the first key's value before it, the last's after.
    pub fn sample(&self, time: f32) -> f32 {
        let keys = &self.keys;
        let Some(first) = keys.first() else {
            return self.channel.neutral();
        };
        if time.is_nan() || time <= first.time {
            return first.value;
        }
        let last = keys[keys.len() - 1];
        if time >= last.time {
            return last.value;
        }
        // keys[i].time <= time < keys[i + 1].time
        let i = keys.partition_point(|k| k.time <= time) - 1;
        let (a, b) = (keys[i], keys[i + 1]);
        let dt = b.time - a.time;
        let s = (time - a.time) / dt;
        match a.interpolation {
            Interpolation::Step => a.value,
            Interpolation::Linear => a.value + (b.value - a.value) * s,
            Interpolation::Ease => a.value + (b.value - a.value) * smoothstep(0.0, 1.0, s),
            Interpolation::Smooth => {
                let tangent = |j: usize| -> f32 {
                    if j == 0 || j + 1 >= keys.len() {
                        0.0
                    } else {
                        (keys[j + 1].value - keys[j - 1].value)
                            / (keys[j + 1].time - keys[j - 1].time)
                    }
                };
                let (m0, m1) = (tangent(i) * dt, tangent(i + 1) * dt);
                let (s2, s3) = (s * s, s * s * s);
                (2.0 * s3 - 3.0 * s2 + 1.0) * a.value
                    + (s3 - 2.0 * s2 + s) * m0
                    + (-2.0 * s3 + 3.0 * s2) * b.value
                    + (s3 - s2) * m1
            }
        }
    }
}

/// A named moment in a clip; the player sends a [`FaceClipEvent`](super::FaceClipEvent) when it passes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipEvent {
    /// Seconds from the clip's start.
    pub time: f32,
    /// Its name, e.g. `"line_done"`.
    pub name: String,
}

/// Keyframed faces: ARKit expression weights, head pose and gaze over time, with named events.
///
/// Loaded from `*.face.ron` files by the asset server (or [`FaceClip::load`]), made in code with
/// [`FaceClip::new`], or recorded ([`FaceRecorder`](super::FaceRecorder)). Each channel is animated only
/// by the keys that name it, so a clip that keys only the mouth leaves the rest of the face to the layers
/// below it. The format:
///
/// ```ron
/// (
///     mode: Loop,                // Once (default), Loop, PingPong
///     interpolation: Smooth,     // default for keys: Step, Linear, Ease, Smooth (default)
///     keys: [
///         (time: 0.0, expressions: {"jawOpen": 0.0}, head: (yaw: 0.0)),
///         (time: 0.25, expressions: {"jawOpen": 0.6, "mouthFunnel": 0.2}, interpolation: Linear),
///         (time: 0.5, expressions: {"jawOpen": 0.1}, gaze: (yaw: 0.1, pitch: 0.0), head: (yaw: 0.05)),
///     ],
///     events: [(time: 0.5, name: "line_done")],
///     // duration: 0.6,          // default: the last key or event
/// )
/// ```
///
/// `head` takes `yaw`, `pitch`, `roll` (radians), `x`, `y`, `z` (face widths) and `scale`. `gaze` takes
/// `yaw` and `pitch` for both eyes, `left: (yaw, pitch)` and `right: (yaw, pitch)`, or any of `left_yaw`,
/// `left_pitch`, `right_yaw`, `right_pitch` (later ones win). A key's `interpolation` applies to all its
/// channels; `channel_interpolation: {"headYaw": Step}` sets it for single channels. Every field of a key
/// but `time` may be left out.
#[derive(Asset, TypePath, Clone, Debug, PartialEq)]
pub struct FaceClip {
    mode: PlayMode,
    duration: f32,
    tracks: Vec<Track>,
    events: Vec<ClipEvent>,
}

impl FaceClip {
    /// A clip from tracks (one per channel; keys are sorted, and the clip is checked like a file).
    pub fn new(mode: PlayMode, mut tracks: Vec<Track>, events: Vec<ClipEvent>) -> Result<Self> {
        for t in &mut tracks {
            t.keys.sort_by(|a, b| a.time.total_cmp(&b.time));
        }
        tracks.sort_by_key(|t| t.channel);
        let mut events = events;
        events.sort_by(|a, b| a.time.total_cmp(&b.time));
        let clip = Self {
            mode,
            duration: 0.0,
            tracks,
            events,
        };
        clip.finish(None, "<in memory>")
    }

    fn finish(mut self, duration: Option<f32>, path: &str) -> Result<Self> {
        let err = |problem: String| Error::Clip {
            path: path.to_owned(),
            problem,
        };
        for w in self.tracks.windows(2) {
            if w[0].channel == w[1].channel {
                return Err(err(format!("two tracks animate `{}`", w[0].channel)));
            }
        }
        for t in &self.tracks {
            for k in &t.keys {
                if !(k.time.is_finite() && k.time >= 0.0 && k.value.is_finite()) {
                    return Err(err(format!(
                        "`{}` has a key at time {} with value {}: times must be finite and >= 0, values finite",
                        t.channel, k.time, k.value
                    )));
                }
            }
            for w in t.keys.windows(2) {
                if w[1].time <= w[0].time {
                    return Err(err(format!(
                        "`{}` has two keys at time {}",
                        t.channel, w[0].time
                    )));
                }
            }
        }
        for e in &self.events {
            if !(e.time.is_finite() && e.time >= 0.0) {
                return Err(err(format!(
                    "event `{}` has time {}: it must be finite and >= 0",
                    e.name, e.time
                )));
            }
        }
        let last = self
            .tracks
            .iter()
            .filter_map(|t| t.keys.last().map(|k| k.time))
            .chain(self.events.iter().map(|e| e.time))
            .fold(0.0f32, f32::max);
        self.duration = match duration {
            Some(d) if !(d.is_finite() && d > 0.0) => {
                return Err(err(format!("duration {d} must be a positive number")));
            }
            Some(d) => d,
            None => last,
        };
        Ok(self)
    }

    /// What happens at the end.
    pub fn mode(&self) -> PlayMode {
        self.mode
    }

    /// Builder: another play mode.
    pub fn with_mode(mut self, mode: PlayMode) -> Self {
        self.mode = mode;
        self
    }

    /// Length in seconds (one way, for ping-pong).
    pub fn duration(&self) -> f32 {
        self.duration
    }

    /// The animated channels.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The named events, in time order.
    pub fn events(&self) -> &[ClipEvent] {
        &self.events
    }

    /// The channels the clip animates.
    pub fn mask(&self) -> FaceMask {
        FaceMask::of(self.tracks.iter().map(|t| t.channel))
    }

    /// Where in the clip `elapsed` seconds of playing are, after looping or ping-ponging.
    pub fn clip_time(&self, elapsed: f32) -> f32 {
        let d = self.duration;
        if d.is_nan() || d <= 0.0 || !elapsed.is_finite() {
            return 0.0;
        }
        match self.mode {
            PlayMode::Once => elapsed.clamp(0.0, d),
            PlayMode::Loop => elapsed.rem_euclid(d),
            PlayMode::PingPong => {
                let p = elapsed.rem_euclid(2.0 * d);
                if p <= d { p } else { 2.0 * d - p }
            }
        }
    }

    /// Whether a clip played for `elapsed` seconds has ended (only [`PlayMode::Once`] clips end).
    pub fn is_finished(&self, elapsed: f32) -> bool {
        self.mode == PlayMode::Once && elapsed >= self.duration
    }

    /// The face at clip time `time` (no looping applied): animated channels from their tracks, the rest
    /// neutral. `frame.time` is `time`.
    pub fn sample(&self, time: f32) -> FaceFrame {
        let mut values = FaceFrame::neutral().to_channels();
        for t in &self.tracks {
            values[t.channel.index()] = t.sample(time);
        }
        FaceFrame::from_channels(&values, time as f64)
    }

    /// The clip at `time` as a layer with weight 1 on the animated channels.
    pub fn layer_at(&self, time: f32) -> FaceLayer {
        FaceLayer::new(self.sample(time), 1.0, self.mask())
    }

    /// The events passed while playing from `from` to `to` seconds (elapsed, before looping): those at
    /// times in `(from, to]`. Loops pass an event once per cycle, ping-pongs twice (once each way, once at
    /// the turning points). Events at time 0 of the first cycle are [`events_at_start`](Self::events_at_start).
    pub fn events_between(&self, from: f32, to: f32) -> Vec<&ClipEvent> {
        let mut out = Vec::new();
        if to.is_nan() || from.is_nan() || to <= from || self.events.is_empty() {
            return out;
        }
        let d = self.duration;
        if self.mode == PlayMode::Once || d.is_nan() || d <= 0.0 {
            out.extend(self.events.iter().filter(|e| e.time > from && e.time <= to));
            return out;
        }
        let period = if self.mode == PlayMode::Loop {
            d
        } else {
            2.0 * d
        };
        let last_cycle = (to / period).floor() as i64;
        // A huge step (speed or a stall) passes each event at most a hundred times, not forever.
        let first_cycle = ((from / period).floor() as i64).max(last_cycle - 100);
        let mut hits: Vec<(f32, &ClipEvent)> = Vec::new();
        for cycle in first_cycle..=last_cycle {
            let base = cycle as f32 * period;
            for e in &self.events {
                let mut times = vec![base + e.time];
                if self.mode == PlayMode::PingPong && e.time > 0.0 && e.time < d {
                    times.push(base + 2.0 * d - e.time);
                }
                hits.extend(
                    times
                        .into_iter()
                        .filter(|t| *t > from && *t <= to)
                        .map(|t| (t, e)),
                );
            }
        }
        hits.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.extend(hits.into_iter().map(|(_, e)| e));
        out
    }

    /// The events at time 0, passed when the clip starts.
    pub fn events_at_start(&self) -> impl Iterator<Item = &ClipEvent> {
        self.events.iter().filter(|e| e.time <= 0.0)
    }

    /// A clip through recorded faces: one linear key per frame on every channel that ever leaves neutral,
    /// times from `frame.time` minus the first frame's. Frames must be in time order.
    pub fn from_frames(frames: &[FaceFrame]) -> Result<Self> {
        let Some(first) = frames.first() else {
            return FaceClip::new(PlayMode::Once, Vec::new(), Vec::new());
        };
        let t0 = first.time;
        let mut tracks = Vec::new();
        for c in Channel::all() {
            if frames.iter().all(|f| f.channel(c) == c.neutral()) {
                continue;
            }
            let keys = frames
                .iter()
                .map(|f| Keyframe {
                    time: (f.time - t0) as f32,
                    value: f.channel(c),
                    interpolation: Interpolation::Linear,
                })
                .collect();
            tracks.push(Track { channel: c, keys });
        }
        let duration = frames.last().map_or(0.0, |f| (f.time - t0) as f32);
        let mut clip = FaceClip::new(PlayMode::Once, tracks, Vec::new())?;
        clip.duration = duration.max(clip.duration);
        Ok(clip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::face::Expression;

    const JAW: Channel = Channel::Expression(Expression::JawOpen);

    fn clip(text: &str) -> FaceClip {
        FaceClip::from_ron(text, "test.face.ron").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_interpolation_is_exact_at_keys_and_midpoints() {
        let c = clip(
            r#"(keys: [
                (time: 0.0, expressions: {"jawOpen": 0.0}, interpolation: Step),
                (time: 1.0, expressions: {"jawOpen": 0.4}, interpolation: Linear),
                (time: 2.0, expressions: {"jawOpen": 0.8}, interpolation: Ease),
                (time: 3.0, expressions: {"jawOpen": 0.2}),
                (time: 5.0, expressions: {"jawOpen": 1.0}),
                (time: 6.0, expressions: {"jawOpen": 0.6}),
            ])"#,
        );
        let at = |t: f32| c.sample(t).expressions.get(Expression::JawOpen);
        for (t, v) in [
            (0.0, 0.0),
            (1.0, 0.4),
            (2.0, 0.8),
            (3.0, 0.2),
            (5.0, 1.0),
            (6.0, 0.6),
        ] {
            assert!((at(t) - v).abs() < 1e-6, "key at {t}: {} != {v}", at(t));
        }
        assert_eq!(at(0.5), 0.0, "step holds");
        assert_eq!(at(0.999), 0.0, "step holds until the next key");
        assert!((at(1.5) - 0.6).abs() < 1e-6, "linear midpoint");
        assert!((at(1.25) - 0.5).abs() < 1e-6, "linear quarter");
        assert!((at(2.5) - 0.5).abs() < 1e-6, "ease midpoint");
        // Ease: smoothstep(0.25) = 0.15625 of the way from 0.8 to 0.2.
        assert!(
            (at(2.25) - (0.8 - 0.6 * 0.15625)).abs() < 1e-6,
            "ease quarter"
        );
        // Smooth (Catmull-Rom) from key 3 (t=3, 0.2) to key 4 (t=5, 1.0): tangents (1.0-0.8)/(5-2) at
        // key 3 and (0.6-0.2)/(6-3) at key 4; midpoint = mean + dt * (m0 - m1) / 8.
        let (m0, m1) = (0.2 / 3.0, 0.4 / 3.0);
        let expected = 0.6 + 2.0 * (m0 - m1) / 8.0;
        assert!(
            (at(4.0) - expected).abs() < 1e-6,
            "smooth midpoint {}",
            at(4.0)
        );
        // The last key is still: its segment eases into it from the previous key's tangent.
        assert!((at(7.0) - 0.6).abs() < 1e-6, "holds after the end");
        assert_eq!(c.duration(), 6.0);
        assert_eq!(c.mask(), FaceMask::of([JAW]));
    }

    #[test]
    fn loop_and_ping_pong_map_time_and_pass_events() {
        let text = r#"(mode: Loop, keys: [(time: 0.0, expressions: {"jawOpen": 0.0}), (time: 2.0, expressions: {"jawOpen": 1.0}, interpolation: Linear)],
            events: [(time: 0.5, name: "a"), (time: 2.0, name: "end")])"#;
        let c = clip(text);
        assert_eq!(c.clip_time(2.5), 0.5);
        let names = |v: Vec<&ClipEvent>| v.into_iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(c.events_between(0.0, 4.2)), ["a", "end", "a", "end"]);
        assert_eq!(names(c.events_between(0.4, 0.5)), ["a"]);
        assert_eq!(names(c.events_between(0.5, 0.6)), Vec::<String>::new());
        let p = c.clone().with_mode(PlayMode::PingPong);
        assert_eq!(p.clip_time(2.5), 1.5);
        assert_eq!(p.clip_time(4.0), 0.0);
        assert_eq!(names(p.events_between(0.0, 4.0)), ["a", "end", "a"]);
        let o = c.with_mode(PlayMode::Once);
        assert_eq!(o.clip_time(9.0), 2.0);
        assert!(o.is_finished(2.0));
        assert_eq!(names(o.events_between(1.9, 2.1)), ["end"]);
        assert_eq!(names(o.events_between(2.1, 2.3)), Vec::<String>::new());
    }
}
