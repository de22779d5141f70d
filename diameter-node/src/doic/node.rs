//! The node's DOIC glue: configuration, both roles' states behind locks, the clock and
//! random numbers; called when a request is sent (`outgoing`: throttle, or add
//! OC-Supported-Features), when its answer comes (`incoming_answer`: read the OC-OLR) and
//! when an answer is written (`outgoing_answer`: select loss and add the OC-OLR in force).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use diameter_core::Message;
use diameter_core::generated::base::avp as base;
use diameter_core::generated::doic::{OcReportType, avp};

use super::reacting::{OverloadState, ReactingState, Target};
use super::reporting::{Overload, Reporter};
use super::wire::{
    AnswerAvps, OverloadReport, has_supported_features, put_supported_features_loss, requests_loss,
    text,
};
use crate::clock;
use crate::config::{DoicConfig, DoicReportType};
use crate::error::RequestError;
use crate::framing::append_avps;

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
pub(super) fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Doic {
    pub(crate) fn new(config: &DoicConfig, seed: u64) -> Self {
        let now = clock::now();
        // Milliseconds since the epoch: later than any number an earlier run of this node
        // issued, unless it changed its report more than 1000 times a second.
        let first = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let report_type = match config.report_type {
            DoicReportType::Host => OcReportType::HOST_REPORT,
            DoicReportType::Realm => OcReportType::REALM_REPORT,
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
        let mut features = BytesMut::with_capacity(24);
        put_supported_features_loss(&mut features);
        Ok(append_avps(request.into_bytes(), &features))
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
        let throttle = st.throttle(clock::now(), &target, random);
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
            clock::now(),
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
        st.expire(clock::now());
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
        let until = self.ms(clock::now() + AUTO_HOLD);
        // Moved forward by at least 100 ms at a time: not a store per request.
        if until > self.busy_until_ms.load(Ordering::Relaxed) + 100 {
            self.busy_until_ms.store(until, Ordering::SeqCst);
            self.reporting.store(true, Ordering::SeqCst);
        }
    }

    /// The overload condition reported now (manual, else automatic), if any.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))] // used by metrics.rs
    pub(crate) fn reported(&self) -> Option<Overload> {
        let auto_active = self.busy_until_ms.load(Ordering::SeqCst) > self.ms(clock::now());
        let st = self.reporter.lock().unwrap_or_else(PoisonError::into_inner);
        st.manual.or(self.auto.filter(|_| auto_active))
    }

    /// The OC-OLR to put in answers now, if any.
    fn current_report(&self) -> Option<OverloadReport> {
        if !self.reporting.load(Ordering::SeqCst) {
            return None;
        }
        let now = clock::now();
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
        if has_supported_features(&answer) {
            return answer;
        }
        let mut avps = BytesMut::with_capacity(24 + 60);
        put_supported_features_loss(&mut avps);
        if let Some(report) = self.current_report() {
            report.encode(&mut avps);
        }
        append_avps(answer, &avps)
    }
}
