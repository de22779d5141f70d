//! What travels between the node's tasks: commands to a peer's task, and where a
//! request's outcome goes (the caller of `send`, or the peer a forwarded request came
//! from). Behaviour lives with the concern: `forward.rs` answers and fails them.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use diameter_core::Message;
use diameter_core::generated::base::DisconnectCause;
use tokio::sync::{mpsc, oneshot};

use super::PeerSlot;
use crate::connection::Stream;
use crate::error::RequestError;
use crate::lifecycle::Pending;
use crate::peer::ConnId;

/// What the rest of the node asks a peer task to do.
#[derive(Debug)]
pub(crate) enum PeerCommand {
    /// Send a request (originated here or forwarded); its outcome goes to its waiter.
    Request(Outstanding),
    /// A new incoming connection whose CER names this peer (R-Conn-CER).
    Incoming {
        stream: Stream,
        buf: BytesMut,
        cer: Message,
    },
    /// Graceful stop: drain, DPR, DPA, then end the task.
    Stop {
        cause: DisconnectCause,
        done: oneshot::Sender<()>,
    },
}

/// A request on its way, waited for by a [`Reply`].
pub(crate) type Outstanding = Pending<Reply>;

/// Where the caller of [`crate::NodeHandle::send`] waits.
pub(crate) type CallerReply = oneshot::Sender<Result<Message, RequestError>>;

/// Where answers that are not written inline go: the peer's task, which writes them on
/// the connection (handlers that finish in their own task, answers to forwarded
/// requests).
pub(crate) type Answers = mpsc::UnboundedSender<Late>;

/// An answer written by the peer's task after the fact.
#[derive(Debug)]
pub(crate) enum Late {
    /// A handler's that ran in its own task (it counted towards the connection's bound),
    /// with its ticket in the connection's [`super::RunningHandlers`].
    Handler(ConnId, u64, Bytes),
    /// A forwarded request's (it counted in the ingress peer's owed table).
    Forwarded(ConnId, Bytes),
}

/// Who gets the outcome of a request.
pub(crate) enum Reply {
    /// The caller of `send`.
    Caller(CallerReply),
    /// The peer the request was forwarded for.
    Forward(Ingress),
}

/// The peer connection a forwarded request came from.
pub(crate) struct Ingress {
    pub(crate) slot: Arc<PeerSlot>,
    pub(crate) back: Answers,
    pub(crate) conn: ConnId,
    /// The Hop-by-Hop Identifier it had there.
    pub(crate) hop_by_hop: u32,
    /// Forwarded by a proxy route: the answer goes through the proxy hook.
    pub(crate) proxy: bool,
    /// Its entry in the ingress peer's owed table (`slot.owed`).
    pub(crate) ticket: u64,
}
