//! Support for the generated typed messages and Grouped AVPs: the [`Command`] trait, the
//! per-message record of received AVP flags, and the small decode helpers generated code
//! calls so that it stays short.

use bytes::{BufMut, Bytes, BytesMut};

use crate::avp::{AvpFlags, AvpKey, AvpRef, RawAvp, header_len, padded, put_header};
use crate::data::{AvpData, DecodeCx};
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};
use crate::header::{CommandFlags, HEADER_LEN, Header, MAX_LENGTH, length_field};
use crate::message::Message;
use crate::writer::WriteError;

mod enumerated;
mod fields;
mod grouped;
mod kind;
mod members;
pub use enumerated::{Enumerated, EnumeratedKind};
pub use fields::{FieldVisitor, Fields, debug_fields, eq_fields, put_fields};
pub use grouped::{Grouped, GroupedKind};
pub use kind::{Generated, Kind};
pub use members::{Member, Members, Split, decode_command, decode_group};

/// A typed request or answer generated from a command's ABNF.
pub trait Command: Sized {
    /// Command Code.
    const CODE: u32;
    /// Application-Id.
    const APPLICATION_ID: u32;
    /// Whether this is the request (R bit) or the answer.
    const REQUEST: bool;
    /// Whether the ABNF header says PXY.
    const PROXIABLE: bool;
    /// Full name, e.g. `Credit-Control-Request`.
    const NAME: &'static str;

    /// The header: identifiers and flags. Its length is recomputed when encoding.
    fn header(&self) -> &Header;
    /// Mutable header.
    fn header_mut(&mut self) -> &mut Header;

    /// Decodes the AVPs of a checked message.
    fn decode_avps(msg: &Message, cx: DecodeCx) -> Result<Self, DecodeError>;
    /// Length of all AVPs when encoded: written and measured (encoding patches the length
    /// in, so nothing on its path asks; see [`AvpData::data_len`]).
    fn avps_len(&self) -> usize {
        let mut buf = BytesMut::new();
        self.encode_avps(&mut buf);
        buf.len()
    }
    /// Writes all AVPs.
    fn encode_avps(&self, buf: &mut BytesMut);

    /// A header for a new message of this command (hop-by-hop and end-to-end 0, length 0:
    /// typed messages compute their length when encoding).
    fn new_header() -> Header {
        let mut flags = CommandFlags::request(Self::PROXIABLE);
        if !Self::REQUEST {
            flags = flags.with(CommandFlags::REQUEST, false);
        }
        Header {
            length: 0,
            ..Header::new(Self::CODE, Self::APPLICATION_ID, flags)
        }
    }

    /// Decodes a message known to be this command.
    fn decode(msg: &Message) -> Result<Self, DecodeError> {
        Self::decode_avps(msg, DecodeCx::default())
    }

    /// Decodes bytes holding exactly one message of this command.
    ///
    /// One walk over the AVPs, as the typed views' `from_bytes`: the header is checked
    /// first ([`Message::decode`]'s checks), and the members' walk frames every AVP and
    /// reports the first that does not frame (at the end, after any member that came
    /// before it and does not decode).
    fn from_bytes(bytes: Bytes) -> Result<Self, DecodeError> {
        let header = crate::view::header(&bytes)?;
        Self::decode(&Message::from_encoded(header, bytes))
    }

    /// Encoded length of the whole message (written and measured: see [`Command::avps_len`]).
    fn encoded_len(&self) -> usize {
        HEADER_LEN + self.avps_len()
    }

    /// Appends the encoded message to `buf`; the Message Length (like the length of each
    /// Grouped AVP) is patched in once written, so no pass computes lengths beforehand.
    ///
    /// A message longer than the 24-bit Message Length allows (16 MiB − 1) is written
    /// with Message Length 0, and so is any AVP inside it too long for its AVP Length:
    /// receivers refuse such bytes (5015, 5014) rather than misframe them (see
    /// [`crate::header::length_field`]). [`Command::try_encode`] reports it instead.
    fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(ENCODE_RESERVE);
        let start = buf.len();
        let mut h = *self.header();
        h.code = Self::CODE;
        h.flags = h.flags.with(CommandFlags::REQUEST, Self::REQUEST);
        h.encode(HEADER_LEN as u32, buf);
        self.encode_avps(buf);
        let len = length_field(buf.len() - start).to_be_bytes();
        buf[start + 1..start + 4].copy_from_slice(&len[1..]);
    }

    /// [`Command::encode`], or [`WriteError::MessageTooLong`] when the message does not
    /// fit the 24-bit Message Length; `buf` is then left as it was. (Every AVP lies inside
    /// the message, so when the message fits, so does each AVP Length.) Returns the
    /// length written.
    fn try_encode(&self, buf: &mut BytesMut) -> Result<usize, WriteError> {
        let start = buf.len();
        self.encode(buf);
        let length = buf.len() - start;
        if length > MAX_LENGTH {
            buf.truncate(start);
            return Err(WriteError::MessageTooLong { length });
        }
        Ok(length)
    }

    /// [`Command::to_bytes`], or [`WriteError::MessageTooLong`] when the message does not
    /// fit the 24-bit Message Length.
    fn try_to_bytes(&self) -> Result<Bytes, WriteError> {
        scratch_encode(|buf| self.try_encode(buf).map(drop))
    }

    /// The encoded message, in one allocation of its exact size: encoded into a per-thread
    /// scratch buffer, then copied (cheaper than a pass computing the length of every
    /// member first). Over 16 MiB − 1, see [`Command::encode`].
    fn to_bytes(&self) -> Bytes {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                self.encode(&mut buf);
                let out = Bytes::copy_from_slice(&buf);
                if buf.capacity() > SCRATCH_KEEP {
                    *buf = BytesMut::new();
                }
                out
            }
            // Re-entered (an encoder calling `to_bytes`): a buffer of its own, grown as
            // written (`encoded_len` would encode the message once more to measure it).
            Err(_) => {
                let mut buf = BytesMut::new();
                self.encode(&mut buf);
                buf.freeze()
            }
        })
    }

    /// As a generic [`Message`].
    fn to_message(&self) -> Message {
        let bytes = self.to_bytes();
        let mut h = *self.header();
        h.length = bytes.len() as u32;
        h.code = Self::CODE;
        h.flags = h.flags.with(CommandFlags::REQUEST, Self::REQUEST);
        Message::from_encoded(h, bytes)
    }
}

/// Runs `encode` into the per-thread scratch buffer and copies the result out in one
/// allocation of its exact size, as [`Command::to_bytes`] does, but only when it succeeds
/// (a buffer of its own when re-entered).
fn scratch_encode(
    encode: impl FnOnce(&mut BytesMut) -> Result<(), WriteError>,
) -> Result<Bytes, WriteError> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let r = encode(&mut buf);
            let out = r.map(|()| Bytes::copy_from_slice(&buf));
            if buf.capacity() > SCRATCH_KEEP {
                *buf = BytesMut::new();
            }
            out
        }
        Err(_) => {
            let mut buf = BytesMut::with_capacity(ENCODE_RESERVE);
            encode(&mut buf).map(|()| buf.freeze())
        }
    })
}

/// What [`Command::encode`] reserves before writing: most messages fit; larger ones grow the
/// buffer as they are written.
const ENCODE_RESERVE: usize = 1024;

/// The largest scratch buffer [`Command::to_bytes`] keeps for the next message.
const SCRATCH_KEEP: usize = 64 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// The header of a received message as a typed message keeps it: length 0, since a typed
/// message's length is computed when it is encoded.
#[inline]
pub fn header_of(msg: &Message) -> Header {
    Header {
        length: 0,
        ..*msg.header()
    }
}

/// Received AVP flags that differ from the dictionary's defaults, so that a typed message
/// re-encodes them as received (a relay must not change them). Empty, and free, for
/// messages we build ourselves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlagOverrides(Vec<(AvpKey, u32, AvpFlags)>);

impl FlagOverrides {
    /// None: every AVP has the dictionary's flags.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Records the flags of the `index`-th occurrence of an AVP if they are not the
    /// default ones.
    #[inline]
    pub fn note(&mut self, avp: &AvpRef<'_>, index: usize, default: AvpFlags) {
        if avp.flags != default {
            self.insert(avp.key(), index, avp.flags);
        }
    }

    /// Keeps the records sorted by (key, index), so that two messages with the same flags
    /// compare equal whatever order their AVPs came in.
    fn insert(&mut self, key: AvpKey, index: usize, flags: AvpFlags) {
        let k = (key, index as u32);
        match self.0.binary_search_by(|(rk, ri, _)| (*rk, *ri).cmp(&k)) {
            Ok(i) => self.0[i].2 = flags,
            Err(i) => self.0.insert(i, (key, index as u32, flags)),
        }
    }

    /// The flags to send for the `index`-th occurrence of `key`.
    #[inline]
    pub fn get(&self, key: AvpKey, index: usize, default: AvpFlags) -> AvpFlags {
        if self.0.is_empty() {
            return default;
        }
        self.0
            .iter()
            .find(|(k, i, _)| *k == key && *i as usize == index)
            .map_or(default, |(_, _, f)| *f)
    }

    /// Sets the flags of one occurrence explicitly.
    pub fn set(&mut self, key: AvpKey, index: usize, flags: AvpFlags) {
        self.insert(key, index, flags);
    }

    /// Whether nothing differs from the defaults.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Decodes a single-occurrence AVP into `slot`; a second occurrence is 5009. Under the
/// tolerant policy ([`crate::policy`]), a deviation it accepts (a second occurrence inside a
/// Grouped AVP, a value that does not decode) goes to `extra` as received, so that nothing
/// is lost when the value is encoded again.
#[inline]
pub fn set_once<T: AvpData>(
    slot: &mut Option<T>,
    avp: &AvpRef<'_>,
    cx: DecodeCx,
    extra: &mut Vec<RawAvp>,
) -> Result<(), DecodeError> {
    if slot.is_some() {
        return keep(cx, avp, avp.error(ErrorKind::TooManyAvps(avp.key())), extra);
    }
    match T::decode(avp, cx) {
        Ok(v) => *slot = Some(v),
        Err(e) => return keep(cx, avp, e, extra),
    }
    Ok(())
}

/// An AVP the policy accepts as a deviation (`e` otherwise), kept in `extra`.
#[cold]
fn keep(
    cx: DecodeCx,
    avp: &AvpRef<'_>,
    e: DecodeError,
    extra: &mut Vec<RawAvp>,
) -> Result<(), DecodeError> {
    cx.tolerate(avp, e)?;
    extra.push(avp.to_raw());
    Ok(())
}

/// Decodes a required single AVP into its field; a second occurrence is 5009. `seen`
/// records presence, for the missing-AVP check after the loop. Deviations the policy
/// accepts go to `extra`, as in [`set_once`].
#[inline]
pub fn set_required<T: AvpData>(
    slot: &mut T,
    seen: &mut bool,
    avp: &AvpRef<'_>,
    cx: DecodeCx,
    extra: &mut Vec<RawAvp>,
) -> Result<(), DecodeError> {
    if *seen {
        return keep(cx, avp, avp.error(ErrorKind::TooManyAvps(avp.key())), extra);
    }
    // Seen even when its value is a tolerated deviation: it was there.
    *seen = true;
    match slot.decode_in_place(avp, cx) {
        Ok(()) => Ok(()),
        Err(e) => keep(cx, avp, e, extra),
    }
}

/// Decodes one more occurrence of a repeated AVP, in place at the end of the list; more than
/// `max` is 5009. Deviations the policy accepts go to `extra`, as in [`set_once`].
#[inline]
pub fn push<T: AvpData + Default>(
    list: &mut Vec<T>,
    avp: &AvpRef<'_>,
    cx: DecodeCx,
    max: u32,
    extra: &mut Vec<RawAvp>,
) -> Result<(), DecodeError> {
    if list.len() as u64 >= u64::from(max) {
        return keep(cx, avp, avp.error(ErrorKind::TooManyAvps(avp.key())), extra);
    }
    if list.capacity() == 0 {
        // One allocation covers the usual short lists: room for four, or for as many as
        // fit in 1 KiB when the elements are large (small allocations are the allocator's
        // fast path).
        *list = Vec::with_capacity((1024 / std::mem::size_of::<T>().max(1)).clamp(1, 4));
    }
    // `resize_with` builds the default in the list's slot; `push(T::default())` built it on
    // the stack and copied it in (a `memcpy` of the whole struct: 76 instructions per CCR
    // for its Multiple-Services-Credit-Control).
    list.resize_with(list.len() + 1, T::default);
    let last = list.len() - 1;
    if let Err(e) = list[last].decode_in_place(avp, cx) {
        list.pop();
        return keep(cx, avp, e, extra);
    }
    Ok(())
}

/// The state of a generated struct's decoding walk over its members: the decoding context,
/// the occurrences decoded of each member (ABNF order), and where AVPs outside the ABNF
/// and received flags go. Each AVP the view's `step` names is one call of [`one`], [`opt`]
/// or [`many`] (through [`Member`]), any other of [`other`]; [`finish`] then reports
/// missing required members (see [`decode_group`]).
pub struct Walk<'w> {
    /// The context of the members.
    pub cx: DecodeCx,
    /// Occurrences of each member so far (a single member counts once even when its value
    /// was a tolerated deviation).
    pub count: &'w mut [u32],
    /// The struct's `extra`.
    pub extra: &'w mut Vec<RawAvp>,
    /// The struct's `avp_flags`.
    pub flags: &'w mut FlagOverrides,
}

/// A required member of a generated struct or view (its type's `REQUIRED` table), for
/// [`finish`] and the views' trackers (`view::Tracker::missing`).
#[derive(Clone, Copy, Debug)]
pub struct Required {
    /// Index of the member (ABNF order) in [`Walk::count`], and its slot in a view.
    pub index: u16,
    /// Its position among the repeated members (a view's count array), or [`SINGLE`].
    pub rep: u16,
    /// Fewest occurrences.
    pub min: u32,
    /// The member's AVP.
    pub key: AvpKey,
    /// Its default flags.
    pub flags: AvpFlags,
    /// Its data type.
    pub ty: AvpType,
}

/// [`Required::rep`] of a member that may occur once.
pub const SINGLE: u16 = u16::MAX;

impl Required {
    /// Member `index` (ABNF order; `rep`-th repeated member or [`SINGLE`]), at least `min`
    /// times.
    pub const fn new(
        index: u16,
        rep: u16,
        min: u32,
        code: u32,
        vendor: u32,
        flags: u8,
        ty: AvpType,
    ) -> Self {
        Self {
            index,
            rep,
            min,
            key: AvpKey::new(code, vendor),
            flags: AvpFlags(flags),
            ty,
        }
    }
}

/// After a walk: each required member that did not occur as often as it must (`count`, by
/// member index) is [`absent`] (reported at `offset`), in ABNF order.
#[inline]
pub fn finish(
    count: &[u32],
    cx: DecodeCx,
    required: &[Required],
    offset: usize,
) -> Result<(), DecodeError> {
    for r in required {
        if count[usize::from(r.index)] < r.min {
            absent(r.key, r.ty, r.flags, offset, cx)?;
        }
    }
    Ok(())
}

// `one`, `opt` and `many` are each what one match arm of a generated walk did: always
// inlined, as the arms' code was before it moved here (left to `#[inline]`, LLVM called
// them out of line and typed decoding of a CCR took 5 % more instructions).

/// A single required member (`{ X }`, `< X >`), member `index` of the walk, default flags
/// `flags`: decoded in place; a second occurrence is 5009 ([`set_required`]).
#[inline(always)]
pub fn one<T: AvpData>(
    slot: &mut T,
    avp: &AvpRef<'_>,
    w: &mut Walk<'_>,
    index: usize,
    flags: u8,
) -> Result<(), DecodeError> {
    w.flags.note(avp, 0, AvpFlags(flags));
    let mut seen = w.count[index] > 0;
    w.count[index] = 1;
    set_required(slot, &mut seen, avp, w.cx, w.extra)
}

/// An optional single member (`[ X ]`): [`set_once`].
#[inline(always)]
pub fn opt<T: AvpData>(
    slot: &mut Option<T>,
    avp: &AvpRef<'_>,
    w: &mut Walk<'_>,
    flags: u8,
) -> Result<(), DecodeError> {
    w.flags.note(avp, 0, AvpFlags(flags));
    set_once(slot, avp, w.cx, w.extra)
}

/// One more occurrence of a repeated member, member `index` of the walk, at most `max`:
/// [`push`].
#[inline(always)]
pub fn many<T: AvpData + Default>(
    list: &mut Vec<T>,
    avp: &AvpRef<'_>,
    w: &mut Walk<'_>,
    index: usize,
    flags: u8,
    max: u32,
) -> Result<(), DecodeError> {
    w.flags.note(avp, list.len(), AvpFlags(flags));
    let r = push(list, avp, w.cx, max, w.extra);
    w.count[index] = list.len() as u32;
    r
}

/// An AVP the ABNF does not name: kept in `extra` as received.
#[inline]
pub fn other(avp: &AvpRef<'_>, w: &mut Walk<'_>) -> Result<(), DecodeError> {
    w.extra.push(avp.to_raw());
    Ok(())
}

/// Encodes a single member (`{ X }`, `< X >`) with its flags (`avp_flags`' or `flags`).
#[inline(always)]
pub fn put_one<T: AvpData>(
    v: &T,
    buf: &mut BytesMut,
    overrides: &FlagOverrides,
    code: u32,
    vendor: u32,
    flags: u8,
) {
    let f = overrides.get(AvpKey::new(code, vendor), 0, AvpFlags(flags));
    v.encode_avp(buf, code, f, vendor);
}

/// Encodes an optional member if present, as [`put_one`].
#[inline(always)]
pub fn put_opt<T: AvpData>(
    v: &Option<T>,
    buf: &mut BytesMut,
    overrides: &FlagOverrides,
    code: u32,
    vendor: u32,
    flags: u8,
) {
    if let Some(v) = v {
        put_one(v, buf, overrides, code, vendor, flags);
    }
}

/// Encodes each occurrence of a repeated member, as [`put_one`].
#[inline(always)]
pub fn put_all<T: AvpData>(
    list: &[T],
    buf: &mut BytesMut,
    overrides: &FlagOverrides,
    code: u32,
    vendor: u32,
    flags: u8,
) {
    let key = AvpKey::new(code, vendor);
    for (i, v) in list.iter().enumerate() {
        v.encode_avp(buf, code, overrides.get(key, i, AvpFlags(flags)), vendor);
    }
}

/// Encodes the AVPs outside the ABNF.
#[inline(always)]
pub fn put_extra(extra: &[RawAvp], buf: &mut BytesMut) {
    for a in extra {
        a.encode(buf);
    }
}

/// `r` with the error (if any) inside the Grouped AVP `key`.
#[inline]
pub fn within(r: Result<(), DecodeError>, key: AvpKey) -> Result<(), DecodeError> {
    r.map_err(|e| e.within(key))
}

/// An Enumerated newtype's `Debug`: `Name(value)` with the value's name if it has one, else
/// the type's.
pub fn debug_enum(
    name: Option<&str>,
    ty: &str,
    value: i32,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    write!(f, "{}({value})", name.unwrap_or(ty))
}

/// A required member that did not occur: 5005 ([`missing`]), or nothing when the policy
/// tolerates it (inside a Grouped AVP under [`crate::Policy::Tolerant`]).
#[cold]
pub fn absent(
    key: AvpKey,
    ty: AvpType,
    flags: AvpFlags,
    offset: usize,
    cx: DecodeCx,
) -> Result<(), DecodeError> {
    if cx.policy().tolerates(
        &ErrorKind::MissingAvp(key),
        usize::from(cx.depth()),
        flags.is_mandatory(),
    ) {
        return Ok(());
    }
    Err(missing(key, ty, flags, offset))
}

/// The error for a missing required AVP: 5005, with a Failed-AVP holding the missing AVP's
/// code and vendor and zeroed data of its type's minimum length (RFC 6733 §7.5).
#[cold]
pub fn missing(key: AvpKey, ty: AvpType, flags: AvpFlags, offset: usize) -> DecodeError {
    let data_len = ty.min_data_len();
    let mut buf = BytesMut::with_capacity(padded(header_len(key.vendor) + data_len));
    put_header(&mut buf, key.code, flags, key.vendor, data_len);
    buf.put_bytes(0, data_len);
    ErrorKind::MissingAvp(key).at(offset).with_avp(buf.freeze())
}

/// The outcome an answer carries: a Result-Code (RFC 6733 §7.1) or an Experimental-Result
/// (§7.6: a vendor's code, e.g. 3GPP's 5420 DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnswerResult {
    /// Result-Code.
    Code(crate::ResultCode),
    /// Experimental-Result: Vendor-Id and Experimental-Result-Code.
    Experimental {
        /// Vendor-Id (10415 for 3GPP).
        vendor_id: u32,
        /// Experimental-Result-Code.
        code: u32,
    },
}

impl AnswerResult {
    /// The Result-Code, else the Experimental-Result (with its Vendor-Id), of an answer;
    /// `None` when it carries neither (or only an Experimental-Result without its code).
    pub fn of(answer: &Message) -> Option<Self> {
        use crate::generated::base::avp;
        if let Some(Ok(code)) = answer.get::<u32>(avp::RESULT_CODE) {
            return Some(Self::Code(crate::ResultCode(code)));
        }
        let e = answer.find(avp::EXPERIMENTAL_RESULT)?;
        let mut vendor_id = 0;
        let mut code = None;
        for c in e.children().flatten() {
            let v = <[u8; 4]>::try_from(c.data).ok().map(u32::from_be_bytes);
            match c.key() {
                k if k == avp::VENDOR_ID => vendor_id = v.unwrap_or(0),
                k if k == avp::EXPERIMENTAL_RESULT_CODE => code = v,
                _ => {}
            }
        }
        Some(Self::Experimental {
            vendor_id,
            code: code?,
        })
    }

    /// The code (Result-Code or Experimental-Result-Code).
    pub fn code(self) -> u32 {
        match self {
            Self::Code(c) => c.0,
            Self::Experimental { code, .. } => code,
        }
    }

    /// 2xxx: the request succeeded.
    pub fn is_success(self) -> bool {
        (2000..3000).contains(&self.code())
    }

    /// A base-protocol Result-Code of the 3xxx class, answered with the E bit (§7.1.3).
    pub fn is_protocol_error(self) -> bool {
        matches!(self, Self::Code(c) if c.is_protocol_error())
    }
}

impl From<u32> for AnswerResult {
    fn from(code: u32) -> Self {
        Self::Code(crate::ResultCode(code))
    }
}

impl From<crate::ResultCode> for AnswerResult {
    fn from(code: crate::ResultCode) -> Self {
        Self::Code(code)
    }
}

impl std::fmt::Display for AnswerResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => match c.name() {
                Some(n) => write!(f, "{} {n}", c.0),
                None => write!(f, "{}", c.0),
            },
            Self::Experimental { vendor_id, code } => match crate::result_code::name_of(*self) {
                Some(n) => write!(f, "{code} {n} (Experimental-Result, vendor {vendor_id})"),
                None => write!(f, "{code} (Experimental-Result, vendor {vendor_id})"),
            },
        }
    }
}

/// What a node fills into a typed request whose members it owns, when the caller left them
/// empty (see [`RequestCommand::fill`]).
pub trait Filler {
    /// A new Session-Id (RFC 6733 §8.8).
    fn session_id(&mut self) -> String;
    /// The node's Origin-Host.
    fn origin_host(&self) -> &str;
    /// The node's Origin-Realm.
    fn origin_realm(&self) -> &str;
    /// The realm the request goes to, when known (the peer's or the route's).
    fn destination_realm(&self) -> Option<&str>;
    /// The vendor of a vendor-specific application this node supports (10415 for 3GPP's),
    /// for the Vendor-Specific-Application-Id of its requests.
    fn application_vendor(&self, application_id: u32) -> Option<u32> {
        let _ = application_id;
        None
    }
}

/// A typed request: its answer type, the answer made from it, and what a node fills in and
/// checks before sending it. Generated for every command of the dictionaries.
pub trait RequestCommand: Command {
    /// The answer to this request.
    type Answer: Command;

    /// The answer to this request (python-diameter's `generate_answer`, typed): the header
    /// with this request's identifiers (E bit for a 3xxx Result-Code), Origin-Host and
    /// Origin-Realm, `result` (Result-Code or Experimental-Result), and the members the
    /// answer mirrors from the request where its ABNF holds them: Session-Id, the
    /// application ids (Auth, Acct, Vendor-Specific), Auth-Session-State, CC-Request-Type
    /// and -Number, Accounting-Record-Type and -Number, the accounting session ids, DRMP and
    /// Proxy-Info (§6.2).
    fn answer(&self, origin_host: &str, origin_realm: &str, result: AnswerResult) -> Self::Answer;

    /// Fills what a node owns where the caller left it empty: Session-Id, Origin-Host,
    /// Origin-Realm, Destination-Realm (when the ABNF requires them), the
    /// Vendor-Specific-Application-Id of the command's application (vendor from the node's
    /// configuration, when its Vendor-Id is 0 or it is absent), and, for a base
    /// command sent in an application (STR, ASR, RAR, ACR of application 0), the header's
    /// Application-Id from its Auth- or Acct-Application-Id.
    fn fill(&mut self, filler: &mut dyn Filler);

    /// The first required member (`<X>`, `{X}`) left empty, by AVP name: a text or
    /// OctetString member with no data, or a required list with no element. A node
    /// refuses to send such a request.
    fn missing(&self) -> Option<&'static str>;

    /// Makes this command's dictionary known to validation, dumps and lookups: a no-op for
    /// the built-in dictionaries (always known); for a dictionary generated in a user's crate,
    /// the generated `register()` of its file. A node serving the command calls it, so that
    /// no request is refused 5001 for want of a call.
    fn register_dictionary() {}
}

/// The header of an answer to `request`: its identifiers and P bit, no R bit, and the E bit
/// when `result` is a protocol error (3xxx, RFC 6733 §7.1.3).
pub fn answer_header(request: &Header, result: AnswerResult) -> Header {
    let mut flags = CommandFlags(request.flags.0 & CommandFlags::PROXIABLE);
    if result.is_protocol_error() {
        flags = flags.with(CommandFlags::ERROR, true);
    }
    Header {
        flags,
        length: 0,
        ..*request
    }
}

/// A Result-Code AVP (for an answer whose ABNF has no Result-Code member).
pub fn result_code_avp(code: u32) -> crate::RawAvp {
    crate::RawAvp {
        code: 268,
        flags: AvpFlags(AvpFlags::MANDATORY),
        vendor: 0,
        data: Bytes::copy_from_slice(&code.to_be_bytes()),
    }
}

/// An Experimental-Result AVP (§7.6) with Vendor-Id and Experimental-Result-Code (for an
/// answer whose ABNF has no Experimental-Result member).
pub fn experimental_result_avp(vendor_id: u32, code: u32) -> crate::RawAvp {
    let mut data = BytesMut::with_capacity(24);
    for (avp_code, value) in [(266u32, vendor_id), (298, code)] {
        put_header(&mut data, avp_code, AvpFlags(AvpFlags::MANDATORY), 0, 4);
        data.put_u32(value);
    }
    crate::RawAvp {
        code: 297,
        flags: AvpFlags(AvpFlags::MANDATORY),
        vendor: 0,
        data: data.freeze(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Command, SCRATCH};
    use crate::data::AvpData;
    use crate::generated::base::{DeviceWatchdogRequest, ProxyInfo};

    fn dwr() -> DeviceWatchdogRequest {
        let mut m = DeviceWatchdogRequest {
            origin_host: "peer.example.net".into(),
            origin_realm: "example.net".into(),
            origin_state_id: Some(7),
            ..Default::default()
        };
        m.header.hop_by_hop = 0x1122_3344;
        m
    }

    /// Re-entered (the per-thread scratch buffer already borrowed, as by an encoder calling
    /// `to_bytes`), `to_bytes` writes into a buffer of its own: the same bytes.
    #[test]
    fn to_bytes_re_entered_gives_the_same_bytes() {
        let m = dwr();
        let direct = m.to_bytes();
        let nested = SCRATCH.with(|cell| {
            let _held = cell.borrow_mut();
            m.to_bytes()
        });
        assert_eq!(direct, nested);
        assert_eq!(direct.len(), m.encoded_len());
    }

    /// The lengths that are measured by writing (a Grouped value's `data_len`, a message's
    /// `avps_len`) agree with what encoding writes.
    #[test]
    fn measured_lengths_match_the_encoding() {
        let pi = ProxyInfo {
            proxy_host: "relay.example.net".into(),
            proxy_state: bytes::Bytes::from_static(b"abc"),
            ..Default::default()
        };
        let mut buf = bytes::BytesMut::new();
        pi.encode_data(&mut buf);
        assert_eq!(pi.data_len(), buf.len());
        // Proxy-Host: 8-byte header + 17 bytes, padded to 28; Proxy-State: 8 + 3, padded to 12.
        assert_eq!(pi.data_len(), 28 + 12);
        let m = dwr();
        assert_eq!(m.encoded_len(), super::HEADER_LEN + m.avps_len());
        assert_eq!(m.to_bytes().len(), m.encoded_len());
    }
}
