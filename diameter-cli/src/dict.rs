//! `diameter dict`: what the compiled-in dictionaries define.
//!
//! Without a query: every module, vendor, application, command and AVP. With a query:
//! `CODE/VENDOR` is one AVP; a number is every AVP with that code (all vendors), the
//! command with that code, and the application and vendor with that id; a name is an AVP,
//! a command (`Credit-Control`, `Credit-Control-Request` or `CCR`), an application or a
//! vendor. `--stats` prints counts.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;
use diameter_core::dictionary::{
    self, ApplicationDef, ApplicationKind, AvpDef, AvpType, CommandDef, FlagRule, Module, Rule,
    RuleKind, UNBOUNDED, VendorDef,
};
use diameter_core::{AvpKey, dump};
use serde_json::{Value, json};

/// Arguments of `diameter dict`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// AVP name or code (CODE or CODE/VENDOR), command name, abbreviation or code,
    /// application id or name, or vendor id or name. Without it, everything is listed.
    #[arg(value_name = "NAME|CODE", conflicts_with = "stats")]
    query: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print counts: AVP definitions, vendors, applications, commands, typed command
    /// structs, enumerated values, modules.
    #[arg(long)]
    stats: bool,
}

/// Output format of `dict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned text.
    Text,
    /// JSON.
    Json,
}

/// One match of a look-up, with the module that defines it.
#[derive(Default)]
struct Found {
    avps: Vec<(&'static Module, &'static AvpDef)>,
    commands: Vec<(&'static Module, &'static CommandDef)>,
    applications: Vec<(&'static Module, &'static ApplicationDef)>,
    vendors: Vec<(&'static Module, &'static VendorDef)>,
}

impl Found {
    fn is_empty(&self) -> bool {
        self.avps.is_empty()
            && self.commands.is_empty()
            && self.applications.is_empty()
            && self.vendors.is_empty()
    }
}

/// Runs `diameter dict`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    if args.stats {
        let s = Stats::collect();
        match args.format {
            Format::Text => out.write_all(s.text().as_bytes())?,
            Format::Json => writeln!(out, "{:#}", s.json())?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (found, listing) = match &args.query {
        Some(q) => (lookup(q.trim()), false),
        None => (everything(), true),
    };
    if found.is_empty() {
        let q = args.query.as_deref().unwrap_or_default();
        eprintln!("diameter: nothing in the compiled-in dictionaries matches {q:?}");
        return Ok(ExitCode::FAILURE);
    }
    match args.format {
        Format::Json => {
            let mut v = found_json(&found);
            if listing {
                v["modules"] = dictionary::modules().map(module_json).collect();
            }
            writeln!(out, "{v:#}")?;
        }
        Format::Text if listing => out.write_all(listing_text(&found).as_bytes())?,
        Format::Text => out.write_all(details_text(&found).as_bytes())?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn everything() -> Found {
    let mut f = Found::default();
    for m in dictionary::modules() {
        f.vendors.extend(m.vendors.iter().map(|d| (m, d)));
        f.applications.extend(m.applications.iter().map(|d| (m, d)));
        f.commands.extend(m.commands.iter().map(|d| (m, d)));
        f.avps.extend(m.avps.iter().map(|d| (m, d)));
    }
    f
}

fn lookup(q: &str) -> Found {
    let mut f = Found::default();
    if let Some((code, vendor)) = q.split_once('/') {
        if let (Ok(code), Ok(vendor)) = (code.trim().parse::<u32>(), vendor.trim().parse::<u32>()) {
            let key = AvpKey::new(code, vendor);
            for m in dictionary::modules() {
                f.avps
                    .extend(m.avps.iter().filter(|a| a.key() == key).map(|a| (m, a)));
            }
        }
        return f;
    }
    if let Ok(n) = q.parse::<u32>() {
        for m in dictionary::modules() {
            f.avps
                .extend(m.avps.iter().filter(|a| a.code == n).map(|a| (m, a)));
            f.commands
                .extend(m.commands.iter().filter(|c| c.code == n).map(|c| (m, c)));
            f.applications
                .extend(m.applications.iter().filter(|a| a.id == n).map(|a| (m, a)));
            f.vendors
                .extend(m.vendors.iter().filter(|v| v.id == n).map(|v| (m, v)));
        }
        return f;
    }
    // Exact names first; a case-insensitive match only when nothing matches exactly.
    for exact in [true, false] {
        let eq = |a: &str, b: &str| {
            if exact {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        };
        for m in dictionary::modules() {
            f.avps
                .extend(m.avps.iter().filter(|a| eq(a.name, q)).map(|a| (m, a)));
            f.commands.extend(
                m.commands
                    .iter()
                    .filter(|c| command_names(c).iter().any(|n| eq(n, q)))
                    .map(|c| (m, c)),
            );
            f.applications.extend(
                m.applications
                    .iter()
                    .filter(|a| eq(a.name, q))
                    .map(|a| (m, a)),
            );
            f.vendors
                .extend(m.vendors.iter().filter(|v| eq(v.name, q)).map(|v| (m, v)));
        }
        if !f.is_empty() {
            break;
        }
    }
    f
}

/// The names a command answers to: `Credit-Control`, `Credit-Control-Request`,
/// `Credit-Control-Answer`, `CCR`, `CCA`.
pub(crate) fn command_names(c: &CommandDef) -> Vec<String> {
    let mut names = vec![
        c.name.to_owned(),
        format!("{}-Request", c.name),
        format!("{}-Answer", c.name),
    ];
    if !c.short.is_empty() {
        names.push(format!("{}R", c.short));
        names.push(format!("{}A", c.short));
    }
    names
}

// ---- counts ----

struct Stats {
    modules: usize,
    vendors: usize,
    applications: usize,
    commands: usize,
    typed_commands: usize,
    avps: usize,
    distinct_avps: usize,
    enum_values: usize,
}

impl Stats {
    fn collect() -> Self {
        let mut s = Self {
            modules: 0,
            vendors: 0,
            applications: 0,
            commands: 0,
            typed_commands: 0,
            avps: 0,
            distinct_avps: 0,
            enum_values: 0,
        };
        let (mut vendors, mut apps, mut keys) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for m in dictionary::modules() {
            s.modules += 1;
            vendors.extend(m.vendors.iter().map(|v| v.id));
            apps.extend(m.applications.iter().map(|a| a.id));
            s.commands += m.commands.len();
            s.avps += m.avps.len();
            keys.extend(m.avps.iter().map(|a| (a.vendor, a.code)));
            s.enum_values += m.avps.iter().map(|a| a.enums.len()).sum::<usize>();
        }
        // The generator emits a Request and an Answer struct for every command.
        s.typed_commands = 2 * s.commands;
        s.vendors = vendors.len();
        s.applications = apps.len();
        s.distinct_avps = keys.len();
        s
    }

    fn text(&self) -> String {
        let mut t = String::new();
        let mut line = |label: &str, n: usize, note: &str| {
            let _ = writeln!(t, "{label:<24}{n:>7}{note}");
        };
        let avp_note = if self.distinct_avps == self.avps {
            String::new()
        } else {
            format!("  ({} distinct code/vendor pairs)", self.distinct_avps)
        };
        line("AVP definitions", self.avps, &avp_note);
        line("vendors", self.vendors, "");
        line("applications", self.applications, "");
        line("commands", self.commands, "  (request/answer pairs)");
        line("typed command structs", self.typed_commands, "");
        line("enumerated values", self.enum_values, "");
        line("modules", self.modules, "");
        t
    }

    fn json(&self) -> Value {
        json!({
            "avp_definitions": self.avps,
            "distinct_avps": self.distinct_avps,
            "vendors": self.vendors,
            "applications": self.applications,
            "commands": self.commands,
            "typed_command_structs": self.typed_commands,
            "enumerated_values": self.enum_values,
            "modules": self.modules,
        })
    }
}

// ---- rendering helpers ----

fn flag_rule(r: FlagRule) -> &'static str {
    match r {
        FlagRule::Must => "must",
        FlagRule::May => "may",
        FlagRule::MustNot => "must not",
        FlagRule::ShouldNot => "should not",
    }
}

fn kind_name(k: ApplicationKind) -> &'static str {
    match k {
        ApplicationKind::Auth => "auth",
        ApplicationKind::Acct => "acct",
    }
}

fn vendor_label(id: u32) -> String {
    match dictionary::vendor(id) {
        Some(v) => format!("{id} ({})", v.name),
        None => id.to_string(),
    }
}

/// An ABNF rule as RFC 6733 §3.2 writes it: `< Session-Id >`, `{ Origin-Host }`,
/// `*[ Proxy-Info ]`, `1*{ X }`, `*[ AVP ]`.
fn rule_text(r: &Rule) -> String {
    let name = match r.avp {
        None => "AVP".to_owned(),
        Some(k) => dictionary::avp_name(k).map_or_else(|| k.to_string(), str::to_owned),
    };
    let (open, close, default) = match r.kind {
        RuleKind::Fixed => ('<', '>', (1, 1)),
        RuleKind::Required => ('{', '}', (1, 1)),
        RuleKind::Optional => ('[', ']', (0, 1)),
    };
    let qual = if (r.min, r.max) == default {
        String::new()
    } else {
        let min = if r.min == 0 {
            String::new()
        } else {
            r.min.to_string()
        };
        let max = if r.max == UNBOUNDED {
            String::new()
        } else {
            r.max.to_string()
        };
        format!("{min}*{max}")
    };
    format!("{qual}{open} {name} {close}")
}

fn short_names(c: &CommandDef) -> String {
    if c.short.is_empty() {
        String::new()
    } else {
        format!(" ({0}R/{0}A)", c.short)
    }
}

fn listing_text(f: &Found) -> String {
    let mut t = String::new();
    let modules: Vec<_> = dictionary::modules().collect();
    let _ = writeln!(t, "Modules ({}):", modules.len());
    for m in &modules {
        let _ = writeln!(
            t,
            "  {:<20} {} ({}): {} AVPs, {} commands",
            m.name,
            m.spec,
            m.version,
            m.avps.len(),
            m.commands.len()
        );
    }
    let _ = writeln!(t, "\nVendors ({}):", f.vendors.len());
    for (_, v) in &f.vendors {
        let _ = writeln!(t, "  {:>10}  {}", v.id, v.name);
    }
    let _ = writeln!(t, "\nApplications ({}):", f.applications.len());
    for (_, a) in &f.applications {
        let _ = writeln!(
            t,
            "  {:>10}  {} [{}] {}",
            a.id,
            a.name,
            kind_name(a.kind),
            a.spec
        );
    }
    let _ = writeln!(t, "\nCommands ({}):", f.commands.len());
    for (_, c) in &f.commands {
        let _ = writeln!(
            t,
            "  {:>10}  {}{} application {}{} {}",
            c.code,
            c.name,
            short_names(c),
            c.application,
            if c.proxiable { " PXY" } else { "" },
            c.spec
        );
    }
    let _ = writeln!(t, "\nAVPs ({}):", f.avps.len());
    for (_, a) in &f.avps {
        let code = if a.vendor == 0 {
            a.code.to_string()
        } else {
            format!("{}/{}", a.code, a.vendor)
        };
        let _ = writeln!(
            t,
            "  {code:>16}  {:<40} {:<16} {:?} {}",
            a.name,
            a.ty.name(),
            a.default_flags(),
            a.spec
        );
    }
    t
}

fn details_text(f: &Found) -> String {
    let mut t = String::new();
    let sep = |t: &mut String| {
        if !t.is_empty() {
            t.push('\n');
        }
    };
    for (m, a) in &f.avps {
        sep(&mut t);
        let _ = writeln!(t, "AVP {}", a.name);
        let _ = writeln!(t, "  code:     {}", a.code);
        let _ = writeln!(t, "  vendor:   {}", vendor_label(a.vendor));
        let _ = writeln!(t, "  type:     {}", a.ty.name());
        let _ = writeln!(
            t,
            "  flags:    M {}, P {}, V {} (sent as {:?})",
            flag_rule(a.mandatory),
            flag_rule(a.protected),
            flag_rule(a.vendor_bit),
            a.default_flags()
        );
        let _ = writeln!(t, "  defined:  {} (module {})", a.spec, m.name);
        if !a.enums.is_empty() {
            let _ = writeln!(t, "  values:");
            for (v, n) in a.enums {
                let v = enum_value(a, *v);
                let _ = writeln!(t, "    {v:>10}  {n}");
            }
        }
        if !a.grouped.is_empty() {
            let _ = writeln!(t, "  members:");
            for r in a.grouped {
                let _ = writeln!(t, "    {}", rule_text(r));
            }
        }
    }
    for (m, c) in &f.commands {
        sep(&mut t);
        let _ = writeln!(t, "Command {}{}", c.name, short_names(c));
        let _ = writeln!(t, "  code:        {}", c.code);
        let app = dictionary::application(c.application).map_or_else(
            || c.application.to_string(),
            |a| format!("{} ({})", a.id, a.name),
        );
        let _ = writeln!(t, "  application: {app}");
        let _ = writeln!(
            t,
            "  proxiable:   {}",
            if c.proxiable { "yes" } else { "no" }
        );
        let _ = writeln!(t, "  defined:     {} (module {})", c.spec, m.name);
        for request in [true, false] {
            let name = dump::command_name(c.code, c.application, request);
            let _ = writeln!(t, "  <{name}> ::=");
            for r in c.rules(request) {
                let _ = writeln!(t, "    {}", rule_text(r));
            }
        }
    }
    for (m, a) in &f.applications {
        sep(&mut t);
        let _ = writeln!(t, "Application {}", a.name);
        let _ = writeln!(t, "  id:       {}", a.id);
        let _ = writeln!(t, "  kind:     {}", kind_name(a.kind));
        let _ = writeln!(t, "  defined:  {} (module {})", a.spec, m.name);
        let commands: Vec<String> = dictionary::modules()
            .flat_map(|m| m.commands.iter())
            .filter(|c| c.application == a.id)
            .map(|c| format!("{} ({})", c.name, c.code))
            .collect();
        if !commands.is_empty() {
            let _ = writeln!(t, "  commands: {}", commands.join(", "));
        }
    }
    for (m, v) in &f.vendors {
        sep(&mut t);
        let avps: usize = dictionary::modules()
            .map(|m| m.avps.iter().filter(|a| a.vendor == v.id).count())
            .sum();
        let _ = writeln!(t, "Vendor {}", v.name);
        let _ = writeln!(t, "  id:       {}", v.id);
        let _ = writeln!(t, "  AVPs:     {avps}");
        let _ = writeln!(t, "  declared: module {}", m.name);
    }
    t
}

// ---- JSON ----

fn module_json(m: &Module) -> Value {
    json!({
        "name": m.name,
        "spec": m.spec,
        "version": m.version,
        "vendors": m.vendors.len(),
        "applications": m.applications.len(),
        "commands": m.commands.len(),
        "avps": m.avps.len(),
    })
}

fn rules_json(rules: &[Rule]) -> Value {
    rules
        .iter()
        .map(|r| {
            json!({
                "rule": rule_text(r),
                "kind": match r.kind {
                    RuleKind::Fixed => "fixed",
                    RuleKind::Required => "required",
                    RuleKind::Optional => "optional",
                },
                "code": r.avp.map(|k| k.code),
                "vendor": r.avp.map(|k| k.vendor),
                "name": r.avp.and_then(dictionary::avp_name),
                "min": r.min,
                "max": (r.max != UNBOUNDED).then_some(r.max),
            })
        })
        .collect()
}

fn avp_json(m: &Module, a: &AvpDef) -> Value {
    let mut v = json!({
        "code": a.code,
        "vendor": a.vendor,
        "name": a.name,
        "type": a.ty.name(),
        "flags": {
            "mandatory": flag_rule(a.mandatory),
            "protected": flag_rule(a.protected),
            "vendor": flag_rule(a.vendor_bit),
        },
        "spec": a.spec,
        "module": m.name,
    });
    if !a.enums.is_empty() {
        v["enum"] = a
            .enums
            .iter()
            .map(|(n, name)| json!({"value": enum_value(a, *n), "name": name}))
            .collect();
    }
    if !a.grouped.is_empty() {
        v["avps"] = rules_json(a.grouped);
    }
    v
}

fn command_json(m: &Module, c: &CommandDef) -> Value {
    json!({
        "code": c.code,
        "application_id": c.application,
        "name": c.name,
        "short": (!c.short.is_empty()).then_some(c.short),
        "proxiable": c.proxiable,
        "spec": c.spec,
        "module": m.name,
        "request": rules_json(c.request),
        "answer": rules_json(c.answer),
    })
}

fn found_json(f: &Found) -> Value {
    json!({
        "vendors": f.vendors.iter().map(|(m, v)| json!({"id": v.id, "name": v.name, "module": m.name})).collect::<Vec<_>>(),
        "applications": f.applications.iter().map(|(m, a)| json!({
            "id": a.id, "name": a.name, "kind": kind_name(a.kind), "spec": a.spec, "module": m.name,
        })).collect::<Vec<_>>(),
        "commands": f.commands.iter().map(|(m, c)| command_json(m, c)).collect::<Vec<_>>(),
        "avps": f.avps.iter().map(|(m, a)| avp_json(m, a)).collect::<Vec<_>>(),
    })
}

/// A named value as the AVP's type reads it (an Unsigned32 value is kept in the table as its
/// 32-bit pattern).
fn enum_value(a: &AvpDef, v: i32) -> i64 {
    if a.ty == AvpType::Unsigned32 {
        i64::from(v as u32)
    } else {
        i64::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_like_the_rfc() {
        let k = Some(AvpKey::new(263, 0));
        let r = |kind, min, max| {
            rule_text(&Rule {
                kind,
                avp: k,
                min,
                max,
            })
        };
        assert_eq!(r(RuleKind::Fixed, 1, 1), "< Session-Id >");
        assert_eq!(r(RuleKind::Required, 1, 1), "{ Session-Id }");
        assert_eq!(r(RuleKind::Optional, 0, UNBOUNDED), "*[ Session-Id ]");
        assert_eq!(r(RuleKind::Required, 2, 3), "2*3{ Session-Id }");
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup("Session-Id").avps.len(), 1);
        assert_eq!(lookup("session-id").avps.len(), 1);
        assert_eq!(lookup("263/0").avps.len(), 1);
        assert_eq!(lookup("CER").commands.len(), 1);
        assert_eq!(lookup("Device-Watchdog-Answer").commands.len(), 1);
        assert!(lookup("No-Such-Thing").is_empty());
        // By number: every vendor's AVP 257 and command 257.
        let n = lookup("257");
        assert!(n.avps.iter().any(|(_, a)| a.name == "Host-IP-Address"));
        assert!(
            n.commands
                .iter()
                .any(|(_, c)| c.name == "Capabilities-Exchange")
        );
    }
}
