//! The malformed cases of issue 14, one test per row: raw bytes into a node over TCP, the
//! RFC 6733 answer asserted (Result-Code, E bit, Failed-AVP content, Error-Message) and
//! whether the connection stays or closes.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use diameter_core::avp::AvpIter;
use diameter_core::generated::base::{VendorSpecificApplicationId, avp};
use diameter_core::typed::Command;
use diameter_core::{
    Address, AvpFlags, AvpKey, DiameterIdentity, Message, MessageBuilder, RawAvp, Utf8String,
};
use diameter_node::peer::LocalCapabilities;
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::{Limits, NodeHandle};

const M: AvpFlags = AvpFlags(AvpFlags::MANDATORY);
/// Multiple-Services-Credit-Control (RFC 4006 / 8506): Grouped, optional members and
/// `*[ AVP ]`, so it may hold itself.
const MSCC: u32 = 456;

async fn server() -> (NodeHandle, SocketAddr) {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let addr = server.local_addrs()[0];
    (server, addr)
}

/// A valid CCR of application 4 without its CC-Request-Type (`request_type` adds one).
fn ccr_without_type(hop_by_hop: u32) -> MessageBuilder {
    let mut b = raw_request(CC, GY, hop_by_hop);
    b.add(AvpKey::new(SERVICE_CONTEXT_ID, 0), &Utf8String::from("x"));
    b.add(AvpKey::new(CC_REQUEST_NUMBER, 0), &0u32);
    b
}

/// A valid CCR (CC-Request-Type 1).
fn good_ccr(hop_by_hop: u32) -> MessageBuilder {
    let mut b = ccr_without_type(hop_by_hop);
    b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
    b
}

/// A raw CCR like [`raw_request`] but with its own Destination-Realm / Destination-Host.
fn ccr_to(hop_by_hop: u32, realm: &str, host: Option<&str>) -> Message {
    let mut b = MessageBuilder::request(CC, GY, true);
    b.header_mut().hop_by_hop = hop_by_hop;
    b.header_mut().end_to_end = hop_by_hop;
    b.add(
        avp::SESSION_ID,
        &Utf8String::from(format!("raw.example.org;1;{hop_by_hop}")),
    );
    b.add(avp::ORIGIN_HOST, &DiameterIdentity::from("raw.example.org"));
    b.add(avp::ORIGIN_REALM, &DiameterIdentity::from("example.org"));
    b.add(avp::DESTINATION_REALM, &DiameterIdentity::from(realm));
    if let Some(h) = host {
        b.add(avp::DESTINATION_HOST, &DiameterIdentity::from(h));
    }
    b.add(avp::AUTH_APPLICATION_ID, &GY);
    b.add(AvpKey::new(SERVICE_CONTEXT_ID, 0), &Utf8String::from("x"));
    b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &1u32);
    b.add(AvpKey::new(CC_REQUEST_NUMBER, 0), &0u32);
    b.build()
}

/// What an answer says: Result-Code, E bit, the AVPs inside Failed-AVP (encoded, without
/// padding), Error-Message.
#[derive(Debug)]
struct Said {
    code: u32,
    e_bit: bool,
    failed: Vec<Bytes>,
    error_message: Option<String>,
}

fn said(a: &Message, hop_by_hop: u32) -> Said {
    assert!(!a.is_request());
    assert_eq!(a.header().hop_by_hop, hop_by_hop);
    let failed = a
        .find(avp::FAILED_AVP)
        .map(|f| {
            AvpIter::within(a.as_bytes(), f.data_offset, f.data_offset + f.data.len())
                .map(|m| m.expect("Failed-AVP members frame").raw_bytes())
                .collect()
        })
        .unwrap_or_default();
    Said {
        code: a.result_code().unwrap_or(0),
        e_bit: a.header().flags.is_error(),
        failed,
        error_message: a
            .find(avp::ERROR_MESSAGE)
            .map(|m| String::from_utf8_lossy(m.data).into_owned()),
    }
}

/// The encoded AVP (without padding) that `b` holds with key `key`: what Failed-AVP must
/// echo.
fn encoded(msg: &Message, key: AvpKey) -> Bytes {
    msg.find(key).expect("AVP present").raw_bytes()
}

/// After a refused request: the connection still answers a good one, 2001.
async fn still_open(raw: &mut Raw, hop_by_hop: u32) {
    raw.send(&bytes_of(good_ccr(hop_by_hop))).await;
    let a = raw.recv().await.expect("answer on the same connection");
    assert_eq!(said(&a, hop_by_hop).code, 2001);
}

// --- Requests the node neither serves nor routes (§6.1.4, §6.1) ---

#[tokio::test]
async fn destination_realm_neither_served_nor_routed_is_3003() {
    let (server, addr) = server().await;
    let mut raw = Raw::open(addr, "realm.example.org").await;
    let req = ccr_to(11, "other.net", None);
    raw.send(req.as_bytes()).await;
    let s = said(&raw.recv().await.expect("answer"), 11);
    assert_eq!((s.code, s.e_bit), (3003, true), "{s:?}");
    assert_eq!(s.failed, [encoded(&req, avp::DESTINATION_REALM)]);
    assert!(s.error_message.unwrap().contains("Destination-Realm"));
    // A plain server still answers its own realm (in any case) and requests without a
    // Destination-Host: 2001.
    raw.send(ccr_to(12, "EXAMPLE.ORG", None).as_bytes()).await;
    assert_eq!(said(&raw.recv().await.unwrap(), 12).code, 2001);
    still_open(&mut raw, 13).await;
    server.shutdown().await;
}

#[tokio::test]
async fn destination_host_of_another_host_without_route_is_3002() {
    let (server, addr) = server().await;
    let mut raw = Raw::open(addr, "host.example.org").await;
    let req = ccr_to(21, "example.org", Some("other.example.org"));
    raw.send(req.as_bytes()).await;
    let s = said(&raw.recv().await.expect("answer"), 21);
    assert_eq!((s.code, s.e_bit), (3002, true), "{s:?}");
    assert_eq!(s.failed, [encoded(&req, avp::DESTINATION_HOST)]);
    assert!(s.error_message.unwrap().contains("Destination-Host"));
    // Its own host name, in any case: processed here.
    raw.send(ccr_to(22, "example.org", Some("Server.Example.Org")).as_bytes())
        .await;
    assert_eq!(said(&raw.recv().await.unwrap(), 22).code, 2001);
    still_open(&mut raw, 23).await;
    server.shutdown().await;
}

// --- AVP flags and values in requests (§4.1, §7) ---

#[tokio::test]
async fn v_bit_with_vendor_id_0_is_3009() {
    let (server, addr) = server().await;
    let mut raw = Raw::open(addr, "vbit.example.org").await;
    let mut b = ccr_without_type(31);
    // CC-Request-Type with the V bit and a Vendor-ID field of 0.
    b.avp(
        CC_REQUEST_TYPE,
        0,
        AvpFlags(AvpFlags::VENDOR | AvpFlags::MANDATORY),
        &1u32,
    );
    let req = b.build();
    let bad = encoded(&req, AvpKey::new(CC_REQUEST_TYPE, 0));
    assert_eq!(bad.len(), 16, "header with Vendor-ID, then the value");
    raw.send(req.as_bytes()).await;
    let s = said(&raw.recv().await.expect("answer"), 31);
    assert_eq!((s.code, s.e_bit), (3009, true), "{s:?}");
    assert_eq!(s.failed, [bad]);
    assert!(s.error_message.is_some());
    still_open(&mut raw, 32).await;
    server.shutdown().await;
}

#[tokio::test]
async fn cc_request_type_9_is_5004() {
    let (server, addr) = server().await;
    let mut raw = Raw::open(addr, "enum.example.org").await;
    let mut b = ccr_without_type(41);
    b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &9u32);
    let req = b.build();
    raw.send(req.as_bytes()).await;
    let s = said(&raw.recv().await.expect("answer"), 41);
    assert_eq!((s.code, s.e_bit), (5004, false), "{s:?}");
    assert_eq!(s.failed, [encoded(&req, AvpKey::new(CC_REQUEST_TYPE, 0))]);
    assert!(s.error_message.unwrap().contains("Enumerated"));
    // Each defined value (1..=4) is accepted.
    for (i, v) in (1u32..=4).enumerate() {
        let hbh = 42 + i as u32;
        let mut b = ccr_without_type(hbh);
        b.add(AvpKey::new(CC_REQUEST_TYPE, 0), &v);
        raw.send(&bytes_of(b)).await;
        assert_eq!(said(&raw.recv().await.unwrap(), hbh).code, 2001);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn reserved_command_flag_bits_are_ignored() {
    let (server, addr) = server().await;
    let mut raw = Raw::open(addr, "flags.example.org").await;
    let mut b = bytes_of(good_ccr(51)).to_vec();
    b[4] |= 0x0f;
    raw.send(&b).await;
    let a = raw.recv().await.expect("answer");
    let s = said(&a, 51);
    assert_eq!((s.code, s.e_bit), (2001, false), "{s:?}");
    assert!(s.failed.is_empty());
    // The answer's own reserved bits are zero (§3).
    assert_eq!(a.header().flags.0 & 0x0f, 0);
    // The E bit on a request is still 3008.
    let mut b = bytes_of(good_ccr(52)).to_vec();
    b[4] |= 0x20;
    raw.send(&b).await;
    let s = said(&raw.recv().await.expect("answer"), 52);
    assert_eq!((s.code, s.e_bit), (3008, true));
    still_open(&mut raw, 53).await;
    server.shutdown().await;
}

/// `levels` Multiple-Services-Credit-Control AVPs, each the only member of the one
/// around it.
fn nested_mscc(levels: usize) -> Vec<u8> {
    let mut data: Vec<u8> = Vec::new();
    for _ in 0..levels {
        let len = (8 + data.len()) as u32;
        let mut avp = Vec::with_capacity(len as usize);
        avp.extend_from_slice(&MSCC.to_be_bytes());
        avp.push(M.0);
        avp.extend_from_slice(&len.to_be_bytes()[1..]);
        avp.extend_from_slice(&data);
        data = avp;
    }
    data
}

#[tokio::test]
async fn grouped_nesting_beyond_the_limit_is_5012_with_one_avp_header() {
    let (server, addr) = server().await;
    let mut raw = Raw::open(addr, "deep.example.org").await;
    // 1,000 levels (7,992 bytes of AVP): refused, without echoing the tree.
    let mut b = good_ccr(61);
    b.extend_raw(&nested_mscc(1000));
    let req = b.build();
    raw.send(req.as_bytes()).await;
    let a = raw.recv().await.expect("answer");
    let s = said(&a, 61);
    assert_eq!((s.code, s.e_bit), (5012, false), "{s:?}");
    // Failed-AVP: the header of the first MSCC past the limit, data left out.
    assert_eq!(s.failed.len(), 1);
    assert_eq!(&s.failed[0][..], &[0, 0, 1, 0xc8, 0x40, 0, 0, 8]);
    let msg = s.error_message.unwrap();
    assert!(msg.contains("nested deeper than 64"), "{msg}");
    assert!(
        a.as_bytes().len() < 512,
        "answer of {} bytes",
        a.as_bytes().len()
    );
    // A 5xxx is a CCA (no E bit): it carries what RFC 4006 §3.2 requires of one, copied
    // from the request (Erlang/OTP refuses a CCA without them as 5005).
    for (code, what) in [
        (258, "Auth-Application-Id"),
        (416, "CC-Request-Type"),
        (415, "CC-Request-Number"),
    ] {
        assert!(
            a.find(diameter_core::AvpKey::new(code, 0)).is_some(),
            "{what} missing from the 5012 CCA"
        );
    }
    // The limit (64 levels, ten times what real traffic nests) is accepted.
    let mut b = good_ccr(62);
    b.extend_raw(&nested_mscc(diameter_core::DEFAULT_MAX_DEPTH));
    raw.send(&bytes_of(b)).await;
    assert_eq!(said(&raw.recv().await.unwrap(), 62).code, 2001);
    let mut b = good_ccr(63);
    b.extend_raw(&nested_mscc(diameter_core::DEFAULT_MAX_DEPTH + 1));
    raw.send(&bytes_of(b)).await;
    assert_eq!(said(&raw.recv().await.unwrap(), 63).code, 5012);
    still_open(&mut raw, 64).await;
    server.shutdown().await;
}

// --- CER (§5.3, §7): the CEA carries the error, Failed-AVP and Error-Message, then the
// --- connection closes.

/// A CER as a client of application 4 sends it, for `host` in example.org.
fn cer(host: &str) -> diameter_core::generated::base::CapabilitiesExchangeRequest {
    let mut local = LocalCapabilities::new(host, "example.org");
    local.applications = vec![SupportedApplication::auth(GY)];
    let mut cer = local.cer();
    cer.header.hop_by_hop = 1;
    cer.header.end_to_end = 1;
    cer
}

/// Sends `cer`, returns what the CEA says, and checks the connection is then closed.
async fn refused_cer(addr: SocketAddr, cer: &[u8]) -> Said {
    let mut raw = Raw::connect(addr).await;
    raw.send(cer).await;
    let cea = raw.recv_any().await.expect("CEA");
    assert_eq!(cea.code(), 257);
    let s = said(&cea, 1);
    assert!(
        raw.closed_within(Duration::from_secs(2)).await,
        "closed after CEA {}",
        s.code
    );
    s
}

/// The CER's AVPs with `edit` applied to the list of encoded AVPs.
fn edited_cer(host: &str, edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Bytes {
    let msg = Message::decode(cer(host).to_bytes()).unwrap();
    let mut avps: Vec<Vec<u8>> = msg
        .avps()
        .map(|a| {
            let a = a.unwrap();
            let mut v = a.raw_bytes().to_vec();
            v.resize(diameter_core::avp::padded(v.len()), 0);
            v
        })
        .collect();
    edit(&mut avps);
    let mut b = MessageBuilder::new(*msg.header());
    b.extend_raw(&avps.concat());
    b.build().into_bytes()
}

fn raw_avp(code: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut b = bytes::BytesMut::new();
    RawAvp {
        code,
        flags: AvpFlags(flags),
        vendor: 0,
        data: Bytes::copy_from_slice(data),
    }
    .encode(&mut b);
    b.to_vec()
}

fn first_code(s: &Said) -> u32 {
    u32::from_be_bytes(s.failed[0][..4].try_into().unwrap())
}

#[tokio::test]
async fn cer_with_unknown_mandatory_avp_is_5001_and_closed() {
    let (server, addr) = server().await;
    let mut c = cer("unknown.example.org");
    let unknown = RawAvp {
        code: 98_765,
        flags: M,
        vendor: 0,
        data: Bytes::from_static(&[0, 0, 0, 7]),
    };
    c.extra.push(unknown.clone());
    let s = refused_cer(addr, &c.to_bytes()).await;
    assert_eq!((s.code, s.e_bit), (5001, false), "{s:?}");
    let mut expected = bytes::BytesMut::new();
    unknown.encode(&mut expected);
    assert_eq!(s.failed, [expected.freeze()]);
    assert!(s.error_message.is_some());
    // The node still takes a good CER.
    let _ok = Raw::open(addr, "good.example.org").await;
    server.shutdown().await;
}

#[tokio::test]
async fn cer_with_host_ip_address_of_unknown_family_is_5004() {
    let (server, addr) = server().await;
    let mut c = cer("family.example.org");
    c.host_ip_address = vec![Address::Other {
        family: 99,
        data: Bytes::from_static(&[1, 2, 3, 4]),
    }];
    let bytes = c.to_bytes();
    let s = refused_cer(addr, &bytes).await;
    assert_eq!((s.code, s.e_bit), (5004, false), "{s:?}");
    let msg = Message::decode(bytes).unwrap();
    assert_eq!(s.failed, [encoded(&msg, avp::HOST_IP_ADDRESS)]);
    assert!(s.error_message.unwrap().contains("Host-IP-Address"));
    server.shutdown().await;
}

#[tokio::test]
async fn cer_origin_host_with_a_space_is_5004() {
    let (server, addr) = server().await;
    let bytes = cer("bad host.example.org").to_bytes();
    let s = refused_cer(addr, &bytes).await;
    assert_eq!((s.code, s.e_bit), (5004, false), "{s:?}");
    let msg = Message::decode(bytes).unwrap();
    assert_eq!(s.failed, [encoded(&msg, avp::ORIGIN_HOST)]);
    assert!(s.error_message.unwrap().contains("DiameterIdentity"));
    server.shutdown().await;
}

#[tokio::test]
async fn cer_with_avp_vendor_specific_application_id_does_not_allow_is_5008() {
    let (server, addr) = server().await;
    let mut c = cer("vsai.example.org");
    // Product-Name (269) is not in Vendor-Specific-Application-Id's ABNF, which has no
    // `*[ AVP ]` (§6.11).
    let mut vsai = VendorSpecificApplicationId {
        vendor_id: 10415,
        auth_application_id: Some(GY),
        ..Default::default()
    };
    vsai.extra.push(RawAvp {
        code: avp::PRODUCT_NAME.code,
        flags: AvpFlags::default(),
        vendor: 0,
        data: Bytes::from_static(b"inside"),
    });
    c.vendor_specific_application_id.push(vsai);
    let s = refused_cer(addr, &c.to_bytes()).await;
    assert_eq!((s.code, s.e_bit), (5008, false), "{s:?}");
    assert_eq!(s.failed.len(), 1);
    assert_eq!(first_code(&s), avp::PRODUCT_NAME.code);
    assert_eq!(&s.failed[0][8..], b"inside");
    assert!(s.error_message.unwrap().contains("not allowed"));
    server.shutdown().await;
}

#[tokio::test]
async fn cea_5005_5009_5014_carry_failed_avp_and_error_message() {
    let (server, addr) = server().await;

    // No Origin-Host: 5005, Failed-AVP an Origin-Host with zero-filled (empty) data.
    let no_host = edited_cer("x.example.org", |avps| {
        avps.retain(|a| a[..4] != avp::ORIGIN_HOST.code.to_be_bytes())
    });
    let s = refused_cer(addr, &no_host).await;
    assert_eq!((s.code, s.e_bit), (5005, false), "{s:?}");
    assert_eq!(s.failed, [Bytes::from_static(&[0, 0, 1, 8, 0x40, 0, 0, 8])]);
    assert!(s.error_message.unwrap().contains("Origin-Host"));

    // Two Origin-Host: 5009, Failed-AVP the second one.
    let second = raw_avp(avp::ORIGIN_HOST.code, 0x40, b"twice.example.org");
    let second_clone = second.clone();
    let two_hosts = edited_cer("two.example.org", move |avps| avps.insert(2, second_clone));
    let s = refused_cer(addr, &two_hosts).await;
    assert_eq!((s.code, s.e_bit), (5009, false), "{s:?}");
    assert_eq!(s.failed, [Bytes::from(second[..8 + 17].to_vec())]);
    assert!(s.error_message.unwrap().contains("too many"));

    // Host-IP-Address of family IPv4 with 6 address bytes: 5014, Failed-AVP that AVP.
    let bad_ip = raw_avp(avp::HOST_IP_ADDRESS.code, 0x40, &[0, 1, 10, 0, 0, 1, 0, 0]);
    let bad_ip_clone = bad_ip.clone();
    let six_bytes = edited_cer("ip.example.org", move |avps| {
        let at = avps
            .iter()
            .position(|a| a[..4] == avp::HOST_IP_ADDRESS.code.to_be_bytes())
            .unwrap();
        avps[at] = bad_ip_clone;
    });
    let s = refused_cer(addr, &six_bytes).await;
    assert_eq!((s.code, s.e_bit), (5014, false), "{s:?}");
    assert_eq!(s.failed, [Bytes::from(bad_ip)]);
    assert!(s.error_message.unwrap().contains("Address"));

    let _ok = Raw::open(addr, "good.example.org").await;
    server.shutdown().await;
}
