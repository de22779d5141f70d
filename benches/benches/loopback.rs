#![allow(missing_docs, unreachable_pub)]
//! Loopback CCR/CCA round trips between two nodes over one TCP connection, with 1, 16 and
//! 128 requests in flight, and in the same run the same with the crates.io `diameter` 0.7.1
//! client and server. Results are recorded in BENCHMARKS.md ("Node: loopback CCR/CCA round
//! trips").
//!
//! Run: `cargo bench -p diameter-bench --bench loopback`. Environment: `LOOPBACK_SECS`
//! (measured seconds per run, default 3), `LOOPBACK_WARMUP` (seconds, default 1),
//! `LOOPBACK_INFLIGHT` (comma separated, default `1,16,128`), `LOOPBACK_ROUNDS` (default 1;
//! with more, the stacks take turns in each round and, per number in flight, every stack's
//! figures come from the round where ours had its median rate), `LOOPBACK_ONLY` (`ours` or
//! `diameter`), `LOOPBACK_TYPED=1` (adds a row for ours with the client encoding the typed
//! CCR for every request), `LOOPBACK_RELAY=1` (adds a row for ours with a relay agent on
//! a third thread between client and server: the relay path against the direct one, in
//! the same run; its CPU figure is the whole process's, the relay included).
//!
//! Set-up, the same for both stacks: the server and the client each run on their own
//! single-threaded tokio runtime on their own OS thread (one core each on a 2-core
//! machine). The request is the Gy CCR-I of shared/bench (528 bytes, 25 AVPs) with a
//! unique Session-Id per request. Our client stamps it from a template (the encoded AVPs
//! after the Session-Id, as `diameter bench` does); `diameter` 0.7.1 has no way to reuse
//! an encoded message, so its client builds its `DiameterMessage` for every request. The
//! server's handler answers CCA 2001 with Session-Id, Result-Code, Origin-Host/Realm,
//! Auth-Application-Id, CC-Request-Type and CC-Request-Number; the client checks the
//! Result-Code of each answer. Ours goes through the whole node: CER/CEA first,
//! `NodeHandle::send` from N client tasks (one request in flight each), the server's
//! decode, §7 validation and the application handler path. The 0.7.1 client keeps N
//! response futures and waits for the oldest (its server answers in order).
//!
//! Measured over the window after the warm-up: round trips per second (wall clock), CPU
//! time of the process (utime + stime from /proc/self/stat; the client and server threads
//! separately from their schedstat) per round trip, how often each thread went to sleep
//! per round trip, and the latency of each request (from just before it is handed to the
//! client API to its answer) in an HDR histogram.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use diameter_core::generated::base;
use diameter_core::generated::credit_control::{
    CcRequestType, MultipleServicesCreditControl, RequestedServiceUnit, SubscriptionId,
    SubscriptionIdType,
};
use diameter_core::generated::ts29061::TgppPdpType;
use diameter_core::generated::ts32299::{CreditControlRequest, PsInformation, ServiceInformation};
use diameter_core::lazy::Lazy;
use diameter_core::typed::Command;
use diameter_core::{
    Address, AvpKey, DiameterIdentity, Header, Message, MessageBuilder, Utf8String,
};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::routing::{RouteAction, RouteSpec};
use diameter_node::{Application, HandlerError, Node, NodeConfig, PeerSpec, Request};
use hdrhistogram::Histogram;

const GY: u32 = 4;
const CCR: u32 = 272;

// ----- measurement -----

/// What one run measured.
#[derive(Clone, Debug, Default)]
struct Outcome {
    round_trips: u64,
    secs: f64,
    /// Process CPU seconds (utime + stime) over the window.
    cpu: f64,
    /// CPU seconds of the client's and the server's runtime threads.
    cpu_client: f64,
    cpu_server: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    /// Voluntary context switches (the thread went to sleep) of the client's and the
    /// server's threads over the window.
    client_sleeps: u64,
    server_sleeps: u64,
    /// Round trips from the start to the end of the run (for external counters such as
    /// `perf stat`).
    total: u64,
}

/// How often a thread went to sleep so far (/proc/<tid>/status).
fn sleeps(task: &str) -> u64 {
    std::fs::read_to_string(format!("{task}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.round_trips as f64 / self.secs
    }
    fn cpu_us(&self) -> f64 {
        self.cpu * 1e6 / self.round_trips as f64
    }
    fn client_us(&self) -> f64 {
        self.cpu_client * 1e6 / self.round_trips as f64
    }
    fn server_us(&self) -> f64 {
        self.cpu_server * 1e6 / self.round_trips as f64
    }
}

/// Counters shared by the client tasks and the coordinator.
#[derive(Default)]
struct Shared {
    done: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
}

thread_local! {
    /// The latencies of one client thread, shared by its tasks (they all run on it): one
    /// histogram stays in cache, where one per task (128 of 200 KB) evicted everything
    /// and cost our side about 0.15 µs per round trip that the 0.7.1 client, with its one
    /// histogram, did not pay.
    static LATENCY: std::cell::RefCell<Histogram<u64>> = std::cell::RefCell::new(new_histogram());
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

/// utime + stime of the whole process, in seconds.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state (field 3).
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks as f64 / 100.0
}

/// The /proc directory of the calling thread.
fn thread_dir() -> String {
    let link = std::fs::read_link("/proc/thread-self").unwrap_or_default();
    format!("/proc/{}", link.display())
}

/// CPU time of a thread (schedstat, first field, in ns).
fn thread_cpu(task: &str) -> f64 {
    std::fs::read_to_string(format!("{task}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0) as f64
        / 1e9
}

/// Runs the coordinator's part of one measurement: warm up, measure, stop. Returns the
/// outcome without the latencies (filled by the caller).
fn measure(
    shared: &Shared,
    client: &str,
    server: &str,
    warmup: Duration,
    secs: Duration,
) -> Outcome {
    std::thread::sleep(warmup);
    let (cs0, ss0) = (sleeps(client), sleeps(server));
    let (n0, p0, c0, s0, t0) = (
        shared.done.load(Ordering::Relaxed),
        process_cpu(),
        thread_cpu(client),
        thread_cpu(server),
        Instant::now(),
    );
    shared.measuring.store(true, Ordering::Relaxed);
    std::thread::sleep(secs);
    shared.measuring.store(false, Ordering::Relaxed);
    let (n1, p1, c1, s1, t1) = (
        shared.done.load(Ordering::Relaxed),
        process_cpu(),
        thread_cpu(client),
        thread_cpu(server),
        Instant::now(),
    );
    let (cs1, ss1) = (sleeps(client), sleeps(server));
    shared.stop.store(true, Ordering::Relaxed);
    Outcome {
        round_trips: n1 - n0,
        secs: (t1 - t0).as_secs_f64(),
        cpu: p1 - p0,
        cpu_client: c1 - c0,
        cpu_server: s1 - s0,
        client_sleeps: cs1 - cs0,
        server_sleeps: ss1 - ss0,
        ..Outcome::default()
    }
}

fn fill_latency(o: &mut Outcome, h: &Histogram<u64>) {
    o.p50_us = h.value_at_quantile(0.50) as f64 / 1e3;
    o.p99_us = h.value_at_quantile(0.99) as f64 / 1e3;
    o.p999_us = h.value_at_quantile(0.999) as f64 / 1e3;
}

/// Starts a thread with a single-threaded runtime running `f`; returns its /proc directory
/// once it runs, and its join handle.
fn runtime_thread<T, F, Fut>(name: &str, f: F) -> (String, std::thread::JoinHandle<T>)
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    let (tx, rx) = mpsc::channel();
    let h = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(thread_dir());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(f())
        })
        .expect("thread");
    (rx.recv().expect("thread starts"), h)
}

// ----- ours -----

fn s(v: &'static str) -> Utf8String {
    Utf8String(ByteString::from_static(v))
}

fn id(v: &'static str) -> DiameterIdentity {
    DiameterIdentity(ByteString::from_static(v))
}

/// The CCR-I of shared/bench as a typed message (Session-Id and number set per request).
fn ccr_template() -> CreditControlRequest {
    CreditControlRequest {
        session_id: s("pgw01.epc.mnc001.mcc262.3gppnetwork.org;1700000000;42;gy-0000000001"),
        origin_host: id("pgw01.epc.mnc001.mcc262.3gppnetwork.org"),
        origin_realm: id("epc.mnc001.mcc262.3gppnetwork.org"),
        destination_realm: id("ocs.mnc001.mcc262.3gppnetwork.org"),
        auth_application_id: GY,
        service_context_id: s("32251@3gpp.org"),
        cc_request_type: CcRequestType::INITIAL_REQUEST,
        cc_request_number: 0,
        subscription_id: vec![
            SubscriptionId {
                subscription_id_type: SubscriptionIdType::END_USER_E164,
                subscription_id_data: s("491701234567"),
                ..Default::default()
            },
            SubscriptionId {
                subscription_id_type: SubscriptionIdType::END_USER_IMSI,
                subscription_id_data: s("262011234567890"),
                ..Default::default()
            },
        ],
        multiple_services_credit_control: vec![MultipleServicesCreditControl {
            requested_service_unit: Some(Lazy::new(RequestedServiceUnit {
                cc_total_octets: Some(10_485_760),
                ..Default::default()
            })),
            rating_group: Some(100),
            service_identifier: vec![1],
            ..Default::default()
        }],
        service_information: Some(Lazy::new(ServiceInformation {
            ps_information: Some(Lazy::new(PsInformation {
                tgpp_charging_id: Some(Bytes::from_static(&[0x0a, 0x1b, 0x2c, 0x3d])),
                tgpp_pdp_type: Some(TgppPdpType(0)),
                sgsn_address: vec![Address::V4([192, 0, 2, 10].into())],
                tgpp_imsi_mcc_mnc: Some(s("26201")),
                ..Default::default()
            })),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The server's Gy application: CCA 2001 through the ordinary handler path.
fn gy_app() -> Application {
    Application::auth(GY)
        .commands(&[CCR])
        .handler(|req: Request| async move {
            let msg = req.message();
            let mut a = req.answer(2001);
            for code in [416, 415] {
                if let Some(x) = msg.find(AvpKey::new(code, 0)) {
                    a.raw_ref(&x);
                }
            }
            Ok::<_, HandlerError>(a)
        })
}

/// The request cut around its Session-Id, to stamp out copies with new Session-Ids (as
/// `diameter bench` does): a builder, the Session-Id, the rest of the AVPs as bytes.
struct Template {
    header: Header,
    /// Every AVP after the Session-Id, encoded.
    rest: Bytes,
}

impl Template {
    fn new(request: &Message) -> Self {
        let mut rest = BytesMut::new();
        for avp in request.avps().flatten() {
            if avp.key() != base::avp::SESSION_ID {
                avp.to_raw().encode(&mut rest);
            }
        }
        Self {
            header: *request.header(),
            rest: rest.freeze(),
        }
    }

    fn with_session_id(&self, session_id: &str) -> Message {
        // The Session-Id AVP (code 263, M bit) written in place.
        let len = 8 + session_id.len();
        let mut b = MessageBuilder::with_capacity(self.header, 20 + len + 3 + self.rest.len());
        let mut h = [0u8; 8];
        h[..4].copy_from_slice(&263u32.to_be_bytes());
        h[4] = 0x40;
        h[5..].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
        b.extend_raw(&h).extend_raw(session_id.as_bytes());
        b.extend_raw(&[0u8; 3][..(4 - len % 4) % 4]);
        b.extend_raw(&self.rest);
        b.build()
    }
}

/// `typed`: the client encodes the typed CCR for every request instead of stamping the
/// template. `relay`: the client's peer is a relay agent (a node on a third thread with
/// one relay route to the server, RFC 6733 §2.8.1) instead of the server.
fn run_ours(
    in_flight: usize,
    typed: bool,
    relay: bool,
    warmup: Duration,
    secs: Duration,
) -> Outcome {
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (server_stat, server) = runtime_thread("server", move || async move {
        // The realm the CCR's Destination-Realm names: a node without routes answers
        // 3003 to requests for another realm (RFC 6733 §6.1.4).
        let mut config = NodeConfig::new("ocs.example.org", "ocs.mnc001.mcc262.3gppnetwork.org");
        config.listen = vec!["127.0.0.1:0".parse().unwrap()];
        config.accept_unknown_peers.push("*.example.org".into());
        let node = Node::builder(config)
            .application(gy_app())
            .start()
            .await
            .expect("server starts");
        addr_tx.send(node.local_addrs()[0]).unwrap();
        let _ = stop_rx.await;
        node.shutdown().await;
    });
    let mut addr = addr_rx.recv().expect("server address");
    let (relay_stop_tx, relay_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay_thread = relay.then(|| {
        let (relay_tx, relay_rx) = mpsc::channel::<SocketAddr>();
        let (_, t) = runtime_thread("relay", move || async move {
            let mut config = NodeConfig::new("dra.example.org", "example.org")
                .relay(true)
                .peer(PeerSpec::new("aaa://ocs.example.org").address(addr))
                .route(
                    RouteSpec::new("ocs.mnc001.mcc262.3gppnetwork.org", RouteAction::Relay)
                        .peer("ocs.example.org"),
                );
            config.listen = vec!["127.0.0.1:0".parse().unwrap()];
            config.accept_unknown_peers.push("*.example.org".into());
            let node = Node::builder(config).start().await.expect("relay starts");
            node.wait_for_ready(Duration::from_secs(5))
                .await
                .expect("relay to server");
            relay_tx.send(node.local_addrs()[0]).unwrap();
            let _ = relay_stop_rx.await;
            node.shutdown().await;
        });
        addr = relay_rx.recv().expect("relay address");
        t
    });
    let peer_uri = if relay {
        "aaa://dra.example.org:3868;transport=tcp"
    } else {
        "aaa://ocs.example.org:3868;transport=tcp"
    };
    let shared = Arc::new(Shared::default());
    let sh = shared.clone();
    let (client_stat, client) = runtime_thread("client", move || async move {
        let config = NodeConfig::new("pgw01.example.org", "example.org")
            .application(SupportedApplication::auth(GY))
            .peer(PeerSpec::new(peer_uri).address(addr));
        let node = Node::builder(config).start().await.expect("client starts");
        node.wait_for_ready(Duration::from_secs(5))
            .await
            .expect("CER/CEA");
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..in_flight {
            let node = node.clone();
            let sh = sh.clone();
            tasks.spawn(async move {
                let mut ccr = ccr_template();
                let template = Template::new(&ccr.to_message());
                while !sh.stop.load(Ordering::Relaxed) {
                    let request = if typed {
                        ccr.session_id = Utf8String::from(node.new_session_id());
                        ccr.to_message()
                    } else {
                        template.with_session_id(&node.new_session_id())
                    };
                    let t0 = Instant::now();
                    let answer = node.send(request).await.expect("answer");
                    let dt = t0.elapsed();
                    assert_eq!(answer.result_code(), Some(2001));
                    sh.done.fetch_add(1, Ordering::Relaxed);
                    if sh.measuring.load(Ordering::Relaxed) {
                        LATENCY.with_borrow_mut(|h| h.record(dt.as_nanos() as u64).ok());
                    }
                }
            });
        }
        while let Some(t) = tasks.join_next().await {
            t.expect("client task");
        }
        node.shutdown().await;
        LATENCY.replace(new_histogram())
    });
    let mut o = measure(&shared, &client_stat, &server_stat, warmup, secs);
    let hist = client.join().expect("client thread");
    let _ = relay_stop_tx.send(());
    if let Some(t) = relay_thread {
        t.join().expect("relay thread");
    }
    let _ = stop_tx.send(());
    server.join().expect("server thread");
    fill_latency(&mut o, &hist);
    o.total = shared.done.load(Ordering::Relaxed);
    o
}

// ----- diameter 0.7.1 -----

mod baseline {
    //! The same with the crates.io `diameter` 0.7.1: `DiameterServer::listen` with a handler,
    //! `DiameterClient::send_message` and its response futures.
    use super::*;
    use diameter::avp::{
        AvpValue, address::Address as A, enumerated::Enumerated, group::Grouped,
        identity::Identity, octetstring::OctetString, unsigned32::Unsigned32,
        unsigned64::Unsigned64, utf8string::UTF8String,
    };
    use diameter::dictionary::{self, Dictionary};
    use diameter::transport::{
        DiameterClient, DiameterClientConfig, DiameterServer, DiameterServerConfig,
    };
    use diameter::{ApplicationId, CommandCode, DiameterMessage};

    /// Its default dictionary plus the four PS-Information members it lacks (it refuses a
    /// message with AVPs it does not know).
    pub(super) fn dict() -> Arc<Dictionary> {
        const EXTRA: &str = r#"<diameter><application id="4" type="auth" name="Gy bench">
            <avp name="3GPP-Charging-Id" code="2" must="V" vendor-id="10415"><data type="OctetString"/></avp>
            <avp name="3GPP-PDP-Type" code="3" must="V" vendor-id="10415"><data type="Enumerated"/></avp>
            <avp name="SGSN-Address" code="1228" must="V,M" vendor-id="10415"><data type="Address"/></avp>
            <avp name="3GPP-IMSI-MCC-MNC" code="8" must="V" vendor-id="10415"><data type="UTF8String"/></avp>
        </application></diameter>"#;
        Arc::new(Dictionary::new(&[&dictionary::DEFAULT_DICT_XML, EXTRA]))
    }

    /// The same CCR-I as ours, with this Session-Id.
    fn ccr(d: &Arc<Dictionary>, hbh: u32, session_id: &str) -> DiameterMessage {
        let mut m = DiameterMessage::new(
            CommandCode::CreditControl,
            ApplicationId::CreditControl,
            0xc0,
            hbh,
            hbh,
            Arc::clone(d),
        );
        let u = |v: &str| AvpValue::UTF8String(UTF8String::new(v));
        let i = |v: &str| AvpValue::Identity(Identity::new(v));
        m.add_avp(263, None, 0x40, u(session_id));
        m.add_avp(
            264,
            None,
            0x40,
            i("pgw01.epc.mnc001.mcc262.3gppnetwork.org"),
        );
        m.add_avp(296, None, 0x40, i("epc.mnc001.mcc262.3gppnetwork.org"));
        m.add_avp(283, None, 0x40, i("ocs.mnc001.mcc262.3gppnetwork.org"));
        m.add_avp(258, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(4)));
        m.add_avp(461, None, 0x40, u("32251@3gpp.org"));
        m.add_avp(416, None, 0x40, AvpValue::Enumerated(Enumerated::new(1)));
        m.add_avp(415, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(0)));
        for (t, v) in [(0, "491701234567"), (1, "262011234567890")] {
            let mut g = Grouped::new(vec![], Arc::clone(d));
            g.add_avp(450, None, 0x40, AvpValue::Enumerated(Enumerated::new(t)));
            g.add_avp(444, None, 0x40, u(v));
            m.add_avp(443, None, 0x40, AvpValue::Grouped(g));
        }
        let mut rsu = Grouped::new(vec![], Arc::clone(d));
        rsu.add_avp(
            421,
            None,
            0x40,
            AvpValue::Unsigned64(Unsigned64::new(10_485_760)),
        );
        let mut mscc = Grouped::new(vec![], Arc::clone(d));
        mscc.add_avp(437, None, 0x40, AvpValue::Grouped(rsu));
        mscc.add_avp(432, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(100)));
        mscc.add_avp(439, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(1)));
        m.add_avp(456, None, 0x40, AvpValue::Grouped(mscc));
        let mut ps = Grouped::new(vec![], Arc::clone(d));
        ps.add_avp(
            2,
            Some(10415),
            0x80,
            AvpValue::OctetString(OctetString::new(vec![0x0a, 0x1b, 0x2c, 0x3d])),
        );
        ps.add_avp(
            3,
            Some(10415),
            0x80,
            AvpValue::Enumerated(Enumerated::new(0)),
        );
        ps.add_avp(
            1228,
            Some(10415),
            0xc0,
            AvpValue::Address(A::from_ipv4([192, 0, 2, 10].into())),
        );
        ps.add_avp(8, Some(10415), 0x80, u("26201"));
        let mut si = Grouped::new(vec![], Arc::clone(d));
        si.add_avp(874, Some(10415), 0xc0, AvpValue::Grouped(ps));
        m.add_avp(873, Some(10415), 0xc0, AvpValue::Grouped(si));
        m
    }

    /// The CCA 2001 the server's handler builds.
    fn cca(req: &DiameterMessage, d: &Arc<Dictionary>) -> DiameterMessage {
        let mut res = DiameterMessage::new(
            req.get_command_code(),
            req.get_application_id(),
            req.get_flags() & !0x80,
            req.get_hop_by_hop_id(),
            req.get_end_to_end_id(),
            Arc::clone(d),
        );
        if let Some(a) = req.get_avp(263) {
            res.add(a.clone());
        }
        res.add_avp(268, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(2001)));
        res.add_avp(
            264,
            None,
            0x40,
            AvpValue::Identity(Identity::new("ocs.example.org")),
        );
        res.add_avp(
            296,
            None,
            0x40,
            AvpValue::Identity(Identity::new("example.org")),
        );
        res.add_avp(258, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(4)));
        for code in [416, 415] {
            if let Some(a) = req.get_avp(code) {
                res.add(a.clone());
            }
        }
        res
    }

    /// Builds and sends one CCR; returns when it is written, with its response future.
    async fn send(
        client: &mut DiameterClient,
        d: &Arc<Dictionary>,
        n: u32,
    ) -> (Instant, diameter::transport::client::ResponseFuture) {
        let hbh = client.get_next_seq_num();
        let sid = format!("pgw01.example.org;1700000000;{n}");
        let request = ccr(d, hbh, &sid);
        let t0 = Instant::now();
        let f = client.send_message(request).await.expect("sent");
        (t0, f)
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    }

    pub(super) fn run(in_flight: usize, warmup: Duration, secs: Duration) -> Outcome {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let (up_tx, up_rx) = mpsc::channel::<()>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server_addr = addr.clone();
        let (server_stat, server) = runtime_thread("server-071", move || async move {
            let d = dict();
            let mut server =
                DiameterServer::new(&server_addr, DiameterServerConfig { native_tls: None })
                    .await
                    .expect("diameter 0.7.1 server binds");
            up_tx.send(()).unwrap();
            let hd = Arc::clone(&d);
            let handler = move |req: DiameterMessage| {
                let d = Arc::clone(&hd);
                async move { Ok(cca(&req, &d)) }
            };
            tokio::select! {
                _ = server.listen(handler, d) => {}
                _ = stop_rx => {}
            }
        });
        up_rx.recv().expect("server up");
        let shared = Arc::new(Shared::default());
        let sh = shared.clone();
        let (client_stat, client) = runtime_thread("client-071", move || async move {
            let d = dict();
            let mut client = DiameterClient::new(
                &addr,
                DiameterClientConfig {
                    use_tls: false,
                    verify_cert: false,
                },
            );
            let mut handler = client.connect().await.expect("diameter 0.7.1 connects");
            let hd = Arc::clone(&d);
            let reader = tokio::spawn(async move {
                DiameterClient::handle(&mut handler, hd).await;
            });
            let mut hist = new_histogram();
            let mut queue = VecDeque::with_capacity(in_flight);
            let mut n = 0u32;
            for _ in 0..in_flight {
                queue.push_back(send(&mut client, &d, n).await);
                n = n.wrapping_add(1);
            }
            // Its server answers the requests of a connection one after the other, so the
            // answers come back in order: wait for the oldest, then send the next.
            while let Some((t0, f)) = queue.pop_front() {
                let answer = f.await.expect("answer");
                let dt = t0.elapsed();
                assert_eq!(
                    answer.get_avp(268).and_then(|a| a.get_unsigned32()),
                    Some(2001)
                );
                sh.done.fetch_add(1, Ordering::Relaxed);
                if sh.measuring.load(Ordering::Relaxed) {
                    let _ = hist.record(dt.as_nanos() as u64);
                }
                if !sh.stop.load(Ordering::Relaxed) {
                    queue.push_back(send(&mut client, &d, n).await);
                    n = n.wrapping_add(1);
                }
            }
            reader.abort();
            hist
        });
        let mut o = measure(&shared, &client_stat, &server_stat, warmup, secs);
        let hist = client.join().expect("client thread");
        let _ = stop_tx.send(());
        server.join().expect("server thread");
        fill_latency(&mut o, &hist);
        o.total = shared.done.load(Ordering::Relaxed);
        o
    }
}

// ----- report -----

fn env_secs(name: &str, default: f64) -> Duration {
    Duration::from_secs_f64(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// The round whose first stack (ours) had the median rate: every stack's figures are
/// reported from that same round, so that each comparison stays within one round even
/// when the machine's load changes between rounds.
fn median_round(rounds: &[Vec<Outcome>]) -> usize {
    let mut order: Vec<usize> = (0..rounds.len()).collect();
    order.sort_by(|&a, &b| rounds[a][0].rate().total_cmp(&rounds[b][0].rate()));
    order[order.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let secs = env_secs("LOOPBACK_SECS", 3.0);
    let warmup = env_secs("LOOPBACK_WARMUP", 1.0);
    let rounds: usize = std::env::var("LOOPBACK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let in_flight: Vec<usize> = std::env::var("LOOPBACK_INFLIGHT")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16, 128]);
    // Which stacks: ours (template requests), ours with a typed CCR encoded per request
    // (LOOPBACK_TYPED=1), diameter 0.7.1; LOOPBACK_ONLY=ours or diameter narrows it.
    let only = std::env::var("LOOPBACK_ONLY").unwrap_or_default();
    let typed = std::env::var("LOOPBACK_TYPED").is_ok_and(|v| v == "1");
    let relay = std::env::var("LOOPBACK_RELAY").is_ok_and(|v| v == "1");
    type Run = fn(usize, Duration, Duration) -> Outcome;
    let mut stacks: Vec<(&str, Run)> = Vec::new();
    if only != "diameter" {
        stacks.push(("ours", |n, w, s| run_ours(n, false, false, w, s)));
        if typed {
            stacks.push(("ours, typed CCR", |n, w, s| run_ours(n, true, false, w, s)));
        }
        if relay {
            stacks.push(("ours via relay", |n, w, s| run_ours(n, false, true, w, s)));
        }
    }
    if only != "ours" {
        stacks.push(("diameter 0.7.1", baseline::run));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "loopback CCR/CCA: {} s warm-up, {} s measured, {} round(s), load average before: {}",
        warmup.as_secs_f64(),
        secs.as_secs_f64(),
        rounds,
        load.trim()
    );
    // rows[n][stack]: the median round (see `median_round`).
    let mut rows: Vec<(usize, Vec<Outcome>)> = Vec::new();
    for &n in &in_flight {
        let mut runs: Vec<Vec<Outcome>> = Vec::new();
        for _ in 0..rounds {
            // The stacks take turns within each round, so that a change in the machine's
            // load hits them alike.
            let mut round = Vec::new();
            for (name, run) in &stacks {
                let o = run(n, warmup, secs);
                print_one(name, n, &o);
                round.push(o);
            }
            runs.push(round);
        }
        let m = median_round(&runs);
        rows.push((n, runs.swap_remove(m)));
    }
    println!();
    println!(
        "| in flight | stack           | round trips/s | CPU-µs/rt (client + server) | p50 µs | p99 µs | p99.9 µs |"
    );
    println!(
        "|----------:|-----------------|--------------:|-----------------------------|-------:|-------:|---------:|"
    );
    for (n, outcomes) in &rows {
        for ((name, _), o) in stacks.iter().zip(outcomes) {
            println!(
                "| {n:>9} | {name:<15} | {:>13.0} | {:>5.2} ({:.2} + {:.2}) | {:>6.1} | {:>6.1} | {:>8.1} |",
                o.rate(),
                o.cpu_us(),
                o.client_us(),
                o.server_us(),
                o.p50_us,
                o.p99_us,
                o.p999_us
            );
        }
    }
    println!();
    let base = stacks
        .iter()
        .position(|(name, _)| *name == "diameter 0.7.1");
    for (n, outcomes) in &rows {
        let Some(b) = base.map(|i| &outcomes[i]) else {
            continue;
        };
        for ((name, _), a) in stacks.iter().zip(outcomes) {
            if *name != "diameter 0.7.1" {
                println!(
                    "{n:>4} in flight: {name} / diameter 0.7.1 = {:.2}x round trips/s, {:.2}x less CPU per round trip",
                    a.rate() / b.rate(),
                    b.cpu_us() / a.cpu_us()
                );
            }
        }
    }
}

fn print_one(name: &str, n: usize, o: &Outcome) {
    println!(
        "{name:>16} {n:>4} in flight: {:>9.0} rt/s  {:.2} CPU-µs/rt ({:.2} client + {:.2} server)  p50 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  sleeps/rt {:.3} + {:.3}  ({} round trips in all)",
        o.rate(),
        o.cpu_us(),
        o.client_us(),
        o.server_us(),
        o.p50_us,
        o.p99_us,
        o.p999_us,
        o.client_sleeps as f64 / o.round_trips.max(1) as f64,
        o.server_sleeps as f64 / o.round_trips.max(1) as f64,
        o.total,
    );
}
