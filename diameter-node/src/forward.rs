//! Where a request goes (RFC 6733 §6.1) and how it survives a peer's failure (§5.5.4).
//!
//! - A request this node originates ([`crate::NodeHandle::send`]) goes to a cached
//!   redirect's host (§6.13), else to its Destination-Host if that is a peer, else to a
//!   peer of the route of its Destination-Realm and application, else to any open peer
//!   that shares its application.
//! - A request received from a peer, on a node with routes or the Relay application
//!   ([`NodeShared::decide`]), is processed locally, forwarded by a relay or proxy route
//!   (§2.8.1, §2.8.2: Route-Record added, §6.1.8), redirected (§2.8.3: 3006), or refused:
//!   3005 DIAMETER_LOOP_DETECTED when a Route-Record names this node (§6.1.3), 3003
//!   DIAMETER_REALM_NOT_SERVED for a realm without route, 3002 DIAMETER_UNABLE_TO_DELIVER
//!   when the route has no usable peer.
//! - A forwarded request is sent by the egress peer's task with its own Hop-by-Hop
//!   Identifier; the answer gets the ingress Hop-by-Hop back and is written on the
//!   connection the request came from (§6.2.2). Until then it is owed to the ingress peer
//!   (`PeerSlot::owed`: that peer's drain waits for it, or answers it 3002 at the drain
//!   deadline) and holds a place under the node-wide `limits.max_forwarded_requests`; the
//!   egress peer's pending table bounds what waits on that peer. The ingress connection's
//!   handler bound is for local handlers only.
//! - The route's selector chooses among the peers that are not stalled (requests pending
//!   with no answer for `limits.stalled_after`, 1 s by default) nor at their pending limit,
//!   whatever the selector; only when every peer is avoided does it choose among all.
//! - Requests in flight on a peer that fails (connection lost, watchdog SUSPECT) are sent
//!   again to another peer with the T flag and the same End-to-End Identifier (§5.5.4);
//!   each is still answered once: a late answer from the failed peer matches nothing.
//! - A forwarded request that times out, on a route with `retry_on_timeout`, goes the same
//!   way once (`Outcome::Retry`): to another eligible peer of the route, else the ingress
//!   peer gets 3002 with an Error-Message.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use diameter_core::avp::{AVP_HEADER_LEN, AvpHeaders, padded, put_header, put_padding};
use diameter_core::generated::base::avp;
use diameter_core::header::{HEADER_LEN, MAX_LENGTH, length_field};
use diameter_core::{AvpFlags, CommandFlags, Message, ResultCode, Utf8String};
use tracing::debug;

use crate::answer::{generate_answer, raw_error_answer};
use crate::error::RequestError;
use crate::framing::with_hop_by_hop;
use crate::lifecycle::Outcome;
use crate::peer::ConnId;
use crate::peer::LocalCapabilities;
use crate::routing::{Candidate, Route, RouteAction, is_stalled, prefer_healthy};
use crate::shared::{Ingress, Late, NodeShared, Outstanding, PeerCommand, PeerSlot, Reply};
use crate::stats::Counters;

/// Carries out what a peer's core decided about one of its requests (`slot`: that peer;
/// `rr`: its round-robin position for requests it moves elsewhere; `now`: the clock, read
/// only by the outcomes that need the time, not by every answer).
pub(crate) fn settle(
    node: &NodeShared,
    slot: &Arc<PeerSlot>,
    rr: &AtomicUsize,
    now: fn() -> Instant,
    outcome: Outcome<Reply>,
) {
    let counters = &slot.counters;
    match outcome {
        Outcome::Answered { pending, answer } => {
            Counters::bump(&counters.answers_received);
            deliver(node, pending, answer);
        }
        Outcome::Redirected {
            pending,
            answer,
            indication,
        } => {
            Counters::bump(&counters.answers_received);
            // §6.13: to the first Redirect-Host that is an open peer for the application.
            let request = Message::decode(pending.request.clone()).ok();
            let target = request.as_ref().and_then(|r| {
                let app = r.application_id();
                indication.hosts.iter().find_map(|h| {
                    let s = node.find_peer(h)?;
                    (s.usable_for(app) && !Arc::ptr_eq(&s, slot)).then_some((h, s))
                })
            });
            let (Some(request), Some((host, target))) = (request, target) else {
                debug!(hosts = ?indication.hosts, "redirect to no open peer: the caller gets the 3006");
                return deliver(node, pending, answer);
            };
            node.routing
                .redirects
                .insert(&request, &indication, host, now());
            Counters::bump(&counters.redirects_followed);
            hand_on(node, &target, pending);
        }
        Outcome::Failover {
            pending,
            retransmit,
        } => {
            let target =
                Message::decode(pending.request.clone())
                    .ok()
                    .and_then(|msg| match &pending.waiter {
                        Reply::Caller(_) => {
                            let app = msg.application_id();
                            node.select_for_send(&msg, app, Some(slot), rr, now())
                        }
                        Reply::Forward(ingress) => {
                            match node.decide(&msg, &ingress.slot, &[slot]) {
                                Decision::Forward { target, .. } => Some(target),
                                _ => None,
                            }
                        }
                    });
            let Some(target) = target else {
                Counters::bump(&counters.peer_gone);
                return fail(node, pending, RequestError::PeerGone);
            };
            Counters::bump(&counters.failovers);
            if retransmit {
                Counters::bump(&counters.retransmissions);
            }
            hand_on(node, &target, pending);
        }
        Outcome::Retry { pending } => {
            // Timed out here; once more to another peer of its route, if there is one
            // (never this one nor the one it came from), else 3002 as for any timeout.
            Counters::bump(&counters.timeouts);
            let target =
                match &pending.waiter {
                    Reply::Forward(ingress) => Message::decode(pending.request.clone())
                        .ok()
                        .and_then(|msg| match node.decide(&msg, &ingress.slot, &[slot]) {
                            Decision::Forward { target, .. } => Some(target),
                            _ => None,
                        }),
                    Reply::Caller(_) => None,
                };
            let Some(target) = target else {
                debug!("timed out, and no other peer to retry on");
                return fail(node, pending, RequestError::Timeout);
            };
            debug!(to = %target.name, "timed out: sent once more to another peer");
            Counters::bump(&counters.timeout_retries);
            hand_on(node, &target, pending);
        }
        Outcome::Failed { pending, error } => {
            match error {
                RequestError::Timeout => Counters::bump(&counters.timeouts),
                RequestError::PeerGone => Counters::bump(&counters.peer_gone),
                _ => {}
            }
            fail(node, pending, error);
        }
    }
}

/// Sends a request on to `target` (one more hop), or fails it if that task is gone.
fn hand_on(node: &NodeShared, target: &PeerSlot, mut o: Outstanding) {
    o.hops += 1;
    if let Err(e) = target.tx.send(PeerCommand::Request(o)) {
        if let PeerCommand::Request(o) = e.0 {
            fail(node, o, RequestError::PeerGone);
        }
    }
}

/// The answer to its waiter.
fn deliver(node: &NodeShared, o: Outstanding, answer: Message) {
    match o.waiter {
        Reply::Caller(tx) => {
            let _ = tx.send(Ok(answer));
        }
        Reply::Forward(ingress) => ingress.send_back(node, answer.into_bytes()),
    }
}

/// Ends without an answer from upstream: the caller gets `err`; the peer a forwarded
/// request came from gets 3002 DIAMETER_UNABLE_TO_DELIVER saying why (§6.1.9).
pub(crate) fn fail(node: &NodeShared, o: Outstanding, err: RequestError) {
    match o.waiter {
        Reply::Caller(tx) => {
            let _ = tx.send(Err(err));
        }
        Reply::Forward(ingress) => {
            let answer = match Message::decode(o.request.clone()) {
                Ok(req) => unable_to_deliver(node, &req, &err.to_string()),
                Err(_) => raw_error_answer(
                    &o.request,
                    &node.local,
                    ResultCode::DIAMETER_UNABLE_TO_DELIVER.0,
                    None,
                )
                .map(Message::into_bytes)
                .unwrap_or_default(),
            };
            ingress.send_back(node, answer);
        }
    }
}

/// 3002 DIAMETER_UNABLE_TO_DELIVER for `request`, with an Error-Message saying why.
pub(crate) fn unable_to_deliver(node: &NodeShared, request: &Message, why: &str) -> Bytes {
    let code = ResultCode::DIAMETER_UNABLE_TO_DELIVER.0;
    let mut b = generate_answer(request, &node.local, code);
    b.add(avp::ERROR_MESSAGE, &Utf8String::from(why));
    b.build().into_bytes()
}

/// The drain of `slot` (our stop, or its DPR) is out of time: every request still owed to
/// it is answered 3002 now, written on `conn`'s output through `write`, before the DPR or
/// DPA. A late answer from upstream then finds its entry gone and is dropped.
pub(crate) fn answer_owed(
    node: &NodeShared,
    slot: &PeerSlot,
    mut write: impl FnMut(ConnId, &[u8]),
) {
    let owed = slot.owed.claim_all();
    if !owed.is_empty() {
        tracing::warn!(
            requests = owed.len(),
            "drain time is up: forwarded requests answered 3002"
        );
    }
    for e in owed {
        let why = "the node stopped before the answer from upstream came";
        let answer = unable_to_deliver(node, &e.request, why);
        Counters::bump(&slot.counters.answers_sent);
        node.observer.sent_bytes(&slot.name, &answer);
        write(e.conn, &answer);
        drop(e);
        slot.owed.settled();
    }
}

impl Ingress {
    /// Writes an answer on the ingress connection, with the ingress Hop-by-Hop.
    pub(crate) fn send_back(self, node: &NodeShared, answer: Bytes) {
        // Exactly one outcome: the ingress' drain may have answered it already.
        let Some(entry) = self.slot.owed.claim(self.ticket) else {
            debug!("answer to a forwarded request answered already, dropped");
            return;
        };
        let mut answer = with_hop_by_hop(answer, self.hop_by_hop);
        if self.proxy {
            if let (Some(hook), Ok(msg)) = (&node.routing.proxy, Message::decode(answer.clone())) {
                answer = with_hop_by_hop(hook.answer(msg).into_bytes(), self.hop_by_hop);
            }
        }
        Counters::bump(&self.slot.counters.answers_sent);
        node.observer.sent_bytes(&self.slot.name, &answer);
        let _ = self.back.send(Late::Forwarded(self.conn, answer));
        // Settled once the answer is queued to the ingress task: its drain counts it
        // until then, so DPR never overtakes it.
        drop(entry);
        self.slot.owed.settled();
    }
}

/// What to do with a received request.
pub(crate) enum Decision<'a> {
    /// This node's applications process it.
    Local,
    /// Forward it to `target`; `proxy`: by a proxy route; `retry`: the route's
    /// `retry_on_timeout` (once more to another peer if the answer does not come in time).
    Forward {
        target: Arc<PeerSlot>,
        proxy: bool,
        retry: bool,
    },
    /// Answer 3006 naming the route's peers.
    Redirect(&'a Route),
    /// Answer with an error (3xxx, E bit).
    Refuse(Refusal),
}

/// Why a received request is neither processed here nor forwarded (§6.1): the answer's
/// Result-Code (with the E bit), its Failed-AVP and Error-Message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 3003 DIAMETER_REALM_NOT_SERVED: a Destination-Realm neither ours nor routed.
    RealmNotServed,
    /// 3002 DIAMETER_UNABLE_TO_DELIVER: a Destination-Host that is neither this node nor
    /// one it can reach.
    UnknownHost,
    /// 3002 DIAMETER_UNABLE_TO_DELIVER: the route has no usable peer.
    NoUsablePeer,
    /// 3005 DIAMETER_LOOP_DETECTED: a Route-Record names this node (§6.1.3).
    Loop,
}

impl Refusal {
    /// The Result-Code.
    pub(crate) fn result_code(self) -> u32 {
        match self {
            Self::RealmNotServed => ResultCode::DIAMETER_REALM_NOT_SERVED.0,
            Self::UnknownHost | Self::NoUsablePeer => ResultCode::DIAMETER_UNABLE_TO_DELIVER.0,
            Self::Loop => ResultCode::DIAMETER_LOOP_DETECTED.0,
        }
    }

    /// The Error-Message.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::RealmNotServed => {
                "Destination-Realm is not served by this node and no route leads to it"
            }
            Self::UnknownHost => "Destination-Host is neither this node nor reachable from it",
            Self::NoUsablePeer => "no peer of the route for this realm and application is usable",
            Self::Loop => "a Route-Record names this node",
        }
    }

    /// The AVP Failed-AVP holds (§7.5), as received: Destination-Realm, Destination-Host,
    /// or the Route-Record naming this node.
    pub(crate) fn failed_avp<'m>(
        self,
        msg: &'m Message,
        local: &LocalCapabilities,
    ) -> Option<diameter_core::AvpRef<'m>> {
        match self {
            Self::RealmNotServed => msg.find(avp::DESTINATION_REALM),
            Self::UnknownHost => msg.find(avp::DESTINATION_HOST),
            Self::NoUsablePeer => None,
            Self::Loop => msg
                .find_all(avp::ROUTE_RECORD)
                .find(|r| r.data.eq_ignore_ascii_case(local.origin_host.as_bytes())),
        }
    }
}

/// The answer refusing to process or forward `request` (§6.1: 3002, 3003, 3005 with the
/// E bit): the offending AVP in Failed-AVP (§7.5) and an Error-Message saying why.
pub(crate) fn refusal_answer(
    request: &Message,
    local: &LocalCapabilities,
    why: Refusal,
) -> Message {
    let mut b = generate_answer(request, local, why.result_code());
    b.avp(
        avp::ERROR_MESSAGE.code,
        0,
        AvpFlags::default(),
        &Utf8String::from(why.message()),
    );
    if let Some(a) = why.failed_avp(request, local) {
        b.failed_avp(&a.raw_bytes());
    }
    b.build()
}

/// §6.1.4 on a node without routes and without the Relay application, which processes
/// what is for it and forwards nothing: `None` when the request is for this node (its
/// Destination-Host is this node, or there is none and the Destination-Realm is ours or
/// absent); otherwise 3003 for another Destination-Realm, 3002 for another
/// Destination-Host (the same answers [`NodeShared::decide`] gives when no route
/// matches). One walk over the request's AVP headers.
pub(crate) fn not_for_this_node(msg: &Message, local: &LocalCapabilities) -> Option<Refusal> {
    let mut host: Option<&[u8]> = None;
    let mut realm: Option<&[u8]> = None;
    for (key, encoded) in AvpHeaders::message(msg.as_bytes()) {
        if key == avp::DESTINATION_HOST {
            host.get_or_insert(AvpHeaders::data(encoded));
        } else if key == avp::DESTINATION_REALM {
            realm.get_or_insert(AvpHeaders::data(encoded));
        }
    }
    if host.is_some_and(|h| h.eq_ignore_ascii_case(local.origin_host.as_bytes())) {
        return None;
    }
    if realm.is_some_and(|r| !r.eq_ignore_ascii_case(local.origin_realm.as_bytes())) {
        return Some(Refusal::RealmNotServed);
    }
    host.map(|_| Refusal::UnknownHost)
}

impl NodeShared {
    /// Whether received requests are routed at all: a node without routes and without the
    /// Relay application processes every request itself (and answers 3007 for
    /// applications it lacks), with no lookup on its hot path.
    #[inline]
    pub(crate) fn routes_requests(&self) -> bool {
        self.routing.enabled
    }

    /// §6.1.4–§6.1.6 for a request received from `ingress` (which it never goes back to),
    /// also avoiding the peers in `exclude` (those it already failed on).
    pub(crate) fn decide(
        &self,
        msg: &Message,
        ingress: &PeerSlot,
        exclude: &[&PeerSlot],
    ) -> Decision<'_> {
        let local = &self.local;
        let dest_host = msg.find(avp::DESTINATION_HOST).map(|a| a.data);
        if dest_host.is_some_and(|h| h.eq_ignore_ascii_case(local.origin_host.as_bytes())) {
            return Decision::Local;
        }
        // §6.1.3: a Route-Record naming this node means the request came round.
        if msg
            .find_all(avp::ROUTE_RECORD)
            .any(|r| r.data.eq_ignore_ascii_case(local.origin_host.as_bytes()))
        {
            return Decision::Refuse(Refusal::Loop);
        }
        let app = msg.application_id();
        let avoid =
            |s: &PeerSlot| std::ptr::eq(s, ingress) || exclude.iter().any(|e| std::ptr::eq(*e, s));
        if let Some(host) = dest_host.and_then(|h| std::str::from_utf8(h).ok()) {
            if let Some(slot) = self.find_peer(host) {
                if slot.usable_for(app) && !avoid(&slot) {
                    // That host or none: nowhere else to retry.
                    return Decision::Forward {
                        target: slot,
                        proxy: false,
                        retry: false,
                    };
                }
            }
        }
        let realm = msg.find(avp::DESTINATION_REALM).map(|a| a.data);
        let ours = realm.is_none_or(|r| r.eq_ignore_ascii_case(local.origin_realm.as_bytes()));
        match self.routing.table.lookup(realm, app) {
            Some(route) => match route.spec.action {
                RouteAction::Local => Decision::Local,
                RouteAction::Relay | RouteAction::Proxy => match self.pick(route, app, &avoid) {
                    Some(target) => Decision::Forward {
                        target,
                        proxy: route.spec.action == RouteAction::Proxy,
                        retry: route.spec.retry_on_timeout,
                    },
                    None => Decision::Refuse(Refusal::NoUsablePeer),
                },
                RouteAction::Redirect => Decision::Redirect(route),
            },
            // A Destination-Host in our realm that is neither us nor a peer: §6.1.4's
            // "unable to deliver".
            None if ours && dest_host.is_some() && exclude.is_empty() => {
                Decision::Refuse(Refusal::UnknownHost)
            }
            None if ours => Decision::Local,
            None => Decision::Refuse(Refusal::RealmNotServed),
        }
    }

    /// The peer a request this node originates goes to, avoiding `exclude` (the peer it
    /// failed on).
    pub(crate) fn select_for_send(
        &self,
        request: &Message,
        app: u32,
        exclude: Option<&PeerSlot>,
        rr: &AtomicUsize,
        now: Instant,
    ) -> Option<Arc<PeerSlot>> {
        let avoid = |s: &PeerSlot| exclude.is_some_and(|e| std::ptr::eq(e, s));
        let usable = |s: &Arc<PeerSlot>| s.usable_for(app) && !avoid(s);
        if !self.routing.redirects.is_empty() {
            if let Some(host) = self.routing.redirects.lookup(request, now) {
                if let Some(slot) = self.find_peer(&host).filter(usable) {
                    return Some(slot);
                }
            }
        }
        // Destination-Host picks the peer when there is a choice (§6.1).
        if self.peers.configured.len() != 1 || !self.routing.table.is_empty() || exclude.is_some() {
            if let Some(host) = request
                .find(avp::DESTINATION_HOST)
                .and_then(|a| std::str::from_utf8(a.data).ok())
            {
                if let Some(slot) = self.find_peer(host).filter(usable) {
                    return Some(slot);
                }
            }
        }
        if !self.routing.table.is_empty() {
            let realm = request.find(avp::DESTINATION_REALM).map(|a| a.data);
            if let Some(route) = self.routing.table.lookup(realm, app) {
                if matches!(route.spec.action, RouteAction::Relay | RouteAction::Proxy) {
                    return self.pick(route, app, &avoid);
                }
            }
        }
        let peers = &self.peers.configured;
        let n = peers.len();
        if n > 0 {
            let start = rr.fetch_add(1, Ordering::Relaxed);
            for i in 0..n {
                let slot = &peers[(start + i) % n];
                if usable(slot) {
                    return Some(slot.clone());
                }
            }
        }
        self.peers.dynamic_peers().into_iter().find(usable)
    }

    /// One of the route's peers that is usable for `app` and not avoided, by the route's
    /// selector.
    fn pick(
        &self,
        route: &Route,
        app: u32,
        avoid: &dyn Fn(&PeerSlot) -> bool,
    ) -> Option<Arc<PeerSlot>> {
        let usable = route
            .hosts()
            .filter_map(|(host, weight)| Some((self.find_peer(host)?, weight)))
            .filter(|(s, _)| s.usable_for(app) && !avoid(s));
        // Every selector avoids a peer that does not answer (or cannot take more) while
        // another one can.
        let limits = &self.config.limits;
        let (now, limit) = (crate::clock::now(), limits.max_pending_requests);
        let slots: Vec<(Arc<PeerSlot>, u32)> = prefer_healthy(usable.map(|(s, w)| {
            let pending = s.pending.load(Ordering::Relaxed);
            let sick = is_stalled(s.waiting_since(), now, limits.stalled_after) || pending >= limit;
            ((s, w), sick)
        }));
        if slots.is_empty() {
            return None;
        }
        let candidates: Vec<Candidate<'_>> = slots
            .iter()
            .map(|(s, weight)| Candidate {
                host: &s.name,
                pending: s.pending.load(Ordering::Relaxed),
                weight: *weight,
            })
            .collect();
        let i = route.selector.select(&candidates)?;
        slots.get(i).map(|(s, _)| s.clone())
    }
}

/// The request with a Route-Record naming the peer it came from appended (§6.1.8), and
/// reserved command flag bits cleared (§3: ignored on receipt, zero when sent); `None` if
/// it would exceed the 24-bit Message Length.
pub(crate) fn with_route_record(request: &[u8], identity: &str) -> Option<Bytes> {
    let len = request.len() + padded(AVP_HEADER_LEN + identity.len());
    if len > MAX_LENGTH || request.len() < HEADER_LEN {
        return None;
    }
    let mut b = BytesMut::with_capacity(len);
    b.extend_from_slice(request);
    let m = AvpFlags(AvpFlags::MANDATORY);
    let key = avp::ROUTE_RECORD;
    put_header(&mut b, key.code, m, key.vendor, identity.len());
    b.extend_from_slice(identity.as_bytes());
    put_padding(&mut b, identity.len());
    b[1..4].copy_from_slice(&length_field(len).to_be_bytes()[1..]);
    b[4] &= !CommandFlags::RESERVED;
    Some(b.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::{DiameterIdentity, MessageBuilder};

    #[test]
    fn route_record_is_appended_and_length_fixed() {
        let mut b = MessageBuilder::request(272, 4, true);
        b.add(avp::ORIGIN_HOST, &DiameterIdentity::from("c.example.net"));
        let req = b.build();
        let out = with_route_record(req.as_bytes(), "peer.example.net").unwrap();
        let msg = Message::decode(out).unwrap();
        let rr: Vec<_> = msg
            .find_all(avp::ROUTE_RECORD)
            .map(|a| a.data.to_vec())
            .collect();
        assert_eq!(rr, [b"peer.example.net".to_vec()]);
        assert!(msg.find(avp::ROUTE_RECORD).unwrap().flags.is_mandatory());
        assert!(with_route_record(&[0; 8], "x").is_none());
        let mut reserved = req.as_bytes().to_vec();
        reserved[4] |= CommandFlags::RESERVED;
        let out = with_route_record(&reserved, "peer.example.net").unwrap();
        assert_eq!(out[4], req.as_bytes()[4]);
    }
}
