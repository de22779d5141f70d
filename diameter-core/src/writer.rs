//! Typed writers: messages and Grouped AVPs written straight into the output buffer.
//!
//! The generated `…Writer` types (one per command and per Grouped AVP) wrap the
//! [`MessageWriter`] and [`AvpWriter`] of this module: each typed setter appends one AVP with
//! the dictionary's flags the moment it is called, so building a message allocates nothing
//! but the output buffer. Which members were set is kept in a bitmask; required members
//! missing and single members set twice are reported by `finish`, which then removes the
//! partly written message from the buffer.
//!
//! Every helper here is `#[inline]`: the code, flags and vendor of each AVP are constants at
//! the call site, so each AVP's header is assembled on the stack with a length known at
//! compile time and appended with one copy.

use std::fmt;

use bytes::BytesMut;

use crate::avp::{
    AvpFlags, AvpKey, RawAvp, avp_header_len, avp_too_long, header_len, padded, put_header_fitting,
    put_padding,
};
use crate::data::{Address, AvpData};
use crate::header::{CommandFlags, HEADER_LEN, MAX_LENGTH, VERSION, length_field};

mod fail;
use fail::{Fail, members_fail};

/// A message or AVP that could not be written: a member its ABNF requires missing or one
/// set twice, or a length that the 24-bit Message Length or AVP Length cannot hold
/// (RFC 6733 §3, §4.1: 16 MiB − 1). The AVPs are named by key; [`std::fmt::Display`]
/// adds their dictionary names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A required member (`{ X }` or `< X >`) was not set.
    #[error("missing AVP {}{}", Named(*avp), Within(within))]
    MissingAvp {
        /// The member missing.
        avp: AvpKey,
        /// The Grouped AVPs it belongs in, outermost first (empty at message level).
        within: Vec<AvpKey>,
    },
    /// A member that may occur once was set more than once.
    #[error("AVP {} set more than once{}", Named(*avp), Within(within))]
    TooManyAvps {
        /// The member set twice.
        avp: AvpKey,
        /// The Grouped AVPs it belongs in, outermost first (empty at message level).
        within: Vec<AvpKey>,
    },
    /// An AVP longer than its 24-bit AVP Length can say ([`MAX_LENGTH`] bytes, header
    /// included).
    #[error("AVP {} of {length} bytes does not fit the 24-bit AVP Length{}", Named(*avp), Within(within))]
    AvpTooLong {
        /// The AVP.
        avp: AvpKey,
        /// Its length, header included, without padding.
        length: usize,
        /// The Grouped AVPs it belongs in, outermost first (empty at message level).
        within: Vec<AvpKey>,
    },
    /// A message longer than its 24-bit Message Length can say ([`MAX_LENGTH`] bytes).
    #[error("message of {length} bytes does not fit the 24-bit Message Length")]
    MessageTooLong {
        /// Its length, header included.
        length: usize,
    },
}

impl WriteError {
    /// The AVP missing, repeated or too long; `AvpKey::new(0, 0)` for
    /// [`WriteError::MessageTooLong`], which concerns no AVP.
    pub fn avp(&self) -> AvpKey {
        match self {
            Self::MissingAvp { avp, .. }
            | Self::TooManyAvps { avp, .. }
            | Self::AvpTooLong { avp, .. } => *avp,
            Self::MessageTooLong { .. } => AvpKey::new(0, 0),
        }
    }

    /// The Grouped AVPs holding it, outermost first (the typed writers keep the 6
    /// outermost levels of a deeper path).
    pub fn within(&self) -> &[AvpKey] {
        match self {
            Self::MissingAvp { within, .. }
            | Self::TooManyAvps { within, .. }
            | Self::AvpTooLong { within, .. } => within,
            Self::MessageTooLong { .. } => &[],
        }
    }
}

/// An AVP key shown with its dictionary name when known.
struct Named(AvpKey);

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::dictionary::avp_name(self.0) {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// ` in A / B` for a non-empty Grouped path.
struct Within<'a>(&'a [AvpKey]);

impl fmt::Display for Within<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { " in " } else { " / " })?;
            write!(f, "{}", Named(*k))?;
        }
        Ok(())
    }
}

/// A generated Grouped AVP type that has a writer (implemented on the owned struct, e.g.
/// `SubscriptionId`, whose writer is `SubscriptionIdWriter`).
///
/// Its code and vendor are [`Grouped::KEY`](crate::typed::Grouped::KEY).
pub trait Group: crate::typed::Grouped {
    /// The writer of its members.
    type Writer<'c>: MemberWriter<'c>;
    /// The dictionary's flags for it (V, M, P).
    const FLAGS: u8;
    /// The presence bits of the required members: the first bits, one per entry of
    /// [`Grouped::REQUIRED`](crate::typed::Grouped::REQUIRED) (in its order, 64 at most),
    /// as the generated setters number them. Computed here, not generated per type.
    const REQUIRED_BITS: u64 = low_bits(<Self as crate::typed::Grouped>::REQUIRED.len());
}

/// The lowest `n` bits set (all 64 from 64 on).
const fn low_bits(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// The members of `G` by presence bit, as the generated setters number them: the required
/// ones first (its `REQUIRED` table's order), then each optional single member in ABNF
/// order (the walk's `opt` calls), 64 at most. Only a failing writer asks (which member was
/// missing or repeated), so the keys are found by walking a `Default` value rather than
/// kept in a table per type.
#[cold]
#[inline(never)]
fn member_keys<G: crate::typed::Grouped>() -> Vec<AvpKey> {
    struct Optional(Vec<AvpKey>);
    impl<'s> crate::typed::FieldVisitor<'s> for Optional {
        fn flags(&mut self, _: &'s crate::typed::FlagOverrides) {}
        fn one<T: AvpData>(&mut self, _: &'static str, _: &'s T, _: u32, _: u32, _: u8) {}
        fn opt<T: AvpData>(
            &mut self,
            _: &'static str,
            _: &'s Option<T>,
            code: u32,
            vendor: u32,
            _: u8,
        ) {
            self.0.push(AvpKey::new(code, vendor));
        }
        fn all<T: AvpData>(&mut self, _: &'static str, _: &'s Vec<T>, _: u32, _: u32, _: u8) {}
        fn extra(&mut self, _: &'s [RawAvp]) {}
        fn other<T: fmt::Debug + PartialEq + 'static>(&mut self, _: &'static str, _: &'s T) {}
    }
    let mut keys: Vec<AvpKey> = G::REQUIRED.iter().map(|r| r.key).collect();
    let mut optional = Optional(Vec::new());
    G::default().fields(&mut optional);
    keys.extend(optional.0);
    keys.truncate(64);
    keys
}

/// A generated writer of a Grouped AVP's members: a wrapper of the [`AvpWriter`] of the
/// AVP being written.
pub trait MemberWriter<'c>: Sized {
    /// Wraps the writer of a freshly opened AVP.
    fn from_avp_writer(w: AvpWriter<'c>) -> Self;
    /// Unwraps it again to close the AVP.
    fn into_avp_writer(self) -> AvpWriter<'c>;
}

/// A member as a generated setter passes it to [`AvpWriter`]: its code, vendor and
/// default flags, its presence bit and whether it may occur once, in one number
/// `0xCODE_VVVVVVVV_FF_OB` (the code above bit 48, the vendor in bits 16..48, the flags in
/// 8..16, `once` in bit 7, and below it the presence bit's number plus one, 0 for an
/// untracked member). One literal instead of five arguments in each of the ~9,000 setters
/// with every dictionary is 0.43 % of checking `gy`'s generated code (BENCHMARKS.md); the
/// reads fold to constants once inlined. [`slot`] builds one.
pub type Slot = u128;

/// The [`Slot`] of a member: `bit` is its presence bit (a single bit set, or 0).
pub const fn slot(code: u32, vendor: u32, flags: u8, bit: u64, once: bool) -> Slot {
    let bit_no = if bit == 0 {
        0
    } else {
        bit.trailing_zeros() as u128 + 1
    };
    (code as u128) << 48
        | (vendor as u128) << 16
        | (flags as u128) << 8
        | (once as u128) << 7
        | bit_no
}

/// A slot's parts, in `put_array`'s order: code, flags, vendor, presence bit, once.
#[inline(always)]
const fn unpack(s: Slot) -> (u32, u8, u32, u64, bool) {
    (code(s), flags(s), vendor(s), bit(s), once(s))
}

#[inline(always)]
const fn code(s: Slot) -> u32 {
    (s >> 48) as u32
}

#[inline(always)]
const fn vendor(s: Slot) -> u32 {
    (s >> 16) as u32
}

#[inline(always)]
const fn flags(s: Slot) -> u8 {
    (s >> 8) as u8
}

#[inline(always)]
const fn once(s: Slot) -> bool {
    s & 0x80 != 0
}

#[inline(always)]
const fn bit(s: Slot) -> u64 {
    // A number past 64 (not generated) tracks nothing rather than overflowing the shift.
    match (s & 0x7f) as u32 {
        0 => 0,
        n => match 1u64.checked_shl(n - 1) {
            Some(b) => b,
            None => 0,
        },
    }
}

/// Appends AVPs to a buffer and records which members were set: the state of one message's
/// or one Grouped AVP's members.
#[derive(Debug)]
pub struct AvpWriter<'b> {
    buf: &'b mut BytesMut,
    /// Members set (bit numbers assigned by the generated writer).
    seen: u64,
    /// Single members set more than once.
    dup: u64,
    /// The first problem among the members (a Grouped member's, or an AVP too long, which
    /// is not written), for `finish`. `Copy`, and only ever moved by value: see
    /// [`fail`] for why.
    fail: Option<Fail>,
}

/// An AVP header on the stack: 12 bytes, of which [`header_len`] are used.
#[inline(always)]
fn header(code: u32, flags: u8, vendor: u32, len: usize) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[..4].copy_from_slice(&code.to_be_bytes());
    h[4..8].copy_from_slice(&((u32::from(flags) << 24) | length_field(len)).to_be_bytes());
    h[8..].copy_from_slice(&vendor.to_be_bytes());
    h
}

impl<'b> AvpWriter<'b> {
    /// A writer appending to `buf`, nothing set yet.
    #[inline]
    pub fn new(buf: &'b mut BytesMut) -> Self {
        Self {
            buf,
            seen: 0,
            dup: 0,
            fail: None,
        }
    }

    /// The buffer written to.
    #[inline]
    pub fn buf(&mut self) -> &mut BytesMut {
        self.buf
    }

    /// Records that the member of bit `bit` (0: untracked) was set; `once` for members that
    /// may occur at most once.
    #[inline(always)]
    pub fn mark(&mut self, bit: u64, once: bool) {
        if once {
            self.dup |= self.seen & bit;
        }
        self.seen |= bit;
    }

    /// Appends an AVP whose data is the `N` bytes of `data` (N ≤ 20): header, data and
    /// padding assembled on the stack and copied at once.
    #[inline(always)]
    pub fn put_array<const N: usize>(
        &mut self,
        code: u32,
        flags: u8,
        vendor: u32,
        bit: u64,
        once: bool,
        data: [u8; N],
    ) {
        let hl = header_len(vendor);
        let total = padded(hl + N);
        let mut a = [0u8; 32];
        a[..12].copy_from_slice(&header(code, flags, vendor, hl + N));
        a[hl..hl + N].copy_from_slice(&data);
        self.buf.extend_from_slice(&a[..total]);
        self.mark(bit, once);
    }

    /// Appends an AVP of a fixed-size value, the member given as a [`Slot`].
    #[inline(always)]
    fn put_fixed<const N: usize>(&mut self, s: Slot, data: [u8; N]) {
        let (code, flags, vendor, bit, once) = unpack(s);
        self.put_array(code, flags, vendor, bit, once, data);
    }

    /// Appends an Unsigned32 AVP.
    #[inline(always)]
    pub fn put_u32(&mut self, s: Slot, v: u32) {
        self.put_fixed(s, v.to_be_bytes());
    }

    /// Appends an Integer32 (or Enumerated) AVP.
    #[inline(always)]
    pub fn put_i32(&mut self, s: Slot, v: i32) {
        self.put_fixed(s, v.to_be_bytes());
    }

    /// Appends an Unsigned64 AVP.
    #[inline(always)]
    pub fn put_u64(&mut self, s: Slot, v: u64) {
        self.put_fixed(s, v.to_be_bytes());
    }

    /// Appends an Integer64 AVP.
    #[inline(always)]
    pub fn put_i64(&mut self, s: Slot, v: i64) {
        self.put_fixed(s, v.to_be_bytes());
    }

    /// Appends a Float32 AVP.
    #[inline(always)]
    pub fn put_f32(&mut self, s: Slot, v: f32) {
        self.put_fixed(s, v.to_be_bytes());
    }

    /// Appends a Float64 AVP.
    #[inline(always)]
    pub fn put_f64(&mut self, s: Slot, v: f64) {
        self.put_fixed(s, v.to_be_bytes());
    }

    /// Appends an OctetString AVP (or the bytes of a text type), padded.
    #[inline(always)]
    pub fn put_bytes(&mut self, s: Slot, v: &[u8]) {
        let (code, flags, vendor, bit, once) = unpack(s);
        self.put_slice(code, flags, vendor, bit, once, v);
    }

    /// Appends an AVP holding `data`, padded.
    #[inline(always)]
    pub fn put_slice(
        &mut self,
        code: u32,
        flags: u8,
        vendor: u32,
        bit: u64,
        once: bool,
        data: &[u8],
    ) {
        let len = data.len();
        let hl = avp_header_len(AvpFlags(flags), vendor);
        if len > MAX_LENGTH - hl {
            // Not written: `finish` reports it.
            self.too_long(AvpKey::new(code, vendor), hl + len);
            return;
        }
        self.buf.reserve(padded(hl + len));
        put_header_fitting(self.buf, code, AvpFlags(flags), vendor, (hl + len) as u32);
        self.buf.extend_from_slice(data);
        put_padding(self.buf, len);
        self.mark(bit, once);
    }

    /// Appends a text AVP (UTF8String, DiameterIdentity, IPFilterRule, QoSFilterRule,
    /// DiameterURI).
    #[inline(always)]
    pub fn put_str(&mut self, s: Slot, v: &str) {
        self.put_bytes(s, v.as_bytes());
    }

    /// Appends an Address AVP (IPv4 and IPv6 assembled on the stack).
    #[inline(always)]
    pub fn put_address(&mut self, s: Slot, v: &Address) {
        let (code, flags, vendor, bit, once) = unpack(s);
        match v {
            Address::V4(a) => {
                let [a, b, c, d] = a.octets();
                self.put_array(code, flags, vendor, bit, once, [0, 1, a, b, c, d]);
            }
            Address::V6(a) => {
                let mut d = [0u8; 18];
                d[1] = 2;
                d[2..].copy_from_slice(&a.octets());
                self.put_array(code, flags, vendor, bit, once, d);
            }
            Address::Other { .. } => self.put_data(code, flags, vendor, bit, once, v),
        }
    }

    /// Appends an AVP holding any [`AvpData`] value.
    #[inline]
    pub fn put_data<T: AvpData>(
        &mut self,
        code: u32,
        flags: u8,
        vendor: u32,
        bit: u64,
        once: bool,
        v: &T,
    ) {
        let start = self.buf.len();
        v.encode_avp(self.buf, code, AvpFlags(flags), vendor);
        if avp_too_long(self.buf, start) {
            let length = self.buf.len() - start;
            self.buf.truncate(start);
            self.too_long(AvpKey::new(code, vendor), length);
        }
        self.mark(bit, once);
    }

    /// Appends an AVP outside the ABNF (or any AVP as received), with its own flags.
    #[inline]
    pub fn put_raw(&mut self, a: &RawAvp) {
        if let Err(WriteError::AvpTooLong { avp, length, .. }) = a.try_encode(self.buf) {
            self.too_long(avp, length);
        }
    }

    /// Records an AVP too long for its 24-bit AVP Length (not written), for `finish`.
    #[inline(always)]
    fn too_long(&mut self, avp: AvpKey, length: usize) {
        if self.fail.is_none() {
            self.fail = Some(Fail::too_long(avp, length));
        }
    }

    /// Appends a Grouped AVP `G` whose members `f` writes, patching its length once they
    /// are written; problems among its members are kept for `finish`.
    #[inline(always)]
    pub fn group<G: Group>(&mut self, bit: u64, once: bool, f: impl FnOnce(&mut G::Writer<'_>)) {
        let start = self.buf.len();
        let key = <G as crate::typed::Grouped>::KEY;
        let vendor = key.vendor;
        let hl = header_len(vendor);
        self.buf
            .extend_from_slice(&header(key.code, G::FLAGS, vendor, 0)[..hl]);
        let mut child = G::Writer::from_avp_writer(AvpWriter::new(self.buf));
        f(&mut child);
        // The child's fields are read in place, not moved out: moving its problem record
        // (72 bytes) cost a copy per Grouped AVP although it is nearly always `None`.
        let w = child.into_avp_writer();
        // Members are padded, so the data needs no padding of its own. A length too long
        // for the 24-bit field is written as 0 (`length_field`), on the cold path below, so
        // that the usual case tests the length once.
        let length = w.buf.len() - start;
        patch_length(w.buf, start, length as u32 & 0x00ff_ffff);
        if w.dup != 0
            || w.seen & G::REQUIRED_BITS != G::REQUIRED_BITS
            || w.fail.is_some()
            || length > MAX_LENGTH
        {
            self.fail = group_closed_failing(
                w.buf,
                start,
                self.fail,
                key,
                &member_keys::<G>(),
                G::REQUIRED_BITS,
                w.seen,
                w.dup,
                w.fail,
                length,
            );
        }
        self.mark(bit, once);
    }

    /// The first problem among the members: a single member set twice, else a required
    /// one missing, else one inside a Grouped member or an AVP too long.
    #[inline]
    fn check(&mut self, members: &[AvpKey], required: u64) -> Result<(), WriteError> {
        if self.dup == 0 && self.seen & required == required && self.fail.is_none() {
            return Ok(());
        }
        Err(failed(members, required, self.seen, self.dup, self.fail))
    }
}

/// Writes the AVP Length of the AVP at `start` of `buf`.
#[inline(always)]
fn patch_length(buf: &mut BytesMut, start: usize, length: u32) {
    if let Some(l) = buf.get_mut(start + 5..start + 8) {
        l.copy_from_slice(&length.to_be_bytes()[1..]);
    }
}

/// A Grouped AVP closed with a problem: its AVP Length set to 0 if too long, and the first
/// problem of the writer (`first`, else this one) returned.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn group_closed_failing(
    buf: &mut BytesMut,
    start: usize,
    first: Option<Fail>,
    key: AvpKey,
    members: &[AvpKey],
    required: u64,
    seen: u64,
    dup: u64,
    fail: Option<Fail>,
    length: usize,
) -> Option<Fail> {
    patch_length(buf, start, length_field(length));
    first.or_else(|| Some(group_fail(key, members, required, seen, dup, fail, length)))
}

/// The problem of Grouped AVP `key` whose members were written as `seen`, `dup` and
/// `fail`, its length `length`: a member's problem first (inside `key`), else `key` itself
/// too long, else its own members. Only called from the cold `group_closed_failing`.
fn group_fail(
    key: AvpKey,
    members: &[AvpKey],
    required: u64,
    seen: u64,
    dup: u64,
    fail: Option<Fail>,
    length: usize,
) -> Fail {
    match fail {
        Some(f) => f.inside(key),
        None if length > MAX_LENGTH => Fail::too_long(key, length),
        None => members_fail(members, required, seen, dup)
            .unwrap_or(Fail::missing(key))
            .inside(key),
    }
}

/// The error of a message's or Grouped AVP's members (`check` found one).
#[cold]
#[inline(never)]
fn failed(
    members: &[AvpKey],
    required: u64,
    seen: u64,
    dup: u64,
    fail: Option<Fail>,
) -> WriteError {
    members_fail(members, required, seen, dup)
        .or(fail)
        .map(Fail::into_error)
        .unwrap_or(WriteError::MissingAvp {
            avp: AvpKey::new(0, 0),
            within: Vec::new(),
        })
}

/// Writes one message: its header (patched by [`MessageWriter::finish`]) and its AVPs,
/// appended after what the buffer already holds.
#[derive(Debug)]
pub struct MessageWriter<'b> {
    /// The AVPs and the state of the members.
    pub avps: AvpWriter<'b>,
    start: usize,
    /// Command flags, as a `u32` so that patching the header reads back what was stored
    /// (a byte store read as a word does not forward).
    flags: u32,
    code: u32,
    application_id: u32,
    hop_by_hop: u32,
    end_to_end: u32,
}

impl<'b> MessageWriter<'b> {
    /// Starts a message at the end of `buf`: reserves room for a typical message and leaves
    /// the 20 bytes of the header, written by `finish`.
    #[inline]
    pub fn new(buf: &'b mut BytesMut, flags: CommandFlags, code: u32, application_id: u32) -> Self {
        buf.reserve(512);
        let start = buf.len();
        buf.extend_from_slice(&[0; HEADER_LEN]);
        Self {
            avps: AvpWriter::new(buf),
            start,
            flags: u32::from(flags.0),
            code,
            application_id,
            hop_by_hop: 0,
            end_to_end: 0,
        }
    }

    /// Sets the Hop-by-Hop Identifier.
    #[inline]
    pub fn set_hop_by_hop(&mut self, v: u32) {
        self.hop_by_hop = v;
    }

    /// Sets the End-to-End Identifier.
    #[inline]
    pub fn set_end_to_end(&mut self, v: u32) {
        self.end_to_end = v;
    }

    /// Sets the command flags; the R bit stays that of the command.
    #[inline]
    pub fn set_flags(&mut self, flags: CommandFlags) {
        let r = self.flags & u32::from(CommandFlags::REQUEST);
        self.flags = u32::from(flags.0 & !CommandFlags::REQUEST) | r;
    }

    /// The command flags so far.
    #[inline]
    pub fn flags(&self) -> CommandFlags {
        CommandFlags(self.flags as u8)
    }

    /// Checks the members (`members` by bit number, `required` the bits that must be set)
    /// and the lengths (an AVP or the message over 16 MiB − 1: [`WriteError::AvpTooLong`],
    /// [`WriteError::MessageTooLong`]), writes the header with the Message Length and
    /// returns that length. On error the buffer is cut back to where the message began.
    #[inline]
    pub fn finish(mut self, members: &[AvpKey], required: u64) -> Result<usize, WriteError> {
        if let Err(e) = self.avps.check(members, required) {
            self.avps.buf.truncate(self.start);
            return Err(e);
        }
        let len = self.avps.buf.len() - self.start;
        if len > MAX_LENGTH {
            self.avps.buf.truncate(self.start);
            return Err(WriteError::MessageTooLong { length: len });
        }
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(&((u32::from(VERSION) << 24) | len as u32).to_be_bytes());
        h[4..8].copy_from_slice(&((self.flags << 24) | (self.code & 0x00ff_ffff)).to_be_bytes());
        h[8..12].copy_from_slice(&self.application_id.to_be_bytes());
        h[12..16].copy_from_slice(&self.hop_by_hop.to_be_bytes());
        h[16..].copy_from_slice(&self.end_to_end.to_be_bytes());
        if let Some(dst) = self.avps.buf.get_mut(self.start..self.start + HEADER_LEN) {
            dst.copy_from_slice(&h);
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unusual_byte_groupings)] // as generated: code_vendor_flags_once-and-bit
    fn a_slot_packs_a_member() {
        let s = slot(451, 10415, 0xc0, 1 << 5, true);
        assert_eq!(s, 0x1c3_000028af_c0_86);
        assert_eq!(
            (code(s), vendor(s), flags(s), bit(s), once(s)),
            (451, 10415, 0xc0, 1 << 5, true)
        );
        let untracked = slot(1, 0, 0x40, 0, false);
        assert_eq!((bit(untracked), once(untracked)), (0, false));
        assert_eq!(slot(7, 0, 0, 1 << 63, true) & 0x7f, 64);
        assert_eq!(bit(0x7f), 0, "a bit number past 64 tracks nothing");
    }

    #[test]
    fn arrays_and_bytes_are_padded() {
        let mut buf = BytesMut::new();
        let mut w = AvpWriter::new(&mut buf);
        w.put_u32(slot(258, 0, 0x40, 1, true), 4);
        w.put_str(slot(1, 10415, 0xc0, 2, true), "abcde");
        w.put_u32(slot(258, 0, 0x40, 1, true), 4);
        assert_eq!(
            w.check(&[AvpKey::new(258, 0), AvpKey::new(1, 10415)], 3),
            Err(WriteError::TooManyAvps {
                avp: AvpKey::new(258, 0),
                within: vec![]
            })
        );
        assert_eq!(
            &buf[..],
            &[
                0, 0, 1, 2, 0x40, 0, 0, 12, 0, 0, 0, 4, //
                0, 0, 0, 1, 0xc0, 0, 0, 17, 0, 0, 0x28, 0xaf, b'a', b'b', b'c', b'd', b'e', 0, 0,
                0, //
                0, 0, 1, 2, 0x40, 0, 0, 12, 0, 0, 0, 4,
            ][..]
        );
    }
}
