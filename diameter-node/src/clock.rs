//! The node's one clock. The sans-IO cores never read a clock: the tokio layer reads this
//! one and passes `now` in. It is tokio's clock as a std `Instant`, so that tokio's
//! paused time (`#[tokio::test(start_paused = true)]`) moves every deadline of the node
//! at once: request timeouts, the drain, DOIC validities, cached redirects and answers.

use std::time::Instant;

/// Now, by tokio's clock (the same as `Instant::now()` unless a test paused time).
#[inline]
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
