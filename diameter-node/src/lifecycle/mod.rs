//! The sans-IO core of one peer link: the §5.6 peer state machine ([`Peer`]) plus
//! everything that happens to a request between a handler or a socket and its one outcome.
//!
//! Like quinn-proto's `Connection`, a [`PeerCore`] has no sockets, no tokio and no clock:
//! every input carries `now`, and the driver (`driver/`) polls it for outputs.
//!
//! Inputs:
//! - bytes read from a connection ([`PeerCore::handle_read`]): cut into messages (§3), the
//!   message length checked first (an unframeable stream is answered if it can be, then
//!   closed, §2.1); a message that does not decode before the connection is open closes it
//!   (§5.6: only CER/CEA are welcome there), after Open it is answered (3008, 5014, ...);
//! - requests to send ([`PeerCore::send_request`]): stamped with this connection's
//!   Hop-by-Hop Identifier (and an End-to-End Identifier if they have none), kept in the
//!   pending table ([`pending`]) until their answer, their deadline or the link's failure;
//! - the transport's events and the timer ([`PeerCore::handle_timeout`]): a request whose
//!   deadline passes fails with a timeout, or, if its waiter allows it
//!   ([`Pending::retry`]), is handed back once to go to another peer ([`Outcome::Retry`]);
//! - a graceful stop ([`PeerCore::stop`]): no new request is taken, pending ones drain
//!   until answered or the drain time is up, then DPR (§5.4).
//!
//! Outputs, drained after each input: [`PeerCore::poll_transmit`] (bytes for a
//! connection), [`PeerCore::poll_action`] (connect, close), [`PeerCore::poll_event`]
//! ([`Event`]: peer events, received requests to dispatch, each request's [`Outcome`]),
//! [`PeerCore::poll_timeout`] (the earliest of the peer's timers, request deadlines, the
//! frame timeout of a half-received message and the drain deadline).
//!
//! What a request waits with is the type parameter `W` (the node's reply channel; a number
//! in the tests): the core never looks into it. Choosing another peer after a failover or
//! a redirect is the node's job (`forward.rs`), since it needs the other peers' state; the
//! core says when (`Outcome::Failover`, `Outcome::Redirected`) and what is left to do.

mod drain;
mod outcome;
mod pending;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use diameter_core::generated::base::DisconnectCause;
use diameter_core::{Limits, Message};
use tracing::{debug, warn};

use crate::answer::raw_error_answer;
use crate::error::RequestError;
use crate::framing::{next_frame, stamp_ids, with_t_flag};
use crate::peer::{
    self, Action, CloseReason, ConnId, Peer, PeerConfig, PeerState, Transmit, WatchdogState,
};
use crate::redirect::RedirectIndication;
use drain::{Drain, Step, Then};
pub(crate) use outcome::{Event, InputError, Outcome};
use pending::PendingTable;

/// Failovers and redirects one request may go through at this node: a request that keeps
/// bouncing (redirect loops, every peer failing) ends instead of circling.
pub(crate) const MAX_HOPS: u8 = 4;

/// Received messages handled per [`PeerCore::handle_read`]: the driver writes their
/// output and lets other tasks run before the rest, so the peer gets the first answers
/// while the next ones are handled and both ends work at once.
pub(crate) const FRAME_BATCH: usize = 32;

/// A request on its way, with what its failover needs.
pub(crate) struct Pending<W> {
    /// The request as last sent (identifiers stamped once sent).
    pub(crate) request: Bytes,
    pub(crate) deadline: Instant,
    /// Failovers and redirects so far ([`MAX_HOPS`]).
    pub(crate) hops: u8,
    /// A 3006 answer is followed (§6.13) rather than delivered: requests this node
    /// originated. A relay passes redirects back to where the request came from.
    pub(crate) follows_redirects: bool,
    /// Timed out, it goes once more to another peer, with this long for its answer
    /// ([`Outcome::Retry`]; a forwarded request whose route says `retry_on_timeout`).
    /// Taken by that retry, so a second timeout fails it.
    pub(crate) retry: Option<Duration>,
    /// Who gets the outcome.
    pub(crate) waiter: W,
}

impl<W> std::fmt::Debug for Pending<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("len", &self.request.len())
            .field("hops", &self.hops)
            .finish_non_exhaustive()
    }
}

/// The node settings the core needs.
#[derive(Clone, Debug)]
pub(crate) struct CoreConfig {
    /// A message begun must be complete within this (slow senders are cut off).
    pub(crate) frame_timeout: Duration,
    /// How long a graceful stop waits for pending requests before its DPR.
    pub(crate) drain_timeout: Duration,
    pub(crate) max_message_size: u32,
    pub(crate) max_pending_requests: usize,
    /// Whether 3006 answers to originated requests are followed (§6.13).
    pub(crate) follow_redirects: bool,
}

/// One peer's link: its state machine, its pending requests, its connections' partial
/// messages and its drain.
pub(crate) struct PeerCore<W> {
    peer: Peer,
    config: CoreConfig,
    limits: Limits,
    pending: PendingTable<Pending<W>>,
    /// Connections with the first bytes of a not yet complete message, and since when.
    partial: Vec<(ConnId, Instant)>,
    drain: Option<Drain>,
    /// A DPR received while requests of the peer are still owed to it, held until they
    /// are answered (§5.4: the DPA lets the peer close).
    held_dpr: Option<Drain>,
    /// Requests owed to the peer that are not pending here (forwarded on its behalf,
    /// handlers running): the owner keeps this up to date.
    owed_elsewhere: usize,
    /// Since when requests are pending here with no answer coming back (none when nothing
    /// is pending): the routing avoids a peer that stalls.
    waiting_since: Option<Instant>,
    transmits: VecDeque<Transmit>,
    actions: VecDeque<Action>,
    events: VecDeque<Event<W>>,
}

impl<W> PeerCore<W> {
    pub(crate) fn new(peer: PeerConfig, config: CoreConfig) -> Self {
        Self {
            peer: Peer::new(peer),
            limits: Limits {
                max_message_size: config.max_message_size,
                ..Limits::default()
            },
            pending: PendingTable::new(config.max_pending_requests),
            config,
            partial: Vec::new(),
            drain: None,
            held_dpr: None,
            owed_elsewhere: 0,
            waiting_since: None,
            transmits: VecDeque::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ----- state -----

    pub(crate) fn peer(&self) -> &Peer {
        &self.peer
    }

    pub(crate) fn state(&self) -> PeerState {
        self.peer.state()
    }

    pub(crate) fn watchdog_state(&self) -> WatchdogState {
        self.peer.watchdog_state()
    }

    /// Requests waiting for this peer's answer.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// A graceful stop has begun.
    pub(crate) fn is_stopping(&self) -> bool {
        self.drain.is_some()
    }

    /// Whether the owner should keep [`Self::set_owed_elsewhere`] current: a drain or a
    /// held DPR waits on it.
    pub(crate) fn is_draining(&self) -> bool {
        let active = |d: &Option<Drain>| d.as_ref().is_some_and(|d| !d.is_done());
        active(&self.drain) || active(&self.held_dpr)
    }

    /// Since when requests are pending here without any answer coming back (`None`: nothing
    /// pending, or an answer came since the last one was sent... see `track_progress`).
    pub(crate) fn waiting_since(&self) -> Option<Instant> {
        self.waiting_since
    }

    // ----- inputs -----

    /// Start (§5.6): connect, and reconnect when the connection is lost.
    pub(crate) fn start(&mut self, now: Instant) {
        self.peer.start(now);
        self.pump(now);
    }

    /// Graceful stop: no new requests; DPR once the pending ones are answered or the drain
    /// time is up (§5.4).
    pub(crate) fn stop(&mut self, now: Instant, cause: DisconnectCause) {
        if self.drain.is_none() {
            let deadline = now + self.config.drain_timeout;
            self.drain = Some(Drain::new(Then::Dpr(cause), deadline));
            self.maybe_send_dpr(now);
        }
        self.pump(now);
    }

    /// I-Rcv-Conn-Ack.
    pub(crate) fn handle_connected(&mut self, now: Instant, conn: ConnId) {
        if let Err(e) = self.peer.handle_connected(now, conn) {
            debug!(error = %e, "connected");
        }
        self.pump(now);
    }

    /// I-Rcv-Conn-Nack.
    pub(crate) fn handle_connect_failed(&mut self, now: Instant) {
        if let Err(e) = self.peer.handle_connect_failed(now) {
            debug!(error = %e, "connect failed");
        }
        self.pump(now);
    }

    /// R-Conn-CER: a new connection whose CER names this peer.
    pub(crate) fn handle_incoming_cer(&mut self, now: Instant, conn: ConnId, cer: &Message) {
        if let Err(e) = self.peer.handle_incoming_cer(now, conn, cer) {
            debug!(error = %e, "incoming CER");
        }
        self.pump(now);
    }

    /// The owner answered what was owed after [`Event::OwedExpired`]: the DPR or DPA
    /// goes out now, after those answers.
    pub(crate) fn owed_answered(&mut self, now: Instant) {
        for d in [&mut self.drain, &mut self.held_dpr].into_iter().flatten() {
            d.answered();
        }
        self.owed_elsewhere = 0;
        self.maybe_send_dpr(now);
        self.pump(now);
    }

    /// How many requests the node owes the peer on other links (forwarded on its behalf)
    /// or in running handlers. A drain or held DPR waits for them; after
    /// [`Event::OwedExpired`] the owner answers them and calls [`Self::owed_answered`].
    pub(crate) fn set_owed_elsewhere(&mut self, now: Instant, owed: usize) {
        self.owed_elsewhere = owed;
        if self.is_draining() {
            self.maybe_send_dpr(now);
            self.pump(now);
        }
    }

    /// Peer-Disc: the transport of `conn` went away.
    pub(crate) fn handle_disconnected(&mut self, now: Instant, conn: ConnId) {
        self.partial.retain(|(c, _)| *c != conn);
        if let Err(e) = self.peer.handle_disconnected(now, conn) {
            debug!(error = %e, "disconnect");
        }
        self.pump(now);
    }

    /// The driver started the Inband-Security-Id TLS handshake on `conn`.
    pub(crate) fn tls_started(&mut self, conn: ConnId) {
        self.peer.tls_started(conn);
    }

    /// Cuts complete messages off the front of `buf` (what `conn` received) and handles
    /// them, at most [`FRAME_BATCH`]; `observe` sees each decoded message first. Returns
    /// whether complete messages are left for another call.
    pub(crate) fn handle_read(
        &mut self,
        now: Instant,
        conn: ConnId,
        buf: &mut BytesMut,
        observe: &mut dyn FnMut(&Message),
    ) -> bool {
        let mut handled = 0;
        let backlog = loop {
            if handled == FRAME_BATCH {
                break true;
            }
            match next_frame(buf, self.limits.max_message_size) {
                Ok(Some(frame)) => {
                    handled += 1;
                    if !self.on_frame(now, conn, frame, observe) {
                        break false;
                    }
                }
                Ok(None) => {
                    self.partial.retain(|(c, _)| *c != conn);
                    if !buf.is_empty() {
                        let since = self.partial_since(conn).unwrap_or(now);
                        self.partial.push((conn, since));
                    }
                    break false;
                }
                Err(e) => {
                    // The stream cannot be framed any more (§2.1): answer the header if
                    // it is a request, then close.
                    warn!(error = %e, "unframeable input, closing the connection");
                    let raw = buf.split().freeze();
                    let answered = self.answer_raw(conn, &raw, e.result_code().0, None);
                    self.close_for(now, conn, InputError::Unframeable(e), answered);
                    break false;
                }
            }
        };
        self.pump(now);
        backlog
    }

    fn partial_since(&self, conn: ConnId) -> Option<Instant> {
        self.partial
            .iter()
            .find(|(c, _)| *c == conn)
            .map(|(_, t)| *t)
    }

    /// One complete message; `false` when its connection was closed for it.
    fn on_frame(
        &mut self,
        now: Instant,
        conn: ConnId,
        frame: Bytes,
        observe: &mut dyn FnMut(&Message),
    ) -> bool {
        match Message::decode_with(frame.clone(), &self.limits) {
            Ok(msg) => {
                let _span = message_span(&msg).entered();
                observe(&msg);
                let msg = match self.hold_dpr(now, conn, msg) {
                    Some(msg) => msg,
                    None => return true,
                };
                if let Err(e) = self.peer.handle_message(now, conn, msg) {
                    debug!(error = %e, "message refused by the state machine");
                }
                true
            }
            Err(e) if self.peer.open_connection() != Some(conn) => {
                // Before R-Open/I-Open only capabilities messages are welcome (§5.6).
                debug!(error = %e, "undecodable message before Open, closing");
                self.close_for(now, conn, InputError::BeforeOpen, false);
                false
            }
            Err(e) => {
                // Framing holds, the content does not: answer with the error (3008 for
                // header bits, 5014 for AVP lengths, ...) and keep the connection.
                let failed = e.failed_avp();
                let answered = self.answer_raw(conn, &frame, e.result_code(), failed);
                self.events.push_back(Event::InputError {
                    conn,
                    error: InputError::Undecodable,
                    answered,
                });
                true
            }
        }
    }

    /// Queues an error answer to a message that did not decode; whether there was one
    /// (only requests are answered).
    fn answer_raw(&mut self, conn: ConnId, raw: &Bytes, code: u32, failed: Option<&Bytes>) -> bool {
        match raw_error_answer(raw, &self.peer.config().local, code, failed) {
            Some(a) => {
                self.transmits.push_back(Transmit {
                    conn,
                    bytes: a.into_bytes(),
                });
                true
            }
            None => false,
        }
    }

    /// Reports bad input on `conn` and closes it (written out first: an error answer
    /// queued for it still goes).
    fn close_for(&mut self, now: Instant, conn: ConnId, error: InputError, answered: bool) {
        self.events.push_back(Event::InputError {
            conn,
            error,
            answered,
        });
        self.actions.push_back(Action::Close {
            conn,
            reason: CloseReason::BadInput,
        });
        self.handle_disconnected(now, conn);
    }

    /// Sends a request on the open connection. Not sent (peer not available, stopping,
    /// table full): its outcome is queued at once (`Failover` without the T flag, since
    /// no peer saw it, or `Failed`). Returns whether it was sent.
    pub(crate) fn send_request(&mut self, now: Instant, mut p: Pending<W>) -> bool {
        if !self.peer.is_available() || self.drain.is_some() || self.held_dpr.is_some() {
            self.reroute(p, false);
            return false;
        }
        let hbh = self.peer.next_hop_by_hop();
        p.request = stamp_ids(p.request, hbh, &self.peer.config().end_to_end);
        let bytes = p.request.clone();
        if let Err((_, p)) = self.pending.insert(hbh, p.deadline, p) {
            self.outcome(Outcome::Failed {
                pending: p,
                error: RequestError::TooManyPending,
            });
            return false;
        }
        let sent = self.peer.send_request(bytes).is_ok();
        if !sent {
            if let Some(p) = self.pending.answer(hbh) {
                self.reroute(p, false);
            }
        }
        self.track_progress(now, false);
        self.pump(now);
        sent
    }

    /// The timer fired: the peer's timers, request deadlines (`Failed` with
    /// [`RequestError::Timeout`], or `Retry`), frame timeouts (the connection is closed)
    /// and the drain.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.peer.poll_timeout().is_some_and(|t| t <= now) {
            self.peer.handle_timeout(now);
        }
        while let Some((_, p)) = self.pending.expire(now) {
            self.timed_out(now, p);
        }
        self.track_progress(now, false);
        let frame_timeout = self.config.frame_timeout;
        let slow: Vec<ConnId> = self
            .partial
            .iter()
            .filter(|(_, t)| *t + frame_timeout <= now)
            .map(|(c, _)| *c)
            .collect();
        for conn in slow {
            warn!("message not completed within the frame timeout, closing");
            self.close_for(now, conn, InputError::FrameTimeout, false);
        }
        self.maybe_send_dpr(now);
        self.pump(now);
    }

    /// The link ends for good (the task stops): every pending request fails with
    /// [`RequestError::PeerGone`].
    pub(crate) fn abandon(&mut self) {
        let gone: Vec<Pending<W>> = self.pending.drain().map(|(_, p)| p).collect();
        self.waiting_since = None;
        for p in gone {
            self.outcome(Outcome::Failed {
                pending: p,
                error: RequestError::PeerGone,
            });
        }
    }

    // ----- outputs -----

    #[must_use]
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits
            .pop_front()
            .or_else(|| self.peer.poll_transmit())
    }

    #[must_use]
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front().or_else(|| self.peer.poll_action())
    }

    #[must_use]
    pub(crate) fn poll_event(&mut self) -> Option<Event<W>> {
        self.events.pop_front()
    }

    /// The earliest instant [`Self::handle_timeout`] has something to do.
    #[must_use]
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        let frame_timeout = self.config.frame_timeout;
        let partial = self.partial.iter().map(|(_, t)| *t + frame_timeout).min();
        let drain = self.drain.as_ref().and_then(Drain::deadline);
        let held = self.held_dpr.as_ref().and_then(Drain::deadline);
        [
            self.peer.poll_timeout(),
            self.pending.next_deadline(),
            partial,
            drain,
            held,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- internals -----

    fn outcome(&mut self, o: Outcome<W>) {
        self.events.push_back(Event::Outcome(o));
    }

    /// Takes the peer's events: requests go out to be dispatched, answers are matched
    /// with their pending request, a failing link moves its pending requests elsewhere.
    fn pump(&mut self, now: Instant) {
        while let Some(e) = self.peer.poll_event() {
            match e {
                peer::Event::Message { conn, msg } if msg.is_request() => {
                    self.events.push_back(Event::Request { conn, msg });
                }
                peer::Event::Message { msg, .. } => {
                    match self.pending.answer(msg.header().hop_by_hop) {
                        Some(p) => {
                            self.on_answer(p, msg);
                            self.track_progress(now, true);
                        }
                        None => self.events.push_back(Event::UnmatchedAnswer(msg)),
                    }
                    self.maybe_send_dpr(now);
                }
                peer::Event::Watchdog(w) => {
                    self.events.push_back(Event::Peer(peer::Event::Watchdog(w)));
                    if w == WatchdogState::Suspect {
                        // RFC 3539 §3.4.1: failover; an answer that still comes is dropped.
                        self.fail_over_pending();
                    }
                }
                e @ peer::Event::Closed { .. } => {
                    self.events.push_back(Event::Peer(e));
                    self.fail_over_pending();
                }
                e => self.events.push_back(Event::Peer(e)),
            }
        }
    }

    /// An answer to one of our requests: a 3006 to follow (§6.13), else the outcome.
    fn on_answer(&mut self, p: Pending<W>, answer: Message) {
        if p.follows_redirects
            && self.config.follow_redirects
            && p.hops < MAX_HOPS
            && answer.header().flags.is_error()
        {
            if let Some(indication) = RedirectIndication::from_answer(&answer) {
                self.outcome(Outcome::Redirected {
                    pending: p,
                    answer,
                    indication,
                });
                return;
            }
        }
        self.outcome(Outcome::Answered { pending: p, answer });
    }

    /// Every request waiting for this peer's answer goes elsewhere, with the T flag
    /// (§5.5.4: connection lost, watchdog SUSPECT).
    fn fail_over_pending(&mut self) {
        let moved: Vec<Pending<W>> = self.pending.drain().map(|(_, p)| p).collect();
        self.waiting_since = None;
        if !moved.is_empty() {
            warn!(requests = moved.len(), "failover of pending requests");
        }
        for p in moved {
            self.reroute(p, true);
        }
    }

    /// A request leaves this peer unanswered: to another peer (`retransmit`: the T flag,
    /// it may have been seen here) unless it went through [`MAX_HOPS`] already or the
    /// node is stopping, in which case it fails with [`RequestError::PeerGone`].
    fn reroute(&mut self, mut p: Pending<W>, retransmit: bool) {
        if p.hops >= MAX_HOPS || self.drain.is_some() {
            self.outcome(Outcome::Failed {
                pending: p,
                error: RequestError::PeerGone,
            });
            return;
        }
        if retransmit {
            p.request = with_t_flag(p.request);
        }
        self.outcome(Outcome::Failover {
            pending: p,
            retransmit,
        });
    }

    /// A request whose deadline passed unanswered (its entry is gone: a late answer from
    /// this peer matches nothing): retried elsewhere once if it may be ([`Pending::retry`];
    /// with the T flag, since this peer may have seen it, and a new deadline), else
    /// `Failed` with [`RequestError::Timeout`]. Not while stopping, like a failover.
    fn timed_out(&mut self, now: Instant, mut p: Pending<W>) {
        match p.retry.take() {
            Some(wait) if p.hops < MAX_HOPS && self.drain.is_none() => {
                p.deadline = now + wait;
                p.request = with_t_flag(p.request);
                self.outcome(Outcome::Retry { pending: p });
            }
            _ => self.outcome(Outcome::Failed {
                pending: p,
                error: RequestError::Timeout,
            }),
        }
    }

    /// Graceful stop: DPR once nothing is owed or the drain time is up; a held DPR goes to
    /// the state machine once nothing is owed to the peer elsewhere.
    fn maybe_send_dpr(&mut self, now: Instant) {
        if self.drain.is_none() && self.held_dpr.is_none() {
            return;
        }
        let (here, elsewhere) = (self.pending.len(), self.owed());
        let steps = [
            self.drain.as_mut().map(|d| d.step(now, here, elsewhere)),
            self.held_dpr.as_mut().map(|d| d.step(now, 0, elsewhere)),
        ];
        let mut gave_up = false;
        for step in steps.into_iter().flatten() {
            match step {
                Step::Wait => {}
                Step::GiveUp => gave_up = true,
                Step::Done(Then::Dpr(cause)) => self.peer.stop(now, cause),
                Step::Done(Then::Dpa { conn, dpr }) => {
                    if let Err(e) = self.peer.handle_message(now, conn, dpr) {
                        debug!(error = %e, "held DPR refused by the state machine");
                    }
                }
            }
        }
        if gave_up {
            // Once for both: the owner answers every request still owed, then sets 0.
            self.events.push_back(Event::OwedExpired);
        }
    }

    /// A DPR from the open connection while requests are still owed to the peer is held
    /// (returns `None`) until they are answered or the drain time is up; anything else is
    /// handed back.
    fn hold_dpr(&mut self, now: Instant, conn: ConnId, msg: Message) -> Option<Message> {
        let is_dpr = crate::peer::base::classify(&msg) == crate::peer::base::BaseKind::Dpr;
        if !is_dpr || self.held_dpr.is_some() || self.peer.open_connection() != Some(conn) {
            return Some(msg);
        }
        // Requests read before it in this batch become events first, to be counted.
        self.pump(now);
        let owed = self.owed();
        if owed == 0 {
            return Some(msg);
        }
        debug!(owed, "DPR held until what is owed is answered");
        let deadline = now + self.config.drain_timeout;
        self.held_dpr = Some(Drain::new(Then::Dpa { conn, dpr: msg }, deadline));
        None
    }

    /// What the node owes the peer besides the requests pending here: what the owner said
    /// ([`Self::set_owed_elsewhere`]), plus the peer's requests read but not yet handed to
    /// the owner (an [`Event::Request`] not polled yet: the owner's count cannot include
    /// them, e.g. a request and a DPR read in one batch).
    fn owed(&self) -> usize {
        let unpolled = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Request { .. }))
            .count();
        self.owed_elsewhere + unpolled
    }

    /// Keeps [`Self::waiting_since`]: cleared when nothing is pending, reset when an answer
    /// came (`progress`), else set when the first request starts waiting.
    fn track_progress(&mut self, now: Instant, progress: bool) {
        self.waiting_since = if self.pending.len() == 0 {
            None
        } else if progress {
            Some(now)
        } else {
            self.waiting_since.or(Some(now))
        };
    }
}

/// The span of one message: its command, Hop-by-Hop and End-to-End Identifiers, R bit
/// (TRACE: without a subscriber at that level it costs a check of the callsite's
/// interest, nothing is recorded).
#[inline]
pub(crate) fn message_span(msg: &Message) -> tracing::Span {
    let h = msg.header();
    tracing::trace_span!(
        "message",
        command = h.code,
        request = h.flags.is_request(),
        hop_by_hop = h.hop_by_hop,
        end_to_end = h.end_to_end
    )
}
