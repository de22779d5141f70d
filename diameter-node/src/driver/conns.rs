//! The transport connections of one peer: one, or two during an election (§5.6.4), and
//! the attempt to open one. Each has its socket, read buffer and output buffer
//! ([`Transport`]), the requests of its handlers running in their own task, and whether
//! complete messages wait in its buffer.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;

use crate::app::BoxFuture;
use crate::connection::{Dial, IoEvent, PeerTarget, Stream, Transport};
use crate::peer::ConnId;
use crate::shared::RunningHandlers;
use crate::tls::Tls;

/// One live transport connection.
pub(super) struct Conn {
    pub(super) id: ConnId,
    pub(super) io: Transport,
    /// This connection's requests whose handlers run in their own tasks (3004 beyond the
    /// configured bound; 3002 if the drain gives up on them).
    pub(super) handlers: RunningHandlers,
    /// Complete messages are still in the read buffer ([`crate::lifecycle::FRAME_BATCH`]).
    pub(super) backlog: bool,
}

/// At most two connections.
#[derive(Default)]
pub(super) struct Conns([Option<Conn>; 2]);

impl Conns {
    /// Adds a connection; `None` (and the stream dropped) when two exist already.
    pub(super) fn attach(&mut self, id: ConnId, stream: Stream, buf: BytesMut) -> Option<usize> {
        let i = self.0.iter().position(Option::is_none)?;
        self.0[i] = Some(Conn {
            id,
            io: Transport::new(stream, buf),
            handlers: RunningHandlers::default(),
            backlog: false,
        });
        Some(i)
    }

    pub(super) fn get(&mut self, i: usize) -> Option<&mut Conn> {
        self.0.get_mut(i)?.as_mut()
    }

    pub(super) fn find(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.0.iter_mut().flatten().find(|c| c.id == id)
    }

    /// The answer of a handler that ran in its own task: queued unless its request was
    /// answered already (the drain gave up on it) or its connection is gone; whether it was.
    pub(super) fn answer_handler(&mut self, id: ConnId, ticket: u64, answer: &[u8]) -> bool {
        let Some(c) = self.find(id) else {
            return false;
        };
        let owed = c.handlers.finish(ticket);
        if owed {
            c.io.queue(answer);
        }
        owed
    }

    /// The answer of a forwarded request (claimed once already, in the owed table).
    pub(super) fn answer_forwarded(&mut self, id: ConnId, answer: &[u8]) {
        if let Some(c) = self.find(id) {
            c.io.queue(answer);
        }
    }

    /// Handlers running in their own task, over every connection.
    pub(super) fn handlers(&self) -> usize {
        self.0.iter().flatten().map(|c| c.handlers.len()).sum()
    }

    /// Every live connection.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Conn> {
        self.0.iter_mut().flatten()
    }

    pub(super) fn index_of(&self, id: ConnId) -> Option<usize> {
        self.0
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.id == id))
    }

    /// Removes connection `i` and closes it after writing what is queued.
    pub(super) fn close(&mut self, i: usize) -> Option<ConnId> {
        let c = self.0.get_mut(i)?.take()?;
        c.io.close();
        Some(c.id)
    }

    pub(super) fn close_all(&mut self) {
        (0..self.0.len()).for_each(|i| _ = self.close(i));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// Connections with complete messages left in their buffers.
    pub(super) fn with_backlog(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.0.len()).filter(|&i| self.0[i].as_ref().is_some_and(|c| c.backlog))
    }

    /// Writes each connection's queued output (one syscall each); the connections whose
    /// write failed.
    pub(super) fn write_out(&mut self) -> Vec<usize> {
        let mut failed = Vec::new();
        for (i, c) in self.0.iter_mut().enumerate() {
            if let Some(c) = c.as_mut().filter(|c| c.io.has_output()) {
                if c.io.flush().is_err() {
                    failed.push(i);
                }
            }
        }
        failed
    }

    /// The next I/O event of any connection (never, without one).
    pub(super) async fn next_io(&mut self) -> (usize, IoEvent) {
        let [c0, c1] = &mut self.0;
        tokio::select! {
            e = io(c0) => (0, e),
            e = io(c1) => (1, e),
        }
    }

    /// Puts connection `i` under TLS (Inband-Security-Id, RFC 3588 §2.1), as the client
    /// or the server (`tls::inband_handshake`); the handshake runs inside the transport.
    pub(super) fn start_inband_tls(
        &mut self,
        i: usize,
        tls: Option<Tls>,
        identity: Arc<str>,
        client: bool,
    ) -> io::Result<()> {
        match (tls, self.get(i)) {
            (Some(tls), Some(c)) => c.io.start_tls(move |tcp| async move {
                let s = crate::tls::inband_handshake(tls, tcp, identity, client).await?;
                Ok(Stream::Tls(Box::new(s)))
            }),
            _ => Err(io::Error::other(
                "inband TLS negotiated without TLS credentials",
            )),
        }
    }
}

/// The next I/O event of a connection slot (never, for an empty slot). A connection with
/// a backlog of messages already read reads no more until it is handled, so the read
/// buffer stays within [`crate::connection::MAX_READ_BATCH`] and a message.
async fn io(conn: &mut Option<Conn>) -> IoEvent {
    match conn {
        Some(c) => {
            let read = !c.backlog;
            std::future::poll_fn(|cx| c.io.poll_io(cx, read)).await
        }
        None => std::future::pending().await,
    }
}

/// A connection attempt in progress (Snd-Conn-Req), at most one.
#[derive(Default)]
pub(super) struct Connecting(Option<BoxFuture<io::Result<Stream>>>);

impl Connecting {
    pub(super) fn start(&mut self, target: PeerTarget, dial: Dial, timeout: Duration) {
        self.0 = Some(Box::pin(crate::connection::dial(target, dial, timeout)));
    }

    pub(super) fn cancel(&mut self) {
        self.0 = None;
    }

    /// The attempt's result (never, without one).
    pub(super) async fn done(&mut self) -> io::Result<Stream> {
        let Some(f) = self.0.as_mut() else {
            return std::future::pending().await;
        };
        let r = f.await;
        self.0 = None;
        r
    }
}
