//! `--command`, `--application`, `--session-id`: which decoded messages are shown (and
//! counted by `--summary`). Options of different kinds must all match; repeated options of
//! one kind, any of them.

use anyhow::{Result, bail};
use diameter_core::Message;
use diameter_core::dictionary;

use crate::dict::command_names;

/// Session-Id (RFC 6733 §8.8).
const SESSION_ID: u32 = 263;

/// A command to keep: its code, and the direction when the name says one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Command {
    code: u32,
    /// `Some(true)`: requests only (`CCR`, `Credit-Control-Request`).
    request: Option<bool>,
}

/// The filters of one run.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    commands: Vec<Command>,
    applications: Vec<u32>,
    sessions: Vec<String>,
}

impl Filter {
    /// Resolves command and application names against the dictionaries.
    pub(crate) fn new(
        commands: &[String],
        applications: &[String],
        sessions: &[String],
    ) -> Result<Self> {
        let mut f = Self {
            sessions: sessions.to_vec(),
            ..Self::default()
        };
        for c in commands {
            f.commands.extend(command(c)?);
        }
        for a in applications {
            f.applications.push(application(a)?);
        }
        Ok(f)
    }

    /// Whether `msg` is shown.
    pub(crate) fn keeps(&self, msg: &Message) -> bool {
        let h = msg.header();
        let request = h.flags.is_request();
        let command_ok = self.commands.is_empty()
            || self
                .commands
                .iter()
                .any(|c| c.code == h.code && c.request.is_none_or(|r| r == request));
        let app_ok = self.applications.is_empty() || self.applications.contains(&h.application_id);
        command_ok && app_ok && (self.sessions.is_empty() || self.session_ok(msg))
    }

    fn session_ok(&self, msg: &Message) -> bool {
        let Some(Ok(avp)) = msg.avps().find(|a| {
            a.as_ref()
                .is_ok_and(|a| a.code == SESSION_ID && a.vendor == 0)
        }) else {
            return false;
        };
        self.sessions.iter().any(|s| s.as_bytes() == avp.data)
    }
}

/// A command by code, name (`Credit-Control`, `Credit-Control-Request`) or abbreviation
/// (`CCR`, `CCA`), case-insensitive.
fn command(q: &str) -> Result<Vec<Command>> {
    if let Ok(code) = q.parse::<u32>() {
        return Ok(vec![Command {
            code,
            request: None,
        }]);
    }
    let mut found = Vec::new();
    for m in dictionary::modules() {
        for c in m.commands {
            let names = command_names(c);
            // command_names: name, name-Request, name-Answer, then xxR, xxA.
            let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(q)) else {
                continue;
            };
            let request = match i {
                0 => None,
                1 | 3 => Some(true),
                _ => Some(false),
            };
            let cmd = Command {
                code: c.code,
                request,
            };
            if !found.contains(&cmd) {
                found.push(cmd);
            }
        }
    }
    if found.is_empty() {
        bail!("--command {q}: no such command in the compiled-in dictionaries");
    }
    Ok(found)
}

/// An application by id or name, case-insensitive.
fn application(q: &str) -> Result<u32> {
    if let Ok(id) = q.parse::<u32>() {
        return Ok(id);
    }
    dictionary::modules()
        .flat_map(|m| m.applications.iter())
        .find(|a| a.name.eq_ignore_ascii_case(q))
        .map(|a| a.id)
        .ok_or_else(|| anyhow::anyhow!("--application {q}: no such application"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_directions() {
        assert_eq!(
            command("CCR").unwrap(),
            [Command {
                code: 272,
                request: Some(true)
            }]
        );
        assert_eq!(command("credit-control").unwrap()[0].request, None);
        assert_eq!(
            command("Credit-Control-Answer").unwrap()[0].request,
            Some(false)
        );
        assert_eq!(command("316").unwrap()[0].code, 316);
        assert!(command("No-Such-Thing").is_err());
        assert!(application("nope").is_err());
        assert_eq!(application("4").unwrap(), 4);
    }
}
