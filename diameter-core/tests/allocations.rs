//! Heap allocations on the decode path, counted with a counting global allocator (a count,
//! not a timing): generic decode and iteration allocate nothing; typed decode allocates at
//! most once per repeated-AVP list present (plus nothing per AVP).

use diameter_core::Message;
use diameter_core::generated::ts32299::{CreditControlAnswer, CreditControlRequest};
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

    let msg = Message::decode(cca).unwrap();
    let (_, n) = count(|| CreditControlAnswer::decode(&msg).unwrap());
    assert!(
        n <= 1,
        "typed CCA decode made {n} allocations (one MSCC list)"
    );
}
