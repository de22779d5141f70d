//! Generated Grouped AVP structs: their [`AvpData`](crate::data::AvpData) is
//! [`GroupedKind`]'s (see [`super::Generated`]).
//!
//! Each generated type writes only what differs between types: the walk that decodes its
//! members ([`Grouped::decode_members`]) and, for wide types, the check through its view
//! ([`Grouped::check_members`]). The rest (the data type, decoding into a `Default`,
//! encoding through [`Fields`]) is written, and type-checked, once here.

use std::fmt;

use bytes::BytesMut;

use crate::avp::{AvpKey, AvpRef};
use crate::data::DecodeCx;
use crate::dictionary::AvpType;
use crate::error::DecodeError;

use super::{Fields, Kind, Required, put_fields};

/// A generated owned struct of a Grouped AVP (see the module doc).
pub trait Grouped: Fields + Default + fmt::Debug + PartialEq + 'static {
    /// The AVP's code and vendor (errors inside it are reported within it): a constant,
    /// not the received AVP's fields, which the view's walk would keep live across its
    /// loop (14 more instructions to view a CCR).
    const KEY: AvpKey;
    /// The members the ABNF requires, checked after decoding (and by the view): none
    /// unless the type says so.
    const REQUIRED: &'static [Required] = &[];

    /// Decodes the members of `parent` into `self`, a `Default` value, in place (large
    /// structs are never moved while decoding); errors are reported within `parent`.
    fn decode_members(&mut self, parent: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError>;

    /// Checks `avp` as decoding does, without keeping the value: `AvpData::check`. Wide
    /// types walk their view instead (no allocation), which is what lets
    /// [`crate::lazy::Lazy`] check a member when the message is decoded and build it later.
    #[inline]
    fn check_members(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        Self::default().decode_members(avp, cx)
    }
}

/// The [`Kind`] of Grouped structs.
pub enum GroupedKind {}

impl<T: Grouped> Kind<T> for GroupedKind {
    const TYPE: AvpType = AvpType::Grouped;

    fn decode(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<T, DecodeError> {
        let mut out = T::default();
        out.decode_members(avp, cx)?;
        Ok(out)
    }
    #[inline]
    fn decode_in_place(v: &mut T, avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        v.decode_members(avp, cx)
    }
    #[inline]
    fn check(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        T::check_members(avp, cx)
    }
    /// Written and measured: encoding never asks a Grouped value its length (it patches
    /// the length in once the members are written).
    /// (Through `encode_data`, so that the walk has one caller to be inlined into.)
    fn data_len(v: &T) -> usize {
        let mut buf = BytesMut::new();
        Self::encode_data(v, &mut buf);
        buf.len()
    }
    fn encode_data(v: &T, buf: &mut BytesMut) {
        put_fields(v, buf)
    }
}
