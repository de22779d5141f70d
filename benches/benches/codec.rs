#![allow(missing_docs)]
//! Codec benchmarks on the Gy CCR-I of shared/bench (528 bytes, 25 AVPs) and its CCA, with
//! the same operations on the crates.io `diameter` 0.7.1 and a header-only AVP walk (the
//! floor) in the same run. Results and ratios are recorded in BENCHMARKS.md.
//!
//! Run: `cargo bench -p diameter-bench --bench codec`.

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use criterion::{Criterion, criterion_group, criterion_main};
use diameter_core::generated::credit_control::{
    CcRequestType, MultipleServicesCreditControl, RequestedServiceUnit, SubscriptionId,
    SubscriptionIdType,
};
use diameter_core::generated::ts29061::TgppPdpType;
use diameter_core::generated::ts32299::{
    CreditControlAnswer, CreditControlAnswerView, CreditControlRequest, CreditControlRequestView,
    PsInformation, ServiceInformation,
};
use diameter_core::lazy::Lazy;
use diameter_core::typed::Command;
use diameter_core::{Address, AvpKey, DiameterIdentity, Message, Utf8String};

fn hex(name: &str) -> Bytes {
    let path = format!(
        "{}/../diameter-core/tests/data/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    Bytes::from(diameter_core::dump::parse_hex(text.trim()).unwrap())
}

/// The floor: visit every AVP header, descending into the Grouped ones of this message,
/// without interpreting anything.
fn walk(buf: &[u8]) -> usize {
    fn walk_avps(mut b: &[u8], n: &mut usize) {
        while b.len() >= 8 {
            let code = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let len = u32::from_be_bytes([0, b[5], b[6], b[7]]) as usize;
            let hl = if b[4] & 0x80 != 0 { 12 } else { 8 };
            if len < hl || len > b.len() {
                return;
            }
            *n += 1;
            if matches!(code, 443 | 456 | 437 | 431 | 873 | 874) {
                walk_avps(&b[hl..len], n);
            }
            b = &b[((len + 3) & !3).min(b.len())..];
        }
    }
    let mut n = 0;
    walk_avps(&buf[20..], &mut n);
    n
}

fn s(v: &'static str) -> Utf8String {
    Utf8String(ByteString::from_static(v))
}

fn id(v: &'static str) -> DiameterIdentity {
    DiameterIdentity(ByteString::from_static(v))
}

/// The CCR-I of shared/bench, built as a typed message.
fn build_ccr() -> CreditControlRequest {
    CreditControlRequest {
        session_id: s("pgw01.epc.mnc001.mcc262.3gppnetwork.org;1700000000;42;gy-0000000001"),
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

/// The same CCR-I with the generated writer, straight into `buf`; returns its length.
fn write_ccr(buf: &mut BytesMut) -> usize {
    let sgsn = Address::V4([192, 0, 2, 10].into());
    let mut w = CreditControlRequest::writer(
        buf,
        "pgw01.epc.mnc001.mcc262.3gppnetwork.org;1700000000;42;gy-0000000001",
    );
    w.hop_by_hop(1)
        .end_to_end(2)
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
    w.finish().unwrap()
}

mod baseline {
    //! The same operations with the crates.io `diameter` 0.7.1.
    use super::*;
    use diameter::avp::{
        Avp, AvpValue, address::Address as A, enumerated::Enumerated, group::Grouped,
        identity::Identity, octetstring::OctetString, unsigned32::Unsigned32,
        unsigned64::Unsigned64, utf8string::UTF8String,
    };
    use diameter::dictionary::{self, Dictionary};
    use diameter::{ApplicationId, CommandCode, DiameterMessage};

    /// Its default dictionary plus the four PS-Information members it lacks (without them it
    /// refuses the message: it cannot decode unknown AVPs).
    pub(super) fn dict() -> Arc<Dictionary> {
        const EXTRA: &str = r#"<diameter><application id="4" type="auth" name="Gy bench">
            <avp name="3GPP-Charging-Id" code="2" must="V" vendor-id="10415"><data type="OctetString"/></avp>
            <avp name="3GPP-PDP-Type" code="3" must="V" vendor-id="10415"><data type="Enumerated"/></avp>
            <avp name="SGSN-Address" code="1228" must="V,M" vendor-id="10415"><data type="Address"/></avp>
            <avp name="3GPP-IMSI-MCC-MNC" code="8" must="V" vendor-id="10415"><data type="UTF8String"/></avp>
        </application></diameter>"#;
        Arc::new(Dictionary::new(&[&dictionary::DEFAULT_DICT_XML, EXTRA]))
    }

    pub(super) fn decode(b: &[u8], d: &Arc<Dictionary>) -> DiameterMessage {
        DiameterMessage::decode_from(&mut Cursor::new(b), Arc::clone(d)).unwrap()
    }

    pub(super) fn read3(m: &DiameterMessage) -> (usize, u32, u64) {
        let sid = m
            .get_avp(263)
            .and_then(Avp::get_utf8string)
            .map_or(0, |v| v.value().len());
        let num = m.get_avp(415).and_then(Avp::get_unsigned32).unwrap_or(0);
        let octets = m
            .get_avp(456)
            .and_then(Avp::get_grouped)
            .and_then(|g| g.avps().iter().find(|a| a.get_code() == 437))
            .and_then(Avp::get_grouped)
            .and_then(|g| g.avps().iter().find(|a| a.get_code() == 421))
            .and_then(Avp::get_unsigned64)
            .unwrap_or(0);
        (sid, num, octets)
    }

    pub(super) fn build(d: &Arc<Dictionary>) -> DiameterMessage {
        let mut m = DiameterMessage::new(
            CommandCode::CreditControl,
            ApplicationId::CreditControl,
            0xc0,
            1,
            2,
            Arc::clone(d),
        );
        let u = |v: &str| AvpValue::UTF8String(UTF8String::new(v));
        let i = |v: &str| AvpValue::Identity(Identity::new(v));
        m.add_avp(
            263,
            None,
            0x40,
            u("pgw01.epc.mnc001.mcc262.3gppnetwork.org;1700000000;42;gy-0000000001"),
        );
        m.add_avp(
            264,
            None,
            0x40,
            i("pgw01.epc.mnc001.mcc262.3gppnetwork.org"),
        );
        m.add_avp(296, None, 0x40, i("epc.mnc001.mcc262.3gppnetwork.org"));
        m.add_avp(283, None, 0x40, i("ocs.mnc001.mcc262.3gppnetwork.org"));
        m.add_avp(258, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(4)));
        m.add_avp(461, None, 0x40, u("32251@3gpp.org"));
        m.add_avp(416, None, 0x40, AvpValue::Enumerated(Enumerated::new(1)));
        m.add_avp(415, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(0)));
        for (t, v) in [(0, "491701234567"), (1, "262011234567890")] {
            let mut g = Grouped::new(vec![], Arc::clone(d));
            g.add_avp(450, None, 0x40, AvpValue::Enumerated(Enumerated::new(t)));
            g.add_avp(444, None, 0x40, u(v));
            m.add_avp(443, None, 0x40, AvpValue::Grouped(g));
        }
        let mut rsu = Grouped::new(vec![], Arc::clone(d));
        rsu.add_avp(
            421,
            None,
            0x40,
            AvpValue::Unsigned64(Unsigned64::new(10_485_760)),
        );
        let mut mscc = Grouped::new(vec![], Arc::clone(d));
        mscc.add_avp(437, None, 0x40, AvpValue::Grouped(rsu));
        mscc.add_avp(432, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(100)));
        mscc.add_avp(439, None, 0x40, AvpValue::Unsigned32(Unsigned32::new(1)));
        m.add_avp(456, None, 0x40, AvpValue::Grouped(mscc));
        let mut ps = Grouped::new(vec![], Arc::clone(d));
        ps.add_avp(
            2,
            Some(10415),
            0x80,
            AvpValue::OctetString(OctetString::new(vec![0x0a, 0x1b, 0x2c, 0x3d])),
        );
        ps.add_avp(
            3,
            Some(10415),
            0x80,
            AvpValue::Enumerated(Enumerated::new(0)),
        );
        ps.add_avp(
            1228,
            Some(10415),
            0xc0,
            AvpValue::Address(A::from_ipv4([192, 0, 2, 10].into())),
        );
        ps.add_avp(8, Some(10415), 0x80, u("26201"));
        let mut si = Grouped::new(vec![], Arc::clone(d));
        si.add_avp(874, Some(10415), 0xc0, AvpValue::Grouped(ps));
        m.add_avp(873, Some(10415), 0xc0, AvpValue::Grouped(si));
        m
    }

    pub(super) fn encode(m: &DiameterMessage) -> Vec<u8> {
        let mut v = Vec::with_capacity(600);
        m.encode_to(&mut v).unwrap();
        v
    }
}

fn codec(c: &mut Criterion) {
    let ccr = hex("ccr.hex");
    let cca = hex("cca.hex");
    assert_eq!(walk(&ccr), 25);
    let dict = baseline::dict();
    {
        let mut buf = BytesMut::new();
        write_ccr(&mut buf);
        let mut want = build_ccr();
        want.header.hop_by_hop = 1;
        want.header.end_to_end = 2;
        assert_eq!(&buf[..], &want.to_bytes()[..]);
    }

    let mut g = c.benchmark_group("ccr");
    g.bench_function("walk (floor)", |b| b.iter(|| walk(black_box(&ccr))));
    g.bench_function("generic decode", |b| {
        b.iter(|| Message::decode(black_box(ccr.clone())).unwrap())
    });
    g.bench_function("generic decode + iterate", |b| {
        b.iter(|| {
            let m = Message::decode(black_box(ccr.clone())).unwrap();
            m.avps().flatten().map(|a| a.data.len()).sum::<usize>()
        })
    });
    // Decoded values are consumed by reference and dropped inside the routine: returning a
    // typed message to criterion would add its `black_box`, a volatile copy of the whole
    // struct (about a quarter of the time measured), which no user pays.
    g.bench_function("typed decode", |b| {
        b.iter(|| {
            let r = CreditControlRequest::decode(&Message::decode(black_box(ccr.clone())).unwrap())
                .unwrap();
            black_box(&r);
        })
    });
    // The former form of the row above, kept for the trend in BENCHMARKS.md.
    g.bench_function("typed decode (returned to criterion)", |b| {
        b.iter(|| {
            CreditControlRequest::decode(&Message::decode(black_box(ccr.clone())).unwrap()).unwrap()
        })
    });
    g.bench_function("typed decode + read 3", |b| {
        b.iter(|| {
            let r = CreditControlRequest::decode(&Message::decode(black_box(ccr.clone())).unwrap())
                .unwrap();
            let octets = r
                .multiple_services_credit_control
                .first()
                .and_then(|m| m.requested_service_unit.as_ref())
                .and_then(|u| u.get().ok()?.cc_total_octets);
            (r.session_id.len(), r.cc_request_number, octets)
        })
    });
    // The generated view: the same checks (and the wide members' contents), no copies.
    g.bench_function("typed view decode", |b| {
        b.iter(|| {
            let v = CreditControlRequestView::from_bytes(black_box(&ccr)).unwrap();
            black_box(&v);
        })
    });
    g.bench_function("typed view decode (after Message::decode)", |b| {
        b.iter(|| {
            let m = Message::decode(black_box(ccr.clone())).unwrap();
            let v = CreditControlRequestView::decode(&m).unwrap();
            black_box(&v);
        })
    });
    g.bench_function("typed view decode + read 3", |b| {
        b.iter(|| {
            let v = CreditControlRequestView::from_bytes(black_box(&ccr)).unwrap();
            let octets = v
                .multiple_services_credit_control()
                .next()
                .and_then(|m| m.requested_service_unit())
                .and_then(|u| u.cc_total_octets());
            (v.session_id().len(), v.cc_request_number(), octets)
        })
    });
    g.bench_function(
        "typed view decode + read PS-Information/3GPP-IMSI-MCC-MNC",
        |b| {
            b.iter(|| {
                let v = CreditControlRequestView::from_bytes(black_box(&ccr)).unwrap();
                let m = v
                    .service_information()
                    .and_then(|s| s.ps_information())
                    .and_then(|p| p.tgpp_imsi_mcc_mnc());
                black_box(m).is_some()
            })
        },
    );
    let path = [
        AvpKey::new(456, 0),
        AvpKey::new(437, 0),
        AvpKey::new(421, 0),
    ];
    g.bench_function(
        "typed decode + read PS-Information/3GPP-IMSI-MCC-MNC",
        |b| {
            b.iter(|| {
                let r =
                    CreditControlRequest::decode(&Message::decode(black_box(ccr.clone())).unwrap())
                        .unwrap();
                let si = r.service_information.as_ref().map(|s| {
                    s.get()
                        .unwrap()
                        .ps_information
                        .as_ref()
                        .map(|p| p.get().unwrap().tgpp_imsi_mcc_mnc.as_ref().map(|m| m.len()))
                });
                black_box(si).is_some()
            })
        },
    );
    g.bench_function("generic decode + read 3", |b| {
        b.iter(|| {
            let m = Message::decode(black_box(ccr.clone())).unwrap();
            let sid = m.session_id().map_or(0, str::len);
            let num = m.get::<u32>(AvpKey::new(415, 0)).and_then(Result::ok);
            let oct = m
                .find_path(&path)
                .map(|a| diameter_core::data::decode_as::<u64>(&a));
            (sid, num, oct.map(Result::ok))
        })
    });
    g.bench_function("typed build + encode", |b| {
        b.iter(|| black_box(build_ccr()).to_bytes())
    });
    // The encoded message in one new buffer, as 0.7.1's row ends with its `Vec` (one
    // allocation each).
    g.bench_function("typed build + encode (writer, new buffer)", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(600);
            write_ccr(&mut buf);
            buf
        })
    });
    // The same, frozen into `Bytes`: `freeze` of a buffer whose length is not its
    // capacity allocates bytes' shared header (a second allocation).
    g.bench_function("typed build + encode (writer, new buffer, frozen)", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(600);
            write_ccr(&mut buf);
            buf.freeze()
        })
    });
    g.bench_function("typed build + encode (writer, reused buffer)", |b| {
        let mut buf = BytesMut::with_capacity(1024);
        b.iter(|| {
            buf.clear();
            write_ccr(&mut buf)
        })
    });
    let built = build_ccr();
    g.bench_function("encode built", |b| {
        let mut buf = BytesMut::with_capacity(1024);
        b.iter(|| {
            buf.clear();
            black_box(&built).encode(&mut buf);
            buf.len()
        })
    });
    g.bench_function("diameter 0.7.1 decode", |b| {
        b.iter(|| black_box(&baseline::decode(black_box(&ccr), &dict)).get_length())
    });
    g.bench_function("diameter 0.7.1 decode + read 3", |b| {
        b.iter(|| baseline::read3(&baseline::decode(black_box(&ccr), &dict)))
    });
    g.bench_function("diameter 0.7.1 build + encode", |b| {
        b.iter(|| baseline::encode(&baseline::build(&dict)))
    });
    let built_071 = baseline::build(&dict);
    g.bench_function("diameter 0.7.1 encode built", |b| {
        b.iter(|| baseline::encode(black_box(&built_071)))
    });
    g.finish();

    let mut g = c.benchmark_group("cca");
    g.bench_function("walk (floor)", |b| b.iter(|| walk(black_box(&cca))));
    g.bench_function("generic decode", |b| {
        b.iter(|| Message::decode(black_box(cca.clone())).unwrap())
    });
    g.bench_function("typed decode", |b| {
        b.iter(|| {
            let r = CreditControlAnswer::decode(&Message::decode(black_box(cca.clone())).unwrap())
                .unwrap();
            black_box(&r);
        })
    });
    g.bench_function("typed view decode", |b| {
        b.iter(|| {
            let v = CreditControlAnswerView::from_bytes(black_box(&cca)).unwrap();
            black_box(&v);
        })
    });
    g.bench_function("diameter 0.7.1 decode", |b| {
        b.iter(|| black_box(&baseline::decode(black_box(&cca), &dict)).get_length())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = codec
}
criterion_main!(benches);
