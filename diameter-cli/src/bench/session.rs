//! `bench --scenario gy-session`: each worker runs Gy credit-control sessions as a PGW does
//! (RFC 4006 §5.1, TS 32.299 §6.4.2): a CCR-I, `--updates` CCR-U and a CCR-T on one
//! Session-Id, CC-Request-Number counting up, each update and the termination reporting
//! as used what the previous answer granted. An OCS is soaked with the state it keeps per
//! session (quota, request numbers), not with unrelated CCR-Is.

use anyhow::{Result, bail};
use diameter_core::Message;
use diameter_core::generated::base::TerminationCause;
use diameter_core::generated::credit_control::avp as cc;
use diameter_core::generated::credit_control::{
    CcRequestType, CreditControlRequest, UsedServiceUnit,
};
use diameter_core::typed::Command;

/// The CCR every step starts from (the filled template), typed.
#[derive(Clone)]
pub(super) struct GySession {
    base: CreditControlRequest,
}

/// One step of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Initial,
    Update(u32),
    Termination(u32),
}

impl Step {
    /// The step after this one, in a session of `updates` CCR-Us; `None` after the CCR-T.
    pub(super) fn next(self, updates: u32) -> Option<Step> {
        match self {
            Step::Initial if updates == 0 => Some(Step::Termination(1)),
            Step::Initial => Some(Step::Update(1)),
            Step::Update(n) if n < updates => Some(Step::Update(n + 1)),
            Step::Update(n) => Some(Step::Termination(n + 1)),
            Step::Termination(_) => None,
        }
    }
}

impl GySession {
    /// From the filled template, which must be a Credit-Control-Request.
    pub(super) fn new(template: &Message) -> Result<Self> {
        if template.code() != CreditControlRequest::CODE {
            bail!(
                "--scenario gy-session needs a Credit-Control-Request template (command 272), \
                 not command {}",
                template.code()
            );
        }
        let base = CreditControlRequest::decode(template)
            .map_err(|e| anyhow::anyhow!("the template is not a valid CCR: {e}"))?;
        Ok(Self { base })
    }

    /// The request of `step` in session `session_id`, reporting `used` octets (what the
    /// previous answer granted) in its first Multiple-Services-Credit-Control, or at the top
    /// level when the template has none.
    pub(super) fn request(&self, session_id: &str, step: Step, used: Option<u64>) -> Message {
        let mut ccr = self.base.clone();
        ccr.session_id = session_id.into();
        let (kind, number) = match step {
            Step::Initial => (CcRequestType::INITIAL_REQUEST, 0),
            Step::Update(n) => (CcRequestType::UPDATE_REQUEST, n),
            Step::Termination(n) => (CcRequestType::TERMINATION_REQUEST, n),
        };
        ccr.cc_request_type = kind;
        ccr.cc_request_number = number;
        let usage = used.map(|octets| UsedServiceUnit {
            cc_total_octets: Some(octets),
            ..Default::default()
        });
        if let Step::Termination(_) = step {
            ccr.termination_cause = Some(TerminationCause::DIAMETER_LOGOUT);
            ccr.requested_service_unit = None;
        }
        match ccr.multiple_services_credit_control.first_mut() {
            Some(mscc) => {
                if let Step::Termination(_) = step {
                    mscc.requested_service_unit = None;
                }
                mscc.used_service_unit = usage.into_iter().collect();
            }
            None => ccr.used_service_unit = usage.into_iter().collect(),
        }
        ccr.to_message()
    }
}

/// CC-Total-Octets granted by an answer: in its first Multiple-Services-Credit-Control's
/// Granted-Service-Unit, else in a top-level Granted-Service-Unit.
pub(super) fn granted_octets(answer: &Message) -> Option<u64> {
    let in_mscc = [
        cc::MULTIPLE_SERVICES_CREDIT_CONTROL,
        cc::GRANTED_SERVICE_UNIT,
        cc::CC_TOTAL_OCTETS,
    ];
    let top = [cc::GRANTED_SERVICE_UNIT, cc::CC_TOTAL_OCTETS];
    let avp = answer
        .find_path(&in_mscc)
        .or_else(|| answer.find_path(&top))?;
    <[u8; 8]>::try_from(avp.data).ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::dump;

    fn session() -> GySession {
        let template = dump::from_json(&crate::requests::default_ccr()).unwrap();
        let fill = crate::requests::Fill {
            origin_host: "pgw.example.org",
            origin_realm: "example.org",
            destination_realm: "example.org",
            destination_host: None,
            application_id: Some(4),
        };
        GySession::new(&crate::requests::fill(&template, &fill, "x;0")).unwrap()
    }

    #[test]
    fn steps_count_up_and_end_with_the_termination() {
        let mut steps = vec![Step::Initial];
        while let Some(s) = steps.last().unwrap().next(2) {
            steps.push(s);
        }
        assert_eq!(
            steps,
            [
                Step::Initial,
                Step::Update(1),
                Step::Update(2),
                Step::Termination(3)
            ]
        );
        assert_eq!(Step::Initial.next(0), Some(Step::Termination(1)));
    }

    #[test]
    fn requests_carry_type_number_and_usage() {
        let s = session();
        let u =
            CreditControlRequest::decode(&s.request("a;1", Step::Update(2), Some(500))).unwrap();
        assert_eq!(u.session_id.as_str(), "a;1");
        assert_eq!(u.cc_request_type, CcRequestType::UPDATE_REQUEST);
        assert_eq!(u.cc_request_number, 2);
        let used: Vec<Option<u64>> = u
            .multiple_services_credit_control
            .iter()
            .flat_map(|m| m.used_service_unit.iter().map(|x| x.cc_total_octets))
            .chain(u.used_service_unit.iter().map(|x| x.cc_total_octets))
            .collect();
        assert_eq!(used, [Some(500)]);
        let t =
            CreditControlRequest::decode(&s.request("a;1", Step::Termination(3), None)).unwrap();
        assert_eq!(t.cc_request_type, CcRequestType::TERMINATION_REQUEST);
        assert_eq!(t.termination_cause, Some(TerminationCause::DIAMETER_LOGOUT));
        assert!(t.requested_service_unit.is_none());
    }
}
