//! TLS at connection start (RFC 6733 §13.1) between nodes over loopback: mutual
//! authentication, the server's certificate against the peer's DiameterIdentity, the
//! client's certificate against its CER's Origin-Host, clients without a certificate.
//! Certificates come from a test CA made by rcgen at test time.
#![cfg(feature = "tls")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use common::*;
use diameter_core::typed::Command;
use diameter_core::{Header, Message};
use diameter_node::peer::capabilities::InbandSecurity;
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::peer::{LocalCapabilities, PeerState};
use diameter_node::{Limits, Node, NodeConfig, NodeHandle, PeerSpec, TlsConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const SERVER: &str = "server.example.org";
const CLIENT: &str = "client.example.org";

/// A test CA issuing node certificates whose DNS names are given.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, in DER.
struct Credentials {
    chain: Vec<Vec<u8>>,
    key: Vec<u8>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "diameter test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { ca }
    }

    fn ca_der(&self) -> Vec<u8> {
        self.ca.der().to_vec()
    }

    fn issue(&self, names: &[&str]) -> Credentials {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.ca)
            .unwrap();
        Credentials {
            chain: vec![cert.der().to_vec()],
            key: key.serialize_der(),
        }
    }

    /// A node's TLS section: a certificate naming `names`, this CA trusted.
    fn tls(&self, names: &[&str]) -> TlsConfig {
        let c = self.issue(names);
        TlsConfig::from_der(c.chain, c.key, vec![self.ca_der()])
    }

    /// A raw rustls client trusting this CA, with `credentials` or none.
    fn raw_client(&self, credentials: Option<Credentials>) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(self.ca_der())).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let config = match credentials {
            Some(c) => builder
                .with_client_auth_cert(
                    c.chain.into_iter().map(CertificateDer::from).collect(),
                    PrivateKeyDer::try_from(c.key).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        TlsConnector::from(Arc::new(config))
    }
}

/// A TLS server node (`server.example.org`, Gy handler) with its configured peers.
async fn tls_server(tls: TlsConfig, peers: Vec<PeerSpec>) -> (NodeHandle, Seen, SocketAddr) {
    let seen = Seen::default();
    let mut config = server_config(SERVER, &[]).tls(tls).tls_listen(loopback());
    config.peers = peers;
    let node = Node::builder(config)
        .application(gy_server_app(seen.clone()))
        .start()
        .await
        .expect("TLS server starts");
    let addr = node.local_addrs()[0];
    (node, seen, addr)
}

/// A client node connecting to `aaas://server.example.org` at `server`.
async fn tls_client(tls: TlsConfig, server: SocketAddr) -> NodeHandle {
    let config = NodeConfig::new(CLIENT, "example.org")
        .timers(timers())
        .tls(tls)
        .application(SupportedApplication::auth(GY))
        .peer(PeerSpec::new(format!("aaas://{SERVER}")).address(server));
    Node::builder(config).start().await.expect("client starts")
}

/// Sends a CER from `host` on `stream` and reads what comes back: the CEA, or `None` when
/// the connection fails or closes first.
async fn cer<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, host: &str) -> Option<Message> {
    let mut local = LocalCapabilities::new(host, "example.org");
    local.applications = vec![SupportedApplication::auth(GY)];
    let mut cer = local.cer();
    cer.header.hop_by_hop = 7;
    cer.header.end_to_end = 7;
    stream.write_all(&cer.to_bytes()).await.ok()?;
    read_message(stream).await
}

async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Message> {
    let mut buf = BytesMut::new();
    tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Some(len) = Header::peek_length(&buf) {
                if len >= 20 && buf.len() >= len as usize {
                    return Message::decode(buf.split_to(len as usize).freeze()).ok();
                }
            }
            buf.reserve(4096);
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// Whether the peer closes (or breaks) the connection within 3 s.
async fn closes<S: AsyncRead + Unpin>(stream: &mut S) -> bool {
    tokio::time::timeout(Duration::from_secs(3), async {
        let mut scratch = [0u8; 1024];
        loop {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// A raw TLS connection to `addr` whose server must be `server.example.org`.
async fn raw_tls(
    connector: &TlsConnector,
    addr: SocketAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    connector
        .connect(ServerName::try_from(SERVER).unwrap(), tcp)
        .await
}

#[tokio::test]
async fn mutual_authentication_then_requests() {
    let pki = Pki::new();
    let (server, seen, addr) = tls_server(pki.tls(&[SERVER]), Vec::new()).await;
    let client = tls_client(pki.tls(&[CLIENT]), addr).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    let peer = client.peers().remove(0);
    assert_eq!(peer.state, PeerState::IOpen);
    assert_eq!(peer.capabilities.unwrap().origin_host, SERVER);

    let cca = client.send(ccr(&client, 1, None)).await.unwrap();
    assert_eq!(cca.result_code(), Some(2001));
    // A burst: many requests and answers batched into TLS records, both ways at once.
    let sends: Vec<_> = (0..500u32)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move { client.send(ccr(&client, n, None)).await })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap().unwrap().result_code(), Some(2001));
    }
    assert_eq!(seen.get(), 501);
    let sp = server.peers();
    assert_eq!(
        (sp[0].name.as_str(), sp[0].state),
        (CLIENT, PeerState::ROpen)
    );
    assert_eq!(client.peers()[0].stats.tls_failures, 0);

    // DPR/DPA over TLS, then close_notify.
    client.shutdown().await;
    assert_eq!(client.peers()[0].state, PeerState::Closed);
    server.shutdown().await;
}

#[tokio::test]
async fn server_certificate_not_naming_the_peer_is_refused() {
    let pki = Pki::new();
    // A certificate from the trusted CA, for another name.
    let (server, seen, addr) = tls_server(pki.tls(&["other.example.org"]), Vec::new()).await;
    let client = tls_client(pki.tls(&[CLIENT]), addr).await;
    assert!(
        client
            .wait_for_ready(Duration::from_millis(1500))
            .await
            .is_err(),
        "no peer may open: {:?}",
        client.peers()
    );
    let peer = client.peers().remove(0);
    assert!(!peer.ready);
    assert!(peer.capabilities.is_none(), "no CER/CEA happened");
    assert!(peer.stats.tls_failures >= 1, "{:?}", peer.stats);
    assert!(server.peers().is_empty());
    assert_eq!(seen.get(), 0);
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn client_certificate_not_naming_the_origin_host_gets_3010() {
    let pki = Pki::new();
    // The server knows the client (non-persistent, aaas://), so it counts the refusal.
    let known = PeerSpec::new(format!("aaas://{CLIENT}")).persistent(false);
    let (server, _, addr) = tls_server(pki.tls(&[SERVER]), vec![known]).await;

    // A client whose certificate names another host.
    let connector = pki.raw_client(Some(pki.issue(&["impostor.example.org"])));
    let mut tls = raw_tls(&connector, addr).await.expect("handshake");
    let cea = cer(&mut tls, CLIENT).await.expect("a CEA");
    assert_eq!(cea.code(), 257);
    assert_eq!(cea.result_code(), Some(3010), "{cea:?}");
    assert!(cea.header().flags.is_error());
    assert!(
        closes(&mut tls).await,
        "the connection must close after 3010"
    );
    let peer = server.peers().remove(0);
    assert_eq!((peer.state, peer.ready), (PeerState::Closed, false));
    assert_eq!(peer.stats.tls_failures, 1);

    // The same certificate with its own name as Origin-Host is fine.
    let mut tls = raw_tls(&connector, addr).await.expect("handshake");
    let cea = cer(&mut tls, "impostor.example.org").await.expect("a CEA");
    assert_eq!(cea.result_code(), Some(2001), "{cea:?}");

    // A peer configured aaas:// may not connect without TLS: 3010 on a plain listener.
    let mut plain_config = server_config("plain.example.org", &[loopback()]);
    plain_config.peers = vec![PeerSpec::new(format!("aaas://{CLIENT}")).persistent(false)];
    let plain = Node::builder(plain_config.tls(pki.tls(&["plain.example.org"])))
        .application(gy_server_app(Seen::default()))
        .start()
        .await
        .unwrap();
    let mut tcp = TcpStream::connect(plain.local_addrs()[0]).await.unwrap();
    let cea = cer(&mut tcp, CLIENT).await.expect("a CEA");
    assert_eq!(cea.result_code(), Some(3010), "{cea:?}");
    // Others still connect over plain TCP.
    let mut tcp = TcpStream::connect(plain.local_addrs()[0]).await.unwrap();
    let cea = cer(&mut tcp, "other.example.org").await.expect("a CEA");
    assert_eq!(cea.result_code(), Some(2001), "{cea:?}");
    plain.abort();
    server.abort();
}

#[tokio::test]
async fn client_without_certificate_is_refused_when_required() {
    let pki = Pki::new();
    let (server, _, addr) = tls_server(pki.tls(&[SERVER]), Vec::new()).await;
    let anonymous = pki.raw_client(None);
    // With TLS 1.3 the client finishes its handshake before the server has judged it; the
    // server's alert then ends the connection, before any CEA.
    if let Ok(mut tls) = raw_tls(&anonymous, addr).await {
        assert!(
            cer(&mut tls, CLIENT).await.is_none(),
            "no CEA without a certificate"
        );
    }
    // Garbage instead of a ClientHello: that connection ends, the node keeps serving.
    let mut junk = TcpStream::connect(addr).await.unwrap();
    junk.write_all(&[0x16, 3, 1, 0xff, 0xff, 0, 1, 2, 3])
        .await
        .unwrap();
    junk.write_all(&[0u8; 600]).await.unwrap();
    assert!(closes(&mut junk).await);
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(server.peers().is_empty());

    let client = tls_client(pki.tls(&[CLIENT]), addr).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    assert_eq!(
        client
            .send(ccr(&client, 1, None))
            .await
            .unwrap()
            .result_code(),
        Some(2001)
    );
    // The silent connection is closed by the CEA timeout (1 s), handshake included.
    assert!(closes(&mut silent).await);
    client.abort();
    server.abort();

    // Client certificates optional: a client without one is admitted like a TCP one.
    let (server, _, addr) =
        tls_server(pki.tls(&[SERVER]).require_client_auth(false), Vec::new()).await;
    let mut tls = raw_tls(&anonymous, addr).await.expect("handshake");
    let cea = cer(&mut tls, CLIENT).await.expect("a CEA");
    assert_eq!(cea.result_code(), Some(2001), "{cea:?}");
    server.abort();
}

#[tokio::test]
async fn tls_configuration_errors() {
    let pki = Pki::new();
    // aaas:// or tls_listen without [tls].
    let c = NodeConfig::new(CLIENT, "example.org").peer(PeerSpec::new("aaas://x.example.org"));
    assert!(Node::builder(c).start().await.is_err());
    let c = NodeConfig::new(CLIENT, "example.org").tls_listen(loopback());
    assert!(Node::builder(c).start().await.is_err());
    // A key that does not belong to the certificate.
    let a = pki.issue(&[CLIENT]);
    let b = pki.issue(&[CLIENT]);
    let c = NodeConfig::new(CLIENT, "example.org")
        .tls(TlsConfig::from_der(a.chain, b.key, vec![pki.ca_der()]))
        .tls_listen(loopback());
    let err = Node::builder(c).start().await.unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
    // No CA.
    let a = pki.issue(&[CLIENT]);
    let c = NodeConfig::new(CLIENT, "example.org").tls(TlsConfig::from_der(a.chain, a.key, vec![]));
    assert!(Node::builder(c).start().await.is_err());
    // Still usable with plain TCP alone.
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    server.abort();
}

// ----- Inband-Security-Id TLS: TLS started after CER/CEA (RFC 3588 §2.1) -----

/// A plain TCP server offering or requiring inband TLS.
async fn inband_server(tls: TlsConfig, security: InbandSecurity) -> (NodeHandle, Seen, SocketAddr) {
    let seen = Seen::default();
    let mut config = server_config(SERVER, &[loopback()]).tls(tls);
    config.inband_security = security;
    let node = Node::builder(config)
        .application(gy_server_app(seen.clone()))
        .start()
        .await
        .expect("server starts");
    let addr = node.local_addrs()[0];
    (node, seen, addr)
}

async fn inband_client(tls: TlsConfig, security: InbandSecurity, server: SocketAddr) -> NodeHandle {
    let mut config = NodeConfig::new(CLIENT, "example.org")
        .timers(timers())
        .tls(tls)
        .application(SupportedApplication::auth(GY))
        .peer(PeerSpec::new(format!("aaa://{SERVER}")).address(server));
    config.inband_security = security;
    Node::builder(config).start().await.expect("client starts")
}

#[tokio::test]
async fn inband_tls_after_cer_cea_between_two_nodes() {
    let pki = Pki::new();
    let (server, seen, addr) = inband_server(pki.tls(&[SERVER]), InbandSecurity::Offer).await;
    let client = inband_client(pki.tls(&[CLIENT]), InbandSecurity::Require, addr).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    assert!(
        client.peers()[0]
            .capabilities
            .as_ref()
            .unwrap()
            .applications
            .tls
    );
    let sends: Vec<_> = (0..200u32)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move { client.send(ccr(&client, n, None)).await })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap().unwrap().result_code(), Some(2001));
    }
    assert_eq!(seen.get(), 200);
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn inband_tls_is_really_tls_on_the_wire() {
    // A raw client: CER listing TLS over plain TCP, the CEA names TLS, then a TLS
    // handshake on the same socket, then a DWR answered through TLS.
    let pki = Pki::new();
    let (server, _, addr) = inband_server(pki.tls(&[SERVER]), InbandSecurity::Offer).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut local = LocalCapabilities::new(CLIENT, "example.org");
    local.applications = vec![SupportedApplication::auth(GY)];
    local.inband_security = InbandSecurity::Require;
    let mut cer = local.cer();
    cer.header.hop_by_hop = 1;
    tcp.write_all(&cer.to_bytes()).await.unwrap();
    let cea = read_message(&mut tcp).await.expect("CEA in the clear");
    assert_eq!(cea.result_code(), Some(2001));
    let ids: Vec<_> = cea
        .find_all(diameter_core::generated::base::avp::INBAND_SECURITY_ID)
        .map(|a| a.data.to_vec())
        .collect();
    assert_eq!(ids, [vec![0, 0, 0, 1]], "the CEA names TLS");
    let connector = pki.raw_client(Some(pki.issue(&[CLIENT])));
    let mut tls = connector
        .connect(ServerName::try_from(SERVER).unwrap(), tcp)
        .await
        .expect("TLS handshake after the CEA");
    let mut dwr = diameter_core::MessageBuilder::request(280, 0, false);
    dwr.header_mut().hop_by_hop = 2;
    dwr.add(
        diameter_core::generated::base::avp::ORIGIN_HOST,
        &diameter_core::DiameterIdentity::from(CLIENT),
    );
    dwr.add(
        diameter_core::generated::base::avp::ORIGIN_REALM,
        &diameter_core::DiameterIdentity::from("example.org"),
    );
    tls.write_all(dwr.build().as_bytes()).await.unwrap();
    let dwa = read_message(&mut tls).await.expect("DWA through TLS");
    assert_eq!((dwa.code(), dwa.result_code()), (280, Some(2001)));
    server.shutdown().await;
}

#[tokio::test]
async fn inband_tls_refusals() {
    let pki = Pki::new();
    // Required by the client, not offered by the server: 5017, no peer.
    let (server, _, addr) = inband_server(pki.tls(&[SERVER]), InbandSecurity::None).await;
    let client = inband_client(pki.tls(&[CLIENT]), InbandSecurity::Require, addr).await;
    assert!(
        client
            .wait_for_ready(Duration::from_millis(800))
            .await
            .is_err()
    );
    client.abort();
    server.abort();
    // Negotiated, but the server's certificate names another host: the handshake fails.
    let (server, seen, addr) =
        inband_server(pki.tls(&["other.example.org"]), InbandSecurity::Offer).await;
    let client = inband_client(pki.tls(&[CLIENT]), InbandSecurity::Offer, addr).await;
    let failed = async {
        while client.peers()[0].stats.tls_failures == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(3), failed)
        .await
        .expect("the handshake fails");
    assert!(client.send(ccr(&client, 1, None)).await.is_err());
    assert_eq!(seen.get(), 0);
    client.abort();
    server.abort();
    // Inband TLS without [tls] is a configuration error.
    let mut c = NodeConfig::new(CLIENT, "example.org");
    c.inband_security = InbandSecurity::Offer;
    assert!(Node::builder(c).start().await.is_err());
}
