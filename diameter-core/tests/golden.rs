//! Golden vectors: real traffic captured on loopback between our node and other
//! implementations (scripts/capture-golden), one message per line in tests/data/golden/*.hex.
//! Every message decodes generically and re-encodes byte for byte; every message with a
//! typed definition round-trips through it without losing an AVP or a flag (the order may
//! follow the ABNF, so AVPs are compared as a multiset, recursively).

use std::path::Path;

use diameter_core::generated::{TypedMessage, decode_typed};
use diameter_core::{AvpIter, Message};

/// Every AVP, nested ones included, as (depth, code, vendor, flags, data of leaves), sorted.
fn avp_multiset(avps: AvpIter<'_>, depth: usize, out: &mut Vec<(usize, u32, u32, u8, Vec<u8>)>) {
    for a in avps.flatten() {
        let def = diameter_core::dictionary::avp(a.key());
        let grouped = def.is_some_and(|d| d.ty == diameter_core::dictionary::AvpType::Grouped);
        if grouped {
            out.push((depth, a.code, a.vendor, a.flags.0, Vec::new()));
            avp_multiset(a.children(), depth + 1, out);
        } else {
            out.push((depth, a.code, a.vendor, a.flags.0, a.data.to_vec()));
        }
    }
}

#[test]
fn golden_vectors_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut total, mut typed) = (0, 0);
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "hex"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let name = format!("{}:{}", f.display(), i + 1);
            let bytes = bytes::Bytes::from(diameter_core::dump::parse_hex(line.trim()).unwrap());
            let msg = Message::decode(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(msg.as_bytes(), &bytes, "{name}: generic re-encode differs");
            total += 1;
            let t = decode_typed(&msg).unwrap_or_else(|e| panic!("{name}: typed decode: {e}"));
            if matches!(t, TypedMessage::Generic(_)) {
                continue;
            }
            typed += 1;
            let again = Message::decode(t.to_bytes()).unwrap();
            assert_eq!(again.header(), msg.header(), "{name}: header");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            avp_multiset(msg.avps(), 0, &mut a);
            avp_multiset(again.avps(), 0, &mut b);
            a.sort();
            b.sort();
            assert_eq!(a, b, "{name}: typed round trip lost or changed an AVP");
        }
    }
    println!("golden vectors: {total} messages, {typed} through their typed definition");
    assert!(total >= 8, "only {total} golden messages");
}
