//! The node's peers as the routing and the API see them: one [`PeerSlot`] per peer
//! (readiness, applications, counters: atomics, read without a lock on the hot path) and
//! the table of them ([`Peers`]: the configured ones, fixed at start, and those admitted by
//! realm pattern for the lifetime of their connection, whose counters are kept by name
//! once they are gone: [`super::retired`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, mpsc};

use std::time::Instant;

use super::PeerCommand;
use super::owed::OwedTable;
use super::retired::Retired;
use crate::peer::{ConnId, PeerCapabilities, PeerState, WatchdogState};
use crate::stats::{Counters, PeerStats, PreCerCloses};

/// Common applications remembered per peer for lock-free routing; a peer with more is
/// treated as supporting every application (it answers 3007 if not).
const MAX_APPS: usize = 32;

/// What the routing and the API know about one peer.
#[derive(Debug)]
pub(crate) struct PeerSlot {
    /// DiameterIdentity, lower case.
    pub(crate) name: Arc<str>,
    /// Its task's commands.
    pub(crate) tx: mpsc::UnboundedSender<PeerCommand>,
    pub(crate) ready: AtomicBool,
    /// Requests sent to the peer and not answered yet (for the least-pending selector).
    pub(crate) pending: AtomicUsize,
    all_apps: AtomicBool,
    napps: AtomicUsize,
    apps: [AtomicU32; MAX_APPS],
    /// Shared with the slot of the same name after a reconnection (dynamic peers), so that
    /// its counters go on from where they were.
    pub(crate) counters: Arc<Counters>,
    status: Mutex<PeerStatus>,
    /// Requests received from this peer and forwarded elsewhere, answers owed to it.
    pub(crate) owed: OwedTable,
    /// Since when requests to this peer wait with no answer coming back (its core's
    /// `waiting_since`, published by its task).
    waiting_since: Mutex<Option<Instant>>,
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
    pub(crate) fn new(name: &str, tx: mpsc::UnboundedSender<PeerCommand>) -> Self {
        Self::with_counters(name, tx, Arc::default())
    }

    /// A slot that counts on with `counters` (those of a peer of the same name that left).
    pub(crate) fn with_counters(
        name: &str,
        tx: mpsc::UnboundedSender<PeerCommand>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            name: name.to_ascii_lowercase().into(),
            tx,
            ready: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
            all_apps: AtomicBool::new(false),
            napps: AtomicUsize::new(0),
            apps: std::array::from_fn(|_| AtomicU32::new(0)),
            counters,
            status: Mutex::new(PeerStatus {
                state: PeerState::Closed,
                watchdog: WatchdogState::Initial,
                capabilities: None,
                last_failure: None,
            }),
            owed: OwedTable::default(),
            waiting_since: Mutex::new(None),
        }
    }

    /// Publishes since when this peer's pending requests wait without progress.
    pub(crate) fn set_waiting_since(&self, since: Option<Instant>) {
        *self
            .waiting_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = since;
    }

    /// Since when this peer's pending requests wait without an answer coming back.
    pub(crate) fn waiting_since(&self) -> Option<Instant> {
        *self
            .waiting_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    pub(crate) fn status(&self) -> MutexGuard<'_, PeerStatus> {
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

/// Every peer of the node.
#[derive(Debug)]
pub(crate) struct Peers {
    /// Configured peers: fixed at start, read without a lock.
    pub(crate) configured: Vec<Arc<PeerSlot>>,
    by_name: HashMap<Arc<str>, Arc<PeerSlot>>,
    /// Peers admitted by realm pattern, for the lifetime of their connection.
    dynamic: Mutex<HashMap<Arc<str>, Arc<PeerSlot>>>,
    /// Counters of dynamic peers that are gone, by name (bounded).
    retired: Mutex<Retired>,
    /// Incoming connections closed before their CER, by reason.
    pub(crate) pre_cer: PreCerCloses,
    /// Woken when a peer's readiness changes.
    pub(crate) ready: Notify,
    next_conn: AtomicU64,
    seeds: AtomicU64,
}

impl Peers {
    /// `max_retained`: how many departed peers' counters are kept by name
    /// (`limits.max_retained_peers`).
    pub(crate) fn new(configured: Vec<Arc<PeerSlot>>, seed: u64, max_retained: usize) -> Self {
        let by_name = configured
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect();
        Self {
            configured,
            by_name,
            dynamic: Mutex::new(HashMap::new()),
            retired: Mutex::new(Retired::new(max_retained)),
            pre_cer: PreCerCloses::default(),
            ready: Notify::new(),
            next_conn: AtomicU64::new(1),
            seeds: AtomicU64::new(seed),
        }
    }

    pub(crate) fn next_conn_id(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// A seed for a peer's watchdog jitter.
    pub(crate) fn next_seed(&self) -> u64 {
        self.seeds
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
    }

    /// The peer with this DiameterIdentity, configured or dynamic.
    pub(crate) fn find(&self, name: &str) -> Option<Arc<PeerSlot>> {
        // Names are mostly written in lower case already: no copy for those.
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.find_lower(&name.to_ascii_lowercase())
        } else {
            self.find_lower(name)
        }
    }

    fn find_lower(&self, key: &str) -> Option<Arc<PeerSlot>> {
        if let Some(s) = self.by_name.get(key) {
            return Some(s.clone());
        }
        self.dynamic().get(key).cloned()
    }

    fn dynamic(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<PeerSlot>>> {
        self.dynamic.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn retired(&self) -> MutexGuard<'_, Retired> {
        self.retired.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The dynamic peer named `name`, or a new one made by `make` (which starts its task)
    /// with the counters the peer of that name had when it left, if they are kept.
    pub(crate) fn dynamic_or_insert(
        &self,
        name: &str,
        make: impl FnOnce(Arc<Counters>) -> Arc<PeerSlot>,
    ) -> (Arc<PeerSlot>, bool) {
        let mut dynamic = self.dynamic();
        let key: Arc<str> = name.to_ascii_lowercase().into();
        if let Some(s) = dynamic.get(&key) {
            return (s.clone(), false);
        }
        let counters = self.retired().take(&key).unwrap_or_default();
        let slot = make(counters);
        dynamic.insert(key, slot.clone());
        (slot, true)
    }

    /// Forgets a dynamic peer whose task ended; its counters are kept under its name.
    /// Returns the names of departed peers whose counters went to the aggregate to keep
    /// within `limits.max_retained_peers` (their traffic metrics follow).
    pub(crate) fn remove_dynamic(&self, slot: &Arc<PeerSlot>) -> Vec<Arc<str>> {
        let mut d = self.dynamic();
        if d.get(&slot.name).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            d.remove(&slot.name);
            return self
                .retired()
                .retire(slot.name.clone(), slot.counters.clone());
        }
        Vec::new()
    }

    /// Departed peers' counters by name, then the aggregate of those forgotten.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))] // read by the metrics
    pub(crate) fn departed(&self) -> Vec<(Arc<str>, PeerStats)> {
        self.retired().snapshot()
    }

    /// Peers admitted by realm pattern, now.
    pub(crate) fn dynamic_peers(&self) -> Vec<Arc<PeerSlot>> {
        self.dynamic().values().cloned().collect()
    }

    pub(crate) fn all(&self) -> Vec<Arc<PeerSlot>> {
        let mut v = self.configured.clone();
        v.extend(self.dynamic().values().cloned());
        v
    }

    /// The counters of every peer added up (including dynamic peers that are gone).
    pub(crate) fn totals(&self) -> PeerStats {
        // Under the dynamic peers' lock, so that no counters move between the live and the
        // departed while they are added up.
        let dynamic = self.dynamic();
        let mut total = self.retired().total();
        for p in self.configured.iter().chain(dynamic.values()) {
            total += p.counters.snapshot();
        }
        total
    }
}
