//! The tokio driver of one peer (quinn's `ConnectionDriver`, minus the runtime traits):
//! one task per peer that `select!`s over its connections' reads, its command channel, a
//! connection attempt and one timer, feeds the sans-IO [`Peer`] and carries out what it
//! asks for.
//!
//! After every input the task drains the peer's transmits (into the connections' output
//! buffers), actions (connect, close) and events (open, availability, messages, closed),
//! writes each connection's output with one syscall, then sleeps until the next input or
//! the earliest of: the peer's next timeout, the next request deadline, the slow-sender
//! deadline of a half-received message.
//!
//! The hot path is batched end to end: one wake-up of a connection reads until the socket
//! is drained and handles every message in it; a burst of [`PeerCommand`]s is taken from
//! the channel at once; received requests whose handler completes on its first poll (the
//! common case) are answered inline, without a task or a channel; the answers and
//! requests produced by one batch go out in one `write`. The task owns its sockets, so
//! nothing is shared between requests but the node's atomics.
//!
//! Requests are stamped with a Hop-by-Hop Identifier of the connection and kept in the
//! [`PendingTable`] until their answer, their deadline or the connection's end, so every
//! request gets exactly one outcome.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use diameter_core::generated::base::DisconnectCause;
use diameter_core::{Limits, Message};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, info, warn};

use crate::answer::raw_error_answer;
use crate::app::BoxFuture;
use crate::connection::{self, IoEvent, Stream, Transport};
use crate::dispatch::{Answers, ConnReplies};
use crate::error::RequestError;
use crate::forward::{Decision, MAX_HOPS, Outstanding, Reply, with_t_flag};
use crate::framing::next_frame;
use crate::node::{NodeShared, PeerSlot, stamp_ids};
use crate::observe::Direction;
use crate::peer::{Action, CloseReason, ConnId, Event, Peer, PeerConfig, PeerState, WatchdogState};
use crate::pending::PendingTable;
use crate::redirect::RedirectIndication;
use crate::stats::Counters;
use crate::tls::{Tls, certificate_names, is_handshake_error};

/// What the rest of the node asks a peer task to do.
#[derive(Debug)]
pub(crate) enum PeerCommand {
    /// Send a request (originated here or forwarded); its outcome goes to its `reply`.
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

/// Commands taken from the channel in one go before their output is written.
const COMMAND_BATCH: usize = 256;
/// Received messages handled in one go before their output is written and the task lets
/// the others run (those waiting for the answers just delivered, which then send their
/// next requests): the peer gets the first answers while the rest are being handled,
/// so both ends work at the same time instead of taking turns on whole batches.
const FRAME_BATCH: usize = 32;

/// One live transport connection.
struct Conn {
    id: ConnId,
    io: Transport,
    /// When the first byte of a not yet complete message arrived.
    partial_since: Option<Instant>,
    /// Handlers of this connection's requests running in their own tasks (3004 beyond the
    /// configured bound).
    handlers: usize,
    /// Complete messages are still in the read buffer ([`FRAME_BATCH`]).
    backlog: bool,
}

impl Conn {
    fn new(id: ConnId, stream: Stream, buf: BytesMut) -> Self {
        Self {
            id,
            io: Transport::new(stream, buf),
            partial_since: None,
            handlers: 0,
            backlog: false,
        }
    }

    /// Closes after writing what is queued.
    fn close(self) {
        self.io.close();
    }
}

enum Input {
    Command(Option<PeerCommand>),
    Io(usize, IoEvent),
    Answer(Option<(ConnId, Bytes)>),
    Connected(std::io::Result<Stream>),
    Timer,
    /// The task let the others run; handle more of the messages already read.
    Backlog,
}

/// The task of one peer.
pub(crate) struct PeerDriver {
    peer: Peer,
    slot: Arc<PeerSlot>,
    node: Arc<NodeShared>,
    rx: mpsc::UnboundedReceiver<PeerCommand>,
    target: PeerTarget,
    /// The node's TLS, for a peer whose URI is `aaas://`.
    tls: Option<Tls>,
    /// Connect over SCTP (a peer whose URI says `;transport=sctp`).
    #[cfg(all(feature = "sctp", target_os = "linux"))]
    sctp: bool,
    conns: [Option<Conn>; 2],
    connecting: Option<BoxFuture<std::io::Result<Stream>>>,
    pending: PendingTable<Outstanding>,
    /// Round-robin position for requests this task moves to other peers.
    rr: AtomicUsize,
    /// Answers of handlers that ran in their own task, back to be written.
    answers: Answers,
    answers_rx: mpsc::UnboundedReceiver<(ConnId, Bytes)>,
    /// The one timer of the task and the deadline it is set to (`None`: disarmed).
    /// It is moved only to an earlier deadline; firing early costs one loop.
    timer: Pin<Box<tokio::time::Sleep>>,
    timer_at: Option<Instant>,
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
        let (answers, answers_rx) = mpsc::unbounded_channel();
        Self {
            peer: Peer::new(config),
            slot,
            pending: PendingTable::new(node.config.limits.max_pending_requests),
            rr: AtomicUsize::new(0),
            answers,
            answers_rx,
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            timer_at: None,
            node,
            rx,
            target,
            tls: None,
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            sctp: false,
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

    /// Connects with TLS (`aaas://` peers).
    pub(crate) fn with_tls(mut self, tls: Option<Tls>) -> Self {
        self.tls = tls;
        self
    }

    /// Connects over SCTP (`;transport=sctp` peers).
    #[cfg(all(feature = "sctp", target_os = "linux"))]
    pub(crate) fn with_sctp(mut self, sctp: bool) -> Self {
        self.sctp = sctp;
        self
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
            self.write_out();
            self.slot
                .pending
                .store(self.pending.len(), Ordering::Relaxed);
            if self.finished() {
                break;
            }
            self.arm_timer();
            let backlog = self.conns.iter().flatten().any(|c| c.backlog);
            let input = {
                let Self {
                    rx,
                    conns,
                    connecting,
                    answers_rx,
                    timer,
                    timer_at,
                    ..
                } = &mut self;
                let [c0, c1] = conns;
                tokio::select! {
                    cmd = rx.recv() => Input::Command(cmd),
                    e = io(c0) => Input::Io(0, e),
                    e = io(c1) => Input::Io(1, e),
                    a = answers_rx.recv() => Input::Answer(a),
                    r = wait_connect(connecting) => Input::Connected(r),
                    _ = timer.as_mut(), if timer_at.is_some() => Input::Timer,
                    _ = tokio::task::yield_now(), if backlog => Input::Backlog,
                }
            };
            let now = Instant::now();
            match input {
                Input::Command(Some(cmd)) => {
                    self.command(now, cmd);
                    // Take the rest of a burst now: its requests go out in one write.
                    for _ in 1..COMMAND_BATCH {
                        match self.rx.try_recv() {
                            Ok(cmd) => self.command(now, cmd),
                            Err(_) => break,
                        }
                    }
                }
                Input::Command(None) => break,
                Input::Io(i, e) => self.on_io(now, i, e),
                Input::Answer(a) => {
                    let mut next = a;
                    while let Some((conn, bytes)) = next {
                        self.on_handler_answer(conn, &bytes);
                        next = self.answers_rx.try_recv().ok();
                    }
                }
                Input::Connected(r) => self.on_connected(now, r),
                Input::Timer => {
                    self.timer_at = None;
                    self.on_timer(now);
                }
                Input::Backlog => {
                    for i in 0..self.conns.len() {
                        if self.conns[i].as_ref().is_some_and(|c| c.backlog) {
                            self.process_buffer(now, i);
                        }
                    }
                }
            }
        }
        self.finish();
    }

    /// Sets the timer to the next deadline if that is earlier than what it is set to. A
    /// later deadline leaves it alone: it fires early once and is set again then.
    fn arm_timer(&mut self) {
        let Some(deadline) = self.next_deadline() else {
            return;
        };
        if self.timer_at.is_none_or(|at| deadline < at) {
            self.timer.as_mut().reset(deadline.into());
            self.timer_at = Some(deadline);
        }
    }

    /// Writes each connection's queued output (one syscall each).
    fn write_out(&mut self) {
        let mut lost = false;
        for i in 0..self.conns.len() {
            let failed = match self.conns[i].as_mut() {
                Some(c) if c.io.has_output() => c.io.flush().is_err(),
                _ => false,
            };
            if failed {
                self.lost(Instant::now(), i);
                lost = true;
            }
        }
        if lost {
            self.flush();
        }
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
                    PeerCommand::Request(o) => self.reroute(o, false),
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
            PeerCommand::Request(o) => self.send_request(o),
            PeerCommand::Incoming { stream, buf, cer } => {
                let Some(i) = self.free_slot() else {
                    // Two connections already (mid-election): refuse a third.
                    drop(stream);
                    return;
                };
                let id = self.node.next_conn_id();
                self.conns[i] = Some(Conn::new(id, stream, buf));
                self.had_connection = true;
                self.node
                    .observer
                    .message(&self.slot.name, Direction::Received, &cer);
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

    fn send_request(&mut self, o: Outstanding) {
        if !self.peer.is_available() || self.stopping.is_some() {
            // Not sent: another peer may take it, without the T flag.
            self.reroute(o, false);
            return;
        }
        let hbh = self.peer.next_hop_by_hop();
        let bytes = stamp_ids(o.request, hbh, &self.node.end_to_end);
        let o = Outstanding {
            request: bytes.clone(),
            ..o
        };
        if let Err((_, o)) = self.pending.insert(hbh, o.deadline, o) {
            o.fail(&self.node, RequestError::TooManyPending);
            return;
        }
        match self.peer.send_request(bytes) {
            Ok(_) => Counters::bump(&self.slot.counters.requests_sent),
            Err(_) => {
                if let Some(o) = self.pending.answer(hbh) {
                    self.reroute(o, false);
                }
            }
        }
    }

    /// Moves a request of this peer to another one (§5.5.4): the same End-to-End
    /// Identifier, the T flag if it was sent here (`retransmit`). Without another peer, or
    /// after [`MAX_HOPS`], or while the node stops, it fails: the caller gets
    /// [`RequestError::PeerGone`], a forwarded request's peer a 3002 answer.
    fn reroute(&mut self, o: Outstanding, retransmit: bool) {
        let counters = &self.slot.counters;
        let target = if o.hops < MAX_HOPS && self.stopping.is_none() {
            Message::decode(o.request.clone())
                .ok()
                .and_then(|msg| match &o.reply {
                    Reply::Caller(_) => self.node.select_for_send(
                        &msg,
                        msg.application_id(),
                        Some(&self.slot),
                        &self.rr,
                    ),
                    Reply::Forward(ingress) => {
                        match self.node.decide(&msg, &ingress.slot, &[&self.slot]) {
                            Decision::Forward(slot, _) => Some(slot),
                            _ => None,
                        }
                    }
                })
        } else {
            None
        };
        let Some(target) = target else {
            Counters::bump(&counters.peer_gone);
            o.fail(&self.node, RequestError::PeerGone);
            return;
        };
        Counters::bump(&counters.failovers);
        let request = if retransmit {
            Counters::bump(&counters.retransmissions);
            with_t_flag(o.request)
        } else {
            o.request
        };
        let o = Outstanding {
            request,
            hops: o.hops + 1,
            ..o
        };
        if let Err(o) = send_to(&target, o) {
            o.fail(&self.node, RequestError::PeerGone);
        }
    }

    /// Every request waiting for this peer's answer goes to another peer, with the T
    /// flag (connection lost, watchdog SUSPECT).
    fn fail_over_pending(&mut self) {
        let moved: Vec<Outstanding> = self.pending.drain().map(|(_, o)| o).collect();
        if !moved.is_empty() {
            warn!(requests = moved.len(), "failover of pending requests");
        }
        for o in moved {
            self.reroute(o, true);
        }
    }

    /// An answer to a request of this peer.
    fn on_answer(&mut self, o: Outstanding, msg: Message) {
        Counters::bump(&self.slot.counters.answers_received);
        match o.reply {
            Reply::Forward(ingress) => ingress.send_back(&self.node, msg.into_bytes()),
            Reply::Caller(reply) => {
                let o = Outstanding {
                    reply: Reply::Caller(reply),
                    ..o
                };
                let o = match self.follow_redirect(o, &msg) {
                    Ok(()) => return,
                    Err(o) => o,
                };
                if let Reply::Caller(reply) = o.reply {
                    let _ = reply.send(Ok(msg));
                }
            }
        }
    }

    /// §6.13: a 3006 answer naming an open peer sends the request there (and caches the
    /// redirect as its Redirect-Host-Usage says). `Err`: not followed.
    fn follow_redirect(&mut self, o: Outstanding, answer: &Message) -> Result<(), Outstanding> {
        if !answer.header().flags.is_error()
            || !self.node.config.follow_redirects
            || o.hops >= MAX_HOPS
        {
            return Err(o);
        }
        let Some(ind) = RedirectIndication::from_answer(answer) else {
            return Err(o);
        };
        let Ok(request) = Message::decode(o.request.clone()) else {
            return Err(o);
        };
        let app = request.application_id();
        let target = ind.hosts.iter().find_map(|h| {
            self.node
                .find_peer(h)
                .filter(|s| s.usable_for(app) && !Arc::ptr_eq(s, &self.slot))
                .map(|s| (h, s))
        });
        let Some((host, target)) = target else {
            debug!(hosts = ?ind.hosts, "redirect to no open peer: the caller gets the 3006");
            return Err(o);
        };
        self.node
            .redirects
            .insert(&request, &ind, host, Instant::now());
        Counters::bump(&self.slot.counters.redirects_followed);
        send_to(
            &target,
            Outstanding {
                hops: o.hops + 1,
                ..o
            },
        )
    }

    fn on_io(&mut self, now: Instant, i: usize, e: IoEvent) {
        match e {
            IoEvent::Read => self.process_buffer(now, i),
            IoEvent::Closed => self.lost(now, i),
            IoEvent::Failed(error) => {
                debug!(%error, "connection failed");
                if is_handshake_error(&error) {
                    // An inband TLS handshake (the one at connection start is counted
                    // where the connection attempt fails).
                    Counters::bump(&self.slot.counters.tls_failures);
                }
                self.lost(now, i);
            }
        }
    }

    /// The answer of a handler that ran in its own task.
    fn on_handler_answer(&mut self, conn: ConnId, bytes: &[u8]) {
        if let Some(c) = self.conn_mut(conn) {
            c.handlers = c.handlers.saturating_sub(1);
            c.io.queue(bytes);
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
    ///
    /// At most [`FRAME_BATCH`] of them: the rest wait for the next turn of the loop
    /// (`backlog`), after the output of these is written.
    fn process_buffer(&mut self, now: Instant, i: usize) {
        let max = self.limits.max_message_size;
        let mut handled = 0;
        loop {
            let Some(conn) = self.conns[i].as_mut() else {
                return;
            };
            if handled == FRAME_BATCH {
                conn.backlog = true;
                return;
            }
            match next_frame(&mut conn.io.rbuf, max) {
                Ok(Some(frame)) => {
                    let id = conn.id;
                    handled += 1;
                    self.on_frame(now, i, id, frame);
                }
                Ok(None) => {
                    conn.backlog = false;
                    if conn.io.rbuf.is_empty() {
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
                    let raw = conn.io.rbuf.split().freeze();
                    if let Some(a) = raw_error_answer(&raw, &self.node.local, e.result_code(), None)
                    {
                        conn.io.queue(a.as_bytes());
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
                // One span per received message (TRACE: without a subscriber at that level
                // it costs a check of the callsite's interest, nothing is recorded).
                let _span = message_span(&msg).entered();
                self.node
                    .observer
                    .message(&self.slot.name, Direction::Received, &msg);
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
                    if let Some(c) = self.conns[i].as_mut() {
                        c.io.queue(a.as_bytes());
                        Counters::bump(&self.slot.counters.answers_sent);
                    }
                }
            }
        }
    }

    fn on_connected(&mut self, now: Instant, r: std::io::Result<Stream>) {
        self.connecting = None;
        match r {
            Ok(stream) => {
                let Some(i) = self.free_slot() else {
                    return;
                };
                let id = self.node.next_conn_id();
                self.conns[i] = Some(Conn::new(id, stream, BytesMut::new()));
                self.had_connection = true;
                if let Err(e) = self.peer.handle_connected(now, id) {
                    debug!(error = %e, "connected");
                }
            }
            Err(e) => {
                debug!(error = %e, "connection attempt failed");
                if is_handshake_error(&e) {
                    Counters::bump(&self.slot.counters.tls_failures);
                    self.slot.set_failure(format!("TLS handshake failed: {e}"));
                } else {
                    self.slot.set_failure(format!("connect failed: {e}"));
                }
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
        while let Some((_, o)) = self.pending.expire(now) {
            Counters::bump(&self.slot.counters.timeouts);
            o.fail(&self.node, RequestError::Timeout);
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
                self.node.observer.sent_bytes(&self.slot.name, &t.bytes);
                if let Some(c) = self.conn_mut(t.conn) {
                    c.io.queue(&t.bytes);
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
        self.report_state();
    }

    /// Writes the peer's state and watchdog state to its slot (for `peers()`) if they
    /// changed, and tells the observer.
    fn report_state(&mut self) {
        let now = (self.peer.state(), self.peer.watchdog_state());
        if now != self.reported {
            self.reported = now;
            let mut st = self.slot.status();
            st.state = now.0;
            st.watchdog = now.1;
            drop(st);
            self.node.observer.peer_state(&self.slot.name, now.0, now.1);
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Message { conn, msg } => {
                let _span = message_span(&msg).entered();
                if msg.is_request() {
                    let Self {
                        conns,
                        node,
                        slot,
                        answers,
                        ..
                    } = self;
                    if let Some(c) = conns.iter_mut().flatten().find(|c| c.id == conn) {
                        let replies = ConnReplies {
                            conn,
                            out: c.io.out(),
                            handlers: &mut c.handlers,
                            later: answers,
                        };
                        crate::dispatch::handle_request(node, slot, replies, msg);
                    }
                } else if let Some(o) = self.pending.answer(msg.header().hop_by_hop) {
                    self.on_answer(o, msg);
                    if self.stopping.is_some() {
                        self.maybe_send_dpr(Instant::now());
                    }
                } else {
                    Counters::bump(&self.slot.counters.unknown_answers);
                    debug!(
                        hop_by_hop = msg.header().hop_by_hop,
                        "answer matches no request, dropped"
                    );
                    self.node.observer.unmatched_answer(&self.slot.name, &msg);
                }
            }
            Event::Opened { conn, capabilities } => {
                info!(?conn, peer = %capabilities.origin_host, state = %self.peer.state(), "peer open");
                self.slot.set_capabilities(&capabilities);
            }
            Event::StartTls { conn, client } => self.start_inband_tls(conn, client),
            Event::Available(up) => {
                debug!(up, "availability");
                self.set_ready(up);
            }
            Event::Watchdog(w) => {
                debug!(?w, "watchdog");
                if w == WatchdogState::Suspect {
                    // RFC 3539 §3.4.1: failover; an answer that still comes is dropped.
                    self.fail_over_pending();
                }
            }
            Event::DisconnectRequested(cause) => info!(?cause, "peer sent DPR"),
            Event::Closed { reason } => {
                info!(?reason, "peer closed");
                if let Some(why) = failure_text(&reason) {
                    self.slot.set_failure(why);
                }
                self.set_ready(false);
                self.fail_over_pending();
            }
        }
    }

    /// Inband-Security-Id TLS (RFC 3588 §2.1): the connection goes under TLS right after
    /// the CEA; the server's certificate must name the peer's DiameterIdentity, the
    /// client's must name its CER's Origin-Host (when it sent one). A failure is a
    /// disconnection.
    fn start_inband_tls(&mut self, conn: ConnId, client: bool) {
        let identity = self.slot.name.clone();
        let tls = self.node.inband_tls.clone();
        let Some(i) = self
            .conns
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.id == conn))
        else {
            return;
        };
        let started = match (tls, self.conns[i].as_mut()) {
            (Some(tls), Some(c)) => c.io.start_tls(move |tcp| async move {
                if client {
                    return tls.connect(tcp, &identity).await;
                }
                let stream = tls.accept(tcp).await?;
                match stream.peer_certificates() {
                    Some(certs) if !certificate_names(certs, &identity) => {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::PermissionDenied,
                            format!("client certificate does not name {identity}"),
                        ))
                    }
                    _ => Ok(stream),
                }
            }),
            _ => Err(std::io::Error::other(
                "inband TLS negotiated without TLS credentials",
            )),
        };
        match started {
            Ok(()) => {
                info!(client, "inband TLS handshake started");
                self.peer.tls_started(conn);
            }
            Err(e) => {
                warn!(error = %e, "inband TLS cannot start, closing");
                Counters::bump(&self.slot.counters.tls_failures);
                self.lost(Instant::now(), i);
            }
        }
    }

    fn set_ready(&mut self, up: bool) {
        // What `peers()` shows is up to date before anyone waiting for readiness runs.
        self.report_state();
        if self.slot.ready.swap(up, Ordering::AcqRel) != up {
            self.node.ready.notify_waiters();
        }
    }

    fn fail_pending(&mut self) {
        let failed: Vec<Outstanding> = self.pending.drain().map(|(_, o)| o).collect();
        for o in failed {
            Counters::bump(&self.slot.counters.peer_gone);
            o.fail(&self.node, RequestError::PeerGone);
        }
    }

    fn start_connect(&mut self) {
        let timeout = self.node.config.timers.connect_timeout;
        #[cfg(all(feature = "sctp", target_os = "linux"))]
        if self.sctp {
            self.connecting = Some(Box::pin(connect_sctp(self.target.clone(), timeout)));
            return;
        }
        // The server's certificate must name the peer's DiameterIdentity.
        let tls = self.tls.clone().map(|t| (t, self.slot.name.clone()));
        self.connecting = match self.target.clone() {
            PeerTarget::Addresses(a) => Some(Box::pin(connection::connect_stream(a, timeout, tls))),
            PeerTarget::Resolve(host, port) => Some(Box::pin(async move {
                let addrs = tokio::net::lookup_host((host.as_str(), port))
                    .await?
                    .collect();
                connection::connect_stream(addrs, timeout, tls).await
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

/// The next I/O event of a connection slot (never, for an empty slot). A connection with
/// a backlog of messages already read reads no more until it is handled, so the read
/// buffer stays within [`connection::MAX_READ_BATCH`] and a message.
async fn io(conn: &mut Option<Conn>) -> IoEvent {
    match conn {
        Some(c) => {
            let read = !c.backlog;
            std::future::poll_fn(|cx| c.io.poll_io(cx, read)).await
        }
        None => std::future::pending().await,
    }
}

/// The span of one message: its command, Hop-by-Hop and End-to-End Identifiers, R bit
/// (inside the span of its peer).
#[inline]
fn message_span(msg: &Message) -> tracing::Span {
    let h = msg.header();
    tracing::trace_span!(
        "message",
        command = h.code,
        request = h.flags.is_request(),
        hop_by_hop = h.hop_by_hop,
        end_to_end = h.end_to_end
    )
}

/// Hands a request to a peer's task; `Err` gives it back when that task is gone.
fn send_to(target: &PeerSlot, o: Outstanding) -> Result<(), Outstanding> {
    match target.tx.send(PeerCommand::Request(o)) {
        Ok(()) => Ok(()),
        Err(mpsc::error::SendError(PeerCommand::Request(o))) => Err(o),
        // Only a request was sent, so only a request comes back.
        Err(_) => Ok(()),
    }
}

/// Connects over SCTP to all of the peer's addresses at once: one multi-homed
/// association, which fails over between them by itself (RFC 4960 §6.4).
#[cfg(all(feature = "sctp", target_os = "linux"))]
async fn connect_sctp(target: PeerTarget, timeout: std::time::Duration) -> std::io::Result<Stream> {
    let addrs = match target {
        PeerTarget::Addresses(a) => a,
        PeerTarget::Resolve(host, port) => tokio::net::lookup_host((host.as_str(), port))
            .await?
            .collect(),
        PeerTarget::None => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                "peer has no address",
            ));
        }
    };
    connection::connect_sctp(addrs, timeout).await
}

async fn wait_connect(
    connecting: &mut Option<BoxFuture<std::io::Result<Stream>>>,
) -> std::io::Result<Stream> {
    match connecting {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Why a peer closed, for `PeerInfo::last_failure` and `NodeError::NotReady` (nothing for a
/// close that was asked for).
fn failure_text(reason: &CloseReason) -> Option<String> {
    let code = |c: u32| match diameter_core::ResultCode(c).name() {
        Some(n) => format!("{c} {n}"),
        None => c.to_string(),
    };
    Some(match reason {
        CloseReason::ConnectFailed => return None, // the connect error says more
        CloseReason::Timeout(t) => format!("timed out ({t:?})"),
        CloseReason::CapabilitiesRejected(c) => format!("CER answered {}", code(*c)),
        CloseReason::CerRejected(c) => format!("its CER refused with {}", code(*c)),
        CloseReason::UnexpectedMessage => "sent something other than a CEA".to_owned(),
        CloseReason::PeerDisconnected => "connection lost".to_owned(),
        CloseReason::WatchdogDown => "watchdog: no DWA (RFC 3539 DOWN)".to_owned(),
        CloseReason::Election | CloseReason::Disconnected(_) | CloseReason::Stopped => {
            return None;
        }
        #[allow(unreachable_patterns)]
        _ => format!("{reason:?}"),
    })
}
