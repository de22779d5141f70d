//! JSON written straight into a byte buffer, in the shape of diameter-core's
//! `dump::to_json` (so `diameter encode` reads it back), plus `value_name`, `decoded` and
//! `bits` where [`super::view`] finds them.
//!
//! Why not build a `serde_json::Value` and serialize it, as before: that allocated an
//! ordered map and its keys for every AVP and every flags object, and made `--format
//! jsonl` about 8 times slower than text on a large capture. Strings still go through
//! serde_json's escaping.

use std::io::Write;

use diameter_core::avp::AvpIter;
use diameter_core::dictionary::AvpType;
use diameter_core::dump::command_name;
use diameter_core::{Address, Message};

use super::{Cx, Value, view};

/// Appends a JSON string.
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends `"key":` (keys are plain ASCII here).
pub(crate) fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn hex(out: &mut Vec<u8>, data: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for b in data {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    out.push(b'"');
}

/// Appends the members of the message object, without the closing brace, so that the
/// caller may add its own (`capture`, `validation`, ...).
pub(crate) fn message_open(out: &mut Vec<u8>, msg: &Message) {
    let h = msg.header();
    let f = h.flags;
    let _ = write!(
        out,
        "{{\"version\":{},\"flags\":{{\"request\":{},\"proxiable\":{},\"error\":{},\"retransmit\":{}}},\"command_code\":{},\"command\":",
        h.version,
        f.is_request(),
        f.is_proxiable(),
        f.is_error(),
        f.is_retransmit(),
        h.code
    );
    string(
        out,
        &command_name(h.code, h.application_id, h.flags.is_request()),
    );
    let _ = write!(
        out,
        ",\"application_id\":{},\"hop_by_hop\":{},\"end_to_end\":{},\"avps\":",
        h.application_id, h.hop_by_hop, h.end_to_end
    );
    avps(out, msg.avps(), &Cx::message(h.application_id), 0);
}

fn avps(out: &mut Vec<u8>, list: AvpIter<'_>, cx: &Cx, depth: usize) {
    out.push(b'[');
    let mut first = true;
    for avp in list {
        // As in dump::to_json: the AVPs before one that cannot be read.
        let Ok(avp) = avp else { break };
        if !first {
            out.push(b',');
        }
        first = false;
        let v = view(avp, cx, depth);
        let a = &v.avp;
        let _ = write!(out, "{{\"code\":{},\"vendor\":{}", a.code, a.vendor);
        if let Some(d) = v.def {
            out.extend_from_slice(b",\"name\":");
            string(out, d.name);
        }
        let _ = write!(
            out,
            ",\"flags\":{{\"vendor\":{},\"mandatory\":{},\"protected\":{}}}",
            a.flags.is_vendor(),
            a.flags.is_mandatory(),
            a.flags.is_protected()
        );
        if let Some(d) = v.def {
            out.extend_from_slice(b",\"type\":\"");
            out.extend_from_slice(AvpType::name(d.ty).as_bytes());
            out.push(b'"');
        }
        out.push(b',');
        match &v.value {
            // As dump::to_json: members as JSON only when every one can be read.
            Value::Grouped if a.children().all(|m| m.is_ok()) => {
                key(out, "avps");
                avps(out, a.children(), &v.inner, depth + 1);
            }
            Value::Grouped => {
                key(out, "hex");
                hex(out, a.data);
            }
            Value::Int(n) => {
                key(out, "value");
                let _ = write!(out, "{n}");
            }
            Value::Uint(n) => {
                key(out, "value");
                let _ = write!(out, "{n}");
            }
            Value::Float(n) => {
                key(out, "value");
                let _ = serde_json::to_writer(&mut *out, n);
            }
            Value::Text(s) => {
                key(out, "value");
                string(out, s);
            }
            Value::Address(Address::Other { family, data }) => {
                key(out, "value");
                let _ = write!(out, "{{\"family\":{family},\"hex\":");
                hex(out, data);
                out.push(b'}');
            }
            Value::Address(addr) => {
                key(out, "value");
                let _ = write!(out, "\"{addr}\"");
            }
            Value::Time(t) => {
                key(out, "value");
                string(out, &t.to_rfc3339());
            }
            Value::Enum(n, name) => {
                key(out, "value");
                let _ = write!(out, "{n}");
                if let Some(name) = name {
                    out.extend_from_slice(b",\"enum\":");
                    string(out, name);
                }
            }
            Value::Hex => {
                key(out, "hex");
                hex(out, a.data);
            }
        }
        if let Some(name) = v.value_name {
            out.extend_from_slice(b",\"value_name\":");
            string(out, name);
        }
        if let Some(d) = &v.decoded {
            out.extend_from_slice(b",\"decoded\":");
            string(out, d);
        }
        if !v.bits.is_empty() {
            out.extend_from_slice(b",\"bits\":[");
            for (i, b) in v.bits.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, b);
            }
            out.push(b']');
        }
        out.push(b'}');
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_extras(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                for k in ["value_name", "decoded", "bits"] {
                    o.shift_remove(k);
                }
                o.values_mut().for_each(strip_extras);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip_extras),
            _ => {}
        }
    }

    /// The same JSON as diameter-core's `dump::to_json` for messages without decoded
    /// extras, whatever the AVP types.
    #[test]
    fn same_shape_as_the_core_dump() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
        for name in ["ccr.hex", "cca.hex"] {
            let hex = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
            let bytes = diameter_core::dump::parse_hex(hex.trim()).unwrap();
            let msg = Message::decode(bytes::Bytes::from(bytes)).unwrap();
            let mut out = Vec::new();
            message_open(&mut out, &msg);
            out.push(b'}');
            let mut ours: serde_json::Value = serde_json::from_slice(&out).unwrap();
            strip_extras(&mut ours);
            assert_eq!(ours, diameter_core::dump::to_json(&msg), "{name}");
        }
    }
}
