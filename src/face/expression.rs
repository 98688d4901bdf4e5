//! The 52 ARKit blendshapes, the expression vocabulary of [`FaceFrame`](super::FaceFrame).

use std::fmt;
use std::str::FromStr;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! expressions {
    ($($variant:ident = $name:literal,)*) => {
        /// One of Apple ARKit's 52 face blendshapes, in the order Live Link Face writes them.
        ///
        /// The index (`as usize`) is the position in [`ExpressionWeights`] and in the `expression` input of
        /// ONNX models that follow this crate's contracts.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum Expression { $($variant,)* }

        impl Expression {
            /// Every expression, in index order.
            pub const ALL: [Expression; 52] = [$(Expression::$variant,)*];

            /// The ARKit name, e.g. `"jawOpen"`.
            pub const fn name(self) -> &'static str {
                match self { $(Expression::$variant => $name,)* }
            }
        }
    };
}

expressions! {
    EyeBlinkLeft = "eyeBlinkLeft",
    EyeLookDownLeft = "eyeLookDownLeft",
    EyeLookInLeft = "eyeLookInLeft",
    EyeLookOutLeft = "eyeLookOutLeft",
    EyeLookUpLeft = "eyeLookUpLeft",
    EyeSquintLeft = "eyeSquintLeft",
    EyeWideLeft = "eyeWideLeft",
    EyeBlinkRight = "eyeBlinkRight",
    EyeLookDownRight = "eyeLookDownRight",
    EyeLookInRight = "eyeLookInRight",
    EyeLookOutRight = "eyeLookOutRight",
    EyeLookUpRight = "eyeLookUpRight",
    EyeSquintRight = "eyeSquintRight",
    EyeWideRight = "eyeWideRight",
    JawForward = "jawForward",
    JawRight = "jawRight",
    JawLeft = "jawLeft",
    JawOpen = "jawOpen",
    MouthClose = "mouthClose",
    MouthFunnel = "mouthFunnel",
    MouthPucker = "mouthPucker",
    MouthRight = "mouthRight",
    MouthLeft = "mouthLeft",
    MouthSmileLeft = "mouthSmileLeft",
    MouthSmileRight = "mouthSmileRight",
    MouthFrownLeft = "mouthFrownLeft",
    MouthFrownRight = "mouthFrownRight",
    MouthDimpleLeft = "mouthDimpleLeft",
    MouthDimpleRight = "mouthDimpleRight",
    MouthStretchLeft = "mouthStretchLeft",
    MouthStretchRight = "mouthStretchRight",
    MouthRollLower = "mouthRollLower",
    MouthRollUpper = "mouthRollUpper",
    MouthShrugLower = "mouthShrugLower",
    MouthShrugUpper = "mouthShrugUpper",
    MouthPressLeft = "mouthPressLeft",
    MouthPressRight = "mouthPressRight",
    MouthLowerDownLeft = "mouthLowerDownLeft",
    MouthLowerDownRight = "mouthLowerDownRight",
    MouthUpperUpLeft = "mouthUpperUpLeft",
    MouthUpperUpRight = "mouthUpperUpRight",
    BrowDownLeft = "browDownLeft",
    BrowDownRight = "browDownRight",
    BrowInnerUp = "browInnerUp",
    BrowOuterUpLeft = "browOuterUpLeft",
    BrowOuterUpRight = "browOuterUpRight",
    CheekPuff = "cheekPuff",
    CheekSquintLeft = "cheekSquintLeft",
    CheekSquintRight = "cheekSquintRight",
    NoseSneerLeft = "noseSneerLeft",
    NoseSneerRight = "noseSneerRight",
    TongueOut = "tongueOut",
}

impl Expression {
    /// Number of expressions (52).
    pub const COUNT: usize = 52;

    /// The expression at `index`, if `index < 52`.
    pub fn from_index(index: usize) -> Option<Expression> {
        Self::ALL.get(index).copied()
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not one of ARKit's 52 blendshapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ARKit blendshape name (expected e.g. `jawOpen`, `eyeBlinkLeft`)")]
pub struct UnknownExpression(pub String);

impl Expression {
    /// The expression named `name`, ARKit's camelCase or, ignoring case, Live Link Face's PascalCase;
    /// `None` for any other name (without allocating, unlike `parse`'s error).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }
}

impl FromStr for Expression {
    type Err = UnknownExpression;

    /// Accepts ARKit's camelCase (`jawOpen`) and, ignoring case, Live Link Face's PascalCase (`JawOpen`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownExpression(s.to_owned()))
    }
}

/// Serialised as its ARKit name (`"jawOpen"`); Live Link Face's `JawOpen` is accepted too.
impl Serialize for Expression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Expression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A weight in `0..=1` for each of the 52 [`Expression`]s.
///
/// Serialised as a map from ARKit name to weight, leaving out zeros: `{"jawOpen": 0.4, "eyeBlinkLeft": 1.0}`.
#[derive(Clone, Copy, PartialEq)]
pub struct ExpressionWeights(pub [f32; Expression::COUNT]);

impl Default for ExpressionWeights {
    fn default() -> Self {
        Self([0.0; Expression::COUNT])
    }
}

impl fmt::Debug for ExpressionWeights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter_nonzero().map(|(e, w)| (e.name(), w)))
            .finish()
    }
}

impl ExpressionWeights {
    /// The weight of `expression`.
    pub fn get(&self, expression: Expression) -> f32 {
        self.0[expression as usize]
    }

    /// Sets the weight of `expression`, clamped to `0..=1`; NaN becomes 0.
    pub fn set(&mut self, expression: Expression, weight: f32) {
        self.0[expression as usize] = sanitize_weight(weight);
    }

    /// Builder form of [`set`](Self::set).
    pub fn with(mut self, expression: Expression, weight: f32) -> Self {
        self.set(expression, weight);
        self
    }

    /// The expressions whose weight is not zero, in index order.
    pub fn iter_nonzero(&self) -> impl Iterator<Item = (Expression, f32)> + '_ {
        Expression::ALL
            .iter()
            .map(|&e| (e, self.get(e)))
            .filter(|(_, w)| *w != 0.0)
    }

    /// The weights as a slice in index order.
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// The weights measured from a neutral face's: each channel's `(w - n) / (1 - n)`, clamped to `0..=1`,
    /// so that what the neutral face already holds reads 0 and the rest keeps the whole range (a neutral
    /// value is taken as at most 0.95, so a channel held high at rest keeps a little range above it).
    pub fn relative_to(&self, neutral: &ExpressionWeights) -> ExpressionWeights {
        let mut out = ExpressionWeights::default();
        for e in Expression::ALL {
            let (w, n) = (self.get(e), neutral.get(e).clamp(0.0, 0.95));
            out.set(e, (w - n) / (1.0 - n));
        }
        out
    }

    /// Clamps every weight to `0..=1` and replaces NaN with 0.
    pub fn sanitize(&mut self) {
        for w in &mut self.0 {
            *w = sanitize_weight(*w);
        }
    }
}

fn sanitize_weight(w: f32) -> f32 {
    if w.is_nan() { 0.0 } else { w.clamp(0.0, 1.0) }
}

impl Serialize for ExpressionWeights {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.iter_nonzero().count()))?;
        for (e, w) in self.iter_nonzero() {
            map.serialize_entry(e.name(), &w)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ExpressionWeights {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WeightsVisitor;
        impl<'de> Visitor<'de> for WeightsVisitor {
            type Value = ExpressionWeights;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from ARKit blendshape name to weight")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut weights = ExpressionWeights::default();
                while let Some((name, weight)) = map.next_entry::<String, f32>()? {
                    let e = name
                        .parse::<Expression>()
                        .map_err(serde::de::Error::custom)?;
                    if !weight.is_finite() {
                        return Err(serde::de::Error::custom(format!(
                            "weight of `{name}` is not a finite number"
                        )));
                    }
                    weights.set(e, weight);
                }
                Ok(weights)
            }
        }
        deserializer.deserialize_map(WeightsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indices_follow_live_link_order() {
        assert_eq!(Expression::ALL.len(), 52);
        for (i, e) in Expression::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i);
            assert_eq!(e.name().parse::<Expression>().unwrap(), *e);
        }
        assert_eq!(Expression::JawOpen as usize, 17);
        assert_eq!(Expression::MouthSmileLeft as usize, 23);
        assert_eq!(Expression::TongueOut as usize, 51);
        assert_eq!(
            "JawOpen".parse::<Expression>().unwrap(),
            Expression::JawOpen
        );
        assert!("jawOpened".parse::<Expression>().is_err());
    }

    #[test]
    fn weights_clamp_and_serialize_as_sparse_map() {
        let mut w = ExpressionWeights::default().with(Expression::JawOpen, 1.5);
        w.set(Expression::EyeBlinkLeft, f32::NAN);
        assert_eq!(w.get(Expression::JawOpen), 1.0);
        assert_eq!(w.get(Expression::EyeBlinkLeft), 0.0);
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(json, r#"{"jawOpen":1.0}"#);
        let back: ExpressionWeights = serde_json::from_str(&json).unwrap();
        assert_eq!(back, w);
        let err = serde_json::from_str::<ExpressionWeights>(r#"{"jawOpened":1.0}"#).unwrap_err();
        assert!(err.to_string().contains("jawOpened"), "{err}");
    }
}
