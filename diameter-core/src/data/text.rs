//! UTF8String (§4.3.1), DiameterIdentity (§4.3.1), IPFilterRule (§4.3.1) and QoSFilterRule
//! (RFC 7155 §4.1.1 / RFC 4005): text held as a zero-copy `ByteString` slice of the message.

use bytes::BytesMut;
use bytestring::ByteString;

use super::{AvpData, DecodeCx};
use crate::avp::AvpRef;
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};

// `ByteString::try_from(Bytes)` tests for ASCII a word at a time before the full UTF-8
// check from bytestring 1.5.1 on, which Cargo.lock pins; 1.5.0 ran `str::from_utf8`, byte by
// byte up to alignment, on every text AVP (13 % of a CCR's typed decoding). 1.5.1 needs
// Rust 1.88, above the workspace's rust-version (1.85): the requirement stays `1.4`, so that
// a build on an older toolchain resolves 1.5.0, slower but the same.
fn decode_text(avp: &AvpRef<'_>, what: &'static str) -> Result<ByteString, DecodeError> {
    match ByteString::try_from(avp.data_bytes()) {
        Ok(s) => Ok(s),
        Err(_) => Err(invalid_text(avp, what)),
    }
}

/// The error of text that is not UTF-8, out of line: built inline, its `DecodeError` gave
/// every text decoding a large stack frame to set up and tear down.
#[cold]
#[inline(never)]
fn invalid_text(avp: &AvpRef<'_>, what: &'static str) -> DecodeError {
    avp.error(ErrorKind::InvalidAvpValue(what))
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $ty:ident, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub ByteString);

        impl $name {
            /// What a decode error says when the data is not valid text.
            pub const INVALID: &'static str = $what;

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(ByteString::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(ByteString::from(s))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl AvpData for $name {
            const TYPE: AvpType = AvpType::$ty;

            #[inline]
            fn decode(avp: &AvpRef<'_>, _cx: DecodeCx) -> Result<Self, DecodeError> {
                decode_text(avp, $what).map(Self)
            }
            #[inline]
            fn data_len(&self) -> usize {
                self.0.len()
            }
            #[inline]
            fn encode_data(&self, buf: &mut BytesMut) {
                buf.extend_from_slice(self.0.as_bytes());
            }
        }
    };
}

text_type!(
    /// UTF8String (RFC 6733 §4.3.1): validated UTF-8, zero-copy.
    Utf8String,
    UTF8String,
    "UTF8String is not valid UTF-8"
);
text_type!(
    /// DiameterIdentity (RFC 6733 §4.3.1): the FQDN or realm of a Diameter node.
    DiameterIdentity,
    DiameterIdentity,
    "DiameterIdentity is not valid text"
);
text_type!(
    /// IPFilterRule (RFC 6733 §4.3.1): a packet filter in the ipfw-like syntax, kept as text.
    IpFilterRule,
    IPFilterRule,
    "IPFilterRule is not valid text"
);
text_type!(
    /// QoSFilterRule (RFC 7155 §4.4.10 / RFC 4005): a QoS filter, kept as text.
    QosFilterRule,
    QoSFilterRule,
    "QoSFilterRule is not valid text"
);
