//! The capture file: pcap (both byte orders, micro- and nanosecond timestamps) and pcapng
//! (several sections and interfaces, any byte order, `if_tsresol`/`if_tsoffset`), read by
//! rusticata's pcap-parser. It was chosen over pcap-file 2.0, which rejects pcapng option
//! lists that end without `opt_endofopt` (the pcapng specification tells readers to accept
//! them, and capture tools write them); pcap-parser reads options up to the end of the
//! block whether or not the end marker is there.
//!
//! What this module adds: telling the two formats apart with a clear error for anything
//! else, a full first read from readers that return short reads (pipes), growing the
//! buffer for large blocks up to a bound, the timestamp units, offset and arithmetic
//! (working around two pcap-parser 0.17 bugs, see [`ts_units`] and [`ts_offset`]), and the
//! mapping of packets to their interface's link type.

use std::io::{self, Read};
use std::time::Duration;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, Linktype, PcapBlockOwned, PcapError, PcapNGReader};

/// The buffer pcap-parser starts with.
const BUFFER: usize = 1 << 20;
/// No real packet or block comes near this (the largest snapshot length tools use is
/// 256 KiB); a length beyond it is a corrupt capture, not a reason to allocate.
const MAX_BLOCK: usize = 16 << 20;

/// Why a capture could not be read (to its end).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    #[error("empty input: not a pcap or pcapng capture")]
    Empty,
    #[error("not a pcap or pcapng capture (it starts with {0})")]
    NotACapture(String),
    #[error("reading the capture: {0}")]
    Io(#[from] io::Error),
    #[error(
        "the capture is cut short: an incomplete block or packet record at byte {offset} \
         (after packet {frame})"
    )]
    Truncated { offset: u64, frame: u64 },
    #[error("the capture is corrupt at byte {offset} (after packet {frame}): {reason}")]
    Corrupt {
        offset: u64,
        frame: u64,
        reason: String,
    },
}

/// One captured packet.
#[derive(Debug)]
pub(crate) struct Packet<'a> {
    /// Packet number, 1-based as Wireshark counts.
    pub(crate) frame: u64,
    /// Capture time since the Unix epoch; `None` where the file has none (pcapng simple
    /// packet blocks) or it does not fit.
    pub(crate) time: Option<Duration>,
    /// LINKTYPE_ value of its interface; `None` for a pcapng packet whose interface was
    /// never described (such a packet cannot be read).
    pub(crate) link: Option<Linktype>,
    pub(crate) data: &'a [u8],
}

/// pcap-parser checks the file header on its first read and takes that read for all
/// there is: from a pipe, a short first read would fail a good capture. So the first read
/// is filled up to [`FIRST_READ`] bytes (or the end of the input); later ones are passed
/// on as they come, so that a live capture piped in is decoded as it arrives.
struct Filling<R> {
    inner: R,
    first: bool,
}

/// Larger than any file header or first section header block seen in practice.
const FIRST_READ: usize = 64 * 1024;

impl<R: Read> Read for Filling<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = if self.first {
            self.first = false;
            buf.len().min(FIRST_READ)
        } else {
            1
        };
        let mut n = 0;
        while n < want {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // What was read is handed over; the error comes back on the next call.
                Err(_) if n > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

/// An interface of the current pcapng section.
struct Interface {
    link: Linktype,
    /// Timestamp units per second (`if_tsresol`).
    units: Option<u64>,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset: i64,
}

/// How packet times are counted in a classic pcap file.
struct Legacy {
    link: Linktype,
    nanos: bool,
}

/// Reads every packet of a pcap or pcapng capture, in file order, handing each to
/// `packet`. An error of `packet` stops the reading and is returned as is.
pub(crate) fn read<E: From<FileError>>(
    mut input: impl Read,
    mut packet: impl FnMut(&Packet<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut magic = [0u8; 4];
    let got = Filling {
        inner: &mut input,
        first: true,
    }
    .read(&mut magic)
    .map_err(FileError::Io)?;
    if got == 0 {
        return Err(FileError::Empty.into());
    }
    let pcapng = match u32::from_be_bytes(magic) {
        _ if got < 4 => return Err(not_a_capture(&magic[..got]).into()),
        0x0a0d_0d0a => true,
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 | 0x34cd_b2a1 => false,
        _ => return Err(not_a_capture(&magic).into()),
    };
    let input = Filling {
        inner: io::Cursor::new(magic).chain(input),
        first: true,
    };
    let started = if pcapng {
        PcapNGReader::new(BUFFER, input).map(|r| Box::new(r) as Box<dyn PcapReaderIterator>)
    } else {
        LegacyPcapReader::new(BUFFER, input).map(|r| Box::new(r) as Box<dyn PcapReaderIterator>)
    };
    let mut reader = match started {
        Ok(r) => r,
        Err(PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof) => {
            return Err(FileError::Truncated {
                offset: 0,
                frame: 0,
            }
            .into());
        }
        Err(e) => {
            return Err(FileError::Corrupt {
                offset: 0,
                frame: 0,
                reason: describe(&e),
            }
            .into());
        }
    };
    let mut capacity = BUFFER;
    let mut frame = 0u64;
    let mut interfaces: Vec<Interface> = Vec::new();
    // Byte order of the current pcapng section (for option values).
    let mut big_endian = false;
    let mut legacy = Legacy {
        link: Linktype::ETHERNET,
        nanos: false,
    };
    loop {
        let offset = reader.consumed() as u64;
        match reader.next() {
            Ok((size, block)) => {
                let p = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy = Legacy {
                            link: h.network,
                            nanos: h.is_nanosecond_precision(),
                        };
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if legacy.nanos {
                            b.ts_usec
                        } else {
                            b.ts_usec.saturating_mul(1000)
                        };
                        frame += 1;
                        Some(Packet {
                            frame,
                            time: (frac < 1_000_000_000)
                                .then(|| Duration::new(u64::from(b.ts_sec), frac)),
                            link: Some(legacy.link),
                            data: b.data,
                        })
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                        interfaces.clear();
                        big_endian = shb.big_endian();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            link: idb.linktype,
                            units: ts_units(idb.if_tsresol),
                            offset: ts_offset(&idb.options, big_endian),
                        });
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        frame += 1;
                        let iface = usize::try_from(epb.if_id)
                            .ok()
                            .and_then(|i| interfaces.get(i));
                        let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        Some(Packet {
                            frame,
                            time: iface.and_then(|i| pcapng_time(raw, i.units?, i.offset)),
                            link: iface.map(|i| i.link),
                            // Without the padding to 32 bits.
                            data: epb.data.get(..epb.caplen as usize).unwrap_or(epb.data),
                        })
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        frame += 1;
                        Some(Packet {
                            frame,
                            time: None,
                            link: interfaces.first().map(|i| i.link),
                            // The original length, when shorter, ends the padding.
                            data: spb.data.get(..spb.origlen as usize).unwrap_or(spb.data),
                        })
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                if let Some(p) = p {
                    packet(&p)?;
                }
                reader.consume(size);
            }
            Err(PcapError::Eof) => return Ok(()),
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    return Err(FileError::Truncated { offset, frame }.into());
                }
                reader.refill().map_err(|e| corrupt(offset, frame, &e))?;
            }
            Err(PcapError::BufferTooSmall) => {
                if reader.reader_exhausted() {
                    return Err(FileError::Truncated { offset, frame }.into());
                }
                if capacity >= MAX_BLOCK || !reader.grow(capacity * 2) {
                    return Err(FileError::Corrupt {
                        offset,
                        frame,
                        reason: format!(
                            "a block or packet record longer than {} MiB",
                            MAX_BLOCK >> 20
                        ),
                    }
                    .into());
                }
                capacity *= 2;
                reader.refill().map_err(|e| corrupt(offset, frame, &e))?;
            }
            Err(PcapError::UnexpectedEof) => {
                return Err(FileError::Truncated { offset, frame }.into());
            }
            Err(e) => return Err(corrupt(offset, frame, &e).into()),
        }
    }
}

fn not_a_capture(start: &[u8]) -> FileError {
    let hex: Vec<String> = start.iter().map(|b| format!("{b:02x}")).collect();
    FileError::NotACapture(hex.join(" "))
}

fn corrupt(offset: u64, frame: u64, e: &PcapError<&[u8]>) -> FileError {
    FileError::Corrupt {
        offset,
        frame,
        reason: describe(e),
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("malformed block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("malformed block ({kind:?})"),
        PcapError::HeaderNotRecognized => "file header not recognised".to_owned(),
        PcapError::ReadError => "read error".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Timestamp units per second from `if_tsresol` (pcapng §4.2): `10^n`, or `2^n` when the
/// top bit is set. Computed here: pcap-parser 0.17 refuses every binary resolution (it
/// compares the byte, top bit included, with 63).
fn ts_units(tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 {
        1u64.checked_shl(n).filter(|_| n < 64)
    } else {
        10u64.checked_pow(n)
    }
}

/// `if_tsoffset` (code 14, a signed 64-bit count of seconds) in the section's byte order:
/// pcap-parser 0.17 reads it little-endian whatever the section.
fn ts_offset(options: &[pcap_parser::PcapNGOption<'_>], big_endian: bool) -> i64 {
    options
        .iter()
        .find(|o| o.code.0 == 14)
        .and_then(|o| <[u8; 8]>::try_from(o.value.get(..8)?).ok())
        .map_or(0, |b| {
            if big_endian {
                i64::from_be_bytes(b)
            } else {
                i64::from_le_bytes(b)
            }
        })
}

/// A pcapng timestamp: `raw` units of `1/units` s, plus `offset` s.
pub(crate) fn pcapng_time(raw: u64, units: u64, offset: i64) -> Option<Duration> {
    if units == 0 {
        return None;
    }
    let secs = raw / units;
    let nanos = u128::from(raw % units) * 1_000_000_000 / u128::from(units);
    let secs = secs.checked_add_signed(offset)?;
    Some(Duration::new(secs, u32::try_from(nanos).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_timestamps() {
        assert_eq!(
            pcapng_time(1_500_000, 1_000_000, 0),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            pcapng_time(1_500_000_000, 1_000_000_000, 2),
            Some(Duration::from_millis(3500))
        );
        assert_eq!(
            pcapng_time(3 << 18, 1 << 19, 0),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(pcapng_time(1, 0, 0), None);
        assert_eq!(ts_units(6), Some(1_000_000));
        assert_eq!(ts_units(0x80 | 20), Some(1 << 20));
        assert_eq!(ts_units(0x80 | 64), None);
        assert_eq!(ts_units(20), None);
        assert_eq!(pcapng_time(1, 1, -5), None);
    }

    fn packets(bytes: &[u8]) -> Result<Vec<(u64, Option<i32>, usize)>, FileError> {
        let mut seen = Vec::new();
        read(bytes, |p: &Packet<'_>| {
            seen.push((p.frame, p.link.map(|l| l.0), p.data.len()));
            Ok::<_, FileError>(())
        })?;
        Ok(seen)
    }

    #[test]
    fn not_captures() {
        assert!(matches!(packets(b""), Err(FileError::Empty)));
        assert!(matches!(packets(b"ab"), Err(FileError::NotACapture(_))));
        let e = packets(b"this is text").unwrap_err().to_string();
        assert_eq!(
            e,
            "not a pcap or pcapng capture (it starts with 74 68 69 73)"
        );
        // A pcap header cut short.
        let e = packets(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap_err();
        assert!(matches!(e, FileError::Truncated { .. }), "{e}");
    }

    /// A pipe that hands over one byte per read.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&b, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = b;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn short_reads_from_a_pipe() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/captures");
        for name in ["tcp-ethernet.pcap", "two-sections.pcapng"] {
            let whole = std::fs::read(format!("{dir}/{name}")).unwrap();
            let at_once = packets(&whole).unwrap();
            let mut trickled = Vec::new();
            read(Trickle(&whole), |p: &Packet<'_>| {
                trickled.push((p.frame, p.link.map(|l| l.0), p.data.len()));
                Ok::<_, FileError>(())
            })
            .unwrap();
            assert_eq!(trickled, at_once, "{name}");
            assert!(at_once.len() > 4, "{name}");
        }
    }

    #[test]
    fn huge_record_is_corrupt_not_allocated() {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        // One record claiming 1 GiB.
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&(1u32 << 30).to_le_bytes());
        f.extend_from_slice(&(1u32 << 30).to_le_bytes());
        f.extend_from_slice(&[0; 64]);
        let e = packets(&f).unwrap_err();
        assert!(
            matches!(e, FileError::Corrupt { .. } | FileError::Truncated { .. }),
            "{e}"
        );
    }
}
