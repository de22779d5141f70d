//! What `bench` counts: every request handed to the node gets exactly one outcome, and the
//! report shows that it did (requests = answered + timed out + lost + refused + other +
//! no outcome), with the Result-Codes, the late or duplicate answers the node saw, and the
//! reconnections.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use diameter_core::Message;
use diameter_core::typed::AnswerResult;
use diameter_node::RequestError;
use diameter_node::observe::Observer;
use diameter_node::peer::{PeerState, WatchdogState};
use hdrhistogram::Histogram;
use serde_json::json;

/// What one worker saw.
pub(super) struct Tally {
    pub(super) latency: Histogram<u64>,
    pub(super) codes: BTreeMap<u32, u64>,
    pub(super) timeouts: u64,
    /// Sent, then the connection closed before the answer.
    pub(super) lost: u64,
    /// Not sent: no open peer for the application.
    pub(super) refused: u64,
    pub(super) other_errors: u64,
    /// Answers whose Session-Id is not the request's.
    pub(super) wrong_session: u64,
    /// Sessions of `--scenario gy-session`: started (CCR-I sent), completed (CCR-T answered
    /// 2001), failed (a step without a 2001).
    pub(super) sessions: Sessions,
}

#[derive(Clone, Copy, Default)]
pub(super) struct Sessions {
    pub(super) started: u64,
    pub(super) completed: u64,
    pub(super) failed: u64,
}

impl Tally {
    pub(super) fn new() -> Self {
        Self {
            // Nanoseconds, 1 ns to 60 s, 3 significant digits.
            latency: Histogram::new_with_bounds(1, 60_000_000_000, 3)
                .expect("valid histogram bounds"),
            codes: BTreeMap::new(),
            timeouts: 0,
            lost: 0,
            refused: 0,
            other_errors: 0,
            wrong_session: 0,
            sessions: Sessions::default(),
        }
    }

    pub(super) fn merge(&mut self, o: Tally) {
        let _ = self.latency.add(&o.latency);
        for (k, v) in o.codes {
            *self.codes.entry(k).or_default() += v;
        }
        self.timeouts += o.timeouts;
        self.lost += o.lost;
        self.refused += o.refused;
        self.other_errors += o.other_errors;
        self.wrong_session += o.wrong_session;
        self.sessions.started += o.sessions.started;
        self.sessions.completed += o.sessions.completed;
        self.sessions.failed += o.sessions.failed;
    }

    /// Records an answer: its latency, Result-Code and whether it names the request's
    /// session.
    pub(super) fn answer(&mut self, latency: Duration, answer: &Message, session_id: &str) {
        let ns = latency.as_nanos().max(1) as u64;
        let _ = self.latency.record(ns.min(60_000_000_000));
        *self.codes.entry(result_code(answer)).or_default() += 1;
        if answer.session_id() != Some(session_id) {
            self.wrong_session += 1;
        }
    }

    /// Records a request that ended without an answer.
    pub(super) fn error(&mut self, e: &RequestError) {
        match e {
            RequestError::Timeout => self.timeouts += 1,
            RequestError::PeerGone => self.lost += 1,
            RequestError::NoPeer(_) => self.refused += 1,
            _ => self.other_errors += 1,
        }
    }

    pub(super) fn answers(&self) -> u64 {
        self.codes.values().sum()
    }

    fn errors(&self) -> u64 {
        self.timeouts + self.lost + self.refused + self.other_errors
    }
}

/// Result-Code, else Experimental-Result-Code, else 0.
pub(super) fn result_code(answer: &Message) -> u32 {
    AnswerResult::of(answer).map_or(0, AnswerResult::code)
}

/// Counts shared by the workers and the nodes' observers, read at the end: `requests` and
/// `outcomes` are counted apart from the workers' tallies so that a worker stopped at the
/// deadline still shows its requests as without outcome.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) requests: AtomicU64,
    pub(super) outcomes: AtomicU64,
    /// Answers that matched no pending request: duplicates, or late after a timeout.
    pub(super) unmatched: AtomicU64,
    /// Times a connection reached Open (the first of each included).
    pub(super) opens: AtomicU64,
    /// Times an open connection was lost.
    pub(super) losses: AtomicU64,
}

/// One client node's observer: counts its peer's openings and losses and the answers that
/// matched nothing.
pub(super) struct Watch {
    pub(super) shared: Arc<Shared>,
    pub(super) open: AtomicBool,
}

impl Observer for Watch {
    fn peer_state(&self, _peer: &str, state: PeerState, _watchdog: WatchdogState) {
        let was = self.open.swap(state.is_open(), Ordering::Relaxed);
        match (was, state.is_open()) {
            (false, true) => self.shared.opens.fetch_add(1, Ordering::Relaxed),
            (true, false) => self.shared.losses.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    fn unmatched_answer(&self, _peer: &str, _answer: &Message) {
        self.shared.unmatched.fetch_add(1, Ordering::Relaxed);
    }
}

/// The end-of-run figures.
pub(super) struct Report<'a> {
    pub(super) target: &'a str,
    pub(super) command: &'a str,
    pub(super) app: u32,
    pub(super) connections: usize,
    pub(super) concurrency: usize,
    pub(super) duration: Duration,
    pub(super) rate: Option<f64>,
    pub(super) sessions: bool,
    pub(super) elapsed: Duration,
    pub(super) tally: &'a Tally,
    pub(super) shared: &'a Shared,
    /// Connections lost while the run lasted (the end of the run closes them all).
    pub(super) lost_connections: u64,
}

impl Report<'_> {
    fn answers(&self) -> u64 {
        self.tally.answers()
    }

    fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Requests handed to the node that neither got an answer nor an error.
    pub(super) fn no_outcome(&self) -> u64 {
        self.requests()
            .saturating_sub(self.shared.outcomes.load(Ordering::Relaxed))
    }

    pub(super) fn unmatched(&self) -> u64 {
        self.shared.unmatched.load(Ordering::Relaxed)
    }

    fn reconnects(&self) -> u64 {
        self.shared
            .opens
            .load(Ordering::Relaxed)
            .saturating_sub(self.connections as u64)
    }

    fn rate_achieved(&self) -> f64 {
        self.answers() as f64 / self.elapsed.as_secs_f64().max(1e-9)
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

    pub(super) fn text(&self) {
        let t = self.tally;
        println!(
            "requests      {} answered in {:.2} s: {:.0} requests/s",
            self.answers(),
            self.elapsed.as_secs_f64(),
            self.rate_achieved()
        );
        if self.answers() > 0 {
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
                "errors        {} (timeout: {}, lost with the connection: {}, no open peer: {}, \
                 other: {})",
                t.errors(),
                t.timeouts,
                t.lost,
                t.refused,
                t.other_errors
            );
        }
        println!(
            "accounting    sent {} = answered {} + timed out {} + lost {} + refused {} + other \
             {} + no outcome {}",
            self.requests(),
            self.answers(),
            t.timeouts,
            t.lost,
            t.refused,
            t.other_errors,
            self.no_outcome()
        );
        println!(
            "duplicates    {} late or duplicate answer(s), {} answer(s) naming another session",
            self.unmatched(),
            t.wrong_session
        );
        println!(
            "connections   {}, {} reconnect(s), {} lost",
            self.connections,
            self.reconnects(),
            self.lost_connections
        );
        if self.sessions {
            let s = t.sessions;
            println!(
                "sessions      {} started, {} completed, {} failed",
                s.started, s.completed, s.failed
            );
        }
    }

    pub(super) fn json(&self) -> Result<()> {
        let t = self.tally;
        let latency: serde_json::Map<String, serde_json::Value> = if self.answers() > 0 {
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
        let mut v = json!({
            "target": self.target,
            "command": self.command,
            "application_id": self.app,
            "connections": self.connections,
            "concurrency": self.concurrency,
            "duration_s": self.duration.as_secs_f64(),
            "rate": self.rate,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "answers": self.answers(),
            "requests_per_second": self.rate_achieved().round(),
            "latency_us": latency,
            "result_codes": codes,
            "errors": {
                "total": t.errors(),
                "timeout": t.timeouts,
                "peer_gone": t.lost,
                "no_peer": t.refused,
                "other": t.other_errors,
            },
            "accounting": {
                "sent": self.requests(),
                "answered": self.answers(),
                "timed_out": t.timeouts,
                "lost_with_connection": t.lost,
                "refused_no_peer": t.refused,
                "other_errors": t.other_errors,
                "no_outcome": self.no_outcome(),
                "late_or_duplicate_answers": self.unmatched(),
                "wrong_session_id": t.wrong_session,
                "reconnects": self.reconnects(),
                "connections_lost": self.lost_connections,
            },
        });
        if self.sessions {
            v["sessions"] = json!({
                "started": t.sessions.started,
                "completed": t.sessions.completed,
                "failed": t.sessions.failed,
            });
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        Ok(())
    }
}

/// `87 µs`, `1.25 ms`, `2.0 s`.
pub(super) fn human_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}
