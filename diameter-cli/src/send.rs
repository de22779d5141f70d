//! `diameter send`: connect to one peer, CER/CEA, send one request (the default Gy CCR-I
//! or one in `decode`'s JSON shape), print the answer, DPR/DPA.
//!
//! Exit status: 0 when an answer arrived (whatever its Result-Code), 2 when the connection
//! or the capabilities exchange failed (or the peer went away before answering), 3 when no
//! answer came within `--timeout`, 1 for anything else (bad arguments or input).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use diameter_core::generated::base::avp as base;
use diameter_core::{Message, dump};
use diameter_node::observe::{Direction, Observer};
use diameter_node::peer::{PeerState, WatchdogState};
use diameter_node::{Application, Node, PeerSpec, RequestError};
use tokio::sync::mpsc;

use crate::requests::{self, Fill};
use crate::{net, serve};

/// Exit status when the connection or CER/CEA failed.
pub(crate) const EXIT_CONNECTION: u8 = 2;
/// Exit status when no answer came in time.
pub(crate) const EXIT_TIMEOUT: u8 = 3;

/// Arguments of `diameter send`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The peer to connect to (required unless the configuration lists peers).
    #[arg(long, value_name = "HOST:PORT")]
    peer: Option<String>,
    /// Node configuration (TOML); the flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Origin-Host (required unless in the configuration).
    #[arg(long, value_name = "H")]
    origin_host: Option<String>,
    /// Origin-Realm (required unless in the configuration).
    #[arg(long, value_name = "R")]
    origin_realm: Option<String>,
    /// Destination-Realm when the request has none [default: the peer's Origin-Realm
    /// from its CEA].
    #[arg(long, value_name = "R")]
    destination_realm: Option<String>,
    /// Destination-Host to add when the request has none; also names the peer.
    #[arg(long, value_name = "H")]
    destination_host: Option<String>,
    /// Application-Id of the request (replaces the JSON's) [default: the JSON's, or 4].
    #[arg(long = "app", value_name = "ID")]
    app: Option<u32>,
    /// The request in `decode --format json`'s shape ("-" for stdin); missing Session-Id,
    /// Origin-Host/Realm, Destination-Realm and identifiers are filled in [default: a Gy
    /// CCR-I].
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// How to print the answer.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Seconds to wait for the connection and CEA, and then for the answer.
    #[arg(long, value_name = "S", default_value = "10", value_parser = net::parse_seconds)]
    timeout: Duration,
    /// Print every message exchanged (CER/CEA, the request, DPR/DPA) to stderr.
    #[arg(long, short)]
    verbose: bool,
}

/// Output format of `send`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Indented text (as `decode` prints).
    Text,
    /// JSON (`decode --format json`'s shape).
    Json,
}

/// Runs `diameter send`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let request = requests::load(args.json.as_deref())?;
    let app = args.app.unwrap_or(request.application_id());
    let mut config = net::node_config(
        args.config.as_deref(),
        args.origin_host.as_deref(),
        args.origin_realm.as_deref(),
        None,
    )?;
    config.listen.clear();
    if let Some(peer) = &args.peer {
        let addrs = net::resolve(peer)?;
        let name = args
            .destination_host
            .clone()
            .unwrap_or_else(|| peer_name(peer));
        config.peers = vec![
            addrs
                .iter()
                .fold(PeerSpec::new(net::peer_uri(&name, addrs[0])), |p, a| {
                    p.address(*a)
                }),
        ];
    } else if config.peers.is_empty() {
        bail!("--peer HOST:PORT is required (or a configuration with peers)");
    }
    for p in &mut config.peers {
        p.persistent = true;
    }
    let t = &mut config.timers;
    t.connect_timeout = args.timeout;
    t.cea_timeout = args.timeout;
    t.request_timeout = args.timeout;
    // One attempt: no reconnection while this command lives.
    t.reconnect_min = Duration::from_secs(3600);
    t.reconnect_max = Duration::from_secs(3600);
    t.dpa_timeout = args.timeout.min(Duration::from_secs(5));
    t.drain_timeout = Duration::from_secs(1);

    let rt = net::runtime()?;
    rt.block_on(async move {
        let (tx, mut failures) = mpsc::unbounded_channel();
        let watch = Watch {
            tx,
            started: AtomicBool::new(false),
            opened: AtomicBool::new(false),
            verbose: args.verbose,
        };
        let node = Node::builder(config.clone())
            .application(Application::new(net::supported_application(app)))
            .observer(watch)
            .start()
            .await
            .context("starting the node")?;
        let ready = tokio::select! {
            r = node.wait_for_ready(args.timeout) => r.map_err(|_| {
                format!("no CEA within {:?}", args.timeout)
            }),
            Some(why) = failures.recv() => Err(why),
        };
        if let Err(why) = ready {
            node.abort();
            eprintln!("diameter send: {why}");
            return Ok(ExitCode::from(EXIT_CONNECTION));
        }
        let peer = node.peers().into_iter().find(|p| p.ready);
        let caps = peer.as_ref().and_then(|p| p.capabilities.clone());
        if let Some(caps) = caps.as_ref().filter(|c| !c.supports(app)) {
            eprintln!(
                "diameter send: peer {} does not support application {} (it advertised {:?})",
                caps.origin_host,
                net::application_label(app),
                caps.applications.advertised
            );
            node.shutdown().await;
            return Ok(ExitCode::from(EXIT_CONNECTION));
        }
        let destination_realm = args
            .destination_realm
            .clone()
            .or_else(|| caps.as_ref().map(|c| c.origin_realm.clone()))
            .unwrap_or_else(|| config.origin_realm.clone());
        let fill = Fill {
            origin_host: &config.origin_host,
            origin_realm: &config.origin_realm,
            destination_realm: &destination_realm,
            destination_host: args.destination_host.as_deref(),
            application_id: Some(app),
        };
        let request = requests::fill(&request, &fill, &node.new_session_id());
        let outcome = node.send_with_timeout(request, args.timeout).await;
        let code = match outcome {
            Ok(answer) => {
                print_answer(&answer, args.format)?;
                ExitCode::SUCCESS
            }
            Err(RequestError::Timeout) => {
                eprintln!("diameter send: no answer within {:?}", args.timeout);
                ExitCode::from(EXIT_TIMEOUT)
            }
            Err(e @ (RequestError::PeerGone | RequestError::NoPeer(_))) => {
                eprintln!("diameter send: {e}");
                ExitCode::from(EXIT_CONNECTION)
            }
            Err(e) => {
                eprintln!("diameter send: {e}");
                ExitCode::FAILURE
            }
        };
        node.shutdown().await;
        Ok(code)
    })
}

/// A DiameterIdentity for the peer's URI from `HOST:PORT` (an IPv6 literal cannot be one).
fn peer_name(peer: &str) -> String {
    let host = net::host_part(peer);
    if host.contains(':') || host.is_empty() {
        "peer".into()
    } else {
        host.to_owned()
    }
}

fn print_answer(answer: &Message, format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Text => out.write_all(dump::text(answer).as_bytes())?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &dump::to_json(answer))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Reports a failed connection or capabilities exchange, and with `verbose` prints the
/// conversation.
struct Watch {
    tx: mpsc::UnboundedSender<String>,
    started: AtomicBool,
    opened: AtomicBool,
    verbose: bool,
}

impl Observer for Watch {
    fn message(&self, peer: &str, direction: Direction, message: &Message) {
        if self.verbose {
            eprintln!(
                "{} {peer} {}\n{}",
                net::clock(),
                serve::summary(direction, message),
                dump::text(message).trim_end()
            );
        }
        let cea = message.code() == 257 && !message.is_request();
        if cea && direction == Direction::Received && message.result_code() != Some(2001) {
            let error = message
                .find(base::ERROR_MESSAGE)
                .and_then(|a| std::str::from_utf8(a.data).ok())
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let _ = self.tx.send(format!(
                "peer {peer} refused the CER: Result-Code {}{error}",
                message
                    .result_code()
                    .map_or_else(|| "missing".into(), |c| c.to_string())
            ));
        }
    }

    fn peer_state(&self, peer: &str, state: PeerState, _watchdog: WatchdogState) {
        if state.is_open() {
            self.opened.store(true, Ordering::Relaxed);
        } else if state != PeerState::Closed {
            self.started.store(true, Ordering::Relaxed);
        } else if self.started.load(Ordering::Relaxed) && !self.opened.load(Ordering::Relaxed) {
            let _ = self.tx.send(format!(
                "connection to peer {peer} failed before CER/CEA completed"
            ));
        }
    }
}
