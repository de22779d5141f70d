//! AVP framing, RFC 6733 §4.1: header, flags, vendor, data and padding.
//!
//! Decoding walks a buffer without copying: [`AvpIter`] yields [`AvpRef`]s that borrow the
//! message, and [`RawAvp`] is the owned form (a `Bytes` slice of the same buffer) kept in the
//! `extra` lists of typed messages.

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, ErrorKind};
use crate::header::{MAX_LENGTH, length_field};
use crate::writer::WriteError;

/// AVP header length without Vendor-ID.
pub const AVP_HEADER_LEN: usize = 8;
/// AVP header length with Vendor-ID (V bit set).
pub const AVP_HEADER_LEN_VENDOR: usize = 12;

/// Rounds `len` up to the next multiple of four (§4.1: AVPs are padded to 32 bits).
#[inline]
pub const fn padded(len: usize) -> usize {
    (len + 3) & !3
}

/// The AVPs of an encoded message or AVP list as (key, encoding) pairs: a walk over the
/// AVP headers alone, the encoding being header and data without padding. It stops at the
/// first AVP that does not frame, as `Message::avps().flatten()` does, and is several
/// times cheaper than [`AvpIter`] where only a few AVPs are looked for (no `Result` or
/// [`AvpRef`] to build per AVP): the node's hot paths (answers, metrics, DOIC).
#[derive(Clone, Debug)]
pub struct AvpHeaders<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> AvpHeaders<'a> {
    /// The top-level AVPs of an encoded message (after its header).
    pub fn message(message: &'a [u8]) -> Self {
        Self {
            buf: message,
            pos: crate::header::HEADER_LEN.min(message.len()),
        }
    }

    /// The AVPs of an encoded AVP list (a Grouped AVP's data).
    pub fn list(avps: &'a [u8]) -> Self {
        Self { buf: avps, pos: 0 }
    }

    /// The data of an AVP as this walk yields it: after its header (12 bytes with the V
    /// bit, else 8; the walk has checked that the length covers it).
    pub fn data(encoded: &[u8]) -> &[u8] {
        let header = match encoded.get(4) {
            Some(f) if AvpFlags(*f).is_vendor() => AVP_HEADER_LEN_VENDOR,
            _ => AVP_HEADER_LEN,
        };
        encoded.get(header..).unwrap_or_default()
    }
}

impl<'a> Iterator for AvpHeaders<'a> {
    type Item = (AvpKey, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.buf.get(self.pos..)?;
        if b.len() < AVP_HEADER_LEN {
            return None;
        }
        let code = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let len = u32::from_be_bytes([0, b[5], b[6], b[7]]) as usize;
        let (vendor, header) = if AvpFlags(b[4]).is_vendor() {
            if b.len() < AVP_HEADER_LEN_VENDOR {
                return None;
            }
            let vendor = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
            (vendor, AVP_HEADER_LEN_VENDOR)
        } else {
            (0, AVP_HEADER_LEN)
        };
        if len < header || padded(len) > b.len() {
            self.pos = self.buf.len();
            return None;
        }
        self.pos += padded(len);
        Some((AvpKey::new(code, vendor), &b[..len]))
    }
}

/// An AVP's identity: code and Vendor-ID (0 for IETF AVPs, which carry no Vendor-ID).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct AvpKey {
    /// AVP Code.
    pub code: u32,
    /// Vendor-ID, 0 when the V bit is clear.
    pub vendor: u32,
}

impl AvpKey {
    /// A key from code and vendor.
    pub const fn new(code: u32, vendor: u32) -> Self {
        Self { code, vendor }
    }
}

impl std::fmt::Display for AvpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = crate::dictionary::avp_name(*self);
        match (name, self.vendor) {
            (Some(n), 0) => write!(f, "{n}({})", self.code),
            (Some(n), v) => write!(f, "{n}({}/{v})", self.code),
            (None, 0) => write!(f, "{}", self.code),
            (None, v) => write!(f, "{}/{v}", self.code),
        }
    }
}

/// AVP Flags (§4.1): `V M P r r r r r`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AvpFlags(pub u8);

impl AvpFlags {
    /// V: Vendor-ID present.
    pub const VENDOR: u8 = 0x80;
    /// M: mandatory; the receiver must understand it or reject the message (5001).
    pub const MANDATORY: u8 = 0x40;
    /// P: end-to-end protection (deprecated by RFC 6733, kept for interop).
    pub const PROTECTED: u8 = 0x20;
    /// Reserved bits, which must be zero.
    pub const RESERVED: u8 = 0x1f;

    /// V bit.
    pub const fn is_vendor(self) -> bool {
        self.0 & Self::VENDOR != 0
    }
    /// M bit.
    pub const fn is_mandatory(self) -> bool {
        self.0 & Self::MANDATORY != 0
    }
    /// P bit.
    pub const fn is_protected(self) -> bool {
        self.0 & Self::PROTECTED != 0
    }
}

impl std::fmt::Debug for AvpFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bit = |b: u8, c: char| if self.0 & b != 0 { c } else { '-' };
        write!(
            f,
            "{}{}{}",
            bit(Self::VENDOR, 'V'),
            bit(Self::MANDATORY, 'M'),
            bit(Self::PROTECTED, 'P')
        )
    }
}

/// An AVP borrowed from a decoded buffer.
#[derive(Clone, Copy, Debug)]
pub struct AvpRef<'a> {
    /// AVP Code.
    pub code: u32,
    /// AVP Flags as received.
    pub flags: AvpFlags,
    /// Vendor-ID (0 when absent).
    pub vendor: u32,
    /// The data, without padding.
    pub data: &'a [u8],
    /// Offset of the AVP header within the root buffer.
    pub offset: usize,
    /// Offset of the data within the root buffer.
    pub data_offset: usize,
    root: &'a Bytes,
}

impl<'a> AvpRef<'a> {
    /// An AVP whose data is the whole of `data` (for values decoded later from a kept
    /// copy of their data, see [`crate::lazy::Lazy`]); offsets are relative to `data`.
    pub fn detached(code: u32, flags: AvpFlags, vendor: u32, data: &'a Bytes) -> Self {
        Self {
            code,
            flags,
            vendor,
            data,
            offset: 0,
            data_offset: 0,
            root: data,
        }
    }

    /// The AVP's key.
    #[inline]
    pub fn key(&self) -> AvpKey {
        AvpKey::new(self.code, self.vendor)
    }

    /// The data as a zero-copy `Bytes` slice of the root buffer.
    #[inline]
    pub fn data_bytes(&self) -> Bytes {
        self.root
            .slice(self.data_offset..self.data_offset + self.data.len())
    }

    /// The whole encoded AVP (header and data, without padding) as a `Bytes` slice: what
    /// Failed-AVP carries and what a relay forwards.
    pub fn raw_bytes(&self) -> Bytes {
        self.root
            .slice(self.offset..self.data_offset + self.data.len())
    }

    /// The AVPs inside this AVP's data (for Grouped AVPs).
    #[inline]
    pub fn children(&self) -> AvpIter<'a> {
        AvpIter::within(
            self.root,
            self.data_offset,
            self.data_offset + self.data.len(),
        )
    }

    /// The buffer this AVP borrows from.
    pub fn root(&self) -> &'a Bytes {
        self.root
    }

    /// An owned copy (zero-copy: a `Bytes` slice) of this AVP.
    pub fn to_raw(&self) -> RawAvp {
        RawAvp {
            code: self.code,
            flags: self.flags,
            vendor: self.vendor,
            data: self.data_bytes(),
        }
    }

    /// Wraps an error about this AVP: records the offset if none yet and the Failed-AVP.
    pub fn error(&self, kind: ErrorKind) -> DecodeError {
        kind.at(self.offset).with_avp(self.raw_bytes())
    }
}

/// Iterator over consecutive AVPs in `root[start..end]`.
///
/// Each item is checked for a sane length (≥ 8, or 12 with V; within the parent; padding
/// present). After an error the iterator is exhausted, so callers cannot loop on bad input.
#[derive(Clone, Debug)]
pub struct AvpIter<'a> {
    root: &'a Bytes,
    /// `root[..end]`: one slice kept, so that each step slices it once (a `Bytes` deref and
    /// a range check per AVP otherwise).
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> AvpIter<'a> {
    /// AVPs in `root[start..end]`. Out-of-range bounds yield nothing.
    pub fn within(root: &'a Bytes, start: usize, end: usize) -> Self {
        let end = end.min(root.len());
        Self {
            root,
            buf: &root[..end],
            pos: start.min(end),
            end,
        }
    }

    /// AVPs of a whole buffer (e.g. the data of a Grouped AVP built by hand).
    pub fn new(root: &'a Bytes) -> Self {
        Self::within(root, 0, root.len())
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, kind: ErrorKind, avp_end: usize) -> Option<Result<AvpRef<'a>, DecodeError>> {
        let at = self.pos;
        self.pos = self.end;
        let raw = self.root.slice(at..avp_end.clamp(at, self.end));
        Some(Err(kind.at(at).with_avp(raw)))
    }
}

impl<'a> Iterator for AvpIter<'a> {
    type Item = Result<AvpRef<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        match self.frame() {
            Ok(f) => Some(Ok(self.advance(f))),
            Err((kind, avp_end)) => self.fail(kind, avp_end),
        }
    }
}

/// Where the AVP at the iterator's position lies (what [`AvpIter::frame`] finds).
#[derive(Clone, Copy)]
struct Frame<'a> {
    code: u32,
    flags: AvpFlags,
    vendor: u32,
    header_len: usize,
    length: usize,
    data: &'a [u8],
}

impl<'a> AvpIter<'a> {
    /// The next AVP if it frames; `None` at the end and also at an AVP that does not frame,
    /// where the iterator stays so that [`Iterator::next`] then returns the error. No
    /// `Result` is built: once inlined, the AVP stays in registers, where the iterator's
    /// item is written to and read back from memory (a store-forwarding stall per AVP,
    /// which dominated [`crate::validate()`]).
    /// Generated decoders loop on this, then call [`AvpIter::finish`].
    #[inline(always)]
    pub fn next_framed(&mut self) -> Option<AvpRef<'a>> {
        if self.pos >= self.end {
            return None;
        }
        let f = self.frame().ok()?;
        Some(self.advance(f))
    }

    /// After [`AvpIter::next_framed`] returned `None`: `Ok` at the end, the framing error
    /// of the AVP it stopped at otherwise.
    #[inline]
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        // The usual case, without the out-of-line framing of `next`.
        if self.pos >= self.end {
            return Ok(());
        }
        match self.next() {
            None => Ok(()),
            Some(r) => r.map(|_| ()),
        }
    }

    /// Checks the AVP at the position (≥ 8 bytes, or 12 with V; within the parent; padding
    /// present). `pos < end`.
    #[inline(always)]
    fn frame(&self) -> Result<Frame<'a>, (ErrorKind, usize)> {
        let buf: &'a [u8] = self.buf.get(self.pos..).unwrap_or_default();
        if buf.len() < AVP_HEADER_LEN {
            return Err((
                ErrorKind::Truncated {
                    need: AVP_HEADER_LEN,
                    have: buf.len(),
                },
                self.end,
            ));
        }
        let code = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let flags = AvpFlags(buf[4]);
        let length = u32::from_be_bytes([0, buf[5], buf[6], buf[7]]) as usize;
        let (vendor, header_len) = if flags.is_vendor() {
            if buf.len() < AVP_HEADER_LEN_VENDOR || length < AVP_HEADER_LEN_VENDOR {
                return Err((
                    ErrorKind::InvalidAvpLength {
                        length: length as u32,
                    },
                    self.pos + length.min(buf.len()),
                ));
            }
            (
                u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
                AVP_HEADER_LEN_VENDOR,
            )
        } else {
            (0, AVP_HEADER_LEN)
        };
        // One test on the usual path (`padded(length) <= len` implies `length <= len`);
        // which error it is, only when it fails.
        if length < header_len || padded(length) > buf.len() {
            if length < header_len || length > buf.len() {
                // A length that overruns the parent: report only the header in Failed-AVP.
                return Err((
                    ErrorKind::InvalidAvpLength {
                        length: length as u32,
                    },
                    self.pos + header_len.min(buf.len()),
                ));
            }
            return Err((ErrorKind::InvalidPadding, self.pos + length));
        }
        Ok(Frame {
            code,
            flags,
            vendor,
            header_len,
            length,
            data: buf.get(header_len..length).unwrap_or_default(),
        })
    }

    /// The AVP `f` describes; moves past it.
    #[inline(always)]
    fn advance(&mut self, f: Frame<'a>) -> AvpRef<'a> {
        let offset = self.pos;
        self.pos += padded(f.length);
        AvpRef {
            code: f.code,
            flags: f.flags,
            vendor: f.vendor,
            data: f.data,
            offset,
            data_offset: offset + f.header_len,
            root: self.root,
        }
    }
}

/// An owned AVP: header fields plus its data as a `Bytes` (usually a slice of the received
/// message). Used for AVPs outside the ABNF (`*[ AVP ]`) and for generic building.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawAvp {
    /// AVP Code.
    pub code: u32,
    /// AVP Flags as received; a V bit with Vendor-ID 0 is kept.
    pub flags: AvpFlags,
    /// Vendor-ID, 0 for none.
    pub vendor: u32,
    /// Data without padding.
    pub data: Bytes,
}

impl std::fmt::Debug for RawAvp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RawAvp({} {:?} {} bytes)",
            self.key(),
            self.flags,
            self.data.len()
        )
    }
}

impl RawAvp {
    /// The AVP's key.
    pub fn key(&self) -> AvpKey {
        AvpKey::new(self.code, self.vendor)
    }

    /// Encoded length including header and padding.
    pub fn encoded_len(&self) -> usize {
        padded(self.unpadded_len())
    }

    /// Length of the AVP when encoded, without padding: what its AVP Length field holds.
    pub fn unpadded_len(&self) -> usize {
        let hl = if has_vendor_field(self.flags, self.vendor) {
            AVP_HEADER_LEN_VENDOR
        } else {
            AVP_HEADER_LEN
        };
        hl + self.data.len()
    }

    /// Writes the AVP with padding. An AVP longer than the 24-bit AVP Length allows
    /// ([`MAX_LENGTH`]) is written with Length 0, which receivers refuse (see
    /// [`crate::header::length_field`]); [`RawAvp::try_encode`] reports it instead.
    pub fn encode(&self, buf: &mut BytesMut) {
        put_header(buf, self.code, self.flags, self.vendor, self.data.len());
        buf.extend_from_slice(&self.data);
        put_padding(buf, self.data.len());
    }

    /// [`RawAvp::encode`], or [`WriteError::AvpTooLong`] (nothing written) when the AVP
    /// does not fit the 24-bit AVP Length.
    pub fn try_encode(&self, buf: &mut BytesMut) -> Result<(), WriteError> {
        let length = self.unpadded_len();
        if length > MAX_LENGTH {
            return Err(WriteError::AvpTooLong {
                avp: self.key(),
                length,
                within: Vec::new(),
            });
        }
        self.encode(buf);
        Ok(())
    }
}

/// Header length for an AVP of this vendor.
#[inline]
pub const fn header_len(vendor: u32) -> usize {
    if vendor == 0 {
        AVP_HEADER_LEN
    } else {
        AVP_HEADER_LEN_VENDOR
    }
}

/// Whether an AVP carries the Vendor-ID field: a vendor is set, or the V bit was received
/// set with Vendor-ID 0 (kept so that such an AVP re-encodes byte for byte).
#[inline]
pub const fn has_vendor_field(flags: AvpFlags, vendor: u32) -> bool {
    vendor != 0 || flags.is_vendor()
}

/// Writes an AVP header for `data_len` bytes of data. The V bit and the Vendor-ID field are
/// present when [`has_vendor_field`]. A length above [`MAX_LENGTH`] is written as 0
/// ([`crate::header::length_field`]).
///
/// The header is assembled on the stack and appended with one `extend_from_slice` (inlined),
/// rather than with `BufMut::put_u32`, whose `put_slice` is an out-of-line call per field.
#[inline]
pub fn put_header(buf: &mut BytesMut, code: u32, flags: AvpFlags, vendor: u32, data_len: usize) {
    let hl = avp_header_len(flags, vendor);
    put_header_fitting(
        buf,
        code,
        flags,
        vendor,
        length_field(hl.saturating_add(data_len)),
    );
}

/// [`put_header`] with the AVP Length already known to fit its 24 bits: for the typed
/// writers, which refuse longer data before writing its header, so that the length is not
/// checked twice per AVP. `length` is the AVP Length field; the caller got it from
/// [`avp_header_len`] and `data_len` checked.
#[inline(always)]
pub(crate) fn put_header_fitting(
    buf: &mut BytesMut,
    code: u32,
    flags: AvpFlags,
    vendor: u32,
    length: u32,
) {
    debug_assert!(length as usize <= MAX_LENGTH);
    let hl = avp_header_len(flags, vendor);
    let flags = if hl == AVP_HEADER_LEN_VENDOR {
        flags.0 | AvpFlags::VENDOR
    } else {
        flags.0 & !AvpFlags::VENDOR
    };
    let mut h = [0u8; AVP_HEADER_LEN_VENDOR];
    h[..4].copy_from_slice(&code.to_be_bytes());
    h[4..8].copy_from_slice(&((u32::from(flags) << 24) | (length & 0x00ff_ffff)).to_be_bytes());
    h[8..].copy_from_slice(&vendor.to_be_bytes());
    // A copy of a constant length compiles to a few moves (`&h[..hl]` would be a call to
    // `memmove` for every AVP written): all 12 bytes, then the length cut back.
    buf.extend_from_slice(&h);
    buf.truncate(buf.len() - (AVP_HEADER_LEN_VENDOR - hl));
}

/// The header length of an AVP with these flags and vendor (see [`has_vendor_field`]).
#[inline(always)]
pub(crate) const fn avp_header_len(flags: AvpFlags, vendor: u32) -> usize {
    if has_vendor_field(flags, vendor) {
        AVP_HEADER_LEN_VENDOR
    } else {
        AVP_HEADER_LEN
    }
}

/// Writes the zero padding that follows `data_len` bytes of data.
#[inline]
pub fn put_padding(buf: &mut BytesMut, data_len: usize) {
    // Three zero bytes (a constant-length copy, not a `memmove` call), then the length cut
    // back to the padding needed.
    buf.extend_from_slice(&[0; 3]);
    buf.truncate(buf.len() - 3 + (padded(data_len) - data_len));
}

/// Writes a whole AVP whose data is produced by `write`, patching the length afterwards.
/// This is how Grouped AVPs are encoded in one pass without computing their size first.
/// An AVP that ends up longer than [`MAX_LENGTH`] gets Length 0
/// ([`crate::header::length_field`]); [`avp_too_long`] tells afterwards.
#[inline]
pub fn put_avp_with(
    buf: &mut BytesMut,
    code: u32,
    flags: AvpFlags,
    vendor: u32,
    write: impl FnOnce(&mut BytesMut),
) {
    let start = buf.len();
    put_header(buf, code, flags, vendor, 0);
    let data_start = buf.len();
    write(buf);
    let len = buf.len() - start;
    let data_len = buf.len() - data_start;
    // Patch the 24-bit length in place (bytes 5..8 of the header).
    let l = length_field(len).to_be_bytes();
    buf[start + 5..start + 8].copy_from_slice(&l[1..]);
    put_padding(buf, data_len);
}

/// Whether the AVP written at `buf[start..]` (by [`put_header`], [`put_avp_with`] or any
/// `encode_avp`) was too long for its 24-bit AVP Length, which these then set to 0: a
/// test that costs a comparison for AVPs shorter than 16 MiB.
#[inline]
pub fn avp_too_long(buf: &[u8], start: usize) -> bool {
    buf.len().saturating_sub(start) > MAX_LENGTH - 3
        && buf.get(start + 5..start + 8) == Some(&[0, 0, 0][..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avp_headers_walk_what_the_codec_iterates() {
        use crate::generated::base::avp;
        use crate::{DiameterIdentity, Message, MessageBuilder};
        let mut b = MessageBuilder::request(272, 4, true);
        b.add(avp::ORIGIN_HOST, &DiameterIdentity::from("a.example.org"));
        b.avp_bytes(
            avp::ORIGIN_REALM,
            AvpFlags(AvpFlags::MANDATORY),
            b"example.org",
        );
        b.avp(1, 10415, AvpFlags(AvpFlags::VENDOR), &7u32);
        let m = b.build();
        let walked: Vec<(AvpKey, Vec<u8>)> = AvpHeaders::message(m.as_bytes())
            .map(|(k, enc)| (k, AvpHeaders::data(enc).to_vec()))
            .collect();
        let decoded: Vec<(AvpKey, Vec<u8>)> = m
            .avps()
            .flatten()
            .map(|a| (a.key(), a.data.to_vec()))
            .collect();
        assert_eq!(walked, decoded);
        assert_eq!(walked[1].1, b"example.org");
        // A length that lies ends the walk; any prefix is safe.
        let mut bad = m.as_bytes().to_vec();
        bad[20 + 7] = 3;
        assert_eq!(AvpHeaders::message(&bad).count(), 0);
        for cut in 0..m.as_bytes().len() {
            let _ = AvpHeaders::message(&m.as_bytes()[..cut]).count();
        }
        assert!(Message::decode(m.as_bytes().clone()).is_ok());
    }

    #[test]
    fn header_peek_reads_without_checking() {
        let mut raw = [0u8; 20];
        raw[0] = 2; // version 2: decode refuses it, peek reads it
        raw[4] = 0xa0; // R and E: a request with the E bit
        raw[12..16].copy_from_slice(&7u32.to_be_bytes());
        let h = crate::Header::peek(&raw).unwrap();
        assert_eq!((h.version, h.hop_by_hop), (2, 7));
        assert!(crate::Header::decode(&raw, 4096).is_err());
        assert!(crate::Header::peek(&raw[..19]).is_none());
    }

    fn one(bytes: &[u8]) -> Result<(AvpKey, Vec<u8>), DecodeError> {
        let b = Bytes::copy_from_slice(bytes);
        let mut it = AvpIter::new(&b);
        let a = it.next().unwrap()?;
        Ok((a.key(), a.data.to_vec()))
    }

    #[test]
    fn decodes_plain_and_vendor() {
        assert_eq!(
            one(&[0, 0, 1, 8, 0x40, 0, 0, 9, b'a', 0, 0, 0]).unwrap(),
            (AvpKey::new(264, 0), b"a".to_vec())
        );
        assert_eq!(
            one(&[0, 0, 3, 0xe8, 0xc0, 0, 0, 16, 0, 0, 0x28, 0xaf, 0, 0, 0, 5]).unwrap(),
            (AvpKey::new(1000, 10415), vec![0, 0, 0, 5])
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        let kind = |b: &[u8]| one(b).unwrap_err().kind;
        assert_eq!(
            kind(&[0, 0, 1, 8, 0x40, 0, 0, 7]),
            ErrorKind::InvalidAvpLength { length: 7 }
        );
        assert_eq!(
            kind(&[0, 0, 1, 8, 0x40, 0, 0, 20, 0, 0, 0, 0]),
            ErrorKind::InvalidAvpLength { length: 20 }
        );
        assert_eq!(
            kind(&[0, 0, 1, 8, 0x40, 0, 0, 9, 1]),
            ErrorKind::InvalidPadding
        );
        assert_eq!(
            kind(&[0, 0, 1, 8, 0xc0, 0, 0, 8]),
            ErrorKind::InvalidAvpLength { length: 8 }
        );
        assert!(matches!(kind(&[0, 0, 1]), ErrorKind::Truncated { .. }));
    }

    #[test]
    fn iterator_stops_after_error() {
        let b = Bytes::from_static(&[0, 0, 1, 8, 0x40, 0, 0, 2, 0, 0, 0, 0]);
        let mut it = AvpIter::new(&b);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    /// `next_framed` (with `next` for the error, as `validate` uses them) walks every
    /// buffer exactly as `next` does: the same AVPs, then the same error or the end.
    #[test]
    fn next_framed_agrees_with_next() {
        let mut good = BytesMut::new();
        put_avp_with(&mut good, 263, AvpFlags(AvpFlags::MANDATORY), 0, |b| {
            b.extend_from_slice(b"abcde")
        });
        put_avp_with(&mut good, 1, AvpFlags(AvpFlags::VENDOR), 10415, |b| {
            b.extend_from_slice(b"xyz")
        });
        put_avp_with(&mut good, 268, AvpFlags(AvpFlags::MANDATORY), 0, |b| {
            b.extend_from_slice(&2001u32.to_be_bytes())
        });
        let mut cases: Vec<Vec<u8>> = (0..=good.len()).map(|n| good[..n].to_vec()).collect();
        for at in [5, 6, 7, 21, 22, 23, 26, 27] {
            for v in [0u8, 1, 7, 8, 11, 12, 13, 17, 20, 0xff] {
                let mut c = good.to_vec();
                c[at] = v;
                cases.push(c);
            }
        }
        for c in cases {
            let b = Bytes::from(c);
            let reference: Vec<_> = AvpIter::new(&b)
                .map(|r| r.map(|a| (a.key(), a.flags, a.data.to_vec(), a.offset)))
                .collect();
            let mut it = AvpIter::new(&b);
            let mut walked = Vec::new();
            loop {
                match it.next_framed() {
                    Some(a) => walked.push(Ok((a.key(), a.flags, a.data.to_vec(), a.offset))),
                    None => match it.next() {
                        None => break,
                        Some(r) => {
                            walked.push(r.map(|a| (a.key(), a.flags, a.data.to_vec(), a.offset)))
                        }
                    },
                }
            }
            assert_eq!(walked, reference, "{b:?}");
        }
    }

    #[test]
    fn put_avp_with_patches_length() {
        let mut buf = BytesMut::new();
        put_avp_with(&mut buf, 1, AvpFlags(AvpFlags::MANDATORY), 10415, |b| {
            b.extend_from_slice(b"abcde")
        });
        assert_eq!(buf.len(), 20);
        assert_eq!(&buf[5..8], &[0, 0, 17]);
        assert_eq!(buf[4], 0xc0);
    }
}
