//! Prometheus metrics: the OpenMetrics text exposition of a node, served on
//! `GET /metrics` by an optional HTTP/1 listener ([`crate::NodeConfig::metrics_listen`])
//! and returned by [`crate::NodeHandle::metrics_text`].
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `diameter_peer_up` | gauge | `peer`: 1 when requests can be sent to it |
//! | `diameter_peer_state` | gauge | `peer`, `state` (RFC 6733 §5.6 names): 1 for the current state |
//! | `diameter_peer_watchdog_state` | gauge | `peer`, `state` (RFC 3539 names) |
//! | `diameter_peer_<counter>_total` | counter | `peer`: every counter of [`PeerStats`], from [`PeerStats::fields`]; departed peers' too (below) |
//! | `diameter_messages_total` | counter | `peer`, `direction`, `type`, `application`, `command`, `code`, `result_code` |
//! | `diameter_pending_requests` | gauge | `peer`: requests sent and not answered yet |
//! | `diameter_request_duration_seconds` | histogram | `peer`, `application`, `command`, `code`: request written → answer read |
//! | `diameter_doic_reported_reduction_percent` | gauge | the OC-Reduction-Percentage this node reports (DOIC, [`crate::doic`]) |
//! | `diameter_doic_reduction_percent` | gauge | `application`, `scope` (`host`/`realm`), `name`: reports in force at this node |
//!
//! `command` is the dictionary's name of the command (`Credit-Control`), or its code when
//! the dictionaries do not know it; `result_code` is the answer's Result-Code, else its
//! Experimental-Result-Code, else `none`; it is empty for requests.
//!
//! The peer states, counters and DOIC figures come from the node at each scrape and cost nothing in
//! between. The message, pending and latency metrics need the node to watch its traffic:
//! they exist when metrics are enabled ([`crate::NodeBuilder::metrics`] or
//! `metrics_listen`). The node then tells its metrics about every message at the points
//! that feed its [`crate::observe::Observer`] (requests as sent, with their final
//! Hop-by-Hop Identifier, so that answers are matched to them). Each peer's figures sit
//! behind their own lock, taken once per message by the peer's task (uncontended but for
//! scrapes); a peer's figures are found through a small per-thread cache, so messages take
//! no node-wide lock. Without metrics the node pays the one branch of the observer hook.
//!
//! Counters outlive the peer (Prometheus' convention: a counter does not vanish): a peer
//! admitted by realm pattern that disconnects keeps its `diameter_peer_<counter>_total`,
//! `diameter_messages_total` and latency series under its DiameterIdentity (no state
//! gauges: it is no peer any more), and continues them if it comes back. At most
//! `limits.max_retained_peers` departed names are kept; beyond, the figures of the one that
//! left longest ago are added to the series of `peer="(other)"` (not a DiameterIdentity, so
//! no peer's), so that totals stay monotonic and the number of series bounded.
//!
//! A request's latency is recorded when its answer arrives. A request never answered
//! leaves the pending count when its peer's connection closes or after the node's
//! request timeout (a request sent with a longer timeout of its own is then no longer
//! timed).

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use diameter_core::avp::AvpHeaders;
use diameter_core::dictionary;
use diameter_core::generated::base::avp as base;
use diameter_core::header::{HEADER_LEN, Header};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::doic::{Doic, OverloadState, Scope};
use crate::observe::Direction;
use crate::peer::{PeerState, WatchdogState};
use crate::stats::PeerInfo;
use crate::stats::{OTHER_PEERS, PeerStats};

/// Upper bounds (seconds) of the request latency histogram's buckets (then +Inf): from
/// loopback round trips to the slowest answers a request timeout allows.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The content type of the exposition.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every §5.6 state, for the state gauge.
const PEER_STATES: [PeerState; 8] = [
    PeerState::Closed,
    PeerState::WaitConnAck,
    PeerState::WaitICea,
    PeerState::WaitConnAckElect,
    PeerState::WaitReturns,
    PeerState::ROpen,
    PeerState::IOpen,
    PeerState::Closing,
];

/// Every RFC 3539 state with its name there.
const WATCHDOG_STATES: [(WatchdogState, &str); 5] = [
    (WatchdogState::Initial, "INITIAL"),
    (WatchdogState::Okay, "OKAY"),
    (WatchdogState::Suspect, "SUSPECT"),
    (WatchdogState::Down, "DOWN"),
    (WatchdogState::Reopen, "REOPEN"),
];

/// Identifies a [`Metrics`] in the per-thread caches (never reused, unlike addresses).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Message series (direction, type, application, command, Result-Code) kept per peer.
const MAX_MESSAGE_SERIES: usize = 512;
/// Application and command of the series that counts the others beyond
/// [`MAX_MESSAGE_SERIES`] (labelled `other`).
const OTHER: u32 = u32::MAX;

/// Entries of the per-thread cache of peers' figures.
const RECENT_MAX: usize = 8;

thread_local! {
    /// The peers' figures this thread used last: (metrics id, figures).
    static RECENT: RefCell<Vec<(u64, Arc<PeerMetrics>)>> = const { RefCell::new(Vec::new()) };
}

/// What the node's traffic adds to the exposition (see the module documentation).
#[derive(Debug)]
pub(crate) struct Metrics {
    id: u64,
    peers: RwLock<HashMap<Arc<str>, Arc<PeerMetrics>>>,
    /// Sent requests still unanswered after this are no longer pending.
    stale_after: Duration,
    /// Where the HTTP listener listens, once bound.
    addr: OnceLock<SocketAddr>,
}

/// One peer's traffic figures.
#[derive(Debug)]
struct PeerMetrics {
    name: Arc<str>,
    data: Mutex<PeerData>,
    /// Added to [`OTHER_PEERS`]' and out of the map: per-thread caches let go of it.
    forgotten: AtomicBool,
}

impl PeerMetrics {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            data: Mutex::new(PeerData::default()),
            forgotten: AtomicBool::new(false),
        }
    }
}

#[derive(Debug, Default)]
struct PeerData {
    messages: HashMap<MessageKey, u64>,
    /// Requests sent, by Hop-by-Hop Identifier.
    in_flight: HashMap<u32, InFlight>,
    /// Size of `in_flight` at which stale entries are swept next (doubling: amortized).
    sweep_at: usize,
    latency: HashMap<(u32, u32), Histogram>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct MessageKey {
    sent: bool,
    request: bool,
    application: u32,
    code: u32,
    result: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
struct InFlight {
    at: Instant,
    application: u32,
    code: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Histogram {
    /// Per bucket of [`LATENCY_BUCKETS`], then +Inf (not cumulative).
    counts: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += seconds;
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The header fields and result of a message, read from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Summary {
    request: bool,
    code: u32,
    application: u32,
    hop_by_hop: u32,
    result: Option<u32>,
}

/// Reads a message's header and, for an answer, its result; `None` if too short.
fn summarize(bytes: &[u8]) -> Option<Summary> {
    let h = Header::peek(bytes)?;
    let request = h.flags.is_request();
    let end = (h.length as usize).clamp(HEADER_LEN, bytes.len());
    Some(Summary {
        request,
        code: h.code,
        application: h.application_id,
        hop_by_hop: h.hop_by_hop,
        result: if request {
            None
        } else {
            result_code(&bytes[HEADER_LEN..end])
        },
    })
}

/// Result-Code (268), else Experimental-Result (297) / Experimental-Result-Code (298).
fn result_code(avps: &[u8]) -> Option<u32> {
    let four = |enc: &[u8]| {
        <[u8; 4]>::try_from(AvpHeaders::data(enc))
            .ok()
            .map(u32::from_be_bytes)
    };
    AvpHeaders::list(avps)
        .find(|(k, _)| *k == base::RESULT_CODE)
        .and_then(|(_, enc)| four(enc))
        .or_else(|| {
            let (_, exp) = AvpHeaders::list(avps).find(|(k, _)| *k == base::EXPERIMENTAL_RESULT)?;
            let (_, code) = AvpHeaders::list(AvpHeaders::data(exp))
                .find(|(k, _)| *k == base::EXPERIMENTAL_RESULT_CODE)?;
            four(code)
        })
}

impl PeerData {
    /// Adds the message counts and latencies of `gone` (a departed peer's) to these, within
    /// [`MAX_MESSAGE_SERIES`] message series.
    fn absorb(&mut self, gone: PeerData) {
        for (key, n) in gone.messages {
            let key =
                if self.messages.len() >= MAX_MESSAGE_SERIES && !self.messages.contains_key(&key) {
                    MessageKey {
                        application: OTHER,
                        code: OTHER,
                        result: None,
                        ..key
                    }
                } else {
                    key
                };
            *self.messages.entry(key).or_default() += n;
        }
        for (key, h) in gone.latency {
            let mine = self.latency.entry(key).or_default();
            for (a, b) in mine.counts.iter_mut().zip(h.counts) {
                *a += b;
            }
            mine.sum += h.sum;
        }
    }

    fn record(&mut self, direction: Direction, s: &Summary, now: Option<Instant>, stale: Duration) {
        let sent = direction == Direction::Sent;
        let mut key = MessageKey {
            sent,
            request: s.request,
            application: s.application,
            code: s.code,
            result: s.result,
        };
        // A peer chooses the application, command and Result-Code it sends: beyond
        // MAX_MESSAGE_SERIES series, new combinations are counted together.
        if self.messages.len() >= MAX_MESSAGE_SERIES && !self.messages.contains_key(&key) {
            key = MessageKey {
                application: OTHER,
                code: OTHER,
                result: None,
                ..key
            };
        }
        *self.messages.entry(key).or_default() += 1;
        let Some(now) = now else { return };
        if sent && s.request {
            self.in_flight.insert(
                s.hop_by_hop,
                InFlight {
                    at: now,
                    application: s.application,
                    code: s.code,
                },
            );
            if self.in_flight.len() >= self.sweep_at {
                self.in_flight
                    .retain(|_, f| now.duration_since(f.at) < stale);
                self.sweep_at = (self.in_flight.len() * 2).max(1024);
            }
        } else if !sent && !s.request {
            if let Some(f) = self.in_flight.remove(&s.hop_by_hop) {
                self.latency
                    .entry((f.application, f.code))
                    .or_default()
                    .observe(now.duration_since(f.at).as_secs_f64());
            }
        }
    }
}

impl Metrics {
    /// Metrics whose unanswered requests stop counting as pending after `request_timeout`.
    pub(crate) fn new(request_timeout: Duration) -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            peers: RwLock::new(HashMap::new()),
            stale_after: request_timeout,
            addr: OnceLock::new(),
        }
    }

    /// The HTTP listener's address, once bound.
    pub(crate) fn listen_addr(&self) -> Option<SocketAddr> {
        self.addr.get().copied()
    }

    pub(crate) fn set_listen_addr(&self, addr: SocketAddr) {
        let _ = self.addr.set(addr);
    }

    fn peer(&self, name: &str) -> Arc<PeerMetrics> {
        let cached = RECENT.with_borrow(|recent| {
            recent
                .iter()
                .find(|(id, p)| {
                    *id == self.id && *p.name == *name && !p.forgotten.load(Ordering::Relaxed)
                })
                .map(|(_, p)| p.clone())
        });
        if let Some(p) = cached {
            return p;
        }
        let found = self
            .peers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        let p = found.unwrap_or_else(|| {
            self.peers
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(name.into())
                .or_insert_with(|| Arc::new(PeerMetrics::new(name)))
                .clone()
        });
        RECENT.with_borrow_mut(|recent| {
            if recent.len() >= RECENT_MAX {
                recent.remove(0);
            }
            recent.push((self.id, p.clone()));
        });
        p
    }

    /// A message received from or sent to `peer` (its encoded bytes).
    pub(crate) fn message(&self, peer: &str, direction: Direction, bytes: &[u8]) {
        let Some(s) = summarize(bytes) else { return };
        // The clock only for what is timed: requests sent, answers received.
        let timed = s.request == (direction == Direction::Sent);
        let now = timed.then(crate::clock::now);
        let p = self.peer(peer);
        p.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(direction, &s, now, self.stale_after);
    }

    /// A departed peer's name is no longer kept (`limits.max_retained_peers`): its message
    /// counts and latencies are added to those of [`OTHER_PEERS`].
    pub(crate) fn forget_peer(&self, peer: &str) {
        let (gone, other) = {
            let mut peers = self.peers.write().unwrap_or_else(PoisonError::into_inner);
            let Some(gone) = peers.remove(peer) else {
                return;
            };
            gone.forgotten.store(true, Ordering::Relaxed);
            let other = peers
                .entry(OTHER_PEERS.into())
                .or_insert_with(|| Arc::new(PeerMetrics::new(OTHER_PEERS)))
                .clone();
            (gone, other)
        };
        let data = std::mem::take(&mut *gone.data.lock().unwrap_or_else(PoisonError::into_inner));
        other
            .data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .absorb(data);
    }

    /// A peer's state changed: once closed, its unanswered requests have failed.
    pub(crate) fn peer_state(&self, peer: &str, state: PeerState) {
        if state == PeerState::Closed {
            let p = self.peer(peer);
            p.data
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .in_flight
                .clear();
        }
    }

    fn snapshot(&self) -> Vec<TrafficSnapshot> {
        let now = crate::clock::now();
        let peers: Vec<Arc<PeerMetrics>> = self
            .peers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let mut out: Vec<TrafficSnapshot> = peers
            .iter()
            .map(|p| {
                let d = p.data.lock().unwrap_or_else(PoisonError::into_inner);
                let mut messages: Vec<_> = d.messages.iter().map(|(k, v)| (*k, *v)).collect();
                messages.sort_unstable();
                let mut latency: Vec<_> = d.latency.iter().map(|(k, h)| (*k, *h)).collect();
                latency.sort_unstable_by_key(|(k, _)| *k);
                TrafficSnapshot {
                    peer: p.name.clone(),
                    messages,
                    pending: d
                        .in_flight
                        .values()
                        .filter(|f| now.duration_since(f.at) < self.stale_after)
                        .count(),
                    latency,
                }
            })
            .collect();
        out.sort_unstable_by(|a, b| a.peer.cmp(&b.peer));
        out
    }
}

/// One peer's traffic figures at a scrape.
#[derive(Debug)]
struct TrafficSnapshot {
    peer: Arc<str>,
    messages: Vec<(MessageKey, u64)>,
    pending: usize,
    latency: Vec<((u32, u32), Histogram)>,
}

/// Everything one scrape shows.
#[derive(Debug)]
struct Exposition {
    peers: Vec<PeerInfo>,
    /// Departed peers' counters by name, then `(other)` (their counters only: no state).
    departed: Vec<(Arc<str>, PeerStats)>,
    traffic: Option<Vec<TrafficSnapshot>>,
    /// DOIC: the states in force as reacting node, the reduction reported.
    overload: Vec<OverloadState>,
    reported: u32,
    /// Incoming connections closed before their CER, by reason.
    pre_cer: Vec<(&'static str, u64)>,
}

/// The dictionary's name of a command, else its code.
fn command_name(code: u32, application: u32) -> String {
    match dictionary::command(code, application) {
        Some(c) => c.name.to_owned(),
        None => code.to_string(),
    }
}

/// A metric with one help text and type, then its labelled values.
fn family<'a>(
    enc: &'a mut DescriptorEncoder<'_>,
    name: &'a str,
    help: &str,
    unit: Option<&'a Unit>,
    metric_type: MetricType,
) -> Result<prometheus_client::encoding::MetricEncoder<'a>, std::fmt::Error> {
    enc.encode_descriptor(name, help, unit, metric_type)
}

type Labels<'a> = Vec<(&'static str, std::borrow::Cow<'a, str>)>;

fn peer(p: &PeerInfo) -> Labels<'_> {
    vec![("peer", p.name.as_str().into())]
}

fn gauge(
    m: &mut prometheus_client::encoding::MetricEncoder<'_>,
    labels: &Labels<'_>,
    value: i64,
) -> std::fmt::Result {
    m.encode_family(labels)?.encode_gauge(&value)
}

fn counter(
    m: &mut prometheus_client::encoding::MetricEncoder<'_>,
    labels: &Labels<'_>,
    value: u64,
) -> std::fmt::Result {
    m.encode_family(labels)?
        .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)
}

impl Collector for Exposition {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
        {
            let mut m = family(
                &mut enc,
                "diameter_peer_up",
                "Whether requests can be sent to the peer (open, watchdog OKAY).",
                None,
                MetricType::Gauge,
            )?;
            for p in &self.peers {
                gauge(&mut m, &peer(p), i64::from(p.ready))?;
            }
        }
        {
            let mut m = family(
                &mut enc,
                "diameter_peer_state",
                "The peer's RFC 6733 section 5.6 state: 1 for the current one.",
                None,
                MetricType::Gauge,
            )?;
            for p in &self.peers {
                for s in PEER_STATES {
                    let mut l = peer(p);
                    l.push(("state", s.rfc_name().into()));
                    gauge(&mut m, &l, i64::from(p.state == s))?;
                }
            }
        }
        {
            let mut m = family(
                &mut enc,
                "diameter_peer_watchdog_state",
                "The peer's RFC 3539 watchdog state: 1 for the current one.",
                None,
                MetricType::Gauge,
            )?;
            for p in &self.peers {
                for (s, name) in WATCHDOG_STATES {
                    let mut l = peer(p);
                    l.push(("state", name.into()));
                    gauge(&mut m, &l, i64::from(p.watchdog == s))?;
                }
            }
        }
        {
            let mut m = family(
                &mut enc,
                "diameter_connections_closed_before_cer",
                "Incoming connections closed before their CER came, by reason.",
                None,
                MetricType::Counter,
            )?;
            for (reason, n) in &self.pre_cer {
                counter(&mut m, &vec![("reason", (*reason).into())], *n)?;
            }
        }
        for (i, (field, help, _)) in PeerStats::default().fields().into_iter().enumerate() {
            let name = format!("diameter_peer_{field}");
            let mut m = family(&mut enc, &name, help.trim(), None, MetricType::Counter)?;
            for p in &self.peers {
                counter(&mut m, &peer(p), p.stats.fields()[i].2)?;
            }
            for (name, stats) in &self.departed {
                let l: Labels<'_> = vec![("peer", (**name).into())];
                counter(&mut m, &l, stats.fields()[i].2)?;
            }
        }
        {
            let mut m = family(
                &mut enc,
                "diameter_doic_reported_reduction_percent",
                "OC-Reduction-Percentage this node reports as DOIC reporting node (0: not \
                 overloaded).",
                None,
                MetricType::Gauge,
            )?;
            m.encode_gauge(&i64::from(self.reported))?;
        }
        {
            let mut m = family(
                &mut enc,
                "diameter_doic_reduction_percent",
                "OC-Reduction-Percentage in force at this node as DOIC reacting node, per \
                 application and overloaded host or realm.",
                None,
                MetricType::Gauge,
            )?;
            for s in &self.overload {
                let l: Labels<'_> = vec![
                    ("application", s.application.to_string().into()),
                    (
                        "scope",
                        match s.scope {
                            Scope::Host => "host",
                            Scope::Realm => "realm",
                        }
                        .into(),
                    ),
                    ("name", (*s.name).into()),
                ];
                gauge(&mut m, &l, i64::from(s.reduction))?;
            }
        }
        let Some(traffic) = &self.traffic else {
            return Ok(());
        };
        {
            let mut m = family(
                &mut enc,
                "diameter_messages",
                "Messages sent to and received from the peer, by command and result.",
                None,
                MetricType::Counter,
            )?;
            for t in traffic {
                for (k, v) in &t.messages {
                    let result = match (k.request, k.result) {
                        (true, _) => String::new(),
                        (false, Some(r)) => r.to_string(),
                        (false, None) => "none".to_owned(),
                    };
                    let other = k.application == OTHER && k.code == OTHER;
                    let (application, command, code) = if other {
                        ("other".to_owned(), "other".to_owned(), "other".to_owned())
                    } else {
                        (
                            k.application.to_string(),
                            command_name(k.code, k.application),
                            k.code.to_string(),
                        )
                    };
                    let l: Labels<'_> = vec![
                        ("peer", (*t.peer).into()),
                        ("direction", if k.sent { "sent" } else { "received" }.into()),
                        ("type", if k.request { "request" } else { "answer" }.into()),
                        ("application", application.into()),
                        ("command", command.into()),
                        ("code", code.into()),
                        ("result_code", result.into()),
                    ];
                    counter(&mut m, &l, *v)?;
                }
            }
        }
        {
            let mut m = family(
                &mut enc,
                "diameter_pending_requests",
                "Requests sent to the peer and not answered yet.",
                None,
                MetricType::Gauge,
            )?;
            for t in traffic {
                let l: Labels<'_> = vec![("peer", (*t.peer).into())];
                gauge(&mut m, &l, i64::try_from(t.pending).unwrap_or(i64::MAX))?;
            }
        }
        {
            let unit = Unit::Seconds;
            let mut m = family(
                &mut enc,
                "diameter_request_duration",
                "Time from a request written to the peer to its answer read.",
                Some(&unit),
                MetricType::Histogram,
            )?;
            for t in traffic {
                for ((application, code), h) in &t.latency {
                    let l: Labels<'_> = vec![
                        ("peer", (*t.peer).into()),
                        ("application", application.to_string().into()),
                        ("command", command_name(*code, *application).into()),
                        ("code", code.to_string().into()),
                    ];
                    let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
                        .iter()
                        .copied()
                        .chain([f64::INFINITY])
                        .zip(h.counts)
                        .collect();
                    m.encode_family(&l)?
                        .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                            h.sum,
                            h.count(),
                            &buckets,
                            None,
                        )?;
                }
            }
        }
        Ok(())
    }
}

/// The exposition of `peers` (from [`NodeHandle::peers`]), of `metrics`' traffic
/// figures if metrics are enabled, and of the node's DOIC state.
/// The metrics of a starting node: enabled by [`crate::NodeBuilder::metrics`] or by
/// `metrics_listen`, whose listener is bound here (served once the node runs).
pub(crate) async fn setup(
    enabled: bool,
    config: &crate::NodeConfig,
) -> Result<(Option<Arc<Metrics>>, Option<tokio::net::TcpListener>), crate::NodeError> {
    let metrics = (enabled || config.metrics_listen.is_some())
        .then(|| Arc::new(Metrics::new(config.timers.request_timeout)));
    let listener = match config.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| crate::NodeError::Bind { addr, source })?,
        ),
        None => None,
    };
    if let (Some(m), Some(Ok(addr))) = (&metrics, listener.as_ref().map(|l| l.local_addr())) {
        m.set_listen_addr(addr);
    }
    Ok((metrics, listener))
}

pub(crate) fn render(
    peers: Vec<PeerInfo>,
    departed: Vec<(Arc<str>, PeerStats)>,
    metrics: Option<&Metrics>,
    doic: &Doic,
    pre_cer: &[(&'static str, u64)],
) -> String {
    let mut peers = peers;
    peers.sort_by(|a, b| a.name.cmp(&b.name));
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition {
        peers,
        departed,
        traffic: metrics.map(Metrics::snapshot),
        overload: doic.states(),
        reported: doic.reported().map_or(0, |o| o.reduction),
        pre_cer: pre_cer.to_vec(),
    }));
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        // Writing to a String does not fail; the encoder fails only on values it
        // rejects, which we never give it. Say so rather than serve half an exposition.
        out.clear();
        let _ = writeln!(out, "# exposition failed\n# EOF");
    }
    out
}

/// Serves `GET /metrics` on `listener` until the task is aborted (node shutdown). One
/// request per connection (Prometheus reconnects for each scrape), so no connection
/// outlives its scrape by more than the header timeout.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    render: impl Fn() -> String + Clone + Send + Sync + 'static,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::debug!(%error, "metrics listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let render = render.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let response = respond(&render, &req);
                async move { Ok::<_, Infallible>(response) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(false)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            if let Err(error) = served {
                tracing::debug!(%error, "metrics connection");
            }
        });
    }
}

/// 200 with the exposition for `GET /metrics`, 404 for anything else.
fn respond<B>(render: &impl Fn() -> String, req: &hyper::Request<B>) -> hyper::Response<String> {
    if req.method() == Method::GET && req.uri().path() == "/metrics" {
        let mut r = hyper::Response::new(render());
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE_OPENMETRICS),
        );
        r
    } else {
        let mut r = hyper::Response::new("not found: only GET /metrics\n".to_owned());
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::MessageBuilder;
    use diameter_core::generated::base::avp;

    fn request(code: u32, app: u32, hbh: u32) -> Vec<u8> {
        let mut b = MessageBuilder::request(code, app, true);
        b.header_mut().hop_by_hop = hbh;
        b.build().as_bytes().to_vec()
    }

    fn answer(code: u32, app: u32, hbh: u32, result: Option<u32>) -> Vec<u8> {
        let mut b = MessageBuilder::request(code, app, true);
        b.header_mut().hop_by_hop = hbh;
        b.header_mut().flags = diameter_core::CommandFlags(0x40);
        if let Some(r) = result {
            b.add(avp::RESULT_CODE, &r);
        }
        b.build().as_bytes().to_vec()
    }

    fn doic() -> Doic {
        Doic::new(&crate::config::DoicConfig::default(), 1)
    }

    fn peer_info(name: &str) -> PeerInfo {
        PeerInfo {
            name: name.into(),
            state: PeerState::IOpen,
            watchdog: WatchdogState::Okay,
            ready: true,
            capabilities: None,
            last_failure: None,
            stats: PeerStats {
                requests_sent: 3,
                timeouts: 1,
                ..PeerStats::default()
            },
        }
    }

    #[test]
    fn summaries_read_header_and_results() {
        let s = summarize(&answer(272, 4, 9, Some(2001))).unwrap();
        assert_eq!(
            s,
            Summary {
                request: false,
                code: 272,
                application: 4,
                hop_by_hop: 9,
                result: Some(2001)
            }
        );
        assert_eq!(summarize(&request(272, 4, 9)).unwrap().result, None);
        assert_eq!(summarize(&answer(272, 4, 9, None)).unwrap().result, None);
        // Experimental-Result { Vendor-Id, Experimental-Result-Code }.
        let mut b = MessageBuilder::request(316, 16_777_251, true);
        b.header_mut().flags = diameter_core::CommandFlags(0x40);
        b.grouped(297, 0, diameter_core::AvpFlags::default(), |g| {
            g.add(avp::VENDOR_ID, &10_415u32);
            g.add(avp::EXPERIMENTAL_RESULT_CODE, &5420u32);
        });
        let m = b.build();
        assert_eq!(summarize(m.as_bytes()).unwrap().result, Some(5420));
        // Short or broken input: nothing, or no result, never a panic.
        assert_eq!(summarize(&[1, 2, 3]), None);
        let mut broken = answer(272, 4, 9, Some(2001));
        broken[20 + 7] = 0xff; // Result-Code's length beyond the message
        assert_eq!(summarize(&broken).unwrap().result, None);
        for cut in 20..broken.len() {
            let _ = summarize(&answer(272, 4, 9, Some(2001))[..cut]);
        }
    }

    #[test]
    fn exposition_without_traffic_has_states_and_counters() {
        let text = render(
            vec![peer_info("b.example.org")],
            Vec::new(),
            None,
            &doic(),
            &[],
        );
        for line in [
            "# HELP diameter_peer_up Whether requests can be sent to the peer (open, watchdog OKAY).",
            "# TYPE diameter_peer_up gauge",
            "diameter_peer_up{peer=\"b.example.org\"} 1",
            "# TYPE diameter_peer_state gauge",
            "diameter_peer_state{peer=\"b.example.org\",state=\"I-Open\"} 1",
            "diameter_peer_state{peer=\"b.example.org\",state=\"Closed\"} 0",
            "diameter_peer_watchdog_state{peer=\"b.example.org\",state=\"OKAY\"} 1",
            "diameter_peer_watchdog_state{peer=\"b.example.org\",state=\"DOWN\"} 0",
            "# HELP diameter_peer_requests_sent Requests written to the peer.",
            "# TYPE diameter_peer_requests_sent counter",
            "diameter_peer_requests_sent_total{peer=\"b.example.org\"} 3",
            "diameter_peer_timeouts_total{peer=\"b.example.org\"} 1",
            "diameter_peer_throttled_total{peer=\"b.example.org\"} 0",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
        // Every counter of PeerStats is there, whatever is added to the list.
        for (field, help, _) in PeerStats::default().fields() {
            assert!(!help.trim().is_empty(), "{field} has no documentation");
            let type_line = format!("# TYPE diameter_peer_{field} counter");
            assert!(text.contains(&type_line), "{type_line} missing");
        }
        // Traffic metrics need metrics enabled.
        assert!(!text.contains("diameter_messages_total"));
        // DOIC: nothing reported, nothing in force.
        assert!(
            text.lines()
                .any(|l| l == "diameter_doic_reported_reduction_percent 0")
        );
        assert!(!text.contains("diameter_doic_reduction_percent{"));
    }

    #[test]
    fn exposition_counts_messages_and_latency() {
        let m = Metrics::new(Duration::from_secs(30));
        let peer = "server.example.org";
        m.message(peer, Direction::Sent, &request(272, 4, 1));
        m.message(peer, Direction::Sent, &request(272, 4, 2));
        m.message(peer, Direction::Sent, &request(272, 4, 3));
        m.message(peer, Direction::Received, &answer(272, 4, 1, Some(2001)));
        m.message(peer, Direction::Received, &answer(272, 4, 2, Some(5012)));
        // An answer matching nothing is counted but not timed.
        m.message(peer, Direction::Received, &answer(272, 4, 99, Some(2001)));
        // The other direction: a request received, our answer.
        m.message(peer, Direction::Received, &request(280, 0, 7));
        m.message(peer, Direction::Sent, &answer(280, 0, 7, Some(2001)));
        // A command the dictionaries do not know.
        m.message(peer, Direction::Sent, &request(9_999, 77, 4));
        let text = render(vec![peer_info(peer)], Vec::new(), Some(&m), &doic(), &[]);
        let l = "peer=\"server.example.org\"";
        for line in [
            "# TYPE diameter_messages counter".to_owned(),
            format!(
                "diameter_messages_total{{{l},direction=\"sent\",type=\"request\",application=\"4\",command=\"Credit-Control\",code=\"272\",result_code=\"\"}} 3"
            ),
            format!(
                "diameter_messages_total{{{l},direction=\"received\",type=\"answer\",application=\"4\",command=\"Credit-Control\",code=\"272\",result_code=\"2001\"}} 2"
            ),
            format!(
                "diameter_messages_total{{{l},direction=\"received\",type=\"answer\",application=\"4\",command=\"Credit-Control\",code=\"272\",result_code=\"5012\"}} 1"
            ),
            format!(
                "diameter_messages_total{{{l},direction=\"sent\",type=\"answer\",application=\"0\",command=\"Device-Watchdog\",code=\"280\",result_code=\"2001\"}} 1"
            ),
            format!(
                "diameter_messages_total{{{l},direction=\"sent\",type=\"request\",application=\"77\",command=\"9999\",code=\"9999\",result_code=\"\"}} 1"
            ),
            "# TYPE diameter_pending_requests gauge".to_owned(),
            format!("diameter_pending_requests{{{l}}} 2"),
            "# HELP diameter_request_duration_seconds Time from a request written to the peer to its answer read.".to_owned(),
            "# TYPE diameter_request_duration_seconds histogram".to_owned(),
            "# UNIT diameter_request_duration_seconds seconds".to_owned(),
            format!(
                "diameter_request_duration_seconds_count{{{l},application=\"4\",command=\"Credit-Control\",code=\"272\"}} 2"
            ),
            format!(
                "diameter_request_duration_seconds_bucket{{le=\"+Inf\",{l},application=\"4\",command=\"Credit-Control\",code=\"272\"}} 2"
            ),
        ] {
            assert!(text.lines().any(|x| x == line), "{line:?} missing in\n{text}");
        }
        // One bucket line per bound plus +Inf, cumulative, ending at the count.
        let buckets: Vec<u64> = text
            .lines()
            .filter(|x| {
                x.starts_with("diameter_request_duration_seconds_bucket{")
                    && x.contains("code=\"272\"")
            })
            .map(|x| x.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(buckets.len(), LATENCY_BUCKETS.len() + 1);
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(buckets.last(), Some(&2));
        assert!(text.contains("le=\"0.0005\"") && text.contains("le=\"10.0\""));
        // A closed connection: nothing pending any more.
        m.peer_state(peer, PeerState::Closed);
        let text = render(vec![peer_info(peer)], Vec::new(), Some(&m), &doic(), &[]);
        assert!(
            text.lines()
                .any(|x| x == format!("diameter_pending_requests{{{l}}} 0"))
        );
    }

    /// A departed peer's counters and traffic stay under its name; a forgotten one's
    /// (beyond `limits.max_retained_peers`) are added to `peer="(other)"`, and its name
    /// starts afresh if it is seen again (even from a thread that cached its figures).
    #[test]
    fn departed_peers_keep_their_series_and_forgotten_ones_go_to_other() {
        let m = Metrics::new(Duration::from_secs(30));
        for (peer, n) in [("gone.example.org", 2), ("old.example.org", 3)] {
            for i in 0..n {
                m.message(peer, Direction::Sent, &answer(272, 4, i, Some(3004)));
            }
        }
        m.forget_peer("old.example.org");
        m.forget_peer("never.example.org");
        m.message(
            "old.example.org",
            Direction::Sent,
            &answer(272, 4, 9, Some(3004)),
        );
        let busy = |n| PeerStats {
            too_busy: n,
            ..PeerStats::default()
        };
        let departed = vec![
            (Arc::from("gone.example.org"), busy(2)),
            (Arc::from(OTHER_PEERS), busy(3)),
        ];
        let text = render(
            vec![peer_info("b.example.org")],
            departed,
            Some(&m),
            &doic(),
            &[],
        );
        let series = |peer: &str| {
            format!(
                "diameter_messages_total{{peer=\"{peer}\",direction=\"sent\",type=\"answer\",application=\"4\",command=\"Credit-Control\",code=\"272\",result_code=\"3004\"}}"
            )
        };
        for line in [
            "diameter_peer_too_busy_total{peer=\"gone.example.org\"} 2".to_owned(),
            "diameter_peer_too_busy_total{peer=\"(other)\"} 3".to_owned(),
            "diameter_peer_too_busy_total{peer=\"b.example.org\"} 0".to_owned(),
            format!("{} 2", series("gone.example.org")),
            format!("{} 3", series("(other)")),
            format!("{} 1", series("old.example.org")),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
        assert!(
            !text.contains("diameter_peer_up{peer=\"gone.example.org\""),
            "no state for a departed peer"
        );
    }

    #[test]
    fn message_series_are_bounded() {
        // A peer sending requests of ever new commands: the series stop growing.
        let m = Metrics::new(Duration::from_secs(30));
        for code in 0..(MAX_MESSAGE_SERIES as u32 + 100) {
            m.message("p", Direction::Received, &request(1000 + code, 7, code));
        }
        let text = render(Vec::new(), Vec::new(), Some(&m), &doic(), &[]);
        let series = text
            .lines()
            .filter(|l| l.starts_with("diameter_messages_total{"))
            .count();
        assert_eq!(series, MAX_MESSAGE_SERIES + 1);
        assert!(
            text.lines()
                .any(|l| l.contains("command=\"other\"") && l.ends_with(" 100"))
        );
    }

    #[test]
    fn unanswered_requests_go_stale() {
        let m = Metrics::new(Duration::ZERO);
        m.message("p", Direction::Sent, &request(272, 4, 1));
        let text = render(Vec::new(), Vec::new(), Some(&m), &doic(), &[]);
        assert!(
            text.lines()
                .any(|x| x == "diameter_pending_requests{peer=\"p\"} 0")
        );
    }

    #[test]
    fn histogram_buckets() {
        let mut h = Histogram::default();
        for s in [0.0001, 0.0005, 0.0006, 0.3, 11.0] {
            h.observe(s);
        }
        assert_eq!(h.counts[0], 2, "upper bounds are inclusive");
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[9], 1);
        assert_eq!(h.counts[LATENCY_BUCKETS.len()], 1, "+Inf");
        assert_eq!(h.count(), 5);
        assert!((h.sum - 11.3012).abs() < 1e-9);
    }

    #[test]
    fn peers_are_found_per_metrics_instance() {
        // Two nodes in one thread: the per-thread cache keeps them apart.
        let a = Metrics::new(Duration::from_secs(30));
        let b = Metrics::new(Duration::from_secs(30));
        for i in 0..20 {
            a.message("x", Direction::Sent, &request(272, 4, i));
            b.message(&format!("peer{i}"), Direction::Sent, &request(272, 4, i));
        }
        let ta = render(Vec::new(), Vec::new(), Some(&a), &doic(), &[]);
        assert!(ta.contains("diameter_pending_requests{peer=\"x\"} 20"));
        assert!(!ta.contains("peer0"));
        let tb = render(Vec::new(), Vec::new(), Some(&b), &doic(), &[]);
        assert!(tb.contains("diameter_pending_requests{peer=\"peer19\"} 1"));
        assert!(!tb.contains("peer=\"x\""));
    }
}
