//! Validation policies (diameter_core::policy): the deviations real networks send inside
//! Grouped AVPs are refused with RFC 6733's Result-Code under the strict policy, and
//! accepted and counted under the tolerant one; what RFC 6733 requires of the message
//! itself is refused under both.

mod common;

use bytes::Bytes;
use diameter_core::data::DecodeCx;
use diameter_core::generated::credit_control::CreditControlRequest;
use diameter_core::typed::Command;
use diameter_core::validate::validate_counting;
use diameter_core::{AvpFlags, AvpKey, Message, MessageBuilder, Policy, Utf8String, validate};

const V3GPP: u32 = 10415;
const M: AvpFlags = AvpFlags(AvpFlags::MANDATORY);
const VM: AvpFlags = AvpFlags(AvpFlags::MANDATORY | AvpFlags::VENDOR);
const V: AvpFlags = AvpFlags(AvpFlags::VENDOR);

/// The sample Gy CCR-I (valid under both policies) with `more` appended.
fn ccr_with(more: impl FnOnce(&mut MessageBuilder)) -> Message {
    let base = Message::decode(common::hex_file("ccr.hex")).unwrap();
    let mut b = MessageBuilder::new(*base.header());
    for avp in base.avps() {
        b.raw_ref(&avp.unwrap());
    }
    more(&mut b);
    b.build()
}

fn tolerant() -> DecodeCx {
    DecodeCx::with_policy(Policy::Tolerant)
}

/// Strict: refused with `code`; tolerant: accepted with one deviation, whose Result-Code is
/// the strict one.
fn refused_then_tolerated(msg: &Message, code: u32) {
    let strict = validate(msg).unwrap_err();
    assert_eq!(strict.result_code(), code, "{strict}");
    assert!(strict.failed_avp().is_some());
    let dev = validate_counting(msg, tolerant()).unwrap();
    assert_eq!(dev.count, 1, "{dev:?}");
    assert_eq!(dev.first.unwrap().result_code(), code);
    // The strict validation of a valid message counts nothing.
    let clean = ccr_with(|_| {});
    assert!(validate_counting(&clean, tolerant()).unwrap().is_empty());
}

#[test]
fn supported_features_without_its_vendor_id() {
    let msg = ccr_with(|b| {
        b.grouped(628, V3GPP, V, |g| {
            g.avp(629, V3GPP, VM, &1u32); // Feature-List-ID
            g.avp(630, V3GPP, VM, &0x0000_0003u32); // Feature-List
        });
    });
    refused_then_tolerated(&msg, 5005);
}

#[test]
fn redirect_support_inside_redirect_server() {
    let msg = ccr_with(|b| {
        b.grouped(434, 0, M, |g| {
            g.avp(433, 0, M, &0i32); // Redirect-Address-Type IPv4
            g.add(AvpKey::new(435, 0), &Utf8String::from("192.0.2.1"));
            g.avp(1086, V3GPP, V, &1i32); // Redirect-Support, not in the ABNF
        });
    });
    refused_then_tolerated(&msg, 5008);
}

#[test]
fn more_flow_descriptions_than_the_abnf_allows() {
    let msg = ccr_with(|b| {
        b.grouped(519, V3GPP, VM, |g| {
            g.avp(509, V3GPP, VM, &1u32); // Flow-Number
            for rule in [
                "permit out 17 from 192.0.2.1 to 198.51.100.1",
                "permit in 17 from 198.51.100.1 to 192.0.2.1",
                "permit out 6 from 192.0.2.1 to 198.51.100.1",
            ] {
                // Flow-Description (IPFilterRule), 0*2 in Media-Sub-Component.
                g.avp(507, V3GPP, VM, &Utf8String::from(rule));
            }
        });
    });
    refused_then_tolerated(&msg, 5009);
}

#[test]
fn a_diameter_uri_that_does_not_parse() {
    let msg = ccr_with(|b| {
        b.grouped(618, V3GPP, VM, |g| {
            // Primary-Event-Charging-Function-Name: a DiameterURI, here not one.
            g.avp(619, V3GPP, VM, &Bytes::from_static(b"ecf.example.net:3868"));
        });
    });
    refused_then_tolerated(&msg, 5004);
}

#[test]
fn the_message_itself_stays_strict() {
    // An unknown AVP with the M bit inside a Grouped AVP: 5001 under both policies.
    let unknown = ccr_with(|b| {
        b.grouped(618, V3GPP, VM, |g| {
            g.avp(65_123, 0, M, &1u32);
        });
    });
    assert_eq!(validate(&unknown).unwrap_err().result_code(), 5001);
    let e = validate_counting(&unknown, tolerant()).unwrap_err();
    assert_eq!(e.result_code(), 5001);
    // A second Origin-Host at the message level: 5009 under both.
    let twice = ccr_with(|b| {
        b.avp(264, 0, M, &Utf8String::from("other.example.net"));
    });
    assert_eq!(
        validate_counting(&twice, tolerant())
            .unwrap_err()
            .result_code(),
        5009
    );
    // A message-level M-bit AVP with a value that does not fit its type: 5004 or 5014 under
    // both; the same without the M bit is a tolerated deviation.
    let bad_m = ccr_with(|b| {
        b.avp(415, 0, M, &Bytes::from_static(b"\x00\x01")); // CC-Request-Number, 2 bytes
    });
    assert!(validate_counting(&bad_m, tolerant()).is_err());
}

#[test]
fn typed_decoding_follows_the_policy() {
    // Two Requested-Service-Units in one Multiple-Services-Credit-Control (`[ RSU ]`): the
    // strict decoding refuses the message with 5009; the tolerant one keeps the first.
    let msg = ccr_with(|b| {
        b.grouped(456, 0, M, |g| {
            g.grouped(437, 0, M, |r| {
                r.avp(421, 0, M, &1000u64);
            });
            g.grouped(437, 0, M, |r| {
                r.avp(421, 0, M, &2000u64);
            });
            g.avp(432, 0, M, &7u32); // Rating-Group
        });
    });
    let strict = CreditControlRequest::decode(&msg).unwrap_err();
    assert_eq!(strict.result_code(), 5009);
    let ccr = CreditControlRequest::decode_avps(&msg, tolerant()).unwrap();
    let mscc = ccr
        .multiple_services_credit_control
        .iter()
        .find(|m| m.rating_group == Some(7))
        .expect("the added MSCC");
    assert_eq!(
        mscc.requested_service_unit
            .as_ref()
            .unwrap()
            .cc_total_octets,
        Some(1000)
    );
    // Nothing is lost on the way through: the second one is kept among the extras and
    // encoded again.
    let again = Message::decode(ccr.to_bytes()).unwrap();
    let rsus = again
        .avps()
        .flatten()
        .filter(|a| a.code == 456)
        .map(|m| m.children().flatten().filter(|a| a.code == 437).count())
        .max();
    assert_eq!(rsus, Some(2));
}
