//! Visemes, the mouth shapes of speech, and [`VisemeTrack`]s of them timed from text, words or phonemes.

use serde::{Deserialize, Serialize};

use crate::face::{Expression, FaceFrame};
use crate::math::smoothstep;

/// A mouth shape of speech (the 15 visemes of the Oculus/Meta set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Viseme {
    /// Silence: the mouth at rest.
    Sil,
    /// p, b, m: lips pressed.
    PP,
    /// f, v: lower lip under the teeth.
    FF,
    /// th: tongue between the teeth.
    TH,
    DD,
    KK,
    CH,
    SS,
    NN,
    RR,
    AA,
    E,
    IH,
    OH,
    OU,
}

impl Viseme {
    /// The ARKit weights of this viseme.
    pub fn weights(self) -> &'static [(Expression, f32)] {
        use Expression::*;
        match self {
            Viseme::Sil => &[],
            Viseme::PP => &[
                (MouthPressLeft, 0.5),
                (MouthPressRight, 0.5),
                (MouthClose, 0.15),
                (MouthRollLower, 0.2),
            ],
            Viseme::FF => &[
                (JawOpen, 0.08),
                (MouthRollLower, 0.55),
                (MouthUpperUpLeft, 0.2),
                (MouthUpperUpRight, 0.2),
            ],
            Viseme::TH => &[(JawOpen, 0.15), (TongueOut, 0.35)],
            Viseme::DD => &[
                (JawOpen, 0.2),
                (MouthStretchLeft, 0.1),
                (MouthStretchRight, 0.1),
            ],
            Viseme::KK => &[
                (JawOpen, 0.25),
                (MouthStretchLeft, 0.05),
                (MouthStretchRight, 0.05),
            ],
            Viseme::CH => &[(JawOpen, 0.15), (MouthFunnel, 0.5), (MouthPucker, 0.2)],
            Viseme::SS => &[
                (JawOpen, 0.07),
                (MouthStretchLeft, 0.3),
                (MouthStretchRight, 0.3),
                (MouthSmileLeft, 0.1),
                (MouthSmileRight, 0.1),
            ],
            Viseme::NN => &[(JawOpen, 0.18)],
            Viseme::RR => &[(JawOpen, 0.15), (MouthFunnel, 0.3), (MouthPucker, 0.3)],
            Viseme::AA => &[
                (JawOpen, 0.6),
                (MouthLowerDownLeft, 0.2),
                (MouthLowerDownRight, 0.2),
            ],
            Viseme::E => &[
                (JawOpen, 0.35),
                (MouthStretchLeft, 0.35),
                (MouthStretchRight, 0.35),
                (MouthSmileLeft, 0.15),
                (MouthSmileRight, 0.15),
            ],
            Viseme::IH => &[
                (JawOpen, 0.2),
                (MouthStretchLeft, 0.4),
                (MouthStretchRight, 0.4),
                (MouthSmileLeft, 0.2),
                (MouthSmileRight, 0.2),
            ],
            Viseme::OH => &[(JawOpen, 0.45), (MouthFunnel, 0.5), (MouthPucker, 0.1)],
            Viseme::OU => &[(JawOpen, 0.15), (MouthPucker, 0.7), (MouthFunnel, 0.3)],
        }
    }

    /// The viseme of an ARPABET phoneme (`AA`, `B`, `CH`, ..., stress digits ignored) or of an IPA or
    /// espeak phoneme symbol (`ə`, `ʃ`, `@`, `aI`, ...); `None` if unknown.
    pub fn from_phoneme(phoneme: &str) -> Option<Viseme> {
        let p: String = phoneme
            .chars()
            .filter(|c| !c.is_ascii_digit() && !"ˈˌː'ʲ,".contains(*c))
            .collect();
        let arpabet = match p.to_ascii_uppercase().as_str() {
            "AA" | "AE" | "AH" | "AW" | "AY" => Some(Viseme::AA),
            "AO" | "OW" | "OY" => Some(Viseme::OH),
            "EH" | "EY" | "ER" => Some(Viseme::E),
            "IH" | "IY" | "Y" => Some(Viseme::IH),
            "UH" | "UW" | "W" => Some(Viseme::OU),
            "B" | "M" | "P" => Some(Viseme::PP),
            "F" | "V" => Some(Viseme::FF),
            "TH" | "DH" => Some(Viseme::TH),
            "T" | "D" => Some(Viseme::DD),
            "K" | "G" | "NG" | "HH" => Some(Viseme::KK),
            "CH" | "JH" | "SH" | "ZH" => Some(Viseme::CH),
            "S" | "Z" => Some(Viseme::SS),
            "N" | "L" => Some(Viseme::NN),
            "R" => Some(Viseme::RR),
            "SIL" | "SP" | "_" => Some(Viseme::Sil),
            _ => None,
        };
        if arpabet.is_some() {
            return arpabet;
        }
        // IPA / espeak: the first symbol decides.
        let c = p.chars().next()?;
        Some(match c {
            'a' | 'ɑ' | 'æ' | 'ʌ' | 'ɐ' | 'A' | 'V' => Viseme::AA,
            'o' | 'ɔ' | 'ɒ' | 'O' | '0' => Viseme::OH,
            'e' | 'ɛ' | 'ə' | 'ɜ' | 'ɚ' | 'E' | '@' | '3' => Viseme::E,
            'i' | 'ɪ' | 'j' | 'I' | 'y' => Viseme::IH,
            'u' | 'ʊ' | 'w' | 'U' => Viseme::OU,
            'p' | 'b' | 'm' => Viseme::PP,
            'f' | 'v' => Viseme::FF,
            'θ' | 'ð' | 'T' | 'D' => Viseme::TH,
            't' | 'd' | 'ɾ' => Viseme::DD,
            'k' | 'g' | 'ɡ' | 'ŋ' | 'h' | 'x' | 'N' => Viseme::KK,
            'ʃ' | 'ʒ' | 'S' | 'Z' | 'ʧ' | 'ʤ' | 'c' => Viseme::CH,
            's' | 'z' => Viseme::SS,
            'n' | 'l' | 'ɫ' => Viseme::NN,
            'r' | 'ɹ' | 'ɻ' | 'R' => Viseme::RR,
            _ => return None,
        })
    }

    /// The visemes of a written English word, by letter rules (digraphs first: th, ch, sh, ph, oo, ee, ng).
    fn of_word(word: &str) -> Vec<Viseme> {
        let w: Vec<char> = word
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphabetic())
            .collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < w.len() {
            let pair: String = w[i..(i + 2).min(w.len())].iter().collect();
            let two = match pair.as_str() {
                "th" => Some(Viseme::TH),
                "ch" | "sh" => Some(Viseme::CH),
                "ph" => Some(Viseme::FF),
                "oo" | "ou" | "ew" => Some(Viseme::OU),
                "ee" | "ea" | "ie" => Some(Viseme::IH),
                "ng" | "ck" => Some(Viseme::KK),
                "ll" | "nn" => Some(Viseme::NN),
                "ss" => Some(Viseme::SS),
                _ => None,
            };
            if let Some(v) = two {
                out.push(v);
                i += 2;
                continue;
            }
            let v = match w[i] {
                'a' => Some(Viseme::AA),
                // A final silent e.
                'e' if i + 1 == w.len() && i > 0 => None,
                'e' => Some(Viseme::E),
                'i' | 'y' => Some(Viseme::IH),
                'o' => Some(Viseme::OH),
                'u' | 'w' => Some(Viseme::OU),
                'b' | 'm' | 'p' => Some(Viseme::PP),
                'f' | 'v' => Some(Viseme::FF),
                't' | 'd' => Some(Viseme::DD),
                'k' | 'c' | 'g' | 'q' | 'x' => Some(Viseme::KK),
                'j' => Some(Viseme::CH),
                's' | 'z' => Some(Viseme::SS),
                'n' | 'l' => Some(Viseme::NN),
                'r' => Some(Viseme::RR),
                _ => None,
            };
            out.extend(v);
            i += 1;
        }
        out
    }
}

/// A viseme starting at a time; it holds until the next key.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisemeKey {
    /// Seconds from the start of the track.
    pub time: f32,
    /// The mouth shape.
    pub viseme: Viseme,
}

/// Timed visemes: from text with timings, from phonemes with timings, or built by hand. Neighbouring
/// visemes blend over a short transition (co-articulation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisemeTrack {
    /// The keys, in time order (the last one should be [`Viseme::Sil`]).
    pub keys: Vec<VisemeKey>,
    /// Seconds over which one viseme blends into the next.
    pub transition: f32,
}

impl VisemeTrack {
    /// A track from keys (sorted by time).
    pub fn new(mut keys: Vec<VisemeKey>) -> Self {
        keys.sort_by(|a, b| a.time.total_cmp(&b.time));
        Self {
            keys,
            transition: 0.06,
        }
    }

    /// `text` spoken from `start` to `end` seconds: words share the time by their number of visemes,
    /// punctuation adds a short pause, and the mouth rests at the end.
    pub fn from_text(text: &str, start: f32, end: f32) -> Self {
        let mut units: Vec<Option<Viseme>> = Vec::new();
        for token in text.split_whitespace() {
            units.extend(Viseme::of_word(token).into_iter().map(Some));
            if token.ends_with([',', '.', ';', ':', '!', '?']) {
                units.push(None);
                units.push(None);
            }
            units.push(None);
        }
        while units.last() == Some(&None) {
            units.pop();
        }
        let step = if units.is_empty() {
            0.0
        } else {
            (end - start).max(0.0) / units.len() as f32
        };
        let mut keys = Vec::new();
        for (i, u) in units.iter().enumerate() {
            keys.push(VisemeKey {
                time: start + i as f32 * step,
                viseme: u.unwrap_or(Viseme::Sil),
            });
        }
        keys.push(VisemeKey {
            time: end.max(start),
            viseme: Viseme::Sil,
        });
        Self::new(keys)
    }

    /// Words with their start and end times (as a speech synthesiser or an aligner gives them).
    pub fn from_words(words: &[(&str, f32, f32)]) -> Self {
        let mut keys = Vec::new();
        for (word, start, end) in words {
            let mut t = Self::from_text(word, *start, *end).keys;
            keys.append(&mut t);
        }
        Self::new(dedup_times(keys))
    }

    /// Phonemes with their start and end times (ARPABET, IPA or espeak symbols; unknown ones are skipped).
    pub fn from_phonemes(phonemes: &[(&str, f32, f32)]) -> Self {
        let mut keys = Vec::new();
        let mut last_end: Option<f32> = None;
        for (p, start, end) in phonemes {
            if let Some(le) = last_end
                && *start > le + 0.02
            {
                keys.push(VisemeKey {
                    time: le,
                    viseme: Viseme::Sil,
                });
            }
            if let Some(v) = Viseme::from_phoneme(p) {
                keys.push(VisemeKey {
                    time: *start,
                    viseme: v,
                });
            }
            last_end = Some(*end);
        }
        if let Some(le) = last_end {
            keys.push(VisemeKey {
                time: le,
                viseme: Viseme::Sil,
            });
        }
        Self::new(dedup_times(keys))
    }

    /// Seconds until the last key.
    pub fn duration(&self) -> f32 {
        self.keys.last().map_or(0.0, |k| k.time)
    }

    /// The mouth at `time`.
    pub fn face_at(&self, time: f32) -> FaceFrame {
        let mut f = FaceFrame::neutral();
        if self.keys.is_empty() || !time.is_finite() {
            return f;
        }
        let i = self.keys.partition_point(|k| k.time <= time);
        let current = if i == 0 {
            Viseme::Sil
        } else {
            self.keys[i - 1].viseme
        };
        let previous = if i >= 2 {
            self.keys[i - 2].viseme
        } else {
            Viseme::Sil
        };
        let since = if i == 0 {
            0.0
        } else {
            time - self.keys[i - 1].time
        };
        let mix = if self.transition > 0.0 {
            smoothstep(0.0, self.transition, since)
        } else {
            1.0
        };
        for (e, w) in previous.weights() {
            f.expressions
                .set(*e, f.expressions.get(*e) + w * (1.0 - mix));
        }
        for (e, w) in current.weights() {
            f.expressions.set(*e, f.expressions.get(*e) + w * mix);
        }
        f
    }
}

fn dedup_times(mut keys: Vec<VisemeKey>) -> Vec<VisemeKey> {
    keys.sort_by(|a, b| a.time.total_cmp(&b.time));
    // A word's closing rest at the very time the next word starts gives way to the word.
    let mut out: Vec<VisemeKey> = Vec::with_capacity(keys.len());
    for k in keys {
        match out.last_mut() {
            Some(last) if last.time == k.time => *last = k,
            _ => out.push(k),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_phonemes_and_words_become_timed_visemes() {
        let t = VisemeTrack::from_text("Hello, bob!", 0.0, 1.0);
        let seq: Vec<Viseme> = t.keys.iter().map(|k| k.viseme).collect();
        assert_eq!(
            seq,
            [
                Viseme::E,
                Viseme::NN,
                Viseme::OH,
                Viseme::Sil,
                Viseme::Sil,
                Viseme::Sil,
                Viseme::PP,
                Viseme::OH,
                Viseme::PP,
                Viseme::Sil
            ]
        );
        assert_eq!(t.duration(), 1.0);
        // The lips are shut on the b of "bob", open on its o, at rest after the end.
        let at = |time: f32| t.face_at(time).expressions;
        let b = t.keys[6].time + 0.08;
        assert!(
            at(b).get(Expression::MouthPressLeft) > 0.4 && at(b).get(Expression::JawOpen) < 0.05
        );
        let o = t.keys[7].time + 0.08;
        assert!(at(o).get(Expression::JawOpen) > 0.4);
        assert_eq!(at(1.5), crate::face::ExpressionWeights::default());
        let p = VisemeTrack::from_phonemes(&[("HH", 0.0, 0.1), ("AH0", 0.1, 0.2), ("M", 0.5, 0.6)]);
        let seq: Vec<Viseme> = p.keys.iter().map(|k| k.viseme).collect();
        assert_eq!(
            seq,
            [Viseme::KK, Viseme::AA, Viseme::Sil, Viseme::PP, Viseme::Sil]
        );
        assert_eq!(Viseme::from_phoneme("ˈəʊ"), Some(Viseme::E));
        assert_eq!(Viseme::from_phoneme("ʃ"), Some(Viseme::CH));
        let w = VisemeTrack::from_words(&[("ma", 0.0, 0.2), ("pa", 0.2, 0.4)]);
        assert_eq!(w.keys.len(), 5, "{:?}", w.keys);
        assert_eq!(w.keys[2].viseme, Viseme::PP);
    }
}
