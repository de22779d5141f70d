//! The check every scenario ends with: its capture, dissected by tshark, holds the expected
//! messages, every request answered once, nothing else, and no message is malformed or
//! carries an expert error (an expert warning too, when ours).

use std::collections::BTreeMap;

use crate::scenario_ok;
use crate::tshark::{DissectedMessage, Dissection};

/// How many messages of a kind (a short name: `CER`, `CCA`, `Test-Request`) a scenario
/// expects, and from whom.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// Exactly this many, sent by us.
    Ours(usize),
    /// At least this many, sent by us.
    OursAtLeast(usize),
    /// Exactly this many, sent by the peer.
    Theirs(usize),
    /// At least this many, sent by the peer.
    TheirsAtLeast(usize),
}

/// The answer's short name of a request's: `CER` → `CEA`, `Test-Request` → `Test-Answer`.
fn answer_name(request: &str) -> Option<String> {
    if let Some(base) = request.strip_suffix("-Request") {
        return Some(format!("{base}-Answer"));
    }
    if let Some(base) = request.strip_suffix(" request") {
        return Some(format!("{base} answer"));
    }
    let base = request.strip_suffix('R')?;
    Some(format!("{base}A"))
}

fn count(h: &BTreeMap<String, usize>, k: &str) -> usize {
    h.get(k).copied().unwrap_or(0)
}

/// Checks the dissection `d` of `scenario`: the messages `expected` (and nothing else),
/// every request answered once, and [`Dissection::verdict`] clean: no malformed frame and no
/// expert error on any message, no expert warning on ours (`ours(src_port, dst_port)`);
/// warnings on the peer's messages are printed as notes. Panics with the listing when
/// something is wrong; prints one line per exchange and one for the scenario otherwise.
pub fn check_dissection(
    scenario: &str,
    d: &Dissection,
    ours: impl Fn(u16, u16) -> bool,
    expected: &[(&str, Expect)],
) {
    let ours_msg = |m: &DissectedMessage| ours(m.src_port, m.dst_port);
    let mine = d.histogram(ours_msg);
    let theirs = d.histogram(|m| !ours_msg(m));
    let mut errors = Vec::new();
    for (name, expect) in expected {
        let (side, n) = match expect {
            Expect::Ours(_) | Expect::OursAtLeast(_) => ("ours", count(&mine, name)),
            Expect::Theirs(_) | Expect::TheirsAtLeast(_) => ("theirs", count(&theirs, name)),
        };
        let ok = match expect {
            Expect::Ours(e) | Expect::Theirs(e) => n == *e,
            Expect::OursAtLeast(e) | Expect::TheirsAtLeast(e) => n >= *e,
        };
        if !ok {
            errors.push(format!("{name} from {side}: {n}, expected {expect:?}"));
        }
    }
    // Every request answered once, whoever sent it, in the order of `expected`.
    let mut exchanges: Vec<(String, String)> = Vec::new();
    for name in expected
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(mine.keys().cloned())
        .chain(theirs.keys().cloned())
    {
        if let Some(ans) = answer_name(&name) {
            if !exchanges.iter().any(|(r, _)| *r == name) {
                exchanges.push((name, ans));
            }
        }
    }
    for (req, ans) in &exchanges {
        if count(&mine, req) != count(&theirs, ans) || count(&theirs, req) != count(&mine, ans) {
            errors.push(format!(
                "{req}/{ans} do not pair up: ours {mine:?}, theirs {theirs:?}"
            ));
        }
    }
    // Nothing else on the wire.
    for name in mine.keys().chain(theirs.keys()) {
        if !expected.iter().any(|(n, _)| n == name) {
            errors.push(format!("unexpected {name}"));
        }
    }
    let verdict = d.verdict(&ours);
    for note in &verdict.notes {
        // Not ours to fix, but worth seeing.
        println!("interop: note: {scenario}: tshark on the peer's message: {note}");
    }
    for note in &verdict.transport {
        println!("interop: note: {scenario}: {note}");
    }
    if !verdict.is_clean() {
        errors.push(format!(
            "tshark found problems:\n  {}",
            verdict.failures.join("\n  ")
        ));
    }
    assert!(
        errors.is_empty(),
        "{scenario}: {}\n{}",
        errors.join("\n"),
        d.listing()
    );
    // One line per exchange, then the total.
    for (req, ans) in &exchanges {
        let n = count(&mine, req) + count(&theirs, req) + count(&mine, ans) + count(&theirs, ans);
        if n == 0 {
            continue;
        }
        let side = |h: &BTreeMap<String, usize>| {
            let s = [req, ans]
                .iter()
                .filter(|k| count(h, k) > 0)
                .map(|k| format!("{} {k}", count(h, k)))
                .collect::<Vec<_>>()
                .join(", ");
            if s.is_empty() { "none".to_string() } else { s }
        };
        scenario_ok(
            &format!("{scenario} {req}/{ans} dissected"),
            &format!("ours: {}; theirs: {}; clean", side(&mine), side(&theirs)),
        );
    }
    let warnings = verdict.notes.len();
    scenario_ok(
        scenario,
        &format!(
            "{} Diameter messages dissected ({} ours), none malformed, no expert error, \
             no expert warning on ours{}",
            d.messages.len(),
            mine.values().sum::<usize>(),
            if warnings == 0 {
                String::new()
            } else {
                format!(", {warnings} expert warning(s) on theirs (notes above)")
            }
        ),
    );
}
