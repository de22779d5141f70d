//! Diameter Overload Indication Conveyance, DOIC (RFC 7683), with its loss algorithm (§6),
//! in both roles:
//!
//! - **reacting node** (§5.2.2, §6.3): requests the node sends carry OC-Supported-Features
//!   announcing OLR_DEFAULT_ALGO; an OC-OLR in an answer creates or updates the overload
//!   control state (OCS) of the reporting host (HOST_REPORT) or realm (REALM_REPORT) for
//!   the answer's application; while it is valid, that share of new requests to the host or
//!   realm is throttled: they fail locally with [`RequestError::Throttled`] and never reach
//!   the network. Diversion to another path (§6.3 allows it) is not done: which other peer
//!   could take a request is the routing's business, and the caller that gets `Throttled`
//!   can retry elsewhere with Destination-Host if it knows better.
//! - **reporting node** (§5.2.3, §6.2): an answer to a request that carried
//!   OC-Supported-Features with the loss algorithm (or no OC-Feature-Vector, which means
//!   the same, §7.2) carries OC-Supported-Features selecting it and, while the node is
//!   overloaded, an OC-OLR. Overload is set through [`crate::NodeHandle::set_overload`] or,
//!   when configured, reported automatically while a connection reaches a number of
//!   handlers running at once. When overload ends, answers carry an OC-OLR with
//!   OC-Validity-Duration 0 (§7.5) for as long as the last report could still be in force.
//!
//! The pieces below are sans-IO — [`ReactingState`], [`Reporter`], AVP parsing and
//! building — with the clock and the random source passed in, so that every rule is unit
//! tested. The crate-private `Doic` is the node's glue (clock, random numbers, locks).
//!
//! Hostile input never panics: an OC-OLR that does not frame, lacks a fixed member, has a
//! member of the wrong size, an unknown OC-Report-Type or an OC-Reduction-Percentage above
//! 100 is ignored (§7.7: "Values greater than 100 are ignored"), as is an OLR whose answer
//! selected an algorithm other than loss.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use diameter_core::generated::base::avp as base;
use diameter_core::generated::doic::{OcReportType, avp};
use diameter_core::{AvpKey, AvpRef, Message};

use crate::answer::TopLevel;
use crate::config::DoicConfig;
use crate::error::RequestError;

/// OLR_DEFAULT_ALGO (§7.2): the loss algorithm of §6, which every DOIC node supports.
pub const OLR_DEFAULT_ALGO: u64 = 0x1;

/// OC-Validity-Duration when the OC-OLR has none, or one above the maximum (§7.5).
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(30);

/// The largest OC-Validity-Duration (§7.5: 86,400 s).
pub const MAX_VALIDITY: Duration = Duration::from_secs(86_400);

/// Header of a Diameter message (§3), where the AVPs start.
const HEADER_LEN: usize = 20;
/// Overload control states kept at most by a reacting node.
pub const MAX_STATES: usize = 1024;

/// OC-Supported-Features { OC-Feature-Vector = OLR_DEFAULT_ALGO }, encoded: what a
/// reacting node announces and a reporting node selects. No M bit: RFC 7683 §7.8 does not
/// require it, so that nodes without DOIC ignore the AVP.
pub const SUPPORTED_FEATURES_LOSS: [u8; 24] = [
    0, 0, 0x02, 0x6d, 0, 0, 0, 24, // OC-Supported-Features (621), length 24
    0, 0, 0x02, 0x6e, 0, 0, 0, 16, // OC-Feature-Vector (622), length 16
    0, 0, 0, 0, 0, 0, 0, 1, // OLR_DEFAULT_ALGO
];

/// An overload report (OC-OLR, §7.3) as the loss algorithm reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverloadReport {
    /// OC-Sequence-Number (§7.4): increases with every change of the report.
    pub sequence: u64,
    /// OC-Report-Type (§7.6): HOST_REPORT or REALM_REPORT.
    pub report_type: OcReportType,
    /// OC-Reduction-Percentage (§7.7), 0..=100.
    pub reduction: u32,
    /// OC-Validity-Duration (§7.5), after the default and the maximum are applied; zero
    /// ends the overload condition.
    pub validity: Duration,
}

impl OverloadReport {
    /// Whether this report ends the overload condition (validity or reduction 0).
    pub fn ends_overload(&self) -> bool {
        self.validity.is_zero() || self.reduction == 0
    }

    /// Appends the OC-OLR AVP.
    pub fn encode(&self, buf: &mut BytesMut) {
        // Header (8) + Sequence (16) + Report-Type (12) + Reduction (12) + Validity (12).
        const LEN: u32 = 60;
        put_avp_header(buf, avp::OC_OLR.code, LEN);
        put_avp_header(buf, avp::OC_SEQUENCE_NUMBER.code, 16);
        buf.extend_from_slice(&self.sequence.to_be_bytes());
        put_avp_header(buf, avp::OC_REPORT_TYPE.code, 12);
        buf.extend_from_slice(&self.report_type.0.to_be_bytes());
        put_avp_header(buf, avp::OC_REDUCTION_PERCENTAGE.code, 12);
        buf.extend_from_slice(&self.reduction.to_be_bytes());
        put_avp_header(buf, avp::OC_VALIDITY_DURATION.code, 12);
        let secs = u32::try_from(self.validity.as_secs()).unwrap_or(u32::MAX);
        buf.extend_from_slice(&secs.to_be_bytes());
    }
}

/// An AVP header without flags or vendor (every DOIC AVP, §7.8).
fn put_avp_header(buf: &mut BytesMut, code: u32, len: u32) {
    buf.extend_from_slice(&code.to_be_bytes());
    buf.extend_from_slice(&len.to_be_bytes());
}

/// Reads an OC-OLR AVP. `None` — the OLR is ignored — when it does not frame, misses
/// OC-Sequence-Number or OC-Report-Type (fixed members, §7.3) or OC-Reduction-Percentage
/// (which the loss algorithm needs, §6.2), has a member twice or of the wrong size, has a
/// report type other than HOST_REPORT and REALM_REPORT, or a reduction above 100 (§7.7).
pub fn parse_olr(olr: &AvpRef<'_>) -> Option<OverloadReport> {
    fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
        if slot.is_some() {
            return None;
        }
        *slot = Some(value?);
        Some(())
    }
    let (mut sequence, mut report_type, mut reduction, mut validity) = (None, None, None, None);
    for a in olr.children() {
        let a = a.ok()?;
        if a.vendor != 0 {
            continue;
        }
        match a.code {
            624 => once(
                &mut sequence,
                a.data.try_into().ok().map(u64::from_be_bytes),
            )?,
            626 => once(
                &mut report_type,
                a.data.try_into().ok().map(i32::from_be_bytes),
            )?,
            627 => once(
                &mut reduction,
                a.data.try_into().ok().map(u32::from_be_bytes),
            )?,
            625 => once(
                &mut validity,
                a.data.try_into().ok().map(u32::from_be_bytes),
            )?,
            // Other members (the `*[ AVP ]` of §7.3) belong to extensions we do not know.
            _ => {}
        }
    }
    let report_type = OcReportType(report_type?);
    if report_type != OcReportType::HOST_REPORT && report_type != OcReportType::REALM_REPORT {
        return None;
    }
    let reduction = reduction?;
    if reduction > 100 {
        return None;
    }
    let validity = match validity.map(|s| Duration::from_secs(s.into())) {
        None => DEFAULT_VALIDITY,
        Some(v) if v > MAX_VALIDITY => DEFAULT_VALIDITY,
        Some(v) => v,
    };
    Some(OverloadReport {
        sequence: sequence?,
        report_type,
        reduction,
        validity,
    })
}

/// The features announced by an OC-Supported-Features AVP: its OC-Feature-Vector, or
/// OLR_DEFAULT_ALGO when it has none (§7.2). `None` when the AVP does not frame.
pub fn feature_vector(features: &AvpRef<'_>) -> Option<u64> {
    let mut vector = OLR_DEFAULT_ALGO;
    for a in features.children() {
        let a = a.ok()?;
        if a.code == avp::OC_FEATURE_VECTOR.code && a.vendor == 0 {
            vector = u64::from_be_bytes(a.data.try_into().ok()?);
        }
    }
    Some(vector)
}

/// Appends encoded AVPs to an encoded message and fixes its Message Length: in place when
/// the buffer is not shared, else in a copy.
pub fn append_avps(message: Bytes, avps: &[u8]) -> Bytes {
    if message.len() < HEADER_LEN || avps.is_empty() {
        return message;
    }
    let mut b = message.try_into_mut().unwrap_or_else(|shared| {
        let mut b = BytesMut::with_capacity(shared.len() + avps.len());
        b.extend_from_slice(&shared);
        b
    });
    b.extend_from_slice(avps);
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes();
    b[1..4].copy_from_slice(&len[1..]);
    b.freeze()
}

/// Whether an encoded message has a top-level AVP `code` without vendor: a walk over the
/// AVP headers alone (the answers the node writes, once per answer).
fn has_top_level(message: &[u8], code: u32) -> bool {
    TopLevel::new(message).any(|(key, _)| key == AvpKey::new(code, 0))
}

/// The DOIC AVPs of an answer, found in one walk over its top-level AVPs.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnswerAvps<'a> {
    /// OC-Supported-Features.
    pub features: Option<AvpRef<'a>>,
    /// OC-OLR.
    pub olr: Option<AvpRef<'a>>,
    /// Origin-Host (the reporting host of a HOST_REPORT).
    pub origin_host: Option<&'a str>,
    /// Origin-Realm (the reporting realm of a REALM_REPORT).
    pub origin_realm: Option<&'a str>,
}

impl<'a> AnswerAvps<'a> {
    /// Walks the answer's AVPs once.
    pub fn of(answer: &'a Message) -> Self {
        let mut out = Self::default();
        for a in answer.avps() {
            let Ok(a) = a else { break };
            if a.vendor != 0 {
                continue;
            }
            match a.code {
                621 if out.features.is_none() => out.features = Some(a),
                623 if out.olr.is_none() => out.olr = Some(a),
                264 if out.origin_host.is_none() => out.origin_host = text(&a),
                296 if out.origin_realm.is_none() => out.origin_realm = text(&a),
                _ => {}
            }
        }
        out
    }

    /// The overload report to act on, if any: present, well formed, and interpreted
    /// under the loss algorithm, the one the answer's OC-Supported-Features selected
    /// (absent OC-Feature-Vector: loss, §7.2). Without OC-Supported-Features the answer
    /// selected no algorithm, and its OLR cannot be interpreted.
    pub fn report(&self) -> Option<OverloadReport> {
        let olr = self.olr.as_ref()?;
        let vector = feature_vector(self.features.as_ref()?)?;
        if vector & OLR_DEFAULT_ALGO == 0 {
            return None;
        }
        parse_olr(olr)
    }
}

fn text<'a>(a: &AvpRef<'a>) -> Option<&'a str> {
    std::str::from_utf8(a.data).ok()
}

/// Whether a request asks for DOIC with the loss algorithm: OC-Supported-Features present,
/// with OLR_DEFAULT_ALGO or without OC-Feature-Vector (§7.2).
pub fn requests_loss(request: &Message) -> bool {
    request
        .find(avp::OC_SUPPORTED_FEATURES)
        .and_then(|f| feature_vector(&f))
        .is_some_and(|v| v & OLR_DEFAULT_ALGO != 0)
}

/// What an overload control state covers (§5.2.1.1): the requests of one application to
/// one host or one realm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// HOST_REPORT: the reporting host (the answer's Origin-Host).
    Host,
    /// REALM_REPORT: the reporting realm (the answer's Origin-Realm).
    Realm,
}

/// One overload control state of a reacting node (§5.2.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverloadState {
    /// Application-Id of the answers that carried the report.
    pub application: u32,
    /// Host or realm.
    pub scope: Scope,
    /// The host's or realm's name, lower case.
    pub name: Box<str>,
    /// OC-Sequence-Number of the report in force.
    pub sequence: u64,
    /// OC-Reduction-Percentage in force (0 once the condition ended: the state is kept
    /// until it expires so that older reports arriving late stay ignored).
    pub reduction: u32,
    /// End of the validity, counted from the first reception of this sequence number.
    pub expires: Instant,
}

/// What [`ReactingState::on_report`] did with a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportOutcome {
    /// A new overload control state.
    Created,
    /// A newer report replaced the state in force.
    Updated,
    /// The report ended the overload condition (validity or reduction 0).
    Ended,
    /// Not newer than the state in force (§5.2.1.3: sequence numbers only increase).
    Stale,
    /// The report names no host or realm (the answer had no Origin-Host/Origin-Realm).
    NoOrigin,
}

/// Where a request is going, as the reacting node matches it against its states.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The request's Application-Id.
    pub application: u32,
    /// Destination-Host: a host-routed request.
    pub destination_host: Option<&'a str>,
    /// Destination-Realm.
    pub destination_realm: Option<&'a str>,
    /// The peer the request goes to: a realm-routed request sent straight to an
    /// overloaded host is known to reach it, so that host's report applies (§5.2.2).
    pub next_hop: &'a str,
}

/// The overload control states of a reacting node (§5.2.1.1), one per application and
/// reporting host or realm. Few at a time: a list scanned linearly.
#[derive(Clone, Debug, Default)]
pub struct ReactingState {
    states: Vec<OverloadState>,
}

impl ReactingState {
    /// Applies a received report from the answer of `application` sent by `origin_host`
    /// of `origin_realm`.
    pub fn on_report(
        &mut self,
        now: Instant,
        application: u32,
        origin_host: Option<&str>,
        origin_realm: Option<&str>,
        report: &OverloadReport,
    ) -> ReportOutcome {
        self.expire(now);
        let (scope, name) = if report.report_type == OcReportType::REALM_REPORT {
            (Scope::Realm, origin_realm)
        } else {
            (Scope::Host, origin_host)
        };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return ReportOutcome::NoOrigin;
        };
        let existing = self.states.iter_mut().find(|s| {
            s.application == application && s.scope == scope && s.name.eq_ignore_ascii_case(name)
        });
        match existing {
            Some(s) if report.sequence <= s.sequence => ReportOutcome::Stale,
            Some(s) => {
                s.sequence = report.sequence;
                if report.ends_overload() {
                    // Kept with no reduction until the old validity ends, so that an older
                    // report still on its way cannot revive it.
                    s.reduction = 0;
                    ReportOutcome::Ended
                } else {
                    s.reduction = report.reduction;
                    s.expires = now + report.validity;
                    ReportOutcome::Updated
                }
            }
            None if report.ends_overload() => ReportOutcome::Ended,
            None => {
                // Peers choose Origin-Host and Origin-Realm: a bound on the states keeps
                // a peer that invents names from growing them without end; the state
                // that would end first makes room.
                if self.states.len() >= MAX_STATES {
                    if let Some(i) = (0..self.states.len()).min_by_key(|&i| self.states[i].expires)
                    {
                        self.states.swap_remove(i);
                    }
                }
                self.states.push(OverloadState {
                    application,
                    scope,
                    name: name.to_ascii_lowercase().into(),
                    sequence: report.sequence,
                    reduction: report.reduction,
                    expires: now + report.validity,
                });
                ReportOutcome::Created
            }
        }
    }

    /// Forgets states whose validity ended (§5.2.1.3).
    pub fn expire(&mut self, now: Instant) {
        self.states.retain(|s| s.expires > now);
    }

    /// The reduction percentages that apply to a request: its host's (host-routed to it,
    /// or realm-routed with it as the next hop) and its realm's (realm-routed only).
    pub fn reductions(&mut self, now: Instant, target: &Target<'_>) -> (u32, u32) {
        self.expire(now);
        let (mut host, mut realm) = (0, 0);
        for s in &self.states {
            if s.application != target.application {
                continue;
            }
            match s.scope {
                Scope::Host => {
                    let to = target.destination_host.unwrap_or(target.next_hop);
                    if s.name.eq_ignore_ascii_case(to) {
                        host = s.reduction;
                    }
                }
                Scope::Realm => {
                    if target.destination_host.is_none()
                        && target
                            .destination_realm
                            .is_some_and(|r| s.name.eq_ignore_ascii_case(r))
                    {
                        realm = s.reduction;
                    }
                }
            }
        }
        (host, realm)
    }

    /// The loss algorithm (§6.3): whether to throttle a request, given `random`, a
    /// uniformly distributed number. A request under both a host and a realm report
    /// survives both: it passes with probability (1 − host) × (1 − realm).
    pub fn throttle(&mut self, now: Instant, target: &Target<'_>, random: u32) -> bool {
        let (host, realm) = self.reductions(now, target);
        if host == 0 && realm == 0 {
            return false;
        }
        let pass = u64::from(100 - host.min(100)) * u64::from(100 - realm.min(100));
        // `random` scaled to 0..10_000; the lowest draws, the throttled share, are shed.
        let draw = (u64::from(random) * 10_000) >> 32;
        draw < 10_000 - pass
    }

    /// The states (for introspection and tests).
    pub fn states(&self) -> &[OverloadState] {
        &self.states
    }

    /// Whether there is no state.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// How many states there are.
    pub fn len(&self) -> usize {
        self.states.len()
    }
}

/// An overload condition a reporting node reports (the loss algorithm's parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overload {
    /// OC-Reduction-Percentage, 1..=100.
    pub reduction: u32,
    /// OC-Validity-Duration, 1 s..=86,400 s.
    pub validity: Duration,
}

impl Overload {
    /// An overload condition, with the reduction capped at 100 and the validity within
    /// 1 s..=86,400 s (whole seconds on the wire). `None` for a reduction of 0, which is
    /// no overload (§7.7).
    pub fn new(reduction: u32, validity: Duration) -> Option<Self> {
        (reduction > 0).then(|| Self {
            reduction: reduction.min(100),
            validity: validity.clamp(Duration::from_secs(1), MAX_VALIDITY),
        })
    }
}

/// The reporting node's side (§5.2.1.2, §5.2.3): turns the overload condition wanted at a
/// given time into the OC-OLR to send, with a sequence number that increases on every
/// change.
#[derive(Clone, Debug)]
pub struct Reporter {
    report_type: OcReportType,
    sequence: u64,
    current: Option<Overload>,
    /// When `sequence` was issued.
    issued: Instant,
    /// After an overload ended: until when the ending report is sent.
    ended_until: Option<Instant>,
}

impl Reporter {
    /// A reporter of `report_type` whose next sequence number follows `sequence`. Start it
    /// from the wall clock so that numbers keep increasing across restarts (§7.4: a
    /// "nonvolatile increasing counter").
    pub fn new(report_type: OcReportType, sequence: u64, now: Instant) -> Self {
        Self {
            report_type,
            sequence,
            current: None,
            issued: now,
            ended_until: None,
        }
    }

    /// The OC-OLR for answers sent at `now` while the wanted condition is `wanted`.
    ///
    /// A change of condition takes a new sequence number. An unchanged one is re-issued
    /// with a new number once half its validity has passed: reacting nodes count the
    /// validity from the first reception of a sequence number (§7.5) and ignore repeats,
    /// so a lasting overload needs fresh numbers to stay in force. When the overload
    /// ends, answers carry a report with OC-Validity-Duration 0 (§7.5) for as long as the
    /// last report could be in force, then nothing.
    pub fn report(&mut self, now: Instant, wanted: Option<Overload>) -> Option<OverloadReport> {
        if wanted != self.current {
            self.sequence += 1;
            self.issued = now;
            self.ended_until = match (self.current, wanted) {
                (Some(previous), None) => Some(now + previous.validity),
                _ => None,
            };
            self.current = wanted;
        } else if let Some(o) = wanted {
            if now >= self.issued + o.validity / 2 {
                self.sequence += 1;
                self.issued = now;
            }
        }
        match self.current {
            Some(o) => Some(OverloadReport {
                sequence: self.sequence,
                report_type: self.report_type,
                reduction: o.reduction,
                validity: o.validity,
            }),
            None => match self.ended_until {
                Some(until) if now < until => Some(OverloadReport {
                    sequence: self.sequence,
                    report_type: self.report_type,
                    reduction: 0,
                    validity: Duration::ZERO,
                }),
                _ => {
                    self.ended_until = None;
                    None
                }
            },
        }
    }

    /// Whether an ending report is still being sent.
    pub fn ending(&self) -> bool {
        self.ended_until.is_some()
    }
}

/// How long automatic overload is reported after a connection last reached the handler
/// threshold: long enough not to flap between consecutive requests, short enough that
/// reacting nodes are released soon after the load drops.
const AUTO_HOLD: Duration = Duration::from_secs(1);

/// The reporting side's lock-protected part.
#[derive(Debug)]
struct ReportingState {
    reporter: Reporter,
    manual: Option<Overload>,
}

/// The node's DOIC: configuration, both roles' states, the clock and random numbers.
#[derive(Debug)]
pub(crate) struct Doic {
    enabled: bool,
    /// A connection with this many handlers running reports overload (0: never).
    auto_at: usize,
    auto: Option<Overload>,
    base: Instant,
    /// Automatic overload is wanted until this many ms after `base`.
    busy_until_ms: AtomicU64,
    /// Something may have to be reported (manual or automatic overload, or an ending
    /// report): without it, answers get OC-Supported-Features and no lock is taken.
    reporting: AtomicBool,
    reporter: Mutex<ReportingState>,
    reacting: Mutex<ReactingState>,
    /// `reacting.len()`, read without the lock: requests take it only while there is a
    /// state.
    reacting_len: AtomicUsize,
    rng: AtomicU64,
}

/// SplitMix64: a well-mixed 64-bit value per counter value (the loss algorithm's draws).
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Doic {
    pub(crate) fn new(config: &DoicConfig, seed: u64) -> Self {
        let now = Instant::now();
        // Milliseconds since the epoch: later than any number an earlier run of this node
        // issued, unless it changed its report more than 1000 times a second.
        let first = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let report_type = match config.report_type {
            crate::config::DoicReportType::Host => OcReportType::HOST_REPORT,
            crate::config::DoicReportType::Realm => OcReportType::REALM_REPORT,
        };
        Self {
            enabled: config.enabled,
            auto_at: config.overload_handlers,
            auto: Overload::new(config.overload_reduction, config.overload_validity),
            base: now,
            busy_until_ms: AtomicU64::new(0),
            reporting: AtomicBool::new(false),
            reporter: Mutex::new(ReportingState {
                reporter: Reporter::new(report_type, first, now),
                manual: None,
            }),
            reacting: Mutex::new(ReactingState::default()),
            reacting_len: AtomicUsize::new(0),
            rng: AtomicU64::new(seed),
        }
    }

    /// Whether DOIC is on (`[doic] enabled`).
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    fn random(&self) -> u32 {
        (splitmix64(self.rng.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)) >> 32) as u32
    }

    fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.base).as_millis() as u64
    }

    // ----- reacting node -----

    /// A request about to be sent to `next_hop`: throttled under the loss algorithm, or
    /// its bytes with OC-Supported-Features added if it has none.
    pub(crate) fn outgoing(&self, request: Message, next_hop: &str) -> Result<Bytes, RequestError> {
        if !self.enabled {
            return Ok(request.into_bytes());
        }
        if self.reacting_len.load(Ordering::Relaxed) != 0 && self.throttled(&request, next_hop) {
            return Err(RequestError::Throttled);
        }
        if request.find(avp::OC_SUPPORTED_FEATURES).is_some() {
            return Ok(request.into_bytes());
        }
        Ok(append_avps(request.into_bytes(), &SUPPORTED_FEATURES_LOSS))
    }

    fn throttled(&self, request: &Message, next_hop: &str) -> bool {
        let find = |key| request.find(key).and_then(|a| text(&a));
        let target = Target {
            application: request.application_id(),
            destination_host: find(base::DESTINATION_HOST),
            destination_realm: find(base::DESTINATION_REALM),
            next_hop,
        };
        let random = self.random();
        let mut st = self.reacting.lock().unwrap_or_else(PoisonError::into_inner);
        let throttle = st.throttle(Instant::now(), &target, random);
        self.reacting_len.store(st.len(), Ordering::Relaxed);
        throttle
    }

    /// An answer received for a request the node sent: applies its OC-OLR, if any.
    pub(crate) fn incoming_answer(&self, answer: &Message) {
        if !self.enabled {
            return;
        }
        // Most answers carry no report: one fast walk for them.
        if answer.find(avp::OC_OLR).is_none() {
            return;
        }
        let found = AnswerAvps::of(answer);
        let Some(report) = found.report() else {
            return;
        };
        let mut st = self.reacting.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = st.on_report(
            Instant::now(),
            answer.application_id(),
            found.origin_host,
            found.origin_realm,
            &report,
        );
        self.reacting_len.store(st.len(), Ordering::Relaxed);
        drop(st);
        tracing::debug!(?report, ?outcome, "DOIC overload report");
    }

    /// The overload control states in force (expired ones dropped).
    pub(crate) fn states(&self) -> Vec<OverloadState> {
        let mut st = self.reacting.lock().unwrap_or_else(PoisonError::into_inner);
        st.expire(Instant::now());
        self.reacting_len.store(st.len(), Ordering::Relaxed);
        st.states().to_vec()
    }

    // ----- reporting node -----

    /// Sets or clears the overload condition reported (clearing sends ending reports).
    pub(crate) fn set_overload(&self, overload: Option<Overload>) {
        let mut st = self.reporter.lock().unwrap_or_else(PoisonError::into_inner);
        st.manual = overload;
        self.reporting.store(true, Ordering::SeqCst);
    }

    /// Told how many handlers of a connection are running: at the configured threshold
    /// the node reports overload for a while. One comparison when not configured.
    #[inline]
    pub(crate) fn note_handlers(&self, running: usize) {
        if self.auto_at != 0 && running >= self.auto_at && self.enabled {
            self.busy();
        }
    }

    #[cold]
    fn busy(&self) {
        let until = self.ms(Instant::now() + AUTO_HOLD);
        // Moved forward by at least 100 ms at a time: not a store per request.
        if until > self.busy_until_ms.load(Ordering::Relaxed) + 100 {
            self.busy_until_ms.store(until, Ordering::SeqCst);
            self.reporting.store(true, Ordering::SeqCst);
        }
    }

    /// The overload condition reported now (manual, else automatic), if any.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))] // used by metrics.rs
    pub(crate) fn reported(&self) -> Option<Overload> {
        let auto_active = self.busy_until_ms.load(Ordering::SeqCst) > self.ms(Instant::now());
        let st = self.reporter.lock().unwrap_or_else(PoisonError::into_inner);
        st.manual.or(self.auto.filter(|_| auto_active))
    }

    /// The OC-OLR to put in answers now, if any.
    fn current_report(&self) -> Option<OverloadReport> {
        if !self.reporting.load(Ordering::SeqCst) {
            return None;
        }
        let now = Instant::now();
        let mut st = self.reporter.lock().unwrap_or_else(PoisonError::into_inner);
        let auto_active = self.busy_until_ms.load(Ordering::SeqCst) > self.ms(now);
        let wanted = st.manual.or(self.auto.filter(|_| auto_active));
        let report = st.reporter.report(now, wanted);
        if wanted.is_none() && !st.reporter.ending() {
            // Nothing more to report; a concurrent `busy` sets the flag again after us.
            self.reporting.store(false, Ordering::SeqCst);
            if self.busy_until_ms.load(Ordering::SeqCst) > self.ms(now) {
                self.reporting.store(true, Ordering::SeqCst);
            }
        }
        report
    }

    /// An answer about to be sent for `request`: with OC-Supported-Features selecting
    /// loss and the OC-OLR in force, when the request announced DOIC with loss (§5.1.2)
    /// and the answer does not carry DOIC AVPs of its own (a handler that does DOIC
    /// itself).
    pub(crate) fn outgoing_answer(&self, request: &Message, answer: Bytes) -> Bytes {
        if !self.enabled || !requests_loss(request) {
            return answer;
        }
        if has_top_level(&answer, avp::OC_SUPPORTED_FEATURES.code) {
            return answer;
        }
        match self.current_report() {
            None => append_avps(answer, &SUPPORTED_FEATURES_LOSS),
            Some(report) => {
                let mut avps = BytesMut::with_capacity(SUPPORTED_FEATURES_LOSS.len() + 60);
                avps.extend_from_slice(&SUPPORTED_FEATURES_LOSS);
                report.encode(&mut avps);
                append_avps(answer, &avps)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::MessageBuilder;

    fn t0() -> Instant {
        Instant::now()
    }

    fn report(sequence: u64, reduction: u32, validity: u64) -> OverloadReport {
        OverloadReport {
            sequence,
            report_type: OcReportType::HOST_REPORT,
            reduction,
            validity: Duration::from_secs(validity),
        }
    }

    /// An answer with Origin-Host/Realm and the given extra encoded AVPs.
    fn answer_with(extra: &[u8]) -> Message {
        let mut b = MessageBuilder::request(272, 4, true);
        let flags = b
            .header()
            .flags
            .with(diameter_core::CommandFlags::REQUEST, false);
        b.header_mut().flags = flags;
        b.add(
            base::ORIGIN_HOST,
            &diameter_core::DiameterIdentity::from("Server.Example.Org"),
        );
        b.add(
            base::ORIGIN_REALM,
            &diameter_core::DiameterIdentity::from("example.org"),
        );
        b.extend_raw(extra);
        b.build()
    }

    fn olr_bytes(r: &OverloadReport) -> Vec<u8> {
        let mut b = BytesMut::new();
        r.encode(&mut b);
        b.to_vec()
    }

    fn avp(code: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&code.to_be_bytes());
        v.extend_from_slice(&((8 + data.len()) as u32).to_be_bytes());
        v.extend_from_slice(data);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn grouped(code: u32, members: &[Vec<u8>]) -> Vec<u8> {
        avp(code, &members.concat())
    }

    fn parse(bytes: &[u8]) -> Option<OverloadReport> {
        let m = answer_with(bytes);
        let found = AnswerAvps::of(&m);
        parse_olr(found.olr.as_ref()?)
    }

    #[test]
    fn olr_round_trips_and_matches_the_dictionary() {
        let r = report(7, 50, 10);
        let bytes = olr_bytes(&r);
        assert_eq!(bytes.len(), 60);
        assert_eq!(parse(&bytes), Some(r));
        // The generic dump knows every member by name: the codes are the dictionary's.
        let m = answer_with(&[&SUPPORTED_FEATURES_LOSS[..], &bytes].concat());
        let text = diameter_core::dump::text(&m);
        for name in [
            "OC-Supported-Features",
            "OC-Feature-Vector",
            "OC-OLR",
            "OC-Sequence-Number",
            "OC-Report-Type",
            "OC-Reduction-Percentage",
            "OC-Validity-Duration",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
        let found = AnswerAvps::of(&m);
        assert_eq!(found.report(), Some(r));
        assert_eq!(found.origin_host, Some("Server.Example.Org"));
        assert_eq!(found.origin_realm, Some("example.org"));
    }

    #[test]
    fn validity_defaults_and_maximum() {
        let seq = avp(624, &9u64.to_be_bytes());
        let ty = avp(626, &1i32.to_be_bytes());
        let red = avp(627, &30u32.to_be_bytes());
        let absent = grouped(623, &[seq.clone(), ty.clone(), red.clone()]);
        let r = parse(&absent).unwrap();
        assert_eq!(r.validity, DEFAULT_VALIDITY);
        assert_eq!(r.report_type, OcReportType::REALM_REPORT);
        let max = grouped(
            623,
            &[
                seq.clone(),
                ty.clone(),
                red.clone(),
                avp(625, &86_400u32.to_be_bytes()),
            ],
        );
        assert_eq!(parse(&max).unwrap().validity, MAX_VALIDITY);
        let above = grouped(623, &[seq, ty, red, avp(625, &86_401u32.to_be_bytes())]);
        assert_eq!(parse(&above).unwrap().validity, DEFAULT_VALIDITY);
    }

    #[test]
    fn malformed_reports_are_ignored() {
        let seq = avp(624, &9u64.to_be_bytes());
        let host = avp(626, &0i32.to_be_bytes());
        let red = avp(627, &30u32.to_be_bytes());
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("no sequence", grouped(623, &[host.clone(), red.clone()])),
            ("no report type", grouped(623, &[seq.clone(), red.clone()])),
            ("no reduction", grouped(623, &[seq.clone(), host.clone()])),
            (
                "reduction above 100",
                grouped(
                    623,
                    &[seq.clone(), host.clone(), avp(627, &101u32.to_be_bytes())],
                ),
            ),
            (
                "short sequence",
                grouped(
                    623,
                    &[avp(624, &9u32.to_be_bytes()), host.clone(), red.clone()],
                ),
            ),
            (
                "PEER_REPORT (RFC 8581, not supported)",
                grouped(
                    623,
                    &[seq.clone(), avp(626, &2i32.to_be_bytes()), red.clone()],
                ),
            ),
            (
                "unknown report type",
                grouped(
                    623,
                    &[seq.clone(), avp(626, &77i32.to_be_bytes()), red.clone()],
                ),
            ),
            (
                "sequence twice",
                grouped(623, &[seq.clone(), seq.clone(), host.clone(), red.clone()]),
            ),
            ("member length beyond the group", {
                let mut g = grouped(623, &[seq.clone(), host.clone(), red.clone()]);
                // Inflate the last member's length past the end of the group.
                let last = g.len() - 12;
                g[last + 7] = 200;
                g
            }),
        ];
        for (what, bytes) in cases {
            assert_eq!(parse(&bytes), None, "{what}");
        }
        // Unknown members (extensions) are skipped, vendor-specific ones too.
        let mut vendor = avp(624, &[0, 0, 0x28, 0xaf, 0, 0, 0, 0, 0, 0, 0, 1]);
        vendor[4] = 0x80; // V bit: Vendor-Id 10415 takes the first 4 of the 12 bytes
        let ok = grouped(623, &[seq, host, red, avp(999, b"x"), vendor]);
        assert_eq!(parse(&ok).map(|r| r.sequence), Some(9));
    }

    #[test]
    fn truncated_and_garbage_answers_never_panic() {
        let full =
            answer_with(&[&SUPPORTED_FEATURES_LOSS[..], &olr_bytes(&report(1, 50, 5))].concat());
        let bytes = full.as_bytes().clone();
        // Every truncation of the OLR inside a well-framed message, and random noise.
        for cut in 1..60 {
            let mut olr = olr_bytes(&report(1, 50, 5));
            olr.truncate(60 - cut);
            let _ = parse(&olr);
        }
        let mut state = 0x1234_5678_u64;
        for _ in 0..2000 {
            let mut olr = olr_bytes(&report(1, 50, 5));
            for b in olr.iter_mut().skip(8) {
                state = splitmix64(state);
                if state % 7 == 0 {
                    *b = state as u8;
                }
            }
            let m = answer_with(&[&SUPPORTED_FEATURES_LOSS[..], &olr].concat());
            let found = AnswerAvps::of(&m);
            let _ = found.report();
        }
        assert!(Message::decode(bytes).is_ok());
    }

    #[test]
    fn the_answer_must_select_loss() {
        let olr = olr_bytes(&report(3, 40, 5));
        // No OC-Supported-Features: no algorithm selected, the OLR is not interpreted.
        assert_eq!(AnswerAvps::of(&answer_with(&olr)).report(), None);
        // OC-Supported-Features without a vector: loss (§7.2).
        let bare = grouped(621, &[]);
        let m = answer_with(&[bare, olr.clone()].concat());
        assert_eq!(AnswerAvps::of(&m).report().map(|r| r.reduction), Some(40));
        // A vector selecting only another algorithm.
        let other = grouped(621, &[avp(622, &2u64.to_be_bytes())]);
        let m = answer_with(&[other, olr].concat());
        assert_eq!(AnswerAvps::of(&m).report(), None);
    }

    #[test]
    fn requests_announce_loss() {
        let mut b = MessageBuilder::request(272, 4, true);
        assert!(!requests_loss(&b.clone().build()));
        b.extend_raw(&SUPPORTED_FEATURES_LOSS);
        assert!(requests_loss(&b.build()));
        let mut b = MessageBuilder::request(272, 4, true);
        b.extend_raw(&grouped(621, &[]));
        assert!(requests_loss(&b.build()), "no vector means loss");
        let mut b = MessageBuilder::request(272, 4, true);
        b.extend_raw(&grouped(621, &[avp(622, &16u64.to_be_bytes())]));
        assert!(!requests_loss(&b.build()));
    }

    #[test]
    fn top_level_search() {
        let m = answer_with(&SUPPORTED_FEATURES_LOSS);
        assert!(has_top_level(m.as_bytes(), 621));
        assert!(has_top_level(m.as_bytes(), 264));
        assert!(
            !has_top_level(m.as_bytes(), 622),
            "members are not top level"
        );
        assert!(!has_top_level(answer_with(&[]).as_bytes(), 621));
        // Lengths that lie stop the walk without reading past the end.
        let mut bad = m.as_bytes().to_vec();
        bad[20 + 7] = 3;
        assert!(!has_top_level(&bad, 621));
        for cut in 0..m.as_bytes().len() {
            let _ = has_top_level(&m.as_bytes()[..cut], 621);
        }
    }

    #[test]
    fn append_fixes_the_length() {
        let m = MessageBuilder::request(272, 4, true).build();
        let shared = m.as_bytes().clone();
        let out = append_avps(m.into_bytes(), &SUPPORTED_FEATURES_LOSS);
        assert_eq!(out.len(), shared.len() + 24);
        let decoded = Message::decode(out).unwrap();
        assert!(decoded.find(avp::OC_SUPPORTED_FEATURES).is_some());
        assert_eq!(
            feature_vector(&decoded.find(avp::OC_SUPPORTED_FEATURES).unwrap()),
            Some(OLR_DEFAULT_ALGO)
        );
        // Too short to be a message: left alone.
        assert_eq!(append_avps(Bytes::from_static(b"abc"), b"1234").len(), 3);
    }

    fn target<'a>(host: Option<&'a str>, realm: Option<&'a str>, next_hop: &'a str) -> Target<'a> {
        Target {
            application: 4,
            destination_host: host,
            destination_realm: realm,
            next_hop,
        }
    }

    #[test]
    fn sequence_numbers_only_increase() {
        let now = t0();
        let mut st = ReactingState::default();
        let h = Some("server.example.org");
        let r = Some("example.org");
        assert_eq!(
            st.on_report(now, 4, h, r, &report(5, 50, 10)),
            ReportOutcome::Created
        );
        assert_eq!(
            st.on_report(now, 4, h, r, &report(5, 90, 10)),
            ReportOutcome::Stale
        );
        assert_eq!(
            st.on_report(now, 4, h, r, &report(4, 90, 10)),
            ReportOutcome::Stale
        );
        let to = target(None, r, "server.example.org");
        assert_eq!(st.reductions(now, &to), (50, 0));
        assert_eq!(
            st.on_report(now, 4, h, r, &report(6, 20, 10)),
            ReportOutcome::Updated
        );
        assert_eq!(st.reductions(now, &to), (20, 0));
        // Case does not matter in DiameterIdentities.
        assert_eq!(
            st.on_report(now, 4, Some("SERVER.example.org"), r, &report(7, 30, 10)),
            ReportOutcome::Updated
        );
        assert_eq!(st.len(), 1);
        // Another application has its own state.
        assert_eq!(
            st.on_report(now, 5, h, r, &report(1, 10, 10)),
            ReportOutcome::Created
        );
        assert_eq!(st.len(), 2);
    }

    #[test]
    fn ending_reports_and_late_older_ones() {
        let now = t0();
        let mut st = ReactingState::default();
        let h = Some("server.example.org");
        let to = target(None, None, "server.example.org");
        st.on_report(now, 4, h, None, &report(10, 50, 10));
        // Validity 0 ends the condition.
        assert_eq!(
            st.on_report(now, 4, h, None, &report(11, 50, 0)),
            ReportOutcome::Ended
        );
        assert_eq!(st.reductions(now, &to), (0, 0));
        // An older report arriving late does not revive it.
        assert_eq!(
            st.on_report(now, 4, h, None, &report(10, 50, 10)),
            ReportOutcome::Stale
        );
        assert_eq!(st.reductions(now, &to), (0, 0));
        // Reduction 0 ends it too (§7.7: no need for abatement).
        st.on_report(now, 4, h, None, &report(12, 50, 10));
        assert_eq!(st.reductions(now, &to), (50, 0));
        assert_eq!(
            st.on_report(now, 4, h, None, &report(13, 0, 10)),
            ReportOutcome::Ended
        );
        assert_eq!(st.reductions(now, &to), (0, 0));
        // An ending report for an unknown condition creates nothing.
        let mut empty = ReactingState::default();
        assert_eq!(
            empty.on_report(now, 4, h, None, &report(1, 0, 0)),
            ReportOutcome::Ended
        );
        assert!(empty.is_empty());
        // Without the origin there is nothing to key the state on.
        assert_eq!(
            empty.on_report(now, 4, None, None, &report(1, 50, 5)),
            ReportOutcome::NoOrigin
        );
    }

    #[test]
    fn states_expire_with_their_validity() {
        let now = t0();
        let mut st = ReactingState::default();
        st.on_report(now, 4, Some("a.example.org"), None, &report(1, 50, 2));
        let to = target(None, None, "a.example.org");
        assert_eq!(
            st.reductions(now + Duration::from_millis(1999), &to),
            (50, 0)
        );
        assert_eq!(st.reductions(now + Duration::from_secs(2), &to), (0, 0));
        assert!(st.is_empty());
        // The validity counts from the first reception of a sequence number: a repeat does
        // not extend it.
        st.on_report(now, 4, Some("a.example.org"), None, &report(2, 50, 2));
        st.on_report(
            now + Duration::from_secs(1),
            4,
            Some("a.example.org"),
            None,
            &report(2, 50, 2),
        );
        assert_eq!(st.reductions(now + Duration::from_secs(2), &to), (0, 0));
    }

    #[test]
    fn host_and_realm_reports_match_their_requests() {
        let now = t0();
        let mut st = ReactingState::default();
        let host = OverloadReport {
            report_type: OcReportType::HOST_REPORT,
            ..report(1, 40, 10)
        };
        let realm = OverloadReport {
            report_type: OcReportType::REALM_REPORT,
            ..report(1, 30, 10)
        };
        st.on_report(now, 4, Some("hss1.example.org"), Some("example.org"), &host);
        st.on_report(
            now,
            4,
            Some("hss2.example.org"),
            Some("example.org"),
            &realm,
        );
        // Host-routed to the overloaded host, through any peer.
        let r = st.reductions(
            now,
            &target(Some("HSS1.example.org"), Some("example.org"), "dra"),
        );
        assert_eq!(
            r,
            (40, 0),
            "host-routed requests are not under the realm report"
        );
        // Host-routed elsewhere: nothing.
        let r = st.reductions(
            now,
            &target(Some("hss3.example.org"), Some("example.org"), "dra"),
        );
        assert_eq!(r, (0, 0));
        // Realm-routed through an agent: the realm report only.
        let r = st.reductions(now, &target(None, Some("example.org"), "dra.example.org"));
        assert_eq!(r, (0, 30));
        // Realm-routed straight to the overloaded host: both.
        let r = st.reductions(now, &target(None, Some("example.org"), "hss1.example.org"));
        assert_eq!(r, (40, 30));
        // Another realm, another application: nothing.
        let r = st.reductions(now, &target(None, Some("other.org"), "dra"));
        assert_eq!(r, (0, 0));
        let mut other_app = target(None, Some("example.org"), "hss1.example.org");
        other_app.application = 16_777_251;
        assert_eq!(st.reductions(now, &other_app), (0, 0));
    }

    #[test]
    fn loss_throttles_the_reported_share() {
        let now = t0();
        let mut st = ReactingState::default();
        let to = target(None, Some("example.org"), "server.example.org");
        st.on_report(now, 4, Some("server.example.org"), None, &report(1, 50, 10));
        // The draw is a uniform u32: below half is throttled at 50 %.
        assert!(st.throttle(now, &to, 0));
        assert!(st.throttle(now, &to, u32::MAX / 2 - 1_000_000));
        assert!(!st.throttle(now, &to, u32::MAX / 2 + 1_000_000));
        assert!(!st.throttle(now, &to, u32::MAX));
        let mut x = 42u64;
        let mut count = |st: &mut ReactingState| {
            (0..10_000)
                .filter(|_| {
                    x = splitmix64(x);
                    st.throttle(now, &to, x as u32)
                })
                .count()
        };
        let n = count(&mut st);
        assert!(
            (4_700..=5_300).contains(&n),
            "{n} of 10,000 throttled at 50 %"
        );
        st.on_report(
            now,
            4,
            Some("server.example.org"),
            None,
            &report(2, 100, 10),
        );
        assert_eq!(count(&mut st), 10_000);
        st.on_report(now, 4, Some("server.example.org"), None, &report(3, 10, 10));
        let n = count(&mut st);
        assert!(
            (800..=1_200).contains(&n),
            "{n} of 10,000 throttled at 10 %"
        );
        // Host 50 % and realm 50 %: 75 % throttled.
        st.on_report(now, 4, Some("server.example.org"), None, &report(4, 50, 10));
        let realm = OverloadReport {
            report_type: OcReportType::REALM_REPORT,
            ..report(1, 50, 10)
        };
        st.on_report(now, 4, None, Some("example.org"), &realm);
        let n = count(&mut st);
        assert!(
            (7_200..=7_800).contains(&n),
            "{n} of 10,000 throttled at 50 % × 50 %"
        );
        // Nothing in force: nothing throttled, whatever the draw.
        let mut empty = ReactingState::default();
        assert!(!empty.throttle(now, &to, 0));
    }

    #[test]
    fn reporter_numbers_every_change() {
        let now = t0();
        let mut r = Reporter::new(OcReportType::HOST_REPORT, 100, now);
        assert_eq!(r.report(now, None), None);
        let o = Overload::new(50, Duration::from_secs(10)).unwrap();
        let first = r.report(now, Some(o)).unwrap();
        assert_eq!((first.sequence, first.reduction), (101, 50));
        assert_eq!(first.validity, Duration::from_secs(10));
        // Unchanged: the same report.
        assert_eq!(r.report(now + Duration::from_secs(1), Some(o)), Some(first));
        // Changed: a new number.
        let o2 = Overload::new(70, Duration::from_secs(10)).unwrap();
        let second = r.report(now + Duration::from_secs(2), Some(o2)).unwrap();
        assert_eq!((second.sequence, second.reduction), (102, 70));
        // Re-issued at half the validity, so that it stays in force at reacting nodes.
        let third = r.report(now + Duration::from_secs(7), Some(o2)).unwrap();
        assert_eq!(third.sequence, 103);
        assert_eq!(third.reduction, 70);
        // Ended: validity 0 with a new number, for the last report's validity, then none.
        let end = r.report(now + Duration::from_secs(8), None).unwrap();
        assert_eq!(end.sequence, 104);
        assert!(end.ends_overload());
        assert_eq!(end.validity, Duration::ZERO);
        assert!(r.ending());
        assert_eq!(r.report(now + Duration::from_secs(17), None), Some(end));
        assert_eq!(r.report(now + Duration::from_secs(18), None), None);
        assert!(!r.ending());
        // A reacting node follows the whole story.
        let mut st = ReactingState::default();
        let h = Some("s.example.org");
        let to = target(None, None, "s.example.org");
        for rep in [first, second, third] {
            st.on_report(now, 4, h, None, &rep);
        }
        assert_eq!(st.reductions(now, &to), (70, 0));
        st.on_report(now, 4, h, None, &end);
        assert_eq!(st.reductions(now, &to), (0, 0));
    }

    #[test]
    fn overload_parameters_are_bounded() {
        assert_eq!(Overload::new(0, Duration::from_secs(5)), None);
        let o = Overload::new(150, Duration::ZERO).unwrap();
        assert_eq!((o.reduction, o.validity), (100, Duration::from_secs(1)));
        let o = Overload::new(10, Duration::from_secs(1_000_000)).unwrap();
        assert_eq!(o.validity, MAX_VALIDITY);
    }

    fn doic(config: DoicConfig) -> Doic {
        Doic::new(&config, 7)
    }

    /// The default configuration, turned on (DOIC is off by default).
    fn on() -> DoicConfig {
        DoicConfig {
            enabled: true,
            ..DoicConfig::default()
        }
    }

    fn request_with_doic() -> Message {
        let mut b = MessageBuilder::request(272, 4, true);
        b.add(
            base::DESTINATION_REALM,
            &diameter_core::DiameterIdentity::from("example.org"),
        );
        b.extend_raw(&SUPPORTED_FEATURES_LOSS);
        b.build()
    }

    fn plain_answer() -> Bytes {
        answer_with(&[]).into_bytes()
    }

    #[test]
    fn node_glue_reporting() {
        let d = doic(on());
        let req = request_with_doic();
        // Not overloaded: OC-Supported-Features only.
        let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
        assert!(a.find(avp::OC_SUPPORTED_FEATURES).is_some());
        assert!(a.find(avp::OC_OLR).is_none());
        // A request without DOIC gets none.
        let bare = MessageBuilder::request(272, 4, true).build();
        let a = Message::decode(d.outgoing_answer(&bare, plain_answer())).unwrap();
        assert!(a.find(avp::OC_SUPPORTED_FEATURES).is_none());
        // Overloaded: the OLR.
        d.set_overload(Overload::new(50, Duration::from_secs(5)));
        let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
        let r = AnswerAvps::of(&a).report().unwrap();
        assert_eq!((r.reduction, r.validity), (50, Duration::from_secs(5)));
        assert_eq!(r.report_type, OcReportType::HOST_REPORT);
        // An answer that already has DOIC AVPs (the handler does DOIC) is left alone.
        let own = answer_with(&SUPPORTED_FEATURES_LOSS).into_bytes();
        assert_eq!(d.outgoing_answer(&req, own.clone()), own);
        // Ended: validity 0 with a newer number.
        d.set_overload(None);
        let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
        let end = AnswerAvps::of(&a).report().unwrap();
        assert!(end.ends_overload() && end.sequence > r.sequence);
        // Disabled: nothing.
        let off = doic(DoicConfig {
            enabled: false,
            ..DoicConfig::default()
        });
        off.set_overload(Overload::new(50, Duration::from_secs(5)));
        let plain = plain_answer();
        assert_eq!(off.outgoing_answer(&req, plain.clone()), plain);
    }

    #[test]
    fn node_glue_automatic_overload() {
        let d = doic(DoicConfig {
            overload_handlers: 3,
            overload_reduction: 25,
            report_type: crate::config::DoicReportType::Realm,
            ..on()
        });
        let req = request_with_doic();
        d.note_handlers(2);
        let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
        assert!(a.find(avp::OC_OLR).is_none());
        d.note_handlers(3);
        let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
        let r = AnswerAvps::of(&a).report().unwrap();
        assert_eq!(
            (r.reduction, r.report_type),
            (25, OcReportType::REALM_REPORT)
        );
    }

    #[test]
    fn node_glue_reacting() {
        let d = doic(on());
        // Requests get OC-Supported-Features once.
        let req = MessageBuilder::request(272, 4, true).build();
        let bytes = d.outgoing(req, "server.example.org").unwrap();
        let sent = Message::decode(bytes).unwrap();
        assert_eq!(sent.find_all(avp::OC_SUPPORTED_FEATURES).count(), 1);
        let again = d.outgoing(sent, "server.example.org").unwrap();
        assert_eq!(
            Message::decode(again)
                .unwrap()
                .find_all(avp::OC_SUPPORTED_FEATURES)
                .count(),
            1
        );
        // A 100 % report throttles everything to that host, nothing elsewhere.
        let olr = olr_bytes(&report(1, 100, 5));
        d.incoming_answer(&answer_with(&[&SUPPORTED_FEATURES_LOSS[..], &olr].concat()));
        assert_eq!(d.states().len(), 1);
        let req = MessageBuilder::request(272, 4, true).build();
        assert_eq!(
            d.outgoing(req.clone(), "server.example.org"),
            Err(RequestError::Throttled)
        );
        assert!(d.outgoing(req.clone(), "other.example.org").is_ok());
        // An ending report releases it.
        let end = olr_bytes(&report(2, 0, 0));
        d.incoming_answer(&answer_with(&[&SUPPORTED_FEATURES_LOSS[..], &end].concat()));
        assert!(d.outgoing(req.clone(), "server.example.org").is_ok());
        // Disabled: no AVP added, nothing throttled.
        let off = doic(DoicConfig {
            enabled: false,
            ..DoicConfig::default()
        });
        let bytes = off.outgoing(req.clone(), "server.example.org").unwrap();
        assert_eq!(&bytes, req.as_bytes());
    }

    #[test]
    fn states_are_bounded() {
        let mut st = ReactingState::default();
        let now = t0();
        for n in 0..(MAX_STATES + 50) {
            let host = format!("h{n}.example.org");
            st.on_report(now, 4, Some(&host), None, &report(1, 50, 60 + n as u64));
        }
        assert_eq!(st.states().len(), MAX_STATES);
        // The newest is kept, the first (ending soonest) went.
        assert!(st.states().iter().any(|s| &*s.name == "h1073.example.org"));
        assert!(!st.states().iter().any(|s| &*s.name == "h0.example.org"));
    }
}
