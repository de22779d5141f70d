//! Table of malformed inputs, each yielding the right error and RFC 6733 §7.1 Result-Code
//! (with Failed-AVP where the RFC asks for one).

#![allow(clippy::field_reassign_with_default)] // typed messages built field by field, as users write them

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use diameter_core::generated::base::{CapabilitiesExchangeRequest, avp};
use diameter_core::typed::Command;
use diameter_core::{AvpFlags, AvpKey, DecodeError, ErrorKind, Message, MessageBuilder, validate};

/// A valid CER to mutate.
fn cer() -> Bytes {
    let mut c = CapabilitiesExchangeRequest::default();
    c.origin_host = "client.example.org".into();
    c.origin_realm = "example.org".into();
    c.host_ip_address
        .push("192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap().into());
    c.vendor_id = 0;
    c.product_name = "test".into();
    c.to_bytes()
}

/// Decode then validate: the first error either step reports.
fn check(bytes: Bytes) -> Result<Message, DecodeError> {
    let m = Message::decode(bytes)?;
    validate(&m)?;
    Ok(m)
}

fn with_avp(extra: &[u8]) -> Bytes {
    let mut b = BytesMut::from(&cer()[..]);
    b.put_slice(extra);
    let len = (b.len() as u32).to_be_bytes();
    b[1..4].copy_from_slice(&len[1..]);
    b.freeze()
}

fn code(r: Result<Message, DecodeError>) -> u32 {
    r.expect_err("must be rejected").result_code()
}

#[test]
fn valid_cer_passes() {
    check(cer()).unwrap();
}

#[test]
fn length_field_short_or_long() {
    let mut b = BytesMut::from(&cer()[..]);
    b[3] -= 4;
    assert_eq!(code(check(b.clone().freeze())), 5015);
    b[3] += 8;
    assert_eq!(code(check(b.freeze())), 5015);
}

#[test]
fn truncated_header() {
    assert_eq!(code(check(cer().slice(..12))), 5015);
    assert!(matches!(
        Message::decode(cer().slice(..12)).unwrap_err().kind,
        ErrorKind::Truncated { .. }
    ));
}

#[test]
fn version_two() {
    let mut b = BytesMut::from(&cer()[..]);
    b[0] = 2;
    assert_eq!(code(check(b.freeze())), 5011);
}

#[test]
fn e_bit_on_request() {
    let mut b = BytesMut::from(&cer()[..]);
    b[4] |= 0x20;
    assert_eq!(code(check(b.freeze())), 3008);
}

#[test]
fn avp_length_below_eight() {
    let e = check(with_avp(&[0, 0, 0, 1, 0, 0, 0, 4])).unwrap_err();
    assert_eq!(e.result_code(), 5014);
    assert_eq!(e.offset, cer().len());
    assert!(e.failed_avp().is_some());
}

#[test]
fn avp_overrunning_its_parent() {
    // Proxy-Info (284) whose member Proxy-Host claims 40 bytes inside a 20-byte group.
    let mut g = vec![0, 0, 1, 28, 0x40, 0, 0, 20];
    g.extend_from_slice(&[0, 0, 1, 24, 0x40, 0, 0, 40, b'a', b'b', b'c', b'd']);
    let e = check(with_avp(&g)).unwrap_err();
    assert_eq!(e.result_code(), 5014, "{e}");
    assert_eq!(
        e.path,
        vec![AvpKey::new(284, 0)],
        "path names the parent: {e}"
    );
    assert!(e.to_string().contains("Proxy-Info"), "{e}");
}

#[test]
fn bad_padding() {
    // Proxy-Info whose 9-byte member has no room left for its 3 bytes of padding.
    let mut g = vec![0, 0, 1, 28, 0x40, 0, 0, 17];
    g.extend_from_slice(&[0, 0, 1, 24, 0x40, 0, 0, 9, b'x', 0, 0, 0]);
    let e = check(with_avp(&g)).unwrap_err();
    assert_eq!(e.result_code(), 5014, "{e}");
    assert_eq!(e.kind, ErrorKind::InvalidPadding);
}

#[test]
fn unknown_mandatory_avp() {
    let e = check(with_avp(&[0, 0, 0x27, 0x0f, 0x40, 0, 0, 12, 1, 2, 3, 4])).unwrap_err();
    assert_eq!(e.result_code(), 5001);
    assert_eq!(
        e.failed_avp().unwrap()[..],
        [0, 0, 0x27, 0x0f, 0x40, 0, 0, 12, 1, 2, 3, 4]
    );
    // Without the M bit the same AVP is accepted (CER has *[ AVP ]).
    check(with_avp(&[0, 0, 0x27, 0x0f, 0, 0, 0, 12, 1, 2, 3, 4])).unwrap();
}

#[test]
fn missing_required_avp() {
    let mut c = CapabilitiesExchangeRequest::default();
    c.origin_host = "h".into();
    c.origin_realm = "r".into();
    c.product_name = "p".into();
    // No Host-IP-Address (1* { Host-IP-Address }).
    let e = check(c.to_bytes()).unwrap_err();
    assert_eq!(e.result_code(), 5005);
    assert_eq!(e.kind, ErrorKind::MissingAvp(avp::HOST_IP_ADDRESS));
    let failed = e.failed_avp().unwrap();
    assert_eq!(
        &failed[..4],
        &257u32.to_be_bytes(),
        "Failed-AVP holds the missing AVP's code"
    );
    // Typed decode reports the same.
    let typed = CapabilitiesExchangeRequest::from_bytes(c.to_bytes()).unwrap_err();
    assert_eq!(typed.result_code(), 5005);
}

#[test]
fn too_many_occurrences() {
    // A second Origin-Host.
    let mut b = MessageBuilder::new(*Message::decode(cer()).unwrap().header());
    let m = Message::decode(cer()).unwrap();
    for a in m.avps() {
        b.raw_ref(&a.unwrap());
    }
    b.add(
        avp::ORIGIN_HOST,
        &diameter_core::DiameterIdentity::from("again"),
    );
    let e = check(b.build().into_bytes()).unwrap_err();
    assert_eq!(e.result_code(), 5009);
}

#[test]
fn avp_not_allowed() {
    // Vendor-Specific-Application-Id (260) has a closed ABNF (no *[ AVP ]): a Product-Name
    // inside it is not allowed.
    let mut g = vec![0, 0, 1, 4, 0x40, 0, 0, 32];
    g.extend_from_slice(&[0, 0, 1, 10, 0x40, 0, 0, 12, 0, 0, 0x28, 0xaf]); // Vendor-Id 10415
    g.extend_from_slice(&[0, 0, 1, 13, 0, 0, 0, 12, b'x', b'y', b'z', b'w']); // Product-Name
    let e = check(with_avp(&g)).unwrap_err();
    assert_eq!(e.result_code(), 5008, "{e}");
    assert_eq!(e.path, vec![AvpKey::new(260, 0)]);
}

#[test]
fn bad_address_family_length() {
    // Host-IP-Address (257) with family 1 and 3 address bytes.
    let e = check(with_avp(&[
        0, 0, 1, 1, 0x40, 0, 0, 13, 0, 1, 10, 0, 0, 0, 0, 0,
    ]))
    .unwrap_err();
    assert_eq!(e.result_code(), 5014, "{e}");
}

#[test]
fn invalid_utf8() {
    // Error-Message (281) is UTF8String.
    let e = check(with_avp(&[0, 0, 1, 0x19, 0, 0, 0, 10, 0xff, 0xfe, 0, 0])).unwrap_err();
    assert_eq!(e.result_code(), 5004, "{e}");
}

#[test]
fn reserved_avp_bits() {
    let e = check(with_avp(&[0, 0, 0x27, 0x0f, 0x01, 0, 0, 12, 1, 2, 3, 4])).unwrap_err();
    assert_eq!(e.result_code(), 3009);
}

#[test]
fn error_answer_carries_e_bit_and_failed_avp() {
    let bad = with_avp(&[0, 0, 0x27, 0x0f, 0x40, 0, 0, 12, 1, 2, 3, 4]);
    let msg = Message::decode(bad).unwrap();
    let e = validate(&msg).unwrap_err();
    let ans = msg.to_error_answer(&e).build();
    assert!(!ans.is_request());
    assert_eq!(ans.result_code(), Some(5001));
    let failed = ans.find(avp::FAILED_AVP).unwrap();
    let inner = failed.children().next().unwrap().unwrap();
    assert_eq!(inner.code, 0x270f);
    // A 3xxx error sets E.
    let mut b = BytesMut::from(&cer()[..]);
    b[4] |= 0x20;
    let e = Message::decode(b.freeze()).unwrap_err();
    assert_eq!(e.result_code(), 3008);
    let mut a = Message::decode(cer()).unwrap().to_answer();
    a.result_code(3008);
    assert!(a.build().header().flags.is_error());
    let _ = AvpFlags::default();
}

#[test]
fn error_answers_follow_the_answer_message_abnf() {
    // A 3010 CEA with the E bit and no Host-IP-Address (RFC 6733 §7.2) validates, and typed
    // decode falls back to generic instead of failing.
    let mut b = MessageBuilder::new(diameter_core::Header::new(
        257,
        0,
        diameter_core::CommandFlags(0),
    ));
    b.result_code(3010);
    b.add(
        avp::ORIGIN_HOST,
        &diameter_core::DiameterIdentity::from("h"),
    );
    b.add(
        avp::ORIGIN_REALM,
        &diameter_core::DiameterIdentity::from("r"),
    );
    let m = b.build();
    assert!(m.header().flags.is_error());
    validate(&m).unwrap();
    assert!(matches!(
        diameter_core::generated::decode_typed(&m).unwrap(),
        diameter_core::generated::TypedMessage::Generic(_)
    ));
}

// --- Issue 14: what RFC 6733 asks beyond framing ---

#[test]
fn v_bit_with_vendor_id_zero_is_3009() {
    // Product-Name (269) with the V bit and a Vendor-ID field of 0.
    let bad = [
        0, 0, 1, 13, 0x80, 0, 0, 16, 0, 0, 0, 0, b'a', b'b', b'c', b'd',
    ];
    let e = check(with_avp(&bad)).unwrap_err();
    assert_eq!(e.result_code(), 3009, "{e}");
    assert_eq!(&e.failed_avp().unwrap()[..], &bad[..]);
    // The codec itself keeps such an AVP as received (a relay re-encodes it unchanged).
    let m = Message::decode(with_avp(&bad)).unwrap();
    let kept = m.find_all(AvpKey::new(269, 0)).last().unwrap();
    assert_eq!(
        (kept.flags.0, kept.raw_bytes()),
        (0x80, Bytes::copy_from_slice(&bad))
    );
}

#[test]
fn undefined_enumerated_value_with_m_bit_is_5004() {
    // CC-Request-Type (416, IETF, M): 1..=4 are defined.
    let avp = |flags: u8, v: u8| with_avp(&[0, 0, 1, 0xa0, flags, 0, 0, 12, 0, 0, 0, v]);
    let e = check(avp(0x40, 9)).unwrap_err();
    assert_eq!(e.result_code(), 5004, "{e}");
    assert_eq!(
        &e.failed_avp().unwrap()[..],
        &[0, 0, 1, 0xa0, 0x40, 0, 0, 12, 0, 0, 0, 9]
    );
    check(avp(0x40, 4)).unwrap();
    // Without the M bit it may be ignored (§4.1).
    check(avp(0, 9)).unwrap();
    // A vendor Enumerated AVP is not checked (3GPP adds values in every release):
    // 3GPP-PDP-Type (3/10415) with an undefined value and the M bit.
    check(with_avp(&[
        0, 0, 0, 3, 0xc0, 0, 0, 16, 0, 0, 0x28, 0xaf, 0, 0, 0, 99,
    ]))
    .unwrap();
}

#[test]
fn diameter_identity_syntax() {
    let with_host = |host: &str| {
        let mut c = CapabilitiesExchangeRequest::default();
        c.origin_host = host.into();
        c.origin_realm = "example.org".into();
        c.host_ip_address
            .push("192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap().into());
        c.product_name = "test".into();
        check(c.to_bytes())
    };
    for bad in [
        "bad host.example.org",
        "",
        "tab\t.org",
        "é.example.org",
        "a:b",
    ] {
        let e = with_host(bad).unwrap_err();
        assert_eq!(e.result_code(), 5004, "{bad:?}: {e}");
        let failed = e.failed_avp().unwrap();
        assert_eq!(&failed[..4], &[0, 0, 1, 8], "Failed-AVP is Origin-Host");
        assert_eq!(&failed[8..], bad.as_bytes());
    }
    for good in [
        "a",
        "Host-1.Example.ORG",
        "peer_1.example.org",
        "127.0.0.1",
        "x.",
    ] {
        with_host(good).unwrap();
    }
    assert!(diameter_core::validate::is_diameter_identity(
        b"aaa.example.org"
    ));
    assert!(!diameter_core::validate::is_diameter_identity(b"a a"));
}

#[test]
fn host_ip_address_must_be_ipv4_or_ipv6() {
    // Host-IP-Address (257) of family 99.
    let bad = [0, 0, 1, 1, 0x40, 0, 0, 14, 0, 99, 1, 2, 3, 4, 0, 0];
    let e = check(with_avp(&bad)).unwrap_err();
    assert_eq!(e.result_code(), 5004, "{e}");
    assert_eq!(&e.failed_avp().unwrap()[..], &bad[..14]);
    // Other Address AVPs keep every family: E.164 (8) in MIP-Home-Agent-Address (334).
    check(with_avp(&[
        0, 0, 1, 0x4e, 0x40, 0, 0, 14, 0, 8, 1, 2, 3, 4, 0, 0,
    ]))
    .unwrap();
}

#[test]
fn reserved_command_flag_bits_are_ignored() {
    let mut b = BytesMut::from(&cer()[..]);
    b[4] |= 0x0f;
    let m = check(b.freeze()).unwrap();
    assert!(m.is_request());
    // Answers never carry them.
    assert_eq!(m.to_answer().build().header().flags.0 & 0x0f, 0);
}

/// `levels` nested Multiple-Services-Credit-Control AVPs (456: Grouped with `*[ AVP ]`, so
/// it may hold itself), each the only member of the one around it.
fn nested(levels: usize) -> Vec<u8> {
    let mut data: Vec<u8> = Vec::new();
    for _ in 0..levels {
        let mut a = vec![0, 0, 1, 0xc8, 0x40];
        a.extend_from_slice(&((8 + data.len()) as u32).to_be_bytes()[1..]);
        a.extend_from_slice(&data);
        data = a;
    }
    data
}

#[test]
fn nesting_beyond_the_limit_is_5012_with_the_header_only() {
    let limit = diameter_core::DEFAULT_MAX_DEPTH;
    assert!(limit >= 64, "far above the ~6 levels of real traffic");
    check(with_avp(&nested(limit))).unwrap();
    for levels in [limit + 1, 1000, 100_000] {
        let bytes = with_avp(&nested(levels));
        // Bounded: the walk stops at the limit, whatever the depth, on a small stack.
        let e = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let m = Message::decode(bytes).unwrap();
                let _ = diameter_core::dump::text(&m);
                let _ = diameter_core::generated::decode_typed(&m);
                validate(&m).unwrap_err()
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(e.result_code(), 5012, "{e}");
        assert_eq!(e.kind, ErrorKind::NestingTooDeep(limit));
        // The AVP one level too deep, its data left out.
        assert_eq!(
            &e.failed_avp().unwrap()[..],
            &[0, 0, 1, 0xc8, 0x40, 0, 0, 8]
        );
        assert!(e.path.len() >= limit);
        let text = e.to_string();
        assert!(text.contains("nested deeper than 64"), "{text}");
        assert!(text.len() < 300, "the path is abbreviated: {text}");
    }
}

#[test]
fn failed_avp_members_are_checked_for_framing_only() {
    // A 5001 answer echoes the unknown M-bit AVP, a 5004 one the bad value: the answer
    // itself validates.
    let mut b = MessageBuilder::new(diameter_core::Header::new(
        257,
        0,
        diameter_core::CommandFlags(0),
    ));
    b.result_code(5004);
    b.add(
        avp::ORIGIN_HOST,
        &diameter_core::DiameterIdentity::from("h"),
    );
    b.add(
        avp::ORIGIN_REALM,
        &diameter_core::DiameterIdentity::from("r"),
    );
    b.add(
        avp::HOST_IP_ADDRESS,
        &diameter_core::Address::from("192.0.2.1".parse::<std::net::IpAddr>().unwrap()),
    );
    b.add(avp::VENDOR_ID, &0u32);
    b.add(avp::PRODUCT_NAME, &diameter_core::Utf8String::from("p"));
    b.grouped(avp::FAILED_AVP.code, 0, AvpFlags(0x40), |g| {
        g.add(
            avp::ORIGIN_HOST,
            &diameter_core::DiameterIdentity::from("bad host"),
        );
        g.avp(0x270f, 0, AvpFlags(0x40), &7u32);
    });
    validate(&b.build()).unwrap();
}
