//! Request routing (RFC 6733 §2.7, §6.1): the realm-based routing table and the choice of
//! a peer among those a route names.
//!
//! A route is the §2.7 table entry: Realm-Name (or `*`, the default route), an optional
//! Application-Id, the Local-Action (LOCAL, RELAY, PROXY, REDIRECT) and the Server
//! Identifiers, here the DiameterIdentities of peers with an optional weight. The table is
//! fixed when the node starts; lookups take no lock and allocate nothing.
//!
//! ```toml
//! [[routes]]
//! realm = "servers.example.net"
//! application = 4                      # omitted: every application
//! action = "relay"                     # local | relay | proxy | redirect
//! selector = "least_pending"           # round_robin (default) | least_pending | weighted
//! peers = ["s1.servers.example.net", { host = "s2.servers.example.net", weight = 3 }]
//! retry_on_timeout = true              # unanswered in time: once more to another peer
//!
//! [[routes]]
//! realm = "*"                          # the default route
//! action = "redirect"
//! peers = ["dra.example.net"]
//! redirect_usage = "all_realm"         # Redirect-Host-Usage (§6.13)
//! redirect_cache_time = "10m"          # Redirect-Max-Cache-Time
//! ```
//!
//! Which peer of a route gets a request is decided by a [`PeerSelector`]: round robin,
//! least pending requests or weighted round robin, or one of the user's
//! ([`crate::NodeBuilder::selector`]). Candidates are the route's peers that are open, not
//! SUSPECT and share the request's application (§6.1.4), minus those the request already
//! failed on; and, whatever the selector, minus those that stall (requests pending with no
//! answer for `limits.stalled_after`, 1 s by default) or are at their pending limit, unless
//! every one does (`prefer_healthy`): a frozen backend would otherwise get its share of the
//! traffic from round robin and weighted selectors until its requests time out.
//!
//! ```toml
//! [limits]
//! stalled_after = "500ms"              # a peer silent this long is avoided (default 1 s)
//! ```
//!
//! A relay or proxy route with `retry_on_timeout = true` (off by default) gives a forwarded
//! request whose answer does not come within `timers.request_timeout` one more chance: it
//! goes to another eligible peer of the route (neither the one that timed out nor the one
//! it came from) with the T flag and the same End-to-End Identifier, as after a failover
//! (§5.5.4), and again `request_timeout` for its answer. The peer it came from still gets
//! exactly one answer: the second peer's, else (no other peer, or a second timeout) this
//! node's 3002 DIAMETER_UNABLE_TO_DELIVER with an Error-Message; a late answer from the
//! first peer matches nothing and is dropped. Its client may thus wait up to twice the
//! request timeout. Counted per peer in `timeout_retries` (of the peer that timed out).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diameter_core::{Message, ResultCode};
use serde::{Deserialize, Deserializer};

/// What a route does with the requests it matches (§2.7 Local-Action).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteAction {
    /// Processed by this node's applications.
    Local,
    /// Forwarded unchanged to one of the route's peers (§2.8.1), Route-Record added.
    Relay,
    /// Forwarded to one of the route's peers after the proxy hook has seen it (§2.8.2).
    Proxy,
    /// Answered 3006 DIAMETER_REDIRECT_INDICATION naming the route's peers (§2.8.3).
    Redirect,
}

/// How a route picks one of its peers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectorKind {
    /// Each eligible peer in turn.
    #[default]
    RoundRobin,
    /// The eligible peer with the fewest requests waiting for an answer.
    LeastPending,
    /// Round robin in proportion to the peers' weights.
    Weighted,
    /// The selector given to [`crate::NodeBuilder::selector`].
    Custom,
}

/// One peer named by a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePeer {
    /// Its DiameterIdentity.
    pub host: String,
    /// Its share with [`SelectorKind::Weighted`] (1 by default).
    pub weight: u32,
}

impl<'de> Deserialize<'de> for RoutePeer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Host(String),
            Weighted { host: String, weight: u32 },
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Host(host) => Self { host, weight: 1 },
            Raw::Weighted { host, weight } => Self { host, weight },
        })
    }
}

/// Redirect-Host-Usage (§6.13): which later requests a redirect applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectUsage {
    /// Only this request (0).
    #[default]
    DontCache,
    /// Requests of the same Session-Id (1).
    AllSession,
    /// Requests for the same Destination-Realm (2).
    AllRealm,
    /// Requests for the same Destination-Realm and Application-Id (3).
    RealmAndApplication,
    /// Requests of the same Application-Id (4).
    AllApplication,
    /// Requests for the same Destination-Host (5).
    AllHost,
    /// Requests of the same User-Name (6).
    AllUser,
}

impl RedirectUsage {
    /// The Enumerated value.
    pub fn value(self) -> i32 {
        self as i32
    }

    /// From the Enumerated value (`None` for values the RFC does not define).
    pub fn from_value(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::DontCache,
            1 => Self::AllSession,
            2 => Self::AllRealm,
            3 => Self::RealmAndApplication,
            4 => Self::AllApplication,
            5 => Self::AllHost,
            6 => Self::AllUser,
            _ => return None,
        })
    }
}

/// One routing table entry as configured.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Realm-Name, case-insensitive; `*` is the default route.
    pub realm: String,
    /// Application-Id; `None` matches every application.
    #[serde(default)]
    pub application: Option<u32>,
    /// Local-Action.
    pub action: RouteAction,
    /// The peers requests are forwarded to (relay, proxy) or redirected to (redirect).
    #[serde(default)]
    pub peers: Vec<RoutePeer>,
    /// How one of `peers` is picked.
    #[serde(default)]
    pub selector: SelectorKind,
    /// Redirect-Host-Usage of the 3006 answers of a redirect route.
    #[serde(default)]
    pub redirect_usage: RedirectUsage,
    /// Redirect-Max-Cache-Time of the 3006 answers of a redirect route (1 h).
    #[serde(
        default = "default_cache_time",
        deserialize_with = "crate::duration::duration"
    )]
    pub redirect_cache_time: Duration,
    /// A relay or proxy route: a forwarded request unanswered within the request timeout is
    /// sent once more to another eligible peer (T flag, same End-to-End Identifier) before
    /// the node answers 3002 (off by default; see the module documentation).
    #[serde(default)]
    pub retry_on_timeout: bool,
}

fn default_cache_time() -> Duration {
    Duration::from_secs(3600)
}

impl RouteSpec {
    /// A route for `realm` (`*`: the default route) with this action and no peers yet.
    pub fn new(realm: impl Into<String>, action: RouteAction) -> Self {
        Self {
            realm: realm.into(),
            application: None,
            action,
            peers: Vec::new(),
            selector: SelectorKind::RoundRobin,
            redirect_usage: RedirectUsage::DontCache,
            redirect_cache_time: default_cache_time(),
            retry_on_timeout: false,
        }
    }

    /// Restricts the route to one application.
    pub fn application(mut self, id: u32) -> Self {
        self.application = Some(id);
        self
    }

    /// Adds a peer with weight 1.
    pub fn peer(self, host: impl Into<String>) -> Self {
        self.weighted_peer(host, 1)
    }

    /// Adds a peer with a weight (for [`SelectorKind::Weighted`]).
    pub fn weighted_peer(mut self, host: impl Into<String>, weight: u32) -> Self {
        self.peers.push(RoutePeer {
            host: host.into(),
            weight,
        });
        self
    }

    /// Sets the selector.
    pub fn selector(mut self, selector: SelectorKind) -> Self {
        self.selector = selector;
        self
    }

    /// Sends a forwarded request that times out once more to another of the route's
    /// peers (relay and proxy routes).
    pub fn retry_on_timeout(mut self, retry: bool) -> Self {
        self.retry_on_timeout = retry;
        self
    }

    /// Sets Redirect-Host-Usage and Redirect-Max-Cache-Time of a redirect route.
    pub fn redirect(mut self, usage: RedirectUsage, cache_time: Duration) -> Self {
        self.redirect_usage = usage;
        self.redirect_cache_time = cache_time;
        self
    }
}

/// The default of `limits.stalled_after`: how long a peer may keep requests pending with
/// no answer coming back before routing avoids it (while another peer of the route
/// answers). Any answer resets the wait.
pub(crate) const STALLED_AFTER: Duration = Duration::from_secs(1);

/// Whether a peer whose requests wait without an answer since `waiting_since` stalls, for
/// the threshold `stalled_after` (`limits.stalled_after`).
pub(crate) fn is_stalled(
    waiting_since: Option<Instant>,
    now: Instant,
    stalled_after: Duration,
) -> bool {
    waiting_since.is_some_and(|t| now.saturating_duration_since(t) >= stalled_after)
}

/// The candidates that are not `sick` (stalled, at their pending limit); all of them when
/// every one is (better a slow peer than 3002 for everything).
pub(crate) fn prefer_healthy<T>(candidates: impl Iterator<Item = (T, bool)>) -> Vec<T> {
    let all: Vec<(T, bool)> = candidates.collect();
    let every_sick = all.iter().all(|(_, sick)| *sick);
    all.into_iter()
        .filter(|(_, sick)| every_sick || !sick)
        .map(|(c, _)| c)
        .collect()
}

/// A peer a request could go to, as a [`PeerSelector`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Its DiameterIdentity (lower case).
    pub host: &'a str,
    /// Requests sent to it and not answered yet.
    pub pending: usize,
    /// Its weight in the route (1 for peers picked without a route).
    pub weight: u32,
}

/// Picks the peer a request goes to, among eligible candidates (never empty).
pub trait PeerSelector: Send + Sync + 'static {
    /// The index of the chosen candidate; `None` (or an index out of range) gives the
    /// request 3002 DIAMETER_UNABLE_TO_DELIVER.
    fn select(&self, candidates: &[Candidate<'_>]) -> Option<usize>;
}

/// Each candidate in turn.
#[derive(Debug, Default)]
pub struct RoundRobin(AtomicUsize);

impl PeerSelector for RoundRobin {
    fn select(&self, c: &[Candidate<'_>]) -> Option<usize> {
        Some(self.0.fetch_add(1, Ordering::Relaxed) % c.len())
    }
}

/// The candidate with the fewest pending requests; ties are broken in turn, so equally
/// loaded peers share the traffic.
#[derive(Debug, Default)]
pub struct LeastPending(AtomicUsize);

impl PeerSelector for LeastPending {
    fn select(&self, c: &[Candidate<'_>]) -> Option<usize> {
        let start = self.0.fetch_add(1, Ordering::Relaxed) % c.len();
        (0..c.len())
            .map(|i| (start + i) % c.len())
            .min_by_key(|&i| c[i].pending)
    }
}

/// Round robin in proportion to the weights: out of every `sum(weights)` requests, each
/// candidate gets its weight's worth (candidates with weight 0 only when all are 0).
#[derive(Debug, Default)]
pub struct Weighted(AtomicUsize);

impl PeerSelector for Weighted {
    fn select(&self, c: &[Candidate<'_>]) -> Option<usize> {
        let total: u64 = c.iter().map(|c| u64::from(c.weight)).sum();
        let n = self.0.fetch_add(1, Ordering::Relaxed) as u64;
        if total == 0 {
            return Some((n % c.len() as u64) as usize);
        }
        let mut ticket = n % total;
        for (i, cand) in c.iter().enumerate() {
            let w = u64::from(cand.weight);
            if ticket < w {
                return Some(i);
            }
            ticket -= w;
        }
        None
    }
}

/// A route of the running node: the spec with its realm in lower case and its selector.
pub(crate) struct Route {
    pub(crate) spec: RouteSpec,
    realm: Option<String>,
    hosts: Vec<String>,
    pub(crate) selector: Box<dyn PeerSelector>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route").field("spec", &self.spec).finish()
    }
}

impl Route {
    /// The DiameterIdentities of the route's peers, lower case, in order.
    pub(crate) fn hosts(&self) -> impl Iterator<Item = (&str, u32)> {
        self.hosts
            .iter()
            .zip(&self.spec.peers)
            .map(|(h, p)| (h.as_str(), p.weight))
    }
}

/// The routing table of a running node.
#[derive(Debug, Default)]
pub(crate) struct RoutingTable {
    routes: Vec<Route>,
}

impl RoutingTable {
    /// Builds the table; `custom` is the selector of routes with [`SelectorKind::Custom`]
    /// (round robin when none was given).
    pub(crate) fn new(
        specs: &[RouteSpec],
        custom: Option<&std::sync::Arc<dyn PeerSelector>>,
    ) -> Self {
        let routes = specs
            .iter()
            .map(|spec| Route {
                realm: (spec.realm != "*").then(|| spec.realm.to_ascii_lowercase()),
                hosts: spec
                    .peers
                    .iter()
                    .map(|p| p.host.to_ascii_lowercase())
                    .collect(),
                selector: match (spec.selector, custom) {
                    (SelectorKind::LeastPending, _) => Box::new(LeastPending::default()),
                    (SelectorKind::Weighted, _) => Box::new(Weighted::default()),
                    (SelectorKind::Custom, Some(c)) => Box::new(Shared(c.clone())),
                    _ => Box::new(RoundRobin::default()),
                },
                spec: spec.clone(),
            })
            .collect();
        Self { routes }
    }

    /// Whether there is no route at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The most specific route for a Destination-Realm and Application-Id: the realm's
    /// own route for the application, then its route for every application, then the
    /// default route's, in that order.
    pub(crate) fn lookup(&self, realm: Option<&[u8]>, application_id: u32) -> Option<&Route> {
        let realm_matches = |r: &Route| match (&r.realm, realm) {
            (Some(want), Some(got)) => want.as_bytes().eq_ignore_ascii_case(got),
            _ => false,
        };
        let app_matches = |r: &Route, exact: bool| match r.spec.application {
            Some(a) => a == application_id,
            None => !exact,
        };
        let pass = |specific_realm: bool, exact_app: bool| {
            self.routes.iter().find(|r| {
                (if specific_realm {
                    realm_matches(r)
                } else {
                    r.realm.is_none()
                }) && app_matches(r, exact_app)
            })
        };
        pass(true, true)
            .or_else(|| pass(true, false))
            .or_else(|| pass(false, true))
            .or_else(|| pass(false, false))
    }
}

/// A user's selector shared by several routes.
struct Shared(std::sync::Arc<dyn PeerSelector>);

impl PeerSelector for Shared {
    fn select(&self, c: &[Candidate<'_>]) -> Option<usize> {
        self.0.select(c)
    }
}

/// Looks at and may change what a proxy route forwards (§2.8.2): policy enforcement,
/// AVP rewriting, topology hiding. Both methods keep the message as it is by default.
pub trait ProxyHook: Send + Sync + 'static {
    /// A request about to be forwarded: the request to forward instead, or the
    /// Result-Code to answer it with (e.g. 5003 DIAMETER_AUTHORIZATION_REJECTED).
    fn request(&self, request: Message) -> Result<Message, ResultCode> {
        Ok(request)
    }

    /// An answer about to go back to the peer the request came from.
    fn answer(&self, answer: Message) -> Message {
        answer
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stalled_and_full_peers_are_avoided_unless_all_are() {
        let t0 = Instant::now();
        assert!(!is_stalled(None, t0, STALLED_AFTER));
        assert!(!is_stalled(Some(t0), t0 + STALLED_AFTER / 2, STALLED_AFTER));
        assert!(is_stalled(Some(t0), t0 + STALLED_AFTER, STALLED_AFTER));
        let picked = prefer_healthy([("a", true), ("b", false), ("c", false)].into_iter());
        assert_eq!(picked, ["b", "c"]);
        let picked = prefer_healthy([("a", true), ("b", true)].into_iter());
        assert_eq!(picked, ["a", "b"], "every peer sick: all stay candidates");
    }

    use super::*;

    /// `limits.stalled_after` is what decides: a peer silent for 300 ms is avoided with a
    /// 250 ms threshold, not with the default 1 s; every selector then chooses among the
    /// others only.
    #[test]
    fn a_custom_stall_threshold_is_honoured() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_millis(300);
        let peers = [("a", Some(t0), 1), ("b", None, 1), ("c", Some(now), 1)];
        let healthy = |after: Duration| {
            prefer_healthy(
                peers
                    .iter()
                    .map(|&(h, since, w)| ((h, 0, w), is_stalled(since, now, after))),
            )
        };
        let custom = healthy(Duration::from_millis(250));
        assert_eq!(custom.iter().map(|c| c.0).collect::<Vec<_>>(), ["b", "c"]);
        let default = healthy(STALLED_AFTER);
        assert_eq!(default.len(), 3, "300 ms is no stall by default");
        let left = cands(&custom);
        let selectors: [Box<dyn PeerSelector>; 3] = [
            Box::new(RoundRobin::default()),
            Box::new(LeastPending::default()),
            Box::new(Weighted::default()),
        ];
        for s in selectors {
            for _ in 0..6 {
                let i = s.select(&left).unwrap();
                assert_ne!(left[i].host, "a");
            }
        }
    }

    fn cands<'a>(hosts: &'a [(&'a str, usize, u32)]) -> Vec<Candidate<'a>> {
        hosts
            .iter()
            .map(|&(host, pending, weight)| Candidate {
                host,
                pending,
                weight,
            })
            .collect()
    }

    #[test]
    fn lookup_prefers_the_most_specific_route() {
        let table = RoutingTable::new(
            &[
                RouteSpec::new("*", RouteAction::Redirect),
                RouteSpec::new("*", RouteAction::Relay).application(4),
                RouteSpec::new("Example.NET", RouteAction::Proxy),
                RouteSpec::new("example.net", RouteAction::Local).application(4),
            ],
            None,
        );
        let action = |realm: Option<&str>, app| {
            table
                .lookup(realm.map(str::as_bytes), app)
                .map(|r| r.spec.action)
        };
        assert_eq!(action(Some("example.net"), 4), Some(RouteAction::Local));
        assert_eq!(action(Some("EXAMPLE.net"), 5), Some(RouteAction::Proxy));
        assert_eq!(action(Some("other.net"), 4), Some(RouteAction::Relay));
        assert_eq!(action(Some("other.net"), 5), Some(RouteAction::Redirect));
        assert_eq!(action(None, 5), Some(RouteAction::Redirect));
        let only = RoutingTable::new(&[RouteSpec::new("a.net", RouteAction::Relay)], None);
        assert!(only.lookup(Some(b"b.net"), 4).is_none());
        assert!(RoutingTable::default().is_empty());
    }

    #[test]
    fn round_robin_takes_turns() {
        let s = RoundRobin::default();
        let c = cands(&[("a", 0, 1), ("b", 0, 1), ("c", 0, 1)]);
        let picks: Vec<_> = (0..6).map(|_| s.select(&c).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn least_pending_picks_the_idle_peer_and_shares_ties() {
        let s = LeastPending::default();
        let c = cands(&[("a", 5, 1), ("b", 1, 1), ("c", 9, 1)]);
        assert!((0..4).all(|_| s.select(&c) == Some(1)));
        let tie = cands(&[("a", 2, 1), ("b", 2, 1)]);
        let picks: Vec<_> = (0..4).map(|_| s.select(&tie).unwrap()).collect();
        assert!(picks.contains(&0) && picks.contains(&1), "{picks:?}");
    }

    #[test]
    fn weighted_follows_the_weights() {
        let s = Weighted::default();
        let c = cands(&[("a", 0, 1), ("b", 0, 3), ("c", 0, 0)]);
        let mut n = [0; 3];
        for _ in 0..400 {
            n[s.select(&c).unwrap()] += 1;
        }
        assert_eq!(n, [100, 300, 0]);
        let zero = cands(&[("a", 0, 0), ("b", 0, 0)]);
        assert!(s.select(&zero).is_some());
    }

    #[test]
    fn routes_read_from_toml() {
        #[derive(Deserialize)]
        struct T {
            routes: Vec<RouteSpec>,
        }
        let t: T = toml::from_str(
            r#"
            [[routes]]
            realm = "servers.example.net"
            application = 4
            action = "relay"
            selector = "least_pending"
            peers = ["s1", { host = "s2", weight = 3 }]
            retry_on_timeout = true

            [[routes]]
            realm = "*"
            action = "redirect"
            peers = ["dra"]
            redirect_usage = "all_realm"
            redirect_cache_time = "10m"
            "#,
        )
        .unwrap();
        assert_eq!(t.routes[0].peers[1].weight, 3);
        assert_eq!(t.routes[0].selector, SelectorKind::LeastPending);
        assert!(t.routes[0].retry_on_timeout);
        assert!(!t.routes[1].retry_on_timeout, "off by default");
        assert_eq!(t.routes[1].redirect_usage, RedirectUsage::AllRealm);
        assert_eq!(t.routes[1].redirect_cache_time, Duration::from_secs(600));
        assert_eq!(
            RedirectUsage::from_value(RedirectUsage::AllUser.value()),
            Some(RedirectUsage::AllUser)
        );
    }
}
