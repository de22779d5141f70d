//! `diameter encode`: messages from JSON (the shape `decode --format json` prints) to bytes.
//!
//! The input is one object, an array of objects, or a sequence of objects (JSON lines).
//! A message that cannot be built is reported on stderr with its index; the others are
//! still written, and the exit status is 1.

use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use diameter_core::dump;
use serde_json::Value;

use crate::input;

/// Arguments of `diameter encode`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// JSON input: one object, an array, or one object per line ("-" for stdin).
    #[arg(long, value_name = "FILE", default_value = "-")]
    json: PathBuf,
    /// Output: one hex line per message, or the raw bytes back to back.
    #[arg(long, value_enum, default_value_t = Format::Hex)]
    format: Format,
}

/// Output format of `encode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One line of lowercase hex per message.
    Hex,
    /// Messages back to back, as on the wire.
    Raw,
}

/// Runs `diameter encode`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let stdout = io::stdout();
    if args.format == Format::Raw && stdout.is_terminal() {
        bail!("refusing to write raw bytes to a terminal: redirect stdout or use --format hex");
    }
    let mut text = String::new();
    input::open(&args.json)?
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", args.json.display()))?;
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    let mut index = 0;
    for doc in documents(&text) {
        let values = match doc {
            Ok(Value::Array(items)) => items,
            Ok(v) => vec![v],
            Err(e) => {
                eprintln!("error: message {}: {e}", index + 1);
                failed = true;
                continue;
            }
        };
        for v in values {
            index += 1;
            match dump::from_json(&v) {
                Ok(msg) => match args.format {
                    Format::Hex => {
                        let hex: String =
                            msg.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                        writeln!(out, "{hex}")?;
                    }
                    Format::Raw => out.write_all(msg.as_bytes())?,
                },
                Err(e) => {
                    out.flush()?;
                    eprintln!("error: message {index}: {e}");
                    failed = true;
                }
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The JSON values of `text`, one after another. After a syntax error, reading resumes at
/// the next line (so one bad line of a JSON-lines file costs only that line).
fn documents(text: &str) -> Vec<Result<Value, String>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut line_base = 0;
    loop {
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let err = loop {
            match stream.next() {
                None => return out,
                Some(Ok(v)) => out.push(Ok(v)),
                Some(Err(e)) => break e,
            }
        };
        out.push(Err(format!(
            "invalid JSON at line {}, column {}: {err}",
            line_base + err.line(),
            err.column()
        )));
        // Resume after the line holding the error.
        let skip = rest
            .split_inclusive('\n')
            .take(err.line().max(1))
            .map(str::len)
            .sum::<usize>();
        if skip >= rest.len() {
            return out;
        }
        rest = &rest[skip..];
        line_base += err.line().max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_resume_after_a_bad_line() {
        let docs = documents("{\"a\":1}\n{\"b\" 2}\n{\"c\":3}\n");
        assert_eq!(docs.len(), 3, "{docs:?}");
        assert!(docs[0].is_ok());
        assert!(docs[1].as_ref().unwrap_err().contains("line"));
        assert_eq!(docs[2].as_ref().unwrap(), &serde_json::json!({"c": 3}));
        assert_eq!(documents("[{}, {}]").len(), 1);
        assert!(documents(" \n").is_empty());
    }
}
