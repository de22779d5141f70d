//! `diameter serve`, `send`, `bench` and `demo`, run as the built binary over loopback TCP
//! (127.0.0.1, ephemeral ports).

mod common;

use std::time::{Duration, Instant};

use common::{diameter, free_port, scratch, start_serve};
use diameter_core::generated::base::avp;
use diameter_node::app::{Application, HandlerError, Request};
use diameter_node::peer::PeerState;
use diameter_node::{Node, NodeConfig, PeerSpec};
use serde_json::Value;

const SECS: Duration = Duration::from_secs(10);

fn client_args(port: u16) -> Vec<String> {
    [
        "send",
        "--peer",
        &format!("127.0.0.1:{port}"),
        "--origin-host",
        "client.example.org",
        "--origin-realm",
        "example.org",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn send(port: u16, extra: &[&str], stdin: &[u8]) -> common::Run {
    let mut args = client_args(port);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    diameter(&args, stdin)
}

/// The AVP named `name` among the top-level AVPs of a JSON message.
fn avp<'a>(msg: &'a Value, name: &str) -> &'a Value {
    msg["avps"]
        .as_array()
        .and_then(|a| a.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {msg:#}"))
}

#[test]
fn demo_prints_the_whole_conversation() {
    let run = diameter(&["demo"], b"");
    assert_eq!(run.status, 0, "{}\n{}", run.stdout(), run.stderr);
    let out = run.stdout();
    let mut at = 0;
    for step in ["CER", "CEA", "CCR", "CCA", "DWR", "DWA", "DPR", "DPA"] {
        let needle = format!("  {step}\n");
        let found = out[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("no {step} after byte {at}:\n{out}"));
        at += found + needle.len();
    }
    assert!(out.contains("Granted-Service-Unit (431)"), "{out}");
    assert!(out.contains("Requested-Service-Unit (437)"), "{out}");
    assert!(out.contains("8 messages"), "{out}");
}

#[test]
fn serve_answers_send_and_stops_on_sigterm() {
    let (mut serve, port) = start_serve(&[]);

    // The default Gy CCR-I, printed as text.
    let run = send(port, &[], b"");
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    assert!(out.starts_with("Credit-Control-Answer (272)"), "{out}");
    assert!(
        out.contains("Result-Code (268) [-M-] Unsigned32: 2001 DIAMETER_SUCCESS\n"),
        "{out}"
    );
    assert!(out.contains("CC-Request-Type (416) [-M-] Enumerated: INITIAL_REQUEST (1)"));
    assert!(
        out.contains("CC-Total-Octets (421) [-M-] Unsigned64: 1048576"),
        "{out}"
    );

    // An ACR from JSON on stdin, the answer as JSON.
    let acr = br#"{"command": "Accounting-Request", "application_id": 3, "avps": [
        {"name": "Accounting-Record-Type", "value": "STOP_RECORD"},
        {"name": "Accounting-Record-Number", "value": 7}]}"#;
    let run = send(port, &["--json", "-", "--format", "json"], acr);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let aca = run.json();
    assert_eq!(aca["command"], "Accounting-Answer");
    assert_eq!(avp(&aca, "Result-Code")["value"], 2001);
    assert_eq!(avp(&aca, "Accounting-Record-Type")["enum"], "STOP_RECORD");
    assert_eq!(avp(&aca, "Accounting-Record-Number")["value"], 7);
    assert!(
        avp(&aca, "Session-Id")["value"]
            .as_str()
            .unwrap()
            .starts_with("client.example.org;")
    );

    // A Gx CCR (a 3GPP vendor-specific application) from a file, bare: Session-Id,
    // Origin-*, Destination-Realm and Auth-Application-Id are filled in.
    let gx = scratch("gx-ccr.json");
    std::fs::write(
        &gx,
        r#"{"command": "Credit-Control-Request", "application_id": 16777238, "avps": [
            {"name": "CC-Request-Type", "value": "INITIAL_REQUEST"},
            {"name": "CC-Request-Number", "value": 0}]}"#,
    )
    .unwrap();
    let run = send(
        port,
        &["--json", gx.to_str().unwrap(), "--format", "json"],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let cca = run.json();
    assert_eq!(cca["application_id"], 16_777_238);
    assert_eq!(avp(&cca, "Result-Code")["value"], 2001);
    assert_eq!(avp(&cca, "Auth-Application-Id")["value"], 16_777_238);

    // Peer events on stderr; SIGTERM: exit 0.
    serve.terminate();
    assert_eq!(serve.wait_exit(SECS), Some(0), "{}", serve.stderr());
    let log = serve.stderr();
    for needle in [
        "client.example.org <- CER from client.example.org (diameter-rs)",
        "client.example.org -> CEA 2001",
        "client.example.org state R-Open",
        "client.example.org <- DPR REBOOTING",
        "client.example.org -> DPA 2001",
        "client.example.org state Closed",
        "stopped; 3 request(s) received, 3 answer(s) sent",
    ] {
        assert!(log.contains(needle), "no {needle:?} in\n{log}");
    }
}

#[test]
fn send_exit_status_2_when_the_connection_fails() {
    let port = free_port();
    let t = Instant::now();
    let run = send(port, &["--timeout", "5"], b"");
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("connection to peer"), "{}", run.stderr);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

#[test]
fn send_exit_status_2_when_the_cer_is_refused() {
    // serve admits only realm other.org: 3010 DIAMETER_UNKNOWN_PEER.
    let (serve, port) = start_serve(&["--accept-unknown-peers", "other.org"]);
    let run = send(port, &["--timeout", "5"], b"");
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("Result-Code 3010"), "{}", run.stderr);
    assert!(
        serve
            .wait_for("CER from an unknown peer, 3010", SECS)
            .is_some(),
        "{}",
        serve.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_exit_status_3_on_timeout() {
    // A server whose handler never answers.
    let config = NodeConfig::new("silent.example.org", "example.org")
        .listen("127.0.0.1:0".parse().unwrap())
        .accept_unknown_peers("*");
    let silent = Application::auth(4).handler(|_req: Request| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Err::<diameter_node::Answer, _>(HandlerError::Failed("late".into()))
    });
    let server = Node::builder(config)
        .application(silent)
        .start()
        .await
        .unwrap();
    let port = server.local_addrs()[0].port();
    let run = tokio::task::spawn_blocking(move || send(port, &["--timeout", "0.5"], b""))
        .await
        .unwrap();
    assert_eq!(run.status, 3, "{}", run.stderr);
    assert!(run.stderr.contains("no answer within"), "{}", run.stderr);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_dpr_to_connected_peers_on_sigterm() {
    let (mut serve, port) = start_serve(&["--app", "4"]);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = NodeConfig::new("client.example.org", "example.org").peer(
        PeerSpec::new(format!("aaa://server.example.org:{port};transport=tcp")).address(addr),
    );
    let client = Node::builder(config)
        .application(Application::auth(4))
        .start()
        .await
        .unwrap();
    client.wait_for_ready(SECS).await.unwrap();
    serve.terminate();
    let status = tokio::task::spawn_blocking(move || {
        let status = serve.wait_exit(SECS);
        (status, serve.stderr())
    })
    .await
    .unwrap();
    assert_eq!(status.0, Some(0), "{}", status.1);
    assert!(
        status.1.contains("stopping, DPR to 1 peer(s)"),
        "{}",
        status.1
    );
    assert!(status.1.contains("-> DPR REBOOTING"), "{}", status.1);
    assert!(status.1.contains("<- DPA 2001"), "{}", status.1);
    // The client saw the DPR: its peer left I-Open.
    assert_ne!(client.peers()[0].state, PeerState::IOpen);
    client.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_echoes_requests_of_an_application_the_dictionaries_lack() {
    // freeDiameter's test_app: application 16777215, Test-Request 16777214 with Test-AVP
    // (16777215, vendor 999999), which its client expects back.
    let (serve, port) = start_serve(&["--app", "16777215"]);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = NodeConfig::new("client.example.org", "example.org").peer(
        PeerSpec::new(format!("aaa://server.example.org:{port};transport=tcp")).address(addr),
    );
    let client = Node::builder(config)
        .application(Application::auth(16_777_215))
        .start()
        .await
        .unwrap();
    client.wait_for_ready(SECS).await.unwrap();
    let mut b = client.new_request(16_777_214, 16_777_215, true);
    b.add(
        avp::DESTINATION_REALM,
        &diameter_core::DiameterIdentity::from("example.org"),
    );
    b.avp(
        16_777_215,
        999_999,
        diameter_core::AvpFlags::default(),
        &42i32,
    );
    let answer = client.send(b.build()).await.unwrap();
    assert_eq!(answer.result_code(), Some(2001), "{}", serve.stderr());
    assert_eq!(
        answer
            .get::<i32>(diameter_core::AvpKey::new(16_777_215, 999_999))
            .and_then(Result::ok),
        Some(42)
    );
    // The route is not echoed.
    assert!(answer.find(avp::DESTINATION_REALM).is_none());
    client.shutdown().await;
}

#[test]
fn bench_against_an_embedded_server() {
    let run = diameter(
        &[
            "bench",
            "--duration",
            "0.5",
            "--concurrency",
            "8",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let r = run.json();
    let answers = r["answers"].as_u64().unwrap();
    assert!(answers > 100, "{r:#}");
    assert_eq!(r["result_codes"]["2001"].as_u64(), Some(answers), "{r:#}");
    assert_eq!(r["errors"]["total"], 0, "{r:#}");
    for q in ["p50", "p90", "p99", "p99_9", "max"] {
        assert!(r["latency_us"][q].as_f64().unwrap() > 0.0, "{q}: {r:#}");
    }
    assert!(r["target"].as_str().unwrap().starts_with("embedded"));
}

#[test]
fn bench_reconnects_after_its_peer_restarts_and_accounts_for_every_request() {
    // serve is killed (-9) during the run and started again on the same port: bench's node
    // reconnects, goes on, and every request it handed to its node has one outcome.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let serve_args = ["serve", "--listen", &listen, "--app", "4"];
    let mut first = common::Background::diameter(&serve_args);
    assert!(
        first.wait_for("listening on", SECS).is_some(),
        "{}",
        first.stderr()
    );
    let peer = listen.clone();
    let bench = std::thread::spawn(move || {
        diameter(
            &[
                "bench",
                "--peer",
                &peer,
                "--app",
                "4",
                "--duration",
                "3",
                "--concurrency",
                "4",
                "--timeout",
                "1",
                "--reconnect-min",
                "0.05",
                "--reconnect-max",
                "0.2",
                "--format",
                "json",
            ],
            b"",
        )
    });
    std::thread::sleep(Duration::from_millis(1000));
    first.child.kill().expect("kill -9 serve");
    let _ = first.child.wait();
    std::thread::sleep(Duration::from_millis(300));
    let second = common::Background::diameter(&serve_args);
    assert!(
        second.wait_for("listening on", SECS).is_some(),
        "{}",
        second.stderr()
    );
    let run = bench.join().expect("bench thread");
    assert_eq!(run.status, 0, "{}", run.stderr);
    let r = run.json();
    let acc = &r["accounting"];
    assert!(acc["reconnects"].as_u64().unwrap() >= 1, "{r:#}");
    assert_eq!(acc["connections_lost"], 1, "{r:#}");
    assert_eq!(acc["no_outcome"], 0, "{r:#}");
    assert_eq!(acc["late_or_duplicate_answers"], 0, "{r:#}");
    assert_eq!(acc["wrong_session_id"], 0, "{r:#}");
    let sum: u64 = [
        "answered",
        "timed_out",
        "lost_with_connection",
        "refused_no_peer",
        "other_errors",
    ]
    .iter()
    .map(|k| acc[*k].as_u64().unwrap())
    .sum();
    assert_eq!(acc["sent"].as_u64(), Some(sum), "{r:#}");
    // The restarted server answered too: its log shows the bench's CER.
    assert!(
        second.wait_for("<- CER", SECS).is_some(),
        "{}",
        second.stderr()
    );
}

#[test]
fn bench_runs_gy_sessions() {
    let run = diameter(
        &[
            "bench",
            "--scenario",
            "gy-session",
            "--updates",
            "2",
            "--duration",
            "0.5",
            "--concurrency",
            "4",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let r = run.json();
    let s = &r["sessions"];
    let started = s["started"].as_u64().unwrap();
    assert!(started > 10, "{r:#}");
    assert_eq!(s["completed"].as_u64(), Some(started), "{r:#}");
    // CCR-I, two CCR-U and a CCR-T per session (one cut short by the end of the run may
    // terminate after fewer updates).
    let answers = r["answers"].as_u64().unwrap();
    assert!(answers <= 4 * started && answers >= 2 * started, "{r:#}");
    assert_eq!(r["accounting"]["no_outcome"], 0, "{r:#}");
}

#[test]
fn bench_against_serve_at_a_rate_over_two_connections() {
    let (serve, port) = start_serve(&[]);
    let peer = format!("127.0.0.1:{port}");
    let run = diameter(
        &[
            "bench",
            "--peer",
            &peer,
            "--origin-host",
            "bench.example.org",
            "--origin-realm",
            "example.org",
            "--connections",
            "2",
            "--concurrency",
            "4",
            "--rate",
            "200",
            "--duration",
            "0.5",
        ],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    // 200/s for 0.5 s: 100 requests, none past the end.
    let answered: u64 = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!((90..=100).contains(&answered), "{out}");
    assert!(
        out.contains(&format!("result codes  2001: {answered}")),
        "{out}"
    );
    assert!(out.contains("errors        none"), "{out}");
    assert!(out.contains("latency       p50 "), "{out}");
    // Two distinct peers connected.
    assert!(serve.wait_for("bench.example.org <- CER", SECS).is_some());
    assert!(serve.wait_for("bench-1.example.org <- CER", SECS).is_some());
}
