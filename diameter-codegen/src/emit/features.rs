//! Cargo features of diameter-core's generated code: which feature compiles which item.
//!
//! A feature is a set of roots (commands, AVPs); it compiles every item its roots reach
//! through the ABNF (a command's request and answer, a Grouped AVP's members, transitively),
//! and the module tables of every dictionary one of those AVPs comes from. An item carries
//! `#[cfg(any(feature = ..))]` over every feature that reaches it, so features are additive
//! by construction: turning one on only adds items, and no `cfg(not(..))` ever decides what
//! an item is.
//!
//! The features:
//! - one per application whose `<application>` names a `feature` (`s6a`, `gx`, `cx`, ...),
//!   or per command naming one (`gy`: TS 32.299's CCR): its commands;
//! - one per dictionary other than `base`, named after it: all its commands and AVPs
//!   (`vendor_cisco`, `ts29212`, ...), for tools and AVP-only dictionaries;
//! - `all`, every one of them (written by xtask).
//!
//! What the base dictionary reaches is always compiled.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Dictionary;
use crate::validate::Resolved;

/// Where an item is compiled: `None` always, else under any of these features.
pub(crate) type Gate = Option<BTreeSet<String>>;

/// The features of a dictionary set and the gate of every item.
#[derive(Default)]
pub(crate) struct Gating {
    /// Feature → what it compiles, for the manifest's comments.
    pub(crate) features: BTreeMap<String, String>,
    /// The features named by applications or commands (not only by a dictionary).
    pub(crate) interfaces: BTreeSet<String>,
    avps: HashMap<String, Gate>,
    commands: HashMap<(usize, usize), Gate>,
    modules: Vec<Gate>,
}

/// A feature's roots: AVPs by name, commands by (dictionary, command) index.
type Roots = (Vec<String>, Vec<(usize, usize)>);

/// What a set of roots reaches.
#[derive(Default)]
struct Reach {
    avps: HashSet<String>,
    commands: HashSet<(usize, usize)>,
}

fn reach(
    dicts: &[Dictionary],
    resolved: &Resolved,
    avps: impl IntoIterator<Item = String>,
    commands: impl IntoIterator<Item = (usize, usize)>,
) -> Reach {
    let mut out = Reach::default();
    let mut stack: Vec<String> = avps.into_iter().collect();
    for (d, c) in commands {
        out.commands.insert((d, c));
        let cmd = &dicts[d].commands[c];
        for r in cmd.request.iter().chain(&cmd.answer) {
            if let Some(n) = &r.avp {
                stack.push(n.clone());
            }
        }
    }
    while let Some(n) = stack.pop() {
        if !out.avps.insert(n.clone()) {
            continue;
        }
        let (d, a) = resolved.by_name[&n];
        for r in dicts[d].avps[a].grouped.iter().flatten() {
            if let Some(m) = &r.avp {
                if !out.avps.contains(m) {
                    stack.push(m.clone());
                }
            }
        }
    }
    out
}

impl Gating {
    /// The features of `dicts` (only meaningful for diameter-core's own layout).
    pub(crate) fn new(dicts: &[Dictionary], resolved: &Resolved) -> Self {
        // Feature → roots.
        let mut roots: BTreeMap<String, Roots> = BTreeMap::new();
        let mut docs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut interfaces = BTreeSet::new();
        let app_feature: HashMap<u32, (&str, &str)> = dicts
            .iter()
            .flat_map(|d| d.applications.iter())
            .filter_map(|a| Some((a.id, (a.feature.as_deref()?, a.name.as_str()))))
            .collect();
        for (di, d) in dicts.iter().enumerate() {
            if d.name != "base" {
                let r = roots.entry(d.name.clone()).or_default();
                r.0.extend(d.avps.iter().map(|a| a.name.clone()));
                r.1.extend((0..d.commands.len()).map(|c| (di, c)));
                docs.entry(d.name.clone()).or_default().push(format!(
                    "every AVP and command of {} ({}.xml)",
                    d.spec, d.name
                ));
            }
            for (ci, c) in d.commands.iter().enumerate() {
                let own = c.feature.as_deref();
                let Some(f) = own.or(app_feature.get(&c.application).map(|x| x.0)) else {
                    continue;
                };
                interfaces.insert(f.to_owned());
                let r = roots.entry(f.to_owned()).or_default();
                r.1.push((di, ci));
                // The definition this one replaces keeps decode_typed's dispatch, so it
                // must be there whenever this one is.
                if let Some(rep) = &c.replaces {
                    for (oi, o) in dicts.iter().enumerate().filter(|(_, o)| &o.name == rep) {
                        for (oci, oc) in o.commands.iter().enumerate() {
                            if oc.code == c.code && oc.application == c.application {
                                r.1.push((oi, oci));
                            }
                        }
                    }
                }
                let what = match (own, app_feature.get(&c.application)) {
                    (None, Some((_, app))) => format!("{app} ({})", d.spec),
                    _ => format!("{}-Request/Answer ({})", c.name, d.spec),
                };
                let v = docs.entry(f.to_owned()).or_default();
                if !v.contains(&what) {
                    v.push(what);
                }
            }
        }
        let always = dicts
            .iter()
            .enumerate()
            .find(|(_, d)| d.name == "base")
            .map(|(di, d)| {
                reach(
                    dicts,
                    resolved,
                    d.avps.iter().map(|a| a.name.clone()),
                    (0..d.commands.len()).map(|c| (di, c)),
                )
            })
            .unwrap_or_default();
        let mut avp_sets: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut cmd_sets: HashMap<(usize, usize), BTreeSet<String>> = HashMap::new();
        for (f, (avps, cmds)) in &roots {
            let r = reach(dicts, resolved, avps.iter().cloned(), cmds.iter().copied());
            for a in r.avps {
                avp_sets.entry(a).or_default().insert(f.clone());
            }
            for c in r.commands {
                cmd_sets.entry(c).or_default().insert(f.clone());
            }
        }
        let mut out = Gating {
            features: docs.into_iter().map(|(k, v)| (k, v.join("; "))).collect(),
            interfaces,
            ..Default::default()
        };
        for (di, d) in dicts.iter().enumerate() {
            let mut module: BTreeSet<String> = BTreeSet::new();
            let mut module_always = d.name == "base";
            for a in &d.avps {
                if always.avps.contains(&a.name) {
                    module_always = true;
                    out.avps.insert(a.name.clone(), None);
                } else {
                    let s = avp_sets.remove(&a.name).unwrap_or_default();
                    module.extend(s.iter().cloned());
                    out.avps.insert(a.name.clone(), Some(s));
                }
            }
            for ci in 0..d.commands.len() {
                if always.commands.contains(&(di, ci)) {
                    module_always = true;
                    out.commands.insert((di, ci), None);
                } else {
                    let s = cmd_sets.remove(&(di, ci)).unwrap_or_default();
                    module.extend(s.iter().cloned());
                    out.commands.insert((di, ci), Some(s));
                }
            }
            out.modules
                .push(if module_always { None } else { Some(module) });
        }
        out
    }

    /// The gate of an AVP's type (Grouped struct, view, writer; Enumerated newtype).
    pub(crate) fn avp(&self, name: &str) -> &Gate {
        self.avps.get(name).unwrap_or(&None)
    }

    /// The gate of a command's request and answer types.
    pub(crate) fn command(&self, dict: usize, command: usize) -> &Gate {
        self.commands.get(&(dict, command)).unwrap_or(&None)
    }

    /// The gate of a dictionary's module (its AVP keys and tables).
    pub(crate) fn module(&self, dict: usize) -> &Gate {
        self.modules.get(dict).unwrap_or(&None)
    }
}

/// `any(feature = "a", ..)` for a gate, `None` when always compiled.
pub(crate) fn predicate(gate: &Gate) -> Option<TokenStream> {
    let set = gate.as_ref()?;
    let names = set.iter();
    Some(quote!(any(#(feature = #names),*)))
}

/// `#[cfg(..)]` for a gate (nothing when always compiled).
pub(crate) fn cfg_attr(gate: &Gate) -> TokenStream {
    match predicate(gate) {
        Some(p) => quote!(#[cfg(#p)]),
        None => quote!(),
    }
}

/// Puts `#[cfg(..)]` on every item of `items` (a struct and its impls, say).
pub(crate) fn gate_items(gate: &Gate, items: TokenStream) -> TokenStream {
    let attr = cfg_attr(gate);
    if attr.is_empty() {
        return items;
    }
    let file: syn::File = match syn::parse2(items.clone()) {
        Ok(f) => f,
        // Left to the final formatting step to report.
        Err(_) => return items,
    };
    let gated = file.items.into_iter().map(|i| quote!(#attr #i));
    quote!(#(#gated)*)
}
