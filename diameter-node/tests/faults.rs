//! Faults over real sockets: a peer killed with requests in flight, a silent peer, a peer
//! that comes back, DPR from either side.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::*;
use diameter_core::Message;
use diameter_core::generated::base::DisconnectCause;
use diameter_core::typed::Command;
use diameter_node::peer::{LocalCapabilities, PeerState, SupportedApplication};
use diameter_node::{Limits, Node, NodeConfig, PeerSpec, RequestError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    // tokio's clock, virtual in the tests with paused time.
    let start = tokio::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn peer_killed_with_1000_requests_in_flight() {
    let (server, seen) = start_server(&[loopback()], Limits::default()).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..1000u32 {
        let c = client.clone();
        // Handlers sleep 10 s: nothing is answered before the kill.
        set.spawn(async move { c.send(ccr(&c, i, Some(1))).await });
    }
    wait_for("all requests at the server", Duration::from_secs(5), || {
        seen.get() == 1000
    })
    .await;
    server.abort();
    let mut outcomes = 0;
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap(), Err(RequestError::PeerGone));
        outcomes += 1;
    }
    assert_eq!(outcomes, 1000);
    let stats = client.stats();
    assert_eq!(
        (stats.requests_sent, stats.peer_gone, stats.answers_received),
        (1000, 1000, 0)
    );
    client.abort();
}

/// A peer that completes CER/CEA and then never writes again; counts its connections.
async fn silent_peer() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<&'static str>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tx.send("connected");
                let mut buf = BytesMut::new();
                let cer = loop {
                    if let Some(l) = diameter_core::Header::peek_length(&buf) {
                        if buf.len() >= l as usize {
                            break Message::decode(buf.split_to(l as usize).freeze()).unwrap();
                        }
                    }
                    if s.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                };
                let mut local = LocalCapabilities::new("server.example.org", "example.org");
                local.applications = vec![SupportedApplication::auth(GY)];
                s.write_all(&local.cea(cer.header(), 2001, None).to_bytes())
                    .await
                    .unwrap();
                let _ = tx.send("open");
                // Silence: read and drop everything, answer nothing.
                let mut sink = [0u8; 4096];
                while s.read(&mut sink).await.unwrap_or(0) > 0 {}
                let _ = tx.send("closed by the node");
            });
        }
    });
    (addr, rx)
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn silent_peer_is_detected_by_the_watchdog_and_reconnected() {
    let (addr, mut log) = silent_peer().await;
    let client = start_client(addr).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    let opened = tokio::time::Instant::now();
    assert_eq!(log.recv().await, Some("connected"));
    assert_eq!(log.recv().await, Some("open"));
    // Tw = 300 ms: DWR, SUSPECT after 2 Tw (no new requests), DOWN and close after 3 Tw.
    let suspect = async {
        loop {
            let p = &client.peers()[0];
            if !p.ready && p.state == PeerState::IOpen {
                return p.watchdog;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let w = tokio::time::timeout(Duration::from_secs(2), suspect)
        .await
        .unwrap();
    assert_eq!(w, diameter_node::peer::WatchdogState::Suspect);
    assert!(matches!(
        client.send(ccr(&client, 0, None)).await,
        Err(RequestError::NoPeer(_))
    ));
    assert_eq!(log.recv().await, Some("closed by the node"));
    assert!(opened.elapsed() >= Duration::from_millis(500));
    // The node reconnects (with backoff).
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(3), log.recv())
            .await
            .unwrap(),
        Some("connected")
    );
    client.abort();
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn reconnect_after_the_peer_returns() {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let addr = server.local_addrs()[0];
    let client = start_client(addr).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    assert_eq!(
        client
            .send(ccr(&client, 1, None))
            .await
            .unwrap()
            .result_code(),
        Some(2001)
    );

    server.abort();
    wait_for("the client to see the loss", Duration::from_secs(3), || {
        !client.peers()[0].ready
    })
    .await;
    assert!(client.send(ccr(&client, 2, None)).await.is_err());

    // Same address again; the client's backoff finds it, then REOPEN (3 DWAs) before use.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (server, _) = start_server(&[addr], Limits::default()).await;
    client.wait_for_ready(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        client
            .send(ccr(&client, 3, None))
            .await
            .unwrap()
            .result_code(),
        Some(2001)
    );
    client.shutdown().await;
    server.shutdown().await;
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn dpr_from_the_server_busy_then_quiet() {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let addr = server.local_addrs()[0];
    let client = start_client(addr).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    server.shutdown_with(DisconnectCause::BUSY).await;
    wait_for("the client to close", Duration::from_secs(2), || {
        client.peers()[0].state == PeerState::Closed
    })
    .await;
    // A new server at the same address: the client keeps quiet for the configured 3 s
    // after BUSY (§5.4.3 "SHOULD NOT attempt reconnection"), then connects.
    let (server, _) = start_server(&[addr], Limits::default()).await;
    let closed_at = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !client.peers()[0].ready,
        "no reconnection during the quiet period"
    );
    client.wait_for_ready(Duration::from_secs(4)).await.unwrap();
    assert!(closed_at.elapsed() >= Duration::from_millis(1400));
    client.shutdown().await;
    server.shutdown().await;
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn dpr_from_the_client_and_graceful_drain() {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    // A request in flight (handler takes 200 ms) is answered before the DPR goes out.
    let c = client.clone();
    let pending = tokio::spawn(async move { c.send(ccr(&c, 1, Some(4))).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.shutdown().await;
    assert_eq!(pending.await.unwrap().unwrap().result_code(), Some(2001));
    assert_eq!(client.peers()[0].state, PeerState::Closed);
    wait_for(
        "the server to drop the peer",
        Duration::from_secs(2),
        || server.peers().is_empty(),
    )
    .await;
    server.shutdown().await;
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn simultaneous_connects_settle_on_one_connection() {
    // Two nodes that both know each other as persistent peers: both connect at once and
    // the §5.6.4 election keeps one connection.
    let a_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (a_addr, b_addr) = (
        a_listener.local_addr().unwrap(),
        b_listener.local_addr().unwrap(),
    );
    drop((a_listener, b_listener));
    let node = |me: &str, listen, other: &str, other_addr| {
        let mut c = NodeConfig::new(me, "example.org")
            .timers(timers())
            .listen(listen)
            .peer(PeerSpec::new(format!("aaa://{other}")).address(other_addr));
        c.limits = Limits::default();
        Node::builder(c)
            .application(gy_server_app(Seen::default()))
            .start()
    };
    let a = node("a.example.org", a_addr, "b.example.org", b_addr)
        .await
        .unwrap();
    let b = node("b.example.org", b_addr, "a.example.org", a_addr)
        .await
        .unwrap();
    a.wait_for_ready(Duration::from_secs(5)).await.unwrap();
    b.wait_for_ready(Duration::from_secs(5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (pa, pb) = (a.peers()[0].clone(), b.peers()[0].clone());
    assert!(
        pa.state.is_open() && pb.state.is_open(),
        "{:?} {:?}",
        pa.state,
        pb.state
    );
    // Opposite ends of one connection: one side initiated it, the other responded.
    assert_ne!(pa.state, pb.state);
    assert_eq!(
        a.send(ccr(&a, 1, None)).await.unwrap().result_code(),
        Some(2001)
    );
    assert_eq!(
        b.send(ccr(&b, 1, None)).await.unwrap().result_code(),
        Some(2001)
    );
    a.shutdown().await;
    b.shutdown().await;
}
