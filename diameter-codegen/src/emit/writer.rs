//! Emits the typed writers of one dictionary's Grouped AVPs and commands: `…Writer` types
//! that write members straight into the output buffer.
//!
//! Each setter is one call of a `#[inline]` helper of `diameter_core::writer` with the
//! AVP's code, flags and vendor as constants, plus the member's presence bit (0 for members
//! that need no tracking) and whether it may occur only once.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::module::{Card, Field, default_flags, key_lit, rule_abnf, section, u32_lit};
use super::{Ctx, doc_attr};
use crate::model::{Avp, AvpType, Command, Rule, RuleKind};

/// Members tracked for presence per writer (the bits of a `u64`); members past this are
/// written but not checked.
const MAX_TRACKED: usize = 64;

/// Method names the writers define themselves, which a member's setter must not take.
const RESERVED_GROUP: &[&str] = &["avp"];
const RESERVED_COMMAND: &[&str] = &["avp", "hop_by_hop", "end_to_end", "flags", "finish"];

/// How one member is written.
struct Member<'a, 'f> {
    f: &'f Field<'a>,
    method: Ident,
    /// Presence bit (0: untracked).
    bit: u64,
    once: bool,
    /// Passed to the constructor (or to the parent's setter) and written first.
    fixed: bool,
}

/// A member's `writer::Slot` literal, `0xCODE_VVVVVVVV_FF_OB`: the fields of the number
/// separated for the reader (diameter-core's `writer::slot` computes the same number).
fn slot_lit(code: u32, vendor: u32, flags: u8, bit: u64, once: bool) -> Literal {
    let bit_no = if bit == 0 {
        0
    } else {
        bit.trailing_zeros() + 1
    };
    let ob = u32::from(once) << 7 | bit_no;
    format!("0x{code:x}_{vendor:08x}_{flags:02x}_{ob:02x}")
        .parse()
        .expect("a hexadecimal integer literal")
}

impl Ctx<'_> {
    /// Every writer of the current dictionary.
    pub(super) fn emit_writers(&self) -> TokenStream {
        let groups = self
            .current
            .avps
            .iter()
            .filter(|a| a.ty == AvpType::Grouped)
            .map(|a| self.gate_avp(&a.name, self.emit_group_writer(a)));
        let commands = self.current.commands.iter().map(|c| {
            let both = [
                self.emit_command_writer(c, true),
                self.emit_command_writer(c, false),
            ];
            self.gate_command(c, quote!(#(#both)*))
        });
        quote! {
            #(#groups)*
            #(#commands)*
        }
    }

    /// The path to a Grouped AVP's writer from the current module.
    fn writer_type(&self, a: &Avp) -> TokenStream {
        let (d, _) = self.loc(&a.name);
        let ident = format_ident!("{}Writer", self.type_names[d][&a.name]);
        if std::ptr::eq(&self.dicts[d], self.current) {
            quote!(#ident)
        } else {
            let m = format_ident!("{}", self.dicts[d].name);
            if self.local[d] {
                quote!(super::#m::#ident)
            } else {
                quote!(::diameter_core::generated::#m::#ident)
            }
        }
    }

    /// The members of a rule list with their setter names and presence bits: required
    /// members get the first bits, so that they are all checked even where more than
    /// [`MAX_TRACKED`] members would need one.
    fn members<'a, 'f>(&self, fields: &'f [Field<'a>], reserved: &[&str]) -> Vec<Member<'a, 'f>> {
        let mut bits = vec![0u64; fields.len()];
        let mut n = 0usize;
        for required in [true, false] {
            for (i, f) in fields.iter().enumerate() {
                let tracked = f.card != Card::Many || f.rule.min >= 1;
                if tracked && (f.rule.min >= 1) == required && n < MAX_TRACKED {
                    bits[i] = 1u64 << n;
                    n += 1;
                }
            }
        }
        fields
            .iter()
            .zip(bits)
            .map(|(f, bit)| {
                let name = f.ident.to_string();
                let method = if reserved.contains(&name.as_str()) {
                    format_ident!("{}_{}", name, f.avp.code)
                } else {
                    f.ident.clone()
                };
                Member {
                    f,
                    method,
                    bit,
                    once: f.card != Card::Many,
                    fixed: f.rule.kind == RuleKind::Fixed && f.avp.ty != AvpType::Grouped,
                }
            })
            .collect()
    }

    /// `MEMBERS` (keys by bit) and `REQUIRED` (bits) of a writer.
    fn member_consts(&self, members: &[Member<'_, '_>]) -> (TokenStream, Literal) {
        let rt = &self.rt;
        let mut tracked: Vec<&Member<'_, '_>> = members.iter().filter(|m| m.bit != 0).collect();
        tracked.sort_by_key(|m| m.bit);
        let keys = tracked.iter().map(|m| {
            let key = key_lit(rt, m.f.avp.code, m.f.avp.vendor);
            quote!(#key,)
        });
        let required = members
            .iter()
            .filter(|m| m.f.rule.min >= 1)
            .fold(0u64, |r, m| r | m.bit);
        (quote!(&[#(#keys)*]), Literal::u64_unsuffixed(required))
    }

    /// The parameter a member's value is passed as.
    fn param_type(&self, a: &Avp) -> TokenStream {
        let rt = &self.rt;
        match a.ty {
            AvpType::OctetString => quote!(&[u8]),
            AvpType::Integer32 => quote!(i32),
            AvpType::Integer64 => quote!(i64),
            AvpType::Unsigned32 => quote!(u32),
            AvpType::Unsigned64 => quote!(u64),
            AvpType::Float32 => quote!(f32),
            AvpType::Float64 => quote!(f64),
            AvpType::Address => quote!(&#rt::data::Address),
            AvpType::Time => quote!(#rt::data::Time),
            AvpType::Utf8String
            | AvpType::DiameterIdentity
            | AvpType::IpFilterRule
            | AvpType::QosFilterRule => quote!(&str),
            AvpType::DiameterUri => quote!(&#rt::data::DiameterUri),
            AvpType::Enumerated => self.named_type(a),
            AvpType::Grouped => {
                let w = self.writer_type(a);
                quote!(impl FnOnce(&mut #w<'_>))
            }
        }
    }

    /// The scalar fixed members of a Grouped AVP, which its parent's setter takes.
    fn group_fixed<'a>(&'a self, a: &'a Avp) -> Vec<(Ident, TokenStream)> {
        let rules = a.grouped.as_deref().unwrap_or_default();
        let fields = self.fields(rules, Some(&a.name));
        self.members(&fields, RESERVED_GROUP)
            .iter()
            .filter(|m| m.fixed)
            .map(|m| (m.method.clone(), self.param_type(m.f.avp)))
            .collect()
    }

    /// One setter; `inner` is the `AvpWriter` expression.
    fn setter(&self, m: &Member<'_, '_>, inner: &TokenStream) -> TokenStream {
        let f = m.f;
        let a = f.avp;
        let method = &m.method;
        let bit = Literal::u64_unsuffixed(m.bit);
        let once = m.once;
        // The member as one `writer::Slot` literal (see its doc).
        let args = slot_lit(a.code, a.vendor, default_flags(a), m.bit, m.once);
        let mut doc = self.field_doc(f);
        if f.card == Card::Many {
            doc.push_str(" Each call appends another occurrence.");
        }
        let (params, body) = match a.ty {
            AvpType::OctetString => (quote!(v: &[u8]), quote!(#inner.put_bytes(#args, v))),
            AvpType::Integer32 => (quote!(v: i32), quote!(#inner.put_i32(#args, v))),
            AvpType::Integer64 => (quote!(v: i64), quote!(#inner.put_i64(#args, v))),
            AvpType::Unsigned32 => (quote!(v: u32), quote!(#inner.put_u32(#args, v))),
            AvpType::Unsigned64 => (quote!(v: u64), quote!(#inner.put_u64(#args, v))),
            AvpType::Float32 => (quote!(v: f32), quote!(#inner.put_f32(#args, v))),
            AvpType::Float64 => (quote!(v: f64), quote!(#inner.put_f64(#args, v))),
            AvpType::Time => {
                let t = self.param_type(a);
                (quote!(v: #t), quote!(#inner.put_u32(#args, v.0)))
            }
            AvpType::Enumerated => {
                let t = self.param_type(a);
                (quote!(v: #t), quote!(#inner.put_i32(#args, v.0)))
            }
            AvpType::Address => {
                let t = self.param_type(a);
                (quote!(v: #t), quote!(#inner.put_address(#args, v)))
            }
            AvpType::DiameterUri => {
                let t = self.param_type(a);
                (quote!(v: #t), quote!(#inner.put_str(#args, &v.0)))
            }
            AvpType::Utf8String
            | AvpType::DiameterIdentity
            | AvpType::IpFilterRule
            | AvpType::QosFilterRule => (quote!(v: &str), quote!(#inner.put_str(#args, v))),
            AvpType::Grouped => {
                let t = self.param_type(a);
                let ty = self.named_type(a);
                let fixed = self.group_fixed(a);
                if fixed.is_empty() {
                    doc.push_str("\n\n`f` writes its members.");
                    (quote!(f: #t), quote!(#inner.group::<#ty>(#bit, #once, f)))
                } else {
                    let names: Vec<String> = fixed.iter().map(|(i, _)| format!("`{i}`")).collect();
                    doc.push_str(&format!(
                        "\n\n{}: its fixed members, written first; `f` writes the others.",
                        names.join(", ")
                    ));
                    let ps = fixed.iter().map(|(i, t)| quote!(#i: #t,));
                    let calls = fixed.iter().map(|(i, _)| quote!(w.#i(#i);));
                    (
                        quote!(#(#ps)* f: #t),
                        quote!(#inner.group::<#ty>(#bit, #once, |w| { #(#calls)* f(w) })),
                    )
                }
            }
        };
        let doc = doc_attr(&doc);
        quote! {
            #doc
            #[inline]
            pub fn #method(&mut self, #params) -> &mut Self {
                #body;
                self
            }
        }
    }

    fn emit_group_writer(&self, a: &Avp) -> TokenStream {
        let rt = &self.rt;
        let name = self.type_ident(&a.name);
        let wname = format_ident!("{}Writer", name);
        let rules = a.grouped.as_deref().unwrap_or_default();
        let fields = self.fields(rules, Some(&a.name));
        // The presence bits the setters use are the runtime's (`writer::Group`): required
        // members first, in `REQUIRED` order, then the optional single ones.
        let members = self.members(&fields, RESERVED_GROUP);
        let inner = quote!(self.0);
        let setters = members.iter().map(|m| self.setter(m, &inner));
        let flags = Literal::u8_unsuffixed(default_flags(a));
        let doc = doc_attr(&format!(
            "Writes the members of one {} AVP (code {}{}), {} {}, straight into the message \
             buffer, in the order of the setter calls. Given to the closure of the \
             containing message's or Grouped AVP's setter; a required member missing or a single \
             one set twice is reported by the message's `finish`. [`{}`] is the owned form.\n\n```text\n{}\n```",
            a.name,
            a.code,
            if a.vendor != 0 {
                format!(", vendor {}", a.vendor)
            } else {
                String::new()
            },
            self.current.spec,
            section(&a.section),
            name,
            rules.iter().map(rule_abnf).collect::<Vec<_>>().join("\n"),
        ));
        quote! {
            #doc
            pub struct #wname<'b>(#rt::writer::AvpWriter<'b>);

            impl #rt::writer::Group for #name {
                type Writer<'c> = #wname<'c>;
                const FLAGS: u8 = #flags;
            }

            impl<'c> #rt::writer::MemberWriter<'c> for #wname<'c> {
                #[inline]
                fn from_avp_writer(w: #rt::writer::AvpWriter<'c>) -> Self {
                    Self(w)
                }
                #[inline]
                fn into_avp_writer(self) -> #rt::writer::AvpWriter<'c> {
                    self.0
                }
            }

            impl #wname<'_> {
                #(#setters)*
                /// Appends an AVP outside the ABNF (or any AVP with its own flags).
                #[inline]
                pub fn avp(&mut self, a: &#rt::RawAvp) -> &mut Self {
                    self.0.put_raw(a);
                    self
                }
            }
        }
    }

    fn emit_command_writer(&self, c: &Command, request: bool) -> TokenStream {
        let rt = &self.rt;
        let name = self.command_ident(c, request);
        let wname = format_ident!("{}Writer", name);
        let rules: &[Rule] = if request { &c.request } else { &c.answer };
        let fields = self.fields(rules, None);
        let members = self.members(&fields, RESERVED_COMMAND);
        let (keys, required) = self.member_consts(&members);
        let inner = quote!(self.0.avps);
        let setters = members.iter().map(|m| self.setter(m, &inner));
        let kind = if request { "Request" } else { "Answer" };
        let full_name = format!("{}-{kind}", c.name);
        let sec = if request {
            &c.request_section
        } else {
            &c.answer_section
        };
        let spec = format!(
            "{} {}",
            self.current.spec,
            section(sec.as_deref().unwrap_or(&c.section))
        );
        let fixed: Vec<&Member<'_, '_>> = members.iter().filter(|m| m.fixed).collect();
        let params = fixed.iter().map(|m| {
            let i = &m.method;
            let t = self.param_type(m.f.avp);
            quote!(#i: #t,)
        });
        let calls = fixed.iter().map(|m| {
            let i = &m.method;
            quote!(w.#i(#i);)
        });
        let fixed_doc = if fixed.is_empty() {
            String::new()
        } else {
            format!(
                " and its fixed members ({}), given here",
                fixed
                    .iter()
                    .map(|m| format!("`{}`", m.method))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let doc = doc_attr(&format!(
            "Writes one {full_name} (command code {}, application {}), {spec}, straight into a \
             buffer: started by [`{name}::writer`], each setter appends one AVP in the order \
             called, [`{wname}::finish`] completes the message (and reports a required member \
             missing or a single one set twice). [`{name}`] is the owned form.",
            c.code, c.application
        ));
        let ctor_doc = doc_attr(&format!(
            "Starts writing one {full_name} at the end of `buf`: the header{fixed_doc}. Hop-by-Hop \
             and End-to-End Identifiers are 0 unless set; nothing is complete until \
             [`{wname}::finish`]."
        ));
        let mut flags = 0u8;
        if request {
            flags |= 0x80;
        }
        if c.proxiable {
            flags |= 0x40;
        }
        let flags = Literal::u8_unsuffixed(flags);
        let code = u32_lit(c.code);
        let app = u32_lit(c.application);
        quote! {
            #doc
            pub struct #wname<'b>(#rt::writer::MessageWriter<'b>);

            impl #name {
                #ctor_doc
                #[inline]
                pub fn writer<'b>(buf: &'b mut #rt::bytes::BytesMut, #(#params)*) -> #wname<'b> {
                    let mut w = #wname(#rt::writer::MessageWriter::new(buf, #rt::CommandFlags(#flags), #code, #app));
                    #(#calls)*
                    w
                }
            }

            impl #wname<'_> {
                const MEMBERS: &'static [#rt::AvpKey] = #keys;
                const REQUIRED: u64 = #required;
                #(#setters)*
                /// Appends an AVP outside the ABNF (or any AVP with its own flags).
                #[inline]
                pub fn avp(&mut self, a: &#rt::RawAvp) -> &mut Self {
                    self.0.avps.put_raw(a);
                    self
                }
                /// Sets the Hop-by-Hop Identifier.
                #[inline]
                pub fn hop_by_hop(&mut self, v: u32) -> &mut Self {
                    self.0.set_hop_by_hop(v);
                    self
                }
                /// Sets the End-to-End Identifier.
                #[inline]
                pub fn end_to_end(&mut self, v: u32) -> &mut Self {
                    self.0.set_end_to_end(v);
                    self
                }
                /// Sets the command flags (P, E, T); the R bit stays that of the command.
                #[inline]
                pub fn flags(&mut self, v: #rt::CommandFlags) -> &mut Self {
                    self.0.set_flags(v);
                    self
                }
                /// Writes the header, checks that required members are present and single
                /// ones set once, and returns the message's length. On error the buffer is
                /// cut back to where the message began.
                #[inline]
                pub fn finish(self) -> Result<usize, #rt::writer::WriteError> {
                    self.0.finish(Self::MEMBERS, Self::REQUIRED)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same member as diameter-core's `writer` test `a_slot_packs_a_member`, whose
    /// `writer::slot` must read it back: the generator and the runtime agree on the layout.
    #[test]
    fn a_slot_literal_is_the_runtimes_number() {
        let lit = slot_lit(451, 10415, 0xc0, 1 << 5, true).to_string();
        assert_eq!(lit, "0x1c3_000028af_c0_86");
        assert_eq!(
            slot_lit(1, 0, 0x40, 0, false).to_string(),
            "0x1_00000000_40_00"
        );
    }
}
