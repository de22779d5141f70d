//! `diameter demo`: the main job end to end on this machine. A server node and a client
//! node on 127.0.0.1 (an ephemeral port), over real TCP: CER/CEA, a Gy CCR-I asking for
//! units in a Multiple-Services-Credit-Control and its CCA granting them, one DWR/DWA
//! (the client's watchdog Tw is short), DPR/DPA. Every message is printed, decoded, as
//! the node that receives it sees it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use diameter_core::generated::base::DisconnectCause;
use diameter_core::generated::credit_control::avp as cc;
use diameter_core::{Message, dump};
use diameter_node::observe::{Direction, Observer};
use diameter_node::peer::{PeerState, WatchdogState};
use diameter_node::{Application, Node, NodeConfig, PeerSpec, Timers};
use tokio::sync::Notify;

use crate::requests::{self, Fill};
use crate::{net, serve};

const SERVER: (&str, &str) = ("server.example.org", "example.org");
const CLIENT: (&str, &str) = ("client.example.org", "example.org");
const GY: u32 = 4;

/// Arguments of `diameter demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The client's watchdog timer Tw, in seconds (one DWR/DWA happens after it).
    #[arg(long, value_name = "S", default_value = "1", value_parser = net::parse_seconds)]
    watchdog: Duration,
}

/// What both nodes' observers share.
struct Shared {
    start: Instant,
    count: AtomicU64,
    /// An answer with another Result-Code than 2001 was seen.
    failed: AtomicBool,
    /// The client received a DWA.
    dwa: Notify,
    /// The client's peer is open (its state line is printed).
    open: Notify,
}

/// Prints each message its node receives.
struct Printer {
    node: &'static str,
    shared: Arc<Shared>,
}

impl Observer for Printer {
    fn message(&self, peer: &str, direction: Direction, message: &Message) {
        if direction != Direction::Received {
            return;
        }
        let s = &self.shared;
        let n = s.count.fetch_add(1, Ordering::Relaxed) + 1;
        if !message.is_request() && message.result_code().is_some_and(|c| c != 2001) {
            s.failed.store(true, Ordering::Relaxed);
        }
        let mut block = format!(
            "\n[{n}] +{:.3}s  {peer} -> {}  {}\n",
            s.start.elapsed().as_secs_f64(),
            self.node,
            serve::short_name(message)
        );
        for line in dump::text(message).lines() {
            let _ = writeln!(block, "    {line}");
        }
        let _ = std::io::stdout().lock().write_all(block.as_bytes());
        if self.node == CLIENT.0 && message.code() == 280 && !message.is_request() {
            s.dwa.notify_one();
        }
    }

    fn peer_state(&self, peer: &str, state: PeerState, _watchdog: WatchdogState) {
        if state.is_open() || state == PeerState::Closed {
            say(&format!(
                "    ({}: peer {peer} is {state})",
                self.node.split('.').next().unwrap_or(self.node)
            ));
        }
        if state.is_open() && self.node == CLIENT.0 {
            self.shared.open.notify_one();
        }
    }
}

fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Runs `diameter demo`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let rt = net::runtime()?;
    rt.block_on(demo(args))
}

async fn demo(args: Args) -> Result<ExitCode> {
    let shared = Arc::new(Shared {
        start: Instant::now(),
        count: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        dwa: Notify::new(),
        open: Notify::new(),
    });
    let server_config = NodeConfig::new(SERVER.0, SERVER.1)
        .listen(([127, 0, 0, 1], 0).into())
        .accept_unknown_peers(CLIENT.1);
    let server = serve::server(server_config, &[net::supported_application(GY)])
        .observer(Printer {
            node: SERVER.0,
            shared: shared.clone(),
        })
        .start()
        .await
        .context("starting the server node")?;
    let addr = server.local_addrs()[0];
    say(&format!(
        "diameter demo: two nodes over loopback TCP, every message printed as received.\n  \
         server {} (realm {}) listens on {addr} and answers Gy (application 4) requests\n  \
         client {} (realm {}) connects to it; its watchdog Tw is {:?}",
        SERVER.0, SERVER.1, CLIENT.0, CLIENT.1, args.watchdog
    ));

    say("\n== capabilities exchange (RFC 6733 §5.3): CER/CEA");
    let client_config = NodeConfig::new(CLIENT.0, CLIENT.1)
        .peer(PeerSpec::new(net::peer_uri(SERVER.0, addr)).address(addr))
        .timers(Timers {
            watchdog: args.watchdog,
            watchdog_jitter: Duration::from_millis(100),
            ..Timers::default()
        });
    let client = Node::builder(client_config)
        .application(Application::new(net::supported_application(GY)))
        .observer(Printer {
            node: CLIENT.0,
            shared: shared.clone(),
        })
        .start()
        .await
        .context("starting the client node")?;
    let ready = async {
        client
            .wait_for_application(GY, Duration::from_secs(5))
            .await
            .ok()?;
        // Its state line printed before the next step's heading.
        tokio::time::timeout(Duration::from_secs(1), shared.open.notified())
            .await
            .ok()
    };
    if ready.await.is_none() {
        client.abort();
        server.abort();
        bail!("the client did not connect to the server within 5 s");
    }

    say("\n== credit control (3GPP TS 32.299 Gy): CCR-I asking for units, CCA granting them");
    let ccr = dump::from_json(&requests::default_ccr()).context("the default CCR")?;
    let fill = Fill {
        origin_host: CLIENT.0,
        origin_realm: CLIENT.1,
        destination_realm: SERVER.1,
        destination_host: None,
        application_id: None,
    };
    let ccr = requests::fill(&ccr, &fill, &client.new_session_id());
    let cca = client
        .send_with_timeout(ccr, Duration::from_secs(5))
        .await
        .context("the CCR got no answer")?;
    let granted = cca
        .find_path(&[
            cc::MULTIPLE_SERVICES_CREDIT_CONTROL,
            cc::GRANTED_SERVICE_UNIT,
            cc::CC_TOTAL_OCTETS,
        ])
        .and_then(|a| <[u8; 8]>::try_from(a.data).ok())
        .map(u64::from_be_bytes);
    say(&format!(
        "    (client: CCA Result-Code {}, granted {} octets)",
        cca.result_code()
            .map_or_else(|| "missing".into(), |c| c.to_string()),
        granted.map_or_else(|| "no".into(), |g| g.to_string())
    ));

    say(&format!(
        "\n== watchdog (RFC 3539): the connection is idle for Tw ({:?}), so the client sends \
         DWR",
        args.watchdog
    ));
    let wait = args.watchdog * 2 + Duration::from_secs(2);
    if tokio::time::timeout(wait, shared.dwa.notified())
        .await
        .is_err()
    {
        client.abort();
        server.abort();
        bail!("no DWR/DWA within {wait:?}");
    }

    say("\n== disconnect (RFC 6733 §5.4): the client sends DPR, the server answers DPA");
    client.shutdown_with(DisconnectCause::REBOOTING).await;
    // The server's peer for the client goes away with the connection.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !server.peers().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await;

    let n = shared.count.load(Ordering::Relaxed);
    let ok = !shared.failed.load(Ordering::Relaxed) && cca.result_code() == Some(2001);
    say(&format!(
        "\ndiameter demo: {n} messages in {:.2} s; {}",
        shared.start.elapsed().as_secs_f64(),
        if ok {
            "every answer was 2001 DIAMETER_SUCCESS"
        } else {
            "an answer was not 2001"
        }
    ));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
