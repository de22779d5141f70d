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
//! - [`app`], `dispatch`, [`answer`]: applications with async handlers; the checks every
//!   received request goes through (§7: 3001, 3004, 3007, 5xxx with Failed-AVP).
//! - [`node`], [`config`]: [`Node::builder`], the cloneable [`NodeHandle`] and
//!   [`NodeConfig`] (builder or TOML).
//! - [`observe`]: an optional [`observe::Observer`] told about every message and peer
//!   state change.
#![forbid(unsafe_code)]

mod acceptor;
pub mod answer;
pub mod app;
pub mod config;
pub mod connection;
mod dispatch;
mod driver;
pub mod error;
pub mod framing;
pub mod ids;
pub mod node;
pub mod observe;
pub mod peer;
pub mod pending;
pub mod stats;

pub use app::{Answer, Application, HandlerError, Request};
pub use config::{Limits, NodeConfig, PeerSpec, Timers};
pub use error::{NodeError, RequestError};
pub use node::{Node, NodeBuilder, NodeHandle, PeerInfo};
pub use stats::PeerStats;
