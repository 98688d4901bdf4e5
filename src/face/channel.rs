//! A [`FaceFrame`] as 63 numbered channels, and masks over them ([`FaceMask`]): the common ground of
//! clips, layers, recordings and blending.

use std::fmt;
use std::ops::{BitAnd, BitOr, Not};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Expression, FaceFrame};

/// One number of a [`FaceFrame`]: an expression weight, a head-pose component or a gaze angle.
///
/// Channels `0..52` are the [`Expression`]s in index order; the 11 after them are the head pose and gaze.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// An ARKit expression weight, `0..=1`.
    Expression(Expression),
    /// [`HeadPose::yaw`](super::HeadPose::yaw), radians.
    HeadYaw,
    /// [`HeadPose::pitch`](super::HeadPose::pitch), radians.
    HeadPitch,
    /// [`HeadPose::roll`](super::HeadPose::roll), radians.
    HeadRoll,
    /// `HeadPose::translation[0]`, face widths.
    HeadX,
    /// `HeadPose::translation[1]`, face widths.
    HeadY,
    /// `HeadPose::translation[2]`, face widths.
    HeadZ,
    /// [`HeadPose::scale`](super::HeadPose::scale).
    HeadScale,
    /// `Gaze::left[0]`, radians.
    GazeLeftYaw,
    /// `Gaze::left[1]`, radians.
    GazeLeftPitch,
    /// `Gaze::right[0]`, radians.
    GazeRightYaw,
    /// `Gaze::right[1]`, radians.
    GazeRightPitch,
}

const POSE: [(Channel, &str); 11] = [
    (Channel::HeadYaw, "headYaw"),
    (Channel::HeadPitch, "headPitch"),
    (Channel::HeadRoll, "headRoll"),
    (Channel::HeadX, "headX"),
    (Channel::HeadY, "headY"),
    (Channel::HeadZ, "headZ"),
    (Channel::HeadScale, "headScale"),
    (Channel::GazeLeftYaw, "gazeLeftYaw"),
    (Channel::GazeLeftPitch, "gazeLeftPitch"),
    (Channel::GazeRightYaw, "gazeRightYaw"),
    (Channel::GazeRightPitch, "gazeRightPitch"),
];

impl Channel {
    /// Number of channels (63).
    pub const COUNT: usize = Expression::COUNT + POSE.len();

    /// The channel's position, `0..63`.
    pub fn index(self) -> usize {
        match self {
            Channel::Expression(e) => e as usize,
            other => Expression::COUNT + POSE.iter().position(|(c, _)| *c == other).unwrap_or(0),
        }
    }

    /// The channel at `index`, if `index < 63`.
    pub fn from_index(index: usize) -> Option<Channel> {
        match Expression::from_index(index) {
            Some(e) => Some(Channel::Expression(e)),
            None => POSE.get(index - Expression::COUNT).map(|(c, _)| *c),
        }
    }

    /// Every channel, in index order.
    pub fn all() -> impl Iterator<Item = Channel> {
        (0..Self::COUNT).filter_map(Self::from_index)
    }

    /// The name used in files: the ARKit name for expressions, `headYaw`, `gazeLeftPitch`, ... otherwise.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Expression(e) => e.name(),
            other => POSE[other.index() - Expression::COUNT].1,
        }
    }

    /// The channel's value in a neutral face (1 for `headScale`, 0 for everything else).
    pub fn neutral(self) -> f32 {
        if self == Channel::HeadScale { 1.0 } else { 0.0 }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is neither an ARKit blendshape nor a pose channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a face channel (expected an ARKit name such as `jawOpen`, or one of headYaw, headPitch, \
     headRoll, headX, headY, headZ, headScale, gazeLeftYaw, gazeLeftPitch, gazeRightYaw, gazeRightPitch)"
)]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(e) = s.parse::<Expression>() {
            return Ok(Channel::Expression(e));
        }
        POSE.iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(c, _)| *c)
            .ok_or_else(|| UnknownChannel(s.to_owned()))
    }
}

impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl FaceFrame {
    /// The value of one channel.
    pub fn channel(&self, channel: Channel) -> f32 {
        match channel {
            Channel::Expression(e) => self.expressions.get(e),
            Channel::HeadYaw => self.head.yaw,
            Channel::HeadPitch => self.head.pitch,
            Channel::HeadRoll => self.head.roll,
            Channel::HeadX => self.head.translation[0],
            Channel::HeadY => self.head.translation[1],
            Channel::HeadZ => self.head.translation[2],
            Channel::HeadScale => self.head.scale,
            Channel::GazeLeftYaw => self.gaze.left[0],
            Channel::GazeLeftPitch => self.gaze.left[1],
            Channel::GazeRightYaw => self.gaze.right[0],
            Channel::GazeRightPitch => self.gaze.right[1],
        }
    }

    /// Sets one channel (expression weights are clamped to `0..=1`).
    pub fn set_channel(&mut self, channel: Channel, value: f32) {
        match channel {
            Channel::Expression(e) => self.expressions.set(e, value),
            Channel::HeadYaw => self.head.yaw = value,
            Channel::HeadPitch => self.head.pitch = value,
            Channel::HeadRoll => self.head.roll = value,
            Channel::HeadX => self.head.translation[0] = value,
            Channel::HeadY => self.head.translation[1] = value,
            Channel::HeadZ => self.head.translation[2] = value,
            Channel::HeadScale => self.head.scale = value,
            Channel::GazeLeftYaw => self.gaze.left[0] = value,
            Channel::GazeLeftPitch => self.gaze.left[1] = value,
            Channel::GazeRightYaw => self.gaze.right[0] = value,
            Channel::GazeRightPitch => self.gaze.right[1] = value,
        }
    }

    /// All 63 channels in index order.
    pub fn to_channels(&self) -> [f32; Channel::COUNT] {
        let mut out = [0.0; Channel::COUNT];
        out[..Expression::COUNT].copy_from_slice(&self.expressions.0);
        let h = &self.head;
        let rest = [
            h.yaw,
            h.pitch,
            h.roll,
            h.translation[0],
            h.translation[1],
            h.translation[2],
            h.scale,
            self.gaze.left[0],
            self.gaze.left[1],
            self.gaze.right[0],
            self.gaze.right[1],
        ];
        out[Expression::COUNT..].copy_from_slice(&rest);
        out
    }

    /// The frame `t` of the way from `self` to `to`, channel by channel (and time); `t` in `0..=1`.
    pub fn lerp(&self, to: &FaceFrame, t: f32) -> FaceFrame {
        let (a, b) = (self.to_channels(), to.to_channels());
        let mut out = [0.0; Channel::COUNT];
        for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
            *o = a + (b - a) * t;
        }
        FaceFrame::from_channels(&out, self.time + (to.time - self.time) * t as f64)
    }

    /// A frame from 63 channel values (expression weights clamped to `0..=1`).
    pub fn from_channels(values: &[f32; Channel::COUNT], time: f64) -> FaceFrame {
        let mut f = FaceFrame {
            time,
            ..FaceFrame::default()
        };
        for (i, &v) in values.iter().enumerate().take(Expression::COUNT) {
            f.expressions.0[i] = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        }
        let r = &values[Expression::COUNT..];
        f.head.yaw = r[0];
        f.head.pitch = r[1];
        f.head.roll = r[2];
        f.head.translation = [r[3], r[4], r[5]];
        f.head.scale = r[6];
        f.gaze.left = [r[7], r[8]];
        f.gaze.right = [r[9], r[10]];
        f
    }
}

/// A set of [`Channel`]s: which parts of the face a layer, a clip or a driver may move.
///
/// Regions combine with `|` and `&`: `FaceMask::MOUTH | FaceMask::HEAD`. A talk clip on
/// [`MOUTH`](Self::MOUTH) can own the mouth while webcam tracking keeps the rest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FaceMask(pub u64);

const fn bits(from: usize, to: usize) -> u64 {
    let mut m = 0u64;
    let mut i = from;
    while i <= to {
        m |= 1 << i;
        i += 1;
    }
    m
}

impl FaceMask {
    /// No channel.
    pub const NONE: FaceMask = FaceMask(0);
    /// Every channel.
    pub const ALL: FaceMask = FaceMask(bits(0, Channel::COUNT - 1));
    /// Head rotation, translation and scale.
    pub const HEAD: FaceMask = FaceMask(bits(Expression::COUNT, Expression::COUNT + 6));
    /// Where the eyes look: the `eyeLook*` weights and the gaze angles.
    pub const GAZE: FaceMask =
        FaceMask(bits(1, 4) | bits(8, 11) | bits(Expression::COUNT + 7, Expression::COUNT + 10));
    /// The lids: blinks, squints, wide eyes.
    pub const EYES: FaceMask = FaceMask(1 << 0 | bits(5, 6) | 1 << 7 | bits(12, 13));
    /// The brows.
    pub const BROWS: FaceMask = FaceMask(bits(41, 45));
    /// Jaw, lips, mouth and tongue: what speech moves.
    pub const MOUTH: FaceMask = FaceMask(bits(14, 40) | 1 << 51);
    /// Cheeks and nose (puff, squint, sneer).
    pub const CHEEKS: FaceMask = FaceMask(bits(46, 50));
    /// Every expression weight and the gaze: everything but the head pose.
    pub const FACE: FaceMask = FaceMask(Self::ALL.0 & !Self::HEAD.0);

    /// The mask of the given channels.
    pub fn of(channels: impl IntoIterator<Item = Channel>) -> FaceMask {
        FaceMask(channels.into_iter().fold(0, |m, c| m | 1 << c.index()))
    }

    /// Whether `channel` is in the mask.
    pub fn contains(self, channel: Channel) -> bool {
        self.0 & (1 << channel.index()) != 0
    }

    /// Whether the channel at `index` is in the mask.
    pub fn contains_index(self, index: usize) -> bool {
        index < Channel::COUNT && self.0 & (1 << index) != 0
    }

    /// The channels in the mask, in index order.
    pub fn channels(self) -> impl Iterator<Item = Channel> {
        Channel::all().filter(move |c| self.contains(*c))
    }

    /// Whether no channel is in the mask.
    pub fn is_empty(self) -> bool {
        self.0 & Self::ALL.0 == 0
    }
}

impl BitOr for FaceMask {
    type Output = FaceMask;
    fn bitor(self, rhs: FaceMask) -> FaceMask {
        FaceMask(self.0 | rhs.0)
    }
}

impl BitAnd for FaceMask {
    type Output = FaceMask;
    fn bitand(self, rhs: FaceMask) -> FaceMask {
        FaceMask(self.0 & rhs.0)
    }
}

impl Not for FaceMask {
    type Output = FaceMask;
    fn not(self) -> FaceMask {
        FaceMask(!self.0 & Self::ALL.0)
    }
}

impl fmt::Debug for FaceMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, m) in [
            ("ALL", Self::ALL),
            ("FACE", Self::FACE),
            ("HEAD", Self::HEAD),
            ("GAZE", Self::GAZE),
            ("EYES", Self::EYES),
            ("BROWS", Self::BROWS),
            ("MOUTH", Self::MOUTH),
            ("CHEEKS", Self::CHEEKS),
            ("NONE", Self::NONE),
        ] {
            if *self == m {
                return write!(f, "FaceMask::{name}");
            }
        }
        f.debug_set()
            .entries(self.channels().map(Channel::name))
            .finish()
    }
}

/// Serialised as a list of region or channel names: `["MOUTH", "headYaw"]`.
impl Serialize for FaceMask {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = if *self == Self::ALL {
            vec!["ALL"]
        } else {
            self.channels().map(Channel::name).collect()
        };
        names.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FaceMask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        let mut mask = FaceMask::NONE;
        for name in names {
            mask = mask | name.parse::<FaceMask>().map_err(serde::de::Error::custom)?;
        }
        Ok(mask)
    }
}

impl FromStr for FaceMask {
    type Err = UnknownChannel;
    /// A region name (`ALL`, `FACE`, `HEAD`, `GAZE`, `EYES`, `BROWS`, `MOUTH`, `CHEEKS`, any case) or one
    /// channel's name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let region = match s.to_ascii_uppercase().as_str() {
            "ALL" => Some(Self::ALL),
            "FACE" => Some(Self::FACE),
            "HEAD" => Some(Self::HEAD),
            "GAZE" => Some(Self::GAZE),
            "EYES" => Some(Self::EYES),
            "BROWS" => Some(Self::BROWS),
            "MOUTH" => Some(Self::MOUTH),
            "CHEEKS" => Some(Self::CHEEKS),
            _ => None,
        };
        match region {
            Some(m) => Ok(m),
            None => s.parse::<Channel>().map(|c| FaceMask::of([c])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_through_index_name_and_frame() {
        assert_eq!(Channel::COUNT, 63);
        for (i, c) in Channel::all().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(c.name().parse::<Channel>().unwrap(), c);
        }
        assert_eq!(Channel::all().count(), 63);
        let mut f = FaceFrame::neutral();
        for c in Channel::all() {
            f.set_channel(c, 0.5 + c.index() as f32 * 0.001);
        }
        let values = f.to_channels();
        for c in Channel::all() {
            assert_eq!(values[c.index()], f.channel(c));
        }
        assert_eq!(FaceFrame::from_channels(&values, 0.0), f);
        assert!("gazeLeftPitch".parse::<Channel>().is_ok());
        let err = "jawOpened".parse::<Channel>().unwrap_err();
        assert!(err.to_string().contains("jawOpened"));
    }

    #[test]
    fn regions_partition_the_channels() {
        let regions = [
            FaceMask::HEAD,
            FaceMask::GAZE,
            FaceMask::EYES,
            FaceMask::BROWS,
            FaceMask::MOUTH,
            FaceMask::CHEEKS,
        ];
        let mut seen = 0u64;
        for r in regions {
            assert_eq!(seen & r.0, 0, "{r:?} overlaps another region");
            seen |= r.0;
        }
        assert_eq!(
            FaceMask(seen),
            FaceMask::ALL,
            "every channel is in a region"
        );
        assert!(FaceMask::MOUTH.contains(Channel::Expression(Expression::JawOpen)));
        assert!(FaceMask::MOUTH.contains(Channel::Expression(Expression::TongueOut)));
        assert!(FaceMask::EYES.contains(Channel::Expression(Expression::EyeBlinkRight)));
        assert!(FaceMask::GAZE.contains(Channel::Expression(Expression::EyeLookUpRight)));
        assert!(FaceMask::GAZE.contains(Channel::GazeRightPitch));
        assert!(FaceMask::HEAD.contains(Channel::HeadScale));
        assert!(!FaceMask::FACE.contains(Channel::HeadYaw));
        assert_eq!(!FaceMask::HEAD, FaceMask::FACE);
        let parsed: FaceMask = "mouth".parse().unwrap();
        assert_eq!(parsed, FaceMask::MOUTH);
    }
}
