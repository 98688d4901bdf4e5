//! Face streams other applications speak, for live streaming setups: the Live Link Face app's UDP packets
//! ([`livelink`]) and the VMC protocol ([`vmc`], OSC over UDP, read by [`osc`]).
//!
//! Receiving is a [`LiveSource`](crate::drive::LiveSource) of a [`LiveFace`](crate::drive::LiveFace)
//! (`LiveSource::LiveLink`, `LiveSource::Vmc`): the face arrives as ARKit weights and angles, with the
//! same smoothing, calibration and fall-back to idle life as a tracked webcam. Sending is [`VmcSender`].
//!
//! Every decoder here reads untrusted bytes without allocating and refuses anything malformed with an
//! error; none panics (fuzzed in `tests/codec_fuzz.rs`).

pub mod livelink;
pub mod osc;
pub mod vmc;

pub use vmc::{VmcEvent, VmcSender, VmcSenderPlugin};
