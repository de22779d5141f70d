//! Counters per peer, readable through [`crate::NodeHandle::peers`]. Each counter has one
//! writer most of the time (the peer's task), so relaxed atomics cost next to nothing.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Live counters of one peer.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[$doc])* pub(crate) $name: AtomicU64,)*
        }

        /// A snapshot of [`Counters`].
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct PeerStats {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            /// Reads every counter.
            pub fn snapshot(&self) -> PeerStats {
                PeerStats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl std::ops::AddAssign for PeerStats {
            fn add_assign(&mut self, o: Self) {
                $(self.$name += o.$name;)*
            }
        }
    };
}

counters! {
    /// Requests written to the peer.
    requests_sent,
    /// Answers matched to a pending request.
    answers_received,
    /// Requests that timed out.
    timeouts,
    /// Requests that failed because the connection went away.
    peer_gone,
    /// Answers whose Hop-by-Hop Identifier matched nothing (dropped).
    unknown_answers,
    /// Requests received from the peer.
    requests_received,
    /// Answers written to the peer (handler answers and the node's own error answers).
    answers_sent,
    /// Received messages answered with a protocol or validation error (3xxx/5xxx).
    protocol_errors,
    /// Requests refused with 3004 DIAMETER_TOO_BUSY.
    too_busy,
    /// Handler errors and panics (answered 5012).
    handler_failures,
    /// Connections closed for framing errors or slow senders.
    bad_connections,
}

impl Counters {
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
