//! The `*.face.ron` file format of [`FaceClip`]s: reading and writing it, and the asset loader.

use std::collections::BTreeMap;
use std::path::Path;

use bevy::asset::io::Reader;
use bevy::asset::{AssetLoader, LoadContext};
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::{ClipEvent, FaceClip, Interpolation, Keyframe, PlayMode, Track};
use crate::error::{Error, Result};
use crate::face::{Channel, Expression};

impl FaceClip {
    /// Parses a clip from the text of a `*.face.ron` file; `path` names it in errors, which give the line
    /// and column of syntax errors.
    pub fn from_ron(text: &str, path: &str) -> Result<Self> {
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let file: ClipFile = options.from_str(text).map_err(|e| Error::Clip {
            path: path.to_owned(),
            problem: format!(
                "line {}, column {}: {}",
                e.span.start.line, e.span.start.col, e.code
            ),
        })?;
        file.into_clip(path)
    }

    /// Reads a `*.face.ron` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Clip {
            path: path.display().to_string(),
            problem: format!("cannot read the file: {e}"),
        })?;
        Self::from_ron(&text, &path.display().to_string())
    }

    /// The clip as `*.face.ron` text (values to 5 decimals).
    pub fn to_ron(&self) -> String {
        let file = ClipFile::from_clip(self);
        let config = ron::ser::PrettyConfig::new()
            .depth_limit(3)
            .extensions(ron::extensions::Extensions::IMPLICIT_SOME);
        ron::ser::to_string_pretty(&file, config).unwrap_or_default()
    }

    /// Writes the clip to a `*.face.ron` file, atomically (a temporary file in the same folder, flushed,
    /// then renamed over it): a crash mid-save leaves the old file. If the clip cannot be written as RON,
    /// that is the error and nothing is written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let err = |problem: String| Error::Clip {
            path: path.display().to_string(),
            problem,
        };
        let config = ron::ser::PrettyConfig::new()
            .depth_limit(3)
            .extensions(ron::extensions::Extensions::IMPLICIT_SOME);
        let text = ron::ser::to_string_pretty(&ClipFile::from_clip(self), config)
            .map_err(|e| err(format!("cannot write the clip as RON: {e}")))?;
        crate::files::write_atomic(path, text.as_bytes(), crate::files::Replace::Always)
            .map(|_| ())
            .map_err(|e| err(format!("cannot write the file: {e}")))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClipFile {
    #[serde(default)]
    mode: PlayMode,
    #[serde(default)]
    interpolation: Interpolation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration: Option<f32>,
    keys: Vec<KeyFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    events: Vec<ClipEvent>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    time: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interpolation: Option<Interpolation>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    channel_interpolation: BTreeMap<Channel, Interpolation>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    expressions: BTreeMap<Expression, f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<HeadKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gaze: Option<GazeKey>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HeadKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    yaw: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pitch: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    roll: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    y: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    z: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale: Option<f32>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GazeKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    yaw: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pitch: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left: Option<(f32, f32)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    right: Option<(f32, f32)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left_yaw: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left_pitch: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    right_yaw: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    right_pitch: Option<f32>,
}

impl GazeKey {
    /// The most compact spelling of the same four optional values.
    fn tidy(&mut self) {
        let v = [
            self.left_yaw,
            self.left_pitch,
            self.right_yaw,
            self.right_pitch,
        ];
        if let [Some(ly), Some(lp), Some(ry), Some(rp)] = v
            && ly == ry
            && lp == rp
        {
            *self = GazeKey {
                yaw: Some(ly),
                pitch: Some(lp),
                ..GazeKey::default()
            };
            return;
        }
        if let (Some(y), Some(p)) = (self.left_yaw, self.left_pitch) {
            self.left = Some((y, p));
            (self.left_yaw, self.left_pitch) = (None, None);
        }
        if let (Some(y), Some(p)) = (self.right_yaw, self.right_pitch) {
            self.right = Some((y, p));
            (self.right_yaw, self.right_pitch) = (None, None);
        }
    }
}

impl KeyFile {
    fn values(&self) -> Vec<(Channel, f32)> {
        let mut v: Vec<(Channel, f32)> = self
            .expressions
            .iter()
            .map(|(e, w)| (Channel::Expression(*e), *w))
            .collect();
        if let Some(h) = &self.head {
            for (c, x) in [
                (Channel::HeadYaw, h.yaw),
                (Channel::HeadPitch, h.pitch),
                (Channel::HeadRoll, h.roll),
                (Channel::HeadX, h.x),
                (Channel::HeadY, h.y),
                (Channel::HeadZ, h.z),
                (Channel::HeadScale, h.scale),
            ] {
                if let Some(x) = x {
                    v.push((c, x));
                }
            }
        }
        if let Some(g) = &self.gaze {
            let both = [
                (Channel::GazeLeftYaw, g.yaw),
                (Channel::GazeRightYaw, g.yaw),
                (Channel::GazeLeftPitch, g.pitch),
                (Channel::GazeRightPitch, g.pitch),
            ];
            let each = [
                (Channel::GazeLeftYaw, g.left.map(|l| l.0)),
                (Channel::GazeLeftPitch, g.left.map(|l| l.1)),
                (Channel::GazeRightYaw, g.right.map(|r| r.0)),
                (Channel::GazeRightPitch, g.right.map(|r| r.1)),
                (Channel::GazeLeftYaw, g.left_yaw),
                (Channel::GazeLeftPitch, g.left_pitch),
                (Channel::GazeRightYaw, g.right_yaw),
                (Channel::GazeRightPitch, g.right_pitch),
            ];
            for (c, x) in both.into_iter().chain(each) {
                if let Some(x) = x {
                    v.retain(|(old, _)| *old != c);
                    v.push((c, x));
                }
            }
        }
        v
    }

    fn set(&mut self, c: Channel, x: f32) {
        match c {
            Channel::Expression(e) => {
                self.expressions.insert(e, x);
            }
            Channel::HeadYaw => self.head.get_or_insert_default().yaw = Some(x),
            Channel::HeadPitch => self.head.get_or_insert_default().pitch = Some(x),
            Channel::HeadRoll => self.head.get_or_insert_default().roll = Some(x),
            Channel::HeadX => self.head.get_or_insert_default().x = Some(x),
            Channel::HeadY => self.head.get_or_insert_default().y = Some(x),
            Channel::HeadZ => self.head.get_or_insert_default().z = Some(x),
            Channel::HeadScale => self.head.get_or_insert_default().scale = Some(x),
            Channel::GazeLeftYaw => self.gaze.get_or_insert_default().left_yaw = Some(x),
            Channel::GazeLeftPitch => self.gaze.get_or_insert_default().left_pitch = Some(x),
            Channel::GazeRightYaw => self.gaze.get_or_insert_default().right_yaw = Some(x),
            Channel::GazeRightPitch => self.gaze.get_or_insert_default().right_pitch = Some(x),
        }
    }
}

/// Rounds to 5 decimals so files stay readable (1e-5 is far below anything visible).
fn quantise(x: f32) -> f32 {
    ((x as f64 * 1e5).round() / 1e5) as f32
}

impl ClipFile {
    fn into_clip(self, path: &str) -> Result<FaceClip> {
        let err = |problem: String| Error::Clip {
            path: path.to_owned(),
            problem,
        };
        let mut tracks: BTreeMap<Channel, Vec<Keyframe>> = BTreeMap::new();
        let mut previous: Option<f32> = None;
        for (i, key) in self.keys.iter().enumerate() {
            if !(key.time.is_finite() && key.time >= 0.0) {
                return Err(err(format!(
                    "key {} (time {}): times must be finite and >= 0",
                    i + 1,
                    key.time
                )));
            }
            if let Some(p) = previous
                && key.time <= p
            {
                return Err(err(format!(
                    "key {} (time {}) does not come after key {} (time {p}): keys must be in time order",
                    i + 1,
                    key.time,
                    i
                )));
            }
            previous = Some(key.time);
            for (c, value) in key.values() {
                if !value.is_finite() {
                    return Err(err(format!(
                        "key {} (time {}): `{c}` is not a finite number",
                        i + 1,
                        key.time
                    )));
                }
                let interpolation = key
                    .channel_interpolation
                    .get(&c)
                    .copied()
                    .or(key.interpolation)
                    .unwrap_or(self.interpolation);
                tracks.entry(c).or_default().push(Keyframe {
                    time: key.time,
                    value,
                    interpolation,
                });
            }
        }
        let clip = FaceClip {
            mode: self.mode,
            duration: 0.0,
            tracks: tracks
                .into_iter()
                .map(|(channel, keys)| Track { channel, keys })
                .collect(),
            events: {
                let mut e = self.events;
                e.sort_by(|a, b| a.time.total_cmp(&b.time));
                e
            },
        };
        clip.finish(self.duration, path)
    }

    fn from_clip(clip: &FaceClip) -> ClipFile {
        // The most common interpolation becomes the default; keys that differ say theirs.
        let mut counts: BTreeMap<u8, usize> = BTreeMap::new();
        for k in clip.tracks.iter().flat_map(|t| &t.keys) {
            *counts.entry(k.interpolation as u8).or_default() += 1;
        }
        let all = [
            Interpolation::Step,
            Interpolation::Linear,
            Interpolation::Ease,
            Interpolation::Smooth,
        ];
        let default = counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map_or(Interpolation::Smooth, |(i, _)| all[*i as usize]);
        let mut keys: BTreeMap<u32, (KeyFile, Vec<(Channel, Interpolation)>)> = BTreeMap::new();
        for t in &clip.tracks {
            for k in &t.keys {
                let (key, interps) = keys.entry(k.time.to_bits()).or_insert_with(|| {
                    let key = KeyFile {
                        time: k.time,
                        ..KeyFile::default()
                    };
                    (key, Vec::new())
                });
                key.set(t.channel, quantise(k.value));
                interps.push((t.channel, k.interpolation));
            }
        }
        // Each key says its most common interpolation if that is not the clip's; channels that differ
        // from the key's say theirs.
        let mut keys: Vec<KeyFile> = keys
            .into_values()
            .map(|(mut key, interps)| {
                let mut count = [0usize; 4];
                for (_, i) in &interps {
                    count[*i as usize] += 1;
                }
                let most = (0..4)
                    .max_by_key(|i| (count[*i], *i == default as usize))
                    .unwrap_or(0);
                let key_interp = all[most];
                if key_interp != default {
                    key.interpolation = Some(key_interp);
                }
                for (c, i) in interps {
                    if i != key_interp {
                        key.channel_interpolation.insert(c, i);
                    }
                }
                key
            })
            .collect();
        for k in &mut keys {
            if let Some(g) = &mut k.gaze {
                g.tidy();
            }
        }
        keys.sort_by(|a, b| a.time.total_cmp(&b.time));
        let last = keys
            .last()
            .map(|k| k.time)
            .into_iter()
            .chain(clip.events.iter().map(|e| e.time))
            .fold(0.0f32, f32::max);
        ClipFile {
            mode: clip.mode,
            interpolation: default,
            duration: (clip.duration != last && clip.duration > 0.0).then_some(clip.duration),
            keys,
            events: clip.events.clone(),
        }
    }
}

/// Loads `*.face.ron` files into [`FaceClip`]s.
#[derive(TypePath, Default)]
pub struct FaceClipLoader;

impl AssetLoader for FaceClipLoader {
    type Asset = FaceClip;
    type Settings = ();
    type Error = Error;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        load_context: &mut LoadContext<'_>,
    ) -> Result<FaceClip, Error> {
        let path = load_context.path().to_string();
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::Clip {
                path: path.clone(),
                problem: format!("cannot read the file: {e}"),
            })?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Clip {
            path: path.clone(),
            problem: format!("not UTF-8 text: {e}"),
        })?;
        FaceClip::from_ron(&text, &path)
    }

    fn extensions(&self) -> &[&str] {
        &["face.ron"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(text: &str) -> FaceClip {
        FaceClip::from_ron(text, "test.face.ron").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sparse_keys_animate_only_their_channels() {
        let c = clip(
            r#"(interpolation: Linear, keys: [
                (time: 0.0, expressions: {"jawOpen": 0.0}, head: (yaw: 0.2)),
                (time: 1.0, expressions: {"mouthSmileLeft": 1.0}, gaze: (yaw: 0.1, pitch: -0.1)),
                (time: 2.0, expressions: {"jawOpen": 1.0}, gaze: (left: (0.3, 0.0))),
            ])"#,
        );
        let f = c.sample(1.0);
        assert!((f.expressions.get(Expression::JawOpen) - 0.5).abs() < 1e-6);
        assert_eq!(f.head.yaw, 0.2);
        assert_eq!(f.gaze.left, [0.1, -0.1]);
        let f = c.sample(1.5);
        assert!((f.gaze.left[0] - 0.2).abs() < 1e-6);
        assert_eq!(f.gaze.right, [0.1, -0.1], "right eye keyed only at 1.0");
        assert!(!c.mask().contains(Channel::HeadPitch));
        assert!(c.mask().contains(Channel::GazeRightPitch));
    }

    #[test]
    fn malformed_clips_name_the_file_line_and_column() {
        let err = FaceClip::from_ron(
            "(\n  keys: [\n    (time: 0.0, expressions: {\"jawOpen\" 0.5}),\n  ],\n)",
            "clips/bad.face.ron",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("clips/bad.face.ron"), "{err}");
        assert!(err.contains("line 3, column"), "{err}");
        let err = FaceClip::from_ron(
            "(keys: [\n(time: 0.0, expressions: {\"jawOpened\": 0.5})])",
            "x.face.ron",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 2") && err.contains("jawOpened"), "{err}");
        let err = FaceClip::from_ron("(keys: [(time: 1.0), (time: 0.5)])", "y.face.ron")
            .unwrap_err()
            .to_string();
        assert!(err.contains("key 2 (time 0.5)"), "{err}");
        let err = FaceClip::from_ron("(keys: [], mode: Forever)", "z.face.ron")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Forever"), "{err}");
    }

    #[test]
    fn keys_with_mixed_interpolations_round_trip() {
        let c = clip(
            r#"(keys: [
                (time: 0.0, expressions: {"jawOpen": 0.0}, head: (yaw: 0.0), interpolation: Linear, channel_interpolation: {"headYaw": Step}),
                (time: 1.0, expressions: {"jawOpen": 1.0}, head: (yaw: 1.0)),
            ])"#,
        );
        assert!((c.sample(0.5).expressions.get(Expression::JawOpen) - 0.5).abs() < 1e-6);
        assert_eq!(c.sample(0.5).head.yaw, 0.0);
        let back = FaceClip::from_ron(&c.to_ron(), "mixed.face.ron").unwrap();
        assert_eq!(back, c, "{}", c.to_ron());
    }

    #[test]
    fn clips_round_trip_through_ron() {
        let c = clip(
            r#"(mode: PingPong, keys: [
                (time: 0.0, expressions: {"jawOpen": 0.125}, head: (yaw: 0.2, scale: 1.1)),
                (time: 0.5, expressions: {"jawOpen": 0.75}, interpolation: Step, gaze: (left: (0.1, 0.2))),
                (time: 1.0, expressions: {"eyeBlinkLeft": 1.0}),
            ], events: [(time: 0.5, name: "mid")], duration: 1.5)"#,
        );
        let text = c.to_ron();
        let back = FaceClip::from_ron(&text, "round.face.ron").unwrap();
        assert_eq!(back, c, "{text}");
    }
}
