//! Constructors of the dictionary tables, for generated code: each table entry is one short
//! `const fn` call (`required(263, 0, 1, 1)`) instead of a struct literal whose every field
//! and enum variant is spelt with its path. The tables are an eighth of the generated
//! source; written this way they take about a third of the tokens to parse, resolve and
//! type-check, and evaluate to the same statics.

use super::{AvpDef, AvpType, CommandDef, FlagRule, ResultCodeDef, Rule, RuleKind};
use crate::avp::AvpKey;

/// An AVP definition (the fields of [`AvpDef`], in order).
#[allow(clippy::too_many_arguments)]
pub const fn avp(
    code: u32,
    vendor: u32,
    name: &'static str,
    ty: AvpType,
    mandatory: FlagRule,
    protected: FlagRule,
    vendor_bit: FlagRule,
    enums: &'static [(i32, &'static str)],
    grouped: &'static [Rule],
    spec: &'static str,
) -> AvpDef {
    AvpDef {
        code,
        vendor,
        name,
        ty,
        mandatory,
        protected,
        vendor_bit,
        enums,
        grouped,
        spec,
    }
}

const fn rule(kind: RuleKind, code: u32, vendor: u32, min: u32, max: u32) -> Rule {
    Rule {
        kind,
        avp: Some(AvpKey::new(code, vendor)),
        min,
        max,
    }
}

/// `< AVP >` with its occurrence bounds.
pub const fn fixed(code: u32, vendor: u32, min: u32, max: u32) -> Rule {
    rule(RuleKind::Fixed, code, vendor, min, max)
}

/// `{ AVP }` with its occurrence bounds.
pub const fn required(code: u32, vendor: u32, min: u32, max: u32) -> Rule {
    rule(RuleKind::Required, code, vendor, min, max)
}

/// `[ AVP ]` with its occurrence bounds.
pub const fn optional(code: u32, vendor: u32, min: u32, max: u32) -> Rule {
    rule(RuleKind::Optional, code, vendor, min, max)
}

/// The `*[ AVP ]` slot (any AVP), of kind `kind`.
pub const fn any_avp(kind: RuleKind, min: u32, max: u32) -> Rule {
    Rule {
        kind,
        avp: None,
        min,
        max,
    }
}

/// A command (the fields of [`CommandDef`], in order).
#[allow(clippy::too_many_arguments)]
pub const fn command(
    code: u32,
    application: u32,
    name: &'static str,
    short: &'static str,
    proxiable: bool,
    request: &'static [Rule],
    answer: &'static [Rule],
    spec: &'static str,
) -> CommandDef {
    CommandDef {
        code,
        application,
        name,
        short,
        proxiable,
        request,
        answer,
        spec,
    }
}

/// A Result-Code (`vendor` 0) or Experimental-Result-Code value.
pub const fn result_code(
    vendor: u32,
    code: u32,
    name: &'static str,
    spec: &'static str,
) -> ResultCodeDef {
    ResultCodeDef {
        vendor,
        code,
        name,
        spec,
    }
}
