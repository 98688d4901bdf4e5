//! The VMC protocol (Virtual Motion Capture's OSC messages over UDP, spoken by VSeeFace, Warudo, VNyan,
//! VMagicMirror and most VTuber trackers): what a face message means ([`VmcEvent`]), the head and eye
//! bones' rotations as this crate's angles, and [`VmcSender`], which sends a head's composed face.
//!
//! The messages used (see the protocol's specification at protocol.vmc.info):
//!
//! | address | arguments | meaning |
//! |---|---|---|
//! | `/VMC/Ext/Blend/Val` | name (string), value (float) | one blendshape; ARKit names (any case) or VRM presets |
//! | `/VMC/Ext/Blend/Apply` | | the values sent so far make one frame |
//! | `/VMC/Ext/Bone/Pos` | name, position x y z, rotation x y z w | a humanoid bone: `Head`, `LeftEye`, `RightEye` |
//! | `/VMC/Ext/T` | time (float, seconds) | the sender's clock |
//! | `/VMC/Ext/OK` | loaded (int), ... | the sender is alive |
//!
//! Rotations are Unity's (left-handed, y up, z forward, the avatar facing +z; Euler angles applied z, x,
//! then y). This crate's yaw is minus the rotation about y (its positive yaw turns the head to its own
//! left), its pitch minus the rotation about x (positive looks up), its roll the rotation about z.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use bevy::prelude::*;
use rosc::{OscBundle, OscMessage as RoscMessage, OscPacket, OscTime, OscType};

use super::osc::{OscArg, OscMessage};
use crate::error::Error;
use crate::face::{Expression, FaceFrame};
use crate::math::Pacer;
use crate::report::HeadErrors;
use crate::schedule::TalkingHeadSystems;

/// A port VMC performers commonly send to (VSeeFace's and VMC's default receiving port is 39539;
/// many trackers use 39540 for "send to another app").
pub const DEFAULT_PORT: u16 = 39539;

/// What one VMC message says about a face.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VmcEvent<'a> {
    /// `/VMC/Ext/Blend/Val`: a blendshape's value.
    Blend {
        /// Its name, as sent.
        name: &'a str,
        /// Its value.
        value: f32,
    },
    /// `/VMC/Ext/Blend/Apply`: the values so far make a frame.
    Apply,
    /// `/VMC/Ext/Bone/Pos`: a bone's local position and rotation (`[x, y, z, w]`).
    Bone {
        /// Unity's humanoid bone name (`Head`, `LeftEye`, ...).
        name: &'a str,
        /// Position.
        position: [f32; 3],
        /// Rotation quaternion `[x, y, z, w]`.
        rotation: [f32; 4],
    },
    /// `/VMC/Ext/T`: the sender's time in seconds.
    Time(f32),
    /// `/VMC/Ext/OK`: the sender is alive (`loaded` is 1 when its avatar is loaded).
    Available(i32),
    /// Any other message, or one of the above with missing or wrong arguments.
    Other,
}

impl<'a> VmcEvent<'a> {
    /// What `message` says.
    pub fn of(message: &OscMessage<'a>) -> Self {
        let mut args = message.args();
        let mut number = || args.next().and_then(|a| a.number());
        match message.addr {
            "/VMC/Ext/Blend/Val" => {
                let mut args = message.args();
                match (args.next(), args.next().and_then(|a| a.number())) {
                    (Some(OscArg::Str(name)), Some(value)) => VmcEvent::Blend { name, value },
                    _ => VmcEvent::Other,
                }
            }
            "/VMC/Ext/Blend/Apply" => VmcEvent::Apply,
            "/VMC/Ext/T" => number().map_or(VmcEvent::Other, VmcEvent::Time),
            "/VMC/Ext/OK" => number().map_or(VmcEvent::Other, |n| VmcEvent::Available(n as i32)),
            "/VMC/Ext/Bone/Pos" => {
                let mut args = message.args();
                let Some(OscArg::Str(name)) = args.next() else {
                    return VmcEvent::Other;
                };
                let mut v = [0.0f32; 7];
                for x in &mut v {
                    match args.next().and_then(|a| a.number()) {
                        Some(n) => *x = n,
                        None => return VmcEvent::Other,
                    }
                }
                VmcEvent::Bone {
                    name,
                    position: [v[0], v[1], v[2]],
                    rotation: [v[3], v[4], v[5], v[6]],
                }
            }
            _ => VmcEvent::Other,
        }
    }
}

fn quat_mul(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    let [ax, ay, az, aw] = a;
    let [bx, by, bz, bw] = b;
    [
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ]
}

/// Unity's rotation (`[x, y, z, w]`) for this crate's yaw, pitch and roll (radians).
pub fn rotation_of(yaw: f32, pitch: f32, roll: f32) -> [f32; 4] {
    let axis = |i: usize, angle: f32| {
        let mut q = [0.0, 0.0, 0.0, (angle / 2.0).cos()];
        q[i] = (angle / 2.0).sin();
        q
    };
    // Unity's Euler order: z first, then x, then y (q = qy * qx * qz).
    quat_mul(quat_mul(axis(1, -yaw), axis(0, -pitch)), axis(2, roll))
}

/// This crate's `(yaw, pitch, roll)` of a Unity rotation `[x, y, z, w]` (normalised first); `None` for a
/// rotation that is not a number or has no length.
pub fn angles_of(rotation: [f32; 4]) -> Option<(f32, f32, f32)> {
    let n = rotation.iter().map(|v| v * v).sum::<f32>().sqrt();
    if !n.is_finite() || n < 1e-6 {
        return None;
    }
    let [x, y, z, w] = rotation.map(|v| v / n);
    // The rotation matrix of q = qy * qx * qz: m12 = -sin(ax), m02 / m22 = tan(ay), m10 / m11 = tan(az).
    let m12 = 2.0 * (y * z - w * x);
    let m02 = 2.0 * (x * z + w * y);
    let m22 = 1.0 - 2.0 * (x * x + y * y);
    let m10 = 2.0 * (x * y + w * z);
    let m11 = 1.0 - 2.0 * (x * x + z * z);
    let ax = (-m12).clamp(-1.0, 1.0).asin();
    let ay = m02.atan2(m22);
    let az = m10.atan2(m11);
    Some((-ay, -ax, az))
}

/// Sends a head's composed face over the VMC protocol, so VSeeFace, Warudo, VNyan or any VMC receiver can
/// use this crate's tracking: at each send, one OSC bundle with `/VMC/Ext/OK`, `/VMC/Ext/T`, the `Head`,
/// `LeftEye` and `RightEye` bones, all 52 ARKit blendshapes by their ARKit names (`eyeBlinkLeft`, ...)
/// and `/VMC/Ext/Blend/Apply` (about 3 KB).
///
/// Put it on a [`TalkingHead`](crate::TalkingHead) entity (it reads the head's [`FaceFrame`]). Sends that
/// fail (no route, nobody listening on the port) are counted ([`failed`](Self::failed)) and reported as a
/// [`TalkingHeadError`](crate::TalkingHeadError) when a problem first shows and then at most every 5 s
/// while it lasts; sending goes on at the next turn.
///
/// The bones carry typical adult local positions (the head 10 cm above the neck, the eyes 3.2 cm either
/// side, 6 cm up and 5.5 cm forward), for receivers that apply bone positions as well as rotations.
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_talking_head::prelude::*;
/// # use bevy_talking_head::interop::VmcSender;
/// # fn spawn(mut commands: Commands, portrait: Handle<Image>) {
/// commands.spawn((
///     TalkingHead::new(portrait),
///     LiveFace::webcam(CameraRequest::default()),
///     VmcSender::new("127.0.0.1:39539".parse().unwrap()),
/// ));
/// # }
/// ```
#[derive(Component, Debug)]
pub struct VmcSender {
    /// Where the packets go.
    pub target: SocketAddr,
    /// Whether packets are sent (e.g. a mute button).
    pub enabled: bool,
    /// Time between packets (1/60 s by default).
    pub interval: Duration,
    pacer: Pacer,
    socket: Option<UdpSocket>,
    sent: u64,
    failed: u64,
    reported: Option<(String, std::time::Instant)>,
}

impl VmcSender {
    /// Sends to `target` 60 times a second.
    pub fn new(target: SocketAddr) -> Self {
        Self::at_rate(target, 60.0)
    }

    /// Sends to `target` `hz` times a second (clamped to 1..=240; 60 if not a number).
    pub fn at_rate(target: SocketAddr, hz: f32) -> Self {
        let hz = if hz.is_finite() {
            hz.clamp(1.0, 240.0)
        } else {
            60.0
        };
        Self {
            target,
            enabled: true,
            interval: Duration::from_secs_f32(1.0 / hz),
            pacer: Pacer::default(),
            socket: None,
            sent: 0,
            failed: 0,
            reported: None,
        }
    }

    /// Packets sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Sends that failed so far.
    pub fn failed(&self) -> u64 {
        self.failed
    }

    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.socket.is_none() {
            let any: SocketAddr = if self.target.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let socket = UdpSocket::bind(any)?;
            // Never wait on the main thread: a full buffer drops this packet.
            socket.set_nonblocking(true)?;
            self.socket = Some(socket);
        }
        let socket = self.socket.as_ref().expect("bound above");
        socket.send_to(bytes, self.target).map(|_| ())
    }
}

fn message(addr: &str, args: Vec<OscType>) -> OscPacket {
    OscPacket::Message(RoscMessage {
        addr: addr.to_owned(),
        args,
    })
}

fn bone(name: &str, position: [f32; 3], rotation: [f32; 4]) -> OscPacket {
    let mut args = vec![OscType::String(name.to_owned())];
    args.extend(position.map(OscType::Float));
    args.extend(rotation.map(OscType::Float));
    message("/VMC/Ext/Bone/Pos", args)
}

/// The VMC bundle [`VmcSender`] sends for `face` at `time` seconds.
pub fn encode_face(face: &FaceFrame, time: f32) -> Vec<u8> {
    let mut content = vec![
        message("/VMC/Ext/OK", vec![OscType::Int(1)]),
        message("/VMC/Ext/T", vec![OscType::Float(time)]),
        bone(
            "Head",
            [0.0, 0.1, 0.0],
            rotation_of(face.head.yaw, face.head.pitch, face.head.roll),
        ),
        // The avatar faces +z, so its left is -x.
        bone(
            "LeftEye",
            [-0.032, 0.06, 0.055],
            rotation_of(face.gaze.left[0], face.gaze.left[1], 0.0),
        ),
        bone(
            "RightEye",
            [0.032, 0.06, 0.055],
            rotation_of(face.gaze.right[0], face.gaze.right[1], 0.0),
        ),
    ];
    for e in Expression::ALL {
        content.push(message(
            "/VMC/Ext/Blend/Val",
            vec![
                OscType::String(e.name().to_owned()),
                OscType::Float(face.expressions.get(e)),
            ],
        ));
    }
    content.push(message("/VMC/Ext/Blend/Apply", vec![]));
    let bundle = OscPacket::Bundle(OscBundle {
        // 1: "immediately".
        timetag: OscTime {
            seconds: 0,
            fractional: 1,
        },
        content,
    });
    // Encoding a bundle of these types cannot fail (rosc refuses only malformed addresses).
    rosc::encoder::encode(&bundle).unwrap_or_default()
}

/// Sends each [`VmcSender`]'s head's face when it is due.
pub(crate) fn send_vmc(
    time: Res<Time<Real>>,
    mut heads: Query<(Entity, &FaceFrame, &mut VmcSender)>,
    mut errors: HeadErrors,
) {
    let now = time.elapsed_secs_f64();
    for (entity, face, mut sender) in &mut heads {
        let sender = &mut *sender;
        if !sender.enabled || !sender.pacer.due(now, sender.interval) {
            continue;
        }
        let bytes = encode_face(face, now as f32);
        match sender.send(&bytes) {
            Ok(()) => {
                sender.sent += 1;
                sender.reported = None;
            }
            // A full send buffer: this packet is dropped, the next goes.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => sender.failed += 1,
            Err(e) => {
                sender.failed += 1;
                let problem = format!("cannot send: {e}");
                let due = sender.reported.as_ref().is_none_or(|(last, at)| {
                    *last != problem || at.elapsed() >= std::time::Duration::from_secs(5)
                });
                if due {
                    sender.reported = Some((problem.clone(), std::time::Instant::now()));
                    errors.warn(
                        entity,
                        Error::Stream {
                            stream: format!("VMC to {}", sender.target),
                            problem,
                        },
                    );
                }
            }
        }
    }
}

/// [`VmcSender`]: sends heads' composed faces over VMC.
#[derive(Default)]
pub struct VmcSenderPlugin;

impl Plugin for VmcSenderPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            PostUpdate,
            send_vmc
                .after(TalkingHeadSystems::Compose)
                .before(TalkingHeadSystems::Rig),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interop::osc::read_packet;

    #[test]
    fn angles_survive_the_rotation_and_back() {
        for (yaw, pitch, roll) in [(0.3, -0.2, 0.1), (-0.7, 0.4, -0.25), (0.0, 0.0, 0.0)] {
            let (y, p, r) = angles_of(rotation_of(yaw, pitch, roll)).unwrap();
            assert!((y - yaw).abs() < 1e-5 && (p - pitch).abs() < 1e-5 && (r - roll).abs() < 1e-5);
        }
        // A head turned to its own left (positive yaw) in Unity's frame: its forward (+z) swings to -x.
        let q = rotation_of(0.5, 0.0, 0.0);
        let forward_x = 2.0 * (q[0] * q[2] + q[3] * q[1]);
        assert!(forward_x < -0.4, "{forward_x}");
        assert_eq!(angles_of([0.0; 4]), None);
        assert_eq!(angles_of([f32::NAN, 0.0, 0.0, 1.0]), None);
    }

    #[test]
    fn the_sent_bundle_reads_back_as_the_face() {
        let mut face = FaceFrame::default().with_expression(Expression::JawOpen, 0.6);
        face.head.yaw = 0.2;
        face.gaze.left = [0.1, -0.05];
        let bytes = encode_face(&face, 3.5);
        assert!(bytes.len() < 3500, "{} bytes", bytes.len());
        let (mut blends, mut applies, mut head) = (0, 0, None);
        read_packet(&bytes, &mut |m, _| match VmcEvent::of(&m) {
            VmcEvent::Blend { name, value } => {
                blends += 1;
                if name == "jawOpen" {
                    assert_eq!(value, 0.6);
                }
            }
            VmcEvent::Apply => applies += 1,
            VmcEvent::Bone {
                name: "Head",
                rotation,
                ..
            } => head = angles_of(rotation),
            _ => {}
        })
        .unwrap();
        assert_eq!((blends, applies), (52, 1));
        assert!((head.unwrap().0 - 0.2).abs() < 1e-5);
    }
}
