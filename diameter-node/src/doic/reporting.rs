//! The reporting node (RFC 7683 §5.2.3, §6.2): the overload condition to report and the
//! sequence numbering of its reports (a new number for every change, re-issued at half
//! its validity, ending reports with validity 0 while the last one could be in force).

use std::time::{Duration, Instant};

use diameter_core::generated::doic::OcReportType;

use super::wire::{MAX_VALIDITY, OverloadReport};

/// An overload condition a reporting node reports (the loss algorithm's parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Overload {
    /// OC-Reduction-Percentage, 1..=100.
    pub reduction: u32,
    /// OC-Validity-Duration, 1 s..=86,400 s.
    pub validity: Duration,
}

impl Overload {
    /// An overload condition, with the reduction capped at 100 and the validity within
    /// 1 s..=86,400 s (whole seconds on the wire). `None` for a reduction of 0, which is
    /// no overload (§7.7).
    pub(crate) fn new(reduction: u32, validity: Duration) -> Option<Self> {
        (reduction > 0).then(|| Self {
            reduction: reduction.min(100),
            validity: validity.clamp(Duration::from_secs(1), MAX_VALIDITY),
        })
    }
}

/// The reporting node's side (§5.2.1.2, §5.2.3): turns the overload condition wanted at a
/// given time into the OC-OLR to send, with a sequence number that increases on every
/// change.
#[derive(Clone, Debug)]
pub(crate) struct Reporter {
    report_type: OcReportType,
    sequence: u64,
    current: Option<Overload>,
    /// When `sequence` was issued.
    issued: Instant,
    /// After an overload ended: until when the ending report is sent.
    ended_until: Option<Instant>,
}

impl Reporter {
    /// A reporter of `report_type` whose next sequence number follows `sequence`. Start it
    /// from the wall clock so that numbers keep increasing across restarts (§7.4: a
    /// "nonvolatile increasing counter").
    pub(crate) fn new(report_type: OcReportType, sequence: u64, now: Instant) -> Self {
        Self {
            report_type,
            sequence,
            current: None,
            issued: now,
            ended_until: None,
        }
    }

    /// The OC-OLR for answers sent at `now` while the wanted condition is `wanted`.
    ///
    /// A change of condition takes a new sequence number. An unchanged one is re-issued
    /// with a new number once half its validity has passed: reacting nodes count the
    /// validity from the first reception of a sequence number (§7.5) and ignore repeats,
    /// so a lasting overload needs fresh numbers to stay in force. When the overload
    /// ends, answers carry a report with OC-Validity-Duration 0 (§7.5) for as long as the
    /// last report could be in force, then nothing.
    pub(crate) fn report(
        &mut self,
        now: Instant,
        wanted: Option<Overload>,
    ) -> Option<OverloadReport> {
        if wanted != self.current {
            self.sequence += 1;
            self.issued = now;
            self.ended_until = match (self.current, wanted) {
                (Some(previous), None) => Some(now + previous.validity),
                _ => None,
            };
            self.current = wanted;
        } else if let Some(o) = wanted {
            if now >= self.issued + o.validity / 2 {
                self.sequence += 1;
                self.issued = now;
            }
        }
        match self.current {
            Some(o) => Some(OverloadReport {
                sequence: self.sequence,
                report_type: self.report_type,
                reduction: o.reduction,
                validity: o.validity,
            }),
            None => match self.ended_until {
                Some(until) if now < until => Some(OverloadReport {
                    sequence: self.sequence,
                    report_type: self.report_type,
                    reduction: 0,
                    validity: Duration::ZERO,
                }),
                _ => {
                    self.ended_until = None;
                    None
                }
            },
        }
    }

    /// Whether an ending report is still being sent.
    pub(crate) fn ending(&self) -> bool {
        self.ended_until.is_some()
    }
}
