//! Test harness (quinn-proto's `tests/util.rs` `Pair` shape): two [`Peer`]s joined by
//! simulated connections, with virtual time that jumps to the next deadline.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use diameter_core::generated::base::DisconnectCause;
use diameter_core::typed::Command;
use diameter_core::{Message, MessageBuilder};

use crate::ids::EndToEndIds;
use crate::peer::capabilities::{LocalCapabilities, SupportedApplication};
use crate::peer::error::PeerError;
use crate::peer::{Action, ConnId, Event, Peer, PeerConfig, Transmit, base};

/// One side of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Side {
    A,
    B,
}

impl Side {
    fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

#[derive(Debug)]
enum Delivery {
    Bytes(ConnId, Bytes),
    Connected(ConnId),
    ConnectFailed,
    Disconnected(ConnId),
}

/// Local capabilities of a test node supporting application 4 (Gy).
pub(super) fn caps(host: &str) -> Arc<LocalCapabilities> {
    let mut c = LocalCapabilities::new(host, "example.org");
    c.applications = vec![SupportedApplication::auth(4)];
    Arc::new(c)
}

/// A peer configuration for `host`, persistent, with the default timers.
pub(super) fn config(host: &str, seed: u64) -> PeerConfig {
    let mut c = PeerConfig::new(caps(host), Arc::new(EndToEndIds::new(0, seed as u32)), seed);
    c.persistent = true;
    c
}

/// An application request (Gy CCR-like, application 4, command 272).
pub(super) fn app_request(hop_by_hop: u32) -> Bytes {
    let mut b = MessageBuilder::request(272, 4, true);
    b.header_mut().hop_by_hop = hop_by_hop;
    b.add(
        diameter_core::generated::base::avp::SESSION_ID,
        &diameter_core::Utf8String::from("s;1;1"),
    );
    b.build().into_bytes()
}

pub(super) fn decode(bytes: &Bytes) -> Message {
    Message::decode(bytes.clone()).expect("peer core sends valid messages")
}

/// Messages a remote end would send, for tests that drive one [`Peer`] by hand.
pub(super) struct Remote {
    pub(super) local: Arc<LocalCapabilities>,
}

impl Remote {
    pub(super) fn new(host: &str) -> Self {
        Self { local: caps(host) }
    }
    pub(super) fn cer(&self) -> Message {
        decode(&self.local.cer().to_bytes())
    }
    pub(super) fn cea(&self, cer: &Bytes, code: u32) -> Message {
        decode(&self.local.cea(decode(cer).header(), code, None).to_bytes())
    }
    pub(super) fn dwr(&self) -> Message {
        decode(&base::dwr(&self.local, 1, 1))
    }
    pub(super) fn dwa(&self, dwr: &Bytes) -> Message {
        decode(&base::dwa(&self.local, &decode(dwr)))
    }
    pub(super) fn dpr(&self, cause: DisconnectCause) -> Message {
        decode(&base::dpr(&self.local, cause, 2, 2))
    }
    pub(super) fn dpa(&self, dpr: &Bytes) -> Message {
        decode(&base::dpa(&self.local, &decode(dpr)))
    }
}

/// Drains a peer's outputs.
pub(super) fn drain(peer: &mut Peer) -> (Vec<Transmit>, Vec<Action>, Vec<Event>) {
    let t = std::iter::from_fn(|| peer.poll_transmit()).collect();
    let a = std::iter::from_fn(|| peer.poll_action()).collect();
    let e = std::iter::from_fn(|| peer.poll_event()).collect();
    (t, a, e)
}

/// Two peers joined by simulated TCP connections.
pub(super) struct PeerPair {
    pub(super) a: Peer,
    pub(super) b: Peer,
    pub(super) time: Instant,
    pub(super) latency: Duration,
    /// Lose everything A writes (B keeps its connection: a silent peer).
    pub(super) drop_a_to_b: bool,
    /// Lose everything B writes.
    pub(super) drop_b_to_a: bool,
    /// Whether connection attempts towards each side succeed.
    pub(super) a_listening: bool,
    pub(super) b_listening: bool,
    /// Complete a connection attempt only when the test calls [`Self::complete_connects`].
    pub(super) hold_connects: bool,
    held_connects: Vec<Side>,
    next_conn: u64,
    attached: HashSet<(Side, ConnId)>,
    closed: HashSet<ConnId>,
    in_flight: VecDeque<(Instant, Side, Delivery)>,
    pub(super) events_a: Vec<(Instant, Event)>,
    pub(super) events_b: Vec<(Instant, Event)>,
    pub(super) errors: Vec<(Side, PeerError)>,
    /// Messages each side received, in order: (time, receiver, command code, request?).
    pub(super) log: Vec<(Instant, Side, u32, bool)>,
    conn_of: HashMap<ConnId, Side>,
}

impl PeerPair {
    /// A persistent A and a B that only answers (not persistent).
    pub(super) fn new() -> Self {
        let mut b = config("b.example.org", 2);
        b.persistent = false;
        Self::with(config("a.example.org", 1), b)
    }

    pub(super) fn with(a: PeerConfig, b: PeerConfig) -> Self {
        Self {
            a: Peer::new(a),
            b: Peer::new(b),
            time: Instant::now(),
            latency: Duration::from_millis(1),
            drop_a_to_b: false,
            drop_b_to_a: false,
            a_listening: true,
            b_listening: true,
            hold_connects: false,
            held_connects: Vec::new(),
            next_conn: 1,
            attached: HashSet::new(),
            closed: HashSet::new(),
            in_flight: VecDeque::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
            errors: Vec::new(),
            log: Vec::new(),
            conn_of: HashMap::new(),
        }
    }

    pub(super) fn peer(&mut self, side: Side) -> &mut Peer {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn push(&mut self, to: Side, d: Delivery) {
        let at = self.time + self.latency;
        self.in_flight.push_back((at, to, d));
    }

    /// Moves every side's outputs into flight.
    pub(super) fn flush(&mut self) {
        for side in [Side::A, Side::B] {
            loop {
                let peer = self.peer(side);
                let t = peer.poll_transmit();
                let a = if t.is_none() {
                    peer.poll_action()
                } else {
                    None
                };
                match (t, a) {
                    (Some(t), _) => {
                        let dropped = match side {
                            Side::A => self.drop_a_to_b,
                            Side::B => self.drop_b_to_a,
                        };
                        if !dropped && !self.closed.contains(&t.conn) {
                            self.push(side.other(), Delivery::Bytes(t.conn, t.bytes));
                        }
                    }
                    (None, Some(Action::Connect)) => {
                        if self.hold_connects {
                            self.held_connects.push(side);
                        } else {
                            self.connect(side);
                        }
                    }
                    (None, Some(Action::Close { conn, .. })) => {
                        if self.closed.insert(conn) {
                            self.push(side.other(), Delivery::Disconnected(conn));
                        }
                    }
                    (None, None) => break,
                }
            }
            while let Some(e) = self.peer(side).poll_event() {
                let time = self.time;
                match side {
                    Side::A => self.events_a.push((time, e)),
                    Side::B => self.events_b.push((time, e)),
                }
            }
        }
    }

    fn connect(&mut self, side: Side) {
        let listening = match side.other() {
            Side::A => self.a_listening,
            Side::B => self.b_listening,
        };
        if listening {
            let conn = ConnId(self.next_conn);
            self.next_conn += 1;
            self.conn_of.insert(conn, side);
            self.push(side, Delivery::Connected(conn));
        } else {
            self.push(side, Delivery::ConnectFailed);
        }
    }

    /// Completes connection attempts held by [`Self::hold_connects`].
    pub(super) fn complete_connects(&mut self) {
        for side in std::mem::take(&mut self.held_connects) {
            self.connect(side);
        }
    }

    fn deliver(&mut self, to: Side, d: Delivery) {
        let now = self.time;
        let result = match d {
            Delivery::Connected(conn) => {
                self.attached.insert((to, conn));
                self.peer(to).handle_connected(now, conn)
            }
            Delivery::ConnectFailed => self.peer(to).handle_connect_failed(now),
            Delivery::Disconnected(conn) => {
                self.closed.insert(conn);
                if self.attached.remove(&(to, conn)) {
                    self.peer(to).handle_disconnected(now, conn)
                } else {
                    Ok(())
                }
            }
            Delivery::Bytes(conn, bytes) => {
                if self.closed.contains(&conn) && !self.attached.contains(&(to, conn)) {
                    return;
                }
                let msg = decode(&bytes);
                self.log.push((now, to, msg.code(), msg.is_request()));
                if self.attached.contains(&(to, conn)) {
                    self.peer(to).handle_message(now, conn, msg)
                } else if base::classify(&msg) == base::BaseKind::Cer {
                    // The acceptor (§5.6.1) hands a new connection's CER to the peer.
                    self.attached.insert((to, conn));
                    self.peer(to).handle_incoming_cer(now, conn, &msg)
                } else {
                    Ok(())
                }
            }
        };
        if let Err(e) = result {
            self.errors.push((to, e));
        }
    }

    /// The next instant something happens.
    fn next_wakeup(&self) -> Option<Instant> {
        [
            self.in_flight.front().map(|(t, _, _)| *t),
            self.a.poll_timeout(),
            self.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// One step: flush outputs, jump to the next wakeup, deliver and fire timers there.
    /// Returns false when nothing is left to happen before `limit`.
    pub(super) fn step(&mut self, limit: Instant) -> bool {
        self.flush();
        let Some(next) = self.next_wakeup() else {
            return false;
        };
        if next > limit {
            return false;
        }
        self.time = self.time.max(next);
        while self
            .in_flight
            .front()
            .is_some_and(|(t, _, _)| *t <= self.time)
        {
            if let Some((_, to, d)) = self.in_flight.pop_front() {
                self.deliver(to, d);
                self.flush();
            }
        }
        let now = self.time;
        if self.a.poll_timeout().is_some_and(|t| t <= now) {
            self.a.handle_timeout(now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= now) {
            self.b.handle_timeout(now);
        }
        self.flush();
        true
    }

    /// Runs until `duration` of virtual time has passed (or nothing is left to do).
    pub(super) fn run_for(&mut self, duration: Duration) {
        let limit = self.time + duration;
        while self.step(limit) {}
        self.time = self.time.max(limit);
    }

    /// Runs until `cond` holds, for at most `max` of virtual time.
    pub(super) fn run_until(&mut self, max: Duration, mut cond: impl FnMut(&Self) -> bool) -> bool {
        let limit = self.time + max;
        loop {
            if cond(self) {
                return true;
            }
            if !self.step(limit) {
                self.time = self.time.max(limit);
                return cond(self);
            }
        }
    }

    /// Starts A (persistent) and B (answering), and runs until both are open.
    pub(super) fn connect_a_to_b(&mut self) {
        let now = self.time;
        self.a.start(now);
        assert!(
            self.run_until(Duration::from_secs(5), |p| p.a.is_available()
                && p.b.is_available())
        );
    }

    /// The transport of the open connection breaks: both ends see Peer-Disc.
    pub(super) fn cut(&mut self) {
        let now = self.time;
        let Some(conn) = self.a.open_connection() else {
            return;
        };
        self.closed.insert(conn);
        for side in [Side::A, Side::B] {
            if self.attached.remove(&(side, conn)) {
                if let Err(e) = self.peer(side).handle_disconnected(now, conn) {
                    self.errors.push((side, e));
                }
            }
        }
        self.flush();
    }

    /// Every message `to` received with this command code and R bit.
    pub(super) fn received(&self, to: Side, code: u32, request: bool) -> Vec<Instant> {
        self.log
            .iter()
            .filter(|(_, s, c, r)| *s == to && *c == code && *r == request)
            .map(|(t, ..)| *t)
            .collect()
    }
}
