//! Socket addresses as the SCTP socket options carry them, built and read as bytes so
//! that no C struct (and no `unsafe`) is needed outside `sys`.
//!
//! `SCTP_SOCKOPT_BINDX_ADD` and `SCTP_SOCKOPT_CONNECTX` take, and `SCTP_GET_LOCAL_ADDRS` /
//! `SCTP_GET_PEER_ADDRS` return, a *packed* array (RFC 6458 §9.1, §9.9, §8.4): `sockaddr_in`
//! (16 bytes) and `sockaddr_in6` (28 bytes) one after the other, each at its own size, with
//! no padding between them. The kernel copies the array with `copy_from_user`, so the
//! buffer needs no alignment.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use socket2::Domain;

/// `sizeof(struct sockaddr_in)` on Linux.
pub(super) const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)` on Linux.
pub(super) const SOCKADDR_IN6_LEN: usize = 28;
/// `struct sctp_getaddrs` before its addresses: `sctp_assoc_t assoc_id; __u32 addr_num`.
pub(super) const GETADDRS_HEADER_LEN: usize = 8;

// `sa_family_t` is a native-endian u16 on Linux; the libc values fit.
const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Appends `addr` as a `sockaddr_in` / `sockaddr_in6`: family in host order, port in
/// network order; the IPv6 flow info and scope id in host order, as `std` and socket2
/// write them.
pub(super) fn push_sockaddr(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr {
        SocketAddr::V4(a) => {
            out.extend_from_slice(&AF_INET.to_ne_bytes());
            out.extend_from_slice(&a.port().to_be_bytes());
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&[0; 8]); // sin_zero
        }
        SocketAddr::V6(a) => {
            out.extend_from_slice(&AF_INET6.to_ne_bytes());
            out.extend_from_slice(&a.port().to_be_bytes());
            out.extend_from_slice(&a.flowinfo().to_ne_bytes());
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.scope_id().to_ne_bytes());
        }
    }
}

/// The packed array of `addrs`, for `SCTP_SOCKOPT_BINDX_ADD` / `SCTP_SOCKOPT_CONNECTX`.
pub(super) fn pack(addrs: &[SocketAddr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(addrs.len() * SOCKADDR_IN6_LEN);
    for a in addrs {
        push_sockaddr(&mut out, a);
    }
    out
}

/// Reads `count` packed addresses. An IPv4-mapped IPv6 address (what an `AF_INET6`
/// socket reports for an IPv4 peer) comes back as the IPv4 address it maps.
pub(super) fn unpack(mut buf: &[u8], count: usize) -> io::Result<Vec<SocketAddr>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let family = buf
            .get(..2)
            .map(|f| u16::from_ne_bytes([f[0], f[1]]))
            .ok_or_else(|| bad("truncated socket address"))?;
        let len = match family {
            AF_INET => SOCKADDR_IN_LEN,
            AF_INET6 => SOCKADDR_IN6_LEN,
            _ => return Err(bad("socket address of an unknown family")),
        };
        let a = buf
            .get(..len)
            .ok_or_else(|| bad("truncated socket address"))?;
        let port = u16::from_be_bytes([a[2], a[3]]);
        out.push(if family == AF_INET {
            SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::new(a[4], a[5], a[6], a[7]),
                port,
            ))
        } else {
            let word = |i: usize| u32::from_ne_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
            let mut octets = [0; 16];
            octets.copy_from_slice(&a[8..24]);
            let ip = Ipv6Addr::from(octets);
            match ip.to_ipv4_mapped() {
                Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
                None => SocketAddr::V6(SocketAddrV6::new(ip, port, word(4), word(24))),
            }
        });
        buf = &buf[len..];
    }
    Ok(out)
}

/// A `struct sctp_getaddrs` request with room for `max_addrs` IPv6 addresses. Association
/// id 0: the endpoint's own addresses (`SCTP_GET_LOCAL_ADDRS`), or on a one-to-one socket
/// the one association (`SCTP_GET_PEER_ADDRS`; the id is ignored there).
pub(super) fn getaddrs_request(max_addrs: usize) -> Vec<u8> {
    vec![0; GETADDRS_HEADER_LEN + max_addrs * SOCKADDR_IN6_LEN]
}

/// The addresses of a `struct sctp_getaddrs` the kernel filled in (`len` bytes of it).
pub(super) fn parse_getaddrs(buf: &[u8]) -> io::Result<Vec<SocketAddr>> {
    let Some(count) = buf.get(4..GETADDRS_HEADER_LEN) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "truncated sctp_getaddrs",
        ));
    };
    let count = u32::from_ne_bytes([count[0], count[1], count[2], count[3]]) as usize;
    unpack(&buf[GETADDRS_HEADER_LEN..], count)
}

/// The socket family for an endpoint with these addresses and, for IPv6, the
/// `IPV6_V6ONLY` setting.
///
/// All IPv4: an `AF_INET` socket. All IPv6: `AF_INET6`, v6-only like the TCP listeners (so
/// `0.0.0.0` and `[::]` can be separate endpoints on one port). A mix: one `AF_INET6`
/// socket that is not v6-only, the only kind the kernel lets hold both (the IPv4 addresses
/// are passed as `sockaddr_in`).
pub(super) fn family_for(addrs: &[SocketAddr]) -> io::Result<(Domain, Option<bool>)> {
    if addrs.is_empty() {
        return Err(invalid_input("an SCTP endpoint needs an address".into()));
    }
    let v6 = addrs.iter().filter(|a| a.is_ipv6()).count();
    Ok(if v6 == 0 {
        (Domain::IPV4, None)
    } else if v6 == addrs.len() {
        (Domain::IPV6, Some(true))
    } else {
        (Domain::IPV6, Some(false))
    })
}

/// The one port of a multi-homed endpoint or peer: SCTP has one port per endpoint
/// (RFC 4960 §1.3), whatever its addresses.
pub(super) fn common_port(addrs: &[SocketAddr]) -> io::Result<u16> {
    let Some(first) = addrs.first() else {
        return Err(invalid_input("an SCTP endpoint needs an address".into()));
    };
    match addrs.iter().find(|a| a.port() != first.port()) {
        Some(other) => Err(invalid_input(format!(
            "the addresses of one SCTP endpoint share one port: {first} and {other} differ"
        ))),
        None => Ok(first.port()),
    }
}

/// `addrs` with their port set to `port` (the one the kernel chose for port 0).
pub(super) fn with_port(addrs: &[SocketAddr], port: u16) -> Vec<SocketAddr> {
    addrs
        .iter()
        .map(|a| {
            let mut a = *a;
            a.set_port(port);
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn packs_ipv4_as_sockaddr_in() {
        let bytes = pack(&[a("192.0.2.1:3868")]);
        let mut expected = Vec::new();
        expected.extend_from_slice(&2u16.to_ne_bytes());
        expected.extend_from_slice(&[0x0f, 0x1c, 192, 0, 2, 1]);
        expected.extend_from_slice(&[0; 8]);
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), SOCKADDR_IN_LEN);
    }

    #[test]
    fn packs_ipv6_as_sockaddr_in6() {
        let v6 = SocketAddr::V6(SocketAddrV6::new(
            "2001:db8::7".parse().unwrap(),
            3868,
            5,
            3,
        ));
        let bytes = pack(&[v6]);
        assert_eq!(bytes.len(), SOCKADDR_IN6_LEN);
        assert_eq!(&bytes[..2], &10u16.to_ne_bytes());
        assert_eq!(&bytes[2..4], &[0x0f, 0x1c]);
        assert_eq!(&bytes[4..8], &5u32.to_ne_bytes());
        assert_eq!(&bytes[8..10], &[0x20, 0x01]);
        assert_eq!(bytes[23], 7);
        assert_eq!(&bytes[24..28], &3u32.to_ne_bytes());
    }

    #[test]
    fn packs_a_mix_without_padding_and_reads_it_back() {
        let addrs = [
            a("127.0.0.1:3868"),
            a("[::1]:3868"),
            a("127.0.0.2:3868"),
            a("[fe80::1]:3868"),
        ];
        let bytes = pack(&addrs);
        assert_eq!(bytes.len(), 2 * SOCKADDR_IN_LEN + 2 * SOCKADDR_IN6_LEN);
        // The second address starts right after the first's 16 bytes.
        assert_eq!(&bytes[16..18], &10u16.to_ne_bytes());
        assert_eq!(unpack(&bytes, 4).unwrap(), addrs);
    }

    #[test]
    fn ipv4_mapped_addresses_come_back_as_ipv4() {
        let bytes = pack(&[a("[::ffff:10.0.0.1]:3868")]);
        assert_eq!(unpack(&bytes, 1).unwrap(), [a("10.0.0.1:3868")]);
    }

    #[test]
    fn refuses_truncated_or_foreign_addresses() {
        let bytes = pack(&[a("127.0.0.1:1"), a("[::1]:1")]);
        assert!(unpack(&bytes[..30], 2).is_err());
        assert!(unpack(&bytes, 3).is_err());
        let mut unix = bytes.clone();
        unix[..2].copy_from_slice(&1u16.to_ne_bytes()); // AF_UNIX
        assert_eq!(
            unpack(&unix, 1).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn reads_sctp_getaddrs() {
        let addrs = [a("127.0.0.1:5000"), a("127.0.0.2:5000")];
        let mut buf = getaddrs_request(4);
        assert_eq!(buf.len(), 8 + 4 * 28);
        buf[4..8].copy_from_slice(&2u32.to_ne_bytes());
        let packed = pack(&addrs);
        buf[8..8 + packed.len()].copy_from_slice(&packed);
        assert_eq!(parse_getaddrs(&buf).unwrap(), addrs);
        assert!(parse_getaddrs(&buf[..6]).is_err());
    }

    #[test]
    fn picks_the_socket_family() {
        assert_eq!(
            family_for(&[a("127.0.0.1:1"), a("127.0.0.2:1")]).unwrap(),
            (Domain::IPV4, None)
        );
        assert_eq!(
            family_for(&[a("[::1]:1")]).unwrap(),
            (Domain::IPV6, Some(true))
        );
        assert_eq!(
            family_for(&[a("127.0.0.1:1"), a("[::1]:1")]).unwrap(),
            (Domain::IPV6, Some(false))
        );
        assert_eq!(
            family_for(&[]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn one_port_per_endpoint() {
        assert_eq!(
            common_port(&[a("127.0.0.1:3868"), a("[::1]:3868")]).unwrap(),
            3868
        );
        let e = common_port(&[a("127.0.0.1:3868"), a("127.0.0.2:3869")]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("127.0.0.2:3869"), "{e}");
        assert!(common_port(&[]).is_err());
        assert_eq!(
            with_port(&[a("127.0.0.2:0"), a("[::1]:0")], 4000),
            [a("127.0.0.2:4000"), a("[::1]:4000")]
        );
    }
}
