//! The Diameter node (RFC 6733) on tokio: peers, the peer state machine, the watchdog,
//! requests and answers, and applications.
//!
//! - [`peer`]: the sans-IO peer core: the §5.6 state machine, the §5.6.4 election, the
//!   RFC 3539 watchdog (§5.5), capabilities exchange (§5.3) and DPR/DPA (§5.4). No tokio,
//!   no sockets, no clock.
//! - [`framing`], [`pending`], [`ids`]: sans-IO pieces of the runtime: cutting the TCP
//!   stream into messages (§3), the per-connection pending-request table, End-to-End and
//!   Hop-by-Hop Identifiers (§3) and Session-Ids (§8.8).
//! - [`connection`], `driver`, `acceptor`: the tokio side: listening and connecting (§2.1),
//!   one task per peer feeding the peer core, incoming connections up to their CER (§5.6.1).
//! - [`tls`]: TLS at connection start (§2.1, §13): `aaas://` peers, `tls_listen`, mutual
//!   authentication and the client certificate's names against the CER's Origin-Host.
//! - [`app`], `dispatch`, [`answer`]: applications with async handlers; the checks every
//!   received request goes through (§7: 3001, 3004, 3007, 5xxx with Failed-AVP).
//! - [`node`], [`config`]: [`Node::builder`], the cloneable [`NodeHandle`] and
//!   [`NodeConfig`] (builder or TOML).
//! - [`typed`]: typed requests ([`NodeHandle::request`]) with typed answers or a typed
//!   [`ErrorAnswer`] keeping the Result-Code and Failed-AVP.
//! - [`routing`], `forward`, [`redirect`], [`duplicate`]: where requests go (§2.7, §6.1):
//!   the routing table and peer selectors, relay / proxy / redirect agents (§2.8) with
//!   Route-Record and loop detection, failover with the T flag (§5.5.4), following and
//!   caching redirects (§6.13), duplicate detection (§6.1.2).
//! - [`observe`]: an optional [`observe::Observer`] told about every message and peer
//!   state change.
//! - `metrics` (cargo feature `metrics`, on by default): the Prometheus exposition (peer
//!   states, counters, messages, latencies) and its optional HTTP listener.
//! - [`doic`]: DOIC overload control (RFC 7683), the loss algorithm as reacting and
//!   reporting node.
//! - `sctp` (cargo feature `sctp`, Linux): SCTP transport (§2.1), multi-homed listeners
//!   and associations over kernel sockets.
// No `unsafe` except in `sctp::sys`, which must call the OS: SCTP socket options, tokio's
// `AsyncFd` registration, `recv` into an uninitialised buffer.
#![deny(unsafe_code)]

mod acceptor;
pub mod answer;
pub mod app;
mod bound;
pub mod config;
pub mod connection;
mod dispatch;
pub mod doic;
mod driver;
pub mod duplicate;
mod duration;
pub mod error;
mod forward;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
mod lifecycle;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
#[path = "metrics_off.rs"]
mod metrics;
pub mod node;
pub mod observe;
pub mod peer;

pub mod redirect;
mod report;
pub mod routing;
#[cfg(all(feature = "sctp", target_os = "linux"))]
pub mod sctp;
mod shared;
pub mod stats;
pub mod tls;
pub mod typed;

pub use app::{Answer, Application, Ctx, HandlerError, Request};
pub use config::{Limits, NodeConfig, PeerSpec, Timers};
pub use error::{NodeError, RequestError};
pub use node::{Node, NodeBuilder, NodeHandle, PeerInfo};
pub use routing::ProxyHook;
pub use stats::PeerStats;
pub use tls::TlsConfig;
pub use typed::{CallError, ErrorAnswer};
