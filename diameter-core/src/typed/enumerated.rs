//! Generated Enumerated newtypes (`pub struct CcRequestType(pub i32)`): their
//! [`AvpData`](crate::data::AvpData) is an Integer32's, written once here for all of them
//! (see [`super::Generated`]).

use bytes::BytesMut;

use crate::avp::AvpRef;
use crate::data::{AvpData, DecodeCx};
use crate::dictionary::AvpType;
use crate::error::DecodeError;

use super::Kind;

/// A generated Enumerated newtype over its wire value.
pub trait Enumerated: Copy + From<i32> {
    /// The wire value.
    fn value(self) -> i32;
}

/// The [`Kind`] of Enumerated newtypes: an Integer32 on the wire, any value kept.
pub enum EnumeratedKind {}

impl<T: Enumerated> Kind<T> for EnumeratedKind {
    const TYPE: AvpType = AvpType::Enumerated;

    #[inline]
    fn decode(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<T, DecodeError> {
        match i32::decode(avp, cx) {
            Ok(v) => Ok(T::from(v)),
            Err(e) => Err(e),
        }
    }
    #[inline]
    fn decode_in_place(v: &mut T, avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        *v = Self::decode(avp, cx)?;
        Ok(())
    }
    #[inline]
    fn check(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        i32::check(avp, cx)
    }
    #[inline]
    fn data_len(_: &T) -> usize {
        4
    }
    #[inline]
    fn encode_data(v: &T, buf: &mut BytesMut) {
        v.value().encode_data(buf)
    }
}
