//! The reacting node (RFC 7683 §5.2.2, §6.3): overload control states (OCS) per
//! application and reporting host or realm, created and updated by the OC-OLRs of
//! answers (sequence numbers only increase), expiring with their validity, and the loss
//! algorithm's decision whether a new request is throttled (a random draw passed in).

use std::time::Instant;

use diameter_core::generated::doic::OcReportType;

use super::wire::{MAX_STATES, OverloadReport};

/// What an overload control state covers (§5.2.1.1): the requests of one application to
/// one host or one realm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// HOST_REPORT: the reporting host (the answer's Origin-Host).
    Host,
    /// REALM_REPORT: the reporting realm (the answer's Origin-Realm).
    Realm,
}

/// One overload control state of a reacting node (§5.2.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverloadState {
    /// Application-Id of the answers that carried the report.
    pub application: u32,
    /// Host or realm.
    pub scope: Scope,
    /// The host's or realm's name, lower case.
    pub name: Box<str>,
    /// OC-Sequence-Number of the report in force.
    pub sequence: u64,
    /// OC-Reduction-Percentage in force (0 once the condition ended: the state is kept
    /// until it expires so that older reports arriving late stay ignored).
    pub reduction: u32,
    /// End of the validity, counted from the first reception of this sequence number.
    pub expires: Instant,
}

/// What [`ReactingState::on_report`] did with a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReportOutcome {
    /// A new overload control state.
    Created,
    /// A newer report replaced the state in force.
    Updated,
    /// The report ended the overload condition (validity or reduction 0).
    Ended,
    /// Not newer than the state in force (§5.2.1.3: sequence numbers only increase).
    Stale,
    /// The report names no host or realm (the answer had no Origin-Host/Origin-Realm).
    NoOrigin,
}

/// Where a request is going, as the reacting node matches it against its states.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    /// The request's Application-Id.
    pub application: u32,
    /// Destination-Host: a host-routed request.
    pub destination_host: Option<&'a str>,
    /// Destination-Realm.
    pub destination_realm: Option<&'a str>,
    /// The peer the request goes to: a realm-routed request sent straight to an
    /// overloaded host is known to reach it, so that host's report applies (§5.2.2).
    pub next_hop: &'a str,
}

/// The overload control states of a reacting node (§5.2.1.1), one per application and
/// reporting host or realm. Few at a time: a list scanned linearly.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReactingState {
    states: Vec<OverloadState>,
}

impl ReactingState {
    /// Applies a received report from the answer of `application` sent by `origin_host`
    /// of `origin_realm`.
    pub(crate) fn on_report(
        &mut self,
        now: Instant,
        application: u32,
        origin_host: Option<&str>,
        origin_realm: Option<&str>,
        report: &OverloadReport,
    ) -> ReportOutcome {
        self.expire(now);
        let (scope, name) = if report.report_type == OcReportType::REALM_REPORT {
            (Scope::Realm, origin_realm)
        } else {
            (Scope::Host, origin_host)
        };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return ReportOutcome::NoOrigin;
        };
        let existing = self.states.iter_mut().find(|s| {
            s.application == application && s.scope == scope && s.name.eq_ignore_ascii_case(name)
        });
        match existing {
            Some(s) if report.sequence <= s.sequence => ReportOutcome::Stale,
            Some(s) => {
                s.sequence = report.sequence;
                if report.ends_overload() {
                    // Kept with no reduction until the old validity ends, so that an older
                    // report still on its way cannot revive it.
                    s.reduction = 0;
                    ReportOutcome::Ended
                } else {
                    s.reduction = report.reduction;
                    s.expires = now + report.validity;
                    ReportOutcome::Updated
                }
            }
            None if report.ends_overload() => ReportOutcome::Ended,
            None => {
                // Peers choose Origin-Host and Origin-Realm: a bound on the states keeps
                // a peer that invents names from growing them without end; the state
                // that would end first makes room.
                if self.states.len() >= MAX_STATES {
                    if let Some(i) = (0..self.states.len()).min_by_key(|&i| self.states[i].expires)
                    {
                        self.states.swap_remove(i);
                    }
                }
                self.states.push(OverloadState {
                    application,
                    scope,
                    name: name.to_ascii_lowercase().into(),
                    sequence: report.sequence,
                    reduction: report.reduction,
                    expires: now + report.validity,
                });
                ReportOutcome::Created
            }
        }
    }

    /// Forgets states whose validity ended (§5.2.1.3).
    pub(crate) fn expire(&mut self, now: Instant) {
        self.states.retain(|s| s.expires > now);
    }

    /// The reduction percentages that apply to a request: its host's (host-routed to it,
    /// or realm-routed with it as the next hop) and its realm's (realm-routed only).
    pub(crate) fn reductions(&mut self, now: Instant, target: &Target<'_>) -> (u32, u32) {
        self.expire(now);
        let (mut host, mut realm) = (0, 0);
        for s in &self.states {
            if s.application != target.application {
                continue;
            }
            match s.scope {
                Scope::Host => {
                    let to = target.destination_host.unwrap_or(target.next_hop);
                    if s.name.eq_ignore_ascii_case(to) {
                        host = s.reduction;
                    }
                }
                Scope::Realm => {
                    if target.destination_host.is_none()
                        && target
                            .destination_realm
                            .is_some_and(|r| s.name.eq_ignore_ascii_case(r))
                    {
                        realm = s.reduction;
                    }
                }
            }
        }
        (host, realm)
    }

    /// The loss algorithm (§6.3): whether to throttle a request, given `random`, a
    /// uniformly distributed number. A request under both a host and a realm report
    /// survives both: it passes with probability (1 − host) × (1 − realm).
    pub(crate) fn throttle(&mut self, now: Instant, target: &Target<'_>, random: u32) -> bool {
        let (host, realm) = self.reductions(now, target);
        if host == 0 && realm == 0 {
            return false;
        }
        let pass = u64::from(100 - host.min(100)) * u64::from(100 - realm.min(100));
        // `random` scaled to 0..10_000; the lowest draws, the throttled share, are shed.
        let draw = (u64::from(random) * 10_000) >> 32;
        draw < 10_000 - pass
    }

    /// The states (for introspection and tests).
    pub(crate) fn states(&self) -> &[OverloadState] {
        &self.states
    }

    /// Whether there is no state.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// How many states there are.
    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }
}
