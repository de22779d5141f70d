//! TCP stream reassembly per direction: segments are put in sequence-number order
//! (retransmissions and overlaps trimmed, out-of-order segments held until the gap before
//! them fills), then the byte stream is framed into Diameter messages.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use crate::framing::{Event, Framer};

/// Bytes held out of order in one direction before the missing data is given up as lost.
const MAX_PENDING: usize = 16 * 1024 * 1024;

/// One direction of a connection: source, destination.
pub(crate) type FlowKey = (SocketAddr, SocketAddr);

/// What a segment brings.
pub(crate) struct Segment<'a> {
    pub(crate) seq: u32,
    pub(crate) syn: bool,
    pub(crate) payload: &'a [u8],
}

#[derive(Debug)]
struct Direction {
    key: FlowKey,
    /// Sequence number of the next byte expected.
    next_seq: u32,
    /// Stream offset of the next byte expected.
    next_off: u64,
    /// Out-of-order data by stream offset.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Whether the SYN was seen (the stream offsets start at the first byte).
    from_syn: bool,
    framer: Framer,
}

impl Direction {
    fn new(key: FlowKey, next_seq: u32, from_syn: bool, known: bool) -> Self {
        let framer = match (known, from_syn) {
            (true, true) => Framer::synced(),
            (true, false) => Framer::mid_stream(),
            (false, _) => Framer::detect(),
        };
        Self {
            key,
            next_seq,
            next_off: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            from_syn,
            framer,
        }
    }

    fn deliver(&mut self, data: &[u8], out: &mut Vec<Event>) {
        self.framer.push(data, out);
        self.next_seq = self.next_seq.wrapping_add(data.len() as u32);
        self.next_off += data.len() as u64;
    }

    fn segment(&mut self, seq: u32, payload: &[u8], out: &mut Vec<Event>) {
        if payload.is_empty() || self.framer.is_ignored() {
            return;
        }
        // Signed distance handles sequence-number wrap-around.
        let delta = i64::from(seq.wrapping_sub(self.next_seq) as i32);
        let start = self.next_off as i64 + delta;
        let end = start + payload.len() as i64;
        if end <= self.next_off as i64 {
            return; // retransmission of data already delivered
        }
        if start <= self.next_off as i64 {
            let skip = (self.next_off as i64 - start) as usize;
            self.deliver(&payload[skip..], out);
            self.drain_pending(out);
            return;
        }
        let start = start as u64;
        let keep = self
            .pending
            .get(&start)
            .is_none_or(|held| held.len() < payload.len());
        if keep {
            if let Some(old) = self.pending.insert(start, payload.to_vec()) {
                self.pending_bytes -= old.len();
            }
            self.pending_bytes += payload.len();
        }
        if self.pending_bytes > MAX_PENDING {
            self.skip_gap(out);
        }
    }

    /// Delivers held segments that now follow on.
    fn drain_pending(&mut self, out: &mut Vec<Event>) {
        while let Some(entry) = self.pending.first_entry() {
            let start = *entry.key();
            if start > self.next_off {
                break;
            }
            let data = entry.remove();
            self.pending_bytes -= data.len();
            let end = start + data.len() as u64;
            if end > self.next_off {
                let skip = (self.next_off - start) as usize;
                self.deliver(&data[skip..], out);
            }
        }
    }

    /// Gives up on the missing bytes before the first held segment.
    fn skip_gap(&mut self, out: &mut Vec<Event>) {
        let Some((&start, _)) = self.pending.first_key_value() else {
            return;
        };
        let missing = start - self.next_off;
        self.framer.gap(missing, out);
        self.next_seq = self.next_seq.wrapping_add(missing as u32);
        self.next_off = start;
        self.drain_pending(out);
    }

    fn finish(&mut self, out: &mut Vec<Event>) {
        while !self.pending.is_empty() {
            self.skip_gap(out);
        }
        self.framer.finish(false, out);
    }
}

/// Every TCP direction seen, in order of appearance.
#[derive(Debug, Default)]
pub(crate) struct Tcp {
    index: HashMap<FlowKey, usize>,
    flows: Vec<Direction>,
}

impl Tcp {
    /// Adds a segment. `known`: the ports say Diameter; otherwise the stream is used only if
    /// it starts with well-formed messages. Events come with the stream offset base of the
    /// direction they belong to.
    pub(crate) fn segment(
        &mut self,
        key: FlowKey,
        seg: &Segment<'_>,
        known: bool,
        out: &mut Vec<Event>,
    ) {
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                if !seg.syn && seg.payload.is_empty() {
                    return; // a pure ACK tells nothing about the stream's position
                }
                let (next_seq, from_syn) = if seg.syn {
                    (seg.seq.wrapping_add(1), true)
                } else {
                    (seg.seq, false)
                };
                self.flows
                    .push(Direction::new(key, next_seq, from_syn, known));
                self.index.insert(key, self.flows.len() - 1);
                self.flows.len() - 1
            }
        };
        let dir = &mut self.flows[i];
        let mut seq = seg.seq;
        if seg.syn {
            let isn_next = seg.seq.wrapping_add(1);
            let same = dir.from_syn && isn_next == dir.next_seq.wrapping_sub(dir.next_off as u32);
            if !same {
                // A new connection on the same addresses and ports: close the old stream.
                dir.finish(out);
                *dir = Direction::new(key, isn_next, true, known);
            }
            seq = isn_next;
        }
        dir.segment(seq, seg.payload, out);
    }

    /// End of capture: held data is delivered after its gaps, and what is left reported.
    /// Calls `each` with the key of every direction and its events.
    pub(crate) fn finish(&mut self, mut each: impl FnMut(FlowKey, &mut Vec<Event>)) {
        let mut out = Vec::new();
        for dir in &mut self.flows {
            dir.finish(&mut out);
            if !out.is_empty() {
                each(dir.key, &mut out);
                out.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FlowKey {
        (
            "10.0.0.1:5000".parse().unwrap(),
            "10.0.0.2:3868".parse().unwrap(),
        )
    }

    fn messages(out: &[Event]) -> Vec<Vec<u8>> {
        out.iter()
            .filter_map(|e| match e {
                Event::Message { bytes, .. } => Some(bytes.to_vec()),
                Event::Skipped { .. } => None,
            })
            .collect()
    }

    fn message(fill: u8) -> Vec<u8> {
        let mut m = vec![1, 0, 0, 32, 0x80, 0, 1, 24, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0, 0, fill, 0, 0, 0, fill]);
        // One AVP: Origin-State-Id (278), 12 bytes.
        m.extend_from_slice(&[0, 0, 1, 22, 0x40, 0, 0, 12, 0, 0, 0, fill]);
        assert_eq!(m.len(), 32);
        m
    }

    #[test]
    fn out_of_order_retransmitted_and_wrapped() {
        let stream: Vec<u8> = [message(1), message(2), message(3)].concat();
        let isn = u32::MAX - 30; // wraps inside the stream
        let mut tcp = Tcp::default();
        let mut out = Vec::new();
        let seg = |off: usize, len: usize| (isn.wrapping_add(1 + off as u32), off, len);
        tcp.segment(
            key(),
            &Segment {
                seq: isn,
                syn: true,
                payload: &[],
            },
            true,
            &mut out,
        );
        for (seq, off, len) in [
            seg(40, 56),
            seg(0, 20),
            seg(10, 20),
            seg(0, 20),
            seg(30, 10),
        ] {
            let payload = &stream[off..off + len];
            tcp.segment(
                key(),
                &Segment {
                    seq,
                    syn: false,
                    payload,
                },
                true,
                &mut out,
            );
        }
        tcp.finish(|_, ev| out.append(ev));
        assert_eq!(messages(&out), [message(1), message(2), message(3)]);
        assert_eq!(out.len(), 3, "{out:?}");
    }

    #[test]
    fn lost_segment_resumes_at_next_message() {
        let stream: Vec<u8> = [message(1), message(2), message(3)].concat();
        let mut tcp = Tcp::default();
        let mut out = Vec::new();
        tcp.segment(
            key(),
            &Segment {
                seq: 99,
                syn: true,
                payload: &[],
            },
            true,
            &mut out,
        );
        tcp.segment(
            key(),
            &Segment {
                seq: 100,
                syn: false,
                payload: &stream[..40],
            },
            true,
            &mut out,
        );
        tcp.segment(
            key(),
            &Segment {
                seq: 150,
                syn: false,
                payload: &stream[50..],
            },
            true,
            &mut out,
        );
        tcp.finish(|_, ev| out.append(ev));
        assert_eq!(messages(&out), [message(1), message(3)]);
        assert!(
            out.iter()
                .all(|e| !matches!(e, Event::Skipped { error: true, .. }))
        );
    }
}
