//! Bad input over real sockets: each case gets the RFC 6733 answer or a clean disconnect,
//! and the node keeps serving a well-behaved client throughout.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use diameter_core::generated::base::avp;
use diameter_core::{AvpFlags, Message};
use diameter_node::{Limits, NodeHandle};

const SMALL_LIMIT: u32 = 4096;

async fn server() -> (NodeHandle, SocketAddr, NodeHandle) {
    let limits = Limits {
        max_message_size: SMALL_LIMIT,
        max_concurrent_handlers: 4,
        ..Limits::default()
    };
    let (server, _) = start_server(&[loopback()], limits).await;
    let addr = server.local_addrs()[0];
    let good = start_client(addr).await;
    good.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    (server, addr, good)
}

/// The well-behaved client still gets answers.
async fn still_serving(good: &NodeHandle) {
    let a = good.send(ccr(good, 1, None)).await.unwrap();
    assert_eq!(a.result_code(), Some(2001));
}

fn answer_of(a: &Message, hop_by_hop: u32) -> (u32, bool, bool) {
    assert!(!a.is_request());
    assert_eq!(a.header().hop_by_hop, hop_by_hop);
    (
        a.result_code().unwrap_or(0),
        a.header().flags.is_error(),
        has_failed_avp(a),
    )
}

#[tokio::test]
async fn bad_input_table() {
    let (server, addr, good) = server().await;

    // --- Framing errors: answered when possible, then the connection is closed. ---

    // Version 2: 5011, closed.
    let mut raw = Raw::open(addr, "bad1.example.org").await;
    let mut b = bytes_of(raw_request(CC, GY, 11)).to_vec();
    b[0] = 2;
    raw.send(&b).await;
    let a = raw.recv().await.expect("answer to version 2");
    assert_eq!(answer_of(&a, 11).0, 5011);
    assert!(raw.closed_within(Duration::from_secs(2)).await);
    still_serving(&good).await;

    // Message Length < 20: 5015, closed.
    let mut raw = Raw::open(addr, "bad2.example.org").await;
    let mut b = bytes_of(raw_request(CC, GY, 12)).to_vec();
    b[1..4].copy_from_slice(&[0, 0, 12]);
    raw.send(&b[..20]).await;
    let a = raw.recv().await.expect("answer to length 12");
    assert_eq!(answer_of(&a, 12).0, 5015);
    assert!(raw.closed_within(Duration::from_secs(2)).await);

    // Message Length above the limit: 5015, closed, the body is never read.
    let mut raw = Raw::open(addr, "bad3.example.org").await;
    let mut b = bytes_of(raw_request(CC, GY, 13)).to_vec();
    b[1..4].copy_from_slice(&(SMALL_LIMIT + 4).to_be_bytes()[1..]);
    raw.send(&b[..20]).await;
    let a = raw.recv().await.expect("answer to oversized length");
    assert_eq!(answer_of(&a, 13).0, 5015);
    assert!(raw.closed_within(Duration::from_secs(2)).await);
    still_serving(&good).await;

    // A header, then silence: closed after the frame timeout (300 ms here).
    let mut raw = Raw::open(addr, "bad4.example.org").await;
    let b = bytes_of(raw_request(CC, GY, 14)).to_vec();
    raw.send(&b[..24]).await;
    assert!(raw.closed_within(Duration::from_secs(2)).await);
    still_serving(&good).await;

    // --- Content errors: answered, the connection stays. ---
    let mut raw = Raw::open(addr, "bad5.example.org").await;

    // AVP Length < 8: 5014 with Failed-AVP.
    let mut b = raw_request(CC, GY, 21);
    b.extend_raw(&[0, 0, 0x03, 0xe7, 0, 0, 0, 4]);
    raw.send(&bytes_of(b)).await;
    let a = raw.recv().await.expect("answer to AVP length 4");
    assert_eq!(answer_of(&a, 21), (5014, false, true));

    // AVP overrunning its parent: top level (past the message end) and inside a Grouped.
    let mut b = raw_request(CC, GY, 22);
    b.extend_raw(&[0, 0, 0x03, 0xe7, 0, 0, 0, 64, 1, 2, 3, 4]);
    raw.send(&bytes_of(b)).await;
    let a = raw.recv().await.expect("answer to overrunning AVP");
    assert_eq!(answer_of(&a, 22), (5014, false, true));
    let mut b = raw_request(CC, GY, 23);
    // Proxy-Info (284, Grouped) holding a member that claims 40 bytes in a 12-byte group.
    b.extend_raw(&[
        0, 0, 1, 28, 0x40, 0, 0, 20, 0, 0, 1, 24, 0x40, 0, 0, 40, 1, 2, 3, 4,
    ]);
    raw.send(&bytes_of(b)).await;
    let a = raw.recv().await.expect("answer to overrunning member");
    assert_eq!(answer_of(&a, 23), (5014, false, true));

    // Unknown AVP with the M bit: 5001 with Failed-AVP.
    let mut b = raw_request(CC, GY, 24);
    b.avp(98_765, 0, AvpFlags(AvpFlags::MANDATORY), &7u32);
    raw.send(&bytes_of(b)).await;
    let a = raw.recv().await.expect("answer to unknown M-bit AVP");
    assert_eq!(answer_of(&a, 24), (5001, false, true));
    let failed = a.find(avp::FAILED_AVP).unwrap();
    assert_eq!(failed.children().next().unwrap().unwrap().code, 98_765);

    // Missing required AVP: STR without Termination-Cause, 5005 with Failed-AVP.
    let mut b = diameter_core::MessageBuilder::request(275, GY, true);
    b.header_mut().hop_by_hop = 25;
    b.add(
        avp::SESSION_ID,
        &diameter_core::Utf8String::from("raw;1;25"),
    );
    b.add(
        avp::ORIGIN_HOST,
        &diameter_core::DiameterIdentity::from("raw.example.org"),
    );
    b.add(
        avp::ORIGIN_REALM,
        &diameter_core::DiameterIdentity::from("example.org"),
    );
    b.add(
        avp::DESTINATION_REALM,
        &diameter_core::DiameterIdentity::from("example.org"),
    );
    b.add(avp::AUTH_APPLICATION_ID, &GY);
    raw.send(&bytes_of(b)).await;
    let a = raw
        .recv()
        .await
        .expect("answer to STR without Termination-Cause");
    assert_eq!(answer_of(&a, 25), (5005, false, true));
    let failed = a.find(avp::FAILED_AVP).unwrap();
    assert_eq!(
        failed.children().next().unwrap().unwrap().code,
        avp::TERMINATION_CAUSE.code
    );

    // E bit on a request: 3008, with the E bit on the answer.
    let mut b = bytes_of(raw_request(CC, GY, 26)).to_vec();
    b[4] |= 0x20;
    raw.send(&b).await;
    let a = raw.recv().await.expect("answer to E bit on request");
    assert_eq!(answer_of(&a, 26), (3008, true, false));

    // Unknown application: 3007 with E; unknown command of a served application: 3001.
    raw.send(&bytes_of(raw_request(CC, 16_777_238, 27))).await;
    let a = raw.recv().await.expect("answer to unknown application");
    assert_eq!(answer_of(&a, 27), (3007, true, false));
    raw.send(&bytes_of(raw_request(999, GY, 28))).await;
    let a = raw.recv().await.expect("answer to unknown command");
    assert_eq!(answer_of(&a, 28), (3001, true, false));

    // A second CER on the open connection: answered 5012, the connection stays.
    let cea = raw
        .handshake("bad5.example.org")
        .await
        .expect("CEA to second CER");
    assert_eq!((cea.code(), cea.result_code()), (257, Some(5012)));

    // An answer whose Hop-by-Hop Identifier matches no request: dropped and counted.
    let mut stray = raw_request(CC, GY, 0xdead).build().to_answer();
    stray.result_code(2001);
    raw.send(stray.build().as_bytes()).await;

    // Still a working connection.
    let mut b = raw_request(CC, GY, 29);
    b.add(
        diameter_core::AvpKey::new(SERVICE_CONTEXT_ID, 0),
        &diameter_core::Utf8String::from("x"),
    );
    b.add(diameter_core::AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
    b.add(diameter_core::AvpKey::new(CC_REQUEST_NUMBER, 0), &0u32);
    raw.send(&bytes_of(b)).await;
    let a = raw.recv().await.expect("answer to a good CCR");
    assert_eq!(answer_of(&a, 29).0, 2001);
    still_serving(&good).await;
    assert!(server.stats().protocol_errors >= 9);
    assert_eq!(server.stats().unknown_answers, 1);

    good.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn before_and_during_capabilities_exchange() {
    let (server, addr, good) = server().await;

    // A request before CER: the connection is closed without an answer (§5.6.1).
    let mut raw = Raw::connect(addr).await;
    raw.send(&bytes_of(raw_request(CC, GY, 31))).await;
    assert!(raw.recv_any().await.is_none());

    // CER from an unknown realm: 3010 with the E bit, then closed.
    let mut raw = Raw::connect(addr).await;
    let mut local = diameter_node::peer::LocalCapabilities::new("x.other.net", "other.net");
    local.applications = vec![diameter_node::peer::SupportedApplication::auth(GY)];
    raw.send(&diameter_core::typed::Command::to_bytes(&local.cer()))
        .await;
    let cea = raw.recv_any().await.expect("CEA 3010");
    assert_eq!(cea.result_code(), Some(3010));
    assert!(cea.header().flags.is_error());
    assert!(raw.closed_within(Duration::from_secs(2)).await);

    // CER without an application in common: 5010, then closed.
    let mut raw = Raw::connect(addr).await;
    let mut local = diameter_node::peer::LocalCapabilities::new("y.example.org", "example.org");
    local.applications = vec![diameter_node::peer::SupportedApplication::auth(16_777_238)];
    raw.send(&diameter_core::typed::Command::to_bytes(&local.cer()))
        .await;
    let cea = raw.recv_any().await.expect("CEA 5010");
    assert_eq!(cea.result_code(), Some(5010));
    assert!(raw.closed_within(Duration::from_secs(2)).await);

    // Silence instead of a CER: closed after the CEA timeout.
    let mut raw = Raw::connect(addr).await;
    assert!(raw.closed_within(Duration::from_secs(3)).await);

    still_serving(&good).await;
    good.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn burst_beyond_the_concurrency_bound_gets_3004_and_none_is_lost() {
    let (server, addr, good) = server().await;
    let raw = Raw::open(addr, "burst.example.org").await;
    // 10,000 requests in one burst; each handler takes 200 ms and only 4 run at once.
    const N: u32 = 10_000;
    let mut burst = Vec::new();
    for i in 0..N {
        let mut b = raw_request(CC, GY, 1000 + i);
        b.add(
            diameter_core::AvpKey::new(SERVICE_CONTEXT_ID, 0),
            &diameter_core::Utf8String::from("x"),
        );
        b.add(diameter_core::AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
        b.add(diameter_core::AvpKey::new(CC_REQUEST_NUMBER, 0), &i);
        b.avp(TEST_ACTION, 0, AvpFlags::default(), &4u32);
        burst.extend_from_slice(&bytes_of(b));
    }
    let (mut rd, mut wr) = raw.stream.into_split();
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        wr.write_all(&burst).await.unwrap();
        wr
    });
    let mut raw_reader = RawReader::new();
    let mut answered = std::collections::HashMap::new();
    while answered.len() < N as usize {
        let a = raw_reader
            .next(&mut rd)
            .await
            .expect("every request is answered");
        if a.code() == 280 {
            continue;
        }
        assert!(
            answered
                .insert(a.header().hop_by_hop, a.result_code().unwrap())
                .is_none(),
            "one answer each"
        );
    }
    let _wr = writer.await.unwrap();
    let busy = answered.values().filter(|c| **c == 3004).count();
    let ok = answered.values().filter(|c| **c == 2001).count();
    assert_eq!(busy + ok, N as usize);
    assert!(busy > 0 && ok >= 4, "busy {busy} ok {ok}");
    assert_eq!(server.stats().too_busy as usize, busy);
    still_serving(&good).await;
    good.shutdown().await;
    server.shutdown().await;
}

/// Reads messages from a read half.
struct RawReader {
    buf: bytes::BytesMut,
}

impl RawReader {
    fn new() -> Self {
        Self {
            buf: bytes::BytesMut::new(),
        }
    }

    async fn next(&mut self, rd: &mut tokio::net::tcp::OwnedReadHalf) -> Option<Message> {
        use tokio::io::AsyncReadExt;
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(len) = diameter_core::Header::peek_length(&self.buf) {
                    if self.buf.len() >= len as usize {
                        return Message::decode(self.buf.split_to(len as usize).freeze()).ok();
                    }
                }
                self.buf.reserve(65536);
                match rd.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}
