//! Large Grouped AVPs decoded on first access.
//!
//! The 3GPP charging tree is wide: PS-Information alone has some eighty members. A typed
//! message holds such members as [`Lazy`]: decoding the message only keeps a zero-copy slice
//! of the AVP's data, the members are decoded when first read, and an unread or unmodified
//! member is re-encoded from the bytes it came in, byte for byte.

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};

use crate::avp::{AvpFlags, AvpRef};
use crate::data::{AvpData, DecodeCx};
use crate::dictionary::AvpType;
use crate::error::DecodeError;

/// A value decoded on first access (see the module docs). Build one with [`Lazy::new`];
/// read it with [`Lazy::get`], change it with [`Lazy::get_mut`].
///
/// Kept small (80 bytes), since a typed message holds one per wide member whether present
/// or not: the received AVP's header fields and data inline, the value boxed.
pub struct Lazy<T> {
    /// The received data (empty for a value built by hand).
    data: Bytes,
    code: u32,
    vendor: u32,
    /// The decoding context of the received AVP, narrowed.
    depth: u16,
    max_depth: u16,
    flags: AvpFlags,
    /// A value built by hand or changed through [`Lazy::get_mut`]: encoded from the value.
    /// `None` while the value is as received: encoded by copying `data`.
    built: Option<Box<T>>,
    /// The received value, decoded on first access (or the error).
    decoded: OnceLock<Result<Box<T>, Box<DecodeError>>>,
}

fn narrow(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

impl<T: AvpData + Default> Lazy<T> {
    /// A value built by hand.
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

    fn decode_received(&self) -> Result<Box<T>, Box<DecodeError>> {
        let avp = AvpRef::detached(self.code, self.flags, self.vendor, &self.data);
        let cx = DecodeCx {
            depth: usize::from(self.depth),
            max_depth: usize::from(self.max_depth),
        };
        let mut b = Box::<T>::default();
        b.decode_in_place(&avp, cx)?;
        Ok(b)
    }

    /// The value, decoding it on first access. Errors name offsets within this AVP's data.
    pub fn get(&self) -> Result<&T, DecodeError> {
        if let Some(b) = &self.built {
            return Ok(b);
        }
        match self.decoded.get_or_init(|| self.decode_received()) {
            Ok(b) => Ok(b),
            Err(e) => Err((**e).clone()),
        }
    }

    /// The value for changing; it is then encoded from the value, not the received bytes.
    /// A received value that does not decode stays as received.
    pub fn get_mut(&mut self) -> Result<&mut T, DecodeError> {
        if self.built.is_none() {
            let v = match self.decoded.take() {
                Some(v) => v,
                None => self.decode_received(),
            };
            match v {
                Ok(b) => {
                    self.built = Some(b);
                    self.data = Bytes::new();
                }
                Err(e) => {
                    let err = (*e).clone();
                    let _ = self.decoded.set(Err(e));
                    return Err(err);
                }
            }
        }
        match &mut self.built {
            Some(b) => Ok(b),
            None => Err(crate::ErrorKind::InvalidAvpValue("lazy value lost").at(0)),
        }
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
        let v = match self.decoded.take() {
            Some(v) => v,
            None => self.decode_received(),
        };
        v.map(|b| *b).map_err(|e| *e)
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

impl<T: AvpData + Default + std::fmt::Debug> std::fmt::Debug for Lazy<T> {
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
        Ok(Self {
            data: avp.data_bytes(),
            code: avp.code,
            vendor: avp.vendor,
            depth: narrow(cx.depth),
            max_depth: narrow(cx.max_depth),
            flags: avp.flags,
            built: None,
            decoded: OnceLock::new(),
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
}
