//! Checks across all dictionaries: identities unique, references resolved, rules ordered,
//! Grouped AVPs not containing themselves through required members.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::error::Diagnostic;
use crate::model::{AvpType, Dictionary, Rule, RuleKind};

/// Where an AVP is defined: (dictionary index, AVP index).
pub(crate) type AvpLoc = (usize, usize);

/// The resolved set of dictionaries.
pub(crate) struct Resolved {
    pub(crate) by_name: HashMap<String, AvpLoc>,
}

fn diag(d: &Dictionary, line: usize, message: String) -> Diagnostic {
    Diagnostic {
        file: d.file.clone(),
        line,
        message,
    }
}

/// Validates `dicts` (all of them, local and external) and resolves AVP names.
pub(crate) fn validate(dicts: &[Dictionary]) -> Result<Resolved, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut by_key: HashMap<(u32, u32), (usize, usize)> = HashMap::new();
    let mut by_name: HashMap<String, AvpLoc> = HashMap::new();
    let mut vendors: HashMap<u32, (usize, usize)> = HashMap::new();
    let mut apps: HashMap<u32, (usize, usize)> = HashMap::new();
    let mut modules: HashMap<&str, usize> = HashMap::new();
    let mut commands: HashMap<(u32, u32), (usize, usize)> = HashMap::new();

    for (di, d) in dicts.iter().enumerate() {
        if let Some(prev) = modules.insert(&d.name, di) {
            out.push(diag(
                d,
                d.line,
                format!(
                    "dictionary name {:?} also used by {}",
                    d.name,
                    dicts[prev].file.display()
                ),
            ));
        }
        table_text(d, &mut out);
        for v in &d.vendors {
            if let Some((pd, pl)) = vendors.insert(v.id, (di, v.line)) {
                out.push(diag(
                    d,
                    v.line,
                    format!(
                        "vendor {} declared again (first at {}:{pl})",
                        v.id,
                        dicts[pd].file.display()
                    ),
                ));
            }
        }
        for a in &d.applications {
            if let Some((pd, pl)) = apps.insert(a.id, (di, a.line)) {
                out.push(diag(
                    d,
                    a.line,
                    format!(
                        "application {} declared again (first at {}:{pl})",
                        a.id,
                        dicts[pd].file.display()
                    ),
                ));
            }
        }
        for (ai, a) in d.avps.iter().enumerate() {
            if let Some((pd, pa)) = by_key.insert((a.code, a.vendor), (di, ai)) {
                let p = &dicts[pd];
                out.push(diag(
                    d,
                    a.line,
                    format!(
                        "duplicate AVP (code {}, vendor {}): {} here, {} at {}:{}",
                        a.code,
                        a.vendor,
                        a.name,
                        p.avps[pa].name,
                        p.file.display(),
                        p.avps[pa].line
                    ),
                ));
            }
            if let Some((pd, pa)) = by_name.insert(a.name.clone(), (di, ai)) {
                let p = &dicts[pd];
                out.push(diag(
                    d,
                    a.line,
                    format!(
                        "duplicate AVP name {} (also at {}:{})",
                        a.name,
                        p.file.display(),
                        p.avps[pa].line
                    ),
                ));
            }
            let mut names = HashSet::new();
            let mut codes = HashSet::new();
            for e in &a.enums {
                if !names.insert(&e.name) {
                    out.push(diag(
                        d,
                        e.line,
                        format!("duplicate enum name {} in {}", e.name, a.name),
                    ));
                }
                if !codes.insert(e.code) {
                    out.push(diag(
                        d,
                        e.line,
                        format!("duplicate enum value {} in {}", e.code, a.name),
                    ));
                }
            }
        }
        for (ci, c) in d.commands.iter().enumerate() {
            if let Some((pd, pc)) = commands.insert((c.code, c.application), (di, ci)) {
                let p = &dicts[pd];
                let prev = &p.commands[pc];
                // One definition may replace another dictionary's (Ro's CCR over RFC 4006's).
                if c.replaces.as_deref() == Some(p.name.as_str()) {
                    continue;
                }
                if prev.replaces.as_deref() == Some(d.name.as_str()) {
                    commands.insert((c.code, c.application), (pd, pc));
                    continue;
                }
                out.push(diag(
                    d,
                    c.line,
                    format!(
                        "duplicate command (code {}, application {}): also {} at {}:{}",
                        c.code,
                        c.application,
                        p.commands[pc].name,
                        p.file.display(),
                        p.commands[pc].line
                    ),
                ));
            }
        }
    }
    for d in dicts {
        check_result_codes(d, &vendors, &mut out);
        for a in &d.avps {
            if a.vendor != 0 && !vendors.contains_key(&a.vendor) {
                out.push(diag(
                    d,
                    a.line,
                    format!("AVP {} uses undeclared vendor {}", a.name, a.vendor),
                ));
            }
            if let Some(rules) = &a.grouped {
                check_rules(
                    d,
                    rules,
                    &by_name,
                    &format!("Grouped AVP {}", a.name),
                    &mut out,
                );
            }
        }
        for c in &d.commands {
            if c.application != 0 && !apps.contains_key(&c.application) {
                out.push(diag(
                    d,
                    c.line,
                    format!(
                        "command {} uses undeclared application {}",
                        c.name, c.application
                    ),
                ));
            }
            if let Some(r) = &c.replaces {
                let replaced = dicts.iter().find(|o| &o.name == r).and_then(|o| {
                    o.commands
                        .iter()
                        .find(|oc| oc.code == c.code && oc.application == c.application)
                });
                if replaced.is_none() {
                    out.push(diag(
                        d,
                        c.line,
                        format!(
                            "command {} replaces a definition that dictionary {r:?} does not have",
                            c.name
                        ),
                    ));
                }
            }
            check_rules(
                d,
                &c.request,
                &by_name,
                &format!("{}-Request", c.name),
                &mut out,
            );
            check_rules(
                d,
                &c.answer,
                &by_name,
                &format!("{}-Answer", c.name),
                &mut out,
            );
        }
    }
    if out.is_empty() {
        check_cycles(dicts, &by_name, &mut out);
    }
    if out.is_empty() {
        Ok(Resolved { by_name })
    } else {
        out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(out)
    }
}

/// Result-Code and Experimental-Result-Code values of one dictionary: names unique (as the
/// Rust constants they become, in one `result_code` module), codes unique per kind (a
/// Result-Code by value, an Experimental-Result-Code by vendor and value), vendors declared.
/// The same value may be defined by several dictionaries (3GPP's 5001
/// DIAMETER_ERROR_USER_UNKNOWN is in Cx, Sh and S6a).
/// The names and sections that go into the generated tables' text (diameter-core's
/// `dictionary::compact`): fields separated by `|`, one record per line, so neither may
/// appear in them.
fn table_text(d: &Dictionary, out: &mut Vec<Diagnostic>) {
    let mut check = |line: usize, what: &str, s: &str| {
        if s.contains(['|', '\n', '\r']) {
            out.push(diag(
                d,
                line,
                format!("{what} {s:?} contains `|` or a line break"),
            ));
        }
    };
    for s in [&d.name, &d.spec, &d.version] {
        check(d.line, "dictionary attribute", s);
    }
    for v in &d.vendors {
        check(v.line, "vendor name", &v.name);
    }
    for a in &d.applications {
        check(a.line, "application name", &a.name);
        check(a.line, "section", a.section.as_deref().unwrap_or(""));
    }
    for a in &d.avps {
        check(a.line, "AVP name", &a.name);
        check(a.line, "section", &a.section);
        for e in &a.enums {
            check(e.line, "value name", &e.name);
        }
    }
    for c in &d.commands {
        check(c.line, "command name", &c.name);
        check(
            c.line,
            "command abbreviation",
            c.short.as_deref().unwrap_or(""),
        );
        check(c.line, "section", &c.section);
    }
    for r in &d.result_codes {
        check(r.line, "result code name", &r.name);
        check(r.line, "section", &r.section);
    }
}

fn check_result_codes(
    d: &Dictionary,
    vendors: &HashMap<u32, (usize, usize)>,
    out: &mut Vec<Diagnostic>,
) {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut codes: HashMap<(Option<u32>, u32), usize> = HashMap::new();
    for r in &d.result_codes {
        let ident = crate::names::result_code_const(&r.name);
        if let Some(line) = names.insert(ident.clone(), r.line) {
            out.push(diag(
                d,
                r.line,
                format!(
                    "duplicate result code name {} (constant {ident}, also at line {line})",
                    r.name
                ),
            ));
        }
        if let Some(line) = codes.insert((r.vendor, r.code), r.line) {
            let what = match r.vendor {
                Some(v) => format!("Experimental-Result-Code {} of vendor {v}", r.code),
                None => format!("Result-Code {}", r.code),
            };
            out.push(diag(
                d,
                r.line,
                format!("duplicate {what}: {} here, also at line {line}", r.name),
            ));
        }
        if let Some(v) = r.vendor {
            if !vendors.contains_key(&v) {
                out.push(diag(
                    d,
                    r.line,
                    format!("<{}> {} uses undeclared vendor {v}", r.element(), r.name),
                ));
            }
        }
    }
}

fn check_rules(
    d: &Dictionary,
    rules: &[Rule],
    by_name: &HashMap<String, AvpLoc>,
    owner: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut seen_non_fixed = false;
    let mut seen = HashSet::new();
    let mut any = 0;
    for r in rules {
        match r.kind {
            RuleKind::Fixed if seen_non_fixed => out.push(diag(
                d,
                r.line,
                format!("in {owner}: fixed rule after a non-fixed one (RFC 6733 §3.2: fixed AVPs come first)"),
            )),
            RuleKind::Fixed => {}
            _ => seen_non_fixed = true,
        }
        if let Some(max) = r.max {
            if r.min > max {
                out.push(diag(
                    d,
                    r.line,
                    format!("in {owner}: min {} > max {max}", r.min),
                ));
            }
            if max == 0 {
                out.push(diag(
                    d,
                    r.line,
                    format!("in {owner}: max 0 (omit the rule instead)"),
                ));
            }
        }
        match &r.avp {
            None => {
                any += 1;
                if any > 1 {
                    out.push(diag(
                        d,
                        r.line,
                        format!("in {owner}: <any-avp/> listed twice"),
                    ));
                }
            }
            Some(name) => {
                if !by_name.contains_key(name) {
                    out.push(diag(
                        d,
                        r.line,
                        format!("in {owner}: rule names undefined AVP {name}"),
                    ));
                }
                if !seen.insert(name.as_str()) {
                    out.push(diag(
                        d,
                        r.line,
                        format!("in {owner}: AVP {name} listed twice"),
                    ));
                }
            }
        }
    }
}

/// A Grouped AVP that must contain itself (through rules with min ≥ 1) can never be
/// encoded: report the cycle. Optional recursion is fine and is boxed by the emitter.
fn check_cycles(
    dicts: &[Dictionary],
    by_name: &HashMap<String, AvpLoc>,
    out: &mut Vec<Diagnostic>,
) {
    // Edges along required members only.
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in dicts {
        for a in &d.avps {
            if let Some(rules) = &a.grouped {
                let e = edges.entry(a.name.as_str()).or_default();
                for r in rules {
                    if let (Some(n), true) = (&r.avp, r.min >= 1) {
                        let (td, ta) = by_name[n];
                        if dicts[td].avps[ta].ty == AvpType::Grouped {
                            e.push(n.as_str());
                        }
                    }
                }
            }
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut HashMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match marks.get(n) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(n);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(n, Mark::Open);
        stack.push(n);
        for m in edges.get(n).map(Vec::as_slice).unwrap_or_default() {
            if let Some(c) = visit(m, edges, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    for n in edges.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(n, &edges, &mut marks, &mut stack) {
            let (d, a) = by_name[cycle[0]];
            out.push(diag(
                &dicts[d],
                dicts[d].avps[a].line,
                format!(
                    "Grouped AVPs contain each other through required members: {}",
                    cycle.join(" -> ")
                ),
            ));
            return;
        }
    }
}
