//! Two nodes over real loopback TCP: CER/CEA, CCR/CCA, DWR/DWA, DPR/DPA.

mod common;

use std::time::Duration;

use common::*;
use diameter_core::generated::base::DisconnectCause;
use diameter_node::peer::{PeerState, WatchdogState};
use diameter_node::{Limits, Node, NodeConfig, RequestError};

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn cer_ccr_dwr_dpr_between_two_nodes() {
    let (server, seen) = start_server(&[loopback()], Limits::default()).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();

    // CER/CEA: the client knows what the server advertised.
    let peers = client.peers();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].state, PeerState::IOpen);
    let caps = peers[0].capabilities.clone().unwrap();
    assert_eq!(caps.origin_host, "server.example.org");
    assert_eq!(caps.applications.common, vec![GY]);
    // The server admitted the client by realm pattern and sits in R-Open.
    let sp = server.peers();
    assert_eq!(
        (sp[0].name.as_str(), sp[0].state),
        ("client.example.org", PeerState::ROpen)
    );

    // CCR/CCA.
    let cca = client.send(ccr(&client, 0, None)).await.unwrap();
    assert!(!cca.is_request());
    assert_eq!(cca.result_code(), Some(2001));
    assert_eq!(
        cca.find(diameter_core::AvpKey::new(CC_REQUEST_NUMBER, 0))
            .unwrap()
            .data,
        [0, 0, 0, 0]
    );
    assert!(cca.session_id().unwrap().starts_with("client.example.org;"));
    assert_eq!(seen.get(), 1);
    for n in 1..50u32 {
        assert_eq!(
            client
                .send(ccr(&client, n, None))
                .await
                .unwrap()
                .result_code(),
            Some(2001)
        );
    }

    // DWR/DWA: idle for several Tw (300 ms); the watchdog stays OKAY on both sides.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(client.peers()[0].watchdog, WatchdogState::Okay);
    assert_eq!(server.peers()[0].watchdog, WatchdogState::Okay);
    assert!(client.peers()[0].ready);

    // DPR/DPA: the client shuts down gracefully; the server's dynamic peer goes away.
    client
        .shutdown_with(DisconnectCause::DO_NOT_WANT_TO_TALK_TO_YOU)
        .await;
    assert_eq!(client.peers()[0].state, PeerState::Closed);
    let gone = async {
        while !server.peers().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(2), gone)
        .await
        .unwrap();
    assert!(matches!(
        client.send(ccr(&client, 0, None)).await,
        Err(RequestError::NoPeer(4))
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn ipv6_and_several_listen_addresses() {
    let v6 = "[::1]:0".parse().unwrap();
    let (server, _) = start_server(&[loopback(), v6], Limits::default()).await;
    assert_eq!(server.local_addrs().len(), 2);
    for addr in server.local_addrs().to_vec() {
        let client = start_client(addr).await;
        client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
        let cca = client.send(ccr(&client, 1, None)).await.unwrap();
        assert_eq!(cca.result_code(), Some(2001));
        client.shutdown().await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn toml_configured_client() {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let text = format!(
        r#"
        origin_host = "toml.example.org"
        origin_realm = "example.org"

        [[peers]]
        uri = "aaa://server.example.org;transport=tcp"
        addresses = ["{}"]

        [[applications]]
        id = 4

        [timers]
        watchdog = "300ms"
        request_timeout = "2s"
        "#,
        server.local_addrs()[0]
    );
    let config = NodeConfig::from_toml(&text).unwrap();
    let client = Node::builder(config).start().await.unwrap();
    client
        .wait_for_application(GY, Duration::from_secs(3))
        .await
        .unwrap();
    let cca = client.send(ccr(&client, 7, None)).await.unwrap();
    assert_eq!(cca.result_code(), Some(2001));
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn wait_for_ready_times_out_without_peers() {
    let client = start_client("127.0.0.1:1".parse().unwrap()).await;
    assert!(
        client
            .wait_for_ready(Duration::from_millis(200))
            .await
            .is_err()
    );
    assert!(matches!(
        client.send(ccr(&client, 0, None)).await,
        Err(RequestError::NoPeer(4))
    ));
    client.abort();
}

#[tokio::test]
async fn handler_errors_and_panics_give_5012_and_the_node_keeps_serving() {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    let a = client.send(ccr(&client, 1, Some(2))).await.unwrap();
    assert_eq!(a.result_code(), Some(5012));
    let a = client.send(ccr(&client, 2, Some(3))).await.unwrap();
    assert_eq!(a.result_code(), Some(5012));
    let a = client.send(ccr(&client, 3, None)).await.unwrap();
    assert_eq!(a.result_code(), Some(2001));
    assert_eq!(server.stats().handler_failures, 2);
    client.shutdown().await;
    server.shutdown().await;
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn request_timeout_is_one_outcome() {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    let r = client
        .send_with_timeout(ccr(&client, 1, Some(1)), Duration::from_millis(200))
        .await;
    assert_eq!(r, Err(RequestError::Timeout));
    assert_eq!(client.stats().timeouts, 1);
    client.abort();
    server.abort();
}

#[tokio::test]
async fn typed_handler_and_typed_send() {
    use diameter_core::generated::TypedMessage;
    use diameter_core::generated::base::{
        SessionTerminationAnswer, SessionTerminationRequest, TerminationCause,
    };
    use diameter_node::{Answer, Application, HandlerError, Request};

    let app = Application::auth(GY).commands(&[275]).typed_handler(
        |req: Request, typed: TypedMessage| async move {
            let TypedMessage::BaseSessionTerminationRequest(str_) = typed else {
                return Err(HandlerError::UnsupportedCommand);
            };
            let sta = SessionTerminationAnswer {
                header: req.answer_header(),
                session_id: str_.session_id.clone(),
                result_code: 2001,
                origin_host: req.local().origin_host.as_str().into(),
                origin_realm: req.local().origin_realm.as_str().into(),
                ..Default::default()
            };
            Ok::<_, HandlerError>(Answer::typed(&sta))
        },
    );
    let server = Node::builder(server_config("server.example.org", &[loopback()]))
        .application(app)
        .start()
        .await
        .unwrap();
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    let mut str_ = SessionTerminationRequest {
        session_id: client.new_session_id().into(),
        origin_host: "client.example.org".into(),
        origin_realm: "example.org".into(),
        destination_realm: "example.org".into(),
        auth_application_id: GY,
        termination_cause: TerminationCause::DIAMETER_LOGOUT,
        ..Default::default()
    };
    str_.header.application_id = GY;
    let sta: SessionTerminationAnswer = client.request(str_.clone()).await.unwrap();
    assert_eq!(sta.result_code, 2001);
    assert_eq!(sta.session_id, str_.session_id);
    assert_eq!(sta.origin_host, "server.example.org");
    client.shutdown().await;
    server.shutdown().await;
}

/// Handlers that finish on their first poll are answered inline; the others run in their
/// own task and count towards the concurrency bound only until their answer is back: with
/// a bound of 2 and pairs of requests, half of them waiting once, none is refused 3004, and
/// every request gets its own answer.
#[tokio::test]
async fn inline_and_task_handlers_mix_and_release_the_bound() {
    use diameter_node::{Application, HandlerError, Request};

    let app = Application::auth(GY)
        .commands(&[CC])
        .handler(|req: Request| async move {
            let number = req
                .message()
                .get::<u32>(diameter_core::AvpKey::new(CC_REQUEST_NUMBER, 0))
                .and_then(Result::ok)
                .unwrap_or(0);
            if number % 2 == 1 {
                // Pending once: goes on in its own task.
                tokio::task::yield_now().await;
            }
            let mut a = req.answer(2001);
            if let Some(x) = req
                .message()
                .find(diameter_core::AvpKey::new(CC_REQUEST_NUMBER, 0))
            {
                a.raw_ref(&x);
            }
            Ok::<_, HandlerError>(a)
        });
    let limits = Limits {
        max_concurrent_handlers: 2,
        ..Limits::default()
    };
    let server = Node::builder(server_config("server.example.org", &[loopback()]).limits(limits))
        .application(app)
        .start()
        .await
        .unwrap();
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    for pair in 0..200u32 {
        let (a, b) = tokio::join!(
            client.send(ccr(&client, 2 * pair, None)),
            client.send(ccr(&client, 2 * pair + 1, None)),
        );
        for (answer, number) in [(a.unwrap(), 2 * pair), (b.unwrap(), 2 * pair + 1)] {
            assert_eq!(answer.result_code(), Some(2001), "request {number}");
            assert_eq!(
                answer
                    .get::<u32>(diameter_core::AvpKey::new(CC_REQUEST_NUMBER, 0))
                    .and_then(Result::ok),
                Some(number)
            );
        }
    }
    let stats = server.stats();
    assert_eq!((stats.too_busy, stats.answers_sent), (0, 400));
    client.shutdown().await;
    server.shutdown().await;
}

/// The node-wide bound (`max_node_handlers`, python-diameter's `max_threads`): with one
/// handler at a time and a queue of one, three slow requests at once get one running, one
/// waiting its turn (then answered 2001), and one 3004 DIAMETER_TOO_BUSY.
#[tokio::test]
async fn node_wide_bound_queues_then_refuses() {
    let limits = Limits {
        max_node_handlers: 1,
        max_queued_requests: 1,
        ..Limits::default()
    };
    let (server, _) = start_server(&[loopback()], limits).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    // Action 4: the handler takes 200 ms.
    let (a, b, c) = tokio::join!(
        client.send(ccr(&client, 1, Some(4))),
        client.send(ccr(&client, 2, Some(4))),
        client.send(ccr(&client, 3, Some(4))),
    );
    let mut codes: Vec<u32> = [a, b, c]
        .into_iter()
        .map(|r| r.unwrap().result_code().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, [2001, 2001, 3004]);
    assert_eq!(server.stats().too_busy, 1);
    client.shutdown().await;
    server.shutdown().await;
}
