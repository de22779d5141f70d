//! What the peer's task does about the answers the node owes this peer beyond its own
//! link (requests forwarded on its behalf, handlers still running): it keeps the core's
//! drain informed, writes late answers, and at the drain's deadline answers what is left.

use super::PeerDriver;
use crate::clock;
use crate::shared::Late;

impl PeerDriver {
    /// Writes an answer that came back later: a handler's or a forwarded request's.
    pub(super) fn answer_later(&mut self, late: Late) {
        match late {
            Late::Handler(conn, bytes) => self.conns.answer_later(conn, &bytes, true),
            Late::Forwarded(conn, bytes) => self.conns.answer_later(conn, &bytes, false),
        }
    }

    /// Tells the core what the node owes this peer beyond its own link: requests forwarded
    /// on its behalf and handlers still running. While it drains, answers already on their
    /// way are written first, so that the DPR or DPA never overtakes them.
    pub(super) fn sync_owed(&mut self) {
        if self.core.is_draining() {
            while let Ok(late) = self.answers_rx.try_recv() {
                self.answer_later(late);
            }
        }
        let owed = self.slot.owed.len() + self.conns.handlers();
        self.core.set_owed_elsewhere(clock::now(), owed);
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
    /// Error-Message, then the core may send its DPR or DPA.
    pub(super) fn answer_owed(&mut self) {
        let conns = &mut self.conns;
        crate::forward::answer_owed(&self.node, &self.slot, |conn, answer| {
            if let Some(c) = conns.find(conn) {
                c.io.queue(answer);
            }
        });
        self.core.owed_answered(clock::now());
    }
}
