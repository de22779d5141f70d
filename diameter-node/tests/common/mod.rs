//! Helpers for the loopback integration tests: nodes with short timers, a Gy-like
//! application, and a raw TCP client for sending bad input.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use diameter_core::generated::base::avp;
use diameter_core::typed::Command;
use diameter_core::{AvpFlags, AvpKey, DiameterIdentity, Message, MessageBuilder, Utf8String};
use diameter_node::peer::LocalCapabilities;
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::{
    Application, HandlerError, Limits, Node, NodeConfig, NodeHandle, PeerSpec, Request, Timers,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Credit-Control (RFC 4006): application 4, command 272.
pub const GY: u32 = 4;
pub const CC: u32 = 272;
/// CC-Request-Type, CC-Request-Number, Service-Context-Id (RFC 4006).
pub const CC_REQUEST_TYPE: u32 = 416;
pub const SERVICE_CONTEXT_ID: u32 = 461;
pub const CC_REQUEST_NUMBER: u32 = 415;
/// A test-only AVP telling the server's handler what to do: 1 = sleep 10 s, 2 = panic,
/// 3 = error, 4 = sleep 200 ms.
pub const TEST_ACTION: u32 = 99_999;

pub fn timers() -> Timers {
    Timers {
        watchdog: Duration::from_millis(300),
        watchdog_jitter: Duration::from_millis(20),
        connect_timeout: Duration::from_secs(1),
        cea_timeout: Duration::from_secs(1),
        dpa_timeout: Duration::from_millis(500),
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(400),
        quiet_after_dpr: Duration::from_secs(3),
        request_timeout: Duration::from_secs(3),
        frame_timeout: Duration::from_millis(300),
        drain_timeout: Duration::from_millis(500),
    }
}

/// Counts the requests the server's handler has seen.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<AtomicUsize>);

impl Seen {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The Gy application of the test server: answers 2001 with CC-Request-Type/Number echoed.
pub fn gy_server_app(seen: Seen) -> Application {
    Application::auth(GY)
        .commands(&[CC, 275])
        .handler(move |req: Request| {
            let seen = seen.clone();
            async move {
                seen.0.fetch_add(1, Ordering::SeqCst);
                let msg = req.message();
                match msg.get::<u32>(diameter_core::AvpKey::new(TEST_ACTION, 0)) {
                    Some(Ok(1)) => tokio::time::sleep(Duration::from_secs(10)).await,
                    Some(Ok(2)) => panic!("test handler panics on purpose"),
                    Some(Ok(3)) => return Err(HandlerError::Failed("on purpose".into())),
                    Some(Ok(4)) => tokio::time::sleep(Duration::from_millis(200)).await,
                    _ => {}
                }
                let mut a = req.answer(2001);
                for code in [CC_REQUEST_TYPE, CC_REQUEST_NUMBER] {
                    if let Some(x) = msg.find(diameter_core::AvpKey::new(code, 0)) {
                        a.raw_ref(&x);
                    }
                }
                Ok::<_, HandlerError>(a)
            }
        })
}

pub fn server_config(host: &str, listen: &[SocketAddr]) -> NodeConfig {
    let mut c = NodeConfig::new(host, "example.org").timers(timers());
    c.listen = listen.to_vec();
    c.accept_unknown_peers.push("*.example.org".into());
    c
}

pub async fn start_server(listen: &[SocketAddr], limits: Limits) -> (NodeHandle, Seen) {
    let seen = Seen::default();
    let node = Node::builder(server_config("server.example.org", listen).limits(limits))
        .application(gy_server_app(seen.clone()))
        .start()
        .await
        .expect("server starts");
    (node, seen)
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn start_client(server: SocketAddr) -> NodeHandle {
    let config = NodeConfig::new("client.example.org", "example.org")
        .timers(timers())
        .application(SupportedApplication::auth(GY))
        .peer(PeerSpec::new("aaa://server.example.org:3868;transport=tcp").address(server));
    Node::builder(config).start().await.expect("client starts")
}

/// A CCR-like request (application 4, command 272).
pub fn ccr(node: &NodeHandle, number: u32, action: Option<u32>) -> Message {
    let mut b = node.new_request(CC, GY, true);
    b.add(
        avp::DESTINATION_REALM,
        &DiameterIdentity::from("example.org"),
    );
    b.add(avp::AUTH_APPLICATION_ID, &GY);
    // With the flags of the dictionary when it knows them (M), none otherwise.
    b.add(
        AvpKey::new(SERVICE_CONTEXT_ID, 0),
        &Utf8String::from("32251@3gpp.org"),
    );
    b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
    b.add(AvpKey::new(CC_REQUEST_NUMBER, 0), &number);
    if let Some(a) = action {
        b.avp(TEST_ACTION, 0, AvpFlags::default(), &a);
    }
    b.build()
}

/// A raw TCP peer for feeding bytes to a node.
pub struct Raw {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Connects and completes CER/CEA as `host` (application 4).
    pub async fn open(addr: SocketAddr, host: &str) -> Self {
        let mut raw = Self::connect(addr).await;
        let cea = raw.handshake(host).await.expect("CEA");
        assert_eq!(cea.result_code(), Some(2001), "{cea:?}");
        raw
    }

    pub async fn handshake(&mut self, host: &str) -> Option<Message> {
        let mut local = LocalCapabilities::new(host, "example.org");
        local.applications = vec![SupportedApplication::auth(GY)];
        let mut cer = local.cer();
        cer.header.hop_by_hop = 1;
        cer.header.end_to_end = 1;
        self.send(&cer.to_bytes()).await;
        self.recv().await
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// The next message, skipping DWRs (answered) ; `None` when the connection closes or
    /// nothing comes within 3 s.
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            let msg = self.recv_any().await?;
            if msg.code() == 280 && msg.is_request() {
                let mut dwa = msg.to_answer();
                dwa.result_code(2001);
                dwa.add(avp::ORIGIN_HOST, &DiameterIdentity::from("raw.example.org"));
                dwa.add(avp::ORIGIN_REALM, &DiameterIdentity::from("example.org"));
                let bytes = dwa.build().into_bytes();
                self.send(&bytes).await;
                continue;
            }
            return Some(msg);
        }
    }

    pub async fn recv_any(&mut self) -> Option<Message> {
        tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                if let Some(len) = diameter_core::Header::peek_length(&self.buf) {
                    if self.buf.len() >= len as usize && len >= 20 {
                        let frame = self.buf.split_to(len as usize).freeze();
                        return Message::decode(frame).ok();
                    }
                }
                self.buf.reserve(4096);
                match self.stream.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Whether the node closes the connection within `within` (after any answers).
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, async {
            let mut scratch = [0u8; 4096];
            loop {
                match self.stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => {}
                }
            }
        })
        .await
        .unwrap_or(false)
    }
}

/// A request of application 4 built by hand, with identifiers.
pub fn raw_request(code: u32, app: u32, hop_by_hop: u32) -> MessageBuilder {
    let mut b = MessageBuilder::request(code, app, true);
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
        &DiameterIdentity::from("example.org"),
    );
    b.add(avp::AUTH_APPLICATION_ID, &app);
    b
}

pub fn bytes_of(b: MessageBuilder) -> Bytes {
    b.build().into_bytes()
}

/// Whether `m` carries a Failed-AVP.
pub fn has_failed_avp(m: &Message) -> bool {
    m.find(avp::FAILED_AVP).is_some()
}
