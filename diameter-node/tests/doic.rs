//! DOIC (RFC 7683, [`diameter_node::doic`]) between two nodes over loopback: the server
//! reports overload, the client throttles that share of its requests with the loss
//! algorithm, and traffic flows again when the overload ends or its report expires.

mod common;

use std::time::Duration;

use common::*;
use diameter_core::generated::doic::OcReportType;
use diameter_core::generated::doic::avp as oc;
use diameter_node::RequestError;
use diameter_node::doic::{AnswerAvps, Scope};

/// A server and a client of `common` with DOIC turned on (it is off by default).
async fn doic_pair() -> (diameter_node::NodeHandle, Seen, diameter_node::NodeHandle) {
    let seen = Seen::default();
    let mut config = server_config("server.example.org", &[loopback()]);
    config.doic.enabled = true;
    let server = diameter_node::Node::builder(config)
        .application(gy_server_app(seen.clone()))
        .start()
        .await
        .expect("server starts");
    let mut config = diameter_node::NodeConfig::new("client.example.org", "example.org")
        .timers(timers())
        .application(diameter_node::peer::SupportedApplication::auth(GY))
        .peer(
            diameter_node::PeerSpec::new("aaa://server.example.org:3868;transport=tcp")
                .address(server.local_addrs()[0]),
        );
    config.doic.enabled = true;
    let client = diameter_node::Node::builder(config)
        .start()
        .await
        .expect("client starts");
    (server, seen, client)
}

/// Sends `n` requests one after the other; (answered, throttled).
async fn burst(client: &diameter_node::NodeHandle, n: u32) -> (u32, u32) {
    let (mut ok, mut throttled) = (0, 0);
    for i in 0..n {
        match client.send(ccr(client, i, None)).await {
            Ok(a) => {
                assert_eq!(a.result_code(), Some(2001));
                ok += 1;
            }
            Err(RequestError::Throttled) => throttled += 1,
            Err(e) => panic!("request {i}: {e}"),
        }
    }
    (ok, throttled)
}

#[tokio::test]
async fn overload_reports_throttle_the_client() {
    let (server, seen, client) = doic_pair().await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();

    // Not overloaded: the answer selects the loss algorithm, with no report.
    let a = client.send(ccr(&client, 0, None)).await.unwrap();
    assert!(a.find(oc::OC_SUPPORTED_FEATURES).is_some(), "{a:?}");
    assert!(a.find(oc::OC_OLR).is_none());

    // Overloaded by half: the next answer carries the report, and it is in force.
    server.set_overload(Some((50, Duration::from_secs(30))));
    let a = client.send(ccr(&client, 1, None)).await.unwrap();
    let report = AnswerAvps::of(&a).report().expect("an OC-OLR");
    assert_eq!(report.reduction, 50);
    assert_eq!(report.report_type, OcReportType::HOST_REPORT);
    assert_eq!(report.validity, Duration::from_secs(30));
    let states = client.overload_states();
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0].scope, Scope::Host);
    assert_eq!(&*states[0].name, "server.example.org");
    assert_eq!(states[0].application, GY);
    assert_eq!(states[0].reduction, 50);
    assert!(
        server
            .metrics_text()
            .lines()
            .any(|l| l == "diameter_doic_reported_reduction_percent 50")
    );
    let in_force = "diameter_doic_reduction_percent{application=\"4\",scope=\"host\",\
                    name=\"server.example.org\"} 50";
    assert!(client.metrics_text().lines().any(|l| l == in_force));

    // About half of the next 1000 are throttled, and never reach the server.
    let before = seen.get();
    let (ok, throttled) = burst(&client, 1000).await;
    assert!(
        (350..=650).contains(&throttled),
        "{throttled} of 1000 throttled at 50 %"
    );
    assert_eq!(seen.get() - before, ok as usize);
    let stats = &client.peers()[0].stats;
    assert_eq!(stats.throttled, u64::from(throttled));
    let text = client.metrics_text();
    assert!(
        text.contains(&format!(
            "diameter_peer_throttled_total{{peer=\"server.example.org\"}} {throttled}"
        )),
        "{text}"
    );

    // Overload over: the first answer that gets through ends it; then nothing is shed.
    server.set_overload(None);
    let mut ended = false;
    for i in 0..100 {
        if let Ok(a) = client.send(ccr(&client, i, None)).await {
            let end = AnswerAvps::of(&a).report().expect("an ending OC-OLR");
            assert!(
                end.ends_overload() && end.sequence > report.sequence,
                "{end:?}"
            );
            ended = true;
            break;
        }
    }
    assert!(ended, "no request got through in 100 at 50 %");
    let (ok, throttled) = burst(&client, 200).await;
    assert_eq!((ok, throttled), (200, 0));

    client.shutdown().await;
    server.shutdown().await;
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn reports_expire_with_their_validity() {
    let (server, _, client) = doic_pair().await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();

    // Everything shed, for one second.
    server.set_overload(Some((100, Duration::from_secs(1))));
    client.send(ccr(&client, 0, None)).await.unwrap();
    assert_eq!(
        client.send(ccr(&client, 1, None)).await.unwrap_err(),
        RequestError::Throttled
    );
    // At 100 % no answer can end it: the validity does.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(client.overload_states().is_empty());
    let a = client.send(ccr(&client, 2, None)).await.unwrap();
    // The server is still overloaded and says so with a fresh report (half the validity
    // has passed, so a new sequence number), which is in force again.
    assert_eq!(AnswerAvps::of(&a).report().map(|r| r.reduction), Some(100));
    assert_eq!(
        client.send(ccr(&client, 3, None)).await.unwrap_err(),
        RequestError::Throttled
    );

    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn doic_can_be_turned_off() {
    let (server, _) = start_server(&[loopback()], Default::default()).await;
    let mut config = diameter_node::NodeConfig::new("client.example.org", "example.org")
        .timers(timers())
        .application(diameter_node::peer::SupportedApplication::auth(GY))
        .peer(
            diameter_node::PeerSpec::new("aaa://server.example.org:3868;transport=tcp")
                .address(server.local_addrs()[0]),
        );
    config.doic.enabled = false;
    let client = diameter_node::Node::builder(config).start().await.unwrap();
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    server.set_overload(Some((100, Duration::from_secs(30))));
    // The client announces no DOIC: the server adds nothing, the client sheds nothing.
    for i in 0..20 {
        let a = client.send(ccr(&client, i, None)).await.unwrap();
        assert!(a.find(oc::OC_SUPPORTED_FEATURES).is_none());
        assert!(a.find(oc::OC_OLR).is_none());
    }
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_configuration_reads_doic() {
    let c = diameter_node::NodeConfig::from_toml(
        r#"
        origin_host = "a.example.org"
        origin_realm = "example.org"

        [doic]
        enabled = true
        report_type = "realm"
        overload_handlers = 800
        overload_reduction = 30
        overload_validity = "10s"
        "#,
    )
    .unwrap();
    assert!(c.doic.enabled);
    assert_eq!(
        c.doic.report_type,
        diameter_node::config::DoicReportType::Realm
    );
    assert_eq!(c.doic.overload_handlers, 800);
    assert_eq!(c.doic.overload_reduction, 30);
    assert_eq!(c.doic.overload_validity, Duration::from_secs(10));
    assert!(
        diameter_node::NodeConfig::from_toml(
            "origin_host = \"a\"\norigin_realm = \"r\"\n[doic]\nbogus = 1"
        )
        .is_err()
    );
}
