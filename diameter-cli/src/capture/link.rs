//! From a link-layer frame down to IP, by the interface's LINKTYPE_ (tcpdump.org's
//! link-layer header types). etherparse slices Ethernet (with 802.1Q, 802.1ad and
//! 0x9100 tags stacked), IP and what follows; the cooked and loopback headers are
//! parsed here because they are trivial and etherparse's SLL parser refuses ARPHRD types
//! it does not know (772 loopback, 0xFFFE none, ...), which `tcpdump -i any` writes.

use etherparse::{EtherType, NetSlice, SlicedPacket};
use pcap_parser::Linktype;

/// LINKTYPE_ values read (pcap-parser names most of them; these are the ones it may not).
mod linktype {
    /// OpenBSD's raw IP (DLT_RAW on OpenBSD, pcap header value 12 and 14 on others).
    pub(super) const RAW_12: i32 = 12;
    pub(super) const RAW_14: i32 = 14;
    pub(super) const IPV4: i32 = 228;
    pub(super) const IPV6: i32 = 229;
    pub(super) const LINUX_SLL2: i32 = 276;
}

/// Why a frame could not be sliced down to IP.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    #[error("link type {0} not supported")]
    Unsupported(i32),
    #[error("{what} header cut short ({len} bytes)")]
    Truncated { what: &'static str, len: usize },
    #[error("{0}")]
    Slice(#[from] etherparse::err::packet::SliceError),
}

/// Linux cooked capture v1 (LINKTYPE_LINUX_SLL): packet type (2), ARPHRD type (2),
/// address length (2), address (8), protocol (2). The protocol is an EtherType for every
/// ARPHRD type that carries IP.
const SLL_LEN: usize = 16;
/// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol (2), reserved (2), interface
/// index (4), ARPHRD type (2), packet type (1), address length (1), address (8).
const SLL2_LEN: usize = 20;
/// BSD loopback (LINKTYPE_NULL, host byte order; LINKTYPE_LOOP, network byte order): a
/// 4-byte address family. The IP version nibble says more than the family, whose value
/// for IPv6 differs between systems (24, 28, 30), so it is not looked at.
const LOOPBACK_LEN: usize = 4;

fn after<'a>(data: &'a [u8], len: usize, what: &'static str) -> Result<&'a [u8], LinkError> {
    data.get(len..).ok_or(LinkError::Truncated {
        what,
        len: data.len(),
    })
}

/// Slices a frame down to IP. `Ok(None)`: not IP (ARP, LLDP, ...), nothing to read.
pub(crate) fn slice(link: Linktype, data: &[u8]) -> Result<Option<SlicedPacket<'_>>, LinkError> {
    let sliced = match link.0 {
        l if l == Linktype::ETHERNET.0 => SlicedPacket::from_ethernet(data)?,
        l if l == Linktype::LINUX_SLL.0 => {
            let payload = after(data, SLL_LEN, "Linux cooked capture (SLL)")?;
            let proto = EtherType(u16::from_be_bytes([data[14], data[15]]));
            SlicedPacket::from_ether_type(proto, payload)?
        }
        linktype::LINUX_SLL2 => {
            let payload = after(data, SLL2_LEN, "Linux cooked capture v2 (SLL2)")?;
            let proto = EtherType(u16::from_be_bytes([data[0], data[1]]));
            SlicedPacket::from_ether_type(proto, payload)?
        }
        l if l == Linktype::RAW.0
            || l == linktype::RAW_12
            || l == linktype::RAW_14
            || l == linktype::IPV4
            || l == linktype::IPV6 =>
        {
            if data.is_empty() {
                return Err(LinkError::Truncated {
                    what: "raw IP",
                    len: 0,
                });
            }
            SlicedPacket::from_ip(data)?
        }
        l if l == Linktype::NULL.0 || l == Linktype::LOOP.0 => {
            SlicedPacket::from_ip(after(data, LOOPBACK_LEN, "loopback")?)?
        }
        other => return Err(LinkError::Unsupported(other)),
    };
    let ip = matches!(sliced.net, Some(NetSlice::Ipv4(_) | NetSlice::Ipv6(_)));
    Ok(ip.then_some(sliced))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header with no payload, protocol 253 (experimentation: nothing to slice).
    fn ipv4() -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 20, 0, 1, 0, 0, 64, 253, 0, 0];
        h.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        h
    }

    #[test]
    fn cooked_with_any_arphrd() {
        for arphrd in [1u16, 772, 0xfffe, 0xffff, 778] {
            let mut f = vec![0, 0];
            f.extend_from_slice(&arphrd.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00]);
            f.extend_from_slice(&ipv4());
            assert!(
                slice(Linktype::LINUX_SLL, &f).unwrap().is_some(),
                "{arphrd}"
            );
            let mut f2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1];
            f2.extend_from_slice(&arphrd.to_be_bytes());
            f2.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            f2.extend_from_slice(&ipv4());
            assert!(slice(Linktype(276), &f2).unwrap().is_some(), "{arphrd}");
        }
    }

    #[test]
    fn short_and_unknown() {
        assert!(matches!(
            slice(Linktype::LINUX_SLL, &[0; 10]),
            Err(LinkError::Truncated { len: 10, .. })
        ));
        assert!(matches!(
            slice(Linktype(147), &ipv4()),
            Err(LinkError::Unsupported(147))
        ));
        assert!(slice(Linktype::RAW, &[]).is_err());
        assert!(slice(Linktype::ETHERNET, &[0; 5]).is_err());
        // ARP: not IP, nothing to read, no error.
        let mut arp = vec![0xff; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0; 28]);
        assert!(slice(Linktype::ETHERNET, &arp).unwrap().is_none());
    }

    #[test]
    fn loopback_either_byte_order() {
        for family in [[2, 0, 0, 0], [0, 0, 0, 2]] {
            let mut f = family.to_vec();
            f.extend_from_slice(&ipv4());
            assert!(slice(Linktype::NULL, &f).unwrap().is_some());
            assert!(slice(Linktype::LOOP, &f).unwrap().is_some());
        }
    }
}
