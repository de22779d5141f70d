//! One dictionary: `RequestCommand` for every request (diameter-core's `typed.rs`): its answer
//! type, the typed answer made from it, what a node fills in and the check of required
//! members before sending.

use proc_macro2::TokenStream;
use quote::quote;

use super::Ctx;
use super::module::{Card, Field, is_copy};
use crate::model::{AvpType, Command};

/// Members an answer takes over from its request when both ABNFs hold them: the session and
/// application identity, the request's number within the session, DRMP (RFC 7944 §9) and
/// Proxy-Info (RFC 6733 §6.2). Nothing the answering node decides itself.
const MIRRORED: &[&str] = &[
    "Session-Id",
    "Auth-Application-Id",
    "Acct-Application-Id",
    "Vendor-Specific-Application-Id",
    "Auth-Session-State",
    "CC-Request-Type",
    "CC-Request-Number",
    "Accounting-Record-Type",
    "Accounting-Record-Number",
    "Accounting-Sub-Session-Id",
    "Acct-Session-Id",
    "Acct-Multi-Session-Id",
    "DRMP",
    "Proxy-Info",
];

/// Members a node fills in when the caller left them empty, and the `Filler` method giving
/// each.
const FILLED: &[(&str, &str)] = &[
    ("Session-Id", "session_id"),
    ("Origin-Host", "origin_host"),
    ("Origin-Realm", "origin_realm"),
];

impl Ctx<'_> {
    /// `impl RequestCommand` for the request of `c`.
    pub(super) fn emit_exchange(&self, c: &Command) -> TokenStream {
        let rt = &self.rt;
        let req = self.command_ident(c, true);
        let ans = self.command_ident(c, false);
        let rq = self.fields(&c.request, None);
        let an = self.fields(&c.answer, None);
        let find = |fs: &'_ [Field<'_>], n: &str| fs.iter().position(|f| f.avp.name == n);

        // The answer.
        let mut sets = Vec::new();
        for name in MIRRORED {
            let (Some(i), Some(j)) = (find(&rq, name), find(&an, name)) else {
                continue;
            };
            let (from, to) = (&rq[i], &an[j]);
            let (fi, ti) = (&from.ident, &to.ident);
            let value = match (from.card, to.card) {
                (Card::One, Card::One)
                | (Card::Optional, Card::Optional)
                | (Card::Many, Card::Many) => {
                    if is_copy(from) {
                        quote!(self.#fi)
                    } else {
                        quote!(self.#fi.clone())
                    }
                }
                (Card::One, Card::Optional) if is_copy(from) => quote!(Some(self.#fi)),
                (Card::One, Card::Optional) => quote!(Some(self.#fi.clone())),
                (Card::Optional, Card::One) => quote!(self.#fi.clone().unwrap_or_default()),
                _ => continue,
            };
            sets.push(quote!(a.#ti = #value;));
        }
        for (name, value) in [
            ("Origin-Host", quote!(origin_host)),
            ("Origin-Realm", quote!(origin_realm)),
        ] {
            if let Some(j) = find(&an, name) {
                let ti = &an[j].ident;
                sets.push(match an[j].card {
                    Card::One => quote!(a.#ti = #value.into();),
                    Card::Optional => quote!(a.#ti = Some(#value.into());),
                    Card::Many => quote!(a.#ti = vec![#value.into()];),
                });
            }
        }
        let code = match find(&an, "Result-Code") {
            Some(j) => {
                let ti = &an[j].ident;
                match an[j].card {
                    Card::One => quote!(a.#ti = c.0;),
                    Card::Optional => quote!(a.#ti = Some(c.0);),
                    Card::Many => quote!(a.#ti = vec![c.0];),
                }
            }
            None => quote!(a.extra.push(#rt::typed::result_code_avp(c.0));),
        };
        let experimental = match find(&an, "Experimental-Result") {
            Some(j) if an[j].card != Card::Many => {
                let ti = &an[j].ident;
                let ty = self.value_type(an[j].avp);
                let value =
                    quote!(#ty { vendor_id, experimental_result_code: code, ..Default::default() });
                let value = if an[j].ty.to_string().contains("Lazy") {
                    quote!(#rt::lazy::Lazy::new(#value))
                } else {
                    value
                };
                match an[j].card {
                    Card::One => quote!(a.#ti = #value;),
                    _ => quote!(a.#ti = Some(#value);),
                }
            }
            _ => quote!(a.extra.push(#rt::typed::experimental_result_avp(vendor_id, code));),
        };

        // What a node fills in.
        let mut fills = Vec::new();
        for (name, how) in FILLED {
            if let Some(i) = find(&rq, name) {
                if rq[i].card == Card::One {
                    let fi = &rq[i].ident;
                    let how = quote::format_ident!("{how}");
                    fills.push(quote!(if self.#fi.is_empty() { self.#fi = filler.#how().into(); }));
                }
            }
        }
        if let Some(i) = find(&rq, "Destination-Realm") {
            if rq[i].card == Card::One {
                let fi = &rq[i].ident;
                fills.push(quote! {
                    if self.#fi.is_empty() {
                        if let Some(r) = filler.destination_realm() {
                            self.#fi = r.into();
                        }
                    }
                });
            }
        }
        if let Some(i) = find(&rq, "Vendor-Specific-Application-Id") {
            // Cx, Sh, S6a...: the application named with its vendor, which the node knows.
            let acct = self
                .dicts
                .iter()
                .flat_map(|d| &d.applications)
                .any(|a| a.id == c.application && a.acct);
            let member = if acct {
                quote!(acct_application_id)
            } else {
                quote!(auth_application_id)
            };
            let fi = &rq[i].ident;
            let ty = self.value_type(rq[i].avp);
            let app = super::module::u32_lit(c.application);
            let make = quote!(#ty { vendor_id, #member: Some(#app), ..Default::default() });
            match rq[i].card {
                Card::One if c.application != 0 => fills.push(quote! {
                    if self.#fi.vendor_id == 0 {
                        if let Some(vendor_id) = filler.application_vendor(#app) {
                            self.#fi = #make;
                        }
                    }
                }),
                Card::Optional if c.application != 0 => fills.push(quote! {
                    if self.#fi.is_none() {
                        if let Some(vendor_id) = filler.application_vendor(#app) {
                            self.#fi = Some(#make);
                        }
                    }
                }),
                _ => {}
            }
        }
        if c.application == 0 {
            // STR, ASR, RAR, ACR...: sent in the application of their session.
            for name in ["Auth-Application-Id", "Acct-Application-Id"] {
                if let Some(i) = find(&rq, name) {
                    let fi = &rq[i].ident;
                    let value = match rq[i].card {
                        Card::One => quote!(Some(self.#fi)),
                        Card::Optional => quote!(self.#fi),
                        Card::Many => continue,
                    };
                    fills.push(quote! {
                        if self.header.application_id == 0 {
                            if let Some(id) = #value {
                                self.header.application_id = id;
                            }
                        }
                    });
                }
            }
        }

        // Required members left empty.
        let checks = rq.iter().filter_map(|f| {
            let fi = &f.ident;
            let name = &f.avp.name;
            let required = f.rule.min >= 1;
            let empty = match (f.card, f.avp.ty) {
                (Card::Many, _) if required => quote!(self.#fi.is_empty()),
                (Card::One, AvpType::DiameterUri) => quote!(self.#fi.0.is_empty()),
                (
                    Card::One,
                    AvpType::OctetString
                    | AvpType::Utf8String
                    | AvpType::DiameterIdentity
                    | AvpType::IpFilterRule
                    | AvpType::QosFilterRule,
                ) => quote!(self.#fi.is_empty()),
                _ => return None,
            };
            Some(quote!(if #empty { return Some(#name); }))
        });

        // A user's dictionary is registered by the generated `register()` beside its modules.
        let register = match self.layout {
            super::Layout::Core => quote!(),
            super::Layout::User => quote! {
                fn register_dictionary() {
                    super::register();
                }
            },
        };
        quote! {
            impl #rt::typed::RequestCommand for #req {
                type Answer = #ans;
                #register

                fn answer(&self, origin_host: &str, origin_realm: &str, result: #rt::typed::AnswerResult) -> #ans {
                    let mut a = #ans::default();
                    a.header = #rt::typed::answer_header(&self.header, result);
                    #(#sets)*
                    match result {
                        #rt::typed::AnswerResult::Code(c) => { #code }
                        #rt::typed::AnswerResult::Experimental { vendor_id, code } => { #experimental }
                    }
                    a
                }

                fn fill(&mut self, filler: &mut dyn #rt::typed::Filler) {
                    #(#fills)*
                }

                fn missing(&self) -> Option<&'static str> {
                    #(#checks)*
                    None
                }
            }
        }
    }
}
