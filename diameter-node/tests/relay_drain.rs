//! A relay owes its clients the answers of the requests it forwarded (issue 16):
//!
//! - shut down (`NodeHandle::shutdown`) or sent DPR by its client while requests are being
//!   forwarded, it answers every one of them (the backend's answer, or 3002 with an
//!   Error-Message at the drain deadline) before its DPR or DPA;
//! - a stalled backend neither uses up the client connection's handler bound (no 3004)
//!   nor keeps getting its share of the traffic, whatever the selector;
//! - with a route's `retry_on_timeout`, a request the first backend does not answer in time
//!   goes once more to the other backend, and the client gets one answer (2001); without
//!   it, one 3002 with an Error-Message; the first backend's late answer is dropped;
//! - a local handler still running at the drain deadline is answered 3002 before the DPR
//!   or DPA.
//!
//! Real loopback TCP with short timers (drain 0.5–3 s): the raw client sees the order of
//! answers, DPR and DPA on the wire.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{
    CC, CC_REQUEST_NUMBER, CC_REQUEST_TYPE, GY, Raw, SERVICE_CONTEXT_ID, TEST_ACTION, bytes_of,
    loopback, raw_request, start_server, timers,
};
use diameter_core::generated::base::avp;
use diameter_core::{AvpKey, DiameterIdentity, Message, MessageBuilder, Utf8String};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::routing::{RouteAction, RouteSpec, SelectorKind};
use diameter_node::{Application, HandlerError, Node, NodeConfig, NodeHandle, PeerSpec, Request};

const DPR: u32 = 282;

/// A backend answering CCRs 2001 after `delay`; counts the requests its handler saw.
async fn backend(host: &str, delay: Duration) -> (NodeHandle, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let n = seen.clone();
    let app = Application::auth(GY)
        .commands(&[CC])
        .handler(move |req: Request| {
            n.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(delay).await;
                Ok::<_, HandlerError>(req.answer(2001))
            }
        });
    let mut config = NodeConfig::new(host, "servers.test")
        .timers(timers())
        .listen(loopback())
        .accept_unknown_peers("*");
    config.timers.drain_timeout = Duration::from_millis(300);
    let node = Node::builder(config)
        .application(app)
        .start()
        .await
        .expect("backend starts");
    (node, seen)
}

/// A backend answering CCRs 2001 after `delay`; keeps the header of each request its
/// handler saw.
async fn recording_backend(
    host: &str,
    delay: Duration,
) -> (NodeHandle, Arc<Mutex<Vec<diameter_core::Header>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let headers = seen.clone();
    let app = Application::auth(GY)
        .commands(&[CC])
        .handler(move |req: Request| {
            headers.lock().unwrap().push(*req.message().header());
            async move {
                tokio::time::sleep(delay).await;
                Ok::<_, HandlerError>(req.answer(2001))
            }
        });
    let config = NodeConfig::new(host, "servers.test")
        .timers(timers())
        .listen(loopback())
        .accept_unknown_peers("*");
    let node = Node::builder(config)
        .application(app)
        .start()
        .await
        .expect("backend starts");
    (node, seen)
}

/// A relay for realm servers.test to `backends` (host, address, weight), with this drain
/// time and a small handler bound per connection (8: forwarded requests must not count).
async fn relay(
    backends: &[(&str, SocketAddr, u32)],
    selector: SelectorKind,
    drain: Duration,
) -> NodeHandle {
    relay_with(backends, selector, drain, |_| {}).await
}

/// [`relay`] with its configuration changed by `tune` first.
async fn relay_with(
    backends: &[(&str, SocketAddr, u32)],
    selector: SelectorKind,
    drain: Duration,
    tune: impl FnOnce(&mut NodeConfig),
) -> NodeHandle {
    let mut config = NodeConfig::new("relay.agents.test", "agents.test")
        .timers(timers())
        .listen(loopback())
        .accept_unknown_peers("*")
        .relay(true);
    let mut route = RouteSpec::new("servers.test", RouteAction::Relay).selector(selector);
    for (host, addr, weight) in backends {
        config
            .peers
            .push(PeerSpec::new(format!("aaa://{host}")).address(*addr));
        route = route.weighted_peer(*host, *weight);
    }
    config.routes = vec![route];
    config.timers.drain_timeout = drain;
    config.timers.request_timeout = Duration::from_secs(3);
    config.limits.max_concurrent_handlers = 8;
    tune(&mut config);
    let node = Node::builder(config).start().await.expect("relay starts");
    wait_until(Duration::from_secs(5), || {
        node.peers().iter().filter(|p| p.ready).count() == backends.len()
    })
    .await;
    node
}

async fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) {
    let poll = async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(within, poll)
        .await
        .expect("condition not reached in time");
}

/// A CCR for servers.test with this Hop-by-Hop Identifier, as the raw client sends it.
fn ccr(hop_by_hop: u32) -> Bytes {
    let mut b = MessageBuilder::request(CC, GY, true);
    b.header_mut().hop_by_hop = hop_by_hop;
    b.header_mut().end_to_end = hop_by_hop;
    b.add(
        avp::SESSION_ID,
        &Utf8String::from(format!("raw.example.org;1;{hop_by_hop}")),
    );
    b.add(avp::ORIGIN_HOST, &DiameterIdentity::from("raw.example.org"));
    b.add(avp::ORIGIN_REALM, &DiameterIdentity::from("example.org"));
    b.add(
        avp::DESTINATION_REALM,
        &DiameterIdentity::from("servers.test"),
    );
    b.add(avp::AUTH_APPLICATION_ID, &GY);
    b.add(
        AvpKey::new(SERVICE_CONTEXT_ID, 0),
        &Utf8String::from("32251@3gpp.org"),
    );
    b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
    b.add(AvpKey::new(CC_REQUEST_NUMBER, 0), &0u32);
    b.build().into_bytes()
}

/// The raw client's DPR.
fn dpr() -> Bytes {
    let mut b = MessageBuilder::request(DPR, 0, false);
    b.header_mut().hop_by_hop = 0xD0;
    b.header_mut().end_to_end = 0xD0;
    b.add(avp::ORIGIN_HOST, &DiameterIdentity::from("raw.example.org"));
    b.add(avp::ORIGIN_REALM, &DiameterIdentity::from("example.org"));
    b.add(avp::DISCONNECT_CAUSE, &0i32);
    b.build().into_bytes()
}

const N: u32 = 20;

/// Opens a raw client to the relay and sends `N` CCRs; returns once the backend's
/// handler saw them all (they are in flight, forwarded).
async fn in_flight(relay: &NodeHandle, seen: &AtomicUsize) -> Raw {
    let mut raw = Raw::open(relay.local_addrs()[0], "raw.example.org").await;
    for hbh in 1..=N {
        raw.send(&ccr(hbh)).await;
    }
    wait_until(Duration::from_secs(3), || {
        seen.load(Ordering::SeqCst) == N as usize
    })
    .await;
    raw
}

/// Reads until the relay's message satisfying `end` (its DPR, or its DPA); returns the
/// answers that came before it. Each request must be answered exactly once.
async fn answers_before(raw: &mut Raw, end: impl Fn(&Message) -> bool) -> (Vec<Message>, Message) {
    let mut answers = Vec::new();
    let mut hops = HashSet::new();
    loop {
        let m = raw
            .recv()
            .await
            .unwrap_or_else(|| panic!("closed after {} answers, before the end", answers.len()));
        if end(&m) {
            return (answers, m);
        }
        assert_eq!(m.code(), CC, "{m:?}");
        assert!(hops.insert(m.header().hop_by_hop), "answered twice: {m:?}");
        answers.push(m);
    }
}

fn is_dpr(m: &Message) -> bool {
    m.code() == DPR && m.is_request()
}

fn is_dpa(m: &Message) -> bool {
    m.code() == DPR && !m.is_request()
}

fn dpa_for(dpr: &Message) -> Bytes {
    let mut a = dpr.to_answer();
    a.result_code(2001);
    a.add(avp::ORIGIN_HOST, &DiameterIdentity::from("raw.example.org"));
    a.add(avp::ORIGIN_REALM, &DiameterIdentity::from("example.org"));
    a.build().into_bytes()
}

fn codes(answers: &[Message]) -> Vec<u32> {
    answers
        .iter()
        .map(|a| a.result_code().unwrap_or(0))
        .collect()
}

fn assert_unable_to_deliver(answers: &[Message]) {
    assert_eq!(codes(answers), vec![3002; N as usize]);
    for a in answers {
        assert!(
            a.find(avp::ERROR_MESSAGE).is_some(),
            "3002 with an Error-Message: {a:?}"
        );
    }
}

/// Shuts the relay down while the raw client's requests are forwarded; returns the
/// answers it sent before its DPR (then answers the DPR and checks the shutdown ends).
async fn shutdown_with_requests_in_flight(
    backend_delay: Duration,
    drain: Duration,
) -> Vec<Message> {
    let (b, seen) = backend("s1.servers.test", backend_delay).await;
    let r = relay(
        &[("s1.servers.test", b.local_addrs()[0], 1)],
        SelectorKind::RoundRobin,
        drain,
    )
    .await;
    let mut raw = in_flight(&r, &seen).await;
    let stopping = tokio::spawn({
        let r = r.clone();
        async move { r.shutdown().await }
    });
    let (answers, dpr) = answers_before(&mut raw, is_dpr).await;
    // Answered, the relay's shutdown completes.
    raw.send(&dpa_for(&dpr)).await;
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("relay shutdown ends")
        .unwrap();
    b.shutdown().await;
    answers
}

#[tokio::test]
async fn relay_shutdown_waits_for_forwarded_answers_before_its_dpr() {
    let answers =
        shutdown_with_requests_in_flight(Duration::from_millis(300), Duration::from_secs(3)).await;
    assert_eq!(
        codes(&answers),
        vec![2001; N as usize],
        "the backend's answers"
    );
}

#[tokio::test]
async fn relay_shutdown_answers_3002_at_the_drain_deadline_before_its_dpr() {
    let answers =
        shutdown_with_requests_in_flight(Duration::from_secs(30), Duration::from_millis(500)).await;
    assert_unable_to_deliver(&answers);
}

/// The raw client sends DPR while its requests are forwarded; returns the answers the
/// relay sent before its DPA.
async fn dpr_with_requests_in_flight(backend_delay: Duration, drain: Duration) -> Vec<Message> {
    let (b, seen) = backend("s1.servers.test", backend_delay).await;
    let r = relay(
        &[("s1.servers.test", b.local_addrs()[0], 1)],
        SelectorKind::RoundRobin,
        drain,
    )
    .await;
    let mut raw = in_flight(&r, &seen).await;
    raw.send(&dpr()).await;
    let (answers, _dpa) = answers_before(&mut raw, is_dpa).await;
    r.shutdown().await;
    b.shutdown().await;
    answers
}

#[tokio::test]
async fn dpr_from_the_client_is_answered_after_its_forwarded_requests() {
    let answers =
        dpr_with_requests_in_flight(Duration::from_millis(300), Duration::from_secs(3)).await;
    assert_eq!(
        codes(&answers),
        vec![2001; N as usize],
        "the backend's answers"
    );
}

#[tokio::test]
async fn dpr_from_the_client_gets_3002_for_what_the_backend_does_not_answer_in_time() {
    let answers =
        dpr_with_requests_in_flight(Duration::from_secs(30), Duration::from_millis(500)).await;
    assert_unable_to_deliver(&answers);
}

/// One backend stalls (its handler sleeps far longer than the test), the other answers at
/// once: a client sending 100 requests over 2 s through the relay gets no 3004 (the
/// relay's per-connection handler bound is 8), and once the stalled backend has not
/// answered for the relay's `limits.stalled_after` (`None`: the default, a second) every
/// request goes to the other one.
async fn one_backend_stalls(selector: SelectorKind, stalled_after: Option<Duration>) {
    let (stalled, stalled_seen) = backend("s1.servers.test", Duration::from_secs(60)).await;
    let (healthy, _) = backend("s2.servers.test", Duration::ZERO).await;
    let r = relay_with(
        &[
            ("s1.servers.test", stalled.local_addrs()[0], 1),
            ("s2.servers.test", healthy.local_addrs()[0], 1),
        ],
        selector,
        Duration::from_millis(500),
        |c| {
            if let Some(after) = stalled_after {
                c.limits.stalled_after = after;
            }
        },
    )
    .await;
    // Requests sent after this (the threshold plus slack) must all avoid s1.
    let cutoff = stalled_after.unwrap_or(Duration::from_secs(1)) + Duration::from_millis(300);
    let mut config = NodeConfig::new("client.clients.test", "clients.test")
        .timers(timers())
        .application(SupportedApplication::auth(GY));
    config.peers = vec![PeerSpec::new("aaa://relay.agents.test").address(r.local_addrs()[0])];
    config.timers.request_timeout = Duration::from_secs(5);
    let c = Node::builder(config).start().await.expect("client starts");
    wait_until(Duration::from_secs(5), || c.peers().iter().any(|p| p.ready)).await;
    let start = tokio::time::Instant::now();
    let mut sends = Vec::new();
    for i in 0..100u32 {
        let mut b = c.new_request(CC, GY, true);
        b.add(
            avp::DESTINATION_REALM,
            &DiameterIdentity::from("servers.test"),
        );
        b.add(avp::AUTH_APPLICATION_ID, &GY);
        b.add(
            AvpKey::new(SERVICE_CONTEXT_ID, 0),
            &Utf8String::from("32251@3gpp.org"),
        );
        b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
        b.add(AvpKey::new(CC_REQUEST_NUMBER, 0), &i);
        let (c, req) = (c.clone(), b.build());
        let sent_at = start.elapsed();
        sends.push((sent_at, tokio::spawn(async move { c.send(req).await })));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut late_to_s2 = 0;
    let mut late = 0;
    for (sent_at, s) in sends {
        let a = s.await.unwrap();
        if let Ok(a) = &a {
            assert_ne!(a.result_code(), Some(3004), "{selector:?}: 3004 {a:?}");
        }
        // A request sent once s1 has not answered for over the threshold (plus slack).
        if sent_at > cutoff {
            late += 1;
            let a = a.expect("answered");
            let origin = a.find(avp::ORIGIN_HOST).map(|o| o.data.to_vec());
            if a.result_code() == Some(2001) && origin.as_deref() == Some(b"s2.servers.test") {
                late_to_s2 += 1;
            }
        }
    }
    assert!(late > 20, "{late}");
    assert_eq!(
        late_to_s2, late,
        "{selector:?}: later requests avoid the stalled backend"
    );
    assert!(stalled_seen.load(Ordering::SeqCst) < 100);
    for n in [&c, &r] {
        n.shutdown().await;
    }
    stalled.abort();
    healthy.shutdown().await;
}

#[tokio::test]
async fn a_stalled_backend_is_avoided_by_round_robin_with_no_3004() {
    one_backend_stalls(SelectorKind::RoundRobin, None).await;
}

#[tokio::test]
async fn a_stalled_backend_is_avoided_by_weighted_with_no_3004() {
    one_backend_stalls(SelectorKind::Weighted, None).await;
}

/// `limits.stalled_after` = 300 ms: requests sent from 0.6 s on all avoid the stalled
/// backend (with the default 1 s, half of those sent before 1 s would go to it).
#[tokio::test]
async fn a_custom_stall_threshold_is_honoured() {
    one_backend_stalls(SelectorKind::RoundRobin, Some(Duration::from_millis(300))).await;
}

/// Connections that end before their CER are counted by reason (and logged): a client
/// that connects and closes, one that stays silent past the CEA timeout, one whose first
/// message is not a CER. The counts show in `closed_before_cer` and in `/metrics`.
#[tokio::test]
async fn connections_closed_before_their_cer_are_counted() {
    let (b, _) = backend("s1.servers.test", Duration::ZERO).await;
    let addr = b.local_addrs()[0];
    drop(Raw::connect(addr).await);
    let _silent = Raw::connect(addr).await;
    let mut not_cer = Raw::connect(addr).await;
    not_cer.send(&ccr(1)).await;
    let count = |reason: &str| {
        b.closed_before_cer()
            .into_iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| n)
    };
    // The CEA timeout of the common timers is 1 s.
    wait_until(Duration::from_secs(3), || {
        count("closed") == 1 && count("timeout") == 1 && count("not_cer") == 1
    })
    .await;
    let text = b.metrics_text();
    assert!(
        text.contains("diameter_connections_closed_before_cer_total{reason=\"timeout\"} 1"),
        "{text}"
    );
    b.shutdown().await;
}

/// A CCR for the test server itself whose handler sleeps 10 s (`TEST_ACTION` 1).
fn slow_local_ccr(hop_by_hop: u32) -> Bytes {
    let mut b = raw_request(CC, GY, hop_by_hop);
    b.add(
        AvpKey::new(SERVICE_CONTEXT_ID, 0),
        &Utf8String::from("32251@3gpp.org"),
    );
    b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
    b.add(AvpKey::new(CC_REQUEST_NUMBER, 0), &0u32);
    b.avp(TEST_ACTION, 0, diameter_core::AvpFlags::default(), &1u32);
    bytes_of(b)
}

/// A node whose local handler is still running when the drain deadline passes (the
/// handler sleeps 10 s, the drain is 0.5 s): the client gets exactly one answer for it,
/// 3002 with the E bit and an Error-Message saying the node is shutting down, then the
/// DPR; the handler's own answer, when it comes, is dropped.
#[tokio::test]
async fn a_handler_still_running_at_the_drain_deadline_gets_3002_before_the_dpr() {
    let (server, seen) = start_server(&[loopback()], diameter_node::Limits::default()).await;
    let mut raw = Raw::open(server.local_addrs()[0], "raw.example.org").await;
    raw.send(&slow_local_ccr(7)).await;
    wait_until(Duration::from_secs(3), || seen.get() == 1).await;
    let stopping = tokio::spawn({
        let s = server.clone();
        async move { s.shutdown().await }
    });
    let (answers, dpr) = answers_before(&mut raw, is_dpr).await;
    assert_eq!(codes(&answers), vec![3002], "{answers:?}");
    let a = &answers[0];
    assert_eq!(a.header().hop_by_hop, 7);
    assert!(a.header().flags.is_error(), "E bit: {a:?}");
    let why = a
        .find(avp::ERROR_MESSAGE)
        .map(|m| String::from_utf8_lossy(m.data).into_owned())
        .expect("Error-Message");
    assert!(why.contains("shutting down"), "{why}");
    raw.send(&dpa_for(&dpr)).await;
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("shutdown ends")
        .unwrap();
    assert!(raw.recv().await.is_none(), "nothing after the DPR");
}

/// The same when the client sends DPR while its request's handler runs: 3002 with an
/// Error-Message at the drain deadline, then the DPA.
#[tokio::test]
async fn a_handler_still_running_when_the_client_disconnects_gets_3002_before_the_dpa() {
    let (server, seen) = start_server(&[loopback()], diameter_node::Limits::default()).await;
    let mut raw = Raw::open(server.local_addrs()[0], "raw.example.org").await;
    raw.send(&slow_local_ccr(8)).await;
    wait_until(Duration::from_secs(3), || seen.get() == 1).await;
    raw.send(&dpr()).await;
    let (answers, _dpa) = answers_before(&mut raw, is_dpa).await;
    assert_eq!(codes(&answers), vec![3002], "{answers:?}");
    assert!(answers[0].find(avp::ERROR_MESSAGE).is_some());
    server.shutdown().await;
}

/// A relay with a 1 s request timeout in front of s1, which answers after 1.5 s, and s2,
/// which answers at once; s1 is chosen first (weighted, s2 has weight 0). Returns the one
/// answer the raw client gets to its CCR (none more comes once s1's late answer reached
/// the relay), the headers each backend saw, and the relay's counters of s1.
async fn first_backend_too_slow(
    retry: bool,
) -> (
    Message,
    Vec<diameter_core::Header>,
    Vec<diameter_core::Header>,
    diameter_node::PeerStats,
) {
    let (s1, seen1) = recording_backend("s1.servers.test", Duration::from_millis(1_500)).await;
    let (s2, seen2) = recording_backend("s2.servers.test", Duration::ZERO).await;
    let r = relay_with(
        &[
            ("s1.servers.test", s1.local_addrs()[0], 1),
            ("s2.servers.test", s2.local_addrs()[0], 0),
        ],
        SelectorKind::Weighted,
        Duration::from_millis(500),
        |c| {
            c.timers.request_timeout = Duration::from_secs(1);
            c.routes[0].retry_on_timeout = retry;
        },
    )
    .await;
    let mut raw = Raw::open(r.local_addrs()[0], "raw.example.org").await;
    raw.send(&ccr(1)).await;
    let answer = raw.recv().await.expect("an answer");
    assert_eq!(answer.code(), CC);
    assert_eq!(answer.header().hop_by_hop, 1);
    // s1 answers at 1.5 s; the relay drops it: nothing more comes.
    let more = tokio::time::timeout(Duration::from_millis(1_500), raw.recv()).await;
    assert!(!matches!(more, Ok(Some(_))), "a second answer: {more:?}");
    let s1_stats = r
        .peers()
        .into_iter()
        .find(|p| p.name == "s1.servers.test")
        .expect("s1")
        .stats;
    let seen = |s: &Mutex<Vec<diameter_core::Header>>| s.lock().unwrap().clone();
    let (seen1, seen2) = (seen(&seen1), seen(&seen2));
    r.shutdown().await;
    s1.shutdown().await;
    s2.shutdown().await;
    (answer, seen1, seen2, s1_stats)
}

/// `retry_on_timeout`: s1 does not answer within the relay's request timeout, so the
/// request goes once more to s2, with the T flag and the same End-to-End Identifier; the
/// client gets s2's 2001, exactly once, and s1's late answer is dropped.
#[tokio::test]
async fn a_timed_out_request_is_retried_on_the_other_backend() {
    let (answer, seen1, seen2, s1) = first_backend_too_slow(true).await;
    assert_eq!(answer.result_code(), Some(2001), "{answer:?}");
    let origin = answer.find(avp::ORIGIN_HOST).map(|o| o.data.to_vec());
    assert_eq!(origin.as_deref(), Some(&b"s2.servers.test"[..]));
    assert_eq!(seen1.len(), 1);
    assert!(!seen1[0].flags.is_retransmit());
    assert_eq!(seen2.len(), 1, "retried once");
    assert!(seen2[0].flags.is_retransmit(), "T flag");
    assert_eq!(seen2[0].end_to_end, seen1[0].end_to_end);
    assert_eq!((s1.timeouts, s1.timeout_retries), (1, 1));
    assert_eq!(s1.unknown_answers, 1, "s1's late answer, dropped");
}

/// Without `retry_on_timeout` (the default): the client gets the relay's 3002 with the E
/// bit and an Error-Message, exactly once; s2 never sees the request.
#[tokio::test]
async fn without_retry_a_timed_out_request_is_answered_3002() {
    let (answer, seen1, seen2, s1) = first_backend_too_slow(false).await;
    assert_eq!(answer.result_code(), Some(3002), "{answer:?}");
    assert!(answer.header().flags.is_error());
    assert!(answer.find(avp::ERROR_MESSAGE).is_some(), "{answer:?}");
    let origin = answer.find(avp::ORIGIN_HOST).map(|o| o.data.to_vec());
    assert_eq!(origin.as_deref(), Some(&b"relay.agents.test"[..]));
    assert_eq!((seen1.len(), seen2.len()), (1, 0));
    assert_eq!((s1.timeouts, s1.timeout_retries), (1, 0));
}

/// With `retry_on_timeout` but no other eligible peer (the route has s1 only): one 3002
/// with an Error-Message, as without it.
#[tokio::test]
async fn a_retry_with_no_other_peer_is_answered_3002() {
    let (s1, _) = recording_backend("s1.servers.test", Duration::from_secs(30)).await;
    let r = relay_with(
        &[("s1.servers.test", s1.local_addrs()[0], 1)],
        SelectorKind::RoundRobin,
        Duration::from_millis(500),
        |c| {
            c.timers.request_timeout = Duration::from_millis(500);
            c.routes[0].retry_on_timeout = true;
        },
    )
    .await;
    let mut raw = Raw::open(r.local_addrs()[0], "raw.example.org").await;
    raw.send(&ccr(1)).await;
    let answer = raw.recv().await.expect("an answer");
    assert_eq!(answer.result_code(), Some(3002), "{answer:?}");
    assert!(answer.find(avp::ERROR_MESSAGE).is_some());
    let more = tokio::time::timeout(Duration::from_millis(700), raw.recv()).await;
    assert!(!matches!(more, Ok(Some(_))), "a second answer: {more:?}");
    r.shutdown().await;
    s1.abort();
}
