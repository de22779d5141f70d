//! Timers of the peer state machine as data (quinn-proto's `TimerTable` shape): each
//! [`Timer`] has at most one deadline; the driver sleeps until [`TimerTable::next_timeout`]
//! and hands expiry back through `Peer::handle_timeout(now)`.

use std::time::Instant;

/// Every timer the peer core arms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Timer {
    /// Wait-Conn-Ack and Wait-Conn-Ack/Elect: the transport connection attempt takes too
    /// long (RFC 6733 §5.6 "Timeout" row, action Error).
    Connect,
    /// Wait-I-CEA and Wait-Returns: no CEA arrived (§5.6 "Timeout" row).
    Cea,
    /// Closing: no DPA and no disconnection arrived (§5.6 "Timeout" row).
    Dpa,
    /// RFC 3539 §3.4.1 watchdog timer Tw (with jitter).
    Watchdog,
    /// Closed, persistent peer: the next connection attempt (§2.1 Tc, with exponential
    /// backoff and jitter).
    Reconnect,
}

impl Timer {
    const ALL: [Self; 5] = [
        Self::Connect,
        Self::Cea,
        Self::Dpa,
        Self::Watchdog,
        Self::Reconnect,
    ];

    const fn index(self) -> usize {
        match self {
            Self::Connect => 0,
            Self::Cea => 1,
            Self::Dpa => 2,
            Self::Watchdog => 3,
            Self::Reconnect => 4,
        }
    }
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; 5],
}

impl TimerTable {
    /// Arms `timer` to fire at `at`, replacing any earlier deadline.
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.data[timer.index()] = Some(at);
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.data[timer.index()] = None;
    }

    /// Disarms every timer.
    pub(crate) fn stop_all(&mut self) {
        self.data = [None; 5];
    }

    /// The deadline of `timer`, if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer.index()]
    }

    /// The earliest deadline of all armed timers.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }

    /// Disarms and returns one timer whose deadline is at or before `now`, earliest first.
    pub(crate) fn expire(&mut self, now: Instant) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .filter(|t| self.get(*t).is_some_and(|at| at <= now))
            .min_by_key(|t| self.get(*t))?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expires_earliest_first() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::Watchdog, t0 + Duration::from_secs(2));
        table.set(Timer::Cea, t0 + Duration::from_secs(1));
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(table.expire(t0), None);
        let later = t0 + Duration::from_secs(3);
        assert_eq!(table.expire(later), Some(Timer::Cea));
        assert_eq!(table.expire(later), Some(Timer::Watchdog));
        assert_eq!(table.expire(later), None);
        assert_eq!(table.next_timeout(), None);
    }
}
