//! Text dump: one line per AVP with name, code, flags, vendor, type and value, nested
//! Grouped AVPs indented. A Result-Code value is followed by its name where a compiled-in
//! or registered dictionary defines it (`4012 DIAMETER_CREDIT_LIMIT_REACHED`), and so is an
//! Experimental-Result-Code, named by the Vendor-Id of its Experimental-Result.

use std::fmt::Write;

use super::{Scalar, command_name, hex, scalar};
use crate::avp::{AvpIter, AvpRef};
use crate::data::{AvpData, DecodeCx};
use crate::dictionary::{self, AvpType};
use crate::generated::base::avp as keys;
use crate::message::Message;

/// Renders a message as indented text.
pub fn text(msg: &Message) -> String {
    let h = msg.header();
    let mut out = String::with_capacity(64 + msg.as_bytes().len() * 3);
    let _ = writeln!(
        out,
        "{} ({}) flags [{:?}] application {} hop-by-hop {:#010x} end-to-end {:#010x} length {}",
        command_name(h.code, h.application_id, h.flags.is_request()),
        h.code,
        h.flags,
        h.application_id,
        h.hop_by_hop,
        h.end_to_end,
        h.length
    );
    write_avps(&mut out, msg.avps(), 1, 0, None);
    out
}

/// The Vendor-Id of an Experimental-Result (RFC 6733 §7.6), which names its
/// Experimental-Result-Code.
fn experimental_vendor(avp: &AvpRef<'_>) -> Option<u32> {
    avp.children()
        .filter_map(Result::ok)
        .find(|a| a.key() == keys::VENDOR_ID)
        .and_then(|a| u32::decode(&a, DecodeCx::default()).ok())
}

/// The name of a Result-Code value, or of an Experimental-Result-Code value of `vendor`.
fn result_name(avp: &AvpRef<'_>, value: u64, vendor: Option<u32>) -> Option<&'static str> {
    let value = u32::try_from(value).ok()?;
    let key = avp.key();
    if key == keys::RESULT_CODE {
        dictionary::result_code_name(value)
    } else if key == keys::EXPERIMENTAL_RESULT_CODE {
        dictionary::experimental_result_code_name(vendor?, value)
    } else {
        None
    }
}

/// `vendor`: the Vendor-Id of the Experimental-Result whose members these are, if any.
fn write_avps(
    out: &mut String,
    avps: AvpIter<'_>,
    indent: usize,
    depth: usize,
    vendor: Option<u32>,
) {
    for avp in avps {
        let pad = "  ".repeat(indent);
        let avp = match avp {
            Ok(a) => a,
            Err(e) => {
                let _ = writeln!(out, "{pad}!! {e}");
                return;
            }
        };
        let def = dictionary::avp(avp.key());
        let name = def.map_or("Unknown-AVP", |d| d.name);
        let _ = write!(out, "{pad}{name} ({}", avp.code);
        if avp.vendor != 0 {
            let vname = dictionary::vendor(avp.vendor).map_or("", |v| v.name);
            let _ = write!(out, ", vendor {} {vname}", avp.vendor);
        }
        let ty = def.map(|d| d.ty);
        let _ = write!(
            out,
            ") [{:?}] {}: ",
            avp.flags,
            ty.map_or("?", AvpType::name)
        );
        if ty == Some(AvpType::Grouped) && depth < crate::DEFAULT_MAX_DEPTH {
            out.push('\n');
            let vendor = if avp.key() == keys::EXPERIMENTAL_RESULT {
                experimental_vendor(&avp)
            } else {
                None
            };
            write_avps(out, avp.children(), indent + 1, depth + 1, vendor);
            continue;
        }
        match scalar(&avp, def) {
            Scalar::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Scalar::Uint(v) => {
                let _ = write!(out, "{v}");
                if let Some(n) = result_name(&avp, v, vendor) {
                    let _ = write!(out, " {n}");
                }
            }
            Scalar::Float(v) => {
                let _ = write!(out, "{v}");
            }
            Scalar::Text(s) => {
                let _ = write!(out, "{s:?}");
            }
            Scalar::Address(a) => {
                let _ = write!(out, "{a}");
            }
            Scalar::Time(t) => {
                let _ = write!(out, "{t} ({})", t.0);
            }
            Scalar::Enum(v, Some(n)) => {
                let _ = write!(out, "{n} ({v})");
            }
            Scalar::Enum(v, None) => {
                let _ = write!(out, "{v}");
            }
            Scalar::Hex => {
                let _ = write!(out, "0x{}", hex(avp.data));
            }
        }
        out.push('\n');
    }
}
