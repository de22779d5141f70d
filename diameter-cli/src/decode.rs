//! `diameter decode`: messages from hex, raw bytes or a capture, printed as text, JSON or
//! JSON lines, optionally validated.
//!
//! Malformed messages do not stop the run: each is reported on stderr with its index,
//! where it came from and the byte offset of the problem, the others are still printed,
//! and the exit status is 1.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{ArgGroup, ValueEnum};
use diameter_core::{DecodeError, Message, ResultCode, dump};
use serde_json::{Value, json};

use crate::capture;
use crate::input::{self, Frame, Item, Origin};
use crate::output::{JsonSink, is_broken_pipe};

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
    /// A pcap or pcapng capture ("-" for stdin): TCP streams and SCTP chunks reassembled.
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
    let out = BufWriter::new(io::stdout().lock());
    let mut printer = Printer::new(out, args.format, args.validate);
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
    Json(JsonSink<W>),
}

/// Decodes, validates and prints messages as they come.
struct Printer<W: Write> {
    sink: Sink<W>,
    validate: bool,
    stats: Stats,
}

impl<W: Write> Printer<W> {
    fn new(out: W, format: Format, validate: bool) -> Self {
        let sink = match format {
            Format::Text => Sink::Text(out),
            Format::Json => Sink::Json(JsonSink::new(out, false)),
            Format::Jsonl => Sink::Json(JsonSink::new(out, true)),
        };
        Self {
            sink,
            validate,
            stats: Stats::default(),
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
        let check = self.validate.then(|| diameter_core::validate(&msg));
        if matches!(check, Some(Err(_))) {
            self.stats.invalid += 1;
        }
        match &mut self.sink {
            Sink::Text(out) => {
                if i > 1 {
                    out.write_all(b"\n")?;
                }
                writeln!(out, "# message {i} ({origin})")?;
                out.write_all(dump::text(&msg).as_bytes())?;
                match check {
                    Some(Ok(())) => writeln!(out, "validation: ok")?,
                    Some(Err(e)) => writeln!(
                        out,
                        "validation: failed: Result-Code {}: {}",
                        ResultCode(e.result_code()),
                        describe(&e, &origin)
                    )?,
                    None => {}
                }
            }
            Sink::Json(sink) => {
                let mut v = dump::to_json(&msg);
                if let Origin::Capture(meta) = &origin {
                    v["capture"] = meta.to_json();
                }
                if let Some(check) = check {
                    v["validation"] = validation_json(check, &origin);
                }
                sink.push(v)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Text(out) => out.flush(),
            // JSON output is only complete at the end; lines are flushed as they go.
            Sink::Json(_) => Ok(()),
        }
    }

    fn finish(self) -> Result<Stats> {
        let written = match self.sink {
            Sink::Text(mut out) => out.flush(),
            Sink::Json(sink) => sink.finish(),
        };
        match written {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            r => r?,
        }
        Ok(self.stats)
    }
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
