//! SCTP socket option numbers and values (Linux `<linux/sctp.h>`, RFC 6458), as bytes.
//!
//! The libc crate has none of these for Linux, so the numbers are copied from the
//! kernel's UAPI header (stable ABI), and the structs are written and read as native-endian
//! bytes at the offsets the header gives; `sys` only passes the bytes through.

use libc::c_int;

/// `SOL_SCTP`: the socket option level (= `IPPROTO_SCTP`).
pub(super) const SOL_SCTP: c_int = 132;
/// `struct sctp_initmsg`: streams and INIT retries of new associations.
pub(super) const SCTP_INITMSG: c_int = 2;
/// `int`: send DATA at once rather than waiting to bundle (SCTP's Nagle).
pub(super) const SCTP_NODELAY: c_int = 3;
/// `struct sctp_sndrcvinfo`: stream and PPID used by a plain `write`.
pub(super) const SCTP_DEFAULT_SEND_PARAM: c_int = 10;
/// `struct sctp_event_subscribe`: which notifications are delivered as data.
pub(super) const SCTP_EVENTS: c_int = 11;
/// `struct sctp_status`: association state and stream counts.
pub(super) const SCTP_STATUS: c_int = 14;
/// Packed addresses to add to a bound endpoint (`sctp_bindx(SCTP_BINDX_ADD_ADDR)`).
pub(super) const SCTP_SOCKOPT_BINDX_ADD: c_int = 100;
/// `struct sctp_getaddrs`: the peer's addresses of an association.
pub(super) const SCTP_GET_PEER_ADDRS: c_int = 108;
/// `struct sctp_getaddrs`: the endpoint's own addresses.
pub(super) const SCTP_GET_LOCAL_ADDRS: c_int = 109;
/// Packed peer addresses to connect to (`sctp_connectx`); returns the association id.
pub(super) const SCTP_SOCKOPT_CONNECTX: c_int = 110;

/// `sizeof(struct sctp_status)`: the kernel refuses a shorter buffer.
pub(super) const STATUS_LEN: usize = 176;

/// `struct sctp_initmsg { u16 num_ostreams, max_instreams, max_attempts, max_init_timeo }`;
/// 0 leaves a field at the system default.
pub(super) fn init_msg(outbound: u16, max_inbound: u16) -> [u8; 8] {
    let mut b = [0; 8];
    b[0..2].copy_from_slice(&outbound.to_ne_bytes());
    b[2..4].copy_from_slice(&max_inbound.to_ne_bytes());
    b
}

/// `struct sctp_sndrcvinfo` (32 bytes) for `SCTP_DEFAULT_SEND_PARAM`: the stream and the
/// Payload Protocol Identifier of every `write`. The PPID is opaque to the kernel, which
/// copies it into the DATA chunk as it is, so it is stored in network byte order.
pub(super) fn default_send(stream: u16, ppid: u32) -> [u8; 32] {
    let mut b = [0; 32];
    b[0..2].copy_from_slice(&stream.to_ne_bytes()); // sinfo_stream
    // sinfo_ssn, sinfo_flags and 2 bytes of padding stay 0; sinfo_ppid is at offset 8.
    b[8..12].copy_from_slice(&ppid.to_be_bytes());
    b
}

/// `struct sctp_event_subscribe` with every notification off, in its first 10 fields
/// (those all kernels since 2.6.35 have; the kernel takes a prefix of the struct). A
/// notification would arrive in the byte stream of a plain `read` and break the Diameter
/// framing; RFC 6458 has them off by default, and this keeps it so whatever the default.
pub(super) const NO_EVENTS: [u8; 10] = [0; 10];

/// An `int` option value.
pub(super) fn int(value: c_int) -> [u8; 4] {
    value.to_ne_bytes()
}

/// The parts of `struct sctp_status` we report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Status {
    /// `sstat_state` (`enum sctp_sstat_state`).
    pub(super) state: i32,
    /// `sstat_instrms`: inbound streams of the association.
    pub(super) inbound: u16,
    /// `sstat_outstrms`: outbound streams of the association.
    pub(super) outbound: u16,
}

/// Reads `struct sctp_status` (`sstat_state` at 4, `sstat_instrms` at 16,
/// `sstat_outstrms` at 18).
pub(super) fn parse_status(b: &[u8]) -> Option<Status> {
    let b = b.get(..20)?;
    Some(Status {
        state: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        inbound: u16::from_ne_bytes([b[16], b[17]]),
        outbound: u16::from_ne_bytes([b[18], b[19]]),
    })
}

/// `SCTP_ESTABLISHED` in `enum sctp_sstat_state`.
pub(super) const STATE_ESTABLISHED: i32 = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_msg_puts_the_stream_counts_first() {
        let b = init_msg(10, 0xffff);
        assert_eq!(&b[..2], &10u16.to_ne_bytes());
        assert_eq!(&b[2..4], &[0xff, 0xff]);
        assert_eq!(&b[4..], &[0; 4]);
    }

    #[test]
    fn default_send_has_the_stream_and_a_network_order_ppid() {
        let b = default_send(3, 46);
        assert_eq!(&b[..2], &3u16.to_ne_bytes());
        assert_eq!(&b[2..8], &[0; 6]);
        assert_eq!(&b[8..12], &[0, 0, 0, 46]);
        assert!(b[12..].iter().all(|&x| x == 0));
    }

    #[test]
    fn reads_sctp_status() {
        let mut b = [0u8; STATUS_LEN];
        b[4..8].copy_from_slice(&STATE_ESTABLISHED.to_ne_bytes());
        b[16..18].copy_from_slice(&7u16.to_ne_bytes());
        b[18..20].copy_from_slice(&5u16.to_ne_bytes());
        assert_eq!(
            parse_status(&b),
            Some(Status {
                state: STATE_ESTABLISHED,
                inbound: 7,
                outbound: 5
            })
        );
        assert_eq!(parse_status(&b[..19]), None);
        assert_eq!(int(1), 1i32.to_ne_bytes());
    }
}
