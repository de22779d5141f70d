//! The first problem met while writing a message's or a Grouped AVP's members, kept as a
//! `Copy` record until `finish` turns it into a [`WriteError`].
//!
//! Why not keep the [`WriteError`] itself: a writer that owns a value needing a drop (the
//! error's `Vec` path) has that drop called through a pointer to it, and a writer whose
//! address reaches a call is kept in memory: its member bits would then be loaded and
//! stored for every AVP written instead of living in registers (callgrind: +29 %
//! instructions to write a CCR). A `Copy` record has no drop, and the error paths take
//! and return it by value.

use super::WriteError;
use crate::avp::AvpKey;

/// How many Grouped AVPs of a problem's path are kept (each move of the record copies them,
/// once per Grouped AVP written: 8 bytes each). Dictionaries nest Grouped AVPs a
/// few levels deep (6 in the deepest real messages); a deeper path keeps its outermost
/// levels.
const MAX_WITHIN: usize = 6;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Missing,
    TooMany,
    TooLong { length: usize },
}

/// A problem with one AVP and the Grouped AVPs it lies in.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fail {
    kind: Kind,
    avp: AvpKey,
    /// The Grouped AVPs holding it, outermost first: `within[..depth]`.
    within: [AvpKey; MAX_WITHIN],
    depth: u8,
}

impl Fail {
    fn new(kind: Kind, avp: AvpKey) -> Self {
        Self {
            kind,
            avp,
            within: [AvpKey::new(0, 0); MAX_WITHIN],
            depth: 0,
        }
    }

    /// A required member not set.
    pub(super) fn missing(avp: AvpKey) -> Self {
        Self::new(Kind::Missing, avp)
    }

    /// A single member set more than once.
    pub(super) fn too_many(avp: AvpKey) -> Self {
        Self::new(Kind::TooMany, avp)
    }

    /// An AVP of `length` bytes (header included) that its 24-bit AVP Length cannot say.
    pub(super) fn too_long(avp: AvpKey, length: usize) -> Self {
        Self::new(Kind::TooLong { length }, avp)
    }

    /// The same problem, seen from the Grouped AVP `key` that holds it.
    pub(super) fn inside(mut self, key: AvpKey) -> Self {
        let n = usize::from(self.depth).min(MAX_WITHIN - 1);
        self.within.copy_within(0..n, 1);
        self.within[0] = key;
        self.depth = (n + 1) as u8;
        self
    }

    /// The error `finish` reports.
    pub(super) fn into_error(self) -> WriteError {
        let within = self.within[..usize::from(self.depth)].to_vec();
        match self.kind {
            Kind::Missing => WriteError::MissingAvp {
                avp: self.avp,
                within,
            },
            Kind::TooMany => WriteError::TooManyAvps {
                avp: self.avp,
                within,
            },
            Kind::TooLong { length } => WriteError::AvpTooLong {
                avp: self.avp,
                length,
                within,
            },
        }
    }
}

/// The problem of members `seen` (bits of `members`) with `dup` set twice, if any: a member
/// set twice first, else a required one missing.
pub(super) fn members_fail(members: &[AvpKey], required: u64, seen: u64, dup: u64) -> Option<Fail> {
    let key = |bits: u64| {
        members
            .get(bits.trailing_zeros() as usize)
            .copied()
            .unwrap_or(AvpKey::new(0, 0))
    };
    if dup != 0 {
        return Some(Fail::too_many(key(dup)));
    }
    let missing = required & !seen;
    (missing != 0).then(|| Fail::missing(key(missing)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_outermost_first_and_bounded() {
        let k = |c| AvpKey::new(c, 0);
        let e = Fail::missing(k(1)).inside(k(2)).inside(k(3)).into_error();
        assert_eq!(
            e,
            WriteError::MissingAvp {
                avp: k(1),
                within: vec![k(3), k(2)]
            }
        );
        let mut f = Fail::too_long(k(1), 1 << 24);
        for c in 0..40 {
            f = f.inside(k(100 + c));
        }
        let within = f.into_error().within().to_vec();
        assert_eq!(within.len(), MAX_WITHIN);
        assert_eq!(within[0], k(139), "the outermost level is kept");
    }

    #[test]
    fn a_member_set_twice_comes_before_one_missing() {
        let m = [AvpKey::new(1, 0), AvpKey::new(2, 0)];
        let f = members_fail(&m, 0b11, 0b01, 0b01).map(Fail::into_error);
        assert_eq!(f.map(|e| e.avp()), Some(AvpKey::new(1, 0)));
        let f = members_fail(&m, 0b11, 0b01, 0).map(Fail::into_error);
        assert_eq!(f.map(|e| e.avp()), Some(AvpKey::new(2, 0)));
        assert!(members_fail(&m, 0b11, 0b11, 0).is_none());
    }
}
