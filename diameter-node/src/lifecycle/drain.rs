//! The drain of a graceful stop (§5.4): after Stop no new request is taken; DPR goes out
//! once every pending request is answered, or when the drain time is up, whichever comes
//! first. The owner asks [`Drain::dpr_due`] after every answer and at every timeout.
//!
//! What counts as still owed is what the owner passes in: today the requests pending on
//! this link. Requests forwarded on behalf of this peer and pending on other links are
//! owed to it too; a relay's drain adds them here.

use std::time::Instant;

use diameter_core::generated::base::DisconnectCause;

#[derive(Debug)]
pub(super) struct Drain {
    cause: DisconnectCause,
    deadline: Instant,
    dpr_sent: bool,
}

impl Drain {
    pub(super) fn new(cause: DisconnectCause, deadline: Instant) -> Self {
        Self {
            cause,
            deadline,
            dpr_sent: false,
        }
    }

    /// When the drain gives up waiting (none once the DPR is out).
    pub(super) fn deadline(&self) -> Option<Instant> {
        (!self.dpr_sent).then_some(self.deadline)
    }

    /// The DPR's Disconnect-Cause, once, when it is time: `owed` requests are left (0) or
    /// the drain time is up.
    pub(super) fn dpr_due(&mut self, now: Instant, owed: usize) -> Option<DisconnectCause> {
        if self.dpr_sent || (owed > 0 && now < self.deadline) {
            return None;
        }
        self.dpr_sent = true;
        Some(self.cause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dpr_once_when_nothing_is_owed_or_time_is_up() {
        let t0 = Instant::now();
        let mut d = Drain::new(DisconnectCause::REBOOTING, t0 + Duration::from_secs(5));
        assert_eq!(d.dpr_due(t0, 1), None);
        assert_eq!(d.deadline(), Some(t0 + Duration::from_secs(5)));
        assert_eq!(d.dpr_due(t0, 0), Some(DisconnectCause::REBOOTING));
        assert_eq!(d.dpr_due(t0, 0), None);
        assert_eq!(d.deadline(), None);
        let mut d = Drain::new(DisconnectCause::BUSY, t0);
        assert_eq!(d.dpr_due(t0, 3), Some(DisconnectCause::BUSY));
    }
}
