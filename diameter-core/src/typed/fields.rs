//! One walk over the fields of a generated owned struct (a Grouped AVP's or a command's),
//! shared by encoding, `Debug` and `PartialEq`.
//!
//! Generated code writes each member once, in [`Fields::fields`], with everything each use
//! needs (its field name, and its code, vendor and default flags); [`put_fields`] encodes,
//! [`debug_fields`] formats and [`eq_fields`] compares. Each call only asks `T: AvpData`,
//! which implies `Debug`, `PartialEq` and `'static` ([`AvpData`]'s supertraits), so no use
//! adds a bound per member to what encoding already checks. An encoder, a derived `Debug`
//! and a derived `PartialEq` were three bodies with a call per member each; the one walk
//! takes fewer instructions to check every dictionary (BENCHMARKS.md, "Generated code: one
//! walk for encoding and Debug" and "... for PartialEq").

use std::any::Any;
use std::fmt;

use bytes::BytesMut;

use crate::avp::RawAvp;
use crate::data::AvpData;

use super::{FlagOverrides, put_all, put_extra, put_one, put_opt};

/// A generated owned struct whose fields can be walked (see the module doc).
pub trait Fields {
    /// Calls `v` once per field: [`FieldVisitor::flags`] with the received flags first
    /// (encoding needs them before any member), then each member in ABNF order (so in
    /// encoding order), [`FieldVisitor::extra`] where the ABNF has `*[ AVP ]`, and
    /// [`FieldVisitor::other`] for the fields that are not members (a command's `header`
    /// first, `extra` last; `Debug` shows `avp_flags` after them, in declaration order).
    /// Every field is given as borrowed for `'s`, which lets a visitor keep them (as
    /// [`eq_fields`] does to compare two structs).
    fn fields<'s, V: FieldVisitor<'s>>(&'s self, v: &mut V);
}

/// What [`Fields::fields`] calls: one method per kind of field.
pub trait FieldVisitor<'s> {
    /// The struct's `avp_flags`: received flags that differ from the dictionary's.
    fn flags(&mut self, v: &'s FlagOverrides);
    /// A single member (`< X >`, `{ X }`).
    fn one<T: AvpData>(&mut self, name: &'static str, v: &'s T, code: u32, vendor: u32, flags: u8);
    /// An optional member (`[ X ]`).
    fn opt<T: AvpData>(
        &mut self,
        name: &'static str,
        v: &'s Option<T>,
        code: u32,
        vendor: u32,
        flags: u8,
    );
    /// A repeated member (`*[ X ]`, `1*{ X }`, ...). The `Vec` itself (not a slice) so
    /// that a visitor can keep it as `&dyn Any`, which needs a sized type.
    #[allow(clippy::ptr_arg)]
    fn all<T: AvpData>(
        &mut self,
        name: &'static str,
        v: &'s Vec<T>,
        code: u32,
        vendor: u32,
        flags: u8,
    );
    /// The AVPs outside the ABNF, at the place they are encoded.
    fn extra(&mut self, v: &'s [RawAvp]);
    /// A field that is not a member: shown and compared, never encoded.
    fn other<T: fmt::Debug + PartialEq + 'static>(&mut self, name: &'static str, v: &'s T);
}

/// Encodes the members, with the received flags in `overrides` (the struct's
/// `avp_flags`, given first by the walk).
struct Put<'a, 's> {
    buf: &'a mut BytesMut,
    overrides: &'s FlagOverrides,
}

/// What `Put` encodes with until the walk gives the struct's own flags.
static NO_OVERRIDES: FlagOverrides = FlagOverrides::new();

impl<'s> FieldVisitor<'s> for Put<'_, 's> {
    #[inline(always)]
    fn flags(&mut self, v: &'s FlagOverrides) {
        self.overrides = v;
    }
    #[inline(always)]
    fn one<T: AvpData>(&mut self, _: &'static str, v: &'s T, code: u32, vendor: u32, flags: u8) {
        put_one(v, self.buf, self.overrides, code, vendor, flags);
    }
    #[inline(always)]
    fn opt<T: AvpData>(
        &mut self,
        _: &'static str,
        v: &'s Option<T>,
        code: u32,
        vendor: u32,
        flags: u8,
    ) {
        put_opt(v, self.buf, self.overrides, code, vendor, flags);
    }
    #[inline(always)]
    fn all<T: AvpData>(
        &mut self,
        _: &'static str,
        v: &'s Vec<T>,
        code: u32,
        vendor: u32,
        flags: u8,
    ) {
        put_all(v, self.buf, self.overrides, code, vendor, flags);
    }
    #[inline(always)]
    fn extra(&mut self, v: &'s [RawAvp]) {
        put_extra(v, self.buf);
    }
    #[inline(always)]
    fn other<T: fmt::Debug + PartialEq + 'static>(&mut self, _: &'static str, _: &'s T) {}
}

/// A generated owned struct's encoder: its members into `buf`, in walk order, with the
/// received flags the struct keeps (`avp_flags`).
#[inline(always)]
pub fn put_fields<T: Fields>(t: &T, buf: &mut BytesMut) {
    t.fields(&mut Put {
        buf,
        overrides: &NO_OVERRIDES,
    });
}

/// Formats as `derive(Debug)` would: `Name { field: value, .. }` in declaration order
/// (`avp_flags`, the last field, once the walk is done).
struct Show<'a, 'b, 's> {
    out: fmt::DebugStruct<'a, 'b>,
    flags: Option<&'s FlagOverrides>,
}

impl<'s> FieldVisitor<'s> for Show<'_, '_, 's> {
    fn flags(&mut self, v: &'s FlagOverrides) {
        self.flags = Some(v);
    }
    fn one<T: AvpData>(&mut self, name: &'static str, v: &'s T, _: u32, _: u32, _: u8) {
        self.out.field(name, v);
    }
    fn opt<T: AvpData>(&mut self, name: &'static str, v: &'s Option<T>, _: u32, _: u32, _: u8) {
        self.out.field(name, v);
    }
    fn all<T: AvpData>(&mut self, name: &'static str, v: &'s Vec<T>, _: u32, _: u32, _: u8) {
        self.out.field(name, v);
    }
    fn extra(&mut self, _: &'s [RawAvp]) {}
    fn other<T: fmt::Debug + PartialEq + 'static>(&mut self, name: &'static str, v: &'s T) {
        self.out.field(name, v);
    }
}

/// A generated owned struct's `Debug`: the form `derive(Debug)` writes.
pub fn debug_fields<T: Fields>(t: &T, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut show = Show {
        out: f.debug_struct(name),
        flags: None,
    };
    t.fields(&mut show);
    if let Some(flags) = show.flags {
        show.out.field("avp_flags", flags);
    }
    show.out.finish()
}

/// Keeps every field of one struct, in walk order, to compare another with.
struct Keep<'s>(Vec<&'s dyn Any>);

impl<'s> FieldVisitor<'s> for Keep<'s> {
    fn flags(&mut self, v: &'s FlagOverrides) {
        self.0.push(v);
    }
    fn one<T: AvpData>(&mut self, _: &'static str, v: &'s T, _: u32, _: u32, _: u8) {
        self.0.push(v);
    }
    fn opt<T: AvpData>(&mut self, _: &'static str, v: &'s Option<T>, _: u32, _: u32, _: u8) {
        self.0.push(v);
    }
    fn all<T: AvpData>(&mut self, _: &'static str, v: &'s Vec<T>, _: u32, _: u32, _: u8) {
        self.0.push(v);
    }
    // `extra` is compared where it is walked as a field (`other`).
    fn extra(&mut self, _: &'s [RawAvp]) {}
    fn other<T: fmt::Debug + PartialEq + 'static>(&mut self, _: &'static str, v: &'s T) {
        self.0.push(v);
    }
}

/// Compares each field of a struct with the one [`Keep`] kept at the same place of the
/// other struct's walk. Both walks are of the same type, so the kept field has the same
/// type; a downcast that failed anyway would compare unequal, never panic.
struct Compare<'k, 's> {
    theirs: std::slice::Iter<'k, &'s dyn Any>,
    equal: bool,
}

impl Compare<'_, '_> {
    fn field<T: PartialEq + 'static>(&mut self, v: &T) {
        if self.equal {
            self.equal = self.theirs.next().and_then(|t| t.downcast_ref::<T>()) == Some(v);
        }
    }
}

impl<'s> FieldVisitor<'s> for Compare<'_, '_> {
    fn flags(&mut self, v: &'s FlagOverrides) {
        self.field(v);
    }
    fn one<T: AvpData>(&mut self, _: &'static str, v: &'s T, _: u32, _: u32, _: u8) {
        self.field(v);
    }
    fn opt<T: AvpData>(&mut self, _: &'static str, v: &'s Option<T>, _: u32, _: u32, _: u8) {
        self.field(v);
    }
    fn all<T: AvpData>(&mut self, _: &'static str, v: &'s Vec<T>, _: u32, _: u32, _: u8) {
        self.field(v);
    }
    fn extra(&mut self, _: &'s [RawAvp]) {}
    fn other<T: fmt::Debug + PartialEq + 'static>(&mut self, _: &'static str, v: &'s T) {
        self.field(v);
    }
}

/// A generated owned struct's `PartialEq`: true when every field equals the other
/// struct's, as `derive(PartialEq)` compares (so a NaN member is unequal to itself).
///
/// One walk keeps `b`'s fields (a `Vec` of references: comparing is not a hot path, and a
/// `PartialEq` body per type with a comparison per member cost 3 % of checking every
/// dictionary); a second walk compares `a`'s with them in order.
pub fn eq_fields<T: Fields>(a: &T, b: &T) -> bool {
    let mut kept = Keep(Vec::new());
    b.fields(&mut kept);
    let mut cmp = Compare {
        theirs: kept.0.iter(),
        equal: true,
    };
    a.fields(&mut cmp);
    cmp.equal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a generated struct, written by hand: a command's `header`, members of
    /// each kind, `*[ AVP ]` between them.
    #[derive(Default)]
    struct Sample {
        header: u8,
        a: u32,
        b: Option<u32>,
        c: Vec<u32>,
        extra: Vec<RawAvp>,
        avp_flags: FlagOverrides,
    }

    impl Fields for Sample {
        fn fields<'s, V: FieldVisitor<'s>>(&'s self, v: &mut V) {
            v.flags(&self.avp_flags);
            v.other("header", &self.header);
            v.one("a", &self.a, 1, 0, 64);
            v.extra(&self.extra);
            v.opt("b", &self.b, 2, 0, 64);
            v.all("c", &self.c, 3, 10415, 128);
            v.other("extra", &self.extra);
        }
    }

    /// The same fields with the derive, to compare the text with.
    #[derive(Debug)]
    #[allow(dead_code)] // read only by `Debug`
    struct Derived {
        header: u8,
        a: u32,
        b: Option<u32>,
        c: Vec<u32>,
        extra: Vec<RawAvp>,
        avp_flags: FlagOverrides,
    }

    struct Shown<'a>(&'a Sample);

    impl fmt::Debug for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            debug_fields(self.0, "Derived", f)
        }
    }

    fn raw() -> RawAvp {
        RawAvp {
            code: 99,
            flags: crate::avp::AvpFlags(0),
            vendor: 0,
            data: bytes::Bytes::from_static(&[1]),
        }
    }

    /// A sample with every kind of field set.
    fn sample() -> Sample {
        Sample {
            header: 7,
            a: 1,
            b: Some(2),
            c: vec![3, 4],
            extra: vec![raw()],
            ..Sample::default()
        }
    }

    #[test]
    fn debug_is_the_derived_text() {
        let s = sample();
        let d = Derived {
            header: 7,
            a: 1,
            b: Some(2),
            c: vec![3, 4],
            extra: vec![raw()],
            avp_flags: FlagOverrides::default(),
        };
        assert_eq!(format!("{:?}", Shown(&s)), format!("{d:?}"));
        assert_eq!(format!("{:#?}", Shown(&s)), format!("{d:#?}"));
    }

    #[test]
    fn eq_compares_every_field_as_the_derive_does() {
        let s = sample();
        assert!(eq_fields(&s, &s));
        let mut flags = FlagOverrides::default();
        flags.set(
            crate::AvpKey { code: 1, vendor: 0 },
            0,
            crate::avp::AvpFlags(0),
        );
        let changes: [fn(&mut Sample); 6] = [
            |t| t.header = 8,
            |t| t.a = 9,
            |t| t.b = None,
            |t| t.c.truncate(1),
            |t| t.extra.clear(),
            |t| t.avp_flags = FlagOverrides::default(),
        ];
        let base = Sample {
            avp_flags: flags,
            ..s
        };
        for (i, change) in changes.iter().enumerate() {
            let mut other = Sample {
                c: base.c.clone(),
                extra: base.extra.clone(),
                avp_flags: base.avp_flags.clone(),
                ..base
            };
            assert!(eq_fields(&base, &other), "copy {i}");
            change(&mut other);
            assert!(!eq_fields(&base, &other), "change {i}");
            assert!(!eq_fields(&other, &base), "change {i}, swapped");
        }
    }

    #[test]
    fn eq_of_a_nan_member_is_false_as_derived() {
        struct F(Option<f32>, Vec<RawAvp>, FlagOverrides);
        impl Fields for F {
            fn fields<'s, V: FieldVisitor<'s>>(&'s self, v: &mut V) {
                v.flags(&self.2);
                v.opt("f", &self.0, 1, 0, 64);
                v.other("extra", &self.1);
            }
        }
        let nan = F(Some(f32::NAN), Vec::new(), FlagOverrides::default());
        assert!(!eq_fields(&nan, &nan));
        let one = F(Some(1.0), Vec::new(), FlagOverrides::default());
        assert!(eq_fields(&one, &one));
    }

    #[test]
    fn put_writes_members_in_walk_order_with_extra_in_place() {
        let s = Sample {
            a: 1,
            b: Some(2),
            c: vec![3],
            extra: vec![raw()],
            ..Sample::default()
        };
        let mut buf = BytesMut::new();
        put_fields(&s, &mut buf);
        let bytes = buf.freeze();
        let codes: Vec<u32> = crate::avp::AvpIter::new(&bytes)
            .map(|a| a.unwrap().code)
            .collect();
        assert_eq!(codes, [1, 99, 2, 3]);
    }
}
