//! Deterministic tests of the peer core: one test per RFC 6733 §5.6 transition row
//! (named `<state>__<event>`), the §5.6.4 election after simultaneous connects, the RFC 3539
//! watchdog cycles and DPR/DPA from either side. No sockets, no sleeping: virtual time.
#![allow(non_snake_case)]

mod util;

use std::time::{Duration, Instant};

use diameter_core::generated::base::DisconnectCause;

use super::error::PeerError;
use super::timer::Timer;
use super::{Action, CloseReason, ConnId, Event, Peer, PeerState, WatchdogState};
use util::{PeerPair, Remote, Side, app_request, config, decode, drain};

const I: ConnId = ConnId(1);
const R: ConnId = ConnId(2);
const R2: ConnId = ConnId(3);

/// A is "a.example.org"; the remote "b.example.org" wins elections against it, and
/// "0.example.org" loses.
fn peer() -> (Peer, Instant) {
    (Peer::new(config("a.example.org", 1)), Instant::now())
}

fn closes(actions: &[Action], conn: ConnId) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Close { conn: c, .. } if *c == conn))
}

fn opened(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::Opened { .. }))
}

/// Drives A into Wait-I-CEA on connection I and returns the CER it sent.
fn to_wait_i_cea(p: &mut Peer, now: Instant) -> bytes::Bytes {
    p.start(now);
    p.handle_connected(now, I).unwrap();
    let (t, _, _) = drain(p);
    assert_eq!(p.state(), PeerState::WaitICea);
    t[0].bytes.clone()
}

/// Drives A into I-Open with remote `host`.
fn to_i_open(p: &mut Peer, now: Instant, host: &str) -> Remote {
    let remote = Remote::new(host);
    let cer = to_wait_i_cea(p, now);
    p.handle_message(now, I, remote.cea(&cer, 2001)).unwrap();
    drain(p);
    assert_eq!(p.state(), PeerState::IOpen);
    remote
}

// ----- Closed -----

#[test]
fn closed__start() {
    let (mut p, now) = peer();
    p.start(now);
    assert_eq!(p.state(), PeerState::WaitConnAck);
    let (_, actions, _) = drain(&mut p);
    assert_eq!(actions, vec![Action::Connect]);
}

#[test]
fn closed__r_conn_cer() {
    let (mut p, now) = peer();
    let remote = Remote::new("b.example.org");
    p.handle_incoming_cer(now, R, &remote.cer()).unwrap();
    assert_eq!(p.state(), PeerState::ROpen);
    let (t, actions, events) = drain(&mut p);
    let cea = decode(&t[0].bytes);
    assert_eq!(
        (cea.code(), cea.is_request(), cea.result_code()),
        (257, false, Some(2001))
    );
    assert!(actions.is_empty());
    assert!(opened(&events));
    assert!(p.is_available());
    assert_eq!(p.remote().unwrap().origin_host, "b.example.org");
}

#[test]
fn closed__r_conn_cer_without_common_application_is_5010() {
    let (mut p, now) = peer();
    let mut remote = Remote::new("b.example.org");
    std::sync::Arc::make_mut(&mut remote.local).applications =
        vec![super::SupportedApplication::auth(16777238)];
    let err = p.handle_incoming_cer(now, R, &remote.cer()).unwrap_err();
    assert_eq!(
        err,
        PeerError::CapabilitiesRejected(diameter_core::ResultCode(5010))
    );
    let (t, actions, _) = drain(&mut p);
    assert_eq!(decode(&t[0].bytes).result_code(), Some(5010));
    assert!(closes(&actions, R));
    assert_eq!(p.state(), PeerState::Closed);
}

// ----- Wait-Conn-Ack -----

#[test]
fn wait_conn_ack__i_rcv_conn_ack() {
    let (mut p, now) = peer();
    let cer = to_wait_i_cea(&mut p, now);
    let cer = decode(&cer);
    assert_eq!((cer.code(), cer.is_request()), (257, true));
    assert!(p.poll_timeout().is_some());
}

#[test]
fn wait_conn_ack__i_rcv_conn_nack() {
    let (mut p, now) = peer();
    p.start(now);
    p.handle_connect_failed(now).unwrap();
    assert_eq!(p.state(), PeerState::Closed);
    // Persistent: a reconnection is planned.
    let (_, _, events) = drain(&mut p);
    assert!(events.contains(&Event::Closed {
        reason: CloseReason::ConnectFailed
    }));
    let at = p.poll_timeout().unwrap();
    p.handle_timeout(at);
    assert_eq!(p.state(), PeerState::WaitConnAck);
}

#[test]
fn wait_conn_ack__r_conn_cer() {
    let (mut p, now) = peer();
    p.start(now);
    p.handle_incoming_cer(now, R, &Remote::new("b.example.org").cer())
        .unwrap();
    assert_eq!(p.state(), PeerState::WaitConnAckElect);
    // Process-CER only: the CEA waits for the election.
    let (t, _, _) = drain(&mut p);
    assert!(t.is_empty());
}

#[test]
fn wait_conn_ack__timeout() {
    let (mut p, now) = peer();
    p.start(now);
    let at = p.poll_timeout().unwrap();
    p.handle_timeout(at);
    assert_eq!(p.state(), PeerState::Closed);
    let (_, _, events) = drain(&mut p);
    assert!(events.contains(&Event::Closed {
        reason: CloseReason::Timeout(Timer::Connect)
    }));
}

// ----- Wait-I-CEA -----

#[test]
fn wait_i_cea__i_rcv_cea() {
    let (mut p, now) = peer();
    to_i_open(&mut p, now, "b.example.org");
    assert!(p.is_available());
    assert_eq!(p.open_connection(), Some(I));
}

#[test]
fn wait_i_cea__i_rcv_cea_with_error() {
    let (mut p, now) = peer();
    let remote = Remote::new("b.example.org");
    let cer = to_wait_i_cea(&mut p, now);
    let err = p
        .handle_message(now, I, remote.cea(&cer, 3010))
        .unwrap_err();
    assert_eq!(
        err,
        PeerError::CapabilitiesRejected(diameter_core::ResultCode(3010))
    );
    assert_eq!(p.state(), PeerState::Closed);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, I));
}

#[test]
fn wait_i_cea__r_conn_cer_lost_election() {
    let (mut p, now) = peer();
    to_wait_i_cea(&mut p, now);
    p.handle_incoming_cer(now, R, &Remote::new("b.example.org").cer())
        .unwrap();
    assert_eq!(p.state(), PeerState::WaitReturns);
    let (t, actions, _) = drain(&mut p);
    assert!(t.is_empty() && actions.is_empty());
}

#[test]
fn wait_i_cea__r_conn_cer_won_election() {
    let (mut p, now) = peer();
    to_wait_i_cea(&mut p, now);
    // "a.example.org" succeeds "0.example.org": Win-Election → I-Disc, R-Snd-CEA, R-Open.
    p.handle_incoming_cer(now, R, &Remote::new("0.example.org").cer())
        .unwrap();
    assert_eq!(p.state(), PeerState::ROpen);
    let (t, actions, _) = drain(&mut p);
    assert!(closes(&actions, I));
    assert_eq!(
        (t[0].conn, decode(&t[0].bytes).result_code()),
        (R, Some(2001))
    );
}

#[test]
fn wait_i_cea__i_peer_disc() {
    let (mut p, now) = peer();
    to_wait_i_cea(&mut p, now);
    p.handle_disconnected(now, I).unwrap();
    assert_eq!(p.state(), PeerState::Closed);
}

#[test]
fn wait_i_cea__i_rcv_non_cea() {
    let (mut p, now) = peer();
    to_wait_i_cea(&mut p, now);
    let err = p
        .handle_message(now, I, decode(&app_request(5)))
        .unwrap_err();
    assert!(matches!(
        err,
        PeerError::UnexpectedMessage {
            state: PeerState::WaitICea,
            code: 272,
            ..
        }
    ));
    assert_eq!(p.state(), PeerState::Closed);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, I));
}

#[test]
fn wait_i_cea__timeout() {
    let (mut p, now) = peer();
    to_wait_i_cea(&mut p, now);
    p.handle_timeout(now + Duration::from_secs(11));
    assert_eq!(p.state(), PeerState::Closed);
    let (_, _, events) = drain(&mut p);
    assert!(events.contains(&Event::Closed {
        reason: CloseReason::Timeout(Timer::Cea)
    }));
}

// ----- Wait-Conn-Ack/Elect -----

fn to_wait_conn_ack_elect(p: &mut Peer, now: Instant, host: &str) {
    p.start(now);
    p.handle_incoming_cer(now, R, &Remote::new(host).cer())
        .unwrap();
    drain(p);
    assert_eq!(p.state(), PeerState::WaitConnAckElect);
}

#[test]
fn wait_conn_ack_elect__i_rcv_conn_ack_lost() {
    let (mut p, now) = peer();
    to_wait_conn_ack_elect(&mut p, now, "b.example.org");
    p.handle_connected(now, I).unwrap();
    assert_eq!(p.state(), PeerState::WaitReturns);
    let (t, _, _) = drain(&mut p);
    assert_eq!(
        (t.len(), t[0].conn, decode(&t[0].bytes).code()),
        (1, I, 257)
    );
}

#[test]
fn wait_conn_ack_elect__i_rcv_conn_ack_won() {
    let (mut p, now) = peer();
    to_wait_conn_ack_elect(&mut p, now, "0.example.org");
    p.handle_connected(now, I).unwrap();
    assert_eq!(p.state(), PeerState::ROpen);
    let (t, actions, _) = drain(&mut p);
    assert!(closes(&actions, I));
    assert!(
        t.iter()
            .any(|t| t.conn == R && decode(&t.bytes).result_code() == Some(2001))
    );
}

#[test]
fn wait_conn_ack_elect__i_rcv_conn_nack() {
    let (mut p, now) = peer();
    to_wait_conn_ack_elect(&mut p, now, "b.example.org");
    p.handle_connect_failed(now).unwrap();
    assert_eq!(p.state(), PeerState::ROpen);
    let (t, _, _) = drain(&mut p);
    assert_eq!(
        (t[0].conn, decode(&t[0].bytes).result_code()),
        (R, Some(2001))
    );
}

#[test]
fn wait_conn_ack_elect__r_peer_disc() {
    let (mut p, now) = peer();
    to_wait_conn_ack_elect(&mut p, now, "b.example.org");
    p.handle_disconnected(now, R).unwrap();
    assert_eq!(p.state(), PeerState::WaitConnAck);
}

#[test]
fn wait_conn_ack_elect__r_conn_cer() {
    let (mut p, now) = peer();
    to_wait_conn_ack_elect(&mut p, now, "b.example.org");
    assert!(
        p.handle_incoming_cer(now, R2, &Remote::new("b.example.org").cer())
            .is_err()
    );
    assert_eq!(p.state(), PeerState::WaitConnAckElect);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, R2) && !closes(&actions, R));
}

#[test]
fn wait_conn_ack_elect__timeout() {
    let (mut p, now) = peer();
    to_wait_conn_ack_elect(&mut p, now, "b.example.org");
    p.handle_timeout(now + Duration::from_secs(11));
    assert_eq!(p.state(), PeerState::Closed);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, R));
}

// ----- Wait-Returns -----

fn to_wait_returns(p: &mut Peer, now: Instant) -> (Remote, bytes::Bytes) {
    let remote = Remote::new("b.example.org");
    let cer = to_wait_i_cea(p, now);
    p.handle_incoming_cer(now, R, &remote.cer()).unwrap();
    assert_eq!(p.state(), PeerState::WaitReturns);
    (remote, cer)
}

#[test]
fn wait_returns__i_peer_disc() {
    let (mut p, now) = peer();
    to_wait_returns(&mut p, now);
    p.handle_disconnected(now, I).unwrap();
    assert_eq!(p.state(), PeerState::ROpen);
    let (t, _, _) = drain(&mut p);
    assert_eq!(
        (t[0].conn, decode(&t[0].bytes).result_code()),
        (R, Some(2001))
    );
}

#[test]
fn wait_returns__i_rcv_cea() {
    let (mut p, now) = peer();
    let (remote, cer) = to_wait_returns(&mut p, now);
    p.handle_message(now, I, remote.cea(&cer, 2001)).unwrap();
    assert_eq!(p.state(), PeerState::IOpen);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, R) && !closes(&actions, I));
}

#[test]
fn wait_returns__r_peer_disc() {
    let (mut p, now) = peer();
    to_wait_returns(&mut p, now);
    p.handle_disconnected(now, R).unwrap();
    assert_eq!(p.state(), PeerState::WaitICea);
}

#[test]
fn wait_returns__r_conn_cer() {
    let (mut p, now) = peer();
    to_wait_returns(&mut p, now);
    drain(&mut p);
    assert!(
        p.handle_incoming_cer(now, R2, &Remote::new("b.example.org").cer())
            .is_err()
    );
    assert_eq!(p.state(), PeerState::WaitReturns);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, R2) && actions.len() == 1);
}

#[test]
fn wait_returns__timeout() {
    let (mut p, now) = peer();
    to_wait_returns(&mut p, now);
    p.handle_timeout(now + Duration::from_secs(11));
    assert_eq!(p.state(), PeerState::Closed);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, R) && closes(&actions, I));
}

// ----- R-Open / I-Open -----

fn to_r_open(p: &mut Peer, now: Instant) -> Remote {
    let remote = Remote::new("b.example.org");
    p.handle_incoming_cer(now, R, &remote.cer()).unwrap();
    drain(p);
    remote
}

#[test]
fn r_open__send_message() {
    let (mut p, now) = peer();
    to_r_open(&mut p, now);
    assert_eq!(p.send_request(app_request(9)), Ok(R));
    let (t, _, _) = drain(&mut p);
    assert_eq!(t[0].conn, R);
}

#[test]
fn i_open__send_message() {
    let (mut p, now) = peer();
    to_i_open(&mut p, now, "b.example.org");
    assert_eq!(p.send_request(app_request(9)), Ok(I));
}

#[test]
fn closed__send_message_is_refused() {
    let (mut p, _) = peer();
    assert!(matches!(
        p.send_request(app_request(1)),
        Err(PeerError::NotAvailable { .. })
    ));
}

#[test]
fn r_open__r_rcv_message() {
    let (mut p, now) = peer();
    to_r_open(&mut p, now);
    p.handle_message(now, R, decode(&app_request(3))).unwrap();
    let (_, _, events) = drain(&mut p);
    assert!(matches!(&events[..], [Event::Message { conn: R, msg }] if msg.code() == 272));
}

#[test]
fn i_open__i_rcv_dwr() {
    let (mut p, now) = peer();
    let remote = to_i_open(&mut p, now, "b.example.org");
    p.handle_message(now, I, remote.dwr()).unwrap();
    let (t, _, _) = drain(&mut p);
    let dwa = decode(&t[0].bytes);
    assert_eq!(
        (dwa.code(), dwa.is_request(), dwa.result_code()),
        (280, false, Some(2001))
    );
    assert_eq!(dwa.header().hop_by_hop, 1);
}

#[test]
fn r_open__r_rcv_dwa() {
    let (mut p, now) = peer();
    let remote = to_r_open(&mut p, now);
    let at = p.poll_timeout().unwrap();
    p.handle_timeout(at);
    let (t, _, _) = drain(&mut p);
    assert_eq!(decode(&t[0].bytes).code(), 280);
    p.handle_message(at, R, remote.dwa(&t[0].bytes)).unwrap();
    assert_eq!(p.watchdog_state(), WatchdogState::Okay);
    // The DWA re-armed Tw from its arrival.
    assert!(p.poll_timeout().unwrap() >= at + Duration::from_secs(28));
}

#[test]
fn r_open__r_conn_cer() {
    let (mut p, now) = peer();
    to_r_open(&mut p, now);
    assert!(
        p.handle_incoming_cer(now, R2, &Remote::new("b.example.org").cer())
            .is_err()
    );
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, R2) && !closes(&actions, R));
    assert_eq!(p.state(), PeerState::ROpen);
}

#[test]
fn i_open__second_cer_on_the_open_connection_gets_5012() {
    let (mut p, now) = peer();
    let remote = to_i_open(&mut p, now, "b.example.org");
    assert!(p.handle_message(now, I, remote.cer()).is_err());
    let (t, actions, _) = drain(&mut p);
    assert_eq!(decode(&t[0].bytes).result_code(), Some(5012));
    assert!(actions.is_empty());
    assert_eq!(p.state(), PeerState::IOpen);
}

#[test]
fn i_open__stop() {
    let (mut p, now) = peer();
    to_i_open(&mut p, now, "b.example.org");
    p.stop(now, DisconnectCause::DO_NOT_WANT_TO_TALK_TO_YOU);
    assert_eq!(p.state(), PeerState::Closing);
    let (t, _, events) = drain(&mut p);
    let dpr = decode(&t[0].bytes);
    assert_eq!((dpr.code(), dpr.is_request()), (282, true));
    assert!(events.contains(&Event::Available(false)));
    assert!(matches!(
        p.send_request(app_request(1)),
        Err(PeerError::NotAvailable { .. })
    ));
}

#[test]
fn r_open__r_rcv_dpr() {
    let (mut p, now) = peer();
    let remote = to_r_open(&mut p, now);
    p.handle_message(now, R, remote.dpr(DisconnectCause::REBOOTING))
        .unwrap();
    assert_eq!(p.state(), PeerState::Closing);
    let (t, _, events) = drain(&mut p);
    let dpa = decode(&t[0].bytes);
    assert_eq!(
        (dpa.code(), dpa.is_request(), dpa.result_code()),
        (282, false, Some(2001))
    );
    assert!(events.contains(&Event::DisconnectRequested(DisconnectCause::REBOOTING)));
}

#[test]
fn r_open__r_peer_disc() {
    let (mut p, now) = peer();
    to_r_open(&mut p, now);
    p.handle_disconnected(now, R).unwrap();
    assert_eq!(p.state(), PeerState::Closed);
    assert_eq!(p.watchdog_state(), WatchdogState::Down);
}

#[test]
fn i_open__i_peer_disc() {
    let (mut p, now) = peer();
    to_i_open(&mut p, now, "b.example.org");
    p.handle_disconnected(now, I).unwrap();
    assert_eq!(p.state(), PeerState::Closed);
    let (_, _, events) = drain(&mut p);
    assert!(events.contains(&Event::Closed {
        reason: CloseReason::PeerDisconnected
    }));
    assert!(events.contains(&Event::Available(false)));
}

// ----- Closing -----

#[test]
fn closing__i_rcv_dpa() {
    let (mut p, now) = peer();
    let remote = to_i_open(&mut p, now, "b.example.org");
    p.stop(now, DisconnectCause::REBOOTING);
    let (t, _, _) = drain(&mut p);
    p.handle_message(now, I, remote.dpa(&t[0].bytes)).unwrap();
    assert_eq!(p.state(), PeerState::Closed);
    let (_, actions, events) = drain(&mut p);
    assert!(closes(&actions, I));
    assert!(events.contains(&Event::Closed {
        reason: CloseReason::Disconnected(DisconnectCause::REBOOTING)
    }));
    // A clean close: the next connection starts from INITIAL, and Stop means no
    // reconnection.
    assert_eq!(p.watchdog_state(), WatchdogState::Initial);
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn closing__timeout() {
    let (mut p, now) = peer();
    to_r_open(&mut p, now);
    p.stop(now, DisconnectCause::BUSY);
    p.handle_timeout(now + Duration::from_secs(6));
    assert_eq!(p.state(), PeerState::Closed);
    let (_, actions, _) = drain(&mut p);
    assert!(closes(&actions, R));
}

#[test]
fn closing__peer_disc() {
    let (mut p, now) = peer();
    let remote = to_r_open(&mut p, now);
    p.handle_message(now, R, remote.dpr(DisconnectCause::BUSY))
        .unwrap();
    p.handle_disconnected(now, R).unwrap();
    assert_eq!(p.state(), PeerState::Closed);
}

#[test]
fn closing__answers_still_delivered() {
    let (mut p, now) = peer();
    to_r_open(&mut p, now);
    p.stop(now, DisconnectCause::REBOOTING);
    drain(&mut p);
    let mut answer = decode(&app_request(77)).to_answer();
    answer.result_code(2001);
    p.handle_message(now, R, answer.build()).unwrap();
    let (_, _, events) = drain(&mut p);
    assert!(matches!(&events[..], [Event::Message { .. }]));
}

// ----- Two peers -----

#[test]
fn pair_connects_and_exchanges_capabilities() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    assert_eq!(pair.a.state(), PeerState::IOpen);
    assert_eq!(pair.b.state(), PeerState::ROpen);
    assert_eq!(pair.a.remote().unwrap().applications.common, vec![4]);
}

#[test]
fn election_after_simultaneous_connects() {
    let mut pair = PeerPair::new();
    pair.hold_connects = true;
    let now = pair.time;
    pair.a.start(now);
    pair.b.start(now);
    pair.flush();
    pair.complete_connects();
    assert!(
        pair.run_until(Duration::from_secs(5), |p| p.a.is_available()
            && p.b.is_available())
    );
    // b.example.org succeeds a.example.org: B won as responder and keeps the connection A
    // initiated (R-Open); A keeps its initiator (I-Open). Exactly one connection survives.
    assert_eq!(pair.b.state(), PeerState::ROpen);
    assert_eq!(pair.a.state(), PeerState::IOpen);
    assert_eq!(pair.a.open_connection(), pair.b.open_connection());
    pair.run_for(Duration::from_secs(1));
    assert_eq!(
        (pair.a.state(), pair.b.state()),
        (PeerState::IOpen, PeerState::ROpen)
    );
    // Traffic flows over the survivor.
    let now = pair.time;
    pair.a.send_request(app_request(42)).unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(pair.received(Side::B, 272, true).len(), 1);
    let _ = now;
}

#[test]
fn election_when_the_other_side_connects_during_wait_conn_ack() {
    let mut pair = PeerPair::new();
    pair.hold_connects = true;
    let now = pair.time;
    pair.a.start(now);
    pair.flush();
    // B connects and its CER reaches A while A's own connection attempt is pending.
    pair.hold_connects = false;
    pair.b.start(now);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.a.state()
        == PeerState::WaitConnAckElect));
    pair.complete_connects();
    assert!(
        pair.run_until(Duration::from_secs(5), |p| p.a.is_available()
            && p.b.is_available())
    );
    assert_eq!(pair.a.open_connection(), pair.b.open_connection());
}

#[test]
fn watchdog_sends_dwr_when_idle_and_stays_okay() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    pair.run_for(Duration::from_secs(100));
    // Each side's DWR also re-arms the other side's Tw (any received message does), so
    // count the DWRs of both directions.
    let mut dwrs = pair.received(Side::B, 280, true);
    dwrs.extend(pair.received(Side::A, 280, true));
    dwrs.sort();
    assert!(dwrs.len() >= 3, "{dwrs:?}");
    // Tw is 30 s ± 2 s.
    for w in dwrs.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_secs(28) && gap <= Duration::from_secs(33),
            "{gap:?}"
        );
    }
    assert_eq!(pair.a.watchdog_state(), WatchdogState::Okay);
}

#[test]
fn unanswered_dwrs_suspect_down_reconnect() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    // B goes silent: everything it writes is lost, its connection stays up.
    pair.drop_b_to_a = true;
    // First Tw (30 s ± 2): DWR; second: still pending → SUSPECT; third → DOWN.
    assert!(
        pair.run_until(Duration::from_secs(70), |p| p.a.watchdog_state()
            == WatchdogState::Suspect)
    );
    assert!(!pair.a.is_available());
    assert!(
        pair.run_until(Duration::from_secs(35), |p| p.a.watchdog_state()
            == WatchdogState::Down)
    );
    assert_eq!(pair.a.state(), PeerState::Closed);
    assert!(pair.events_a.iter().any(|(_, e)| *e
        == Event::Closed {
            reason: CloseReason::WatchdogDown
        }));
    // B recovers; A reconnects (backoff) and, coming from DOWN, goes through REOPEN.
    pair.drop_b_to_a = false;
    assert!(pair.run_until(Duration::from_secs(10), |p| p.a.state() == PeerState::IOpen));
    assert_eq!(pair.a.watchdog_state(), WatchdogState::Reopen);
    assert!(pair.run_until(Duration::from_secs(120), |p| p.a.is_available()));
}

#[test]
fn reopen_needs_three_dwas() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    // The connection drops (not a clean close): the watchdog goes DOWN.
    pair.cut();
    assert_eq!(pair.a.watchdog_state(), WatchdogState::Down);
    assert!(pair.run_until(Duration::from_secs(10), |p| p.a.state() == PeerState::IOpen));
    let opened_at = pair.time;
    assert!(pair.run_until(Duration::from_secs(120), |p| p.a.is_available()));
    let dwas: Vec<_> = pair
        .received(Side::A, 280, false)
        .into_iter()
        .filter(|t| *t >= opened_at)
        .collect();
    assert_eq!(dwas.len(), 3, "available after exactly three DWAs");
    // While in REOPEN, no application request could be sent.
    assert!(
        pair.events_a
            .iter()
            .any(|(t, e)| *t >= opened_at && *e == Event::Watchdog(WatchdogState::Reopen))
    );
}

#[test]
fn reopen_throws_application_traffic_away() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    pair.cut();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.a.state() == PeerState::IOpen));
    assert!(matches!(
        pair.a.send_request(app_request(1)),
        Err(PeerError::NotAvailable { .. })
    ));
    let before = pair.events_a.len();
    // B is in REOPEN too; push a request through its answer path.
    pair.b.send_answer(app_request(1)).unwrap();
    pair.run_for(Duration::from_millis(5));
    assert!(
        !pair.events_a[before..]
            .iter()
            .any(|(_, e)| matches!(e, Event::Message { .. }))
    );
}

#[test]
fn dpr_from_a_then_no_reconnect() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    let now = pair.time;
    pair.a
        .stop(now, DisconnectCause::DO_NOT_WANT_TO_TALK_TO_YOU);
    assert!(
        pair.run_until(Duration::from_secs(1), |p| p.a.state() == PeerState::Closed
            && p.b.state() == PeerState::Closed)
    );
    assert!(pair.events_b.iter().any(
        |(_, e)| *e == Event::DisconnectRequested(DisconnectCause::DO_NOT_WANT_TO_TALK_TO_YOU)
    ));
    pair.run_for(Duration::from_secs(600));
    assert_eq!(
        pair.a.state(),
        PeerState::Closed,
        "Stop means no reconnection"
    );
}

#[test]
fn dpr_from_b_busy_holds_reconnection_for_the_quiet_period() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    let now = pair.time;
    pair.b.stop(now, DisconnectCause::BUSY);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.a.state() == PeerState::Closed));
    let closed_at = pair.time;
    assert!(pair.events_a.iter().any(|(_, e)| *e
        == Event::Closed {
            reason: CloseReason::Disconnected(DisconnectCause::BUSY)
        }));
    // Not before the 300 s quiet period (B answers connections as a responder).
    assert!(!pair.run_until(Duration::from_secs(290), |p| p.a.state()
        != PeerState::Closed));
    assert!(pair.run_until(Duration::from_secs(60), |p| p.a.is_available()));
    assert!(pair.time - closed_at >= Duration::from_secs(300));
    // The close was clean: no REOPEN probation.
    assert_eq!(pair.a.watchdog_state(), WatchdogState::Okay);
}

#[test]
fn dpr_from_b_rebooting_reconnects_soon() {
    let mut pair = PeerPair::new();
    pair.connect_a_to_b();
    let now = pair.time;
    pair.b.stop(now, DisconnectCause::REBOOTING);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.a.state() == PeerState::Closed));
    let closed_at = pair.time;
    assert!(pair.run_until(Duration::from_secs(5), |p| p.a.is_available()));
    assert!(pair.time - closed_at < Duration::from_secs(3));
}

#[test]
fn reconnect_backs_off_exponentially_while_the_peer_is_away() {
    let mut pair = PeerPair::new();
    pair.b_listening = false;
    let now = pair.time;
    pair.a.start(now);
    pair.run_for(Duration::from_secs(120));
    let attempts: Vec<Instant> = pair
        .events_a
        .iter()
        .filter(|(_, e)| {
            *e == Event::Closed {
                reason: CloseReason::ConnectFailed,
            }
        })
        .map(|(t, _)| *t)
        .collect();
    assert!(attempts.len() >= 5, "{}", attempts.len());
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    // 1 s, 2 s, 4 s, ... (± 25 %), capped at Tc = 30 s (+ 25 %).
    assert!(gaps[0] < Duration::from_millis(1300));
    assert!(gaps[3] > Duration::from_secs(5));
    assert!(gaps.iter().all(|g| *g <= Duration::from_millis(37_600)));
    pair.b_listening = true;
    assert!(pair.run_until(Duration::from_secs(60), |p| p.a.is_available()));
}
