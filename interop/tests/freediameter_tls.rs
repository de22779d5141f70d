//! Our node against freeDiameter over TLS at connection start (RFC 6733 §2.1, §13.1),
//! mutually authenticated, both ways:
//!
//! - `freediameter_to_ours_tls`: freeDiameter connects (`ConnectPeer` without `No_TLS`)
//!   to our `tls_listen` address, checks that our certificate names our identity; our node
//!   checks its client certificate against its CER's Origin-Host (and, the peer being
//!   configured `aaas://`, would refuse it on plain TCP). CER/CEA, test_app's
//!   Test-Requests answered 2001 by our handler, ours answered by test_app, its DPR/DPA.
//! - `ours_to_freediameter_tls`: our node connects to freeDiameter's `SecPort` as
//!   `aaas://fd.interop.test`: CER/CEA, Test-Requests answered 2001 by test_app with
//!   Test-AVP echoed, DPR/DPA. Then a freeDiameter whose certificate names another host:
//!   our node refuses the handshake and no peer opens.
//!
//! - `ours_to_freediameter_inband_tls`: RFC 3588's TLS after CER/CEA: our node
//!   (Inband-Security-Id required) connects to freeDiameter's plain `Port`, where
//!   `acl_wl.fdx` admits it with `ALLOW_OLD_TLS`; the CEA names TLS, both start the
//!   handshake, and Test-Requests go through TLS.
//!
//! The certificates (a test CA, one certificate per node whose DNS name is its identity)
//! are made by rcgen and written as PEM files into the test's folder, which our node
//! reads through its `[tls]` configuration. There is no tshark check here: the traffic
//! is encrypted. Without freeDiameter each test prints a skipped line and passes.

mod common;

use common::*;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diameter_interop::freediameter::{
    ConnectPeer, FdConfig, FdTls, FreeDiameter, TestAppConfig, TestAppMode, dump_line, test_app,
};
use diameter_interop::scenario_ok;
use diameter_interop::util::{TempDir, free_port, wait_until};
use diameter_node::peer::PeerState;
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::{Node, NodeConfig, PeerSpec, TlsConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

const IMPOSTOR: &str = "impostor.interop.test";

/// The test CA; it writes `ca.pem` and `<name>.pem` / `<name>.key` into a folder.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new(dir: &Path) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params
            .distinguished_name
            .push(DnType::CommonName, "interop test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        std::fs::write(dir.join("ca.pem"), ca.pem()).expect("writing ca.pem");
        Self { ca }
    }

    /// Writes `<file>.pem` (DNS name `name`, common name too) and `<file>.key`; returns
    /// their paths.
    fn issue(
        &self,
        dir: &Path,
        file: &str,
        name: &str,
    ) -> (std::path::PathBuf, std::path::PathBuf) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.ca).expect("certificate");
        let (cert_path, key_path) = (
            dir.join(format!("{file}.pem")),
            dir.join(format!("{file}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).expect("writing the certificate");
        std::fs::write(&key_path, key.serialize_pem()).expect("writing the key");
        (cert_path, key_path)
    }

    /// freeDiameter's TLS section, its certificate naming `name`.
    fn fd_tls(&self, dir: &Path, name: &str, sec_port: u16) -> FdTls {
        let (certificate, private_key) = self.issue(dir, "fd", name);
        FdTls {
            certificate,
            private_key,
            ca: dir.join("ca.pem"),
            sec_port,
        }
    }

    /// Our node's `[tls]`, from the PEM files.
    fn our_tls(&self, dir: &Path) -> TlsConfig {
        let (cert, key) = self.issue(dir, "ours", OUR_HOST);
        TlsConfig::from_pem_files(cert, key, [dir.join("ca.pem")])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freediameter_to_ours_tls() {
    const S: &str = "freeDiameter -> ours (TLS)";
    let Some(tools) = tools_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("fd-to-ours-tls").expect("temp dir");
    let pki = Pki::new(dir.path());

    // Our node listens with TLS only; freeDiameter is configured aaas://, so it may not
    // come over plain TCP.
    let seen = Arc::new(AtomicUsize::new(0));
    let mut node_config = NodeConfig::new(OUR_HOST, REALM)
        .timers(timers(Duration::from_secs(60)))
        .tls(pki.our_tls(dir.path()))
        .tls_listen(([127, 0, 0, 1], 0).into())
        .peer(PeerSpec::new(format!("aaas://{FD_HOST}")).persistent(false));
    node_config.host_ip_addresses = vec![[127, 0, 0, 1].into()];
    let node = Node::builder(node_config)
        .application(test_app_server(seen.clone()))
        .start()
        .await
        .expect("node starts (PEM files read)");
    let our_port = node.local_addrs()[0].port();

    let fd_port = free_port().expect("free port");
    let mut config = FdConfig::new(FD_HOST, REALM, fd_port);
    config.tls = Some(pki.fd_tls(dir.path(), FD_HOST, free_port().expect("free port")));
    config.tls_connect_peers.push(ConnectPeer {
        identity: OUR_HOST.into(),
        address: [127, 0, 0, 1].into(),
        port: our_port,
    });
    config.test_app = Some(TestAppConfig {
        mode: TestAppMode::Both,
        dest_realm: REALM.into(),
        dest_host: Some(OUR_HOST.into()),
    });
    let mut fd = FreeDiameter::start(&tools, dir.path(), &config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // TLS handshake (both certificates checked), then CER/CEA.
    wait_admitted(&node, &fd, &format!("{S}: freeDiameter not admitted")).await;
    let open = wait_until(Duration::from_secs(1), || {
        node.peers()
            .first()
            .is_some_and(|p| p.state == PeerState::ROpen)
    })
    .await;
    assert!(open, "{:#?}", node.peers());
    fd.wait_for_log("its TLS connection", Duration::from_secs(5), |l| {
        l.contains(&format!("CONNECTED TO '{OUR_HOST}' (TCP,TLS"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let peer = node.peers().remove(0);
    assert_eq!(peer.stats.tls_failures, 0);
    scenario_ok(
        &format!("{S} TLS handshake and CER/CEA"),
        "mutual authentication, certificates made by rcgen, ours read from PEM files",
    );

    // test_app's Test-Requests (one per SIGUSR1), answered 2001 by our handler; test_app
    // checks every answer.
    const M: usize = 3;
    if let Err(e) = fd.test_app_round(M, OUR_HOST).await {
        fail(&fd, &e);
    }
    assert_eq!(seen.load(Ordering::SeqCst), M);
    scenario_ok(
        &format!("{S} Test-Requests of test_app answered 2001"),
        &format!("{M} requests over TLS, test_app checked every answer: Ok"),
    );

    // Ours on freeDiameter's connection.
    echo_test_request(&node, &fd, 42).await;
    scenario_ok(
        &format!("{S} our Test-Request answered 2001 by test_app"),
        "Test-AVP echoed",
    );

    // freeDiameter shuts down: DPR, our DPA, the connection closes.
    fd.stop(Duration::from_secs(15))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fd.count_lines(|l| dump_line(l, true, OUR_HOST, "Disconnect-Peer-Answer")),
        1,
        "{}",
        fd.log_tail(40)
    );
    let closed = wait_until(Duration::from_secs(5), || {
        node.peers().iter().all(|p| p.state == PeerState::Closed)
    })
    .await;
    assert!(closed, "{:?}", node.peers());
    scenario_ok(
        &format!("{S} DPR/DPA"),
        "freeDiameter's DPR answered over TLS",
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_to_freediameter_tls() {
    const S: &str = "ours -> freeDiameter (TLS)";
    let Some(tools) = tools_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("ours-to-fd-tls").expect("temp dir");
    let pki = Pki::new(dir.path());
    let sec_port = free_port().expect("free port");
    let mut config = FdConfig::new(FD_HOST, REALM, free_port().expect("free port"));
    config.tls = Some(pki.fd_tls(dir.path(), FD_HOST, sec_port));
    config.whitelist.push(OUR_HOST.into());
    config.test_app = Some(TestAppConfig {
        mode: TestAppMode::Server,
        dest_realm: REALM.into(),
        dest_host: None,
    });
    let mut fd = FreeDiameter::start(&tools, dir.path(), &config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let fd_addr: SocketAddr = ([127, 0, 0, 1], sec_port).into();
    let our_tls = pki.our_tls(dir.path());
    let node_config = NodeConfig::new(OUR_HOST, REALM)
        .timers(timers(Duration::from_secs(30)))
        .tls(our_tls.clone())
        .application(SupportedApplication::vendor_auth(
            test_app::VENDOR_ID,
            test_app::APPLICATION_ID,
        ))
        .peer(PeerSpec::new(format!("aaas://{FD_HOST}:{sec_port}")).address(fd_addr));
    let node = Node::builder(node_config)
        .start()
        .await
        .expect("node starts");
    wait_admitted(&node, &fd, &format!("{S}: no open peer")).await;
    let caps = node.peers()[0].capabilities.clone().expect("capabilities");
    assert_eq!(caps.origin_host, FD_HOST);
    scenario_ok(
        &format!("{S} TLS handshake and CER/CEA"),
        "freeDiameter's certificate names fd.interop.test, ours ours.interop.test",
    );

    const N: i32 = 5;
    for i in 0..N {
        echo_test_request(&node, &fd, 1000 + i).await;
    }
    scenario_ok(
        &format!("{S} Test-Requests answered 2001 by test_app"),
        &format!("{N} requests over TLS, Test-AVP echoed"),
    );

    node.shutdown().await;
    fd.wait_for_lines("our DPR", 1, Duration::from_secs(5), |l| {
        dump_line(l, true, OUR_HOST, "Disconnect-Peer-Request")
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    scenario_ok(&format!("{S} DPR/DPA"), "our DPR answered over TLS");
    fd.stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Another server (freeDiameter starts only with a certificate naming its own identity)
    // where our node expects fd.interop.test: its certificate, from the same CA, names
    // another host, and our node refuses the handshake.
    let dir2 = TempDir::new("ours-to-fd-tls-wrong-name").expect("temp dir");
    std::fs::copy(dir.path().join("ca.pem"), dir2.path().join("ca.pem")).expect("ca.pem");
    let sec_port = free_port().expect("free port");
    let mut config = FdConfig::new(IMPOSTOR, REALM, free_port().expect("free port"));
    config.tls = Some(pki.fd_tls(dir2.path(), IMPOSTOR, sec_port));
    config.whitelist.push(OUR_HOST.into());
    let mut fd = FreeDiameter::start(&tools, dir2.path(), &config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let fd_addr: SocketAddr = ([127, 0, 0, 1], sec_port).into();
    let node_config = NodeConfig::new(OUR_HOST, REALM)
        .timers(timers(Duration::from_secs(30)))
        .tls(our_tls)
        .peer(PeerSpec::new(format!("aaas://{FD_HOST}:{sec_port}")).address(fd_addr));
    let node = Node::builder(node_config)
        .start()
        .await
        .expect("node starts");
    assert!(
        node.wait_for_ready(Duration::from_secs(3)).await.is_err(),
        "{:?}",
        node.peers()
    );
    let peer = node.peers().remove(0);
    assert!(peer.stats.tls_failures >= 1 && !peer.ready, "{peer:?}");
    assert_eq!(
        fd.count_lines(|l| dump_line(l, true, OUR_HOST, "Capabilities-Exchange-Request")),
        0,
        "no CER may have gone to a server with the wrong name"
    );
    scenario_ok(
        &format!("{S} server certificate naming another host refused"),
        &format!("{} TLS failure(s), no CER sent", peer.stats.tls_failures),
    );
    node.abort();
    fd.stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_to_freediameter_inband_tls() {
    const S: &str = "ours -> freeDiameter (TLS after CER/CEA)";
    let Some(tools) = tools_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("ours-to-fd-inband-tls").expect("temp dir");
    let pki = Pki::new(dir.path());
    let port = free_port().expect("free port");
    let mut config = FdConfig::new(FD_HOST, REALM, port);
    config.tls = Some(pki.fd_tls(dir.path(), FD_HOST, free_port().expect("free port")));
    config.old_tls_whitelist.push(OUR_HOST.into());
    config.test_app = Some(TestAppConfig {
        mode: TestAppMode::Server,
        dest_realm: REALM.into(),
        dest_host: None,
    });
    let mut fd = FreeDiameter::start(&tools, dir.path(), &config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let fd_addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut node_config = NodeConfig::new(OUR_HOST, REALM)
        .timers(timers(Duration::from_secs(30)))
        .tls(pki.our_tls(dir.path()))
        .application(SupportedApplication::vendor_auth(
            test_app::VENDOR_ID,
            test_app::APPLICATION_ID,
        ))
        .peer(PeerSpec::new(format!("aaa://{FD_HOST}:{port}")).address(fd_addr));
    node_config.inband_security = diameter_node::peer::capabilities::InbandSecurity::Require;
    let node = Node::builder(node_config)
        .start()
        .await
        .expect("node starts");
    wait_admitted(&node, &fd, &format!("{S}: no open peer")).await;
    let caps = node.peers()[0].capabilities.clone().expect("capabilities");
    assert!(caps.applications.tls, "the CEA chose TLS: {caps:?}");
    scenario_ok(
        &format!("{S} CER/CEA with Inband-Security-Id TLS"),
        "freeDiameter's CEA names TLS (1)",
    );
    const N: i32 = 5;
    for i in 0..N {
        echo_test_request(&node, &fd, 2000 + i).await;
    }
    // freeDiameter's CEA names TLS, and it never says the connection went without it
    // (it logs "No TLS protection negotiated" for a plain one); on our side the requests
    // above could only pass once our handshake (checking its certificate) succeeded.
    let cea_tls = fd.count_lines(|l| {
        dump_line(l, false, OUR_HOST, "Capabilities-Exchange-Answer")
            && l.contains("Inband-Security-Id(299)[-M]='TLS'")
    });
    let plain = fd.count_lines(|l| l.contains("No TLS protection negotiated"));
    assert_eq!((cea_tls, plain), (1, 0), "{}", fd.log_tail(30));
    scenario_ok(
        &format!("{S} Test-Requests answered 2001 through TLS"),
        &format!(
            "{N} requests, Test-AVP echoed; freeDiameter's CEA names TLS, no plain-text notice"
        ),
    );
    node.shutdown().await;
    fd.stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
