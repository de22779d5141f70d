//! A typed round trip for every command of every compiled-in dictionary: a sample message
//! with every ABNF rule filled (in ABNF order, default flags) decodes into its typed struct
//! and encodes back to the same bytes; it also passes validation.

mod common;

use diameter_core::generated::{TypedMessage, decode_typed};
use diameter_core::{Message, dictionary, validate};

#[test]
fn every_command_round_trips_typed() {
    let mut n = 0;
    let mut shadowed = Vec::new();
    for module in dictionary::modules() {
        for cmd in module.commands {
            // A definition that `decode_typed` does not pick for its (code, application):
            // TS 32.299's CCR/CCA, decoded by name, RFC 4006's being the one for
            // application 4 (commit 628890b).
            if !dictionary::command(cmd.code, cmd.application).is_some_and(|c| std::ptr::eq(c, cmd))
            {
                shadowed.push(format!("{}/{}", module.name, cmd.name));
                continue;
            }
            for request in [true, false] {
                let msg = common::sample_message(cmd, request);
                let name = format!(
                    "{}-{} ({}, app {})",
                    cmd.name,
                    if request { "Request" } else { "Answer" },
                    cmd.code,
                    cmd.application
                );
                let typed = decode_typed(&msg)
                    .unwrap_or_else(|e| panic!("{name}: typed decode failed: {e}"));
                assert!(
                    !matches!(typed, TypedMessage::Generic(_)),
                    "{name}: decoded as generic"
                );
                let bytes = typed.to_bytes();
                assert_eq!(bytes, msg.as_bytes(), "{name}: typed re-encode differs");
                if let Err(e) = validate(&msg) {
                    panic!(
                        "{name}: sample fails validation: {e} (Result-Code {})",
                        e.result_code()
                    );
                }
                let again = decode_typed(&Message::decode(bytes).unwrap()).unwrap();
                assert_eq!(again, typed, "{name}");
                n += 1;
            }
        }
    }
    assert!(n >= 14, "only {n} commands");
    assert_eq!(shadowed, ["ts32299/Credit-Control"]);
}

/// `TypedMessage`'s `PartialEq` (written per variant, not derived): a message equals only
/// itself among every command's sample, request and answer, and none equals the same bytes
/// left generic.
#[test]
fn typed_messages_equal_only_themselves() {
    let mut typed = Vec::new();
    for module in dictionary::modules() {
        for cmd in module.commands {
            if !dictionary::command(cmd.code, cmd.application).is_some_and(|c| std::ptr::eq(c, cmd))
            {
                continue;
            }
            for request in [true, false] {
                let msg = common::sample_message(cmd, request);
                typed.push(decode_typed(&msg).unwrap());
                typed.push(TypedMessage::Generic(msg));
            }
        }
    }
    for (i, a) in typed.iter().enumerate() {
        for (j, b) in typed.iter().enumerate() {
            assert_eq!(a == b, i == j, "{} / {}", a.name(), b.name());
        }
    }
}

/// Found by fuzzing: an AVP received with the V bit and Vendor-ID 0 (here inside
/// Service-Information) must re-encode with its Vendor-ID field, byte for byte.
#[test]
fn v_bit_with_vendor_zero_round_trips() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/regress-v-bit-vendor-0.bin"
    );
    let data = std::fs::read(path).unwrap();
    diameter_core::fuzzing::decode_typed(&data);
    diameter_core::fuzzing::decode_message(&data);
}

/// Found by fuzzing: flags that differ from the defaults, received in non-ABNF order, compare
/// equal after a typed re-encode (which writes in ABNF order).
#[test]
fn flag_records_ignore_avp_order() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/regress-flag-order.bin"
    );
    let data = std::fs::read(path).unwrap();
    diameter_core::fuzzing::decode_typed(&data);
}

/// Owned structs' `Debug` (generated through `typed::Fields`, not derived) is the text
/// `derive(Debug)` writes: fields in declaration order, a command's `header` first, `extra`
/// and `avp_flags` last, pretty-printed with `{:#?}` as the derive is.
#[test]
fn owned_debug_is_the_derived_text() {
    use diameter_core::generated::credit_control::GrantedServiceUnit;
    use diameter_core::generated::ts32299::CreditControlRequest;

    let g = GrantedServiceUnit {
        cc_time: Some(60),
        ..Default::default()
    };
    assert_eq!(
        format!("{g:?}"),
        "GrantedServiceUnit { tariff_time_change: None, cc_time: Some(60), cc_money: None, \
         cc_total_octets: None, cc_input_octets: None, cc_output_octets: None, \
         cc_service_specific_units: None, extra: [], avp_flags: FlagOverrides([]) }"
    );
    let pretty = format!("{g:#?}");
    assert!(
        pretty.starts_with("GrantedServiceUnit {\n    tariff_time_change: None,\n    cc_time: Some(\n        60,\n    ),\n"),
        "{pretty}"
    );

    let ccr = CreditControlRequest {
        cc_request_number: 7,
        ..Default::default()
    };
    let text = format!("{ccr:?}");
    assert!(
        text.starts_with("CreditControlRequest { header: Header { "),
        "{text}"
    );
    assert!(
        text.contains(", cc_request_number: 7, destination_host: None, "),
        "{text}"
    );
    assert!(
        text.ends_with(", extra: [], avp_flags: FlagOverrides([]) }"),
        "{text}"
    );
}
