//! How `decode` shows a message, in text ([`text`]) and JSON ([`json`]): the shapes of
//! diameter-core's `dump` (the JSON still reads back with `diameter encode`), plus what a
//! Wireshark user expects to see decoded: names of Result-Code and
//! Experimental-Result-Code values, addresses held in OctetStrings, 3GPP location, time
//! zone, PLMN and TBCD values ([`tgpp`]), and named bits of flag AVPs ([`formats`]).
//!
//! Both renderers walk the AVPs once and share [`view`], which decides what a value is.

mod formats;
pub(crate) mod json;
pub(crate) mod text;
mod tgpp;

use std::borrow::Cow;

use diameter_core::avp::AvpRef;
use diameter_core::data::DecodeCx;
use diameter_core::dictionary::{self, AvpDef, AvpType};
use diameter_core::{Address, AvpData, Time};

use formats::Format;

/// Code of Vendor-Id (RFC 6733 §5.3.3), Result-Code (§7.1), Experimental-Result (§7.6),
/// Experimental-Result-Code (§7.7).
const VENDOR_ID: u32 = 266;
const RESULT_CODE: u32 = 268;
const EXPERIMENTAL_RESULT: u32 = 297;
const EXPERIMENTAL_RESULT_CODE: u32 = 298;
/// 3GPP's vendor id, and Supported-Features / Feature-List-ID (TS 29.229 §6.3.29-30).
const VENDOR_3GPP: u32 = 10415;
const SUPPORTED_FEATURES: u32 = 628;
const FEATURE_LIST_ID: u32 = 629;

/// What the AVPs around an AVP tell about it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cx {
    /// The message's Application-Id.
    pub(crate) application: u32,
    /// Inside an Experimental-Result: its Vendor-Id (names the Experimental-Result-Code).
    result_vendor: Option<u32>,
    /// Inside a Supported-Features: the bit names of its Feature-List.
    features: Option<&'static [&'static str]>,
}

impl Cx {
    pub(crate) fn message(application: u32) -> Self {
        Self {
            application,
            ..Self::default()
        }
    }

    /// The context of the members of Grouped `avp`.
    fn enter(&self, avp: &AvpRef<'_>) -> Self {
        let mut cx = Self::message(self.application);
        let key = (avp.code, avp.vendor);
        if key == (EXPERIMENTAL_RESULT, 0) {
            cx.result_vendor = member_u32(avp, VENDOR_ID, 0);
        } else if key == (SUPPORTED_FEATURES, VENDOR_3GPP)
            && self.application == formats::S6A
            && member_u32(avp, VENDOR_ID, 0) == Some(VENDOR_3GPP)
        {
            cx.features = match member_u32(avp, FEATURE_LIST_ID, VENDOR_3GPP) {
                Some(1) => Some(formats::S6A_FEATURES_1),
                Some(2) => Some(formats::S6A_FEATURES_2),
                _ => None,
            };
        }
        cx
    }
}

fn member_u32(avp: &AvpRef<'_>, code: u32, vendor: u32) -> Option<u32> {
    avp.children()
        .filter_map(Result::ok)
        .find(|a| a.code == code && a.vendor == vendor)
        .and_then(|a| u32::decode(&a, DecodeCx::default()).ok())
}

/// A value as the dictionary types it.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    Int(i64),
    Uint(u64),
    Float(f64),
    Text(&'a str),
    Address(Address),
    Time(Time),
    /// Enumerated: the value and its name.
    Enum(i32, Option<&'static str>),
    /// OctetString, unknown or undecodable: shown as hex.
    Hex,
    /// Members follow.
    Grouped,
}

/// One AVP with everything to show about it.
pub(crate) struct View<'a> {
    pub(crate) avp: AvpRef<'a>,
    pub(crate) def: Option<&'static AvpDef>,
    pub(crate) value: Value<'a>,
    /// The name of a Result-Code or Experimental-Result-Code value.
    pub(crate) value_name: Option<&'static str>,
    /// A decoded form of an OctetString (an address, a 3GPP location, ...).
    pub(crate) decoded: Option<String>,
    /// The names of the bits set in a flag AVP.
    pub(crate) bits: Vec<Cow<'static, str>>,
    /// The context of its members, when Grouped.
    pub(crate) inner: Cx,
}

/// What is shown of `avp` at `depth` (Grouped beyond the codec's depth limit is shown as
/// hex; one with a member that cannot be read is left to the renderer: text shows the
/// members up to the damage, JSON shows hex).
pub(crate) fn view<'a>(avp: AvpRef<'a>, cx: &Cx, depth: usize) -> View<'a> {
    let def = dictionary::avp(avp.key());
    let mut v = View {
        value: Value::Hex,
        def,
        value_name: None,
        decoded: None,
        bits: Vec::new(),
        inner: Cx::default(),
        avp,
    };
    let Some(d) = def else { return v };
    let c = DecodeCx::default();
    let a = &v.avp;
    let value = match d.ty {
        AvpType::Grouped => {
            if depth < diameter_core::DEFAULT_MAX_DEPTH {
                v.inner = cx.enter(a);
                Ok(Value::Grouped)
            } else {
                Ok(Value::Hex)
            }
        }
        AvpType::Integer32 => i32::decode(a, c).map(|n| Value::Int(n.into())),
        AvpType::Integer64 => i64::decode(a, c).map(Value::Int),
        AvpType::Unsigned32 => u32::decode(a, c).map(|n| Value::Uint(n.into())),
        AvpType::Unsigned64 => u64::decode(a, c).map(Value::Uint),
        AvpType::Float32 => f32::decode(a, c).map(|n| Value::Float(n.into())),
        AvpType::Float64 => f64::decode(a, c).map(Value::Float),
        AvpType::Enumerated => i32::decode(a, c).map(|n| Value::Enum(n, d.enum_name(n))),
        AvpType::Address => Address::decode(a, c).map(Value::Address),
        AvpType::Time => Time::decode(a, c).map(Value::Time),
        AvpType::UTF8String
        | AvpType::DiameterIdentity
        | AvpType::DiameterURI
        | AvpType::IPFilterRule
        | AvpType::QoSFilterRule => Ok(std::str::from_utf8(a.data).map_or(Value::Hex, Value::Text)),
        AvpType::OctetString => Ok(Value::Hex),
    };
    v.value = value.unwrap_or(Value::Hex);
    let key = (a.code, a.vendor);
    // Most AVPs have no format: look it up only for the value kinds that may have one.
    let format = match v.value {
        Value::Uint(_) | Value::Hex => formats::format_of(a.key()),
        _ => None,
    };
    match (&v.value, format) {
        (Value::Uint(n), _) if key == (RESULT_CODE, 0) => {
            v.value_name = u32::try_from(*n)
                .ok()
                .and_then(dictionary::result_code_name);
        }
        (Value::Uint(n), _) if key == (EXPERIMENTAL_RESULT_CODE, 0) => {
            v.value_name = cx.result_vendor.and_then(|vendor| {
                dictionary::experimental_result_code_name(vendor, u32::try_from(*n).ok()?)
            });
        }
        (Value::Uint(n), Some(Format::Bits(names))) => {
            v.bits = formats::bit_names(*n as u32, names);
        }
        (Value::Uint(n), _) if Some(a.key()) == formats::feature_list_key() => {
            if let Some(names) = cx.features {
                v.bits = formats::bit_names(*n as u32, names);
            }
        }
        (Value::Hex, Some(f)) => v.decoded = formats::decode(f, a.data),
        // An Integer32 or Unsigned32 AVP whose specification names some of its values
        // (TS 32.299 Cause-Code, ...).
        (Value::Int(n), _) if !d.enums.is_empty() => v.value_name = d.value_name(*n),
        (Value::Uint(n), _) if !d.enums.is_empty() => {
            v.value_name = i64::try_from(*n).ok().and_then(|n| d.value_name(n));
        }
        _ => {}
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::Message;

    /// A message of `application` holding `avps` (already encoded).
    pub(crate) fn message(application: u32, avps: &[u8]) -> Message {
        let len = 20 + avps.len();
        let mut m = vec![1, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        m.extend_from_slice(&[0x80, 0, 1, 60]); // ULR (316)
        m.extend_from_slice(&application.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        m.extend_from_slice(avps);
        Message::decode(bytes::Bytes::from(m)).unwrap()
    }

    /// An AVP with a 3GPP vendor id when `vendor` is set.
    pub(crate) fn avp(code: u32, vendor: u32, data: &[u8]) -> Vec<u8> {
        let hl = if vendor != 0 { 12 } else { 8 };
        let len = hl + data.len();
        let mut a = code.to_be_bytes().to_vec();
        a.push(if vendor != 0 { 0xc0 } else { 0x40 });
        a.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        if vendor != 0 {
            a.extend_from_slice(&vendor.to_be_bytes());
        }
        a.extend_from_slice(data);
        a.resize(len.div_ceil(4) * 4, 0);
        a
    }

    #[test]
    fn feature_list_bits_need_s6a_and_the_list_id() {
        let group = [
            avp(266, 0, &10415u32.to_be_bytes()),
            avp(629, 10415, &1u32.to_be_bytes()),
            avp(630, 10415, &0b11u32.to_be_bytes()),
        ]
        .concat();
        let sf = avp(628, 10415, &group);
        for (app, expect) in [
            (formats::S6A, vec!["ODB-all-APN", "ODB-HPLMN-APN"]),
            (4, vec![]),
        ] {
            let m = message(app, &sf);
            let cx = Cx::message(app);
            let outer = view(m.avps().next().unwrap().unwrap(), &cx, 0);
            let list = outer.avp.children().nth(2).unwrap().unwrap();
            assert_eq!(view(list, &outer.inner, 1).bits, expect);
        }
    }

    #[test]
    fn broken_group_text_shows_members_json_shows_hex() {
        // Experimental-Result: Vendor-Id, then a member whose length runs past the group.
        let mut inner = avp(266, 0, &10415u32.to_be_bytes());
        inner.extend_from_slice(&[0, 0, 1, 42, 0x40, 0, 0, 40, 0, 0, 0, 0]);
        let m = message(formats::S6A, &avp(297, 0, &inner));
        let mut t = String::new();
        text::message(&mut t, &m);
        assert!(
            t.contains("    Vendor-Id (266) [-M-] Unsigned32: 10415\n    !! "),
            "{t}"
        );
        let mut j = Vec::new();
        json::message_open(&mut j, &m);
        j.push(b'}');
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert!(v["avps"][0]["hex"].is_string(), "{v}");
    }

    #[test]
    fn experimental_result_code_named_by_its_vendor() {
        let er = avp(
            297,
            0,
            &[
                avp(266, 0, &10415u32.to_be_bytes()),
                avp(298, 0, &5420u32.to_be_bytes()),
            ]
            .concat(),
        );
        let m = message(formats::S6A, &er);
        let outer = view(m.avps().next().unwrap().unwrap(), &Cx::message(0), 0);
        let code = outer.avp.children().nth(1).unwrap().unwrap();
        assert_eq!(
            view(code, &outer.inner, 1).value_name,
            Some("DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION")
        );
    }
}
