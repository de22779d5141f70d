//! Integer32/64, Unsigned32/64, Float32/64 (§4.2): big-endian, fixed size.

use bytes::BytesMut;

use super::{AvpData, DecodeCx};
use crate::avp::AvpRef;
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};

macro_rules! fixed_size {
    ($t:ty, $ty:ident, $n:expr) => {
        #[doc = concat!(stringify!($ty), " (RFC 6733 §4.2).")]
        impl AvpData for $t {
            const TYPE: AvpType = AvpType::$ty;

            #[inline]
            fn decode(avp: &AvpRef<'_>, _cx: DecodeCx) -> Result<Self, DecodeError> {
                match <[u8; $n]>::try_from(avp.data) {
                    Ok(b) => Ok(<$t>::from_be_bytes(b)),
                    Err(_) => Err(avp.error(ErrorKind::InvalidDataLength {
                        ty: stringify!($ty),
                        have: avp.data.len(),
                    })),
                }
            }
            #[inline]
            fn data_len(&self) -> usize {
                $n
            }
            #[inline]
            fn encode_data(&self, buf: &mut BytesMut) {
                buf.extend_from_slice(&self.to_be_bytes());
            }
        }
    };
}

fixed_size!(i32, Integer32, 4);
fixed_size!(i64, Integer64, 8);
fixed_size!(u32, Unsigned32, 4);
fixed_size!(u64, Unsigned64, 8);
fixed_size!(f32, Float32, 4);
fixed_size!(f64, Float64, 8);
