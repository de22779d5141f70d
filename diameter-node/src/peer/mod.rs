//! Peers: what the node shows of them (public: [`PeerState`], [`WatchdogState`], the
//! [`capabilities`] exchanged) and the crate's sans-IO peer core: the RFC 6733 §5.6 peer
//! state machine with the §5.6.4 election, the RFC 3539 watchdog (§5.5), capabilities
//! exchange (§5.3) and DPR/DPA (§5.4).
//!
//! No sockets, no tokio and no clock: like quinn-proto, a `Peer` takes inputs and is
//! polled for outputs, and time is passed in as an `Instant`.
//!
//! Inputs (§5.6.2 events):
//! - `Peer::start` (Start), `Peer::stop` (Stop),
//! - `Peer::handle_connected` / `Peer::handle_connect_failed` (I-Rcv-Conn-Ack / Nack),
//! - `Peer::handle_incoming_cer` (R-Conn-CER: a new connection and its CER),
//! - `Peer::handle_message` (Rcv-CEA, Rcv-DWR, Rcv-Message, ...),
//! - `Peer::handle_disconnected` (Peer-Disc), `Peer::handle_timeout` (Timeout),
//! - `Peer::send_request` (Send-Message; the node writes answers to requests on the
//!   connection itself).
//!
//! Outputs, to be drained after every input, in this order:
//! `Peer::poll_transmit` (bytes for a connection), `Peer::poll_action` (connect or
//! close a connection), `Peer::poll_event` (what the application should know), and
//! `Peer::poll_timeout` (when to call `Peer::handle_timeout`).
//!
//! Connections are named by `ConnId`s the driver allocates, so that the two connections
//! that exist during an election are told apart.

pub(crate) mod admission;
pub(crate) mod base;
pub mod capabilities;
pub(crate) mod config;
pub(crate) mod election;
pub(crate) mod error;
mod machine;
pub(crate) mod state;
pub(crate) mod timer;
pub(crate) mod watchdog;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use bytes::Bytes;
use diameter_core::generated::base::DisconnectCause;
use diameter_core::{Message, ResultCode};

pub use capabilities::{LocalCapabilities, PeerCapabilities, SupportedApplication};
pub(crate) use config::{PeerConfig, PeerTimers};
pub(crate) use machine::Peer;
pub use state::PeerState;
pub use watchdog::WatchdogState;

/// A transport connection, named by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ConnId(pub(crate) u64);

/// Bytes to write on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Transmit {
    /// The connection.
    pub(crate) conn: ConnId,
    /// One encoded message.
    pub(crate) bytes: Bytes,
}

/// What the driver must do to the transport (§5.6.3 actions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Snd-Conn-Req: open a connection to the peer, then report
    /// [`Peer::handle_connected`] or [`Peer::handle_connect_failed`].
    Connect,
    /// Disc / Reject / Error / Cleanup: write what is queued for `conn`, then close it.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
}

/// Why a connection or the peer closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The connection attempt failed (Rcv-Conn-Nack).
    ConnectFailed,
    /// A timer of §5.6 ran out (connect, CEA or DPA).
    Timeout(timer::Timer),
    /// The peer answered our CER with this Result-Code, or its CEA was unusable.
    CapabilitiesRejected(ResultCode),
    /// We answered the peer's CER with this Result-Code.
    CerRejected(ResultCode),
    /// The peer sent something other than a CEA in Wait-I-CEA.
    UnexpectedMessage,
    /// The other connection won the election (§5.6.4), or one was already open (Reject).
    Election,
    /// The transport went away (Peer-Disc).
    PeerDisconnected,
    /// The watchdog declared the connection down (RFC 3539).
    WatchdogDown,
    /// DPR/DPA completed (§5.4), with the cause of the DPR.
    Disconnected(DisconnectCause),
    /// The application stopped the peer before it was open (Cleanup).
    Stopped,
    /// The connection's input broke the protocol: an unframeable stream (§2.1), a message
    /// that does not decode before Open (§5.6), a message not completed in time.
    BadInput,
}

/// What the application should know (polled with [`Peer::poll_event`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    /// CER/CEA done: the peer is in R-Open or I-Open on `conn`.
    Opened {
        /// The open connection.
        conn: ConnId,
        /// What the peer advertised and what is common.
        capabilities: Arc<PeerCapabilities>,
    },
    /// Inband-Security-Id TLS was negotiated (RFC 3588 §2.1): the driver starts the TLS
    /// handshake on `conn` (as the client when `client`, i.e. in I-Open) right after the
    /// CEA, then calls [`Peer::tls_started`]; a failed handshake is a disconnection.
    StartTls {
        /// The open connection.
        conn: ConnId,
        /// This side sent the CER: it is the TLS client.
        client: bool,
    },
    /// Whether requests may be sent now (open and watchdog OKAY) changed.
    Available(bool),
    /// The watchdog changed state.
    Watchdog(WatchdogState),
    /// An application message (the §5.6 Process action): a request to answer or an
    /// answer to match with a pending request.
    Message {
        /// The connection it came on.
        conn: ConnId,
        /// The message.
        msg: Message,
    },
    /// The peer sent DPR with this cause (§5.4.3).
    DisconnectRequested(DisconnectCause),
    /// Back to Closed: requests still pending on the connection will not be answered.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

impl CloseReason {
    /// Why a peer closed, in words, for `PeerInfo::last_failure` and
    /// `NodeError::NotReady`; nothing for a close that was asked for (or a failed connect,
    /// whose I/O error says more).
    pub(crate) fn failure_text(&self) -> Option<String> {
        let code = |c: u32| match diameter_core::ResultCode(c).name() {
            Some(n) => format!("{c} {n}"),
            None => c.to_string(),
        };
        Some(match self {
            Self::ConnectFailed => return None,
            Self::Timeout(t) => format!("timed out ({t:?})"),
            Self::CapabilitiesRejected(c) => format!("CER answered {}", code(c.0)),
            Self::CerRejected(c) => format!("its CER refused with {}", code(c.0)),
            Self::UnexpectedMessage => "sent something other than a CEA".to_owned(),
            Self::PeerDisconnected => "connection lost".to_owned(),
            Self::WatchdogDown => "watchdog: no DWA (RFC 3539 DOWN)".to_owned(),
            Self::BadInput => "sent input that breaks the protocol".to_owned(),
            Self::Election | Self::Disconnected(_) | Self::Stopped => return None,
        })
    }
}
