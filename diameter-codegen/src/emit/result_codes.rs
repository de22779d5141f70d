//! Emits Result-Code and Experimental-Result-Code values: per dictionary a `result_code`
//! module of constants (and, for diameter-core's `base`, the associated constants of
//! `ResultCode`), and across dictionaries the name lookups as `match`.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::features::Gating;
use super::module::{doc_prose, section, u32_lit};
use super::{Ctx, doc_attr, lit_str};
use crate::model::{Dictionary, ResultCodeValue};
use crate::names::result_code_const;

impl Ctx<'_> {
    /// The rustdoc of one value: name, value, vendor, specification and section, then the
    /// dictionary's `<doc>` text.
    fn result_code_doc(&self, r: &ResultCodeValue) -> TokenStream {
        let d = self.current;
        let kind = match r.vendor {
            None => format!("Result-Code {}", r.code),
            Some(v) => {
                let vendor = self
                    .dicts
                    .iter()
                    .flat_map(|o| o.vendors.iter())
                    .find(|x| x.id == v)
                    .map(|x| format!(" ({})", x.name))
                    .unwrap_or_default();
                format!("Experimental-Result-Code {} of vendor {v}{vendor}", r.code)
            }
        };
        let mut text = format!("{} ({kind}), {} {}.", r.name, d.spec, section(&r.section));
        if let Some(doc) = &r.doc {
            text.push_str("\n\n");
            text.push_str(&doc_prose(doc));
        }
        doc_attr(&text)
    }

    /// `pub mod result_code { ... }`: one constant per value, a `ResultCode` for a
    /// Result-Code and an `ExperimentalResultCode` for a vendor's value. Nothing when the
    /// dictionary defines none.
    pub(super) fn emit_result_codes(&self) -> TokenStream {
        let d = self.current;
        if d.result_codes.is_empty() {
            return quote!();
        }
        let consts = d.result_codes.iter().map(|r| {
            let id = format_ident!("{}", result_code_const(&r.name));
            let doc = self.result_code_doc(r);
            let code = u32_lit(r.code);
            match r.vendor {
                None => quote!(#doc pub const #id: rt::ResultCode = rt::ResultCode(#code);),
                Some(v) => {
                    let v = u32_lit(v);
                    quote! {
                        #doc
                        pub const #id: rt::result_code::ExperimentalResultCode =
                            rt::result_code::ExperimentalResultCode::new(#v, #code);
                    }
                }
            }
        });
        let doc = doc_attr(&format!(
            "Result-Code and Experimental-Result-Code values of {}.",
            d.spec
        ));
        quote! {
            #doc
            pub mod result_code {
                #[allow(unused_imports)]
                use super::rt;
                #(#consts)*
            }
        }
    }

    /// diameter-core's `base` only: RFC 6733's Result-Codes as associated constants of
    /// `ResultCode` (`ResultCode::DIAMETER_SUCCESS`), so that base.xml is their one source.
    pub(super) fn emit_result_code_impl(&self) -> TokenStream {
        let consts = self
            .current
            .result_codes
            .iter()
            .filter(|r| r.vendor.is_none())
            .map(|r| {
                let id = format_ident!("{}", result_code_const(&r.name));
                let doc = self.result_code_doc(r);
                let code = u32_lit(r.code);
                quote!(#doc pub const #id: Self = Self(#code);)
            });
        quote! {
            impl rt::ResultCode {
                #(#consts)*
            }
        }
    }

    /// The module tables' `R` records, sorted by (vendor, code), vendor 0 for a
    /// Result-Code.
    pub(super) fn result_code_rows(&self, t: &mut String) {
        use std::fmt::Write as _;
        let d = self.current;
        let mut sorted: Vec<&ResultCodeValue> = d.result_codes.iter().collect();
        sorted.sort_by_key(|r| (r.vendor.unwrap_or(0), r.code));
        for r in sorted {
            let _ = writeln!(
                t,
                "R|{}|{}|{}|{} {}",
                r.vendor.unwrap_or(0),
                r.code,
                r.name,
                d.spec,
                section(&r.section)
            );
        }
    }
}

/// The names of one (vendor, code), in dictionary order, each with the modules defining it
/// (`None` once one of them is always compiled).
type Names<'a> = Vec<(&'a str, Option<Vec<&'a str>>)>;

/// `result_code_name` and `experimental_result_code_name` over the generated modules: one
/// arm per (vendor, code) and name, guarded by the presence of the modules defining it (their
/// `M_…` statics, `None` where the module's features are off; immutable and without
/// interior mutability at the top, they fold like constants, so each function stays a plain
/// `match`). A value defined with different names by several
/// dictionaries is named by the first in order.
pub(super) fn emit_lookups(
    modules: &[(usize, &Dictionary, TokenStream)],
    gating: &Gating,
) -> TokenStream {
    let mut by_key: BTreeMap<(u32, u32), Names<'_>> = BTreeMap::new();
    for (i, d, _) in modules {
        let always = gating.module(*i).is_none();
        for r in &d.result_codes {
            let names = by_key.entry((r.vendor.unwrap_or(0), r.code)).or_default();
            let entry = match names.iter_mut().position(|(n, _)| *n == r.name) {
                Some(p) => &mut names[p].1,
                None => {
                    names.push((&r.name, Some(Vec::new())));
                    &mut names.last_mut().expect("just pushed").1
                }
            };
            match entry {
                Some(_) if always => *entry = None,
                Some(list) => list.push(&d.name),
                None => {}
            }
        }
    }
    let (mut plain, mut experimental) = (Vec::new(), Vec::new());
    for ((vendor, code), names) in &by_key {
        for (name, modules) in names {
            let guard = match modules {
                None => quote!(),
                Some(list) => {
                    let present = list.iter().map(|m| {
                        let k = format_ident!("M_{}", m.to_ascii_uppercase());
                        quote!(#k.is_some())
                    });
                    quote!(if #(#present)||*)
                }
            };
            let (v, code) = (u32_lit(*vendor), u32_lit(*code));
            let n = lit_str(name);
            if *vendor == 0 {
                plain.push(quote!(#code #guard => Some(#n),));
            } else {
                experimental.push(quote!((#v, #code) #guard => Some(#n),));
            }
        }
    }
    let plain = if plain.is_empty() {
        quote!(let _ = code; None)
    } else {
        quote!(match code { #(#plain)* _ => None })
    };
    let experimental = if experimental.is_empty() {
        quote!(let _ = (vendor, code); None)
    } else {
        quote!(match (vendor, code) { #(#experimental)* _ => None })
    };
    quote! {
        /// The name of a Result-Code value (AVP 268) in the generated dictionaries whose
        /// features are on, found by `match`.
        pub fn result_code_name(code: u32) -> Option<&'static str> {
            #plain
        }

        /// The name of vendor `vendor`'s Experimental-Result-Code value `code` in the
        /// generated dictionaries whose features are on, found by `match`.
        pub fn experimental_result_code_name(vendor: u32, code: u32) -> Option<&'static str> {
            #experimental
        }
    }
}
