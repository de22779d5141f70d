//! `diameter decode`: messages from hex, raw bytes or a capture, printed as text, JSON or
//! JSON lines, optionally validated.
//!
//! Malformed messages do not stop the run: each is reported on stderr with its index,
//! where it came from and the byte offset of the problem, the others are still printed,
//! and the exit status is 1.
//!
//! Answers are linked to their requests ([`exchange`]) with the response time; `--command`,
//! `--application` and `--session-id` choose the messages shown ([`filter`]); `--summary`
//! prints counts and response times per command instead ([`summary`]). How a message is
//! shown is [`crate::render`]'s.

mod exchange;
mod filter;
mod summary;

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{ArgGroup, ValueEnum};
use diameter_core::{DecodeError, Message, ResultCode};
use serde_json::{Value, json};

use crate::capture::{self, rfc3339};
use crate::input::{self, Frame, Item, Origin};
use crate::output::{JsonSink, is_broken_pipe};
use crate::render;
use exchange::{Exchanges, Link, Request};
use filter::Filter;
use summary::Summary;

/// Exit status when frames of a capture were skipped but nothing else went wrong.
const EXIT_SKIPPED: u8 = 3;

/// Arguments of `diameter decode`.
#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("input").required(true)))]
#[command(
    after_help = "Exit status: 0 when every message decoded (and validated, with \
--validate); 1 when any was malformed or failed validation, or the input could not be read \
to its end (a capture cut short or corrupt: what came before it is still printed); 3 when \
every message decoded but frames of the capture were skipped (cut short, unsupported link \
type, bad IP/TCP/SCTP header: each is a warning on stderr, and their count is printed)."
)]
pub(crate) struct Args {
    /// One message as hex (whitespace and a leading 0x allowed).
    #[arg(long, value_name = "HEX", group = "input")]
    hex: Option<String>,
    /// One hex message per line ("-" for stdin); blank lines and # comments are skipped.
    #[arg(long, value_name = "FILE", group = "input")]
    hex_file: Option<PathBuf>,
    /// Messages back to back, framed by their Message Length ("-" for stdin).
    #[arg(long, value_name = "FILE", group = "input")]
    raw: Option<PathBuf>,
    /// A pcap or pcapng capture ("-" for stdin). Link types: Ethernet (VLAN, QinQ), Linux
    /// cooked v1/v2 (any ARPHRD), raw IPv4/IPv6, BSD loopback; IP fragments, TCP streams and
    /// SCTP chunks reassembled. Text shows capture times and links answers to requests.
    #[arg(long, value_name = "FILE", group = "input")]
    pcap: Option<PathBuf>,
    /// Output format: text dump, JSON (an object, or an array when several messages), or
    /// JSON lines (one object per message).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also validate each message against its command's ABNF and print the result
    /// (ok, or the Result-Code an answer would carry and the error).
    #[arg(long)]
    validate: bool,
    /// With --pcap, decode TCP and SCTP on this port only (repeatable). Default: port 3868,
    /// SCTP PPID 46, and any stream that starts with a well-formed Diameter message.
    #[arg(long = "port", value_name = "PORT", requires = "pcap")]
    ports: Vec<u16>,
    /// Instead of the messages, print per command the requests, answers, unanswered
    /// requests, response times (min, average, 50th/90th/99th percentile, max) and the
    /// count of each Result-Code, as `tshark -z diameter,srt` does (JSON with --format
    /// json or jsonl).
    #[arg(long)]
    summary: bool,
    /// Only this command: a code, a name (Credit-Control, Credit-Control-Request) or an
    /// abbreviation (CCR, CCA), any case (repeatable: any of them).
    #[arg(long = "command", value_name = "COMMAND")]
    commands: Vec<String>,
    /// Only this application: an Application-Id or a name (repeatable: any of them).
    #[arg(long = "application", value_name = "APPLICATION")]
    applications: Vec<String>,
    /// Only messages with this Session-Id (repeatable: any of them).
    #[arg(long = "session-id", value_name = "SESSION-ID")]
    sessions: Vec<String>,
}

/// Output format of `decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Indented text dump.
    Text,
    /// One JSON object, or a JSON array of them.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// Runs `diameter decode`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let filter = Filter::new(&args.commands, &args.applications, &args.sessions)?;
    let out = BufWriter::new(io::stdout().lock());
    let mut printer = Printer::new(out, args.format, args.validate, filter, args.summary);
    let mut skipped = 0;
    let read = {
        let mut emit = |item: Item| printer.item(item);
        if let Some(hex) = &args.hex {
            input::hex_argument(hex, &mut emit)
        } else if let Some(path) = &args.hex_file {
            input::open(path).and_then(|r| input::hex_lines(r, &mut emit))
        } else if let Some(path) = &args.raw {
            input::open(path).and_then(|r| input::raw(r, &mut emit))
        } else if let Some(path) = &args.pcap {
            let opts = capture::Options { ports: args.ports };
            input::open(path).and_then(|r| {
                let (report, read) = capture::read(r, &opts, &mut emit);
                skipped = report.skipped;
                read
            })
        } else {
            Ok(())
        }
    };
    let stats = printer.finish()?;
    let mut failed = stats.malformed > 0 || stats.invalid > 0;
    if let Err(e) = read {
        if is_broken_pipe(&e) {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("error: {e:#}");
        failed = true;
    }
    if stats.malformed > 0 || stats.invalid > 0 {
        let mut summary = format!(
            "diameter: {} of {} messages decoded",
            stats.decoded, stats.index
        );
        if stats.malformed > 0 {
            summary += &format!(", {} malformed", stats.malformed);
        }
        if stats.invalid > 0 {
            summary += &format!(", {} failed validation", stats.invalid);
        }
        eprintln!("{summary}");
    }
    if skipped > 0 {
        eprintln!("diameter: {skipped} frames of the capture could not be read (see the warnings)");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else if skipped > 0 {
        ExitCode::from(EXIT_SKIPPED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Counts over one run.
#[derive(Debug, Default)]
struct Stats {
    /// Message slots seen (decoded or not): the index of the last one.
    index: usize,
    decoded: usize,
    malformed: usize,
    invalid: usize,
}

enum Sink<W: Write> {
    Text(W),
    /// One compact object per line, written as it comes.
    Lines(W),
    /// One pretty object, or an array of them.
    Json(JsonSink<W>),
}

/// Decodes, validates, links and prints messages as they come.
struct Printer<W: Write> {
    sink: Sink<W>,
    validate: bool,
    filter: Filter,
    exchanges: Exchanges,
    /// With `--summary`: the counts, printed at the end instead of the messages.
    summary: Option<Summary>,
    stats: Stats,
    /// Rendering buffers, reused from message to message.
    text: String,
    bytes: Vec<u8>,
}

impl<W: Write> Printer<W> {
    fn new(out: W, format: Format, validate: bool, filter: Filter, summary: bool) -> Self {
        let sink = match format {
            Format::Text => Sink::Text(out),
            Format::Json => Sink::Json(JsonSink::new(out, false)),
            Format::Jsonl => Sink::Lines(out),
        };
        Self {
            sink,
            validate,
            filter,
            exchanges: Exchanges::default(),
            summary: summary.then(Summary::default),
            stats: Stats::default(),
            text: String::new(),
            bytes: Vec::new(),
        }
    }

    fn item(&mut self, item: Item) -> Result<()> {
        match item {
            Item::Frame(frame) => self.frame(frame),
            Item::Warning(w) => {
                self.flush()?;
                eprintln!("warning: {w}");
                Ok(())
            }
        }
    }

    fn frame(&mut self, frame: Frame) -> Result<()> {
        self.stats.index += 1;
        let i = self.stats.index;
        let origin = frame.origin;
        let msg = match frame.data {
            Err(reason) => Err(reason),
            Ok(bytes) => Message::decode(bytes).map_err(|e| describe(&e, &origin)),
        };
        let msg = match msg {
            Ok(m) => m,
            Err(reason) => {
                self.stats.malformed += 1;
                self.flush()?;
                eprintln!("error: message {i} ({origin}): {reason}");
                return Ok(());
            }
        };
        self.stats.decoded += 1;
        let meta = match &origin {
            Origin::Capture(m) => Some(&**m),
            _ => None,
        };
        let seen = Request {
            message: i,
            frame: meta.and_then(|m| m.frame),
            time: meta.and_then(|m| m.time),
        };
        // Linked before filtering: an answer shown alone still names its request.
        let link = self.exchanges.message(&msg, meta.map(|m| m.ends()), seen);
        if !self.filter.keeps(&msg) {
            return Ok(());
        }
        let check = self.validate.then(|| diameter_core::validate(&msg));
        if matches!(check, Some(Err(_))) {
            self.stats.invalid += 1;
        }
        if let Some(s) = &mut self.summary {
            s.message(&msg, link.is_some(), link.and_then(|l| l.response_time));
            return Ok(());
        }
        match &mut self.sink {
            Sink::Text(out) => {
                let t = &mut self.text;
                t.clear();
                if i > 1 {
                    t.push('\n');
                }
                text_heading(t, i, &origin, link.as_ref());
                render::text::message(t, &msg);
                match check {
                    Some(Ok(())) => t.push_str("validation: ok\n"),
                    Some(Err(e)) => {
                        use std::fmt::Write as _;
                        let _ = writeln!(
                            t,
                            "validation: failed: Result-Code {}: {}",
                            ResultCode(e.result_code()),
                            describe(&e, &origin)
                        );
                    }
                    None => {}
                }
                out.write_all(t.as_bytes())?;
            }
            Sink::Lines(out) => {
                let b = &mut self.bytes;
                b.clear();
                json_message(b, &msg, meta, link.as_ref(), check, &origin);
                b.push(b'\n');
                out.write_all(b)?;
            }
            Sink::Json(sink) => {
                let b = &mut self.bytes;
                b.clear();
                json_message(b, &msg, meta, link.as_ref(), check, &origin);
                // Pretty printing goes through a value; only the line format is hot.
                sink.push(serde_json::from_slice(b)?)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Text(out) | Sink::Lines(out) => out.flush(),
            // JSON output is only complete at the end.
            Sink::Json(_) => Ok(()),
        }
    }

    fn finish(mut self) -> Result<Stats> {
        let written = match (self.summary.take(), self.sink) {
            (Some(s), Sink::Text(mut out)) => out
                .write_all(s.text().as_bytes())
                .and_then(|()| out.flush()),
            (Some(s), Sink::Lines(mut out)) => serde_json::to_writer(&mut out, &s.json())
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush()),
            (Some(s), Sink::Json(mut sink)) => sink.push(s.json()).and_then(|()| sink.finish()),
            (None, Sink::Text(mut out) | Sink::Lines(mut out)) => out.flush(),
            (None, Sink::Json(sink)) => sink.finish(),
        };
        match written {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            r => r?,
        }
        Ok(self.stats)
    }
}

/// `# message N (where)`, then for captures `# time ...` and for linked answers
/// `# answer to message ...`.
fn text_heading(t: &mut String, i: usize, origin: &Origin, link: Option<&Link>) {
    use std::fmt::Write as _;
    let _ = writeln!(t, "# message {i} ({origin})");
    if let Origin::Capture(m) = origin {
        if let Some(time) = m.time {
            let _ = write!(t, "# time {}", rfc3339(time));
            if let Some(r) = m.relative {
                let _ = write!(t, " (+{:.6} s)", r.as_secs_f64());
            }
            t.push('\n');
        }
    }
    if let Some(l) = link {
        let _ = write!(t, "# answer to message {}", l.request.message);
        if let Some(f) = l.request.frame {
            let _ = write!(t, " (frame {f})");
        }
        if let Some(rt) = l.response_time {
            let _ = write!(t, ", response time {:.3} ms", rt.as_secs_f64() * 1000.0);
        }
        t.push('\n');
    }
}

/// A message's JSON object, with its capture place, request link and validation.
fn json_message(
    b: &mut Vec<u8>,
    msg: &Message,
    meta: Option<&capture::Meta>,
    link: Option<&Link>,
    check: Option<Result<(), DecodeError>>,
    origin: &Origin,
) {
    use std::io::Write as _;
    render::json::message_open(b, msg);
    if let Some(m) = meta {
        b.extend_from_slice(b",\"capture\":");
        m.write_json(b);
    }
    if let Some(l) = link {
        let _ = write!(b, ",\"answer_to\":{{\"message\":{}", l.request.message);
        if let Some(f) = l.request.frame {
            let _ = write!(b, ",\"frame\":{f}");
        }
        if let Some(rt) = l.response_time {
            let _ = write!(b, ",\"response_time\":{}", rt.as_secs_f64());
        }
        b.push(b'}');
    }
    if let Some(check) = check {
        b.extend_from_slice(b",\"validation\":");
        let _ = serde_json::to_writer(&mut *b, &validation_json(check, origin));
    }
    b.push(b'}');
}

/// An error with its offset also placed in the whole input, when that is a byte stream.
fn describe(e: &DecodeError, origin: &Origin) -> String {
    match origin.absolute(e.offset) {
        Some(abs) => format!("{e} ({abs})"),
        None => e.to_string(),
    }
}

fn validation_json(check: Result<(), DecodeError>, origin: &Origin) -> Value {
    match check {
        Ok(()) => json!({"ok": true}),
        Err(e) => {
            let code = ResultCode(e.result_code());
            let mut v = json!({
                "ok": false,
                "result_code": code.0,
                "error": describe(&e, origin),
                "offset": e.offset,
            });
            if let Some(name) = code.name() {
                v["result"] = name.into();
            }
            if let Some(avp) = e.failed_avp() {
                v["failed_avp"] = avp
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into();
            }
            v
        }
    }
}
