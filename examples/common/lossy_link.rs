//! A bad network on loopback: a UDP relay between one client and a server that drops a share of the
//! datagrams and delays the rest (with jitter, so some arrive out of order). The client connects to the
//! link's address instead of the server's. Used by the `multiplayer_avatars` example (`--loss`) and the
//! loopback test.

#![allow(dead_code)]

use std::collections::BinaryHeap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How bad the link is.
#[derive(Clone, Copy, Debug)]
pub struct LinkConditions {
    /// Share of datagrams dropped, each direction, `0..=1`.
    pub loss: f32,
    /// One-way delay.
    pub delay: Duration,
    /// Extra one-way delay, uniform in `0..jitter` per datagram.
    pub jitter: Duration,
    /// Seed of the drop and jitter choices.
    pub seed: u64,
}

/// Datagrams counted by a [`LossyLink`].
#[derive(Debug, Default)]
pub struct LinkCounters {
    pub forwarded: AtomicU64,
    pub dropped: AtomicU64,
    pub bytes: AtomicU64,
}

/// A running link; stops when dropped.
pub struct LossyLink {
    /// Where the client sends to.
    pub addr: SocketAddr,
    pub counters: Arc<LinkCounters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Due {
    at: Instant,
    order: u64,
    up: bool,
    bytes: Vec<u8>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.order == other.order
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    // Earliest first out of the max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

impl LossyLink {
    /// Starts relaying between a new loopback address and `server`.
    pub fn start(server: SocketAddr, conditions: LinkConditions) -> io::Result<Self> {
        let front = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let back = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        back.connect(server)?;
        front.set_nonblocking(true)?;
        back.set_nonblocking(true)?;
        let addr = front.local_addr()?;
        let counters = Arc::new(LinkCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counters, stop) = (counters.clone(), stop.clone());
            std::thread::Builder::new()
                .name("lossy link".into())
                .spawn(move || relay(front, back, conditions, &counters, &stop))?
        };
        Ok(Self {
            addr,
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// Share of datagrams dropped so far.
    pub fn loss(&self) -> f64 {
        let d = self.counters.dropped.load(Ordering::Relaxed) as f64;
        let f = self.counters.forwarded.load(Ordering::Relaxed) as f64;
        if d + f == 0.0 { 0.0 } else { d / (d + f) }
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn relay(
    front: UdpSocket,
    back: UdpSocket,
    c: LinkConditions,
    counters: &LinkCounters,
    stop: &AtomicBool,
) {
    let mut rng = c.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        // xorshift64*
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut client: Option<SocketAddr> = None;
    let mut queue = BinaryHeap::new();
    let mut order = 0;
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let mut busy = false;
        loop {
            let (n, up) = match front.recv_from(&mut buf) {
                Ok((n, from)) => {
                    client = Some(from);
                    (n, true)
                }
                Err(_) => match back.recv(&mut buf) {
                    Ok(n) => (n, false),
                    Err(_) => break,
                },
            };
            busy = true;
            if next() < f64::from(c.loss) {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let at = Instant::now() + c.delay + c.jitter.mul_f64(next());
            order += 1;
            queue.push(Due {
                at,
                order,
                up,
                bytes: buf[..n].to_vec(),
            });
        }
        let now = Instant::now();
        while queue.peek().is_some_and(|d: &Due| d.at <= now) {
            let Some(d) = queue.pop() else { break };
            let sent = if d.up {
                back.send(&d.bytes).is_ok()
            } else {
                client.is_some_and(|to| front.send_to(&d.bytes, to).is_ok())
            };
            if sent {
                counters.forwarded.fetch_add(1, Ordering::Relaxed);
                counters
                    .bytes
                    .fetch_add(d.bytes.len() as u64, Ordering::Relaxed);
            }
            busy = true;
        }
        if !busy {
            std::thread::sleep(Duration::from_micros(300));
        }
    }
}
