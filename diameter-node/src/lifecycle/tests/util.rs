//! Test harness (quinn-proto's `tests/util.rs` `Pair`, for several nodes): links of
//! [`PeerCore`]s joined in pairs by simulated connections, virtual time that jumps to the
//! next deadline, and the node glue in miniature (a failover goes to the node's other
//! open link, a redirect to the link of the host it names). No sockets, no sleeping.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use diameter_core::generated::base::avp;
use diameter_core::{DiameterIdentity, DiameterUri, Message, MessageBuilder, Utf8String};

use crate::answer::generate_answer;
use crate::error::RequestError;
use crate::ids::EndToEndIds;
use crate::lifecycle::{CoreConfig, Event, Outcome, PeerCore, Pending};
use crate::peer::base::{BaseKind, classify};
use crate::peer::capabilities::{LocalCapabilities, SupportedApplication};
use crate::peer::{self, Action, ConnId, PeerConfig};

/// What a request waits with in the tests: its number.
pub(super) type Core = PeerCore<u32>;

pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn core_config() -> CoreConfig {
    CoreConfig {
        frame_timeout: Duration::from_secs(3),
        drain_timeout: Duration::from_secs(5),
        max_message_size: 65_536,
        max_pending_requests: 100,
        follow_redirects: true,
    }
}

pub(super) fn caps(host: &str) -> Arc<LocalCapabilities> {
    let mut c = LocalCapabilities::new(host, "example.org");
    c.applications = vec![SupportedApplication::auth(4)];
    Arc::new(c)
}

pub(super) fn peer_config(host: &str, persistent: bool, seed: u64) -> PeerConfig {
    let ids = Arc::new(EndToEndIds::new(0, seed as u32));
    let mut c = PeerConfig::new(caps(host), ids, seed);
    c.persistent = persistent;
    c
}

/// An application request (Gy CCR-like: application 4, command 272) from `origin`.
pub(super) fn request(origin: &str) -> Bytes {
    let mut b = MessageBuilder::request(272, 4, true);
    b.add(avp::SESSION_ID, &Utf8String::from("a.example.org;1;1"));
    b.add(avp::ORIGIN_HOST, &DiameterIdentity::from(origin));
    b.add(avp::ORIGIN_REALM, &DiameterIdentity::from("example.org"));
    b.add(
        avp::DESTINATION_REALM,
        &DiameterIdentity::from("example.org"),
    );
    b.build().into_bytes()
}

/// The answer `host` gives to `req` with this Result-Code.
pub(super) fn answer(host: &str, req: &Message, code: u32) -> Bytes {
    generate_answer(req, &caps(host), code).build().into_bytes()
}

/// A 3006 naming `to` (§6.13), Redirect-Host-Usage left out (DONT_CACHE).
pub(super) fn redirect(host: &str, req: &Message, to: &str) -> Bytes {
    let mut b = generate_answer(req, &caps(host), 3006);
    let uri = format!("aaa://{to}");
    b.add(avp::REDIRECT_HOST, &DiameterUri::from(uri.as_str()));
    b.build().into_bytes()
}

/// How a node answers a request it receives: the answer, or `None` for silence.
pub(super) type Server = Box<dyn FnMut(&str, &Message) -> Option<Bytes>>;

/// Every node answers 2001 at once.
pub(super) fn answers_2001() -> Server {
    Box::new(|host, req| Some(answer(host, req, 2001)))
}

#[derive(Debug)]
enum Delivery {
    Bytes(ConnId, Bytes),
    Connected(ConnId),
    Disconnected(ConnId),
}

/// One node's link to one of its peers.
pub(super) struct Link {
    /// The node's DiameterIdentity.
    pub(super) node: &'static str,
    /// The peer's.
    pub(super) peer: &'static str,
    pub(super) core: Core,
}

/// Nodes' links, joined in pairs.
pub(super) struct Net {
    pub(super) time: Instant,
    pub(super) latency: Duration,
    pub(super) links: Vec<Link>,
    partner: HashMap<usize, usize>,
    next_conn: u64,
    attached: HashSet<(usize, ConnId)>,
    closed: HashSet<ConnId>,
    buffers: HashMap<(usize, ConnId), BytesMut>,
    in_flight: VecDeque<(Instant, usize, Delivery)>,
    pub(super) server: Server,
    /// Answers held back this long before they are written (a slow server).
    pub(super) answer_delay: Duration,
    /// Every answer is written twice (a duplicated answer).
    pub(super) duplicate_answers: bool,
    /// Links whose writes are lost (the peer's connection stays: a silent peer).
    pub(super) mute: HashSet<usize>,
    /// Requests each node received: (time, node, request).
    pub(super) received: Vec<(Instant, &'static str, Message)>,
    /// Each request's one outcome: (time, link, request number, answer or error).
    pub(super) settled: Vec<(Instant, usize, u32, Result<Message, RequestError>)>,
    /// Requests retried after a timeout: (time, link that timed out, request number).
    pub(super) retried: Vec<(Instant, usize, u32)>,
    /// Every event other than requests and outcomes: (time, link, event).
    pub(super) events: Vec<(Instant, usize, Event<u32>)>,
    /// The messages each link wrote: (time, link, bytes).
    pub(super) written: Vec<(Instant, usize, Bytes)>,
    next_request: u32,
}

impl Net {
    /// Links `node` → each of `peers`: the node's side connects (persistent), the peer's
    /// side only answers.
    pub(super) fn star(node: &'static str, peers: &[&'static str]) -> Self {
        let mut net = Self {
            time: Instant::now(),
            latency: Duration::from_millis(1),
            links: Vec::new(),
            partner: HashMap::new(),
            next_conn: 1,
            attached: HashSet::new(),
            closed: HashSet::new(),
            buffers: HashMap::new(),
            in_flight: VecDeque::new(),
            server: answers_2001(),
            answer_delay: Duration::ZERO,
            duplicate_answers: false,
            mute: HashSet::new(),
            received: Vec::new(),
            settled: Vec::new(),
            retried: Vec::new(),
            events: Vec::new(),
            written: Vec::new(),
            next_request: 1,
        };
        for (i, peer) in peers.iter().enumerate() {
            let seed = 2 * i as u64 + 1;
            let a = net.add(node, peer, peer_config(node, true, seed));
            let b = net.add(peer, node, peer_config(peer, false, seed + 1));
            net.partner.insert(a, b);
            net.partner.insert(b, a);
        }
        net
    }

    fn add(&mut self, node: &'static str, peer: &'static str, config: PeerConfig) -> usize {
        let core = PeerCore::new(config, core_config());
        self.links.push(Link { node, peer, core });
        self.links.len() - 1
    }

    /// The link of `node` to `peer`.
    pub(super) fn link(&self, node: &str, peer: &str) -> usize {
        self.links
            .iter()
            .position(|l| l.node == node && l.peer == peer)
            .expect("no such link")
    }

    pub(super) fn core(&mut self, node: &str, peer: &str) -> &mut Core {
        let i = self.link(node, peer);
        &mut self.links[i].core
    }

    /// Starts every connecting side and runs until all links are open.
    pub(super) fn open_all(&mut self) {
        let now = self.time;
        for l in self.links.iter_mut().step_by(2) {
            l.core.start(now);
        }
        let open = self.run_until(Duration::from_secs(5), |n| {
            n.links.iter().all(|l| l.core.peer().is_available())
        });
        assert!(open, "links did not open");
    }

    /// Sends a new request from `node` to `peer`; returns its number.
    pub(super) fn send(&mut self, node: &str, peer: &str) -> u32 {
        self.send_with(node, peer, REQUEST_TIMEOUT)
    }

    /// [`Self::send`] with this request timeout.
    pub(super) fn send_with(&mut self, node: &str, peer: &str, timeout: Duration) -> u32 {
        self.send_retrying(node, peer, timeout, None)
    }

    /// [`Self::send_with`], retried once on another link after a timeout if `retry` says
    /// how long the retry may wait (as a relay route's `retry_on_timeout` does).
    pub(super) fn send_retrying(
        &mut self,
        node: &str,
        peer: &str,
        timeout: Duration,
        retry: Option<Duration>,
    ) -> u32 {
        let n = self.next_request;
        self.next_request += 1;
        let p = Pending {
            request: request(node),
            deadline: self.time + timeout,
            hops: 0,
            follows_redirects: true,
            retry,
            waiter: n,
        };
        let i = self.link(node, peer);
        let now = self.time;
        self.links[i].core.send_request(now, p);
        self.flush();
        n
    }

    fn push(&mut self, to: usize, d: Delivery, delay: Duration) {
        let at = self.time + self.latency + delay;
        let pos = self.in_flight.partition_point(|(t, _, _)| *t <= at);
        self.in_flight.insert(pos, (at, to, d));
    }

    /// Puts raw bytes on the wire to `to` on its open connection, as if its peer wrote
    /// them.
    pub(super) fn inject(&mut self, to: usize, bytes: Bytes) {
        let conn = self.links[to]
            .core
            .peer()
            .open_connection()
            .expect("open connection");
        self.push(to, Delivery::Bytes(conn, bytes), Duration::ZERO);
    }

    /// Moves every link's outputs into flight, and carries out what the node glue would.
    pub(super) fn flush(&mut self) {
        loop {
            let mut progress = false;
            for i in 0..self.links.len() {
                let to = self.partner[&i];
                while let Some(t) = self.links[i].core.poll_transmit() {
                    progress = true;
                    self.written.push((self.time, i, t.bytes.clone()));
                    if !self.closed.contains(&t.conn) {
                        self.push(to, Delivery::Bytes(t.conn, t.bytes), Duration::ZERO);
                    }
                }
                while let Some(a) = self.links[i].core.poll_action() {
                    progress = true;
                    match a {
                        Action::Connect => {
                            let conn = ConnId(self.next_conn);
                            self.next_conn += 1;
                            self.push(i, Delivery::Connected(conn), Duration::ZERO);
                        }
                        Action::Close { conn, .. } => {
                            if self.closed.insert(conn) {
                                self.attached.remove(&(i, conn));
                                self.push(to, Delivery::Disconnected(conn), Duration::ZERO);
                            }
                        }
                    }
                }
                while let Some(e) = self.links[i].core.poll_event() {
                    progress = true;
                    self.event(i, e);
                }
            }
            if !progress {
                break;
            }
        }
    }

    /// The node glue in miniature.
    fn event(&mut self, i: usize, e: Event<u32>) {
        let now = self.time;
        match e {
            Event::Request { conn, msg } => {
                let node = self.links[i].node;
                self.received.push((now, node, msg.clone()));
                if let Some(a) = (self.server)(node, &msg) {
                    let to = self.partner[&i];
                    let copies = if self.duplicate_answers { 2 } else { 1 };
                    for _ in 0..copies {
                        let d = Delivery::Bytes(conn, a.clone());
                        self.push(to, d, self.answer_delay);
                    }
                }
            }
            Event::Outcome(Outcome::Answered { pending, answer }) => {
                self.settled.push((now, i, pending.waiter, Ok(answer)));
            }
            Event::Outcome(Outcome::Failed { pending, error }) => {
                self.settled.push((now, i, pending.waiter, Err(error)));
            }
            Event::Outcome(Outcome::Failover { pending, .. }) => {
                self.elsewhere(i, pending, RequestError::PeerGone);
            }
            Event::Outcome(Outcome::Retry { pending }) => {
                self.retried.push((now, i, pending.waiter));
                self.elsewhere(i, pending, RequestError::Timeout);
            }
            Event::Outcome(Outcome::Redirected {
                mut pending,
                answer,
                indication,
            }) => {
                let node = self.links[i].node;
                let target = indication.hosts.iter().find_map(|h| {
                    (0..self.links.len()).find(|&j| {
                        j != i && self.links[j].node == node && self.links[j].peer == h.as_str()
                    })
                });
                match target {
                    Some(j) => {
                        pending.hops += 1;
                        self.links[j].core.send_request(now, pending);
                    }
                    None => self.settled.push((now, i, pending.waiter, Ok(answer))),
                }
            }
            e => self.events.push((now, i, e)),
        }
    }

    /// A request leaving link `i` unanswered goes to the node's first other link that is
    /// open; with none it fails with `error`.
    fn elsewhere(&mut self, i: usize, mut pending: Pending<u32>, error: RequestError) {
        let now = self.time;
        let node = self.links[i].node;
        let other = (0..self.links.len()).find(|&j| {
            j != i && self.links[j].node == node && self.links[j].core.peer().is_available()
        });
        match other {
            Some(j) => {
                pending.hops += 1;
                self.links[j].core.send_request(now, pending);
            }
            None => self.settled.push((now, i, pending.waiter, Err(error))),
        }
    }

    fn deliver(&mut self, to: usize, d: Delivery) {
        let now = self.time;
        match d {
            Delivery::Connected(conn) => {
                self.attached.insert((to, conn));
                self.links[to].core.handle_connected(now, conn);
            }
            Delivery::Disconnected(conn) => {
                self.closed.insert(conn);
                if self.attached.remove(&(to, conn)) {
                    self.links[to].core.handle_disconnected(now, conn);
                }
            }
            Delivery::Bytes(conn, bytes) => {
                if self.closed.contains(&conn) || self.mute.contains(&self.partner[&to]) {
                    return;
                }
                if !self.attached.contains(&(to, conn)) {
                    // The acceptor (§5.6.1) hands a new connection's CER to the peer.
                    let Ok(cer) = Message::decode(bytes) else {
                        return;
                    };
                    if classify(&cer) == BaseKind::Cer {
                        self.attached.insert((to, conn));
                        self.links[to].core.handle_incoming_cer(now, conn, &cer);
                    }
                    return;
                }
                let buf = self.buffers.entry((to, conn)).or_default();
                buf.extend_from_slice(&bytes);
                let mut buf = std::mem::take(buf);
                while self.links[to]
                    .core
                    .handle_read(now, conn, &mut buf, &mut |_| {})
                {}
                self.buffers.insert((to, conn), buf);
            }
        }
    }

    fn next_wakeup(&mut self) -> Option<Instant> {
        let timers = self.links.iter_mut().filter_map(|l| l.core.poll_timeout());
        let flight = self.in_flight.front().map(|(t, _, _)| *t);
        timers.chain(flight).min()
    }

    /// One step: flush, jump to the next wakeup, deliver and fire timers there. False
    /// when nothing is left to happen before `limit`.
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
        for l in &mut self.links {
            if l.core.poll_timeout().is_some_and(|t| t <= now) {
                l.core.handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    pub(super) fn run_for(&mut self, d: Duration) {
        let limit = self.time + d;
        while self.step(limit) {}
        self.time = self.time.max(limit);
    }

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

    /// The transport between `node` and `peer` breaks: both ends see Peer-Disc.
    pub(super) fn cut(&mut self, node: &str, peer: &str) {
        let i = self.link(node, peer);
        let j = self.partner[&i];
        let Some(conn) = self.links[i].core.peer().open_connection() else {
            return;
        };
        self.closed.insert(conn);
        let now = self.time;
        for side in [i, j] {
            if self.attached.remove(&(side, conn)) {
                self.links[side].core.handle_disconnected(now, conn);
            }
        }
        self.flush();
    }

    /// The requests `node` received.
    pub(super) fn received_by(&self, node: &str) -> Vec<&Message> {
        self.received
            .iter()
            .filter(|(_, n, _)| *n == node)
            .map(|(_, _, m)| m)
            .collect()
    }

    /// The outcomes of request `n`.
    pub(super) fn outcomes(&self, n: u32) -> Vec<&Result<Message, RequestError>> {
        self.settled
            .iter()
            .filter(|(_, _, w, _)| *w == n)
            .map(|(_, _, _, r)| r)
            .collect()
    }

    /// When link `i` wrote a message with this command code and R bit.
    pub(super) fn wrote(&self, i: usize, code: u32, request: bool) -> Vec<Instant> {
        self.written
            .iter()
            .filter(|(_, l, _)| *l == i)
            .filter_map(|(t, _, b)| Some((*t, Message::decode(b.clone()).ok()?)))
            .filter(|(_, m)| m.code() == code && m.is_request() == request)
            .map(|(t, _)| t)
            .collect()
    }

    /// Whether link `i` saw a peer event matching `f`.
    pub(super) fn saw(&self, i: usize, f: impl Fn(&Event<u32>) -> bool) -> bool {
        self.events.iter().any(|(_, l, e)| *l == i && f(e))
    }
}

/// The result code of an answer.
pub(super) fn code(r: &Result<Message, RequestError>) -> Option<u32> {
    r.as_ref().ok().and_then(Message::result_code)
}

/// Whether `e` is the peer event `Closed`.
pub(super) fn is_closed(e: &Event<u32>) -> bool {
    matches!(e, Event::Peer(peer::Event::Closed { .. }))
}
