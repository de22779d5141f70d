//! Duplicate detection (RFC 6733 §6.1.2 recommendation, §5.5.4): a request retransmitted
//! after a failover carries the T flag and the End-to-End Identifier of the original;
//! "the Origin-Host AVP and the End-to-End Identifier ... can be used to detect duplicate
//! requests". A T-flagged request whose (Origin-Host, End-to-End) was answered within the
//! window gets that answer again instead of being processed twice.
//!
//! Every locally answered request is remembered (its answer is a `Bytes` already made, so
//! this costs a hash insert, not a copy); memory is bounded by the window and by a maximum
//! number of entries, the oldest going first. Off unless configured
//! ([`crate::NodeConfig::duplicate_detection`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;

/// Duplicate detection settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DuplicateDetection {
    /// How long an answer is kept for retransmissions (RFC 6733 suggests at least the
    /// failover time of the network: 60 s by default).
    #[serde(deserialize_with = "crate::duration::duration")]
    pub window: Duration,
    /// Answers kept at most (100,000).
    pub max_entries: usize,
}

impl Default for DuplicateDetection {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            max_entries: 100_000,
        }
    }
}

type Key = (Box<[u8]>, u32);

/// Answers of recent requests by (Origin-Host, End-to-End Identifier).
#[derive(Debug)]
pub(crate) struct DuplicateCache {
    config: DuplicateDetection,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    answers: HashMap<Key, (Instant, Bytes)>,
    /// Insertion order, for expiry and the bound.
    order: VecDeque<(Instant, Key)>,
}

impl DuplicateCache {
    pub(crate) fn new(config: DuplicateDetection) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The answer given to the request with this Origin-Host and End-to-End Identifier,
    /// if it is still remembered.
    pub(crate) fn get(&self, origin_host: &[u8], end_to_end: u32, now: Instant) -> Option<Bytes> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.expire(now, self.config.window);
        inner
            .answers
            .get(&(Box::from(origin_host), end_to_end))
            .map(|(_, a)| a.clone())
    }

    /// Remembers an answer.
    pub(crate) fn insert(&self, origin_host: &[u8], end_to_end: u32, answer: Bytes, now: Instant) {
        if self.config.max_entries == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.expire(now, self.config.window);
        while inner.answers.len() >= self.config.max_entries {
            let Some((at, key)) = inner.order.pop_front() else {
                break;
            };
            inner.remove_if(&key, at);
        }
        let key: Key = (Box::from(origin_host), end_to_end);
        inner.order.push_back((now, key.clone()));
        inner.answers.insert(key, (now, answer));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .answers
            .len()
    }
}

impl Inner {
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < window {
                break;
            }
            if let Some((at, key)) = self.order.pop_front() {
                self.remove_if(&key, at);
            }
        }
    }

    /// Removes the entry unless it was replaced by a later insert of the same key.
    fn remove_if(&mut self, key: &Key, at: Instant) {
        if self.answers.get(key).is_some_and(|(t, _)| *t == at) {
            self.answers.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_the_window_only() {
        let c = DuplicateCache::new(DuplicateDetection {
            window: Duration::from_secs(10),
            max_entries: 100,
        });
        let t0 = Instant::now();
        c.insert(b"client", 7, Bytes::from_static(b"answer"), t0);
        assert_eq!(c.get(b"client", 7, t0).as_deref(), Some(&b"answer"[..]));
        assert!(c.get(b"client", 8, t0).is_none());
        assert!(c.get(b"other", 7, t0).is_none());
        assert!(c.get(b"client", 7, t0 + Duration::from_secs(11)).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded_by_max_entries() {
        let c = DuplicateCache::new(DuplicateDetection {
            window: Duration::from_secs(60),
            max_entries: 3,
        });
        let t0 = Instant::now();
        for e2e in 0..10 {
            c.insert(b"h", e2e, Bytes::from(vec![e2e as u8]), t0);
        }
        assert_eq!(c.len(), 3);
        assert!(c.get(b"h", 6, t0).is_none());
        assert_eq!(c.get(b"h", 9, t0).as_deref(), Some(&[9u8][..]));
        // A key inserted again keeps its newest answer.
        c.insert(
            b"h",
            9,
            Bytes::from_static(b"new"),
            t0 + Duration::from_secs(1),
        );
        assert_eq!(
            c.get(b"h", 9, t0 + Duration::from_secs(1)).as_deref(),
            Some(&b"new"[..])
        );
    }
}
