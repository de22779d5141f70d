//! Address (RFC 6733 §4.3.1): a 2-octet IANA address family followed by the address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{Bytes, BytesMut};

use super::{AvpData, DecodeCx};
use crate::avp::AvpRef;
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};

/// IANA Address Family Number for IPv4.
pub const FAMILY_IPV4: u16 = 1;
/// IANA Address Family Number for IPv6.
pub const FAMILY_IPV6: u16 = 2;
/// IANA Address Family Number for E.164 (used by some 3GPP AVPs).
pub const FAMILY_E164: u16 = 8;

/// An Address value. IPv4 and IPv6 are parsed; other families (E.164, ...) are kept as
/// family plus raw bytes so they round-trip unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// Family 1.
    V4(Ipv4Addr),
    /// Family 2.
    V6(Ipv6Addr),
    /// Any other family, with its address bytes.
    Other {
        /// IANA address family number.
        family: u16,
        /// The address bytes.
        data: Bytes,
    },
}

impl Default for Address {
    /// `0.0.0.0`: the placeholder of a required Address field not yet set.
    fn default() -> Self {
        Self::V4(Ipv4Addr::UNSPECIFIED)
    }
}

impl Address {
    /// The IANA address family number.
    pub fn family(&self) -> u16 {
        match self {
            Self::V4(_) => FAMILY_IPV4,
            Self::V6(_) => FAMILY_IPV6,
            Self::Other { family, .. } => *family,
        }
    }

    /// The IP address, for families 1 and 2.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::V4(a) => Some(IpAddr::V4(*a)),
            Self::V6(a) => Some(IpAddr::V6(*a)),
            Self::Other { .. } => None,
        }
    }
}

impl From<IpAddr> for Address {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Self::V4(a),
            IpAddr::V6(a) => Self::V6(a),
        }
    }
}

impl From<Ipv4Addr> for Address {
    fn from(a: Ipv4Addr) -> Self {
        Self::V4(a)
    }
}

impl From<Ipv6Addr> for Address {
    fn from(a: Ipv6Addr) -> Self {
        Self::V6(a)
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V4(a) => a.fmt(f),
            Self::V6(a) => a.fmt(f),
            Self::Other { family, data } => {
                write!(f, "family {family}:")?;
                data.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

impl AvpData for Address {
    const TYPE: AvpType = AvpType::Address;

    fn decode(avp: &AvpRef<'_>, _cx: DecodeCx) -> Result<Self, DecodeError> {
        let d = avp.data;
        let bad_len = || {
            avp.error(ErrorKind::InvalidDataLength {
                ty: "Address",
                have: d.len(),
            })
        };
        let [f0, f1, rest @ ..] = d else {
            return Err(bad_len());
        };
        match u16::from_be_bytes([*f0, *f1]) {
            FAMILY_IPV4 => <[u8; 4]>::try_from(rest)
                .map(|a| Self::V4(a.into()))
                .map_err(|_| bad_len()),
            FAMILY_IPV6 => <[u8; 16]>::try_from(rest)
                .map(|a| Self::V6(a.into()))
                .map_err(|_| bad_len()),
            family => Ok(Self::Other {
                family,
                data: avp.data_bytes().slice(2..),
            }),
        }
    }

    fn data_len(&self) -> usize {
        2 + match self {
            Self::V4(_) => 4,
            Self::V6(_) => 16,
            Self::Other { data, .. } => data.len(),
        }
    }

    fn encode_data(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(&self.family().to_be_bytes());
        match self {
            Self::V4(a) => buf.extend_from_slice(&a.octets()),
            Self::V6(a) => buf.extend_from_slice(&a.octets()),
            Self::Other { data, .. } => buf.extend_from_slice(data),
        }
    }
}
