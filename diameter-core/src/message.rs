//! The generic message (RFC 6733 §3): a checked header plus the raw bytes, with zero-copy
//! access to its AVPs, and a builder to make new messages and answers.

use bytes::{BufMut, Bytes, BytesMut};

use crate::avp::{
    AVP_HEADER_LEN, AVP_HEADER_LEN_VENDOR, AvpFlags, AvpIter, AvpKey, AvpRef, RawAvp, avp_too_long,
    has_vendor_field, put_avp_with,
};
use crate::data::AvpData;
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};
use crate::header::{CommandFlags, HEADER_LEN, Header, MAX_LENGTH, length_field};
use crate::writer::WriteError;

/// AVP codes the codec itself needs (RFC 6733 §4.5).
pub mod codes {
    /// Session-Id.
    pub const SESSION_ID: u32 = 263;
    /// Origin-Host.
    pub const ORIGIN_HOST: u32 = 264;
    /// Origin-Realm.
    pub const ORIGIN_REALM: u32 = 296;
    /// Destination-Host.
    pub const DESTINATION_HOST: u32 = 293;
    /// Destination-Realm.
    pub const DESTINATION_REALM: u32 = 283;
    /// Result-Code.
    pub const RESULT_CODE: u32 = 268;
    /// Failed-AVP.
    pub const FAILED_AVP: u32 = 279;
    /// Error-Message.
    pub const ERROR_MESSAGE: u32 = 281;
    /// Proxy-Info.
    pub const PROXY_INFO: u32 = 284;
    /// Route-Record.
    pub const ROUTE_RECORD: u32 = 282;
    /// Auth-Application-Id.
    pub const AUTH_APPLICATION_ID: u32 = 258;
    /// Acct-Application-Id.
    pub const ACCT_APPLICATION_ID: u32 = 259;
    /// Vendor-Specific-Application-Id.
    pub const VENDOR_SPECIFIC_APPLICATION_ID: u32 = 260;
    /// Experimental-Result.
    pub const EXPERIMENTAL_RESULT: u32 = 297;
    /// Experimental-Result-Code.
    pub const EXPERIMENTAL_RESULT_CODE: u32 = 298;
    /// Origin-State-Id.
    pub const ORIGIN_STATE_ID: u32 = 278;
}

/// Limits applied while decoding untrusted input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest Message Length accepted.
    pub max_message_size: u32,
    /// Deepest nesting of Grouped AVPs accepted.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: crate::DEFAULT_MAX_MESSAGE_SIZE,
            max_depth: crate::DEFAULT_MAX_DEPTH,
        }
    }
}

/// A decoded message. Holds the whole encoding, so encoding it again is a copy of the same
/// bytes (byte-exact), whatever AVPs it holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    header: Header,
    bytes: Bytes,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::dump::text(self))
    }
}

impl Message {
    /// Decodes one message with the default [`Limits`]. `bytes` must hold exactly one
    /// message. Top-level AVP framing is checked; Grouped contents are checked when read
    /// (or by [`crate::validate()`]).
    pub fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
        Self::decode_with(bytes, &Limits::default())
    }

    /// Decodes one message with explicit limits.
    pub fn decode_with(bytes: Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let header = Header::decode(&bytes, limits.max_message_size)?;
        if header.length as usize != bytes.len() {
            return Err(ErrorKind::InvalidMessageLength(header.length).at(1));
        }
        let msg = Self { header, bytes };
        let mut avps = msg.avps();
        while avps.next_framed().is_some() {}
        // The end, or the AVP that does not frame.
        if let Some(Err(e)) = avps.next() {
            return Err(e);
        }
        Ok(msg)
    }

    /// Wraps bytes whose header is checked, without walking the AVPs: our own encoder's
    /// output, or bytes whose AVPs the caller's walk frames (typed `from_bytes`).
    pub(crate) fn from_encoded(header: Header, bytes: Bytes) -> Self {
        Self { header, bytes }
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Command Code.
    pub fn code(&self) -> u32 {
        self.header.code
    }

    /// Application-ID.
    pub fn application_id(&self) -> u32 {
        self.header.application_id
    }

    /// R bit.
    pub fn is_request(&self) -> bool {
        self.header.flags.is_request()
    }

    /// The whole encoded message.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Consumes the message, returning its encoding.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Top-level AVPs in order.
    pub fn avps(&self) -> AvpIter<'_> {
        AvpIter::within(&self.bytes, HEADER_LEN, self.bytes.len())
    }

    /// The first top-level AVP with this key.
    pub fn find(&self, key: AvpKey) -> Option<AvpRef<'_>> {
        // As `avps().flatten().find(..)`, without a `Result` per AVP.
        let mut avps = self.avps();
        while let Some(a) = avps.next_framed() {
            if a.key() == key {
                return Some(a);
            }
        }
        None
    }

    /// Every top-level AVP with this key.
    pub fn find_all(&self, key: AvpKey) -> impl Iterator<Item = AvpRef<'_>> {
        let mut avps = self.avps();
        std::iter::from_fn(move || {
            loop {
                let a = avps.next_framed()?;
                if a.key() == key {
                    return Some(a);
                }
            }
        })
    }

    /// The first AVP reached by following `path` through Grouped AVPs, e.g.
    /// Multiple-Services-Credit-Control / Requested-Service-Unit / CC-Total-Octets.
    pub fn find_path(&self, path: &[AvpKey]) -> Option<AvpRef<'_>> {
        find_path_in(self.avps(), path)
    }

    /// Every AVP reached by `path` (all branches of repeated Grouped AVPs).
    pub fn find_path_all(&self, path: &[AvpKey]) -> Vec<AvpRef<'_>> {
        let mut out = Vec::new();
        collect_path(self.avps(), path, &mut out);
        out
    }

    /// Decodes the first AVP with this key as `T`.
    pub fn get<T: AvpData>(&self, key: AvpKey) -> Option<Result<T, DecodeError>> {
        self.find(key).map(|a| crate::data::decode_as(&a))
    }

    /// The Session-Id text, if present and valid UTF-8.
    pub fn session_id(&self) -> Option<&str> {
        self.find(AvpKey::new(codes::SESSION_ID, 0))
            .and_then(|a| std::str::from_utf8(a.data).ok())
    }

    /// Result-Code, if present.
    pub fn result_code(&self) -> Option<u32> {
        self.get::<u32>(AvpKey::new(codes::RESULT_CODE, 0))
            .and_then(Result::ok)
    }

    /// A builder holding a copy of this message, to append AVPs to.
    pub fn to_builder(&self) -> MessageBuilder {
        let mut buf = BytesMut::with_capacity(self.bytes.len() + 64);
        buf.put_slice(&self.bytes);
        MessageBuilder {
            header: self.header,
            buf,
            err: None,
        }
    }

    /// Starts the answer to this request (RFC 6733 §6.2): same command code, application,
    /// hop-by-hop and end-to-end identifiers, P bit kept, R/E/T cleared, and the request's
    /// Session-Id first and its Proxy-Info AVPs (§6.7.2) copied. The caller adds Result-Code
    /// and Origin-Host/Realm (the node's answer helper does).
    pub fn to_answer(&self) -> MessageBuilder {
        let flags = CommandFlags(self.header.flags.0 & CommandFlags::PROXIABLE);
        let mut b = MessageBuilder::new(Header {
            flags,
            length: 0,
            ..self.header
        });
        if let Some(s) = self.find(AvpKey::new(codes::SESSION_ID, 0)) {
            b.raw_ref(&s);
        }
        for p in self.find_all(AvpKey::new(codes::PROXY_INFO, 0)) {
            b.raw_ref(&p);
        }
        b
    }

    /// An error answer to this request for a decode or validation error: Result-Code from
    /// the error, E bit for 3xxx, and Failed-AVP when the error names an AVP (§7.5).
    pub fn to_error_answer(&self, err: &DecodeError) -> MessageBuilder {
        let mut b = self.to_answer();
        b.result_code(err.result_code());
        if let Some(avp) = err.failed_avp() {
            b.failed_avp(avp);
        }
        b
    }
}

fn find_path_in<'a>(mut avps: AvpIter<'a>, path: &[AvpKey]) -> Option<AvpRef<'a>> {
    let (first, rest) = path.split_first()?;
    loop {
        let a = avps.next()?.ok()?;
        if a.key() != *first {
            continue;
        }
        if rest.is_empty() {
            return Some(a);
        }
        if let Some(found) = find_path_in(a.children(), rest) {
            return Some(found);
        }
    }
}

fn collect_path<'a>(avps: AvpIter<'a>, path: &[AvpKey], out: &mut Vec<AvpRef<'a>>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    for a in avps.flatten().filter(|a| a.key() == *first) {
        if rest.is_empty() {
            out.push(a);
        } else {
            collect_path(a.children(), rest, out);
        }
    }
}

/// Builds a message into one buffer: the header is written first and its length patched when
/// the message is finished.
///
/// Lengths are 24 bits (RFC 6733 §3, §4.1): an AVP longer than 16 MiB − 1 is not kept
/// (the first such is remembered), and [`MessageBuilder::try_build`] reports it, or a
/// message that grew too long, as a [`WriteError`]. [`MessageBuilder::build`] cannot fail:
/// it writes such a message with Message Length 0, which receivers refuse (5015) rather
/// than misframe (see [`crate::header::length_field`]).
#[derive(Clone, Debug)]
pub struct MessageBuilder {
    header: Header,
    buf: BytesMut,
    /// The first AVP that did not fit its AVP Length.
    err: Option<WriteError>,
}

impl MessageBuilder {
    /// A builder for a message with this header (its length is ignored).
    pub fn new(header: Header) -> Self {
        Self::with_capacity(header, 256)
    }

    /// Same, reserving `capacity` bytes.
    pub fn with_capacity(header: Header, capacity: usize) -> Self {
        let mut buf = BytesMut::with_capacity(capacity.max(HEADER_LEN));
        header.encode(HEADER_LEN as u32, &mut buf);
        Self {
            header,
            buf,
            err: None,
        }
    }

    /// A request builder.
    pub fn request(code: u32, application_id: u32, proxiable: bool) -> Self {
        Self::new(Header::new(
            code,
            application_id,
            CommandFlags::request(proxiable),
        ))
    }

    /// The header as it will be written.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Changes the header (identifiers, flags).
    pub fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }

    /// Appends an AVP with explicit flags.
    pub fn avp<T: AvpData>(
        &mut self,
        code: u32,
        vendor: u32,
        flags: AvpFlags,
        value: &T,
    ) -> &mut Self {
        // Data too long for any AVP is refused before it is copied (a Grouped AVP's length
        // is known once written: checked after).
        if T::TYPE != AvpType::Grouped && value.data_len() > MAX_LENGTH - AVP_HEADER_LEN_VENDOR {
            let hl = if has_vendor_field(flags, vendor) {
                AVP_HEADER_LEN_VENDOR
            } else {
                AVP_HEADER_LEN
            };
            let length = hl + value.data_len();
            if length > MAX_LENGTH {
                return self.refuse(AvpKey::new(code, vendor), length);
            }
        }
        let start = self.buf.len();
        value.encode_avp(&mut self.buf, code, flags, vendor);
        self.check_avp(start, AvpKey::new(code, vendor))
    }

    /// Appends an AVP whose data is `data` as it is: the encoding of an OctetString-based
    /// value the caller already holds as bytes (a DiameterIdentity, a UTF8String), without
    /// building a value first.
    pub fn avp_bytes(&mut self, key: AvpKey, flags: AvpFlags, data: &[u8]) -> &mut Self {
        let hl = if has_vendor_field(flags, key.vendor) {
            AVP_HEADER_LEN_VENDOR
        } else {
            AVP_HEADER_LEN
        };
        if hl + data.len() > MAX_LENGTH {
            return self.refuse(key, hl + data.len());
        }
        crate::avp::put_header(&mut self.buf, key.code, flags, key.vendor, data.len());
        self.buf.extend_from_slice(data);
        crate::avp::put_padding(&mut self.buf, data.len());
        self
    }

    /// Remembers an AVP too long for its AVP Length, not written.
    #[cold]
    #[inline(never)]
    fn refuse(&mut self, avp: AvpKey, length: usize) -> &mut Self {
        if self.err.is_none() {
            self.err = Some(WriteError::AvpTooLong {
                avp,
                length,
                within: Vec::new(),
            });
        }
        self
    }

    /// After an AVP was appended at `start`: drops it and remembers the error if it was
    /// too long for its AVP Length.
    #[inline]
    fn check_avp(&mut self, start: usize, key: AvpKey) -> &mut Self {
        if avp_too_long(&self.buf, start) {
            self.too_long(start, key);
        }
        self
    }

    #[cold]
    #[inline(never)]
    fn too_long(&mut self, start: usize, avp: AvpKey) {
        let length = self.buf.len() - start;
        self.buf.truncate(start);
        self.refuse(avp, length);
    }

    /// Appends an AVP with the flags its dictionary definition sets by default (M when the
    /// rule is MUST; V for vendor AVPs). Unknown AVPs get no M bit.
    pub fn add<T: AvpData>(&mut self, key: AvpKey, value: &T) -> &mut Self {
        let flags = crate::dictionary::avp(key)
            .map(|d| d.default_flags())
            .unwrap_or_default();
        self.avp(key.code, key.vendor, flags, value)
    }

    /// Appends an owned AVP as it is.
    pub fn raw(&mut self, avp: &RawAvp) -> &mut Self {
        if let Err(WriteError::AvpTooLong { length, .. }) = avp.try_encode(&mut self.buf) {
            return self.refuse(avp.key(), length);
        }
        self
    }

    /// Appends a borrowed AVP (copying its bytes, with its flags). (A received AVP always
    /// fits its AVP Length.)
    pub fn raw_ref(&mut self, avp: &AvpRef<'_>) -> &mut Self {
        avp.to_raw().encode(&mut self.buf);
        self
    }

    /// Appends a Grouped AVP whose members `members` writes.
    pub fn grouped(
        &mut self,
        code: u32,
        vendor: u32,
        flags: AvpFlags,
        members: impl FnOnce(&mut GroupBuilder<'_>),
    ) -> &mut Self {
        let start = self.buf.len();
        put_avp_with(&mut self.buf, code, flags, vendor, |buf| {
            members(&mut GroupBuilder { buf })
        });
        self.check_avp(start, AvpKey::new(code, vendor))
    }

    /// Appends Result-Code (M bit set).
    pub fn result_code(&mut self, code: u32) -> &mut Self {
        self.avp(codes::RESULT_CODE, 0, AvpFlags(AvpFlags::MANDATORY), &code);
        if (3000..4000).contains(&code) {
            self.header.flags = self.header.flags.with(CommandFlags::ERROR, true);
        }
        self
    }

    /// Appends a Failed-AVP (§7.5) holding one encoded AVP.
    pub fn failed_avp(&mut self, encoded_avp: &Bytes) -> &mut Self {
        self.grouped(codes::FAILED_AVP, 0, AvpFlags(AvpFlags::MANDATORY), |g| {
            g.buf.put_slice(encoded_avp);
            let pad = crate::avp::padded(encoded_avp.len()) - encoded_avp.len();
            g.buf.put_bytes(0, pad);
        })
    }

    /// Appends already-encoded AVPs (e.g. a relayed message's body).
    pub fn extend_raw(&mut self, encoded_avps: &[u8]) -> &mut Self {
        self.buf.put_slice(encoded_avps);
        self
    }

    /// Current encoded length.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no AVP has been added.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == HEADER_LEN
    }

    /// Finishes the message: writes the final header and freezes the buffer.
    ///
    /// A message that does not fit the 24-bit Message Length, or from which an AVP too
    /// long was left out, gets Message Length 0: receivers refuse it (5015) instead of
    /// misframing it. [`MessageBuilder::try_build`] reports those cases instead.
    pub fn build(mut self) -> Message {
        let len = if self.err.is_some() {
            0
        } else {
            length_field(self.buf.len())
        };
        self.header.length = len;
        let mut h = [0u8; HEADER_LEN];
        self.header.encode(len, &mut &mut h[..]);
        self.buf[..HEADER_LEN].copy_from_slice(&h);
        Message::from_encoded(self.header, self.buf.freeze())
    }

    /// [`MessageBuilder::build`], or the [`WriteError`] when an AVP was too long for its
    /// AVP Length ([`WriteError::AvpTooLong`], the first one) or the message for its
    /// Message Length ([`WriteError::MessageTooLong`]). (Every AVP lies inside the
    /// message, so when the message fits, so does each AVP Length.)
    pub fn try_build(mut self) -> Result<Message, WriteError> {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        if self.buf.len() > MAX_LENGTH {
            return Err(WriteError::MessageTooLong {
                length: self.buf.len(),
            });
        }
        Ok(self.build())
    }
}

/// Writes the members of a Grouped AVP.
pub struct GroupBuilder<'a> {
    buf: &'a mut BytesMut,
}

impl GroupBuilder<'_> {
    /// Appends a member AVP with explicit flags.
    pub fn avp<T: AvpData>(
        &mut self,
        code: u32,
        vendor: u32,
        flags: AvpFlags,
        value: &T,
    ) -> &mut Self {
        value.encode_avp(self.buf, code, flags, vendor);
        self
    }

    /// Appends a member with its dictionary's default flags.
    pub fn add<T: AvpData>(&mut self, key: AvpKey, value: &T) -> &mut Self {
        let flags = crate::dictionary::avp(key)
            .map(|d| d.default_flags())
            .unwrap_or_default();
        self.avp(key.code, key.vendor, flags, value)
    }

    /// Appends an owned AVP.
    pub fn raw(&mut self, avp: &RawAvp) -> &mut Self {
        avp.encode(self.buf);
        self
    }

    /// Appends a nested Grouped AVP.
    pub fn grouped(
        &mut self,
        code: u32,
        vendor: u32,
        flags: AvpFlags,
        members: impl FnOnce(&mut GroupBuilder<'_>),
    ) -> &mut Self {
        put_avp_with(self.buf, code, flags, vendor, |buf| {
            members(&mut GroupBuilder { buf })
        });
        self
    }
}
