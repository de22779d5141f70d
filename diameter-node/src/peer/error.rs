//! Typed errors of the peer core (rustls `check.rs` shape): what arrived in which state.
//! They are reports: the state machine has already taken the RFC's action (ignore, reject
//! or disconnect) when it returns one.

use diameter_core::DecodeError;
use diameter_core::ResultCode;

use super::ConnId;
use super::state::PeerState;
use super::watchdog::WatchdogState;

/// An input the peer state machine could not accept as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PeerError {
    /// A message the current state does not expect (§5.6: e.g. I-Rcv-Non-CEA).
    #[error("unexpected {kind} (command {code}) in state {state}")]
    UnexpectedMessage {
        /// State when it arrived.
        state: PeerState,
        /// Command code.
        code: u32,
        /// "request" or "answer".
        kind: &'static str,
    },
    /// An event the current state does not expect (e.g. a connection acknowledgement
    /// without a connection attempt).
    #[error("unexpected event {event} in state {state}")]
    UnexpectedEvent {
        /// State when it arrived.
        state: PeerState,
        /// The §5.6.2 event name.
        event: &'static str,
    },
    /// Input for a connection the state machine does not use (already closed, or lost
    /// the election).
    #[error("unknown connection {0:?}")]
    UnknownConnection(ConnId),
    /// A request can only be sent in R-Open or I-Open with the watchdog OKAY.
    #[error("peer not available (state {state}, watchdog {watchdog:?})")]
    NotAvailable {
        /// Peer state.
        state: PeerState,
        /// Watchdog state.
        watchdog: WatchdogState,
    },
    /// A CER, CEA, DWR or DPR that does not decode.
    #[error("malformed base message: {0}")]
    Malformed(DecodeError),
    /// The capabilities exchange failed with this Result-Code.
    #[error("capabilities exchange failed with Result-Code {0}")]
    CapabilitiesRejected(ResultCode),
}
