//! Text dump: one line per AVP with name, code, flags, vendor, type and value, nested
//! Grouped AVPs indented.

use std::fmt::Write;

use super::{Scalar, command_name, hex, scalar};
use crate::avp::AvpIter;
use crate::dictionary::{self, AvpType};
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
    write_avps(&mut out, msg.avps(), 1, 0);
    out
}

fn write_avps(out: &mut String, avps: AvpIter<'_>, indent: usize, depth: usize) {
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
            write_avps(out, avp.children(), indent + 1, depth + 1);
            continue;
        }
        match scalar(&avp, def) {
            Scalar::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Scalar::Uint(v) => {
                let _ = write!(out, "{v}");
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
