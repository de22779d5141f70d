//! Generated AVP types (Grouped structs, Enumerated newtypes) are [`AvpData`] through one
//! blanket impl over [`Generated`], whose `Kind` says how the type's values are decoded and
//! encoded ([`super::GroupedKind`], [`super::EnumeratedKind`]).
//!
//! Each generated type then writes only what differs between types (a Grouped struct's
//! decoding walk, an Enumerated newtype's wire value); what is the same for every type of a
//! kind is written, and type-checked, once in the runtime instead of once per type: about
//! 2,500 small bodies fewer to check with every dictionary on (BENCHMARKS.md, "Generated
//! code: PartialEq through the walk, AvpData through one impl").

use std::fmt;

use bytes::BytesMut;

use crate::avp::AvpRef;
use crate::data::{AvpData, DecodeCx};
use crate::dictionary::AvpType;
use crate::error::DecodeError;

/// A generated AVP type: its [`AvpData`] is its kind's.
pub trait Generated: Sized + fmt::Debug + PartialEq + 'static {
    /// How its values are decoded and encoded.
    type Kind: Kind<Self>;
}

/// How the values of one kind of generated type `T` are decoded and encoded: each method
/// is the [`AvpData`] method of the same name.
pub trait Kind<T> {
    /// [`AvpData::TYPE`].
    const TYPE: AvpType;
    /// [`AvpData::decode`].
    fn decode(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<T, DecodeError>;
    /// [`AvpData::decode_in_place`].
    fn decode_in_place(v: &mut T, avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError>;
    /// [`AvpData::check`].
    fn check(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError>;
    /// [`AvpData::data_len`].
    fn data_len(v: &T) -> usize;
    /// [`AvpData::encode_data`].
    fn encode_data(v: &T, buf: &mut BytesMut);
}

// Each method only forwards, `inline(always)`, so that the kind's method is what callers
// call, with its own inlining attributes (as when each type wrote its own impl).
impl<T: Generated> AvpData for T {
    const TYPE: AvpType = <T::Kind as Kind<T>>::TYPE;

    #[inline(always)]
    fn decode(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<Self, DecodeError> {
        T::Kind::decode(avp, cx)
    }
    #[inline(always)]
    fn decode_in_place(&mut self, avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        T::Kind::decode_in_place(self, avp, cx)
    }
    #[inline(always)]
    fn check(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        T::Kind::check(avp, cx)
    }
    #[inline(always)]
    fn data_len(&self) -> usize {
        T::Kind::data_len(self)
    }
    #[inline(always)]
    fn encode_data(&self, buf: &mut BytesMut) {
        T::Kind::encode_data(self, buf)
    }
}
