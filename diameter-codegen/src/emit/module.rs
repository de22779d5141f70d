//! Emits one dictionary's module: AVP keys, application ids, Enumerated newtypes, Grouped
//! structs, request/answer structs and the module's tables.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Ctx, doc_attr, lit_str};
use crate::model::{Avp, AvpType, Command, FlagRule, Rule, RuleKind};
use crate::names::{const_name, field_name};

/// How a member is held in its struct.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Card {
    /// `T`: exactly one.
    One,
    /// `Option<T>`.
    Optional,
    /// `Vec<T>`.
    Many,
}

pub(super) struct Field<'a> {
    pub(super) ident: proc_macro2::Ident,
    pub(super) avp: &'a Avp,
    pub(super) rule: &'a Rule,
    pub(super) card: Card,
    /// Element type (boxed when the member can contain its container).
    pub(super) ty: TokenStream,
}

/// Whether a member's Rust type is `Copy` (numbers, `Time` and Enumerated newtypes, alone
/// or in an `Option`): `Clone` then copies the field instead of calling its `clone`, a
/// method the checker resolves (about 2,600 of the 9,400 members with every dictionary on).
pub(super) fn is_copy(f: &Field<'_>) -> bool {
    !matches!(f.card, Card::Many)
        && matches!(
            f.avp.ty,
            AvpType::Integer32
                | AvpType::Integer64
                | AvpType::Unsigned32
                | AvpType::Unsigned64
                | AvpType::Float32
                | AvpType::Float64
                | AvpType::Time
                | AvpType::Enumerated
        )
}

/// A member's field in `Default`: `None` and `Vec::new()` are written as such, which the
/// checker takes as given where `Default::default()` is a trait call to resolve.
fn default_member(f: &Field<'_>) -> TokenStream {
    let i = &f.ident;
    match f.card {
        Card::One => quote!(#i: Default::default(),),
        Card::Optional => quote!(#i: None,),
        Card::Many => quote!(#i: Vec::new(),),
    }
}

pub(super) fn u32_lit(v: u32) -> Literal {
    Literal::u32_unsuffixed(v)
}

/// An `AvpKey` constant (every key the generator writes) as a struct expression, not a call
/// of the `const fn` `AvpKey::new`: there are about 7,000 of them with every dictionary on
/// (each AVP's key, each type's `KEY`, the writers' member tables), and a call costs
/// `cargo check` more to check and evaluate than the fields do.
pub(super) fn key_lit(rt: &TokenStream, code: u32, vendor: u32) -> TokenStream {
    let (code, vendor) = (u32_lit(code), u32_lit(vendor));
    quote!(#rt::AvpKey { code: #code, vendor: #vendor })
}

pub(super) fn default_flags(a: &Avp) -> u8 {
    let mut f = 0u8;
    if a.vendor != 0 {
        f |= 0x80;
    }
    if a.mandatory == FlagRule::Must {
        f |= 0x40;
    }
    if a.protected == FlagRule::Must {
        f |= 0x20;
    }
    f
}

pub(super) fn rule_abnf(r: &Rule) -> String {
    let name = r.avp.as_deref().unwrap_or("AVP");
    let (open, close) = match r.kind {
        RuleKind::Fixed => ("<", ">"),
        RuleKind::Required => ("{", "}"),
        RuleKind::Optional => ("[", "]"),
    };
    let default_min = u32::from(r.kind != RuleKind::Optional);
    let rep = match (r.min, r.max) {
        (m, Some(1)) if m == default_min => String::new(),
        (0, None) => "*".to_owned(),
        (m, None) => format!("{m}*"),
        (m, Some(x)) if m == default_min || m == 0 => format!("*{x}"),
        (m, Some(x)) => format!("{m}*{x}"),
    };
    format!("{rep}{open} {name} {close}")
}

impl Ctx<'_> {
    /// Whether a Grouped AVP is wide enough to be held as `Lazy` when it is a single member.
    pub(super) fn is_lazy(&self, name: &str) -> bool {
        self.sizes
            .get(name)
            .is_some_and(|s| *s > super::LAZY_ABOVE_BYTES)
    }

    pub(super) fn fields<'a>(
        &'a self,
        rules: &'a [Rule],
        container: Option<&str>,
    ) -> Vec<Field<'a>> {
        let mut used: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for r in rules {
            let Some(name) = &r.avp else { continue };
            let avp = self.avp(name);
            let card = match r.max {
                Some(1) if r.min >= 1 => Card::One,
                Some(1) => Card::Optional,
                _ => Card::Many,
            };
            let mut ident = field_name(&avp.name);
            if !used.insert(ident.clone()) {
                ident = format!("{ident}_{}", avp.code);
                used.insert(ident.clone());
            }
            let mut ty = self.value_type(avp);
            // Wide Grouped members are decoded on first access; a member that can contain
            // its container needs a box, which `Lazy` is too.
            if card != Card::Many
                && (self.is_lazy(&avp.name)
                    || container.is_some_and(|c| self.reaches(&avp.name, c)))
            {
                let rt = &self.rt;
                ty = quote!(#rt::lazy::Lazy<#ty>);
            }
            out.push(Field {
                ident: format_ident!("{}", ident),
                avp,
                rule: r,
                card,
                ty,
            });
        }
        out
    }

    /// Doc text for a field: the AVP, its rule and where it is defined.
    pub(super) fn field_doc(&self, f: &Field<'_>) -> String {
        format!(
            "`{}`: {} (code {}{}), {} {}.",
            rule_abnf(f.rule),
            f.avp.name,
            f.avp.code,
            if f.avp.vendor != 0 {
                format!(", vendor {}", f.avp.vendor)
            } else {
                String::new()
            },
            self.spec_of(&f.avp.name),
            section(&f.avp.section),
        )
    }

    fn struct_fields(&self, fields: &[Field<'_>]) -> TokenStream {
        let rt = &self.rt;
        let items = fields.iter().map(|f| {
            let ident = &f.ident;
            let ty = &f.ty;
            let doc = doc_attr(&self.field_doc(f));
            let full = match f.card {
                Card::One => quote!(#ty),
                Card::Optional => quote!(Option<#ty>),
                Card::Many => quote!(Vec<#ty>),
            };
            quote! { #doc pub #ident: #full, }
        });
        quote! {
            #(#items)*
            /// AVPs not named by the ABNF (the `*[ AVP ]` slot, or unexpected ones), kept with
            /// their flags so nothing is lost when re-encoding.
            pub extra: Vec<#rt::RawAvp>,
            /// Received AVP flags that differ from the dictionary defaults.
            pub avp_flags: #rt::typed::FlagOverrides,
        }
    }

    /// The type's table of required members (`< x >`, `{ x }`, `n*` with n > 0), in ABNF
    /// order: read by the owned struct's decoding (`typed::finish`) and by its view's
    /// trackers, which is why it holds each repeated member's position among the repeated
    /// ones (`rep`, the view's count array) too. `None` when no member is required and
    /// the table may be left to `Grouped::REQUIRED`'s default (`!always`); a command's is an
    /// inherent constant its decoding and view name, so it is always written.
    fn required_table(&self, fields: &[Field<'_>], always: bool) -> Option<TokenStream> {
        let rt = &self.rt;
        let mut repeated = 0u16;
        let required = fields.iter().enumerate().filter_map(|(i, f)| {
            let (min, rep) = match f.card {
                Card::One => (1, quote!(#rt::typed::SINGLE)),
                Card::Optional => return None,
                Card::Many => {
                    let rep = Literal::u16_unsuffixed(repeated);
                    repeated += 1;
                    if f.rule.min == 0 {
                        return None;
                    }
                    (f.rule.min, quote!(#rep))
                }
            };
            let i = Literal::u16_unsuffixed(i as u16);
            let min = u32_lit(min);
            let key = key_lit(rt, f.avp.code, f.avp.vendor);
            let df = Literal::u8_unsuffixed(default_flags(f.avp));
            let ty = format_ident!("{}", f.avp.ty.core_variant());
            // Fields, not `Required::new` (see `key_lit`).
            Some(quote!(#rt::typed::Required {
                index: #i, rep: #rep, min: #min, key: #key,
                flags: #rt::AvpFlags(#df), ty: #rt::dictionary::AvpType::#ty,
            },))
        });
        let required: Vec<TokenStream> = required.collect();
        (always || !required.is_empty()).then(|| {
            quote! {
                /// The members the ABNF requires, checked after decoding (and by the view).
                const REQUIRED: &'static [#rt::typed::Required] = &[#(#required)*];
            }
        })
    }

    /// `typed::Members` for a struct: member `i`'s field (ABNF order, the index its view's
    /// `step` gives) with its AVP's default flags, as one `match` of field borrows. Decoding
    /// runs the view's `step` with a tracker that decodes into that field
    /// (`typed::decode_group`, `typed::decode_command`): the owned struct has no `match` on
    /// codes of its own, and no call per member (a second `match` with a call per member
    /// was about 5 % of the check with every dictionary on).
    fn members_impl(&self, name: &proc_macro2::Ident, fields: &[Field<'_>]) -> TokenStream {
        let rt = &self.rt;
        let arms = fields.iter().enumerate().map(|(i, f)| {
            let ident = &f.ident;
            let df = Literal::u8_unsuffixed(default_flags(f.avp));
            let i = Literal::usize_unsuffixed(i);
            quote!(#i => Some((&mut self.#ident, #df)),)
        });
        quote! {
            impl #rt::typed::Members for #name {
                #[inline(always)]
                fn split(&mut self, i: usize) -> #rt::typed::Split<'_> {
                    #rt::typed::Split {
                        member: match i {
                            #(#arms)*
                            _ => None,
                        },
                        extra: &mut self.extra,
                        flags: &mut self.avp_flags,
                    }
                }
            }
        }
    }

    /// An owned struct's walk over its fields (diameter-core's `typed::Fields`),
    /// which its encoder, its `Debug` and its `PartialEq` run: `v.flags(&self.avp_flags)`
    /// first (the encoder needs them before any member); each member once, in ABNF order,
    /// as `v.{one,opt,all}(name, &self.x, code, vendor, flags)`; `v.extra` where
    /// `*[ AVP ]` stands (else after the members); then the fields that are not members,
    /// for `Debug` and `PartialEq` only, in declaration order. One body instead of an
    /// encoder, a derived `Debug` and a derived `PartialEq`, each a call per member (2.2 %
    /// fewer instructions to check every dictionary for the first two). (No
    /// length is generated: a Grouped value's `data_len` and a message's `avps_len` are
    /// measured by writing, the traits' default, since encoding patches lengths in and
    /// never asks for them.)
    fn fields_impl(
        &self,
        name: &proc_macro2::Ident,
        rules: &[Rule],
        fields: &[Field<'_>],
        header: bool,
    ) -> TokenStream {
        let rt = &self.rt;
        let mut walk = vec![quote!(v.flags(&self.avp_flags);)];
        if header {
            walk.push(quote!(v.other("header", &self.header);));
        }
        let mut extra_done = false;
        let mut fi = fields.iter();
        for r in rules {
            if r.avp.is_none() {
                walk.push(quote!(v.extra(&self.extra);));
                extra_done = true;
                continue;
            }
            let Some(f) = fi.next() else { break };
            let ident = &f.ident;
            let field = lit_str(&ident.to_string());
            let code = u32_lit(f.avp.code);
            let vendor = u32_lit(f.avp.vendor);
            let df = Literal::u8_unsuffixed(default_flags(f.avp));
            let call = match f.card {
                Card::One => quote!(one),
                Card::Optional => quote!(opt),
                Card::Many => quote!(all),
            };
            walk.push(quote!(v.#call(#field, &self.#ident, #code, #vendor, #df);));
        }
        if !extra_done {
            walk.push(quote!(v.extra(&self.extra);));
        }
        let name_lit = lit_str(&name.to_string());
        quote! {
            impl #rt::typed::Fields for #name {
                fn fields<'s, V: #rt::typed::FieldVisitor<'s>>(&'s self, v: &mut V) {
                    #(#walk)*
                    v.other("extra", &self.extra);
                }
            }

            impl std::fmt::Debug for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    #rt::typed::debug_fields(self, #name_lit, f)
                }
            }

            impl PartialEq for #name {
                fn eq(&self, other: &Self) -> bool {
                    #rt::typed::eq_fields(self, other)
                }
            }
        }
    }

    /// An owned struct's `Clone`, written out: a method call per field checks faster than
    /// the derive's `Clone::clone(&self.x)` (about 0.1 ms a struct of ten members; 0.15 s
    /// of `cargo check` with every dictionary on), and a `Copy` field is copied, no call at
    /// all ([`is_copy`]; 0.6 % of `gy`'s check). `#[inline]` as the derive's is. `header`
    /// is a command's (`Copy`).
    fn clone_impl(
        &self,
        name: &proc_macro2::Ident,
        fields: &[Field<'_>],
        header: bool,
    ) -> TokenStream {
        let members = fields.iter().map(|f| {
            let i = &f.ident;
            if is_copy(f) {
                quote!(#i: self.#i,)
            } else {
                quote!(#i: self.#i.clone(),)
            }
        });
        let header = header.then(|| quote!(header: self.header,));
        quote! {
            impl Clone for #name {
                #[inline]
                fn clone(&self) -> Self {
                    Self {
                        #header
                        #(#members)*
                        extra: self.extra.clone(),
                        avp_flags: self.avp_flags.clone(),
                    }
                }
            }
        }
    }

    /// An owned struct's `Eq`, written as an empty impl (`derive(Eq)` adds a body asserting
    /// each field's type is `Eq`, which costs compile time per field and says nothing the
    /// generator does not already know); none for a struct holding floats.
    fn eq_impl(&self, name: &proc_macro2::Ident, fields: &[Field<'_>]) -> TokenStream {
        let has_float = fields.iter().any(|f| {
            matches!(f.avp.ty, AvpType::Float32 | AvpType::Float64)
                || self.contains_float(&f.avp.name)
        });
        let eq = (!has_float).then(|| quote!(impl Eq for #name {}));
        quote!(#eq)
    }

    pub(super) fn emit_enum(&self, a: &Avp) -> TokenStream {
        let rt = &self.rt;
        let name = self.type_ident(&a.name);
        let doc = doc_attr(&format!(
            "{} (code {}{}), Enumerated, {} {}.\n\nA newtype over the wire value: values not listed here decode and re-encode unchanged.{}",
            a.name,
            a.code,
            if a.vendor != 0 {
                format!(", vendor {}", a.vendor)
            } else {
                String::new()
            },
            self.current.spec,
            section(&a.section),
            a.doc
                .as_ref()
                .map(|d| format!("\n\n{}", doc_prose(d)))
                .unwrap_or_default()
        ));
        let mut seen = HashSet::new();
        let consts: Vec<(proc_macro2::Ident, &crate::model::EnumValue)> = a
            .enums
            .iter()
            .map(|e| {
                let mut c = const_name(&e.name);
                if !seen.insert(c.clone()) {
                    c = format!("{c}_{}", e.code.unsigned_abs());
                    seen.insert(c.clone());
                }
                (format_ident!("{}", c), e)
            })
            .collect();
        let const_items = consts.iter().map(|(id, e)| {
            let v = Literal::i32_unsuffixed(e.code);
            let d = doc_attr(&format!("`{}` ({})", e.name, e.code));
            quote!(#d pub const #id: Self = Self(#v);)
        });
        let mut by_value: Vec<&crate::model::EnumValue> = a.enums.iter().collect();
        by_value.sort_by_key(|e| e.code);
        let name_arms = by_value.iter().map(|e| {
            let v = Literal::i32_unsuffixed(e.code);
            let n = lit_str(&e.name);
            quote!(#v => Some(#n),)
        });
        let key = key_lit(&self.rt, a.code, a.vendor);
        let name_str = lit_str(&name.to_string());
        quote! {
            #doc
            #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
            pub struct #name(pub i32);

            impl #name {
                /// The AVP's code and vendor.
                pub const KEY: #rt::AvpKey = #key;
                #(#const_items)*

                /// The specification's name for this value, if it has one.
                pub fn name(self) -> Option<&'static str> {
                    match self.0 {
                        #(#name_arms)*
                        _ => None,
                    }
                }
            }

            impl std::fmt::Debug for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    #rt::typed::debug_enum(self.name(), #name_str, self.0, f)
                }
            }

            impl From<i32> for #name {
                #[inline]
                fn from(v: i32) -> Self {
                    Self(v)
                }
            }

            // `AvpData` through `Generated`'s blanket impl: an Integer32's.
            impl #rt::typed::Generated for #name {
                type Kind = #rt::typed::EnumeratedKind;
            }

            impl #rt::typed::Enumerated for #name {
                #[inline]
                fn value(self) -> i32 {
                    self.0
                }
            }
        }
    }

    pub(super) fn emit_grouped(&self, a: &Avp) -> TokenStream {
        let rt = &self.rt;
        let name = self.type_ident(&a.name);
        // A wide group is held as `Lazy` wherever it is a member: decoding its parent checks
        // it with the view's walk (no allocation) and builds the struct only when read.
        let check = self.is_lazy(&a.name).then(|| {
            let view = format_ident!("{}View", name);
            quote! {
                #[inline]
                fn check_members(avp: &#rt::AvpRef<'_>, cx: #rt::data::DecodeCx) -> Result<(), #rt::DecodeError> {
                    #view::check(avp, cx)
                }
            }
        });
        let rules = a.grouped.as_deref().unwrap_or_default();
        let fields = self.fields(rules, Some(&a.name));
        let abnf: Vec<String> = rules.iter().map(rule_abnf).collect();
        let doc = doc_attr(&format!(
            "{} (code {}{}), Grouped, {} {}.\n\n```text\n{} ::= < AVP Header: {}{} >\n{}\n```{}",
            a.name,
            a.code,
            if a.vendor != 0 {
                format!(", vendor {}", a.vendor)
            } else {
                String::new()
            },
            self.current.spec,
            section(&a.section),
            a.name,
            a.code,
            if a.vendor != 0 {
                format!(" {}", a.vendor)
            } else {
                String::new()
            },
            abnf.iter()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            a.doc
                .as_ref()
                .map(|d| format!("\n\n{}", doc_prose(d)))
                .unwrap_or_default()
        ));
        let eq = self.eq_impl(&name, &fields);
        // None when no member is required: `Grouped::REQUIRED` is empty by default (about
        // 400 Grouped types of 600 with every dictionary on).
        let required = self.required_table(&fields, false);
        let body = self.struct_fields(&fields);
        let members = self.members_impl(&name, &fields);
        let view = format_ident!("{}View", name);
        let n = Literal::usize_unsuffixed(fields.len());
        let walk = self.fields_impl(&name, rules, &fields, false);
        let key = key_lit(&self.rt, a.code, a.vendor);
        let defaults = fields.iter().map(default_member);
        let clone = self.clone_impl(&name, &fields, false);
        quote! {
            #doc
            pub struct #name {
                #body
            }

            #clone
            #eq
            #walk

            impl Default for #name {
                fn default() -> Self {
                    Self {
                        #(#defaults)*
                        extra: Vec::new(),
                        avp_flags: Default::default(),
                    }
                }
            }

            impl #name {
                /// The AVP's code and vendor.
                pub const KEY: #rt::AvpKey = #key;
            }

            // `AvpData` through `Generated`'s blanket impl: only what differs per type here.
            impl #rt::typed::Generated for #name {
                type Kind = #rt::typed::GroupedKind;
            }

            impl #rt::typed::Grouped for #name {
                const KEY: #rt::AvpKey = #key;
                #required
                fn decode_members(&mut self, parent: &#rt::AvpRef<'_>, cx: #rt::data::DecodeCx) -> Result<(), #rt::DecodeError> {
                    #rt::typed::decode_group::<#view<'_>, Self, #n>(self, parent, cx)
                }
                #check
            }

            #members
        }
    }

    pub(super) fn emit_command(&self, c: &Command, request: bool) -> TokenStream {
        let rt = &self.rt;
        let name = self.command_ident(c, request);
        let rules = if request { &c.request } else { &c.answer };
        let fields = self.fields(rules, None);
        let kind = if request { "Request" } else { "Answer" };
        let short = c
            .short
            .as_ref()
            .map(|s| format!(" ({s}{})", &kind[..1]))
            .unwrap_or_default();
        let sec = if request {
            &c.request_section
        } else {
            &c.answer_section
        };
        let abnf: Vec<String> = rules.iter().map(rule_abnf).collect();
        let flags = format!(
            "{}{}",
            if request { " REQ," } else { "" },
            if c.proxiable { " PXY" } else { "" }
        );
        let full_name = format!("{}-{kind}", c.name);
        let doc = doc_attr(&format!(
            "{full_name}{short}: command code {}, application {}, {} {}.\n\n```text\n<{full_name}> ::= < Diameter Header: {},{} >\n{}\n```{}",
            c.code,
            c.application,
            self.current.spec,
            section(sec.as_deref().unwrap_or(&c.section)),
            c.code,
            flags.trim_end_matches(','),
            abnf.iter()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            c.doc
                .as_ref()
                .map(|d| format!("\n\n{}", doc_prose(d)))
                .unwrap_or_default()
        ));
        let eq = self.eq_impl(&name, &fields);
        let required = self.required_table(&fields, true);
        let body = self.struct_fields(&fields);
        let members = self.members_impl(&name, &fields);
        let view = format_ident!("{}View", name);
        let n = Literal::usize_unsuffixed(fields.len());
        let walk = self.fields_impl(&name, rules, &fields, true);
        let code = u32_lit(c.code);
        let app = u32_lit(c.application);
        let proxiable = c.proxiable;
        let name_lit = lit_str(&full_name);
        let defaults = fields.iter().map(default_member);
        let clone = self.clone_impl(&name, &fields, true);
        quote! {
            #doc
            pub struct #name {
                /// Header: flags and identifiers (the length is computed when encoding).
                pub header: #rt::Header,
                #body
            }

            #clone
            #eq
            #walk

            impl Default for #name {
                fn default() -> Self {
                    Self {
                        header: <Self as #rt::typed::Command>::new_header(),
                        #(#defaults)*
                        extra: Vec::new(),
                        avp_flags: Default::default(),
                    }
                }
            }

            impl #name {
                #required
            }

            impl #rt::typed::Command for #name {
                const CODE: u32 = #code;
                const APPLICATION_ID: u32 = #app;
                const REQUEST: bool = #request;
                const PROXIABLE: bool = #proxiable;
                const NAME: &'static str = #name_lit;

                fn header(&self) -> &#rt::Header {
                    &self.header
                }
                fn header_mut(&mut self) -> &mut #rt::Header {
                    &mut self.header
                }
                fn decode_avps(msg: &#rt::Message, cx: #rt::data::DecodeCx) -> Result<Self, #rt::DecodeError> {
                    let mut out = Self::default();
                    out.header = #rt::typed::header_of(msg);
                    // A `match` rather than `map` and a closure: one body less per command.
                    match #rt::typed::decode_command::<#view<'_>, Self, #n>(&mut out, msg, cx, Self::REQUIRED) {
                        Ok(()) => Ok(out),
                        Err(e) => Err(e),
                    }
                }
                fn encode_avps(&self, buf: &mut #rt::bytes::BytesMut) {
                    #rt::typed::put_fields(self, buf)
                }
            }

            #members
        }
    }

    /// A rule list in the tables' text: `kind,code,vendor,min,max` items (diameter-core's
    /// `dictionary::compact`).
    fn rules_text(&self, rules: &[Rule]) -> String {
        let items: Vec<String> = rules
            .iter()
            .map(|r| {
                let kind = match r.kind {
                    RuleKind::Fixed => "<",
                    RuleKind::Required => "{",
                    RuleKind::Optional => "[",
                };
                let max = r.max.map_or("*".to_owned(), |m| m.to_string());
                match &r.avp {
                    Some(n) => {
                        let a = self.avp(n);
                        format!("{kind},{},{},{},{max}", a.code, a.vendor, r.min)
                    }
                    None => format!("{kind},*,0,{},{max}", r.min),
                }
            })
            .collect();
        items.join(" ")
    }

    /// The module's tables as text (the records of diameter-core's `dictionary::compact`),
    /// parsed at run time on first use: as `static` initializers they cost every build more
    /// than a second of const evaluation and borrow checking (BENCHMARKS.md, "Generated
    /// code: tables as text"). The text fields cannot hold `|` or line breaks (`validate`).
    pub(super) fn emit_tables(&self) -> TokenStream {
        use std::fmt::Write as _;
        let rt = &self.rt;
        let d = self.current;
        let spec_of = |section: &str| format!("{} {}", d.spec, super::module::section(section));
        let mut t = String::new();
        // `writeln!` into a String cannot fail.
        let _ = writeln!(t, "M|{}|{}|{}", d.name, d.spec, d.version);
        for v in &d.vendors {
            let _ = writeln!(t, "V|{}|{}", v.id, v.name);
        }
        for a in &d.applications {
            let kind = if a.acct { "Acct" } else { "Auth" };
            let s = spec_of(a.section.as_deref().unwrap_or(""));
            let _ = writeln!(t, "P|{}|{kind}|{}|{}", a.id, a.name, s.trim());
        }
        for a in self.sorted_avps() {
            let _ = writeln!(
                t,
                "A|{}|{}|{}|{}|{}|{}|{}|{}",
                a.code,
                a.vendor,
                a.ty.core_variant(),
                a.mandatory.core_variant(),
                a.protected.core_variant(),
                a.vendor_bit.core_variant(),
                a.name,
                spec_of(&a.section)
            );
            let mut enums: Vec<_> = a.enums.iter().collect();
            enums.sort_by_key(|e| e.code);
            enums.dedup_by_key(|e| e.code);
            for e in enums {
                let _ = writeln!(t, "E|{}|{}", e.code, e.name);
            }
            if let Some(g) = &a.grouped {
                let _ = writeln!(t, "G|{}", self.rules_text(g));
            }
        }
        for c in &d.commands {
            let _ = writeln!(
                t,
                "C|{}|{}|{}|{}|{}|{}",
                c.code,
                c.application,
                u8::from(c.proxiable),
                c.name,
                c.short.as_deref().unwrap_or(""),
                spec_of(&c.section)
            );
            let _ = writeln!(t, "Q|{}", self.rules_text(&c.request));
            let _ = writeln!(t, "N|{}", self.rules_text(&c.answer));
        }
        self.result_code_rows(&mut t);
        let text = raw_str(&t);
        let doc_mod = doc_attr(&format!(
            "Tables of {} ({}) for generic decoding, validation and printing, parsed on first \
             use.",
            d.spec, d.version
        ));
        quote! {
            /// The tables' text (`dictionary::compact`'s records).
            const TABLES: &str = #text;

            #doc_mod
            pub static MODULE: #rt::dictionary::ModuleTables = #rt::dictionary::ModuleTables::new(TABLES);
        }
    }

    pub(super) fn emit_keys(&self) -> TokenStream {
        let rt = &self.rt;
        let d = self.current;
        let mut taken = HashSet::new();
        let keys: Vec<TokenStream> = d
            .avps
            .iter()
            .map(|a| {
                let id = format_ident!(
                    "{}",
                    crate::names::unique(&mut taken, const_name(&a.name), a.code)
                );
                let key = key_lit(rt, a.code, a.vendor);
                let doc = doc_attr(&format!(
                    "{} ({}), {} {}.",
                    a.name,
                    a.ty.core_variant(),
                    d.spec,
                    section(&a.section)
                ));
                quote!(#doc pub const #id: #rt::AvpKey = #key;)
            })
            .collect();
        let mut taken = HashSet::new();
        let apps: Vec<TokenStream> = d
            .applications
            .iter()
            .map(|a| {
                let id = format_ident!(
                    "{}",
                    crate::names::unique(&mut taken, const_name(&a.name), a.id)
                );
                let v = u32_lit(a.id);
                let doc = doc_attr(&format!(
                    "{} ({}), {} {}.",
                    a.name,
                    if a.acct { "accounting" } else { "auth" },
                    d.spec,
                    section(a.section.as_deref().unwrap_or(""))
                ));
                quote!(#doc pub const #id: u32 = #v;)
            })
            .collect();
        let doc_avp = doc_attr(&format!("AVP codes and vendors of {}.", d.spec));
        let doc_app = doc_attr(&format!("Application ids of {}.", d.spec));
        quote! {
            #doc_avp
            pub mod avp {
                #[allow(unused_imports)]
                use super::rt;
                #(#keys)*
            }
            #doc_app
            pub mod application {
                #(#apps)*
            }
        }
    }
}

pub(super) fn section(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else if s.starts_with('§') || s.contains(' ') {
        s.to_owned()
    } else {
        format!("§{s}")
    }
}

/// A dictionary's `<doc>` text for rustdoc. It is prose, not Markdown: `[` and `]` outside
/// code spans and fenced blocks are escaped, or rustdoc would read ABNF such as `*[ AVP ]`
/// and references such as `[RADIUSAttrVals]` as (broken) intra-doc links.
pub(super) fn doc_prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fence = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.trim_start().starts_with("```") {
            fence = !fence;
            out.push_str(line);
            continue;
        }
        let mut code = fence;
        for c in line.chars() {
            match c {
                '`' if !fence => code = !code,
                '[' | ']' if !code => out.push('\\'),
                _ => {}
            }
            out.push(c);
        }
    }
    out
}

/// Type names that collide inside one module, and the names chosen instead.
pub(super) fn resolve_type_names(
    d: &crate::model::Dictionary,
    avps: &[&Avp],
    commands: &[&Command],
) -> HashMap<String, String> {
    let mut taken: HashSet<String> = HashSet::new();
    for c in commands {
        let base = crate::names::command_stem(d, c);
        taken.insert(format!("{base}Request"));
        taken.insert(format!("{base}Answer"));
    }
    // Names the module itself defines.
    for n in ["Avp", "Application", "MODULE", "TABLES"] {
        taken.insert(n.to_owned());
    }
    let mut out = HashMap::new();
    for a in avps {
        let mut n = crate::names::type_name(&a.name);
        if taken.contains(&n) {
            n = format!("{n}Avp");
        }
        if taken.contains(&n) {
            n = format!("{n}{}", a.code);
        }
        taken.insert(n.clone());
        out.insert(a.name.clone(), n);
    }
    out
}

/// `s` as a raw string literal, kept on its lines in the generated source (a normal literal
/// would be one line of escapes).
fn raw_str(s: &str) -> proc_macro2::Literal {
    let mut hashes = String::from("#");
    while s.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    let src = format!("r{hashes}\"{s}\"{hashes}");
    // A raw string with enough `#`s is always a valid literal.
    src.parse()
        .unwrap_or_else(|_| proc_macro2::Literal::string(s))
}
