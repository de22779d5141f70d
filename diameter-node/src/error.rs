//! Errors of the node API (python-diameter's `ApplicationError`, `RequestTimeout`,
//! `EmptyAnswer`, as types).

use std::net::SocketAddr;

use diameter_core::DecodeError;

use crate::config::ConfigError;

/// Why a request got no answer. Every request ends with exactly one outcome: an answer or
/// one of these.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No open peer supports the request's application (or the named Destination-Host).
    #[error("no peer available for application {0}")]
    NoPeer(u32),
    /// No answer within the request timeout (python-diameter's `RequestTimeout`).
    #[error("no answer within the timeout")]
    Timeout,
    /// The connection closed before the answer came (python-diameter's `EmptyAnswer`).
    #[error("peer connection closed before the answer")]
    PeerGone,
    /// The connection has the configured maximum of pending requests.
    #[error("too many pending requests on the peer connection")]
    TooManyPending,
    /// Only requests (R bit) can be sent.
    #[error("not a request")]
    NotARequest,
    /// Throttled by DOIC's loss algorithm (RFC 7683 §6.3): the destination host or realm
    /// reported overload and this request fell in the share to shed. It was not sent.
    #[error("throttled: the destination reported overload (RFC 7683)")]
    Throttled,
    /// The typed answer does not decode.
    #[error("answer does not decode: {0}")]
    Decode(DecodeError),
}

/// Why the node could not start or become ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A configured peer's transport cannot be used on this system: `;transport=sctp`
    /// on a kernel without SCTP (the source then carries
    /// `diameter_node::sctp::SctpUnsupported`).
    #[error("cannot connect to peer {peer}: {source}")]
    Transport {
        /// The peer's URI.
        peer: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No peer became ready in time (python-diameter's `wait_for_ready` error), with why
    /// each peer that failed did (`"ocs.example.net: connect to 127.0.0.1:3868 failed:
    /// Connection refused (os error 111)"`, a TLS failure, a CEA's Result-Code...).
    #[error("no peer ready within the timeout{}", reasons.iter().map(|r| format!("; {r}")).collect::<String>())]
    NotReady {
        /// Per peer that failed: its name and why.
        reasons: Vec<String>,
    },
}
