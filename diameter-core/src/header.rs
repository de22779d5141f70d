//! The Diameter header, RFC 6733 §3.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Version    |                 Message Length                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Command Flags |                  Command Code                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Application-ID                        |
//! |                      Hop-by-Hop Identifier                    |
//! |                      End-to-End Identifier                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::BufMut;

use crate::error::{DecodeError, ErrorKind};

/// Length of the fixed header (§3).
pub const HEADER_LEN: usize = 20;
/// The only protocol version defined (§3: "This Version field MUST be set to 1").
pub const VERSION: u8 = 1;
/// The largest Message Length or AVP Length: the fields are 24 bits wide (§3, §4.1).
pub const MAX_LENGTH: usize = 0x00ff_ffff;

/// A length as the 24-bit field holds it: the length itself when it fits, else 0.
///
/// 0 is never a valid Message Length (< 20) nor AVP Length (< 8), so a receiver refuses
/// what carries it (5015, 5014) instead of framing the bytes after the first 16 MiB as
/// further AVPs or messages, which the low 24 bits of the length would make it do. The
/// checked encoders (`MessageBuilder::try_build`, `Command::try_encode`, the typed
/// writers' `finish`, `RawAvp::try_encode`) report the overflow as
/// [`crate::writer::WriteError`] instead.
#[inline(always)]
pub const fn length_field(len: usize) -> u32 {
    if len <= MAX_LENGTH { len as u32 } else { 0 }
}

/// Command Flags (§3): `R P E T r r r r`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CommandFlags(pub u8);

impl CommandFlags {
    /// R: the message is a request.
    pub const REQUEST: u8 = 0x80;
    /// P: the message may be proxied, relayed or redirected.
    pub const PROXIABLE: u8 = 0x40;
    /// E: the message contains a protocol error (answers only).
    pub const ERROR: u8 = 0x20;
    /// T: potentially retransmitted message (§5.5.4 failover).
    pub const RETRANSMIT: u8 = 0x10;
    /// The four reserved bits, which must be zero.
    pub const RESERVED: u8 = 0x0f;

    /// Flags of a request, optionally proxiable.
    pub const fn request(proxiable: bool) -> Self {
        Self(Self::REQUEST | if proxiable { Self::PROXIABLE } else { 0 })
    }
    /// R bit.
    pub const fn is_request(self) -> bool {
        self.0 & Self::REQUEST != 0
    }
    /// P bit.
    pub const fn is_proxiable(self) -> bool {
        self.0 & Self::PROXIABLE != 0
    }
    /// E bit.
    pub const fn is_error(self) -> bool {
        self.0 & Self::ERROR != 0
    }
    /// T bit.
    pub const fn is_retransmit(self) -> bool {
        self.0 & Self::RETRANSMIT != 0
    }
    /// Returns these flags with `bit` set or cleared.
    pub const fn with(self, bit: u8, on: bool) -> Self {
        if on {
            Self(self.0 | bit)
        } else {
            Self(self.0 & !bit)
        }
    }
}

impl std::fmt::Debug for CommandFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bit = |b: u8, c: char| if self.0 & b != 0 { c } else { '-' };
        write!(
            f,
            "{}{}{}{}",
            bit(Self::REQUEST, 'R'),
            bit(Self::PROXIABLE, 'P'),
            bit(Self::ERROR, 'E'),
            bit(Self::RETRANSMIT, 'T')
        )
    }
}

/// A decoded Diameter header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Version, always 1 after a successful decode.
    pub version: u8,
    /// Message Length, including the header and padding.
    pub length: u32,
    /// Command Flags.
    pub flags: CommandFlags,
    /// Command Code (24 bits).
    pub code: u32,
    /// Application-ID.
    pub application_id: u32,
    /// Hop-by-Hop Identifier.
    pub hop_by_hop: u32,
    /// End-to-End Identifier.
    pub end_to_end: u32,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            version: VERSION,
            length: HEADER_LEN as u32,
            flags: CommandFlags::default(),
            code: 0,
            application_id: 0,
            hop_by_hop: 0,
            end_to_end: 0,
        }
    }
}

impl Header {
    /// A header for a new message; `length` is filled in when encoding.
    pub const fn new(code: u32, application_id: u32, flags: CommandFlags) -> Self {
        Self {
            version: VERSION,
            length: HEADER_LEN as u32,
            flags,
            code,
            application_id,
            hop_by_hop: 0,
            end_to_end: 0,
        }
    }

    /// Reads the Message Length field of a possibly incomplete buffer: what a framer needs
    /// to know how many bytes make the next message. `None` while fewer than 4 bytes are
    /// available.
    pub fn peek_length(buf: &[u8]) -> Option<u32> {
        match buf {
            [_, a, b, c, ..] => Some(u32::from_be_bytes([0, *a, *b, *c])),
            _ => None,
        }
    }

    /// Reads the 20-byte header's fields as they are, without the checks of
    /// [`Header::decode`]: for answering, counting or tracing a message that may be
    /// malformed. `None` with fewer than 20 bytes.
    pub fn peek(buf: &[u8]) -> Option<Self> {
        let h = buf.get(..HEADER_LEN)?;
        let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        Some(Self {
            version: h[0],
            length: word(0) & 0x00ff_ffff,
            flags: CommandFlags(h[4]),
            code: word(4) & 0x00ff_ffff,
            application_id: word(8),
            hop_by_hop: word(12),
            end_to_end: word(16),
        })
    }

    /// Decodes and checks the 20-byte header. `max_len` bounds the Message Length field.
    ///
    /// Checks (§3): version 1 (else 5011), length ≥ 20 and a multiple of 4 (else 5015),
    /// length ≤ `max_len`, no E bit on a request (3008). The four reserved command flag
    /// bits are ignored, as §3 asks of the receiver ("MUST be set to zero and ignored by
    /// the receiver"); they stay in [`Header::flags`] as received.
    pub fn decode(buf: &[u8], max_len: u32) -> Result<Self, DecodeError> {
        let Some(header) = Self::peek(buf) else {
            return Err(ErrorKind::Truncated {
                need: HEADER_LEN,
                have: buf.len(),
            }
            .at(0));
        };
        if header.version != VERSION {
            return Err(ErrorKind::UnsupportedVersion(header.version).at(0));
        }
        if (header.length as usize) < HEADER_LEN || header.length % 4 != 0 {
            return Err(ErrorKind::InvalidMessageLength(header.length).at(1));
        }
        if header.length > max_len {
            return Err(ErrorKind::MessageTooLarge {
                length: header.length,
                max: max_len,
            }
            .at(1));
        }
        if header.flags.is_request() && header.flags.is_error() {
            return Err(ErrorKind::InvalidHeaderBits(header.flags.0).at(4));
        }
        Ok(header)
    }

    /// Writes the header with the given Message Length; a length above [`MAX_LENGTH`] is
    /// written as 0 (see [`length_field`]).
    pub fn encode(&self, length: u32, buf: &mut impl BufMut) {
        let length = length_field(length as usize);
        buf.put_u32((u32::from(self.version) << 24) | length);
        buf.put_u32((u32::from(self.flags.0) << 24) | (self.code & 0x00ff_ffff));
        buf.put_u32(self.application_id);
        buf.put_u32(self.hop_by_hop);
        buf.put_u32(self.end_to_end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(version: u8, len: u32, flags: u8) -> Vec<u8> {
        let mut v = Vec::new();
        Header {
            version,
            flags: CommandFlags(flags),
            code: 257,
            ..Header::default()
        }
        .encode(len, &mut v);
        v
    }

    #[test]
    fn round_trip() {
        let h = Header {
            length: 20,
            flags: CommandFlags::request(true),
            code: 272,
            application_id: 4,
            hop_by_hop: 7,
            end_to_end: 9,
            version: 1,
        };
        let mut v = Vec::new();
        h.encode(20, &mut v);
        assert_eq!(Header::decode(&v, 1 << 20).unwrap(), h);
        assert_eq!(Header::peek_length(&v), Some(20));
    }

    #[test]
    fn rejects_bad_headers() {
        let code = |v: Vec<u8>| Header::decode(&v, 4096).unwrap_err().result_code();
        assert_eq!(code(raw(2, 20, 0x80)), 5011);
        assert_eq!(code(raw(1, 12, 0x80)), 5015);
        assert_eq!(code(raw(1, 22, 0x80)), 5015);
        assert_eq!(code(raw(1, 20, 0xa0)), 3008);
        assert_eq!(code(raw(1, 8192, 0x80)), 5015);
        assert_eq!(code(vec![1, 0, 0]), 5015);
    }

    #[test]
    fn reserved_flag_bits_are_ignored() {
        // §3: reserved bits "MUST be set to zero and ignored by the receiver".
        let h = Header::decode(&raw(1, 20, 0x8f), 4096).unwrap();
        assert!(h.flags.is_request() && !h.flags.is_error());
        assert_eq!(h.flags.0, 0x8f);
        assert_eq!(
            Header::decode(&raw(1, 20, 0xaf), 4096)
                .unwrap_err()
                .result_code(),
            3008
        );
    }

    #[test]
    fn oversize_length_is_written_as_zero() {
        let mut v = Vec::new();
        Header::default().encode((MAX_LENGTH + 1) as u32, &mut v);
        assert_eq!(&v[1..4], &[0, 0, 0]);
        let mut v = Vec::new();
        Header::default().encode(MAX_LENGTH as u32, &mut v);
        assert_eq!(&v[1..4], &[0xff, 0xff, 0xff]);
    }
}
