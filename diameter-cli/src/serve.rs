//! `diameter serve`: a node that answers every request of its applications with 2001 and
//! the AVPs the answer's ABNF requires ([`crate::responder`]), logs its peers' comings and
//! goings to stderr, and on SIGINT/SIGTERM sends DPR to every peer and exits 0.
//!
//! An application the dictionaries have no command of (freeDiameter's test_app, 16777215)
//! has no ABNF to follow: its requests are answered 2001 with the request's own AVPs
//! echoed ([`echo_application`]).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use diameter_core::generated::base::avp as base;
use diameter_core::{AvpKey, Message, dictionary, dump};
use diameter_node::observe::{Direction, Observer};
use diameter_node::peer::{PeerState, SupportedApplication, WatchdogState};
use diameter_node::{Application, HandlerError, Node, NodeBuilder, NodeConfig, Request};

use crate::{net, responder};

/// Arguments of `diameter serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Node configuration (TOML: identity, listen addresses, peers, timers, limits); the
    /// flags below override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (repeatable; port 0 picks a free port) [default: 0.0.0.0:3868].
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Origin-Host [default: server.example.org].
    #[arg(long, value_name = "H")]
    origin_host: Option<String>,
    /// Origin-Realm [default: example.org].
    #[arg(long, value_name = "R")]
    origin_realm: Option<String>,
    /// Application to serve (repeatable) [default: every application with commands in the
    /// dictionaries, advertised as Auth or Acct per the dictionary]. One the dictionaries
    /// have no command of gets its requests echoed with 2001; its Vendor-Id, if any, comes
    /// from the configuration's [[applications]].
    #[arg(long = "app", value_name = "ID")]
    apps: Vec<u32>,
    /// Admit peers that are not configured when their Origin-Realm matches PATTERN
    /// (`*`, `*.example.org`, `example.org`; repeatable). Without configured peers, any
    /// peer is admitted.
    #[arg(long, value_name = "PATTERN", num_args = 0..=1, default_missing_value = "*")]
    accept_unknown_peers: Vec<String>,
    /// Serve Prometheus metrics (peer states, counters, messages by command and
    /// Result-Code, latencies) on http://ADDR/metrics, e.g. 127.0.0.1:9464 (port 0 picks a
    /// free port); overrides the configuration's metrics_listen.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Print every message sent and received, decoded, and the node's debug log.
    #[arg(long, short)]
    verbose: bool,
    /// Timers, overriding the configuration's `[timers]`.
    #[command(flatten)]
    timers: TimerArgs,
}

/// The common timers of a node as flags (seconds, fractions allowed).
#[derive(Debug, Default, clap::Args)]
pub(crate) struct TimerArgs {
    /// RFC 3539 Tw: a DWR after this long without traffic from a peer [config: 30].
    #[arg(long, value_name = "S", value_parser = net::parse_seconds)]
    watchdog: Option<Duration>,
    /// Timeout of the requests this node sends or forwards [config: 30].
    #[arg(long, value_name = "S", value_parser = net::parse_seconds)]
    request_timeout: Option<Duration>,
    /// Wait for a CEA, and for the CER on an incoming connection [config: 10].
    #[arg(long, value_name = "S", value_parser = net::parse_seconds)]
    cea_timeout: Option<Duration>,
    /// On SIGTERM, how long requests in flight may drain before DPR [config: 5].
    #[arg(long, value_name = "S", value_parser = net::parse_seconds)]
    drain_timeout: Option<Duration>,
    /// First reconnection delay to a configured peer, doubled per failure [config: 1].
    #[arg(long, value_name = "S", value_parser = net::parse_seconds)]
    reconnect_min: Option<Duration>,
    /// Largest reconnection delay, Tc [config: 30].
    #[arg(long, value_name = "S", value_parser = net::parse_seconds)]
    reconnect_max: Option<Duration>,
}

impl TimerArgs {
    /// Overrides the configuration's timers with the flags given.
    pub(crate) fn apply(&self, timers: &mut diameter_node::Timers) {
        let set = |t: &mut Duration, v: Option<Duration>| {
            if let Some(v) = v {
                *t = v;
            }
        };
        set(&mut timers.watchdog, self.watchdog);
        set(&mut timers.request_timeout, self.request_timeout);
        set(&mut timers.cea_timeout, self.cea_timeout);
        set(&mut timers.drain_timeout, self.drain_timeout);
        set(&mut timers.reconnect_min, self.reconnect_min);
        set(&mut timers.reconnect_max, self.reconnect_max);
        // Tw's jitter (± 2 s by default) must stay below Tw, or a short Tw could go negative.
        timers.watchdog_jitter = timers.watchdog_jitter.min(timers.watchdog / 4);
    }
}

/// Runs `diameter serve`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let mut config = net::node_config(
        args.config.as_deref(),
        args.origin_host.as_deref(),
        args.origin_realm.as_deref(),
        Some(("server.example.org", "example.org")),
    )?;
    if !args.listen.is_empty() {
        config.listen = args.listen.clone();
    }
    if config.listen.is_empty() && config.tls_listen.is_empty() {
        config.listen = vec![SocketAddr::from(([0, 0, 0, 0], 3868))];
    }
    if args.metrics.is_some() {
        config.metrics_listen = args.metrics;
    }
    args.timers.apply(&mut config.timers);
    config
        .accept_unknown_peers
        .extend(args.accept_unknown_peers.iter().cloned());
    if config.accept_unknown_peers.is_empty() && config.peers.is_empty() {
        config.accept_unknown_peers.push("*".into());
    }
    let apps = applications(&args.apps, &mut config);
    let admission = describe_admission(&config);
    init_tracing(args.verbose);
    let rt = net::runtime()?;
    rt.block_on(async move {
        let builder = server(config, &apps).observer(ServeLog {
            verbose: args.verbose,
        });
        let node = builder.start().await.context("starting the node")?;
        let local = node.local();
        let addrs: Vec<String> = node.local_addrs().iter().map(|a| a.to_string()).collect();
        let ids: Vec<String> = apps.iter().map(|a| a.id.to_string()).collect();
        eprintln!(
            "{} diameter serve: {} (realm {}) listening on {}; {} application(s): {}; \
             accepting {}",
            net::clock(),
            local.origin_host,
            local.origin_realm,
            addrs.join(", "),
            apps.len(),
            ids.join(" "),
            admission,
        );
        if let Some(addr) = node.metrics_addr() {
            eprintln!(
                "{} diameter serve: metrics on http://{addr}/metrics",
                net::clock()
            );
        }
        wait_for_signal().await?;
        let peers = node.peers().iter().filter(|p| p.state.is_open()).count();
        eprintln!(
            "{} diameter serve: stopping, DPR to {peers} peer(s)",
            net::clock()
        );
        node.shutdown().await;
        let s = node.stats();
        eprintln!(
            "{} diameter serve: stopped; {} request(s) received, {} answer(s) sent, {} \
             protocol error(s)",
            net::clock(),
            s.requests_received,
            s.answers_sent,
            s.protocol_errors
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// What the node admits, for the start-up line.
fn describe_admission(config: &NodeConfig) -> String {
    let mut parts = Vec::new();
    if !config.peers.is_empty() {
        parts.push(format!("{} configured peer(s)", config.peers.len()));
    }
    if config.accept_unknown_peers.iter().any(|p| p == "*") {
        parts.push("any peer".into());
    } else if !config.accept_unknown_peers.is_empty() {
        parts.push(format!(
            "any peer of realm {}",
            config.accept_unknown_peers.join(" or ")
        ));
    }
    parts.join(" and ")
}

/// The applications served: `--app`, else the configuration's, else every one with
/// commands. The configuration's list is taken over (with its kinds and vendors).
fn applications(flags: &[u32], config: &mut NodeConfig) -> Vec<SupportedApplication> {
    let configured: Vec<SupportedApplication> =
        config.applications.drain(..).map(Into::into).collect();
    if !flags.is_empty() {
        flags
            .iter()
            .map(|&id| {
                configured
                    .iter()
                    .find(|a| a.id == id)
                    .copied()
                    .unwrap_or_else(|| net::supported_application(id))
            })
            .collect()
    } else if !configured.is_empty() {
        configured
    } else {
        net::applications_with_commands()
            .into_iter()
            .map(net::supported_application)
            .collect()
    }
}

/// A node builder serving `apps` with [`responder::answer`] (or [`echo_application`] for
/// an application the dictionaries have no command of); vendor ids are added to
/// Supported-Vendor-Id.
pub(crate) fn server(mut config: NodeConfig, apps: &[SupportedApplication]) -> NodeBuilder {
    for v in apps.iter().filter_map(|a| a.vendor_id) {
        if !config.supported_vendor_ids.contains(&v) {
            config.supported_vendor_ids.push(v);
        }
    }
    let described = net::applications_with_commands();
    let mut builder = Node::builder(config);
    for app in apps {
        builder = builder.application(if described.contains(&app.id) {
            responder::application(*app)
        } else {
            echo_application(*app)
        });
    }
    builder
}

/// AVPs [`echo_application`] does not copy besides the responder's
/// [`responder::NEVER_COPY`] (sender, route, error): those `generate_answer` writes itself.
const WRITTEN_BY_GENERATE_ANSWER: [AvpKey; 7] = [
    base::SESSION_ID,
    base::PROXY_INFO,
    base::RESULT_CODE,
    base::ORIGIN_HOST,
    base::ORIGIN_REALM,
    base::AUTH_APPLICATION_ID,
    base::ACCT_APPLICATION_ID,
];

/// An application the dictionaries know no command of: every request answered 2001 with
/// the request's own AVPs echoed (e.g. freeDiameter's test_app, whose client checks that
/// its Test-AVP comes back).
fn echo_application(support: SupportedApplication) -> Application {
    Application::new(support).handler(|req: Request| async move {
        let mut answer = req.answer(2001);
        for avp in req.message().avps().flatten() {
            let key = avp.key();
            if !WRITTEN_BY_GENERATE_ANSWER.contains(&key) && !responder::NEVER_COPY.contains(&key) {
                answer.raw_ref(&avp);
            }
        }
        Ok::<_, HandlerError>(answer)
    })
}

/// The node's own log: warnings, and the acceptor's refusals (3010 and the like); with
/// `--verbose`, its debug log.
fn init_tracing(verbose: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let filter = if verbose {
        Targets::new()
            .with_default(LevelFilter::WARN)
            .with_target("diameter_node", LevelFilter::DEBUG)
    } else {
        Targets::new()
            .with_default(LevelFilter::WARN)
            .with_target("diameter_node::acceptor", LevelFilter::INFO)
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .compact();
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .try_init();
}

/// Waits for SIGINT or SIGTERM.
async fn wait_for_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

/// Logs peer events to stderr: state changes (connected: R-Open/I-Open; gone: Closed),
/// the watchdog, and the base protocol's messages (CER/CEA, DWR/DWA, DPR/DPA); with
/// `verbose`, every message, decoded.
pub(crate) struct ServeLog {
    pub(crate) verbose: bool,
}

impl Observer for ServeLog {
    fn message(&self, peer: &str, direction: Direction, message: &Message) {
        let base_protocol =
            message.application_id() == 0 && matches!(message.code(), 257 | 280 | 282);
        if !(base_protocol || self.verbose) {
            return;
        }
        let mut line = format!("{} {peer} {}", net::clock(), summary(direction, message));
        if self.verbose {
            line.push('\n');
            for l in dump::text(message).lines() {
                let _ = writeln!(line, "    {l}");
            }
            line.pop();
        }
        eprintln!("{line}");
    }

    fn peer_state(&self, peer: &str, state: PeerState, watchdog: WatchdogState) {
        let what = match state {
            PeerState::ROpen | PeerState::IOpen => "connected",
            PeerState::Closed => "disconnected",
            _ => "",
        };
        eprintln!(
            "{} {peer} state {state}, watchdog {watchdog:?}{}{what}",
            net::clock(),
            if what.is_empty() { "" } else { ": " }
        );
    }
}

/// `<- CER from client.example.org (python-diameter)`, `-> CEA 2001`, `<- DPR REBOOTING`,
/// `<- CCR session ...`.
pub(crate) fn summary(direction: Direction, m: &Message) -> String {
    let arrow = match direction {
        Direction::Received => "<-",
        Direction::Sent => "->",
    };
    let mut s = format!("{arrow} {}", short_name(m));
    let text = |k| {
        m.find(k)
            .and_then(|a| std::str::from_utf8(a.data).ok())
            .map(str::to_owned)
    };
    if let Some(rc) = m.result_code() {
        let _ = write!(s, " {rc}");
    } else if !m.is_request() {
        if let Some(code) = m
            .find_path(&[base::EXPERIMENTAL_RESULT, base::EXPERIMENTAL_RESULT_CODE])
            .and_then(|a| <[u8; 4]>::try_from(a.data).ok())
        {
            let _ = write!(s, " experimental {}", u32::from_be_bytes(code));
        }
    }
    if m.code() == 257 && direction == Direction::Received {
        if let Some(h) = text(base::ORIGIN_HOST) {
            let _ = write!(s, " from {h}");
        }
        if let Some(p) = text(base::PRODUCT_NAME) {
            let _ = write!(s, " ({p})");
        }
    }
    if m.code() == 282 && m.is_request() {
        if let Some(cause) = m
            .find(base::DISCONNECT_CAUSE)
            .and_then(|a| <[u8; 4]>::try_from(a.data).ok())
        {
            let v = i32::from_be_bytes(cause);
            let name = dictionary::avp(base::DISCONNECT_CAUSE).and_then(|d| d.enum_name(v));
            let _ = write!(s, " {}", name.unwrap_or("?"));
        }
    }
    if let Some(sid) = m.session_id().filter(|_| m.application_id() != 0) {
        let _ = write!(s, " session {sid}");
    }
    s
}

/// `CCR`, `CEA`, or `Command 999 Request`.
pub(crate) fn short_name(m: &Message) -> String {
    let suffix = if m.is_request() { 'R' } else { 'A' };
    match dictionary::command(m.code(), m.application_id()) {
        Some(c) if !c.short.is_empty() => format!("{}{suffix}", c.short),
        _ => dump::command_name(m.code(), m.application_id(), m.is_request()),
    }
}
