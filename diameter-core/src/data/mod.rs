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
///
/// One machine word (depth in bits 0–15, maximum depth in bits 16–31, the policy in bit 32),
/// so that it travels in a register. With `usize` depths and the policy as fields (24
/// bytes), every decoding and check function took it through memory; with three small
/// fields, each Grouped AVP's check assembled it on the stack and read it back wider than
/// it was written: store-forwarding stalls that made decoding a CCA's view 30 % slower in
/// wall-clock time for 5 % more instructions (BENCHMARKS.md).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DecodeCx(u64);

const MAX_DEPTH_SHIFT: u32 = 16;
const TOLERANT_BIT: u64 = 1 << 32;

impl Default for DecodeCx {
    fn default() -> Self {
        Self::new(crate::DEFAULT_MAX_DEPTH as u16, Policy::Strict)
    }
}

impl std::fmt::Debug for DecodeCx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeCx")
            .field("depth", &self.depth())
            .field("max_depth", &self.max_depth())
            .field("policy", &self.policy())
            .finish()
    }
}

impl DecodeCx {
    /// At message level (depth 0), Grouped AVPs nested at most `max_depth` deep, judged by
    /// `policy`.
    pub const fn new(max_depth: u16, policy: Policy) -> Self {
        let tolerant = match policy {
            Policy::Strict => 0,
            Policy::Tolerant => TOLERANT_BIT,
        };
        Self(((max_depth as u64) << MAX_DEPTH_SHIFT) | tolerant)
    }

    /// A strict context at `depth` (for decoding later what was checked then).
    pub(crate) const fn strict_at(depth: u16, max_depth: u16) -> Self {
        Self(Self::new(max_depth, Policy::Strict).0 | depth as u64)
    }

    /// The default context with `policy`.
    pub fn with_policy(policy: Policy) -> Self {
        Self::new(crate::DEFAULT_MAX_DEPTH as u16, policy)
    }

    /// Current nesting depth (0 at message level).
    #[inline(always)]
    pub const fn depth(self) -> u16 {
        self.0 as u16
    }

    /// Maximum nesting depth of Grouped AVPs.
    #[inline(always)]
    pub const fn max_depth(self) -> u16 {
        (self.0 >> MAX_DEPTH_SHIFT) as u16
    }

    /// Strict (the default) or tolerant of deviations inside Grouped AVPs
    /// ([`crate::policy`]).
    #[inline(always)]
    pub const fn policy(self) -> Policy {
        if self.0 & TOLERANT_BIT == 0 {
            Policy::Strict
        } else {
            Policy::Tolerant
        }
    }

    /// `Ok` when the policy accepts `e`, found in `avp` at this depth, as a deviation;
    /// otherwise `e`.
    #[cold]
    pub fn tolerate(self, avp: &AvpRef<'_>, e: DecodeError) -> Result<(), DecodeError> {
        if self
            .policy()
            .tolerates(&e.kind, usize::from(self.depth()), avp.flags.is_mandatory())
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
    #[inline(always)]
    pub fn enter(self, avp: &AvpRef<'_>) -> Result<Self, DecodeError> {
        if self.depth() >= self.max_depth() {
            return Err(too_deep(avp, usize::from(self.max_depth())));
        }
        // Below the maximum, so the depth's bits do not carry into the maximum's.
        Ok(Self(self.0 + 1))
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
///
/// `Debug`, `PartialEq` and `'static` are supertraits so that generated code asks one bound
/// per member where it encodes, formats and compares ([`crate::typed::Fields`]; comparing
/// keeps one struct's fields as `&dyn Any`).
pub trait AvpData: Sized + std::fmt::Debug + PartialEq + 'static {
    /// The RFC 6733 data format.
    const TYPE: AvpType;

    /// Decodes the AVP's data. Errors carry the AVP as Failed-AVP.
    fn decode(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<Self, DecodeError>;

    /// Decodes into an existing value, replacing it. Grouped types fill their fields in
    /// place ([`crate::typed::Grouped`]), which spares moving large structs (and lets a
    /// boxed value decode straight into its heap allocation).
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
    ///
    /// Every scalar type says; the default, which Grouped types use, writes the value and
    /// measures it. Encoding never asks a Grouped value its length (it patches the length
    /// in once the members are written), so one generic measure costs less than a
    /// generated sum of member lengths per Grouped type.
    fn data_len(&self) -> usize {
        let mut buf = BytesMut::new();
        self.encode_data(&mut buf);
        buf.len()
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_cx_keeps_its_fields_apart() {
        let cx = DecodeCx::new(3, Policy::Tolerant);
        assert_eq!(
            (cx.depth(), cx.max_depth(), cx.policy()),
            (0, 3, Policy::Tolerant)
        );
        let empty = Bytes::new();
        let avp = AvpRef::detached(456, AvpFlags(0x40), 0, &empty);
        let mut at = cx;
        for depth in 1..=3 {
            at = at.enter(&avp).unwrap();
            assert_eq!(
                (at.depth(), at.max_depth(), at.policy()),
                (depth, 3, Policy::Tolerant)
            );
        }
        assert!(matches!(
            at.enter(&avp).unwrap_err().kind,
            ErrorKind::NestingTooDeep(3)
        ));
        let d = DecodeCx::default();
        assert_eq!(
            (d.depth(), usize::from(d.max_depth()), d.policy()),
            (0, crate::DEFAULT_MAX_DEPTH, Policy::Strict)
        );
        let deepest = DecodeCx::new(u16::MAX, Policy::Strict);
        assert_eq!(
            DecodeCx::strict_at(u16::MAX - 1, u16::MAX)
                .enter(&avp)
                .unwrap()
                .depth(),
            u16::MAX
        );
        assert_eq!(deepest.max_depth(), u16::MAX);
        assert!(format!("{d:?}").contains("max_depth: 64"));
    }
}
