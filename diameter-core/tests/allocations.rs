//! Heap allocations on the decode path, counted with a counting global allocator (a count,
//! not a timing): generic decode and iteration allocate nothing; typed decode allocates at
//! most once per repeated-AVP list present (plus nothing per AVP); typed views and typed
//! writers allocate nothing.

use diameter_core::Message;
use diameter_core::generated::credit_control::{CcRequestType, SubscriptionIdType};
use diameter_core::generated::ts32299::{
    CreditControlAnswer, CreditControlRequest, CreditControlRequestView,
};
use diameter_core::typed::Command;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod common;

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(GLOBAL);
    let r = f();
    (r, region.change().allocations)
}

// One test only: the allocation counter is global, and a second test running in parallel
// would add its own allocations to the count.
#[test]
fn decode_allocations() {
    // Large optional Grouped members are boxed by the generator, so decoding moves little.
    let size = std::mem::size_of::<CreditControlRequest>();
    assert!(size < 4096, "CreditControlRequest is {size} bytes");

    // As the node hands them out: frozen slices of a read buffer (shared representation).
    let shared = |b: bytes::Bytes| bytes::BytesMut::from(&b[..]).split().freeze();
    let ccr = shared(common::hex_file("ccr.hex"));
    let cca = shared(common::hex_file("cca.hex"));
    // Warm up lazily initialised statics.
    let _ = CreditControlRequest::decode(&Message::decode(ccr.clone()).unwrap());

    let (msg, n) = count(|| Message::decode(ccr.clone()).unwrap());
    assert_eq!(n, 0, "generic decode allocates");
    let (_, n) = count(|| {
        let mut total = 0;
        for a in msg.avps().flatten() {
            total += a.data.len();
            for c in a.children().flatten() {
                total += c.data.len();
            }
        }
        total
    });
    assert_eq!(n, 0, "iteration allocates");

    // CCR-I: the repeated lists present at the top are Subscription-Id,
    // Multiple-Services-Credit-Control and MSCC's Service-Identifier: one allocation each.
    // Service-Information is a wide Grouped member, kept lazily (no allocation until read).
    let (typed, n) = count(|| CreditControlRequest::decode(&msg).unwrap());
    println!("typed CCR decode: {n} allocations");
    assert_eq!(n, 3, "typed CCR decode allocations");
    let si = typed.service_information.as_ref().unwrap();
    assert!(!si.is_decoded());
    // Reading it: one box for Service-Information, one for PS-Information, its SGSN-Address
    // list, and the record of its received flags that differ from the dictionary's (this
    // capture sends several 3GPP AVPs without the M bit).
    let (ps_flags, n) = count(|| {
        let ps = si
            .get()
            .unwrap()
            .ps_information
            .as_ref()
            .unwrap()
            .get()
            .unwrap();
        ps.avp_flags.is_empty()
    });
    println!("reading Service-Information/PS-Information: {n} allocations");
    assert!(!ps_flags);
    assert_eq!(n, 4, "lazy decode allocations");

    // The typed view: decoding (every level checked) and reading nested members allocate
    // nothing.
    let (read, n) = count(|| {
        let v = CreditControlRequestView::from_bytes(&ccr).unwrap();
        let octets = v
            .multiple_services_credit_control()
            .next()
            .and_then(|m| m.requested_service_unit())
            .and_then(|u| u.cc_total_octets());
        let mcc_mnc = v
            .service_information()
            .and_then(|s| s.ps_information())
            .and_then(|p| p.tgpp_imsi_mcc_mnc())
            .map(str::len);
        (
            v.session_id().len(),
            v.subscription_id().count(),
            octets,
            mcc_mnc,
        )
    });
    assert_eq!(read, (67, 2, Some(10_485_760), Some(5)));
    assert_eq!(n, 0, "typed view decode and reads allocate");
    // The typed writer into a buffer with room: nothing but the buffer.
    let mut buf = bytes::BytesMut::with_capacity(1024);
    let (len, n) = count(|| {
        let mut w = CreditControlRequest::writer(&mut buf, "s;1");
        w.origin_host("a.example")
            .origin_realm("example")
            .destination_realm("example")
            .auth_application_id(4)
            .service_context_id("32251@3gpp.org")
            .cc_request_type(CcRequestType::INITIAL_REQUEST)
            .cc_request_number(0)
            .subscription_id(|s| {
                s.subscription_id_type(SubscriptionIdType::END_USER_E164)
                    .subscription_id_data("491701234567");
            })
            .multiple_services_credit_control(|m| {
                m.requested_service_unit(|r| {
                    r.cc_total_octets(1);
                });
            });
        w.finish().unwrap()
    });
    assert_eq!(len, buf.len());
    assert_eq!(n, 0, "typed writer allocates");
    let msg = Message::decode(cca).unwrap();
    let (_, n) = count(|| CreditControlAnswer::decode(&msg).unwrap());
    assert!(
        n <= 1,
        "typed CCA decode made {n} allocations (one MSCC list)"
    );
}
