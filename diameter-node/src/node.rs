//! The node: configuration and applications in, a cloneable [`NodeHandle`] out
//! (python-diameter's `Node`, `add_peer`, `add_application`, `send_request`,
//! `wait_for_ready`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use diameter_node::{Node, NodeConfig, PeerSpec, app::Application};
//!
//! let config = NodeConfig::new("client.example.org", "example.org")
//!     .peer(PeerSpec::new("aaa://server.example.org:3868;transport=tcp")
//!         .address("127.0.0.1:3868".parse()?));
//! let node = Node::builder(config).application(Application::auth(4)).start().await?;
//! node.wait_for_ready(Duration::from_secs(5)).await?;
//! let mut ccr = node.new_request(272, 4, true);
//! // ... add AVPs ...
//! let cca = node.send(ccr.build()).await?;
//! node.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Each peer has one task (the crate's private `driver` module); a request goes from the
//! handle to that task over its channel and comes back through a oneshot. Picking the peer
//! reads atomics only: the configured peers are a fixed list, so the hot path takes no lock.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use diameter_core::generated::base::{DisconnectCause, avp};
use diameter_core::{DiameterIdentity, Message, MessageBuilder, Utf8String};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::app::Application;
use crate::config::{NodeConfig, PeerSpec};
use crate::driver::{PeerCommand, PeerDriver, PeerTarget};
use crate::duplicate::DuplicateCache;
use crate::error::{NodeError, RequestError};
use crate::forward::{Outstanding, ProxyHook, Reply};
use crate::ids::{EndToEndIds, SessionIds};
use crate::observe::{Observer, ObserverSlot};
use crate::peer::admission::RealmPattern;
use crate::peer::capabilities::InbandSecurity;
use crate::peer::{LocalCapabilities, PeerCapabilities, PeerConfig, PeerState, WatchdogState};
use crate::redirect::RedirectCache;
use crate::routing::{PeerSelector, RoutingTable};
use crate::stats::{Counters, PeerStats};

/// Common applications remembered per peer for lock-free routing; a peer with more is
/// treated as supporting every application (it answers 3007 if not).
const MAX_APPS: usize = 32;

/// What the routing and the API know about one peer.
#[derive(Debug)]
pub(crate) struct PeerSlot {
    /// DiameterIdentity, lower case.
    pub(crate) name: Arc<str>,
    pub(crate) tx: mpsc::UnboundedSender<PeerCommand>,
    pub(crate) ready: AtomicBool,
    /// Requests sent to the peer and not answered yet (for the least-pending selector).
    pub(crate) pending: AtomicUsize,
    all_apps: AtomicBool,
    napps: AtomicUsize,
    apps: [AtomicU32; MAX_APPS],
    pub(crate) counters: Counters,
    pub(crate) status: Mutex<PeerStatus>,
}

/// State of a peer for introspection.
#[derive(Clone, Debug)]
pub(crate) struct PeerStatus {
    pub(crate) state: PeerState,
    pub(crate) watchdog: WatchdogState,
    pub(crate) capabilities: Option<Arc<PeerCapabilities>>,
    /// Why the peer last failed to open or closed (refused, TLS, CEA's Result-Code...).
    pub(crate) last_failure: Option<String>,
}

impl PeerSlot {
    fn new(name: &str, tx: mpsc::UnboundedSender<PeerCommand>) -> Self {
        Self {
            name: name.to_ascii_lowercase().into(),
            tx,
            ready: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
            all_apps: AtomicBool::new(false),
            napps: AtomicUsize::new(0),
            apps: std::array::from_fn(|_| AtomicU32::new(0)),
            counters: Counters::default(),
            status: Mutex::new(PeerStatus {
                state: PeerState::Closed,
                watchdog: WatchdogState::Initial,
                capabilities: None,
                last_failure: None,
            }),
        }
    }

    /// Records the applications negotiated in CER/CEA (before `ready` is set).
    pub(crate) fn set_capabilities(&self, caps: &Arc<PeerCapabilities>) {
        let common = &caps.applications.common;
        let all = caps.applications.relay || common.len() > MAX_APPS;
        for (slot, id) in self.apps.iter().zip(common) {
            slot.store(*id, Ordering::Relaxed);
        }
        self.napps
            .store(common.len().min(MAX_APPS), Ordering::Relaxed);
        self.all_apps.store(all, Ordering::Release);
        let mut status = self.status();
        status.capabilities = Some(caps.clone());
        status.last_failure = None;
    }

    /// Records why the peer failed to open or closed.
    pub(crate) fn set_failure(&self, why: String) {
        self.status().last_failure = Some(why);
    }

    pub(crate) fn status(&self) -> std::sync::MutexGuard<'_, PeerStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    pub(crate) fn usable_for(&self, application_id: u32) -> bool {
        if !self.ready.load(Ordering::Acquire) {
            return false;
        }
        if application_id == 0 || self.all_apps.load(Ordering::Relaxed) {
            return true;
        }
        let n = self.napps.load(Ordering::Relaxed);
        self.apps[..n]
            .iter()
            .any(|a| a.load(Ordering::Relaxed) == application_id)
    }
}

/// Everything the node's tasks share.
pub(crate) struct NodeShared {
    pub(crate) config: NodeConfig,
    pub(crate) local: Arc<LocalCapabilities>,
    pub(crate) apps: HashMap<u32, Application>,
    pub(crate) end_to_end: Arc<EndToEndIds>,
    pub(crate) session_ids: SessionIds,
    pub(crate) patterns: Vec<RealmPattern>,
    /// Configured peers: fixed at start, read without a lock.
    pub(crate) static_peers: Vec<Arc<PeerSlot>>,
    by_name: HashMap<Arc<str>, Arc<PeerSlot>>,
    /// Peers admitted by realm pattern, for the lifetime of their connection.
    dynamic: Mutex<HashMap<Arc<str>, Arc<PeerSlot>>>,
    pub(crate) ready: Notify,
    next_conn: AtomicU64,
    seeds: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    listeners: Mutex<Vec<JoinHandle<()>>>,
    local_addrs: Vec<SocketAddr>,
    /// Counters of dynamic peers that are gone.
    retired: Mutex<PeerStats>,
    /// Told about messages and peer states ([`NodeBuilder::observer`]).
    pub(crate) observer: ObserverSlot,
    /// Traffic metrics, when enabled ([`NodeBuilder::metrics`]); also fed by `observer`.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))] // read by metrics.rs
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
    /// DOIC overload control (RFC 7683).
    pub(crate) doic: crate::doic::Doic,
    /// The §2.7 routing table.
    pub(crate) routes: RoutingTable,
    /// Received requests are routed ([`NodeShared::routes_requests`]).
    pub(crate) routing_enabled: bool,
    /// Redirects that apply to later requests (§6.13).
    pub(crate) redirects: RedirectCache,
    /// Answers kept for retransmitted requests, when duplicate detection is on.
    pub(crate) duplicates: Option<DuplicateCache>,
    /// The proxy routes' hook.
    pub(crate) proxy: Option<Arc<dyn ProxyHook>>,
    /// TLS for connections that negotiate Inband-Security-Id TLS after CER/CEA.
    pub(crate) inband_tls: Option<crate::tls::Tls>,
    /// The node-wide bound on handlers, when configured.
    pub(crate) handler_bound: Option<Arc<crate::bound::HandlerBound>>,
}

impl std::fmt::Debug for NodeShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeShared")
            .field("origin_host", &self.local.origin_host)
            .finish_non_exhaustive()
    }
}

impl NodeShared {
    pub(crate) fn next_conn_id(&self) -> crate::peer::ConnId {
        crate::peer::ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    fn next_seed(&self) -> u64 {
        self.seeds
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
    }

    /// The peer with this DiameterIdentity, configured or dynamic.
    pub(crate) fn find_peer(&self, name: &str) -> Option<Arc<PeerSlot>> {
        // Names are mostly written in lower case already: no copy for those.
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.find_peer_lower(&name.to_ascii_lowercase())
        } else {
            self.find_peer_lower(name)
        }
    }

    /// [`Self::find_peer`] for a name already in lower case.
    fn find_peer_lower(&self, key: &str) -> Option<Arc<PeerSlot>> {
        if let Some(s) = self.by_name.get(key) {
            return Some(s.clone());
        }
        self.dynamic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn peer_config(&self, persistent: bool) -> PeerConfig {
        let mut c = PeerConfig::new(
            self.local.clone(),
            self.end_to_end.clone(),
            self.next_seed(),
        );
        c.timers = self.config.timers.peer_timers();
        c.persistent = persistent;
        c
    }

    /// Starts a task for a peer admitted by realm pattern (§5.3: it lives as long as its
    /// connection).
    pub(crate) fn spawn_dynamic_peer(self: &Arc<Self>, name: &str) -> Arc<PeerSlot> {
        let mut dynamic = self.dynamic.lock().unwrap_or_else(PoisonError::into_inner);
        let key: Arc<str> = name.to_ascii_lowercase().into();
        if let Some(s) = dynamic.get(&key) {
            return s.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let slot = Arc::new(PeerSlot::new(name, tx));
        dynamic.insert(key, slot.clone());
        drop(dynamic);
        let driver = PeerDriver::new(
            self.clone(),
            slot.clone(),
            rx,
            self.peer_config(false),
            PeerTarget::None,
            true,
        );
        let task = tokio::spawn(driver.run());
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        // Dynamic peers come and go: keep only the handles of live tasks.
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
        slot
    }

    /// Forgets a dynamic peer whose task ended.
    pub(crate) fn remove_dynamic(&self, slot: &Arc<PeerSlot>) {
        let mut d = self.dynamic.lock().unwrap_or_else(PoisonError::into_inner);
        if d.get(&slot.name).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            d.remove(&slot.name);
            *self.retired.lock().unwrap_or_else(PoisonError::into_inner) +=
                slot.counters.snapshot();
        }
    }

    /// Peers admitted by realm pattern, now.
    pub(crate) fn dynamic_peers(&self) -> Vec<Arc<PeerSlot>> {
        self.dynamic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn all_peers(&self) -> Vec<Arc<PeerSlot>> {
        let mut v = self.static_peers.clone();
        v.extend(
            self.dynamic
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned(),
        );
        v
    }
}

/// Builds and starts a node.
pub struct NodeBuilder {
    config: NodeConfig,
    apps: Vec<Application>,
    observer: ObserverSlot,
    metrics: bool,
    selector: Option<Arc<dyn PeerSelector>>,
    proxy: Option<Arc<dyn ProxyHook>>,
}

impl std::fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("config", &self.config)
            .field("apps", &self.apps)
            .field("observer", &self.observer)
            .field("selector", &self.selector.is_some())
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

/// Entry point: [`Node::builder`].
#[derive(Debug)]
pub struct Node;

impl Node {
    /// A builder for a node with this configuration.
    pub fn builder(config: NodeConfig) -> NodeBuilder {
        NodeBuilder {
            config,
            apps: Vec::new(),
            observer: ObserverSlot::default(),
            metrics: false,
            selector: None,
            proxy: None,
        }
    }
}

impl NodeBuilder {
    /// Adds an application (advertised in CER/CEA; served if it has a handler).
    pub fn application(mut self, app: Application) -> Self {
        self.apps.push(app);
        self
    }

    /// Tells `observer` about every message the peers send and receive and about their
    /// state changes (see [`crate::observe`]); replaces an earlier observer.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observer = ObserverSlot::of(observer);
        self
    }

    /// Enables the traffic metrics (messages, pending requests, latencies: see
    /// [`crate::metrics`]) without an HTTP listener, for [`NodeHandle::metrics_text`];
    /// `metrics_listen` in the configuration enables them too.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self) -> Self {
        self.metrics = true;
        self
    }

    /// The selector of routes configured with `selector = "custom"`
    /// ([`crate::routing::SelectorKind::Custom`]).
    pub fn selector(mut self, selector: impl PeerSelector) -> Self {
        self.selector = Some(Arc::new(selector));
        self
    }

    /// The hook of proxy routes ([`crate::routing::RouteAction::Proxy`]): it sees, and may
    /// change or refuse, every request they forward and every answer coming back.
    pub fn proxy(mut self, hook: impl ProxyHook) -> Self {
        self.proxy = Some(Arc::new(hook));
        self
    }

    /// Binds the listen addresses, starts the peer tasks and returns the handle.
    pub async fn start(self) -> Result<NodeHandle, NodeError> {
        let config = self.config;
        config.check()?;
        let tls = match &config.tls {
            Some(t) => Some(crate::tls::Tls::new(t).map_err(crate::config::ConfigError::from)?),
            None => None,
        };
        let mut listeners = Vec::new();
        let mut local_addrs = Vec::new();
        let plain = config.listen.iter().map(|a| (a, None));
        for (addr, tls) in plain.chain(config.tls_listen.iter().map(|a| (a, tls.clone()))) {
            let l = crate::connection::bind(*addr).map_err(|source| NodeError::Bind {
                addr: *addr,
                source,
            })?;
            local_addrs.push(l.local_addr().unwrap_or(*addr));
            listeners.push((l, tls));
        }
        // SCTP (feature `sctp`): the listen addresses that share a port are one multi-homed
        // endpoint, listed in `local_addrs` with the port it got. A kernel without SCTP is
        // reported here, for the endpoints and for the SCTP peers (which could never be
        // connected), with `SctpUnsupported` in the error.
        #[cfg(all(feature = "sctp", target_os = "linux"))]
        let sctp_listeners = {
            if let Some(p) = config.peers.iter().find(|p| p.is_sctp()) {
                crate::sctp::probe().map_err(|source| NodeError::Transport {
                    peer: p.uri.clone(),
                    source,
                })?;
            }
            let mut bound = Vec::new();
            for endpoint in crate::sctp::endpoints(&config.sctp_listen) {
                let l = crate::sctp::SctpListener::bind(&endpoint).map_err(|source| {
                    NodeError::Bind {
                        addr: endpoint[0],
                        source,
                    }
                })?;
                let port = l.local_addr().map_or(endpoint[0].port(), |a| a.port());
                local_addrs.extend(endpoint.iter().map(|a| SocketAddr::new(a.ip(), port)));
                bound.push(l);
            }
            bound
        };
        let mut local = LocalCapabilities::new(&config.origin_host, &config.origin_realm);
        local.vendor_id = config.vendor_id;
        local.product_name = config.product_name.clone();
        local.firmware_revision = config.firmware_revision;
        local.supported_vendor_ids = config.supported_vendor_ids.clone();
        local.relay = config.relay;
        local.inband_security = config.inband_security;
        local.host_ip_addresses = if config.host_ip_addresses.is_empty() {
            let mut ips: Vec<IpAddr> = local_addrs
                .iter()
                .map(|a| a.ip())
                .filter(|ip| !ip.is_unspecified())
                .collect();
            ips.dedup();
            ips
        } else {
            config.host_ip_addresses.clone()
        };
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        local.origin_state_id = Some(unix as u32);
        let mut apps = HashMap::new();
        for app in self.apps {
            if !local.applications.contains(&app.support) {
                local.applications.push(app.support);
            }
            warn_unknown_dictionary(&app);
            apps.insert(app.id(), app);
        }
        for a in &config.applications {
            let s = (*a).into();
            if !local.applications.contains(&s) {
                local.applications.push(s);
            }
        }
        let mut os_rng = StdRng::from_os_rng();
        let end_to_end = Arc::new(EndToEndIds::new(unix, os_rng.random()));
        let session_ids = SessionIds::new(config.origin_host.clone(), unix as u32);
        let mut static_peers = Vec::new();
        let mut by_name = HashMap::new();
        let mut receivers = Vec::new();
        for spec in &config.peers {
            let (host, _) = spec.identity()?;
            let (tx, rx) = mpsc::unbounded_channel();
            let slot = Arc::new(PeerSlot::new(&host, tx));
            by_name.insert(slot.name.clone(), slot.clone());
            static_peers.push(slot.clone());
            receivers.push((slot, rx, spec.clone()));
        }
        let routes = RoutingTable::new(&config.routes, self.selector.as_ref());
        let (metrics, metrics_listener) = crate::metrics::setup(self.metrics, &config).await?;
        #[cfg(not(feature = "metrics"))]
        let _ = metrics_listener;
        let doic = crate::doic::Doic::new(&config.doic, os_rng.random());
        let shared = Arc::new(NodeShared {
            routing_enabled: config.relay || !routes.is_empty(),
            routes,
            redirects: RedirectCache::default(),
            duplicates: config.duplicate_detection.map(DuplicateCache::new),
            proxy: self.proxy,
            inband_tls: tls
                .clone()
                .filter(|_| config.inband_security != InbandSecurity::None),
            patterns: config.realm_patterns(),
            handler_bound: crate::bound::HandlerBound::new(
                config.limits.max_node_handlers,
                config.limits.max_queued_requests,
            ),
            config,
            local: Arc::new(local),
            apps,
            end_to_end,
            session_ids,
            static_peers,
            by_name,
            dynamic: Mutex::new(HashMap::new()),
            ready: Notify::new(),
            next_conn: AtomicU64::new(1),
            seeds: AtomicU64::new(os_rng.random()),
            tasks: Mutex::new(Vec::new()),
            listeners: Mutex::new(Vec::new()),
            local_addrs,
            retired: Mutex::new(PeerStats::default()),
            observer: match &metrics {
                Some(m) => self.observer.with_metrics(m.clone()),
                None => self.observer,
            },
            metrics,
            doic,
        });
        for (slot, rx, spec) in receivers {
            let target = target_of(&spec);
            let driver = PeerDriver::new(
                shared.clone(),
                slot,
                rx,
                shared.peer_config(spec.persistent),
                target,
                false,
            )
            .with_tls(tls.clone().filter(|_| spec.is_secure()));
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            let driver = driver.with_sctp(spec.is_sctp());
            let task = tokio::spawn(driver.run());
            shared
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(task);
        }
        for (l, tls) in listeners {
            let task = tokio::spawn(crate::acceptor::accept_loop(l, shared.clone(), tls));
            shared
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(task);
        }
        #[cfg(all(feature = "sctp", target_os = "linux"))]
        for l in sctp_listeners {
            let task = tokio::spawn(crate::acceptor::sctp_accept_loop(l, shared.clone()));
            shared
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(task);
        }
        let node = NodeHandle {
            shared,
            rr: AtomicUsize::new(0),
        };
        #[cfg(feature = "metrics")]
        if let Some(l) = metrics_listener {
            let task = tokio::spawn(crate::metrics::serve(l, node.clone()));
            node.shared
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(task);
        }
        Ok(node)
    }
}

fn target_of(spec: &PeerSpec) -> PeerTarget {
    if !spec.addresses.is_empty() {
        return PeerTarget::Addresses(spec.addresses.clone());
    }
    match spec.identity() {
        Ok((host, port)) => PeerTarget::Resolve(host, port),
        Err(_) => PeerTarget::None,
    }
}

/// What the API tells about one peer.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// DiameterIdentity (lower case).
    pub name: String,
    /// §5.6 state.
    pub state: PeerState,
    /// RFC 3539 watchdog state.
    pub watchdog: WatchdogState,
    /// Whether requests can be sent to it now.
    pub ready: bool,
    /// What it advertised in its last CER/CEA.
    pub capabilities: Option<Arc<PeerCapabilities>>,
    /// Why it last failed to open or closed: the connection refused, the TLS handshake
    /// failed, the CEA's Result-Code, no CEA in time, ... (`None` since it opened).
    pub last_failure: Option<String>,
    /// Counters.
    pub stats: PeerStats,
}

/// A handle on a running node; clone it freely (each clone has its own round-robin
/// position, and no lock is shared by requests).
#[derive(Debug)]
pub struct NodeHandle {
    shared: Arc<NodeShared>,
    rr: AtomicUsize,
}

impl Clone for NodeHandle {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            rr: AtomicUsize::new(self.rr.load(Ordering::Relaxed).wrapping_add(1)),
        }
    }
}

impl NodeHandle {
    /// The addresses actually listened on (useful with port 0): those of `listen`, then
    /// those of `tls_listen`, then every address of the `sctp_listen` endpoints.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.shared.local_addrs
    }

    /// What the node advertises in CER/CEA.
    pub fn local(&self) -> &LocalCapabilities {
        &self.shared.local
    }

    /// A new Session-Id (§8.8) of this node.
    pub fn new_session_id(&self) -> String {
        self.shared.session_ids.next_id()
    }

    /// A request builder with Session-Id, Origin-Host and Origin-Realm filled in.
    pub fn new_request(&self, code: u32, application_id: u32, proxiable: bool) -> MessageBuilder {
        let mut b = MessageBuilder::request(code, application_id, proxiable);
        b.add(avp::SESSION_ID, &Utf8String::from(self.new_session_id()));
        b.add(
            avp::ORIGIN_HOST,
            &DiameterIdentity::from(self.shared.local.origin_host.as_str()),
        );
        b.add(
            avp::ORIGIN_REALM,
            &DiameterIdentity::from(self.shared.local.origin_realm.as_str()),
        );
        b
    }

    /// Sends a request and waits for its answer, with the configured request timeout.
    /// Hop-by-Hop is always assigned; End-to-End when it is 0.
    pub async fn send(&self, request: Message) -> Result<Message, RequestError> {
        self.send_with_timeout(request, self.shared.config.timers.request_timeout)
            .await
    }

    /// Sends a request and waits at most `timeout` for its answer.
    pub async fn send_with_timeout(
        &self,
        request: Message,
        timeout: Duration,
    ) -> Result<Message, RequestError> {
        if !request.is_request() {
            return Err(RequestError::NotARequest);
        }
        let app = request.application_id();
        let slot = self
            .select_peer(&request, app)
            .ok_or(RequestError::NoPeer(app))?;
        // DOIC (RFC 7683): throttled under an overload report, else OC-Supported-Features.
        let request = self
            .shared
            .doic
            .outgoing(request, &slot.name)
            .inspect_err(|_| Counters::bump(&slot.counters.throttled))?;
        let (reply, rx) = oneshot::channel();
        let deadline = std::time::Instant::now() + timeout;
        slot.tx
            .send(PeerCommand::Request(Outstanding {
                request,
                deadline,
                reply: Reply::Caller(reply),
                hops: 0,
            }))
            .map_err(|_| RequestError::PeerGone)?;
        let outcome = rx.await.unwrap_or(Err(RequestError::PeerGone));
        if let Ok(answer) = &outcome {
            self.shared.doic.incoming_answer(answer);
        }
        outcome
    }

    /// The configured request timeout.
    pub(crate) fn request_timeout(&self) -> Duration {
        self.shared.config.timers.request_timeout
    }

    /// The Origin-Realm of the peer `request` would go to now (from its CER/CEA).
    pub(crate) fn peer_realm(&self, request: &Message, app: u32) -> Option<String> {
        let slot = self.select_peer(request, app)?;
        let status = slot.status.lock().ok()?;
        Some(status.capabilities.as_ref()?.origin_realm.clone())
    }

    fn select_peer(&self, request: &Message, app: u32) -> Option<Arc<PeerSlot>> {
        self.shared.select_for_send(request, app, None, &self.rr)
    }

    /// Waits until at least one peer is open and available (python-diameter's
    /// `wait_for_ready`).
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<(), NodeError> {
        self.wait_until(timeout, |s| s.ready.load(Ordering::Acquire))
            .await
    }

    /// Waits until a peer supporting `application_id` is available.
    pub async fn wait_for_application(
        &self,
        application_id: u32,
        timeout: Duration,
    ) -> Result<(), NodeError> {
        self.wait_until(timeout, |s| s.usable_for(application_id))
            .await
    }

    async fn wait_until(
        &self,
        timeout: Duration,
        cond: impl Fn(&PeerSlot) -> bool,
    ) -> Result<(), NodeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.all_peers().iter().any(|s| cond(s)) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let reasons = self
                    .shared
                    .all_peers()
                    .iter()
                    .filter_map(|s| {
                        Some(format!("{}: {}", s.name, s.status().last_failure.clone()?))
                    })
                    .collect();
                return Err(NodeError::NotReady { reasons });
            }
        }
    }

    /// Every known peer with its state and counters.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared
            .all_peers()
            .into_iter()
            .map(|s| {
                let st = s.status().clone();
                PeerInfo {
                    name: s.name.to_string(),
                    state: st.state,
                    watchdog: st.watchdog,
                    ready: s.ready.load(Ordering::Acquire),
                    capabilities: st.capabilities,
                    last_failure: st.last_failure,
                    stats: s.counters.snapshot(),
                }
            })
            .collect()
    }

    /// The Prometheus (OpenMetrics) text exposition of the node: peer states and counters,
    /// and with metrics enabled its traffic (see [`crate::metrics`]).
    #[cfg(feature = "metrics")]
    pub fn metrics_text(&self) -> String {
        crate::metrics::render(
            self.peers(),
            self.shared.metrics.as_deref(),
            &self.shared.doic,
        )
    }

    /// Where the metrics HTTP listener listens (`metrics_listen`, useful with port 0).
    #[cfg(feature = "metrics")]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.shared.metrics.as_ref().and_then(|m| m.listen_addr())
    }

    /// Reports overload (DOIC, RFC 7683) in answers to requests that announce DOIC:
    /// `Some((reduction_percent, validity))` asks peers to shed that share of their
    /// requests to this node (OC-Reduction-Percentage, capped at 100; OC-Validity-Duration
    /// within 1 s..=86,400 s), `None` or a reduction of 0 ends the overload (answers then
    /// carry a report with validity 0 for as long as the last one could be in force). A
    /// condition that lasts is re-reported with a new sequence number before its validity
    /// runs out.
    pub fn set_overload(&self, overload: Option<(u32, Duration)>) {
        self.shared
            .doic
            .set_overload(overload.and_then(|(r, v)| crate::doic::Overload::new(r, v)));
    }

    /// The overload reports (DOIC) in force at this node as a reacting node: one per
    /// application and overloaded host or realm.
    pub fn overload_states(&self) -> Vec<crate::doic::OverloadState> {
        self.shared.doic.states()
    }

    /// The counters of every peer added up (including dynamic peers that are gone).
    pub fn stats(&self) -> PeerStats {
        let mut total = *self
            .shared
            .retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for p in self.shared.all_peers() {
            total += p.counters.snapshot();
        }
        total
    }

    /// Graceful shutdown with Disconnect-Cause REBOOTING: see [`Self::shutdown_with`].
    pub async fn shutdown(&self) {
        self.shutdown_with(DisconnectCause::REBOOTING).await
    }

    /// Graceful shutdown (§5.4): stop accepting, let pending requests drain (up to the
    /// drain timeout), send DPR with `cause` to every open peer, wait for the DPAs.
    pub async fn shutdown_with(&self, cause: DisconnectCause) {
        for l in self
            .shared
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            l.abort();
        }
        let mut waits = Vec::new();
        for p in self.shared.all_peers() {
            let (done, rx) = oneshot::channel();
            if p.tx.send(PeerCommand::Stop { cause, done }).is_ok() {
                waits.push(rx);
            }
        }
        let t = &self.shared.config.timers;
        let limit = t.drain_timeout + t.dpa_timeout + Duration::from_secs(1);
        let _ = tokio::time::timeout(limit, async {
            for w in waits {
                let _ = w.await;
            }
        })
        .await;
        self.abort();
    }

    /// Stops everything at once, without DPR: sockets close abruptly and pending requests
    /// fail with [`RequestError::PeerGone`] (a crash, as far as peers can tell).
    pub fn abort(&self) {
        for l in self
            .shared
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            l.abort();
        }
        for t in self
            .shared
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            t.abort();
        }
    }
}

/// Writes End-to-End (if 0) and Hop-by-Hop into an encoded request: in place when the
/// caller's buffer is not shared (a request built for this send), else in a copy.
pub(crate) fn stamp_ids(bytes: Bytes, hop_by_hop: u32, end_to_end: &EndToEndIds) -> Bytes {
    crate::framing::edit_header(bytes, |h| {
        h[12..16].copy_from_slice(&hop_by_hop.to_be_bytes());
        if h[16..20] == [0, 0, 0, 0] {
            h[16..20].copy_from_slice(&end_to_end.next_id().to_be_bytes());
        }
    })
}

/// Says loudly when an application is served without its dictionary: validation would then
/// refuse its requests 5001 (their AVPs unknown). Routes register their dictionary
/// themselves; a generic handler for a user's dictionary needs its generated `register()`.
fn warn_unknown_dictionary(app: &Application) {
    if app.handler.is_none() || app.id() == crate::peer::capabilities::RELAY_APPLICATION_ID {
        return;
    }
    let known = match &app.commands {
        Some(codes) => codes
            .iter()
            .all(|c| diameter_core::dictionary::command(*c, app.id()).is_some()),
        None => diameter_core::dictionary::application(app.id()).is_some(),
    };
    if !known {
        tracing::warn!(
            application = app.id(),
            "application served without its dictionary: its requests will be refused 5001 \
             (enable its cargo feature, e.g. `gy`, `s6a`; for your own dictionary call its \
             generated register(), or serve it with Application::route)"
        );
    }
}
