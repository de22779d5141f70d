//! Large Grouped AVPs decoded on first access, read and set like every other member.
//!
//! The 3GPP charging tree is wide: PS-Information alone has some eighty members. A typed
//! message holds such members as [`Lazy`]: decoding the message checks the member's contents
//! (with the zero-copy walk of its generated view, so a malformed member fails the message's
//! decoding with the same Result-Code and Failed-AVP as any other member) but only keeps a
//! slice of the AVP's data; the member's struct is built when first read, and an unread or
//! unmodified member is re-encoded from the bytes it came in, byte for byte.
//!
//! Which members are held this way is a memory decision of the generator, not part of the
//! API: a `Lazy<T>` dereferences to `T` (reading `m.x.as_ref()?.field` and changing
//! `m.x.as_mut()?.field = ..` look the same as for an inline or boxed member) and is made
//! from a `T` with `.into()` (`m.x = Some(value.into())` works whatever the member's type).

use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};

use crate::avp::{AvpFlags, AvpRef};
use crate::data::{AvpData, DecodeCx};
use crate::dictionary::AvpType;
use crate::error::DecodeError;

/// A value decoded on first access (see the module docs): use it as a `T` (it dereferences
/// to one), make one with `.into()` or [`Lazy::new`].
///
/// Kept small (80 bytes), since a typed message holds one per wide member whether present
/// or not: the received AVP's header fields and data inline, the value boxed.
pub struct Lazy<T> {
    /// The received data (empty for a value built by hand).
    data: Bytes,
    code: u32,
    vendor: u32,
    /// The decoding context of the received AVP (strict: see `decode`), as two `u16`s
    /// rather than a `DecodeCx` so that a `Lazy` stays 80 bytes.
    depth: u16,
    max_depth: u16,
    flags: AvpFlags,
    /// A value built by hand or changed through [`Lazy::get_mut`] / `DerefMut`: encoded from
    /// the value. `None` while the value is as received: encoded by copying `data`.
    built: Option<Box<T>>,
    /// The received value, decoded on first access.
    decoded: OnceLock<Decoded<T>>,
}

/// A received value once decoded. The data was checked when the message was decoded, so
/// `error` is `None` unless the generated view's check and the struct's decoding disagree
/// (a bug: debug builds and the fuzzers assert on it); the value is then what decoded
/// before the error, and [`Lazy::get`] reports the error.
struct Decoded<T> {
    value: Box<T>,
    error: Option<Box<DecodeError>>,
}

impl<T: Clone> Clone for Decoded<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            error: self.error.clone(),
        }
    }
}

impl<T: AvpData + Default> Lazy<T> {
    /// A value built by hand (the same as `value.into()`).
    #[inline]
    pub fn new(value: T) -> Self {
        Self {
            data: Bytes::new(),
            code: 0,
            vendor: 0,
            depth: 0,
            max_depth: 0,
            flags: AvpFlags(0),
            built: Some(Box::new(value)),
            decoded: OnceLock::new(),
        }
    }

    fn decode_received(&self) -> Decoded<T> {
        let avp = AvpRef::detached(self.code, self.flags, self.vendor, &self.data);
        // Received data was checked under the strict policy (a tolerant decoding builds
        // the value at once, see `decode`).
        let cx = DecodeCx::strict_at(self.depth, self.max_depth);
        let mut value = Box::<T>::default();
        let error = value.decode_in_place(&avp, cx).err().map(Box::new);
        debug_assert!(
            error.is_none(),
            "a Lazy member's data passed its check at decoding but does not decode: {error:?}"
        );
        Decoded { value, error }
    }

    fn decoded(&self) -> &Decoded<T> {
        self.decoded.get_or_init(|| self.decode_received())
    }

    /// The value, or the error its received data gives. Data received in a message was
    /// checked when the message was decoded, so this is `Ok` for every value a decoding
    /// accepted; dereferencing gives the value directly.
    pub fn get(&self) -> Result<&T, DecodeError> {
        if let Some(b) = &self.built {
            return Ok(b);
        }
        let d = self.decoded();
        match &d.error {
            None => Ok(&d.value),
            Some(e) => Err((**e).clone()),
        }
    }

    /// The value for changing; it is then encoded from the value, not the received bytes.
    /// A received value that does not decode stays as received and gives its error.
    pub fn get_mut(&mut self) -> Result<&mut T, DecodeError> {
        if let Some(e) = self.get().err() {
            return Err(e);
        }
        Ok(self.value_mut())
    }

    /// The value for changing, as received data that did not decode too (see [`Decoded`]).
    fn value_mut(&mut self) -> &mut T {
        if self.built.is_none() {
            let d = match self.decoded.take() {
                Some(d) => d,
                None => self.decode_received(),
            };
            self.built = Some(d.value);
            self.data = Bytes::new();
        }
        self.built.get_or_insert_with(Box::default)
    }

    /// Whether the value has been decoded (or was built by hand).
    pub fn is_decoded(&self) -> bool {
        self.built.is_some() || self.decoded.get().is_some()
    }

    /// The value, by move.
    pub fn into_inner(mut self) -> Result<T, DecodeError> {
        if let Some(b) = self.built.take() {
            return Ok(*b);
        }
        let d = match self.decoded.take() {
            Some(d) => d,
            None => self.decode_received(),
        };
        match d.error {
            None => Ok(*d.value),
            Some(e) => Err(*e),
        }
    }
}

impl<T: AvpData + Default> Deref for Lazy<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match &self.built {
            Some(b) => b,
            None => &self.decoded().value,
        }
    }
}

impl<T: AvpData + Default> DerefMut for Lazy<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.value_mut()
    }
}

impl<T: AvpData + Default> Default for Lazy<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: AvpData + Default> From<T> for Lazy<T> {
    fn from(v: T) -> Self {
        Self::new(v)
    }
}

impl<T: Clone> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        let decoded = OnceLock::new();
        if let Some(v) = self.decoded.get() {
            let _ = decoded.set(v.clone());
        }
        Self {
            data: self.data.clone(),
            code: self.code,
            vendor: self.vendor,
            depth: self.depth,
            max_depth: self.max_depth,
            flags: self.flags,
            built: self.built.clone(),
            decoded,
        }
    }
}

impl<T: AvpData + Default + PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self.get(), other.get()) {
            (Ok(a), Ok(b)) => a == b,
            // Undecodable on both sides (so both as received): equal when the bytes are.
            (Err(_), Err(_)) => self.data == other.data,
            _ => false,
        }
    }
}

impl<T: AvpData + Default + Eq> Eq for Lazy<T> {}

impl<T: AvpData + Default> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Ok(v) => v.fmt(f),
            Err(e) => write!(f, "Lazy(undecodable: {e})"),
        }
    }
}

impl<T: AvpData + Default> AvpData for Lazy<T> {
    const TYPE: AvpType = T::TYPE;

    #[inline]
    fn decode(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<Self, DecodeError> {
        let decoded = OnceLock::new();
        if cx.policy() == crate::policy::Policy::Strict {
            // Checked now, built later: a message that decodes has no error left to find.
            T::check(avp, cx)?;
        } else {
            // The views check strictly: a tolerant decoding builds the value now, keeping
            // what it can, and still re-encodes the received bytes.
            let mut value = Box::<T>::default();
            value.decode_in_place(avp, cx)?;
            let _ = decoded.set(Decoded { value, error: None });
        }
        Ok(Self {
            data: avp.data_bytes(),
            code: avp.code,
            vendor: avp.vendor,
            depth: cx.depth(),
            max_depth: cx.max_depth(),
            flags: avp.flags,
            built: None,
            decoded,
        })
    }

    #[inline]
    fn data_len(&self) -> usize {
        match &self.built {
            Some(v) => v.data_len(),
            None => self.data.len(),
        }
    }

    #[inline]
    fn encode_data(&self, buf: &mut BytesMut) {
        match &self.built {
            Some(v) => v.encode_data(buf),
            None => buf.extend_from_slice(&self.data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::base::ProxyInfo;

    #[test]
    fn decodes_on_access_and_reencodes_received_bytes() {
        let built = ProxyInfo {
            proxy_host: "p.example".into(),
            proxy_state: Bytes::from_static(b"s"),
            ..Default::default()
        };
        let mut buf = BytesMut::new();
        built.encode_avp(&mut buf, 284, AvpFlags(0x40), 0);
        let root = buf.freeze();
        let avp = crate::AvpIter::new(&root).next().unwrap().unwrap();
        let mut lazy = Lazy::<ProxyInfo>::decode(&avp, DecodeCx::default()).unwrap();
        assert!(!lazy.is_decoded());
        assert_eq!(lazy.get().unwrap(), &built);
        let mut again = BytesMut::new();
        lazy.encode_avp(&mut again, 284, AvpFlags(0x40), 0);
        assert_eq!(again, root);
        lazy.get_mut().unwrap().proxy_state = Bytes::from_static(b"changed");
        let mut changed = BytesMut::new();
        lazy.encode_avp(&mut changed, 284, AvpFlags(0x40), 0);
        assert_ne!(changed, root);
        assert_eq!(
            Lazy::new(built.clone()),
            Lazy::<ProxyInfo>::decode(&avp, DecodeCx::default()).unwrap()
        );
    }

    #[test]
    fn reads_and_changes_like_the_value_it_holds() {
        let built = ProxyInfo {
            proxy_host: "p.example".into(),
            proxy_state: Bytes::from_static(b"s"),
            ..Default::default()
        };
        let mut buf = BytesMut::new();
        built.encode_avp(&mut buf, 284, AvpFlags(0x40), 0);
        let root = buf.freeze();
        let avp = crate::AvpIter::new(&root).next().unwrap().unwrap();
        let mut lazy = Lazy::<ProxyInfo>::decode(&avp, DecodeCx::default()).unwrap();
        // Read through Deref, as an inline member would be.
        assert_eq!(lazy.proxy_host.as_str(), "p.example");
        assert!(lazy.is_decoded());
        // Changed through DerefMut: encoded from the value from then on.
        lazy.proxy_state = Bytes::from_static(b"t");
        let mut again = BytesMut::new();
        lazy.encode_avp(&mut again, 284, AvpFlags(0x40), 0);
        let expected = ProxyInfo {
            proxy_state: Bytes::from_static(b"t"),
            ..built.clone()
        };
        let mut want = BytesMut::new();
        expected.encode_avp(&mut want, 284, AvpFlags(0x40), 0);
        assert_eq!(again, want);
        // Made from a value with `.into()`, as any member is.
        let made: Lazy<ProxyInfo> = built.clone().into();
        assert_eq!(*made, built);
    }

    #[test]
    fn received_data_is_checked_when_decoded() {
        // Proxy-Info whose Proxy-Host claims 100 bytes of the 12 its parent holds: refused
        // when decoded (5014, as for an inline member), not at first read.
        let mut buf = BytesMut::new();
        crate::avp::put_header(&mut buf, 284, AvpFlags(0x40), 0, 12);
        buf.extend_from_slice(&[0, 0, 1, 24, 0x40, 0, 0, 100, b'p', b'.', b'e', b'x']);
        let root = buf.freeze();
        let avp = crate::AvpIter::new(&root).next().unwrap().unwrap();
        let err = Lazy::<ProxyInfo>::decode(&avp, DecodeCx::default()).unwrap_err();
        assert_eq!(err.result_code(), 5014);
    }
}
