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

use super::module::{Card, Field, default_flags, section, u32_lit};
use super::{Ctx, doc_attr};
use crate::model::{Avp, AvpType, Command, Rule};

/// How a view reads one member's value.
struct Access {
    /// The accessor's item type.
    ty: TokenStream,
    /// The function reading the value from an `AvpRef<'a>` already checked.
    read: TokenStream,
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
            read: quote!(#rt::view::value::<#t>),
        };
        let text = Access {
            ty: quote!(&'a str),
            read: quote!(#rt::view::text),
        };
        match a.ty {
            AvpType::OctetString => Access {
                ty: quote!(&'a [u8]),
                read: quote!(#rt::view::octets),
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
            AvpType::Utf8String
            | AvpType::DiameterIdentity
            | AvpType::IpFilterRule
            | AvpType::QosFilterRule => text,
            AvpType::Enumerated => {
                let t = self.named_type(a);
                Access {
                    ty: t.clone(),
                    read: quote!(#rt::view::enumerated::<#t>),
                }
            }
            AvpType::Grouped => {
                let t = self.view_type(a);
                Access {
                    ty: quote!(#t<'a>),
                    read: quote!(#t::read),
                }
            }
        }
    }

    /// How the view table checks a member's value (`rt::view::Check`).
    fn table_check(&self, a: &Avp) -> TokenStream {
        let rt = &self.rt;
        let text = |owned: TokenStream| quote!(#rt::view::Check::Text(#owned::INVALID));
        match a.ty {
            AvpType::OctetString => quote!(#rt::view::Check::Nothing),
            AvpType::Integer32 | AvpType::Enumerated => quote!(#rt::view::Check::I32),
            AvpType::Integer64 => quote!(#rt::view::Check::I64),
            AvpType::Unsigned32 => quote!(#rt::view::Check::U32),
            AvpType::Unsigned64 => quote!(#rt::view::Check::U64),
            AvpType::Float32 => quote!(#rt::view::Check::F32),
            AvpType::Float64 => quote!(#rt::view::Check::F64),
            AvpType::Address => quote!(#rt::view::Check::Address),
            AvpType::Time => quote!(#rt::view::Check::Time),
            AvpType::DiameterUri => quote!(#rt::view::Check::Uri),
            AvpType::Utf8String => text(quote!(#rt::data::Utf8String)),
            AvpType::DiameterIdentity => text(quote!(#rt::data::DiameterIdentity)),
            AvpType::IpFilterRule => text(quote!(#rt::data::IpFilterRule)),
            AvpType::QosFilterRule => text(quote!(#rt::data::QosFilterRule)),
            AvpType::Grouped => {
                let t = self.view_type(a);
                quote!(#rt::view::Check::Group(|avp, cx| #t::check(avp, cx)))
            }
        }
    }

    /// The parts shared by Grouped and command views: index fields, the member-indexing
    /// table, accessors and `extra`.
    fn view_parts(&self, fields: &[Field<'_>]) -> ViewParts {
        let rt = &self.rt;
        let k = fields.len();
        let mut repeated = 0usize;
        let mut members = Vec::new();
        let mut accessors = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let code = u32_lit(f.avp.code);
            let vendor = u32_lit(f.avp.vendor);
            let acc = self.access(f.avp);
            let (ty, read) = (&acc.ty, &acc.read);
            let ident = &f.ident;
            let doc = doc_attr(&self.field_doc(f));
            let idx = Literal::usize_unsuffixed(i);
            let df = Literal::u8_unsuffixed(default_flags(f.avp));
            let avp_ty = format_ident!("{}", f.avp.ty.core_variant());
            let avp_ty = quote!(#rt::dictionary::AvpType::#avp_ty);
            let check = self.table_check(f.avp);
            match f.card {
                Card::One | Card::Optional => {
                    let required = f.card == Card::One;
                    members.push(quote! {
                        #rt::view::Member::once(#code, #vendor, #df, #avp_ty, #required, #check),
                    });
                    if f.card == Card::One {
                        accessors.push(quote! {
                            #doc
                            #[inline]
                            pub fn #ident(&self) -> #ty {
                                #rt::view::one(self.root, self.first[#idx], self.end, #read)
                            }
                        });
                    } else {
                        accessors.push(quote! {
                            #doc
                            #[inline]
                            pub fn #ident(&self) -> Option<#ty> {
                                #rt::view::opt(self.root, self.first[#idx], self.end, #read)
                            }
                        });
                    }
                }
                Card::Many => {
                    let j = Literal::usize_unsuffixed(repeated);
                    let j16 = Literal::u16_unsuffixed(repeated as u16);
                    repeated += 1;
                    let max = u32_lit(f.rule.max.unwrap_or(u32::MAX));
                    let min = u32_lit(f.rule.min);
                    members.push(quote! {
                        #rt::view::Member::more(#code, #vendor, #df, #avp_ty, #min, #max, #j16, #check),
                    });
                    accessors.push(quote! {
                        #doc
                        #[inline]
                        pub fn #ident(&self) -> #rt::view::Members<'a, #ty> {
                            #rt::view::Members::new(self.root, self.first[#idx], self.end, self.count[#j], #code, #vendor, #read)
                        }
                    });
                }
            }
        }
        // Wide tables are searched by key; short ones are scanned.
        let by_key = if k > SCAN_UP_TO {
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by_key(|&i| (fields[i].avp.code, fields[i].avp.vendor, i));
            order.dedup_by_key(|i| (fields[*i].avp.code, fields[*i].avp.vendor));
            let order = order.into_iter().map(|i| Literal::u16_unsuffixed(i as u16));
            quote!(&[#(#order),*])
        } else {
            quote!(&[])
        };
        let fill = quote! {
            /// The ABNF members (the view's walk is `rt::view::fill` over them).
            const MEMBERS: #rt::view::Table = #rt::view::Table {
                members: &[#(#members)*],
                by_key: #by_key,
            };

            /// The AVPs the ABNF does not name (the `*[ AVP ]` slot, or unexpected ones),
            /// as received.
            #[inline]
            pub fn extra(&self) -> #rt::view::Extra<'a> {
                #rt::view::Extra::of(self.root, self.start, self.end, self.extra, Self::MEMBERS)
            }

            #(#accessors)*
        };
        ViewParts {
            fields: quote! {
                /// Offset of each member's first occurrence (`ABSENT` if none), ABNF order.
                first: [u32; #k],
                /// Occurrences of each repeated member.
                count: [u32; #repeated],
            },
            init: quote!(first: [#rt::view::ABSENT; #k], count: [0; #repeated],),
            methods: fill,
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
        let (index, init, methods) = (&parts.fields, &parts.init, &parts.methods);
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
                root: &'a #rt::bytes::Bytes,
                /// Offset of this AVP's header.
                at: u32,
                /// This AVP's data: `root[start..end]`.
                start: u32,
                end: u32,
                #index
                /// AVPs outside the ABNF.
                extra: u32,
            }

            impl<'a> #name<'a> {
                /// Checks a received AVP as decoding [`#owned`] does (and its Grouped members'
                /// contents) and indexes its members.
                pub fn decode(avp: &#rt::AvpRef<'a>) -> Result<Self, #rt::DecodeError> {
                    Self::scan(avp, #rt::data::DecodeCx::default(), true)
                }

                /// Checks a received AVP (as [`Self::decode`] does, within `cx`).
                #inline_check
                pub fn check(avp: &#rt::AvpRef<'a>, cx: #rt::data::DecodeCx) -> Result<(), #rt::DecodeError> {
                    // Not through `scan`: the view stays local and is not moved out.
                    let mut v = Self::empty(avp);
                    #rt::view::index(avp, cx, true, &Self::MEMBERS, #owned::KEY, #rt::view::Index { first: &mut v.first, count: &mut v.count, extra: &mut v.extra })
                }

                /// Indexes the members of `avp`; with `deep`, checks them too.
                #[inline]
                pub fn scan(avp: &#rt::AvpRef<'a>, cx: #rt::data::DecodeCx, deep: bool) -> Result<Self, #rt::DecodeError> {
                    let mut v = Self::empty(avp);
                    #rt::view::index(avp, cx, deep, &Self::MEMBERS, #owned::KEY, #rt::view::Index { first: &mut v.first, count: &mut v.count, extra: &mut v.extra })?;
                    Ok(v)
                }

                /// The view of a member already checked (by the decoding of its parent).
                #[inline]
                pub fn read(avp: #rt::AvpRef<'a>) -> Self {
                    let mut v = Self::empty(&avp);
                    #rt::view::index_checked(&avp, &Self::MEMBERS, #rt::view::Index { first: &mut v.first, count: &mut v.count, extra: &mut v.extra });
                    v
                }

                fn empty(avp: &#rt::AvpRef<'a>) -> Self {
                    Self {
                        root: avp.root(),
                        at: avp.offset as u32,
                        start: avp.data_offset as u32,
                        end: (avp.data_offset + avp.data.len()) as u32,
                        #init
                        extra: 0,
                    }
                }

                /// The AVP as received.
                pub fn avp(&self) -> #rt::AvpRef<'a> {
                    #rt::view::get_required(self.root, self.at, self.root.len() as u32)
                }

                /// The owned struct (decoding the AVP again).
                pub fn to_struct(&self) -> Result<#owned, #rt::DecodeError> {
                    <#owned as #rt::AvpData>::decode(&self.avp(), #rt::data::DecodeCx::default())
                }

                #methods
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
        let (index, init, methods) = (&parts.fields, &parts.init, &parts.methods);
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
                root: &'a #rt::bytes::Bytes,
                /// The AVPs: `root[start..end]`.
                start: u32,
                end: u32,
                #index
                /// AVPs outside the ABNF.
                extra: u32,
            }

            impl<'a> #name<'a> {
                /// Checks a message as decoding [`#owned`] does (and its Grouped members'
                /// contents) and indexes its members. Like the struct's decoding, it does not
                /// check the command code or application.
                pub fn decode(msg: &'a #rt::Message) -> Result<Self, #rt::DecodeError> {
                    Self::scan(msg.as_bytes(), *msg.header())
                }

                /// Checks bytes holding exactly one message (its header and framing, as
                /// [`Message::decode`](#rt::Message::decode) does, in the same walk) and
                /// indexes its members.
                pub fn from_bytes(bytes: &'a #rt::bytes::Bytes) -> Result<Self, #rt::DecodeError> {
                    let header = #rt::view::header(bytes)?;
                    Self::scan(bytes, header)
                }

                fn scan(root: &'a #rt::bytes::Bytes, header: #rt::Header) -> Result<Self, #rt::DecodeError> {
                    let mut v = Self {
                        header,
                        root,
                        start: #rt::header::HEADER_LEN as u32,
                        end: root.len() as u32,
                        #init
                        extra: 0,
                    };
                    #rt::view::fill(&Self::MEMBERS, root, v.start, v.end, #rt::view::Index { first: &mut v.first, count: &mut v.count, extra: &mut v.extra }, #rt::data::DecodeCx::default(), true, header.length as usize)?;
                    Ok(v)
                }

                /// The header as received.
                pub fn header(&self) -> &#rt::Header {
                    &self.header
                }

                /// The whole message as received.
                pub fn as_bytes(&self) -> &'a #rt::bytes::Bytes {
                    self.root
                }

                /// The owned struct (decoding the message again).
                pub fn to_struct(&self) -> Result<#owned, #rt::DecodeError> {
                    <#owned as #rt::typed::Command>::from_bytes(self.root.clone())
                }

                #methods
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

/// Members up to which a view's table is scanned rather than searched by key.
const SCAN_UP_TO: usize = 12;

struct ViewParts {
    fields: TokenStream,
    init: TokenStream,
    methods: TokenStream,
}
