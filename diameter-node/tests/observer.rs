//! The message and peer-state observer ([`diameter_node::observe`]) over real loopback TCP.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use diameter_core::Message;
use diameter_node::observe::{Direction, Observer};
use diameter_node::peer::{PeerState, WatchdogState};
use diameter_node::{Node, NodeConfig, PeerSpec};

/// A message as logged: peer, direction, command code, request.
type Logged = (String, Direction, u32, bool);

/// Every message and every state change.
#[derive(Clone, Default)]
struct Log {
    messages: Arc<Mutex<Vec<Logged>>>,
    states: Arc<Mutex<Vec<(String, PeerState)>>>,
}

impl Observer for Log {
    fn message(&self, peer: &str, direction: Direction, m: &Message) {
        self.messages
            .lock()
            .unwrap()
            .push((peer.to_owned(), direction, m.code(), m.is_request()));
    }

    fn peer_state(&self, peer: &str, state: PeerState, _watchdog: WatchdogState) {
        self.states.lock().unwrap().push((peer.to_owned(), state));
    }
}

/// A Gy client of `server`, told about everything by `observer`, once ready.
async fn observed_client(
    server: &diameter_node::NodeHandle,
    observer: impl Observer,
) -> diameter_node::NodeHandle {
    let config = NodeConfig::new("client.example.org", "example.org")
        .timers(timers())
        .application(diameter_node::peer::SupportedApplication::auth(GY))
        .peer(
            PeerSpec::new("aaa://server.example.org:3868;transport=tcp")
                .address(server.local_addrs()[0]),
        );
    let client = Node::builder(config)
        .observer(observer)
        .start()
        .await
        .unwrap();
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    client
}

impl Log {
    fn has(&self, peer: &str, direction: Direction, code: u32, request: bool) -> bool {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .any(|m| *m == (peer.to_owned(), direction, code, request))
    }
}

// Paused time: the timers run in virtual time, so the wait costs nothing (loopback I/O
// between the two nodes of this runtime is seen before the clock moves on).
#[tokio::test(start_paused = true)]
async fn observers_see_every_message_and_state_of_both_nodes() {
    let server_log = Log::default();
    let server = Node::builder(server_config("server.example.org", &[loopback()]))
        .application(gy_server_app(Seen::default()))
        .observer(server_log.clone())
        .start()
        .await
        .unwrap();
    let client_log = Log::default();
    let client = observed_client(&server, client_log.clone()).await;
    let cca = client.send(ccr(&client, 0, None)).await.unwrap();
    assert_eq!(cca.result_code(), Some(2001));
    // A watchdog exchange (Tw 300 ms), then DPR/DPA.
    tokio::time::sleep(Duration::from_millis(700)).await;
    client.shutdown().await;
    server.shutdown().await;

    let (s, c) = ("server.example.org", "client.example.org");
    use Direction::{Received, Sent};
    for (code, request) in [(257, true), (272, true), (282, true)] {
        assert!(client_log.has(s, Sent, code, request), "client sent {code}");
        assert!(
            server_log.has(c, Received, code, request),
            "server got {code}"
        );
    }
    for (code, request) in [(257, false), (272, false), (282, false)] {
        assert!(server_log.has(c, Sent, code, request), "server sent {code}");
        assert!(
            client_log.has(s, Received, code, request),
            "client got {code}"
        );
    }
    assert!(client_log.has(s, Sent, 280, true) || server_log.has(c, Sent, 280, true));
    let client_states = client_log.states.lock().unwrap().clone();
    for st in [PeerState::WaitConnAck, PeerState::IOpen, PeerState::Closed] {
        assert!(
            client_states.contains(&(s.to_owned(), st)),
            "{st:?} in {client_states:?}"
        );
    }
    let server_states = server_log.states.lock().unwrap().clone();
    assert!(server_states.contains(&(c.to_owned(), PeerState::ROpen)));
}

/// An answer that comes after its request timed out matches nothing: the observer's
/// `unmatched_answer` sees it (python-diameter's `handle_answer` for such answers).
#[tokio::test]
async fn a_late_answer_reaches_unmatched_answer() {
    #[derive(Clone, Default)]
    struct Late(Arc<Mutex<Vec<(String, u32)>>>);
    impl Observer for Late {
        fn unmatched_answer(&self, peer: &str, answer: &Message) {
            let hbh = answer.header().hop_by_hop;
            self.0.lock().unwrap().push((peer.to_owned(), hbh));
        }
    }
    let (server, _) = start_server(&[loopback()], diameter_node::Limits::default()).await;
    let late = Late::default();
    let client = observed_client(&server, late.clone()).await;
    // Action 4: the server answers after 200 ms; the client gives up after 50.
    let r = client
        .send_with_timeout(ccr(&client, 1, Some(4)), Duration::from_millis(50))
        .await;
    assert_eq!(r, Err(diameter_node::RequestError::Timeout));
    for _ in 0..50 {
        if !late.0.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = late.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "server.example.org");
    assert_eq!(client.stats().unknown_answers, 1);
    client.shutdown().await;
    server.shutdown().await;
}
