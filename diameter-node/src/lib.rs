//! The Diameter node (RFC 6733) on tokio: peers, the peer state machine, the watchdog,
//! requests and answers, and applications.
//!
//! The public API: [`Node::builder`] with a [`NodeConfig`] (builder or TOML, [`config`]),
//! [`app`] for applications and their handlers, the cloneable [`NodeHandle`] (`send`,
//! typed `request` with [`CallError`] / [`ErrorAnswer`], `peers`, `stats`, `shutdown`),
//! [`routing`] (routes, peer selectors, the [`ProxyHook`]), [`observe`] (an observer of
//! every message and peer state), [`doic`] (overload control, RFC 7683), [`redirect`]
//! (reading a 3006 answer), [`peer`] (peer states and capabilities as `peers()` shows
//! them), [`tls`] (TLS configuration), `metrics` (cargo feature `metrics`, on by default:
//! the Prometheus exposition) and `sctp` (cargo feature `sctp`, Linux).
//!
//! Inside, in layers (no module imports one of a layer above it; `scripts/module-cycles`
//! checks that there is no import cycle at all):
//! - sans-IO cores, no tokio, no sockets, no clock: the peer state machine (`peer/`:
//!   §5.6, the §5.6.4 election, the RFC 3539 watchdog, CER/CEA, DPR/DPA) and the request
//!   lifecycle (`lifecycle/`: pending requests with their deadlines, failover with the T
//!   flag, redirects to follow, the drain before DPR, frame timeouts, §5.6 errors before
//!   Open), both tested in virtual time; the pieces they use: `framing` (§3), `ids`,
//!   `answer` (§6.2, §7), `redirect`, `doic`'s wire format and rules;
//! - the node's shared state (`shared/`: peers, what serves and routes requests, the
//!   observer, the tasks) and its decisions across peers (`forward`: §6.1 routing, relay,
//!   proxy, redirect agents, where a failed-over request goes; `dispatch`: §7 checks and
//!   handlers; `report`: what peer events change in what `peers()` shows);
//! - the tokio layer, which only moves bytes and time: `driver/` (one task per peer
//!   driving its core), `connection` and `tls` (sockets, TLS), `acceptor` (incoming
//!   connections up to their CER), `node` (the builder and the handle).
// No `unsafe` except in `sctp::sys`, which must call the OS: SCTP socket options, tokio's
// `AsyncFd` registration, `recv` into an uninitialised buffer.
#![deny(unsafe_code)]

mod acceptor;
mod answer;
pub mod app;
mod bound;
mod clock;
pub mod config;
mod connection;
mod dispatch;
pub mod doic;
mod driver;
mod duplicate;
mod duration;
mod error;
mod forward;
mod framing;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod lifecycle;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
#[path = "metrics_off.rs"]
mod metrics;
mod node;
pub mod observe;
pub mod peer;
pub mod redirect;
mod report;
pub mod routing;
#[cfg(all(feature = "sctp", target_os = "linux"))]
pub mod sctp;
mod shared;
mod stats;
pub mod tls;
mod typed;

pub use app::{Answer, Application, Ctx, HandlerError, Request};
pub use config::{Limits, NodeConfig, PeerSpec, Timers};
pub use error::{NodeError, RequestError};
pub use node::{Node, NodeBuilder, NodeHandle};
pub use routing::ProxyHook;
pub use stats::{PeerInfo, PeerStats};
pub use tls::TlsConfig;
pub use typed::{CallError, ErrorAnswer};
