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
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use diameter_core::generated::base::{DisconnectCause, avp};
use diameter_core::{DiameterIdentity, Message, MessageBuilder, Utf8String};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, oneshot};

use crate::app::Application;
use crate::clock;
use crate::config::{NodeConfig, PeerSpec};
use crate::connection::{Dial, PeerTarget};
use crate::driver::PeerDriver;
use crate::duplicate::DuplicateCache;
use crate::error::{NodeError, RequestError};
use crate::ids::{EndToEndIds, SessionIds};
use crate::lifecycle::Pending;
use crate::observe::Observer;
use crate::peer::LocalCapabilities;
use crate::peer::capabilities::InbandSecurity;
use crate::redirect::RedirectCache;
use crate::routing::ProxyHook;
use crate::routing::{PeerSelector, RoutingTable};
use crate::shared::{
    NodeShared, ObserverSlot, PeerCommand, PeerSlot, Peers, Reply, Routing, Serving, Tasks,
};
pub(crate) use crate::stats::PeerInfo;
use crate::stats::{Counters, PeerStats};

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
        let mut configured = Vec::new();
        let mut receivers = Vec::new();
        for spec in &config.peers {
            let (host, _) = spec.identity()?;
            let (tx, rx) = mpsc::unbounded_channel();
            let slot = Arc::new(PeerSlot::new(&host, tx));
            configured.push(slot.clone());
            receivers.push((slot, rx, spec.clone()));
        }
        let table = RoutingTable::new(&config.routes, self.selector.as_ref());
        let (metrics, metrics_listener) = crate::metrics::setup(self.metrics, &config).await?;
        #[cfg(not(feature = "metrics"))]
        let _ = metrics_listener;
        let shared = Arc::new(NodeShared {
            routing: Routing {
                enabled: config.relay || !table.is_empty(),
                table,
                redirects: RedirectCache::default(),
                proxy: self.proxy,
            },
            serving: Serving {
                apps,
                duplicates: config.duplicate_detection.map(DuplicateCache::new),
                handler_bound: crate::bound::HandlerBound::new(
                    config.limits.max_node_handlers,
                    config.limits.max_queued_requests,
                ),
                forwarding: crate::shared::ForwardBound::new(config.limits.max_forwarded_requests),
            },
            doic: crate::doic::Doic::new(&config.doic, os_rng.random()),
            inband_tls: tls
                .clone()
                .filter(|_| config.inband_security != InbandSecurity::None),
            patterns: config.realm_patterns(),
            peers: Peers::new(
                configured,
                os_rng.random(),
                config.limits.max_retained_peers,
            ),
            config,
            local: Arc::new(local),
            end_to_end,
            session_ids,
            tasks: Tasks {
                local_addrs,
                ..Tasks::default()
            },
            observer: match &metrics {
                Some(m) => self.observer.with_metrics(m.clone()),
                None => self.observer,
            },
            metrics,
        });
        for (slot, rx, spec) in receivers {
            let dial = match tls.clone().filter(|_| spec.is_secure()) {
                Some(t) => Dial::Tls(t, slot.name.clone()),
                None => Dial::Tcp,
            };
            #[cfg(all(feature = "sctp", target_os = "linux"))]
            let dial = if spec.is_sctp() { Dial::Sctp } else { dial };
            let how = (target_of(&spec), dial, spec.persistent);
            let driver = PeerDriver::new(shared.clone(), slot, rx, how, false);
            shared.tasks.add_peer(tokio::spawn(driver.run()));
        }
        for (l, tls) in listeners {
            let task = tokio::spawn(crate::acceptor::accept_loop(l, shared.clone(), tls));
            shared.tasks.add_listener(task);
        }
        #[cfg(all(feature = "sctp", target_os = "linux"))]
        for l in sctp_listeners {
            let task = tokio::spawn(crate::acceptor::sctp_accept_loop(l, shared.clone()));
            shared.tasks.add_listener(task);
        }
        let node = NodeHandle {
            shared,
            rr: AtomicUsize::new(0),
        };
        #[cfg(feature = "metrics")]
        if let Some(l) = metrics_listener {
            let handle = node.clone();
            let render = move || handle.metrics_text();
            let task = tokio::spawn(crate::metrics::serve(l, render));
            node.shared.tasks.add_listener(task);
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
        &self.shared.tasks.local_addrs
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
        // One clock read per request (a vDSO call, a few percent of a round trip): the
        // peer choice and the deadline share it.
        let now = clock::now();
        let slot = self
            .select_peer(&request, app, now)
            .ok_or(RequestError::NoPeer(app))?;
        // DOIC (RFC 7683): throttled under an overload report, else OC-Supported-Features.
        let request = self
            .shared
            .doic
            .outgoing(request, &slot.name)
            .inspect_err(|_| Counters::bump(&slot.counters.throttled))?;
        let (reply, rx) = oneshot::channel();
        let deadline = now + timeout;
        slot.tx
            .send(PeerCommand::Request(Pending {
                request,
                deadline,
                hops: 0,
                follows_redirects: true,
                retry: None,
                waiter: Reply::Caller(reply),
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
        let slot = self.select_peer(request, app, clock::now())?;
        let status = slot.status();
        Some(status.capabilities.as_ref()?.origin_realm.clone())
    }

    fn select_peer(&self, request: &Message, app: u32, now: Instant) -> Option<Arc<PeerSlot>> {
        self.shared
            .select_for_send(request, app, None, &self.rr, now)
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
            let notified = self.shared.peers.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.peers.all().iter().any(|s| cond(s)) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let reasons = self
                    .shared
                    .peers
                    .all()
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
            .peers
            .all()
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

    /// The Prometheus (OpenMetrics) text exposition of the node: peer states and counters
    /// (departed peers' counters too, by name, within `limits.max_retained_peers`), and
    /// with metrics enabled its traffic (see [`crate::metrics`]).
    #[cfg(feature = "metrics")]
    pub fn metrics_text(&self) -> String {
        crate::metrics::render(
            self.peers(),
            self.shared.peers.departed(),
            self.shared.metrics.as_deref(),
            &self.shared.doic,
            &self.closed_before_cer(),
        )
    }

    /// Incoming connections closed before their CER came, by reason (`closed` by the
    /// client, `timeout`, `unframeable`, `undecodable`, `not_cer`, `tls`): silent clients,
    /// slow-loris, scanners. Also in `/metrics` as
    /// `diameter_connections_closed_before_cer_total{reason}`.
    pub fn closed_before_cer(&self) -> Vec<(&'static str, u64)> {
        self.shared.peers.pre_cer.snapshot()
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
        self.shared.peers.totals()
    }

    /// Graceful shutdown with Disconnect-Cause REBOOTING: see [`Self::shutdown_with`].
    pub async fn shutdown(&self) {
        self.shutdown_with(DisconnectCause::REBOOTING).await
    }

    /// Graceful shutdown (§5.4): stop accepting, let pending requests drain (up to the
    /// drain timeout), send DPR with `cause` to every open peer, wait for the DPAs. What a
    /// peer is still owed at the drain deadline (requests forwarded for it, local handlers
    /// not done) is answered 3002 with an Error-Message before its DPR.
    pub async fn shutdown_with(&self, cause: DisconnectCause) {
        self.shared.tasks.abort_listeners();
        let mut waits = Vec::new();
        for p in self.shared.peers.all() {
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
        self.shared.tasks.abort_listeners();
        self.shared.tasks.abort_peers();
    }
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
