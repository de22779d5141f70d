//! The tokio driver of one peer (quinn's `ConnectionDriver`, minus the runtime traits):
//! one task per peer that `select!`s over its connections' reads, its command channel, a
//! connection attempt and one timer, feeds the sans-IO [`Peer`] and carries out what it
//! asks for.
//!
//! After every input the task drains the peer's transmits (to the connection writers),
//! actions (connect, close) and events (open, availability, messages, closed), then sleeps
//! until the earliest of: the peer's next timeout, the next request deadline, the
//! slow-sender deadline of a half-received message.
//!
//! Requests are stamped with a Hop-by-Hop Identifier of the connection and kept in the
//! [`PendingTable`] until their answer, their deadline or the connection's end, so every
//! request gets exactly one outcome.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use diameter_core::generated::base::DisconnectCause;
use diameter_core::{Limits, Message};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::{Instrument, debug, info, warn};

use crate::answer::raw_error_answer;
use crate::app::BoxFuture;
use crate::connection::{self, Writer, WriterGuard, WriterMsg};
use crate::error::RequestError;
use crate::framing::next_frame;
use crate::node::{NodeShared, PeerSlot, stamp_ids};
use crate::peer::{Action, ConnId, Event, Peer, PeerConfig, PeerState, WatchdogState};
use crate::pending::PendingTable;
use crate::stats::Counters;

/// What the rest of the node asks a peer task to do.
#[derive(Debug)]
pub(crate) enum PeerCommand {
    /// Send a request; the outcome goes to `reply`.
    Request {
        bytes: Bytes,
        deadline: Instant,
        reply: oneshot::Sender<Result<Message, RequestError>>,
    },
    /// A new incoming connection whose CER names this peer (R-Conn-CER).
    Incoming {
        stream: TcpStream,
        buf: BytesMut,
        cer: Message,
    },
    /// Graceful stop: drain, DPR, DPA, then end the task.
    Stop {
        cause: DisconnectCause,
        done: oneshot::Sender<()>,
    },
}

/// Where to connect.
#[derive(Clone, Debug)]
pub(crate) enum PeerTarget {
    /// Fixed addresses.
    Addresses(Vec<SocketAddr>),
    /// Resolve host and port at each attempt.
    Resolve(String, u16),
    /// Never connect (peers that only connect to us).
    None,
}

type Waiter = oneshot::Sender<Result<Message, RequestError>>;

/// One live transport connection.
struct Conn {
    id: ConnId,
    reader: OwnedReadHalf,
    buf: BytesMut,
    writer: Writer,
    guard: WriterGuard,
    /// When the first byte of a not yet complete message arrived.
    partial_since: Option<Instant>,
    /// Handler concurrency bound of this connection (3004 beyond).
    permits: Arc<Semaphore>,
}

impl Conn {
    fn new(id: ConnId, stream: TcpStream, buf: BytesMut, max_handlers: usize) -> Self {
        let (reader, writer, guard) = connection::split(stream);
        Self {
            id,
            reader,
            buf,
            writer,
            guard,
            partial_since: None,
            permits: Arc::new(Semaphore::new(max_handlers)),
        }
    }

    /// Closes after writing what is queued.
    fn close(mut self) {
        let _ = self.writer.send(WriterMsg::Close);
        self.guard.detach();
    }
}

enum Input {
    Command(Option<PeerCommand>),
    Read(usize, std::io::Result<usize>),
    Connected(std::io::Result<TcpStream>),
    Timer,
}

/// The task of one peer.
pub(crate) struct PeerDriver {
    peer: Peer,
    slot: Arc<PeerSlot>,
    node: Arc<NodeShared>,
    rx: mpsc::UnboundedReceiver<PeerCommand>,
    target: PeerTarget,
    conns: [Option<Conn>; 2],
    connecting: Option<BoxFuture<std::io::Result<TcpStream>>>,
    pending: PendingTable<Waiter>,
    limits: Limits,
    /// Graceful stop in progress: (cause, drain deadline, DPR sent).
    stopping: Option<(DisconnectCause, Instant, bool)>,
    stop_waiters: Vec<oneshot::Sender<()>>,
    /// A peer admitted by realm pattern: the task ends with its connection.
    dynamic: bool,
    had_connection: bool,
    /// State and watchdog state last written to the slot's status.
    reported: (PeerState, WatchdogState),
}

impl PeerDriver {
    pub(crate) fn new(
        node: Arc<NodeShared>,
        slot: Arc<PeerSlot>,
        rx: mpsc::UnboundedReceiver<PeerCommand>,
        config: PeerConfig,
        target: PeerTarget,
        dynamic: bool,
    ) -> Self {
        let limits = Limits {
            max_message_size: node.config.limits.max_message_size,
            ..Limits::default()
        };
        Self {
            peer: Peer::new(config),
            slot,
            pending: PendingTable::new(node.config.limits.max_pending_requests),
            node,
            rx,
            target,
            conns: [None, None],
            connecting: None,
            limits,
            stopping: None,
            stop_waiters: Vec::new(),
            dynamic,
            had_connection: false,
            reported: (PeerState::Closed, WatchdogState::Initial),
        }
    }

    /// Runs until stopped (or, for a dynamic peer, until its connection ends).
    pub(crate) async fn run(self) {
        let span = tracing::info_span!("peer", name = %self.slot.name);
        self.run_inner().instrument(span).await
    }

    async fn run_inner(mut self) {
        if self.peer.config().persistent && !matches!(self.target, PeerTarget::None) {
            self.peer.start(Instant::now());
        }
        loop {
            self.flush();
            if self.finished() {
                break;
            }
            let deadline = self.next_deadline();
            let input = {
                let Self {
                    rx,
                    conns,
                    connecting,
                    ..
                } = &mut self;
                let [c0, c1] = conns;
                tokio::select! {
                    cmd = rx.recv() => Input::Command(cmd),
                    r = read(c0) => Input::Read(0, r),
                    r = read(c1) => Input::Read(1, r),
                    r = wait_connect(connecting) => Input::Connected(r),
                    _ = sleep_until(deadline) => Input::Timer,
                }
            };
            let now = Instant::now();
            match input {
                Input::Command(Some(cmd)) => self.command(now, cmd),
                Input::Command(None) => break,
                Input::Read(i, r) => self.on_read(now, i, r),
                Input::Connected(r) => self.on_connected(now, r),
                Input::Timer => self.on_timer(now),
            }
        }
        self.finish();
    }

    fn finished(&self) -> bool {
        let closed = self.peer.state() == PeerState::Closed;
        (closed && self.stopping.is_some())
            || (closed
                && self.dynamic
                && self.had_connection
                && self.conns.iter().all(Option::is_none))
    }

    fn finish(&mut self) {
        self.fail_pending();
        self.set_ready(false);
        for c in self.conns.iter_mut().filter_map(Option::take) {
            c.close();
        }
        for w in self.stop_waiters.drain(..) {
            let _ = w.send(());
        }
        if self.dynamic {
            // Unlist the peer first, so that a new connection from the same host gets a
            // new task; then hand on what raced with the end of this one.
            self.node.remove_dynamic(&self.slot);
            self.rx.close();
            while let Ok(cmd) = self.rx.try_recv() {
                match cmd {
                    PeerCommand::Incoming { .. } => {
                        let next = self.node.spawn_dynamic_peer(&self.slot.name);
                        let _ = next.tx.send(cmd);
                    }
                    PeerCommand::Request { reply, .. } => {
                        Counters::bump(&self.slot.counters.peer_gone);
                        let _ = reply.send(Err(RequestError::PeerGone));
                    }
                    PeerCommand::Stop { done, .. } => {
                        let _ = done.send(());
                    }
                }
            }
        }
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        let frame_timeout = self.node.config.timers.frame_timeout;
        let partial = self
            .conns
            .iter()
            .flatten()
            .filter_map(|c| c.partial_since.map(|t| t + frame_timeout))
            .min();
        let drain = match self.stopping {
            Some((_, d, false)) => Some(d),
            _ => None,
        };
        [
            self.peer.poll_timeout(),
            self.pending.next_deadline(),
            partial,
            drain,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- inputs -----

    fn command(&mut self, now: Instant, cmd: PeerCommand) {
        match cmd {
            PeerCommand::Request {
                bytes,
                deadline,
                reply,
            } => self.send_request(now, bytes, deadline, reply),
            PeerCommand::Incoming { stream, buf, cer } => {
                let Some(i) = self.free_slot() else {
                    // Two connections already (mid-election): refuse a third.
                    drop(stream);
                    return;
                };
                let id = self.node.next_conn_id();
                self.conns[i] = Some(Conn::new(
                    id,
                    stream,
                    buf,
                    self.node.config.limits.max_concurrent_handlers,
                ));
                self.had_connection = true;
                if let Err(e) = self.peer.handle_incoming_cer(now, id, &cer) {
                    debug!(error = %e, "incoming CER");
                }
                // Messages that came in the same read as the CER.
                self.process_buffer(now, i);
            }
            PeerCommand::Stop { cause, done } => {
                self.stop_waiters.push(done);
                if self.stopping.is_none() {
                    let drain = now + self.node.config.timers.drain_timeout;
                    self.stopping = Some((cause, drain, false));
                    self.connecting = None;
                    self.maybe_send_dpr(now);
                }
            }
        }
    }

    fn send_request(&mut self, now: Instant, bytes: Bytes, deadline: Instant, reply: Waiter) {
        if !self.peer.is_available() || self.stopping.is_some() {
            let _ = reply.send(Err(RequestError::PeerGone));
            return;
        }
        let _ = now;
        let hbh = self.peer.next_hop_by_hop();
        let bytes = stamp_ids(&bytes, hbh, &self.node.end_to_end);
        if let Err((_, reply)) = self.pending.insert(hbh, deadline, reply) {
            let _ = reply.send(Err(RequestError::TooManyPending));
            return;
        }
        match self.peer.send_request(bytes) {
            Ok(_) => Counters::bump(&self.slot.counters.requests_sent),
            Err(_) => {
                if let Some(reply) = self.pending.answer(hbh) {
                    let _ = reply.send(Err(RequestError::PeerGone));
                }
            }
        }
    }

    fn on_read(&mut self, now: Instant, i: usize, r: std::io::Result<usize>) {
        match r {
            Ok(0) | Err(_) => self.lost(now, i),
            Ok(_) => self.process_buffer(now, i),
        }
    }

    /// The transport of connection `i` went away: Peer-Disc.
    fn lost(&mut self, now: Instant, i: usize) {
        if let Some(c) = self.conns[i].take() {
            let id = c.id;
            c.close();
            if let Err(e) = self.peer.handle_disconnected(now, id) {
                debug!(error = %e, "disconnect");
            }
        }
    }

    /// Cuts complete messages out of connection `i`'s buffer and handles them.
    fn process_buffer(&mut self, now: Instant, i: usize) {
        let max = self.limits.max_message_size;
        loop {
            let Some(conn) = self.conns[i].as_mut() else {
                return;
            };
            match next_frame(&mut conn.buf, max) {
                Ok(Some(frame)) => {
                    let id = conn.id;
                    self.on_frame(now, i, id, frame);
                }
                Ok(None) => {
                    if conn.buf.is_empty() {
                        conn.partial_since = None;
                    } else if conn.partial_since.is_none() {
                        conn.partial_since = Some(now);
                    }
                    return;
                }
                Err(e) => {
                    // The stream cannot be framed any more (§2.1): answer the header if
                    // it is a request, then close.
                    warn!(error = %e, "unframeable input, closing the connection");
                    let raw = conn.buf.split().freeze();
                    if let Some(a) = raw_error_answer(&raw, &self.node.local, e.result_code(), None)
                    {
                        let _ = conn.writer.send(WriterMsg::Frame(a.into_bytes()));
                        Counters::bump(&self.slot.counters.answers_sent);
                    }
                    Counters::bump(&self.slot.counters.bad_connections);
                    Counters::bump(&self.slot.counters.protocol_errors);
                    self.lost(now, i);
                    return;
                }
            }
        }
    }

    fn on_frame(&mut self, now: Instant, i: usize, id: ConnId, frame: Bytes) {
        match Message::decode_with(frame.clone(), &self.limits) {
            Ok(msg) => {
                if let Err(e) = self.peer.handle_message(now, id, msg) {
                    debug!(error = %e, "message refused by the state machine");
                }
            }
            Err(e) => {
                // Framing holds, the content does not: answer with the error (3008 for
                // header bits, 5014 for AVP lengths, ...) and keep the connection.
                Counters::bump(&self.slot.counters.protocol_errors);
                if self.peer.open_connection() != Some(id) {
                    // Before R-Open/I-Open only capabilities messages are welcome.
                    self.lost(now, i);
                    return;
                }
                if let Some(a) =
                    raw_error_answer(&frame, &self.node.local, e.result_code(), e.failed_avp())
                {
                    if let Some(c) = self.conns[i].as_ref() {
                        let _ = c.writer.send(WriterMsg::Frame(a.into_bytes()));
                        Counters::bump(&self.slot.counters.answers_sent);
                    }
                }
            }
        }
    }

    fn on_connected(&mut self, now: Instant, r: std::io::Result<TcpStream>) {
        self.connecting = None;
        match r {
            Ok(stream) => {
                let Some(i) = self.free_slot() else {
                    return;
                };
                let id = self.node.next_conn_id();
                self.conns[i] = Some(Conn::new(
                    id,
                    stream,
                    BytesMut::new(),
                    self.node.config.limits.max_concurrent_handlers,
                ));
                self.had_connection = true;
                if let Err(e) = self.peer.handle_connected(now, id) {
                    debug!(error = %e, "connected");
                }
            }
            Err(e) => {
                debug!(error = %e, "connection attempt failed");
                if let Err(e) = self.peer.handle_connect_failed(now) {
                    debug!(error = %e, "connect failed");
                }
            }
        }
    }

    fn on_timer(&mut self, now: Instant) {
        if self.peer.poll_timeout().is_some_and(|t| t <= now) {
            self.peer.handle_timeout(now);
        }
        while let Some((_, reply)) = self.pending.expire(now) {
            Counters::bump(&self.slot.counters.timeouts);
            let _ = reply.send(Err(RequestError::Timeout));
        }
        let frame_timeout = self.node.config.timers.frame_timeout;
        for i in 0..2 {
            let slow = self.conns[i]
                .as_ref()
                .and_then(|c| c.partial_since)
                .is_some_and(|t| t + frame_timeout <= now);
            if slow {
                warn!("message not completed within the frame timeout, closing");
                Counters::bump(&self.slot.counters.bad_connections);
                self.lost(now, i);
            }
        }
        self.maybe_send_dpr(now);
    }

    /// Graceful stop: once pending requests are answered (or the drain time is up), Stop.
    fn maybe_send_dpr(&mut self, now: Instant) {
        if let Some((cause, drain, sent)) = self.stopping {
            if !sent && (self.pending.is_empty() || now >= drain) {
                self.stopping = Some((cause, drain, true));
                self.peer.stop(now, cause);
            }
        }
    }

    // ----- outputs -----

    fn flush(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.peer.poll_transmit() {
                progress = true;
                if let Some(c) = self.conn_mut(t.conn) {
                    let _ = c.writer.send(WriterMsg::Frame(t.bytes));
                }
            }
            while let Some(a) = self.peer.poll_action() {
                progress = true;
                match a {
                    Action::Connect => self.start_connect(),
                    Action::Close { conn, reason } => {
                        debug!(?conn, ?reason, "closing connection");
                        for slot in &mut self.conns {
                            if slot.as_ref().is_some_and(|c| c.id == conn) {
                                if let Some(c) = slot.take() {
                                    c.close();
                                }
                            }
                        }
                    }
                }
            }
            while let Some(e) = self.peer.poll_event() {
                progress = true;
                self.event(e);
            }
            if !progress {
                break;
            }
        }
        if !matches!(
            self.peer.state(),
            PeerState::WaitConnAck | PeerState::WaitConnAckElect
        ) {
            self.connecting = None;
        }
        let now = (self.peer.state(), self.peer.watchdog_state());
        if now != self.reported {
            self.reported = now;
            let mut st = self.slot.status();
            st.state = now.0;
            st.watchdog = now.1;
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Message { conn, msg } => {
                if msg.is_request() {
                    let i = self
                        .conns
                        .iter()
                        .position(|c| c.as_ref().is_some_and(|c| c.id == conn));
                    if let Some(c) = i.and_then(|i| self.conns[i].as_ref()) {
                        crate::dispatch::handle_request(
                            &self.node, &self.slot, &c.writer, &c.permits, msg,
                        );
                    }
                } else if let Some(reply) = self.pending.answer(msg.header().hop_by_hop) {
                    Counters::bump(&self.slot.counters.answers_received);
                    let _ = reply.send(Ok(msg));
                    if self.stopping.is_some() {
                        self.maybe_send_dpr(Instant::now());
                    }
                } else {
                    Counters::bump(&self.slot.counters.unknown_answers);
                    debug!(
                        hop_by_hop = msg.header().hop_by_hop,
                        "answer matches no request, dropped"
                    );
                }
            }
            Event::Opened { conn, capabilities } => {
                info!(?conn, peer = %capabilities.origin_host, state = %self.peer.state(), "peer open");
                self.slot.set_capabilities(&capabilities);
            }
            Event::Available(up) => {
                debug!(up, "availability");
                self.set_ready(up);
            }
            Event::Watchdog(w) => debug!(?w, "watchdog"),
            Event::DisconnectRequested(cause) => info!(?cause, "peer sent DPR"),
            Event::Closed { reason } => {
                info!(?reason, "peer closed");
                self.set_ready(false);
                self.fail_pending();
            }
        }
    }

    fn set_ready(&self, up: bool) {
        if self.slot.ready.swap(up, Ordering::AcqRel) != up {
            self.node.ready.notify_waiters();
        }
    }

    fn fail_pending(&mut self) {
        for (_, reply) in self.pending.drain() {
            Counters::bump(&self.slot.counters.peer_gone);
            let _ = reply.send(Err(RequestError::PeerGone));
        }
    }

    fn start_connect(&mut self) {
        let timeout = self.node.config.timers.connect_timeout;
        self.connecting = match self.target.clone() {
            PeerTarget::Addresses(a) => Some(Box::pin(connection::connect(a, timeout))),
            PeerTarget::Resolve(host, port) => Some(Box::pin(async move {
                let addrs = tokio::net::lookup_host((host.as_str(), port))
                    .await?
                    .collect();
                connection::connect(addrs, timeout).await
            })),
            PeerTarget::None => Some(Box::pin(async {
                Err(std::io::Error::new(
                    std::io::ErrorKind::AddrNotAvailable,
                    "peer has no address",
                ))
            })),
        };
    }

    fn free_slot(&self) -> Option<usize> {
        self.conns.iter().position(Option::is_none)
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns.iter_mut().flatten().find(|c| c.id == id)
    }
}

async fn read(conn: &mut Option<Conn>) -> std::io::Result<usize> {
    match conn {
        Some(c) => connection::read_more(&mut c.reader, &mut c.buf).await,
        None => std::future::pending().await,
    }
}

async fn wait_connect(
    connecting: &mut Option<BoxFuture<std::io::Result<TcpStream>>>,
) -> std::io::Result<TcpStream> {
    match connecting {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
