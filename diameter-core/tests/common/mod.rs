//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use diameter_core::dictionary::{self, AvpDef, AvpType, Rule, UNBOUNDED};
use diameter_core::{AvpFlags, MessageBuilder};

/// Reads a hex file of the test data folder (one message).
pub fn hex_file(name: &str) -> Bytes {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    Bytes::from(diameter_core::dump::parse_hex(text.trim()).unwrap())
}

/// A sample value's data for a non-Grouped type.
pub fn sample_data(def: &AvpDef, salt: u32) -> Vec<u8> {
    match def.ty {
        AvpType::Integer32 | AvpType::Unsigned32 => (salt + 1).to_be_bytes().to_vec(),
        AvpType::Enumerated => def
            .enums
            .first()
            .map_or(0, |(v, _)| *v)
            .to_be_bytes()
            .to_vec(),
        AvpType::Integer64 | AvpType::Unsigned64 => u64::from(salt + 7).to_be_bytes().to_vec(),
        AvpType::Float32 => 1.5f32.to_be_bytes().to_vec(),
        AvpType::Float64 => 2.25f64.to_be_bytes().to_vec(),
        AvpType::Time => 0xe000_0000u32.wrapping_add(salt).to_be_bytes().to_vec(),
        AvpType::Address => vec![0, 1, 192, 0, 2, (salt % 250) as u8 + 1],
        AvpType::DiameterURI => {
            format!("aaa://host{salt}.example.org:3868;transport=tcp").into_bytes()
        }
        AvpType::DiameterIdentity => format!("host{salt}.example.org").into_bytes(),
        AvpType::UTF8String => format!("text-{salt}-\u{e9}").into_bytes(),
        AvpType::IPFilterRule => b"permit in ip from any to any".to_vec(),
        AvpType::QoSFilterRule => b"tag 1 in ip from any to any".to_vec(),
        AvpType::OctetString => vec![0xde, 0xad, (salt & 0xff) as u8],
        AvpType::Grouped => Vec::new(),
    }
}

/// How many occurrences of a rule to put in a sample: the minimum, at least one, two for
/// unbounded lists.
pub fn sample_count(rule: &Rule) -> u32 {
    let want = if rule.max == UNBOUNDED || rule.max > 1 {
        2
    } else {
        1
    };
    want.max(rule.min).min(rule.max)
}

/// Writes sample members for `rules` through `put` (depth-limited for recursive trees).
pub fn sample_members(
    rules: &[Rule],
    depth: usize,
    salt: &mut u32,
    b: &mut diameter_core::message::GroupBuilder<'_>,
) {
    for rule in rules {
        let Some(key) = rule.avp else { continue };
        let Some(def) = dictionary::avp(key) else {
            continue;
        };
        let count = if depth > 3 && rule.min == 0 {
            0
        } else {
            sample_count(rule)
        };
        for _ in 0..count {
            *salt += 1;
            if def.ty == AvpType::Grouped {
                let rules = def.grouped;
                let mut s = *salt;
                b.grouped(key.code, key.vendor, def.default_flags(), |g| {
                    sample_members(rules, depth + 1, &mut s, g)
                });
                *salt = s;
            } else {
                b.avp(
                    key.code,
                    key.vendor,
                    def.default_flags(),
                    &Bytes::from(sample_data(def, *salt)),
                );
            }
        }
    }
}

/// A sample message for a command, every rule filled in ABNF order.
pub fn sample_message(
    cmd: &diameter_core::dictionary::CommandDef,
    request: bool,
) -> diameter_core::Message {
    let mut b = MessageBuilder::request(cmd.code, cmd.application, cmd.proxiable);
    b.header_mut().flags = b
        .header()
        .flags
        .with(diameter_core::CommandFlags::REQUEST, request);
    b.header_mut().hop_by_hop = 0x1234_5678;
    b.header_mut().end_to_end = 0x9abc_def0;
    let mut salt = 0;
    let rules = cmd.rules(request);
    // The builder's top level works like a group: reuse the member writer.
    let mut body = MessageBuilder::request(0, 0, false);
    body.grouped(1, 0, AvpFlags::default(), |g| {
        sample_members(rules, 0, &mut salt, g)
    });
    let tmp = body.build();
    let wrapper = tmp.avps().next().unwrap().unwrap();
    b.extend_raw(wrapper.data);
    b.build()
}
