//! Node configuration, built in code or read from TOML.
//!
//! ```toml
//! origin_host = "client.example.org"
//! origin_realm = "example.org"
//! listen = ["127.0.0.1:3868", "[::1]:3868"]
//! tls_listen = ["127.0.0.1"]                 # TLS at connection start; port 5658 if none
//! sctp_listen = ["10.0.0.1:3868", "10.0.1.1:3868"]   # feature sctp: one endpoint per port
//! accept_unknown_peers = ["*.example.org"]   # realm patterns (§5.3: else 3010)
//! metrics_listen = "127.0.0.1:9464"          # Prometheus GET /metrics (crate::metrics)
//!
//! [[peers]]
//! uri = "aaa://server.example.org:3868;transport=tcp"   # RFC 6733 §4.3.1 DiameterURI
//! addresses = ["127.0.0.1:3868"]                         # optional; else DNS
//!
//! [[peers]]
//! uri = "aaas://secure.example.org"   # aaas: TLS; port 5658; its certificate must name it
//!
//! [tls]                     # needed by tls_listen and aaas:// peers (see crate::tls)
//! certificate = "client.pem"          # chain, leaf first, DNS name = origin_host
//! private_key = "client.key"
//! ca = ["ca.pem"]
//! require_client_auth = true          # default: TLS clients must send a certificate
//!
//! [[applications]]          # advertised in CER/CEA (handlers add theirs)
//! id = 4
//! kind = "auth"
//!
//! [doic]                    # RFC 7683 overload control (crate::doic); off by default
//! enabled = true
//! overload_handlers = 800   # report overload while a connection runs this many handlers
//!
//! [timers]                  # "30s", "500ms", "2m" or a number of seconds
//! watchdog = "30s"
//! request_timeout = "10s"
//!
//! [limits]
//! max_message_size = 1048576
//! max_pending_requests = 65536
//! max_concurrent_handlers = 1024
//! max_node_handlers = 0          # 0: no node-wide bound
//! max_queued_requests = 1024
//! max_forwarded_requests = 65536 # relayed or proxied, unanswered, node-wide
//! stalled_after = "1s"           # routing avoids a peer whose requests wait this long
//! max_retained_peers = 1024      # counters of departed peers kept in /metrics by name
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use diameter_core::data::{UriTransport, parse_uri};
use serde::{Deserialize, Deserializer};

pub use crate::duplicate::DuplicateDetection;
use crate::duration::duration;
pub use crate::duration::parse_duration;
use crate::peer::PeerTimers;
use crate::peer::admission::RealmPattern;
use crate::peer::capabilities::{ApplicationKind, InbandSecurity, SupportedApplication};
use crate::routing::RouteSpec;
use crate::tls::{DEFAULT_TLS_PORT, TlsConfig, TlsError};

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML does not parse or does not fit the schema.
    #[cfg(feature = "toml")]
    #[error("invalid TOML configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// A peer URI is not a valid DiameterURI or names a transport we lack.
    #[error("invalid peer URI {uri:?}: {reason}")]
    PeerUri {
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// A required value is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// `tls_listen` or an `aaas://` peer without a `[tls]` section.
    #[error("{0} needs TLS credentials (the [tls] section)")]
    TlsMissing(String),
    /// `sctp_listen` or a `;transport=sctp` peer in a build without SCTP.
    #[error("{0} needs SCTP: diameter-node's `sctp` cargo feature, on Linux")]
    SctpNotBuilt(String),
    /// The TLS credentials cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// `metrics_listen` is set but diameter-node was built without its `metrics` feature.
    #[error("metrics_listen needs diameter-node's cargo feature `metrics`")]
    MetricsNotBuilt,
}

/// One configured peer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSpec {
    /// `aaa://host[:port][;transport=tcp|sctp]`: the host is the peer's DiameterIdentity
    /// (`sctp` needs the `sctp` feature);
    /// `aaas://` connects with TLS (default port 5658).
    pub uri: String,
    /// Addresses to connect to; when empty, the URI's host and port are resolved.
    #[serde(default)]
    pub addresses: Vec<SocketAddr>,
    /// Connect at start and reconnect after failures (§2.1); a non-persistent configured
    /// peer is only accepted when it connects.
    #[serde(default = "yes")]
    pub persistent: bool,
}

fn yes() -> bool {
    true
}

impl PeerSpec {
    /// A persistent peer from its URI.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            addresses: Vec::new(),
            persistent: true,
        }
    }

    /// Connects to `addr` instead of resolving the URI's host.
    pub fn address(mut self, addr: SocketAddr) -> Self {
        self.addresses.push(addr);
        self
    }

    /// Sets whether the peer is connected to and kept up.
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// The peer's DiameterIdentity and port, from the URI.
    pub fn identity(&self) -> Result<(String, u16), ConfigError> {
        let bad = |reason: String| ConfigError::PeerUri {
            uri: self.uri.clone(),
            reason,
        };
        let uri = parse_uri(&self.uri).map_err(|e| bad(e.to_string()))?;
        match uri.transport {
            Some(UriTransport::Udp) => {
                return Err(bad("transport=udp is not a Diameter transport".into()));
            }
            Some(UriTransport::Sctp) if uri.secure => {
                return Err(bad("aaas:// over SCTP (DTLS/SCTP) is not supported".into()));
            }
            Some(UriTransport::Sctp) if !cfg!(all(feature = "sctp", target_os = "linux")) => {
                return Err(ConfigError::SctpNotBuilt(format!("peer {}", self.uri)));
            }
            _ => {}
        }
        Ok((uri.host, uri.port))
    }

    /// Whether the URI says `;transport=sctp`: the peer is connected to over SCTP, all of
    /// [`Self::addresses`] in one multi-homed association (feature `sctp`).
    pub fn is_sctp(&self) -> bool {
        parse_uri(&self.uri).is_ok_and(|u| matches!(u.transport, Some(UriTransport::Sctp)))
    }

    /// Whether the URI is `aaas://`: connections to the peer use TLS from the start, and
    /// its own connections are accepted on TLS only.
    pub fn is_secure(&self) -> bool {
        parse_uri(&self.uri).is_ok_and(|u| u.secure)
    }
}

/// An application advertised in CER/CEA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSpec {
    /// Application-Id.
    pub id: u32,
    /// `"auth"` (default) or `"acct"`.
    #[serde(default)]
    pub kind: AppKindSpec,
    /// Vendor-Id for a vendor-specific application.
    #[serde(default)]
    pub vendor_id: Option<u32>,
}

/// `"auth"` or `"acct"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppKindSpec {
    /// Auth-Application-Id.
    #[default]
    Auth,
    /// Acct-Application-Id.
    Acct,
}

impl From<ApplicationSpec> for SupportedApplication {
    fn from(a: ApplicationSpec) -> Self {
        Self {
            id: a.id,
            kind: match a.kind {
                AppKindSpec::Auth => ApplicationKind::Auth,
                AppKindSpec::Acct => ApplicationKind::Acct,
            },
            vendor_id: a.vendor_id,
        }
    }
}

/// Timer values.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timers {
    /// RFC 3539 Tw (30 s).
    #[serde(deserialize_with = "duration")]
    pub watchdog: Duration,
    /// Jitter on Tw (± 2 s).
    #[serde(deserialize_with = "duration")]
    pub watchdog_jitter: Duration,
    /// Connection attempt timeout (10 s).
    #[serde(deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Wait for the CEA (10 s), and for the CER on an incoming connection (§5.6.1).
    #[serde(deserialize_with = "duration")]
    pub cea_timeout: Duration,
    /// Wait for DPA or disconnection in Closing (5 s).
    #[serde(deserialize_with = "duration")]
    pub dpa_timeout: Duration,
    /// First reconnection delay (1 s), doubled per failure.
    #[serde(deserialize_with = "duration")]
    pub reconnect_min: Duration,
    /// Largest reconnection delay, Tc (30 s).
    #[serde(deserialize_with = "duration")]
    pub reconnect_max: Duration,
    /// No reconnection after DPR BUSY / DO_NOT_WANT_TO_TALK_TO_YOU (300 s).
    #[serde(deserialize_with = "duration")]
    pub quiet_after_dpr: Duration,
    /// Default timeout of a request sent with [`crate::NodeHandle::send`] (30 s).
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// A message started but not finished within this time closes the connection
    /// (slow-sender protection, 10 s).
    #[serde(deserialize_with = "duration")]
    pub frame_timeout: Duration,
    /// Graceful shutdown: how long pending requests may drain before DPR (5 s).
    #[serde(deserialize_with = "duration")]
    pub drain_timeout: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        let p = PeerTimers::default();
        Self {
            watchdog: p.watchdog,
            watchdog_jitter: p.watchdog_jitter,
            connect_timeout: p.connect_timeout,
            cea_timeout: p.cea_timeout,
            dpa_timeout: p.dpa_timeout,
            reconnect_min: p.reconnect_min,
            reconnect_max: p.reconnect_max,
            quiet_after_dpr: p.quiet_after_dpr,
            request_timeout: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// The peer core's part.
    pub(crate) fn peer_timers(&self) -> PeerTimers {
        PeerTimers {
            watchdog: self.watchdog,
            watchdog_jitter: self.watchdog_jitter,
            connect_timeout: self.connect_timeout,
            cea_timeout: self.cea_timeout,
            dpa_timeout: self.dpa_timeout,
            reconnect_min: self.reconnect_min,
            reconnect_max: self.reconnect_max,
            quiet_after_dpr: self.quiet_after_dpr,
        }
    }
}

/// Resource limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest Message Length accepted (1 MiB); larger closes the connection after a 5015.
    pub max_message_size: u32,
    /// Requests waiting for answers per peer connection (65,536); beyond, `send` fails.
    pub max_pending_requests: usize,
    /// Requests of one connection handled at once (1,024); beyond, 3004 TOO_BUSY.
    pub max_concurrent_handlers: usize,
    /// Requests handled at once by the whole node, over every connection (0, the default:
    /// no such bound). Beyond, requests wait for their turn (python-diameter's
    /// `max_threads`), up to `max_queued_requests`.
    pub max_node_handlers: usize,
    /// Requests waiting for a handler under `max_node_handlers` (1,024); beyond, 3004.
    pub max_queued_requests: usize,
    /// Requests forwarded (relay, proxy) and waiting for their answer, node-wide (65,536);
    /// beyond, 3004. Each egress peer is bounded by `max_pending_requests` too; forwarded
    /// requests do not count against `max_concurrent_handlers`.
    pub max_forwarded_requests: usize,
    /// How long a peer may leave its pending requests without any answer coming back
    /// before routing stops choosing it while another peer of the route answers (1 s; any
    /// answer resets the wait; see [`crate::routing`]). Every selector applies it. A
    /// duration: `"1s"`, `"250ms"`, or a number of seconds.
    #[serde(deserialize_with = "duration")]
    pub stalled_after: Duration,
    /// Peers admitted by realm pattern whose counters are kept under their
    /// DiameterIdentity after they disconnect (1,024), in `/metrics` as in
    /// [`crate::NodeHandle::stats`]: a peer that reconnects continues its counters. Beyond,
    /// the counters of the one that left longest ago are added to the `peer="(other)"`
    /// series, so totals stay monotonic (peer names come from the wire: the series stay
    /// bounded).
    pub max_retained_peers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: diameter_core::DEFAULT_MAX_MESSAGE_SIZE,
            max_pending_requests: 65_536,
            max_concurrent_handlers: 1024,
            max_node_handlers: 0,
            max_queued_requests: 1024,
            max_forwarded_requests: 65_536,
            stalled_after: crate::routing::STALLED_AFTER,
            max_retained_peers: 1024,
        }
    }
}

/// OC-Report-Type of the overload reports this node sends (RFC 7683 §7.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoicReportType {
    /// HOST_REPORT: the node itself is overloaded (the default).
    #[default]
    Host,
    /// REALM_REPORT: the whole realm is (a node that speaks for its realm).
    Realm,
}

/// DOIC, RFC 7683 (`[doic]`): the loss algorithm as reacting and as reporting node.
///
/// ```toml
/// [doic]
/// enabled = true              # OC-Supported-Features in requests and answers, OC-OLR obeyed
/// report_type = "host"        # or "realm"
/// overload_handlers = 800     # report overload while a connection runs this many handlers
/// overload_reduction = 50     # OC-Reduction-Percentage of those reports
/// overload_validity = "30s"   # OC-Validity-Duration of those reports
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoicConfig {
    /// Requests sent carry OC-Supported-Features and OC-OLRs in their answers throttle
    /// later requests; answers to requests with OC-Supported-Features carry it and the
    /// node's overload reports. Off by default: it costs a walk over every request and
    /// answer and a copy to append the AVPs (about 5–10 % of a loopback round trip), so
    /// deployments that use DOIC turn it on.
    pub enabled: bool,
    /// OC-Report-Type of this node's reports.
    pub report_type: DoicReportType,
    /// Report overload automatically while a connection has this many handlers running
    /// in their own tasks (0, the default: only [`crate::NodeHandle::set_overload`]).
    /// Below `limits.max_concurrent_handlers`, so that peers slow down before 3004.
    pub overload_handlers: usize,
    /// OC-Reduction-Percentage of automatic reports (50).
    pub overload_reduction: u32,
    /// OC-Validity-Duration of automatic reports (30 s).
    #[serde(deserialize_with = "duration")]
    pub overload_validity: Duration,
}

impl Default for DoicConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            report_type: DoicReportType::Host,
            overload_handlers: 0,
            overload_reduction: 50,
            overload_validity: Duration::from_secs(30),
        }
    }
}

/// Everything a node needs besides its application handlers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Origin-Host (the node's DiameterIdentity).
    pub origin_host: String,
    /// Origin-Realm.
    pub origin_realm: String,
    /// Addresses to listen on (IPv4 and IPv6; none for a client-only node).
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    /// Addresses to listen on with SCTP (feature `sctp`, Linux; RFC 6733 §2.1): those
    /// that share a port form one multi-homed endpoint (`crate::sctp`).
    #[serde(default)]
    pub sctp_listen: Vec<SocketAddr>,
    /// Addresses to listen on with TLS at connection start (RFC 6733 §2.1; in TOML an
    /// address without a port gets 5658). Needs [`Self::tls`].
    #[serde(default, deserialize_with = "tls_addresses")]
    pub tls_listen: Vec<SocketAddr>,
    /// TLS credentials and trust, for `tls_listen` and `aaas://` peers.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Host-IP-Address values for CER/CEA; by default the listen addresses that are not
    /// wildcards, else 127.0.0.1.
    #[serde(default)]
    pub host_ip_addresses: Vec<IpAddr>,
    /// Vendor-Id.
    #[serde(default)]
    pub vendor_id: u32,
    /// Product-Name.
    #[serde(default = "product_name")]
    pub product_name: String,
    /// Firmware-Revision.
    #[serde(default)]
    pub firmware_revision: Option<u32>,
    /// Supported-Vendor-Id values.
    #[serde(default)]
    pub supported_vendor_ids: Vec<u32>,
    /// Applications advertised besides those with handlers (e.g. ones this node only
    /// sends requests for).
    #[serde(default)]
    pub applications: Vec<ApplicationSpec>,
    /// Advertise the Relay application (0xffffffff).
    #[serde(default)]
    pub relay: bool,
    /// Inband-Security-Id: `"none"` (default), `"offer"` or `"require"` TLS started after
    /// CER/CEA, for peers that still do RFC 3588's in-band TLS; uses `[tls]`.
    #[serde(default)]
    pub inband_security: InbandSecurity,
    /// Realm patterns (`*`, `*.example.org`, `example.org`) of peers accepted without
    /// being configured; others get 3010.
    #[serde(default)]
    pub accept_unknown_peers: Vec<String>,
    /// Configured peers.
    #[serde(default)]
    pub peers: Vec<PeerSpec>,
    /// Timers.
    #[serde(default)]
    pub timers: Timers,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// The routing table (RFC 6733 §2.7; see [`crate::routing`]). A node with routes, or
    /// with `relay`, routes the requests it receives instead of processing them all.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Requests answered 3006 are sent again to a Redirect-Host that is an open peer, and
    /// the redirect is cached as its Redirect-Host-Usage says (§6.13); on by default.
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// Duplicate detection of retransmitted requests (§6.1.2 recommendation); off unless
    /// configured (`[duplicate_detection]`, with `window` and `max_entries`).
    #[serde(default)]
    pub duplicate_detection: Option<DuplicateDetection>,
    /// Address of the HTTP listener serving Prometheus metrics on `GET /metrics` (see
    /// [`crate::metrics`]); none by default. Setting it also enables the message and
    /// latency metrics.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// DOIC overload control (RFC 7683, see [`crate::doic`]): `[doic]`.
    #[serde(default)]
    pub doic: DoicConfig,
}

fn product_name() -> String {
    "diameter-rs".into()
}

impl NodeConfig {
    /// A configuration with this identity and defaults for everything else.
    pub fn new(origin_host: impl Into<String>, origin_realm: impl Into<String>) -> Self {
        Self {
            origin_host: origin_host.into(),
            origin_realm: origin_realm.into(),
            listen: Vec::new(),
            sctp_listen: Vec::new(),
            tls_listen: Vec::new(),
            tls: None,
            host_ip_addresses: Vec::new(),
            vendor_id: 0,
            product_name: product_name(),
            firmware_revision: Some(1),
            supported_vendor_ids: Vec::new(),
            applications: Vec::new(),
            relay: false,
            inband_security: InbandSecurity::None,
            accept_unknown_peers: Vec::new(),
            peers: Vec::new(),
            timers: Timers::default(),
            limits: Limits::default(),
            routes: Vec::new(),
            follow_redirects: true,
            duplicate_detection: None,
            metrics_listen: None,
            doic: DoicConfig::default(),
        }
    }

    /// Reads a TOML configuration.
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let c: Self = toml::from_str(text)?;
        c.check()?;
        Ok(c)
    }

    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.origin_host.is_empty() {
            return Err(ConfigError::Empty("origin_host"));
        }
        if self.origin_realm.is_empty() {
            return Err(ConfigError::Empty("origin_realm"));
        }
        for p in &self.peers {
            p.identity()?;
            if p.is_secure() && self.tls.is_none() {
                return Err(ConfigError::TlsMissing(format!("peer {}", p.uri)));
            }
        }
        if !self.tls_listen.is_empty() && self.tls.is_none() {
            return Err(ConfigError::TlsMissing("tls_listen".into()));
        }
        if self.inband_security != InbandSecurity::None && self.tls.is_none() {
            return Err(ConfigError::TlsMissing("inband_security".into()));
        }
        if !self.sctp_listen.is_empty() && !cfg!(all(feature = "sctp", target_os = "linux")) {
            return Err(ConfigError::SctpNotBuilt("sctp_listen".into()));
        }
        Ok(())
    }

    /// Adds a listen address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen.push(addr);
        self
    }

    /// Adds an SCTP listen address (feature `sctp`); those with the same port make one
    /// multi-homed endpoint.
    pub fn sctp_listen(mut self, addr: SocketAddr) -> Self {
        self.sctp_listen.push(addr);
        self
    }

    /// Adds a TLS listen address.
    pub fn tls_listen(mut self, addr: SocketAddr) -> Self {
        self.tls_listen.push(addr);
        self
    }

    /// Sets the TLS credentials and trust.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Adds a peer.
    pub fn peer(mut self, peer: PeerSpec) -> Self {
        self.peers.push(peer);
        self
    }

    /// Advertises an application without registering a handler for it.
    pub fn application(mut self, app: SupportedApplication) -> Self {
        self.applications.push(ApplicationSpec {
            id: app.id,
            kind: match app.kind {
                ApplicationKind::Auth => AppKindSpec::Auth,
                ApplicationKind::Acct => AppKindSpec::Acct,
            },
            vendor_id: app.vendor_id,
        });
        self
    }

    /// Admits unknown peers whose Origin-Realm matches `pattern`.
    pub fn accept_unknown_peers(mut self, pattern: impl Into<String>) -> Self {
        self.accept_unknown_peers.push(pattern.into());
        self
    }

    /// Replaces the timers.
    pub fn timers(mut self, timers: Timers) -> Self {
        self.timers = timers;
        self
    }

    /// Adds a route (§2.7).
    pub fn route(mut self, route: RouteSpec) -> Self {
        self.routes.push(route);
        self
    }

    /// Advertises the Relay application, so that peers send any request (§2.4).
    pub fn relay(mut self, relay: bool) -> Self {
        self.relay = relay;
        self
    }

    /// Turns duplicate detection on.
    pub fn duplicate_detection(mut self, settings: DuplicateDetection) -> Self {
        self.duplicate_detection = Some(settings);
        self
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The realm patterns of [`Self::accept_unknown_peers`].
    pub(crate) fn realm_patterns(&self) -> Vec<RealmPattern> {
        self.accept_unknown_peers
            .iter()
            .map(RealmPattern::new)
            .collect()
    }
}

/// Reads socket addresses, or IP addresses that get [`DEFAULT_TLS_PORT`].
fn tls_addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|a| {
            a.parse::<SocketAddr>()
                .or_else(|_| {
                    let ip = a.trim_start_matches('[').trim_end_matches(']');
                    ip.parse::<IpAddr>()
                        .map(|ip| SocketAddr::new(ip, DEFAULT_TLS_PORT))
                })
                .map_err(|_| serde::de::Error::custom(format!("invalid address {a:?}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_agent_configuration_reads() {
        // The README's example of an agent's configuration stays valid.
        let readme = include_str!("../../README.md");
        let start = readme.find("```toml\n").expect("a TOML block") + 8;
        let end = start + readme[start..].find("```").expect("its end");
        let c = NodeConfig::from_toml(&readme[start..end]).unwrap();
        assert!(c.relay && c.doic.enabled);
        assert_eq!(c.routes.len(), 1);
        assert!(c.routes[0].retry_on_timeout);
        assert_eq!(c.tls_listen[0].port(), 5658);
        assert!(c.peers[1].is_secure());
    }

    #[test]
    fn reads_toml() {
        let c = NodeConfig::from_toml(
            r#"
            origin_host = "client.example.org"
            origin_realm = "example.org"
            listen = ["127.0.0.1:3868", "[::1]:3868"]
            accept_unknown_peers = ["*.example.org"]

            [[peers]]
            uri = "aaa://server.example.org:3869;transport=tcp"
            addresses = ["127.0.0.1:3869"]

            [[applications]]
            id = 4

            [[applications]]
            id = 3
            kind = "acct"

            [timers]
            watchdog = "6s"
            request_timeout = 2
            frame_timeout = "250ms"

            [limits]
            max_concurrent_handlers = 8
            stalled_after = "250ms"
            max_retained_peers = 16
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.len(), 2);
        assert_eq!(
            c.peers[0].identity().unwrap(),
            ("server.example.org".into(), 3869)
        );
        assert!(c.peers[0].persistent);
        assert_eq!(c.applications[1].kind, AppKindSpec::Acct);
        assert_eq!(c.timers.watchdog, Duration::from_secs(6));
        assert_eq!(c.timers.request_timeout, Duration::from_secs(2));
        assert_eq!(c.timers.frame_timeout, Duration::from_millis(250));
        assert_eq!(c.timers.dpa_timeout, Duration::from_secs(5));
        assert_eq!(c.limits.max_concurrent_handlers, 8);
        assert_eq!(c.limits.max_pending_requests, 65_536);
        assert_eq!(c.limits.stalled_after, Duration::from_millis(250));
        assert_eq!(Limits::default().stalled_after, Duration::from_secs(1));
        assert_eq!(c.limits.max_retained_peers, 16);
        assert_eq!(Limits::default().max_retained_peers, 1024);
    }

    #[test]
    fn reads_tls_toml() {
        let c = NodeConfig::from_toml(
            r#"
            origin_host = "a.example.org"
            origin_realm = "example.org"
            tls_listen = ["127.0.0.1", "[::1]", "[::1]:5659", "0.0.0.0:15658"]

            [[peers]]
            uri = "aaas://b.example.org"

            [[peers]]
            uri = "aaa://c.example.org"

            [tls]
            certificate = "certs/a.pem"
            private_key = "certs/a.key"
            ca = ["certs/ca.pem", "certs/ca2.pem"]
            "#,
        )
        .unwrap();
        let addrs: Vec<SocketAddr> = [
            "127.0.0.1:5658",
            "[::1]:5658",
            "[::1]:5659",
            "0.0.0.0:15658",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        assert_eq!(c.tls_listen, addrs);
        assert!(c.peers[0].is_secure());
        assert_eq!(
            c.peers[0].identity().unwrap(),
            ("b.example.org".into(), 5658)
        );
        assert!(!c.peers[1].is_secure());
        let tls = c.tls.unwrap();
        assert_eq!(
            tls.certificate,
            crate::tls::TlsSource::File("certs/a.pem".into())
        );
        assert_eq!(tls.ca.len(), 2);
        assert!(tls.require_client_auth, "mutual authentication by default");

        let optional = NodeConfig::from_toml(
            "origin_host = \"a\"\norigin_realm = \"r\"\n[tls]\ncertificate = \"c\"\n\
             private_key = \"k\"\nca = [\"ca\"]\nrequire_client_auth = false",
        )
        .unwrap();
        assert!(!optional.tls.unwrap().require_client_auth);
    }

    #[test]
    fn rejects_tls_without_credentials() {
        let base = "origin_host = \"a\"\norigin_realm = \"r\"\n";
        for bad in [
            // aaas:// or tls_listen without [tls]
            "[[peers]]\nuri = \"aaas://b.example.org\"",
            "tls_listen = [\"127.0.0.1\"]",
            // not an address
            "tls_listen = [\"localhost\"]",
            // [tls] incomplete, or with an unknown key
            "[tls]\ncertificate = \"c\"\nca = [\"ca\"]",
            "[tls]\ncertificate = \"c\"\nprivate_key = \"k\"\nca = []\nverify = false",
        ] {
            let r = NodeConfig::from_toml(&format!("{base}{bad}"));
            assert!(r.is_err(), "{bad}: {r:?}");
        }
        let e = NodeConfig::from_toml(&format!("{base}tls_listen = [\"127.0.0.1\"]")).unwrap_err();
        assert!(matches!(e, ConfigError::TlsMissing(_)), "{e}");
    }

    #[test]
    fn rejects_bad_values() {
        assert!(NodeConfig::from_toml("origin_host = \"a\"").is_err());
        let peer = |uri: &str| {
            NodeConfig::from_toml(&format!(
                "origin_host = \"a\"\norigin_realm = \"r\"\n[[peers]]\nuri = \"{uri}\""
            ))
        };
        assert!(peer("aaa://x;transport=udp").is_err());
        // SCTP with the `sctp` feature only (tests/sctp.rs has the rest).
        assert_eq!(
            peer("aaa://x;transport=sctp").is_ok(),
            cfg!(all(feature = "sctp", target_os = "linux"))
        );
        let sctp_listen =
            "origin_host = \"a\"\norigin_realm = \"r\"\nsctp_listen = [\"127.0.0.1:0\"]";
        assert_eq!(
            NodeConfig::from_toml(sctp_listen).is_ok(),
            cfg!(all(feature = "sctp", target_os = "linux"))
        );
        assert!(
            NodeConfig::from_toml("origin_host = \"a\"\norigin_realm = \"r\"\nbogus = 1").is_err()
        );
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10"), None);
    }
}
