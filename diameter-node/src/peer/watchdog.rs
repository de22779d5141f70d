//! The transport failure detection of RFC 6733 §5.5, which is the watchdog algorithm of
//! RFC 3539 §3.4.1 with DWR/DWA as the watchdog messages.
//!
//! | state   | event                         | action                                | next    |
//! |---------|-------------------------------|---------------------------------------|---------|
//! | INITIAL | connection up                 | SetWatchdog                           | OKAY    |
//! | OKAY    | receive DWA                   | Pending = false, SetWatchdog          | OKAY    |
//! | OKAY    | receive non-DWA               | SetWatchdog                           | OKAY    |
//! | OKAY    | timer & !Pending              | SendWatchdog, SetWatchdog, Pending    | OKAY    |
//! | OKAY    | timer & Pending               | Failover, SetWatchdog                 | SUSPECT |
//! | OKAY    | connection down               | Failover                              | DOWN    |
//! | SUSPECT | receive DWA                   | Pending = false, Failback, SetWatchdog| OKAY    |
//! | SUSPECT | receive non-DWA               | Failback, SetWatchdog                 | OKAY    |
//! | SUSPECT | timer                         | CloseConnection                       | DOWN    |
//! | SUSPECT | connection down               | CloseConnection                       | DOWN    |
//! | DOWN    | connection up                 | NumDWA = 0, SendWatchdog, SetWatchdog, Pending | REOPEN |
//! | REOPEN  | receive DWA & NumDWA < 2      | Pending = false, NumDWA++             | REOPEN  |
//! | REOPEN  | receive DWA & NumDWA == 2     | Pending = false, Failback             | OKAY    |
//! | REOPEN  | receive non-DWA               | Throwaway                             | REOPEN  |
//! | REOPEN  | timer & !Pending              | SendWatchdog, SetWatchdog, Pending    | REOPEN  |
//! | REOPEN  | timer & Pending & NumDWA < 0  | CloseConnection                       | DOWN    |
//! | REOPEN  | timer & Pending & NumDWA >= 0 | NumDWA = -1, SetWatchdog              | REOPEN  |
//! | REOPEN  | connection down               | CloseConnection                       | DOWN    |
//!
//! So a connection that comes back after a failure carries traffic again only after three
//! DWAs; a clean close (DPR/DPA, §5.4) returns the watchdog to INITIAL instead of DOWN.
//! DOWN's "timer: AttemptOpen" is the peer's reconnect timer (§2.1 Tc, with backoff), not
//! this one. SetWatchdog arms Tw = TwInit ± jitter (RFC 3539: 2 s), drawn from the
//! injected RNG so tests are deterministic.

use std::time::{Duration, Instant};

use rand::Rng;

/// RFC 3539 §3.4.1 watchdog states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchdogState {
    /// No connection was ever up (or the last one closed cleanly).
    Initial,
    /// The connection answers.
    Okay,
    /// A DWR went unanswered for Tw: traffic should fail over (§5.5.4).
    Suspect,
    /// The connection failed.
    Down,
    /// A connection is back after a failure and must answer three DWRs first.
    Reopen,
}

/// What the watchdog asks its peer to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WatchdogAction {
    /// Send a DWR.
    SendDwr,
    /// The connection became unusable for new requests (OKAY → SUSPECT).
    Failover,
    /// The connection is usable again (SUSPECT/REOPEN → OKAY).
    Failback,
    /// Close the connection: the peer is considered down.
    CloseConnection,
}

/// The RFC 3539 watchdog of one peer.
#[derive(Clone, Debug)]
pub(crate) struct Watchdog {
    state: WatchdogState,
    pending: bool,
    num_dwa: i32,
    deadline: Option<Instant>,
    tw: Duration,
    jitter: Duration,
}

impl Watchdog {
    /// A watchdog with TwInit `tw` and uniform jitter of ± `jitter`.
    pub(crate) fn new(tw: Duration, jitter: Duration) -> Self {
        Self {
            state: WatchdogState::Initial,
            pending: false,
            num_dwa: 0,
            deadline: None,
            tw,
            jitter,
        }
    }

    /// The current state.
    pub(crate) fn state(&self) -> WatchdogState {
        self.state
    }

    /// When the watchdog timer fires, if armed.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether new requests may use the connection (OKAY only; SUSPECT fails over and
    /// REOPEN is still on probation).
    pub(crate) fn is_available(&self) -> bool {
        self.state == WatchdogState::Okay
    }

    fn set_watchdog(&mut self, now: Instant, rng: &mut impl Rng) {
        let jitter = self.jitter.as_nanos().min(self.tw.as_nanos() / 2) as i128;
        let offset = if jitter > 0 {
            rng.random_range(-jitter..=jitter)
        } else {
            0
        };
        let tw = (self.tw.as_nanos() as i128 + offset).max(1) as u64;
        self.deadline = Some(now + Duration::from_nanos(tw));
    }

    /// The connection completed CER/CEA.
    pub(crate) fn connection_up(
        &mut self,
        now: Instant,
        rng: &mut impl Rng,
    ) -> Option<WatchdogAction> {
        match self.state {
            WatchdogState::Down | WatchdogState::Reopen | WatchdogState::Suspect => {
                self.state = WatchdogState::Reopen;
                self.num_dwa = 0;
                self.pending = true;
                self.set_watchdog(now, rng);
                Some(WatchdogAction::SendDwr)
            }
            WatchdogState::Initial | WatchdogState::Okay => {
                self.state = WatchdogState::Okay;
                self.pending = false;
                self.set_watchdog(now, rng);
                None
            }
        }
    }

    /// The connection failed (not a clean DPR/DPA close).
    pub(crate) fn connection_down(&mut self) -> Option<WatchdogAction> {
        let was = self.state;
        self.state = WatchdogState::Down;
        self.pending = false;
        self.deadline = None;
        match was {
            WatchdogState::Okay => Some(WatchdogAction::Failover),
            _ => None,
        }
    }

    /// The connection closed cleanly (DPR/DPA): the next one starts from INITIAL.
    pub(crate) fn reset(&mut self) {
        self.state = WatchdogState::Initial;
        self.pending = false;
        self.num_dwa = 0;
        self.deadline = None;
    }

    /// A DWA arrived.
    pub(crate) fn on_dwa(&mut self, now: Instant, rng: &mut impl Rng) -> Option<WatchdogAction> {
        match self.state {
            WatchdogState::Okay => {
                self.pending = false;
                self.set_watchdog(now, rng);
                None
            }
            WatchdogState::Suspect => {
                self.pending = false;
                self.state = WatchdogState::Okay;
                self.set_watchdog(now, rng);
                Some(WatchdogAction::Failback)
            }
            WatchdogState::Reopen => {
                if !self.pending {
                    // An unsolicited DWA proves nothing.
                    return None;
                }
                self.pending = false;
                if self.num_dwa >= 2 {
                    self.state = WatchdogState::Okay;
                    self.set_watchdog(now, rng);
                    Some(WatchdogAction::Failback)
                } else {
                    self.num_dwa += 1;
                    None
                }
            }
            WatchdogState::Initial | WatchdogState::Down => None,
        }
    }

    /// Any other message arrived. Returns `false` when RFC 3539 says to throw it away
    /// (REOPEN), with the action to take.
    pub(crate) fn on_non_dwa(
        &mut self,
        now: Instant,
        rng: &mut impl Rng,
    ) -> (bool, Option<WatchdogAction>) {
        match self.state {
            WatchdogState::Okay => {
                self.set_watchdog(now, rng);
                (true, None)
            }
            WatchdogState::Suspect => {
                self.state = WatchdogState::Okay;
                self.set_watchdog(now, rng);
                (true, Some(WatchdogAction::Failback))
            }
            WatchdogState::Reopen => (false, None),
            WatchdogState::Initial | WatchdogState::Down => (true, None),
        }
    }

    /// The watchdog timer fired (the caller checks [`Self::deadline`]).
    pub(crate) fn on_timeout(
        &mut self,
        now: Instant,
        rng: &mut impl Rng,
    ) -> Option<WatchdogAction> {
        self.deadline = None;
        match self.state {
            WatchdogState::Okay if !self.pending => {
                self.pending = true;
                self.set_watchdog(now, rng);
                Some(WatchdogAction::SendDwr)
            }
            WatchdogState::Okay => {
                self.state = WatchdogState::Suspect;
                self.set_watchdog(now, rng);
                Some(WatchdogAction::Failover)
            }
            WatchdogState::Suspect => {
                self.state = WatchdogState::Down;
                self.pending = false;
                Some(WatchdogAction::CloseConnection)
            }
            WatchdogState::Reopen if !self.pending => {
                self.pending = true;
                self.set_watchdog(now, rng);
                Some(WatchdogAction::SendDwr)
            }
            WatchdogState::Reopen if self.num_dwa < 0 => {
                self.state = WatchdogState::Down;
                self.pending = false;
                Some(WatchdogAction::CloseConnection)
            }
            WatchdogState::Reopen => {
                self.num_dwa = -1;
                self.set_watchdog(now, rng);
                None
            }
            WatchdogState::Initial | WatchdogState::Down => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn setup() -> (Watchdog, StdRng, Instant) {
        (
            Watchdog::new(Duration::from_secs(30), Duration::from_secs(2)),
            StdRng::seed_from_u64(7),
            Instant::now(),
        )
    }

    #[test]
    fn jitter_stays_within_two_seconds() {
        let (mut w, mut rng, t0) = setup();
        for _ in 0..100 {
            w.connection_up(t0, &mut rng);
            let tw = w.deadline().unwrap() - t0;
            assert!(
                tw >= Duration::from_secs(28) && tw <= Duration::from_secs(32),
                "{tw:?}"
            );
        }
    }

    #[test]
    fn unanswered_dwrs_go_suspect_then_down() {
        let (mut w, mut rng, t0) = setup();
        assert_eq!(w.connection_up(t0, &mut rng), None);
        assert_eq!(w.state(), WatchdogState::Okay);
        let t1 = w.deadline().unwrap();
        assert_eq!(w.on_timeout(t1, &mut rng), Some(WatchdogAction::SendDwr));
        let t2 = w.deadline().unwrap();
        assert_eq!(w.on_timeout(t2, &mut rng), Some(WatchdogAction::Failover));
        assert_eq!(w.state(), WatchdogState::Suspect);
        assert!(!w.is_available());
        let t3 = w.deadline().unwrap();
        assert_eq!(
            w.on_timeout(t3, &mut rng),
            Some(WatchdogAction::CloseConnection)
        );
        assert_eq!(w.state(), WatchdogState::Down);
    }

    #[test]
    fn suspect_recovers_on_any_message() {
        let (mut w, mut rng, t0) = setup();
        w.connection_up(t0, &mut rng);
        w.on_timeout(w.deadline().unwrap(), &mut rng);
        w.on_timeout(w.deadline().unwrap(), &mut rng);
        assert_eq!(w.state(), WatchdogState::Suspect);
        assert_eq!(
            w.on_non_dwa(t0, &mut rng),
            (true, Some(WatchdogAction::Failback))
        );
        assert_eq!(w.state(), WatchdogState::Okay);
    }

    #[test]
    fn reopen_needs_three_dwas() {
        let (mut w, mut rng, t0) = setup();
        w.connection_up(t0, &mut rng);
        w.connection_down();
        assert_eq!(w.connection_up(t0, &mut rng), Some(WatchdogAction::SendDwr));
        assert_eq!(w.state(), WatchdogState::Reopen);
        assert_eq!(w.on_non_dwa(t0, &mut rng), (false, None));
        for round in 0..3 {
            assert_eq!(w.state(), WatchdogState::Reopen, "round {round}");
            if round > 0 {
                assert_eq!(
                    w.on_timeout(w.deadline().unwrap(), &mut rng),
                    Some(WatchdogAction::SendDwr)
                );
            }
            let expect = (round == 2).then_some(WatchdogAction::Failback);
            assert_eq!(w.on_dwa(t0, &mut rng), expect);
        }
        assert_eq!(w.state(), WatchdogState::Okay);
    }

    #[test]
    fn reopen_gives_up_after_two_silent_periods() {
        let (mut w, mut rng, t0) = setup();
        w.connection_up(t0, &mut rng);
        w.connection_down();
        w.connection_up(t0, &mut rng);
        assert_eq!(w.on_timeout(w.deadline().unwrap(), &mut rng), None);
        assert_eq!(
            w.on_timeout(w.deadline().unwrap(), &mut rng),
            Some(WatchdogAction::CloseConnection)
        );
        assert_eq!(w.state(), WatchdogState::Down);
    }
}
