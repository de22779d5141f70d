//! Where the node reports messages and peer states: the user's [`Observer`] and the
//! metrics ([`crate::metrics`]), fed at the same points; one branch per message when
//! neither is set.

use std::sync::Arc;

use bytes::Bytes;
use diameter_core::Message;

use crate::metrics::Metrics;
use crate::observe::{Direction, Observer};
use crate::peer::{PeerState, WatchdogState};

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
