//! SCTP: walking the chunks of a packet (RFC 9260 §3) and reassembling user messages from
//! DATA chunks (§3.3.1: B/E flags, fragments on consecutive TSNs) and I-DATA chunks
//! (RFC 8260: message identifier and fragment sequence number). Retransmitted chunks are
//! recognised by their TSN and dropped.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// PPID of Diameter over SCTP (RFC 6733 §2.1; IANA SCTP Payload Protocol Identifiers).
pub(crate) const PPID_DIAMETER: u32 = 46;
/// PPID of Diameter over DTLS/SCTP (RFC 6733 §2.1): encrypted, never decoded.
pub(crate) const PPID_DIAMETER_DTLS: u32 = 47;

const CHUNK_DATA: u8 = 0;
const CHUNK_IDATA: u8 = 64;
const FLAG_E: u8 = 0x01;
const FLAG_B: u8 = 0x02;
const FLAG_U: u8 = 0x04;

/// TSNs remembered per direction to recognise retransmissions (a retransmission comes
/// while its TSN is still outstanding, well within this many later TSNs).
const SEEN_WINDOW: usize = 4096;
/// Fragment bytes held per direction before they are given up.
const MAX_HELD: usize = 64 * 1024 * 1024;

/// The common header and the data-carrying chunks of one packet.
#[derive(Debug)]
pub(crate) struct Packet<'a> {
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    pub(crate) verification_tag: u32,
    pub(crate) chunks: Vec<DataChunk<'a>>,
    /// A chunk that could not be walked (the chunks before it are kept).
    pub(crate) error: Option<String>,
}

/// A DATA or I-DATA chunk.
#[derive(Debug)]
pub(crate) struct DataChunk<'a> {
    pub(crate) tsn: u32,
    pub(crate) stream: u16,
    pub(crate) flags: u8,
    /// DATA: PPID. I-DATA: PPID when B is set, else the fragment sequence number.
    pub(crate) ppid_or_fsn: u32,
    /// I-DATA message identifier; `None` for DATA.
    pub(crate) mid: Option<u32>,
    pub(crate) data: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks an SCTP packet's chunks, keeping DATA and I-DATA.
pub(crate) fn parse(p: &[u8]) -> Result<Packet<'_>, String> {
    if p.len() < 12 {
        return Err(format!(
            "SCTP packet of {} bytes, shorter than its common header",
            p.len()
        ));
    }
    let mut packet = Packet {
        src_port: be16(p, 0),
        dst_port: be16(p, 2),
        verification_tag: be32(p, 4),
        chunks: Vec::new(),
        error: None,
    };
    let mut pos = 12;
    while pos + 4 <= p.len() {
        let (ty, flags, len) = (p[pos], p[pos + 1], usize::from(be16(p, pos + 2)));
        let min = match ty {
            CHUNK_DATA => 16,
            CHUNK_IDATA => 20,
            _ => 4,
        };
        if len < min || pos + len > p.len() {
            packet.error = Some(format!(
                "SCTP chunk type {ty} at offset {pos}: length {len} (packet has {} bytes)",
                p.len()
            ));
            break;
        }
        let c = &p[pos..pos + len];
        match ty {
            CHUNK_DATA => packet.chunks.push(DataChunk {
                tsn: be32(c, 4),
                stream: be16(c, 8),
                flags,
                ppid_or_fsn: be32(c, 12),
                mid: None,
                data: &c[16..],
            }),
            CHUNK_IDATA => packet.chunks.push(DataChunk {
                tsn: be32(c, 4),
                stream: be16(c, 8),
                flags,
                ppid_or_fsn: be32(c, 16),
                mid: Some(be32(c, 12)),
                data: &c[20..],
            }),
            _ => {}
        }
        // Chunks are padded to 4 bytes; the last one's padding may be missing.
        pos += len.div_ceil(4) * 4;
    }
    Ok(packet)
}

/// A reassembled user message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UserMessage {
    pub(crate) stream: u16,
    pub(crate) ppid: u32,
    pub(crate) data: Vec<u8>,
}

/// One direction of an association: source port, destination port, and the verification
/// tag the receiver chose (so paths of a multihomed association share one state).
pub(crate) type DirKey = (u16, u16, u32);

#[derive(Debug)]
struct Fragment {
    flags: u8,
    stream: u16,
    ppid: u32,
    data: Vec<u8>,
}

/// An I-DATA message being put together.
#[derive(Debug, Default)]
struct Pieces {
    ppid: Option<u32>,
    last: Option<u32>,
    parts: BTreeMap<u32, Vec<u8>>,
}

#[derive(Debug, Default)]
struct Direction {
    fragments: HashMap<u32, Fragment>,
    pieces: HashMap<(u16, bool, u32), Pieces>,
    held: usize,
    seen: HashSet<u32>,
    seen_order: VecDeque<u32>,
}

impl Direction {
    fn remember(&mut self, tsn: u32) {
        if self.seen.insert(tsn) {
            self.seen_order.push_back(tsn);
            if self.seen_order.len() > SEEN_WINDOW {
                if let Some(old) = self.seen_order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
    }

    fn chunk(&mut self, c: &DataChunk<'_>) -> Option<UserMessage> {
        if self.seen.contains(&c.tsn) || self.fragments.contains_key(&c.tsn) {
            return None; // retransmission
        }
        if c.mid.is_some() {
            return self.idata(c);
        }
        if c.flags & (FLAG_B | FLAG_E) == FLAG_B | FLAG_E {
            self.remember(c.tsn);
            return Some(UserMessage {
                stream: c.stream,
                ppid: c.ppid_or_fsn,
                data: c.data.to_vec(),
            });
        }
        self.held += c.data.len();
        self.fragments.insert(
            c.tsn,
            Fragment {
                flags: c.flags,
                stream: c.stream,
                ppid: c.ppid_or_fsn,
                data: c.data.to_vec(),
            },
        );
        self.assemble(c.tsn)
    }

    /// Completes the message `tsn` belongs to, if its fragments from B to E are all held.
    fn assemble(&mut self, tsn: u32) -> Option<UserMessage> {
        let limit = self.fragments.len();
        // Walking back to B (or forward to E) must not cross the end (or start) of another
        // message.
        let mut first = tsn;
        for _ in 0..=limit {
            let flags = self.fragments.get(&first)?.flags;
            if first != tsn && flags & FLAG_E != 0 {
                return None;
            }
            if flags & FLAG_B != 0 {
                break;
            }
            first = first.wrapping_sub(1);
        }
        let mut last = tsn;
        for _ in 0..=limit {
            let flags = self.fragments.get(&last)?.flags;
            if last != tsn && flags & FLAG_B != 0 {
                return None;
            }
            if flags & FLAG_E != 0 {
                break;
            }
            last = last.wrapping_add(1);
        }
        let head = self.fragments.get(&first)?;
        if head.flags & FLAG_B == 0 || self.fragments.get(&last)?.flags & FLAG_E == 0 {
            return None;
        }
        let (stream, ppid) = (head.stream, head.ppid);
        let mut data = Vec::new();
        let mut t = first;
        loop {
            if let Some(f) = self.fragments.remove(&t) {
                self.held -= f.data.len();
                data.extend_from_slice(&f.data);
            }
            self.remember(t);
            if t == last {
                break;
            }
            t = t.wrapping_add(1);
        }
        Some(UserMessage { stream, ppid, data })
    }

    fn idata(&mut self, c: &DataChunk<'_>) -> Option<UserMessage> {
        self.remember(c.tsn);
        let key = (c.stream, c.flags & FLAG_U != 0, c.mid.unwrap_or(0));
        let p = self.pieces.entry(key).or_default();
        let fsn = if c.flags & FLAG_B != 0 {
            p.ppid = Some(c.ppid_or_fsn);
            0
        } else {
            c.ppid_or_fsn
        };
        if c.flags & FLAG_E != 0 {
            p.last = Some(fsn);
        }
        if let std::collections::btree_map::Entry::Vacant(e) = p.parts.entry(fsn) {
            self.held += c.data.len();
            e.insert(c.data.to_vec());
        }
        let complete = matches!((p.ppid, p.last), (Some(_), Some(last)) if p.parts.len() as u64 == u64::from(last) + 1);
        if !complete {
            return None;
        }
        let p = self.pieces.remove(&key)?;
        let data: Vec<u8> = p.parts.into_values().flatten().collect();
        self.held -= data.len();
        Some(UserMessage {
            stream: c.stream,
            ppid: p.ppid.unwrap_or(0),
            data,
        })
    }

    fn incomplete(&self) -> usize {
        self.fragments.len() + self.pieces.values().map(|p| p.parts.len()).sum::<usize>()
    }
}

/// What reassembly gives.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Output {
    Message(UserMessage),
    /// Fragments given up (too much held without completing).
    Warning(String),
}

/// Every SCTP association direction seen, in order of appearance.
#[derive(Debug, Default)]
pub(crate) struct Sctp {
    index: HashMap<DirKey, usize>,
    dirs: Vec<(DirKey, Direction)>,
}

impl Sctp {
    /// Adds one DATA or I-DATA chunk; a user message it completes is pushed to `out`.
    pub(crate) fn chunk(&mut self, key: DirKey, c: &DataChunk<'_>, out: &mut Vec<Output>) {
        let i = *self.index.entry(key).or_insert_with(|| {
            self.dirs.push((key, Direction::default()));
            self.dirs.len() - 1
        });
        let dir = &mut self.dirs[i].1;
        if let Some(m) = dir.chunk(c) {
            out.push(Output::Message(m));
        }
        if dir.held > MAX_HELD {
            out.push(Output::Warning(format!(
                "SCTP ports {} -> {}: {} fragments of incomplete messages dropped",
                key.0,
                key.1,
                dir.incomplete()
            )));
            dir.fragments.clear();
            dir.pieces.clear();
            dir.held = 0;
        }
    }

    /// End of capture: a warning for every direction left with fragments.
    pub(crate) fn finish(&mut self) -> Vec<String> {
        self.dirs
            .iter()
            .filter(|(_, d)| d.incomplete() > 0)
            .map(|((sport, dport, _), d)| {
                format!(
                    "SCTP ports {sport} -> {dport}: {} fragments of incomplete messages at end of capture",
                    d.incomplete()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(tsn: u32, flags: u8, stream: u16, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut c = vec![CHUNK_DATA, flags];
        c.extend_from_slice(&(len as u16).to_be_bytes());
        c.extend_from_slice(&tsn.to_be_bytes());
        c.extend_from_slice(&stream.to_be_bytes());
        c.extend_from_slice(&[0, 0]);
        c.extend_from_slice(&PPID_DIAMETER.to_be_bytes());
        c.extend_from_slice(payload);
        c.resize(len.div_ceil(4) * 4, 0);
        c
    }

    fn packet(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut p = vec![0x0f, 0x1c, 0x0f, 0x1c, 0, 0, 0, 7, 0, 0, 0, 0];
        // A SACK chunk first: not data, skipped.
        p.extend_from_slice(&[3, 0, 0, 4]);
        for c in chunks {
            p.extend_from_slice(c);
        }
        p
    }

    fn feed(sctp: &mut Sctp, p: &[u8], out: &mut Vec<Output>) {
        let parsed = parse(p).unwrap();
        assert!(parsed.error.is_none());
        for c in &parsed.chunks {
            sctp.chunk(
                (parsed.src_port, parsed.dst_port, parsed.verification_tag),
                c,
                out,
            );
        }
    }

    #[test]
    fn fragments_bundles_and_retransmissions() {
        let mut sctp = Sctp::default();
        let mut out = Vec::new();
        // Message A in three fragments (TSN wraps), message B whole, sent out of order and
        // with a retransmission.
        let p1 = packet(&[
            data(u32::MAX, FLAG_B, 1, b"aaa"),
            data(5, FLAG_B | FLAG_E, 2, b"bb"),
        ]);
        let p2 = packet(&[data(1, FLAG_E, 1, b"ccc")]);
        let p3 = packet(&[data(0, 0, 1, b"bbb"), data(1, FLAG_E, 1, b"ccc")]);
        for p in [&p1, &p2, &p3, &p1] {
            feed(&mut sctp, p, &mut out);
        }
        assert_eq!(
            out,
            [
                Output::Message(UserMessage {
                    stream: 2,
                    ppid: 46,
                    data: b"bb".to_vec()
                }),
                Output::Message(UserMessage {
                    stream: 1,
                    ppid: 46,
                    data: b"aaabbbccc".to_vec()
                }),
            ]
        );
        assert!(sctp.finish().is_empty());
    }

    fn idata(tsn: u32, flags: u8, mid: u32, ppid_or_fsn: u32, payload: &[u8]) -> Vec<u8> {
        let len = 20 + payload.len();
        let mut c = vec![CHUNK_IDATA, flags];
        c.extend_from_slice(&(len as u16).to_be_bytes());
        c.extend_from_slice(&tsn.to_be_bytes());
        c.extend_from_slice(&3u16.to_be_bytes());
        c.extend_from_slice(&[0, 0]);
        c.extend_from_slice(&mid.to_be_bytes());
        c.extend_from_slice(&ppid_or_fsn.to_be_bytes());
        c.extend_from_slice(payload);
        c.resize(len.div_ceil(4) * 4, 0);
        c
    }

    #[test]
    fn idata_messages_interleaved() {
        let mut sctp = Sctp::default();
        let mut out = Vec::new();
        // Two messages on one stream, their fragments interleaved (what I-DATA allows).
        let p1 = packet(&[
            idata(10, FLAG_B, 1, 46, b"a1"),
            idata(11, FLAG_B, 2, 46, b"b1"),
        ]);
        let p2 = packet(&[idata(13, FLAG_E, 1, 2, b"a3"), idata(12, 0, 1, 1, b"a2")]);
        let p3 = packet(&[idata(14, FLAG_E, 2, 1, b"b2"), idata(12, 0, 1, 1, b"a2")]);
        for p in [&p1, &p2, &p3] {
            feed(&mut sctp, p, &mut out);
        }
        assert_eq!(
            out,
            [
                Output::Message(UserMessage {
                    stream: 3,
                    ppid: 46,
                    data: b"a1a2a3".to_vec()
                }),
                Output::Message(UserMessage {
                    stream: 3,
                    ppid: 46,
                    data: b"b1b2".to_vec()
                }),
            ]
        );
        assert!(sctp.finish().is_empty());
    }

    #[test]
    fn bad_chunk_length_keeps_earlier_chunks() {
        let mut p = packet(&[data(1, FLAG_B | FLAG_E, 0, b"x")]);
        p.extend_from_slice(&[0, 3, 0, 200]);
        let parsed = parse(&p).unwrap();
        assert_eq!(parsed.chunks.len(), 1);
        assert!(parsed.error.unwrap().contains("length 200"));
    }
}
