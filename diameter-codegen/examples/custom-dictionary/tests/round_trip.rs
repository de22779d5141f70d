//! The user-generated types work with diameter-core like the built-in ones.

#![allow(clippy::field_reassign_with_default)] // typed messages built field by field, as users write them

use custom_dictionary_example::acme::{WidgetInfo, WidgetRequest, WidgetState};
use custom_dictionary_example::{TypedMessage, decode_typed};
use diameter_core::Message;
use diameter_core::generated::base::ProxyInfo;
use diameter_core::typed::Command;

#[test]
fn widget_request_round_trips() {
    let mut req = WidgetRequest::default();
    req.session_id = "client.example;1;2".into();
    req.origin_host = "client.example".into();
    req.origin_realm = "example".into();
    req.destination_realm = "acme.example".into();
    // A Grouped AVP that contains itself: its member is held as a `Lazy` (boxed).
    let part = WidgetInfo {
        widget_id: "w-1.1".into(),
        ..Default::default()
    };
    req.widget_info.push(WidgetInfo {
        widget_id: "w-1".into(),
        widget_state: Some(WidgetState::RUNNING),
        widget_info: Some(part.clone().into()),
        ..Default::default()
    });
    req.proxy_info.push(ProxyInfo {
        proxy_host: "proxy.example".into(),
        proxy_state: diameter_core::bytes::Bytes::from_static(b"st"),
        ..Default::default()
    });
    custom_dictionary_example::register();
    let msg = Message::decode(req.to_bytes()).unwrap();
    assert_eq!(msg.code(), 9999);
    assert_eq!(msg.application_id(), 16_777_999);
    diameter_core::validate(&msg).expect("valid against the registered ABNF");
    assert!(diameter_core::dump::text(&msg).contains("Widget-Id"));
    let back = WidgetRequest::decode(&msg).unwrap();
    assert_eq!(back, req);
    let inner = back.widget_info[0].widget_info.as_ref().unwrap();
    assert_eq!(inner.get().unwrap(), &part);
    assert_ne!(
        back.widget_info[0], part,
        "the part differs from its widget"
    );
    match decode_typed(&msg).unwrap() {
        TypedMessage::AcmeWidgetRequest(r) => assert_eq!(r, req),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn result_codes_are_named_once_registered() {
    use custom_dictionary_example::acme::result_code;
    use diameter_core::result_code::name_of;
    use diameter_core::typed::AnswerResult;

    assert_eq!(
        result_code::ACME_WIDGET_BUSY,
        diameter_core::ResultCode(4998)
    );
    let unknown = result_code::ACME_ERROR_UNKNOWN_WIDGET;
    assert_eq!((unknown.vendor_id, unknown.code), (99_999, 5998));
    // The generated lookups know them without registration...
    assert_eq!(
        custom_dictionary_example::experimental_result_code_name(99_999, 5998),
        Some("ACME_ERROR_UNKNOWN_WIDGET")
    );
    // ...and diameter-core's once the module is registered.
    custom_dictionary_example::register();
    assert_eq!(
        name_of(AnswerResult::Code(result_code::ACME_WIDGET_BUSY)),
        Some("ACME_WIDGET_BUSY")
    );
    assert_eq!(name_of(unknown.into()), Some("ACME_ERROR_UNKNOWN_WIDGET"));
    assert_eq!(
        diameter_core::ResultCode(4998).name(),
        Some("ACME_WIDGET_BUSY")
    );
}
