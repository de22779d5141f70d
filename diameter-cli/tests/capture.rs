//! `diameter decode --pcap` on captures written here with pcap-file from hand-built
//! packets: TCP over Ethernet/IPv4 and IPv6 in classic pcap, SCTP over Linux cooked
//! capture (v1 and v2) in pcapng, with messages split across segments and fragments.

mod common;

use std::borrow::Cow;
use std::time::Duration;

use common::{cca, ccr, diameter, scratch, summary, with_hop_by_hop};
use etherparse::{IpFragOffset, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];
const CLIENT6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const SERVER6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/// Capture times: frame n at T0 + n/2 s.
const T0: u64 = 1_700_000_000;

fn time(frame: usize) -> Duration {
    Duration::from_millis(T0 * 1000 + frame as u64 * 500)
}

/// An Ethernet/IPv4/TCP frame.
fn tcp4(from_client: bool, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        (CLIENT, SERVER, 40000, 3868)
    } else {
        (SERVER, CLIENT, 3868, 40000)
    };
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65535);
    let b = if syn { b.syn() } else { b.ack(1).psh() };
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An Ethernet/IPv6/TCP frame from [2001:db8::2]:3868 to [2001:db8::1]:50000.
fn tcp6(seq: u32, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
        .ipv6(SERVER6, CLIENT6, 64)
        .tcp(3868, 50000, seq, 65535)
        .ack(1);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

fn write_pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(time(i + 1), f.len() as u32, f))
            .unwrap();
    }
    w.into_writer()
}

fn hops(run: &common::Run) -> Vec<(u64, String, u64)> {
    let values = run.jsonl();
    summary(&values)
        .into_iter()
        .zip(&values)
        .map(|((h, c), v)| (h, c, v["capture"]["frame"].as_u64().unwrap()))
        .collect()
}

#[test]
fn pcap_tcp_streams_reassembled_in_capture_order() {
    let (r1, r2, r3) = (
        with_hop_by_hop(&ccr(), 1),
        with_hop_by_hop(&ccr(), 2),
        with_hop_by_hop(&ccr(), 3),
    );
    let (a1, a2, a4) = (
        with_hop_by_hop(&cca(), 1),
        with_hop_by_hop(&cca(), 2),
        with_hop_by_hop(&cca(), 4),
    );
    let c = 1001u32; // client's first data sequence number
    let s = 5001u32;
    // Client stream: r1 | r2 | r3 ; server stream: a1 | a2.
    let client = [r1.clone(), r2.clone(), r3.clone()].concat();
    let server = [a1.clone(), a2.clone()].concat();
    let at = |base: u32, off: usize| base + off as u32;
    let n = r1.len();
    let frames = vec![
        tcp4(true, c - 1, true, &[]),                                  // 1 SYN
        tcp4(false, s - 1, true, &[]),                                 // 2 SYN/ACK
        tcp4(true, c, false, &client[..300]),                          // 3 r1 head
        tcp4(true, at(c, 400), false, &client[400..n + n + 100]), // 4 r1 tail, r2, r3 head (early)
        tcp4(true, at(c, 300), false, &client[300..400]),         // 5 r1 middle: r1, r2 done
        tcp4(true, c, false, &client[..300]),                     // 6 retransmission
        tcp4(false, s, false, &server[..a1.len() + 50]),          // 7 a1, a2 head
        tcp4(true, at(c, n + n + 100), false, &client[n + n + 100..]), // 8 r3 tail
        tcp4(false, at(s, a1.len() + 50), false, &server[a1.len() + 50..]), // 9 a2 tail
        // A stream on IPv6 captured from its middle: the tail of a message, then a4.
        tcp6(77_777, &[&a1[200..], &a4[..]].concat()), // 10
        // Not Diameter: ignored.
        {
            let b = PacketBuilder::ethernet2([2; 6], [3; 6])
                .ipv4(CLIENT, SERVER, 64)
                .tcp(41000, 80, 1, 100)
                .ack(1);
            let mut out = Vec::new();
            b.write(&mut out, b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
                .unwrap();
            out
        },
    ];
    let path = scratch("tcp.pcap");
    std::fs::write(&path, write_pcap(&frames)).unwrap();
    let run = diameter(
        &[
            "decode",
            "--pcap",
            path.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let ccr = "Credit-Control-Request".to_owned();
    let cca = "Credit-Control-Answer".to_owned();
    assert_eq!(
        hops(&run),
        [
            (1, ccr.clone(), 5),
            (2, ccr.clone(), 5),
            (1, cca.clone(), 7),
            (3, ccr, 8),
            (2, cca.clone(), 9),
            (4, cca, 10)
        ]
    );
    let first = &run.jsonl()[0]["capture"];
    assert_eq!(first["transport"], "tcp");
    assert_eq!(first["src"], "10.0.0.1:40000");
    assert_eq!(first["dst"], "10.0.0.2:3868");
    assert_eq!(first["stream_offset"], 0);
    assert_eq!(first["time"], "2023-11-14T22:13:22.500000Z");
    let last = &run.jsonl()[5]["capture"];
    assert_eq!(last["src"], "[2001:db8::2]:3868");
    // The mid-stream start is a warning, not an error.
    assert!(
        run.stderr
            .contains("warning: frame 10, tcp [2001:db8::2]:3868 -> [2001:db8::1]:50000"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("mid-stream"), "{}", run.stderr);
    assert!(!run.stderr.contains("error"), "{}", run.stderr);

    // The same capture from stdin, as text.
    let run = diameter(&["decode", "--pcap", "-"], &write_pcap(&frames));
    assert_eq!(run.status, 0, "{}", run.stderr);
    let heads: Vec<String> = run
        .stdout()
        .lines()
        .filter(|l| l.starts_with("# message"))
        .map(str::to_owned)
        .collect();
    assert_eq!(heads.len(), 6);
    assert_eq!(
        heads[0],
        "# message 1 (frame 5, tcp 10.0.0.1:40000 -> 10.0.0.2:3868, stream offset 0)"
    );
}

#[test]
fn pcap_tcp_garbage_is_an_error_and_decoding_goes_on() {
    let (r1, r2) = (with_hop_by_hop(&ccr(), 1), with_hop_by_hop(&ccr(), 2));
    let stream = [r1.clone(), b"garbage!".to_vec(), r2].concat();
    let frames = vec![
        tcp4(true, 99, true, &[]),
        tcp4(true, 100, false, &stream[..700]),
        tcp4(true, 800, false, &stream[700..]),
    ];
    let run = diameter(
        &["decode", "--pcap", "-", "--format", "jsonl"],
        &write_pcap(&frames),
    );
    assert_eq!(run.status, 1);
    assert_eq!(hops(&run).iter().map(|h| h.0).collect::<Vec<_>>(), [1, 2]);
    assert!(
        run.stderr.contains("error: message 2 (frame 3, tcp 10.0.0.1:40000 -> 10.0.0.2:3868, stream offset 528): not a Diameter header (version 103) (8 bytes skipped)"),
        "{}",
        run.stderr
    );
}

/// Splits an Ethernet/IPv4 frame into two IP fragments at `at` bytes of IP payload (a
/// multiple of 8).
fn fragment(frame: &[u8], at: usize) -> [Vec<u8>; 2] {
    let (eth, ip) = frame.split_at(14);
    let (header, rest) = Ipv4Header::from_slice(ip).unwrap();
    let payload = &rest[..usize::from(header.total_len) - header.header_len()];
    let mut out = [Vec::new(), Vec::new()];
    for (i, (part, offset, more)) in [(&payload[..at], 0, true), (&payload[at..], at, false)]
        .into_iter()
        .enumerate()
    {
        let mut h = header.clone();
        h.identification = 0x4242;
        h.more_fragments = more;
        h.fragment_offset = IpFragOffset::try_new((offset / 8) as u16).unwrap();
        h.set_payload_len(part.len()).unwrap();
        out[i].extend_from_slice(eth);
        h.write(&mut out[i]).unwrap();
        out[i].extend_from_slice(part);
    }
    out
}

#[test]
fn pcap_ip_fragments_reassembled() {
    let r1 = with_hop_by_hop(&ccr(), 1);
    let [f1, f2] = fragment(&tcp4(true, 100, false, &r1), 256);
    let frames = vec![tcp4(true, 99, true, &[]), f1, f2];
    let run = diameter(
        &["decode", "--pcap", "-", "--format", "jsonl"],
        &write_pcap(&frames),
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(hops(&run), [(1, "Credit-Control-Request".to_owned(), 3)]);
}

// ---- SCTP ----

const B: u8 = 0x02;
const E: u8 = 0x01;

fn data_chunk(tsn: u32, stream: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = 16 + payload.len();
    let mut c = vec![0, flags];
    c.extend_from_slice(&(len as u16).to_be_bytes());
    c.extend_from_slice(&tsn.to_be_bytes());
    c.extend_from_slice(&stream.to_be_bytes());
    c.extend_from_slice(&0u16.to_be_bytes()); // stream sequence number
    c.extend_from_slice(&46u32.to_be_bytes()); // PPID: Diameter
    c.extend_from_slice(payload);
    c.resize(len.div_ceil(4) * 4, 0);
    c
}

fn sack_chunk() -> Vec<u8> {
    let mut c = vec![3, 0, 0, 16];
    c.extend_from_slice(&[0; 12]);
    c
}

/// An SCTP packet (checksum left 0: captures often carry offloaded checksums).
fn sctp(from_client: bool, chunks: &[Vec<u8>]) -> Vec<u8> {
    let (sport, dport, tag): (u16, u16, u32) = if from_client {
        (3868, 3868, 0xaaaa)
    } else {
        (3868, 3868, 0xbbbb)
    };
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&tag.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    for c in chunks {
        p.extend_from_slice(c);
    }
    p
}

/// Linux cooked capture (SLL) + IPv4.
fn sll_ipv4(from_client: bool, sctp: &[u8]) -> Vec<u8> {
    let (src, dst) = if from_client {
        (CLIENT, SERVER)
    } else {
        (SERVER, CLIENT)
    };
    let mut f = Vec::new();
    f.extend_from_slice(&[0, 0]); // packet type: to us
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    Ipv4Header::new(sctp.len() as u16, 64, IpNumber::SCTP, src, dst)
        .unwrap()
        .write(&mut f)
        .unwrap();
    f.extend_from_slice(sctp);
    f
}

/// Linux cooked capture v2 (SLL2) + IPv6.
fn sll2_ipv6(sctp: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0x86ddu16.to_be_bytes()); // protocol
    f.extend_from_slice(&[0, 0]); // reserved
    f.extend_from_slice(&2u32.to_be_bytes()); // interface index
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&[4, 6]); // packet type (outgoing), address length
    f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 0, 0]);
    Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::ZERO,
        payload_length: sctp.len() as u16,
        next_header: IpNumber::SCTP,
        hop_limit: 64,
        source: SERVER6,
        destination: CLIENT6,
    }
    .write(&mut f)
    .unwrap();
    f.extend_from_slice(sctp);
    f
}

#[test]
fn pcapng_sctp_chunks_reassembled() {
    let (r10, r11) = (with_hop_by_hop(&ccr(), 10), with_hop_by_hop(&ccr(), 11));
    let (a10, a11) = (with_hop_by_hop(&cca(), 10), with_hop_by_hop(&cca(), 11));
    // (interface, frame)
    let frames: Vec<(u32, Vec<u8>)> = vec![
        // 1: INIT (no data).
        (
            0,
            sll_ipv4(
                true,
                &sctp(
                    true,
                    &[{
                        let mut c = vec![1, 0, 0, 20];
                        c.extend_from_slice(&[0; 16]);
                        c
                    }],
                ),
            ),
        ),
        // 2: r10 whole on stream 0, bundled with the first fragment of r11 on stream 1.
        (
            0,
            sll_ipv4(
                true,
                &sctp(
                    true,
                    &[
                        data_chunk(100, 0, B | E, &r10),
                        data_chunk(101, 1, B, &r11[..200]),
                    ],
                ),
            ),
        ),
        // 3: a SACK and the last fragment of r11, ahead of the middle one.
        (
            0,
            sll_ipv4(
                true,
                &sctp(true, &[sack_chunk(), data_chunk(103, 1, E, &r11[400..])]),
            ),
        ),
        // 4: the middle fragment: r11 is complete.
        (
            0,
            sll_ipv4(true, &sctp(true, &[data_chunk(102, 1, 0, &r11[200..400])])),
        ),
        // 5: a retransmission of the first fragment: ignored.
        (
            0,
            sll_ipv4(true, &sctp(true, &[data_chunk(101, 1, B, &r11[..200])])),
        ),
        // 6: the answer to r10, the other way.
        (
            0,
            sll_ipv4(
                false,
                &sctp(false, &[sack_chunk(), data_chunk(7000, 0, B | E, &a10)]),
            ),
        ),
        // 7: on a second interface (SLL2, IPv6): the answer to r11 in two fragments.
        (
            1,
            sll2_ipv6(&sctp(
                false,
                &[
                    data_chunk(7001, 1, B, &a11[..64]),
                    data_chunk(7002, 1, E, &a11[64..]),
                ],
            )),
        ),
    ];
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    for link in [DataLink::LINUX_SLL, DataLink::LINUX_SLL2] {
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: link,
            snaplen: 0xffff,
            options: vec![InterfaceDescriptionOption::IfTsResol(9)],
        })
        .unwrap();
    }
    for (i, (iface, f)) in frames.iter().enumerate() {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: *iface,
            timestamp: time(i + 1),
            original_len: f.len() as u32,
            data: Cow::Borrowed(f),
            options: vec![],
        })
        .unwrap();
    }
    let capture = w.into_inner();
    let path = scratch("sctp.pcapng");
    std::fs::write(&path, &capture).unwrap();
    let run = diameter(
        &[
            "decode",
            "--pcap",
            path.to_str().unwrap(),
            "--format",
            "jsonl",
            "--validate",
        ],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let ccr = "Credit-Control-Request".to_owned();
    let cca = "Credit-Control-Answer".to_owned();
    assert_eq!(
        hops(&run),
        [
            (10, ccr.clone(), 2),
            (11, ccr, 4),
            (10, cca.clone(), 6),
            (11, cca, 7)
        ]
    );
    let v = run.jsonl();
    assert_eq!(v[1]["capture"]["transport"], "sctp");
    assert_eq!(v[1]["capture"]["sctp_stream"], 1);
    assert_eq!(v[1]["capture"]["time"], "2023-11-14T22:13:22.000000Z");
    assert_eq!(v[3]["capture"]["src"], "[2001:db8::2]:3868");
    assert!(v.iter().all(|m| m["validation"]["ok"] == true));

    // The whole messages are the originals.
    let hex = diameter(&["encode"], &run.stdout);
    let expected: String = [&r10, &r11, &a10, &a11]
        .iter()
        .map(|m| common::to_hex(m) + "\n")
        .collect();
    assert_eq!(hex.stdout(), expected);

    // An SCTP message cut short at the end of the capture is reported, not decoded.
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::LINUX_SLL,
        snaplen: 0xffff,
        options: vec![],
    })
    .unwrap();
    let f = sll_ipv4(true, &sctp(true, &[data_chunk(1, 0, B, &r10[..100])]));
    w.write_pcapng_block(EnhancedPacketBlock {
        interface_id: 0,
        timestamp: time(1),
        original_len: f.len() as u32,
        data: Cow::Borrowed(&f),
        options: vec![],
    })
    .unwrap();
    let cut = w.into_inner();
    let run = diameter(&["decode", "--pcap", "-", "--format", "jsonl"], &cut);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("1 fragments of incomplete messages at end of capture"),
        "{}",
        run.stderr
    );
}

#[test]
fn not_a_capture() {
    let run = diameter(&["decode", "--pcap", "-"], b"this is not a capture");
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("not a pcap or pcapng capture"),
        "{}",
        run.stderr
    );
}
