//! Property tests: every data type encodes and decodes to itself, and any generic message
//! built from arbitrary AVPs decodes and re-encodes byte for byte.

use bytes::{Bytes, BytesMut};
use diameter_core::data::{AvpData, DecodeCx};
use diameter_core::{
    Address, AvpFlags, AvpIter, DiameterIdentity, Message, MessageBuilder, RawAvp, Time, Utf8String,
};
use proptest::prelude::*;

fn round_trip<T: AvpData + PartialEq + std::fmt::Debug>(v: &T, vendor: u32) {
    let mut buf = BytesMut::new();
    v.encode_avp(&mut buf, 1234, AvpFlags(AvpFlags::MANDATORY), vendor);
    assert_eq!(buf.len(), v.avp_len(vendor));
    let root = buf.freeze();
    let avp = AvpIter::new(&root).next().unwrap().unwrap();
    assert_eq!(avp.code, 1234);
    assert_eq!(avp.vendor, vendor);
    let back = T::decode(&avp, DecodeCx::default()).unwrap();
    assert_eq!(&back, v);
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| Address::V4(a.into())),
        any::<[u8; 16]>().prop_map(|a| Address::V6(a.into())),
        (3u16..=0xffff, proptest::collection::vec(any::<u8>(), 0..20)).prop_map(
            |(family, data)| Address::Other {
                family,
                data: Bytes::from(data)
            }
        ),
    ]
}

proptest! {
    #[test]
    fn integers(a: i32, b: i64, c: u32, d: u64, vendor in prop_oneof![Just(0u32), any::<u32>()]) {
        round_trip(&a, vendor);
        round_trip(&b, vendor);
        round_trip(&c, vendor);
        round_trip(&d, vendor);
    }

    #[test]
    fn floats(a in any::<f32>().prop_filter("not NaN", |f| !f.is_nan()), b in any::<f64>().prop_filter("not NaN", |f| !f.is_nan())) {
        round_trip(&a, 0);
        round_trip(&b, 10415);
    }

    #[test]
    fn octets(v in proptest::collection::vec(any::<u8>(), 0..300)) {
        round_trip(&Bytes::from(v), 0);
    }

    #[test]
    fn text(s in "\\PC{0,80}") {
        round_trip(&Utf8String::from(s.as_str()), 0);
        round_trip(&DiameterIdentity::from(s.as_str()), 10415);
    }

    #[test]
    fn addresses(a in address()) {
        round_trip(&a, 0);
    }

    #[test]
    fn times(t: u32) {
        let time = Time(t);
        round_trip(&time, 0);
        // RFC 3339 text round-trips through the wrap rule.
        prop_assert_eq!(Time::parse_rfc3339(&time.to_rfc3339()), Some(time));
    }

    #[test]
    fn generic_messages(
        avps in proptest::collection::vec(
            (any::<u32>(), any::<bool>(), any::<u32>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40)),
            0..30,
        ),
        code in 0u32..0x00ff_ffff,
        app: u32,
        hbh: u32,
        e2e: u32,
    ) {
        let mut b = MessageBuilder::request(code, app, true);
        b.header_mut().hop_by_hop = hbh;
        b.header_mut().end_to_end = e2e;
        let raws: Vec<RawAvp> = avps
            .into_iter()
            .map(|(code, has_vendor, vendor, flags, data)| RawAvp {
                code,
                flags: AvpFlags(flags & 0x60),
                vendor: if has_vendor { vendor.max(1) } else { 0 },
                data: Bytes::from(data),
            })
            .collect();
        for r in &raws {
            b.raw(r);
        }
        let built = b.build();
        let decoded = Message::decode(built.as_bytes().clone()).unwrap();
        prop_assert_eq!(decoded.as_bytes(), built.as_bytes());
        prop_assert_eq!(decoded.header(), built.header());
        let back: Vec<RawAvp> = decoded.avps().map(|a| {
            let mut r = a.unwrap().to_raw();
            r.flags = AvpFlags(r.flags.0 & 0x60);
            r
        }).collect();
        prop_assert_eq!(back, raws);
    }

    #[test]
    fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        diameter_core::fuzzing::decode_message(&data);
        diameter_core::fuzzing::decode_typed(&data);
        diameter_core::fuzzing::validate(&data);
    }

    #[test]
    fn mutated_messages_never_panic(pos in 0usize..528, byte: u8) {
        let hex = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ccr.hex")).unwrap();
        let mut data = diameter_core::dump::parse_hex(hex.trim()).unwrap();
        let p = pos % data.len();
        data[p] = byte;
        diameter_core::fuzzing::decode_message(&data);
        diameter_core::fuzzing::decode_typed(&data);
        diameter_core::fuzzing::validate(&data);
    }
}
