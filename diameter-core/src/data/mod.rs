//! AVP data formats, RFC 6733 §4.2 (basic) and §4.3 (derived).
//!
//! Every type implements [`AvpData`]: decode from a borrowed AVP, report its data length,
//! and write its data. String-like types hold a `Bytes` slice of the received message, so
//! decoding them copies nothing.

mod address;
mod numeric;
mod text;
mod time;
mod uri;

pub use address::{Address, FAMILY_E164, FAMILY_IPV4, FAMILY_IPV6};
pub use text::{DiameterIdentity, IpFilterRule, QosFilterRule, Utf8String};
pub use time::Time;
pub use uri::{DiameterUri, ParsedUri, UriError, UriProtocol, UriTransport, parse_uri};

use bytes::{Bytes, BytesMut};

use crate::avp::{AvpFlags, AvpRef, put_avp_with, put_header, put_padding};
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};
use crate::policy::Policy;

/// Decoding context: how deep in Grouped AVPs we are, how deep we may go, and how strictly
/// deviations from the dictionary are judged.
#[derive(Clone, Copy, Debug)]
pub struct DecodeCx {
    /// Current nesting depth (0 at message level).
    pub depth: usize,
    /// Maximum nesting depth of Grouped AVPs.
    pub max_depth: usize,
    /// Strict (the default) or tolerant of deviations inside Grouped AVPs
    /// ([`crate::policy`]).
    pub policy: Policy,
}

impl Default for DecodeCx {
    fn default() -> Self {
        Self {
            depth: 0,
            max_depth: crate::DEFAULT_MAX_DEPTH,
            policy: Policy::Strict,
        }
    }
}

impl DecodeCx {
    /// The default context with `policy`.
    pub fn with_policy(policy: Policy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// `Ok` when the policy accepts `e`, found in `avp` at this depth, as a deviation;
    /// otherwise `e`.
    #[cold]
    pub fn tolerate(self, avp: &AvpRef<'_>, e: DecodeError) -> Result<(), DecodeError> {
        if self
            .policy
            .tolerates(&e.kind, self.depth, avp.flags.is_mandatory())
        {
            Ok(())
        } else {
            Err(e)
        }
    }

    /// The context for the members of a Grouped AVP, or an error if that is too deep.
    ///
    /// The error's Failed-AVP is the AVP one level too deep with its data left out (its
    /// header, AVP Length set to the header's length): the tree below it can be as large
    /// as the message, and echoing it says nothing more.
    pub fn enter(self, avp: &AvpRef<'_>) -> Result<Self, DecodeError> {
        if self.depth + 1 > self.max_depth {
            return Err(too_deep(avp, self.max_depth));
        }
        Ok(Self {
            depth: self.depth + 1,
            ..self
        })
    }
}

#[cold]
#[inline(never)]
fn too_deep(avp: &AvpRef<'_>, max_depth: usize) -> DecodeError {
    let mut header = BytesMut::with_capacity(crate::avp::AVP_HEADER_LEN_VENDOR);
    put_header(&mut header, avp.code, avp.flags, avp.vendor, 0);
    ErrorKind::NestingTooDeep(max_depth)
        .at(avp.offset)
        .with_avp(header.freeze())
}

/// A value that can be the data of an AVP.
pub trait AvpData: Sized {
    /// The RFC 6733 data format.
    const TYPE: AvpType;

    /// Decodes the AVP's data. Errors carry the AVP as Failed-AVP.
    fn decode(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<Self, DecodeError>;

    /// Decodes into an existing value, replacing it. Grouped types override this to fill
    /// their fields in place, which spares moving large structs (and lets `Box<T>` decode
    /// straight into its heap allocation).
    #[inline]
    fn decode_in_place(&mut self, avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        *self = Self::decode(avp, cx)?;
        Ok(())
    }

    /// Checks the AVP's data as [`AvpData::decode`] does, without keeping the value. Wide
    /// Grouped types override it with their view's zero-copy walk, which is what lets
    /// [`crate::lazy::Lazy`] check a member when the message is decoded and build it later.
    #[inline]
    fn check(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        Self::decode(avp, cx).map(drop)
    }

    /// Length of the data, without header and padding.
    fn data_len(&self) -> usize;

    /// Writes the data, without padding.
    fn encode_data(&self, buf: &mut BytesMut);

    /// Length of the whole AVP with the given vendor, including header and padding.
    #[inline]
    fn avp_len(&self, vendor: u32) -> usize {
        crate::avp::padded(crate::avp::header_len(vendor) + self.data_len())
    }

    /// Writes a whole AVP holding this value.
    #[inline]
    fn encode_avp(&self, buf: &mut BytesMut, code: u32, flags: AvpFlags, vendor: u32) {
        if Self::TYPE == AvpType::Grouped {
            // Grouped data length would need a second walk; patch it in instead.
            put_avp_with(buf, code, flags, vendor, |b| self.encode_data(b));
        } else {
            let len = self.data_len();
            put_header(buf, code, flags, vendor, len);
            self.encode_data(buf);
            put_padding(buf, len);
        }
    }
}

/// OctetString (§4.2): arbitrary data, kept as a zero-copy slice.
impl AvpData for Bytes {
    const TYPE: AvpType = AvpType::OctetString;

    #[inline]
    fn decode(avp: &AvpRef<'_>, _cx: DecodeCx) -> Result<Self, DecodeError> {
        Ok(avp.data_bytes())
    }
    #[inline]
    fn data_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn encode_data(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(self);
    }
}

/// Decodes an AVP's data as `T`, or a typed error.
pub fn decode_as<T: AvpData>(avp: &AvpRef<'_>) -> Result<T, DecodeError> {
    T::decode(avp, DecodeCx::default())
}
