//! Waiting for what is owed before a link closes (§5.4), in two cases:
//!
//! - a graceful stop ([`Then::Dpr`]): after Stop no new request is taken; DPR goes out once
//!   nothing is owed or the drain time is up;
//! - a DPR received while requests the peer sent us are still being answered
//!   ([`Then::Dpa`]): the DPR is held, and handed to the state machine (which answers DPA
//!   and lets the peer close) once those are answered or the drain time is up.
//!
//! What is owed is passed in: the requests pending on this link (a stop only: the peer owes
//! us those) and those the node owes the peer but that are not on this link (`elsewhere`:
//! requests forwarded on its behalf to other peers, handlers still running). At the
//! deadline what is owed elsewhere is not dropped: [`Step::GiveUp`] tells the owner to
//! answer it (3002 with Error-Message) first; the DPR or DPA follows once the owner says
//! it did ([`Drain::answered`]), so the answers are on the wire before it.

use std::time::Instant;

use diameter_core::Message;
use diameter_core::generated::base::DisconnectCause;

use crate::peer::ConnId;

/// What happens when the drain is over.
#[derive(Debug, Clone)]
pub(super) enum Then {
    /// Send DPR with this Disconnect-Cause (our graceful stop).
    Dpr(DisconnectCause),
    /// Hand this DPR received on `conn` to the state machine (it answers DPA).
    Dpa { conn: ConnId, dpr: Message },
}

/// What the owner does now.
#[derive(Debug)]
pub(super) enum Step {
    /// Requests are still owed and there is time.
    Wait,
    /// Time is up: answer what is owed elsewhere now, then ask again.
    GiveUp,
    /// Done: carry this out (once).
    Done(Then),
}

#[derive(Debug)]
pub(super) struct Drain {
    then: Option<Then>,
    deadline: Instant,
    gave_up: bool,
    /// The owner answered what was owed after [`Step::GiveUp`].
    answered: bool,
}

impl Drain {
    pub(super) fn new(then: Then, deadline: Instant) -> Self {
        Self {
            then: Some(then),
            deadline,
            gave_up: false,
            answered: false,
        }
    }

    /// Whether the DPR or DPA went out already.
    pub(super) fn is_done(&self) -> bool {
        self.then.is_none()
    }

    /// When the drain gives up waiting (none once done, or once it gave up: then it waits
    /// for the owner's [`Self::answered`], not for time).
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.then
            .as_ref()
            .filter(|_| !self.gave_up)
            .map(|_| self.deadline)
    }

    /// What to do now that `here` requests are pending on this link and `elsewhere` are
    /// owed to the peer from other links.
    pub(super) fn step(&mut self, now: Instant, here: usize, elsewhere: usize) -> Step {
        if self.then.is_none() {
            return Step::Wait;
        }
        if self.gave_up && !self.answered {
            // Not before the answers to what was owed.
            return Step::Wait;
        }
        let owed = here + elsewhere;
        if owed > 0 && now < self.deadline && !self.gave_up {
            return Step::Wait;
        }
        if elsewhere > 0 && !self.gave_up {
            self.gave_up = true;
            return Step::GiveUp;
        }
        self.then.take().map_or(Step::Wait, Step::Done)
    }

    /// The owner answered what was owed after [`Step::GiveUp`].
    pub(super) fn answered(&mut self) {
        self.answered = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn dpr(step: Step) -> Option<DisconnectCause> {
        match step {
            Step::Done(Then::Dpr(c)) => Some(c),
            _ => None,
        }
    }

    #[test]
    fn dpr_once_when_nothing_is_owed_or_time_is_up() {
        let t0 = Instant::now();
        let t5 = t0 + Duration::from_secs(5);
        let mut d = Drain::new(Then::Dpr(DisconnectCause::REBOOTING), t5);
        assert!(matches!(d.step(t0, 1, 0), Step::Wait));
        assert_eq!(d.deadline(), Some(t5));
        assert_eq!(dpr(d.step(t0, 0, 0)), Some(DisconnectCause::REBOOTING));
        assert!(matches!(d.step(t0, 0, 0), Step::Wait));
        assert_eq!(d.deadline(), None);
        assert!(d.is_done());
        // Only pending on this link at the deadline: DPR at once (they fail when it closes).
        let mut d = Drain::new(Then::Dpr(DisconnectCause::BUSY), t0);
        assert_eq!(dpr(d.step(t0, 3, 0)), Some(DisconnectCause::BUSY));
    }

    #[test]
    fn requests_owed_elsewhere_are_waited_for_then_answered_before_the_dpr() {
        let t0 = Instant::now();
        let t5 = t0 + Duration::from_secs(5);
        let mut d = Drain::new(Then::Dpr(DisconnectCause::REBOOTING), t5);
        assert!(
            matches!(d.step(t0, 0, 2), Step::Wait),
            "forwarded ones count"
        );
        assert!(matches!(d.step(t5, 0, 2), Step::GiveUp));
        assert!(
            matches!(d.step(t5, 0, 2), Step::Wait),
            "no DPR before the owner answered them"
        );
        d.answered();
        // Handlers still running do not hold it any longer.
        assert_eq!(dpr(d.step(t5, 0, 1)), Some(DisconnectCause::REBOOTING));
        // Answered in time: no give-up.
        let mut d = Drain::new(Then::Dpr(DisconnectCause::REBOOTING), t5);
        assert!(matches!(d.step(t0, 0, 1), Step::Wait));
        assert!(matches!(d.step(t0, 0, 0), Step::Done(_)));
    }

    #[test]
    fn a_held_dpr_is_handed_on_once_nothing_is_owed() {
        let t0 = Instant::now();
        let dpr_msg = diameter_core::MessageBuilder::request(282, 0, false).build();
        let then = Then::Dpa {
            conn: ConnId(7),
            dpr: dpr_msg,
        };
        let mut d = Drain::new(then, t0 + Duration::from_secs(1));
        assert!(matches!(d.step(t0, 0, 4), Step::Wait));
        assert!(matches!(
            d.step(t0, 0, 0),
            Step::Done(Then::Dpa {
                conn: ConnId(7),
                ..
            })
        ));
    }
}
