//! Scale-out through the protocol's own agent (RFC 6733 §2.8): `diameter serve` as a relay
//! in front of three `diameter serve` servers, all separate processes on loopback, and a
//! client node sending through the relay. One server is killed (SIGKILL) mid-run and
//! restarted: every request still gets exactly one answer (the relay fails pending
//! requests over with the T flag, §5.5.4), the traffic moves to the two others while it
//! is down, and it gets traffic again once the relay has reconnected to it.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Background, free_port, scratch};
use diameter_core::generated::base::avp;
use diameter_core::{AvpKey, DiameterIdentity, Message, Utf8String};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::{Node, NodeConfig, NodeHandle, PeerSpec, RequestError};

const SERVERS: usize = 3;
const WORKERS: usize = 8;

fn server_name(i: usize) -> String {
    format!("s{}.servers.test", i + 1)
}

fn start_server(i: usize, port: u16) -> Background {
    let listen = format!("127.0.0.1:{port}");
    let host = server_name(i);
    let s = Background::diameter(&[
        "serve",
        "--listen",
        &listen,
        "--origin-host",
        &host,
        "--origin-realm",
        "servers.test",
        "--app",
        "4",
        "--accept-unknown-peers",
        "*",
    ]);
    s.wait_for("listening on", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{host} did not start: {}", s.stderr()));
    s
}

fn relay_config(port: u16, servers: &[u16]) -> String {
    let mut t = format!(
        r#"origin_host = "relay.agents.test"
origin_realm = "agents.test"
listen = ["127.0.0.1:{port}"]
relay = true
accept_unknown_peers = ["*"]

[timers]
watchdog = "1s"
reconnect_min = "100ms"
reconnect_max = "300ms"
request_timeout = "5s"

[[routes]]
realm = "servers.test"
action = "relay"
selector = "least_pending"
peers = [{}]
"#,
        (0..SERVERS)
            .map(|i| format!("\"{}\"", server_name(i)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (i, p) in servers.iter().enumerate() {
        t.push_str(&format!(
            "\n[[peers]]\nuri = \"aaa://{}\"\naddresses = [\"127.0.0.1:{p}\"]\n",
            server_name(i)
        ));
    }
    t
}

fn ccr(node: &NodeHandle, n: u32) -> Message {
    let mut b = node.new_request(272, 4, true);
    b.add(
        avp::DESTINATION_REALM,
        &DiameterIdentity::from("servers.test"),
    );
    b.add(avp::AUTH_APPLICATION_ID, &4u32);
    b.add(AvpKey::new(461, 0), &Utf8String::from("32251@3gpp.org"));
    b.add(AvpKey::new(416, 0), &1u32);
    b.add(AvpKey::new(415, 0), &n);
    b.build()
}

/// What one request ended with, and when.
struct Outcome {
    at: Duration,
    result: Result<(u32, String), RequestError>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_in_front_of_three_servers_survives_a_server_crash() {
    let ports: Vec<u16> = (0..SERVERS).map(|_| free_port()).collect();
    let mut servers: Vec<Background> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| start_server(i, *p))
        .collect();
    let relay_port = free_port();
    let conf = scratch("scale-out-relay.toml");
    std::fs::write(&conf, relay_config(relay_port, &ports)).unwrap();
    let relay = Background::diameter(&["serve", "--config", conf.to_str().unwrap()]);
    relay
        .wait_for("listening on", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("relay did not start: {}", relay.stderr()));

    let config = NodeConfig::new("client.clients.test", "clients.test")
        .application(SupportedApplication::auth(4))
        .peer(
            PeerSpec::new("aaa://relay.agents.test")
                .address(format!("127.0.0.1:{relay_port}").parse().unwrap()),
        );
    let client = Node::builder(config).start().await.expect("client starts");
    client
        .wait_for_ready(Duration::from_secs(10))
        .await
        .expect("relay open");
    // Until the relay has all three servers: each answers.
    let warm = async {
        let mut seen = std::collections::HashSet::new();
        let mut n = 0;
        while seen.len() < SERVERS {
            let a = client.send(ccr(&client, n)).await.expect("warm-up answer");
            n += 1;
            seen.insert(origin(&a));
            if seen.len() < SERVERS {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), warm)
        .await
        .unwrap_or_else(|_| panic!("servers not all reached: {}", relay.stderr()));

    // Traffic: WORKERS senders, each with one request in flight at a time.
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (client, stop) = (client.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut n = (w as u32) << 24;
            while !stop.load(Ordering::Relaxed) {
                let result = client
                    .send(ccr(&client, n))
                    .await
                    .map(|a| (a.result_code().unwrap_or(0), origin(&a)));
                out.push(Outcome {
                    at: start.elapsed(),
                    result,
                });
                n += 1;
            }
            out
        }));
    }

    // s2 crashes at 1 s, comes back at 2.5 s; the run ends once it has answered again
    // for a while (at most 15 s).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed_at = start.elapsed();
    servers[1].child.kill().expect("kill s2");
    let _ = servers[1].child.wait();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let restarted_at = start.elapsed();
    servers[1] = start_server(1, ports[1]);
    let rejoined = async {
        loop {
            let a = client.send(ccr(&client, 0)).await;
            if a.is_ok_and(|a| origin(&a) == server_name(1)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), rejoined)
        .await
        .unwrap_or_else(|_| panic!("s2 did not rejoin: {}", relay.stderr()));
    let rejoined_at = start.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.extend(w.await.unwrap());
    }

    // 0 lost: every request got an answer, and every answer is a success.
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| !matches!(&o.result, Ok((2001, _))))
        .map(|o| format!("{:?}: {:?}", o.at, o.result))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests without a 2001 answer: {:?}",
        failed.len(),
        outcomes.len(),
        &failed[..failed.len().min(10)]
    );
    let by_server = |from: Duration, to: Duration| {
        let mut m: HashMap<String, usize> = HashMap::new();
        for o in outcomes.iter().filter(|o| o.at >= from && o.at < to) {
            if let Ok((_, host)) = &o.result {
                *m.entry(host.clone()).or_default() += 1;
            }
        }
        m
    };
    let before = by_server(Duration::ZERO, killed_at);
    let down = by_server(killed_at + Duration::from_millis(200), restarted_at);
    let after = by_server(rejoined_at, Duration::MAX);
    // The relay logs each failover (a warning): requests it had sent to s2 and moved on.
    let failovers: usize = relay
        .stderr()
        .lines()
        .filter(|l| l.contains("failover of pending requests"))
        .filter_map(|l| {
            l.split("requests=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    eprintln!(
        "scale-out: {} requests, 0 lost; before the crash {before:?}; s2 down {down:?}; after it rejoined {after:?}; requests failed over by the relay: {failovers}",
        outcomes.len()
    );
    assert_eq!(before.len(), SERVERS, "all three served before: {before:?}");
    assert!(
        !down.contains_key(&server_name(1)) && down.len() == 2,
        "s1 and s3 carry the traffic while s2 is down: {down:?}"
    );
    assert!(
        after.get(&server_name(1)).copied().unwrap_or(0) > 0,
        "s2 serves again: {after:?}"
    );

    client.shutdown().await;
    relay.terminate();
    for s in &servers {
        s.terminate();
    }
}

fn origin(m: &Message) -> String {
    m.find(avp::ORIGIN_HOST)
        .map(|a| String::from_utf8_lossy(a.data).into_owned())
        .unwrap_or_default()
}
