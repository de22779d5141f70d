//! Result-Code and Experimental-Result-Code values generated from the dictionaries: the
//! per-module constants, `ResultCode`'s RFC 6733 constants (from base.xml), the name lookups
//! (generated `match`, module tables) and the text dump naming both kinds.

use diameter_core::dictionary;
use diameter_core::generated::{base, credit_control, ts29214, ts29229, ts29272};
use diameter_core::result_code::{ExperimentalResultCode, name_of};
use diameter_core::typed::AnswerResult;
use diameter_core::{AvpFlags, CommandFlags, Header, MessageBuilder, ResultCode};

#[test]
fn module_constants_carry_the_spec_values() {
    assert_eq!(
        credit_control::result_code::DIAMETER_CREDIT_LIMIT_REACHED,
        ResultCode(4012)
    );
    assert_eq!(
        credit_control::result_code::DIAMETER_USER_UNKNOWN,
        ResultCode(5030)
    );
    let eps = ts29272::result_code::DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION;
    assert_eq!((eps.vendor_id, eps.code), (10415, 5420));
    assert_eq!(
        ts29229::result_code::DIAMETER_FIRST_REGISTRATION,
        ExperimentalResultCode::new(10415, 2001)
    );
    assert!(ts29229::result_code::DIAMETER_FIRST_REGISTRATION.is_success());
    // TS 29.214's name with a hyphen becomes a constant with an underscore.
    assert_eq!(
        ts29214::result_code::IP_CAN_SESSION_NOT_AVAILABLE.name(),
        Some("IP-CAN_SESSION_NOT_AVAILABLE")
    );
}

#[test]
fn base_constants_come_from_base_xml() {
    assert_eq!(ResultCode::DIAMETER_SUCCESS, ResultCode(2001));
    assert_eq!(ResultCode::ELECTION_LOST, ResultCode(4003));
    assert_eq!(ResultCode::DIAMETER_NO_COMMON_SECURITY, ResultCode(5017));
    assert_eq!(
        base::result_code::DIAMETER_SUCCESS,
        ResultCode::DIAMETER_SUCCESS
    );
    assert_eq!(
        ResultCode::DIAMETER_MISSING_AVP.name(),
        Some("DIAMETER_MISSING_AVP")
    );
    assert_eq!(
        format!("{:?}", ResultCode(5005)),
        "DIAMETER_MISSING_AVP(5005)"
    );
}

#[test]
fn names_are_found_by_kind_and_vendor() {
    assert_eq!(
        ResultCode(4012).name(),
        Some("DIAMETER_CREDIT_LIMIT_REACHED")
    );
    assert_eq!(
        name_of(AnswerResult::Code(ResultCode(4012))),
        Some("DIAMETER_CREDIT_LIMIT_REACHED")
    );
    assert_eq!(
        name_of(AnswerResult::Experimental {
            vendor_id: 10415,
            code: 5420
        }),
        Some("DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION")
    );
    // 3GPP's 5001 is not the base protocol's 5001, and the other way round.
    assert_eq!(
        name_of(AnswerResult::Experimental {
            vendor_id: 10415,
            code: 5001
        }),
        Some("DIAMETER_ERROR_USER_UNKNOWN")
    );
    assert_eq!(ResultCode(5001).name(), Some("DIAMETER_AVP_UNSUPPORTED"));
    // No Result-Code 5420, no 3GPP 4012, nothing of vendor 0 or of an unknown vendor.
    assert_eq!(ResultCode(5420).name(), None);
    for (vendor_id, code) in [(10415, 4012), (0, 5420), (0, 2001), (99999, 5420)] {
        assert_eq!(
            name_of(AnswerResult::Experimental { vendor_id, code }),
            None
        );
    }
    assert_eq!(ResultCode(4999).name(), None);
    assert_eq!(format!("{:?}", ResultCode(4999)), "ResultCode(4999)");
}

#[test]
fn every_table_entry_is_found_by_the_generated_lookup() {
    let mut n = 0;
    for m in dictionary::modules() {
        assert!(
            m.result_codes
                .windows(2)
                .all(|w| (w[0].vendor, w[0].code) < (w[1].vendor, w[1].code)),
            "{}: result_codes not sorted by (vendor, code)",
            m.name
        );
        for r in m.result_codes {
            let found = if r.is_experimental() {
                dictionary::experimental_result_code_name(r.vendor, r.code)
            } else {
                dictionary::result_code_name(r.code)
            };
            // No two dictionaries name one value differently today.
            assert_eq!(found, Some(r.name), "{} ({})", r.name, r.spec);
            n += 1;
        }
    }
    assert!(n > 100, "only {n} result codes");
}

#[test]
fn experimental_result_code_converts_to_and_from_answer_result() {
    let eps = ts29272::result_code::DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION;
    let r: AnswerResult = eps.into();
    assert_eq!(
        r,
        AnswerResult::Experimental {
            vendor_id: 10415,
            code: 5420
        }
    );
    assert!(r == eps);
    assert_eq!(ExperimentalResultCode::try_from(r), Ok(eps));
    let code = AnswerResult::Code(credit_control::result_code::DIAMETER_CREDIT_LIMIT_REACHED);
    assert_eq!(ExperimentalResultCode::try_from(code), Err(code));
    assert!(code == ResultCode(4012));
    assert_eq!(
        eps.to_string(),
        "5420 DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION (vendor 10415)"
    );
    assert_eq!(
        format!("{eps:?}"),
        "DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION(5420, vendor 10415)"
    );
    assert_eq!(
        ExperimentalResultCode::new(99999, 5420).to_string(),
        "5420 (vendor 99999)"
    );
    assert_eq!(
        r.to_string(),
        "5420 DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION (Experimental-Result, vendor 10415)"
    );
    assert_eq!(code.to_string(), "4012 DIAMETER_CREDIT_LIMIT_REACHED");
}

#[test]
fn text_dump_names_result_codes() {
    let m = AvpFlags(AvpFlags::MANDATORY);
    let mut b = MessageBuilder::new(Header::new(272, 4, CommandFlags(CommandFlags::PROXIABLE)));
    b.result_code(4012);
    // Experimental-Result (297) { Vendor-Id, Experimental-Result-Code }, in either order.
    b.grouped(297, 0, m, |g| {
        g.avp(266, 0, m, &10415u32).avp(298, 0, m, &5420u32);
    });
    b.grouped(297, 0, m, |g| {
        g.avp(298, 0, m, &2001u32).avp(266, 0, m, &10415u32);
    });
    // Another vendor's code, and one without a Vendor-Id: no name.
    b.grouped(297, 0, m, |g| {
        g.avp(266, 0, m, &99999u32).avp(298, 0, m, &5420u32);
    });
    b.grouped(297, 0, m, |g| {
        g.avp(298, 0, m, &5421u32);
    });
    let text = diameter_core::dump::text(&b.build());
    for line in [
        "Result-Code (268) [-M-] Unsigned32: 4012 DIAMETER_CREDIT_LIMIT_REACHED\n",
        "Experimental-Result-Code (298) [-M-] Unsigned32: 5420 DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION\n",
        "Experimental-Result-Code (298) [-M-] Unsigned32: 2001 DIAMETER_FIRST_REGISTRATION\n",
        "Experimental-Result-Code (298) [-M-] Unsigned32: 5420\n",
        "Experimental-Result-Code (298) [-M-] Unsigned32: 5421\n",
        "Vendor-Id (266) [-M-] Unsigned32: 10415\n",
    ] {
        assert!(text.contains(line), "{line:?} missing in\n{text}");
    }
}
