//! TCP transport (RFC 6733 §2.1): listening on several IPv4/IPv6 addresses, connecting,
//! TCP_NODELAY, framed reads and coalesced writes.
//!
//! Reads go into one `BytesMut` per connection and are cut into messages by
//! [`crate::framing::next_frame`] (many messages per read). Writes go through a small
//! writer task per connection: it takes every frame queued since its last write and sends
//! them with one `write_all`, so a burst of answers costs one syscall.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest batch the writer assembles before writing.
const MAX_BATCH: usize = 256 * 1024;
/// Room kept free in the read buffer before each read.
const READ_RESERVE: usize = 16 * 1024;

/// Binds a listener. IPv6 sockets are v6-only, so `0.0.0.0:3868` and `[::]:3868` can both
/// be listened on.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Connects to the first address that answers within `timeout` each.
pub async fn connect(addrs: Vec<SocketAddr>, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = e,
            Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
        }
    }
    Err(last)
}

/// What the writer task is told.
#[derive(Debug)]
pub(crate) enum WriterMsg {
    /// Write one message.
    Frame(Bytes),
    /// Write what is queued, then shut the connection down.
    Close,
}

/// Sends frames to a connection's writer task. Cheap to clone (handler tasks hold one).
pub(crate) type Writer = mpsc::UnboundedSender<WriterMsg>;

/// Aborts the writer task when dropped without [`WriterGuard::detach`]: a connection
/// dropped abruptly (task aborted) closes its socket at once.
#[derive(Debug)]
pub(crate) struct WriterGuard(Option<JoinHandle<()>>);

impl WriterGuard {
    /// Lets the writer finish on its own (after a [`WriterMsg::Close`]).
    pub(crate) fn detach(&mut self) {
        self.0 = None;
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

/// Splits a stream: TCP_NODELAY on, the write half to a new writer task.
pub(crate) fn split(stream: TcpStream) -> (OwnedReadHalf, Writer, WriterGuard) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(writer_task(wr, rx));
    (rd, tx, WriterGuard(Some(task)))
}

async fn writer_task(mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<WriterMsg>) {
    let mut batch = BytesMut::new();
    while let Some(first) = rx.recv().await {
        let mut close = false;
        let single = match first {
            WriterMsg::Frame(b) => b,
            WriterMsg::Close => break,
        };
        // Coalesce whatever else is already queued.
        match rx.try_recv() {
            Err(_) => {
                if wr.write_all(&single).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(next) => {
                batch.extend_from_slice(&single);
                let mut next = Some(next);
                while let Some(m) = next.take() {
                    match m {
                        WriterMsg::Frame(b) => batch.extend_from_slice(&b),
                        WriterMsg::Close => {
                            close = true;
                            break;
                        }
                    }
                    if batch.len() >= MAX_BATCH {
                        break;
                    }
                    next = rx.try_recv().ok();
                }
            }
        }
        if wr.write_all(&batch).await.is_err() {
            return;
        }
        batch.clear();
        if batch.capacity() > 4 * MAX_BATCH {
            batch = BytesMut::new();
        }
        if close {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

/// Reads more bytes into `buf` (cancel-safe: usable in `select!`).
pub(crate) async fn read_more(rd: &mut OwnedReadHalf, buf: &mut BytesMut) -> io::Result<usize> {
    if buf.capacity() - buf.len() < READ_RESERVE {
        buf.reserve(READ_RESERVE);
    }
    rd.read_buf(buf).await
}
