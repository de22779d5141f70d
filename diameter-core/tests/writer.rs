//! The generated typed writers: the benchmark CCR-I written with them is byte for byte the
//! owned struct's encoding, decodes, validates and decodes typed; problems are reported by
//! `finish` and leave the buffer as it was.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use diameter_core::generated::credit_control::{
    self, CcRequestType, MultipleServicesCreditControl, RequestedServiceUnit, SubscriptionId,
    SubscriptionIdType,
};
use diameter_core::generated::ts29061::TgppPdpType;
use diameter_core::generated::ts32299::{CreditControlRequest, PsInformation, ServiceInformation};
use diameter_core::lazy::Lazy;
use diameter_core::typed::Command;
use diameter_core::writer::WriteError;
use diameter_core::{Address, AvpKey, DiameterIdentity, Message, Utf8String};
use proptest::prelude::*;

fn s(v: &'static str) -> Utf8String {
    Utf8String(ByteString::from_static(v))
}

fn id(v: &'static str) -> DiameterIdentity {
    DiameterIdentity(ByteString::from_static(v))
}

const SESSION: &str = "pgw01.epc.mnc001.mcc262.3gppnetwork.org;1700000000;42;gy-0000000001";

/// The CCR-I of shared/bench, built as a typed message (as in benches/codec.rs).
fn build_ccr() -> CreditControlRequest {
    CreditControlRequest {
        session_id: s(SESSION),
        origin_host: id("pgw01.epc.mnc001.mcc262.3gppnetwork.org"),
        origin_realm: id("epc.mnc001.mcc262.3gppnetwork.org"),
        destination_realm: id("ocs.mnc001.mcc262.3gppnetwork.org"),
        auth_application_id: 4,
        service_context_id: s("32251@3gpp.org"),
        cc_request_type: CcRequestType::INITIAL_REQUEST,
        cc_request_number: 0,
        subscription_id: vec![
            SubscriptionId {
                subscription_id_type: SubscriptionIdType::END_USER_E164,
                subscription_id_data: s("491701234567"),
                ..Default::default()
            },
            SubscriptionId {
                subscription_id_type: SubscriptionIdType::END_USER_IMSI,
                subscription_id_data: s("262011234567890"),
                ..Default::default()
            },
        ],
        multiple_services_credit_control: vec![MultipleServicesCreditControl {
            requested_service_unit: Some(Lazy::new(RequestedServiceUnit {
                cc_total_octets: Some(10_485_760),
                ..Default::default()
            })),
            rating_group: Some(100),
            service_identifier: vec![1],
            ..Default::default()
        }],
        service_information: Some(Lazy::new(ServiceInformation {
            ps_information: Some(Lazy::new(PsInformation {
                tgpp_charging_id: Some(Bytes::from_static(&[0x0a, 0x1b, 0x2c, 0x3d])),
                tgpp_pdp_type: Some(TgppPdpType(0)),
                sgsn_address: vec![Address::V4([192, 0, 2, 10].into())],
                tgpp_imsi_mcc_mnc: Some(s("26201")),
                ..Default::default()
            })),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The same CCR-I with the writer, members in ABNF order; returns the message length.
fn write_ccr(buf: &mut BytesMut, hop: u32, end: u32) -> Result<usize, WriteError> {
    let sgsn = Address::V4([192, 0, 2, 10].into());
    let mut w = CreditControlRequest::writer(buf, SESSION);
    w.hop_by_hop(hop)
        .end_to_end(end)
        .origin_host("pgw01.epc.mnc001.mcc262.3gppnetwork.org")
        .origin_realm("epc.mnc001.mcc262.3gppnetwork.org")
        .destination_realm("ocs.mnc001.mcc262.3gppnetwork.org")
        .auth_application_id(4)
        .service_context_id("32251@3gpp.org")
        .cc_request_type(CcRequestType::INITIAL_REQUEST)
        .cc_request_number(0)
        .subscription_id(|s| {
            s.subscription_id_type(SubscriptionIdType::END_USER_E164)
                .subscription_id_data("491701234567");
        })
        .subscription_id(|s| {
            s.subscription_id_type(SubscriptionIdType::END_USER_IMSI)
                .subscription_id_data("262011234567890");
        })
        .multiple_services_credit_control(|m| {
            m.requested_service_unit(|r| {
                r.cc_total_octets(10_485_760);
            })
            .service_identifier(1)
            .rating_group(100);
        })
        .service_information(|si| {
            si.ps_information(|ps| {
                ps.tgpp_charging_id(&[0x0a, 0x1b, 0x2c, 0x3d])
                    .tgpp_pdp_type(TgppPdpType(0))
                    .sgsn_address(&sgsn)
                    .tgpp_imsi_mcc_mnc("26201");
            });
        });
    w.finish()
}

fn expected() -> Bytes {
    let mut ccr = build_ccr();
    ccr.header.hop_by_hop = 0x1234_5678;
    ccr.header.end_to_end = 0x9abc_def0;
    ccr.to_bytes()
}

#[test]
fn ccr_matches_the_owned_encoding() {
    let mut buf = BytesMut::new();
    let n = write_ccr(&mut buf, 0x1234_5678, 0x9abc_def0).unwrap();
    assert_eq!(n, buf.len());
    assert_eq!(&buf[..], &expected()[..]);
    assert_eq!(n, 528);
}

#[test]
fn ccr_decodes_validates_and_decodes_typed() {
    let mut buf = BytesMut::new();
    write_ccr(&mut buf, 0x1234_5678, 0x9abc_def0).unwrap();
    let msg = Message::decode(buf.freeze()).unwrap();
    diameter_core::validate(&msg).unwrap();
    assert_eq!(msg.header().hop_by_hop, 0x1234_5678);
    assert_eq!(msg.header().end_to_end, 0x9abc_def0);
    assert!(msg.header().flags.is_request() && msg.header().flags.is_proxiable());
    let mut want = build_ccr();
    want.header.hop_by_hop = 0x1234_5678;
    want.header.end_to_end = 0x9abc_def0;
    let got = CreditControlRequest::decode(&msg).unwrap();
    assert_eq!(got.header.hop_by_hop, want.header.hop_by_hop);
    assert_eq!(got.header.end_to_end, want.header.end_to_end);
    assert_eq!(got.header.flags, want.header.flags);
    want.header = got.header;
    assert_eq!(got, want);
}

#[test]
fn missing_required_avp_is_reported_and_buffer_restored() {
    let mut buf = BytesMut::from(&b"previous"[..]);
    let mut w = CreditControlRequest::writer(&mut buf, SESSION);
    w.origin_host("h").origin_realm("r").destination_realm("d");
    // Auth-Application-Id and the others are missing.
    let e = w.finish().unwrap_err();
    assert_eq!(
        e,
        WriteError::MissingAvp {
            avp: AvpKey::new(258, 0),
            within: vec![]
        }
    );
    assert!(e.to_string().contains("Auth-Application-Id"), "{e}");
    assert_eq!(&buf[..], b"previous");
}

#[test]
fn single_member_set_twice_is_reported() {
    let mut buf = BytesMut::new();
    let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;1");
    w.origin_host("h")
        .origin_realm("r")
        .destination_realm("d")
        .auth_application_id(4)
        .service_context_id("c")
        .cc_request_type(CcRequestType::INITIAL_REQUEST)
        .cc_request_number(0)
        .origin_host("again");
    let e = w.finish().unwrap_err();
    assert_eq!(
        e,
        WriteError::TooManyAvps {
            avp: AvpKey::new(264, 0),
            within: vec![]
        }
    );
    assert!(buf.is_empty());
}

#[test]
fn missing_member_inside_grouped_is_reported_with_its_path() {
    let mut buf = BytesMut::new();
    let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;1");
    w.origin_host("h")
        .origin_realm("r")
        .destination_realm("d")
        .auth_application_id(4)
        .service_context_id("c")
        .cc_request_type(CcRequestType::INITIAL_REQUEST)
        .cc_request_number(0)
        .subscription_id(|s| {
            s.subscription_id_type(SubscriptionIdType::END_USER_E164);
        });
    let e = w.finish().unwrap_err();
    assert_eq!(
        e,
        WriteError::MissingAvp {
            avp: AvpKey::new(444, 0),
            within: vec![AvpKey::new(443, 0)]
        }
    );
    assert!(e.to_string().contains("Subscription-Id-Data"), "{e}");
    assert!(e.to_string().contains("in Subscription-Id"), "{e}");
    assert!(buf.is_empty());

    // Deeper: a member set twice two levels down.
    let mut buf = BytesMut::new();
    let e = {
        let mut w = CreditControlRequest::writer(&mut buf, SESSION);
        w.origin_host("h")
            .origin_realm("r")
            .destination_realm("d")
            .auth_application_id(4)
            .service_context_id("c")
            .cc_request_type(CcRequestType::INITIAL_REQUEST)
            .cc_request_number(0)
            .service_information(|si| {
                si.ps_information(|ps| {
                    ps.tgpp_pdp_type(TgppPdpType(0))
                        .tgpp_pdp_type(TgppPdpType(1));
                });
            });
        w.finish().unwrap_err()
    };
    assert_eq!(
        e,
        WriteError::TooManyAvps {
            avp: AvpKey::new(3, 10415),
            within: vec![AvpKey::new(873, 10415), AvpKey::new(874, 10415)]
        }
    );
    assert!(buf.is_empty());
}

#[test]
fn second_message_appended_after_the_first() {
    let mut buf = BytesMut::new();
    let n1 = write_ccr(&mut buf, 0x1234_5678, 0x9abc_def0).unwrap();
    let n2 = write_ccr(&mut buf, 0x1234_5678, 0x9abc_def0).unwrap();
    // A failed third one leaves both intact.
    let mut w = CreditControlRequest::writer(&mut buf, SESSION);
    w.origin_host("h");
    assert!(w.finish().is_err());
    assert_eq!(buf.len(), n1 + n2);
    let want = expected();
    assert_eq!(&buf[..n1], &want[..]);
    assert_eq!(&buf[n1..], &want[..]);
    let second = Message::decode(buf.freeze().slice(n1..)).unwrap();
    diameter_core::validate(&second).unwrap();
}

#[test]
fn vendor_avps_carry_v_and_vendor_id() {
    let mut buf = BytesMut::new();
    write_ccr(&mut buf, 1, 2).unwrap();
    let msg = Message::decode(buf.freeze()).unwrap();
    let si = msg.find(AvpKey::new(873, 10415)).unwrap();
    assert!(si.flags.is_vendor() && si.flags.is_mandatory());
    let ps = si.children().next().unwrap().unwrap();
    assert_eq!(ps.key(), AvpKey::new(874, 10415));
    let members: Vec<_> = ps.children().map(Result::unwrap).collect();
    assert_eq!(members.len(), 4);
    for a in &members {
        assert_eq!(a.vendor, 10415);
        assert!(a.flags.is_vendor(), "{:?}", a.key());
    }
    assert_eq!(members[0].data, [0x0a, 0x1b, 0x2c, 0x3d]);
    assert_eq!(members[2].key(), AvpKey::new(1228, 10415));
    assert_eq!(members[2].data, [0, 1, 192, 0, 2, 10]);
}

/// Grouped writers of other modules through closures (Subscription-Id of credit_control in
/// the TS 32.299 CCR above; here Service-Information of TS 32.299 and the DOIC OC-OLR, with
/// its fixed members, in the Gx answer of TS 29.212), an AVP outside the ABNF, and header
/// flags.
#[test]
fn writers_of_other_modules_round_trip() {
    use diameter_core::generated::doic::OcReportType;
    use diameter_core::generated::ts29212::TgppGxCreditControlAnswer as GxCca;
    use diameter_core::{AvpFlags, CommandFlags, RawAvp};

    let mut buf = BytesMut::new();
    let extra = RawAvp {
        code: 99_999,
        flags: AvpFlags(0),
        vendor: 0,
        data: Bytes::from_static(b"xyz"),
    };
    let mut w = GxCca::writer(&mut buf, "gx;1");
    w.hop_by_hop(7)
        .end_to_end(8)
        .flags(CommandFlags(CommandFlags::PROXIABLE | CommandFlags::ERROR))
        .origin_host("pcrf")
        .origin_realm("example.org")
        .auth_application_id(16_777_238)
        .cc_request_type(CcRequestType::INITIAL_REQUEST)
        .cc_request_number(0)
        .result_code(2001)
        .oc_olr(5, OcReportType::HOST_REPORT, |o| {
            o.oc_reduction_percentage(50);
        })
        .avp(&extra);
    let n = w.finish().unwrap();
    let msg = Message::decode(buf.split_to(n).freeze()).unwrap();
    assert!(!msg.header().flags.is_request());
    assert!(msg.header().flags.is_error());
    let cca = GxCca::decode(&msg).unwrap();
    assert_eq!(cca.header.hop_by_hop, 7);
    assert_eq!(cca.session_id.0, "gx;1");
    assert_eq!(cca.result_code, Some(2001));
    let olr = cca.oc_olr.as_ref().unwrap();
    assert_eq!(olr.oc_sequence_number, 5);
    assert_eq!(olr.oc_report_type, OcReportType::HOST_REPORT);
    assert_eq!(olr.oc_reduction_percentage, Some(50));
    assert_eq!(cca.extra, vec![extra]);

    // Service-Information (ts32299) inside the RFC 4006 CCR of credit_control has no slot:
    // use the TS 32.299 CCR, whose Subscription-Id comes from credit_control, as above;
    // here the plain RFC 4006 CCR with its own module's writers.
    let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;2");
    w.origin_host("h")
        .origin_realm("r")
        .destination_realm("d")
        .auth_application_id(4)
        .service_context_id("c")
        .cc_request_type(CcRequestType::UPDATE_REQUEST)
        .cc_request_number(1)
        .subscription_id(|s| {
            s.subscription_id_type(SubscriptionIdType::END_USER_SIP_URI)
                .subscription_id_data("sip:a@b");
        });
    w.finish().unwrap();
    let msg = Message::decode(buf.split().freeze()).unwrap();
    diameter_core::validate(&msg).unwrap();
    let ccr = credit_control::CreditControlRequest::decode(&msg).unwrap();
    assert_eq!(ccr.subscription_id.len(), 1);
    assert_eq!(ccr.subscription_id[0].subscription_id_data.0, "sip:a@b");
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9.;@-]{0,40}"
}

proptest! {
    /// Arbitrary values written by the writer equal the owned struct's encoding.
    #[test]
    fn writer_equals_owned_encoding(
        host in text(),
        realm in text(),
        number: u32,
        app: u32,
        subs in proptest::collection::vec((0i32..5, text()), 0..4),
        rating in proptest::option::of(any::<u32>()),
        hop: u32,
    ) {
        let mut owned = credit_control::CreditControlRequest {
            session_id: Utf8String(ByteString::from("s;1")),
            origin_host: DiameterIdentity(ByteString::from(host.as_str())),
            origin_realm: DiameterIdentity(ByteString::from(realm.as_str())),
            destination_realm: DiameterIdentity(ByteString::from("d")),
            auth_application_id: app,
            service_context_id: Utf8String(ByteString::from("c")),
            cc_request_type: CcRequestType::TERMINATION_REQUEST,
            cc_request_number: number,
            subscription_id: subs
                .iter()
                .map(|(t, d)| SubscriptionId {
                    subscription_id_type: SubscriptionIdType(*t),
                    subscription_id_data: Utf8String(ByteString::from(d.as_str())),
                    ..Default::default()
                })
                .collect(),
            multiple_services_credit_control: rating
                .map(|r| MultipleServicesCreditControl { rating_group: Some(r), ..Default::default() })
                .into_iter()
                .collect(),
            ..Default::default()
        };
        owned.header.hop_by_hop = hop;
        let mut buf = BytesMut::from(&b"\0\0\0\0"[..]);
        let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;1");
        w.hop_by_hop(hop)
            .origin_host(&host)
            .origin_realm(&realm)
            .destination_realm("d")
            .auth_application_id(app)
            .service_context_id("c")
            .cc_request_type(CcRequestType::TERMINATION_REQUEST)
            .cc_request_number(number);
        for (t, d) in &subs {
            w.subscription_id(|s| {
                s.subscription_id_type(SubscriptionIdType(*t)).subscription_id_data(d);
            });
        }
        if let Some(r) = rating {
            w.multiple_services_credit_control(|m| {
                m.rating_group(r);
            });
        }
        let n = w.finish().unwrap();
        prop_assert_eq!(n, buf.len() - 4);
        prop_assert_eq!(&buf[4..], &owned.to_bytes()[..]);
    }
}

// --- Lengths that do not fit 24 bits (RFC 6733 §3, §4.1): errors, no panic, no corrupt
// --- bytes. Data comes from one static 16 MiB of zeros (in .bss: no allocation); each
// --- test allocates at most one buffer of just over 16 MiB.

const MIB16: usize = 1 << 24;
static ZEROS: [u8; MIB16] = [0; MIB16];

fn zeros_str(len: usize) -> &'static str {
    std::str::from_utf8(&ZEROS[..len]).unwrap()
}

/// The required members of an RFC 8506 CCR.
fn ccr_required(w: &mut credit_control::CreditControlRequestWriter<'_>) {
    w.origin_host("h")
        .origin_realm("r")
        .destination_realm("d")
        .auth_application_id(4)
        .service_context_id("c")
        .cc_request_type(CcRequestType::INITIAL_REQUEST)
        .cc_request_number(0);
}

#[test]
fn avp_too_long_for_its_length_is_an_error() {
    use diameter_core::{AvpFlags, MessageBuilder, RawAvp};
    // 16 MiB of data: 16 MiB + 8 with the header, over the 24-bit AVP Length. Nothing of
    // it is copied anywhere.
    let mut buf = BytesMut::from(&b"previous"[..]);
    let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;1");
    ccr_required(&mut w);
    w.cc_correlation_id(&ZEROS);
    let e = w.finish().unwrap_err();
    assert_eq!(
        e,
        WriteError::AvpTooLong {
            avp: AvpKey::new(411, 0),
            length: MIB16 + 8,
            within: vec![]
        }
    );
    assert!(e.to_string().contains("CC-Correlation-Id"), "{e}");
    assert_eq!(&buf[..], b"previous");

    // Inside a Grouped AVP: the path says where.
    let mut buf = BytesMut::new();
    let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;1");
    ccr_required(&mut w);
    w.subscription_id(|s| {
        s.subscription_id_type(SubscriptionIdType::END_USER_E164)
            .subscription_id_data(zeros_str(MIB16));
    });
    let e = w.finish().unwrap_err();
    assert_eq!(
        e,
        WriteError::AvpTooLong {
            avp: AvpKey::new(444, 0),
            length: MIB16 + 8,
            within: vec![AvpKey::new(443, 0)]
        }
    );
    assert!(buf.is_empty());

    // A Grouped AVP whose members each fit but which does not: the Grouped AVP is named,
    // and nothing is left written.
    let mut buf = BytesMut::new();
    let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;1");
    ccr_required(&mut w);
    let half = MIB16 / 2;
    w.proxy_info(|p| {
        p.proxy_host(zeros_str(half)).proxy_state(&ZEROS[..half]);
    });
    let e = w.finish().unwrap_err();
    assert_eq!(
        e,
        WriteError::AvpTooLong {
            avp: AvpKey::new(284, 0),
            length: 8 + 2 * (8 + half),
            within: vec![]
        }
    );
    assert!(buf.is_empty());

    // The generic builder and a raw AVP.
    let big = Bytes::from_static(&ZEROS);
    let mut b = MessageBuilder::request(272, 4, true);
    b.avp(411, 0, AvpFlags::default(), &big);
    b.add(AvpKey::new(416, 0), &1u32);
    let e = b.try_build().unwrap_err();
    assert_eq!(e.avp(), AvpKey::new(411, 0));
    // `build` cannot fail: the message it gives has Message Length 0.
    let mut b = MessageBuilder::request(272, 4, true);
    b.avp(411, 0, AvpFlags::default(), &big);
    assert_eq!(&b.build().as_bytes()[1..4], &[0, 0, 0]);
    let raw = RawAvp {
        code: 411,
        flags: AvpFlags::default(),
        vendor: 10415,
        data: big.slice(..MIB16 - 12),
    };
    let mut out = BytesMut::new();
    assert!(matches!(
        raw.try_encode(&mut out),
        Err(WriteError::AvpTooLong { length, .. }) if length == MIB16
    ));
    assert!(out.is_empty());
    // One byte less fits exactly: 0xffffff.
    let fits = RawAvp {
        data: big.slice(..MIB16 - 13),
        ..raw
    };
    assert_eq!(fits.unpadded_len(), 0x00ff_ffff);
}

#[test]
fn message_too_long_for_its_length_is_an_error() {
    // Two Route-Record AVPs of 8 MiB: each fits, the message does not. One buffer, reused.
    let half = zeros_str(MIB16 / 2);
    let mut buf = BytesMut::with_capacity(MIB16 + 4096);
    buf.extend_from_slice(b"previous");
    let mut w = credit_control::CreditControlRequest::writer(&mut buf, "s;1");
    ccr_required(&mut w);
    w.route_record(half).route_record(half);
    let e = w.finish().unwrap_err();
    assert!(
        matches!(e, WriteError::MessageTooLong { length } if length > MIB16),
        "{e:?}"
    );
    assert!(e.to_string().contains("24-bit Message Length"), "{e}");
    assert_eq!(&buf[..], b"previous");

    // The typed struct: `try_encode` reports it; `encode`, which cannot, writes Message
    // Length 0 (refused by receivers, never misframed).
    buf.clear();
    let ccr = credit_control::CreditControlRequest {
        route_record: vec![
            DiameterIdentity(ByteString::from_static(half)),
            DiameterIdentity(ByteString::from_static(half)),
        ],
        ..Default::default()
    };
    assert!(matches!(
        ccr.try_encode(&mut buf),
        Err(WriteError::MessageTooLong { .. })
    ));
    assert!(buf.is_empty());
    ccr.encode(&mut buf);
    assert!(buf.len() > MIB16);
    assert_eq!(&buf[1..4], &[0, 0, 0]);
    assert!(Message::decode(buf.split().freeze()).is_err());
}

#[test]
fn message_builder_too_long_is_an_error() {
    use diameter_core::MessageBuilder;
    let half = Bytes::from_static(&ZEROS[..MIB16 / 2]);
    let mut b = MessageBuilder::with_capacity(
        diameter_core::Header::new(272, 4, diameter_core::CommandFlags::request(true)),
        MIB16 + 4096,
    );
    b.add(AvpKey::new(411, 0), &half);
    b.add(AvpKey::new(411, 0), &half);
    assert!(matches!(
        b.try_build(),
        Err(WriteError::MessageTooLong { length }) if length > MIB16
    ));
}

/// A Grouped writer's presence bits are numbered by the runtime from the owned type
/// (`writer::Group`): its required members first, then its optional single ones. A
/// Vendor-Specific-Application-Id (`{ Vendor-Id } [ Auth-Application-Id ]
/// [ Acct-Application-Id ]`) with each kind of problem names the right member.
#[test]
fn grouped_writer_names_the_member_by_its_runtime_bit() {
    use diameter_core::generated::base::{
        CapabilitiesExchangeRequest, VendorSpecificApplicationIdWriter as Vsai,
    };
    type Members = dyn Fn(&mut Vsai<'_>);
    let vsai = AvpKey::new(260, 0);
    let write = |f: &Members| {
        let mut buf = BytesMut::new();
        let mut w = CapabilitiesExchangeRequest::writer(&mut buf);
        w.origin_host("h")
            .origin_realm("r")
            .host_ip_address(&Address::V4([127, 0, 0, 1].into()))
            .vendor_id(0)
            .product_name("p")
            .vendor_specific_application_id(|v| f(v));
        w.finish().unwrap_err()
    };
    let cases: [(&Members, WriteError); 3] = [
        (
            &|v| {
                v.auth_application_id(4);
            },
            WriteError::MissingAvp {
                avp: AvpKey::new(266, 0),
                within: vec![vsai],
            },
        ),
        (
            &|v| {
                v.vendor_id(10415)
                    .auth_application_id(4)
                    .auth_application_id(4);
            },
            WriteError::TooManyAvps {
                avp: AvpKey::new(258, 0),
                within: vec![vsai],
            },
        ),
        (
            &|v| {
                v.vendor_id(10415)
                    .acct_application_id(3)
                    .acct_application_id(3);
            },
            WriteError::TooManyAvps {
                avp: AvpKey::new(259, 0),
                within: vec![vsai],
            },
        ),
    ];
    for (f, want) in cases {
        assert_eq!(write(f), want);
    }
}
