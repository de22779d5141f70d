//! The task's one timer, set to the core's next deadline. It is moved only to an earlier
//! deadline: a later one leaves it alone, so it fires early once (costing one loop) and is
//! set again then, instead of being reset on every input.

use std::pin::Pin;
use std::time::Instant;

use tokio::time::Sleep;

pub(super) struct Timer {
    sleep: Pin<Box<Sleep>>,
    /// The deadline it is set to (`None`: disarmed).
    at: Option<Instant>,
}

impl Timer {
    pub(super) fn new() -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            at: None,
        }
    }

    /// Sets the timer to `deadline` if that is earlier than what it is set to.
    pub(super) fn arm(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            return;
        };
        if self.at.is_none_or(|at| deadline < at) {
            self.sleep.as_mut().reset(deadline.into());
            self.at = Some(deadline);
        }
    }

    /// Completes when the timer fires (never while disarmed); disarms it.
    pub(super) async fn fired(&mut self) {
        if self.at.is_none() {
            return std::future::pending().await;
        }
        self.sleep.as_mut().await;
        self.at = None;
    }
}
