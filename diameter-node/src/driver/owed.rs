//! What the peer's task does about the answers the node owes this peer beyond its own
//! link (requests forwarded on its behalf, handlers still running): it keeps the core's
//! drain informed, writes late answers, and at the drain's deadline answers what is left.

use tracing::debug;

use super::PeerDriver;
use crate::clock;
use crate::shared::Late;
use crate::stats::Counters;

impl PeerDriver {
    /// Writes an answer that came back later: a handler's or a forwarded request's. A
    /// handler's whose request the drain answered already (3002) is dropped.
    pub(super) fn answer_later(&mut self, late: Late) {
        match late {
            Late::Handler(conn, ticket, bytes) => {
                if self.conns.answer_handler(conn, ticket, &bytes) {
                    Counters::bump(&self.slot.counters.answers_sent);
                    self.node.observer.sent_bytes(&self.slot.name, &bytes);
                } else {
                    debug!(
                        "handler answered after its request was answered or its connection closed: dropped"
                    );
                }
            }
            Late::Forwarded(conn, bytes) => self.conns.answer_forwarded(conn, &bytes),
        }
    }

    /// Tells the core what the node owes this peer beyond its own link: requests forwarded
    /// on its behalf and handlers still running. Called once per loop turn, after the
    /// core's outputs are taken (the turn's requests dispatched, so counted). While it
    /// drains, answers already on their way are written first, so that the DPR or DPA
    /// (taken from the core here) never overtakes them.
    pub(super) fn sync_owed(&mut self) {
        let draining = self.core.is_draining();
        if draining {
            while let Ok(late) = self.answers_rx.try_recv() {
                self.answer_later(late);
            }
        }
        let owed = self.slot.owed.len() + self.conns.handlers();
        self.core.set_owed_elsewhere(clock::now(), owed);
        if draining {
            self.flush();
        }
    }

    /// Publishes since when this peer's oldest request waits unanswered, for routing to
    /// avoid a stalled peer (only when it changed: the slot is shared with other tasks).
    pub(super) fn publish_waiting(&mut self) {
        let waiting = self.core.waiting_since();
        if waiting != self.published_waiting {
            self.published_waiting = waiting;
            self.slot.set_waiting_since(waiting);
        }
    }

    /// The drain's deadline passed with requests still owed: each gets 3002 with an
    /// Error-Message (forwarded ones, then those whose local handler has not answered),
    /// then the core may send its DPR or DPA.
    pub(super) fn answer_owed(&mut self) {
        // Handlers' answers already on their way go out as they are.
        while let Ok(late) = self.answers_rx.try_recv() {
            self.answer_later(late);
        }
        let conns = &mut self.conns;
        crate::forward::answer_owed(&self.node, &self.slot, |conn, answer| {
            if let Some(c) = conns.find(conn) {
                c.io.queue(answer);
            }
        });
        let why = if self.core.is_stopping() {
            "the node is shutting down: the request's handler did not answer before the drain deadline"
        } else {
            "the peer is disconnecting (DPR): the request's handler did not answer before the drain deadline"
        };
        let (node, slot) = (&self.node, &self.slot);
        for c in self.conns.iter_mut() {
            let running = c.handlers.claim_all();
            if !running.is_empty() {
                tracing::warn!(
                    requests = running.len(),
                    "drain time is up: requests whose handler runs answered 3002"
                );
            }
            for request in running {
                let answer = crate::forward::unable_to_deliver(node, &request, why);
                Counters::bump(&slot.counters.answers_sent);
                node.observer.sent_bytes(&slot.name, &answer);
                c.io.queue(&answer);
            }
        }
        self.core.owed_answered(clock::now());
    }
}
