//! What the node owes a peer on other links: requests received from it and forwarded to
//! another peer (relay, proxy), whose answers it still waits for. Kept per ingress peer
//! so that its drain (our stop, or its DPR) waits for them and, at the deadline, answers
//! each with 3002 rather than dropping it; and bounded node-wide, so that forwarded
//! traffic does not count against the ingress connection's handler bound (a stalled
//! backend would use that up and refuse requests a healthy backend could take).
//!
//! Exactly one outcome per request: whoever claims the entry first (the answer from
//! upstream, or the ingress' drain giving up) answers it; the other finds nothing.
//!
//! The same holds for requests of a connection whose local handler runs in its own task
//! ([`RunningHandlers`], kept by the peer's task per connection): the handler's answer or
//! the drain giving up (3002) answers each, once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diameter_core::Message;

use crate::peer::ConnId;

/// The node-wide bound on forwarded requests waiting for their answer.
#[derive(Debug)]
pub(crate) struct ForwardBound {
    in_flight: AtomicUsize,
    max: usize,
}

/// A place under the [`ForwardBound`], given back when dropped.
#[derive(Debug)]
pub(crate) struct ForwardPermit(Arc<ForwardBound>);

impl ForwardBound {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            max,
        })
    }

    /// A place for one more forwarded request, if the bound allows it.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<ForwardPermit> {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| ForwardPermit(Arc::clone(self)))
    }

    /// Forwarded requests waiting now.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

impl Drop for ForwardPermit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One request owed to the ingress peer.
#[derive(Debug)]
pub(crate) struct OwedEntry {
    /// The connection it came on.
    pub(crate) conn: ConnId,
    /// The request as received (what a 3002 answer is made from).
    pub(crate) request: Message,
    _permit: ForwardPermit,
}

/// The requests owed to one peer on other links.
#[derive(Debug, Default)]
pub(crate) struct OwedTable {
    entries: Mutex<HashMap<u64, OwedEntry>>,
    /// Entries not yet settled: a claimed entry counts until its answer is on its way to
    /// the ingress task ([`Self::settled`]), so a drain never sends DPR before it.
    owed: AtomicUsize,
    next: AtomicU64,
}

impl OwedTable {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<u64, OwedEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a forwarded request; the ticket claims it later.
    pub(crate) fn register(&self, conn: ConnId, request: Message, permit: ForwardPermit) -> u64 {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        self.owed.fetch_add(1, Ordering::AcqRel);
        let entry = OwedEntry {
            conn,
            request,
            _permit: permit,
        };
        self.entries().insert(ticket, entry);
        ticket
    }

    /// Claims the request to answer it; `None`: answered already. Call
    /// [`Self::settled`] once the answer is on its way.
    pub(crate) fn claim(&self, ticket: u64) -> Option<OwedEntry> {
        self.entries().remove(&ticket)
    }

    /// Claims every request still owed (the drain gives up on them).
    pub(crate) fn claim_all(&self) -> Vec<OwedEntry> {
        self.entries().drain().map(|(_, e)| e).collect()
    }

    /// A claimed request's answer is on its way.
    pub(crate) fn settled(&self) {
        self.owed.fetch_sub(1, Ordering::AcqRel);
    }

    /// Requests owed: registered and not settled.
    pub(crate) fn len(&self) -> usize {
        self.owed.load(Ordering::Acquire)
    }
}

/// The requests of one connection whose local handler runs in its own task, until it
/// answers: they count towards the connection's handler bound (3004 beyond), and a drain
/// out of time answers them 3002 ([`Self::claim_all`]); the handler's answer then finds its
/// ticket gone and is dropped. Owned by the peer's task: no lock.
#[derive(Debug, Default)]
pub(crate) struct RunningHandlers {
    requests: HashMap<u64, Message>,
    next: u64,
}

impl RunningHandlers {
    /// Handlers running now.
    pub(crate) fn len(&self) -> usize {
        self.requests.len()
    }

    /// A handler starts in its own task for `request` (kept to answer it 3002 if the drain
    /// gives up first); its answer comes back with the ticket.
    pub(crate) fn start(&mut self, request: Message) -> u64 {
        let ticket = self.next;
        self.next = self.next.wrapping_add(1);
        self.requests.insert(ticket, request);
        ticket
    }

    /// The handler answered: whether its request was still owed (else the drain answered
    /// it already and this answer is dropped).
    pub(crate) fn finish(&mut self, ticket: u64) -> bool {
        self.requests.remove(&ticket).is_some()
    }

    /// Every request still owed (the drain gives up on them).
    pub(crate) fn claim_all(&mut self) -> Vec<Message> {
        self.requests.drain().map(|(_, m)| m).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::MessageBuilder;

    fn req() -> Message {
        MessageBuilder::request(272, 4, true).build()
    }

    #[test]
    fn each_request_is_claimed_once_and_counted_until_settled() {
        let bound = ForwardBound::new(2);
        let t = OwedTable::default();
        let a = t.register(ConnId(1), req(), bound.try_acquire().unwrap());
        let b = t.register(ConnId(1), req(), bound.try_acquire().unwrap());
        assert!(bound.try_acquire().is_none(), "node-wide bound reached");
        assert_eq!(t.len(), 2);
        let e = t.claim(a).unwrap();
        assert!(t.claim(a).is_none(), "claimed once");
        assert_eq!(t.len(), 2, "counted until its answer is on its way");
        drop(e);
        t.settled();
        assert_eq!((t.len(), bound.in_flight()), (1, 1));
        let rest = t.claim_all();
        assert_eq!(rest.len(), 1);
        assert!(
            t.claim(b).is_none(),
            "the drain took it: a late answer finds nothing"
        );
        drop(rest);
        t.settled();
        assert_eq!((t.len(), bound.in_flight()), (0, 0));
    }

    #[test]
    fn a_running_handler_is_answered_once() {
        let mut h = RunningHandlers::default();
        let a = h.start(req());
        let b = h.start(req());
        assert_eq!(h.len(), 2);
        assert!(h.finish(a), "its answer goes");
        assert!(!h.finish(a), "once");
        assert_eq!(h.claim_all().len(), 1, "the drain answers the other");
        assert!(!h.finish(b), "its handler's late answer is dropped");
        assert_eq!(h.len(), 0);
    }
}
