//! Our node against freeDiameter 1.2.1 (Debian's freeDiameterd with freeDiameter's own
//! test_app.fdx), both ways, every message captured on loopback and dissected by tshark.
//!
//! - `ours_to_freediameter`: our node connects: CER/CEA, Test-Requests of application
//!   16777215 answered 2001 by test_app (and its 5005 and E-bit error answers), DWR/DWA,
//!   DPR/DPA.
//! - `freediameter_to_ours`: freeDiameter connects (`ConnectPeer`): CER/CEA, test_app's
//!   Test-Requests (one per SIGUSR1) answered 2001 by our handler, its DWR/DWA, its DPR/DPA
//!   when it shuts down.
//! - `freediameter_to_diameter_serve`: the same, against the real `diameter serve` binary
//!   (application 16777215 advertised in a Vendor-Specific-Application-Id with vendor
//!   999999 through its configuration, test_app's requests answered 2001 with Test-AVP
//!   echoed), then `diameter serve` stops cleanly.
//! - `unknown_peers_and_relay`: freeDiameter's CER to a node that does not know it gets our
//!   3010 CEA (E bit); our CER with an identity freeDiameter does not know gets its 3010; a
//!   whitelisted node sees freeDiameter as a relay (Relay application in its CEA).
//!
//! Besides tshark, freeDiameter's own parser (its log, with every message dumped by
//! `dbg_msg_dumps.fdx`) must have nothing to say about our messages.
//!
//! Without freeDiameter or tshark (`scripts/freediameter-setup` not run) each test prints a
//! skipped line and passes. Run them with `scripts/interop`.

mod common;

use common::*;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diameter_core::Message;
use diameter_core::generated::base::{DisconnectCause, avp};
use diameter_interop::check::{Expect, check_dissection};
use diameter_interop::cli::{Serve, diameter_binary};
use diameter_interop::freediameter::{
    ConnectPeer, FdConfig, FreeDiameter, TestAppConfig, TestAppMode, dump_line, test_app,
};
use diameter_interop::scenario_ok;
use diameter_interop::tshark::{self, Capture};
use diameter_interop::util::{TempDir, free_port, wait_until};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::peer::{PeerState, WatchdogState};
use diameter_node::{Node, NodeConfig, NodeHandle, PeerSpec};

const SERVE_HOST: &str = "serve.interop.test";

fn origin_host(m: &Message) -> String {
    m.find(avp::ORIGIN_HOST)
        .map(|a| String::from_utf8_lossy(a.data).into_owned())
        .unwrap_or_default()
}

fn dump(m: &Message) -> String {
    diameter_core::dump::text(m)
}

/// Waits (1 s at most) until the first peer is in `state`.
async fn wait_state(node: &NodeHandle, state: PeerState) {
    let ok = wait_until(Duration::from_secs(1), || {
        node.peers().first().is_some_and(|p| p.state == state)
    })
    .await;
    assert!(ok, "peer not {state:?}: {:#?}", node.peers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_to_freediameter() {
    const S: &str = "ours -> freeDiameter";
    let Some(tools) = tools_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("ours-to-fd").expect("temp dir");
    let fd_port = free_port().expect("free port");
    let capture = Capture::start(&tools.tshark, dir.path(), "ours-to-fd", &[fd_port])
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut config = FdConfig::new(FD_HOST, REALM, fd_port);
    config.whitelist.push(OUR_HOST.into());
    config.test_app = Some(TestAppConfig {
        mode: TestAppMode::Server,
        dest_realm: REALM.into(),
        dest_host: None,
    });
    let mut fd = FreeDiameter::start(&tools, dir.path(), &config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Our node: Tw 3 s, so that our DWR comes before freeDiameter's (Tw 6 s).
    let fd_addr: SocketAddr = ([127, 0, 0, 1], fd_port).into();
    let node_config = NodeConfig::new(OUR_HOST, REALM)
        .timers(timers(Duration::from_secs(3)))
        .application(SupportedApplication::vendor_auth(
            test_app::VENDOR_ID,
            test_app::APPLICATION_ID,
        ))
        .peer(PeerSpec::new(format!("aaa://{FD_HOST}:{fd_port};transport=tcp")).address(fd_addr));
    let node = Node::builder(node_config)
        .start()
        .await
        .expect("node starts");

    // CER/CEA: the test application is found in freeDiameter's
    // Vendor-Specific-Application-Id (it is no relay), whatever its Host-IP-Addresses.
    wait_admitted(
        &node,
        &fd,
        &format!("{S} CER/CEA: no open peer with application 16777215"),
    )
    .await;
    // The state shown by peers() follows `ready` by a moment (set at the end of the
    // driver's flush).
    wait_state(&node, PeerState::IOpen).await;
    let peer = node.peers().remove(0);
    let caps = peer.capabilities.clone().expect("capabilities");
    assert_eq!(caps.origin_host, FD_HOST);
    assert_eq!(caps.origin_realm, REALM);
    assert_eq!(caps.applications.common, vec![test_app::APPLICATION_ID]);
    assert!(!caps.applications.relay);
    assert!(!caps.host_ip_addresses.is_empty());
    let ips: Vec<String> = caps
        .host_ip_addresses
        .iter()
        .map(|a| a.to_string())
        .collect();
    scenario_ok(
        &format!("{S} CER/CEA"),
        &format!(
            "{} {:?}, Host-IP-Address {}, Vendor-Specific-Application-Id {}/{}",
            caps.origin_host,
            caps.product_name,
            ips.join(" "),
            test_app::VENDOR_ID,
            test_app::APPLICATION_ID
        ),
    );

    // Test-Requests answered 2001 by test_app, Test-AVP echoed.
    const N: usize = 5;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x5eed, |d| d.subsec_nanos() as i32);
    for i in 0..N {
        // Positive and negative values.
        let value = seed.wrapping_mul(i as i32 + 1) ^ if i % 2 == 1 { i32::MIN } else { 0 };
        let answer = match node.send(test_request(&node, Some(value), REALM)).await {
            Ok(a) => a,
            Err(e) => fail(&fd, &format!("Test-Request {i}: {e}")),
        };
        assert!(!answer.is_request());
        assert!(!answer.header().flags.is_error(), "{}", dump(&answer));
        assert_eq!(answer.result_code(), Some(2001), "{}", dump(&answer));
        assert_eq!(test_avp(&answer), Some(value), "{}", dump(&answer));
        assert_eq!(origin_host(&answer), FD_HOST);
        assert_eq!(answer.code(), test_app::COMMAND_CODE);
        assert_eq!(answer.application_id(), test_app::APPLICATION_ID);
    }
    let echoed =
        fd.count_lines(|l| l.contains(&format!("ECHO Test-Request received from '{OUR_HOST}'")));
    assert_eq!(echoed, N, "test_app's echo lines");
    scenario_ok(
        &format!("{S} Test-Request (application 16777215) answered 2001 by test_app"),
        &format!("{N} requests, Test-AVP echoed"),
    );

    // test_app requires Test-AVP: freeDiameter answers 5005 with it in Failed-AVP.
    let answer = node
        .send(test_request(&node, None, REALM))
        .await
        .unwrap_or_else(|e| fail(&fd, &format!("Test-Request without Test-AVP: {e}")));
    assert_eq!(answer.result_code(), Some(5005), "{}", dump(&answer));
    assert!(
        answer.find_path(&[avp::FAILED_AVP, TEST_AVP]).is_some(),
        "Failed-AVP with Test-AVP expected:\n{}",
        dump(&answer)
    );
    scenario_ok(
        &format!("{S} Test-Request without Test-AVP answered 5005 DIAMETER_MISSING_AVP"),
        "Failed-AVP names Test-AVP",
    );

    // A realm nobody serves: freeDiameter answers a protocol error, E bit set.
    let answer = node
        .send(test_request(&node, Some(1), "elsewhere.test"))
        .await
        .unwrap_or_else(|e| fail(&fd, &format!("Test-Request to elsewhere.test: {e}")));
    let rc = answer.result_code().unwrap_or(0);
    assert!(
        answer.header().flags.is_error() && (3000..4000).contains(&rc),
        "E bit and 3xxx expected:\n{}",
        dump(&answer)
    );
    scenario_ok(
        &format!("{S} request for an unserved realm answered with the E bit"),
        &format!("Result-Code {rc}"),
    );

    // DWR/DWA: our watchdog (Tw 3 s) sends DWR, freeDiameter answers.
    fd.wait_for_lines("our DWR", 1, Duration::from_secs(15), |l| {
        dump_line(l, true, OUR_HOST, "Device-Watchdog-Request")
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    fd.wait_for_lines("its DWA", 1, Duration::from_secs(5), |l| {
        dump_line(l, false, OUR_HOST, "Device-Watchdog-Answer")
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // One more Tw: still open and OKAY (a lost DWA would make it SUSPECT).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let peer = node.peers().remove(0);
    assert_eq!(
        (peer.state, peer.watchdog, peer.ready),
        (PeerState::IOpen, WatchdogState::Okay, true),
        "{peer:?}"
    );
    let dwr = fd.count_lines(|l| dump_line(l, true, OUR_HOST, "Device-Watchdog-Request"));
    scenario_ok(
        &format!("{S} DWR/DWA"),
        &format!("{dwr} watchdog exchanges, peer OKAY"),
    );

    // DPR/DPA: our graceful shutdown.
    let started = Instant::now();
    node.shutdown_with(DisconnectCause::DO_NOT_WANT_TO_TALK_TO_YOU)
        .await;
    let took = started.elapsed();
    fd.wait_for_lines("our DPR and its DPA", 1, Duration::from_secs(5), |l| {
        dump_line(l, false, OUR_HOST, "Disconnect-Peer-Answer")
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fd.count_lines(|l| dump_line(l, true, OUR_HOST, "Disconnect-Peer-Request")),
        1
    );
    assert!(
        took < Duration::from_secs(4),
        "shutdown took {took:?}: no DPA?"
    );
    assert_eq!(node.peers()[0].state, PeerState::Closed);
    scenario_ok(
        &format!("{S} DPR/DPA"),
        &format!("shutdown in {} ms", took.as_millis()),
    );

    if let Err(e) = fd.stop(Duration::from_secs(10)).await {
        panic!("{e}");
    }
    // freeDiameter's own parser found nothing wrong with our messages but the request
    // without Test-AVP.
    let parse_errors: Vec<String> = fd
        .log()
        .lines()
        .filter(|l| l.contains("PARSING ERROR") && l.contains(OUR_HOST))
        .map(str::to_owned)
        .collect();
    assert!(
        parse_errors.len() == 1 && parse_errors[0].contains("DIAMETER_MISSING_AVP"),
        "freeDiameter's parsing errors on our messages: {parse_errors:#?}"
    );
    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tools.tshark, dir.path(), &pcap, &[fd_port])
        .unwrap_or_else(|e| panic!("{e}"));
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |_, dst| dst == fd_port,
        &[
            ("CER", Expect::Ours(1)),
            ("CEA", Expect::Theirs(1)),
            ("Test-Request", Expect::Ours(N + 2)),
            ("Test-Answer", Expect::Theirs(N + 2)),
            ("DWR", Expect::OursAtLeast(1)),
            ("DWA", Expect::TheirsAtLeast(1)),
            ("DPR", Expect::Ours(1)),
            ("DPA", Expect::Theirs(1)),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freediameter_to_ours() {
    const S: &str = "freeDiameter -> ours";
    let Some(tools) = tools_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("fd-to-ours").expect("temp dir");

    // Our node listens; freeDiameter is a configured peer we never connect to. Our Tw is long
    // so that the watchdog exchange is freeDiameter's.
    let seen = Arc::new(AtomicUsize::new(0));
    let mut node_config = NodeConfig::new(OUR_HOST, REALM)
        .timers(timers(Duration::from_secs(60)))
        .listen(([127, 0, 0, 1], 0).into())
        .peer(PeerSpec::new(format!("aaa://{FD_HOST};transport=tcp")).persistent(false));
    node_config.host_ip_addresses = vec![[127, 0, 0, 1].into()];
    let node = Node::builder(node_config)
        .application(test_app_server(seen.clone()))
        .start()
        .await
        .expect("node starts");
    let our_port = node.local_addrs()[0].port();
    let fd_port = free_port().expect("free port");
    let capture = Capture::start(
        &tools.tshark,
        dir.path(),
        "fd-to-ours",
        &[fd_port, our_port],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let mut config = FdConfig::new(FD_HOST, REALM, fd_port);
    config.connect_peers.push(ConnectPeer {
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

    // CER/CEA on freeDiameter's connection.
    wait_admitted(
        &node,
        &fd,
        &format!("{S} CER/CEA: freeDiameter not admitted"),
    )
    .await;
    wait_state(&node, PeerState::ROpen).await;
    let peer = node.peers().remove(0);
    let caps = peer.capabilities.clone().expect("capabilities");
    assert_eq!(caps.origin_host, FD_HOST);
    assert_eq!(caps.applications.common, vec![test_app::APPLICATION_ID]);
    let ips: Vec<String> = caps
        .host_ip_addresses
        .iter()
        .map(|a| a.to_string())
        .collect();
    fd.wait_for_log("the connection to be open", Duration::from_secs(5), |l| {
        l.lines().any(|l| {
            l.contains(OUR_HOST) && (l.contains("STATE_OPEN") || l.contains("CONNECTED TO"))
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    scenario_ok(
        &format!("{S} CER/CEA"),
        &format!(
            "{} Host-IP-Address {} admitted",
            caps.origin_host,
            ips.join(" ")
        ),
    );

    // test_app sends one Test-Request per SIGUSR1; our handler answers 2001 and test_app
    // checks Test-AVP, Result-Code, Origin-Host and Origin-Realm of each answer.
    const M: usize = 3;
    if let Err(e) = fd.test_app_round(M, OUR_HOST).await {
        fail(&fd, &e);
    }
    assert_eq!(seen.load(Ordering::SeqCst), M);
    scenario_ok(
        &format!("{S} Test-Requests of test_app answered 2001"),
        &format!("{M} requests, test_app checked every answer: Ok"),
    );

    // And ours on freeDiameter's connection.
    let answer = node
        .send(test_request(&node, Some(42), REALM))
        .await
        .unwrap_or_else(|e| {
            fail(
                &fd,
                &format!("Test-Request on freeDiameter's connection: {e}"),
            )
        });
    assert_eq!(answer.result_code(), Some(2001), "{}", dump(&answer));
    assert_eq!(test_avp(&answer), Some(42));
    scenario_ok(
        &format!("{S} connection: our Test-Request answered 2001"),
        "requests flow both ways on the responder connection",
    );

    // freeDiameter's watchdog (Tw 6 ± 2 s): DWR to us, our DWA.
    fd.wait_for_lines("its DWR", 1, Duration::from_secs(15), |l| {
        dump_line(l, false, OUR_HOST, "Device-Watchdog-Request")
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    fd.wait_for_lines("our DWA", 1, Duration::from_secs(5), |l| {
        dump_line(l, true, OUR_HOST, "Device-Watchdog-Answer")
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let peer = node.peers().remove(0);
    assert_eq!(
        (peer.state, peer.ready),
        (PeerState::ROpen, true),
        "{peer:?}"
    );
    scenario_ok(&format!("{S} DWR/DWA"), "freeDiameter's DWR answered");

    // freeDiameter shuts down: DPR to us, our DPA, and the connection goes.
    let stopped = fd.stop(Duration::from_secs(15)).await;
    if let Err(e) = stopped {
        panic!("{e}");
    }
    assert_eq!(
        fd.count_lines(|l| dump_line(l, false, OUR_HOST, "Disconnect-Peer-Request")),
        1,
        "{}",
        fd.log_tail(40)
    );
    assert_eq!(
        fd.count_lines(|l| dump_line(l, true, OUR_HOST, "Disconnect-Peer-Answer")),
        1,
        "{}",
        fd.log_tail(40)
    );
    let closed = wait_until(Duration::from_secs(5), || {
        node.peers()
            .iter()
            .all(|p| p.state == PeerState::Closed && !p.ready)
    })
    .await;
    assert!(closed, "peer not closed after DPR: {:?}", node.peers());
    scenario_ok(
        &format!("{S} DPR/DPA"),
        "freeDiameter's DPR answered, connection closed",
    );

    node.shutdown().await;
    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tools.tshark, dir.path(), &pcap, &[fd_port, our_port])
        .unwrap_or_else(|e| panic!("{e}"));
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |src, _| src == our_port,
        &[
            ("CER", Expect::Theirs(1)),
            ("CEA", Expect::Ours(1)),
            ("Test-Request", Expect::Theirs(M)),
            ("Test-Answer", Expect::Ours(M)),
            ("DWR", Expect::TheirsAtLeast(1)),
            ("DWA", Expect::OursAtLeast(1)),
            ("DPR", Expect::Theirs(1)),
            ("DPA", Expect::Ours(1)),
        ],
    );
}

/// Panics with the logs of freeDiameter and `diameter serve`.
fn fail_both(fd: &FreeDiameter, serve: &Serve, what: &str) -> ! {
    panic!(
        "{what}\n---- freeDiameterd log ({}):\n{}\n---- diameter serve log:\n{}",
        fd.conf().display(),
        fd.log_tail(60),
        serve.log_tail(40)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freediameter_to_diameter_serve() {
    const S: &str = "freeDiameter -> diameter serve";
    let Some(tools) = tools_or_skip(S) else {
        return;
    };
    let diameter = diameter_binary().unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("fd-to-serve").expect("temp dir");

    // test_app's application, advertised as freeDiameter does (Vendor-Specific-Application-Id
    // with its dummy vendor): `--app` names it, the configuration gives its Vendor-Id. Our
    // Tw is long so that the watchdog exchange is freeDiameter's (Tw 6 s).
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "origin_host = \"{SERVE_HOST}\"\norigin_realm = \"{REALM}\"\n\n\
             [[applications]]\nid = {app}\nkind = \"auth\"\nvendor_id = {vendor}\n\n\
             [timers]\nwatchdog = \"60s\"\n",
            app = test_app::APPLICATION_ID,
            vendor = test_app::VENDOR_ID,
        ),
    )
    .expect("writing serve.toml");
    let app = test_app::APPLICATION_ID.to_string();
    let config_arg = config.display().to_string();
    let mut serve = Serve::start(
        &diameter,
        dir.path(),
        &[
            "--config",
            &config_arg,
            "--origin-host",
            SERVE_HOST,
            "--origin-realm",
            REALM,
            "--app",
            &app,
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let serve_port = serve.port();
    let fd_port = free_port().expect("free port");
    let capture = Capture::start(
        &tools.tshark,
        dir.path(),
        "fd-to-serve",
        &[fd_port, serve_port],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let mut config = FdConfig::new(FD_HOST, REALM, fd_port);
    config.connect_peers.push(ConnectPeer {
        identity: SERVE_HOST.into(),
        address: [127, 0, 0, 1].into(),
        port: serve_port,
    });
    config.test_app = Some(TestAppConfig {
        mode: TestAppMode::Client,
        dest_realm: REALM.into(),
        dest_host: Some(SERVE_HOST.into()),
    });
    let mut fd = FreeDiameter::start(&tools, dir.path(), &config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // CER/CEA: freeDiameter's CER, our CEA 2001, the connection open on both sides with
    // the test application in common.
    if let Err(e) = fd
        .wait_for_log("the connection to be open", Duration::from_secs(10), |l| {
            l.lines().any(|l| {
                l.contains(SERVE_HOST) && (l.contains("STATE_OPEN") || l.contains("CONNECTED TO"))
            })
        })
        .await
    {
        fail_both(&fd, &serve, &e);
    }
    for needles in [
        &["<- CER from", FD_HOST][..],
        &["-> CEA 2001"][..],
        &["state R-Open", "connected"][..],
    ] {
        if let Err(e) = serve.wait_for_line(needles, Duration::from_secs(5)).await {
            fail_both(&fd, &serve, &e);
        }
    }
    let cea = fd
        .log()
        .lines()
        .find(|l| dump_line(l, true, SERVE_HOST, "Capabilities-Exchange-Answer"))
        .map(str::to_owned)
        .unwrap_or_else(|| fail_both(&fd, &serve, "freeDiameter logged no CEA from us"));
    for needle in [
        "Vendor-Specific-Application-Id",
        &test_app::VENDOR_ID.to_string(),
        &test_app::APPLICATION_ID.to_string(),
        "2001",
    ] {
        assert!(
            cea.contains(needle),
            "no {needle:?} in our CEA as freeDiameter read it:\n{cea}"
        );
    }
    scenario_ok(
        &format!("{S} CER/CEA"),
        &format!(
            "{FD_HOST} admitted, our CEA 2001 with Vendor-Specific-Application-Id {}/{}",
            test_app::VENDOR_ID,
            test_app::APPLICATION_ID
        ),
    );

    // test_app sends one Test-Request per SIGUSR1; `diameter serve` answers 2001 with
    // Test-AVP echoed, and test_app checks Test-AVP, Result-Code, Origin-Host and
    // Origin-Realm of each answer.
    const M: usize = 3;
    if let Err(e) = fd.test_app_round(M, SERVE_HOST).await {
        fail_both(&fd, &serve, &e);
    }
    scenario_ok(
        &format!("{S} Test-Requests of test_app answered 2001"),
        &format!("{M} requests, test_app checked every answer: Ok (Test-AVP echoed)"),
    );

    // freeDiameter's watchdog (Tw 6 ± 2 s): DWR to us, our DWA.
    for (what, received, name) in [
        ("its DWR", false, "Device-Watchdog-Request"),
        ("our DWA", true, "Device-Watchdog-Answer"),
    ] {
        if let Err(e) = fd
            .wait_for_lines(what, 1, Duration::from_secs(15), |l| {
                dump_line(l, received, SERVE_HOST, name)
            })
            .await
        {
            fail_both(&fd, &serve, &e);
        }
    }
    for needles in [&["<- DWR"][..], &["-> DWA 2001"][..]] {
        if let Err(e) = serve.wait_for_line(needles, Duration::from_secs(5)).await {
            fail_both(&fd, &serve, &e);
        }
    }
    scenario_ok(&format!("{S} DWR/DWA"), "freeDiameter's DWR answered 2001");

    // freeDiameter shuts down: DPR to us, our DPA, and the connection goes.
    if let Err(e) = fd.stop(Duration::from_secs(15)).await {
        fail_both(&fd, &serve, &e);
    }
    for (received, name) in [
        (false, "Disconnect-Peer-Request"),
        (true, "Disconnect-Peer-Answer"),
    ] {
        let n = fd.count_lines(|l| dump_line(l, received, SERVE_HOST, name));
        if n != 1 {
            fail_both(&fd, &serve, &format!("{n} {name} in freeDiameter's log"));
        }
    }
    for needles in [&["<- DPR"][..], &["-> DPA 2001"][..], &["disconnected"][..]] {
        if let Err(e) = serve.wait_for_line(needles, Duration::from_secs(5)).await {
            fail_both(&fd, &serve, &e);
        }
    }
    scenario_ok(
        &format!("{S} DPR/DPA"),
        "freeDiameter's DPR answered 2001, connection closed",
    );

    // `diameter serve` stops cleanly, having answered every request and seen no protocol
    // error.
    let status = serve
        .stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success(),
        "diameter serve: {status}\n{}",
        serve.log_tail(40)
    );
    let stats = format!("{M} request(s) received, {M} answer(s) sent, 0 protocol error(s)");
    assert!(
        serve.log().contains(&stats),
        "no {stats:?} in diameter serve's log:\n{}",
        serve.log_tail(40)
    );
    // freeDiameter's own parser found nothing wrong with our messages.
    let parse_errors: Vec<String> = fd
        .log()
        .lines()
        .filter(|l| l.contains("PARSING ERROR") && l.contains(SERVE_HOST))
        .map(str::to_owned)
        .collect();
    assert!(
        parse_errors.is_empty(),
        "freeDiameter's parsing errors on our messages: {parse_errors:#?}"
    );
    scenario_ok(
        &format!("{S} stopped"),
        &format!("exit 0, {stats}, no parsing error in freeDiameter's log"),
    );

    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tools.tshark, dir.path(), &pcap, &[fd_port, serve_port])
        .unwrap_or_else(|e| panic!("{e}"));
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |src, _| src == serve_port,
        &[
            ("CER", Expect::Theirs(1)),
            ("CEA", Expect::Ours(1)),
            ("Test-Request", Expect::Theirs(M)),
            ("Test-Answer", Expect::Ours(M)),
            ("DWR", Expect::TheirsAtLeast(1)),
            ("DWA", Expect::OursAtLeast(1)),
            ("DPR", Expect::Theirs(1)),
            ("DPA", Expect::Ours(1)),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_peers_and_relay() {
    const S: &str = "unknown peers";
    let Some(tools) = tools_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("unknown-peers").expect("temp dir");

    // Our node listens and knows nobody: freeDiameter's CER gets 3010.
    let mut node_config = NodeConfig::new(OUR_HOST, REALM)
        .timers(timers(Duration::from_secs(60)))
        .listen(([127, 0, 0, 1], 0).into());
    node_config.host_ip_addresses = vec![[127, 0, 0, 1].into()];
    let node = Node::builder(node_config)
        .application(test_app_server(Arc::new(AtomicUsize::new(0))))
        .start()
        .await
        .expect("node starts");
    let our_port = node.local_addrs()[0].port();
    let fd_port = free_port().expect("free port");
    let capture = Capture::start(
        &tools.tshark,
        dir.path(),
        "unknown-peers",
        &[fd_port, our_port],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    // freeDiameter whitelists only known.interop.test, and is a relay (its default).
    let mut config = FdConfig::new(FD_HOST, REALM, fd_port);
    config.no_relay = false;
    config.whitelist.push("known.interop.test".into());
    config.connect_peers.push(ConnectPeer {
        identity: OUR_HOST.into(),
        address: [127, 0, 0, 1].into(),
        port: our_port,
    });
    config.test_app = Some(TestAppConfig {
        mode: TestAppMode::Server,
        dest_realm: REALM.into(),
        dest_host: None,
    });
    let mut fd = FreeDiameter::start(&tools, dir.path(), &config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    fd.wait_for_log("our 3010 CEA", Duration::from_secs(10), |log| {
        log.lines().any(|l| {
            dump_line(l, true, OUR_HOST, "Capabilities-Exchange-Answer") && l.contains("3010")
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(node.peers().iter().all(|p| !p.ready), "{:?}", node.peers());
    scenario_ok(
        &format!("{S}: freeDiameter -> ours CER refused 3010 DIAMETER_UNKNOWN_PEER"),
        "freeDiameter read our CEA",
    );

    // A node freeDiameter does not know: refused, never open, retried with backoff.
    let fd_addr: SocketAddr = ([127, 0, 0, 1], fd_port).into();
    let client = |host: &str| {
        NodeConfig::new(host, REALM)
            .timers(timers(Duration::from_secs(60)))
            .application(SupportedApplication::vendor_auth(
                test_app::VENDOR_ID,
                test_app::APPLICATION_ID,
            ))
            .peer(
                PeerSpec::new(format!("aaa://{FD_HOST}:{fd_port};transport=tcp")).address(fd_addr),
            )
    };
    let stranger = Node::builder(client("stranger.interop.test"))
        .start()
        .await
        .expect("node starts");
    assert!(
        stranger
            .wait_for_ready(Duration::from_secs(3))
            .await
            .is_err(),
        "freeDiameter admitted an unknown peer: {:?}",
        stranger.peers()
    );
    stranger.shutdown().await;
    let refused = fd.count_lines(|l| l.contains("stranger.interop.test"));
    assert!(refused > 0, "freeDiameter saw no CER of the stranger");
    scenario_ok(
        &format!("{S}: ours -> freeDiameter CER of an unknown peer refused"),
        "never open",
    );

    // A whitelisted node: freeDiameter advertises the Relay application.
    let known = Node::builder(client("known.interop.test"))
        .start()
        .await
        .expect("node starts");
    wait_admitted(&known, &fd, "known node not admitted").await;
    wait_state(&known, PeerState::IOpen).await;
    let caps = known.peers()[0].capabilities.clone().expect("capabilities");
    assert!(caps.applications.relay, "{caps:?}");
    let answer = known
        .send(test_request(&known, Some(7), REALM))
        .await
        .unwrap_or_else(|e| fail(&fd, &format!("Test-Request via relay: {e}")));
    assert_eq!(answer.result_code(), Some(2001), "{}", dump(&answer));
    known.shutdown().await;
    scenario_ok(
        "freeDiameter as a relay: CER/CEA with Relay application, Test-Request answered 2001",
        &format!("advertised {:?}", caps.applications.advertised),
    );

    fd.stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    node.shutdown().await;
    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tools.tshark, dir.path(), &pcap, &[fd_port, our_port])
        .unwrap_or_else(|e| panic!("{e}"));
    // Ours: whatever goes to freeDiameter's port or leaves ours.
    let ours = |src: u16, dst: u16| dst == fd_port || src == our_port;
    // Every message, ours and freeDiameter's: no malformed frame, no expert error (nor
    // warning on ours).
    let verdict = d.verdict(ours);
    for note in &verdict.notes {
        println!("interop: note: tshark {S}: {note}");
    }
    assert!(
        verdict.is_clean(),
        "{:#?}\n{}",
        verdict.failures,
        d.listing()
    );
    let our_ceas: Vec<_> = d
        .messages
        .iter()
        .filter(|m| m.src_port == our_port && m.code == 257 && !m.request)
        .collect();
    assert_eq!(our_ceas.len(), 1, "{}", d.listing());
    assert!(
        our_ceas[0].error,
        "our 3010 CEA without the E bit: {}",
        d.listing()
    );
    let stranger_cers = d.count(|m| m.dst_port == fd_port && m.code == 257 && m.request);
    scenario_ok(
        &format!("tshark {S}"),
        &format!(
            "{} Diameter messages dissected, none malformed, no expert error; our 3010 CEA (E bit) and our {stranger_cers} CERs clean",
            d.messages.len()
        ),
    );
}
