//! Deterministic tests of the request lifecycle: one test per behaviour, two or three
//! nodes' cores in virtual time (`Net`), or one core driven by hand. No sockets, no
//! sleeping.

mod util;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use diameter_core::generated::base::DisconnectCause;
use diameter_core::{Message, MessageBuilder};

use super::{Event, InputError, MAX_HOPS, Outcome, PeerCore, Pending};
use crate::error::RequestError;
use crate::framing::FrameError;
use crate::peer::base::DISCONNECT_PEER;
use crate::peer::{Action, ConnId, PeerState, WatchdogState};
use util::{Core, Net, REQUEST_TIMEOUT, answer, code, core_config, is_closed, redirect};

const A: &str = "a.example.org";
const B: &str = "b.example.org";
const C: &str = "c.example.org";

fn input_error(net: &Net, link: usize, want: InputError) -> bool {
    net.saw(
        link,
        |e| matches!(e, Event::InputError { error, .. } if *error == want),
    )
}

#[test]
fn a_request_is_answered_once() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let n = net.send(A, B);
    net.run_for(Duration::from_secs(1));
    let out = net.outcomes(n);
    assert_eq!(out.len(), 1);
    assert_eq!(code(out[0]), Some(2001));
    let req = net.received_by(B)[0];
    assert_ne!(req.header().end_to_end, 0, "End-to-End stamped");
    assert!(!req.header().flags.is_retransmit());
    assert_eq!(net.core(A, B).pending_len(), 0);
}

/// §5.5.4: the link breaks with a request in flight; it goes to the other peer with the
/// T flag and the same End-to-End Identifier, and is answered once.
#[test]
fn failover_retransmits_with_t_flag_and_same_end_to_end() {
    let mut net = Net::star(A, &[B, C]);
    net.server = Box::new(|host, req| (host != B).then(|| answer(host, req, 2001)));
    net.open_all();
    let n = net.send(A, B);
    net.run_for(Duration::from_millis(10));
    assert_eq!(net.received_by(B).len(), 1, "B got it and stays silent");
    net.cut(A, B);
    net.run_for(Duration::from_secs(1));
    let (first, again) = (net.received_by(B)[0], net.received_by(C)[0]);
    assert!(again.header().flags.is_retransmit(), "T flag");
    assert!(!first.header().flags.is_retransmit());
    assert_eq!(again.header().end_to_end, first.header().end_to_end);
    let out = net.outcomes(n);
    assert_eq!(out.len(), 1);
    assert_eq!(code(out[0]), Some(2001));
}

/// A request given to a link that is not open goes elsewhere without the T flag: no peer
/// saw it.
#[test]
fn a_request_for_a_closed_link_goes_elsewhere_without_t_flag() {
    let mut net = Net::star(A, &[B, C]);
    net.open_all();
    net.cut(A, B);
    let n = net.send(A, B);
    net.run_for(Duration::from_millis(100));
    assert!(net.received_by(B).is_empty());
    assert!(!net.received_by(C)[0].header().flags.is_retransmit());
    assert_eq!(code(net.outcomes(n)[0]), Some(2001));
}

/// The watchdog declares the link SUSPECT (RFC 3539 §3.4.1): pending requests fail over
/// with the T flag; the answer the first peer still sends matches nothing and is dropped.
#[test]
fn watchdog_suspect_fails_over_and_a_late_answer_is_dropped() {
    let mut net = Net::star(A, &[B, C]);
    net.open_all();
    // B's answer comes after 75 s; its DWAs are lost until SUSPECT.
    net.answer_delay = Duration::from_secs(75);
    let (a, b) = (net.link(A, B), net.link(B, A));
    net.mute.insert(b);
    let n = net.send_with(A, B, Duration::from_secs(300));
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.received_by(B).len(), 1);
    // B's answer is on its way (75 s); C answers at once.
    net.answer_delay = Duration::ZERO;
    let suspect = |net: &Net| {
        net.saw(a, |e| {
            matches!(e, Event::Peer(crate::peer::Event::Watchdog(w)) if *w == WatchdogState::Suspect)
        })
    };
    assert!(net.run_until(Duration::from_secs(70), suspect));
    net.mute.clear();
    net.run_for(Duration::from_secs(1));
    let again = net.received_by(C)[0];
    assert!(again.header().flags.is_retransmit());
    assert_eq!(
        again.header().end_to_end,
        net.received_by(B)[0].header().end_to_end
    );
    assert_eq!(code(net.outcomes(n)[0]), Some(2001));
    net.run_for(Duration::from_secs(20));
    assert!(
        net.saw(a, |e| matches!(e, Event::UnmatchedAnswer(_))),
        "B's late answer"
    );
    assert_eq!(net.outcomes(n).len(), 1, "one outcome");
}

/// An answer that comes twice settles its request once; the second matches nothing.
#[test]
fn a_duplicated_answer_settles_once() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    net.duplicate_answers = true;
    let n = net.send(A, B);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.outcomes(n).len(), 1);
    let a = net.link(A, B);
    assert!(net.saw(a, |e| matches!(e, Event::UnmatchedAnswer(_))));
}

/// §6.13: a 3006 naming another peer sends the request there.
#[test]
fn a_redirect_is_followed() {
    let mut net = Net::star(A, &[B, C]);
    net.server = Box::new(|host, req| {
        Some(match host {
            B => redirect(host, req, C),
            _ => answer(host, req, 2001),
        })
    });
    net.open_all();
    let n = net.send(A, B);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.received_by(C).len(), 1);
    let out = net.outcomes(n);
    assert_eq!(out.len(), 1);
    assert_eq!(code(out[0]), Some(2001));
}

/// Two agents redirecting to each other: the request stops after [`MAX_HOPS`] and its
/// caller gets the last 3006.
#[test]
fn a_redirect_loop_ends() {
    let mut net = Net::star(A, &[B, C]);
    net.server = Box::new(|host, req| Some(redirect(host, req, if host == B { C } else { B })));
    net.open_all();
    let n = net.send(A, B);
    net.run_for(Duration::from_secs(1));
    let seen = net.received_by(B).len() + net.received_by(C).len();
    assert_eq!(seen, usize::from(MAX_HOPS) + 1);
    let out = net.outcomes(n);
    assert_eq!(out.len(), 1);
    assert_eq!(code(out[0]), Some(3006));
}

/// A relayed request does not follow redirects: the 3006 goes back where it came from.
#[test]
fn a_forwarded_request_passes_a_redirect_back() {
    let mut net = Net::star(A, &[B, C]);
    net.server = Box::new(|host, req| Some(redirect(host, req, C)));
    net.open_all();
    let now = net.time;
    let p = Pending {
        request: util::request(A),
        deadline: now + REQUEST_TIMEOUT,
        hops: 0,
        follows_redirects: false,
        retry: None,
        waiter: 99,
    };
    net.core(A, B).send_request(now, p);
    net.run_for(Duration::from_secs(1));
    assert!(net.received_by(C).is_empty());
    assert_eq!(code(net.outcomes(99)[0]), Some(3006));
}

/// No answer within the request's deadline: `Timeout`, exactly then.
#[test]
fn a_silent_peer_times_out() {
    let mut net = Net::star(A, &[B]);
    net.server = Box::new(|_, _| None);
    net.open_all();
    let sent = net.time;
    let n = net.send(A, B);
    net.run_for(REQUEST_TIMEOUT * 2);
    let (at, _, _, out) = net.settled.iter().find(|s| s.2 == n).unwrap();
    assert!(matches!(out, Err(RequestError::Timeout)));
    assert_eq!(*at, sent + REQUEST_TIMEOUT);
}

/// A request allowed one retry (a relay route's `retry_on_timeout`) times out at B: it
/// goes to C with the T flag and the same End-to-End Identifier, and a new deadline; C's
/// answer is its one outcome, and B's answer, coming after, matches nothing.
#[test]
fn a_timed_out_request_is_retried_once_elsewhere_and_the_late_answer_dropped() {
    let mut net = Net::star(A, &[B, C]);
    net.server = Box::new(|host, req| (host != B).then(|| answer(host, req, 2001)));
    net.open_all();
    let (ab, sent) = (net.link(A, B), net.time);
    let n = net.send_retrying(A, B, REQUEST_TIMEOUT, Some(REQUEST_TIMEOUT));
    net.run_for(REQUEST_TIMEOUT + Duration::from_secs(1));
    assert_eq!(net.retried, vec![(sent + REQUEST_TIMEOUT, ab, n)]);
    let (first, again) = (net.received_by(B)[0].clone(), net.received_by(C)[0]);
    assert!(!first.header().flags.is_retransmit());
    assert!(again.header().flags.is_retransmit(), "T flag");
    assert_eq!(again.header().end_to_end, first.header().end_to_end);
    let out = net.outcomes(n);
    assert_eq!(out.len(), 1);
    assert_eq!(code(out[0]), Some(2001));
    assert_eq!(net.core(A, B).pending_len(), 0);
    // B answers at last: nothing is waiting for it any more.
    net.inject(ab, answer(B, &first, 2001));
    net.run_for(Duration::from_secs(1));
    assert!(net.saw(ab, |e| matches!(e, Event::UnmatchedAnswer(_))));
    assert_eq!(net.outcomes(n).len(), 1, "one outcome");
}

/// Retried once only: when the retry times out too, the request fails with `Timeout`, once,
/// at the retry's own deadline. Without a retry allowed, the first timeout ends it and no
/// other peer sees it.
#[test]
fn a_retry_that_times_out_too_fails_once_and_no_retry_by_default() {
    let mut net = Net::star(A, &[B, C]);
    net.server = Box::new(|_, _| None);
    net.open_all();
    let sent = net.time;
    let n = net.send_retrying(A, B, REQUEST_TIMEOUT, Some(Duration::from_secs(3)));
    net.run_for(REQUEST_TIMEOUT * 3);
    assert_eq!(net.retried.len(), 1);
    assert_eq!(net.received_by(C).len(), 1);
    let settled: Vec<_> = net.settled.iter().filter(|s| s.2 == n).collect();
    assert_eq!(settled.len(), 1);
    assert!(matches!(settled[0].3, Err(RequestError::Timeout)));
    assert_eq!(
        settled[0].0,
        sent + REQUEST_TIMEOUT + Duration::from_secs(3)
    );

    let mut net = Net::star(A, &[B, C]);
    net.server = Box::new(|host, req| (host != B).then(|| answer(host, req, 2001)));
    net.open_all();
    let n = net.send(A, B);
    net.run_for(REQUEST_TIMEOUT * 2);
    assert!(net.retried.is_empty() && net.received_by(C).is_empty());
    assert!(matches!(net.outcomes(n)[..], [Err(RequestError::Timeout)]));
}

/// A request and a DPR read in one batch: the DPR is held while the request is not yet
/// handed to the owner (its count cannot include it), so the DPA never overtakes its
/// answer; once the owner says nothing is owed, the DPA goes.
#[test]
fn a_dpr_read_with_a_request_waits_for_the_request() {
    let mut net = Net::star(A, &[B]);
    net.server = Box::new(|_, _| None);
    net.open_all();
    let now = net.time;
    let core = net.core(B, A);
    let conn = core.peer().open_connection().expect("open");
    let mut both = BytesMut::from(&util::request(A)[..]);
    let local = util::caps(A);
    both.extend_from_slice(&crate::peer::base::dpr(
        &local,
        DisconnectCause::REBOOTING,
        7,
        7,
    ));
    let _ = core.handle_read(now, conn, &mut both, &mut |_| {});
    let is_dpa = |t: &crate::peer::Transmit| {
        Message::decode(t.bytes.clone()).is_ok_and(|m| m.code() == DISCONNECT_PEER)
    };
    let dpa_queued =
        |core: &mut Core| std::iter::from_fn(|| core.poll_transmit()).any(|t| is_dpa(&t));
    assert!(
        !dpa_queued(core),
        "DPA held while the request is not handed on"
    );
    assert!(matches!(core.poll_event(), Some(Event::Request { .. })));
    // The owner dispatched it: its handler runs, then answers.
    core.set_owed_elsewhere(now, 1);
    assert!(!dpa_queued(core), "DPA held while its handler runs");
    core.set_owed_elsewhere(now, 0);
    assert!(dpa_queued(core), "then the DPA");
}

/// §5.4 graceful stop: DPR waits for the pending request's answer.
#[test]
fn drain_waits_for_pending_answers_before_dpr() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    net.answer_delay = Duration::from_secs(2);
    let n = net.send(A, B);
    let now = net.time;
    net.core(A, B).stop(now, DisconnectCause::REBOOTING);
    net.flush();
    let a = net.link(A, B);
    // New requests are refused while draining (no other peer: they fail).
    let m = net.send(A, B);
    assert!(matches!(net.outcomes(m)[0], Err(RequestError::PeerGone)));
    net.run_for(Duration::from_secs(10));
    let answered = net.settled.iter().find(|s| s.2 == n).unwrap().0;
    let dpr = net.wrote(a, DISCONNECT_PEER, true);
    assert_eq!(dpr.len(), 1);
    assert!(dpr[0] >= answered, "DPR after the answer");
    assert!(dpr[0] < now + core_config().drain_timeout);
    assert_eq!(net.core(A, B).state(), PeerState::Closed);
}

/// The drain gives up at its deadline: DPR then, and the request still pending fails.
#[test]
fn drain_gives_up_at_its_deadline() {
    let mut net = Net::star(A, &[B]);
    net.server = Box::new(|_, _| None);
    net.open_all();
    let n = net.send(A, B);
    let now = net.time;
    net.core(A, B).stop(now, DisconnectCause::REBOOTING);
    net.run_for(Duration::from_secs(8));
    let a = net.link(A, B);
    let dpr = net.wrote(a, DISCONNECT_PEER, true);
    assert_eq!(dpr, vec![now + core_config().drain_timeout]);
    assert!(matches!(net.outcomes(n)[0], Err(RequestError::PeerGone)));
    assert!(net.saw(a, is_closed));
}

/// Requests owed to the peer on other links (forwarded for it) hold the DPR as well; at
/// the deadline the owner is told to answer them (`OwedExpired`), and the DPR follows only
/// once it says it did.
#[test]
fn drain_waits_for_requests_owed_elsewhere_and_has_them_answered_first() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let a = net.link(A, B);
    let now = net.time;
    net.core(A, B).set_owed_elsewhere(now, 2);
    net.core(A, B).stop(now, DisconnectCause::REBOOTING);
    net.run_for(core_config().drain_timeout + Duration::from_secs(1));
    assert!(net.saw(a, |e| matches!(e, Event::OwedExpired)));
    assert!(
        net.wrote(a, DISCONNECT_PEER, true).is_empty(),
        "not before the answers"
    );
    let later = net.time;
    net.core(A, B).owed_answered(later);
    net.flush();
    assert_eq!(net.wrote(a, DISCONNECT_PEER, true), vec![later]);
    // Answered in time: the DPR goes when the count reaches 0, no give-up.
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let a = net.link(A, B);
    let now = net.time;
    net.core(A, B).set_owed_elsewhere(now, 1);
    net.core(A, B).stop(now, DisconnectCause::REBOOTING);
    net.run_for(Duration::from_millis(100));
    let t = net.time;
    net.core(A, B).set_owed_elsewhere(t, 0);
    net.flush();
    assert_eq!(net.wrote(a, DISCONNECT_PEER, true), vec![t]);
    assert!(!net.saw(a, |e| matches!(e, Event::OwedExpired)));
}

/// §5.4: a DPR received while requests of that peer are still owed to it is held; the DPA
/// goes once they are answered.
#[test]
fn a_received_dpr_is_answered_after_what_is_owed_to_its_sender() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let b = net.link(B, A);
    let now = net.time;
    net.core(B, A).set_owed_elsewhere(now, 3);
    net.core(A, B).stop(now, DisconnectCause::REBOOTING);
    net.run_for(Duration::from_millis(200));
    assert!(net.wrote(b, DISCONNECT_PEER, false).is_empty(), "DPA held");
    assert!(net.core(B, A).is_draining());
    let t = net.time;
    net.core(B, A).set_owed_elsewhere(t, 0);
    net.flush();
    assert_eq!(net.wrote(b, DISCONNECT_PEER, false), vec![t]);
}

/// What routing reads to avoid a stalled peer: since when requests wait without an
/// answer; reset by an answer, cleared when nothing is pending.
#[test]
fn waiting_since_tracks_requests_without_answers() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    net.answer_delay = Duration::from_secs(2);
    assert_eq!(net.core(A, B).waiting_since(), None);
    let t0 = net.time;
    net.send(A, B);
    net.run_for(Duration::from_millis(500));
    net.send(A, B);
    assert_eq!(
        net.core(A, B).waiting_since(),
        Some(t0),
        "the first one waits"
    );
    net.run_for(Duration::from_millis(1_600));
    let since = net.core(A, B).waiting_since().expect("one still pending");
    assert!(since > t0 + Duration::from_secs(2), "an answer came: reset");
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.core(A, B).waiting_since(), None, "nothing pending");
}

/// A message begun and not finished within the frame timeout closes the connection.
#[test]
fn a_slow_frame_closes_the_connection() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let a = net.link(A, B);
    let whole = util::request(B);
    net.inject(a, whole.slice(..30));
    net.run_for(Duration::from_secs(2));
    assert!(
        net.core(A, B).peer().is_available(),
        "within the frame timeout"
    );
    net.run_for(Duration::from_secs(2));
    assert!(input_error(&net, a, InputError::FrameTimeout));
    assert!(net.saw(a, is_closed));
}

/// §2.1: a stream that cannot be framed (version 2) is answered, then closed.
#[test]
fn an_unframeable_stream_is_answered_and_closed() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let a = net.link(A, B);
    let mut bad = util::request(B).to_vec();
    bad[0] = 2;
    net.inject(a, Bytes::from(bad));
    net.run_for(Duration::from_millis(10));
    let unframeable = InputError::Unframeable(FrameError::Version(2));
    assert!(net.saw(a, |e| matches!(
        e,
        Event::InputError { error, answered: true, .. } if *error == unframeable
    )));
    assert!(net.saw(a, is_closed));
    let answers = net.received_by(B).len();
    assert_eq!(answers, 0, "the answer is an answer, not a request");
}

/// After Open a message that frames but does not decode is answered (here 5014 for a bad
/// AVP length) and the connection stays.
#[test]
fn an_undecodable_message_after_open_is_answered() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let a = net.link(A, B);
    let mut bad = util::request(B).to_vec();
    // The first AVP's length (bytes 25..28 of the message) beyond the message.
    bad[26] = 0xff;
    net.inject(a, Bytes::from(bad));
    net.run_for(Duration::from_millis(10));
    assert!(input_error(&net, a, InputError::Undecodable));
    assert!(net.core(A, B).peer().is_available());
    let last = &net.written.last().unwrap().2;
    let msg = Message::decode(last.clone()).unwrap();
    assert_eq!(msg.result_code(), Some(5014));
}

/// §5.6: before Open only CER/CEA are welcome; a message that does not decode closes.
#[test]
fn a_bad_message_before_open_closes_the_connection() {
    let now = Instant::now();
    let mut core: Core = PeerCore::new(util::peer_config(A, true, 1), core_config());
    core.start(now);
    assert_eq!(core.poll_action(), Some(Action::Connect));
    let conn = ConnId(7);
    core.handle_connected(now, conn);
    assert!(core.poll_transmit().is_some(), "CER");
    assert_eq!(core.state(), PeerState::WaitICea);
    let mut bad = util::request(B).to_vec();
    bad[26] = 0xff;
    let mut buf = BytesMut::from(&bad[..]);
    core.handle_read(now, conn, &mut buf, &mut |_| {});
    assert!(matches!(core.poll_action(), Some(Action::Close { conn: c, .. }) if c == conn));
    assert!(core.poll_transmit().is_none(), "not answered");
    let events: Vec<_> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::InputError {
            error: InputError::BeforeOpen,
            ..
        }
    )));
}

/// A full table refuses the request at once.
#[test]
fn a_full_pending_table_refuses() {
    let mut net = Net::star(A, &[B]);
    net.server = Box::new(|_, _| None);
    net.open_all();
    let max = core_config().max_pending_requests as u32;
    let numbers: Vec<u32> = (0..=max).map(|_| net.send(A, B)).collect();
    let last = *numbers.last().unwrap();
    assert!(matches!(
        net.outcomes(last)[0],
        Err(RequestError::TooManyPending)
    ));
    assert_eq!(net.core(A, B).pending_len(), max as usize);
}

/// Messages are handled a batch at a time: the rest wait for another call.
#[test]
fn reads_are_batched() {
    let mut net = Net::star(A, &[B]);
    net.open_all();
    let i = net.link(B, A);
    let conn = net.links[i].core.peer().open_connection().unwrap();
    let now = net.time;
    let mut buf = BytesMut::new();
    for _ in 0..(super::FRAME_BATCH + 3) {
        let mut b = MessageBuilder::request(272, 4, true);
        b.header_mut().hop_by_hop = 1;
        buf.extend_from_slice(b.build().as_bytes());
    }
    let core = &mut net.links[i].core;
    assert!(core.handle_read(now, conn, &mut buf, &mut |_| {}));
    assert!(!core.handle_read(now, conn, &mut buf, &mut |_| {}));
    let requests = std::iter::from_fn(|| core.poll_event())
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, super::FRAME_BATCH + 3);
}

#[test]
fn outcome_is_debug() {
    let p = Pending {
        request: Bytes::new(),
        deadline: Instant::now(),
        hops: 0,
        follows_redirects: false,
        retry: None,
        waiter: 1u32,
    };
    let o = Outcome::Failover {
        pending: p,
        retransmit: true,
    };
    assert!(format!("{o:?}").contains("Failover"));
}
