//! `diameter bench`: round trips against a peer (or an embedded server on loopback) with N
//! requests in flight over C connections, for a duration, optionally at a fixed rate; then
//! requests/s, latency percentiles (HdrHistogram), Result-Code counts, errors and an
//! accounting of every request ([`tally`]), so that it can serve as a soak tool.
//!
//! Each connection is its own client node (Origin-Host `H`, `H-1`, `H-2`, ... in the first
//! label), so that a server admitting peers by realm sees C distinct peers; a node whose
//! connection is lost reconnects with backoff. Every request is the template (the default
//! Gy CCR-I, or `--json`) with a new Session-Id, or a step of a Gy session
//! (`--scenario gy-session`, [`session`]). Latency is measured from the moment a request is
//! handed to the node to its answer.

mod session;
mod tally;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use diameter_core::{Message, dump};
use diameter_node::{Application, Limits, Node, NodeConfig, NodeHandle, PeerSpec, RequestError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use self::session::{GySession, Step};
use self::tally::{Report, Shared, Tally, Watch};

use crate::requests::{self, Fill, Template};
use crate::{net, send, serve};

/// Arguments of `diameter bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The server: HOST:PORT, or "embedded" for a `serve` node started in this process on
    /// 127.0.0.1 [default: embedded].
    #[arg(long, value_name = "HOST:PORT")]
    peer: Option<String>,
    /// Origin-Host of the first connection (the others get -1, -2, ... in the first label).
    #[arg(long, value_name = "H", default_value = "bench.example.org")]
    origin_host: String,
    /// Origin-Realm.
    #[arg(long, value_name = "R", default_value = "example.org")]
    origin_realm: String,
    /// Destination-Realm when the template has none [default: the peer's Origin-Realm].
    #[arg(long, value_name = "R")]
    destination_realm: Option<String>,
    /// Application-Id of the requests (replaces the template's) [default: the template's].
    #[arg(long = "app", value_name = "ID")]
    app: Option<u32>,
    /// Request template in `decode --format json`'s shape; a new Session-Id per request
    /// [default: a Gy CCR-I].
    #[arg(long, value_name = "TEMPLATE")]
    json: Option<PathBuf>,
    /// Requests in flight, over all connections.
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,
    /// Connections (client nodes) to the server.
    #[arg(long, value_name = "C", default_value_t = 1)]
    connections: usize,
    /// How long to send requests, in seconds.
    #[arg(long, value_name = "S", default_value = "5", value_parser = net::parse_seconds)]
    duration: Duration,
    /// Requests per second over all connections [default: as fast as answers come].
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Seconds to wait for one answer.
    #[arg(long, value_name = "S", default_value = "5", value_parser = net::parse_seconds)]
    timeout: Duration,
    /// What each worker sends: `request`, the template with a new Session-Id each time, or
    /// `gy-session`, Gy sessions of a CCR-I, --updates CCR-Us and a CCR-T on one
    /// Session-Id, each reporting as used what the previous answer granted.
    #[arg(long, value_enum, default_value_t = Scenario::Request)]
    scenario: Scenario,
    /// CCR-Us per session of `--scenario gy-session`.
    #[arg(long, value_name = "N", default_value_t = 3)]
    updates: u32,
    /// First delay before reconnecting a lost connection, doubled per failed attempt up to
    /// --reconnect-max.
    #[arg(long, value_name = "S", default_value = "0.1", value_parser = net::parse_seconds)]
    reconnect_min: Duration,
    /// Largest delay between reconnection attempts.
    #[arg(long, value_name = "S", default_value = "2", value_parser = net::parse_seconds)]
    reconnect_max: Duration,
}

/// What each worker of `bench` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// The template with a new Session-Id per request.
    Request,
    /// Gy sessions: CCR-I, --updates CCR-U, CCR-T.
    GySession,
}

/// Report format of `bench`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned text.
    Text,
    /// One JSON object.
    Json,
}

/// Runs `diameter bench`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    if args.concurrency == 0 || args.connections == 0 {
        bail!("--concurrency and --connections must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of requests per second");
    }
    let template = requests::load(args.json.as_deref())?;
    let app = args.app.unwrap_or(template.application_id());
    let embedded = args.peer.as_deref().is_none_or(|p| p == "embedded");
    let rt = net::runtime()?;
    rt.block_on(bench(args, template, app, embedded))
}

async fn bench(args: Args, template: Message, app: u32, embedded: bool) -> Result<ExitCode> {
    let handlers = args.concurrency.max(1024);
    let (server, addrs, label) = if embedded {
        let mut config = NodeConfig::new("server.example.org", "example.org")
            .listen(([127, 0, 0, 1], 0).into())
            .accept_unknown_peers("*");
        config.limits = Limits {
            max_concurrent_handlers: handlers,
            ..Limits::default()
        };
        let node = serve::server(config, &[net::supported_application(app)])
            .start()
            .await
            .context("starting the embedded server")?;
        let addr = node.local_addrs()[0];
        (Some(node), vec![addr], format!("embedded server on {addr}"))
    } else {
        let peer = args.peer.clone().unwrap_or_default();
        (None, net::resolve(&peer)?, peer)
    };

    // The client nodes, one connection each, watched for reconnections and stray answers.
    let shared = Arc::new(Shared::default());
    let mut clients = Vec::new();
    for i in 0..args.connections {
        let mut config = NodeConfig::new(nth_host(&args.origin_host, i), &args.origin_realm);
        let spec = addrs.iter().fold(
            PeerSpec::new(net::peer_uri("bench-peer", addrs[0])),
            |p, a| p.address(*a),
        );
        config = config.peer(spec);
        config.timers.request_timeout = args.timeout;
        config.timers.reconnect_min = args.reconnect_min;
        config.timers.reconnect_max = args.reconnect_max.max(args.reconnect_min);
        config.limits = Limits {
            max_pending_requests: args.concurrency.max(65_536),
            max_concurrent_handlers: handlers,
            ..Limits::default()
        };
        let node = Node::builder(config)
            .application(Application::new(net::supported_application(app)))
            .observer(Watch {
                shared: shared.clone(),
                open: AtomicBool::new(false),
            })
            .start()
            .await
            .context("starting a client node")?;
        clients.push(node);
    }
    for (i, c) in clients.iter().enumerate() {
        let ready = c
            .wait_for_application(app, Duration::from_secs(10))
            .await
            .is_ok();
        if !ready {
            eprintln!(
                "diameter bench: connection {} to {label} failed (no CEA with application {} \
                 within 10 s)",
                i + 1,
                net::application_label(app)
            );
            for c in &clients {
                c.abort();
            }
            if let Some(s) = &server {
                s.abort();
            }
            return Ok(ExitCode::from(send::EXIT_CONNECTION));
        }
    }
    let filled: Vec<Message> = clients
        .iter()
        .map(|c| {
            let realm = args
                .destination_realm
                .clone()
                .or_else(|| {
                    c.peers()
                        .into_iter()
                        .find_map(|p| p.capabilities.map(|caps| caps.origin_realm.clone()))
                })
                .unwrap_or_else(|| args.origin_realm.clone());
            let local = c.local();
            let fill = Fill {
                origin_host: &local.origin_host,
                origin_realm: &local.origin_realm,
                destination_realm: &realm,
                destination_host: None,
                application_id: Some(app),
            };
            // The template's own Session-Id, if any, is replaced per request.
            requests::fill(&template, &fill, "placeholder")
        })
        .collect();
    let work: Vec<Work> = filled
        .iter()
        .map(|m| match args.scenario {
            Scenario::Request => Ok(Work::Request(Template::new(m))),
            Scenario::GySession => {
                GySession::new(m).map(|s| Work::Session(Box::new(s), args.updates))
            }
        })
        .collect::<Result<_>>()?;

    let command = match args.scenario {
        Scenario::Request => dump::command_name(template.code(), app, true),
        Scenario::GySession => format!("Gy sessions (CCR-I, {} CCR-U, CCR-T)", args.updates),
    };
    if args.format == Format::Text {
        eprintln!(
            "diameter bench: {command} (application {}) to {label}: {} connection(s), {} in \
             flight, {:.1} s{}",
            net::application_label(app),
            args.connections,
            args.concurrency,
            args.duration.as_secs_f64(),
            args.rate
                .map(|r| format!(", {r} requests/s"))
                .unwrap_or_default()
        );
    }

    let tickets = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + args.duration;
    let pace = Pace {
        start,
        end,
        interval: args.rate.map(|r| Duration::from_secs_f64(1.0 / r)),
        tickets,
    };
    let mut workers = Vec::new();
    for w in 0..args.concurrency {
        let worker = Worker {
            node: clients[w % clients.len()].clone(),
            app,
            shared: shared.clone(),
            pace: pace.clone(),
        };
        let work = work[w % work.len()].clone();
        workers.push(tokio::spawn(async move { worker.run(work).await }));
    }

    let progress = progress_bar(args.duration, args.format);
    let ticker = {
        let shared = shared.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let elapsed = start.elapsed();
                let n = shared.outcomes.load(Ordering::Relaxed);
                progress.set_position(elapsed.as_millis() as u64);
                progress.set_message(format!(
                    "{n} requests, {:.0}/s",
                    n as f64 / elapsed.as_secs_f64().max(1e-3)
                ));
            }
        })
    };
    // Every request ends by its timeout; a worker still running well after that has lost
    // one, and is stopped so that the report can say so (as requests without outcome).
    let steps = match args.scenario {
        Scenario::Request => 1,
        Scenario::GySession => 2,
    };
    let deadline = end + args.timeout * steps + Duration::from_secs(5);
    let mut tally = Tally::new();
    let mut stopped = 0;
    for w in workers {
        let abort = w.abort_handle();
        match tokio::time::timeout_at(deadline.into(), w).await {
            Ok(t) => tally.merge(t.context("a bench worker failed")?),
            Err(_) => {
                abort.abort();
                stopped += 1;
            }
        }
    }
    let elapsed = start.elapsed();
    ticker.abort();
    progress.finish_and_clear();
    if stopped > 0 {
        eprintln!("diameter bench: {stopped} worker(s) still waiting at the deadline, stopped");
    }

    // Connections lost during the run, before ours are closed below.
    let lost_connections = shared.losses.load(Ordering::Relaxed);
    for c in &clients {
        c.shutdown().await;
    }
    if let Some(s) = &server {
        s.shutdown().await;
    }

    let report = Report {
        lost_connections,
        target: &label,
        command: &command,
        app,
        connections: args.connections,
        concurrency: args.concurrency,
        duration: args.duration,
        rate: args.rate,
        sessions: args.scenario == Scenario::GySession,
        elapsed,
        tally: &tally,
        shared: &shared,
    };
    match args.format {
        Format::Text => report.text(),
        Format::Json => report.json()?,
    }
    Ok(if report.no_outcome() > 0 || tally.wrong_session > 0 {
        ExitCode::FAILURE
    } else if tally.answers() > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(send::EXIT_TIMEOUT)
    })
}

/// What a worker sends.
#[derive(Clone)]
enum Work {
    Request(Template),
    /// Sessions of this many updates.
    Session(Box<GySession>, u32),
}

/// When workers send: as fast as answers come, or at a fixed rate shared by all, until
/// `end`.
#[derive(Clone)]
struct Pace {
    start: Instant,
    end: Instant,
    interval: Option<Duration>,
    tickets: Arc<AtomicU64>,
}

impl Pace {
    /// Waits for the next slot; `false` once the run is over.
    async fn next(&self) -> bool {
        match self.interval {
            Some(interval) => {
                let k = self.tickets.fetch_add(1, Ordering::Relaxed);
                let at = self.start + interval.mul_f64(k as f64);
                if at >= self.end {
                    return false;
                }
                tokio::time::sleep_until(at.into()).await;
                true
            }
            None => Instant::now() < self.end,
        }
    }
}

/// One of the N requests in flight.
struct Worker {
    node: NodeHandle,
    app: u32,
    shared: Arc<Shared>,
    pace: Pace,
}

impl Worker {
    async fn run(self, work: Work) -> Tally {
        let mut tally = Tally::new();
        match work {
            Work::Request(template) => {
                while self.pace.next().await {
                    let sid = self.node.new_session_id();
                    self.exchange(template.with_session_id(&sid), &sid, &mut tally)
                        .await;
                }
            }
            Work::Session(session, updates) => {
                while self.pace.next().await {
                    self.session(&session, updates, &mut tally).await;
                }
            }
        }
        tally
    }

    /// One Gy session. A session whose CCR-I was answered is always terminated, even when
    /// the run ends meanwhile, so that a soak leaves no session open on the server.
    async fn session(&self, session: &GySession, updates: u32, tally: &mut Tally) {
        let sid = self.node.new_session_id();
        tally.sessions.started += 1;
        let mut step = Step::Initial;
        let mut used = None;
        loop {
            let request = session.request(&sid, step, used);
            let answer = self.exchange(request, &sid, tally).await;
            let ok = answer.as_ref().and_then(Message::result_code) == Some(2001);
            if !ok {
                tally.sessions.failed += 1;
                return;
            }
            used = answer.as_ref().and_then(session::granted_octets);
            step = match step.next(updates) {
                None => {
                    tally.sessions.completed += 1;
                    return;
                }
                // Out of time: terminate the session now rather than leave it open.
                Some(Step::Update(n)) if Instant::now() >= self.pace.end => Step::Termination(n),
                Some(next) => next,
            };
        }
    }

    /// Sends one request and records its outcome; the answer, if any.
    async fn exchange(&self, request: Message, sid: &str, tally: &mut Tally) -> Option<Message> {
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let outcome = self.node.send(request).await;
        self.shared.outcomes.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(answer) => {
                tally.answer(t0.elapsed(), &answer, sid);
                Some(answer)
            }
            Err(e) => {
                tally.error(&e);
                if matches!(e, RequestError::NoPeer(_) | RequestError::PeerGone) {
                    // The connection is gone: wait for it to come back rather than spin.
                    let _ = self
                        .node
                        .wait_for_application(self.app, Duration::from_millis(100))
                        .await;
                }
                None
            }
        }
    }
}

/// `bench.example.org`, `bench-1.example.org`, ...
fn nth_host(host: &str, i: usize) -> String {
    if i == 0 {
        return host.to_owned();
    }
    match host.split_once('.') {
        Some((first, rest)) => format!("{first}-{i}.{rest}"),
        None => format!("{host}-{i}"),
    }
}

fn progress_bar(duration: Duration, format: Format) -> ProgressBar {
    let target = if format == Format::Text && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(duration.as_millis() as u64), target);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_units() {
        assert_eq!(nth_host("bench.example.org", 0), "bench.example.org");
        assert_eq!(nth_host("bench.example.org", 2), "bench-2.example.org");
        assert_eq!(nth_host("bench", 1), "bench-1");
        assert_eq!(tally::human_us(87.4), "87 µs");
        assert_eq!(tally::human_us(1250.0), "1.25 ms");
    }
}
