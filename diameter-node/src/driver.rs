//! The tokio driver of one peer (quinn's `ConnectionDriver`, minus the runtime traits):
//! one task per peer that moves bytes and time for its sans-IO [`PeerCore`]. It
//! `select!`s over its connections' reads, its command channel, a connection attempt,
//! handlers' late answers and one timer; hands each input to the core with the time it
//! came; then drains the core's transmits (into the connections' output buffers), actions
//! (connect, close) and events (received requests to dispatch, requests' outcomes, peer
//! state), writes each connection's output with one syscall, and sleeps until the next
//! input or the core's next timeout. Every decision is the core's (`lifecycle/`), or the
//! node's for what spans peers (`forward.rs`, `dispatch.rs`).
//!
//! The hot path is batched end to end: one wake-up of a connection reads until the socket
//! is drained and the core handles up to [`crate::lifecycle::FRAME_BATCH`] messages of it;
//! a burst of [`PeerCommand`]s is taken from the channel at once; received requests whose
//! handler completes on its first poll are answered inline, without a task or a channel;
//! what one batch produces goes out in one `write`. The task owns its sockets, so nothing
//! is shared between requests but the node's atomics.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, info, warn};

use crate::app::BoxFuture;
use crate::connection::{self, Dial, IoEvent, PeerTarget, Stream, Transport};
use crate::dispatch::ConnReplies;
use crate::forward::settle;
use crate::lifecycle::{self, CoreConfig, Event, InputError, PeerCore};
use crate::observe::Direction;
use crate::peer::{self, Action, ConnId, PeerConfig, PeerState, WatchdogState};
use crate::shared::{NodeShared, PeerCommand, PeerSlot, Reply};

use crate::stats::Counters;
use crate::tls::is_handshake_error;

/// Commands taken from the channel in one go before their output is written.
const COMMAND_BATCH: usize = 256;

/// One live transport connection.
struct Conn {
    id: ConnId,
    io: Transport,
    /// Handlers of this connection's requests running in their own tasks (3004 beyond the
    /// configured bound).
    handlers: usize,
    /// Complete messages are still in the read buffer ([`lifecycle::FRAME_BATCH`]).
    backlog: bool,
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
    core: PeerCore<Reply>,
    slot: Arc<PeerSlot>,
    node: Arc<NodeShared>,
    rx: mpsc::UnboundedReceiver<PeerCommand>,
    target: PeerTarget,
    dial: Dial,
    conns: [Option<Conn>; 2],
    connecting: Option<BoxFuture<std::io::Result<Stream>>>,
    /// Round-robin position for requests this task moves to other peers.
    rr: AtomicUsize,
    /// Answers of handlers that ran in their own task (and of forwarded requests).
    answers: mpsc::UnboundedSender<(ConnId, Bytes)>,
    answers_rx: mpsc::UnboundedReceiver<(ConnId, Bytes)>,
    /// The one timer and the deadline it is set to (`None`: disarmed). It is moved only
    /// to an earlier deadline; firing early costs one loop.
    timer: Pin<Box<tokio::time::Sleep>>,
    timer_at: Option<Instant>,
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
        (config, target, dial): (PeerConfig, PeerTarget, Dial),
        dynamic: bool,
    ) -> Self {
        let (t, l) = (&node.config.timers, &node.config.limits);
        let core = CoreConfig {
            frame_timeout: t.frame_timeout,
            drain_timeout: t.drain_timeout,
            max_message_size: l.max_message_size,
            max_pending_requests: l.max_pending_requests,
            follow_redirects: node.config.follow_redirects,
        };
        let (answers, answers_rx) = mpsc::unbounded_channel();
        Self {
            core: PeerCore::new(config, core),
            slot,
            rr: AtomicUsize::new(0),
            answers,
            answers_rx,
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            timer_at: None,
            node,
            rx,
            target,
            dial,
            conns: [None, None],
            connecting: None,
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
        if self.core.peer().config().persistent && !matches!(self.target, PeerTarget::None) {
            self.core.start(Instant::now());
        }
        loop {
            self.flush();
            self.write_out();
            let pending = self.core.pending_len();
            self.slot.pending.store(pending, Ordering::Relaxed);
            if self.finished() {
                break;
            }
            self.arm_timer();
            let backlog = self.conns.iter().flatten().any(|c| c.backlog);
            let input = {
                let Self {
                    rx,
                    conns: [c0, c1],
                    connecting,
                    answers_rx,
                    timer,
                    timer_at,
                    ..
                } = &mut self;
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
                Input::Command(None) => break,
                Input::Command(Some(cmd)) => {
                    self.command(now, cmd);
                    // Take the rest of a burst now: its requests go out in one write.
                    for _ in 1..COMMAND_BATCH {
                        let Ok(cmd) = self.rx.try_recv() else { break };
                        self.command(now, cmd);
                    }
                }
                Input::Io(i, IoEvent::Read) => self.read(now, i),
                Input::Io(i, IoEvent::Closed) => self.lost(now, i),
                Input::Io(i, IoEvent::Failed(error)) => {
                    debug!(%error, "connection failed");
                    if is_handshake_error(&error) {
                        // An inband TLS handshake (the one at connection start is counted
                        // where the connection attempt fails).
                        Counters::bump(&self.slot.counters.tls_failures);
                    }
                    self.lost(now, i);
                }
                Input::Answer(mut next) => {
                    while let Some((conn, bytes)) = next {
                        if let Some(c) = self.conn_mut(conn) {
                            c.handlers = c.handlers.saturating_sub(1);
                            c.io.queue(&bytes);
                        }
                        next = self.answers_rx.try_recv().ok();
                    }
                }
                Input::Connected(r) => self.connected(now, r),
                Input::Timer => {
                    self.timer_at = None;
                    self.core.handle_timeout(now);
                }
                Input::Backlog => {
                    for i in 0..self.conns.len() {
                        if self.conns[i].as_ref().is_some_and(|c| c.backlog) {
                            self.read(now, i);
                        }
                    }
                }
            }
        }
        self.finish();
    }

    /// Sets the timer to the core's next deadline if that is earlier than what it is set
    /// to. A later deadline leaves it alone: it fires early once and is set again then.
    fn arm_timer(&mut self) {
        let Some(deadline) = self.core.poll_timeout() else {
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

    /// A stopped peer whose DPA came (or timed out), or a dynamic peer whose connection
    /// ended.
    fn finished(&self) -> bool {
        let closed = self.core.state() == PeerState::Closed;
        (closed && self.core.is_stopping())
            || (self.dynamic
                && closed
                && self.had_connection
                && self.conns.iter().all(Option::is_none))
    }

    fn finish(&mut self) {
        self.core.abandon();
        self.flush();
        self.set_ready(false);
        for c in self.conns.iter_mut().filter_map(Option::take) {
            c.io.close();
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
                        let next = spawn_dynamic_peer(&self.node, &self.slot.name);
                        let _ = next.tx.send(cmd);
                    }
                    PeerCommand::Request(o) => {
                        let o = lifecycle::Outcome::Failover {
                            pending: o,
                            retransmit: false,
                        };
                        settle(&self.node, &self.slot, &self.rr, Instant::now(), o);
                    }
                    PeerCommand::Stop { done, .. } => {
                        let _ = done.send(());
                    }
                }
            }
        }
    }

    // ----- inputs -----

    fn command(&mut self, now: Instant, cmd: PeerCommand) {
        match cmd {
            PeerCommand::Request(o) => {
                if self.core.send_request(now, o) {
                    Counters::bump(&self.slot.counters.requests_sent);
                }
            }
            PeerCommand::Incoming { stream, buf, cer } => {
                let Some(i) = self.conns.iter().position(Option::is_none) else {
                    // Two connections already (mid-election): refuse a third.
                    return;
                };
                let id = self.attach(i, stream, buf);
                let name = &self.slot.name;
                self.node.observer.message(name, Direction::Received, &cer);
                self.core.handle_incoming_cer(now, id, &cer);
                // Messages that came in the same read as the CER.
                self.read(now, i);
            }
            PeerCommand::Stop { cause, done } => {
                self.stop_waiters.push(done);
                self.connecting = None;
                self.core.stop(now, cause);
            }
        }
    }

    fn attach(&mut self, i: usize, stream: Stream, buf: BytesMut) -> ConnId {
        let id = self.node.next_conn_id();
        let io = Transport::new(stream, buf);
        self.conns[i] = Some(Conn {
            id,
            io,
            handlers: 0,
            backlog: false,
        });
        self.had_connection = true;
        id
    }

    /// Hands connection `i`'s read buffer to the core.
    fn read(&mut self, now: Instant, i: usize) {
        let Some(c) = self.conns[i].as_mut() else {
            return;
        };
        let (node, name) = (&self.node, &self.slot.name);
        let mut observe = |m: &_| node.observer.message(name, Direction::Received, m);
        c.backlog = self
            .core
            .handle_read(now, c.id, &mut c.io.rbuf, &mut observe);
    }

    fn connected(&mut self, now: Instant, r: std::io::Result<Stream>) {
        self.connecting = None;
        match r {
            Ok(stream) => {
                if let Some(i) = self.conns.iter().position(Option::is_none) {
                    let id = self.attach(i, stream, BytesMut::new());
                    self.core.handle_connected(now, id);
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
                self.core.handle_connect_failed(now);
            }
        }
    }

    /// The transport of connection `i` went away: Peer-Disc.
    fn lost(&mut self, now: Instant, i: usize) {
        if let Some(c) = self.conns[i].take() {
            c.io.close();
            self.core.handle_disconnected(now, c.id);
        }
    }

    // ----- outputs -----

    fn flush(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.core.poll_transmit() {
                progress = true;
                self.node.observer.sent_bytes(&self.slot.name, &t.bytes);
                if let Some(c) = self.conn_mut(t.conn) {
                    c.io.queue(&t.bytes);
                }
            }
            while let Some(a) = self.core.poll_action() {
                progress = true;
                match a {
                    Action::Connect => {
                        let timeout = self.node.config.timers.connect_timeout;
                        let (target, dial) = (self.target.clone(), self.dial.clone());
                        self.connecting = Some(Box::pin(connection::dial(target, dial, timeout)));
                    }
                    Action::Close { conn, reason } => {
                        debug!(?conn, ?reason, "closing connection");
                        for slot in &mut self.conns {
                            if let Some(c) = slot.take_if(|c| c.id == conn) {
                                c.io.close();
                            }
                        }
                    }
                }
            }
            while let Some(e) = self.core.poll_event() {
                progress = true;
                self.event(e);
            }
            if !progress {
                break;
            }
        }
        if !matches!(
            self.core.state(),
            PeerState::WaitConnAck | PeerState::WaitConnAckElect
        ) {
            self.connecting = None;
        }
        self.report_state();
    }

    /// Writes the peer's state and watchdog state to its slot (for `peers()`) if they
    /// changed, and tells the observer.
    fn report_state(&mut self) {
        let now = (self.core.state(), self.core.watchdog_state());
        if now != self.reported {
            self.reported = now;
            let mut st = self.slot.status();
            (st.state, st.watchdog) = now;
            drop(st);
            self.node.observer.peer_state(&self.slot.name, now.0, now.1);
        }
    }

    fn event(&mut self, e: Event<Reply>) {
        let counters = &self.slot.counters;
        match e {
            Event::Request { conn, msg } => {
                let _span = lifecycle::message_span(&msg).entered();
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
            }
            Event::Outcome(o) => settle(&self.node, &self.slot, &self.rr, Instant::now(), o),
            Event::UnmatchedAnswer(msg) => {
                Counters::bump(&counters.unknown_answers);
                let hop_by_hop = msg.header().hop_by_hop;
                debug!(hop_by_hop, "answer matches no request, dropped");
                self.node.observer.unmatched_answer(&self.slot.name, &msg);
            }
            Event::InputError {
                conn,
                error,
                answered,
            } => {
                debug!(?conn, ?error, "protocol error");
                if answered {
                    Counters::bump(&counters.answers_sent);
                }
                if !matches!(error, InputError::FrameTimeout) {
                    Counters::bump(&counters.protocol_errors);
                }
                if matches!(error, InputError::FrameTimeout | InputError::Unframeable(_)) {
                    Counters::bump(&counters.bad_connections);
                }
            }
            Event::Peer(e) => self.peer_event(e),
        }
    }

    fn peer_event(&mut self, e: peer::Event) {
        match e {
            peer::Event::Opened { conn, capabilities } => {
                let state = self.core.state();
                info!(?conn, peer = %capabilities.origin_host, %state, "peer open");
                self.slot.set_capabilities(&capabilities);
            }
            peer::Event::StartTls { conn, client } => self.start_inband_tls(conn, client),
            peer::Event::Available(up) => {
                debug!(up, "availability");
                self.set_ready(up);
            }
            peer::Event::Watchdog(w) => debug!(?w, "watchdog"),
            peer::Event::DisconnectRequested(cause) => info!(?cause, "peer sent DPR"),
            peer::Event::Closed { reason } => {
                info!(?reason, "peer closed");
                if let Some(why) = reason.failure_text() {
                    self.slot.set_failure(why);
                }
                self.set_ready(false);
            }
            // The core turns messages into `Event::Request` and outcomes.
            peer::Event::Message { .. } => {}
        }
    }

    /// Inband-Security-Id TLS (RFC 3588 §2.1): the connection goes under TLS right after
    /// the CEA. A failure is a disconnection.
    fn start_inband_tls(&mut self, conn: ConnId, client: bool) {
        let Some(i) = (0..2).find(|&i| self.conns[i].as_ref().is_some_and(|c| c.id == conn)) else {
            return;
        };
        let identity = self.slot.name.clone();
        let started = match (self.node.inband_tls.clone(), self.conns[i].as_mut()) {
            (Some(tls), Some(c)) => {
                c.io.start_tls(move |tcp| crate::tls::inband_handshake(tls, tcp, identity, client))
            }
            _ => Err(std::io::Error::other(
                "inband TLS negotiated without TLS credentials",
            )),
        };
        match started {
            Ok(()) => {
                info!(client, "inband TLS handshake started");
                self.core.tls_started(conn);
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
            self.node.peers.ready.notify_waiters();
        }
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns.iter_mut().flatten().find(|c| c.id == id)
    }
}

/// The peer core's configuration for a peer of this node.
pub(crate) fn peer_config(node: &NodeShared, persistent: bool) -> PeerConfig {
    let seed = node.peers.next_seed();
    let mut c = PeerConfig::new(node.local.clone(), node.end_to_end.clone(), seed);
    c.timers = node.config.timers.peer_timers();
    c.persistent = persistent;
    c
}

/// The task of a peer admitted by realm pattern (§5.3: it lives as long as its
/// connection), started unless it runs already.
pub(crate) fn spawn_dynamic_peer(node: &Arc<NodeShared>, name: &str) -> Arc<PeerSlot> {
    let mut rx = None;
    let (slot, new) = node.peers.dynamic_or_insert(name, || {
        let (tx, r) = mpsc::unbounded_channel();
        rx = Some(r);
        Arc::new(PeerSlot::new(name, tx))
    });
    if let (true, Some(rx)) = (new, rx) {
        let how = (peer_config(node, false), PeerTarget::None, Dial::Tcp);
        let driver = PeerDriver::new(node.clone(), slot.clone(), rx, how, true);
        node.tasks.add_peer(tokio::spawn(driver.run()));
    }
    slot
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

async fn wait_connect(
    connecting: &mut Option<BoxFuture<std::io::Result<Stream>>>,
) -> std::io::Result<Stream> {
    match connecting {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}
