//! The [`Peer`] state machine: the transition table of RFC 6733 §5.6, one method per
//! event, each `match`ing on the state as the table's rows do.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use diameter_core::generated::base::{
    CapabilitiesExchangeAnswer, CapabilitiesExchangeRequest, DisconnectCause,
};
use diameter_core::typed::Command;
use diameter_core::{Header, Message, ResultCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::base::{self, BaseKind};
use super::capabilities::PeerCapabilities;
use super::config::PeerConfig;
use super::election;
use super::error::PeerError;
use super::state::PeerState;
use super::timer::{Timer, TimerTable};
use super::watchdog::{Watchdog, WatchdogAction, WatchdogState};
use super::{Action, CloseReason, ConnId, Event, Transmit};
use crate::ids::HopByHop;

/// A CER received on the responder connection, processed but not answered yet because an
/// election is in progress (Wait-Conn-Ack/Elect, Wait-Returns).
#[derive(Clone, Debug)]
struct HeldCer {
    header: Header,
    capabilities: Arc<PeerCapabilities>,
}

/// One peer's state machine (RFC 6733 §5.6) with its watchdog (RFC 3539).
#[derive(Debug)]
pub(crate) struct Peer {
    config: PeerConfig,
    state: PeerState,
    initiator: Option<ConnId>,
    responder: Option<ConnId>,
    /// The connection of R-Open/I-Open (kept in Closing).
    open: Option<ConnId>,
    held_cer: Option<HeldCer>,
    remote: Option<Arc<PeerCapabilities>>,
    watchdog: Watchdog,
    timers: TimerTable,
    rng: StdRng,
    hop_by_hop: HopByHop,
    reconnect_attempts: u32,
    /// No reconnection before this instant (after DPR with BUSY/DO_NOT_WANT_TO_TALK_TO_YOU).
    quiet_until: Option<Instant>,
    /// The application said Stop: no reconnection until Start.
    stopped: bool,
    /// The Disconnect-Cause of the DPR sent or received in Closing.
    closing_cause: Option<DisconnectCause>,
    /// Inband TLS negotiated on this connection and not started yet: what is sent on it
    /// meanwhile waits here, so that nothing but the CEA goes out in the clear.
    tls_hold: Option<(ConnId, Vec<Bytes>)>,
    available: bool,
    transmits: VecDeque<Transmit>,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

impl Peer {
    /// A peer in Closed.
    pub(crate) fn new(config: PeerConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(config.rng_seed);
        let hop_by_hop = HopByHop::new(rng.random());
        let watchdog = Watchdog::new(config.timers.watchdog, config.timers.watchdog_jitter);
        Self {
            config,
            state: PeerState::Closed,
            initiator: None,
            responder: None,
            open: None,
            held_cer: None,
            remote: None,
            watchdog,
            timers: TimerTable::default(),
            rng,
            hop_by_hop,
            reconnect_attempts: 0,
            quiet_until: None,
            stopped: false,
            closing_cause: None,
            tls_hold: None,
            available: false,
            transmits: VecDeque::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ----- queries -----

    /// The §5.6 state.
    pub(crate) fn state(&self) -> PeerState {
        self.state
    }

    /// The RFC 3539 watchdog state.
    pub(crate) fn watchdog_state(&self) -> WatchdogState {
        self.watchdog.state()
    }

    /// Whether requests may be sent: R-Open or I-Open, and the watchdog OKAY.
    pub(crate) fn is_available(&self) -> bool {
        self.state.is_open() && self.watchdog.is_available()
    }

    /// The connection of R-Open/I-Open/Closing.
    pub(crate) fn open_connection(&self) -> Option<ConnId> {
        self.open
    }

    /// What the peer advertised in its last CER/CEA.
    #[cfg(test)]
    pub(crate) fn remote(&self) -> Option<&Arc<PeerCapabilities>> {
        self.remote.as_ref()
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// A fresh Hop-by-Hop Identifier for a request on this peer's connection (§3).
    pub(crate) fn next_hop_by_hop(&mut self) -> u32 {
        self.hop_by_hop.next_id()
    }

    // ----- outputs -----

    /// The next bytes to write.
    #[must_use]
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next transport action.
    #[must_use]
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next application event.
    #[must_use]
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next.
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    // ----- application commands -----

    /// Start (§5.6): connect to the peer. Also clears a previous Stop.
    pub(crate) fn start(&mut self, now: Instant) {
        self.stopped = false;
        self.timers.stop(Timer::Reconnect);
        if self.state == PeerState::Closed {
            self.state = PeerState::WaitConnAck;
            self.actions.push_back(Action::Connect);
            self.timers
                .set(Timer::Connect, now + self.config.timers.connect_timeout);
        }
    }

    /// Stop (§5.6): in R-Open/I-Open send DPR with `cause` and go to Closing; before that,
    /// clean up and go to Closed. No reconnection follows until [`Self::start`].
    pub(crate) fn stop(&mut self, now: Instant, cause: DisconnectCause) {
        self.stopped = true;
        self.timers.stop(Timer::Reconnect);
        match self.state {
            PeerState::ROpen | PeerState::IOpen => {
                if let Some(conn) = self.open {
                    let hbh = self.next_hop_by_hop();
                    let e2e = self.config.end_to_end.next_id();
                    self.send_on(conn, base::dpr(&self.config.local, cause, hbh, e2e));
                }
                self.closing_cause = Some(cause);
                self.enter_closing(now);
            }
            PeerState::Closing | PeerState::Closed => {}
            _ => self.enter_closed(now, CloseReason::Stopped, false),
        }
    }

    /// Send-Message for a request: queues `bytes` on the open connection. Refused unless
    /// the peer [`is_available`](Self::is_available) (RFC 3539: no new traffic in SUSPECT
    /// or REOPEN).
    pub(crate) fn send_request(&mut self, bytes: Bytes) -> Result<ConnId, PeerError> {
        match self.open {
            Some(conn) if self.is_available() => {
                self.send_on(conn, bytes);
                Ok(conn)
            }
            _ => Err(self.not_available()),
        }
    }

    /// Send-Message for an answer: allowed whenever a connection is open (also in
    /// SUSPECT, REOPEN and Closing). The node writes answers on the connection itself;
    /// the tests push traffic through here.
    #[cfg(test)]
    pub(crate) fn send_answer(&mut self, bytes: Bytes) -> Result<ConnId, PeerError> {
        match self.open {
            Some(conn) => {
                self.send_on(conn, bytes);
                Ok(conn)
            }
            None => Err(self.not_available()),
        }
    }

    fn not_available(&self) -> PeerError {
        PeerError::NotAvailable {
            state: self.state,
            watchdog: self.watchdog.state(),
        }
    }

    // ----- transport events -----

    /// I-Rcv-Conn-Ack: the connection asked for by [`Action::Connect`] is up as `conn`.
    pub(crate) fn handle_connected(&mut self, now: Instant, conn: ConnId) -> Result<(), PeerError> {
        match self.state {
            // Wait-Conn-Ack, I-Rcv-Conn-Ack: I-Snd-CER → Wait-I-CEA.
            PeerState::WaitConnAck => {
                self.timers.stop(Timer::Connect);
                self.initiator = Some(conn);
                self.send_cer(conn);
                self.state = PeerState::WaitICea;
                self.timers
                    .set(Timer::Cea, now + self.config.timers.cea_timeout);
                Ok(())
            }
            // Wait-Conn-Ack/Elect, I-Rcv-Conn-Ack: I-Snd-CER, Elect → Wait-Returns.
            PeerState::WaitConnAckElect => {
                self.timers.stop(Timer::Connect);
                self.initiator = Some(conn);
                self.send_cer(conn);
                self.state = PeerState::WaitReturns;
                self.timers
                    .set(Timer::Cea, now + self.config.timers.cea_timeout);
                self.elect(now);
                Ok(())
            }
            state => {
                self.actions.push_back(Action::Close {
                    conn,
                    reason: CloseReason::Election,
                });
                Err(PeerError::UnexpectedEvent {
                    state,
                    event: "I-Rcv-Conn-Ack",
                })
            }
        }
    }

    /// I-Rcv-Conn-Nack: the connection attempt failed.
    pub(crate) fn handle_connect_failed(&mut self, now: Instant) -> Result<(), PeerError> {
        match self.state {
            // Wait-Conn-Ack, I-Rcv-Conn-Nack: Cleanup → Closed.
            PeerState::WaitConnAck => {
                self.enter_closed(now, CloseReason::ConnectFailed, false);
                Ok(())
            }
            // Wait-Conn-Ack/Elect, I-Rcv-Conn-Nack: R-Snd-CEA → R-Open.
            PeerState::WaitConnAckElect => {
                self.timers.stop(Timer::Connect);
                self.answer_held_cer_and_open(now);
                Ok(())
            }
            state => Err(PeerError::UnexpectedEvent {
                state,
                event: "I-Rcv-Conn-Nack",
            }),
        }
    }

    /// R-Conn-CER: a new incoming connection `conn` delivered `cer` (the acceptor has
    /// matched its Origin-Host to this peer, §5.6.1).
    pub(crate) fn handle_incoming_cer(
        &mut self,
        now: Instant,
        conn: ConnId,
        cer: &Message,
    ) -> Result<(), PeerError> {
        // R-Reject in every state that already has a responder or is open/closing.
        if matches!(
            self.state,
            PeerState::WaitConnAckElect
                | PeerState::WaitReturns
                | PeerState::ROpen
                | PeerState::IOpen
                | PeerState::Closing
        ) {
            self.actions.push_back(Action::Close {
                conn,
                reason: CloseReason::Election,
            });
            return Err(PeerError::UnexpectedEvent {
                state: self.state,
                event: "R-Conn-CER",
            });
        }
        // Process-CER; a refused CER is answered with its Result-Code and closed, and the
        // state does not change.
        let typed = match super::capabilities::check_cer(cer)
            .and_then(|()| CapabilitiesExchangeRequest::decode(cer))
        {
            Ok(t) => t,
            Err(e) => {
                let cea = self.config.local.cea_refusing(cer.header(), &e);
                self.send_on(conn, cea);
                self.actions.push_back(Action::Close {
                    conn,
                    reason: CloseReason::CerRejected(ResultCode(e.result_code())),
                });
                return Err(PeerError::Malformed(e));
            }
        };
        let caps = match PeerCapabilities::from_cer(&self.config.local, &typed) {
            Ok(c) => Arc::new(c),
            Err(rej) => {
                let cea = self
                    .config
                    .local
                    .cea(cer.header(), rej.result_code, Some(rej.message));
                self.send_on(conn, cea.to_bytes());
                self.actions.push_back(Action::Close {
                    conn,
                    reason: CloseReason::CerRejected(ResultCode(rej.result_code)),
                });
                return Err(PeerError::CapabilitiesRejected(ResultCode(rej.result_code)));
            }
        };
        self.responder = Some(conn);
        self.held_cer = Some(HeldCer {
            header: *cer.header(),
            capabilities: caps,
        });
        match self.state {
            // Closed, R-Conn-CER: R-Accept, Process-CER, R-Snd-CEA → R-Open.
            PeerState::Closed => {
                self.timers.stop(Timer::Reconnect);
                self.answer_held_cer_and_open(now);
            }
            // Wait-Conn-Ack, R-Conn-CER: R-Accept, Process-CER → Wait-Conn-Ack/Elect.
            PeerState::WaitConnAck => self.state = PeerState::WaitConnAckElect,
            // Wait-I-CEA, R-Conn-CER: R-Accept, Process-CER, Elect → Wait-Returns.
            PeerState::WaitICea => {
                self.state = PeerState::WaitReturns;
                self.elect(now);
            }
            _ => {}
        }
        Ok(())
    }

    /// Peer-Disc: the transport of `conn` went away.
    pub(crate) fn handle_disconnected(
        &mut self,
        now: Instant,
        conn: ConnId,
    ) -> Result<(), PeerError> {
        let is_i = self.initiator == Some(conn);
        let is_r = self.responder == Some(conn);
        if !is_i && !is_r {
            return Err(PeerError::UnknownConnection(conn));
        }
        match self.state {
            // Wait-I-CEA, I-Peer-Disc: I-Disc → Closed.
            PeerState::WaitICea if is_i => {
                self.initiator = None;
                self.enter_closed(now, CloseReason::PeerDisconnected, false);
            }
            // Wait-Conn-Ack/Elect, R-Peer-Disc: R-Disc → Wait-Conn-Ack.
            PeerState::WaitConnAckElect if is_r => {
                self.responder = None;
                self.held_cer = None;
                self.state = PeerState::WaitConnAck;
            }
            // Wait-Returns, I-Peer-Disc: I-Disc, R-Snd-CEA → R-Open.
            PeerState::WaitReturns if is_i => {
                self.initiator = None;
                self.answer_held_cer_and_open(now);
            }
            // Wait-Returns, R-Peer-Disc: R-Disc → Wait-I-CEA.
            PeerState::WaitReturns if is_r => {
                self.responder = None;
                self.held_cer = None;
                self.state = PeerState::WaitICea;
            }
            // R-Open / I-Open, Peer-Disc on the open connection: Disc → Closed.
            PeerState::ROpen | PeerState::IOpen if self.open == Some(conn) => {
                self.forget(conn);
                self.enter_closed(now, CloseReason::PeerDisconnected, false);
            }
            // Closing, Peer-Disc: Disc → Closed (clean when DPR/DPA went through).
            PeerState::Closing if self.open == Some(conn) => {
                self.forget(conn);
                let reason = match self.closing_cause {
                    Some(c) => CloseReason::Disconnected(c),
                    None => CloseReason::PeerDisconnected,
                };
                self.enter_closed(now, reason, true);
            }
            // A connection that already lost the election, or an unrelated one.
            _ => self.forget(conn),
        }
        self.sync_watchdog_timer();
        Ok(())
    }

    /// A message arrived on `conn`.
    pub(crate) fn handle_message(
        &mut self,
        now: Instant,
        conn: ConnId,
        msg: Message,
    ) -> Result<(), PeerError> {
        let kind = base::classify(&msg);
        let result = self.dispatch(now, conn, msg, kind);
        self.sync_watchdog_timer();
        result
    }

    fn dispatch(
        &mut self,
        now: Instant,
        conn: ConnId,
        msg: Message,
        kind: BaseKind,
    ) -> Result<(), PeerError> {
        let on_i = self.initiator == Some(conn);
        match self.state {
            PeerState::WaitICea if on_i => match kind {
                // Wait-I-CEA, I-Rcv-CEA: Process-CEA → I-Open.
                BaseKind::Cea => self.process_cea(now, conn, &msg),
                // Wait-I-CEA, I-Rcv-Non-CEA: Error → Closed.
                _ => {
                    self.enter_closed(now, CloseReason::UnexpectedMessage, false);
                    Err(unexpected(PeerState::WaitICea, &msg))
                }
            },
            // Wait-Returns, I-Rcv-CEA: R-Disc → I-Open.
            // (A refused CEA there lets the responder connection take over instead.)
            PeerState::WaitReturns if on_i && kind == BaseKind::Cea => {
                let result = self.process_cea(now, conn, &msg);
                if self.state == PeerState::IOpen {
                    if let Some(r) = self.responder.take() {
                        self.actions.push_back(Action::Close {
                            conn: r,
                            reason: CloseReason::Election,
                        });
                    }
                    self.held_cer = None;
                }
                result
            }
            PeerState::ROpen | PeerState::IOpen | PeerState::Closing if self.open == Some(conn) => {
                self.process_open(now, conn, msg, kind)
            }
            state => Err(
                if self.initiator == Some(conn) || self.responder == Some(conn) {
                    unexpected(state, &msg)
                } else {
                    PeerError::UnknownConnection(conn)
                },
            ),
        }
    }

    /// Messages in R-Open / I-Open / Closing on the open connection.
    fn process_open(
        &mut self,
        now: Instant,
        conn: ConnId,
        msg: Message,
        kind: BaseKind,
    ) -> Result<(), PeerError> {
        let closing = self.state == PeerState::Closing;
        match kind {
            // Rcv-DWR: Process-DWR, Snd-DWA. A DWR is traffic for the watchdog too, but is
            // answered even in REOPEN.
            BaseKind::Dwr => {
                self.send_on(conn, base::dwa(&self.config.local, &msg));
                if !closing {
                    let (_, action) = self.watchdog.on_non_dwa(now, &mut self.rng);
                    self.apply_watchdog(now, action);
                }
                Ok(())
            }
            // Rcv-DWA: Process-DWA.
            BaseKind::Dwa => {
                if !closing {
                    let action = self.watchdog.on_dwa(now, &mut self.rng);
                    self.apply_watchdog(now, action);
                }
                Ok(())
            }
            // Rcv-DPR: Snd-DPA → Closing. The DPR's sender closes the transport (§5.4).
            BaseKind::Dpr => {
                let cause = base::disconnect_cause(&msg);
                self.send_on(conn, base::dpa(&self.config.local, &msg));
                self.events.push_back(Event::DisconnectRequested(cause));
                if cause == DisconnectCause::BUSY
                    || cause == DisconnectCause::DO_NOT_WANT_TO_TALK_TO_YOU
                {
                    self.quiet_until = Some(now + self.config.timers.quiet_after_dpr);
                }
                self.closing_cause = Some(cause);
                if !closing {
                    self.enter_closing(now);
                }
                Ok(())
            }
            // Closing, Rcv-DPA: Disc → Closed.
            BaseKind::Dpa if closing => {
                let cause = self.closing_cause.unwrap_or(DisconnectCause::REBOOTING);
                self.enter_closed(now, CloseReason::Disconnected(cause), true);
                Ok(())
            }
            // A CER on the open connection: capabilities are exchanged once per connection
            // (§5.3); the table has no such row, so it is answered with 5012 and the
            // connection stays up.
            BaseKind::Cer => {
                let cea = self.config.local.cea(
                    msg.header(),
                    ResultCode::DIAMETER_UNABLE_TO_COMPLY.0,
                    Some("capabilities already exchanged on this connection"),
                );
                self.send_on(conn, cea.to_bytes());
                Err(unexpected(self.state, &msg))
            }
            BaseKind::Cea | BaseKind::Dpa => Err(unexpected(self.state, &msg)),
            // Rcv-Message: Process. REOPEN throws application traffic away (RFC 3539).
            BaseKind::Other => {
                let keep = if closing {
                    true
                } else {
                    let (keep, action) = self.watchdog.on_non_dwa(now, &mut self.rng);
                    self.apply_watchdog(now, action);
                    keep
                };
                if keep {
                    self.events.push_back(Event::Message { conn, msg });
                }
                Ok(())
            }
        }
    }

    /// Timeout: handles every timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.expire(now) {
            match timer {
                Timer::Connect | Timer::Cea => {
                    if !matches!(self.state, PeerState::Closed | PeerState::Closing)
                        && !self.state.is_open()
                    {
                        self.enter_closed(now, CloseReason::Timeout(timer), false);
                    }
                }
                Timer::Dpa => {
                    if self.state == PeerState::Closing {
                        let clean = self.closing_cause.is_some();
                        self.enter_closed(now, CloseReason::Timeout(Timer::Dpa), clean);
                    }
                }
                Timer::Watchdog => {
                    if self.state.is_open() {
                        let action = self.watchdog.on_timeout(now, &mut self.rng);
                        self.apply_watchdog(now, action);
                    }
                }
                Timer::Reconnect => {
                    if self.state == PeerState::Closed && !self.stopped {
                        self.start(now);
                    }
                }
            }
        }
        self.sync_watchdog_timer();
    }

    // ----- internals -----

    fn send_on(&mut self, conn: ConnId, bytes: Bytes) {
        if let Some((held_conn, held)) = &mut self.tls_hold {
            if *held_conn == conn {
                held.push(bytes);
                return;
            }
        }
        self.transmits.push_back(Transmit { conn, bytes });
    }

    /// The driver has put `conn` under TLS ([`Event::StartTls`]): what was sent on it
    /// since the CEA goes out now, through TLS.
    pub(crate) fn tls_started(&mut self, conn: ConnId) {
        if self.tls_hold.as_ref().is_some_and(|(c, _)| *c == conn) {
            if let Some((_, held)) = self.tls_hold.take() {
                for bytes in held {
                    self.transmits.push_back(Transmit { conn, bytes });
                }
            }
        }
    }

    fn send_cer(&mut self, conn: ConnId) {
        let mut cer = self.config.local.cer();
        cer.header.hop_by_hop = self.next_hop_by_hop();
        cer.header.end_to_end = self.config.end_to_end.next_id();
        self.send_on(conn, cer.to_bytes());
    }

    /// Elect (§5.6.4), run once both connections exist (Wait-Returns).
    fn elect(&mut self, now: Instant) {
        let Some(held) = &self.held_cer else { return };
        if self.state != PeerState::WaitReturns {
            return;
        }
        if election::local_wins(
            &self.config.local.origin_host,
            &held.capabilities.origin_host,
        ) {
            // Wait-Returns, Win-Election: I-Disc, R-Snd-CEA → R-Open.
            if let Some(i) = self.initiator.take() {
                self.actions.push_back(Action::Close {
                    conn: i,
                    reason: CloseReason::Election,
                });
            }
            self.answer_held_cer_and_open(now);
        }
        // Lost: wait for the CEA on the initiator connection (I-Rcv-CEA → R-Disc, I-Open).
    }

    /// R-Snd-CEA → R-Open.
    fn answer_held_cer_and_open(&mut self, now: Instant) {
        let (Some(held), Some(conn)) = (self.held_cer.take(), self.responder) else {
            self.enter_closed(now, CloseReason::PeerDisconnected, false);
            return;
        };
        let mut cea = self
            .config
            .local
            .cea(&held.header, ResultCode::DIAMETER_SUCCESS.0, None);
        // The CEA names the security chosen (TLS, or nothing for NO_INBAND_SECURITY).
        cea.inband_security_id = if held.capabilities.applications.tls {
            vec![super::capabilities::INBAND_TLS]
        } else {
            Vec::new()
        };
        self.send_on(conn, cea.to_bytes());
        self.enter_open(now, PeerState::ROpen, conn, held.capabilities);
    }

    /// Process-CEA → I-Open, or Error → Closed.
    fn process_cea(&mut self, now: Instant, conn: ConnId, msg: &Message) -> Result<(), PeerError> {
        let cea = match CapabilitiesExchangeAnswer::decode(msg) {
            Ok(c) => c,
            Err(e) => {
                self.initiator = None;
                self.actions.push_back(Action::Close {
                    conn,
                    reason: CloseReason::CapabilitiesRejected(ResultCode(e.result_code())),
                });
                self.fail_initiator(
                    now,
                    CloseReason::CapabilitiesRejected(ResultCode(e.result_code())),
                );
                return Err(PeerError::Malformed(e));
            }
        };
        let caps = if ResultCode(cea.result_code).is_success() {
            PeerCapabilities::from_cea(&self.config.local, &cea).map_err(|r| r.result_code)
        } else {
            Err(cea.result_code)
        };
        match caps {
            Ok(caps) => {
                self.enter_open(now, PeerState::IOpen, conn, Arc::new(caps));
                Ok(())
            }
            Err(code) => {
                if code == ResultCode::DIAMETER_NO_COMMON_APPLICATION.0
                    || code == ResultCode::DIAMETER_UNKNOWN_PEER.0
                {
                    // The peer does not want us (§5.3): do not hammer it.
                    self.quiet_until = Some(now + self.config.timers.quiet_after_dpr);
                }
                self.initiator = None;
                self.actions.push_back(Action::Close {
                    conn,
                    reason: CloseReason::CapabilitiesRejected(ResultCode(code)),
                });
                self.fail_initiator(now, CloseReason::CapabilitiesRejected(ResultCode(code)));
                Err(PeerError::CapabilitiesRejected(ResultCode(code)))
            }
        }
    }

    /// The initiator connection failed its CER/CEA: with a held CER (Wait-Returns) the
    /// responder connection takes over, as on I-Peer-Disc; otherwise Closed.
    fn fail_initiator(&mut self, now: Instant, reason: CloseReason) {
        if self.state == PeerState::WaitReturns && self.held_cer.is_some() {
            self.answer_held_cer_and_open(now);
        } else {
            self.enter_closed(now, reason, false);
        }
    }

    fn enter_open(
        &mut self,
        now: Instant,
        state: PeerState,
        conn: ConnId,
        caps: Arc<PeerCapabilities>,
    ) {
        self.timers.stop(Timer::Connect);
        self.timers.stop(Timer::Cea);
        self.timers.stop(Timer::Reconnect);
        self.state = state;
        self.open = Some(conn);
        self.closing_cause = None;
        self.reconnect_attempts = 0;
        self.remote = Some(caps.clone());
        let tls = caps.applications.tls;
        self.events.push_back(Event::Opened {
            conn,
            capabilities: caps,
        });
        if tls {
            // RFC 3588 §2.1: the TLS handshake begins once CER/CEA are done; until the
            // driver says it has started (`tls_started`), sending waits.
            self.tls_hold = Some((conn, Vec::new()));
            self.events.push_back(Event::StartTls {
                conn,
                client: state == PeerState::IOpen,
            });
        }
        let action = self.watchdog.connection_up(now, &mut self.rng);
        self.events
            .push_back(Event::Watchdog(self.watchdog.state()));
        self.apply_watchdog(now, action);
        self.refresh_availability();
        self.sync_watchdog_timer();
    }

    fn enter_closing(&mut self, now: Instant) {
        self.state = PeerState::Closing;
        self.timers.stop(Timer::Watchdog);
        self.timers
            .set(Timer::Dpa, now + self.config.timers.dpa_timeout);
        self.refresh_availability();
    }

    /// Any transition to Closed: close what is left, settle the watchdog, tell the
    /// application, and plan the next connection attempt.
    fn enter_closed(&mut self, now: Instant, reason: CloseReason, clean: bool) {
        let was_open = self.state.is_open() || self.state == PeerState::Closing;
        for conn in [self.initiator.take(), self.responder.take()]
            .into_iter()
            .flatten()
        {
            self.actions.push_back(Action::Close {
                conn,
                reason: reason.clone(),
            });
        }
        self.open = None;
        self.held_cer = None;
        self.tls_hold = None;
        self.timers.stop_all();
        if was_open {
            let before = self.watchdog.state();
            if clean {
                self.watchdog.reset();
            } else {
                self.watchdog.connection_down();
            }
            if self.watchdog.state() != before {
                self.events
                    .push_back(Event::Watchdog(self.watchdog.state()));
            }
        }
        let was = self.state;
        self.state = PeerState::Closed;
        self.refresh_availability();
        if was != PeerState::Closed {
            self.events.push_back(Event::Closed { reason });
        }
        self.schedule_reconnect(now);
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        if !self.config.persistent || self.stopped {
            return;
        }
        let t = &self.config.timers;
        let exp = self.reconnect_attempts.min(16);
        let base = t
            .reconnect_min
            .saturating_mul(1u32 << exp)
            .min(t.reconnect_max)
            .max(Duration::from_millis(1));
        // ± 25 % jitter, so that many nodes restarting together do not reconnect in step.
        let factor = self.rng.random_range(0.75..=1.25);
        let mut at = now + base.mul_f64(factor);
        if let Some(q) = self.quiet_until {
            if q > at {
                at = q;
            }
        }
        self.reconnect_attempts = self.reconnect_attempts.saturating_add(1);
        self.timers.set(Timer::Reconnect, at);
    }

    fn forget(&mut self, conn: ConnId) {
        if self.tls_hold.as_ref().is_some_and(|(c, _)| *c == conn) {
            self.tls_hold = None;
        }
        if self.initiator == Some(conn) {
            self.initiator = None;
        }
        if self.responder == Some(conn) {
            self.responder = None;
        }
        if self.open == Some(conn) {
            self.open = None;
        }
    }

    fn apply_watchdog(&mut self, now: Instant, action: Option<WatchdogAction>) {
        let Some(action) = action else { return };
        match action {
            WatchdogAction::SendDwr => {
                if let Some(conn) = self.open {
                    let hbh = self.next_hop_by_hop();
                    let e2e = self.config.end_to_end.next_id();
                    self.send_on(conn, base::dwr(&self.config.local, hbh, e2e));
                }
            }
            WatchdogAction::Failover | WatchdogAction::Failback => {
                self.events
                    .push_back(Event::Watchdog(self.watchdog.state()));
                self.refresh_availability();
            }
            WatchdogAction::CloseConnection => {
                self.enter_closed(now, CloseReason::WatchdogDown, false);
            }
        }
    }

    fn refresh_availability(&mut self) {
        let now_available = self.is_available();
        if now_available != self.available {
            self.available = now_available;
            self.events.push_back(Event::Available(now_available));
        }
    }

    fn sync_watchdog_timer(&mut self) {
        match (self.state.is_open(), self.watchdog.deadline()) {
            (true, Some(at)) => self.timers.set(Timer::Watchdog, at),
            _ => self.timers.stop(Timer::Watchdog),
        }
    }
}

fn unexpected(state: PeerState, msg: &Message) -> PeerError {
    PeerError::UnexpectedMessage {
        state,
        code: msg.code(),
        kind: if msg.is_request() {
            "request"
        } else {
            "answer"
        },
    }
}
