//! Redirects (RFC 6733 §6.13, §2.8.3): the 3006 DIAMETER_REDIRECT_INDICATION answer of a
//! redirect agent, reading one on the requesting side, and the cache that applies a
//! redirect to later requests as its Redirect-Host-Usage says, for at most its
//! Redirect-Max-Cache-Time.
//!
//! The cache is empty on most nodes; its emptiness is one atomic load, so requests of a
//! node that never got a redirect do not take its lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diameter_core::data::parse_uri;
use diameter_core::generated::base::avp;
use diameter_core::{AvpFlags, DiameterUri, Message, ResultCode};

use crate::answer::generate_answer;
use crate::peer::LocalCapabilities;
use crate::routing::{RedirectUsage, Route};

/// Entries kept at most; the oldest goes first.
const MAX_ENTRIES: usize = 4096;

/// What a 3006 answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectIndication {
    /// The DiameterIdentities of the Redirect-Host URIs, in order.
    pub hosts: Vec<String>,
    /// Redirect-Host-Usage (DONT_CACHE when absent or unknown).
    pub usage: RedirectUsage,
    /// Redirect-Max-Cache-Time (0 when absent).
    pub max_cache_time: Duration,
}

impl RedirectIndication {
    /// Reads a 3006 answer; `None` for any other answer. Redirect-Host values that are not
    /// DiameterURIs are skipped.
    pub fn from_answer(answer: &Message) -> Option<Self> {
        if answer.is_request()
            || answer.result_code() != Some(ResultCode::DIAMETER_REDIRECT_INDICATION.0)
        {
            return None;
        }
        let hosts = answer
            .find_all(avp::REDIRECT_HOST)
            .filter_map(|a| std::str::from_utf8(a.data).ok())
            .filter_map(|s| parse_uri(s).ok())
            .map(|u| u.host.to_ascii_lowercase())
            .collect();
        let u32_of = |key| answer.get::<u32>(key).and_then(Result::ok);
        let usage = u32_of(avp::REDIRECT_HOST_USAGE)
            .and_then(|v| RedirectUsage::from_value(v as i32))
            .unwrap_or_default();
        let max_cache_time =
            Duration::from_secs(u32_of(avp::REDIRECT_MAX_CACHE_TIME).unwrap_or(0).into());
        Some(Self {
            hosts,
            usage,
            max_cache_time,
        })
    }
}

/// The 3006 answer of a redirect route: one Redirect-Host per peer of the route
/// (`aaa://host`), its Redirect-Host-Usage and, unless DONT_CACHE, its
/// Redirect-Max-Cache-Time.
pub(crate) fn redirect_answer(
    request: &Message,
    local: &LocalCapabilities,
    route: &Route,
) -> Message {
    let mut b = generate_answer(request, local, ResultCode::DIAMETER_REDIRECT_INDICATION.0);
    let m = AvpFlags(AvpFlags::MANDATORY);
    for (host, _) in route.hosts() {
        b.avp(
            avp::REDIRECT_HOST.code,
            0,
            m,
            &DiameterUri::from(format!("aaa://{host}").as_str()),
        );
    }
    let usage = route.spec.redirect_usage;
    b.avp(avp::REDIRECT_HOST_USAGE.code, 0, m, &usage.value());
    if usage != RedirectUsage::DontCache {
        let secs = route
            .spec
            .redirect_cache_time
            .as_secs()
            .min(u64::from(u32::MAX)) as u32;
        b.avp(avp::REDIRECT_MAX_CACHE_TIME.code, 0, m, &secs);
    }
    b.build()
}

/// What a cached redirect is matched on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    usage: RedirectUsage,
    /// The value of the AVP the usage names (empty for ALL_APPLICATION).
    value: Box<[u8]>,
    application_id: u32,
}

impl Key {
    fn of(usage: RedirectUsage, request: &Message) -> Option<Self> {
        let app = request.application_id();
        let avp_value = |key| request.find(key).map(|a| Box::<[u8]>::from(a.data));
        let (value, application_id) = match usage {
            RedirectUsage::DontCache => return None,
            RedirectUsage::AllSession => (avp_value(avp::SESSION_ID)?, 0),
            RedirectUsage::AllRealm => (avp_value(avp::DESTINATION_REALM)?, 0),
            RedirectUsage::RealmAndApplication => (avp_value(avp::DESTINATION_REALM)?, app),
            RedirectUsage::AllApplication => (Box::default(), app),
            RedirectUsage::AllHost => (avp_value(avp::DESTINATION_HOST)?, 0),
            RedirectUsage::AllUser => (avp_value(avp::USER_NAME)?, 0),
        };
        Some(Self {
            usage,
            value,
            application_id,
        })
    }
}

#[derive(Debug)]
struct Entry {
    key: Key,
    host: Arc<str>,
    expires: Instant,
}

/// Redirects to apply to later requests.
#[derive(Debug, Default)]
pub(crate) struct RedirectCache {
    nonempty: AtomicBool,
    entries: Mutex<VecDeque<Entry>>,
}

impl RedirectCache {
    /// Remembers a redirect of `request` to `host` (nothing for DONT_CACHE or a zero cache
    /// time). A newer redirect for the same key replaces the older one.
    pub(crate) fn insert(
        &self,
        request: &Message,
        ind: &RedirectIndication,
        host: &str,
        now: Instant,
    ) {
        if ind.max_cache_time.is_zero() {
            return;
        }
        let Some(key) = Key::of(ind.usage, request) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.key != key && e.expires > now);
        if entries.len() >= MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(Entry {
            key,
            host: host.into(),
            expires: now + ind.max_cache_time,
        });
        self.nonempty.store(true, Ordering::Release);
    }

    /// Whether no redirect is cached (one atomic load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        !self.nonempty.load(Ordering::Acquire)
    }

    /// The host a cached redirect sends `request` to, if any.
    #[inline]
    pub(crate) fn lookup(&self, request: &Message, now: Instant) -> Option<Arc<str>> {
        if !self.nonempty.load(Ordering::Acquire) {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.expires > now);
        if entries.is_empty() {
            self.nonempty.store(false, Ordering::Release);
            return None;
        }
        entries
            .iter()
            .rev()
            .find(|e| Key::of(e.key.usage, request).is_some_and(|k| k == e.key))
            .map(|e| e.host.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{RouteAction, RouteSpec, RoutingTable};
    use diameter_core::{DiameterIdentity, MessageBuilder, Utf8String};

    fn request(realm: &str, session: &str, app: u32) -> Message {
        let mut b = MessageBuilder::request(272, app, true);
        b.add(avp::SESSION_ID, &Utf8String::from(session));
        b.add(avp::ORIGIN_HOST, &DiameterIdentity::from("c.example.net"));
        b.add(avp::ORIGIN_REALM, &DiameterIdentity::from("example.net"));
        b.add(avp::DESTINATION_REALM, &DiameterIdentity::from(realm));
        b.build()
    }

    #[test]
    fn answer_round_trips_through_the_indication() {
        let table = RoutingTable::new(
            &[RouteSpec::new("*", RouteAction::Redirect)
                .peer("S1.example.net")
                .peer("s2.example.net")
                .redirect(RedirectUsage::AllRealm, Duration::from_secs(60))],
            None,
        );
        let route = table.lookup(Some(b"x"), 4).unwrap();
        let local = LocalCapabilities::new("dra.example.net", "example.net");
        let answer = redirect_answer(&request("x", "s;1", 4), &local, route);
        assert!(answer.header().flags.is_error());
        let ind = RedirectIndication::from_answer(&answer).unwrap();
        assert_eq!(ind.hosts, ["s1.example.net", "s2.example.net"]);
        assert_eq!(ind.usage, RedirectUsage::AllRealm);
        assert_eq!(ind.max_cache_time, Duration::from_secs(60));
        assert!(RedirectIndication::from_answer(&request("x", "s", 4)).is_none());
    }

    #[test]
    fn cache_applies_by_usage_and_expires() {
        let cache = RedirectCache::default();
        let now = Instant::now();
        let ind = |usage, secs| RedirectIndication {
            hosts: vec![],
            usage,
            max_cache_time: Duration::from_secs(secs),
        };
        let a = request("a.net", "s;1", 4);
        assert!(cache.lookup(&a, now).is_none());
        cache.insert(&a, &ind(RedirectUsage::DontCache, 60), "h0", now);
        assert!(cache.lookup(&a, now).is_none());
        cache.insert(&a, &ind(RedirectUsage::RealmAndApplication, 60), "h1", now);
        assert_eq!(
            cache.lookup(&request("a.net", "s;2", 4), now).as_deref(),
            Some("h1")
        );
        assert!(cache.lookup(&request("a.net", "s;2", 5), now).is_none());
        assert!(cache.lookup(&request("b.net", "s;2", 4), now).is_none());
        cache.insert(&a, &ind(RedirectUsage::AllSession, 10), "h2", now);
        assert_eq!(
            cache.lookup(&request("b.net", "s;1", 9), now).as_deref(),
            Some("h2")
        );
        let later = now + Duration::from_secs(30);
        assert!(cache.lookup(&request("b.net", "s;1", 9), later).is_none());
        assert_eq!(cache.lookup(&a, later).as_deref(), Some("h1"));
        assert!(cache.lookup(&a, now + Duration::from_secs(61)).is_none());
        assert!(!cache.nonempty.load(Ordering::Relaxed));
    }
}
