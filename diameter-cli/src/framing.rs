//! Splitting a byte stream (a raw file, a TCP direction, an SCTP user message) into
//! Diameter messages by the header's Message Length (RFC 6733 §3), with resynchronisation
//! after bytes that cannot be framed.

use bytes::{Buf, Bytes, BytesMut};
use diameter_core::{DEFAULT_MAX_MESSAGE_SIZE, Message};

/// Length of the Diameter header.
pub(crate) const HEADER_LEN: usize = 20;

/// How many bytes a stream of unknown protocol may hold before its first plausible message;
/// past that it is taken not to be Diameter and ignored.
const DETECT_LIMIT: u64 = 64 * 1024;

/// The Message Length of a header, if its first four bytes can start a message: version 1
/// and a length of at least 20, a multiple of 4, within the size limit.
pub(crate) fn framing_length(h: &[u8]) -> Option<u32> {
    let w: [u8; 4] = h.get(..4)?.try_into().ok()?;
    let len = u32::from_be_bytes(w) & 0x00ff_ffff;
    (w[0] == 1 && len as usize >= HEADER_LEN && len % 4 == 0 && len <= DEFAULT_MAX_MESSAGE_SIZE)
        .then_some(len)
}

/// Whether bytes look like the start of a Diameter message: [`framing_length`], command
/// flags without reserved bits and not both R and E, and, when present, a first AVP header
/// without reserved flag bits whose length fits. Used to find messages in unknown bytes.
pub(crate) fn plausible_header(h: &[u8]) -> bool {
    let Some(len) = framing_length(h) else {
        return false;
    };
    if h.len() < HEADER_LEN || h[4] & 0x0f != 0 || h[4] & 0xa0 == 0xa0 {
        return false;
    }
    match h.get(HEADER_LEN..HEADER_LEN + 8) {
        Some(avp) if len as usize > HEADER_LEN => {
            let avp_len = u32::from_be_bytes([0, avp[5], avp[6], avp[7]]);
            avp[4] & 0x1f == 0 && avp_len >= 8 && avp_len <= len - HEADER_LEN as u32
        }
        _ => true,
    }
}

/// Something found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// One message as framed by its header, at this stream offset (not yet decoded).
    Message { offset: u64, bytes: Bytes },
    /// Bytes that are not part of a message. `error` when the stream was in step, so the
    /// input is malformed; otherwise the loss is expected (capture started mid-stream,
    /// segments missing from the capture, capture ended mid-message).
    Skipped {
        offset: u64,
        len: u64,
        reason: String,
        error: bool,
    },
}

/// Why the framer is looking for the next header rather than reading one.
#[derive(Debug)]
enum Hunt {
    /// After bytes that are not a header, in a stream that was in step.
    AfterError { from: u64, reason: String },
    /// At the start of a stream captured from its middle, or after lost data.
    Resume { from: u64, reason: &'static str },
    /// A stream not known to carry Diameter: give up after [`DETECT_LIMIT`] bytes.
    Detect,
}

#[derive(Debug)]
enum Mode {
    Synced,
    Hunting(Hunt),
    /// Not Diameter: everything is dropped.
    Ignored,
}

/// A length-based framer over one byte stream.
#[derive(Debug)]
pub(crate) struct Framer {
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    mode: Mode,
    /// While hunting: stream offset up to which every position was tried.
    scanned: u64,
    /// While hunting: plausible headers whose message is not all there yet (stream offset,
    /// length), tried again as data comes.
    candidates: Vec<(u64, usize)>,
}

impl Framer {
    /// A framer at the start of a Diameter stream: the first bytes must be a header.
    pub(crate) fn synced() -> Self {
        Self::with_mode(Mode::Synced)
    }

    /// A framer joining a Diameter stream in its middle: bytes before the first header
    /// that frames a whole, well-formed message are skipped (reported as expected loss).
    pub(crate) fn mid_stream() -> Self {
        Self::with_mode(Mode::Hunting(Hunt::Resume {
            from: 0,
            reason: "before the first message (capture started mid-stream)",
        }))
    }

    /// A framer over a stream that may not be Diameter at all: it starts at the first
    /// well-formed message, and ignores the stream when none starts in its first 64 KiB.
    pub(crate) fn detect() -> Self {
        Self::with_mode(Mode::Hunting(Hunt::Detect))
    }

    fn with_mode(mode: Mode) -> Self {
        Self {
            buf: BytesMut::new(),
            offset: 0,
            mode,
            scanned: 0,
            candidates: Vec::new(),
        }
    }

    /// Whether the stream was judged not to be Diameter (its bytes are dropped unread).
    pub(crate) fn is_ignored(&self) -> bool {
        matches!(self.mode, Mode::Ignored)
    }

    /// Feeds the next bytes of the stream.
    pub(crate) fn push(&mut self, data: &[u8], out: &mut Vec<Event>) {
        if self.is_ignored() {
            self.offset += data.len() as u64;
            return;
        }
        self.buf.extend_from_slice(data);
        self.drain(out);
    }

    /// `missing` bytes of the stream are not in the capture: the message they cut is lost
    /// and the framer looks for the next header after them.
    pub(crate) fn gap(&mut self, missing: u64, out: &mut Vec<Event>) {
        let end = self.offset + self.buf.len() as u64 + missing;
        match &self.mode {
            Mode::Ignored => {}
            Mode::Synced => {
                if !self.buf.is_empty() {
                    out.push(Event::Skipped {
                        offset: self.offset,
                        len: self.buf.len() as u64,
                        reason: format!("message cut by {missing} bytes missing from the capture"),
                        error: false,
                    });
                }
                self.mode = Mode::Hunting(Hunt::Resume {
                    from: end,
                    reason: "after bytes missing from the capture",
                });
            }
            Mode::Hunting(Hunt::AfterError { from, reason }) => {
                out.push(Event::Skipped {
                    offset: *from,
                    len: self.offset + self.buf.len() as u64 - from,
                    reason: reason.clone(),
                    error: true,
                });
                self.mode = Mode::Hunting(Hunt::Resume {
                    from: end,
                    reason: "after bytes missing from the capture",
                });
            }
            Mode::Hunting(Hunt::Resume { .. } | Hunt::Detect) => {}
        }
        self.buf.clear();
        self.offset = end;
        self.candidates.clear();
    }

    /// The stream ended: reports what is left. A message cut short is an error when
    /// `truncated_is_error` (a file), expected loss otherwise (a capture that stopped).
    pub(crate) fn finish(&mut self, truncated_is_error: bool, out: &mut Vec<Event>) {
        let end = self.offset + self.buf.len() as u64;
        match std::mem::replace(&mut self.mode, Mode::Ignored) {
            Mode::Synced if !self.buf.is_empty() => {
                let reason = match framing_length(&self.buf) {
                    Some(len) => format!(
                        "truncated message: header says {len} bytes, {} present",
                        self.buf.len()
                    ),
                    None => format!("truncated header: {} bytes", self.buf.len()),
                };
                out.push(Event::Skipped {
                    offset: self.offset,
                    len: self.buf.len() as u64,
                    reason,
                    error: truncated_is_error,
                });
            }
            Mode::Hunting(Hunt::AfterError { from, reason }) => out.push(Event::Skipped {
                offset: from,
                len: end - from,
                reason,
                error: true,
            }),
            Mode::Hunting(Hunt::Resume { from, reason }) if end > from => {
                out.push(Event::Skipped {
                    offset: from,
                    len: end - from,
                    reason: format!("no message found {reason}"),
                    error: false,
                })
            }
            _ => {}
        }
        self.buf.clear();
        self.offset = end;
    }

    fn drain(&mut self, out: &mut Vec<Event>) {
        loop {
            match &self.mode {
                Mode::Ignored => {
                    self.offset += self.buf.len() as u64;
                    self.buf.clear();
                    return;
                }
                Mode::Synced => {
                    if self.buf.len() < 4 {
                        return;
                    }
                    let Some(len) = framing_length(&self.buf) else {
                        let len = u32::from_be_bytes([0, self.buf[1], self.buf[2], self.buf[3]]);
                        let reason = if self.buf[0] != 1 {
                            format!("not a Diameter header (version {})", self.buf[0])
                        } else {
                            format!("not a Diameter header (message length {len})")
                        };
                        self.mode = Mode::Hunting(Hunt::AfterError {
                            from: self.offset,
                            reason,
                        });
                        // The bad header itself is never the next message.
                        self.advance(1);
                        continue;
                    };
                    let len = len as usize;
                    if self.buf.len() < len {
                        return;
                    }
                    let bytes = self.buf.split_to(len).freeze();
                    out.push(Event::Message {
                        offset: self.offset,
                        bytes,
                    });
                    self.offset += len as u64;
                }
                Mode::Hunting(_) => {
                    if !self.hunt(out) {
                        return;
                    }
                }
            }
        }
    }

    /// Looks for the next well-formed message; true when in step again.
    ///
    /// A plausible header whose message is not all there yet does not stop the search: a
    /// complete, well-formed message after it wins (a false header with a large length
    /// would otherwise hold everything up); until one is found, bytes from the first such
    /// candidate on are kept.
    fn hunt(&mut self, out: &mut Vec<Event>) -> bool {
        let end = self.offset + self.buf.len() as u64;
        let well_formed = |buf: &BytesMut, at: u64, len: usize| {
            let i = (at - self.offset) as usize;
            Message::decode(Bytes::copy_from_slice(&buf[i..i + len])).is_ok()
        };
        let mut found = None;
        // Earlier candidates whose bytes have now arrived.
        let mut k = 0;
        while k < self.candidates.len() {
            let (at, len) = self.candidates[k];
            if at + len as u64 > end {
                k += 1;
                continue;
            }
            self.candidates.remove(k);
            if well_formed(&self.buf, at, len) {
                found = Some(at);
                break;
            }
        }
        if found.is_none() {
            let mut at = self.scanned.max(self.offset);
            while at + HEADER_LEN as u64 <= end {
                let h = &self.buf[(at - self.offset) as usize..];
                if plausible_header(h) {
                    let len = framing_length(h).unwrap_or(0) as usize;
                    if h.len() < len {
                        self.candidates.push((at, len));
                    } else if well_formed(&self.buf, at, len) {
                        found = Some(at);
                        break;
                    }
                }
                at += 1;
            }
            self.scanned = at;
        }
        let Some(at) = found else {
            let keep = self
                .candidates
                .iter()
                .map(|c| c.0)
                .min()
                .unwrap_or(self.scanned)
                .min(self.scanned);
            self.advance((keep - self.offset) as usize);
            if matches!(self.mode, Mode::Hunting(Hunt::Detect)) && self.scanned > DETECT_LIMIT {
                self.mode = Mode::Ignored;
            }
            return false;
        };
        self.advance((at - self.offset) as usize);
        self.candidates.clear();
        match std::mem::replace(&mut self.mode, Mode::Synced) {
            Mode::Hunting(Hunt::AfterError { from, reason }) => out.push(Event::Skipped {
                offset: from,
                len: self.offset - from,
                reason,
                error: true,
            }),
            Mode::Hunting(Hunt::Resume { from, reason }) if self.offset > from => {
                out.push(Event::Skipped {
                    offset: from,
                    len: self.offset - from,
                    reason: format!("skipped {reason}"),
                    error: false,
                })
            }
            _ => {}
        }
        true
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.offset += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::MessageBuilder;
    use diameter_core::avp::AvpFlags;

    fn msg(hbh: u32) -> Vec<u8> {
        let mut b = MessageBuilder::request(280, 0, false);
        b.header_mut().hop_by_hop = hbh;
        b.avp(
            264,
            0,
            AvpFlags(AvpFlags::MANDATORY),
            &bytes::Bytes::from_static(b"host.example"),
        );
        b.build().as_bytes().to_vec()
    }

    fn run(framer: &mut Framer, chunks: &[&[u8]]) -> Vec<Event> {
        let mut out = Vec::new();
        for c in chunks {
            framer.push(c, &mut out);
        }
        framer.finish(true, &mut out);
        out
    }

    fn offsets(events: &[Event]) -> Vec<(u64, bool)> {
        events
            .iter()
            .map(|e| match e {
                Event::Message { offset, .. } => (*offset, true),
                Event::Skipped { offset, .. } => (*offset, false),
            })
            .collect()
    }

    #[test]
    fn frames_split_and_joined_messages() {
        let (a, b) = (msg(1), msg(2));
        let all = [a.clone(), b.clone()].concat();
        let n = a.len() as u64;
        for cut in 0..all.len() {
            let ev = run(&mut Framer::synced(), &[&all[..cut], &all[cut..]]);
            assert_eq!(offsets(&ev), [(0, true), (n, true)], "cut at {cut}");
        }
    }

    #[test]
    fn resynchronises_after_garbage() {
        let (a, b) = (msg(1), msg(2));
        let garbage = [0u8, 0, 0, 9, 1, 2, 3];
        let all = [a.clone(), garbage.to_vec(), b.clone()].concat();
        let ev = run(&mut Framer::synced(), &[&all]);
        let n = a.len() as u64;
        assert_eq!(offsets(&ev), [(0, true), (n, false), (n + 7, true)]);
        assert!(matches!(
            &ev[1],
            Event::Skipped {
                len: 7,
                error: true,
                ..
            }
        ));
    }

    #[test]
    fn truncated_tail_and_mid_stream_start() {
        let a = msg(1);
        let ev = run(&mut Framer::synced(), &[&a[..a.len() - 3]]);
        assert!(matches!(
            &ev[..],
            [Event::Skipped {
                offset: 0,
                error: true,
                ..
            }]
        ));
        let all = [a[5..].to_vec(), a.clone()].concat();
        let ev = run(&mut Framer::mid_stream(), &[&all]);
        assert!(matches!(&ev[0], Event::Skipped { error: false, .. }));
        assert!(matches!(&ev[1], Event::Message { .. }));
    }

    #[test]
    fn detection_gives_up_on_other_protocols() {
        let junk = vec![b'x'; 70_000];
        let mut f = Framer::detect();
        let ev = run(&mut f, &[&junk, &msg(1)]);
        assert!(ev.is_empty());
        let ev = run(&mut Framer::detect(), &[b"GET / HTTP/1.1\r\n", &msg(1)]);
        assert!(matches!(&ev[..], [Event::Message { offset: 16, .. }]));
    }
}
