//! `--summary`: what `tshark -z diameter,srt` and Wireshark's Diameter statistics show:
//! messages per command and per Result-Code (or Experimental-Result-Code), and response
//! times per command (min, average, percentiles, max), instead of the messages.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use diameter_core::avp::AvpRef;
use diameter_core::data::DecodeCx;
use diameter_core::dictionary;
use diameter_core::dump::command_name;
use diameter_core::{AvpData, Message};
use serde_json::{Value, json};

/// Result-Code, Experimental-Result, its Vendor-Id and Experimental-Result-Code
/// (RFC 6733 §7.1, §7.6, §5.3.3, §7.7).
const RESULT_CODE: u32 = 268;
const EXPERIMENTAL_RESULT: u32 = 297;
const VENDOR_ID: u32 = 266;
const EXPERIMENTAL_RESULT_CODE: u32 = 298;

/// An answer's result: `(vendor, code)`, vendor 0 for a Result-Code.
type ResultKey = Option<(u32, u32)>;

#[derive(Debug, Default)]
struct PerCommand {
    requests: u64,
    answers: u64,
    answered: u64,
    results: BTreeMap<ResultKey, u64>,
    times: Vec<Duration>,
}

/// Counts over the shown messages.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// By (command code, application id).
    commands: BTreeMap<(u32, u32), PerCommand>,
    messages: u64,
}

fn u32_of(a: &AvpRef<'_>) -> Option<u32> {
    u32::decode(a, DecodeCx::default()).ok()
}

/// The result an answer carries, if any.
fn result(msg: &Message) -> ResultKey {
    for a in msg.avps().filter_map(Result::ok) {
        match (a.code, a.vendor) {
            (RESULT_CODE, 0) => return u32_of(&a).map(|c| (0, c)),
            (EXPERIMENTAL_RESULT, 0) => {
                let (mut vendor, mut code) = (None, None);
                for m in a.children().filter_map(Result::ok) {
                    match (m.code, m.vendor) {
                        (VENDOR_ID, 0) => vendor = u32_of(&m),
                        (EXPERIMENTAL_RESULT_CODE, 0) => code = u32_of(&m),
                        _ => {}
                    }
                }
                return Some((vendor.unwrap_or(0), code?));
            }
            _ => {}
        }
    }
    None
}

fn result_label(r: ResultKey) -> String {
    match r {
        None => "no Result-Code".to_owned(),
        Some((0, c)) => match dictionary::result_code_name(c) {
            Some(n) => format!("Result-Code {c} {n}"),
            None => format!("Result-Code {c}"),
        },
        Some((v, c)) => match dictionary::experimental_result_code_name(v, c) {
            Some(n) => format!("Experimental-Result-Code {c} {n} (vendor {v})"),
            None => format!("Experimental-Result-Code {c} (vendor {v})"),
        },
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The nearest-rank percentile `p` of sorted `times`.
fn percentile(times: &[Duration], p: usize) -> Duration {
    let rank = (times.len() * p).div_ceil(100).max(1);
    times[rank.min(times.len()) - 1]
}

impl Summary {
    /// Counts a shown message; `response_time` when it is an answer linked to its request.
    pub(crate) fn message(&mut self, msg: &Message, linked: bool, response_time: Option<Duration>) {
        self.messages += 1;
        let h = msg.header();
        let c = self.commands.entry((h.code, h.application_id)).or_default();
        if h.flags.is_request() {
            c.requests += 1;
            return;
        }
        c.answers += 1;
        c.answered += u64::from(linked);
        *c.results.entry(result(msg)).or_default() += 1;
        if let Some(t) = response_time {
            c.times.push(t);
        }
    }

    fn rows(&mut self) -> impl Iterator<Item = (String, u32, u32, &mut PerCommand)> {
        self.commands.iter_mut().map(|(&(code, app), c)| {
            let name = command_name(code, app, true);
            let name = name.strip_suffix("-Request").unwrap_or(&name).to_owned();
            c.times.sort_unstable();
            (name, code, app, c)
        })
    }

    /// The table, as text.
    pub(crate) fn text(mut self) -> String {
        let mut out = String::new();
        let messages = self.messages;
        let _ = writeln!(
            out,
            "Diameter service response time (as tshark -z diameter,srt): {messages} messages"
        );
        let _ = writeln!(
            out,
            "{:<34} {:>8} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "Command (code, application)",
            "Requests",
            "Answers",
            "Unanswered",
            "Min ms",
            "Avg ms",
            "P50 ms",
            "P90 ms",
            "P99 ms",
            "Max ms"
        );
        for (name, code, app, c) in self.rows() {
            let label = format!("{name} ({code}, {app})");
            let _ = write!(
                out,
                "{label:<34} {:>8} {:>8} {:>10}",
                c.requests,
                c.answers,
                c.requests.saturating_sub(c.answered)
            );
            if c.times.is_empty() {
                out.push('\n');
            } else {
                let t = &c.times;
                let avg = t.iter().map(|d| millis(*d)).sum::<f64>() / t.len() as f64;
                let _ = writeln!(
                    out,
                    " {:>9.3} {avg:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                    millis(t[0]),
                    millis(percentile(t, 50)),
                    millis(percentile(t, 90)),
                    millis(percentile(t, 99)),
                    millis(t[t.len() - 1])
                );
            }
            for (r, n) in &c.results {
                let _ = writeln!(out, "    {:<60} {n:>8}", result_label(*r));
            }
        }
        out
    }

    /// The table, as JSON.
    pub(crate) fn json(mut self) -> Value {
        let messages = self.messages;
        let commands: Vec<Value> = self
            .rows()
            .map(|(name, code, app, c)| {
                let mut v = json!({
                    "command": name,
                    "command_code": code,
                    "application_id": app,
                    "requests": c.requests,
                    "answers": c.answers,
                    "unanswered": c.requests.saturating_sub(c.answered),
                    "results": c.results.iter().map(|(r, n)| {
                        let mut e = json!({"count": n});
                        if let Some((vendor, code)) = r {
                            e["code"] = (*code).into();
                            e["vendor"] = (*vendor).into();
                        }
                        e["label"] = result_label(*r).into();
                        e
                    }).collect::<Vec<_>>(),
                });
                let t = &c.times;
                if !t.is_empty() {
                    let avg = t.iter().map(|d| millis(*d)).sum::<f64>() / t.len() as f64;
                    v["response_time_ms"] = json!({
                        "count": t.len(),
                        "min": millis(t[0]),
                        "avg": avg,
                        "p50": millis(percentile(t, 50)),
                        "p90": millis(percentile(t, 90)),
                        "p99": millis(percentile(t, 99)),
                        "max": millis(t[t.len() - 1]),
                    });
                }
                v
            })
            .collect();
        json!({"messages": messages, "commands": commands})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let t: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile(&t, 50), Duration::from_millis(5));
        assert_eq!(percentile(&t, 90), Duration::from_millis(9));
        assert_eq!(percentile(&t, 99), Duration::from_millis(10));
        assert_eq!(percentile(&t[..1], 50), Duration::from_millis(1));
    }
}
