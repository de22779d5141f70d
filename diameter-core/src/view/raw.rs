//! [`Raw`]: what every generated view keeps (where its AVP or message is, and where each of
//! its members first occurs), and the readers its accessors call.
//!
//! Why one generic type rather than the same fields in each view: each accessor is then a
//! single method call with a member index, `self.raw.opt_value::<u32>(1)`. There are
//! about 7,600 accessors with every dictionary on; written as a call of [`super::opt`]
//! with the fields and a reader function they cost about a third more to type-check and
//! borrow-check (`cargo check`, BENCHMARKS.md, "Generated code: accessors through Raw").
//! Every method here is inlined, so the machine code is what the fields gave.

use bytes::Bytes;

use super::{ABSENT, Extra, GroupView, Index, Members, Step, get, get_required};
use super::{enumerated, octets, read_group, text, value};
use crate::avp::{AvpIter, AvpRef};
use crate::data::{AvpData, DecodeCx};

/// The three readers of one kind of value, each reading with `$read`: `one_…` (a member
/// always present once checked), `opt_…` (an optional member) and `many_…` (a repeated
/// member).
macro_rules! readers {
    ($($what:literal: $one:ident, $opt:ident, $many:ident $([$($g:tt)*])? -> $out:ty = $read:expr;)*) => {$(
        #[doc = concat!("Member `i`, always present once checked: ", $what, ".")]
        #[inline(always)]
        pub fn $one $(<$($g)*>)? (&self, i: usize) -> $out {
            self.one(i, $read)
        }

        #[doc = concat!("Optional member `i`: ", $what, ".")]
        #[inline(always)]
        pub fn $opt $(<$($g)*>)? (&self, i: usize) -> Option<$out> {
            self.opt(i, $read)
        }

        #[doc = concat!(
            "Repeated member `i` (the `rep`th repeated one), AVP (`code`, `vendor`): each ",
            $what, "."
        )]
        #[inline(always)]
        pub fn $many $(<$($g)*>)? (&self, i: usize, rep: usize, code: u32, vendor: u32)
            -> Members<'a, $out> {
            self.many((i, rep), (code, vendor), $read)
        }
    )*};
}

/// A view's index of one Grouped AVP (or message) with `N` ABNF members, `R` of them
/// repeated.
#[derive(Clone, Copy)]
pub struct Raw<'a, const N: usize, const R: usize> {
    root: &'a Bytes,
    /// Offset of the AVP's header (0 for a message).
    at: u32,
    /// The members: `root[start..end]`.
    start: u32,
    end: u32,
    /// Offset of each member's first occurrence ([`ABSENT`] if none), ABNF order.
    first: [u32; N],
    /// Occurrences of each repeated member.
    count: [u32; R],
    /// AVPs outside the ABNF.
    extra: u32,
}

impl<'a, const N: usize, const R: usize> Raw<'a, N, R> {
    /// The index of a Grouped AVP, nothing recorded yet.
    #[inline(always)]
    pub fn group(avp: &AvpRef<'a>) -> Self {
        Self {
            root: avp.root(),
            at: avp.offset as u32,
            start: avp.data_offset as u32,
            end: (avp.data_offset + avp.data.len()) as u32,
            first: [ABSENT; N],
            count: [0; R],
            extra: 0,
        }
    }

    /// The index of a message held whole in `root`, nothing recorded yet.
    #[inline(always)]
    pub fn message(root: &'a Bytes) -> Self {
        Self {
            root,
            at: 0,
            start: crate::header::HEADER_LEN as u32,
            end: root.len() as u32,
            first: [ABSENT; N],
            count: [0; R],
            extra: 0,
        }
    }

    /// Its index arrays, as [`GroupView::slots`] gives them.
    #[inline(always)]
    pub fn slots(&mut self) -> (&mut [u32], &mut [u32], &mut u32) {
        (&mut self.first, &mut self.count, &mut self.extra)
    }

    /// The tracker recording into it (checking values too with `deep`).
    #[inline(always)]
    pub fn index(&mut self, cx: DecodeCx, deep: bool) -> Index<'_> {
        let (first, count, extra) = self.slots();
        Index {
            first,
            count,
            extra,
            cx,
            deep,
        }
    }

    /// The members' AVPs, to walk.
    #[inline(always)]
    pub fn members(&self) -> AvpIter<'a> {
        AvpIter::within(self.root, self.start as usize, self.end as usize)
    }

    /// The bytes the view reads (the whole message, for any view).
    #[inline(always)]
    pub fn root(&self) -> &'a Bytes {
        self.root
    }

    /// The Grouped AVP as received.
    #[inline]
    pub fn avp(&self) -> AvpRef<'a> {
        get_required(self.root, self.at, self.root.len() as u32)
    }

    /// The AVPs that view `V`'s ABNF does not name, as received.
    #[inline]
    pub fn extra<V: Step<'a>>(&self) -> Extra<'a> {
        Extra::new(self.root, self.start, self.end, self.extra, V::step)
    }

    #[inline(always)]
    fn one<T>(&self, i: usize, read: fn(AvpRef<'a>) -> T) -> T {
        read(get_required(self.root, self.first[i], self.end))
    }

    #[inline(always)]
    fn opt<T>(&self, i: usize, read: fn(AvpRef<'a>) -> T) -> Option<T> {
        get(self.root, self.first[i], self.end).map(read)
    }

    #[inline(always)]
    fn many<T>(
        &self,
        (i, rep): (usize, usize),
        (code, vendor): (u32, u32),
        read: fn(AvpRef<'a>) -> T,
    ) -> Members<'a, T> {
        let (first, count) = (self.first[i], self.count[rep]);
        Members::new(self.root, first, self.end, count, code, vendor, read)
    }

    readers! {
        "a number, address, time or URI":
            one_value, opt_value, many_value [T: AvpData + Default] -> T = value::<T>;
        "text": one_text, opt_text, many_text -> &'a str = text;
        "OctetString data": one_octets, opt_octets, many_octets -> &'a [u8] = octets;
        "an Enumerated value": one_enum, opt_enum, many_enum [T: From<i32>] -> T = enumerated::<T>;
        "a Grouped AVP, as its view":
            one_group, opt_group, many_group [V: GroupView<'a>] -> V = read_group::<V>;
    }
}
