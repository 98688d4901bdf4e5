//! Import of Unreal Live Link Face recordings (the iPhone app's CSV export) as [`FaceClip`]s.
//!
//! The CSV has a `Timecode` column (`HH:MM:SS:FF.fff`, frames at the app's frame rate), a
//! `BlendShapeCount`, one column per ARKit blendshape (`EyeBlinkLeft`, ... `TongueOut`, in any order,
//! names matched without regard to case), and optionally `HeadYaw`, `HeadPitch`, `HeadRoll`, `LeftEyeYaw`,
//! `LeftEyePitch`, `RightEyeYaw`, `RightEyePitch` (the `*Roll` of the eyes is ignored).

use std::path::Path;

use super::clip::{FaceClip, Interpolation, Keyframe, PlayMode, Track};
use crate::error::{Error, Result};
use crate::face::{Channel, Expression};

/// How to read a Live Link Face CSV.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveLinkImport {
    /// Frames per second of the `FF` field of the timecode (the app records at 60 by default, or 30).
    pub fps: f32,
    /// Head and eye angles in degrees (`Some(true)`), radians (`Some(false)`), or `None` to decide from the
    /// data (any angle beyond 3.5 means degrees).
    pub degrees: Option<bool>,
    /// Negate yaw (recordings made in landscape orientation turn the other way).
    pub flip_yaw: bool,
    /// Negate pitch.
    pub flip_pitch: bool,
}

impl Default for LiveLinkImport {
    fn default() -> Self {
        Self {
            fps: 60.0,
            degrees: None,
            flip_yaw: false,
            flip_pitch: false,
        }
    }
}

/// Seconds of a `HH:MM:SS:FF[.fff]` timecode at `fps`.
fn parse_timecode(text: &str, fps: f32) -> Option<f64> {
    let parts: Vec<&str> = text.trim().split([':', ';']).collect();
    let [h, m, s, f] = parts.as_slice() else {
        return None;
    };
    let h: f64 = h.parse().ok()?;
    let m: f64 = m.parse().ok()?;
    let s: f64 = s.parse().ok()?;
    let f: f64 = f.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s + f / fps as f64)
}

impl LiveLinkImport {
    /// Reads a CSV file.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<FaceClip> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Clip {
            path: path.display().to_string(),
            problem: format!("cannot read the file: {e}"),
        })?;
        self.parse(&text, &path.display().to_string())
    }

    /// Parses the text of a CSV export; `path` names it in errors.
    pub fn parse(&self, text: &str, path: &str) -> Result<FaceClip> {
        let err = |line: usize, problem: String| Error::Clip {
            path: path.to_owned(),
            problem: format!("line {line}: {problem}"),
        };
        if self.fps.is_nan() || self.fps <= 0.0 {
            return Err(err(0, format!("frame rate {} must be positive", self.fps)));
        }
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(err(1, "the file is empty".to_owned()));
        };
        let columns: Vec<&str> = header.split(',').map(str::trim).collect();
        let time_col = columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case("Timecode"))
            .ok_or_else(|| {
                err(
                    1,
                    "no `Timecode` column: not a Live Link Face CSV".to_owned(),
                )
            })?;
        // (column, channel, is an angle)
        let mut mapped: Vec<(usize, Channel, bool)> = Vec::new();
        for (i, name) in columns.iter().enumerate() {
            let angle = match name.to_ascii_lowercase().as_str() {
                "headyaw" => Some(Channel::HeadYaw),
                "headpitch" => Some(Channel::HeadPitch),
                "headroll" => Some(Channel::HeadRoll),
                "lefteyeyaw" => Some(Channel::GazeLeftYaw),
                "lefteyepitch" => Some(Channel::GazeLeftPitch),
                "righteyeyaw" => Some(Channel::GazeRightYaw),
                "righteyepitch" => Some(Channel::GazeRightPitch),
                _ => None,
            };
            if let Some(c) = angle {
                mapped.push((i, c, true));
            } else if let Ok(e) = name.parse::<Expression>() {
                mapped.push((i, Channel::Expression(e), false));
            }
        }
        if !mapped
            .iter()
            .any(|(_, c, _)| matches!(c, Channel::Expression(_)))
        {
            return Err(err(
                1,
                "no ARKit blendshape columns (EyeBlinkLeft, JawOpen, ...)".to_owned(),
            ));
        }
        let mut times = Vec::new();
        let mut rows: Vec<Vec<f32>> = Vec::new();
        for (n, line) in lines {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() < columns.len() {
                return Err(err(
                    n + 1,
                    format!(
                        "{} fields where the header has {}",
                        fields.len(),
                        columns.len()
                    ),
                ));
            }
            let t = parse_timecode(fields[time_col], self.fps).ok_or_else(|| {
                err(
                    n + 1,
                    format!(
                        "bad timecode `{}` (expected HH:MM:SS:FF.fff)",
                        fields[time_col]
                    ),
                )
            })?;
            let mut row = Vec::with_capacity(mapped.len());
            for (col, channel, _) in &mapped {
                let v: f32 = fields[*col].parse().map_err(|_| {
                    err(
                        n + 1,
                        format!("`{}` is not a number (column {channel})", fields[*col]),
                    )
                })?;
                if !v.is_finite() {
                    return Err(err(n + 1, format!("column {channel} is not finite")));
                }
                row.push(v);
            }
            times.push(t);
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(err(2, "no frames after the header".to_owned()));
        }
        // Frames in time order; drop repeated timecodes (the app sometimes writes one twice).
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|a, b| times[*a].total_cmp(&times[*b]));
        order.dedup_by(|a, b| times[*a] == times[*b]);
        let t0 = times[order[0]];
        let degrees = self.degrees.unwrap_or_else(|| {
            rows.iter().any(|r| {
                mapped
                    .iter()
                    .zip(r)
                    .any(|((_, _, angle), v)| *angle && v.abs() > 3.5)
            })
        });
        let mut tracks = Vec::new();
        for (k, (_, channel, angle)) in mapped.iter().enumerate() {
            let mut scale = if *angle && degrees {
                1f32.to_radians()
            } else {
                1.0
            };
            if (self.flip_yaw
                && matches!(
                    channel,
                    Channel::HeadYaw | Channel::GazeLeftYaw | Channel::GazeRightYaw
                ))
                || (self.flip_pitch
                    && matches!(
                        channel,
                        Channel::HeadPitch | Channel::GazeLeftPitch | Channel::GazeRightPitch
                    ))
            {
                scale = -scale;
            }
            let keys: Vec<Keyframe> = order
                .iter()
                .map(|&i| Keyframe {
                    time: (times[i] - t0) as f32,
                    value: rows[i][k] * scale,
                    interpolation: Interpolation::Linear,
                })
                .collect();
            if keys.iter().all(|key| key.value == channel.neutral()) {
                continue;
            }
            tracks.push(Track {
                channel: *channel,
                keys,
            });
        }
        FaceClip::new(PlayMode::Once, tracks, Vec::new()).map_err(|e| match e {
            Error::Clip { problem, .. } => Error::Clip {
                path: path.to_owned(),
                problem,
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "Timecode,BlendShapeCount,EyeBlinkLeft,JawOpen,MouthLeft,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll\n\
        14:03:52:28.207,61,0.5,0.1,0.0,0.1,-0.05,0.0,0.02,0.01,0.0\n\
        14:03:52:29.207,61,1.0,0.3,0.0,0.2,-0.05,0.0,0.02,0.01,0.0\n\
        14:03:52:31.207,61,0.0,0.5,0.0,0.3,-0.05,0.0,0.02,0.01,0.0\n";

    #[test]
    fn a_live_link_face_csv_becomes_a_clip() {
        let clip = LiveLinkImport::default().parse(CSV, "take.csv").unwrap();
        // Frames 28.207, 29.207, 31.207 at 60 fps: 0, 1/60, 3/60 s.
        assert!((clip.duration() - 3.0 / 60.0).abs() < 1e-5);
        let f = clip.sample(1.0 / 60.0);
        assert!((f.expressions.get(Expression::EyeBlinkLeft) - 1.0).abs() < 1e-5);
        assert!((f.expressions.get(Expression::JawOpen) - 0.3).abs() < 1e-5);
        assert!((f.head.yaw - 0.2).abs() < 1e-5);
        assert_eq!(f.gaze.left, [0.02, 0.01]);
        // Halfway between the second and third frame, linearly.
        let f = clip.sample(2.0 / 60.0);
        assert!((f.expressions.get(Expression::JawOpen) - 0.4).abs() < 1e-5);
        // Channels that never move are not animated.
        assert!(
            !clip
                .mask()
                .contains(Channel::Expression(Expression::MouthLeft))
        );
        assert!(!clip.mask().contains(Channel::HeadRoll));
    }

    #[test]
    fn degrees_are_detected_and_yaw_can_be_flipped() {
        let csv =
            "Timecode,EyeBlinkLeft,HeadYaw\n00:00:00:00.000,0.1,10.0\n00:00:00:01.000,0.1,20.0\n";
        let clip = LiveLinkImport {
            flip_yaw: true,
            ..LiveLinkImport::default()
        }
        .parse(csv, "deg.csv")
        .unwrap();
        assert!((clip.sample(0.0).head.yaw + 10f32.to_radians()).abs() < 1e-6);
    }

    #[test]
    fn broken_files_name_the_file_and_line() {
        let e = LiveLinkImport::default()
            .parse(
                "Timecode,JawOpen\n00:00:00:00,0.1\n00:00:00:01,abc\n",
                "bad.csv",
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.csv") && e.contains("line 3") && e.contains("abc"),
            "{e}"
        );
        let e = LiveLinkImport::default()
            .parse("a,b\n1,2\n", "other.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Timecode"), "{e}");
        let e = LiveLinkImport::default()
            .parse("Timecode,JawOpen\n12:00,0.1\n", "tc.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("12:00"), "{e}");
    }
}
