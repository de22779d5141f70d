//! Which rule of a rule list names an AVP, without scanning the list for every AVP.
//!
//! Validation looks up the rule of each AVP it meets. A linear scan costs a comparison per
//! rule passed over, and real rule lists are long (Ro's CCR has 40 rules, PS-Information 74)
//! with most optional rules absent from any one message: the scans were about a fifth of
//! validating a CCR. Rule lists are the dictionaries' statics, the same few in every
//! message, so each list gets an index once per thread: for each value of an AVP code's low
//! byte, the one rule naming an AVP with that low byte, or none, or "several" (then the
//! scan decides, as before). A lookup is a table read and one comparison.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::avp::AvpKey;
use crate::dictionary::Rule;

/// No rule names an AVP with this low byte.
const ABSENT: u8 = u8::MAX;
/// Several rules do (or the list is too long to index): scan.
const SHARED: u8 = u8::MAX - 1;

/// One rule list's index and its count of rules with a minimum.
#[derive(Debug)]
pub(super) struct RuleIndex {
    /// The list indexed.
    rules: &'static [Rule],
    /// Rules with a minimum (required and fixed AVPs): when that many rules have reached
    /// their minimum, nothing is missing.
    pub(super) required: u32,
    by_low_byte: [u8; 256],
}

impl RuleIndex {
    fn new(rules: &'static [Rule]) -> Self {
        let mut by_low_byte = [ABSENT; 256];
        if rules.len() >= usize::from(SHARED) {
            by_low_byte = [SHARED; 256];
        } else {
            for (i, key) in rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| Some((i, r.avp?)))
            {
                let slot = &mut by_low_byte[usize::from(key.code as u8)];
                *slot = if *slot == ABSENT { i as u8 } else { SHARED };
            }
        }
        let required = rules.iter().filter(|r| r.min > 0).count() as u32;
        Self {
            rules,
            required,
            by_low_byte,
        }
    }

    /// The rules indexed.
    pub(super) fn rules(&self) -> &'static [Rule] {
        self.rules
    }

    /// The index of the rule naming `key`; `start` is where a scan begins (the rule after
    /// the last one found: AVPs mostly come in the order of their rules).
    #[inline]
    pub(super) fn find(&self, key: AvpKey, start: usize) -> Option<usize> {
        match self.by_low_byte[usize::from(key.code as u8)] {
            ABSENT => None,
            SHARED => scan(self.rules, key, start),
            i => {
                let i = usize::from(i);
                (self.rules.get(i)?.avp == Some(key)).then_some(i)
            }
        }
    }
}

/// The index of the rule naming `key`, searched from `start` on, then from the beginning.
/// (The codegen refuses an AVP listed twice in one rule list, so the rule found is the only
/// one naming the AVP.)
fn scan(rules: &[Rule], key: AvpKey, start: usize) -> Option<usize> {
    let start = start.min(rules.len());
    let (before, after) = rules.split_at(start);
    after
        .iter()
        .position(|r| r.avp == Some(key))
        .map(|i| start + i)
        .or_else(|| before.iter().position(|r| r.avp == Some(key)))
}

/// The index of `rules`: from a small per-thread cache keyed by the list's address and
/// length (a `Cell` read, no lock: this runs for every rule list of every message), else
/// from the process-wide registry, which makes each list's index once. Rule lists are
/// statics (a registered dictionary's are leaked, so static too), so the registry holds at
/// most one index per list of the compiled-in and registered dictionaries, and the
/// indexes it leaks live as long as the lists do.
pub(super) fn index_of(rules: &'static [Rule]) -> &'static RuleIndex {
    const SLOTS: usize = 64;
    type Slot = Cell<(usize, usize, Option<&'static RuleIndex>)>;
    thread_local! {
        static CACHE: [Slot; SLOTS] = const { [const { Cell::new((0, 0, None)) }; SLOTS] };
    }
    let (ptr, len) = (rules.as_ptr() as usize, rules.len());
    CACHE
        .try_with(|cache| {
            let slot = &cache[(ptr / std::mem::size_of::<Rule>()) % SLOTS];
            match slot.get() {
                (p, l, Some(index)) if p == ptr && l == len => index,
                _ => {
                    let index = registered(rules);
                    slot.set((ptr, len, Some(index)));
                    index
                }
            }
        })
        .unwrap_or_else(|_| registered(rules))
}

/// The one index of `rules` in this process, made on first use.
#[cold]
fn registered(rules: &'static [Rule]) -> &'static RuleIndex {
    static REGISTRY: Mutex<BTreeMap<(usize, usize), &'static RuleIndex>> =
        Mutex::new(BTreeMap::new());
    let key = (rules.as_ptr() as usize, rules.len());
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(RuleIndex::new(rules))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::{RuleKind, UNBOUNDED};

    fn rule(code: u32, vendor: u32) -> Rule {
        Rule {
            kind: RuleKind::Optional,
            avp: Some(AvpKey::new(code, vendor)),
            min: 0,
            max: UNBOUNDED,
        }
    }

    #[test]
    fn finds_each_rule_and_nothing_else() {
        // 263 and 7 share nothing; 1 and 257 share a low byte; 1 of two vendors too.
        let rules: &'static [Rule] = Box::leak(Box::new([
            rule(263, 0),
            rule(1, 0),
            rule(257, 0),
            rule(7, 0),
            rule(1, 10415),
            Rule {
                kind: RuleKind::Optional,
                avp: None,
                min: 0,
                max: UNBOUNDED,
            },
        ]));
        let index = RuleIndex::new(rules);
        for (i, r) in rules.iter().enumerate() {
            if let Some(key) = r.avp {
                for start in 0..=rules.len() {
                    assert_eq!(index.find(key, start), Some(i), "{key:?} from {start}");
                }
            }
        }
        for key in [
            AvpKey::new(8, 0),
            AvpKey::new(263, 10415),
            AvpKey::new(519, 0),
            AvpKey::new(513, 0),
        ] {
            assert_eq!(index.find(key, 0), None, "{key:?}");
            assert_eq!(index.find(key, 3), None, "{key:?}");
        }
    }

    #[test]
    fn a_list_too_long_to_index_is_scanned() {
        let rules: &'static [Rule] = (0..300).map(|c| rule(c, 0)).collect::<Vec<_>>().leak();
        let index = RuleIndex::new(rules);
        assert_eq!(index.find(AvpKey::new(299, 0), 0), Some(299));
        assert_eq!(index.find(AvpKey::new(44, 0), 100), Some(44));
        assert_eq!(index.find(AvpKey::new(300, 0), 0), None);
    }

    #[test]
    fn the_cache_gives_the_index_of_the_list_asked_for() {
        let a: &'static [Rule] = Box::leak(Box::new([rule(1, 0), rule(2, 0)]));
        let b: &'static [Rule] = Box::leak(Box::new([rule(2, 0)]));
        let (ia, ib) = (index_of(a), index_of(b));
        assert_eq!(ia.find(AvpKey::new(2, 0), 0), Some(1));
        assert_eq!(ib.find(AvpKey::new(2, 0), 0), Some(0));
        // The same list: the same index, from the cache, on this thread and another.
        assert!(std::ptr::eq(index_of(a), ia));
        let other = std::thread::spawn(move || index_of(a) as *const RuleIndex as usize);
        assert_eq!(other.join().unwrap(), ia as *const RuleIndex as usize);
    }
}
