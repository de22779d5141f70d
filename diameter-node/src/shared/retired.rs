//! The counters of peers that are gone (dynamic peers, admitted by realm pattern, whose
//! connection ended), kept under their DiameterIdentity as Prometheus expects of a counter:
//! an incident stays visible in `/metrics` after the peer left, and a peer that comes back
//! continues its counters where they were (its new slot shares the same [`Counters`], so
//! even what its old task still counts after the peer left is kept).
//!
//! Peer names come from the wire (the CER's Origin-Host), so at most `max` names are kept
//! (`limits.max_retained_peers`): beyond, the counters of the peer that left longest ago are
//! added to one aggregate, shown as the peer [`OTHER_PEERS`], so that every total stays
//! monotonic while the number of series stays bounded.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::stats::{Counters, OTHER_PEERS, PeerStats};

/// Departed peers' counters by name, bounded.
#[derive(Debug)]
pub(crate) struct Retired {
    /// Name → (when it left, in [`Self::order`]; its counters).
    by_name: HashMap<Arc<str>, (u64, Arc<Counters>)>,
    /// Names by when they left, oldest first.
    order: BTreeMap<u64, Arc<str>>,
    next: u64,
    max: usize,
    /// The counters of the names forgotten beyond `max`, added up (`None` before the first).
    other: Option<PeerStats>,
}

impl Retired {
    /// Keeps at most `max` names.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            by_name: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            max,
            other: None,
        }
    }

    /// Names kept now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_name.len()
    }

    /// The peer `name` left: its counters are kept under its name. Returns the names
    /// forgotten to stay within the bound (oldest first), whose counters went to
    /// [`OTHER_PEERS`].
    pub(crate) fn retire(&mut self, name: Arc<str>, counters: Arc<Counters>) -> Vec<Arc<str>> {
        let seq = self.next;
        self.next += 1;
        match self.by_name.remove(&name) {
            // Kept already (two slots of one name, not expected): one set of counters.
            Some((old_seq, old)) if !Arc::ptr_eq(&old, &counters) => {
                self.order.remove(&old_seq);
                counters.add(old.snapshot());
            }
            Some((old_seq, _)) => {
                self.order.remove(&old_seq);
            }
            None => {}
        }
        self.by_name.insert(name.clone(), (seq, counters));
        self.order.insert(seq, name);
        let mut forgotten = Vec::new();
        while self.by_name.len() > self.max {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, c)) = self.by_name.remove(&oldest) {
                *self.other.get_or_insert_with(PeerStats::default) += c.snapshot();
            }
            forgotten.push(oldest);
        }
        forgotten
    }

    /// A peer named `name` is back: the counters it had, to continue (`None`: new, or
    /// forgotten).
    pub(crate) fn take(&mut self, name: &str) -> Option<Arc<Counters>> {
        let (seq, counters) = self.by_name.remove(name)?;
        self.order.remove(&seq);
        Some(counters)
    }

    /// Each kept name with its counters now, by name; then [`OTHER_PEERS`] if any name was
    /// forgotten.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))] // read by the metrics
    pub(crate) fn snapshot(&self) -> Vec<(Arc<str>, PeerStats)> {
        let mut v: Vec<(Arc<str>, PeerStats)> = self
            .by_name
            .iter()
            .map(|(n, (_, c))| (n.clone(), c.snapshot()))
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(other) = self.other {
            v.push((OTHER_PEERS.into(), other));
        }
        v
    }

    /// Everything counted by departed peers, kept or forgotten.
    pub(crate) fn total(&self) -> PeerStats {
        let mut t = self.other.unwrap_or_default();
        for (_, c) in self.by_name.values() {
            t += c.snapshot();
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(requests: u64) -> Arc<Counters> {
        let c = Arc::new(Counters::default());
        c.add(PeerStats {
            requests_received: requests,
            ..PeerStats::default()
        });
        c
    }

    fn requests(r: &Retired) -> Vec<(String, u64)> {
        r.snapshot()
            .into_iter()
            .map(|(n, s)| (n.to_string(), s.requests_received))
            .collect()
    }

    #[test]
    fn kept_by_name_continued_on_return_and_bounded() {
        let mut r = Retired::new(2);
        let a = counters(3);
        assert!(r.retire("a".into(), a.clone()).is_empty());
        assert_eq!(requests(&r), [("a".into(), 3)]);
        // a comes back: the same counters, counting on.
        let back = r.take("a").expect("kept");
        assert!(Arc::ptr_eq(&back, &a) && r.len() == 0);
        Counters::bump(&back.requests_received);
        assert!(r.retire("a".into(), back).is_empty());
        assert!(r.retire("b".into(), counters(1)).is_empty());
        assert_eq!(r.total().requests_received, 5);
        // A third name: a, the one that left longest ago, goes to the aggregate.
        assert_eq!(
            r.retire("c".into(), counters(2)),
            vec![Arc::<str>::from("a")]
        );
        assert_eq!(r.len(), 2);
        assert_eq!(
            requests(&r),
            [("b".into(), 1), ("c".into(), 2), (OTHER_PEERS.into(), 4)]
        );
        assert_eq!(r.total().requests_received, 7, "totals stay monotonic");
        assert!(r.take("a").is_none(), "forgotten: a starts again from 0");
        // Many names: never more than the bound.
        for i in 0..100 {
            r.retire(format!("p{i}").into(), counters(1));
            assert!(r.len() <= 2);
        }
        assert_eq!(r.total().requests_received, 107);
        assert_eq!(r.order.len(), r.by_name.len());
    }

    #[test]
    fn a_bound_of_zero_keeps_only_the_aggregate() {
        let mut r = Retired::new(0);
        assert_eq!(r.retire("a".into(), counters(2)).len(), 1);
        assert_eq!(requests(&r), [(OTHER_PEERS.into(), 2)]);
    }
}
