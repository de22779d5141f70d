//! Watching a node from outside: every message its peer tasks send and receive, and the
//! state changes of its peers. For tools that print a conversation (`diameter demo`,
//! `diameter serve --verbose`), for logs and for tests.
//!
//! ```no_run
//! use diameter_core::Message;
//! use diameter_node::observe::{Direction, Observer};
//! use diameter_node::peer::{PeerState, WatchdogState};
//!
//! struct Print;
//! impl Observer for Print {
//!     fn message(&self, peer: &str, direction: Direction, message: &Message) {
//!         eprintln!("{peer} {direction:?}: {}", diameter_core::dump::text(message));
//!     }
//!     fn peer_state(&self, peer: &str, state: PeerState, _watchdog: WatchdogState) {
//!         eprintln!("{peer} is {state}");
//!     }
//! }
//! # async fn demo(config: diameter_node::NodeConfig) {
//! let node = diameter_node::Node::builder(config).observer(Print).start().await;
//! # }
//! ```
//!
//! What is seen: every message that goes through a peer's task — CER/CEA, DWR/DWA,
//! DPR/DPA, requests sent with [`crate::NodeHandle::send`] and their answers, received
//! requests and the answers the node sends to them (handler answers and the §7 error
//! answers of validation). Not seen: what the acceptor handles before any peer is known (a
//! CER answered 3010 or 5005, anything sent before a CER) and answers to messages that do
//! not decode. The observer runs synchronously on the peer's task: keep it short. Without
//! an observer (and without [`crate::metrics`], fed at the same points) the node pays one
//! branch per message.

use diameter_core::Message;

use crate::peer::{PeerState, WatchdogState};

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received from the peer.
    Received,
    /// Sent to the peer.
    Sent,
}

/// Told about messages and peer state changes (see the module documentation). Both
/// methods do nothing by default.
pub trait Observer: Send + Sync + 'static {
    /// A message was received from, or is being sent to, `peer` (its DiameterIdentity,
    /// lower case).
    fn message(&self, peer: &str, direction: Direction, message: &Message) {
        let _ = (peer, direction, message);
    }

    /// The §5.6 state or the RFC 3539 watchdog state of `peer` changed.
    fn peer_state(&self, peer: &str, state: PeerState, watchdog: WatchdogState) {
        let _ = (peer, state, watchdog);
    }

    /// An answer from `peer` matched no pending request (python-diameter's
    /// `handle_answer` for answers nobody waits for): a late answer after a timeout or a
    /// failover, or a peer's mistake. The node drops it after this call (and counts it in
    /// `unknown_answers`).
    fn unmatched_answer(&self, peer: &str, answer: &Message) {
        let _ = (peer, answer);
    }
}
