//! `diameter decode --pcap` on the checked-in captures of tests/captures/, one per link
//! type and reading case (made by scripts/make-test-captures from hex with text2pcap,
//! mergecap and editcap). Each must yield exactly the messages of its `.hex` file, and
//! each message must re-encode to the same bytes.

mod common;

use std::path::PathBuf;

use common::diameter;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/captures")
}

/// Decodes `name` and checks the messages, the exit status and what stderr says.
fn check(name: &str, status: i32, stderr_has: &[&str]) {
    let path = dir().join(name);
    let expected = std::fs::read_to_string(dir().join(format!("{name}.hex")))
        .unwrap_or_else(|e| panic!("{name}.hex: {e}"));
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
    assert_eq!(run.status, status, "{name}: {}", run.stderr);
    for s in stderr_has {
        assert!(
            run.stderr.contains(s),
            "{name}: {s:?} not in {}",
            run.stderr
        );
    }
    if status == 0 {
        assert!(run.stderr.is_empty(), "{name}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
    let found = run.stdout().lines().count();
    assert_eq!(found, expected.lines().count(), "{name}: messages found");
    // Byte-exact: the JSON encodes back to the captured messages.
    let hex = diameter(&["encode"], &run.stdout);
    assert_eq!(hex.status, 0, "{name}: {}", hex.stderr);
    assert_eq!(hex.stdout(), expected, "{name}: re-encoded messages");
}

#[test]
fn ethernet_tcp_out_of_order_and_retransmitted() {
    check("tcp-ethernet.pcap", 0, &[]);
}

#[test]
fn ethernet_vlan_and_qinq() {
    check("vlan-qinq.pcap", 0, &[]);
}

#[test]
fn ipv4_fragments_out_of_order() {
    check("ipv4-fragments.pcap", 0, &[]);
}

#[test]
fn ipv6_fragments_out_of_order() {
    check("ipv6-fragments.pcap", 0, &[]);
}

#[test]
fn linux_cooked_v1_any_arphrd() {
    check("sll.pcap", 0, &[]);
}

#[test]
fn linux_cooked_v2_any_arphrd() {
    check("sll2.pcap", 0, &[]);
}

#[test]
fn raw_ipv4_and_ipv6() {
    check("raw-ip.pcap", 0, &[]);
}

#[test]
fn bsd_null_loopback() {
    check("null-loopback.pcap", 0, &[]);
}

#[test]
fn sctp_bundled_fragmented_retransmitted() {
    check("sctp.pcap", 0, &[]);
}

#[test]
fn pcap_nanosecond() {
    check("nanosecond.pcap", 0, &[]);
}

#[test]
fn pcapng_several_interfaces_and_link_types() {
    check("multi-interface.pcapng", 0, &[]);
}

#[test]
fn big_endian_files() {
    check("big-endian.pcap", 0, &[]);
    check("big-endian-nanosecond.pcap", 0, &[]);
    check("big-endian.pcapng", 0, &[]);
}

#[test]
fn pcapng_two_sections_of_either_byte_order() {
    check("two-sections.pcapng", 0, &[]);
}

#[test]
fn pcapng_binary_time_resolution_and_offset() {
    check("tsresol-binary.pcapng", 0, &[]);
}

#[test]
fn pcapng_options_without_end_marker() {
    check("no-endofopt.pcapng", 0, &[]);
}

#[test]
fn unreadable_frames_are_counted_and_exit_3() {
    check(
        "bad-frames.pcap",
        3,
        &[
            "warning: frame 3: ",
            "warning: frame 4: TCP Header Error",
            "diameter: 2 frames of the capture could not be read",
        ],
    );
}

#[test]
fn cut_or_corrupt_capture_is_an_error_after_what_was_read() {
    check(
        "truncated.pcap",
        1,
        &[
            "error: the capture is cut short: an incomplete block or packet record at byte 1172 (after packet 6)",
        ],
    );
    check(
        "corrupt.pcapng",
        1,
        &["error: the capture is corrupt at byte 968 (after packet 3)"],
    );
}

/// Prefixes of a capture and corruptions of it: no panic, only the documented statuses
/// (a cut that falls between two blocks leaves a whole, shorter capture).
#[test]
fn every_cut_and_flipped_byte_fails_cleanly() {
    let whole = std::fs::read(dir().join("no-endofopt.pcapng")).unwrap();
    let mut cases: Vec<Vec<u8>> = (0..whole.len())
        .step_by(37)
        .map(|n| whole[..n].to_vec())
        .collect();
    for at in (0..whole.len()).step_by(53) {
        let mut c = whole.clone();
        c[at] ^= 0xff;
        cases.push(c);
    }
    for (i, c) in cases.iter().enumerate() {
        let run = diameter(&["decode", "--pcap", "-", "--format", "jsonl"], c);
        assert!(
            !run.stderr.contains("panicked") && [0, 1, 3].contains(&run.status),
            "case {i}: status {}: {}",
            run.status,
            run.stderr
        );
    }
}

#[test]
fn help_documents_the_exit_status() {
    let run = diameter(&["decode", "--help"], b"");
    assert_eq!(run.status, 0);
    let help = run
        .stdout()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("3 when every message decoded but frames of the capture were skipped"),
        "{help}"
    );
}
