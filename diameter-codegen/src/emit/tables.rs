//! Emits what spans all modules: the module list, `(vendor, code)` and `(code, application)`
//! lookups as `match` (no hashing at run time), and the typed-message enum with
//! `decode_typed`.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::features::{Gating, cfg_attr, predicate};
use super::{Layout, doc_attr, module_doc};
use crate::error::Error;
use crate::model::Dictionary;
use crate::names::type_name;

/// The `TypedMessage` variants and their per-variant match arms.
#[derive(Default)]
struct Variants {
    decl: Vec<TokenStream>,
    eq: Vec<TokenStream>,
    payload: Vec<TokenStream>,
    bytes: Vec<TokenStream>,
    name: Vec<TokenStream>,
    header: Vec<TokenStream>,
}

/// Adds the variants of a command's request and answer.
fn variant_arms(v: &mut Variants, d: &Dictionary, cmd: &crate::model::Command, c: &TokenStream) {
    let m = format_ident!("{}", d.name);
    for request in [true, false] {
        let kind = if request { "Request" } else { "Answer" };
        let ty = format_ident!("{}{}", crate::names::command_stem(d, cmd), kind);
        let variant = format_ident!("{}{}", type_name(&d.name), ty);
        let doc = doc_attr(&format!(
            "{}-{kind} (code {}, application {}) of {}.",
            cmd.name, cmd.code, cmd.application, d.spec
        ));
        v.decl.push(quote!(#doc #c #variant(#m::#ty),));
        v.eq.push(quote!(#c Self::#variant(a) => same(a, b),));
        v.payload.push(quote!(#c Self::#variant(m) => m,));
        v.bytes
            .push(quote!(#c Self::#variant(m) => rt::typed::Command::to_bytes(m),));
        v.name
            .push(quote!(#c Self::#variant(_) => <#m::#ty as rt::typed::Command>::NAME,));
        v.header
            .push(quote!(#c Self::#variant(m) => rt::typed::Command::header(m),));
    }
}

pub(super) fn emit_top(
    layout: Layout,
    dicts: &[Dictionary],
    modules: &[(usize, &Dictionary, TokenStream)],
    gating: &Gating,
) -> Result<TokenStream, Error> {
    let decls = modules.iter().map(|(i, d, _)| {
        let m = format_ident!("{}", d.name);
        let c = cfg_attr(gating.module(*i));
        let doc = doc_attr(&module_doc(d));
        match layout {
            Layout::Core => quote! {
                #doc
                #c
                #[allow(unused_mut, unused_variables, clippy::all)]
                pub mod #m;
            },
            Layout::User => quote!(),
        }
    });
    let core = match layout {
        Layout::Core => quote!(crate),
        Layout::User => quote!(::diameter_core),
    };
    let n = modules.len();
    let module_consts = modules.iter().map(|(i, d, _)| {
        let m = format_ident!("{}", d.name);
        let k = format_ident!("M_{}", d.name.to_ascii_uppercase());
        match predicate(gating.module(*i)) {
            Some(p) => quote! {
                #[cfg(#p)]
                static #k: Option<&'static rt::dictionary::ModuleTables> = Some(&#m::MODULE);
                #[cfg(not(#p))]
                static #k: Option<&'static rt::dictionary::ModuleTables> = None;
            },
            None => quote!(static #k: Option<&'static rt::dictionary::ModuleTables> = Some(&#m::MODULE);),
        }
    });
    let module_list = modules
        .iter()
        .map(|(_, d, _)| format_ident!("M_{}", d.name.to_ascii_uppercase()));

    // AVP lookup arms.
    let mut avp_arms = Vec::new();
    let mut cmd_arms = Vec::new();
    let mut variants = Variants::default();
    let mut decode_arms = Vec::new();
    let mut fallback_arms = Vec::new();
    let mut view_arms = Vec::new();
    let mut view_fallback_arms = Vec::new();
    // Each (vendor, code) once, with its definitions in module order: the first whose
    // module is compiled in (its `M_…` static is `Some`) is the answer. No `#[cfg]` per
    // arm: the statics fold like constants, so the lookup is as fast as a `match` on the
    // definitions. (Statics, not constants: they point at a `ModuleTables`, whose `OnceLock`
    // a constant may not refer to.)
    let mut avp_candidates: std::collections::BTreeMap<(u32, u32), Vec<TokenStream>> =
        std::collections::BTreeMap::new();
    for (di, d, _) in modules {
        let m = format_ident!("{}", d.name);
        let mc = format_ident!("M_{}", d.name.to_ascii_uppercase());
        let c = cfg_attr(gating.module(*di));
        let mut sorted: Vec<_> = d.avps.iter().collect();
        sorted.sort_by_key(|a| (a.vendor, a.code));
        for (i, a) in sorted.iter().enumerate() {
            let i = Literal::usize_unsuffixed(i);
            avp_candidates
                .entry((a.vendor, a.code))
                .or_default()
                .push(quote!(rt::dictionary::avp_in(#mc, #i)));
        }
        for (i, cmd) in d.commands.iter().enumerate() {
            let (code, app) = (
                Literal::u32_unsuffixed(cmd.code),
                Literal::u32_unsuffixed(cmd.application),
            );
            let gate = gating.command(*di, i);
            let ci = cfg_attr(gate);
            // Two definitions of one (code, application): TS 32.299's Ro CCR replaces RFC
            // 4006's. In diameter-core the replaced one keeps the dispatch and the replacing
            // one is decoded by naming it, so that turning a feature on never changes how a
            // message decodes (every feature compiling the replacing one compiles the
            // replaced one too). In a user's crate, the replacing one takes the dispatch.
            let replaces_other = cmd.replaces.is_some()
                && dicts.iter().any(|o| {
                    Some(o.name.as_str()) == cmd.replaces.as_deref()
                        && o.commands
                            .iter()
                            .any(|oc| oc.code == cmd.code && oc.application == cmd.application)
                });
            let replaced_by_local = modules.iter().any(|(_, o, _)| {
                o.commands.iter().any(|oc| {
                    oc.code == cmd.code
                        && oc.application == cmd.application
                        && oc.replaces.as_deref() == Some(d.name.as_str())
                })
            });
            let dispatches = match layout {
                Layout::Core => !replaces_other,
                Layout::User => !replaced_by_local,
            };
            if layout == Layout::Core && replaces_other {
                // No TypedMessage variant either: decode_typed never returns it.
            } else {
                variant_arms(&mut variants, d, cmd, &ci);
            }
            if !dispatches {
                continue;
            }
            cmd_arms.push(quote!(#c (#code, #app) => Some(&#m::MODULE.get().commands[#i]),));
            for request in [true, false] {
                let ty = format_ident!(
                    "{}{}",
                    crate::names::command_stem(d, cmd),
                    if request { "Request" } else { "Answer" }
                );
                let variant = format_ident!("{}{}", type_name(&d.name), ty);
                decode_arms.push(quote!(#ci (#code, #app, #request) => TypedMessage::#variant(<#m::#ty as rt::typed::Command>::decode(msg)?),));
                let view = format_ident!("{}View", ty);
                view_arms
                    .push(quote!(#ci (#code, #app, #request) => #m::#view::decode(msg).map(drop),));
                if let Some(p) = predicate(gate) {
                    // While this definition is off, its messages stay generic rather than
                    // falling back to a base command's ABNF: turning the feature on must
                    // not change the typed command a message decoded to.
                    if cmd.application != 0 {
                        decode_arms.push(quote!(#[cfg(not(#p))] (#code, #app, #request) => TypedMessage::Generic(msg.clone()),));
                        view_arms
                            .push(quote!(#[cfg(not(#p))] (#code, #app, #request) => return None,));
                    }
                }
                if cmd.application == 0 {
                    // Base commands (RAR, STR, ASR, ...) serve every application that does
                    // not define its own ABNF for them.
                    fallback_arms.push(quote!(#ci (#code, _, #request) => TypedMessage::#variant(<#m::#ty as rt::typed::Command>::decode(msg)?),));
                    view_fallback_arms.push(
                        quote!(#ci (#code, _, #request) => #m::#view::decode(msg).map(drop),),
                    );
                }
            }
        }
    }
    for ((vendor, code), cands) in &avp_candidates {
        let (v, c) = (
            Literal::u32_unsuffixed(*vendor),
            Literal::u32_unsuffixed(*code),
        );
        let mut it = cands.iter();
        let first = it.next();
        let rest = it.map(|x| quote!(.or_else(|| #x)));
        avp_arms.push(quote!((#v, #c) => #first #(#rest)*,));
    }
    let _ = n;
    let result_code_lookups = super::result_codes::emit_lookups(modules, gating);
    let Variants {
        decl: variants_decl,
        eq: variants_eq,
        payload: variants_payload,
        bytes: variants_bytes,
        name: variants_name,
        header: variants_header,
    } = variants;
    Ok(quote! {
        #(#decls)*

        #[allow(unused_imports)]
        use #core as rt;

        #(#module_consts)*

        /// Every generated dictionary module (`None` where its cargo feature is off).
        pub static MODULES: [Option<&'static rt::dictionary::ModuleTables>; #n] = [#(#module_list),*];

        /// Registers these modules with `diameter_core::dictionary` so validation, dumps and
        /// lookups know their AVPs and commands (needed for user-generated dictionaries; the
        /// built-in ones are always known).
        pub fn register() {
            for m in MODULES.iter().flatten() {
                rt::dictionary::register(m.get());
            }
        }

        /// The AVP definition for `(vendor, code)`, found by `match` (no hashing).
        pub fn avp_def(vendor: u32, code: u32) -> Option<&'static rt::dictionary::AvpDef> {
            match (vendor, code) {
                #(#avp_arms)*
                _ => None,
            }
        }

        #result_code_lookups

        /// The command definition for exactly `(code, application)`.
        pub fn command_def(code: u32, application: u32) -> Option<&'static rt::dictionary::CommandDef> {
            match (code, application) {
                #(#cmd_arms)*
                _ => None,
            }
        }

        /// Every typed command of the compiled-in dictionaries, plus the generic fallback.
        /// Variants come and go with cargo features, hence `#[non_exhaustive]`.
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        #[allow(clippy::large_enum_variant)]
        pub enum TypedMessage {
            #(#variants_decl)*
            /// A command (or application) without a typed definition.
            Generic(rt::Message),
        }

        impl PartialEq for TypedMessage {
            // Not derived, and no `match` on `other` in each arm: the derive matches on the
            // pair `(self, other)`, and an arm matching `other` needs a `_` over every
            // variant; either way the exhaustiveness checks grow with the square of the
            // variants (0.18 s of each `cargo check` with every dictionary on). Each
            // variant holds its own type, so comparing the payloads as `Any` compares the
            // variants too.
            fn eq(&self, other: &Self) -> bool {
                fn same<T: PartialEq + 'static>(a: &T, b: &dyn std::any::Any) -> bool {
                    b.downcast_ref::<T>() == Some(a)
                }
                let b = other.payload();
                match self {
                    #(#variants_eq)*
                    Self::Generic(a) => same(a, b),
                }
            }
        }

        impl TypedMessage {
            /// The command struct (or message) a variant holds.
            fn payload(&self) -> &dyn std::any::Any {
                match self {
                    #(#variants_payload)*
                    Self::Generic(m) => m,
                }
            }

            /// Encodes the message.
            pub fn to_bytes(&self) -> rt::bytes::Bytes {
                match self {
                    #(#variants_bytes)*
                    Self::Generic(m) => m.as_bytes().clone(),
                }
            }

            /// The command's full name, e.g. `Credit-Control-Request`.
            pub fn name(&self) -> &'static str {
                match self {
                    #(#variants_name)*
                    Self::Generic(_) => "Generic",
                }
            }

            /// The header.
            pub fn header(&self) -> &rt::Header {
                match self {
                    #(#variants_header)*
                    Self::Generic(m) => m.header(),
                }
            }
        }

        /// Decodes a message into its typed command, chosen by command code, application id
        /// and R bit; base commands also serve applications that do not redefine them;
        /// anything else stays generic. An answer with the E bit follows the answer-message
        /// ABNF of RFC 6733 §7.2, not its command's, so when it does not fit the command's
        /// struct it is returned generic rather than as an error.
        pub fn decode_typed(msg: &rt::Message) -> Result<TypedMessage, rt::DecodeError> {
            let typed = decode_command(msg);
            if typed.is_err() && !msg.is_request() && msg.header().flags.is_error() {
                return Ok(TypedMessage::Generic(msg.clone()));
            }
            typed
        }

        /// Checks a message with its command's typed view (`…View::decode`): what
        /// [`decode_typed`] checks plus the contents of every Grouped member, which typed
        /// structs may keep undecoded until read. `None` where [`decode_typed`] would return
        /// the message generic.
        pub fn check_view(msg: &rt::Message) -> Option<Result<(), rt::DecodeError>> {
            let checked = match (msg.code(), msg.application_id(), msg.is_request()) {
                #(#view_arms)*
                #(#view_fallback_arms)*
                _ => return None,
            };
            if checked.is_err() && !msg.is_request() && msg.header().flags.is_error() {
                return None;
            }
            Some(checked)
        }

        fn decode_command(msg: &rt::Message) -> Result<TypedMessage, rt::DecodeError> {
            Ok(match (msg.code(), msg.application_id(), msg.is_request()) {
                #(#decode_arms)*
                #(#fallback_arms)*
                _ => TypedMessage::Generic(msg.clone()),
            })
        }
    })
}
