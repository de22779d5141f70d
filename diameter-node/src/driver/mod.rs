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

mod conns;
mod dynamic;
mod inband;
mod owed;
mod timer;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::BytesMut;
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug};

use conns::{Connecting, Conns};
pub(crate) use dynamic::spawn_dynamic_peer;
use timer::Timer;

use crate::clock;
use crate::connection::{Dial, IoEvent, PeerTarget, Stream};
use crate::dispatch::ConnReplies;
use crate::forward::settle;
use crate::lifecycle::{self, Event, PeerCore};
use crate::observe::Direction;
use crate::peer::{self, Action, PeerState, WatchdogState};
use crate::report::{self, Reported};
use crate::shared::{Late, NodeShared, PeerCommand, PeerSlot, Reply};

use crate::stats::Counters;
use crate::tls::is_handshake_error;

/// Commands taken from the channel in one go before their output is written.
const COMMAND_BATCH: usize = 256;

enum Input {
    Command(Option<PeerCommand>),
    Io(usize, IoEvent),
    Answer(Option<Late>),
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
    conns: Conns,
    connecting: Connecting,
    /// Round-robin position for requests this task moves to other peers.
    rr: AtomicUsize,
    /// Answers of handlers that ran in their own task (and of forwarded requests).
    answers: mpsc::UnboundedSender<Late>,
    answers_rx: mpsc::UnboundedReceiver<Late>,
    /// What `slot.waiting_since` was last set to.
    published_waiting: Option<Instant>,
    timer: Timer,
    stop_waiters: Vec<oneshot::Sender<()>>,
    /// A peer admitted by realm pattern: the task ends with its connection.
    dynamic: bool,
    had_connection: bool,
    /// State and watchdog state last written to the slot's status.
    reported: Reported,
}

impl PeerDriver {
    pub(crate) fn new(
        node: Arc<NodeShared>,
        slot: Arc<PeerSlot>,
        rx: mpsc::UnboundedReceiver<PeerCommand>,
        (target, dial, persistent): (PeerTarget, Dial, bool),
        dynamic: bool,
    ) -> Self {
        let (peer, core) = node.core_config(persistent);
        let (answers, answers_rx) = mpsc::unbounded_channel();
        Self {
            core: PeerCore::new(peer, core),
            slot,
            rr: AtomicUsize::new(0),
            answers,
            answers_rx,
            timer: Timer::new(),
            node,
            rx,
            target,
            dial,
            conns: Conns::default(),
            connecting: Connecting::default(),
            stop_waiters: Vec::new(),
            dynamic,
            had_connection: false,
            published_waiting: None,
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
            self.core.start(clock::now());
        }
        loop {
            // The requests the last input brought are dispatched (flush) before the core
            // is told what is owed, so that a Stop taken next sees them.
            self.flush();
            self.sync_owed();
            self.write_out();
            let pending = self.core.pending_len();
            self.slot.pending.store(pending, Ordering::Relaxed);
            self.publish_waiting();
            if self.finished() {
                break;
            }
            self.timer.arm(self.core.poll_timeout());
            let backlog = self.conns.with_backlog().next().is_some();
            let input = {
                let Self {
                    rx,
                    conns,
                    connecting,
                    answers_rx,
                    timer,
                    ..
                } = &mut self;
                tokio::select! {
                    cmd = rx.recv() => Input::Command(cmd),
                    (i, e) = conns.next_io() => Input::Io(i, e),
                    a = answers_rx.recv() => Input::Answer(a),
                    r = connecting.done() => Input::Connected(r),
                    () = timer.fired() => Input::Timer,
                    _ = tokio::task::yield_now(), if backlog => Input::Backlog,
                }
            };
            let now = clock::now();
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
                    while let Some(late) = next {
                        self.answer_later(late);
                        next = self.answers_rx.try_recv().ok();
                    }
                }
                Input::Connected(r) => self.connected(now, r),
                Input::Timer => self.core.handle_timeout(now),
                Input::Backlog => {
                    let backlog: Vec<usize> = self.conns.with_backlog().collect();
                    backlog.into_iter().for_each(|i| self.read(now, i));
                }
            }
        }
        self.finish();
    }

    /// Writes each connection's queued output (one syscall each).
    fn write_out(&mut self) {
        let failed = self.conns.write_out();
        if !failed.is_empty() {
            let now = clock::now();
            failed.into_iter().for_each(|i| self.lost(now, i));
            self.flush();
        }
    }

    /// A stopped peer whose DPA came (or timed out), or a dynamic peer whose connection
    /// ended.
    fn finished(&self) -> bool {
        let closed = self.core.state() == PeerState::Closed;
        (closed && self.core.is_stopping())
            || (self.dynamic && closed && self.had_connection && self.conns.is_empty())
    }

    fn finish(&mut self) {
        self.core.abandon();
        self.flush();
        let now = (self.core.state(), self.core.watchdog_state());
        report::ready(&self.node, &self.slot, &mut self.reported, now, false);
        self.conns.close_all();
        for w in self.stop_waiters.drain(..) {
            let _ = w.send(());
        }
        if self.dynamic {
            self.hand_on_after_end();
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
                let id = self.node.next_conn_id();
                // Two connections already (mid-election): a third is refused.
                let Some(i) = self.conns.attach(id, stream, buf) else {
                    return;
                };
                self.had_connection = true;
                let name = &self.slot.name;
                self.node.observer.message(name, Direction::Received, &cer);
                self.core.handle_incoming_cer(now, id, &cer);
                // Messages that came in the same read as the CER.
                self.read(now, i);
            }
            PeerCommand::Stop { cause, done } => {
                self.stop_waiters.push(done);
                self.connecting.cancel();
                self.core.stop(now, cause);
            }
        }
    }

    /// Hands connection `i`'s read buffer to the core.
    fn read(&mut self, now: Instant, i: usize) {
        let Some(c) = self.conns.get(i) else {
            return;
        };
        let (node, name) = (&self.node, &self.slot.name);
        let mut observe = |m: &_| node.observer.message(name, Direction::Received, m);
        c.backlog = self
            .core
            .handle_read(now, c.id, &mut c.io.rbuf, &mut observe);
    }

    fn connected(&mut self, now: Instant, r: std::io::Result<Stream>) {
        match r {
            Ok(stream) => {
                let id = self.node.next_conn_id();
                if self.conns.attach(id, stream, BytesMut::new()).is_some() {
                    self.had_connection = true;
                    self.core.handle_connected(now, id);
                }
            }
            Err(e) => {
                report::connect_failed(&self.slot, &e);
                self.core.handle_connect_failed(now);
            }
        }
    }

    /// The transport of connection `i` went away: Peer-Disc.
    fn lost(&mut self, now: Instant, i: usize) {
        if let Some(id) = self.conns.close(i) {
            self.core.handle_disconnected(now, id);
        }
    }

    // ----- outputs -----

    fn flush(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.core.poll_transmit() {
                progress = true;
                self.node.observer.sent_bytes(&self.slot.name, &t.bytes);
                if let Some(c) = self.conns.find(t.conn) {
                    c.io.queue(&t.bytes);
                }
            }
            while let Some(a) = self.core.poll_action() {
                progress = true;
                match a {
                    Action::Connect => {
                        let timeout = self.node.config.timers.connect_timeout;
                        let (target, dial) = (self.target.clone(), self.dial.clone());
                        self.connecting.start(target, dial, timeout);
                    }
                    Action::Close { conn, reason } => {
                        debug!(?conn, ?reason, "closing connection");
                        if let Some(i) = self.conns.index_of(conn) {
                            self.conns.close(i);
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
            self.connecting.cancel();
        }
        self.report_state();
    }

    fn report_state(&mut self) {
        let now = (self.core.state(), self.core.watchdog_state());
        report::state(&self.node, &self.slot, &mut self.reported, now);
    }

    fn event(&mut self, e: Event<Reply>) {
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
                if let Some(c) = conns.find(conn) {
                    let replies = ConnReplies {
                        conn,
                        out: c.io.out(),
                        handlers: &mut c.handlers,
                        later: answers,
                    };
                    crate::dispatch::handle_request(node, slot, replies, msg);
                }
            }
            Event::Outcome(o) => settle(&self.node, &self.slot, &self.rr, clock::now, o),
            Event::UnmatchedAnswer(msg) => report::unmatched_answer(&self.node, &self.slot, &msg),
            Event::InputError {
                conn,
                error,
                answered,
            } => report::input_error(&self.slot, conn, error, answered),
            Event::Peer(peer::Event::StartTls { conn, client }) => {
                self.start_inband_tls(conn, client);
            }
            Event::OwedExpired => self.answer_owed(),
            Event::Peer(e) => {
                let now = (self.core.state(), self.core.watchdog_state());
                report::peer_event(&self.node, &self.slot, &mut self.reported, now, &e);
            }
        }
    }
}
