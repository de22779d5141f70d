//! JSON rendering of messages and building messages from the same shape (the CLI's format):
//!
//! ```json
//! {"version":1,"flags":{"request":true,"proxiable":true,"error":false,"retransmit":false},
//!  "command_code":272,"command":"Credit-Control-Request","application_id":4,
//!  "hop_by_hop":1,"end_to_end":2,"avps":[
//!   {"code":263,"vendor":0,"name":"Session-Id",
//!    "flags":{"vendor":false,"mandatory":true,"protected":false},
//!    "type":"UTF8String","value":"..."}]}
//! ```
//!
//! Grouped AVPs carry `"avps"`, OctetString and unknown AVPs `"hex"`, Address a text IP or
//! `{"family":8,"hex":"..."}`, Time RFC 3339 UTC text, Enumerated a number plus `"enum"`.
//! When building, `name` may replace `code`/`vendor`, `type` and `flags` may be omitted, and
//! an Enumerated value may be given by its name.

use std::net::IpAddr;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value, json};

use super::{Scalar, command_name, hex, parse_hex, scalar};
use crate::avp::{AvpFlags, AvpIter, put_avp_with, put_header, put_padding};
use crate::data::{Address, AvpData, Time};
use crate::dictionary::{self, AvpDef, AvpType};
use crate::header::{CommandFlags, Header};
use crate::message::{Message, MessageBuilder};

/// Renders a message as a JSON value.
pub fn to_json(msg: &Message) -> Value {
    let h = msg.header();
    json!({
        "version": h.version,
        "flags": {
            "request": h.flags.is_request(),
            "proxiable": h.flags.is_proxiable(),
            "error": h.flags.is_error(),
            "retransmit": h.flags.is_retransmit(),
        },
        "command_code": h.code,
        "command": command_name(h.code, h.application_id, h.flags.is_request()),
        "application_id": h.application_id,
        "hop_by_hop": h.hop_by_hop,
        "end_to_end": h.end_to_end,
        "avps": avps_json(msg.avps(), 0),
    })
}

fn avps_json(avps: AvpIter<'_>, depth: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for avp in avps {
        let Ok(avp) = avp else { break };
        let def = dictionary::avp(avp.key());
        let mut o = Map::new();
        o.insert("code".into(), avp.code.into());
        o.insert("vendor".into(), avp.vendor.into());
        if let Some(d) = def {
            o.insert("name".into(), d.name.into());
        }
        o.insert(
            "flags".into(),
            json!({
                "vendor": avp.flags.is_vendor(),
                "mandatory": avp.flags.is_mandatory(),
                "protected": avp.flags.is_protected(),
            }),
        );
        if let Some(d) = def {
            o.insert("type".into(), d.ty.name().into());
        }
        let grouped_ok = def.is_some_and(|d| d.ty == AvpType::Grouped)
            && depth < crate::DEFAULT_MAX_DEPTH
            && avp.children().all(|c| c.is_ok());
        if grouped_ok {
            o.insert("avps".into(), avps_json(avp.children(), depth + 1).into());
        } else {
            match scalar(&avp, def) {
                Scalar::Int(v) => {
                    o.insert("value".into(), v.into());
                }
                Scalar::Uint(v) => {
                    o.insert("value".into(), v.into());
                }
                Scalar::Float(v) => {
                    o.insert("value".into(), v.into());
                }
                Scalar::Text(s) => {
                    o.insert("value".into(), s.into());
                }
                Scalar::Address(Address::Other { family, data }) => {
                    o.insert("value".into(), json!({"family": family, "hex": hex(&data)}));
                }
                Scalar::Address(a) => {
                    o.insert("value".into(), a.to_string().into());
                }
                Scalar::Time(t) => {
                    o.insert("value".into(), t.to_rfc3339().into());
                }
                Scalar::Enum(v, name) => {
                    o.insert("value".into(), v.into());
                    if let Some(n) = name {
                        o.insert("enum".into(), n.into());
                    }
                }
                Scalar::Hex => {
                    o.insert("hex".into(), hex(avp.data).into());
                }
            }
        }
        out.push(Value::Object(o));
    }
    out
}

/// Why JSON could not be turned into a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON.
    #[error("invalid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// JSON of the wrong shape; the path says where (e.g. `avps[3].value`).
    #[error("{path}: {message}")]
    Shape {
        /// Where in the document.
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn shape(path: &str, message: impl Into<String>) -> JsonError {
    JsonError::Shape {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Builds a message from JSON text.
pub fn from_json_str(s: &str) -> Result<Message, JsonError> {
    from_json(&serde_json::from_str(s)?)
}

/// Builds a message from a JSON value of the [`to_json`] shape.
pub fn from_json(v: &Value) -> Result<Message, JsonError> {
    let o = v
        .as_object()
        .ok_or_else(|| shape("$", "expected an object"))?;
    let u32_field = |k: &str| -> Result<Option<u32>, JsonError> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| shape(k, "expected a 32-bit unsigned number")),
        }
    };
    let application_id = u32_field("application_id")?.unwrap_or(0);
    let code = match u32_field("command_code")? {
        Some(c) => c,
        None => {
            let name = o
                .get("command")
                .and_then(Value::as_str)
                .ok_or_else(|| shape("$", "command_code or command is required"))?;
            command_code_by_name(name, application_id)
                .ok_or_else(|| shape("command", format!("unknown command {name:?}")))?
        }
    };
    let flag = |k: &str| {
        o.get("flags")
            .and_then(|f| f.get(k))
            .and_then(Value::as_bool)
    };
    let request = flag("request")
        .or_else(|| {
            let n = o.get("command").and_then(Value::as_str)?;
            Some(!n.ends_with("Answer"))
        })
        .unwrap_or(true);
    let proxiable = flag("proxiable")
        .unwrap_or_else(|| dictionary::command(code, application_id).is_none_or(|c| c.proxiable));
    let mut flags = CommandFlags::request(proxiable).with(CommandFlags::REQUEST, request);
    flags = flags.with(CommandFlags::ERROR, flag("error").unwrap_or(false));
    flags = flags.with(
        CommandFlags::RETRANSMIT,
        flag("retransmit").unwrap_or(false),
    );
    let mut header = Header::new(code, application_id, flags);
    header.hop_by_hop = u32_field("hop_by_hop")?.unwrap_or(0);
    header.end_to_end = u32_field("end_to_end")?.unwrap_or(0);
    let mut b = MessageBuilder::new(header);
    let mut body = BytesMut::new();
    if let Some(avps) = o.get("avps") {
        let list = avps
            .as_array()
            .ok_or_else(|| shape("avps", "expected an array"))?;
        for (i, a) in list.iter().enumerate() {
            encode_avp_json(a, &format!("avps[{i}]"), &mut body, 0)?;
        }
    }
    b.extend_raw(&body);
    Ok(b.build())
}

fn command_code_by_name(name: &str, application: u32) -> Option<u32> {
    let stem = name
        .strip_suffix("-Request")
        .or_else(|| name.strip_suffix("-Answer"))
        .unwrap_or(name);
    let mut found = None;
    for m in dictionary::modules() {
        for c in m.commands {
            if c.name == stem
                || (!c.short.is_empty()
                    && (name == format!("{}R", c.short) || name == format!("{}A", c.short)))
            {
                if c.application == application {
                    return Some(c.code);
                }
                found.get_or_insert(c.code);
            }
        }
    }
    found
}

fn encode_avp_json(
    v: &Value,
    path: &str,
    buf: &mut BytesMut,
    depth: usize,
) -> Result<(), JsonError> {
    if depth > crate::DEFAULT_MAX_DEPTH {
        return Err(shape(path, "nested too deeply"));
    }
    let o = v
        .as_object()
        .ok_or_else(|| shape(path, "expected an object"))?;
    let num = |k: &str| {
        o.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let by_name = o.get("name").and_then(Value::as_str).map(|n| {
        dictionary::avp_by_name(n).ok_or_else(|| shape(path, format!("unknown AVP name {n:?}")))
    });
    let by_name = by_name.transpose()?;
    let (code, vendor) = match (num("code"), by_name) {
        (Some(c), _) => (c, num("vendor").unwrap_or(0)),
        (None, Some(d)) => (d.code, d.vendor),
        (None, None) => return Err(shape(path, "code or name is required")),
    };
    let def = dictionary::avp(crate::AvpKey::new(code, vendor));
    let ty = match o.get("type").and_then(Value::as_str) {
        Some(t) => {
            Some(AvpType::from_name(t).ok_or_else(|| shape(path, format!("unknown type {t:?}")))?)
        }
        None => def.map(|d| d.ty),
    };
    let mut flags = def.map(AvpDef::default_flags).unwrap_or_default().0;
    if let Some(f) = o.get("flags") {
        let mut set = |k: &str, bit: u8| {
            if let Some(on) = f.get(k).and_then(Value::as_bool) {
                if on { flags |= bit } else { flags &= !bit }
            }
        };
        set("mandatory", AvpFlags::MANDATORY);
        set("protected", AvpFlags::PROTECTED);
    }
    let flags = AvpFlags(flags);
    if let Some(members) = o.get("avps") {
        let list = members
            .as_array()
            .ok_or_else(|| shape(path, "avps: expected an array"))?;
        let mut err = None;
        put_avp_with(buf, code, flags, vendor, |b| {
            for (i, m) in list.iter().enumerate() {
                if let Err(e) = encode_avp_json(m, &format!("{path}.avps[{i}]"), b, depth + 1) {
                    err = Some(e);
                    return;
                }
            }
        });
        return err.map_or(Ok(()), Err);
    }
    if let Some(h) = o.get("hex") {
        let data = h
            .as_str()
            .and_then(parse_hex)
            .ok_or_else(|| shape(path, "hex: expected hex text"))?;
        put_header(buf, code, flags, vendor, data.len());
        buf.put_slice(&data);
        put_padding(buf, data.len());
        return Ok(());
    }
    let value = o
        .get("value")
        .ok_or_else(|| shape(path, "value, hex or avps is required"))?;
    let ty = ty.ok_or_else(|| shape(path, "type is required for an unknown AVP with a value"))?;
    let bad = |what: &str| {
        shape(
            &format!("{path}.value"),
            format!("expected {what} for {}", ty.name()),
        )
    };
    let mut put = |data: &dyn Fn(&mut BytesMut)| {
        let mut d = BytesMut::new();
        data(&mut d);
        put_header(buf, code, flags, vendor, d.len());
        buf.put_slice(&d);
        put_padding(buf, d.len());
    };
    match ty {
        AvpType::Integer32 => {
            let v = value
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| bad("an integer"))?;
            put(&|d| d.put_i32(v));
        }
        AvpType::Enumerated => {
            let v = match value {
                Value::String(s) => def
                    .and_then(|d| d.enum_value(s))
                    .ok_or_else(|| bad("a known enum name"))?,
                _ => value
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| bad("an integer"))?,
            };
            put(&|d| d.put_i32(v));
        }
        AvpType::Integer64 => {
            let v = value.as_i64().ok_or_else(|| bad("an integer"))?;
            put(&|d| d.put_i64(v));
        }
        AvpType::Unsigned32 => {
            let v = value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("an unsigned integer"))?;
            put(&|d| d.put_u32(v));
        }
        AvpType::Unsigned64 => {
            let v = value.as_u64().ok_or_else(|| bad("an unsigned integer"))?;
            put(&|d| d.put_u64(v));
        }
        AvpType::Float32 => {
            let v = value.as_f64().ok_or_else(|| bad("a number"))? as f32;
            put(&|d| d.put_f32(v));
        }
        AvpType::Float64 => {
            let v = value.as_f64().ok_or_else(|| bad("a number"))?;
            put(&|d| d.put_f64(v));
        }
        AvpType::Time => {
            let t = match value {
                Value::String(s) => Time::parse_rfc3339(s).ok_or_else(|| bad("RFC 3339 time"))?,
                _ => Time(
                    value
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| bad("a time"))?,
                ),
            };
            put(&|d| t.encode_data(d));
        }
        AvpType::Address => {
            let a = match value {
                Value::String(s) => {
                    Address::from(s.parse::<IpAddr>().map_err(|_| bad("an IP address"))?)
                }
                Value::Object(m) => {
                    let family = m
                        .get("family")
                        .and_then(Value::as_u64)
                        .and_then(|f| u16::try_from(f).ok())
                        .ok_or_else(|| bad("a family number"))?;
                    let data = m
                        .get("hex")
                        .and_then(Value::as_str)
                        .and_then(parse_hex)
                        .ok_or_else(|| bad("hex address bytes"))?;
                    Address::Other {
                        family,
                        data: Bytes::from(data),
                    }
                }
                _ => return Err(bad("an address")),
            };
            put(&|d| a.encode_data(d));
        }
        AvpType::OctetString | AvpType::Grouped => {
            let s = value.as_str().ok_or_else(|| bad("text (or use hex)"))?;
            put(&|d| d.put_slice(s.as_bytes()));
        }
        AvpType::UTF8String
        | AvpType::DiameterIdentity
        | AvpType::DiameterURI
        | AvpType::IPFilterRule
        | AvpType::QoSFilterRule => {
            let s = value.as_str().ok_or_else(|| bad("text"))?;
            put(&|d| d.put_slice(s.as_bytes()));
        }
    }
    Ok(())
}
