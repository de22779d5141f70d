//! Cross-check of our dictionaries against python-diameter's facts
//! (`dictionaries/reference/*.tsv`): every AVP there exists here with the same type family
//! and M-flag rule, every grouped member and command AVP there is allowed by our rules,
//! unless `dictionaries/DEVIATIONS.md` or `dictionaries/deviations/*.md` records why the
//! specification says otherwise (with its section).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use diameter_core::AvpKey;
use diameter_core::dictionary::{self, AvpDef, AvpType, Rule};

fn dict_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dictionaries")
}

fn tsv(name: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(dict_dir().join("reference").join(name)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split('\t').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// (code, vendor, kind) of every recorded deviation; every row must name a section.
fn deviations() -> HashSet<(u32, u32, String)> {
    let mut files = vec![dict_dir().join("DEVIATIONS.md")];
    let mut extra: Vec<PathBuf> = std::fs::read_dir(dict_dir().join("deviations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    extra.sort();
    files.extend(extra);
    let mut out = HashSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            if cells.len() < 7 {
                continue;
            }
            let (Ok(code), Ok(vendor)) = (cells[0].parse::<u32>(), cells[1].parse::<u32>()) else {
                continue;
            };
            let kind = cells[2].to_owned();
            assert!(
                [
                    "type",
                    "mandatory",
                    "name",
                    "member",
                    "command-avp",
                    "absent"
                ]
                .contains(&kind.as_str()),
                "{}: unknown deviation kind {kind:?} in {line}",
                f.display()
            );
            assert!(
                !cells[5].is_empty(),
                "{}: deviation without a section: {line}",
                f.display()
            );
            out.insert((code, vendor, kind));
        }
    }
    out
}

/// Our type as python-diameter names its family.
fn family(t: AvpType) -> &'static str {
    match t {
        AvpType::Enumerated | AvpType::Integer32 => "Integer32",
        AvpType::DiameterIdentity
        | AvpType::DiameterURI
        | AvpType::IPFilterRule
        | AvpType::QoSFilterRule
        | AvpType::OctetString => "OctetString",
        AvpType::UTF8String => "Utf8String",
        other => other.name(),
    }
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// python-diameter class names that are not the AVP name in CamelCase.
const CLASS_ALIASES: &[(&str, &[&str])] = &[
    ("FromToSpec", &["From-Spec", "To-Spec"]),
    ("LocationInfoGrouped", &["Location-Info"]),
    ("ServiceType", &["3GPP-Service-Type"]),
];

fn allows(rules: &[Rule], key: AvpKey) -> bool {
    rules.iter().any(|r| r.avp.is_none() || r.avp == Some(key))
}

fn explicit(rules: &[Rule], key: AvpKey) -> bool {
    rules.iter().any(|r| r.avp == Some(key))
}

#[test]
fn avps_match_the_reference() {
    let dev = deviations();
    let excused = |c: u32, v: u32, k: &str| dev.contains(&(c, v, k.to_owned()));
    let mut problems = Vec::new();
    let rows = tsv("avps.tsv");
    for r in &rows {
        let code: u32 = r["code"].parse().unwrap();
        let vendor: u32 = r["vendor"].parse().unwrap();
        let key = AvpKey::new(code, vendor);
        let Some(def) = dictionary::avp(key) else {
            if !excused(code, vendor, "absent") {
                problems.push(format!("missing {code}/{vendor} {}", r["name"]));
            }
            continue;
        };
        if family(def.ty) != r["type"] && !excused(code, vendor, "type") {
            problems.push(format!(
                "type {code}/{vendor} {}: ours {}, reference {}",
                def.name,
                def.ty.name(),
                r["type"]
            ));
        }
        let ours_m = def.mandatory == dictionary::FlagRule::Must;
        if ours_m != (r["mandatory_flag"] == "1") && !excused(code, vendor, "mandatory") {
            problems.push(format!(
                "M flag {code}/{vendor} {}: ours {:?}, reference {}",
                def.name, def.mandatory, r["mandatory_flag"]
            ));
        }
    }
    assert!(rows.len() >= 2824, "{} reference rows", rows.len());
    assert!(
        problems.is_empty(),
        "{} undocumented differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn grouped_members_are_allowed() {
    let dev = deviations();
    let by_squash: HashMap<String, &AvpDef> = dictionary::modules()
        .flat_map(|m| m.avps.iter())
        .filter(|a| a.ty == AvpType::Grouped)
        .map(|a| (squash(a.name), a))
        .collect();
    let mut problems = Vec::new();
    let (mut checked, mut named) = (0, 0);
    for r in tsv("grouped.tsv") {
        let code: u32 = r["avp_code"].parse().unwrap();
        let vendor: u32 = r["avp_vendor"].parse().unwrap_or(0);
        let aliases = CLASS_ALIASES
            .iter()
            .find(|(c, _)| *c == r["container"])
            .map(|(_, a)| *a);
        if let Some(names) = aliases {
            let key = AvpKey::new(code, vendor);
            let ok = names.iter().all(|n| {
                by_squash
                    .get(&squash(n))
                    .is_some_and(|c| allows(c.grouped, key))
            });
            if !ok && !dev.contains(&(code, vendor, "member".into())) {
                problems.push(format!("{names:?} do not all allow member {code}/{vendor}"));
            }
            checked += 1;
            continue;
        }
        let Some(container) = by_squash.get(&squash(&r["container"])) else {
            // The container class has no Grouped AVP of that name here: excused only by a
            // member deviation.
            if !dev.contains(&(code, vendor, "member".into())) {
                problems.push(format!(
                    "container {} (member {code}/{vendor}) not found",
                    r["container"]
                ));
            }
            continue;
        };
        checked += 1;
        let key = AvpKey::new(code, vendor);
        if explicit(container.grouped, key) {
            named += 1;
        } else if !allows(container.grouped, key)
            && !dev.contains(&(code, vendor, "member".into()))
            && !dev.contains(&(container.code, container.vendor, "member".into()))
        {
            problems.push(format!(
                "{} does not allow member {code}/{vendor} ({})",
                container.name, r["attribute"]
            ));
        }
    }
    println!("grouped members checked: {checked}, named by our rules: {named}");
    assert!(
        problems.is_empty(),
        "{} undocumented differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn command_avps_are_allowed() {
    let dev = deviations();
    let mut problems = Vec::new();
    let (mut checked, mut named) = (0, 0);
    for r in tsv("commands.tsv") {
        let cmd_code: u32 = r["command_code"].parse().unwrap();
        let code: u32 = r["avp_code"].parse().unwrap();
        let vendor: u32 = r["avp_vendor"].parse().unwrap_or(0);
        let request = r["class"].ends_with("Request");
        let key = AvpKey::new(code, vendor);
        let defs: Vec<_> = dictionary::commands_by_code(cmd_code).collect();
        if defs.is_empty() {
            if !dev.contains(&(cmd_code, 0, "command-avp".into())) {
                problems.push(format!("command {} ({cmd_code}) not defined", r["class"]));
            }
            continue;
        }
        checked += 1;
        if defs.iter().any(|d| explicit(d.rules(request), key)) {
            named += 1;
        } else if !defs.iter().any(|d| allows(d.rules(request), key))
            && !dev.contains(&(code, vendor, "command-avp".into()))
            && !dev.contains(&(cmd_code, 0, "command-avp".into()))
        {
            problems.push(format!(
                "{} does not allow {code}/{vendor} ({})",
                r["class"], r["attribute"]
            ));
        }
    }
    println!("command AVPs checked: {checked}, named by our rules: {named}");
    assert!(
        problems.is_empty(),
        "{} undocumented differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
