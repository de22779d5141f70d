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
/// or not: the received AVP's header fields and data inline, the decoded value (or the
/// error) boxed.
pub struct Lazy<T> {
    /// The received data (empty for a value built by hand).
    data: Bytes,
    code: u32,
    vendor: u32,
    /// The decoding context of the received AVP, narrowed.
    depth: u32,
    max_depth: u32,
    flags: AvpFlags,
    /// Whether the value is as received: encoding then copies `data`.
    received: bool,
    value: OnceLock<Result<Box<T>, Box<DecodeError>>>,
}

impl<T: AvpData + Default> Lazy<T> {
    /// A value built by hand.
    pub fn new(value: T) -> Self {
        Self::from_box(Box::new(value))
    }

    fn from_box(value: Box<T>) -> Self {
        // `From` builds the cell already set, without running `Once`.
        let cell = OnceLock::from(Ok(value));
        Self {
            data: Bytes::new(),
            code: 0,
            vendor: 0,
            depth: 0,
            max_depth: 0,
            flags: AvpFlags(0),
            received: false,
            value: cell,
        }
    }

    fn decode_received(&self) -> Result<Box<T>, Box<DecodeError>> {
        if !self.received {
            return Ok(Box::default());
        }
        let avp = AvpRef::detached(self.code, self.flags, self.vendor, &self.data);
        let cx = DecodeCx {
            depth: self.depth as usize,
            max_depth: self.max_depth as usize,
        };
        let mut b = Box::<T>::default();
        b.decode_in_place(&avp, cx)?;
        Ok(b)
    }

    /// The value, decoding it on first access. Errors name offsets within this AVP's data.
    pub fn get(&self) -> Result<&T, DecodeError> {
        match self.value.get_or_init(|| self.decode_received()) {
            Ok(b) => Ok(b),
            Err(e) => Err((**e).clone()),
        }
    }

    /// The value for changing; it is then encoded from the value, not the received bytes.
    pub fn get_mut(&mut self) -> Result<&mut T, DecodeError> {
        if self.value.get().is_none() {
            let v = self.decode_received();
            let _ = self.value.set(v);
        }
        self.received = false;
        self.data = Bytes::new();
        match self.value.get_mut() {
            Some(Ok(b)) => Ok(b),
            Some(Err(e)) => Err((**e).clone()),
            None => Err(crate::ErrorKind::InvalidAvpValue("lazy value lost").at(0)),
        }
    }

    /// Whether the value has been decoded (or was built by hand).
    pub fn is_decoded(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, by move.
    pub fn into_inner(mut self) -> Result<T, DecodeError> {
        let v = match self.value.take() {
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
        let value = OnceLock::new();
        if let Some(v) = self.value.get() {
            let _ = value.set(v.clone());
        }
        Self {
            data: self.data.clone(),
            code: self.code,
            vendor: self.vendor,
            depth: self.depth,
            max_depth: self.max_depth,
            flags: self.flags,
            received: self.received,
            value,
        }
    }
}

impl<T: AvpData + Default + PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self.get(), other.get()) {
            (Ok(a), Ok(b)) => a == b,
            // Undecodable on both sides: equal when the bytes are.
            (Err(_), Err(_)) => {
                self.received == other.received && (!self.received || self.data == other.data)
            }
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
            depth: u32::try_from(cx.depth).unwrap_or(u32::MAX),
            max_depth: u32::try_from(cx.max_depth).unwrap_or(u32::MAX),
            flags: avp.flags,
            received: true,
            value: OnceLock::new(),
        })
    }

    fn data_len(&self) -> usize {
        match (self.received, self.value.get()) {
            (true, _) => self.data.len(),
            (false, Some(Ok(v))) => v.data_len(),
            (false, _) => 0,
        }
    }

    fn encode_data(&self, buf: &mut BytesMut) {
        match (self.received, self.value.get()) {
            (true, _) => buf.extend_from_slice(&self.data),
            (false, Some(Ok(v))) => v.encode_data(buf),
            (false, _) => {}
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
