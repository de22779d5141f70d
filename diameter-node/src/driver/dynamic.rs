//! Peers admitted by realm pattern (§5.3): their task starts with an incoming connection
//! and ends with it.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::PeerDriver;
use crate::clock;
use crate::connection::{Dial, PeerTarget};
use crate::shared::{NodeShared, PeerCommand, PeerSlot};

/// The task of the dynamic peer `name`, started unless it runs already.
pub(crate) fn spawn_dynamic_peer(node: &Arc<NodeShared>, name: &str) -> Arc<PeerSlot> {
    let mut rx = None;
    let (slot, new) = node.peers.dynamic_or_insert(name, |counters| {
        let (tx, r) = mpsc::unbounded_channel();
        rx = Some(r);
        Arc::new(PeerSlot::with_counters(name, tx, counters))
    });
    if let (true, Some(rx)) = (new, rx) {
        let how = (PeerTarget::None, Dial::Tcp, false);
        let driver = PeerDriver::new(node.clone(), slot.clone(), rx, how, true);
        node.tasks.add_peer(tokio::spawn(driver.run()));
    }
    slot
}

impl PeerDriver {
    /// The task of a dynamic peer ends: unlist the peer first, so that a new connection
    /// from the same host gets a new task; then hand on what raced with the end of this
    /// one (a new connection to a new task, requests to other peers through the core).
    pub(super) fn hand_on_after_end(&mut self) {
        self.node.remove_dynamic(&self.slot);
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                PeerCommand::Incoming { .. } => {
                    let next = spawn_dynamic_peer(&self.node, &self.slot.name);
                    let _ = next.tx.send(cmd);
                }
                PeerCommand::Request(o) => {
                    // Not sent (the peer is closed): moved elsewhere, without the T flag.
                    self.core.send_request(clock::now(), o);
                }
                PeerCommand::Stop { done, .. } => {
                    let _ = done.send(());
                }
            }
        }
        self.flush();
    }
}
