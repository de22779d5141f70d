//! TCP and TLS/TCP transport (RFC 6733 §2.1): listening on several IPv4/IPv6 addresses,
//! connecting, TCP_NODELAY, framed reads and coalesced writes.
//!
//! A connection is owned by its peer's task (`driver/`), which does all of its I/O
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
//!
//! A TLS connection ([`crate::tls`]) goes through the same code: its `Stream` variant
//! encrypts into rustls's buffer and writes that to the socket; only the places where
//! plain TCP takes a shortcut (`try_write`, the short-read hint) look at the variant.

use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::tls::Tls;

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
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
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
pub(crate) async fn connect(addrs: Vec<SocketAddr>, timeout: Duration) -> io::Result<TcpStream> {
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

/// Connects like [`connect`], then, with `tls`, runs the TLS handshake (within `timeout`
/// too); the server's certificate must name `identity`.
pub(crate) async fn connect_stream(
    addrs: Vec<SocketAddr>,
    timeout: Duration,
    tls: Option<(Tls, std::sync::Arc<str>)>,
) -> io::Result<Stream> {
    let tcp = connect(addrs, timeout).await?;
    let Some((tls, identity)) = tls else {
        return Ok(Stream::Tcp(tcp));
    };
    match tokio::time::timeout(timeout, tls.connect(tcp, &identity)).await {
        Ok(r) => r.map(|s| Stream::Tls(Box::new(s))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

/// Where a peer's task connects.
#[derive(Clone, Debug)]
pub(crate) enum PeerTarget {
    /// Fixed addresses.
    Addresses(Vec<SocketAddr>),
    /// Resolve host and port at each attempt.
    Resolve(String, u16),
    /// Never connect (peers that only connect to us).
    None,
}

impl PeerTarget {
    /// The addresses to try now (resolving a name at each attempt).
    async fn addresses(self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Self::Addresses(a) => Ok(a),
            Self::Resolve(host, port) => Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect()),
            Self::None => Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "peer has no address",
            )),
        }
    }
}

/// How a peer's task connects: TCP, TCP then TLS (`aaas://`: the server's certificate
/// must name the identity), or SCTP (all the peer's addresses in one multi-homed
/// association, which fails over between them by itself, RFC 4960 §6.4).
#[derive(Clone, Debug)]
pub(crate) enum Dial {
    Tcp,
    Tls(Tls, std::sync::Arc<str>),
    #[cfg(all(feature = "sctp", target_os = "linux"))]
    Sctp,
}

/// One connection attempt to `target`, each address within `timeout`.
pub(crate) async fn dial(target: PeerTarget, dial: Dial, timeout: Duration) -> io::Result<Stream> {
    let addrs = target.addresses().await?;
    match dial {
        Dial::Tcp => connect_stream(addrs, timeout, None).await,
        Dial::Tls(tls, identity) => connect_stream(addrs, timeout, Some((tls, identity))).await,
        #[cfg(all(feature = "sctp", target_os = "linux"))]
        Dial::Sctp => connect_sctp(addrs, timeout).await,
    }
}

/// Connects over SCTP to all of `addrs` at once, one multi-homed association (they
/// share the peer's port), within `timeout`.
#[cfg(all(feature = "sctp", target_os = "linux"))]
pub(crate) async fn connect_sctp(addrs: Vec<SocketAddr>, timeout: Duration) -> io::Result<Stream> {
    match tokio::time::timeout(timeout, crate::sctp::SctpStream::connect(&addrs)).await {
        Ok(r) => r.map(Stream::Sctp),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "SCTP connect timed out",
        )),
    }
}

/// A connection's byte stream, whatever the transport: the rest of the node sees only
/// `AsyncRead`/`AsyncWrite` and the few methods below, so another transport is one more
/// variant here (and its arms).
#[derive(Debug)]
pub(crate) enum Stream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP, started with the connection (RFC 6733 §13.1). Boxed: rustls's state
    /// is large, and plain TCP connections should not pay for it.
    Tls(Box<crate::tls::TlsStream>),
    /// A TCP connection becoming TLS after CER/CEA (Inband-Security-Id, RFC 3588 §2.1):
    /// reads and writes wait until the handshake is done, then go to the stream it
    /// yields ([`Transport::start_tls`]).
    Upgrading(Upgrade),
    /// SCTP (feature `sctp`): one association, every message its own SCTP message on
    /// stream 0 ([`crate::sctp`]).
    #[cfg(all(feature = "sctp", target_os = "linux"))]
    Sctp(crate::sctp::SctpStream),
}

/// The handshake of a [`Stream::Upgrading`]; `None` once it has failed (the error was
/// reported; later polls report the connection as unusable instead of polling it again).
pub(crate) struct Upgrade(Option<Pin<Box<dyn Future<Output = io::Result<Stream>> + Send>>>);

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upgrade")
    }
}

impl Stream {
    fn set_nodelay(&self) {
        let tcp = match self {
            Self::Tcp(s) => s,
            Self::Tls(s) => crate::tls::tcp(s),
            Self::Upgrading(_) => return,
            // SCTP_NODELAY is set when the socket is made.
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(_) => return,
        };
        let _ = tcp.set_nodelay(true);
    }

    /// Drives an upgrade in progress: ready once the stream is usable (or failed).
    fn poll_upgraded(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Self::Upgrading(u) = self {
            let Some(handshake) = u.0.as_mut() else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            match handshake.as_mut().poll(cx) {
                Poll::Ready(Ok(s)) => *self = s,
                Poll::Ready(Err(e)) => {
                    u.0 = None;
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Whether `host` is one of the DNS names of the client certificate, on a TLS
    /// connection where the client sent one (`None` otherwise).
    pub(crate) fn client_certificate_names(&self, host: &str) -> Option<bool> {
        match self {
            Self::Tcp(_) | Self::Upgrading(_) => None,
            Self::Tls(s) => crate::tls::client_certificate_names(s, host),
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(_) => None,
        }
    }

    /// Whether the connection is TLS.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }

    /// Writes without waiting: `WouldBlock` when nothing can be taken now.
    #[inline]
    fn write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write(buf),
            // rustls has no `try_write`: one poll with a waker that wakes nobody. What it
            // encrypted but the socket did not take waits in rustls's buffer, and
            // `Transport::poll_io` (with the real waker) writes it.
            Self::Tls(_) => {
                match Pin::new(self).poll_write(&mut Context::from_waker(Waker::noop()), buf) {
                    Poll::Ready(r) => r,
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            }
            // Written by `Transport::poll_io` once the handshake is done.
            Self::Upgrading(_) => Err(io::ErrorKind::WouldBlock.into()),
            // The first message of `buf` (one SCTP message per Diameter message).
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(s) => s.try_write(buf),
        }
    }

    /// Whether bytes the caller counts as written still wait inside the stream (TLS
    /// records rustls has not handed to the socket yet).
    #[inline]
    fn has_buffered_output(&self) -> bool {
        match self {
            Self::Tcp(_) | Self::Upgrading(_) => false,
            Self::Tls(s) => crate::tls::wants_write(s),
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(_) => false,
        }
    }

    /// Whether a read shorter than the room given means the socket is drained. True for
    /// TCP; rustls hands out one record per read, so for TLS a short read means nothing,
    /// and an SCTP read ends at the end of a message, so for SCTP neither.
    #[inline]
    fn short_read_drains(&self) -> bool {
        matches!(self, Self::Tcp(_))
    }

    /// Closes the sending side at once when that needs no I/O of its own (TCP's FIN);
    /// false when it does (TLS's close_notify).
    fn shutdown_now(&self) -> bool {
        match self {
            Self::Tcp(s) => {
                let _ = SockRef::from(s).shutdown(std::net::Shutdown::Write);
                true
            }
            Self::Tls(_) | Self::Upgrading(_) => false,
            // SHUTDOWN of the association (SCTP has no half-close).
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(s) => {
                let _ = s.shutdown_write();
                true
            }
        }
    }
}

impl AsyncRead for Stream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = std::task::ready!(this.poll_upgraded(cx)) {
            return Poll::Ready(Err(e));
        }
        match this {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Self::Upgrading(_) => Poll::Pending,
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = std::task::ready!(this.poll_upgraded(cx)) {
            return Poll::Ready(Err(e));
        }
        match this {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Self::Upgrading(_) => Poll::Pending,
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = std::task::ready!(this.poll_upgraded(cx)) {
            return Poll::Ready(Err(e));
        }
        match this {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Self::Upgrading(_) => Poll::Pending,
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            // Nothing was sent through TLS yet: just close.
            Self::Upgrading(_) => Poll::Ready(Ok(())),
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            Self::Sctp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
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

/// One connection: the stream, the bytes read but not yet framed, the bytes queued but
/// not yet written.
#[derive(Debug)]
pub(crate) struct Transport {
    stream: Stream,
    /// Received bytes, cut into messages by [`crate::framing::next_frame`].
    pub(crate) rbuf: BytesMut,
    /// Encoded messages waiting to be written, in order.
    wbuf: BytesMut,
}

impl Transport {
    /// Takes over a connected stream (TCP_NODELAY on) and what was already read from it.
    pub(crate) fn new(stream: Stream, rbuf: BytesMut) -> Self {
        stream.set_nodelay();
        Self {
            stream,
            rbuf,
            wbuf: BytesMut::new(),
        }
    }

    /// Puts a TCP connection under TLS after CER/CEA (Inband-Security-Id, RFC 3588 §2.1):
    /// what is queued (the CEA) is written in the clear first, then `handshake` runs on
    /// the socket; meanwhile and after, the connection is used as before and what is
    /// queued goes through TLS once the handshake is done. Refused when bytes past the
    /// CER/CEA were already read (a TLS peer sends nothing before the handshake) or when
    /// the connection is not plain TCP.
    pub(crate) fn start_tls<F, Fut>(&mut self, handshake: F) -> io::Result<()>
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<Stream>> + Send + 'static,
    {
        if !self.rbuf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bytes received between the CEA and the TLS handshake",
            ));
        }
        if !matches!(self.stream, Stream::Tcp(_)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "inband TLS on a connection that is not plain TCP",
            ));
        }
        let placeholder = Stream::Upgrading(Upgrade(None));
        let Stream::Tcp(mut tcp) = std::mem::replace(&mut self.stream, placeholder) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let clear = self.wbuf.split().freeze();
        self.stream = Stream::Upgrading(Upgrade(Some(Box::pin(async move {
            tcp.write_all(&clear).await?;
            handshake(tcp).await
        }))));
        Ok(())
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
            match self.stream.write_now(&self.wbuf) {
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
        if self.stream.has_buffered_output() {
            // Pending registers for writability, like a plain write that blocked.
            if let Poll::Ready(Err(e)) = Pin::new(&mut self.stream).poll_flush(cx) {
                return Poll::Ready(IoEvent::Failed(e));
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
                    if n < room && self.stream.short_read_drains() {
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
    /// it, otherwise (and for TLS's close_notify) from a small task that gives up after
    /// [`CLOSE_LINGER`].
    pub(crate) fn close(mut self) {
        match self.flush() {
            Ok(()) if self.wbuf.is_empty() && self.stream.shutdown_now() => return,
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
                stream.shutdown().await?;
                if stream.is_tls() {
                    // Wait for the peer's close_notify (or its FIN) before the socket goes:
                    // peers answer ours with theirs (GnuTLS's bye does), which would
                    // otherwise hit a closed socket and end as a reset.
                    let mut scratch = [0u8; 1024];
                    while stream.read(&mut scratch).await? > 0 {}
                }
                Ok::<_, io::Error>(())
            })
            .await;
        });
    }
}
