//! SCTP transport (RFC 6733 §2.1, RFC 4960) on Linux kernel sockets: the `sctp` cargo
//! feature.
//!
//! - **Sockets.** One-to-one style (RFC 6458 §3: `SOCK_STREAM` + `IPPROTO_SCTP`), one
//!   socket per association, made with socket2 and registered with tokio through
//!   [`AsyncFd`]: tokio's `TcpStream` would issue TCP-only calls on it. [`SctpStream`]
//!   implements [`AsyncRead`] and [`AsyncWrite`], so the Diameter framing reads it as it
//!   reads TCP: a plain `read` returns the bytes of the received messages in order.
//! - **Multi-homing.** [`SctpListener::bind`] takes every address of the endpoint: the
//!   first is `bind`, the others are added with `SCTP_SOCKOPT_BINDX_ADD` (what
//!   `sctp_bindx` does). [`SctpStream::connect`] gives all the peer's addresses to
//!   `SCTP_SOCKOPT_CONNECTX` (`sctp_connectx`), so the association uses all of them and
//!   fails over between them by itself. An endpoint has one port (RFC 4960 §1.3), so the
//!   addresses must share it. IPv4 and IPv6 mix on one `AF_INET6` socket.
//! - **Streams.** RFC 6733 §2.1.1 only asks that the messages of one session stay on one
//!   stream (ordered delivery within a session). Everything is sent on stream 0 by plain
//!   `write`s (`SCTP_DEFAULT_SEND_PARAM`), which trivially keeps every session, and the
//!   whole connection, in order. [`SctpOptions`] sets the streams requested in INIT
//!   (`SCTP_INITMSG`); [`SctpStream::set_send_stream`] moves the default to another
//!   stream. Messages arriving on any stream are read (peers such as freeDiameter spread
//!   sessions over streams); whole messages are delivered one after the other, since the
//!   kernel does not interleave partially delivered messages by default.
//! - **Message boundaries.** Each `write` of an SCTP socket is one SCTP user message, and
//!   peers such as freeDiameter take one user message as one Diameter message. The node
//!   appends many messages to one output buffer, so [`SctpStream`]'s `poll_write` and
//!   [`SctpStream::try_write`] send at most one Diameter message per call (the kernel takes
//!   a message whole or not at all, so a buffer of whole messages stays cut at message
//!   boundaries). This costs one system call per message instead of one per batch. A
//!   message cannot exceed the send buffer ([`SctpOptions::send_buffer_size`]).
//! - **Options.** `SCTP_NODELAY` on (Diameter is request/answer traffic, like
//!   `TCP_NODELAY`); Payload Protocol Identifier [`DIAMETER_PPID`] on every DATA chunk,
//!   so captures dissect as Diameter; no notifications (`SCTP_EVENTS` all off), since a
//!   notification would appear in the byte stream of a plain `read`.
//! - **No SCTP in the kernel.** Creating the socket then fails with `EPROTONOSUPPORT`
//!   (or `ESOCKTNOSUPPORT`); that becomes an [`io::Error`] of kind
//!   [`io::ErrorKind::Unsupported`] carrying [`SctpUnsupported`] ([`is_unsupported`]),
//!   which the node's start reports (`NodeError::Bind` for `sctp_listen`,
//!   `NodeError::Transport` for a `;transport=sctp` peer).
//!
//! The C structs of the socket options are built and read as bytes (`opts`, `addr`,
//! tested without a kernel); `sys` is the one place allowed `unsafe`, to pass those bytes
//! to `setsockopt`/`getsockopt`, to register sockets with tokio (`AsyncFd::register`,
//! `unsafe` in current tokio) and to `recv` into tokio's uninitialised buffer. The half of
//! the module that does not depend on the protocol is also tested over TCP.

mod addr;
mod opts;
mod sys;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

use self::opts::{SCTP_SOCKOPT_CONNECTX, SOL_SCTP};

/// The SCTP Payload Protocol Identifier IANA assigned to Diameter (47 is Diameter over
/// DTLS/SCTP).
pub const DIAMETER_PPID: u32 = 46;

/// Pending connections a listener queues before `accept`.
const BACKLOG: i32 = 1024;
/// Most addresses asked for with `SCTP_GET_LOCAL_ADDRS` / `SCTP_GET_PEER_ADDRS`; a
/// wildcard endpoint reports every address of the host.
const MAX_ADDRS: usize = 256;

/// The kernel has no SCTP: `socket(..., IPPROTO_SCTP)` failed with `EPROTONOSUPPORT` or
/// `ESOCKTNOSUPPORT` (on Linux, the `sctp` module is not loaded, not built, or
/// blacklisted). Carried inside an [`io::Error`] of kind [`io::ErrorKind::Unsupported`];
/// see [`is_unsupported`].
#[derive(Debug)]
pub struct SctpUnsupported {
    os: io::Error,
}

impl fmt::Display for SctpUnsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the kernel does not support SCTP (socket(IPPROTO_SCTP): {}); \
             on Linux, load the sctp module (modprobe sctp)",
            self.os
        )
    }
}

impl std::error::Error for SctpUnsupported {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.os)
    }
}

/// Whether `error` says the kernel has no SCTP (it carries [`SctpUnsupported`]).
pub fn is_unsupported(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<SctpUnsupported>())
}

/// Turns the errors of `socket()` that mean "no SCTP in this kernel" into
/// [`SctpUnsupported`]; other errors (no descriptors left, ...) pass unchanged.
fn map_socket_error(error: io::Error) -> io::Error {
    match error.raw_os_error() {
        Some(libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT) => {
            io::Error::new(io::ErrorKind::Unsupported, SctpUnsupported { os: error })
        }
        _ => error,
    }
}

/// A one-to-one SCTP socket of `domain` (close-on-exec, as socket2 makes them).
fn new_socket(domain: Domain) -> io::Result<Socket> {
    Socket::new(
        domain,
        Type::STREAM,
        Some(Protocol::from(libc::IPPROTO_SCTP)),
    )
    .map_err(map_socket_error)
}

/// Whether this kernel can make SCTP sockets (tries one and closes it); the tests use it
/// to skip what needs SCTP.
pub fn kernel_supports_sctp() -> bool {
    probe().is_ok()
}

/// Makes an SCTP socket and closes it: the error, [`SctpUnsupported`] without kernel
/// SCTP, is what every later attempt would get. The node checks this at start for its
/// SCTP peers, which could otherwise never be connected.
pub fn probe() -> io::Result<()> {
    new_socket(Domain::IPV4).map(drop)
}

/// What new associations ask for and what every message is sent with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SctpOptions {
    /// Outbound streams requested in INIT (`sinit_num_ostreams`); the association gets
    /// the smaller of this and the peer's inbound limit. Default 16.
    pub outbound_streams: u16,
    /// Inbound streams accepted (`sinit_max_instreams`). Default 16.
    pub max_inbound_streams: u16,
    /// Payload Protocol Identifier of every DATA chunk sent. Default [`DIAMETER_PPID`].
    pub payload_protocol_id: u32,
    /// `SO_SNDBUF` asked for. Linux refuses to send a message larger than the send buffer
    /// (`EMSGSIZE`: the sockets API lets the buffer bound one send), and its SCTP default
    /// is 16 KiB, so this is raised to 1 MiB, the default largest Diameter message. The
    /// kernel caps it at twice `net.core.wmem_max` (about 416 KiB by default): raise that
    /// sysctl for larger messages.
    pub send_buffer_size: usize,
}

impl Default for SctpOptions {
    fn default() -> Self {
        Self {
            outbound_streams: 16,
            max_inbound_streams: 16,
            payload_protocol_id: DIAMETER_PPID,
            send_buffer_size: 1024 * 1024,
        }
    }
}

/// Options set on every socket before it is bound, connected or used: send buffer, INIT
/// stream counts, no Nagle, no notifications, stream 0 and the PPID for plain writes.
fn configure(socket: &Socket, options: &SctpOptions) -> io::Result<()> {
    use self::opts::*;
    socket.set_send_buffer_size(options.send_buffer_size)?;
    sys::setsockopt(
        socket,
        SOL_SCTP,
        SCTP_INITMSG,
        &init_msg(options.outbound_streams, options.max_inbound_streams),
    )?;
    sys::setsockopt(socket, SOL_SCTP, SCTP_NODELAY, &int(1))?;
    sys::setsockopt(socket, SOL_SCTP, SCTP_EVENTS, &NO_EVENTS)?;
    sys::setsockopt(
        socket,
        SOL_SCTP,
        SCTP_DEFAULT_SEND_PARAM,
        &default_send(0, options.payload_protocol_id),
    )?;
    Ok(())
}

/// A new non-blocking, configured socket for an endpoint with these addresses.
fn endpoint_socket(addrs: &[SocketAddr], options: &SctpOptions) -> io::Result<Socket> {
    let (domain, only_v6) = addr::family_for(addrs)?;
    let socket = new_socket(domain)?;
    if let Some(only_v6) = only_v6 {
        socket.set_only_v6(only_v6)?;
    }
    socket.set_nonblocking(true)?;
    configure(&socket, options)?;
    Ok(socket)
}

/// The addresses `name` (`SCTP_GET_LOCAL_ADDRS` / `SCTP_GET_PEER_ADDRS`) reports.
fn get_addrs(socket: &Socket, name: libc::c_int) -> io::Result<Vec<SocketAddr>> {
    let mut buf = addr::getaddrs_request(MAX_ADDRS);
    let len = sys::getsockopt(socket, SOL_SCTP, name, &mut buf)?;
    addr::parse_getaddrs(&buf[..len])
}

/// Groups listen addresses into endpoints: the addresses that share a port form one
/// multi-homed endpoint (SCTP has one port per endpoint), in the order they first appear.
pub fn endpoints(addrs: &[SocketAddr]) -> Vec<Vec<SocketAddr>> {
    let mut out: Vec<Vec<SocketAddr>> = Vec::new();
    for a in addrs {
        match out.iter_mut().find(|e| e[0].port() == a.port()) {
            Some(e) => e.push(*a),
            None => out.push(vec![*a]),
        }
    }
    out
}

/// A listening SCTP endpoint, possibly multi-homed.
#[derive(Debug)]
pub struct SctpListener {
    fd: AsyncFd<Socket>,
    options: SctpOptions,
}

impl SctpListener {
    /// Listens on all of `addrs` as one endpoint, with default options.
    pub fn bind(addrs: &[SocketAddr]) -> io::Result<Self> {
        Self::bind_with(addrs, SctpOptions::default())
    }

    /// Listens on all of `addrs` as one endpoint: `bind` to the first, then
    /// `SCTP_SOCKOPT_BINDX_ADD` for the others. They must share one port; port 0 picks one
    /// for all of them. Needs a tokio runtime.
    pub fn bind_with(addrs: &[SocketAddr], options: SctpOptions) -> io::Result<Self> {
        let port = addr::common_port(addrs)?;
        let socket = endpoint_socket(addrs, &options)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addrs[0].into())?;
        if addrs.len() > 1 {
            let port = match port {
                0 => local_port(&socket)?,
                p => p,
            };
            let rest = addr::pack(&addr::with_port(&addrs[1..], port));
            sys::setsockopt(&socket, SOL_SCTP, opts::SCTP_SOCKOPT_BINDX_ADD, &rest)?;
        }
        socket.listen(BACKLOG)?;
        Self::listening(socket, options)
    }

    /// Takes over a bound, listening, non-blocking socket.
    fn listening(socket: Socket, options: SctpOptions) -> io::Result<Self> {
        Ok(Self {
            fd: sys::register(socket, Interest::READABLE)?,
            options,
        })
    }

    /// The next association, with the peer's primary address.
    pub async fn accept(&self) -> io::Result<(SctpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next association.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(SctpStream, SocketAddr)>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            match guard.try_io(|fd| fd.get_ref().accept()) {
                Ok(Ok((socket, peer))) => {
                    let peer = peer.as_socket().ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "peer address not IP")
                    });
                    // The options of `configure` need no second call: the association
                    // was made with the listener's, and the kernel copies the listener's
                    // SCTP options and buffer sizes to the accepted socket
                    // (`sctp_sock_migrate`).
                    return Poll::Ready(peer.and_then(|peer| {
                        socket.set_nonblocking(true)?;
                        Ok((SctpStream::new(socket, self.options)?, peer))
                    }));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// The address the socket was bound to first (with the port chosen for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        local_addr(self.fd.get_ref())
    }

    /// Every address of the endpoint (`SCTP_GET_LOCAL_ADDRS`): all those given to
    /// [`Self::bind`], or every address of the host for a wildcard.
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        get_addrs(self.fd.get_ref(), opts::SCTP_GET_LOCAL_ADDRS)
    }
}

fn local_addr(socket: &Socket) -> io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "local address not IP"))
}

fn local_port(socket: &Socket) -> io::Result<u16> {
    local_addr(socket).map(|a| a.port())
}

/// The stream counts and state of an association (`SCTP_STATUS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SctpStatus {
    /// Whether the association is ESTABLISHED (not yet, or shutting down, otherwise).
    pub established: bool,
    /// Inbound streams negotiated.
    pub inbound_streams: u16,
    /// Outbound streams negotiated: [`SctpStream::set_send_stream`] takes less than this.
    pub outbound_streams: u16,
}

/// One SCTP association (one-to-one socket), read and written as a byte stream of
/// Diameter messages; see the [module documentation](self).
#[derive(Debug)]
pub struct SctpStream {
    fd: AsyncFd<Socket>,
    options: SctpOptions,
}

impl SctpStream {
    fn new(socket: Socket, options: SctpOptions) -> io::Result<Self> {
        Ok(Self {
            fd: sys::register(socket, Interest::READABLE | Interest::WRITABLE)?,
            options,
        })
    }

    /// Connects to a peer with these addresses (one multi-homed peer, one port), with
    /// default options.
    pub async fn connect(addrs: &[SocketAddr]) -> io::Result<Self> {
        Self::connect_with(addrs, SctpOptions::default()).await
    }

    /// Connects to a peer with these addresses: one `SCTP_SOCKOPT_CONNECTX` with all of
    /// them, then waits for the association (INIT, INIT-ACK, COOKIE-ECHO, COOKIE-ACK).
    /// The kernel retries INIT for a long time; bound the wait with a timeout.
    pub async fn connect_with(addrs: &[SocketAddr], options: SctpOptions) -> io::Result<Self> {
        addr::common_port(addrs)?;
        let socket = endpoint_socket(addrs, &options)?;
        match sys::setsockopt(&socket, SOL_SCTP, SCTP_SOCKOPT_CONNECTX, &addr::pack(addrs)) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        Self::established(socket, options).await
    }

    /// Waits until the connection `socket` started is up (or has failed).
    async fn established(socket: Socket, options: SctpOptions) -> io::Result<Self> {
        let stream = Self::new(socket, options)?;
        loop {
            // A one-to-one socket polls as neither readable nor writable until the
            // association is up, then writable; a failed one reports an error.
            let mut guard = stream
                .fd
                .ready(Interest::WRITABLE | Interest::ERROR)
                .await?;
            if let Some(e) = stream.fd.get_ref().take_error()? {
                return Err(e);
            }
            match stream.fd.get_ref().peer_addr() {
                Ok(_) => return Ok(stream),
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => guard.clear_ready(),
                Err(e) => return Err(e),
            }
        }
    }

    /// The peer's primary address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd
            .get_ref()
            .peer_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "peer address not IP"))
    }

    /// One of our addresses of the association.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        local_addr(self.fd.get_ref())
    }

    /// Every address of the peer in the association (`SCTP_GET_PEER_ADDRS`).
    pub fn peer_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        get_addrs(self.fd.get_ref(), opts::SCTP_GET_PEER_ADDRS)
    }

    /// Every address of our endpoint (`SCTP_GET_LOCAL_ADDRS`).
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        get_addrs(self.fd.get_ref(), opts::SCTP_GET_LOCAL_ADDRS)
    }

    /// The association's state and negotiated stream counts (`SCTP_STATUS`).
    pub fn status(&self) -> io::Result<SctpStatus> {
        let mut buf = [0u8; opts::STATUS_LEN];
        let len = sys::getsockopt(self.fd.get_ref(), SOL_SCTP, opts::SCTP_STATUS, &mut buf)?;
        let s = opts::parse_status(&buf[..len])
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short sctp_status"))?;
        Ok(SctpStatus {
            established: s.state == opts::STATE_ESTABLISHED,
            inbound_streams: s.inbound,
            outbound_streams: s.outbound,
        })
    }

    /// Sends the following writes on `stream` (default 0), with the same PPID.
    ///
    /// SCTP orders messages only within a stream, so whatever was written before on
    /// another stream may be delivered after what follows: switch streams only between
    /// sessions (RFC 6733 §2.1.1 asks that one session's messages use one stream).
    /// Fails with `EINVAL` for a stream at or above the negotiated outbound count.
    pub fn set_send_stream(&self, stream: u16) -> io::Result<()> {
        if let Ok(status) = self.status() {
            if stream >= status.outbound_streams {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "stream {stream} not below the {} outbound streams of the association",
                        status.outbound_streams
                    ),
                ));
            }
        }
        sys::setsockopt(
            self.fd.get_ref(),
            SOL_SCTP,
            opts::SCTP_DEFAULT_SEND_PARAM,
            &opts::default_send(stream, self.options.payload_protocol_id),
        )
        .map(drop)
    }

    /// Writes the first Diameter message of `buf` (or all of `buf` if it does not start
    /// with a whole message) now, as one SCTP message, or fails with `WouldBlock`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let len = first_message_len(buf);
        self.fd.try_io(Interest::WRITABLE, |s| send(s, &buf[..len]))
    }

    /// Starts the graceful SHUTDOWN of the association (`shutdown(SHUT_WR)`). Unlike TCP
    /// there is no half-close: the peer can send no more either.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.fd.get_ref().shutdown(std::net::Shutdown::Write)
    }
}

/// `send` without SIGPIPE on a closed association.
fn send(socket: &Socket, buf: &[u8]) -> io::Result<usize> {
    socket.send_with_flags(buf, libc::MSG_NOSIGNAL)
}

/// How much of `buf` one write sends: the first Diameter message when `buf` starts with a
/// whole one (version 1, Message Length from 20 up to `buf.len()`), else all of `buf`.
fn first_message_len(buf: &[u8]) -> usize {
    match buf {
        [1, a, b, c, ..] => {
            let len = u32::from_be_bytes([0, *a, *b, *c]) as usize;
            if (20..=buf.len()).contains(&len) {
                len
            } else {
                buf.len()
            }
        }
        _ => buf.len(),
    }
}

impl AsyncRead for SctpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            match guard.try_io(|fd| sys::recv_into(fd.get_ref(), buf)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for SctpStream {
    /// Sends the first Diameter message of `buf` as one SCTP message (see the module
    /// documentation); a short count means "call again with the rest".
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let len = first_message_len(buf);
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| send(fd.get_ref(), &buf[..len])) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is buffered here: with SCTP_NODELAY the kernel sends at once.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

impl AsFd for SctpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

impl AsRawFd for SctpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for SctpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A Diameter header of `len` bytes, padded with zeros.
    fn message(len: usize) -> Vec<u8> {
        let mut m = vec![0; len];
        m[0] = 1;
        m[1..4].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
        m
    }

    #[test]
    fn one_write_carries_one_diameter_message() {
        let mut two = message(20);
        two.extend(message(32));
        assert_eq!(first_message_len(&two), 20);
        assert_eq!(first_message_len(&two[20..]), 32);
        // Not a whole message at the front: everything (the caller's framing is not ours
        // to fix, and a partial write would cut it anyway).
        assert_eq!(first_message_len(&message(40)[..30]), 30);
        assert_eq!(first_message_len(b"hello world, not diameter"), 25);
        assert_eq!(first_message_len(&[1, 0, 0]), 3);
        let mut short = message(20);
        short[3] = 8; // Message Length 8 < 20: not a header we trust
        assert_eq!(first_message_len(&short), 20);
        assert_eq!(first_message_len(&[]), 0);
    }

    #[test]
    fn kernel_without_sctp_is_a_typed_unsupported_error() {
        for errno in [libc::EPROTONOSUPPORT, libc::ESOCKTNOSUPPORT] {
            let e = map_socket_error(io::Error::from_raw_os_error(errno));
            assert_eq!(e.kind(), io::ErrorKind::Unsupported);
            assert!(is_unsupported(&e));
            assert!(e.to_string().contains("modprobe sctp"), "{e}");
            let inner = e.get_ref().unwrap().source().unwrap().to_string();
            assert_eq!(inner, io::Error::from_raw_os_error(errno).to_string());
        }
        // Running out of descriptors is not "no SCTP".
        let e = map_socket_error(io::Error::from_raw_os_error(libc::EMFILE));
        assert_eq!(e.raw_os_error(), Some(libc::EMFILE));
        assert!(!is_unsupported(&e));
        assert!(!is_unsupported(&io::Error::other("x")));
    }

    #[test]
    fn listen_addresses_sharing_a_port_form_one_endpoint() {
        let addrs = [
            a("127.0.0.1:3868"),
            a("[::1]:3869"),
            a("127.0.0.2:3868"),
            a("10.0.0.1:0"),
            a("10.0.0.2:0"),
        ];
        assert_eq!(
            endpoints(&addrs),
            [
                vec![a("127.0.0.1:3868"), a("127.0.0.2:3868")],
                vec![a("[::1]:3869")],
                vec![a("10.0.0.1:0"), a("10.0.0.2:0")],
            ]
        );
        assert!(endpoints(&[]).is_empty());
    }

    #[test]
    fn default_options_ask_for_streams_and_the_diameter_ppid() {
        let o = SctpOptions::default();
        assert_eq!(o.payload_protocol_id, 46);
        assert!(o.outbound_streams > 1 && o.max_inbound_streams > 1);
    }

    /// The half of the module that does not depend on the protocol (registration, `recv`
    /// into the uninitialised buffer, one message per write, `accept`, the wait for the
    /// connection, shutdown) runs here over TCP, which every kernel has; the SCTP options
    /// are left to `tests/sctp.rs` on kernels with SCTP.
    mod over_tcp {
        use super::*;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        fn tcp(domain: Domain) -> Socket {
            let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        }

        fn listener() -> SctpListener {
            let s = tcp(Domain::IPV4);
            s.bind(&a("127.0.0.1:0").into()).unwrap();
            s.listen(8).unwrap();
            SctpListener::listening(s, SctpOptions::default()).unwrap()
        }

        async fn connect(to: SocketAddr) -> io::Result<SctpStream> {
            let s = tcp(Domain::IPV4);
            match s.connect(&to.into()) {
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                other => other?,
            }
            SctpStream::established(s, SctpOptions::default()).await
        }

        async fn pair() -> (SctpStream, SctpStream) {
            let l = listener();
            let at = l.local_addr().unwrap();
            let (c, accepted) = tokio::join!(connect(at), l.accept());
            let (s, from) = accepted.unwrap();
            let c = c.unwrap();
            assert_eq!(from, c.local_addr().unwrap());
            assert_eq!(c.peer_addr().unwrap(), at);
            (c, s)
        }

        #[tokio::test]
        async fn messages_go_through_and_end_of_stream_is_seen() {
            let (mut c, mut s) = pair().await;
            let mut burst = message(20);
            burst.extend(message(64));
            burst.extend(message(100_000));
            // `try_write` sends the first message only.
            assert_eq!(c.try_write(&burst).unwrap(), 20);
            c.write_all(&burst[20..]).await.unwrap();
            c.shutdown().await.unwrap();
            // Read into a buffer with spare, uninitialised capacity: `recv_into`.
            let mut got = Vec::with_capacity(1024);
            s.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, burst);
            // And back, through `poll_read` of the other side.
            s.write_all(&message(24)).await.unwrap();
            let mut back = [0u8; 24];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back.to_vec(), message(24));
        }

        #[tokio::test]
        async fn a_refused_connection_fails_at_once() {
            let at = listener().local_addr().unwrap(); // closed when dropped here
            let e = tokio::time::timeout(std::time::Duration::from_secs(5), connect(at))
                .await
                .expect("the failure is reported, not waited for forever")
                .unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        }
    }

    #[tokio::test]
    async fn bad_addresses_fail_before_any_socket() {
        let e = SctpListener::bind(&[]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = SctpListener::bind(&[a("127.0.0.1:1"), a("127.0.0.2:2")]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = SctpStream::connect(&[a("127.0.0.1:1"), a("127.0.0.1:2")])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
