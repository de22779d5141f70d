//! A dictionary module's tables as the generator writes them: one text of `|`-separated
//! records, parsed into a [`Module`] on first use.
//!
//! Why text: as `static` initializers, the tables (every AVP with its flags, named values and
//! Grouped rules, every command's ABNF) were an eighth of the generated source, and rustc
//! built, borrow-checked and const-evaluated each of them on every build. A string literal
//! costs nothing to compile; parsing it once at run time takes well under a millisecond per
//! module (BENCHMARKS.md, "Generated code: tables as text").
//!
//! The records, one per line (the generator writes them; `tests` below reads every
//! compiled-in module):
//!
//! ```text
//! M|name|spec|version                      the module (first line)
//! V|id|name                                a vendor
//! P|id|Auth or Acct|name|spec              an application
//! A|code|vendor|type|M|P|V|name|spec       an AVP (type and flag rules by their names)
//! E|value|name                             a named value of the AVP above
//! G|rules                                  the Grouped rules of the AVP above
//! C|code|application|0 or 1|name|short|spec   a command (1: proxiable)
//! Q|rules / N|rules                        the request's / the answer's rules
//! R|vendor|code|name|spec                  a Result-Code (vendor 0) or Experimental-Result-Code
//! ```
//!
//! Rules are space-separated `kind,code,vendor,min,max` with kind `<`, `{` or `[`, code `*`
//! for the `*[ AVP ]` slot and max `*` for no upper bound.

use std::ops::Range;
use std::sync::OnceLock;

use super::{
    ApplicationDef, ApplicationKind, AvpDef, AvpType, CommandDef, FlagRule, Module, ResultCodeDef,
    Rule, RuleKind, UNBOUNDED, VendorDef,
};
use crate::avp::AvpKey;

/// A generated module's tables: the text, and the [`Module`] parsed from it on first use.
/// Dereferences to the [`Module`].
pub struct ModuleTables {
    text: &'static str,
    module: OnceLock<Module>,
}

impl ModuleTables {
    /// The tables in `text` (the generator's format, above), not parsed yet.
    pub const fn new(text: &'static str) -> Self {
        Self {
            text,
            module: OnceLock::new(),
        }
    }

    /// The module, parsed on the first call.
    ///
    /// # Panics
    /// If the text is not in the generator's format: generated code was edited by hand or
    /// comes from another version of the generator. Every compiled-in module is parsed by
    /// this crate's tests.
    pub fn get(&'static self) -> &'static Module {
        self.parsed()
    }

    fn parsed(&self) -> &Module {
        self.module.get_or_init(|| match parse(self.text) {
            Ok(m) => m,
            Err(e) => panic!("generated dictionary tables: {e}"),
        })
    }
}

impl std::ops::Deref for ModuleTables {
    type Target = Module;
    fn deref(&self) -> &Module {
        self.parsed()
    }
}

impl std::fmt::Debug for ModuleTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// What is wrong with a table text, and on which line (1-based).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {what}")]
pub struct TablesError {
    /// The line.
    pub line: usize,
    /// What is wrong with it.
    pub what: String,
}

/// An AVP or command whose slices are known by their ranges until every row is read.
struct AvpRow {
    code: u32,
    vendor: u32,
    name: &'static str,
    ty: AvpType,
    flags: [FlagRule; 3],
    enums: Range<usize>,
    grouped: Range<usize>,
    spec: &'static str,
}

struct CommandRow {
    code: u32,
    application: u32,
    name: &'static str,
    short: &'static str,
    proxiable: bool,
    request: Range<usize>,
    answer: Range<usize>,
    spec: &'static str,
}

/// Parses a module's tables. The slices of the [`Module`] live as long as the program: each
/// table is allocated once per module (seven allocations) and never freed, as the `static`
/// tables they replace were never freed.
pub fn parse(text: &'static str) -> Result<Module, TablesError> {
    let mut header = None;
    let mut vendors = Vec::new();
    let mut applications = Vec::new();
    let mut avps: Vec<AvpRow> = Vec::new();
    let mut enums: Vec<(i32, &'static str)> = Vec::new();
    let mut rules: Vec<Rule> = Vec::new();
    let mut commands: Vec<CommandRow> = Vec::new();
    let mut result_codes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let mut f = Fields {
            parts: line.split('|'),
            line: i + 1,
        };
        let tag = f.text()?;
        match tag {
            "M" => header = Some((f.text()?, f.text()?, f.text()?)),
            "V" => vendors.push(VendorDef {
                id: f.number()?,
                name: f.text()?,
            }),
            "P" => {
                let id = f.number()?;
                let kind = match f.text()? {
                    "Auth" => ApplicationKind::Auth,
                    "Acct" => ApplicationKind::Acct,
                    k => return Err(f.error(format!("application kind {k:?}"))),
                };
                applications.push(ApplicationDef {
                    id,
                    kind,
                    name: f.text()?,
                    spec: f.text()?,
                });
            }
            "A" => {
                let code = f.number()?;
                let vendor = f.number()?;
                let ty = f.text()?;
                let ty =
                    AvpType::from_name(ty).ok_or_else(|| f.error(format!("AVP type {ty:?}")))?;
                let flags = [f.flag()?, f.flag()?, f.flag()?];
                avps.push(AvpRow {
                    code,
                    vendor,
                    name: f.text()?,
                    ty,
                    flags,
                    enums: enums.len()..enums.len(),
                    grouped: 0..0,
                    spec: f.text()?,
                });
            }
            "E" => {
                let row = avps
                    .last_mut()
                    .ok_or_else(|| f.error("a value before any AVP".into()))?;
                let value: i64 = f.number()?;
                let value = i32::try_from(value).map_err(|_| f.error(format!("value {value}")))?;
                enums.push((value, f.text()?));
                row.enums.end = enums.len();
            }
            "G" => {
                let row = avps
                    .last_mut()
                    .ok_or_else(|| f.error("rules before any AVP".into()))?;
                row.grouped = f.rules(&mut rules)?;
            }
            "C" => commands.push(CommandRow {
                code: f.number()?,
                application: f.number()?,
                proxiable: f.number::<u8>()? == 1,
                name: f.text()?,
                short: f.text()?,
                request: 0..0,
                answer: 0..0,
                spec: f.text()?,
            }),
            "Q" | "N" => {
                let row = commands
                    .last_mut()
                    .ok_or_else(|| f.error("rules before any command".into()))?;
                let r = f.rules(&mut rules)?;
                if tag == "Q" {
                    row.request = r;
                } else {
                    row.answer = r;
                }
            }
            "R" => result_codes.push(ResultCodeDef {
                vendor: f.number()?,
                code: f.number()?,
                name: f.text()?,
                spec: f.text()?,
            }),
            t => return Err(f.error(format!("record {t:?}"))),
        }
        if f.parts.next().is_some() {
            return Err(f.error("more fields than the record has".into()));
        }
    }
    let (name, spec, version) = header.ok_or(TablesError {
        line: 1,
        what: "no M record".into(),
    })?;
    let enums: &'static [(i32, &'static str)] = Box::leak(enums.into_boxed_slice());
    let rules: &'static [Rule] = Box::leak(rules.into_boxed_slice());
    let avps = avps
        .into_iter()
        .map(|a| AvpDef {
            code: a.code,
            vendor: a.vendor,
            name: a.name,
            ty: a.ty,
            mandatory: a.flags[0],
            protected: a.flags[1],
            vendor_bit: a.flags[2],
            enums: &enums[a.enums],
            grouped: &rules[a.grouped],
            spec: a.spec,
        })
        .collect::<Vec<_>>();
    let commands = commands
        .into_iter()
        .map(|c| CommandDef {
            code: c.code,
            application: c.application,
            name: c.name,
            short: c.short,
            proxiable: c.proxiable,
            request: &rules[c.request],
            answer: &rules[c.answer],
            spec: c.spec,
        })
        .collect::<Vec<_>>();
    Ok(Module {
        name,
        spec,
        version,
        vendors: Box::leak(vendors.into_boxed_slice()),
        applications: Box::leak(applications.into_boxed_slice()),
        avps: Box::leak(avps.into_boxed_slice()),
        commands: Box::leak(commands.into_boxed_slice()),
        result_codes: Box::leak(result_codes.into_boxed_slice()),
    })
}

/// The fields of one record, and its line (for errors).
struct Fields {
    parts: std::str::Split<'static, char>,
    line: usize,
}

impl Fields {
    fn error(&self, what: String) -> TablesError {
        TablesError {
            line: self.line,
            what,
        }
    }

    fn text(&mut self) -> Result<&'static str, TablesError> {
        match self.parts.next() {
            Some(t) => Ok(t),
            None => Err(self.error("a field is missing".into())),
        }
    }

    fn number<T: std::str::FromStr>(&mut self) -> Result<T, TablesError> {
        let s = self.text()?;
        s.parse().map_err(|_| self.error(format!("number {s:?}")))
    }

    fn rules(&mut self, out: &mut Vec<Rule>) -> Result<Range<usize>, TablesError> {
        let s = self.text()?;
        push_rules(out, s).map_err(|what| self.error(what))
    }

    fn flag(&mut self) -> Result<FlagRule, TablesError> {
        match self.text()? {
            "Must" => Ok(FlagRule::Must),
            "May" => Ok(FlagRule::May),
            "MustNot" => Ok(FlagRule::MustNot),
            "ShouldNot" => Ok(FlagRule::ShouldNot),
            s => Err(self.error(format!("flag rule {s:?}"))),
        }
    }
}

/// Appends the rules written in `s` and returns where they are.
fn push_rules(out: &mut Vec<Rule>, s: &str) -> Result<Range<usize>, String> {
    let start = out.len();
    for item in s.split(' ').filter(|i| !i.is_empty()) {
        let bad = || format!("rule {item:?}");
        let mut p = item.split(',');
        let mut next = || p.next().ok_or_else(bad);
        let kind = match next()? {
            "<" => RuleKind::Fixed,
            "{" => RuleKind::Required,
            "[" => RuleKind::Optional,
            _ => return Err(bad()),
        };
        let (code, vendor) = (next()?, next()?);
        let avp = match code {
            "*" => None,
            c => Some(AvpKey::new(
                c.parse().map_err(|_| bad())?,
                vendor.parse().map_err(|_| bad())?,
            )),
        };
        let min = next()?.parse().map_err(|_| bad())?;
        let max = match next()? {
            "*" => UNBOUNDED,
            m => m.parse().map_err(|_| bad())?,
        };
        if p.next().is_some() {
            return Err(bad());
        }
        out.push(Rule {
            kind,
            avp,
            min,
            max,
        });
    }
    Ok(start..out.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "M|base|IETF RFC 6733|October 2012\n\
        V|10415|3GPP\n\
        P|4|Auth|Diameter Credit Control|IETF RFC 8506 §1\n\
        A|268|0|Unsigned32|Must|May|MustNot|Result-Code|IETF RFC 6733 §7.1\n\
        E|2001|DIAMETER_SUCCESS\n\
        A|284|0|Grouped|Must|May|MustNot|Proxy-Info|IETF RFC 6733 §6.7.2\n\
        G|{,280,0,1,1 {,33,0,1,1 [,*,0,0,*\n\
        C|280|0|0|Device-Watchdog|DW|IETF RFC 6733 §5.5\n\
        Q|{,264,0,1,1\n\
        N|{,268,0,1,1 [,*,0,0,*\n\
        R|0|2001|DIAMETER_SUCCESS|IETF RFC 6733 §7.1.2\n";

    #[test]
    fn every_record_is_read() {
        let m = parse(TEXT).unwrap();
        assert_eq!(
            (m.name, m.spec, m.version),
            ("base", "IETF RFC 6733", "October 2012")
        );
        assert_eq!(m.vendors[0].name, "3GPP");
        assert_eq!(m.applications[0].kind, ApplicationKind::Auth);
        assert_eq!(m.avps.len(), 2);
        assert_eq!(m.avps[0].enum_name(2001), Some("DIAMETER_SUCCESS"));
        assert_eq!(m.avps[0].mandatory, FlagRule::Must);
        assert_eq!(m.avps[0].vendor_bit, FlagRule::MustNot);
        assert!(m.avps[1].enums.is_empty());
        let g = m.avps[1].grouped;
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].avp, Some(AvpKey::new(280, 0)));
        assert_eq!(
            (g[2].kind, g[2].avp, g[2].max),
            (RuleKind::Optional, None, UNBOUNDED)
        );
        let c = &m.commands[0];
        assert_eq!((c.code, c.short, c.proxiable), (280, "DW", false));
        assert_eq!((c.request.len(), c.answer.len()), (1, 2));
        assert_eq!(m.result_codes[0].code, 2001);
    }

    #[test]
    fn a_bad_record_names_its_line() {
        for (text, line) in [
            ("M|a|b|c\nA|1|0|Nope|Must|May|May|X|s", 2),
            ("M|a|b|c\nE|1|X", 2),
            ("M|a|b|c\nC|1|0|0|X|Y|s\nQ|{,1,0,1", 3),
            ("M|a|b|c\nV|1|x|extra", 2),
            ("M|a|b|c\nZ|1", 2),
            ("V|1|x", 1),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
        }
    }

    /// Every compiled-in module's text parses, and what the generated lookups index matches
    /// its position (AVPs sorted by vendor and code, as `avp_def`'s arms assume).
    #[test]
    fn every_compiled_module_parses() {
        for m in crate::generated::MODULES.iter().flatten() {
            let m = m.get();
            assert!(
                m.avps
                    .windows(2)
                    .all(|w| (w[0].vendor, w[0].code) < (w[1].vendor, w[1].code)),
                "{}: AVPs not sorted",
                m.name
            );
            for a in m.avps {
                let found = crate::dictionary::avp(a.key()).map(|d| d.name);
                assert_eq!(found, Some(a.name), "{}: {:?}", m.name, a.key());
            }
            for c in m.commands {
                let found = crate::dictionary::command(c.code, c.application).map(|d| d.name);
                assert_eq!(found, Some(c.name), "{}: command {}", m.name, c.code);
            }
        }
    }
}
