//! Diameter messages from pcap and pcapng captures.
//!
//! [`file`](mod@file) reads the capture (pcap-parser), [`link`] slices each frame down to IP by its
//! link type (Ethernet with VLAN tags, Linux cooked v1 and v2 with any ARPHRD type, raw
//! IPv4/IPv6, BSD loopback), [`dissect`] puts IP fragments together and hands TCP to
//! [`tcp`] (per-direction reassembly: retransmissions and overlaps trimmed, out-of-order
//! segments held) and SCTP to [`sctp`] (DATA and I-DATA chunks, bundled and fragmented).
//! Messages are reported in the order their last byte was captured.
//!
//! Which traffic is Diameter: with `--port`, TCP and SCTP on those ports only. Otherwise
//! port 3868, SCTP PPID 46, and any other TCP stream or SCTP user message that starts with
//! a well-formed Diameter message.
//!
//! Frames that cannot be read (cut short, an unsupported link type, a bad IP, TCP or SCTP
//! header) are reported as warnings and counted in [`Report::skipped`]; a capture that
//! cannot be read to its end is an error, after everything before the damage is reported.

mod dissect;
mod file;
mod link;
mod meta;
mod sctp;
mod tcp;

use std::io::Read;

use anyhow::Result;

pub(crate) use meta::{Meta, rfc3339};

use crate::input::Emit;

/// The IANA port for Diameter over TCP and SCTP (RFC 6733 §2.1).
pub(crate) const DIAMETER_PORT: u16 = 3868;

/// Which traffic to decode.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// Only these ports; empty: 3868 plus detection.
    pub(crate) ports: Vec<u16>,
}

impl Options {
    fn wanted(&self, a: u16, b: u16) -> bool {
        self.ports.is_empty() || self.ports.contains(&a) || self.ports.contains(&b)
    }

    fn known(&self, a: u16, b: u16) -> bool {
        if self.ports.is_empty() {
            a == DIAMETER_PORT || b == DIAMETER_PORT
        } else {
            self.ports.contains(&a) || self.ports.contains(&b)
        }
    }
}

/// What reading a capture came to, besides the messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Packets in the capture (read, whether or not they held Diameter).
    pub(crate) frames: u64,
    /// Packets that could not be read, in whole or in part.
    pub(crate) skipped: u64,
}

/// Reads a pcap or pcapng capture and reports every Diameter message in it. On an error
/// (a capture cut short or corrupt) what was read before is still reassembled and
/// reported; the error is returned with the counts so far.
pub(crate) fn read(reader: impl Read, opts: &Options, emit: &mut Emit<'_>) -> (Report, Result<()>) {
    let mut d = dissect::Dissector::new(opts);
    let mut frames = 0;
    let read = file::read(reader, |p| {
        frames = p.frame;
        d.packet(p, emit)
    });
    let finish = d.finish(emit);
    let report = Report {
        frames,
        skipped: d.skipped,
    };
    (report, read.and(finish))
}
