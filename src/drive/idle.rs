//! [`IdleLife`]: blinks, eye saccades, breathing and a slow head drift, so a still head looks alive.

use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::system::{Query, Res};
use bevy::time::Time;
use serde::{Deserialize, Serialize};

use super::layers::{FaceLayer, FaceLayers, LayerId, Priority, remove_layers};
use crate::face::{Channel, Expression, FaceFrame, FaceMask};
use crate::math::smoothstep;

/// Blinks: intervals and durations drawn like a person's at rest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlinkSettings {
    /// Mean seconds from one blink to the next (people at rest: 3-4 s, 15-20 blinks a minute).
    pub mean_interval: f32,
    /// Spread of the intervals (standard deviation of their logarithm; 0 = metronome).
    pub spread: f32,
    /// Shortest interval, seconds.
    pub min_interval: f32,
    /// Shortest and longest blink (closing, closed, opening), seconds.
    pub duration: (f32, f32),
    /// Chance that a blink is followed at once by a second one.
    pub double_blink_chance: f32,
}

impl Default for BlinkSettings {
    fn default() -> Self {
        Self {
            mean_interval: 3.6,
            spread: 0.55,
            min_interval: 0.8,
            duration: (0.18, 0.32),
            double_blink_chance: 0.08,
        }
    }
}

/// Eye saccades: the gaze rests on a point, then jumps to another.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SaccadeSettings {
    /// Mean seconds the gaze rests before the next jump.
    pub mean_fixation: f32,
    /// How far the eyes wander: `[yaw, pitch]`, radians.
    pub range: [f32; 2],
    /// Chance that a jump goes back to looking straight ahead.
    pub return_chance: f32,
    /// Seconds a jump takes.
    pub jump_time: f32,
}

impl Default for SaccadeSettings {
    fn default() -> Self {
        Self {
            mean_fixation: 1.1,
            range: [0.14, 0.07],
            return_chance: 0.5,
            jump_time: 0.05,
        }
    }
}

/// Breathing: the head rises and nods a little with each breath.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreathingSettings {
    /// Breaths per minute.
    pub rate: f32,
    /// Nod per breath, radians.
    pub pitch: f32,
    /// Rise per breath, face widths.
    pub rise: f32,
}

impl Default for BreathingSettings {
    fn default() -> Self {
        Self {
            rate: 14.0,
            pitch: 0.008,
            rise: 0.004,
        }
    }
}

/// Slow head drift: yaw, pitch and roll wander smoothly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DriftSettings {
    /// Largest excursion `[yaw, pitch, roll]`, radians.
    pub amplitude: [f32; 3],
    /// Roughly how many seconds one sway takes.
    pub period: f32,
}

impl Default for DriftSettings {
    fn default() -> Self {
        Self {
            amplitude: [0.05, 0.03, 0.025],
            period: 9.0,
        }
    }
}

/// What idle life does; each part is switched off with `None`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdleSettings {
    /// Blinks.
    pub blink: Option<BlinkSettings>,
    /// Eye saccades.
    pub saccades: Option<SaccadeSettings>,
    /// Breathing.
    pub breathing: Option<BreathingSettings>,
    /// Head drift.
    pub drift: Option<DriftSettings>,
}

impl Default for IdleSettings {
    fn default() -> Self {
        Self {
            blink: Some(BlinkSettings::default()),
            saccades: Some(SaccadeSettings::default()),
            breathing: Some(BreathingSettings::default()),
            drift: Some(DriftSettings::default()),
        }
    }
}

impl IdleSettings {
    /// The channels the enabled parts move.
    pub fn mask(&self) -> FaceMask {
        let mut m = FaceMask::NONE;
        if self.blink.is_some() {
            m = m | FaceMask::of([
                Channel::Expression(Expression::EyeBlinkLeft),
                Channel::Expression(Expression::EyeBlinkRight),
            ]);
        }
        if self.saccades.is_some() {
            m = m | FaceMask::of([
                Channel::GazeLeftYaw,
                Channel::GazeLeftPitch,
                Channel::GazeRightYaw,
                Channel::GazeRightPitch,
            ]);
        }
        if self.breathing.is_some() || self.drift.is_some() {
            m = m | FaceMask::HEAD;
        }
        m
    }
}

/// SplitMix64: small, fast, and the same on every platform, so a seed replays exactly.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }

    /// Log-normal with this mean and log standard deviation.
    fn log_normal(&mut self, mean: f32, sigma: f32) -> f32 {
        let mu = mean.max(1e-3).ln() - sigma * sigma / 2.0;
        (mu + sigma * self.normal()).exp()
    }
}

#[derive(Clone, Copy, Debug)]
struct Blink {
    start: f64,
    duration: f32,
}

/// The idle-life animation itself, without Bevy: advance it by a time step and read the face.
///
/// Deterministic: the same seed and the same steps give the same faces.
#[derive(Clone, Debug)]
pub struct IdleGenerator {
    settings: IdleSettings,
    rng: Rng,
    t: f64,
    next_blink: f64,
    blink: Option<Blink>,
    gaze_from: [f32; 2],
    gaze_to: [f32; 2],
    jump_start: f64,
    next_jump: f64,
    drift_phase: [[f32; 3]; 3],
    drift_freq: [[f32; 3]; 3],
    breath_phase: f32,
}

impl IdleGenerator {
    /// A generator at time 0.
    pub fn new(settings: IdleSettings, seed: u64) -> Self {
        let mut rng = Rng(seed ^ 0x5EED_1D1E_0000_0001);
        let mut drift_phase = [[0.0; 3]; 3];
        let mut drift_freq = [[0.0; 3]; 3];
        let period = settings.drift.map_or(9.0, |d| d.period.max(0.5));
        for axis in 0..3 {
            for k in 0..3 {
                drift_phase[axis][k] = rng.range(0.0, std::f32::consts::TAU);
                // Three incommensurate sways per axis, around the period and slower.
                drift_freq[axis][k] = rng.range(0.5, 1.5) / (period * (1.0 + k as f32 * 0.9));
            }
        }
        let breath_phase = rng.range(0.0, std::f32::consts::TAU);
        let mut g = Self {
            settings,
            rng,
            t: 0.0,
            next_blink: 0.0,
            blink: None,
            gaze_from: [0.0; 2],
            gaze_to: [0.0; 2],
            jump_start: -1.0,
            next_jump: 0.0,
            drift_phase,
            drift_freq,
            breath_phase,
        };
        // The first blink and jump come part-way into an interval, so heads spawned together differ.
        g.next_blink = g.blink_interval() as f64 * g.rng.uniform() as f64;
        g.next_jump = g.fixation() as f64 * g.rng.uniform() as f64;
        g
    }

    /// The settings.
    pub fn settings(&self) -> &IdleSettings {
        &self.settings
    }

    /// Changes the settings (the timing state is kept).
    pub fn set_settings(&mut self, settings: IdleSettings) {
        self.settings = settings;
    }

    /// Seconds since the start.
    pub fn time(&self) -> f64 {
        self.t
    }

    fn blink_interval(&mut self) -> f32 {
        let b = self.settings.blink.unwrap_or_default();
        self.rng
            .log_normal(b.mean_interval, b.spread.max(0.0))
            .max(b.min_interval)
    }

    fn fixation(&mut self) -> f32 {
        let s = self.settings.saccades.unwrap_or_default();
        self.rng.log_normal(s.mean_fixation, 0.6).max(0.15)
    }

    /// Moves time on by `dt` seconds and returns the face at the new time (neutral on the channels idle
    /// life does not move).
    pub fn advance(&mut self, dt: f32) -> FaceFrame {
        let dt = if dt.is_finite() { dt.max(0.0) } else { 0.0 };
        self.t += dt as f64;
        let t = self.t;
        let mut face = FaceFrame {
            time: t,
            ..FaceFrame::neutral()
        };
        // Parts switched off for a while pick up from now, not from when they stopped.
        if self.next_blink < t - 0.5 {
            self.next_blink = t;
        }
        if self.next_jump < t - 0.5 {
            self.next_jump = t;
        }
        if let Some(b) = self.settings.blink {
            if self.blink.is_none() && t >= self.next_blink {
                let (lo, hi) = b.duration;
                let duration = self.rng.range(lo.min(hi), hi.max(lo)).max(0.05);
                self.blink = Some(Blink {
                    start: self.next_blink,
                    duration,
                });
                let double = self.rng.uniform() < b.double_blink_chance;
                self.next_blink = if double {
                    self.next_blink + duration as f64 + 0.08
                } else {
                    self.next_blink + self.blink_interval().max(duration + 0.1) as f64
                };
            }
            let mut w = 0.0;
            if let Some(blink) = self.blink {
                let s = ((t - blink.start) / blink.duration as f64) as f32;
                if s >= 1.0 {
                    self.blink = None;
                } else {
                    // Lids close fast (30 %), stay shut briefly (15 %), open slowly (55 %).
                    w = if s < 0.3 {
                        smoothstep(0.0, 0.3, s)
                    } else if s < 0.45 {
                        1.0
                    } else {
                        1.0 - smoothstep(0.45, 1.0, s)
                    };
                }
            }
            face.expressions.set(Expression::EyeBlinkLeft, w);
            face.expressions.set(Expression::EyeBlinkRight, w);
        }
        if let Some(s) = self.settings.saccades {
            if t >= self.next_jump {
                self.gaze_from = self.gaze_at(t, s);
                self.gaze_to = if self.rng.uniform() < s.return_chance {
                    [0.0, 0.0]
                } else {
                    [
                        self.rng.range(-1.0, 1.0) * s.range[0],
                        self.rng.range(-1.0, 1.0) * s.range[1],
                    ]
                };
                self.jump_start = self.next_jump;
                self.next_jump += (s.jump_time + self.fixation()) as f64;
            }
            let g = self.gaze_at(t, s);
            face.gaze.left = g;
            face.gaze.right = g;
        }
        // Phases from f64 time, wrapped before going to f32, so hours of idling stay smooth.
        let cycles = |freq: f32| (t * freq as f64).fract() as f32 * std::f32::consts::TAU;
        if let Some(b) = self.settings.breathing {
            let phase = (cycles(b.rate / 60.0) + self.breath_phase).sin();
            face.head.pitch += phase * b.pitch;
            face.head.translation[1] += phase * b.rise;
        }
        if let Some(d) = self.settings.drift {
            let mut angles = [0.0f32; 3];
            for (axis, angle) in angles.iter_mut().enumerate() {
                let sum: f32 = (0..3)
                    .map(|k| {
                        (cycles(self.drift_freq[axis][k]) + self.drift_phase[axis][k]).sin()
                            / (1.0 + k as f32)
                    })
                    .sum();
                // The three sines sum to at most 1 + 1/2 + 1/3.
                *angle = sum / (11.0 / 6.0) * d.amplitude[axis];
            }
            face.head.yaw += angles[0];
            face.head.pitch += angles[1];
            face.head.roll += angles[2];
        }
        face
    }

    fn gaze_at(&self, t: f64, s: SaccadeSettings) -> [f32; 2] {
        let f = if s.jump_time > 0.0 {
            smoothstep(
                0.0,
                1.0,
                ((t - self.jump_start) as f32 / s.jump_time).clamp(0.0, 1.0),
            )
        } else {
            1.0
        };
        [
            self.gaze_from[0] + (self.gaze_to[0] - self.gaze_from[0]) * f,
            self.gaze_from[1] + (self.gaze_to[1] - self.gaze_from[1]) * f,
        ]
    }
}

/// Idle life on a head: blinks, saccades, breathing, drift, at the lowest blend priority
/// ([`Priority::IDLE`]), so tracking, clips and lip sync override it where they move the face and it
/// shows through where they do not (and whenever the webcam is lost).
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// # fn spawn(mut commands: Commands, portrait: Handle<Image>) {
/// commands.spawn((TalkingHead::new(portrait), IdleLife::default().with_seed(7)));
/// // Blinks only, slower than usual:
/// let mut settings = IdleSettings { saccades: None, breathing: None, drift: None, ..default() };
/// settings.blink.as_mut().unwrap().mean_interval = 6.0;
/// # }
/// ```
#[derive(Component, Clone, Debug)]
#[require(FaceLayers)]
#[component(on_remove = remove_layers(|id| *id == IDLE_LAYER))]
pub struct IdleLife {
    /// What moves. Changing it takes effect at once.
    pub settings: IdleSettings,
    /// How much of it shows, `0..=1`.
    pub weight: f32,
    /// The seed; `None` derives one from the entity, so heads differ but replay the same way.
    pub seed: Option<u64>,
    generator: Option<(u64, IdleGenerator)>,
}

impl Default for IdleLife {
    fn default() -> Self {
        Self::new(IdleSettings::default())
    }
}

impl IdleLife {
    /// Idle life with these settings.
    pub fn new(settings: IdleSettings) -> Self {
        Self {
            settings,
            weight: 1.0,
            seed: None,
            generator: None,
        }
    }

    /// Builder: a fixed seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self.generator = None;
        self
    }

    /// Builder: the weight.
    pub fn with_weight(mut self, weight: f32) -> Self {
        self.weight = weight;
        self
    }

    /// The running generator (after the first frame).
    pub fn generator(&self) -> Option<&IdleGenerator> {
        self.generator.as_ref().map(|(_, g)| g)
    }
}

/// The layer idle life writes (and takes with it when it goes).
const IDLE_LAYER: LayerId = LayerId::fixed(Priority::IDLE, "idle");

/// Advances each head's idle life and writes its layer.
pub(crate) fn animate_idle(
    time: Res<Time>,
    mut heads: Query<(Entity, &mut IdleLife, &mut FaceLayers)>,
) {
    let dt = time.delta_secs();
    for (entity, mut idle, mut layers) in &mut heads {
        let idle = &mut *idle;
        let seed = idle.seed.unwrap_or(entity.to_bits());
        let settings = idle.settings;
        // A new seed starts a new generator; new settings keep the timing state.
        if idle.generator.as_ref().is_none_or(|(s, _)| *s != seed) {
            idle.generator = Some((seed, IdleGenerator::new(settings, seed)));
        }
        let Some((_, generator)) = idle.generator.as_mut() else {
            continue;
        };
        if generator.settings != settings {
            generator.set_settings(settings);
        }
        let face = generator.advance(dt);
        FaceLayers::put(
            &mut layers,
            IDLE_LAYER,
            Some(FaceLayer::new(face, idle.weight, settings.mask())),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blink onsets (the lids crossing half-closed) and the time each blink stays past half.
    fn blinks(g: &mut IdleGenerator, seconds: f32, fps: f32) -> (usize, Vec<f32>) {
        let (mut onsets, mut closed, mut shut_for) = (0, false, Vec::new());
        let dt = 1.0 / fps;
        for _ in 0..(seconds * fps) as usize {
            let w = g.advance(dt).expressions.get(Expression::EyeBlinkLeft);
            if w >= 0.5 && !closed {
                onsets += 1;
                shut_for.push(0.0);
            }
            if w >= 0.5 {
                *shut_for.last_mut().unwrap() += dt;
            }
            closed = w >= 0.5;
        }
        (onsets, shut_for)
    }

    #[test]
    fn blinks_over_ten_minutes_fall_in_a_human_range() {
        for seed in [1, 2, 3, 42, 1234] {
            let mut g = IdleGenerator::new(IdleSettings::default(), seed);
            let (n, shut) = blinks(&mut g, 600.0, 60.0);
            let per_minute = n as f32 / 10.0;
            let mean_shut = shut.iter().sum::<f32>() / shut.len() as f32;
            eprintln!(
                "seed {seed}: {per_minute:.1} blinks/min, lids past half-closed {mean_shut:.3} s"
            );
            assert!(
                (8.0..=30.0).contains(&per_minute),
                "seed {seed}: {per_minute} blinks/min"
            );
            // Lids are past half-closed for about 40 % of a 0.18-0.32 s blink.
            assert!(
                (0.05..=0.2).contains(&mean_shut),
                "seed {seed}: {mean_shut} s"
            );
        }
    }

    #[test]
    fn blink_rate_follows_the_settings() {
        let mut slow = IdleSettings::default();
        slow.blink.as_mut().unwrap().mean_interval = 8.0;
        let (n, _) = blinks(&mut IdleGenerator::new(slow, 9), 600.0, 30.0);
        assert!(
            (5.0..=9.0).contains(&(n as f32 / 10.0)),
            "{n} blinks in 10 min"
        );
    }

    #[test]
    fn the_same_seed_replays_and_another_seed_differs() {
        let run = |seed| {
            let mut g = IdleGenerator::new(IdleSettings::default(), seed);
            (0..600).map(|_| g.advance(1.0 / 60.0)).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn saccades_breathing_and_drift_stay_within_their_ranges_and_move() {
        let s = IdleSettings::default();
        let mut g = IdleGenerator::new(s, 11);
        let (mut gaze_moves, mut max_yaw, mut max_gaze) = (0, 0.0f32, 0.0f32);
        let mut last = [0.0f32; 2];
        for _ in 0..(120 * 60) {
            let f = g.advance(1.0 / 60.0);
            assert_eq!(f.gaze.left, f.gaze.right);
            if (f.gaze.left[0] - last[0]).abs() > 0.02 {
                gaze_moves += 1;
            }
            last = f.gaze.left;
            max_gaze = max_gaze.max(f.gaze.left[0].abs());
            max_yaw = max_yaw.max(f.head.yaw.abs());
            assert!(f.head.roll.abs() <= 0.0251);
        }
        assert!(
            gaze_moves > 30,
            "the eyes jumped {gaze_moves} times in two minutes"
        );
        assert!(max_gaze <= s.saccades.unwrap().range[0] + 1e-6);
        assert!(max_yaw > 0.01 && max_yaw <= 0.0501, "yaw drift {max_yaw}");
        // Switched off: no movement at all on those channels.
        let off = IdleSettings {
            saccades: None,
            drift: None,
            breathing: None,
            ..IdleSettings::default()
        };
        let mut g = IdleGenerator::new(off, 11);
        for _ in 0..600 {
            let f = g.advance(0.1);
            assert_eq!(f.head, crate::face::HeadPose::default());
            assert_eq!(f.gaze, crate::face::Gaze::default());
        }
        assert!(!off.mask().contains(Channel::HeadYaw));
    }
}
