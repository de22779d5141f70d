//! One codec operation run N times, for instruction counts per call under callgrind
//! (criterion's loops vary in length, so they cannot be subtracted): BENCHMARKS.md, "Codec:
//! instructions per call". Build it in release with only Gy/Ro compiled, then count two run
//! lengths and divide the difference:
//!
//! ```text
//! cargo build --release -p diameter-core --no-default-features --features gy --example codec_calls
//! valgrind --tool=callgrind target/release/examples/codec_calls write 12000 diameter-core/tests/data/ccr.hex
//! ```
//!
//! Operations: `write` (the typed writer into a reused buffer, as the codec bench's
//! "writer, reused buffer" row), `typed` (owned struct decode), `view` (typed view decode),
//! `encode` (the owned struct, decoded once, encoded into a reused buffer) of a CCR;
//! `cca-typed`, `cca-view` and `cca-encode` the same for a CCA (give `cca.hex`); `validate` the
//! generic ABNF check a node runs on every request it receives (`Message::decode`, then
//! `validate_counting`: a dictionary lookup per AVP).

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use diameter_core::Address;
use diameter_core::generated::credit_control::{CcRequestType, SubscriptionIdType};
use diameter_core::generated::ts29061::TgppPdpType;
use diameter_core::generated::ts32299::{
    CreditControlAnswer, CreditControlAnswerView, CreditControlRequest, CreditControlRequestView,
};
use diameter_core::typed::Command;

#[inline(never)]
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

#[inline(never)]
fn typed(b: &Bytes) -> usize {
    let m = CreditControlRequest::from_bytes(b.clone()).unwrap();
    m.cc_request_number as usize
}
#[inline(never)]
fn view(b: &Bytes) -> usize {
    let m = CreditControlRequestView::from_bytes(b).unwrap();
    m.cc_request_number() as usize
}

#[inline(never)]
fn cca_typed(b: &Bytes) -> usize {
    let m = CreditControlAnswer::from_bytes(b.clone()).unwrap();
    m.cc_request_number as usize
}
#[inline(never)]
fn cca_view(b: &Bytes) -> usize {
    let m = CreditControlAnswerView::from_bytes(b).unwrap();
    m.cc_request_number() as usize
}

#[inline(never)]
fn encode<C: Command>(m: &C, buf: &mut BytesMut) -> usize {
    buf.clear();
    m.encode(buf);
    buf.len()
}

#[inline(never)]
fn validate(b: &Bytes) -> usize {
    let m = diameter_core::Message::decode(b.clone()).unwrap();
    let d = diameter_core::validate::validate_counting(&m, Default::default()).unwrap();
    usize::from(d.is_empty())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, n, path] = &args[..] else {
        eprintln!(
            "usage: codec_calls write|typed|view|encode|cca-typed|cca-view|cca-encode|validate COUNT HEX-FILE"
        );
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("COUNT is a number");
    let text = std::fs::read_to_string(path).expect("the hex file reads");
    let msg = Bytes::from(diameter_core::dump::parse_hex(text.trim()).unwrap());
    let mut buf = BytesMut::with_capacity(4096);
    let mut acc = 0;
    // Decoded once, outside the loop: the `encode` operations count encoding only.
    let ccr = (mode == "encode").then(|| CreditControlRequest::from_bytes(msg.clone()).unwrap());
    let cca = (mode == "cca-encode").then(|| CreditControlAnswer::from_bytes(msg.clone()).unwrap());
    for _ in 0..n {
        acc += match mode.as_str() {
            "write" => {
                buf.clear();
                write_ccr(&mut buf)
            }
            "typed" => typed(black_box(&msg)),
            "view" => view(black_box(&msg)),
            "cca-typed" => cca_typed(black_box(&msg)),
            "cca-view" => cca_view(black_box(&msg)),
            "validate" => validate(black_box(&msg)),
            "encode" => encode(black_box(ccr.as_ref().unwrap()), &mut buf),
            "cca-encode" => encode(black_box(cca.as_ref().unwrap()), &mut buf),
            other => panic!("unknown operation {other}"),
        };
    }
    println!("{acc}");
}
