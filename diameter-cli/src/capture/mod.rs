//! Diameter messages from pcap and pcapng captures.
//!
//! Link layers: Ethernet (with VLAN tags), Linux cooked capture v1 (SLL) and v2 (SLL2), raw
//! IP, BSD loopback. IPv4 and IPv6, with IP fragments reassembled. TCP streams are put back
//! in order per direction ([`tcp`]); SCTP DATA and I-DATA chunks are reassembled into user
//! messages ([`sctp`]). Messages are reported in the order their last byte was captured.
//!
//! Which traffic is Diameter: with `--port`, TCP and SCTP on those ports only. Otherwise
//! port 3868, SCTP PPID 46, and any other TCP stream or SCTP user message that starts with
//! a well-formed Diameter message.

mod sctp;
mod tcp;

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use etherparse::{EtherType, IpNumber, NetSlice, SlicedPacket, TcpSlice, defrag::IpDefragPool};
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use serde_json::{Value, json};

use crate::framing::{Framer, plausible_header};
use crate::input::{Emit, Item, Origin, emit_events};

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

/// Transport a captured message came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Sctp,
}

/// Where in a capture a message was found.
#[derive(Clone, Debug)]
pub(crate) struct Meta {
    /// Packet number (1-based, as Wireshark counts) holding the message's last byte; `None`
    /// for what is reported at the end of the capture.
    pub(crate) frame: Option<u64>,
    /// Capture time since the Unix epoch.
    pub(crate) time: Option<Duration>,
    pub(crate) transport: Transport,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    /// TCP: offset of the message in its direction's byte stream.
    pub(crate) stream_offset: Option<u64>,
    /// SCTP: stream identifier.
    pub(crate) sctp_stream: Option<u16>,
}

impl Meta {
    /// The `"capture"` member added to a message's JSON.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "frame": self.frame,
            "transport": match self.transport { Transport::Tcp => "tcp", Transport::Sctp => "sctp" },
            "src": self.src.to_string(),
            "dst": self.dst.to_string(),
        });
        if let Some(t) = self.time {
            v["time"] = rfc3339(t).into();
        }
        if let Some(o) = self.stream_offset {
            v["stream_offset"] = o.into();
        }
        if let Some(s) = self.sctp_stream {
            v["sctp_stream"] = s.into();
        }
        v
    }
}

impl fmt::Display for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.frame {
            Some(n) => write!(f, "frame {n}")?,
            None => f.write_str("end of capture")?,
        }
        let t = match self.transport {
            Transport::Tcp => "tcp",
            Transport::Sctp => "sctp",
        };
        write!(f, ", {t} {} -> {}", self.src, self.dst)?;
        if let Some(o) = self.stream_offset {
            write!(f, ", stream offset {o}")?;
        }
        if let Some(s) = self.sctp_stream {
            write!(f, ", stream {s}")?;
        }
        Ok(())
    }
}

/// Formats a time since the Unix epoch as RFC 3339 UTC with microseconds.
pub(crate) fn rfc3339(t: Duration) -> String {
    let secs = t.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        t.subsec_micros()
    )
}

/// One captured packet.
struct Packet<'a> {
    frame: u64,
    time: Option<Duration>,
    link: DataLink,
    data: &'a [u8],
}

/// Reads a pcap or pcapng capture (told apart by the magic number) and reports every
/// Diameter message in it.
pub(crate) fn read(mut reader: impl Read, opts: &Options, emit: &mut Emit<'_>) -> Result<()> {
    let mut magic = [0u8; 4];
    reader
        .read_exact(&mut magic)
        .context("not a pcap or pcapng capture: too short")?;
    let reader = io::Cursor::new(magic).chain(reader);
    let mut d = Dissector::new(opts);
    let read = match u32::from_be_bytes(magic) {
        0x0a0d_0d0a => read_pcapng(reader, &mut d, emit),
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => read_pcap(reader, &mut d, emit),
        m => bail!("not a pcap or pcapng capture (magic number {m:#010x})"),
    };
    // Whatever was read is still reassembled and reported.
    let finish = d.finish(emit);
    read.and(finish)
}

fn read_pcap(reader: impl Read, d: &mut Dissector<'_>, emit: &mut Emit<'_>) -> Result<()> {
    let mut pcap = PcapReader::new(reader).context("reading the pcap header")?;
    let link = pcap.header().datalink;
    let mut frame = 0;
    while let Some(packet) = pcap.next_packet() {
        frame += 1;
        let packet = packet.with_context(|| format!("reading packet {frame} of the capture"))?;
        d.packet(
            &Packet {
                frame,
                time: Some(packet.timestamp),
                link,
                data: &packet.data,
            },
            emit,
        )?;
    }
    Ok(())
}

/// An interface of a pcapng section: its link type and timestamp resolution.
struct Interface {
    link: DataLink,
    tsresol: u8,
}

/// A pcapng timestamp in units of the interface's `if_tsresol` (pcap-file 2 hands the raw
/// 64-bit count over as nanoseconds whatever the resolution).
fn pcapng_time(raw: u64, tsresol: u8) -> Option<Duration> {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 {
        let units = 1u128.checked_shl(exp)?;
        let nanos = u128::from(raw) * 1_000_000_000 / units;
        return Some(Duration::from_nanos(u64::try_from(nanos).ok()?));
    }
    let units = 10u64.checked_pow(exp)?;
    let secs = raw / units;
    let frac = u128::from(raw % units) * 1_000_000_000 / u128::from(units);
    Some(Duration::new(secs, frac as u32))
}

fn read_pcapng(reader: impl Read, d: &mut Dissector<'_>, emit: &mut Emit<'_>) -> Result<()> {
    let mut pcapng = PcapNgReader::new(reader).context("reading the pcapng section header")?;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut frame = 0;
    while let Some(block) = pcapng.next_block() {
        let block = block.with_context(|| format!("reading the capture after packet {frame}"))?;
        let (iface, raw_time, data) = match &block {
            Block::SectionHeader(_) => {
                interfaces.clear();
                continue;
            }
            Block::InterfaceDescription(idb) => {
                let tsresol = idb
                    .options
                    .iter()
                    .find_map(|o| match o {
                        InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                        _ => None,
                    })
                    .unwrap_or(6);
                interfaces.push(Interface {
                    link: idb.linktype,
                    tsresol,
                });
                continue;
            }
            Block::EnhancedPacket(epb) => (
                epb.interface_id as usize,
                Some(epb.timestamp.as_nanos() as u64),
                &epb.data,
            ),
            Block::SimplePacket(spb) => (0, None, &spb.data),
            Block::Packet(pb) => (usize::from(pb.interface_id), Some(pb.timestamp), &pb.data),
            _ => continue,
        };
        frame += 1;
        let Some(iface) = interfaces.get(iface) else {
            emit(Item::Warning(format!(
                "frame {frame}: no interface {iface} described before it; skipped"
            )))?;
            continue;
        };
        d.packet(
            &Packet {
                frame,
                time: raw_time.and_then(|t| pcapng_time(t, iface.tsresol)),
                link: iface.link,
                data,
            },
            emit,
        )?;
    }
    Ok(())
}

/// Slices a frame by its link type down to IP. `Ok(None)`: link type not supported.
fn slice_link(link: DataLink, data: &[u8]) -> Result<Option<SlicedPacket<'_>>, String> {
    let sliced = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data),
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data),
        // SLL2: protocol type (2), reserved (2), interface index (4), ARPHRD type (2),
        // packet type (1), address length (1), address (8).
        DataLink::LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(format!(
                    "Linux cooked v2 header truncated ({} bytes)",
                    data.len()
                ));
            }
            let ether_type = EtherType(u16::from_be_bytes([data[0], data[1]]));
            SlicedPacket::from_ether_type(ether_type, &data[20..])
        }
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 | DataLink::Unknown(12 | 14) => {
            SlicedPacket::from_ip(data)
        }
        // BSD loopback: a 4-byte address family, then IP.
        DataLink::NULL | DataLink::LOOP => {
            SlicedPacket::from_ip(data.get(4..).ok_or("loopback header truncated")?)
        }
        _ => return Ok(None),
    };
    sliced.map(Some).map_err(|e| e.to_string())
}

/// Reassembly state over a whole capture.
struct Dissector<'o> {
    opts: &'o Options,
    defrag: IpDefragPool,
    tcp: tcp::Tcp,
    sctp: sctp::Sctp,
    unsupported: Vec<DataLink>,
    events: Vec<crate::framing::Event>,
    sctp_out: Vec<sctp::Output>,
}

impl<'o> Dissector<'o> {
    fn new(opts: &'o Options) -> Self {
        Self {
            opts,
            defrag: IpDefragPool::new(),
            tcp: tcp::Tcp::default(),
            sctp: sctp::Sctp::default(),
            unsupported: Vec::new(),
            events: Vec::new(),
            sctp_out: Vec::new(),
        }
    }

    fn packet(&mut self, p: &Packet<'_>, emit: &mut Emit<'_>) -> Result<()> {
        let warn = |emit: &mut Emit<'_>, what: String| {
            emit(Item::Warning(format!(
                "frame {}: {what}; packet skipped",
                p.frame
            )))
        };
        let sliced = match slice_link(p.link, p.data) {
            Ok(Some(s)) => s,
            Ok(None) => {
                if self.unsupported.contains(&p.link) {
                    return Ok(());
                }
                self.unsupported.push(p.link);
                return warn(emit, format!("link type {:?} not supported", p.link));
            }
            Err(e) => return warn(emit, e),
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
                Err(e) => return warn(emit, format!("IP reassembly: {e}")),
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
            Err(e) => {
                return emit(Item::Warning(format!(
                    "frame {}: TCP: {e}; packet skipped",
                    p.frame
                )));
            }
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
        let origin = |offset| {
            Origin::Capture(Box::new(Meta {
                frame: Some(p.frame),
                time: p.time,
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
            Err(e) => {
                return emit(Item::Warning(format!(
                    "frame {}: {e}; packet skipped",
                    p.frame
                )));
            }
        };
        let (sport, dport) = (packet.src_port, packet.dst_port);
        if !self.opts.wanted(sport, dport) {
            return Ok(());
        }
        if let Some(e) = &packet.error {
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
    fn finish(&mut self, emit: &mut Emit<'_>) -> Result<()> {
        let mut result = Ok(());
        self.tcp.finish(|key, events| {
            if result.is_ok() {
                let origin = |offset| {
                    Origin::Capture(Box::new(Meta {
                        frame: None,
                        time: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formatting() {
        assert_eq!(rfc3339(Duration::new(0, 0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(Duration::new(1_709_210_096, 123_456_789)),
            "2024-02-29T12:34:56.123456Z"
        );
        assert_eq!(pcapng_time(1_500_000, 6), Some(Duration::from_millis(1500)));
        assert_eq!(
            pcapng_time(1_500_000_000, 9),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            pcapng_time(3 << 18, 0x80 | 19),
            Some(Duration::from_millis(1500))
        );
    }
}
