//! SCTP transport (feature `sctp`, Linux): the sockets alone, then two nodes. The tests
//! that need the kernel's SCTP probe for it first and, without it, print
//! `sctp: <test> ... skipped: kernel has no SCTP` and pass; those that check the typed
//! error run only without it.
#![cfg(all(feature = "sctp", target_os = "linux"))]

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

mod common;

use bytes::{Bytes, BytesMut};
use common::{GY, Seen, ccr, gy_server_app, server_config, timers};
use diameter_core::{AvpFlags, MessageBuilder};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::peer::{PeerState, WatchdogState};
use diameter_node::sctp::{self, SctpListener, SctpStream};
use diameter_node::{Node, NodeConfig, NodeError, NodeHandle, PeerSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const STEP: Duration = Duration::from_secs(5);

/// Prints `sctp: <test> ... skipped: <why>` on the process's stderr itself, not through
/// `eprintln!`, which the test harness captures: the line shows in CI's log.
fn skipped(test: &str, why: &str) {
    // One `write`, so that the line is not cut by the harness's output of other tests.
    let line = format!("sctp: {test} ... skipped: {why}\n");
    let _ = io::stderr().write_all(line.as_bytes());
}

/// Whether the SCTP test `test` can run; says it is skipped when it cannot.
fn sctp_available(test: &str) -> bool {
    if sctp::kernel_supports_sctp() {
        true
    } else {
        skipped(test, "kernel has no SCTP");
        false
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A Device-Watchdog-Request-like message with `n` in its Hop-by-Hop Identifier.
fn message(n: u32) -> Vec<u8> {
    request(n, 0)
}

/// Same, with an AVP of `padding` bytes.
fn request(n: u32, padding: usize) -> Vec<u8> {
    let mut b = MessageBuilder::request(280, 0, false);
    b.header_mut().hop_by_hop = n;
    b.header_mut().end_to_end = n;
    if padding > 0 {
        b.avp(1, 0, AvpFlags::default(), &Bytes::from(vec![7u8; padding]));
    }
    b.build().as_bytes().to_vec()
}

/// Reads until `count` whole messages have arrived; returns their Hop-by-Hop Identifiers.
async fn read_messages(stream: &mut SctpStream, count: usize) -> Vec<u32> {
    let mut buf = BytesMut::with_capacity(4096);
    let mut ids = Vec::new();
    while ids.len() < count {
        // Whole messages by their Message Length (§3).
        while let Some(len) = diameter_core::Header::peek_length(&buf) {
            if buf.len() < len as usize {
                break;
            }
            let frame = buf.split_to(len as usize);
            ids.push(diameter_core::Header::peek(&frame).unwrap().hop_by_hop);
        }
        if ids.len() == count {
            break;
        }
        let n = tokio::time::timeout(STEP, stream.read_buf(&mut buf))
            .await
            .expect("data in time")
            .unwrap();
        assert_ne!(n, 0, "association closed early");
    }
    ids
}

#[tokio::test]
async fn without_kernel_sctp_the_error_is_typed() {
    if sctp::kernel_supports_sctp() {
        skipped(
            "without_kernel_sctp_the_error_is_typed",
            "kernel has SCTP (the test checks the error without it)",
        );
        return;
    }
    let e = SctpListener::bind(&[addr("127.0.0.1:0")]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    assert!(sctp::is_unsupported(&e), "{e}");
    assert!(e.to_string().contains("SCTP"), "{e}");
    let e = SctpStream::connect(&[addr("127.0.0.1:3868")])
        .await
        .unwrap_err();
    assert!(sctp::is_unsupported(&e), "{e}");
}

#[tokio::test]
async fn association_carries_diameter_messages_both_ways() {
    if !sctp_available("association_carries_diameter_messages_both_ways") {
        return;
    }
    let listener = SctpListener::bind(&[addr("127.0.0.1:0")]).unwrap();
    let at = listener.local_addr().unwrap();
    assert_ne!(at.port(), 0);
    let target = [at];
    let (client, accepted) = tokio::join!(
        tokio::time::timeout(STEP, SctpStream::connect(&target)),
        tokio::time::timeout(STEP, listener.accept()),
    );
    let mut client = client.unwrap().unwrap();
    let (mut server, from) = accepted.unwrap().unwrap();
    assert_eq!(from, client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), at);

    let status = client.status().unwrap();
    assert!(status.established);
    // Both ends asked for 16 outbound and accept 16 inbound streams.
    assert_eq!((status.outbound_streams, status.inbound_streams), (16, 16));

    // Several messages in one buffer: each goes as its own SCTP message, and the reader
    // gets them in order.
    let mut burst = Vec::new();
    for n in 1..=5 {
        burst.extend(message(n));
    }
    client.write_all(&burst).await.unwrap();
    assert_eq!(read_messages(&mut server, 5).await, [1, 2, 3, 4, 5]);

    // A message larger than SCTP's default 16 KiB send buffer.
    server.write_all(&request(99, 100_000)).await.unwrap();
    assert_eq!(read_messages(&mut client, 1).await, [99]);

    // Another stream for what follows, then back; stream 16 does not exist.
    server.set_send_stream(3).unwrap();
    server.write_all(&message(7)).await.unwrap();
    assert_eq!(read_messages(&mut client, 1).await, [7]);
    assert!(server.set_send_stream(16).is_err());

    // SHUTDOWN: the other end reads end of stream.
    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(STEP, server.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn multi_homed_listener_on_two_loopback_addresses() {
    if !sctp_available("multi_homed_listener_on_two_loopback_addresses") {
        return;
    }
    let listener = SctpListener::bind(&[addr("127.0.0.1:0"), addr("127.0.0.2:0")]).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut local = listener.local_addrs().unwrap();
    local.sort();
    assert_eq!(
        local,
        [
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from(([127, 0, 0, 2], port)),
        ]
    );

    // One association over both addresses of the peer.
    let both = local.clone();
    let (client, accepted) = tokio::join!(
        tokio::time::timeout(STEP, SctpStream::connect(&both)),
        tokio::time::timeout(STEP, listener.accept()),
    );
    let mut client = client.unwrap().unwrap();
    let (mut server, _) = accepted.unwrap().unwrap();
    let mut peer = client.peer_addrs().unwrap();
    peer.sort();
    assert_eq!(peer, both);
    client.write_all(&message(1)).await.unwrap();
    assert_eq!(read_messages(&mut server, 1).await, [1]);
    server.write_all(&message(2)).await.unwrap();
    assert_eq!(read_messages(&mut client, 1).await, [2]);

    // The second address alone reaches the same endpoint.
    let (client2, accepted2) = tokio::join!(
        tokio::time::timeout(STEP, SctpStream::connect(&both[1..])),
        tokio::time::timeout(STEP, listener.accept()),
    );
    let mut client2 = client2.unwrap().unwrap();
    let (mut server2, _) = accepted2.unwrap().unwrap();
    assert_eq!(client2.peer_addr().unwrap(), both[1]);
    client2.write_all(&message(3)).await.unwrap();
    assert_eq!(read_messages(&mut server2, 1).await, [3]);
}

#[tokio::test]
async fn connecting_to_a_port_nobody_listens_on_fails() {
    if !sctp_available("connecting_to_a_port_nobody_listens_on_fails") {
        return;
    }
    // Take a free port, then close it: the peer answers INIT with ABORT.
    let port = SctpListener::bind(&[addr("127.0.0.1:0")])
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = [SocketAddr::from(([127, 0, 0, 1], port))];
    let r = tokio::time::timeout(STEP, SctpStream::connect(&closed))
        .await
        .expect("refused in time, not hanging");
    assert!(r.is_err());
}

// ----- the node over SCTP -----

/// A server node with SCTP endpoints `listen` and the Gy test application.
async fn sctp_server(listen: &[SocketAddr]) -> (NodeHandle, Seen) {
    let seen = Seen::default();
    let mut config = server_config("server.example.org", &[]);
    for a in listen {
        config = config.sctp_listen(*a);
    }
    let node = Node::builder(config)
        .application(gy_server_app(seen.clone()))
        .start()
        .await
        .expect("server starts");
    (node, seen)
}

/// A client node with the server as a `;transport=sctp` peer at `addrs`.
async fn sctp_client(addrs: &[SocketAddr]) -> NodeHandle {
    let mut peer = PeerSpec::new("aaa://server.example.org;transport=sctp");
    for a in addrs {
        peer = peer.address(*a);
    }
    let config = NodeConfig::new("client.example.org", "example.org")
        .timers(timers())
        .application(SupportedApplication::auth(GY))
        .peer(peer);
    Node::builder(config).start().await.expect("client starts")
}

#[test]
fn toml_takes_sctp_listen_addresses_and_sctp_peers() {
    let c = NodeConfig::from_toml(
        r#"
        origin_host = "a.example.org"
        origin_realm = "example.org"
        listen = ["127.0.0.1:3868"]
        sctp_listen = ["127.0.0.1:3868", "127.0.0.2:3868", "[::1]:3869"]

        [[peers]]
        uri = "aaa://b.example.org:3868;transport=sctp"
        addresses = ["127.0.0.1:3868", "127.0.0.2:3868"]

        [[peers]]
        uri = "aaa://c.example.org"
        "#,
    )
    .unwrap();
    assert_eq!(c.sctp_listen.len(), 3);
    // Two endpoints: one multi-homed on 3868, one on 3869.
    assert_eq!(sctp::endpoints(&c.sctp_listen).len(), 2);
    assert!(c.peers[0].is_sctp());
    assert!(!c.peers[1].is_sctp());
    assert_eq!(
        c.peers[0].identity().unwrap(),
        ("b.example.org".to_owned(), 3868)
    );
    // DTLS over SCTP (aaas:// with transport=sctp) is not offered.
    let e = NodeConfig::from_toml(
        "origin_host = \"a\"\norigin_realm = \"r\"\n[[peers]]\nuri = \"aaas://x;transport=sctp\"",
    )
    .unwrap_err();
    assert!(e.to_string().contains("DTLS"), "{e}");
}

#[tokio::test]
async fn node_without_kernel_sctp_reports_the_typed_error() {
    if sctp::kernel_supports_sctp() {
        skipped(
            "node_without_kernel_sctp_reports_the_typed_error",
            "kernel has SCTP (the test checks the error without it)",
        );
        return;
    }
    let listen = addr("127.0.0.1:0");
    let config = server_config("server.example.org", &[]).sctp_listen(listen);
    match Node::builder(config).start().await {
        Err(NodeError::Bind { addr, source }) => {
            assert_eq!(addr, listen);
            assert_eq!(source.kind(), io::ErrorKind::Unsupported);
            assert!(sctp::is_unsupported(&source), "{source}");
        }
        other => panic!("expected the SCTP bind error, got {other:?}"),
    }
    // A peer over SCTP cannot be connected either: the node says so at start.
    let config = NodeConfig::new("client.example.org", "example.org").peer(
        PeerSpec::new("aaa://server.example.org;transport=sctp").address(addr("127.0.0.1:3868")),
    );
    match Node::builder(config).start().await {
        Err(NodeError::Transport { peer, source }) => {
            assert_eq!(peer, "aaa://server.example.org;transport=sctp");
            assert!(sctp::is_unsupported(&source), "{source}");
        }
        other => panic!("expected the SCTP transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn two_nodes_over_a_multi_homed_sctp_association() {
    if !sctp_available("two_nodes_over_a_multi_homed_sctp_association") {
        return;
    }
    let (server, seen) = sctp_server(&[addr("127.0.0.1:0"), addr("127.0.0.2:0")]).await;
    // Both addresses of the one endpoint, with the port the kernel chose.
    let at = server.local_addrs().to_vec();
    assert_eq!(at.len(), 2);
    assert_eq!(at[0].port(), at[1].port());
    assert_ne!(at[0].port(), 0);

    let client = sctp_client(&at).await;
    client.wait_for_ready(STEP).await.unwrap();

    // CER/CEA: the server advertised both addresses of its endpoint (§5.3 Host-IP-Address).
    let peers = client.peers();
    assert_eq!(peers[0].state, PeerState::IOpen);
    let caps = peers[0].capabilities.clone().unwrap();
    assert_eq!(caps.origin_host, "server.example.org");
    assert_eq!(caps.host_ip_addresses.len(), 2);
    assert_eq!(caps.applications.common, vec![GY]);

    // A request and its answer.
    for n in 0..10 {
        let cca = client.send(ccr(&client, n, None)).await.unwrap();
        assert_eq!(cca.result_code(), Some(2001));
    }
    assert_eq!(seen.get(), 10);

    // DWR/DWA keep the association up over several Tw.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(client.peers()[0].watchdog, WatchdogState::Okay);

    client.shutdown().await;
    server.shutdown().await;
}
