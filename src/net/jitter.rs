//! The receiver's jitter buffer: frames stamped with the sender's clock in, a face at a steady delay out.

use std::collections::VecDeque;
use std::time::Duration;

use crate::face::{Channel, FaceFrame};

/// The most transit times a [`JitterBuffer`] keeps for its clock offset and jitter, whatever the packet
/// rate: at a normal 30-60 Hz the 10 s clock window holds fewer; a sender flooding thousands of packets
/// a second no longer makes every push filter and sort tens of thousands of them.
pub const MAX_TRANSITS: usize = 512;

/// How a [`JitterBuffer`] plays a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct JitterSettings {
    /// How far behind the fastest packet the stream plays, at least. With `adaptive`, the buffer plays
    /// later on a link with more jitter, enough to bridge 95 % of the packets and one lost packet.
    pub delay: Duration,
    /// Whether the delay adapts to the link's jitter (between `delay` and `max_delay`). It changes
    /// smoothly: the stream plays up to 50 % slower while the delay grows, 10 % faster while it shrinks.
    pub adaptive: bool,
    /// The longest adaptive delay.
    pub max_delay: Duration,
    /// With no newer frame, the motion of the last two frames carries on, slowing down, for this long
    /// (bridging a lost or late packet at the end of the buffer without a stop)...
    pub extrapolate: Duration,
    /// ...then the face is held until this long after the last frame (a burst of losses)...
    pub hold: Duration,
    /// ...and then the stream fades out over this long (the head's lower layers, e.g. idle life, take
    /// over). Streams that start or come back fade in over the same time.
    pub fade: Duration,
    /// Frames kept at most (older ones are dropped first; 64 covers the longest delay at 120 Hz).
    pub capacity: usize,
    /// The window over which the fastest transit time (the clock offset) is measured. Long, so that
    /// the offset rarely moves; the jitter that sets the delay is measured over the last 3 s.
    pub clock_window: Duration,
}

impl Default for JitterSettings {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(50),
            adaptive: true,
            max_delay: Duration::from_millis(400),
            extrapolate: Duration::from_millis(70),
            hold: Duration::from_millis(250),
            fade: Duration::from_millis(250),
            capacity: 64,
            clock_window: Duration::from_secs(10),
        }
    }
}

impl JitterSettings {
    /// Always exactly `delay` behind the fastest packet.
    pub fn fixed(delay: Duration) -> Self {
        Self {
            delay,
            adaptive: false,
            ..Self::default()
        }
    }
}

/// What a [`JitterBuffer`] did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Buffered.
    Accepted,
    /// A frame with this sequence number is already buffered or was played.
    Duplicate,
    /// Arrived after its time to play had passed; dropped.
    Late,
    /// The sender started over (its numbering went back while its clock went on, jumped by more than
    /// 1024, or only old frames came for 8 packets): the buffer starts over with this frame.
    Restarted,
}

/// Where a stream's playback is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Playout {
    /// Nothing received yet.
    #[default]
    Empty,
    /// Playing between two received frames.
    Playing,
    /// Waiting for the first frames to be `delay` old: shows the oldest.
    Buffering,
    /// No frame after the newest one yet (a lost or late packet): carries on the motion of the last two
    /// frames for up to [`JitterSettings::extrapolate`].
    Extrapolating,
    /// No frame after the newest one for longer: holds the face, then fades out.
    Holding,
    /// Faded out after `hold`: the stream shows nothing until frames come again.
    Stalled,
}

/// Counters of a stream, for a network overlay or a log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Frames accepted (not counting recovered copies).
    pub received: u64,
    /// Sequence numbers skipped (frames lost, or never sent by a sender that merged them).
    pub missing: u64,
    /// Frames that came out of order but still in time.
    pub reordered: u64,
    /// Frames dropped as duplicates.
    pub duplicates: u64,
    /// Frames dropped because they came too late to play.
    pub late: u64,
    /// Times the sender restarted.
    pub restarts: u64,
    /// Lost frames recovered from the redundant copy in the next packet.
    pub recovered: u64,
}

/// One face out of a [`JitterBuffer`].
#[derive(Clone, Debug, PartialEq)]
pub struct JitterSample {
    /// The face at the play-out time, interpolated between the frames around it.
    pub face: FaceFrame,
    /// How much of it to show, `0..=1` (fades in at the start, out when the stream stalls).
    pub weight: f32,
    /// Where playback is.
    pub state: Playout,
}

#[derive(Clone, Debug)]
struct Stamped {
    seq: u32,
    sent: f64,
    face: FaceFrame,
}

/// A small buffer that turns frames arriving with jitter, out of order or not at all into a steady face.
///
/// Each frame carries the sender's sequence number and its clock at sampling. The receiver measures
/// the transit time of each (arrival on its own clock minus the sender's stamp, which includes the
/// difference between the clocks) and plays the stream [`delay`](JitterSettings::delay) behind the
/// fastest transit of the last two seconds: a frame that took the fast path waits `delay`, a slow one
/// less. The delay adapts to the spread of the transits (see [`JitterSettings::adaptive`]). Play-out
/// interpolates between the two frames around the play-out time, so a lost frame is
/// bridged by its neighbours. With no newer frame the last is held, then faded out.
///
/// Independent of any transport: push what arrives, sample once per frame.
///
/// ```
/// # use bevy_talking_head::prelude::*;
/// # use bevy_talking_head::net::{JitterBuffer, JitterSettings};
/// # use std::time::Duration;
/// let mut buffer = JitterBuffer::new(JitterSettings::fixed(Duration::from_millis(100)));
/// // The sender's frames 0 and 2 (1 was lost), sent 1/30 s apart, each arriving 20 ms later.
/// let open = |w| FaceFrame::neutral().with_expression(Expression::JawOpen, w);
/// buffer.push(0, 10.0, open(0.0), 10.020);
/// buffer.push(2, 10.0 + 2.0 / 30.0, open(1.0), 10.020 + 2.0 / 30.0);
/// // 100 ms after the second frame's arrival, play-out is exactly at it; 1/30 s earlier, halfway from
/// // frame 0 to frame 2.
/// let at = 10.020 + 2.0 / 30.0 + 0.1;
/// let face = buffer.sample(at - 1.0 / 30.0).unwrap().face;
/// assert!((face.expressions.get(Expression::JawOpen) - 0.5).abs() < 1e-3);
/// ```
#[derive(Clone, Debug)]
pub struct JitterBuffer {
    settings: JitterSettings,
    frames: VecDeque<Stamped>,
    transits: VecDeque<(f64, f64)>,
    newest_seq: Option<u32>,
    newest_sent: Option<f64>,
    first_seq: Option<u32>,
    stale_run: u32,
    played_seq: Option<u32>,
    previous: Option<Stamped>,
    shown: Option<FaceFrame>,
    correction: Option<([f32; Channel::COUNT], f32)>,
    stream_start: Option<f64>,
    interval: f64,
    lag: Option<f64>,
    wanted_delay: f64,
    weight: f32,
    last_sample: Option<f64>,
    state: Playout,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new(JitterSettings::default())
    }
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(settings: JitterSettings) -> Self {
        Self {
            frames: VecDeque::new(),
            transits: VecDeque::new(),
            newest_seq: None,
            newest_sent: None,
            first_seq: None,
            stale_run: 0,
            played_seq: None,
            previous: None,
            shown: None,
            correction: None,
            stream_start: None,
            interval: 1.0 / 30.0,
            lag: None,
            wanted_delay: settings.delay.as_secs_f64(),
            weight: 0.0,
            last_sample: None,
            state: Playout::Empty,
            stats: JitterStats::default(),
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &JitterSettings {
        &self.settings
    }

    /// Changes the settings (takes effect at the next sample).
    pub fn set_settings(&mut self, settings: JitterSettings) {
        self.settings = settings;
    }

    /// The counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Where playback was at the last [`sample`](Self::sample).
    pub fn state(&self) -> Playout {
        self.state
    }

    /// Transit times kept for the clock offset and the jitter (at most [`MAX_TRANSITS`]).
    pub fn clock_samples(&self) -> usize {
        self.transits.len()
    }

    /// Frames waiting to be played.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame is buffered.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The fastest transit (arrival minus the sender's stamp, both in seconds) in the clock window:
    /// the offset between the clocks plus the network's shortest delay.
    pub fn clock_offset(&self) -> Option<f64> {
        self.transits.iter().map(|t| t.1).min_by(f64::total_cmp)
    }

    /// The time on the sender's clock that plays at `now` (the receiver's clock).
    pub fn playout_time(&self, now: f64) -> Option<f64> {
        match self.lag {
            Some(lag) => Some(now - lag),
            None => Some(now - self.clock_offset()? - self.wanted_delay),
        }
    }

    /// The delay the stream plays at now, behind the fastest packet (see [`JitterSettings`]).
    pub fn delay(&self) -> Duration {
        let delay = match (self.lag, self.clock_offset()) {
            (Some(lag), Some(offset)) => lag - offset,
            _ => self.wanted_delay,
        };
        Duration::from_secs_f64(delay.max(0.0))
    }

    /// The delay the link's jitter asks for: the 95th percentile of the transits above the fastest,
    /// plus the time between packets (to bridge one lost packet) and 10 ms.
    fn update_wanted_delay(&mut self) {
        let min = self.settings.delay.as_secs_f64();
        if !self.settings.adaptive {
            self.wanted_delay = min;
            return;
        }
        let Some(fastest) = self.clock_offset() else {
            return;
        };
        // The first half second of a stream often comes in a burst (packets queued while the
        // connection or the avatar was set up): it sets the clock but not the delay, once there is more.
        let settled = self.stream_start.map_or(f64::NEG_INFINITY, |t| t + 0.5);
        let recent = self
            .transits
            .back()
            .map_or(f64::NEG_INFINITY, |t| t.0 - 3.0);
        let settled = settled.max(recent);
        let mut spread: Vec<f64> = self
            .transits
            .iter()
            .filter(|t| t.0 >= settled)
            .map(|t| t.1 - fastest)
            .collect();
        if spread.is_empty() {
            spread = self
                .transits
                .iter()
                .filter(|t| t.0 >= recent)
                .map(|t| t.1 - fastest)
                .collect();
        }
        // The 95th percentile: a selection (linear), not a sort.
        let k = (spread.len() - 1) * 95 / 100;
        let (_, q95, _) = spread.select_nth_unstable_by(k, f64::total_cmp);
        let q95 = *q95;
        let max = self.settings.max_delay.as_secs_f64().max(min);
        self.wanted_delay = (q95 + self.interval + 0.010).clamp(min, max);
    }

    /// Forgets every frame and the clock offset (the counters stay).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.transits.clear();
        self.newest_seq = None;
        self.newest_sent = None;
        self.first_seq = None;
        self.stale_run = 0;
        self.lag = None;
        self.played_seq = None;
        self.previous = None;
        self.stream_start = None;
    }

    /// Adds a frame: its sequence number, the sender's clock when it was sampled and the receiver's
    /// clock when it arrived (both in seconds).
    pub fn push(&mut self, seq: u32, sent: f64, face: FaceFrame, arrival: f64) -> Pushed {
        self.insert(seq, sent, face, arrival, true)
    }

    fn insert(
        &mut self,
        seq: u32,
        sent: f64,
        face: FaceFrame,
        arrival: f64,
        timed: bool,
    ) -> Pushed {
        if !sent.is_finite() || !arrival.is_finite() {
            self.stats.late += 1;
            return Pushed::Late;
        }
        let mut result = Pushed::Accepted;
        if let Some((newest, newest_sent)) = self.newest_seq.zip(self.newest_sent) {
            let old = seq <= newest;
            // A sender that started over: numbering went back while its clock went on, or went on
            // while its clock went far back, or jumped far either way, or (a new sender whose clock
            // also went back) nothing but "old" frames for a while. A single old frame with an old
            // clock is a late copy, not a restart.
            let restarted = (old && sent > newest_sent)
                || (!old && sent + 5.0 < newest_sent)
                || seq.abs_diff(newest) > 1024
                || (old && self.stale_run >= 8);
            if restarted {
                self.clear();
                self.stats.restarts += 1;
                result = Pushed::Restarted;
            } else if old {
                if self.frames.iter().any(|f| f.seq == seq)
                    || self.played_seq.is_some_and(|p| seq <= p)
                {
                    self.stale_run += 1;
                    self.stats.duplicates += 1;
                    return Pushed::Duplicate;
                }
                if self
                    .playout_time(arrival)
                    .is_some_and(|t| sent < t && self.frames.front().is_some_and(|f| f.sent <= t))
                {
                    self.stale_run += 1;
                    self.stats.late += 1;
                    return Pushed::Late;
                }
            }
        }
        self.stale_run = 0;
        self.stream_start.get_or_insert(arrival);
        // The clock offset: transits of the window (a redundant copy's says nothing about the link).
        let window = self.settings.clock_window.as_secs_f64();
        while self
            .transits
            .front()
            .is_some_and(|t| t.0 < arrival - window)
        {
            self.transits.pop_front();
        }
        if timed {
            self.transits.push_back((arrival, arrival - sent));
            while self.transits.len() > MAX_TRANSITS {
                self.transits.pop_front();
            }
        }
        // In sequence order.
        let at = self
            .frames
            .iter()
            .rposition(|f| f.seq < seq)
            .map_or(0, |i| i + 1);
        self.frames.insert(at, Stamped { seq, sent, face });
        match self.newest_seq {
            Some(newest) if seq > newest => {
                self.stats.missing += u64::from(seq - newest - 1);
                self.newest_seq = Some(seq);
                self.newest_sent = Some(sent);
                // The sender's interval between packets, from consecutive newest frames.
                if let Some(prev) = at.checked_sub(1).and_then(|i| self.frames.get(i)) {
                    let gap = (sent - prev.sent) / f64::from(seq - prev.seq);
                    if gap > 0.0 && gap < 1.0 {
                        self.interval += (gap - self.interval) * 0.1;
                    }
                }
            }
            Some(_) => {
                // Filled a gap: missing if it is after the stream's first frame.
                self.stats.reordered += 1;
                if self.first_seq.is_some_and(|first| seq > first) {
                    self.stats.missing = self.stats.missing.saturating_sub(1);
                }
            }
            None => {
                self.newest_seq = Some(seq);
                self.newest_sent = Some(sent);
                self.first_seq = Some(seq);
            }
        }
        while self.frames.len() > self.settings.capacity.max(2) {
            self.frames.pop_front();
        }
        self.update_wanted_delay();
        self.stats.received += 1;
        result
    }

    /// Adds the redundant copy of an earlier frame that came with a later one
    /// ([`FacePacket::previous`](super::FacePacket::previous)): kept only if that frame was lost
    /// and is still in time, and counted as [`recovered`](JitterStats::recovered), not as a frame.
    pub fn push_redundant(&mut self, seq: u32, sent: f64, face: FaceFrame, arrival: f64) {
        let known = self.frames.iter().any(|f| f.seq == seq)
            || self.played_seq.is_some_and(|p| seq <= p)
            || self.newest_seq.is_none();
        let late = self
            .playout_time(arrival)
            .is_some_and(|t| sent < t && self.frames.front().is_some_and(|f| f.sent <= t));
        if known || late || !sent.is_finite() {
            return;
        }
        let (reordered, received) = (self.stats.reordered, self.stats.received);
        if self.insert(seq, sent, face, arrival, false) == Pushed::Accepted {
            // A gap filled (no longer missing), but neither a received frame nor one out of order.
            self.stats.recovered += 1;
            self.stats.reordered = reordered;
            self.stats.received = received;
        }
    }

    /// The face to show at `now` (the receiver's clock, in seconds), or `None` before the first frame.
    pub fn sample(&mut self, now: f64) -> Option<JitterSample> {
        let dt = self.last_sample.map_or(0.0, |t| (now - t).max(0.0) as f32);
        self.last_sample = Some(now);
        // Move the play-out lag (clock offset + delay) towards what the link asks for by stretching or
        // squeezing play-out time, so that neither a faster packet (a new clock offset) nor more
        // jitter makes the face jump; only a change larger than `hold` (a new route, a restarted
        // sender) is taken at once.
        if let Some(offset) = self.clock_offset() {
            let target = offset + self.wanted_delay;
            let dt = f64::from(dt);
            self.lag = Some(match self.lag {
                Some(lag)
                    if self.state != Playout::Empty
                        && (target - lag).abs() <= self.settings.hold.as_secs_f64() =>
                {
                    if target > lag {
                        // Later quickly (frames would come too late), earlier slowly.
                        (lag + dt * 0.5).min(target)
                    } else {
                        (lag - dt * 0.1).max(target)
                    }
                }
                _ => target,
            });
        }
        let Some(target) = self.playout_time(now) else {
            self.state = Playout::Empty;
            self.weight = 0.0;
            return None;
        };
        // Keep the newest frame at or before the play-out time, and everything after it.
        while self.frames.len() >= 2 && self.frames[1].sent <= target {
            if let Some(f) = self.frames.pop_front() {
                self.played_seq = Some(f.seq);
                self.previous = Some(f);
            }
        }
        let first = self.frames.front()?;
        let (face, state, starved) = if target < first.sent {
            (first.face, Playout::Buffering, 0.0)
        } else if let Some(next) = self.frames.get(1) {
            let span = next.sent - first.sent;
            let t = if span > 0.0 {
                ((target - first.sent) / span).clamp(0.0, 1.0) as f32
            } else {
                1.0
            };
            (first.face.lerp(&next.face, t), Playout::Playing, 0.0)
        } else {
            let starved = target - first.sent;
            let limit = self.settings.extrapolate.as_secs_f64();
            match &self.previous {
                // Carry on the last motion (from the frame before), for a while.
                Some(prev) if first.sent - prev.sent > 0.0 && first.sent - prev.sent < 0.25 => {
                    let span = first.sent - prev.sent;
                    // Slowing down: at most half the limit's worth of motion past the last frame, so a
                    // guess that overshoots (a jaw about to close) needs little correcting.
                    let tau = limit / 2.0;
                    let ahead = if tau > 0.0 {
                        tau * (1.0 - (-starved / tau).exp())
                    } else {
                        0.0
                    };
                    let t = 1.0 + ahead / span;
                    let state = if starved <= limit {
                        Playout::Extrapolating
                    } else {
                        Playout::Holding
                    };
                    let mut face = prev.face.lerp(&first.face, t as f32);
                    face.sanitize();
                    (face, state, starved)
                }
                _ => (first.face, Playout::Holding, starved),
            }
        };
        let wanted = if starved > self.settings.hold.as_secs_f64() {
            0.0
        } else {
            1.0
        };
        let fade = self.settings.fade.as_secs_f32();
        let step = if fade > 0.0 { dt / fade } else { 1.0 };
        self.weight = if self.state == Playout::Empty {
            // The very first sample: start the fade-in from nothing.
            0.0
        } else if wanted > self.weight {
            (self.weight + step).min(wanted)
        } else {
            (self.weight - step).max(wanted)
        };
        let resumed = matches!(self.state, Playout::Extrapolating | Playout::Holding)
            && matches!(state, Playout::Playing | Playout::Buffering);
        self.state = if state == Playout::Holding && self.weight == 0.0 {
            // When frames come again, that is a new start.
            self.stream_start = None;
            Playout::Stalled
        } else {
            state
        };
        // Coming back from a guess (extrapolated or held) to the real frames: ease from what was shown
        // into them instead of jumping.
        let mut face = face;
        let correction_time = self.settings.extrapolate.as_secs_f32().max(0.05) * 2.0;
        if resumed && let Some(shown) = &self.shown {
            let (shown, real) = (shown.to_channels(), face.to_channels());
            let mut offset = [0.0; Channel::COUNT];
            for ((o, s), r) in offset.iter_mut().zip(shown).zip(real) {
                *o = s - r;
            }
            self.correction = Some((offset, 1.0));
        }
        if let Some((offset, left)) = &mut self.correction {
            *left -= dt / correction_time;
            if *left <= 0.0 {
                self.correction = None;
            } else {
                let k = *left * *left * (3.0 - 2.0 * *left);
                let mut eased = face.to_channels();
                for (e, o) in eased.iter_mut().zip(offset.iter()) {
                    *e += o * k;
                }
                face = FaceFrame::from_channels(&eased, face.time);
                face.sanitize();
            }
        }
        self.shown = Some(face);
        Some(JitterSample {
            face,
            weight: self.weight,
            state: self.state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Expression;

    fn open(w: f32) -> FaceFrame {
        FaceFrame::neutral().with_expression(Expression::JawOpen, w)
    }

    fn jaw(s: &JitterSample) -> f32 {
        s.face.expressions.get(Expression::JawOpen)
    }

    /// A 30 Hz ramp with 20-40 ms of transit, every third frame lost, sampled at 60 Hz: the output is
    /// the ramp 100 ms (plus the fastest transit) late, within interpolation error, and never jumps.
    #[test]
    fn a_lossy_jittery_ramp_plays_back_smoothly_at_a_steady_delay() {
        let mut b = JitterBuffer::new(JitterSettings::fixed(Duration::from_millis(100)));
        let mut arrivals = Vec::new();
        for i in 0..90u32 {
            let sent = 100.0 + f64::from(i) / 30.0;
            if i % 3 == 2 {
                continue;
            }
            let transit = 0.020 + 0.020 * f64::from(i * 7 % 5) / 4.0;
            arrivals.push((sent + transit, i, sent));
        }
        arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ramp = |t: f64| ((t - 100.0) / 3.0) as f32;
        let mut pending = arrivals.into_iter().peekable();
        let mut last = None;
        let mut now = 100.0;
        while now < 103.0 {
            while let Some((arrival, seq, sent)) = pending.next_if(|a| a.0 <= now) {
                let w = ramp(sent);
                assert_ne!(b.push(seq, sent, open(w), arrival), Pushed::Late);
            }
            if let Some(s) = b.sample(now)
                && now > 100.5
            {
                assert_eq!(s.state, Playout::Playing, "at {now}");
                let expected = ramp(now - 0.1 - 0.020);
                assert!(
                    (jaw(&s) - expected).abs() < 0.004,
                    "at {now}: {} vs {expected}",
                    jaw(&s)
                );
                if let Some(prev) = last {
                    let step: f32 = jaw(&s) - prev;
                    assert!((0.0..0.012).contains(&step), "jump of {step} at {now}");
                }
                last = Some(jaw(&s));
            }
            now += 1.0 / 60.0;
        }
        let stats = b.stats();
        assert_eq!(stats.missing, 29, "{stats:?}");
        assert_eq!(stats.received, 60);
    }

    /// 30 Hz frames with 0-80 ms of random transit and 10 % lost: the adaptive delay settles where
    /// (almost) every frame is in time; on a steady link it shrinks back to the minimum.
    #[test]
    fn the_delay_adapts_to_the_links_jitter() {
        let mut b = JitterBuffer::default();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut uniform = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut arrivals = Vec::new();
        for i in 0..600u32 {
            let sent = f64::from(i) / 30.0;
            let lost = uniform() < 0.1;
            let transit = if i < 300 {
                0.01 + 0.08 * uniform()
            } else {
                0.01
            };
            if !lost {
                arrivals.push((sent + transit, i, sent));
            }
        }
        arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut pending = arrivals.into_iter().peekable();
        let (mut now, mut holding, mut late) = (0.0, 0, 0);
        let mut delays = Vec::new();
        while now < 20.0 {
            while let Some((arrival, seq, sent)) = pending.next_if(|a| a.0 <= now) {
                if b.push(seq, sent, open(0.5), arrival) == Pushed::Late {
                    late += 1;
                }
            }
            if let Some(s) = b.sample(now)
                && (3.0..10.0).contains(&now)
                && s.state == Playout::Holding
            {
                holding += 1;
            }
            delays.push((now, b.delay().as_secs_f64()));
            now += 1.0 / 60.0;
        }
        let at = |t: f64| delays.iter().find(|d| d.0 >= t).unwrap().1;
        eprintln!(
            "delay {:.3} s jittery, {:.3} s steady; {holding} held, {late} late",
            at(9.0),
            at(19.9)
        );
        assert!((0.09..0.16).contains(&at(9.0)), "jittery: {}", at(9.0));
        assert!(holding <= 2, "{holding} frames held on the jittery link");
        assert!(late <= 6, "{late} late frames");
        assert!((at(19.9) - 0.05).abs() < 0.002, "steady: {}", at(19.9));
    }

    /// One packet 40 ms faster than all the others moves the clock offset: play-out eases into it
    /// (and back out when it leaves the window) instead of jumping.
    #[test]
    fn a_faster_packet_moves_play_out_smoothly() {
        let mut b = JitterBuffer::default();
        let ramp = |t: f64| (t / 10.0) as f32;
        let (mut now, mut i, mut last, mut largest) = (0.0, 0u32, None::<f32>, 0.0f32);
        while now < 8.0 {
            while f64::from(i) / 30.0 + 0.045 <= now {
                let sent = f64::from(i) / 30.0;
                let transit = if i == 60 { 0.005 } else { 0.045 };
                b.push(i, sent, open(ramp(sent)), sent + transit);
                i += 1;
            }
            if let Some(s) = b.sample(now)
                && now > 1.0
            {
                assert_ne!(s.state, Playout::Buffering, "at {now}");
                if let Some(prev) = last {
                    largest = largest.max((jaw(&s) - prev).abs());
                }
                last = Some(jaw(&s));
            }
            now += 1.0 / 60.0;
        }
        // The ramp moves 0.00167 a frame; play-out 50 % slower or 10 % faster at most, and here the
        // offset only moves earlier (10 %).
        assert!(largest < 0.0019, "a step of {largest}");
    }

    #[test]
    fn duplicates_late_frames_and_restarts_are_told_apart() {
        let mut b = JitterBuffer::new(JitterSettings::fixed(Duration::from_millis(100)));
        assert_eq!(b.push(10, 11.0, open(0.1), 15.0), Pushed::Accepted);
        assert_eq!(b.push(12, 11.1, open(0.3), 15.1), Pushed::Accepted);
        assert_eq!(b.push(12, 11.1, open(0.3), 15.12), Pushed::Duplicate);
        // 11 comes after 12 but in time (play-out at 15.11 is 11.01).
        assert_eq!(b.push(11, 11.05, open(0.2), 15.11), Pushed::Accepted);
        assert_eq!((b.stats().reordered, b.stats().missing), (1, 0));
        assert_eq!(b.push(14, 11.2, open(0.5), 15.2), Pushed::Accepted);
        assert_eq!(b.stats().missing, 1);
        // Play-out at 11.07: frame 10 is played and gone.
        let s = b.sample(15.17).unwrap();
        assert!((jaw(&s) - 0.24).abs() < 1e-4, "{s:?}");
        // 13 (sent at 11.15) arrives when play-out is at 11.16: too late to play.
        assert_eq!(b.push(13, 11.15, open(0.4), 15.26), Pushed::Late);
        assert_eq!(b.push(9, 10.95, open(0.0), 15.27), Pushed::Duplicate);
        // A copy of frame 3, six seconds late: old, not a restart.
        assert_eq!(b.push(3, 10.1, open(0.0), 15.3), Pushed::Duplicate);
        // The sender starts over from 0, its clock going on.
        assert_eq!(b.push(0, 11.3, open(0.9), 16.0), Pushed::Restarted);
        assert_eq!(b.len(), 1);
        let stats = b.stats();
        assert_eq!((stats.restarts, stats.late, stats.duplicates), (1, 1, 3));
        // A new sender whose clock starts at 0 too: its first frames look old, then it is a restart.
        let pushed: Vec<Pushed> = (0..10)
            .map(|i| {
                b.push(
                    i,
                    f64::from(i) / 30.0,
                    open(0.5),
                    17.0 + f64::from(i) / 30.0,
                )
            })
            .collect();
        assert_eq!(
            pushed.iter().filter(|p| **p == Pushed::Restarted).count(),
            1,
            "{pushed:?}"
        );
        assert_eq!(pushed.last(), Some(&Pushed::Accepted));
        // Numbering that jumps by more than 1024 (garbage, or a sender far ahead) is a restart too,
        // not a million missing frames.
        assert_eq!(b.push(5_000_000, 1.0, open(0.5), 18.0), Pushed::Restarted);
        assert!(b.stats().missing < 10, "{:?}", b.stats());
    }

    #[test]
    fn a_stalled_stream_holds_then_fades_out_and_fades_back_in() {
        let mut b = JitterBuffer::new(JitterSettings::fixed(Duration::from_millis(100)));
        b.push(0, 0.0, open(0.5), 0.0);
        let mut now = 0.0;
        let mut weights = Vec::new();
        while now < 1.0 {
            let s = b.sample(now).unwrap();
            weights.push((now, s.weight, s.state));
            now += 0.01;
        }
        // Fades in over 0.25 s while buffering/holding; the play-out passes the frame at 0.1 s, held
        // until 0.35 s, then fades out by 0.6 s.
        let at = |t: f64| weights.iter().find(|w| w.0 >= t).unwrap();
        assert!(at(0.13).1 > 0.45 && at(0.13).1 < 0.6, "{:?}", at(0.13));
        assert_eq!(at(0.3).1, 1.0);
        assert_eq!(at(0.3).2, Playout::Holding);
        assert!(at(0.5).1 < 0.5);
        assert_eq!(at(0.7).1, 0.0);
        assert_eq!(at(0.7).2, Playout::Stalled);
        // Frames again: fades back in.
        b.push(30, 1.0, open(0.1), 1.0);
        b.push(31, 1.0 + 1.0 / 30.0, open(0.1), 1.0 + 1.0 / 30.0);
        let s = b.sample(1.05).unwrap();
        assert!(s.weight > 0.0 && s.weight < 0.3, "{s:?}");
        assert_eq!(s.state, Playout::Playing);
    }
}
