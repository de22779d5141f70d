//! Emission: model in, formatted Rust source out. Pure functions of the validated model;
//! every list is emitted in a stable order so the output is deterministic.

mod exchange;
mod features;
mod module;
mod result_codes;
mod tables;
mod view;
mod writer;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::error::Error;
use crate::model::{Avp, AvpType, Command, Dictionary};
use crate::validate::Resolved;

/// How the generated modules are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Inside `diameter-core`: one file per module plus `mod.rs`, each module behind a cargo
    /// feature named after it (except `base`).
    Core,
    /// A user's crate: one file holding every module inline, referring to the built-in
    /// dictionaries through `::diameter_core::generated`.
    User,
}

/// Emitted files: (file name, contents).
pub(crate) struct Emitted {
    pub(crate) files: Vec<(String, String)>,
    /// Module → the other local modules whose AVPs its rules name.
    pub(crate) deps: BTreeMap<String, BTreeSet<String>>,
    /// Cargo features of the core layout → what each compiles (empty for a user's crate).
    pub(crate) features: BTreeMap<String, String>,
    /// Those of `features` that compile an application's commands.
    pub(crate) interfaces: BTreeSet<String>,
}

pub(crate) struct Ctx<'a> {
    dicts: &'a [Dictionary],
    resolved: &'a Resolved,
    current: &'a Dictionary,
    rt: TokenStream,
    local: &'a [bool],
    type_names: &'a [HashMap<String, String>],
    reach: &'a HashMap<String, HashSet<String>>,
    floaty: &'a HashSet<String>,
    sizes: &'a HashMap<String, usize>,
    /// Which cargo features compile which item (nothing gated in a user's crate).
    gating: &'a features::Gating,
    /// Index of `current` in `dicts`.
    index: usize,
    /// diameter-core's own modules or a user's crate.
    layout: Layout,
}

pub(crate) fn doc_attr(text: &str) -> TokenStream {
    let lines = text.lines().map(|l| {
        let l = format!(" {l}");
        quote!(#[doc = #l])
    });
    quote!(#(#lines)*)
}

pub(crate) fn lit_str(s: &str) -> Literal {
    Literal::string(s)
}

impl<'a> Ctx<'a> {
    fn loc(&self, name: &str) -> (usize, usize) {
        self.resolved.by_name[name]
    }

    pub(crate) fn avp(&self, name: &str) -> &'a Avp {
        let (d, a) = self.loc(name);
        &self.dicts[d].avps[a]
    }

    fn spec_of(&self, name: &str) -> &'a str {
        &self.dicts[self.loc(name).0].spec
    }

    fn type_ident(&self, name: &str) -> Ident {
        let (d, _) = self.loc(name);
        format_ident!("{}", self.type_names[d][name])
    }

    fn command_ident(&self, c: &Command, request: bool) -> Ident {
        let base = crate::names::command_stem(self.current, c);
        format_ident!("{}{}", base, if request { "Request" } else { "Answer" })
    }

    /// The path to a Grouped or Enumerated AVP's type from the current module.
    fn named_type(&self, a: &Avp) -> TokenStream {
        let (d, _) = self.loc(&a.name);
        let ident = format_ident!("{}", self.type_names[d][&a.name]);
        if std::ptr::eq(&self.dicts[d], self.current) {
            quote!(#ident)
        } else if self.local[d] {
            let m = format_ident!("{}", self.dicts[d].name);
            quote!(super::#m::#ident)
        } else {
            let m = format_ident!("{}", self.dicts[d].name);
            quote!(::diameter_core::generated::#m::#ident)
        }
    }

    /// The Rust type holding an AVP's value.
    pub(crate) fn value_type(&self, a: &Avp) -> TokenStream {
        let rt = &self.rt;
        match a.ty {
            AvpType::OctetString => quote!(#rt::bytes::Bytes),
            AvpType::Integer32 => quote!(i32),
            AvpType::Integer64 => quote!(i64),
            AvpType::Unsigned32 => quote!(u32),
            AvpType::Unsigned64 => quote!(u64),
            AvpType::Float32 => quote!(f32),
            AvpType::Float64 => quote!(f64),
            AvpType::Address => quote!(#rt::data::Address),
            AvpType::Time => quote!(#rt::data::Time),
            AvpType::Utf8String => quote!(#rt::data::Utf8String),
            AvpType::DiameterIdentity => quote!(#rt::data::DiameterIdentity),
            AvpType::DiameterUri => quote!(#rt::data::DiameterUri),
            AvpType::IpFilterRule => quote!(#rt::data::IpFilterRule),
            AvpType::QosFilterRule => quote!(#rt::data::QosFilterRule),
            AvpType::Enumerated | AvpType::Grouped => self.named_type(a),
        }
    }

    /// Whether Grouped `from` can contain Grouped `to` (or is it).
    fn reaches(&self, from: &str, to: &str) -> bool {
        from == to || self.reach.get(from).is_some_and(|s| s.contains(to))
    }

    fn contains_float(&self, name: &str) -> bool {
        self.floaty.contains(name)
    }

    /// Gates the items of a Grouped or Enumerated AVP's type behind its features.
    pub(crate) fn gate_avp(&self, name: &str, items: TokenStream) -> TokenStream {
        features::gate_items(self.gating.avp(name), items)
    }

    /// Gates the items of a command's request or answer behind its features.
    pub(crate) fn gate_command(&self, c: &Command, items: TokenStream) -> TokenStream {
        let i = self
            .current
            .commands
            .iter()
            .position(|o| std::ptr::eq(o, c))
            .expect("a command of the current dictionary");
        features::gate_items(self.gating.command(self.index, i), items)
    }

    fn sorted_avps(&self) -> Vec<&'a Avp> {
        let mut v: Vec<&Avp> = self.current.avps.iter().collect();
        v.sort_by_key(|a| (a.vendor, a.code));
        v
    }
}

/// Grouped → every Grouped it can contain, transitively.
fn reachability(dicts: &[Dictionary], resolved: &Resolved) -> HashMap<String, HashSet<String>> {
    let mut direct: HashMap<&str, Vec<&str>> = HashMap::new();
    for d in dicts {
        for a in &d.avps {
            if let Some(rules) = &a.grouped {
                let v = direct.entry(a.name.as_str()).or_default();
                for r in rules {
                    if let Some(n) = &r.avp {
                        let (di, ai) = resolved.by_name[n];
                        if dicts[di].avps[ai].ty == AvpType::Grouped {
                            v.push(n.as_str());
                        }
                    }
                }
            }
        }
    }
    let mut out = HashMap::new();
    for start in direct.keys() {
        let mut seen: HashSet<String> = HashSet::new();
        let mut stack: Vec<&str> = direct[start].clone();
        while let Some(n) = stack.pop() {
            if seen.insert(n.to_owned()) {
                if let Some(next) = direct.get(n) {
                    stack.extend(next.iter().copied());
                }
            }
        }
        out.insert((*start).to_owned(), seen);
    }
    out
}

/// Grouped structs larger than this are held as `Lazy` (checked when their parent is
/// decoded, kept as received bytes, built and boxed on first access) when they are a single
/// member, so that decoding a message neither fills, moves nor drops the hundreds of bytes of
/// mostly-`None` fields of optional members such as Requested-Service-Unit or the 3GPP
/// Service-Information tree until they are read. A `Lazy` is 80 bytes: smaller structs stay
/// inline. This is a memory choice only: `Lazy<T>` dereferences to `T` and is made with
/// `.into()`, so reading and setting a member look the same whichever way it is held.
pub(crate) const LAZY_ABOVE_BYTES: usize = 160;

/// The inline size of a `Lazy` member (diameter-core's `lazy::Lazy`).
const LAZY_BYTES: usize = 80;

/// Approximate inline size of each Grouped struct, wide members counted as `Lazy` (a
/// pointer-sized handle) and recursive ones as `Box`, by the same rule as the emitter.
fn inline_sizes(dicts: &[Dictionary], resolved: &Resolved) -> HashMap<String, usize> {
    fn scalar(t: AvpType) -> usize {
        match t {
            AvpType::Integer32
            | AvpType::Unsigned32
            | AvpType::Float32
            | AvpType::Enumerated
            | AvpType::Time => 8,
            AvpType::Integer64 | AvpType::Unsigned64 | AvpType::Float64 => 16,
            AvpType::Address => 48,
            _ => 40,
        }
    }
    fn size(
        name: &str,
        dicts: &[Dictionary],
        resolved: &Resolved,
        memo: &mut HashMap<String, usize>,
        open: &mut HashSet<String>,
    ) -> usize {
        if let Some(s) = memo.get(name) {
            return *s;
        }
        if !open.insert(name.to_owned()) {
            return 8; // recursive: held in a Box
        }
        let (d, a) = resolved.by_name[name];
        let mut total = 48; // extra + avp_flags
        for r in dicts[d].avps[a].grouped.iter().flatten() {
            let Some(n) = &r.avp else { continue };
            let (md, ma) = resolved.by_name[n];
            let m = &dicts[md].avps[ma];
            total += if r.repeated() {
                24
            } else if m.ty == AvpType::Grouped {
                let inner = size(n, dicts, resolved, memo, open);
                if inner > LAZY_ABOVE_BYTES {
                    LAZY_BYTES
                } else {
                    inner + 8
                }
            } else {
                scalar(m.ty)
            };
        }
        open.remove(name);
        memo.insert(name.to_owned(), total);
        total
    }
    let mut memo = HashMap::new();
    for d in dicts {
        for a in &d.avps {
            if a.ty == AvpType::Grouped {
                size(&a.name, dicts, resolved, &mut memo, &mut HashSet::new());
            }
        }
    }
    memo
}

fn floaty(
    dicts: &[Dictionary],
    reach: &HashMap<String, HashSet<String>>,
    resolved: &Resolved,
) -> HashSet<String> {
    let direct_float = |name: &str| -> bool {
        let (d, a) = resolved.by_name[name];
        dicts[d].avps[a].grouped.as_ref().is_some_and(|rules| {
            rules.iter().any(|r| {
                r.avp.as_ref().is_some_and(|n| {
                    let (d, a) = resolved.by_name[n];
                    matches!(dicts[d].avps[a].ty, AvpType::Float32 | AvpType::Float64)
                })
            })
        })
    };
    let mut out = HashSet::new();
    for (g, inner) in reach {
        if direct_float(g) || inner.iter().any(|i| direct_float(i)) {
            out.insert(g.clone());
        }
    }
    out
}

fn format_file(module: &str, tokens: TokenStream) -> Result<String, Error> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| Error::Emit {
        module: module.to_owned(),
        message: e.to_string(),
    })?;
    Ok(prettyplease::unparse(&file))
}

/// Emits the code for `dicts[i]` where `local[i]`, referring to the others as external.
pub(crate) fn emit(
    dicts: &[Dictionary],
    local: &[bool],
    resolved: &Resolved,
    layout: Layout,
    generator: &str,
) -> Result<Emitted, Error> {
    let reach = reachability(dicts, resolved);
    let floaty = floaty(dicts, &reach, resolved);
    let sizes = inline_sizes(dicts, resolved);
    let type_names: Vec<HashMap<String, String>> = dicts
        .iter()
        .map(|d| {
            let avps: Vec<&Avp> = d
                .avps
                .iter()
                .filter(|a| matches!(a.ty, AvpType::Grouped | AvpType::Enumerated))
                .collect();
            let cmds: Vec<&Command> = d.commands.iter().collect();
            module::resolve_type_names(d, &avps, &cmds)
        })
        .collect();
    let rt = quote!(rt);
    let core = match layout {
        Layout::Core => quote!(crate),
        Layout::User => quote!(::diameter_core),
    };
    let deps = module_deps(dicts, local, resolved);
    let gating = match layout {
        Layout::Core => features::Gating::new(dicts, resolved),
        Layout::User => features::Gating::default(),
    };
    let mut modules = Vec::new();
    for (i, d) in dicts.iter().enumerate() {
        if !local[i] {
            continue;
        }
        let cx = Ctx {
            dicts,
            resolved,
            current: d,
            rt: rt.clone(),
            local,
            type_names: &type_names,
            reach: &reach,
            floaty: &floaty,
            sizes: &sizes,
            gating: &gating,
            index: i,
            layout,
        };
        let keys = cx.emit_keys();
        let enums = d
            .avps
            .iter()
            .filter(|a| a.ty == AvpType::Enumerated)
            .map(|a| cx.gate_avp(&a.name, cx.emit_enum(a)));
        let grouped = d
            .avps
            .iter()
            .filter(|a| a.ty == AvpType::Grouped)
            .map(|a| cx.gate_avp(&a.name, cx.emit_grouped(a)));
        let commands = d.commands.iter().map(|c| {
            let both = [
                cx.emit_command(c, true),
                cx.emit_command(c, false),
                cx.emit_exchange(c),
            ];
            cx.gate_command(c, quote!(#(#both)*))
        });
        let tables = cx.emit_tables();
        let views = cx.emit_views();
        let writers = cx.emit_writers();
        let result_codes = cx.emit_result_codes();
        // RFC 6733's Result-Codes are `ResultCode`'s associated constants in diameter-core.
        let result_code_impl = if layout == Layout::Core && d.name == "base" {
            cx.emit_result_code_impl()
        } else {
            quote!()
        };
        let body = quote! {
            #[allow(unused_imports)]
            use #core as rt;
            #keys
            #result_codes
            #result_code_impl
            #(#enums)*
            #(#grouped)*
            #(#commands)*
            #views
            #writers
            #tables
        };
        modules.push((i, d, body));
    }
    let mut files = Vec::new();
    let header = |src: &str| {
        format!(
            "// @generated by {generator} from the dictionary {src}.\n// Do not edit by hand: edit the dictionary and regenerate.\n\n"
        )
    };
    let top = tables::emit_top(layout, dicts, &modules, &gating)?;
    match layout {
        Layout::Core => {
            for (_, d, body) in &modules {
                let text = format_file(&d.name, body.clone())?;
                let src = d
                    .file
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                files.push((
                    format!("{}.rs", d.name),
                    header(&format!("dictionaries/{src}")) + &text,
                ));
            }
            files.push((
                "mod.rs".to_owned(),
                header("set (module list and lookups)") + &format_file("mod", top)?,
            ));
        }
        Layout::User => {
            let inline = modules.iter().map(|(_, d, body)| {
                let m = format_ident!("{}", d.name);
                let doc = doc_attr(&module_doc(d));
                quote! {
                    #doc
                    #[allow(unused_mut, unused_variables, clippy::all, missing_docs)]
                    pub mod #m { #body }
                }
            });
            let all = quote! { #(#inline)* #top };
            let names: Vec<String> = modules.iter().map(|(_, d, _)| d.name.clone()).collect();
            files.push((
                "diameter_generated.rs".to_owned(),
                header(&names.join(", ")) + &format_file("generated", all)?,
            ));
        }
    }
    Ok(Emitted {
        files,
        deps,
        features: gating.features.clone(),
        interfaces: gating.interfaces.clone(),
    })
}

/// Module → the other local modules whose AVPs its rules name.
fn module_deps(
    dicts: &[Dictionary],
    local: &[bool],
    resolved: &Resolved,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut deps = BTreeMap::new();
    for (i, d) in dicts.iter().enumerate() {
        if !local[i] {
            continue;
        }
        let mut mine = BTreeSet::new();
        let rule_lists = d
            .avps
            .iter()
            .filter_map(|a| a.grouped.as_ref())
            .chain(d.commands.iter().flat_map(|c| [&c.request, &c.answer]));
        for rules in rule_lists {
            for r in rules {
                if let Some(n) = &r.avp {
                    let (di, _) = resolved.by_name[n];
                    if di != i && local[di] {
                        mine.insert(dicts[di].name.clone());
                    }
                }
            }
        }
        deps.insert(d.name.clone(), mine);
    }
    deps
}

pub(crate) fn module_doc(d: &Dictionary) -> String {
    format!(
        "{}{} ({}), generated from `{}`.",
        d.spec,
        d.title
            .as_ref()
            .map(|t| format!(": {t}"))
            .unwrap_or_default(),
        d.version,
        d.file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    )
}
