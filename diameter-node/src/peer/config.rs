//! Settings of one peer state machine.

use std::sync::Arc;
use std::time::Duration;

use super::capabilities::LocalCapabilities;
use crate::ids::EndToEndIds;

/// Timer values (RFC 6733 §2.1 Tc, §5.6 timeouts, RFC 3539 Tw).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerTimers {
    /// RFC 3539 TwInit: 30 s by default (RFC 3539 says at least 6 s; not enforced, so that
    /// tests can run fast).
    pub watchdog: Duration,
    /// Uniform jitter added to each Tw: ± 2 s by default (RFC 3539 §3.4.1). Capped at half
    /// of Tw.
    pub watchdog_jitter: Duration,
    /// Wait-Conn-Ack timeout.
    pub connect_timeout: Duration,
    /// Wait-I-CEA / Wait-Returns timeout.
    pub cea_timeout: Duration,
    /// Closing timeout (DPA, or the peer's disconnection after our DPA).
    pub dpa_timeout: Duration,
    /// First reconnection delay; doubles on each failure.
    pub reconnect_min: Duration,
    /// Largest reconnection delay: Tc, 30 s recommended by §12.
    pub reconnect_max: Duration,
    /// No reconnection for this long after the peer sent DPR with BUSY or
    /// DO_NOT_WANT_TO_TALK_TO_YOU (§5.4.3 "SHOULD NOT attempt reconnection").
    pub quiet_after_dpr: Duration,
}

impl Default for PeerTimers {
    fn default() -> Self {
        Self {
            watchdog: Duration::from_secs(30),
            watchdog_jitter: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
            cea_timeout: Duration::from_secs(10),
            dpa_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(30),
            quiet_after_dpr: Duration::from_secs(300),
        }
    }
}

/// Everything one peer state machine needs.
#[derive(Clone, Debug)]
pub(crate) struct PeerConfig {
    /// What the local node advertises.
    pub local: Arc<LocalCapabilities>,
    /// Timer values.
    pub timers: PeerTimers,
    /// Whether the connection is kept up: reconnect after failures (§2.1).
    pub persistent: bool,
    /// The node's End-to-End Identifier source.
    pub end_to_end: Arc<EndToEndIds>,
    /// Seed of the RNG for jitter and identifiers (tests pass a fixed one).
    pub rng_seed: u64,
}

impl PeerConfig {
    /// A configuration with default timers.
    pub(crate) fn new(
        local: Arc<LocalCapabilities>,
        end_to_end: Arc<EndToEndIds>,
        rng_seed: u64,
    ) -> Self {
        Self {
            local,
            timers: PeerTimers::default(),
            persistent: false,
            end_to_end,
            rng_seed,
        }
    }
}
