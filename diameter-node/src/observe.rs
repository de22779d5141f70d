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

use std::sync::Arc;

use bytes::Bytes;
use diameter_core::Message;

use crate::metrics::Metrics;
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

/// The node's optional observer and metrics ([`crate::metrics`]), fed at the same
/// points: one branch per message when neither is set.
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Option<Arc<Hooks>>);

struct Hooks {
    observer: Option<Arc<dyn Observer>>,
    metrics: Option<Arc<Metrics>>,
}

impl std::fmt::Debug for ObserverSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("None"),
            Some(h) => f
                .debug_struct("Hooks")
                .field("observer", &h.observer.is_some())
                .field("metrics", &h.metrics.is_some())
                .finish(),
        }
    }
}

impl ObserverSlot {
    /// A slot with this observer.
    pub(crate) fn of(observer: impl Observer) -> Self {
        Self(Some(Arc::new(Hooks {
            observer: Some(Arc::new(observer)),
            metrics: None,
        })))
    }

    /// The same observer, and `metrics` told about the same messages and states.
    pub(crate) fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        let observer = self.0.and_then(|h| h.observer.clone());
        Self(Some(Arc::new(Hooks {
            observer,
            metrics: Some(metrics),
        })))
    }

    /// Reports a decoded message.
    #[inline]
    pub(crate) fn message(&self, peer: &str, direction: Direction, message: &Message) {
        if let Some(h) = &self.0 {
            h.message(peer, direction, message);
        }
    }

    /// Reports an encoded message about to be sent (decoded only for an observer).
    #[inline]
    pub(crate) fn sent_bytes(&self, peer: &str, bytes: &Bytes) {
        if let Some(h) = &self.0 {
            h.sent_bytes(peer, bytes);
        }
    }

    /// Reports an answer that matched no pending request.
    pub(crate) fn unmatched_answer(&self, peer: &str, answer: &Message) {
        if let Some(o) = self.0.as_ref().and_then(|h| h.observer.as_ref()) {
            o.unmatched_answer(peer, answer);
        }
    }

    /// Reports a state change.
    #[inline]
    pub(crate) fn peer_state(&self, peer: &str, state: PeerState, watchdog: WatchdogState) {
        if let Some(h) = &self.0 {
            if let Some(m) = &h.metrics {
                m.peer_state(peer, state);
            }
            if let Some(o) = &h.observer {
                o.peer_state(peer, state, watchdog);
            }
        }
    }
}

impl Hooks {
    fn message(&self, peer: &str, direction: Direction, message: &Message) {
        if let Some(m) = &self.metrics {
            m.message(peer, direction, message.as_bytes());
        }
        if let Some(o) = &self.observer {
            o.message(peer, direction, message);
        }
    }

    fn sent_bytes(&self, peer: &str, bytes: &Bytes) {
        if let Some(m) = &self.metrics {
            m.message(peer, Direction::Sent, bytes);
        }
        if let Some(o) = &self.observer {
            if let Ok(m) = Message::decode(bytes.clone()) {
                o.message(peer, Direction::Sent, &m);
            }
        }
    }
}
