//! Message sources: a hex argument, a hex file (one message per line), a raw file of
//! concatenated messages. Captures are in [`crate::capture`]. Every source hands
//! [`Item`]s to a callback, in input order.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use bytes::Bytes;

use crate::capture::Meta;
use crate::framing::{Event, Framer};

/// Where a message came from, for error messages and capture metadata.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// The `--hex` argument.
    Argument,
    /// A line of a hex file (1-based).
    Line(usize),
    /// A byte offset in a raw file.
    Offset(u64),
    /// A packet of a capture.
    Capture(Box<Meta>),
}

impl Origin {
    /// Describes `offset` (relative to the message) within the whole input, when the input
    /// is a byte stream.
    pub(crate) fn absolute(&self, offset: usize) -> Option<String> {
        match self {
            Self::Offset(base) => Some(format!("file offset {}", base + offset as u64)),
            Self::Capture(m) => m
                .stream_offset
                .map(|base| format!("stream offset {}", base + offset as u64)),
            Self::Argument | Self::Line(_) => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Argument => f.write_str("--hex"),
            Self::Line(n) => write!(f, "line {n}"),
            Self::Offset(o) => write!(f, "file offset {o}"),
            Self::Capture(m) => m.fmt(f),
        }
    }
}

/// One message slot: its bytes, or why no message could be taken from this place.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) origin: Origin,
    pub(crate) data: std::result::Result<Bytes, String>,
}

/// What a source produces.
#[derive(Debug)]
pub(crate) enum Item {
    /// A message (or a malformed place in the input), in input order.
    Frame(Frame),
    /// Data that is expected to be lost (e.g. a capture that started mid-stream).
    Warning(String),
}

/// The callback sources report to.
pub(crate) type Emit<'a> = dyn FnMut(Item) -> Result<()> + 'a;

/// Opens a file, or standard input for `-`.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(file))
}

/// Parses hex text: whitespace between digits and a leading `0x` are allowed.
pub(crate) fn parse_hex(text: &str) -> std::result::Result<Vec<u8>, String> {
    let text = text.trim();
    let text = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if let Some((i, c)) = text
        .char_indices()
        .find(|(_, c)| !c.is_ascii_hexdigit() && !c.is_ascii_whitespace())
    {
        return Err(format!("invalid hex digit {c:?} at character {}", i + 1));
    }
    diameter_core::dump::parse_hex(text).ok_or_else(|| "odd number of hex digits".to_owned())
}

/// The `--hex` argument: one message.
pub(crate) fn hex_argument(hex: &str, emit: &mut Emit<'_>) -> Result<()> {
    emit(Item::Frame(Frame {
        origin: Origin::Argument,
        data: parse_hex(hex).map(Bytes::from),
    }))
}

/// A hex file: one message per line; blank lines and `#` comments are skipped.
pub(crate) fn hex_lines(reader: impl Read, emit: &mut Emit<'_>) -> Result<()> {
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", i + 1))?;
        let text = line
            .split_once('#')
            .map_or(line.as_str(), |(t, _)| t)
            .trim();
        if text.is_empty() {
            continue;
        }
        emit(Item::Frame(Frame {
            origin: Origin::Line(i + 1),
            data: parse_hex(text).map(Bytes::from),
        }))?;
    }
    Ok(())
}

/// A raw file: messages back to back, framed by their Message Length.
pub(crate) fn raw(mut reader: impl Read, emit: &mut Emit<'_>) -> Result<()> {
    let mut framer = Framer::synced();
    let mut events = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading raw input"),
        };
        framer.push(&chunk[..n], &mut events);
        emit_events(&mut events, Origin::Offset, emit)?;
    }
    framer.finish(true, &mut events);
    emit_events(&mut events, Origin::Offset, emit)
}

/// Hands framer events on: messages and errors as frames, expected losses as warnings.
pub(crate) fn emit_events(
    events: &mut Vec<Event>,
    origin: impl Fn(u64) -> Origin,
    emit: &mut Emit<'_>,
) -> Result<()> {
    for ev in events.drain(..) {
        match ev {
            Event::Message { offset, bytes } => emit(Item::Frame(Frame {
                origin: origin(offset),
                data: Ok(bytes),
            }))?,
            Event::Skipped {
                offset,
                len,
                reason,
                error: true,
            } => emit(Item::Frame(Frame {
                origin: origin(offset),
                data: Err(format!("{reason} ({len} bytes skipped)")),
            }))?,
            Event::Skipped {
                offset,
                len,
                reason,
                error: false,
            } => emit(Item::Warning(format!(
                "{}: {len} bytes {reason}",
                origin(offset)
            )))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing() {
        assert_eq!(parse_hex("0x01 02\tff").unwrap(), [1, 2, 255]);
        assert!(parse_hex("012").unwrap_err().contains("odd"));
        assert!(parse_hex("01zz").unwrap_err().contains("character 3"));
    }

    #[test]
    fn hex_file_skips_comments_and_blank_lines() {
        let text = "# header\n\n0102 # trailing\n  0304\n";
        let mut seen = Vec::new();
        hex_lines(text.as_bytes(), &mut |item| {
            if let Item::Frame(f) = item {
                seen.push((f.origin.to_string(), f.data.unwrap().to_vec()));
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("line 3".to_owned(), vec![1, 2]),
                ("line 4".to_owned(), vec![3, 4])
            ]
        );
    }
}
