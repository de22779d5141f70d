//! Our node against Erlang/OTP's `diameter` application (Debian's erlang-diameter, OTP 25),
//! both ways and through our relay, every message captured on loopback and dissected by
//! tshark. One Erlang VM (`interop/erlang/interop_peer.escript`, see
//! `diameter_interop::erlang`) serves all the tests of this file, each with diameter
//! services of its own; it speaks the credit-control application (4) with a dictionary
//! written from RFC 4006 and compiled by `diameter_make` at start-up.
//!
//! - `erlang_client_to_diameter_serve`: an Erlang client service connects to `diameter
//!   serve`: CER/CEA with application intersection (it offers Auth 4 and Acct 3, `diameter
//!   serve` Auth 4 and 1: 4 in common), a CCR answered 2001 with the units granted, the
//!   experimental command 16777215 answered 3001 with the E bit, a CCR with an unknown AVP
//!   with the M bit answered 5001 with the AVP in Failed-AVP, Erlang's DWR answered (its Tw 1.5 s,
//!   ours 30 s), then the Erlang side removes its transport: DPR/DPA.
//! - `ours_to_erlang_server`: our node (diameter-node, in process) connects to an Erlang
//!   server service: CER/CEA with application intersection (we offer 4 and 1, Erlang 4),
//!   a CCR answered 2001 by the Erlang handler, command 16777215 answered 3001 by diameter
//!   itself, the unknown M-bit AVP answered 5001 with Failed-AVP, our DWRs answered (our Tw
//!   1 s, Erlang's 30 s), our DPR/DPA at shutdown.
//! - `erlang_relay_through_ours`: an Erlang client → our relay (Relay application, a route
//!   for the Erlang server's realm) → an Erlang server: the CCR reaches the server with our
//!   Route-Record (RFC 6733 §6.1.9: the identity of the peer it came from, the Erlang
//!   client) and its CCA comes back to the client.
//!
//! Where Erlang's decoder finds fault with one of our answers (its `errors` field), the
//! test prints it as a note: see the scenario lines for what and why.
//!
//! Without Erlang (`scripts/erlang-setup` could not install it) or tshark each test prints
//! a skipped line and passes. Run them with `scripts/interop`.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diameter_core::generated::base::avp;
use diameter_core::generated::credit_control::avp as cc;
use diameter_core::{AvpFlags, AvpKey, DiameterIdentity, Message, Utf8String};
use diameter_interop::check::{Expect, check_dissection};
use diameter_interop::cli::{Serve, diameter_binary};
use diameter_interop::erlang::{self, Erlang, UNKNOWN_AVP, UNSUPPORTED_COMMAND};
use diameter_interop::tshark::{self, Capture};
use diameter_interop::util::{TempDir, free_port, wait_until};
use diameter_interop::{scenario_ok, scenario_skipped, tools};
use diameter_node::observe::{Direction, Observer};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::peer::{PeerState, WatchdogState};
use diameter_node::routing::{RouteAction, RouteSpec};
use diameter_node::{Node, NodeConfig, NodeHandle, PeerSpec};

const OUR_REALM: &str = "interop.test";
const ERL_REALM: &str = "erlang.test";
/// Credit control (RFC 4006).
const CC_APP: u32 = 4;
/// NASREQ (RFC 7155): ours only.
const NASREQ_APP: u32 = 1;
const CCR: u32 = 272;
/// The Erlang side's watchdog (ms) when its DWR is awaited: every message received
/// restarts a peer's watchdog timer (RFC 3539 §3.4.1), so only the side with the shorter
/// Tw sends DWRs. `erlang_client_to_diameter_serve` waits for Erlang's, `ours_to_erlang_server`
/// for ours.
const ERL_TW_SHORT_MS: u32 = 1500;
/// The Erlang side's watchdog (ms) otherwise.
const ERL_TW_LONG_MS: u32 = 30_000;
/// What the Erlang side's commands may take.
const CMD: Duration = Duration::from_secs(10);

/// The shared Erlang VM and tshark, or a skipped line (Erlang not installable, no tshark).
/// Erlang installed but not starting is a failure.
fn erlang_or_skip(scenario: &str) -> Option<(&'static Erlang, PathBuf)> {
    let found = erlang::escript().and_then(|_| tools::tshark());
    let tshark = match found {
        Ok(t) => t,
        Err(why) => {
            scenario_skipped(scenario, &why);
            return None;
        }
    };
    let erl = Erlang::shared().unwrap_or_else(|e| panic!("{e}"));
    Some((erl, tshark))
}

/// Runs an Erlang command, or fails with its log.
async fn erl_cmd(erl: &Erlang, command: &str) -> String {
    erl.cmd(command, CMD)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `key=value` of an Erlang answer line (`answer CCA flags=P rc=2001 origin=... failed=[..]`).
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("")
}

/// A CCR-Initial of ours to `dest_realm`: Service-Context-Id, CC-Request-Type 1 and
/// Number, a Requested-Service-Unit of 1 MiB; with `unknown`, an AVP no dictionary defines,
/// M bit set.
fn ccr(node: &NodeHandle, dest_realm: &str, number: u32, unknown: bool) -> Message {
    let mut b = node.new_request(CCR, CC_APP, true);
    b.add(avp::DESTINATION_REALM, &DiameterIdentity::from(dest_realm))
        .add(avp::AUTH_APPLICATION_ID, &CC_APP)
        .add(
            cc::SERVICE_CONTEXT_ID,
            &Utf8String::from("interop@rust.test"),
        )
        .add(cc::CC_REQUEST_TYPE, &1u32)
        .add(cc::CC_REQUEST_NUMBER, &number)
        .grouped(
            cc::REQUESTED_SERVICE_UNIT.code,
            0,
            AvpFlags(AvpFlags::MANDATORY),
            |g| {
                g.add(cc::CC_TOTAL_OCTETS, &1_048_576u64);
            },
        );
    if unknown {
        b.avp(UNKNOWN_AVP, 0, AvpFlags(AvpFlags::MANDATORY), &42u32);
    }
    b.build()
}

/// Messages seen by our node, by (command code, R bit, direction).
type Counts = Arc<Mutex<HashMap<(u32, bool, Direction), usize>>>;

/// Counts the messages of a node (its DWRs and DWAs, each way).
struct Counter(Counts);

impl Observer for Counter {
    fn message(&self, _peer: &str, direction: Direction, message: &Message) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((message.code(), message.is_request(), direction))
            .or_insert(0) += 1;
    }
}

/// Prints Erlang's decode errors on one of our answers (`errors=[{5005,258},...]`:
/// Result-Code and AVP code), if any, as a note.
fn note_decode_errors(scenario: &str, what: &str, answer: &str) {
    let errors = field(answer, "errors");
    if errors != "[]" {
        println!(
            "interop: note: {scenario}: Erlang's decoder on our {what}: {errors} \
             ({{Result-Code, AVP code}})"
        );
    }
}

fn dump(m: &Message) -> String {
    diameter_core::dump::text(m)
}

/// Panics with the logs of the Erlang VM and `diameter serve`.
fn fail_both(erl: &Erlang, serve: &Serve, what: &str) -> ! {
    panic!(
        "{what}\n---- Erlang log:\n{}\n---- diameter serve log:\n{}",
        erl.log_tail(40),
        serve.log_tail(60)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erlang_client_to_diameter_serve() {
    const S: &str = "Erlang/OTP diameter client -> diameter serve";
    let Some((erl, tshark)) = erlang_or_skip(S) else {
        return;
    };
    let diameter = diameter_binary().unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("erl-to-serve").expect("temp dir");
    const SERVE_HOST: &str = "serve.interop.test";
    const ERL_HOST: &str = "client.erlang.test";
    const SVC: &str = "to_serve";

    let (cc_arg, nasreq_arg) = (CC_APP.to_string(), NASREQ_APP.to_string());
    let mut serve = Serve::start(
        &diameter,
        dir.path(),
        &[
            "--origin-host",
            SERVE_HOST,
            "--origin-realm",
            OUR_REALM,
            "--app",
            &cc_arg,
            "--app",
            &nasreq_arg,
            "--verbose",
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let port = serve.port();
    let capture = Capture::start(&tshark, dir.path(), "erl-to-serve", &[port])
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // CER/CEA: Erlang offers Auth 4 and Acct 3, we Auth 4 and 1.
    erl_cmd(
        erl,
        &format!("service {SVC} client {ERL_HOST} {ERL_REALM} {CC_APP} 3"),
    )
    .await;
    erl_cmd(erl, &format!("connect {SVC} t {port} {ERL_TW_SHORT_MS}")).await;
    let up = erl
        .wait_event(&["up", SVC, SERVE_HOST], Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| fail_both(erl, &serve, &e));
    assert!(
        up.contains("peer-apps=[4,1]/[]") || up.contains("peer-apps=[1,4]/[]"),
        "Erlang's view of our CEA: {up}"
    );
    for needles in [&["<- CER from", ERL_HOST][..], &["-> CEA 2001"][..]] {
        if let Err(e) = serve.wait_for_line(needles, Duration::from_secs(5)).await {
            fail_both(erl, &serve, &e);
        }
    }
    scenario_ok(
        &format!("{S} CER/CEA"),
        &format!(
            "OTP {}: Erlang offers Auth 4 + Acct 3, we Auth 4 + 1; 4 in common",
            erl.version()
        ),
    );

    // CCR → 2001 with the units granted, decoded by Erlang without errors.
    let answer = erl_cmd(erl, &format!("ccr {SVC} {OUR_REALM} 0")).await;
    let ok = answer.starts_with("answer CCA ")
        && field(&answer, "rc") == "2001"
        && field(&answer, "flags") == "P"
        && field(&answer, "origin") == SERVE_HOST
        && field(&answer, "errors") == "[]"
        && field(&answer, "granted") == "1048576";
    if !ok {
        fail_both(erl, &serve, &format!("CCA as Erlang read it: {answer}"));
    }
    scenario_ok(
        &format!("{S} CCR/CCA 2001"),
        "units granted, no decode error on Erlang's side",
    );

    // A command nobody serves → 3001, E bit (Erlang decodes it as an answer-message).
    let answer = erl_cmd(erl, &format!("xxr {SVC} {OUR_REALM}")).await;
    if field(&answer, "rc") != "3001" || field(&answer, "flags") != "PE" {
        fail_both(erl, &serve, &format!("3001 expected: {answer}"));
    }
    note_decode_errors(S, "3001 answer", &answer);
    scenario_ok(
        &format!("{S} unsupported command answered 3001"),
        &format!("E bit set; Erlang: {answer}"),
    );

    // An unknown AVP with the M bit → 5001, the AVP in Failed-AVP.
    let answer = erl_cmd(erl, &format!("ccr {SVC} {OUR_REALM} 1 mbit")).await;
    if field(&answer, "rc") != "5001"
        || field(&answer, "failed") != format!("[{UNKNOWN_AVP}]")
        || field(&answer, "flags") != "P"
    {
        fail_both(erl, &serve, &format!("5001 expected: {answer}"));
    }
    note_decode_errors(S, "5001 CCA", &answer);
    scenario_ok(
        &format!("{S} unknown M-bit AVP answered 5001"),
        &format!("Failed-AVP holds AVP {UNKNOWN_AVP}; Erlang: {answer}"),
    );

    // Erlang's DWR (its Tw 1.5 s, ours 30 s), our DWA.
    for needles in [&["<- DWR"][..], &["-> DWA 2001"][..]] {
        if let Err(e) = serve.wait_for_line(needles, Duration::from_secs(8)).await {
            fail_both(erl, &serve, &e);
        }
    }
    scenario_ok(&format!("{S} DWR/DWA"), "Erlang's DWR answered 2001");

    // Erlang removes its transport: DPR, our DPA.
    erl_cmd(erl, &format!("remove {SVC} t")).await;
    for needles in [&["<- DPR"][..], &["-> DPA 2001"][..]] {
        if let Err(e) = serve.wait_for_line(needles, Duration::from_secs(5)).await {
            fail_both(erl, &serve, &e);
        }
    }
    erl.wait_event(&["down", SVC, SERVE_HOST], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| fail_both(erl, &serve, &e));
    erl_cmd(erl, &format!("stop {SVC}")).await;
    scenario_ok(&format!("{S} DPR/DPA"), "Erlang's DPR answered 2001");

    let status = serve
        .stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success(),
        "diameter serve: {status}\n{}",
        serve.log_tail(40)
    );
    let log = serve.log();
    let stats = log
        .lines()
        .find(|l| l.contains("request(s) received"))
        .unwrap_or_default()
        .to_owned();
    scenario_ok(&format!("{S} stopped"), &format!("exit 0; {stats}"));

    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tshark, dir.path(), &pcap, &[port]).unwrap_or_else(|e| panic!("{e}"));
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |src, _| src == port,
        &[
            ("CER", Expect::Theirs(1)),
            ("CEA", Expect::Ours(1)),
            ("CCR", Expect::Theirs(2)),
            ("CCA", Expect::Ours(2)),
            ("code 16777215 request", Expect::Theirs(1)),
            ("code 16777215 answer", Expect::Ours(1)),
            ("DWR", Expect::TheirsAtLeast(1)),
            ("DWA", Expect::OursAtLeast(1)),
            ("DPR", Expect::Theirs(1)),
            ("DPA", Expect::Ours(1)),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_to_erlang_server() {
    const S: &str = "ours -> Erlang/OTP diameter server";
    let Some((erl, tshark)) = erlang_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("ours-to-erl").expect("temp dir");
    const ERL_HOST: &str = "server.erlang.test";
    const OUR_HOST: &str = "ours.interop.test";
    const SVC: &str = "from_ours";
    let port = free_port().expect("free port");
    let capture = Capture::start(&tshark, dir.path(), "ours-to-erl", &[port])
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    erl_cmd(
        erl,
        &format!("service {SVC} server {ERL_HOST} {ERL_REALM} {CC_APP} -"),
    )
    .await;
    erl_cmd(erl, &format!("listen {SVC} l {port} {ERL_TW_LONG_MS}")).await;

    // We offer Auth 4 and 1, Erlang 4. Our Tw 1 s (Erlang's 30 s).
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let node_config = NodeConfig::new(OUR_HOST, OUR_REALM)
        .timers(common::timers(Duration::from_secs(1)))
        .application(SupportedApplication::auth(CC_APP))
        .application(SupportedApplication::auth(NASREQ_APP))
        .peer(PeerSpec::new(format!("aaa://{ERL_HOST}:{port};transport=tcp")).address(addr));
    let watchdogs = Arc::new(Mutex::new(HashMap::new()));
    let node = Node::builder(node_config)
        .observer(Counter(watchdogs.clone()))
        .start()
        .await
        .expect("node starts");
    let fail = |what: &str| -> ! { panic!("{what}\n---- Erlang log:\n{}", erl.log_tail(40)) };
    if let Err(e) = node
        .wait_for_application(CC_APP, Duration::from_secs(10))
        .await
    {
        fail(&format!(
            "{S}: no open peer with application 4: {e}; {:#?}",
            node.peers()
        ));
    }
    let caps = node.peers()[0].capabilities.clone().expect("capabilities");
    assert_eq!(caps.origin_host, ERL_HOST);
    assert_eq!(caps.applications.common, vec![CC_APP], "{caps:?}");
    let up = erl
        .wait_event(&["up", SVC, OUR_HOST], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| fail(&e));
    assert!(
        up.contains("peer-apps=[4,1]/[]"),
        "Erlang's view of our CER: {up}"
    );
    scenario_ok(
        &format!("{S} CER/CEA"),
        &format!(
            "{:?} advertises {:?}; we offer 4 + 1: {:?} in common",
            caps.product_name, caps.applications.advertised, caps.applications.common
        ),
    );

    // CCR → 2001 from Erlang's handler.
    let answer = node
        .send(ccr(&node, ERL_REALM, 0, false))
        .await
        .unwrap_or_else(|e| fail(&format!("CCR: {e}")));
    assert_eq!(answer.result_code(), Some(2001), "{}", dump(&answer));
    assert!(!answer.header().flags.is_error(), "{}", dump(&answer));
    let granted = answer
        .find_path(&[cc::GRANTED_SERVICE_UNIT, cc::CC_TOTAL_OCTETS])
        .and_then(|a| <[u8; 8]>::try_from(a.data).ok())
        .map(u64::from_be_bytes);
    assert_eq!(granted, Some(1_048_576), "{}", dump(&answer));
    erl.wait_event(
        &["request", SVC, "CCR from", OUR_HOST, "errors=[]"],
        Duration::from_secs(5),
    )
    .await
    .unwrap_or_else(|e| fail(&e));
    scenario_ok(
        &format!("{S} CCR/CCA 2001"),
        "units granted by the Erlang handler",
    );

    // A command Erlang's dictionary lacks → diameter's own 3001, E bit.
    let mut b = node.new_request(UNSUPPORTED_COMMAND, CC_APP, true);
    b.add(avp::DESTINATION_REALM, &DiameterIdentity::from(ERL_REALM))
        .add(avp::AUTH_APPLICATION_ID, &CC_APP);
    let answer = node
        .send(b.build())
        .await
        .unwrap_or_else(|e| fail(&format!("command {UNSUPPORTED_COMMAND}: {e}")));
    assert_eq!(answer.result_code(), Some(3001), "{}", dump(&answer));
    assert!(answer.header().flags.is_error(), "{}", dump(&answer));
    scenario_ok(
        &format!("{S} unsupported command answered 3001"),
        "E bit set, by diameter itself",
    );

    // An unknown AVP with the M bit → 5001 with the AVP in Failed-AVP.
    let answer = node
        .send(ccr(&node, ERL_REALM, 1, true))
        .await
        .unwrap_or_else(|e| fail(&format!("CCR with an unknown M-bit AVP: {e}")));
    assert_eq!(answer.result_code(), Some(5001), "{}", dump(&answer));
    assert!(!answer.header().flags.is_error(), "{}", dump(&answer));
    let failed = answer.find_path(&[avp::FAILED_AVP, AvpKey::new(UNKNOWN_AVP, 0)]);
    assert!(
        failed.is_some(),
        "Failed-AVP with AVP {UNKNOWN_AVP} expected:\n{}",
        dump(&answer)
    );
    scenario_ok(
        &format!("{S} unknown M-bit AVP answered 5001"),
        &format!(
            "{} with Failed-AVP holding AVP {UNKNOWN_AVP}",
            if answer.code() == CCR {
                "CCA"
            } else {
                "answer"
            }
        ),
    );

    // Our DWRs (Tw 1 s), Erlang's DWAs; the peer stays OKAY.
    let started = Instant::now();
    let count = |kind: (u32, bool, Direction)| {
        watchdogs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&kind)
            .copied()
            .unwrap_or(0)
    };
    let answered =
        || count((280, true, Direction::Sent)).min(count((280, false, Direction::Received)));
    if !wait_until(Duration::from_secs(8), || answered() >= 2).await {
        fail(&format!(
            "our DWRs not answered: {:?}; {:#?}",
            watchdogs.lock().unwrap_or_else(|e| e.into_inner()),
            node.peers()
        ));
    }
    let peer = node.peers().remove(0);
    assert_eq!(
        (peer.state, peer.watchdog, peer.ready),
        (PeerState::IOpen, WatchdogState::Okay, true),
        "{peer:?}"
    );
    scenario_ok(
        &format!("{S} DWR/DWA"),
        &format!(
            "{} of our DWRs answered within {} ms, peer OKAY",
            answered(),
            started.elapsed().as_millis()
        ),
    );

    // Our shutdown: DPR, Erlang's DPA.
    let started = Instant::now();
    node.shutdown().await;
    let took = started.elapsed();
    erl.wait_event(&["down", SVC, OUR_HOST], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| fail(&e));
    assert!(
        took < Duration::from_secs(4),
        "shutdown took {took:?}: no DPA?"
    );
    erl_cmd(erl, &format!("stop {SVC}")).await;
    scenario_ok(
        &format!("{S} DPR/DPA"),
        &format!("shutdown in {} ms", took.as_millis()),
    );

    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tshark, dir.path(), &pcap, &[port]).unwrap_or_else(|e| panic!("{e}"));
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |_, dst| dst == port,
        &[
            ("CER", Expect::Ours(1)),
            ("CEA", Expect::Theirs(1)),
            ("CCR", Expect::Ours(2)),
            ("CCA", Expect::Theirs(2)),
            ("code 16777215 request", Expect::Ours(1)),
            ("code 16777215 answer", Expect::Theirs(1)),
            ("DWR", Expect::OursAtLeast(2)),
            ("DWA", Expect::TheirsAtLeast(2)),
            ("DPR", Expect::Ours(1)),
            ("DPA", Expect::Theirs(1)),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erlang_relay_through_ours() {
    const S: &str = "Erlang/OTP diameter client -> our relay -> Erlang/OTP diameter server";
    let Some((erl, tshark)) = erlang_or_skip(S) else {
        return;
    };
    let dir = TempDir::new("erl-relay").expect("temp dir");
    const RELAY_HOST: &str = "relay.interop.test";
    const CLIENT_HOST: &str = "relay-client.erlang.test";
    const SERVER_HOST: &str = "ocs.servers.erlang.test";
    const SERVER_REALM: &str = "servers.erlang.test";
    let server_port = free_port().expect("free port");
    let relay_port = free_port().expect("free port");
    let capture = Capture::start(&tshark, dir.path(), "erl-relay", &[relay_port, server_port])
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The Erlang server, then our relay: it connects to the server and routes the server's
    // realm to it; it admits clients of the Erlang realm.
    erl_cmd(
        erl,
        &format!("service relay_srv server {SERVER_HOST} {SERVER_REALM} {CC_APP} -"),
    )
    .await;
    erl_cmd(
        erl,
        &format!("listen relay_srv l {server_port} {ERL_TW_LONG_MS}"),
    )
    .await;
    let server_addr: SocketAddr = ([127, 0, 0, 1], server_port).into();
    let mut relay_config = NodeConfig::new(RELAY_HOST, OUR_REALM)
        .timers(common::timers(Duration::from_secs(30)))
        .listen(([127, 0, 0, 1], relay_port).into())
        .relay(true)
        .accept_unknown_peers(ERL_REALM)
        .peer(
            PeerSpec::new(format!("aaa://{SERVER_HOST}:{server_port};transport=tcp"))
                .address(server_addr),
        )
        .route(RouteSpec::new(SERVER_REALM, RouteAction::Relay).peer(SERVER_HOST));
    relay_config.host_ip_addresses = vec![[127, 0, 0, 1].into()];
    let relay = Node::builder(relay_config)
        .start()
        .await
        .expect("relay starts");
    let fail = |what: &str| -> ! {
        panic!(
            "{what}\n---- relay peers: {:#?}\n---- Erlang log:\n{}",
            relay.peers(),
            erl.log_tail(40)
        )
    };
    if let Err(e) = relay
        .wait_for_application(CC_APP, Duration::from_secs(10))
        .await
    {
        fail(&format!("the relay's connection to the Erlang server: {e}"));
    }
    let up = erl
        .wait_event(&["up", "relay_srv", RELAY_HOST], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| fail(&e));

    // The Erlang client connects to the relay and sends a CCR for the server's realm.
    erl_cmd(
        erl,
        &format!("service relay_cli client {CLIENT_HOST} {ERL_REALM} {CC_APP} -"),
    )
    .await;
    erl_cmd(
        erl,
        &format!("connect relay_cli t {relay_port} {ERL_TW_LONG_MS}"),
    )
    .await;
    let client_up = erl
        .wait_event(&["up", "relay_cli", RELAY_HOST], Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| fail(&e));
    scenario_ok(
        &format!("{S} CER/CEA"),
        &format!(
            "the relay advertises the Relay application to both; server side: {}; client side: {}",
            field(&up, "peer-apps"),
            field(&client_up, "peer-apps")
        ),
    );

    let answer = erl_cmd(erl, &format!("ccr relay_cli {SERVER_REALM} 0")).await;
    let ok = answer.starts_with("answer CCA ")
        && field(&answer, "rc") == "2001"
        && field(&answer, "origin") == SERVER_HOST
        && field(&answer, "errors") == "[]";
    if !ok {
        fail(&format!(
            "the CCA through the relay, as Erlang read it: {answer}"
        ));
    }
    let request = erl
        .wait_event(
            &["request", "relay_srv", "CCR from", CLIENT_HOST],
            Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|e| fail(&e));
    // §6.1.9: the relay appends the identity of the peer the request came from.
    let route_record = field(&request, "route-record");
    assert_eq!(
        route_record,
        format!("[{CLIENT_HOST}]"),
        "the Erlang server's view of the relayed CCR: {request}"
    );
    scenario_ok(
        &format!("{S} CCR/CCA relayed"),
        &format!("the server saw Route-Record {route_record}, the client got its CCA 2001"),
    );

    // The client leaves (DPR to the relay), then the relay stops (DPR to the server).
    erl_cmd(erl, "remove relay_cli t").await;
    erl.wait_event(&["down", "relay_cli", RELAY_HOST], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| fail(&e));
    relay.shutdown().await;
    erl.wait_event(&["down", "relay_srv", RELAY_HOST], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| fail(&e));
    erl_cmd(erl, "stop relay_cli").await;
    erl_cmd(erl, "stop relay_srv").await;
    scenario_ok(
        &format!("{S} DPR/DPA"),
        "the client's DPR to the relay, the relay's DPR to the server",
    );

    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tshark, dir.path(), &pcap, &[relay_port, server_port])
        .unwrap_or_else(|e| panic!("{e}"));
    // Ours: what leaves the relay's listening port or goes to the server.
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |src, dst| src == relay_port || dst == server_port,
        &[
            ("CER", Expect::Theirs(1)),
            ("CEA", Expect::Ours(1)),
            ("CER", Expect::Ours(1)),
            ("CEA", Expect::Theirs(1)),
            ("CCR", Expect::Theirs(1)),
            ("CCR", Expect::Ours(1)),
            ("CCA", Expect::Theirs(1)),
            ("CCA", Expect::Ours(1)),
            ("DWR", Expect::TheirsAtLeast(0)),
            ("DWA", Expect::OursAtLeast(0)),
            ("DWR", Expect::OursAtLeast(0)),
            ("DWA", Expect::TheirsAtLeast(0)),
            ("DPR", Expect::Theirs(1)),
            ("DPA", Expect::Ours(1)),
            ("DPR", Expect::Ours(1)),
            ("DPA", Expect::Theirs(1)),
        ],
    );
}
