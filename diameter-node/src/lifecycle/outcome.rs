//! What a [`super::PeerCore`] tells its owner: events, and each request's one outcome.

use diameter_core::Message;

use super::Pending;
use crate::error::RequestError;
use crate::framing::FrameError;
use crate::peer::{self, ConnId};
use crate::redirect::RedirectIndication;

/// Polled with [`super::PeerCore::poll_event`].
#[derive(Debug)]
pub(crate) enum Event<W> {
    /// What the peer state machine reports (never `Message`: those become the variants
    /// below).
    Peer(peer::Event),
    /// A request received on `conn`, to be answered (§7: the node's dispatch).
    Request { conn: ConnId, msg: Message },
    /// What became of one of our requests.
    Outcome(Outcome<W>),
    /// An answer whose Hop-by-Hop Identifier matches no pending request (a late answer
    /// after a timeout or failover, §6.2): dropped.
    UnmatchedAnswer(Message),
    /// `conn` sent something that breaks the protocol; `answered`: an error answer was
    /// queued for it.
    InputError {
        conn: ConnId,
        error: InputError,
        answered: bool,
    },
    /// The drain time is up while requests are still owed to the peer on other links: the
    /// owner answers each of them now (3002 with Error-Message), then calls
    /// `owed_answered(now)`; the DPR or DPA follows those answers.
    OwedExpired,
}

/// The one outcome of a request given to [`super::PeerCore::send_request`] (several
/// `Failover`s and `Redirected`s may come before it, each handing it on).
#[derive(Debug)]
pub(crate) enum Outcome<W> {
    /// Its answer.
    Answered {
        pending: Pending<W>,
        answer: Message,
    },
    /// A 3006 answer to a request that follows redirects (§6.13): the owner sends it to
    /// one of `indication.hosts` (and caches the redirect), or delivers `answer`.
    Redirected {
        pending: Pending<W>,
        answer: Message,
        indication: RedirectIndication,
    },
    /// Not answered here: the owner sends it to another peer, or fails it. With
    /// `retransmit` it may have reached this peer, and carries the T flag (§5.5.4), with
    /// the same End-to-End Identifier.
    Failover {
        pending: Pending<W>,
        retransmit: bool,
    },
    /// No answer came in time and the request may be tried once more
    /// ([`super::Pending::retry`], taken now): the owner sends it to another peer than this
    /// one (and than the one it came from), where it carries the T flag (§5.5.4: this peer
    /// may have seen it), the same End-to-End Identifier and a new deadline; with no such
    /// peer it fails it with [`RequestError::Timeout`]. A late answer from this peer
    /// matches nothing.
    Retry { pending: Pending<W> },
    /// No answer will come: timeout, table full, no peer left.
    Failed {
        pending: Pending<W>,
        error: RequestError,
    },
}

/// Why a connection's input was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InputError {
    /// The byte stream cannot be framed any more (§2.1): closed.
    Unframeable(FrameError),
    /// A message that does not decode before the connection is open (§5.6): closed.
    BeforeOpen,
    /// A message that does not decode on the open connection: answered, kept.
    Undecodable,
    /// A message begun and not completed within the frame timeout: closed.
    FrameTimeout,
}

impl InputError {
    /// A message that breaks the protocol (a slow sender breaks none: counted as a bad
    /// connection only).
    pub(crate) fn is_protocol_error(self) -> bool {
        !matches!(self, Self::FrameTimeout)
    }

    /// The byte stream itself is unusable (counted as a bad connection).
    pub(crate) fn is_broken_stream(self) -> bool {
        matches!(self, Self::Unframeable(_) | Self::FrameTimeout)
    }
}
