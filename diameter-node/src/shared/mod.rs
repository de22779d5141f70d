//! What the node's tasks share, split by concern: the configuration and identity, the
//! peers ([`peers`]), what serves received requests, what routes them, what observes them,
//! and the tasks themselves. Built once by `NodeBuilder::start`, then read by every peer
//! task and handle; the hot path reads atomics only.
//!
//! This module holds state, not behaviour: routing decisions are in `forward.rs`,
//! dispatch in `dispatch.rs`, the peer tasks in `driver/`, and none of those is
//! imported from here.

mod command;
mod observation;
mod owed;
mod peers;
mod retired;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;

use crate::app::Application;
use crate::bound::HandlerBound;
use crate::config::NodeConfig;
use crate::doic::Doic;
use crate::duplicate::DuplicateCache;
use crate::ids::{EndToEndIds, SessionIds};
use crate::lifecycle::CoreConfig;
use crate::peer::admission::RealmPattern;
use crate::peer::{LocalCapabilities, PeerConfig};
use crate::redirect::RedirectCache;
use crate::routing::ProxyHook;
use crate::routing::RoutingTable;
pub(crate) use command::{Answers, Ingress, Late, Outstanding, PeerCommand, Reply};
pub(crate) use observation::ObserverSlot;
pub(crate) use owed::{ForwardBound, ForwardPermit, RunningHandlers};
pub(crate) use peers::{PeerSlot, Peers};

/// Everything the node's tasks share.
pub(crate) struct NodeShared {
    pub(crate) config: NodeConfig,
    /// What the node advertises in CER/CEA, its identity.
    pub(crate) local: Arc<LocalCapabilities>,
    pub(crate) end_to_end: Arc<EndToEndIds>,
    pub(crate) session_ids: SessionIds,
    pub(crate) peers: Peers,
    /// Which unknown peers are admitted (§5.3, by realm pattern).
    pub(crate) patterns: Vec<RealmPattern>,
    pub(crate) serving: Serving,
    pub(crate) routing: Routing,
    /// DOIC overload control (RFC 7683), as reacting and reporting node.
    pub(crate) doic: Doic,
    /// Told about messages and peer states (and feeding the metrics, when enabled).
    pub(crate) observer: ObserverSlot,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))] // read by metrics.rs
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
    pub(crate) tasks: Tasks,
    /// TLS for connections that negotiate Inband-Security-Id TLS after CER/CEA.
    pub(crate) inband_tls: Option<crate::tls::Tls>,
}

/// What received requests meet before and while a handler runs (§6.1.2, §7).
pub(crate) struct Serving {
    pub(crate) apps: HashMap<u32, Application>,
    /// Answers kept for retransmitted requests, when duplicate detection is on.
    pub(crate) duplicates: Option<DuplicateCache>,
    /// The node-wide bound on handlers, when configured.
    pub(crate) handler_bound: Option<Arc<HandlerBound>>,
    /// The node-wide bound on forwarded requests waiting for their answer.
    pub(crate) forwarding: Arc<ForwardBound>,
}

/// Where requests go (§2.7, §6.1, §6.13).
pub(crate) struct Routing {
    /// The §2.7 routing table.
    pub(crate) table: RoutingTable,
    /// Received requests are routed (routes or the Relay application).
    pub(crate) enabled: bool,
    /// Redirects that apply to later requests (§6.13).
    pub(crate) redirects: RedirectCache,
    /// The proxy routes' hook.
    pub(crate) proxy: Option<Arc<dyn ProxyHook>>,
}

/// The node's tasks and where it listens.
#[derive(Debug, Default)]
pub(crate) struct Tasks {
    pub(crate) peers: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) listeners: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) local_addrs: Vec<SocketAddr>,
}

impl Tasks {
    pub(crate) fn add_peer(&self, task: JoinHandle<()>) {
        let mut tasks = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        // Dynamic peers come and go: keep only the handles of live tasks.
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    pub(crate) fn add_listener(&self, task: JoinHandle<()>) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    /// Stops accepting connections.
    pub(crate) fn abort_listeners(&self) {
        let mut l = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        l.drain(..).for_each(|t| t.abort());
    }

    /// Stops every peer task at once.
    pub(crate) fn abort_peers(&self) {
        let mut p = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        p.drain(..).for_each(|t| t.abort());
    }
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
        self.peers.next_conn_id()
    }

    /// The peer with this DiameterIdentity, configured or dynamic.
    pub(crate) fn find_peer(&self, name: &str) -> Option<Arc<PeerSlot>> {
        self.peers.find(name)
    }

    /// The configuration of a peer's core (its state machine and its requests' lifecycle).
    pub(crate) fn core_config(&self, persistent: bool) -> (PeerConfig, CoreConfig) {
        let seed = self.peers.next_seed();
        let mut peer = PeerConfig::new(self.local.clone(), self.end_to_end.clone(), seed);
        peer.timers = self.config.timers.peer_timers();
        peer.persistent = persistent;
        let (t, l) = (&self.config.timers, &self.config.limits);
        let core = CoreConfig {
            frame_timeout: t.frame_timeout,
            drain_timeout: t.drain_timeout,
            max_message_size: l.max_message_size,
            max_pending_requests: l.max_pending_requests,
            follow_redirects: self.config.follow_redirects,
        };
        (peer, core)
    }

    /// Forgets a dynamic peer whose task ended (its counters stay, by name, within
    /// `limits.max_retained_peers`; the traffic metrics of names beyond go to the aggregate
    /// as well).
    pub(crate) fn remove_dynamic(&self, slot: &Arc<PeerSlot>) {
        let forgotten = self.peers.remove_dynamic(slot);
        if let Some(m) = &self.metrics {
            for name in forgotten {
                m.forget_peer(&name);
            }
        }
    }
}
