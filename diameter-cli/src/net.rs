//! What the network subcommands (`serve`, `send`, `bench`, `demo`) share: the tokio
//! runtime, applications as the dictionaries describe them, peer addresses, node
//! configuration from a file plus flags, and a log line format.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use diameter_core::dictionary::{self, ApplicationKind};
use diameter_node::NodeConfig;
use diameter_node::peer::SupportedApplication;

/// 3GPP's SMI Private Enterprise Code: its applications are advertised inside
/// Vendor-Specific-Application-Id.
const VENDOR_3GPP: u32 = 10415;
/// The Relay application (RFC 6733 §2.4): never served as such.
const RELAY: u32 = 0xffff_ffff;

/// A tokio runtime for one subcommand (two workers: the machines this runs on are small,
/// and one node rarely needs more).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

/// How an application is advertised in CER/CEA: Auth or Acct per the dictionary (Auth when
/// unknown), inside Vendor-Specific-Application-Id for 3GPP's.
pub(crate) fn supported_application(id: u32) -> SupportedApplication {
    use diameter_node::peer::capabilities::ApplicationKind as Kind;
    let def = dictionary::application(id);
    let kind = match def.map(|d| d.kind) {
        Some(ApplicationKind::Acct) => Kind::Acct,
        _ => Kind::Auth,
    };
    let vendor_id = def
        .filter(|d| d.id >= 16_777_216 && d.spec.starts_with("3GPP"))
        .map(|_| VENDOR_3GPP);
    SupportedApplication {
        id,
        kind,
        vendor_id,
    }
}

/// Every application that has commands in the compiled-in dictionaries (the common
/// messages of application 0 and Relay excluded), sorted.
pub(crate) fn applications_with_commands() -> Vec<u32> {
    let mut ids: Vec<u32> = dictionary::modules()
        .flat_map(|m| m.commands.iter())
        .map(|c| c.application)
        .filter(|&id| id != 0 && id != RELAY)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The application's name for messages, e.g. `4 (Diameter Credit Control)`.
pub(crate) fn application_label(id: u32) -> String {
    match dictionary::application(id) {
        Some(a) => format!("{id} ({})", a.name),
        None => id.to_string(),
    }
}

/// Resolves `HOST:PORT` (names, IPv4, `[IPv6]:port`).
pub(crate) fn resolve(peer: &str) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = peer
        .to_socket_addrs()
        .with_context(|| format!("peer {peer:?}: expected HOST:PORT"))?
        .collect();
    if addrs.is_empty() {
        bail!("peer {peer:?} resolves to no address");
    }
    Ok(addrs)
}

/// The host part of `HOST:PORT` (brackets of an IPv6 literal removed).
pub(crate) fn host_part(peer: &str) -> &str {
    let host = peer.rsplit_once(':').map_or(peer, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// A DiameterURI for a peer at `addr` whose identity is `host`.
pub(crate) fn peer_uri(host: &str, addr: SocketAddr) -> String {
    format!("aaa://{host}:{};transport=tcp", addr.port())
}

/// The node configuration: the TOML file if given, else defaults; `origin_host` and
/// `origin_realm` (flags) override the file. Without either, `fallback` is used.
pub(crate) fn node_config(
    file: Option<&Path>,
    origin_host: Option<&str>,
    origin_realm: Option<&str>,
    fallback: Option<(&str, &str)>,
) -> Result<NodeConfig> {
    let mut config = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            NodeConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => {
            let (h, r) = match (origin_host, origin_realm, fallback) {
                (Some(h), Some(r), _) => (h, r),
                (h, r, Some((fh, fr))) => (h.unwrap_or(fh), r.unwrap_or(fr)),
                (None, _, None) => bail!("--origin-host is required (or --config FILE)"),
                (_, None, None) => bail!("--origin-realm is required (or --config FILE)"),
            };
            NodeConfig::new(h, r)
        }
    };
    if let Some(h) = origin_host {
        config.origin_host = h.to_owned();
    }
    if let Some(r) = origin_realm {
        config.origin_realm = r.to_owned();
    }
    Ok(config)
}

/// `HH:MM:SS.mmm` (UTC) for log lines.
pub(crate) fn clock() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    )
}

/// Parses seconds given as `5`, `0.5` or `250ms`/`2s`/`1m`.
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.trim().parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|e| e.to_string());
    }
    diameter_node::config::parse_duration(text)
        .ok_or_else(|| format!("invalid duration {text:?} (seconds, or e.g. 500ms, 2s, 1m)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_come_from_the_dictionaries() {
        let apps = applications_with_commands();
        assert!(apps.contains(&3) && apps.contains(&4) && apps.contains(&16_777_238));
        assert!(!apps.contains(&0));
        assert_eq!(
            supported_application(3).kind,
            diameter_node::peer::capabilities::ApplicationKind::Acct
        );
        assert_eq!(supported_application(4).vendor_id, None);
        assert_eq!(supported_application(16_777_238).vendor_id, Some(10415));
    }

    #[test]
    fn peers_and_durations() {
        assert_eq!(host_part("127.0.0.1:3868"), "127.0.0.1");
        assert_eq!(host_part("[::1]:3868"), "::1");
        assert_eq!(host_part("aaa.example:3868"), "aaa.example");
        assert_eq!(
            resolve("127.0.0.1:3868").unwrap(),
            vec!["127.0.0.1:3868".parse().unwrap()]
        );
        assert!(resolve("nonsense").is_err());
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_seconds("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("x").is_err());
    }
}
