//! The node-wide bound on handlers (python-diameter's `max_threads`): at most
//! `limits.max_node_handlers` requests are handled at once across every connection; the
//! next ones wait in a queue of `limits.max_queued_requests`, and beyond it are answered
//! 3004 DIAMETER_TOO_BUSY. Off (no bound, no queue) when `max_node_handlers` is 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bound and its queue.
#[derive(Debug)]
pub(crate) struct HandlerBound {
    running: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
}

/// Whether a request's handler may start.
pub(crate) enum Start {
    /// Now, holding this permit until it is done.
    Now(OwnedSemaphorePermit),
    /// After waiting its turn ([`HandlerBound::wait`]).
    Queued,
    /// Not at all: the queue is full (3004).
    Refused,
}

impl HandlerBound {
    /// A bound of `max_running` handlers and `max_queued` waiting requests; `None` for 0.
    pub(crate) fn new(max_running: usize, max_queued: usize) -> Option<Arc<Self>> {
        (max_running > 0).then(|| {
            Arc::new(Self {
                running: Arc::new(Semaphore::new(max_running)),
                queued: AtomicUsize::new(0),
                max_queued,
            })
        })
    }

    /// Takes a place for one request's handler.
    pub(crate) fn start(&self) -> Start {
        if let Ok(p) = Arc::clone(&self.running).try_acquire_owned() {
            return Start::Now(p);
        }
        let taken = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q < self.max_queued).then_some(q + 1)
            });
        if taken.is_ok() {
            Start::Queued
        } else {
            Start::Refused
        }
    }

    /// Waits for a running place after [`Start::Queued`].
    pub(crate) async fn wait(&self) -> OwnedSemaphorePermit {
        let permit = Arc::clone(&self.running).acquire_owned().await;
        self.queued.fetch_sub(1, Ordering::AcqRel);
        // The semaphore is never closed.
        permit.expect("handler semaphore open")
    }

    /// Requests waiting now.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_up_to_the_bound_then_queues_then_refuses() {
        let b = HandlerBound::new(2, 1).unwrap();
        let (Start::Now(p1), Start::Now(_p2)) = (b.start(), b.start()) else {
            panic!("two may run");
        };
        assert!(matches!(b.start(), Start::Queued));
        assert!(matches!(b.start(), Start::Refused));
        assert_eq!(b.waiting(), 1);
        let waiter = {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.wait().await })
        };
        drop(p1);
        let _p3 = waiter.await.unwrap();
        assert_eq!(b.waiting(), 0);
        assert!(
            matches!(b.start(), Start::Queued),
            "a place in the queue again"
        );
    }

    #[test]
    fn zero_means_no_bound() {
        assert!(HandlerBound::new(0, 10).is_none());
    }
}
