//! DiameterURI (RFC 6733 §4.3.1):
//! `"aaa://" | "aaas://"  FQDN [ ":" port ] [ ";transport=" tcp|sctp|udp ]
//! [ ";protocol=" diameter|radius|tacacs+ ]`.
//!
//! The AVP keeps the text as received (so it round-trips); [`DiameterUri::parse`] gives the
//! parts.

use bytes::BytesMut;
use bytestring::ByteString;

use super::{AvpData, DecodeCx};
use crate::avp::AvpRef;
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};

/// A DiameterURI value, as text.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct DiameterUri(pub ByteString);

/// Transport named in a DiameterURI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UriTransport {
    /// `transport=tcp` (the default for `aaa://` per §4.3.1).
    Tcp,
    /// `transport=sctp`.
    Sctp,
    /// `transport=udp` (RADIUS only).
    Udp,
}

/// Protocol named in a DiameterURI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UriProtocol {
    /// `protocol=diameter` (the default).
    Diameter,
    /// `protocol=radius`.
    Radius,
    /// `protocol=tacacs+`.
    TacacsPlus,
}

/// The parts of a DiameterURI.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParsedUri {
    /// `aaas://`: the connection uses TLS/DTLS.
    pub secure: bool,
    /// The FQDN (or address literal).
    pub host: String,
    /// The port, defaulting to 3868 (`aaa`) or 5658 (`aaas`).
    pub port: u16,
    /// The transport, if given.
    pub transport: Option<UriTransport>,
    /// The protocol, if given.
    pub protocol: Option<UriProtocol>,
}

/// Why a DiameterURI failed to parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// Neither `aaa://` nor `aaas://`.
    #[error("scheme is not aaa:// or aaas://")]
    Scheme,
    /// Empty host.
    #[error("empty host")]
    Host,
    /// Port not a number in 1..=65535.
    #[error("invalid port")]
    Port,
    /// Unknown `;name=value` parameter or value.
    #[error("invalid parameter {0:?}")]
    Param(String),
}

impl DiameterUri {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the URI into its parts.
    pub fn parse(&self) -> Result<ParsedUri, UriError> {
        parse_uri(&self.0)
    }
}

/// Parses DiameterURI text (also used for peer configuration).
pub fn parse_uri(s: &str) -> Result<ParsedUri, UriError> {
    let (secure, rest) = if let Some(r) = s.strip_prefix("aaas://") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("aaa://") {
        (false, r)
    } else {
        return Err(UriError::Scheme);
    };
    let mut parts = rest.split(';');
    let authority = parts.next().unwrap_or_default();
    // IPv6 literals are bracketed: [::1]:3868.
    let (host, port) = if let Some(b) = authority.strip_prefix('[') {
        let (h, after) = b.split_once(']').ok_or(UriError::Host)?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UriError::Host);
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(UriError::Port)?,
        None if secure => 5658,
        None => 3868,
    };
    let mut uri = ParsedUri {
        secure,
        host: host.to_owned(),
        port,
        transport: None,
        protocol: None,
    };
    for p in parts {
        match p.split_once('=') {
            Some(("transport", v)) => {
                uri.transport = Some(match v {
                    "tcp" => UriTransport::Tcp,
                    "sctp" => UriTransport::Sctp,
                    "udp" => UriTransport::Udp,
                    _ => return Err(UriError::Param(p.to_owned())),
                })
            }
            Some(("protocol", v)) => {
                uri.protocol = Some(match v {
                    "diameter" => UriProtocol::Diameter,
                    "radius" => UriProtocol::Radius,
                    "tacacs+" => UriProtocol::TacacsPlus,
                    _ => return Err(UriError::Param(p.to_owned())),
                })
            }
            _ => return Err(UriError::Param(p.to_owned())),
        }
    }
    Ok(uri)
}

impl std::fmt::Debug for DiameterUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for DiameterUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DiameterUri {
    fn from(s: &str) -> Self {
        Self(ByteString::from(s))
    }
}

impl AvpData for DiameterUri {
    const TYPE: AvpType = AvpType::DiameterURI;

    fn decode(avp: &AvpRef<'_>, _cx: DecodeCx) -> Result<Self, DecodeError> {
        let s = ByteString::try_from(avp.data_bytes())
            .map_err(|_| avp.error(ErrorKind::InvalidAvpValue("DiameterURI is not valid text")))?;
        parse_uri(&s)
            .map_err(|_| avp.error(ErrorKind::InvalidAvpValue("malformed DiameterURI")))?;
        Ok(Self(s))
    }
    fn data_len(&self) -> usize {
        self.0.len()
    }
    fn encode_data(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(self.0.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_examples() {
        let u = parse_uri("aaa://host.example.com:6666;transport=tcp;protocol=diameter").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.transport, u.protocol),
            (
                false,
                "host.example.com",
                6666,
                Some(UriTransport::Tcp),
                Some(UriProtocol::Diameter)
            )
        );
        assert_eq!(parse_uri("aaas://host.example.com").unwrap().port, 5658);
        assert_eq!(parse_uri("aaa://[::1]:3869").unwrap().host, "::1");
        assert_eq!(parse_uri("http://x"), Err(UriError::Scheme));
        assert_eq!(parse_uri("aaa://x:0"), Err(UriError::Port));
        assert!(parse_uri("aaa://x;transport=foo").is_err());
    }
}
