//! Counters per peer, readable through [`crate::NodeHandle::peers`]. Each counter has one
//! writer most of the time (the peer's task), so relaxed atomics cost next to nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::peer::{PeerCapabilities, PeerState, WatchdogState};

macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// Live counters of one peer.
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $($(#[doc = $doc])* pub(crate) $name: AtomicU64,)*
        }

        /// The counters of a peer (or of the node, added up) at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct PeerStats {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        impl Counters {
            /// Reads every counter.
            pub(crate) fn snapshot(&self) -> PeerStats {
                PeerStats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }

            /// Adds `s` to every counter.
            pub(crate) fn add(&self, s: PeerStats) {
                $(self.$name.fetch_add(s.$name, Ordering::Relaxed);)*
            }
        }

        impl PeerStats {
            /// How many counters there are.
            pub const LEN: usize = [$(stringify!($name)),*].len();

            /// Every counter as (field name, its documentation, value), in declaration
            /// order: exporters such as [`crate::metrics`] list the counters from this, so
            /// a counter added to the list above is exported without touching them.
            pub fn fields(&self) -> [(&'static str, &'static str, u64); Self::LEN] {
                [$((stringify!($name), concat!($($doc),*), self.$name),)*]
            }
        }

        impl std::ops::AddAssign for PeerStats {
            fn add_assign(&mut self, o: Self) {
                $(self.$name += o.$name;)*
            }
        }
    };
}

counters! {
    /// Requests written to the peer.
    requests_sent,
    /// Answers matched to a pending request.
    answers_received,
    /// Requests that timed out at the peer (those then retried on another peer included).
    timeouts,
    /// Requests that failed because the connection went away.
    peer_gone,
    /// Answers whose Hop-by-Hop Identifier matched nothing (dropped).
    unknown_answers,
    /// Requests received from the peer.
    requests_received,
    /// Answers written to the peer (handler answers and the node's own error answers).
    answers_sent,
    /// Received messages answered with a protocol or validation error (3xxx/5xxx).
    protocol_errors,
    /// Requests accepted with deviations the application's tolerant validation policy
    /// allows inside Grouped AVPs (`Application::validation`; strict would answer 5xxx).
    tolerated_deviations,
    /// Requests refused with 3004 DIAMETER_TOO_BUSY.
    too_busy,
    /// Handler errors and panics (answered 5012).
    handler_failures,
    /// Connections closed for framing errors or slow senders.
    bad_connections,
    /// Requests not sent: throttled by an overload report of the peer or its realm
    /// (RFC 7683 loss algorithm).
    throttled,
    /// TLS connections to the peer that failed their handshake (its certificate not
    /// trusted or not naming it), and its CERs refused because TLS did not authenticate
    /// their Origin-Host (RFC 6733 §13.1).
    tls_failures,
    /// Received requests forwarded to another peer (relay and proxy routes, §2.8).
    forwarded,
    /// Requests to this peer moved to another peer after it failed (§5.5.4).
    failovers,
    /// Of those, requests that had been sent and went again with the T flag.
    retransmissions,
    /// Forwarded requests that timed out at the peer and were sent once more to another
    /// peer, with the T flag (a relay or proxy route's `retry_on_timeout`).
    timeout_retries,
    /// Requests sent again to the host a 3006 answer of this peer named (§6.13).
    redirects_followed,
    /// Received requests refused with 3005 DIAMETER_LOOP_DETECTED (§6.1.3).
    loops_detected,
    /// Received retransmissions answered from the duplicate cache (§6.1.2).
    duplicates,
}

/// The `peer` label of the counters (and traffic metrics) of departed peers beyond
/// `limits.max_retained_peers`, added up. Not a DiameterIdentity (parentheses are not
/// allowed in one), so no peer can take it.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))] // read by the metrics
pub(crate) const OTHER_PEERS: &str = "(other)";

impl Counters {
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the API tells about one peer.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// DiameterIdentity (lower case).
    pub name: String,
    /// §5.6 state.
    pub state: PeerState,
    /// RFC 3539 watchdog state.
    pub watchdog: WatchdogState,
    /// Whether requests can be sent to it now.
    pub ready: bool,
    /// What it advertised in its last CER/CEA.
    pub capabilities: Option<Arc<PeerCapabilities>>,
    /// Why it last failed to open or closed: the connection refused, the TLS handshake
    /// failed, the CEA's Result-Code, no CEA in time, ... (`None` since it opened).
    pub last_failure: Option<String>,
    /// Counters.
    pub stats: PeerStats,
}

/// Why an incoming connection closed before its CER came (RFC 6733 §5.3: the CER comes
/// first, within the CEA timeout): silent clients, slow-loris, scanners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PreCerClose {
    /// The client closed the connection.
    Closed,
    /// Nothing (or not a whole message) within the CEA timeout.
    Timeout,
    /// The first bytes cannot be framed (version, length).
    Unframeable,
    /// The first message does not decode.
    Undecodable,
    /// The first message is not a CER.
    NotCer,
    /// The TLS handshake at connection start failed or took too long.
    Tls,
}

impl PreCerClose {
    const ALL: [Self; 6] = [
        Self::Closed,
        Self::Timeout,
        Self::Unframeable,
        Self::Undecodable,
        Self::NotCer,
        Self::Tls,
    ];

    /// Its name in logs and in the metrics' `reason` label.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Timeout => "timeout",
            Self::Unframeable => "unframeable",
            Self::Undecodable => "undecodable",
            Self::NotCer => "not_cer",
            Self::Tls => "tls",
        }
    }
}

/// Connections closed before their CER, by reason (node-wide: no peer is known yet).
#[derive(Debug, Default)]
pub(crate) struct PreCerCloses([AtomicU64; PreCerClose::ALL.len()]);

impl PreCerCloses {
    pub(crate) fn bump(&self, why: PreCerClose) {
        let i = PreCerClose::ALL.iter().position(|w| *w == why).unwrap_or(0);
        Counters::bump(&self.0[i]);
    }

    /// Every reason with its count.
    pub(crate) fn snapshot(&self) -> Vec<(&'static str, u64)> {
        PreCerClose::ALL
            .iter()
            .zip(&self.0)
            .map(|(w, n)| (w.name(), n.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod pre_cer_tests {
    use super::*;

    #[test]
    fn closes_are_counted_by_reason() {
        let c = PreCerCloses::default();
        c.bump(PreCerClose::Timeout);
        c.bump(PreCerClose::Timeout);
        c.bump(PreCerClose::NotCer);
        let s = c.snapshot();
        assert_eq!(s.len(), 6);
        assert!(s.contains(&("timeout", 2)) && s.contains(&("not_cer", 1)));
        assert!(s.contains(&("closed", 0)));
    }
}
