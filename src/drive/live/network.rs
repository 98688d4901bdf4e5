//! Live faces received over UDP ([`LiveSource::LiveLink`](super::LiveSource::LiveLink),
//! [`LiveSource::Vmc`](super::LiveSource::Vmc)): one listening thread per port, shared by every head
//! that listens there (several Live Link subjects arrive on one port), handing each head the newest face
//! it asked for through the same channels as a tracked camera.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::runtime::{Control, Runtime, Status, Stop, send_newest};
use super::status::LiveSample;
use super::vmc_face::VmcFaceReader;
use crate::face::{ExpressionWeights, FaceFrame, HeadPose};
use crate::interop::livelink;

/// What a port receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    LiveLink,
    Vmc,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::LiveLink => "Live Link Face",
            Protocol::Vmc => "VMC",
        }
    }
}

/// A Live Link frame time this far behind the newest is a reordered packet (dropped); further back, the
/// sender started over.
const REORDER_WINDOW: f64 = 1.0;
/// How often a listener that cannot bind its port tries again, and how long a receive waits.
const RETRY: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(20);
/// One malformed packet is reported per head at most this often.
const BAD_PACKET_REPORT: Duration = Duration::from_secs(5);

/// One head listening on a port.
struct Subscriber {
    /// The source's name for the head's status (with its subject).
    name: String,
    subject: Option<String>,
    samples: Sender<LiveSample>,
    samples_back: Receiver<LiveSample>,
    status: Sender<Status>,
    control: Receiver<Control>,
    stop: Arc<Stop>,
    dropped: Arc<AtomicU64>,
    epoch: Instant,
    index: u64,
    calibrate: bool,
    neutral: Option<(ExpressionWeights, HeadPose)>,
    /// The newest Live Link frame time delivered, and its subject.
    newest: Option<(f64, String)>,
    face: Option<bool>,
    reported_bad: Option<Instant>,
}

impl Subscriber {
    fn wants(&self, subject: &str) -> bool {
        self.subject.as_deref().is_none_or(|s| s == subject)
    }

    fn face_seen(&mut self, seen: bool) {
        if self.face != Some(seen) {
            self.face = Some(seen);
            let _ = self.status.send(Status::Face(seen));
        }
    }

    fn bad_packet(&mut self, why: String) {
        if self
            .reported_bad
            .is_none_or(|t| t.elapsed() >= BAD_PACKET_REPORT)
        {
            self.reported_bad = Some(Instant::now());
            let _ = self.status.send(Status::BadPacket(why));
        }
    }

    /// Hands `face` (received at `at`) to the head, calibrated (a head that went away is noticed by its
    /// stop flag).
    fn deliver(&mut self, mut face: FaceFrame, source_index: u64, at: Instant) {
        while let Ok(Control::Calibrate) = self.control.try_recv() {
            self.calibrate = true;
        }
        if std::mem::take(&mut self.calibrate) {
            self.neutral = Some((face.expressions, face.head));
        }
        if let Some((weights, head)) = &self.neutral {
            face.expressions = face.expressions.relative_to(weights);
            face.head.yaw -= head.yaw;
            face.head.pitch -= head.pitch;
            face.head.roll -= head.roll;
        }
        face.time = at.saturating_duration_since(self.epoch).as_secs_f64();
        self.face_seen(true);
        let sample = LiveSample {
            frame: face,
            index: self.index,
            source_index,
            captured_at: at,
            tracked_at: Instant::now(),
            preview: None,
            motion: None,
        };
        self.index += 1;
        if let Ok(Some(_)) = send_newest(&self.samples, &self.samples_back, sample) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A port's listening thread: the heads that joined since it last looked.
struct Listener {
    protocol: Protocol,
    joining: Mutex<Vec<Subscriber>>,
}

/// Ports being listened on.
static LISTENERS: Mutex<Option<HashMap<u16, Arc<Listener>>>> = Mutex::new(None);

/// Starts receiving `protocol` on `port` for one head (joining the port's listener if another head
/// already listens there). The returned runtime's channels work as a tracked camera's (a port taken by
/// another protocol is its `Failed` status); dropping it leaves the port (its thread ends when no head
/// listens any more).
pub(super) fn listen(
    protocol: Protocol,
    port: u16,
    subject: Option<String>,
    name: String,
    epoch: Instant,
) -> Runtime {
    let stop = Arc::new(Stop::default());
    let dropped = Arc::new(AtomicU64::new(0));
    let (sample_tx, sample_rx) = crossbeam_channel::bounded::<LiveSample>(1);
    let (status_tx, status_rx) = crossbeam_channel::unbounded();
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    let subscriber = Subscriber {
        name,
        subject,
        samples: sample_tx,
        samples_back: sample_rx.clone(),
        status: status_tx,
        control: control_rx,
        stop: stop.clone(),
        dropped: dropped.clone(),
        epoch,
        index: 0,
        calibrate: false,
        neutral: None,
        newest: None,
        face: None,
        reported_bad: None,
    };
    let mut listeners = LISTENERS.lock().unwrap_or_else(|e| e.into_inner());
    let listeners = listeners.get_or_insert_with(HashMap::new);
    let mut threads = Vec::new();
    match listeners.get(&port) {
        Some(l) if l.protocol != protocol => {
            let why = format!(
                "UDP port {port} already receives {} for another head",
                l.protocol.name()
            );
            let _ = subscriber.status.send(Status::Failed(why));
        }
        Some(l) => l
            .joining
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscriber),
        None => {
            let listener = Arc::new(Listener {
                protocol,
                joining: Mutex::new(vec![subscriber]),
            });
            let me = listener.clone();
            match std::thread::Builder::new()
                .name(format!("talking-head {} port {port}", protocol.name()))
                .spawn(move || run(me, port))
            {
                Ok(thread) => {
                    listeners.insert(port, listener);
                    threads.push(thread);
                }
                Err(e) => {
                    let why = format!("cannot start a thread: {e}");
                    if let Some(s) = listener
                        .joining
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .first()
                    {
                        let _ = s.status.send(Status::Failed(why));
                    }
                }
            }
        }
    }
    Runtime {
        samples: sample_rx,
        status: status_rx,
        control: control_tx,
        stop,
        dropped,
        threads,
    }
}

fn bind(port: u16) -> std::io::Result<UdpSocket> {
    // Every interface: the phone or the other app is usually on another machine.
    let socket = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], port)))?;
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket)
}

/// Takes a port's listener out of [`LISTENERS`] when its thread ends, however it ends (a panic too: later
/// heads must not join a dead listener).
struct Deregister {
    port: u16,
    listener: Arc<Listener>,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        let mut listeners = LISTENERS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(map) = listeners.as_mut()
            && map
                .get(&self.port)
                .is_some_and(|l| Arc::ptr_eq(l, &self.listener))
        {
            map.remove(&self.port);
        }
    }
}

/// The listening thread of `port`.
fn run(listener: Arc<Listener>, port: u16) {
    let protocol = listener.protocol;
    // Declared before the socket, so dropped after it: the port is free before the listener leaves the
    // map (a head joining then starts a new listener that can bind it).
    let _deregister = Deregister {
        port,
        listener: listener.clone(),
    };
    let mut subscribers: Vec<Subscriber> = Vec::new();
    let mut socket: Option<UdpSocket> = None;
    let mut next_bind = Instant::now();
    let mut bind_error: Option<String> = None;
    // The largest UDP datagram, allocated once.
    let mut buffer = vec![0u8; 65536];
    let mut vmc = VmcFaceReader::default();
    loop {
        {
            let mut joining = listener.joining.lock().unwrap_or_else(|e| e.into_inner());
            for s in joining.drain(..) {
                let _ = match (&socket, &bind_error) {
                    (Some(_), _) => s.status.send(Status::Opened(s.name.clone())),
                    (None, Some(why)) => s.status.send(Status::Lost(why.clone())),
                    (None, None) => Ok(()),
                };
                subscribers.push(s);
            }
        }
        subscribers.retain(|s| !s.stop.is_set());
        if subscribers.is_empty() {
            // The last head left: give the port up first, then end, unless a head joined meanwhile
            // (then the port is bound again on the next turn). Joining happens under the map's lock.
            drop(socket.take());
            let listeners = LISTENERS.lock().unwrap_or_else(|e| e.into_inner());
            if listener
                .joining
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
            {
                // Out of the map before the lock is released (the guard's removal finds nothing).
                let mut listeners = listeners;
                if let Some(map) = listeners.as_mut()
                    && map.get(&port).is_some_and(|l| Arc::ptr_eq(l, &listener))
                {
                    map.remove(&port);
                }
                return;
            }
            next_bind = Instant::now();
            continue;
        }
        let Some(sock) = &socket else {
            if Instant::now() >= next_bind {
                next_bind = Instant::now() + RETRY;
                match bind(port) {
                    Ok(s) => {
                        socket = Some(s);
                        bind_error = None;
                        for s in &subscribers {
                            let _ = s.status.send(Status::Opened(s.name.clone()));
                        }
                    }
                    Err(e) => {
                        let why = format!("cannot listen on UDP port {port}: {e}");
                        if bind_error.as_ref() != Some(&why) {
                            for s in &subscribers {
                                let _ = s.status.send(Status::Lost(why.clone()));
                            }
                        }
                        bind_error = Some(why);
                    }
                }
            } else {
                std::thread::sleep(POLL);
            }
            continue;
        };
        let n = match sock.recv_from(&mut buffer) {
            Ok((n, _)) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                let why = format!("receiving on UDP port {port} failed: {e}");
                for s in &subscribers {
                    let _ = s.status.send(Status::Lost(why.clone()));
                }
                bind_error = Some(why);
                socket = None;
                continue;
            }
        };
        let at = Instant::now();
        let packet = &buffer[..n];
        match protocol {
            Protocol::LiveLink => live_link(&mut subscribers, packet, at),
            Protocol::Vmc => match vmc.feed(packet) {
                Ok(Some(face)) => {
                    let frames = vmc.frames();
                    for s in &mut subscribers {
                        s.deliver(face, frames, at);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    for s in &mut subscribers {
                        s.bad_packet(format!("a packet that is not VMC ({n} bytes): {e}"));
                    }
                }
            },
        }
    }
}

/// Hands a Live Link packet to the heads that listen for its subject.
fn live_link(subscribers: &mut [Subscriber], packet: &[u8], at: Instant) {
    let p = match livelink::decode(packet) {
        Ok(p) => p,
        Err(e) => {
            for s in subscribers.iter_mut() {
                s.bad_packet(format!(
                    "a packet that is not Live Link Face ({} bytes): {e}",
                    packet.len()
                ));
            }
            return;
        }
    };
    let time = p.seconds();
    for s in subscribers.iter_mut() {
        if !s.wants(p.subject) {
            continue;
        }
        let Some(face) = p.face(false, false) else {
            s.face_seen(false);
            continue;
        };
        if let (Some(t), Some((newest, subject))) = (time, &s.newest)
            && subject == p.subject
            && t <= *newest
            && *newest - t < REORDER_WINDOW
        {
            // Older than what the head shows: a reordered or repeated packet.
            s.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        match (time, &mut s.newest) {
            (Some(t), Some((newest, subject))) if subject == p.subject => *newest = t,
            (Some(t), _) => s.newest = Some((t, p.subject.to_owned())),
            (None, _) => {}
        }
        s.deliver(face, p.frame as u64, at);
    }
}
