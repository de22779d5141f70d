//! TCP transport (RFC 6733 §2.1): listening on several IPv4/IPv6 addresses, connecting,
//! TCP_NODELAY, framed reads and coalesced writes.
//!
//! A connection is owned by its peer's task (`driver.rs`), which does all of its I/O
//! itself, with no task or channel in between:
//!
//! - reads go into one `BytesMut` and are cut into messages by
//!   [`crate::framing::next_frame`]; one wake-up reads until the socket is drained (up to
//!   256 KiB), so many messages cost one or two `read` calls;
//! - every message to send is appended to one output `BytesMut`, and the task writes it
//!   with one `write` once it has handled a batch, so a burst of requests or answers costs
//!   one syscall. What the socket does not take at once is
//!   written when it becomes writable; above `WRITE_HIGH_WATER` (4 MiB) unsent bytes the
//!   connection stops reading until the peer catches up, so memory stays bounded.

use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Most bytes read in one wake-up before the messages are handled.
pub(crate) const MAX_READ_BATCH: usize = 256 * 1024;
/// Room kept free in the read buffer before each read.
const READ_RESERVE: usize = 16 * 1024;
/// Unsent bytes above which a connection stops reading (back-pressure on a peer that
/// sends requests but does not read their answers).
pub(crate) const WRITE_HIGH_WATER: usize = 4 * 1024 * 1024;
/// An output buffer grown above this is given back once it is empty.
const KEEP_CAPACITY: usize = 1024 * 1024;
/// How long a closed connection may take to write what is still queued.
const CLOSE_LINGER: Duration = Duration::from_secs(5);

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

/// What a connection's [`Transport::poll_io`] reports.
#[derive(Debug)]
pub(crate) enum IoEvent {
    /// Bytes were appended to the read buffer.
    Read,
    /// The peer closed its side (end of stream).
    Closed,
    /// Reading or writing failed.
    Failed(io::Error),
}

/// One TCP connection: the socket, the bytes read but not yet framed, the bytes queued
/// but not yet written.
#[derive(Debug)]
pub(crate) struct Transport {
    stream: TcpStream,
    /// Received bytes, cut into messages by [`crate::framing::next_frame`].
    pub(crate) rbuf: BytesMut,
    /// Encoded messages waiting to be written, in order.
    wbuf: BytesMut,
}

impl Transport {
    /// Takes over a connected stream (TCP_NODELAY on) and what was already read from it.
    pub(crate) fn new(stream: TcpStream, rbuf: BytesMut) -> Self {
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            rbuf,
            wbuf: BytesMut::new(),
        }
    }

    /// Queues an encoded message; it is written by the next [`Self::flush`] or
    /// [`Self::poll_io`].
    #[inline]
    pub(crate) fn queue(&mut self, message: &[u8]) {
        self.wbuf.extend_from_slice(message);
    }

    /// The output buffer, for appending encoded messages.
    #[inline]
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.wbuf
    }

    /// Whether anything is waiting to be written.
    #[inline]
    pub(crate) fn has_output(&self) -> bool {
        !self.wbuf.is_empty()
    }

    /// Writes what is queued, as far as the socket takes it now (one `write` in the common
    /// case), without waiting; the rest goes when the socket is writable again.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        while !self.wbuf.is_empty() {
            match self.stream.try_write(&self.wbuf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.wbuf.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        self.written();
        Ok(())
    }

    fn written(&mut self) {
        if self.wbuf.capacity() > KEEP_CAPACITY {
            self.wbuf = BytesMut::new();
        }
    }

    /// Writes queued output when the socket is writable, then, if `read`, reads what has
    /// arrived: until the socket is drained or [`MAX_READ_BATCH`] bytes. Ready with the
    /// outcome of the read; writing alone never makes it ready (except on failure).
    /// Cancel-safe.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<IoEvent> {
        while !self.wbuf.is_empty() {
            match Pin::new(&mut self.stream).poll_write(cx, &self.wbuf) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(IoEvent::Failed(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    self.wbuf.advance(n);
                    if self.wbuf.is_empty() {
                        self.written();
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(IoEvent::Failed(e)),
                Poll::Pending => break,
            }
        }
        if !read || self.wbuf.len() > WRITE_HIGH_WATER {
            // Woken when the socket is writable again (or not at all, when not reading:
            // the caller comes back by itself).
            return Poll::Pending;
        }
        let mut total = 0;
        while total < MAX_READ_BATCH {
            if self.rbuf.capacity() - self.rbuf.len() < READ_RESERVE {
                self.rbuf.reserve(READ_RESERVE);
            }
            let room = self.rbuf.capacity() - self.rbuf.len();
            // A short read tells tokio the socket is drained: no extra `read` to learn it.
            match pin!(self.stream.read_buf(&mut self.rbuf)).poll(cx) {
                Poll::Ready(Ok(0)) if total == 0 => return Poll::Ready(IoEvent::Closed),
                Poll::Ready(Ok(0)) => break,
                Poll::Ready(Ok(n)) => {
                    total += n;
                    if n < room {
                        break;
                    }
                }
                Poll::Ready(Err(e)) if total == 0 => return Poll::Ready(IoEvent::Failed(e)),
                Poll::Ready(Err(_)) => break,
                Poll::Pending => break,
            }
        }
        if total > 0 {
            Poll::Ready(IoEvent::Read)
        } else {
            Poll::Pending
        }
    }

    /// Closes the connection after writing what is queued: at once when the socket takes
    /// it, otherwise from a small task that gives up after [`CLOSE_LINGER`].
    pub(crate) fn close(mut self) {
        match self.flush() {
            Ok(()) if self.wbuf.is_empty() => {
                let _ = SockRef::from(&self.stream).shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(()) if tokio::runtime::Handle::try_current().is_ok() => {}
            // Broken, or no runtime to finish in: dropped (closed) at once.
            _ => return,
        }
        let Self {
            mut stream, wbuf, ..
        } = self;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CLOSE_LINGER, async {
                stream.write_all(&wbuf).await?;
                stream.shutdown().await
            })
            .await;
        });
    }
}
