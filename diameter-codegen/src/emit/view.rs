//! Emits the zero-copy typed views of one dictionary's Grouped AVPs and commands: `…View`
//! types that check a received message once and then read members straight from its bytes
//! (runtime: diameter-core's `view` module).
//!
//! A view records, per ABNF member, the offset of its first occurrence and (for repeated
//! members) how many there are; accessors read from there. Decoding checks what decoding
//! the owned struct checks (the contents of Grouped members included), so that accessors
//! never fail. Wide Grouped structs use their view's check as `AvpData::check`, which is how
//! the owned struct checks the members it keeps `Lazy`.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::module::{Card, Field, section, u32_lit};
use super::{Ctx, doc_attr};
use crate::model::{Avp, AvpType, Command, Rule};

/// How a view reads one member's value.
struct Access {
    /// The accessor's item type.
    ty: TokenStream,
    /// Which of `view::Raw`'s readers reads it (`value`, `text`, ...: `opt_value`,
    /// `one_value`, `many_value`, ...).
    kind: &'static str,
    /// The type checking a received value of the type (a `view::Check`).
    check: TokenStream,
}

impl Ctx<'_> {
    /// Every view of the current dictionary.
    pub(super) fn emit_views(&self) -> TokenStream {
        let groups = self
            .current
            .avps
            .iter()
            .filter(|a| a.ty == AvpType::Grouped)
            .map(|a| self.gate_avp(&a.name, self.emit_group_view(a)));
        let commands = self.current.commands.iter().map(|c| {
            let both = [
                self.emit_command_view(c, true),
                self.emit_command_view(c, false),
            ];
            self.gate_command(c, quote!(#(#both)*))
        });
        quote!(#(#groups)* #(#commands)*)
    }

    /// The path to a Grouped AVP's view type from the current module.
    fn view_type(&self, a: &Avp) -> TokenStream {
        let owned = self.named_type(a);
        // `named_type` ends in the type's identifier: the view is the same path + `View`.
        let mut tokens: Vec<proc_macro2::TokenTree> = owned.into_iter().collect();
        if let Some(proc_macro2::TokenTree::Ident(last)) = tokens.pop() {
            tokens.push(proc_macro2::TokenTree::Ident(format_ident!("{}View", last)));
        }
        tokens.into_iter().collect()
    }

    fn access(&self, a: &Avp) -> Access {
        let rt = &self.rt;
        let number = |t: TokenStream| Access {
            ty: t.clone(),
            kind: "value",
            check: quote!(#rt::view::Value<#t>),
        };
        let text = |check: TokenStream| Access {
            ty: quote!(&'a str),
            kind: "text",
            check,
        };
        match a.ty {
            AvpType::OctetString => Access {
                ty: quote!(&'a [u8]),
                kind: "octets",
                check: quote!(#rt::view::NoCheck),
            },
            AvpType::Integer32 => number(quote!(i32)),
            AvpType::Integer64 => number(quote!(i64)),
            AvpType::Unsigned32 => number(quote!(u32)),
            AvpType::Unsigned64 => number(quote!(u64)),
            AvpType::Float32 => number(quote!(f32)),
            AvpType::Float64 => number(quote!(f64)),
            AvpType::Address => number(quote!(#rt::data::Address)),
            AvpType::Time => number(quote!(#rt::data::Time)),
            AvpType::DiameterUri => number(quote!(#rt::data::DiameterUri)),
            AvpType::Utf8String => text(quote!(#rt::view::Utf8String)),
            AvpType::DiameterIdentity => text(quote!(#rt::view::DiameterIdentity)),
            AvpType::IpFilterRule => text(quote!(#rt::view::IpFilterRule)),
            AvpType::QosFilterRule => text(quote!(#rt::view::QosFilterRule)),
            AvpType::Enumerated => {
                let t = self.named_type(a);
                Access {
                    ty: t.clone(),
                    kind: "enum",
                    check: quote!(#rt::view::Value<i32>),
                }
            }
            AvpType::Grouped => {
                let t = self.view_type(a);
                Access {
                    ty: quote!(#t<'a>),
                    kind: "group",
                    check: quote!(#rt::view::Group<#t<'a>>),
                }
            }
        }
    }

    /// The parts shared by Grouped and command views: index
    /// fields, the walk's `step` (a `view::Step` impl's body), the trackers' set-up,
    /// accessors and `extra`. The required members are the owned type's `REQUIRED` table.
    fn view_parts(&self, fields: &[Field<'_>]) -> ViewParts {
        let rt = &self.rt;
        let k = fields.len();
        let mut repeated = 0usize;
        let mut arms = Vec::new();
        let mut accessors = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let code = u32_lit(f.avp.code);
            let vendor = u32_lit(f.avp.vendor);
            let acc = self.access(f.avp);
            // The reader's type argument is inferred from the accessor's return type: a turbofish
            // is a user type annotation for the borrow checker to prove (0.2 % of `gy`'s check).
            let (ty, check) = (&acc.ty, &acc.check);
            let reader = |card: &str| format_ident!("{}_{}", card, acc.kind);
            let ident = &f.ident;
            let doc = doc_attr(&self.field_doc(f));
            let idx = Literal::usize_unsuffixed(i);
            match f.card {
                Card::One | Card::Optional => {
                    arms.push(quote!((#code, #vendor) => t.one::<#check>(#idx, avp),));
                    accessors.push(if f.card == Card::One {
                        let read = reader("one");
                        quote! {
                            #doc
                            #[inline]
                            pub fn #ident(&self) -> #ty {
                                self.raw.#read(#idx)
                            }
                        }
                    } else {
                        let read = reader("opt");
                        quote! {
                            #doc
                            #[inline]
                            pub fn #ident(&self) -> Option<#ty> {
                                self.raw.#read(#idx)
                            }
                        }
                    });
                }
                Card::Many => {
                    let j = Literal::usize_unsuffixed(repeated);
                    repeated += 1;
                    let bounded = f.rule.max.is_some_and(|m| m < u32::MAX);
                    // `*[ x ]`: nothing for the check-only walk to count (a bound or a
                    // minimum is what a count is compared with).
                    arms.push(if bounded || f.rule.min > 0 {
                        let max = u32_lit(f.rule.max.unwrap_or(u32::MAX));
                        quote!((#code, #vendor) => t.many::<#check>(#idx, #j, #max, avp),)
                    } else {
                        quote!((#code, #vendor) => t.any::<#check>(#idx, #j, avp),)
                    });
                    let read = reader("many");
                    accessors.push(quote! {
                        #doc
                        #[inline]
                        pub fn #ident(&self) -> #rt::view::Members<'a, #ty> {
                            self.raw.#read(#idx, #j, #code, #vendor)
                        }
                    });
                }
            }
        }
        let (n, reps) = (
            Literal::usize_unsuffixed(k),
            Literal::usize_unsuffixed(repeated),
        );
        let words = Literal::usize_unsuffixed(k.div_ceil(64));
        // The tracker of a check whose view is not kept (a Grouped view's `check`, how the
        // owned struct checks its `Lazy` members): the same walk with the same errors in the
        // same order, which fills no offset arrays (a bit per single member instead).
        let seen = quote!(#rt::view::Seen<#words, #reps>);
        let fill = quote! {
            /// The AVPs the ABNF does not name (the `*[ AVP ]` slot, or unexpected ones),
            /// as received.
            #[inline]
            pub fn extra(&self) -> #rt::view::Extra<'a> {
                self.raw.extra::<Self>()
            }

            #(#accessors)*
        };
        // One AVP of the walk: which ABNF member it is, and the check of its value; the
        // tracker does the rest (see `view::Tracker`). Implemented for `#name<'a>`.
        let step = quote! {
            #[inline(always)]
            fn step<T: #rt::view::Tracker<'a>>(t: &mut T, avp: &#rt::AvpRef<'a>) -> Result<(), #rt::DecodeError> {
                match (avp.code, avp.vendor) {
                    #(#arms)*
                    _ => t.extra(),
                }
            }
        };
        ViewParts {
            step,
            raw: quote!(#rt::view::Raw<'a, #n, #reps>),
            methods: fill,
            seen,
        }
    }

    fn emit_group_view(&self, a: &Avp) -> TokenStream {
        let rt = &self.rt;
        let owned = self.type_ident(&a.name);
        let name = format_ident!("{}View", owned);
        let name_str = super::lit_str(&name.to_string());
        let rules: &[Rule] = a.grouped.as_deref().unwrap_or_default();
        let fields = self.fields(rules, Some(&a.name));
        let parts = self.view_parts(&fields);
        // A doc comment inside `quote!` is not interpolated: the owned type's name goes in
        // through `doc_attr`.
        let doc_decode = doc_attr(&format!(
            "Checks a received AVP as decoding [`{owned}`] does (and its Grouped members'\n\
             contents) and indexes its members."
        ));
        let (raw, methods) = (&parts.raw, &parts.methods);
        let (seen, step) = (&parts.seen, &parts.step);
        // Small groups (Subscription-Id, Requested-Service-Unit, ...) are checked inline in
        // their parent's walk.
        let inline_check = (fields.len() <= 8).then(|| quote!(#[inline]));
        let doc = doc_attr(&format!(
            "A checked, zero-copy view of a received {} ({} {}; see [`{owned}`]): members \
             are read straight from the message's bytes.",
            a.name,
            self.spec_of(&a.name),
            section(&a.section),
        ));
        quote! {
            #doc
            #[derive(Clone, Copy)]
            pub struct #name<'a> {
                /// Where the AVP is and where each member first occurs.
                raw: #raw,
            }

            impl<'a> #name<'a> {
                #doc_decode
                pub fn decode(avp: &#rt::AvpRef<'a>) -> Result<Self, #rt::DecodeError> {
                    #rt::view::scan_group(avp, #rt::data::DecodeCx::default(), true)
                }

                /// Checks a received AVP (as [`Self::decode`] does, within `cx`) without
                /// keeping the view.
                #inline_check
                pub fn check(avp: &#rt::AvpRef<'a>, cx: #rt::data::DecodeCx) -> Result<(), #rt::DecodeError> {
                    // Not through `decode`: no view is built (BENCHMARKS.md, "Typed
                    // decoding: the Lazy check").
                    #rt::view::check_group::<Self>(avp, cx)
                }

                /// The AVP as received.
                pub fn avp(&self) -> #rt::AvpRef<'a> {
                    self.raw.avp()
                }

                /// The owned struct (decoding the AVP again).
                pub fn to_struct(&self) -> Result<#owned, #rt::DecodeError> {
                    <#owned as #rt::AvpData>::decode(&self.avp(), #rt::data::DecodeCx::default())
                }

                #methods
            }

            impl<'a> #rt::view::Step<'a> for #name<'a> {
                #step
            }

            impl<'a> #rt::view::GroupView<'a> for #name<'a> {
                type Owned = #owned;
                type Seen = #seen;
                #[inline(always)]
                fn empty(avp: &#rt::AvpRef<'a>) -> Self {
                    Self { raw: #rt::view::Raw::group(avp) }
                }
                #[inline(always)]
                fn slots(&mut self) -> (&mut [u32], &mut [u32], &mut u32) {
                    self.raw.slots()
                }
            }

            impl std::fmt::Debug for #name<'_> {
                /// As the owned struct prints.
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    #rt::view::debug(self.to_struct(), #name_str, f)
                }
            }
        }
    }

    fn emit_command_view(&self, c: &Command, request: bool) -> TokenStream {
        let rt = &self.rt;
        let owned: Ident = self.command_ident(c, request);
        let name = format_ident!("{}View", owned);
        let name_str = super::lit_str(&name.to_string());
        let rules = if request { &c.request } else { &c.answer };
        let fields = self.fields(rules, None);
        let parts = self.view_parts(&fields);
        let doc_decode = doc_attr(&format!(
            "Checks a message as decoding [`{owned}`] does (and its Grouped members'\n\
             contents) and indexes its members. Like the struct's decoding, it does not\n\
             check the command code or application."
        ));
        let (raw, methods, step) = (&parts.raw, &parts.methods, &parts.step);
        let doc = doc_attr(&format!(
            "A checked, zero-copy view of a received {}-{} ({} {}; see [`{owned}`]): \
             decoding checks it once, then members are read straight from the message's bytes.",
            c.name,
            if request { "Request" } else { "Answer" },
            self.current.spec,
            section(
                (if request {
                    &c.request_section
                } else {
                    &c.answer_section
                })
                .as_deref()
                .unwrap_or(&c.section)
            ),
        ));
        quote! {
            #doc
            #[derive(Clone, Copy)]
            pub struct #name<'a> {
                header: #rt::Header,
                /// Where each member first occurs.
                raw: #raw,
            }

            impl<'a> #name<'a> {
                #doc_decode
                pub fn decode(msg: &'a #rt::Message) -> Result<Self, #rt::DecodeError> {
                    Self::scan(msg.as_bytes(), *msg.header())
                }

                /// Checks bytes holding exactly one message (its header and framing, as
                /// [`Message::decode`](rt::Message::decode) does, in the same walk) and
                /// indexes its members.
                pub fn from_bytes(bytes: &'a #rt::bytes::Bytes) -> Result<Self, #rt::DecodeError> {
                    let header = #rt::view::header(bytes)?;
                    Self::scan(bytes, header)
                }

                // Always inlined into `decode` and `from_bytes`: called out of line, LLVM
                // inlined the walk into it instead and returned the view (over 200 bytes)
                // by a copy of each field, about 50 instructions per decoding of a CCA
                // (BENCHMARKS.md, "Codec: instructions per call").
                #[inline(always)]
                fn scan(root: &'a #rt::bytes::Bytes, header: #rt::Header) -> Result<Self, #rt::DecodeError> {
                    let mut v = Self { header, raw: #rt::view::Raw::message(root) };
                    v.fill_members(header.length as usize)?;
                    Ok(v)
                }

                /// Indexes and checks the members; a missing one is reported at `missing_at`.
                /// Kept out of line: inlined into `from_bytes`, the CCR's walk cost about 190
                /// instructions more (BENCHMARKS.md, "Generated code: one step per view").
                #[inline(never)]
                fn fill_members(&mut self, missing_at: usize) -> Result<(), #rt::DecodeError> {
                    let avps = self.raw.members();
                    let mut t = self.raw.index(#rt::data::DecodeCx::default(), true);
                    #rt::view::index::<Self>(avps, &mut t, #owned::REQUIRED, missing_at)
                }

                /// The header as received.
                pub fn header(&self) -> &#rt::Header {
                    &self.header
                }

                /// The whole message as received.
                pub fn as_bytes(&self) -> &'a #rt::bytes::Bytes {
                    self.raw.root()
                }

                /// The owned struct (decoding the message again).
                pub fn to_struct(&self) -> Result<#owned, #rt::DecodeError> {
                    <#owned as #rt::typed::Command>::from_bytes(self.raw.root().clone())
                }

                #methods
            }

            impl<'a> #rt::view::Step<'a> for #name<'a> {
                #step
            }

            impl std::fmt::Debug for #name<'_> {
                /// As the owned struct prints.
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    #rt::view::debug(self.to_struct(), #name_str, f)
                }
            }
        }
    }
}

struct ViewParts {
    /// The body of the view's `view::Step` impl.
    step: TokenStream,
    /// The type of its `raw` field, a `view::Raw` sized for its members.
    raw: TokenStream,
    methods: TokenStream,
    /// The check-only tracker of a Grouped view (a command's view is never checked without
    /// being kept).
    seen: TokenStream,
}
