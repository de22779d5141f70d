//! The pending-request table of one connection (RFC 6733 §5.5.4: "a pending message queue
//! for a given peer", matched by Hop-by-Hop Identifier), with one deadline per request.
//!
//! Each entry leaves exactly once: by [`PendingTable::answer`], by [`PendingTable::expire`]
//! or by [`PendingTable::drain`]; the owner turns that into the caller's one outcome
//! (answer, timeout, peer gone). Deadlines sit in a min-heap with lazy deletion; the heap is
//! rebuilt when stale entries outnumber live ones, so memory stays proportional to what is
//! pending.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// Requests waiting for their answers, keyed by Hop-by-Hop Identifier.
#[derive(Debug)]
pub struct PendingTable<T> {
    entries: HashMap<u32, (Instant, T)>,
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    capacity: usize,
}

/// The table is full (the configured maximum of pending requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many pending requests")]
pub struct Full;

impl<T> PendingTable<T> {
    /// A table holding at most `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            deadlines: BinaryHeap::new(),
            capacity,
        }
    }

    /// Number of pending requests.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a request. A Hop-by-Hop Identifier still in use (after 2³² requests on one
    /// connection) is refused like a full table, so no waiter is ever overwritten.
    pub fn insert(
        &mut self,
        hop_by_hop: u32,
        deadline: Instant,
        waiter: T,
    ) -> Result<(), (Full, T)> {
        if self.entries.len() >= self.capacity || self.entries.contains_key(&hop_by_hop) {
            return Err((Full, waiter));
        }
        self.entries.insert(hop_by_hop, (deadline, waiter));
        self.deadlines.push(Reverse((deadline, hop_by_hop)));
        if self.deadlines.len() > 2 * self.entries.len() + 1024 {
            self.deadlines = self
                .entries
                .iter()
                .map(|(h, (d, _))| Reverse((*d, *h)))
                .collect();
        }
        Ok(())
    }

    /// Removes the request an answer with this Hop-by-Hop Identifier belongs to; `None`
    /// for an unknown identifier (the answer is to be dropped and counted).
    pub fn answer(&mut self, hop_by_hop: u32) -> Option<T> {
        self.entries.remove(&hop_by_hop).map(|(_, t)| t)
    }

    /// The earliest deadline of a live request.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((d, h))) = self.deadlines.peek().copied() {
            match self.entries.get(&h) {
                Some((live, _)) if *live == d => return Some(d),
                _ => {
                    self.deadlines.pop();
                }
            }
        }
        None
    }

    /// Removes and returns one request whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Instant) -> Option<(u32, T)> {
        loop {
            let d = self.next_deadline()?;
            if d > now {
                return None;
            }
            let Reverse((_, h)) = self.deadlines.pop()?;
            if let Some((_, t)) = self.entries.remove(&h) {
                return Some((h, t));
            }
        }
    }

    /// Removes every request (the connection is gone).
    pub fn drain(&mut self) -> impl Iterator<Item = (u32, T)> + '_ {
        self.deadlines.clear();
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
        assert!(p.is_empty() && p.next_deadline().is_none());
    }

    #[test]
    fn stale_deadlines_do_not_accumulate() {
        let t0 = Instant::now();
        let mut p = PendingTable::new(10);
        for i in 0..100_000u32 {
            p.insert(i, t0 + Duration::from_secs(30), ()).unwrap();
            p.answer(i).unwrap();
        }
        assert!(p.deadlines.len() <= 1025);
    }
}
