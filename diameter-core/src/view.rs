//! Runtime support of the generated typed views (`…View` types).
//!
//! A view is the fast way to read a received message with its dictionary's types: decoding
//! one walks the AVPs once, checks everything the owned typed struct's decoding checks (the
//! struct checks its wide `Lazy` members with the same walk's check-only form, the tracker
//! [`Seen`], which indexes nothing), and records in its [`Raw`] where each ABNF member's
//! first occurrence starts, and how many there are. Each view's generated `step` names the
//! member an AVP is and how to check its value; the [`Tracker`]s here do the rest. Nothing
//! is copied, counted or allocated: accessors then read values straight from the message's
//! bytes, and never fail, since every value was checked. Grouped members are views too,
//! indexed again (without the checks) when read.
//!
//! The owned structs remain the way to build, change and keep messages; a view converts to
//! its struct with `to_owned`.

use bytes::Bytes;

use crate::avp::{AvpIter, AvpRef};
use crate::data::{AvpData, DecodeCx};
use crate::error::{DecodeError, ErrorKind};
use crate::header::Header;
use crate::message::Limits;
use crate::typed::{Grouped, Required, SINGLE};

mod raw;
pub use raw::Raw;

/// The offset recorded for a member that is absent.
pub const ABSENT: u32 = u32::MAX;

/// The decoding context for reading members of a value already checked: no depth limit
/// applies the second time.
pub const CHECKED: DecodeCx = DecodeCx::new(u16::MAX, crate::policy::Policy::Strict);

/// The header of bytes holding exactly one message, checked as [`crate::Message::decode`]
/// checks it (default [`Limits`]); the AVPs' framing is checked by the view's walk.
pub fn header(bytes: &Bytes) -> Result<Header, DecodeError> {
    let header = Header::decode(bytes, Limits::default().max_message_size)?;
    if header.length as usize != bytes.len() {
        return Err(ErrorKind::InvalidMessageLength(header.length).at(1));
    }
    Ok(header)
}

/// Records a member that may occur once: its offset, or 5009 for a second occurrence.
#[inline(always)]
pub fn once(first: &mut u32, avp: &AvpRef<'_>) -> Result<(), DecodeError> {
    if *first != ABSENT {
        return Err(too_many(avp));
    }
    *first = avp.offset as u32;
    Ok(())
}

/// Records one more occurrence of a repeated member; more than `max` is 5009.
#[inline(always)]
pub fn more(
    first: &mut u32,
    count: &mut u32,
    avp: &AvpRef<'_>,
    max: u32,
) -> Result<(), DecodeError> {
    self::count(count, avp, max)?;
    if *count == 1 {
        *first = avp.offset as u32;
    }
    Ok(())
}

/// Records a member that may occur once in a check-only walk (bit `bit` of `seen`), or 5009
/// for a second occurrence, as [`once`].
#[inline(always)]
pub fn seen_once(seen: &mut u64, bit: u64, avp: &AvpRef<'_>) -> Result<(), DecodeError> {
    if *seen & bit != 0 {
        return Err(too_many(avp));
    }
    *seen |= bit;
    Ok(())
}

/// Counts one more occurrence of a repeated member in a check-only walk; more than `max` is
/// 5009, as [`more`].
#[inline(always)]
pub fn count(count: &mut u32, avp: &AvpRef<'_>, max: u32) -> Result<(), DecodeError> {
    if *count >= max {
        return Err(too_many(avp));
    }
    *count += 1;
    Ok(())
}

#[cold]
#[inline(never)]
fn too_many(avp: &AvpRef<'_>) -> DecodeError {
    avp.error(ErrorKind::TooManyAvps(avp.key()))
}

/// How a view's walk checks one member's value: a type (`Value<u32>`, `DiameterIdentity`,
/// `Group<…View>`), named in the generated `step` as the type parameter of the tracker's
/// call, so the walk calls the check directly. (As function pointers, the checks reached
/// the walk as values, and whether LLVM turned them into direct calls depended on unrelated
/// code: in one all-features build it merged a `match`'s calls into indirect calls through
/// a table, six in Granted-Service-Unit's check; BENCHMARKS.md, "Generated code: tables as
/// text".)
pub trait Check<'a> {
    /// Checks `avp`'s value in `cx`.
    fn check(avp: &AvpRef<'a>, cx: DecodeCx) -> Result<(), DecodeError>;
}

/// Checks nothing: an OctetString member's value (any bytes are one).
pub struct NoCheck;

impl Check<'_> for NoCheck {
    #[inline(always)]
    fn check(_: &AvpRef<'_>, _: DecodeCx) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// Checks a value the way decoding its owned type `T` does (lengths of numbers, address
/// families, URIs, times).
pub struct Value<T>(std::marker::PhantomData<T>);

impl<T: AvpData> Check<'_> for Value<T> {
    #[inline(always)]
    fn check(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
        check::<T>(avp, cx)
    }
}

/// Checks a Grouped member with its view `V` (its contents, without keeping the view).
pub struct Group<V>(std::marker::PhantomData<V>);

impl<'a, V: GroupView<'a>> Check<'a> for Group<V> {
    // A hint, not `always`: LLVM inlines the small groups' walks into their parent's and
    // keeps the wide ones out of line, as the views' own `check` does.
    #[inline]
    fn check(avp: &AvpRef<'a>, cx: DecodeCx) -> Result<(), DecodeError> {
        check_group::<V>(avp, cx)
    }
}

/// The text checks, each with the error of its owned type (`INVALID`).
macro_rules! text_checks {
    ($($(#[$doc:meta])* $name:ident => $owned:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl Check<'_> for $name {
            #[inline(always)]
            fn check(avp: &AvpRef<'_>, _: DecodeCx) -> Result<(), DecodeError> {
                check_text(avp, crate::data::$owned::INVALID)
            }
        }
    )*};
}

text_checks! {
    /// Checks a UTF8String member's value.
    Utf8String => Utf8String;
    /// Checks a DiameterIdentity member's value.
    DiameterIdentity => DiameterIdentity;
    /// Checks an IPFilterRule member's value.
    IpFilterRule => IpFilterRule;
    /// Checks a QoSFilterRule member's value.
    QosFilterRule => QosFilterRule;
}

/// What a view's walk does with each ABNF member it meets.
///
/// Each view has one generated `step`, a `match` on the AVP's code and vendor that tells
/// the tracker which ABNF member (`slot`, its position in the ABNF) it met and how to check
/// its value. The tracker decides the rest: [`Index`] records where members are (a view
/// being built), [`Seen`] only counts them (a check whose view is not kept), and the owned
/// struct's decoding decodes each into its field (`typed::decode_group`). One `step`
/// serves all three, and the bookkeeping is written once here rather than per view: the
/// generated code is a fraction of what two hand-unrolled walks per view were, and once
/// `step` is inlined into the walk the machine code is the same.
pub trait Tracker<'a> {
    /// A member that may occur once (`[ x ]` or `< x >`) at ABNF position `slot`.
    fn one<C: Check<'a>>(&mut self, slot: usize, avp: &AvpRef<'a>) -> Result<(), DecodeError>;
    /// A repeated member at ABNF position `slot`, the `rep`-th repeated member, allowed at
    /// most `max` times.
    fn many<C: Check<'a>>(
        &mut self,
        slot: usize,
        rep: usize,
        max: u32,
        avp: &AvpRef<'a>,
    ) -> Result<(), DecodeError>;
    /// A repeated member at ABNF position `slot`, the `rep`-th repeated member, with neither
    /// a bound nor a minimum (`*[ x ]`): nothing to count for a check.
    fn any<C: Check<'a>>(
        &mut self,
        slot: usize,
        rep: usize,
        avp: &AvpRef<'a>,
    ) -> Result<(), DecodeError>;
    /// An AVP the ABNF does not name.
    fn extra(&mut self) -> Result<(), DecodeError>;
    /// After the walk: the first required member missing or too rare, as a 5005 error
    /// reported at `missing_at`.
    fn missing(&self, required: &[Required], missing_at: usize) -> Result<(), DecodeError>;
}

/// The first of `required` (in ABNF order) that did not occur often enough, as the 5005
/// error reported at `missing_at`: `count` holds the repeated members' counts, `present`
/// tells whether a single member occurred. Shared by the trackers that check.
#[inline(always)]
fn first_missing(
    required: &[Required],
    missing_at: usize,
    count: &[u32],
    present: impl Fn(usize) -> bool,
) -> Result<(), DecodeError> {
    for r in required {
        let short = if r.rep == SINGLE {
            !present(usize::from(r.index))
        } else {
            count[usize::from(r.rep)] < r.min
        };
        if short {
            return Err(missing(r, missing_at));
        }
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn missing(r: &Required, missing_at: usize) -> DecodeError {
    crate::typed::missing(r.key, r.ty, r.flags, missing_at)
}

/// The tracker of a view being built: records each member's first offset and each repeated
/// member's count; with `deep`, checks each value too (a view of a member its parent
/// already checked indexes without checking again).
pub struct Index<'v> {
    /// Offset of each member's first occurrence, ABNF order.
    pub first: &'v mut [u32],
    /// Occurrences of each repeated member.
    pub count: &'v mut [u32],
    /// AVPs outside the ABNF.
    pub extra: &'v mut u32,
    /// The context values are checked in.
    pub cx: DecodeCx,
    /// Whether to check values.
    pub deep: bool,
}

impl<'a> Tracker<'a> for Index<'_> {
    #[inline(always)]
    fn one<C: Check<'a>>(&mut self, slot: usize, avp: &AvpRef<'a>) -> Result<(), DecodeError> {
        once(&mut self.first[slot], avp)?;
        if self.deep {
            C::check(avp, self.cx)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn many<C: Check<'a>>(
        &mut self,
        slot: usize,
        rep: usize,
        max: u32,
        avp: &AvpRef<'a>,
    ) -> Result<(), DecodeError> {
        more(&mut self.first[slot], &mut self.count[rep], avp, max)?;
        if self.deep {
            C::check(avp, self.cx)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn any<C: Check<'a>>(
        &mut self,
        slot: usize,
        rep: usize,
        avp: &AvpRef<'a>,
    ) -> Result<(), DecodeError> {
        self.many::<C>(slot, rep, u32::MAX, avp)
    }

    #[inline(always)]
    fn extra(&mut self) -> Result<(), DecodeError> {
        *self.extra += 1;
        Ok(())
    }

    #[inline(always)]
    fn missing(&self, required: &[Required], missing_at: usize) -> Result<(), DecodeError> {
        first_missing(required, missing_at, self.count, |slot| {
            self.first[slot] != ABSENT
        })
    }
}

/// The tracker of a check whose view is not kept (how the owned struct checks its `Lazy`
/// members, and how a view checks its Grouped members): a bit per single member (`W`
/// words) and a count per repeated one (`R`), no offsets. The same errors in the same
/// order as [`Index`] with `deep`.
pub struct Seen<const W: usize, const R: usize> {
    seen: [u64; W],
    count: [u32; R],
    cx: DecodeCx,
}

impl<const W: usize, const R: usize> Seen<W, R> {
    /// Nothing seen yet; values are checked in `cx`.
    #[inline(always)]
    pub fn new(cx: DecodeCx) -> Self {
        Self {
            seen: [0; W],
            count: [0; R],
            cx,
        }
    }
}

impl<const W: usize, const R: usize> From<DecodeCx> for Seen<W, R> {
    #[inline(always)]
    fn from(cx: DecodeCx) -> Self {
        Self::new(cx)
    }
}

impl<'a, const W: usize, const R: usize> Tracker<'a> for Seen<W, R> {
    #[inline(always)]
    fn one<C: Check<'a>>(&mut self, slot: usize, avp: &AvpRef<'a>) -> Result<(), DecodeError> {
        seen_once(&mut self.seen[slot / 64], 1 << (slot % 64), avp)?;
        C::check(avp, self.cx)
    }

    #[inline(always)]
    fn many<C: Check<'a>>(
        &mut self,
        _slot: usize,
        rep: usize,
        max: u32,
        avp: &AvpRef<'a>,
    ) -> Result<(), DecodeError> {
        count(&mut self.count[rep], avp, max)?;
        C::check(avp, self.cx)
    }

    #[inline(always)]
    fn any<C: Check<'a>>(
        &mut self,
        _slot: usize,
        _rep: usize,
        avp: &AvpRef<'a>,
    ) -> Result<(), DecodeError> {
        C::check(avp, self.cx)
    }

    #[inline(always)]
    fn extra(&mut self) -> Result<(), DecodeError> {
        Ok(())
    }

    #[inline(always)]
    fn missing(&self, required: &[Required], missing_at: usize) -> Result<(), DecodeError> {
        first_missing(required, missing_at, &self.count, |slot| {
            self.seen[slot / 64] & (1 << (slot % 64)) != 0
        })
    }
}

/// A view's generated walk step: which ABNF member an AVP is (its `slot`) and the check of
/// its value, told to a [`Tracker`]. A trait rather than a function passed by value, so
/// that the walk calls it directly and inlines it (through an `impl Fn` argument, LLVM
/// left the step out of line in a `Fn::call` shim for the widest views).
pub trait Step<'a> {
    /// Tells `t` what `avp` is.
    fn step<T: Tracker<'a>>(t: &mut T, avp: &AvpRef<'a>) -> Result<(), DecodeError>;
}

/// Walks the AVPs of `avps` with view `S`'s step and `tracker`, then checks the framing's
/// end. The check of required members ([`Tracker::missing`]) comes after, from the
/// callers below, with the view's table as a constant (a table chosen at run time would
/// keep LLVM from unrolling the loop over it).
#[inline(always)]
pub fn walk<'a, S: Step<'a>, T: Tracker<'a>>(
    mut avps: AvpIter<'a>,
    tracker: &mut T,
) -> Result<(), DecodeError> {
    while let Some(avp) = avps.next_framed() {
        S::step(tracker, &avp)?;
    }
    avps.finish()
}

/// [`walk`] and then, when the tracker checks values, the required members: how a view is
/// built.
#[inline(always)]
pub fn index<'a, S: Step<'a>>(
    avps: AvpIter<'a>,
    tracker: &mut Index<'_>,
    required: &[Required],
    missing_at: usize,
) -> Result<(), DecodeError> {
    walk::<S, _>(avps, tracker)?;
    if tracker.deep {
        tracker.missing(required, missing_at)
    } else {
        Ok(())
    }
}

/// [`walk`] and then the required members: how a view that is not kept checks.
#[inline(always)]
pub fn checked<'a, S: Step<'a>, T: Tracker<'a>>(
    avps: AvpIter<'a>,
    tracker: &mut T,
    required: &[Required],
    missing_at: usize,
) -> Result<(), DecodeError> {
    walk::<S, T>(avps, tracker)?;
    tracker.missing(required, missing_at)
}

/// What a generated view of a Grouped AVP tells the runtime about itself, so that its
/// walks ([`scan_group`], [`check_group`], [`read_group`]) are written once here rather than
/// once per view: its owned type (whose key and table of required members the view uses),
/// the check-only tracker sized for it, and its index arrays.
pub trait GroupView<'a>: Step<'a> + Sized {
    /// The owned struct the view reads.
    type Owned: Grouped;
    /// The tracker of a check that keeps no view: a [`Seen`] with a bit per single member
    /// and a count per bounded or required repeated one.
    type Seen: Tracker<'a> + From<DecodeCx>;
    /// The view of `avp` with nothing indexed yet.
    fn empty(avp: &AvpRef<'a>) -> Self;
    /// Its index arrays for the [`Index`] tracker: each member's first offset, each repeated
    /// member's count, the count of AVPs outside the ABNF.
    fn slots(&mut self) -> (&mut [u32], &mut [u32], &mut u32);
}

/// Indexes the members of `avp` into a view `V`; with `deep`, checks them too (a view's
/// `decode`).
#[inline(always)]
pub fn scan_group<'a, V: GroupView<'a>>(
    avp: &AvpRef<'a>,
    cx: DecodeCx,
    deep: bool,
) -> Result<V, DecodeError> {
    let cx = cx.enter(avp)?;
    let mut v = V::empty(avp);
    let (first, count, extra) = v.slots();
    let mut t = Index {
        first,
        count,
        extra,
        cx,
        deep,
    };
    match index::<V>(avp.children(), &mut t, V::Owned::REQUIRED, avp.offset) {
        Ok(()) => Ok(v),
        Err(e) => Err(e.within(V::Owned::KEY)),
    }
}

/// Checks a received AVP as decoding view `V` does, without keeping the view (a view's
/// `check`: how views check their Grouped members, and owned structs their `Lazy` ones).
#[inline(always)]
pub fn check_group<'a, V: GroupView<'a>>(
    avp: &AvpRef<'a>,
    cx: DecodeCx,
) -> Result<(), DecodeError> {
    let cx = cx.enter(avp)?;
    match checked::<V, V::Seen>(
        avp.children(),
        &mut V::Seen::from(cx),
        V::Owned::REQUIRED,
        avp.offset,
    ) {
        Ok(()) => Ok(()),
        Err(e) => Err(e.within(V::Owned::KEY)),
    }
}

/// The view of a member its parent's decoding already checked: indexed, not checked again
/// (the reader a parent view's accessor is given).
#[inline]
pub fn read_group<'a, V: GroupView<'a>>(avp: AvpRef<'a>) -> V {
    // A `match` rather than `unwrap_or_else` and a closure: the same code once inlined.
    match scan_group::<V>(&avp, CHECKED, false) {
        Ok(v) => v,
        Err(_) => V::empty(&avp),
    }
}

/// The tracker that only tells whether the ABNF names an AVP (how [`Extra`] skips members):
/// it checks nothing.
#[derive(Default)]
pub struct Probe {
    extra: bool,
}

impl<'a> Tracker<'a> for Probe {
    #[inline(always)]
    fn one<C: Check<'a>>(&mut self, _: usize, _: &AvpRef<'a>) -> Result<(), DecodeError> {
        Ok(())
    }

    #[inline(always)]
    fn many<C: Check<'a>>(
        &mut self,
        _: usize,
        _: usize,
        _: u32,
        _: &AvpRef<'a>,
    ) -> Result<(), DecodeError> {
        Ok(())
    }

    #[inline(always)]
    fn any<C: Check<'a>>(&mut self, _: usize, _: usize, _: &AvpRef<'a>) -> Result<(), DecodeError> {
        Ok(())
    }

    #[inline(always)]
    fn extra(&mut self) -> Result<(), DecodeError> {
        self.extra = true;
        Ok(())
    }

    #[inline(always)]
    fn missing(&self, _: &[Required], _: usize) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// A view's generated `step`, as [`Extra`] calls it.
pub type ProbeFn<'a> = fn(&mut Probe, &AvpRef<'a>) -> Result<(), DecodeError>;

/// Checks a value the way decoding its owned type does (lengths of numbers, address
/// families, URIs, times).
#[inline(always)]
pub fn check<T: AvpData>(avp: &AvpRef<'_>, cx: DecodeCx) -> Result<(), DecodeError> {
    T::decode(avp, cx).map(drop)
}

/// Checks that text is UTF-8, with the error of the owned text type (its `INVALID`).
#[inline(always)]
pub fn check_text(avp: &AvpRef<'_>, what: &'static str) -> Result<(), DecodeError> {
    if is_utf8(avp.data) {
        Ok(())
    } else {
        Err(invalid(avp, what))
    }
}

/// Whether `b` is UTF-8. Diameter text is nearly always ASCII and short (identities,
/// Session-Ids), where `str::from_utf8` goes byte by byte until it reaches alignment: eight
/// bytes at a time here, and the full check only for text that is not ASCII.
#[inline]
pub fn is_utf8(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut high = 0u64;
    for c in &mut chunks {
        high |= u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    }
    let mut tail = 0u8;
    for &x in chunks.remainder() {
        tail |= x;
    }
    if (high & 0x8080_8080_8080_8080) == 0 && tail < 0x80 {
        return true;
    }
    std::str::from_utf8(b).is_ok()
}

#[cold]
#[inline(never)]
fn invalid(avp: &AvpRef<'_>, what: &'static str) -> DecodeError {
    avp.error(ErrorKind::InvalidAvpValue(what))
}

/// Reads a checked value of an owned type (numbers, addresses, times, URIs).
#[inline(always)]
pub fn read<T: AvpData + Default>(avp: &AvpRef<'_>) -> T {
    T::decode(avp, CHECKED).unwrap_or_default()
}

/// Reads checked text.
#[inline(always)]
pub fn read_text<'a>(avp: &AvpRef<'a>) -> &'a str {
    std::str::from_utf8(avp.data).unwrap_or_default()
}

/// Reads a checked value of an owned type from an AVP (the reader of numbers, addresses,
/// times and URIs for [`Raw`]'s accessors and [`Members`]).
#[inline(always)]
pub fn value<T: AvpData + Default>(avp: AvpRef<'_>) -> T {
    read(&avp)
}

/// Reads a checked Enumerated value.
#[inline(always)]
pub fn enumerated<T: From<i32>>(avp: AvpRef<'_>) -> T {
    T::from(read::<i32>(&avp))
}

/// Reads checked text.
#[inline(always)]
pub fn text(avp: AvpRef<'_>) -> &str {
    read_text(&avp)
}

/// Reads OctetString data.
#[inline(always)]
pub fn octets(avp: AvpRef<'_>) -> &[u8] {
    avp.data
}

/// A view's `Debug`: as its owned struct prints, or `Name(undecodable: error)`.
pub fn debug<T: std::fmt::Debug>(
    owned: Result<T, DecodeError>,
    name: &str,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    match owned {
        Ok(s) => std::fmt::Debug::fmt(&s, f),
        Err(e) => write!(f, "{name}(undecodable: {e})"),
    }
}

/// The AVP recorded at `at` within `root[..end]`, if any.
#[inline(always)]
pub fn get<'a>(root: &'a Bytes, at: u32, end: u32) -> Option<AvpRef<'a>> {
    if at == ABSENT {
        return None;
    }
    AvpIter::within(root, at as usize, end as usize).next_framed()
}

/// The AVP recorded at `at` for a member that is always present once checked; an empty
/// AVP (which reads as the type's default) if it is not.
#[inline(always)]
pub fn get_required<'a>(root: &'a Bytes, at: u32, end: u32) -> AvpRef<'a> {
    get(root, at, end).unwrap_or_else(|| AvpRef::detached(0, crate::AvpFlags(0), 0, empty()))
}

fn empty() -> &'static Bytes {
    static EMPTY: Bytes = Bytes::from_static(&[]);
    &EMPTY
}

/// The occurrences of a repeated member, in message order, read as `T`.
pub struct Members<'a, T> {
    iter: AvpIter<'a>,
    left: u32,
    code: u32,
    vendor: u32,
    read: fn(AvpRef<'a>) -> T,
}

impl<'a, T> Members<'a, T> {
    /// `count` occurrences of (`code`, `vendor`) from `first` on within `root[..end]`.
    #[inline]
    pub fn new(
        root: &'a Bytes,
        first: u32,
        end: u32,
        count: u32,
        code: u32,
        vendor: u32,
        read: fn(AvpRef<'a>) -> T,
    ) -> Self {
        let (first, count) = if first == ABSENT {
            (end, 0)
        } else {
            (first, count)
        };
        Self {
            iter: AvpIter::within(root, first as usize, end as usize),
            left: count,
            code,
            vendor,
            read,
        }
    }
}

impl<T> Iterator for Members<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        while let Some(avp) = self.iter.next_framed() {
            if avp.code == self.code && avp.vendor == self.vendor {
                self.left -= 1;
                return Some((self.read)(avp));
            }
        }
        self.left = 0;
        None
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<T> ExactSizeIterator for Members<'_, T> {}

/// The AVPs of a view that its ABNF does not name (the `*[ AVP ]` slot, or unexpected
/// ones), in message order, as received.
pub struct Extra<'a> {
    iter: AvpIter<'a>,
    left: u32,
    step: ProbeFn<'a>,
}

impl<'a> Extra<'a> {
    /// The `count` AVPs of `root[start..end]` that the view's `step` does not name.
    #[inline]
    pub fn new(root: &'a Bytes, start: u32, end: u32, count: u32, step: ProbeFn<'a>) -> Self {
        Self {
            iter: AvpIter::within(root, start as usize, end as usize),
            left: count,
            step,
        }
    }
}

impl<'a> Iterator for Extra<'a> {
    type Item = AvpRef<'a>;

    fn next(&mut self) -> Option<AvpRef<'a>> {
        if self.left == 0 {
            return None;
        }
        while let Some(avp) = self.iter.next_framed() {
            let mut probe = Probe::default();
            // A probe checks nothing and never fails.
            let _ = (self.step)(&mut probe, &avp);
            if probe.extra {
                self.left -= 1;
                return Some(avp);
            }
        }
        self.left = 0;
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for Extra<'_> {}

#[cfg(test)]
mod tests {
    use super::is_utf8;

    #[test]
    fn is_utf8_agrees_with_std() {
        let cases: [&[u8]; 9] = [
            b"",
            b"a",
            b"pgw01.epc.mnc001.mcc262.3gppnetwork.org",
            "h\u{e9}llo w\u{f6}rld, long enough for chunks".as_bytes(),
            &[0xff],
            &[b'a', b'b', b'c', b'd', b'e', b'f', b'g', 0xc3],
            &[0xc3, 0xa9],
            &[0xe2, 0x82],
            &[b'x'; 17],
        ];
        for c in cases {
            assert_eq!(is_utf8(c), std::str::from_utf8(c).is_ok(), "{c:?}");
        }
    }
}
