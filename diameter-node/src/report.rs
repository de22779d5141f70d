//! What the node records of a peer task's events that need no I/O: the peer's state and
//! readiness for `peers()` and `wait_for_ready`, why it last failed, its counters, and
//! the observer. The driver (`driver/`) calls these; nothing here decides anything.

use std::sync::atomic::Ordering;

use diameter_core::Message;
use tracing::{debug, info};

use crate::lifecycle::InputError;
use crate::peer::{self, ConnId, PeerState, WatchdogState};
use crate::shared::{NodeShared, PeerSlot};
use crate::stats::Counters;
use crate::tls::is_handshake_error;

/// A peer's state and watchdog state as last written to its slot.
pub(crate) type Reported = (PeerState, WatchdogState);

/// Writes the peer's state and watchdog state to its slot (for `peers()`) if they changed
/// since `last`, and tells the observer.
pub(crate) fn state(node: &NodeShared, slot: &PeerSlot, last: &mut Reported, now: Reported) {
    if now != *last {
        *last = now;
        let mut st = slot.status();
        (st.state, st.watchdog) = now;
        drop(st);
        node.observer.peer_state(&slot.name, now.0, now.1);
    }
}

/// Whether requests can go to the peer changed (its state is written first, so that what
/// `peers()` shows is up to date before anyone waiting for readiness runs).
pub(crate) fn ready(
    node: &NodeShared,
    slot: &PeerSlot,
    last: &mut Reported,
    now: Reported,
    up: bool,
) {
    state(node, slot, last, now);
    if slot.ready.swap(up, Ordering::AcqRel) != up {
        node.peers.ready.notify_waiters();
    }
}

/// A peer event other than a message (the core turns those into requests and outcomes)
/// and the Inband TLS start (the driver's).
pub(crate) fn peer_event(
    node: &NodeShared,
    slot: &PeerSlot,
    last: &mut Reported,
    now: Reported,
    e: &peer::Event,
) {
    match e {
        peer::Event::Opened { conn, capabilities } => {
            let state = now.0;
            info!(?conn, peer = %capabilities.origin_host, %state, "peer open");
            slot.set_capabilities(capabilities);
        }
        peer::Event::Available(up) => {
            debug!(up, "availability");
            ready(node, slot, last, now, *up);
        }
        peer::Event::Watchdog(w) => debug!(?w, "watchdog"),
        peer::Event::DisconnectRequested(cause) => info!(?cause, "peer sent DPR"),
        peer::Event::Closed { reason } => {
            info!(?reason, "peer closed");
            if let Some(why) = reason.failure_text() {
                slot.set_failure(why);
            }
            ready(node, slot, last, now, false);
        }
        peer::Event::StartTls { .. } | peer::Event::Message { .. } => {}
    }
}

/// An answer that matches no pending request (late, after a timeout or failover).
pub(crate) fn unmatched_answer(node: &NodeShared, slot: &PeerSlot, msg: &Message) {
    Counters::bump(&slot.counters.unknown_answers);
    let hop_by_hop = msg.header().hop_by_hop;
    debug!(hop_by_hop, "answer matches no request, dropped");
    node.observer.unmatched_answer(&slot.name, msg);
}

/// A connection attempt failed (a TLS handshake failure is counted).
pub(crate) fn connect_failed(slot: &PeerSlot, e: &std::io::Error) {
    debug!(error = %e, "connection attempt failed");
    if is_handshake_error(e) {
        Counters::bump(&slot.counters.tls_failures);
        slot.set_failure(format!("TLS handshake failed: {e}"));
    } else {
        slot.set_failure(format!("connect failed: {e}"));
    }
}

/// Input on `conn` that broke the protocol; `answered`: an error answer went back.
pub(crate) fn input_error(slot: &PeerSlot, conn: ConnId, error: InputError, answered: bool) {
    debug!(?conn, ?error, "bad input");
    let counters = &slot.counters;
    let counted = [
        (answered, &counters.answers_sent),
        (error.is_protocol_error(), &counters.protocol_errors),
        (error.is_broken_stream(), &counters.bad_connections),
    ];
    for (yes, counter) in counted {
        if yes {
            Counters::bump(counter);
        }
    }
}
