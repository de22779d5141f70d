//! Requests and their answers, linked as Wireshark's `diameter.answer_in` /
//! `diameter.answer_to`: by Hop-by-Hop and End-to-End Identifiers on the same connection
//! (either direction), the response time being the answer's capture time minus the
//! request's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use diameter_core::Message;

/// A connection, the same whichever way a message went.
type Connection = Option<(SocketAddr, SocketAddr)>;

/// What identifies an exchange.
type Key = (u32, u32, Connection);

/// Where a request was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// Its message number in this run.
    pub(crate) message: usize,
    pub(crate) frame: Option<u64>,
    pub(crate) time: Option<Duration>,
}

/// An answer's request, and the response time when both were timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) request: Request,
    pub(crate) response_time: Option<Duration>,
}

/// Requests waiting for their answers.
#[derive(Debug, Default)]
pub(crate) struct Exchanges {
    pending: HashMap<Key, Request>,
}

fn connection(ends: Option<(SocketAddr, SocketAddr)>) -> Connection {
    ends.map(|(a, b)| if a <= b { (a, b) } else { (b, a) })
}

impl Exchanges {
    /// Records a request, or links an answer to the request it answers. A retransmitted
    /// request keeps the first one's place.
    pub(crate) fn message(
        &mut self,
        msg: &Message,
        ends: Option<(SocketAddr, SocketAddr)>,
        seen: Request,
    ) -> Option<Link> {
        let h = msg.header();
        let key = (h.hop_by_hop, h.end_to_end, connection(ends));
        if h.flags.is_request() {
            self.pending.entry(key).or_insert(seen);
            return None;
        }
        let request = self.pending.remove(&key)?;
        let response_time = match (request.time, seen.time) {
            (Some(q), Some(a)) => a.checked_sub(q),
            _ => None,
        };
        Some(Link {
            request,
            response_time,
        })
    }
}
