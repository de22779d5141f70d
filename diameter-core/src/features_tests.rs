//! Cargo features are additive: turning one on never changes the typed command a message
//! decodes to. These tests run under every feature set CI builds (`scripts/features`), so
//! the same assertions hold with `credit_control` alone, with `gy` (TS 32.299's CCR, which
//! refines RFC 4006's in the same application) and with `all`.

use bytes::Bytes;

use crate::Message;
use crate::generated::{TypedMessage, decode_typed};

/// The Gy CCR-I of the benchmarks (application 4, 3GPP Service-Information inside).
fn ccr() -> Message {
    let hex = include_str!("../tests/data/ccr.hex");
    Message::decode(Bytes::from(crate::dump::parse_hex(hex.trim()).unwrap())).unwrap()
}

/// A NASREQ (application 1) STR: base defines STR too, for applications without their own.
fn nasreq_str() -> Message {
    use crate::typed::Command;
    let mut str_ = crate::generated::base::SessionTerminationRequest {
        session_id: "client.example;1;1".into(),
        origin_host: "client.example".into(),
        origin_realm: "example".into(),
        destination_realm: "example".into(),
        auth_application_id: 1,
        termination_cause: 1.into(),
        ..Default::default()
    };
    str_.header.application_id = 1;
    Message::decode(str_.to_bytes()).unwrap()
}

#[test]
fn a_credit_control_request_decodes_to_rfc_4006s_command_whatever_else_is_on() {
    let typed = decode_typed(&ccr()).unwrap();
    // RFC 4006's CCR is compiled by `credit_control`, and by `gy` (whose TS 32.299 CCR
    // refines it), and by `all`.
    #[cfg(any(feature = "credit_control", feature = "gy"))]
    assert!(
        matches!(typed, TypedMessage::CreditControlCreditControlRequest(_)),
        "{}",
        typed.name()
    );
    #[cfg(not(any(feature = "credit_control", feature = "gy")))]
    assert!(
        matches!(typed, TypedMessage::Generic(_)),
        "{}",
        typed.name()
    );
}

/// `gy` compiles TS 32.299's CCR and, with it, RFC 4006's: the dispatch stays RFC 4006's
/// and the Ro type is decoded by naming it.
#[cfg(feature = "gy")]
#[test]
fn gy_decodes_the_ro_ccr_by_name() {
    use crate::typed::Command;
    let msg = ccr();
    assert!(matches!(
        decode_typed(&msg).unwrap(),
        TypedMessage::CreditControlCreditControlRequest(_)
    ));
    let ro = crate::generated::ts32299::CreditControlRequest::decode(&msg).unwrap();
    assert!(ro.service_information.is_some());
}

#[test]
fn an_application_s_own_command_never_falls_back_to_base() {
    let typed = decode_typed(&nasreq_str()).unwrap();
    #[cfg(feature = "nasreq")]
    assert!(
        matches!(typed, TypedMessage::NasreqSessionTerminationRequest(_)),
        "{}",
        typed.name()
    );
    // Without NASREQ compiled in, the STR stays generic: decoding it with base's ABNF now
    // would make turning `nasreq` on change its type.
    #[cfg(not(feature = "nasreq"))]
    assert!(
        matches!(typed, TypedMessage::Generic(_)),
        "{}",
        typed.name()
    );
}

#[test]
fn base_commands_are_always_typed() {
    use crate::typed::Command;
    let dwr = crate::generated::base::DeviceWatchdogRequest {
        origin_host: "client.example".into(),
        origin_realm: "example".into(),
        ..Default::default()
    };
    let typed = decode_typed(&Message::decode(dwr.to_bytes()).unwrap()).unwrap();
    assert!(matches!(typed, TypedMessage::BaseDeviceWatchdogRequest(_)));
}

/// Result-Code names come from the dictionaries compiled in: RFC 6733's always, RFC 8506's
/// 4012 with the module that defines it, whatever feature brought it in.
#[test]
fn result_code_names_follow_the_compiled_dictionaries() {
    use crate::ResultCode;
    assert_eq!(ResultCode(2001).name(), Some("DIAMETER_SUCCESS"));
    assert_eq!(ResultCode::DIAMETER_UNABLE_TO_COMPLY, ResultCode(5012));
    let compiled = |name: &str| {
        crate::generated::MODULES
            .iter()
            .flatten()
            .any(|m| m.name == name)
    };
    assert_eq!(
        ResultCode(4012).name(),
        compiled("credit_control").then_some("DIAMETER_CREDIT_LIMIT_REACHED")
    );
    assert_eq!(
        crate::dictionary::experimental_result_code_name(10415, 5420),
        compiled("ts29272").then_some("DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION")
    );
}
