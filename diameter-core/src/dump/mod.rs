//! Human-readable text and JSON renderings of messages, and messages built from JSON.
//!
//! Both use the compiled-in dictionaries for names, types and enum names; unknown AVPs are
//! shown as hex and survive a JSON round trip unchanged.

mod json;
mod text;

pub use json::{JsonError, from_json, from_json_str, to_json};
pub use text::text;

use crate::avp::AvpRef;
use crate::data::{Address, AvpData, DecodeCx, Time};
use crate::dictionary::{AvpDef, AvpType};

/// A decoded scalar value, for rendering.
#[derive(Debug)]
pub(crate) enum Scalar {
    Int(i64),
    Uint(u64),
    Float(f64),
    Text(String),
    Hex,
    Address(Address),
    Time(Time),
    Enum(i32, Option<&'static str>),
}

/// Interprets an AVP's data by its definition; `Hex` when unknown or not decodable.
pub(crate) fn scalar(avp: &AvpRef<'_>, def: Option<&AvpDef>) -> Scalar {
    let cx = DecodeCx::default();
    let Some(def) = def else { return Scalar::Hex };
    let r = match def.ty {
        AvpType::Integer32 => i32::decode(avp, cx).map(|v| Scalar::Int(v.into())),
        AvpType::Integer64 => i64::decode(avp, cx).map(Scalar::Int),
        AvpType::Unsigned32 => u32::decode(avp, cx).map(|v| Scalar::Uint(v.into())),
        AvpType::Unsigned64 => u64::decode(avp, cx).map(Scalar::Uint),
        AvpType::Float32 => f32::decode(avp, cx).map(|v| Scalar::Float(v.into())),
        AvpType::Float64 => f64::decode(avp, cx).map(Scalar::Float),
        AvpType::Enumerated => i32::decode(avp, cx).map(|v| Scalar::Enum(v, def.enum_name(v))),
        AvpType::Address => Address::decode(avp, cx).map(Scalar::Address),
        AvpType::Time => Time::decode(avp, cx).map(Scalar::Time),
        AvpType::UTF8String
        | AvpType::DiameterIdentity
        | AvpType::DiameterURI
        | AvpType::IPFilterRule
        | AvpType::QoSFilterRule => match std::str::from_utf8(avp.data) {
            Ok(s) => Ok(Scalar::Text(s.to_owned())),
            Err(_) => Ok(Scalar::Hex),
        },
        AvpType::OctetString | AvpType::Grouped => Ok(Scalar::Hex),
    };
    r.unwrap_or(Scalar::Hex)
}

pub(crate) fn hex(data: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes hex text (whitespace allowed between byte pairs).
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// The display name of a command: `Credit-Control-Request`, or `Command 999 Request`.
pub fn command_name(code: u32, application: u32, request: bool) -> String {
    let suffix = if request { "Request" } else { "Answer" };
    let def = crate::dictionary::command(code, application)
        .or_else(|| crate::dictionary::commands_by_code(code).next());
    match def {
        Some(c) => format!("{}-{suffix}", c.name),
        None => format!("Command-{code}-{suffix}"),
    }
}
