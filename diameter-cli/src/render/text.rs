//! Text: diameter-core's dump layout (one line per AVP: name, code, vendor, flags, type,
//! value; members indented), with the decoded forms of [`super::view`] after the value:
//! `2001 DIAMETER_SUCCESS`, `0x0a000001 (10.0.0.1)`, `34 (0x00000022: S6a/S6d-Indicator,
//! Initial-Attach-Indicator)`.

use std::fmt::Write;

use diameter_core::Message;
use diameter_core::avp::AvpIter;
use diameter_core::dictionary::{self, AvpType};
use diameter_core::dump::command_name;

use super::{Cx, Value, view};

/// Appends the text of `msg` to `out`.
pub(crate) fn message(out: &mut String, msg: &Message) {
    let h = msg.header();
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
    avps(out, msg.avps(), &Cx::message(h.application_id), 1);
}

fn hex(out: &mut String, data: &[u8]) {
    out.push_str("0x");
    for b in data {
        let _ = write!(out, "{b:02x}");
    }
}

fn avps(out: &mut String, list: AvpIter<'_>, cx: &Cx, depth: usize) {
    for avp in list {
        for _ in 0..depth {
            out.push_str("  ");
        }
        let avp = match avp {
            Ok(a) => a,
            Err(e) => {
                let _ = writeln!(out, "!! {e}");
                return;
            }
        };
        let v = view(avp, cx, depth - 1);
        let a = &v.avp;
        let _ = write!(
            out,
            "{} ({}",
            v.def.map_or("Unknown-AVP", |d| d.name),
            a.code
        );
        if a.vendor != 0 {
            let vname = dictionary::vendor(a.vendor).map_or("", |d| d.name);
            let _ = write!(out, ", vendor {} {vname}", a.vendor);
        }
        let ty = v.def.map_or("?", |d| AvpType::name(d.ty));
        let _ = write!(out, ") [{:?}] {ty}: ", a.flags);
        match &v.value {
            Value::Grouped => {
                out.push('\n');
                avps(out, a.children(), &v.inner, depth + 1);
                continue;
            }
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Uint(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Text(s) => {
                let _ = write!(out, "{s:?}");
            }
            Value::Address(addr) => {
                let _ = write!(out, "{addr}");
            }
            Value::Time(t) => {
                let _ = write!(out, "{t} ({})", t.0);
            }
            Value::Enum(n, Some(name)) => {
                let _ = write!(out, "{name} ({n})");
            }
            Value::Enum(n, None) => {
                let _ = write!(out, "{n}");
            }
            Value::Hex => hex(out, a.data),
        }
        if let Some(name) = v.value_name {
            out.push(' ');
            out.push_str(name);
        }
        if let Some(d) = &v.decoded {
            let _ = write!(out, " ({d})");
        }
        if !v.bits.is_empty() {
            if let Value::Uint(n) = v.value {
                let _ = write!(out, " ({n:#010x}: {})", v.bits.join(", "));
            }
        }
        out.push('\n');
    }
}
