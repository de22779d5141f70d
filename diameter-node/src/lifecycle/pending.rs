//! The pending-request table of one connection (RFC 6733 §5.5.4: "a pending message queue
//! for a given peer", matched by Hop-by-Hop Identifier), with one deadline per request.
//!
//! Each entry leaves exactly once: by [`PendingTable::answer`], by [`PendingTable::expire`]
//! or by [`PendingTable::drain`]; the owner turns that into the caller's one outcome
//! (answer, timeout, peer gone). Deadlines are kept with lazy deletion: in a queue while
//! they come in order (every request with the same timeout: pushed at the back, expired
//! and cleaned at the front, O(1)), in a min-heap for those that do not; both are rebuilt
//! when stale entries outnumber live ones, so memory stays proportional to what is
//! pending.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

/// Hashes a Hop-by-Hop Identifier with one multiplication. The identifiers are ours (a
/// counter), not chosen by the peer, so no keyed hash is needed: an answer with a forged
/// identifier finds nothing or the request it names, whatever the hash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        // Fibonacci hashing: the high bits (which hashbrown's control bytes use) depend on
        // every bit of the identifier.
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// Requests waiting for their answers, keyed by Hop-by-Hop Identifier.
#[derive(Debug)]
pub(crate) struct PendingTable<T> {
    entries: IdMap<(Instant, T)>,
    /// (deadline, Hop-by-Hop) in non-decreasing order of deadline.
    queue: VecDeque<(Instant, u32)>,
    /// Deadlines earlier than the back of the queue when they were added.
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    capacity: usize,
}

/// The table is full (the configured maximum of pending requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many pending requests")]
pub(crate) struct Full;

impl<T> PendingTable<T> {
    /// A table holding at most `capacity` requests.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: IdMap::default(),
            queue: VecDeque::new(),
            heap: BinaryHeap::new(),
            capacity,
        }
    }

    /// Number of pending requests.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds a request. A Hop-by-Hop Identifier still in use (after 2³² requests on one
    /// connection) is refused like a full table, so no waiter is ever overwritten.
    pub(crate) fn insert(
        &mut self,
        hop_by_hop: u32,
        deadline: Instant,
        waiter: T,
    ) -> Result<(), (Full, T)> {
        if self.entries.len() >= self.capacity || self.entries.contains_key(&hop_by_hop) {
            return Err((Full, waiter));
        }
        self.entries.insert(hop_by_hop, (deadline, waiter));
        if self.queue.back().is_none_or(|(last, _)| deadline >= *last) {
            self.queue.push_back((deadline, hop_by_hop));
        } else {
            self.heap.push(Reverse((deadline, hop_by_hop)));
        }
        if self.queue.len() + self.heap.len() > 2 * self.entries.len() + 1024 {
            self.rebuild();
        }
        Ok(())
    }

    /// Drops the stale deadlines: the live ones, sorted, make the new queue.
    fn rebuild(&mut self) {
        let mut live: Vec<(Instant, u32)> =
            self.entries.iter().map(|(h, (d, _))| (*d, *h)).collect();
        live.sort_unstable();
        self.queue = live.into();
        self.heap.clear();
    }

    fn is_live(&self, deadline: Instant, hop_by_hop: u32) -> bool {
        self.entries
            .get(&hop_by_hop)
            .is_some_and(|(d, _)| *d == deadline)
    }

    /// Removes the request an answer with this Hop-by-Hop Identifier belongs to; `None`
    /// for an unknown identifier (the answer is to be dropped and counted).
    pub(crate) fn answer(&mut self, hop_by_hop: u32) -> Option<T> {
        self.entries.remove(&hop_by_hop).map(|(_, t)| t)
    }

    /// The earliest live deadline and its Hop-by-Hop Identifier, and whether it is at the
    /// front of the queue (else on top of the heap); stale deadlines met on the way are
    /// dropped.
    fn earliest(&mut self) -> Option<(Instant, u32, bool)> {
        while let Some(&(d, h)) = self.queue.front() {
            if self.is_live(d, h) {
                break;
            }
            self.queue.pop_front();
        }
        while let Some(&Reverse((d, h))) = self.heap.peek() {
            if self.is_live(d, h) {
                break;
            }
            self.heap.pop();
        }
        match (self.queue.front(), self.heap.peek()) {
            (Some(&(q, qh)), Some(&Reverse((p, ph)))) => {
                Some(if p < q { (p, ph, false) } else { (q, qh, true) })
            }
            (Some(&(q, qh)), None) => Some((q, qh, true)),
            (None, Some(&Reverse((p, ph)))) => Some((p, ph, false)),
            (None, None) => None,
        }
    }

    /// The earliest deadline of a live request.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.earliest().map(|(d, _, _)| d)
    }

    /// Removes and returns one request whose deadline is at or before `now`.
    pub(crate) fn expire(&mut self, now: Instant) -> Option<(u32, T)> {
        let (d, h, in_queue) = self.earliest()?;
        if d > now {
            return None;
        }
        if in_queue {
            self.queue.pop_front();
        } else {
            self.heap.pop();
        }
        self.entries.remove(&h).map(|(_, t)| (h, t))
    }

    /// Removes every request (the connection is gone).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (u32, T)> + '_ {
        self.queue.clear();
        self.heap.clear();
        self.entries.drain().map(|(h, (_, t))| (h, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_request_leaves_once() {
        let t0 = Instant::now();
        let mut p = PendingTable::new(3);
        p.insert(1, t0 + Duration::from_secs(1), "a").unwrap();
        p.insert(2, t0 + Duration::from_secs(2), "b").unwrap();
        p.insert(3, t0 + Duration::from_secs(3), "c").unwrap();
        assert!(p.insert(4, t0, "d").is_err(), "full");
        assert_eq!(p.answer(2), Some("b"));
        assert_eq!(p.answer(2), None);
        assert_eq!(p.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(p.expire(t0 + Duration::from_secs(2)), Some((1, "a")));
        assert_eq!(p.expire(t0 + Duration::from_secs(2)), None);
        assert!(p.insert(3, t0, "dup").is_err(), "identifier in use");
        assert_eq!(p.drain().collect::<Vec<_>>(), vec![(3, "c")]);
        assert!(p.len() == 0 && p.next_deadline().is_none());
    }

    #[test]
    fn stale_deadlines_do_not_accumulate() {
        let t0 = Instant::now();
        let mut p = PendingTable::new(10);
        for i in 0..100_000u32 {
            p.insert(i, t0 + Duration::from_secs(30), ()).unwrap();
            p.answer(i).unwrap();
        }
        assert!(p.queue.len() + p.heap.len() <= 1025);
    }

    #[test]
    fn stale_deadlines_behind_a_long_one_do_not_accumulate() {
        let t0 = Instant::now();
        let mut p = PendingTable::new(10);
        p.insert(u32::MAX, t0 + Duration::from_secs(3600), ())
            .unwrap();
        for i in 0..100_000u32 {
            p.insert(i, t0 + Duration::from_secs(30 + u64::from(i)), ())
                .unwrap();
            p.answer(i).unwrap();
        }
        assert!(p.queue.len() + p.heap.len() <= 1026);
        assert_eq!(p.next_deadline(), Some(t0 + Duration::from_secs(3600)));
    }

    /// Deadlines in any order expire earliest first, each once, whichever structure holds
    /// them.
    #[test]
    fn out_of_order_deadlines_expire_in_order() {
        let t0 = Instant::now();
        let mut p = PendingTable::new(100);
        let secs = [5u64, 9, 3, 9, 1, 7, 7, 2, 8, 4];
        for (i, s) in secs.iter().enumerate() {
            p.insert(i as u32, t0 + Duration::from_secs(*s), i).unwrap();
        }
        assert_eq!(p.answer(6), Some(6));
        let mut order = Vec::new();
        while let Some((h, v)) = p.expire(t0 + Duration::from_secs(100)) {
            assert_eq!(h as usize, v);
            order.push(secs[v]);
        }
        assert_eq!(order, vec![1, 2, 3, 4, 5, 7, 8, 9, 9]);
        assert!(p.len() == 0 && p.next_deadline().is_none());
    }
}
