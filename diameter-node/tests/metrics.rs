//! The Prometheus exposition ([`diameter_node::metrics`]) of two nodes talking over
//! loopback, scraped over HTTP with a plain TCP GET.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::{Node, NodeConfig, NodeHandle, PeerSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` on a new connection and returns (status line, headers, body).
async fn http(addr: SocketAddr, request: &str) -> (String, String, String) {
    let mut s = TcpStream::connect(addr)
        .await
        .expect("connect to the metrics listener");
    s.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .expect("the listener answers and closes")
        .unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers end");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (
        status.to_owned(),
        headers.to_ascii_lowercase(),
        body.to_owned(),
    )
}

async fn scrape(addr: SocketAddr) -> String {
    let (status, headers, body) = http(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: application/openmetrics-text"),
        "{headers}"
    );
    body
}

/// The value of the sample whose line starts with `series` (name and labels).
fn value(text: &str, series: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{series} missing in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn two_nodes_scraped_over_http() {
    let seen = Seen::default();
    // The server: metrics enabled, no listener (read with metrics_text).
    let server = Node::builder(server_config("server.example.org", &[loopback()]))
        .application(gy_server_app(seen.clone()))
        .metrics()
        .start()
        .await
        .unwrap();
    // The client: metrics on an HTTP listener, from its TOML configuration.
    let toml = format!(
        r#"
        origin_host = "client.example.org"
        origin_realm = "example.org"
        metrics_listen = "127.0.0.1:0"

        [[applications]]
        id = 4

        [[peers]]
        uri = "aaa://server.example.org:3868;transport=tcp"
        addresses = ["{}"]
        "#,
        server.local_addrs()[0]
    );
    let mut config = NodeConfig::from_toml(&toml).unwrap();
    config.timers = timers();
    assert_eq!(config.metrics_listen, Some("127.0.0.1:0".parse().unwrap()));
    let client = Node::builder(config).start().await.unwrap();
    let addr = client
        .metrics_addr()
        .expect("the metrics listener is bound");
    assert_ne!(addr.port(), 0);
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();

    // Five successes, two handler errors (5012).
    for i in 0..5 {
        let a = client.send(ccr(&client, i, None)).await.unwrap();
        assert_eq!(a.result_code(), Some(2001));
    }
    for i in 5..7 {
        let a = client.send(ccr(&client, i, Some(3))).await.unwrap();
        assert_eq!(a.result_code(), Some(5012));
    }
    assert_eq!(seen.get(), 7);

    let text = scrape(addr).await;
    let s = "peer=\"server.example.org\"";
    assert_eq!(value(&text, &format!("diameter_peer_up{{{s}}}")), 1.0);
    assert_eq!(
        value(
            &text,
            &format!("diameter_peer_state{{{s},state=\"I-Open\"}}")
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            &format!("diameter_peer_state{{{s},state=\"Closed\"}}")
        ),
        0.0
    );
    assert_eq!(
        value(
            &text,
            &format!("diameter_peer_watchdog_state{{{s},state=\"OKAY\"}}")
        ),
        1.0
    );
    assert_eq!(
        value(&text, &format!("diameter_peer_requests_sent_total{{{s}}}")),
        7.0
    );
    assert_eq!(
        value(
            &text,
            &format!("diameter_peer_answers_received_total{{{s}}}")
        ),
        7.0
    );
    let cc = "application=\"4\",command=\"Credit-Control\",code=\"272\"";
    assert_eq!(
        value(
            &text,
            &format!(
                "diameter_messages_total{{{s},direction=\"sent\",type=\"request\",{cc},result_code=\"\"}}"
            )
        ),
        7.0
    );
    assert_eq!(
        value(
            &text,
            &format!(
                "diameter_messages_total{{{s},direction=\"received\",type=\"answer\",{cc},result_code=\"2001\"}}"
            )
        ),
        5.0
    );
    assert_eq!(
        value(
            &text,
            &format!(
                "diameter_messages_total{{{s},direction=\"received\",type=\"answer\",{cc},result_code=\"5012\"}}"
            )
        ),
        2.0
    );
    // The capabilities exchange is there too, under its dictionary name.
    assert!(text.contains("command=\"Capabilities-Exchange\",code=\"257\""));
    assert_eq!(
        value(&text, &format!("diameter_pending_requests{{{s}}}")),
        0.0
    );
    assert_eq!(
        value(
            &text,
            &format!("diameter_request_duration_seconds_count{{{s},{cc}}}")
        ),
        7.0
    );
    assert_eq!(
        value(
            &text,
            &format!("diameter_request_duration_seconds_bucket{{le=\"+Inf\",{s},{cc}}}")
        ),
        7.0
    );
    assert!(
        value(
            &text,
            &format!("diameter_request_duration_seconds_sum{{{s},{cc}}}")
        ) > 0.0
    );
    assert!(text.ends_with("# EOF\n"));

    // The server's side of the same traffic, without HTTP.
    let text = server.metrics_text();
    let c = "peer=\"client.example.org\"";
    assert_eq!(
        value(
            &text,
            &format!("diameter_peer_requests_received_total{{{c}}}")
        ),
        7.0
    );
    assert_eq!(
        value(
            &text,
            &format!("diameter_peer_handler_failures_total{{{c}}}")
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            &format!(
                "diameter_messages_total{{{c},direction=\"sent\",type=\"answer\",{cc},result_code=\"5012\"}}"
            )
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            &format!(
                "diameter_messages_total{{{c},direction=\"received\",type=\"request\",{cc},result_code=\"\"}}"
            )
        ),
        7.0
    );

    // Only GET /metrics.
    let (status, _, _) = http(
        addr,
        "GET /other HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, _, _) = http(
        addr,
        "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    client.shutdown().await;
    server.shutdown().await;
    // The listener stops with the node.
    assert!(
        tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr))
            .await
            .map_or(true, |r| r.is_err()),
        "metrics listener still accepting after shutdown"
    );
}

#[tokio::test]
async fn without_metrics_the_exposition_has_states_and_counters_only() {
    let (server, _) = start_server(&[loopback()], Default::default()).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    client.send(ccr(&client, 0, None)).await.unwrap();
    assert_eq!(client.metrics_addr(), None);
    let text = client.metrics_text();
    assert_eq!(
        value(
            &text,
            "diameter_peer_requests_sent_total{peer=\"server.example.org\"}"
        ),
        1.0
    );
    assert!(!text.contains("diameter_messages_total"));
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_busy_metrics_address_fails_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = NodeConfig::new("x.example.org", "example.org");
    config.metrics_listen = Some(taken.local_addr().unwrap());
    let err = Node::builder(config).start().await.unwrap_err();
    assert!(err.to_string().contains("cannot listen"), "{err}");
}

/// A client named `host` connects to `server`, sends `ok` requests answered 2001 and
/// `failing` answered 5012, and leaves (DPR); returns once the server no longer lists it.
async fn visit(server: &NodeHandle, host: &str, ok: u32, failing: u32) {
    let config = NodeConfig::new(host, "example.org")
        .timers(timers())
        .application(SupportedApplication::auth(GY))
        .peer(
            PeerSpec::new("aaa://server.example.org:3868;transport=tcp")
                .address(server.local_addrs()[0]),
        );
    let client = Node::builder(config).start().await.unwrap();
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    for i in 0..ok + failing {
        let action = (i >= ok).then_some(3);
        let a = client.send(ccr(&client, i, action)).await.unwrap();
        assert_eq!(a.result_code(), Some(if i < ok { 2001 } else { 5012 }));
    }
    client.shutdown().await;
    let gone = async {
        while server.peers().iter().any(|p| p.name == host) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(3), gone)
        .await
        .expect("the server forgets the departed peer");
}

/// Prometheus' convention: a peer admitted by realm pattern that disconnects keeps its
/// counters in `/metrics` under its DiameterIdentity (an incident stays visible), and
/// continues them when it comes back; with `limits.max_retained_peers` = 2, a third
/// departed peer sends the counters of the one that left longest ago to `peer="(other)"`,
/// so the node's totals never go down.
#[tokio::test]
async fn departed_peers_keep_their_counters_which_continue_and_stay_bounded() {
    let mut config = server_config("server.example.org", &[loopback()]);
    config.limits.max_retained_peers = 2;
    let server = Node::builder(config)
        .application(gy_server_app(Seen::default()))
        .metrics()
        .start()
        .await
        .unwrap();
    let cc = "application=\"4\",command=\"Credit-Control\",code=\"272\"";
    let figures = |peer: &str| {
        let text = server.metrics_text();
        let p = format!("peer=\"{peer}\"");
        let answers = |code: u32| {
            let series = format!(
                "diameter_messages_total{{{p},direction=\"sent\",type=\"answer\",{cc},result_code=\"{code}\"}}"
            );
            value(&text, &series)
        };
        (
            value(
                &text,
                &format!("diameter_peer_requests_received_total{{{p}}}"),
            ),
            value(
                &text,
                &format!("diameter_peer_handler_failures_total{{{p}}}"),
            ),
            answers(2001),
            answers(5012),
        )
    };

    visit(&server, "p1.example.org", 2, 1).await;
    assert_eq!(figures("p1.example.org"), (3.0, 1.0, 2.0, 1.0));
    let text = server.metrics_text();
    assert!(
        !text.contains("diameter_peer_up{peer=\"p1.example.org\"}"),
        "no state"
    );

    // Back again: its counters go on from where they were.
    visit(&server, "p1.example.org", 1, 1).await;
    assert_eq!(figures("p1.example.org"), (5.0, 2.0, 3.0, 2.0));

    // Two more peers leave: p1 left longest ago and goes to the aggregate.
    let requests = |peer: &str| {
        let series = format!("diameter_peer_requests_received_total{{peer=\"{peer}\"}}");
        value(&server.metrics_text(), &series)
    };
    visit(&server, "p2.example.org", 1, 0).await;
    assert_eq!(requests("p1.example.org"), 5.0, "two names kept");
    visit(&server, "p3.example.org", 1, 0).await;
    let text = server.metrics_text();
    assert!(!text.contains("peer=\"p1.example.org\""), "{text}");
    assert_eq!(figures("(other)"), (5.0, 2.0, 3.0, 2.0));
    assert_eq!(requests("p2.example.org"), 1.0);
    assert_eq!(requests("p3.example.org"), 1.0);
    let series = text
        .lines()
        .filter(|l| l.starts_with("diameter_peer_requests_received_total{"))
        .count();
    assert_eq!(series, 3, "the bound holds:\n{text}");
    assert_eq!(server.stats().requests_received, 7, "totals stay monotonic");
    server.shutdown().await;
}
