//! `diameter bench`: round trips against a peer (or an embedded server on loopback) with N
//! requests in flight over C connections, for a duration, optionally at a fixed rate; then
//! requests/s, latency percentiles (HdrHistogram), Result-Code counts and errors.
//!
//! Each connection is its own client node (Origin-Host `H`, `H-1`, `H-2`, ... in the first
//! label), so that a server admitting peers by realm sees C distinct peers. Every request
//! is the template (the default Gy CCR-I, or `--json`) with a new Session-Id. Latency is
//! measured from the moment a request is handed to the node to its answer.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use diameter_core::generated::base::avp as base;
use diameter_core::{Message, dump};
use diameter_node::{Application, Limits, Node, NodeConfig, PeerSpec, RequestError};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::requests::{self, Fill, Template};
use crate::{input, net, send, serve};

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
}

/// Report format of `bench`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned text.
    Text,
    /// One JSON object.
    Json,
}

/// What one worker saw.
struct Tally {
    latency: Histogram<u64>,
    codes: BTreeMap<u32, u64>,
    timeouts: u64,
    peer_gone: u64,
    other_errors: u64,
}

impl Tally {
    fn new() -> Self {
        Self {
            // Nanoseconds, 1 ns to 60 s, 3 significant digits.
            latency: Histogram::new_with_bounds(1, 60_000_000_000, 3)
                .expect("valid histogram bounds"),
            codes: BTreeMap::new(),
            timeouts: 0,
            peer_gone: 0,
            other_errors: 0,
        }
    }

    fn merge(&mut self, o: Tally) {
        let _ = self.latency.add(&o.latency);
        for (k, v) in o.codes {
            *self.codes.entry(k).or_default() += v;
        }
        self.timeouts += o.timeouts;
        self.peer_gone += o.peer_gone;
        self.other_errors += o.other_errors;
    }

    fn errors(&self) -> u64 {
        self.timeouts + self.peer_gone + self.other_errors
    }
}

/// Runs `diameter bench`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    if args.concurrency == 0 || args.connections == 0 {
        bail!("--concurrency and --connections must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of requests per second");
    }
    let template = match &args.json {
        Some(path) => {
            let mut text = String::new();
            input::open(path)?
                .read_to_string(&mut text)
                .with_context(|| format!("reading {}", path.display()))?;
            requests::parse_request(&text, &path.display().to_string())?
        }
        None => dump::from_json(&requests::default_ccr()).context("the default CCR")?,
    };
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

    // The client nodes, one connection each.
    let mut clients = Vec::new();
    for i in 0..args.connections {
        let mut config = NodeConfig::new(nth_host(&args.origin_host, i), &args.origin_realm);
        let spec = addrs.iter().fold(
            PeerSpec::new(net::peer_uri("bench-peer", addrs[0])),
            |p, a| p.address(*a),
        );
        config = config.peer(spec);
        config.timers.request_timeout = args.timeout;
        config.timers.reconnect_min = Duration::from_secs(3600);
        config.timers.reconnect_max = Duration::from_secs(3600);
        config.limits = Limits {
            max_pending_requests: args.concurrency.max(65_536),
            max_concurrent_handlers: handlers,
            ..Limits::default()
        };
        let node = Node::builder(config)
            .application(Application::new(net::supported_application(app)))
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
    let templates: Vec<Template> = clients
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
            Template::new(&requests::fill(&template, &fill, "placeholder"))
        })
        .collect();

    let command = dump::command_name(template.code(), app, true);
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

    let done = Arc::new(AtomicU64::new(0));
    let tickets = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + args.duration;
    let interval = args.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut workers = Vec::new();
    for w in 0..args.concurrency {
        let node = clients[w % clients.len()].clone();
        let template = templates[w % templates.len()].clone();
        let done = done.clone();
        let tickets = tickets.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            loop {
                if let Some(interval) = interval {
                    let k = tickets.fetch_add(1, Ordering::Relaxed);
                    let at = start + interval.mul_f64(k as f64);
                    if at >= end {
                        break;
                    }
                    tokio::time::sleep_until(at.into()).await;
                } else if Instant::now() >= end {
                    break;
                }
                let request = template.with_session_id(&node.new_session_id());
                let t0 = Instant::now();
                match node.send(request).await {
                    Ok(answer) => {
                        let ns = t0.elapsed().as_nanos().max(1) as u64;
                        let _ = tally.latency.record(ns.min(60_000_000_000));
                        *tally.codes.entry(result_code(&answer)).or_default() += 1;
                    }
                    Err(RequestError::Timeout) => tally.timeouts += 1,
                    Err(RequestError::PeerGone | RequestError::NoPeer(_)) => {
                        tally.peer_gone += 1;
                        // The connection is gone: do not spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(_) => tally.other_errors += 1,
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            tally
        }));
    }

    let progress = progress_bar(args.duration, args.format);
    let ticker = {
        let done = done.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let elapsed = start.elapsed();
                let n = done.load(Ordering::Relaxed);
                progress.set_position(elapsed.as_millis() as u64);
                progress.set_message(format!(
                    "{n} requests, {:.0}/s",
                    n as f64 / elapsed.as_secs_f64().max(1e-3)
                ));
            }
        })
    };
    let mut tally = Tally::new();
    for w in workers {
        tally.merge(w.await.context("a bench worker failed")?);
    }
    let elapsed = start.elapsed();
    ticker.abort();
    progress.finish_and_clear();

    for c in &clients {
        c.shutdown().await;
    }
    if let Some(s) = &server {
        s.shutdown().await;
    }

    let answers: u64 = tally.codes.values().sum();
    let report = Report {
        target: &label,
        command: &command,
        app,
        args: &args,
        elapsed,
        answers,
        tally: &tally,
    };
    match args.format {
        Format::Text => report.text(),
        Format::Json => report.json()?,
    }
    Ok(if answers > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(send::EXIT_TIMEOUT)
    })
}

/// Result-Code, else Experimental-Result-Code, else 0.
fn result_code(answer: &Message) -> u32 {
    answer
        .result_code()
        .or_else(|| {
            answer
                .find_path(&[base::EXPERIMENTAL_RESULT, base::EXPERIMENTAL_RESULT_CODE])
                .and_then(|a| <[u8; 4]>::try_from(a.data).ok())
                .map(u32::from_be_bytes)
        })
        .unwrap_or(0)
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

struct Report<'a> {
    target: &'a str,
    command: &'a str,
    app: u32,
    args: &'a Args,
    elapsed: Duration,
    answers: u64,
    tally: &'a Tally,
}

impl Report<'_> {
    fn rate(&self) -> f64 {
        self.answers as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency quantiles in microseconds.
    fn quantiles(&self) -> [(&'static str, f64); 6] {
        let h = &self.tally.latency;
        let us = |ns: u64| ns as f64 / 1000.0;
        [
            ("p50", us(h.value_at_quantile(0.50))),
            ("p90", us(h.value_at_quantile(0.90))),
            ("p99", us(h.value_at_quantile(0.99))),
            ("p99.9", us(h.value_at_quantile(0.999))),
            ("max", us(h.max())),
            ("mean", h.mean() / 1000.0),
        ]
    }

    fn text(&self) {
        let t = self.tally;
        println!(
            "requests      {} answered in {:.2} s: {:.0} requests/s",
            self.answers,
            self.elapsed.as_secs_f64(),
            self.rate()
        );
        if self.answers > 0 {
            let q: Vec<String> = self
                .quantiles()
                .iter()
                .map(|(name, us)| format!("{name} {}", human_us(*us)))
                .collect();
            println!("latency       {}", q.join("  "));
        }
        let codes: Vec<String> = t.codes.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        println!(
            "result codes  {}",
            if codes.is_empty() {
                "none".into()
            } else {
                codes.join(", ")
            }
        );
        if t.errors() == 0 {
            println!("errors        none");
        } else {
            println!(
                "errors        {} (timeout: {}, peer gone: {}, other: {})",
                t.errors(),
                t.timeouts,
                t.peer_gone,
                t.other_errors
            );
        }
    }

    fn json(&self) -> Result<()> {
        let t = self.tally;
        let latency: serde_json::Map<String, serde_json::Value> = if self.answers > 0 {
            self.quantiles()
                .iter()
                .map(|(k, v)| (k.replace('.', "_"), json!((v * 1000.0).round() / 1000.0)))
                .collect()
        } else {
            serde_json::Map::new()
        };
        let codes: serde_json::Map<String, serde_json::Value> = t
            .codes
            .iter()
            .map(|(c, n)| (c.to_string(), json!(n)))
            .collect();
        let v = json!({
            "target": self.target,
            "command": self.command,
            "application_id": self.app,
            "connections": self.args.connections,
            "concurrency": self.args.concurrency,
            "duration_s": self.args.duration.as_secs_f64(),
            "rate": self.args.rate,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "answers": self.answers,
            "requests_per_second": self.rate().round(),
            "latency_us": latency,
            "result_codes": codes,
            "errors": {
                "total": t.errors(),
                "timeout": t.timeouts,
                "peer_gone": t.peer_gone,
                "other": t.other_errors,
            },
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        Ok(())
    }
}

/// `87 µs`, `1.25 ms`, `2.0 s`.
fn human_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_units() {
        assert_eq!(nth_host("bench.example.org", 0), "bench.example.org");
        assert_eq!(nth_host("bench.example.org", 2), "bench-2.example.org");
        assert_eq!(nth_host("bench", 1), "bench-1");
        assert_eq!(human_us(87.4), "87 µs");
        assert_eq!(human_us(1250.0), "1.25 ms");
    }
}
