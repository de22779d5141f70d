//! Durations in the configuration: a number of seconds, or text such as `"30s"`,
//! `"250ms"`, `"2m"`, `"1h"`. A leaf: every configuration type reads its durations here.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Reads `"30s"`, `"250ms"`, `"2m"`, `"1h"` or a number of seconds.
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Float(f64),
        Text(String),
    }
    let bad = |s: &str| serde::de::Error::custom(format!("invalid duration {s:?}"));
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Float(f) => Duration::try_from_secs_f64(f).map_err(|_| bad(&f.to_string())),
        Raw::Text(t) => parse_duration(&t).ok_or_else(|| bad(&t)),
    }
}

/// Parses `"30s"`, `"250ms"`, `"2m"`, `"1h"`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}
