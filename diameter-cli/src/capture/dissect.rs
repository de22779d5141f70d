//! From IP packets to Diameter messages: IP fragments put together (etherparse's
//! defragmentation pool), TCP and SCTP handed to their reassembly, frames that cannot be
//! read counted.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Result;
use etherparse::{IpNumber, NetSlice, TcpSlice, defrag::IpDefragPool};

use super::file::Packet;
use super::meta::{Meta, Transport};
use super::{Options, link, sctp, tcp};
use crate::framing::{Framer, plausible_header};
use crate::input::{Emit, Item, Origin, emit_events};

/// Reassembly state over a whole capture.
pub(super) struct Dissector<'o> {
    opts: &'o Options,
    defrag: IpDefragPool,
    tcp: tcp::Tcp,
    sctp: sctp::Sctp,
    /// Link types already reported as not supported (reported once, counted always).
    unsupported: Vec<i32>,
    /// Frames that could not be read, or whose rest could not be.
    pub(super) skipped: u64,
    /// Time of the first packet: relative times count from it.
    first: Option<Duration>,
    events: Vec<crate::framing::Event>,
    sctp_out: Vec<sctp::Output>,
}

impl<'o> Dissector<'o> {
    pub(super) fn new(opts: &'o Options) -> Self {
        Self {
            opts,
            defrag: IpDefragPool::new(),
            tcp: tcp::Tcp::default(),
            sctp: sctp::Sctp::default(),
            unsupported: Vec::new(),
            skipped: 0,
            first: None,
            events: Vec::new(),
            sctp_out: Vec::new(),
        }
    }

    /// Time of `p` since the first packet.
    fn relative(&self, p: &Packet<'_>) -> Option<Duration> {
        p.time?.checked_sub(self.first?)
    }

    /// Counts a frame that cannot be read and says why.
    fn skip(
        &mut self,
        frame: u64,
        what: impl std::fmt::Display,
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        self.skipped += 1;
        emit(Item::Warning(format!(
            "frame {frame}: {what}; packet skipped"
        )))
    }

    pub(super) fn packet(&mut self, p: &Packet<'_>, emit: &mut Emit<'_>) -> Result<()> {
        if self.first.is_none() {
            self.first = p.time;
        }
        let Some(linktype) = p.link else {
            return self.skip(p.frame, "no interface described for it", emit);
        };
        let sliced = match link::slice(linktype, p.data) {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(()),
            Err(link::LinkError::Unsupported(l)) => {
                if self.unsupported.contains(&l) {
                    self.skipped += 1;
                    return Ok(());
                }
                self.unsupported.push(l);
                return self.skip(
                    p.frame,
                    format_args!(
                        "link type {l} not supported (further frames of it skipped silently)"
                    ),
                    emit,
                );
            }
            Err(e) => return self.skip(p.frame, e, emit),
        };
        let (src, dst) = match &sliced.net {
            Some(NetSlice::Ipv4(ip)) => (
                IpAddr::V4(ip.header().source_addr()),
                IpAddr::V4(ip.header().destination_addr()),
            ),
            Some(NetSlice::Ipv6(ip)) => (
                IpAddr::V6(ip.header().source_addr()),
                IpAddr::V6(ip.header().destination_addr()),
            ),
            _ => return Ok(()),
        };
        let Some(payload) = sliced.ip_payload() else {
            return Ok(());
        };
        let whole;
        let (proto, data) = if payload.fragmented {
            match self.defrag.process_sliced_packet(&sliced, (), ()) {
                Ok(Some(v)) => {
                    whole = v;
                    (whole.ip_number, &whole.payload[..])
                }
                Ok(None) => return Ok(()),
                Err(e) => return self.skip(p.frame, format_args!("IP reassembly: {e}"), emit),
            }
        } else {
            (payload.ip_number, payload.payload)
        };
        match proto {
            IpNumber::TCP => self.tcp(p, src, dst, data, emit),
            IpNumber::SCTP => self.sctp(p, src, dst, data, emit),
            _ => Ok(()),
        }
    }

    fn tcp(
        &mut self,
        p: &Packet<'_>,
        src: IpAddr,
        dst: IpAddr,
        data: &[u8],
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        let seg = match TcpSlice::from_slice(data) {
            Ok(s) => s,
            Err(e) => return self.skip(p.frame, format_args!("TCP: {e}"), emit),
        };
        let (sport, dport) = (seg.source_port(), seg.destination_port());
        if !self.opts.wanted(sport, dport) {
            return Ok(());
        }
        let key = (SocketAddr::new(src, sport), SocketAddr::new(dst, dport));
        let segment = tcp::Segment {
            seq: seg.sequence_number(),
            syn: seg.syn(),
            payload: seg.payload(),
        };
        self.tcp.segment(
            key,
            &segment,
            self.opts.known(sport, dport),
            &mut self.events,
        );
        let relative = self.relative(p);
        let origin = |offset| {
            Origin::Capture(Box::new(Meta {
                frame: Some(p.frame),
                time: p.time,
                relative,
                transport: Transport::Tcp,
                src: key.0,
                dst: key.1,
                stream_offset: Some(offset),
                sctp_stream: None,
            }))
        };
        emit_events(&mut self.events, origin, emit)
    }

    fn sctp(
        &mut self,
        p: &Packet<'_>,
        src: IpAddr,
        dst: IpAddr,
        data: &[u8],
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        let packet = match sctp::parse(data) {
            Ok(s) => s,
            Err(e) => return self.skip(p.frame, e, emit),
        };
        let (sport, dport) = (packet.src_port, packet.dst_port);
        if !self.opts.wanted(sport, dport) {
            return Ok(());
        }
        if let Some(e) = &packet.error {
            self.skipped += 1;
            emit(Item::Warning(format!(
                "frame {}: {e}; rest of packet skipped",
                p.frame
            )))?;
        }
        let key = (sport, dport, packet.verification_tag);
        for c in &packet.chunks {
            self.sctp.chunk(key, c, &mut self.sctp_out);
        }
        let known = self.opts.known(sport, dport);
        let relative = self.relative(p);
        let detect = self.opts.ports.is_empty();
        for out in std::mem::take(&mut self.sctp_out) {
            let m = match out {
                sctp::Output::Message(m) => m,
                sctp::Output::Warning(w) => {
                    emit(Item::Warning(format!("frame {}: {w}", p.frame)))?;
                    continue;
                }
            };
            let diameter = m.ppid != sctp::PPID_DIAMETER_DTLS
                && (known
                    || m.ppid == sctp::PPID_DIAMETER
                    || (detect && plausible_header(&m.data)));
            if !diameter {
                continue;
            }
            // One user message normally holds one Diameter message (RFC 6733 §2.1).
            let mut framer = Framer::synced();
            framer.push(&m.data, &mut self.events);
            framer.finish(true, &mut self.events);
            let origin = |_| {
                Origin::Capture(Box::new(Meta {
                    frame: Some(p.frame),
                    time: p.time,
                    relative,
                    transport: Transport::Sctp,
                    src: SocketAddr::new(src, sport),
                    dst: SocketAddr::new(dst, dport),
                    stream_offset: None,
                    sctp_stream: Some(m.stream),
                }))
            };
            emit_events(&mut self.events, origin, emit)?;
        }
        Ok(())
    }

    /// End of capture: flushes held TCP data and reports incomplete messages.
    pub(super) fn finish(&mut self, emit: &mut Emit<'_>) -> Result<()> {
        let mut result = Ok(());
        self.tcp.finish(|key, events| {
            if result.is_ok() {
                let origin = |offset| {
                    Origin::Capture(Box::new(Meta {
                        frame: None,
                        time: None,
                        relative: None,
                        transport: Transport::Tcp,
                        src: key.0,
                        dst: key.1,
                        stream_offset: Some(offset),
                        sctp_stream: None,
                    }))
                };
                result = emit_events(events, origin, emit);
            }
        });
        result?;
        for w in self.sctp.finish() {
            emit(Item::Warning(w))?;
        }
        Ok(())
    }
}
