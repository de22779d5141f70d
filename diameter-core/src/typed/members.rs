//! Owned decoding through the view's walk: a generated struct's decoding runs its view's
//! `step` (the one generated `match` that tells which ABNF member an AVP is) with the
//! [`Fill`] tracker, which decodes the AVP into the member's field. The struct only says
//! which field is member `i` ([`Members::split`]); the loop, the bookkeeping and the
//! decoding of each field are written once here.
//!
//! Why: a second generated `match` per type, one call per member, was about 5 % of
//! `cargo check` with every dictionary on (issue 11). The field comes back as
//! `&mut dyn Member`; once `split` and `step` are inlined into the walk, the member index
//! is a constant in each arm, so the field's type is known and the call is direct (the
//! typed decoding of a CCR takes the instructions it took before; BENCHMARKS.md).

use crate::avp::{AvpIter, AvpRef, RawAvp};
use crate::data::{AvpData, DecodeCx};
use crate::error::DecodeError;
use crate::message::Message;
use crate::view::{Check, Step, Tracker};

use super::{FlagOverrides, Grouped, Required, Walk, finish, many, one, opt, other, within};

/// A field of a generated struct that holds an ABNF member: `T` for `{ x }` and `< x >`
/// ([`one`]), `Option<T>` for `[ x ]` ([`opt`]), `Vec<T>` for repeated ones ([`many`]).
pub trait Member {
    /// Decodes `avp`, member `index` of the walk `w` with default flags `flags` and at most
    /// `max` occurrences, into the field.
    fn take(
        &mut self,
        avp: &AvpRef<'_>,
        w: &mut Walk<'_>,
        index: usize,
        flags: u8,
        max: u32,
    ) -> Result<(), DecodeError>;
}

impl<T: AvpData> Member for T {
    #[inline(always)]
    fn take(
        &mut self,
        avp: &AvpRef<'_>,
        w: &mut Walk<'_>,
        index: usize,
        flags: u8,
        _: u32,
    ) -> Result<(), DecodeError> {
        one(self, avp, w, index, flags)
    }
}

impl<T: AvpData> Member for Option<T> {
    #[inline(always)]
    fn take(
        &mut self,
        avp: &AvpRef<'_>,
        w: &mut Walk<'_>,
        _: usize,
        flags: u8,
        _: u32,
    ) -> Result<(), DecodeError> {
        opt(self, avp, w, flags)
    }
}

impl<T: AvpData + Default> Member for Vec<T> {
    #[inline(always)]
    fn take(
        &mut self,
        avp: &AvpRef<'_>,
        w: &mut Walk<'_>,
        index: usize,
        flags: u8,
        max: u32,
    ) -> Result<(), DecodeError> {
        many(self, avp, w, index, flags, max)
    }
}

/// A generated struct borrowed for one AVP of its decoding: member `index`'s field with
/// its default flags (`None` for no member), and the fields every member's decoding writes
/// to besides its own.
pub struct Split<'s> {
    /// The member's field and its AVP's default flags.
    pub member: Option<(&'s mut dyn Member, u8)>,
    /// The struct's `extra`.
    pub extra: &'s mut Vec<RawAvp>,
    /// The struct's `avp_flags`.
    pub flags: &'s mut FlagOverrides,
}

/// A generated struct's fields by member index (ABNF order, the index its view's `step`
/// gives): written as one `match` of field borrows, no call per member.
pub trait Members {
    /// The struct's fields for member `index`.
    fn split(&mut self, index: usize) -> Split<'_>;
}

/// The tracker of owned decoding: each AVP the view's `step` names goes to its field, any
/// other to `extra` ([`other`]). Built for one AVP.
struct Fill<'s, 'c, 'r, 'a, S> {
    this: &'s mut S,
    cx: DecodeCx,
    count: &'c mut [u32],
    avp: &'r AvpRef<'a>,
}

impl<S: Members> Fill<'_, '_, '_, '_, S> {
    #[inline(always)]
    fn take(&mut self, index: usize, max: u32) -> Result<(), DecodeError> {
        let s = self.this.split(index);
        let mut w = Walk {
            cx: self.cx,
            count: self.count,
            extra: s.extra,
            flags: s.flags,
        };
        match s.member {
            Some((field, flags)) => field.take(self.avp, &mut w, index, flags, max),
            None => other(self.avp, &mut w),
        }
    }
}

impl<'a, S: Members> Tracker<'a> for Fill<'_, '_, '_, 'a, S> {
    #[inline(always)]
    fn one<C: Check<'a>>(&mut self, slot: usize, _: &AvpRef<'a>) -> Result<(), DecodeError> {
        self.take(slot, u32::MAX)
    }
    #[inline(always)]
    fn many<C: Check<'a>>(
        &mut self,
        slot: usize,
        _: usize,
        max: u32,
        _: &AvpRef<'a>,
    ) -> Result<(), DecodeError> {
        self.take(slot, max)
    }
    #[inline(always)]
    fn any<C: Check<'a>>(
        &mut self,
        slot: usize,
        _: usize,
        _: &AvpRef<'a>,
    ) -> Result<(), DecodeError> {
        self.take(slot, u32::MAX)
    }
    #[inline(always)]
    fn extra(&mut self) -> Result<(), DecodeError> {
        self.take(usize::MAX, u32::MAX)
    }
    fn missing(&self, _: &[Required], _: usize) -> Result<(), DecodeError> {
        // Checked by `finish` after the walk, from the occurrence counts.
        Ok(())
    }
}

/// Decodes `avps` into `this` with view `V`'s step, then reports the first required member
/// missing (at `end`). `count` has a zero per member.
#[inline(always)]
fn walk<'a, V: Step<'a>, S: Members>(
    this: &mut S,
    mut avps: AvpIter<'a>,
    cx: DecodeCx,
    count: &mut [u32],
    required: &[Required],
    end: usize,
) -> Result<(), DecodeError> {
    while let Some(avp) = avps.next_framed() {
        let mut t = Fill {
            this: &mut *this,
            cx,
            count: &mut *count,
            avp: &avp,
        };
        V::step(&mut t, &avp)?;
    }
    avps.finish()?;
    finish(count, cx, required, end)
}

/// A Grouped struct's `decode_members`: its `N` members from the children of `parent`,
/// with its view `V`'s step; errors are reported within the AVP.
#[inline(always)]
pub fn decode_group<'a, V: Step<'a>, S: Grouped + Members, const N: usize>(
    this: &mut S,
    parent: &AvpRef<'a>,
    cx: DecodeCx,
) -> Result<(), DecodeError> {
    let cx = cx.enter(parent)?;
    let mut count = [0u32; N];
    let r = walk::<V, S>(
        this,
        parent.children(),
        cx,
        &mut count,
        S::REQUIRED,
        parent.offset,
    );
    within(r, S::KEY)
}

/// A command's `decode_avps`: its `N` members from the AVPs of `msg`, with its view `V`'s
/// step; a missing required member (`required`) is reported at the message's end.
#[inline(always)]
pub fn decode_command<'a, V: Step<'a>, S: Members, const N: usize>(
    this: &mut S,
    msg: &'a Message,
    cx: DecodeCx,
    required: &[Required],
) -> Result<(), DecodeError> {
    let mut count = [0u32; N];
    walk::<V, S>(
        this,
        msg.avps(),
        cx,
        &mut count,
        required,
        msg.header().length as usize,
    )
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes, BytesMut};

    use super::*;
    use crate::avp::{AvpFlags, put_avp_with};
    use crate::error::ErrorKind;
    use crate::view::Value;

    /// The shape of a generated struct, written by hand: a required member, an optional one
    /// and one repeated at most twice.
    #[derive(Default, Debug, PartialEq)]
    struct Sample {
        a: u32,
        b: Option<u32>,
        c: Vec<u32>,
        extra: Vec<RawAvp>,
        avp_flags: FlagOverrides,
    }

    impl Members for Sample {
        fn split(&mut self, i: usize) -> Split<'_> {
            Split {
                member: match i {
                    0 => Some((&mut self.a, 64)),
                    1 => Some((&mut self.b, 64)),
                    2 => Some((&mut self.c, 0)),
                    _ => None,
                },
                extra: &mut self.extra,
                flags: &mut self.avp_flags,
            }
        }
    }

    /// Its view's step, as generated: codes 1, 2 and 3 of vendor 0.
    struct SampleStep;

    impl<'a> Step<'a> for SampleStep {
        fn step<T: Tracker<'a>>(t: &mut T, avp: &AvpRef<'a>) -> Result<(), DecodeError> {
            match (avp.code, avp.vendor) {
                (1, 0) => t.one::<Value<u32>>(0, avp),
                (2, 0) => t.one::<Value<u32>>(1, avp),
                (3, 0) => t.many::<Value<u32>>(2, 0, 2, avp),
                _ => t.extra(),
            }
        }
    }

    const REQUIRED: &[Required] = &[Required::new(
        0,
        super::super::SINGLE,
        1,
        1,
        0,
        64,
        crate::dictionary::AvpType::Unsigned32,
    )];

    fn avps(list: &[(u32, u8, u32)]) -> Bytes {
        let mut b = BytesMut::new();
        for &(code, flags, v) in list {
            put_avp_with(&mut b, code, AvpFlags(flags), 0, |b| b.put_u32(v));
        }
        b.freeze()
    }

    fn decode(bytes: &Bytes) -> Result<Sample, DecodeError> {
        let mut s = Sample::default();
        let mut count = [0u32; 3];
        walk::<SampleStep, Sample>(
            &mut s,
            AvpIter::within(bytes, 0, bytes.len()),
            DecodeCx::default(),
            &mut count,
            REQUIRED,
            bytes.len(),
        )?;
        Ok(s)
    }

    #[test]
    fn each_avp_goes_to_the_field_its_step_names() {
        let s = decode(&avps(&[
            (3, 0, 30),
            (1, 64, 10),
            (9, 0, 90),
            (3, 0, 31),
            (2, 64, 20),
        ]))
        .unwrap();
        assert_eq!((s.a, s.b, s.c.as_slice()), (10, Some(20), &[30, 31][..]));
        assert_eq!(s.extra.len(), 1, "the AVP no member names is kept in extra");
        assert_eq!(s.extra[0].code, 9);
        assert!(s.avp_flags.is_empty(), "every member had its default flags");
    }

    #[test]
    fn received_flags_that_differ_are_recorded() {
        let s = decode(&avps(&[(1, 0, 10)])).unwrap();
        assert!(
            !s.avp_flags.is_empty(),
            "a required member without its M bit"
        );
    }

    #[test]
    fn the_walk_gives_the_errors_of_the_helpers() {
        // A second single member: 5009, reported at the second one.
        let bytes = avps(&[(1, 64, 10), (2, 64, 20), (2, 64, 21)]);
        let e = decode(&bytes).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::TooManyAvps(_)), "{e:?}");
        assert_eq!(e.offset, 24);
        // A repeated member over its bound (2): 5009 at the third.
        let e = decode(&avps(&[(1, 64, 1), (3, 0, 1), (3, 0, 2), (3, 0, 3)])).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::TooManyAvps(_)), "{e:?}");
        assert_eq!(e.offset, 36);
        // A required member missing: 5005 at the end.
        let bytes = avps(&[(2, 64, 20)]);
        let e = decode(&bytes).unwrap_err();
        assert_eq!(e.result_code(), 5005, "{e:?}");
        assert_eq!(e.offset, bytes.len());
    }
}
