//! Routing and agents over loopback TCP (RFC 6733 §2.7, §2.8, §5.5.4, §6.1, §6.13): relay
//! with Route-Record and Hop-by-Hop restored, 3002 / 3003, loop detection (3005), proxy
//! hook, redirect following and its cache, duplicate detection, failover with the T flag.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{CC, GY, loopback, timers};
use diameter_core::generated::base::avp;
use diameter_core::{AvpFlags, AvpKey, DiameterIdentity, Message, ResultCode, Utf8String};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::routing::{RedirectUsage, RouteAction, RouteSpec};
use diameter_node::{
    Application, HandlerError, Node, NodeConfig, NodeHandle, PeerSpec, ProxyHook, Request,
};

/// What a test server saw of one request: its T flag and its Route-Records.
type Seen = (bool, Vec<String>);

/// What a test server saw of each request.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

/// A server answering CCRs 2001 after `delay`, with a Test AVP counting its requests.
async fn server(host: &str, delay: Duration) -> (NodeHandle, Log) {
    server_with(host, delay, Vec::new()).await
}

/// A server that takes over for the others of its realm: a LOCAL route for servers.test
/// makes it process requests naming another host of the realm in Destination-Host, which
/// a plain server refuses with 3002 (RFC 6733 §6.1.4: not for it, and it routes nothing).
async fn standby(host: &str, delay: Duration) -> (NodeHandle, Log) {
    let route = RouteSpec::new("servers.test", RouteAction::Local);
    server_with(host, delay, vec![route]).await
}

async fn server_with(host: &str, delay: Duration, routes: Vec<RouteSpec>) -> (NodeHandle, Log) {
    let log = Log::default();
    let seen = log.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let app = Application::auth(GY)
        .commands(&[CC])
        .handler(move |req: Request| {
            let (seen, n) = (seen.clone(), n.clone());
            async move {
                let msg = req.message();
                let rr = msg
                    .find_all(avp::ROUTE_RECORD)
                    .map(|a| String::from_utf8_lossy(a.data).into_owned())
                    .collect();
                seen.0
                    .lock()
                    .unwrap()
                    .push((msg.header().flags.is_retransmit(), rr));
                let count = n.fetch_add(1, Ordering::SeqCst) as u32 + 1;
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let mut a = req.answer(2001);
                a.avp(99_998, 0, AvpFlags::default(), &count);
                Ok::<_, HandlerError>(a)
            }
        });
    let mut config = NodeConfig::new(host, "servers.test")
        .timers(timers())
        .listen(loopback())
        .accept_unknown_peers("*");
    config.timers.request_timeout = Duration::from_secs(5);
    config.routes = routes;
    let node = Node::builder(config)
        .application(app)
        .start()
        .await
        .expect("server starts");
    (node, log)
}

fn peer(host: &str, addr: SocketAddr) -> PeerSpec {
    PeerSpec::new(format!("aaa://{host}")).address(addr)
}

/// An agent in realm `realm` with these peers and routes; it accepts anyone.
async fn agent(host: &str, peers: Vec<PeerSpec>, routes: Vec<RouteSpec>) -> NodeHandle {
    agent_with(host, peers, routes, None).await
}

async fn agent_with(
    host: &str,
    peers: Vec<PeerSpec>,
    routes: Vec<RouteSpec>,
    hook: Option<Box<dyn FnOnce(diameter_node::NodeBuilder) -> diameter_node::NodeBuilder>>,
) -> NodeHandle {
    let mut config = NodeConfig::new(host, "agents.test")
        .timers(timers())
        .listen(loopback())
        .accept_unknown_peers("*")
        .relay(true);
    config.peers = peers;
    config.routes = routes;
    config.timers.request_timeout = Duration::from_secs(5);
    let mut b = Node::builder(config);
    if let Some(h) = hook {
        b = h(b);
    }
    b.start().await.expect("agent starts")
}

async fn client(peers: Vec<PeerSpec>, routes: Vec<RouteSpec>) -> NodeHandle {
    let mut config = NodeConfig::new("client.clients.test", "clients.test")
        .timers(timers())
        .application(SupportedApplication::auth(GY));
    config.peers = peers;
    config.routes = routes;
    config.timers.request_timeout = Duration::from_secs(5);
    Node::builder(config).start().await.expect("client starts")
}

fn ccr(node: &NodeHandle, realm: &str) -> Message {
    let mut b = node.new_request(CC, GY, true);
    b.add(avp::DESTINATION_REALM, &DiameterIdentity::from(realm));
    b.add(avp::AUTH_APPLICATION_ID, &GY);
    b.add(
        AvpKey::new(common::SERVICE_CONTEXT_ID, 0),
        &Utf8String::from("32251@3gpp.org"),
    );
    b.add(AvpKey::new(common::CC_REQUEST_TYPE, 0), &1u32);
    b.add(AvpKey::new(common::CC_REQUEST_NUMBER, 0), &0u32);
    b.build()
}

fn origin(m: &Message) -> String {
    String::from_utf8_lossy(m.find(avp::ORIGIN_HOST).unwrap().data).into_owned()
}

async fn ready(node: &NodeHandle, n: usize) {
    let all = async {
        while node.peers().iter().filter(|p| p.ready).count() < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), all)
        .await
        .unwrap_or_else(|_| panic!("{n} peers not ready: {:#?}", node.peers()));
}

#[tokio::test]
async fn relay_forwards_with_route_record_and_balances() {
    let (s1, log1) = server("s1.servers.test", Duration::ZERO).await;
    let (s2, log2) = server("s2.servers.test", Duration::ZERO).await;
    let relay = agent(
        "relay.agents.test",
        vec![
            peer("s1.servers.test", s1.local_addrs()[0]),
            peer("s2.servers.test", s2.local_addrs()[0]),
        ],
        vec![
            RouteSpec::new("servers.test", RouteAction::Relay)
                .application(GY)
                .peer("s1.servers.test")
                .peer("s2.servers.test"),
        ],
    )
    .await;
    ready(&relay, 2).await;
    let c = client(
        vec![peer("relay.agents.test", relay.local_addrs()[0])],
        vec![],
    )
    .await;
    ready(&c, 1).await;

    let mut from = std::collections::HashMap::<String, usize>::new();
    for _ in 0..20 {
        let req = ccr(&c, "servers.test");
        let (hbh, e2e) = (req.header().hop_by_hop, req.header().end_to_end);
        let a = c.send(req).await.unwrap();
        assert_eq!(a.result_code(), Some(2001));
        // Identifiers as the client sent them (the node stamps Hop-by-Hop; checked by
        // matching, End-to-End unchanged end to end).
        let _ = (hbh, e2e);
        *from.entry(origin(&a)).or_default() += 1;
    }
    assert_eq!(from.len(), 2, "both servers answered: {from:?}");
    assert_eq!(from.values().sum::<usize>(), 20);
    assert_eq!(log1.len() + log2.len(), 20);
    for (t, rr) in log1.all().into_iter().chain(log2.all()) {
        assert!(!t);
        assert_eq!(rr, ["client.clients.test"], "Route-Record of the relay");
    }
    let stats = relay.stats();
    assert_eq!(stats.forwarded, 20);
    for n in [&c, &relay, &s1, &s2] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn realm_not_served_unable_to_deliver_and_destination_host() {
    let (s1, _log) = server("s1.servers.test", Duration::ZERO).await;
    let relay = agent(
        "relay.agents.test",
        vec![peer("s1.servers.test", s1.local_addrs()[0])],
        vec![
            RouteSpec::new("servers.test", RouteAction::Relay).peer("s1.servers.test"),
            RouteSpec::new("nowhere.test", RouteAction::Relay).peer("ghost.nowhere.test"),
        ],
    )
    .await;
    ready(&relay, 1).await;
    let c = client(
        vec![peer("relay.agents.test", relay.local_addrs()[0])],
        vec![],
    )
    .await;
    ready(&c, 1).await;

    let a = c.send(ccr(&c, "elsewhere.test")).await.unwrap();
    assert_eq!(a.result_code(), Some(3003), "REALM_NOT_SERVED");
    assert!(a.header().flags.is_error());
    assert_eq!(origin(&a), "relay.agents.test");
    let a = c.send(ccr(&c, "nowhere.test")).await.unwrap();
    assert_eq!(a.result_code(), Some(3002), "UNABLE_TO_DELIVER");
    // Destination-Host naming a peer of the relay goes there, whatever the realm's route.
    let mut b = ccr(&c, "servers.test").to_builder();
    b.add(
        avp::DESTINATION_HOST,
        &DiameterIdentity::from("S1.servers.test"),
    );
    let a = c.send(b.build()).await.unwrap();
    assert_eq!(
        (a.result_code(), origin(&a).as_str()),
        (Some(2001), "s1.servers.test")
    );
    for n in [&c, &relay, &s1] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn loop_between_relays_is_detected() {
    // A ring r1 -> r2 -> r3 -> r1 for realm loop.test (a relay never sends a request back
    // to the peer it came from, so the smallest loop has three agents): r1 finds itself
    // in a Route-Record (added by r2) and answers 3005.
    let addrs: Vec<SocketAddr> = (0..3)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        })
        .collect();
    let name = |i: usize| format!("r{}.agents.test", i + 1);
    let mut relays = Vec::new();
    for i in 0..3 {
        let next = (i + 1) % 3;
        let mut config = NodeConfig::new(name(i), "agents.test")
            .timers(timers())
            .listen(addrs[i])
            .accept_unknown_peers("*")
            .relay(true)
            .peer(peer(&name(next), addrs[next]))
            .route(RouteSpec::new("loop.test", RouteAction::Relay).peer(name(next)));
        config.timers.request_timeout = Duration::from_secs(5);
        relays.push(Node::builder(config).start().await.expect("relay starts"));
    }
    for r in &relays {
        ready(r, 2).await;
    }
    let r1 = &relays[0];
    let c = client(vec![peer("r1.agents.test", r1.local_addrs()[0])], vec![]).await;
    ready(&c, 1).await;

    let a = c.send(ccr(&c, "loop.test")).await.unwrap();
    assert_eq!(a.result_code(), Some(3005), "LOOP_DETECTED");
    assert!(a.header().flags.is_error());
    assert_eq!(origin(&a), "r1.agents.test");
    assert_eq!(r1.stats().loops_detected, 1);
    assert_eq!(relays[1].stats().forwarded, 1);
    assert_eq!(relays[2].stats().forwarded, 1);
    c.shutdown().await;
    for r in &relays {
        r.shutdown().await;
    }
}

struct Tag;

impl ProxyHook for Tag {
    fn request(&self, request: Message) -> Result<Message, ResultCode> {
        if request.find(avp::USER_NAME).is_some() {
            return Err(ResultCode::DIAMETER_AUTHORIZATION_REJECTED);
        }
        let mut b = request.to_builder();
        b.avp(99_997, 0, AvpFlags::default(), &7u32);
        Ok(b.build())
    }

    fn answer(&self, answer: Message) -> Message {
        let mut b = answer.to_builder();
        b.add(avp::ERROR_MESSAGE, &Utf8String::from("seen by the proxy"));
        b.build()
    }
}

#[tokio::test]
async fn proxy_hook_sees_requests_and_answers() {
    let (s1, _log) = server("s1.servers.test", Duration::ZERO).await;
    let proxy = agent_with(
        "proxy.agents.test",
        vec![peer("s1.servers.test", s1.local_addrs()[0])],
        vec![RouteSpec::new("servers.test", RouteAction::Proxy).peer("s1.servers.test")],
        Some(Box::new(|b: diameter_node::NodeBuilder| b.proxy(Tag))),
    )
    .await;
    ready(&proxy, 1).await;
    let c = client(
        vec![peer("proxy.agents.test", proxy.local_addrs()[0])],
        vec![],
    )
    .await;
    ready(&c, 1).await;
    let a = c.send(ccr(&c, "servers.test")).await.unwrap();
    assert_eq!(a.result_code(), Some(2001));
    assert_eq!(
        a.find(avp::ERROR_MESSAGE).unwrap().data,
        b"seen by the proxy"
    );
    let mut b = ccr(&c, "servers.test").to_builder();
    b.add(avp::USER_NAME, &Utf8String::from("refused"));
    let a = c.send(b.build()).await.unwrap();
    assert_eq!(a.result_code(), Some(5003));
    assert_eq!(origin(&a), "proxy.agents.test");
    for n in [&c, &proxy, &s1] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn redirect_is_followed_and_cached() {
    let (s1, log) = server("s1.servers.test", Duration::ZERO).await;
    let dra = agent(
        "dra.agents.test",
        vec![],
        vec![
            RouteSpec::new("servers.test", RouteAction::Redirect)
                .peer("s1.servers.test")
                .redirect(RedirectUsage::AllRealm, Duration::from_secs(60)),
        ],
    )
    .await;
    // The client knows both; its route sends servers.test to the redirect agent.
    let c = client(
        vec![
            peer("dra.agents.test", dra.local_addrs()[0]),
            peer("s1.servers.test", s1.local_addrs()[0]),
        ],
        vec![RouteSpec::new("servers.test", RouteAction::Relay).peer("dra.agents.test")],
    )
    .await;
    ready(&c, 2).await;

    let a = c.send(ccr(&c, "servers.test")).await.unwrap();
    assert_eq!(
        (a.result_code(), origin(&a).as_str()),
        (Some(2001), "s1.servers.test")
    );
    let a = c.send(ccr(&c, "servers.test")).await.unwrap();
    assert_eq!(
        (a.result_code(), origin(&a).as_str()),
        (Some(2001), "s1.servers.test")
    );
    assert_eq!(log.len(), 2);
    // The second request went straight to s1: the redirect was cached for the realm.
    assert_eq!(dra.stats().requests_received, 1);
    let by_name = |n: &str| c.peers().into_iter().find(|p| p.name == n).unwrap();
    assert_eq!(by_name("dra.agents.test").stats.redirects_followed, 1);
    // Another realm is not covered by an ALL_REALM redirect: the agent answers 3003
    // (its routes do not know the realm), which is not a redirect.
    let a = c.send(ccr(&c, "other.test")).await;
    assert!(a.is_ok());
    for n in [&c, &dra, &s1] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn redirect_to_an_unknown_host_reaches_the_caller() {
    let dra = agent(
        "dra.agents.test",
        vec![],
        vec![RouteSpec::new("*", RouteAction::Redirect).peer("far.away.test")],
    )
    .await;
    let c = client(vec![peer("dra.agents.test", dra.local_addrs()[0])], vec![]).await;
    ready(&c, 1).await;
    let a = c.send(ccr(&c, "servers.test")).await.unwrap();
    assert_eq!(a.result_code(), Some(3006));
    let ind = diameter_node::redirect::RedirectIndication::from_answer(&a).unwrap();
    assert_eq!(ind.hosts, ["far.away.test"]);
    assert_eq!(ind.usage, RedirectUsage::DontCache);
    for n in [&c, &dra] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn retransmission_is_answered_from_the_duplicate_cache() {
    let (s1, _) = server("unused.servers.test", Duration::ZERO).await;
    s1.shutdown().await;
    let log = Log::default();
    let seen = log.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let app = Application::auth(GY)
        .commands(&[CC])
        .handler(move |req: Request| {
            let (seen, n) = (seen.clone(), n.clone());
            async move {
                seen.0
                    .lock()
                    .unwrap()
                    .push((req.message().header().flags.is_retransmit(), vec![]));
                let count = n.fetch_add(1, Ordering::SeqCst) as u32 + 1;
                let mut a = req.answer(2001);
                a.avp(99_998, 0, AvpFlags::default(), &count);
                Ok::<_, HandlerError>(a)
            }
        });
    let config = NodeConfig::new("s1.servers.test", "servers.test")
        .timers(timers())
        .listen(loopback())
        .accept_unknown_peers("*")
        .duplicate_detection(diameter_node::config::DuplicateDetection::default());
    let server = Node::builder(config)
        .application(app)
        .start()
        .await
        .unwrap();
    let c = client(
        vec![peer("s1.servers.test", server.local_addrs()[0])],
        vec![],
    )
    .await;
    ready(&c, 1).await;

    let count = |m: &Message| m.get::<u32>(AvpKey::new(99_998, 0)).unwrap().unwrap();
    let mut first = ccr(&c, "servers.test").to_builder();
    first.header_mut().end_to_end = 0x00c0_ffee;
    let first = first.build();
    let a1 = c.send(first.clone()).await.unwrap();
    assert_eq!(count(&a1), 1);
    // The same request again with the T flag (as after a failover): the cached answer.
    let mut again = first.to_builder();
    again.header_mut().flags = again
        .header()
        .flags
        .with(diameter_core::CommandFlags::RETRANSMIT, true);
    let a2 = c.send(again.build()).await.unwrap();
    assert_eq!(
        count(&a2),
        1,
        "answered from the cache, not processed again"
    );
    assert_eq!(a2.header().end_to_end, 0x00c0_ffee);
    assert_eq!(log.len(), 1);
    assert_eq!(server.stats().duplicates, 1);
    // Without the T flag, or with another End-to-End, it is a new request.
    let a3 = c.send(first.clone()).await.unwrap();
    assert_eq!(count(&a3), 2);
    let mut other = first.to_builder();
    other.header_mut().end_to_end = 0x00c0_fff0;
    other.header_mut().flags = other
        .header()
        .flags
        .with(diameter_core::CommandFlags::RETRANSMIT, true);
    let a4 = c.send(other.build()).await.unwrap();
    assert_eq!(count(&a4), 3);
    for n in [&c, &server] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn pending_requests_fail_over_with_the_t_flag() {
    // s1 answers after 300 ms and dies before; s2 answers at once.
    let (s1, log1) = server("s1.servers.test", Duration::from_millis(300)).await;
    let (s2, log2) = standby("s2.servers.test", Duration::ZERO).await;
    let c = client(
        vec![
            peer("s1.servers.test", s1.local_addrs()[0]),
            peer("s2.servers.test", s2.local_addrs()[0]),
        ],
        vec![
            RouteSpec::new("servers.test", RouteAction::Relay)
                .peer("s1.servers.test")
                .peer("s2.servers.test"),
        ],
    )
    .await;
    ready(&c, 2).await;
    ten_to_s1_then_crash(&c, &s1, &log1).await;
    assert_eq!(log2.len(), 10);
    assert!(
        log2.all().iter().all(|(t, _)| *t),
        "retransmissions carry the T flag"
    );
    let stats = c.stats();
    assert_eq!((stats.failovers, stats.retransmissions), (10, 10));
    for n in [&c, &s2] {
        n.shutdown().await;
    }
}

/// A user's selector: always the candidate whose name sorts last.
struct Last;

impl diameter_node::routing::PeerSelector for Last {
    fn select(&self, candidates: &[diameter_node::routing::Candidate<'_>]) -> Option<usize> {
        (0..candidates.len()).max_by_key(|&i| candidates[i].host)
    }
}

#[tokio::test]
async fn a_custom_selector_picks_the_peer() {
    let (s1, log1) = server("s1.servers.test", Duration::ZERO).await;
    let (s2, log2) = server("s2.servers.test", Duration::ZERO).await;
    let relay = agent_with(
        "relay.agents.test",
        vec![
            peer("s1.servers.test", s1.local_addrs()[0]),
            peer("s2.servers.test", s2.local_addrs()[0]),
        ],
        vec![
            RouteSpec::new("servers.test", RouteAction::Relay)
                .peer("s1.servers.test")
                .peer("s2.servers.test")
                .selector(diameter_node::routing::SelectorKind::Custom),
        ],
        Some(Box::new(|b: diameter_node::NodeBuilder| b.selector(Last))),
    )
    .await;
    ready(&relay, 2).await;
    let c = client(
        vec![peer("relay.agents.test", relay.local_addrs()[0])],
        vec![],
    )
    .await;
    ready(&c, 1).await;
    for _ in 0..10 {
        let a = c.send(ccr(&c, "servers.test")).await.unwrap();
        assert_eq!(origin(&a), "s2.servers.test");
    }
    assert_eq!((log1.len(), log2.len()), (0, 10));
    for n in [&c, &relay, &s1, &s2] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn a_relay_fails_forwarded_requests_over() {
    // The relay has forwarded ten requests to s1 (slow) when s1 dies: it sends them again
    // to s2 with the T flag; the client gets one answer for each.
    let (s1, log1) = server("s1.servers.test", Duration::from_millis(300)).await;
    let (s2, log2) = standby("s2.servers.test", Duration::ZERO).await;
    let relay = agent(
        "relay.agents.test",
        vec![
            peer("s1.servers.test", s1.local_addrs()[0]),
            peer("s2.servers.test", s2.local_addrs()[0]),
        ],
        vec![
            RouteSpec::new("servers.test", RouteAction::Relay)
                .peer("s1.servers.test")
                .peer("s2.servers.test"),
        ],
    )
    .await;
    ready(&relay, 2).await;
    let c = client(
        vec![peer("relay.agents.test", relay.local_addrs()[0])],
        vec![],
    )
    .await;
    ready(&c, 1).await;
    ten_to_s1_then_crash(&c, &s1, &log1).await;
    assert_eq!(log2.len(), 10);
    for (t, rr) in log2.all() {
        assert!(t, "retransmitted with the T flag");
        assert_eq!(rr, ["client.clients.test"], "one Route-Record, the relay's");
    }
    let s1_stats = relay
        .peers()
        .into_iter()
        .find(|p| p.name == "s1.servers.test")
        .unwrap()
        .stats;
    assert_eq!((s1_stats.failovers, s1_stats.retransmissions), (10, 10));
    for n in [&c, &relay, &s2] {
        n.shutdown().await;
    }
}

/// Sends ten requests naming s1 as Destination-Host, kills s1 once all ten have reached it
/// (sockets closed, no DPR), and checks that each gets one answer, from s2 (a
/// [`standby`], which processes requests for the other hosts of its realm).
async fn ten_to_s1_then_crash(c: &NodeHandle, s1: &NodeHandle, log1: &Log) {
    let mut sends = Vec::new();
    for _ in 0..10 {
        let mut b = ccr(c, "servers.test").to_builder();
        b.add(
            avp::DESTINATION_HOST,
            &DiameterIdentity::from("s1.servers.test"),
        );
        let (c, req) = (c.clone(), b.build());
        sends.push(tokio::spawn(async move { c.send(req).await }));
    }
    let arrived = async {
        while log1.len() < 10 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(3), arrived)
        .await
        .unwrap();
    s1.abort();
    for s in sends {
        let a = s.await.unwrap().expect("one answer per request");
        assert_eq!(
            (a.result_code(), origin(&a).as_str()),
            (Some(2001), "s2.servers.test")
        );
    }
}
