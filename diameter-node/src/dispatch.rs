//! What happens to a received request before and while a handler runs (RFC 6733 §6.1,
//! §7): the checks that need no handler, in this order —
//!
//! 0. on a node with routes or the Relay application, routing (§6.1.4–§6.1.6, see
//!    `forward.rs`): forwarded to a peer (its answer comes back through the same channel
//!    as a handler's that runs in its own task; bounded node-wide by
//!    `limits.max_forwarded_requests`, 3004 beyond, not by step 4's bound), redirected (3006), refused (3002, 3003,
//!    3005, with Failed-AVP and Error-Message), or processed here; on a node without
//!    either, a request for another Destination-Realm is refused with 3003 and one for
//!    another Destination-Host with 3002 (one walk over the AVP headers); then, with
//!    duplicate detection on, a T-flagged request already answered gets the same answer
//!    again (§6.1.2);
//! 1. an Application-Id the node does not serve: 3007 DIAMETER_APPLICATION_UNSUPPORTED;
//! 2. a command the application does not serve: 3001 DIAMETER_COMMAND_UNSUPPORTED;
//! 3. validation against the dictionary under the application's policy
//!    ([`diameter_core::validate::validate_counting`]): 5001, 5004, 5005,
//!    5008, 5009, 5014, 3009 with Failed-AVP (§7.5);
//! 4. the connection's concurrency bound: 3004 DIAMETER_TOO_BUSY;
//!
//! then the handler runs. It is polled once right away: a handler that is done then (one
//! that waits for nothing) has its answer appended to the connection's output buffer, with
//! no task and no channel. Otherwise it goes on in its own task, which sends the answer
//! back to the peer's task, and it counts towards the bound of step 4 until then; its
//! request is kept meanwhile (`RunningHandlers`), so that a drain whose deadline passes
//! first (our shutdown, or a DPR from the peer) answers it 3002 with an Error-Message
//! before the DPR or DPA, and the handler's answer, when it comes, is dropped. An
//! error or a panic becomes 5012 DIAMETER_UNABLE_TO_COMPLY. (Header-level errors such as
//! 3008 are answered before, when the message fails to decode.) Every answer carries the
//! request's identifiers, whatever the handler wrote.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use diameter_core::data::DecodeCx;
use diameter_core::generated::base::avp;
use diameter_core::validate::validate_counting;
use diameter_core::{Header, Message, Policy, ResultCode};
use tracing::debug;

use crate::answer::{error_answer, node_answer};
use crate::app::{Answer, CatchUnwind, HandlerError, Request};
use crate::bound::Start;
use crate::clock;
use crate::forward::{
    Decision, Refusal, fail, not_for_this_node, refusal_answer, with_route_record,
};
use crate::lifecycle::Pending;
use crate::observe::Direction;
use crate::peer::{ConnId, LocalCapabilities};
use crate::redirect::redirect_answer;
use crate::shared::{
    Answers, ForwardPermit, Ingress, Late, NodeShared, PeerCommand, PeerSlot, Reply,
    RunningHandlers,
};
use crate::stats::Counters;

/// Where the answers to one connection's requests go.
pub(crate) struct ConnReplies<'a> {
    /// The connection.
    pub(crate) conn: ConnId,
    /// Its output buffer (answers available at once).
    pub(crate) out: &'a mut BytesMut,
    /// Its requests whose handlers run in their own task.
    pub(crate) handlers: &'a mut RunningHandlers,
    /// The way back for answers of handlers that run in their own task.
    pub(crate) later: &'a Answers,
}

/// Handles one received request (never a base-protocol one: the peer core answers those).
pub(crate) fn handle_request(
    node: &Arc<NodeShared>,
    slot: &Arc<PeerSlot>,
    replies: ConnReplies<'_>,
    msg: Message,
) {
    let counters = &slot.counters;
    Counters::bump(&counters.requests_received);
    let ConnReplies {
        conn,
        out,
        handlers,
        later,
    } = replies;
    let mut reply = |answer: Message| {
        Counters::bump(&counters.answers_sent);
        node.observer.message(&slot.name, Direction::Sent, &answer);
        out.extend_from_slice(answer.as_bytes());
    };
    if node.routes_requests() {
        match node.decide(&msg, slot, &[]) {
            Decision::Local => {}
            Decision::Forward {
                target,
                proxy,
                retry,
            } => {
                // Bounded node-wide and by the egress peer's pending table, not by this
                // connection's handler bound: a stalled backend must not refuse requests
                // another peer can take.
                let Some(permit) = node.serving.forwarding.try_acquire() else {
                    Counters::bump(&counters.too_busy);
                    let code = ResultCode::DIAMETER_TOO_BUSY.0;
                    let why = "too many forwarded requests waiting for their answer";
                    reply(node_answer(&msg, &node.local, code, why).build());
                    return;
                };
                let fwd = Forwarding {
                    target: &target,
                    proxy,
                    retry,
                    conn,
                    later,
                    permit,
                };
                if let Err(answer) = forward(node, slot, fwd, msg) {
                    Counters::bump(&counters.protocol_errors);
                    reply(answer);
                }
                return;
            }
            Decision::Redirect(route) => {
                reply(redirect_answer(&msg, &node.local, route));
                return;
            }
            Decision::Refuse(why) => {
                if why == Refusal::Loop {
                    Counters::bump(&counters.loops_detected);
                }
                Counters::bump(&counters.protocol_errors);
                reply(refusal_answer(&msg, &node.local, why));
                return;
            }
        }
    } else if let Some(why) = not_for_this_node(&msg, &node.local) {
        // No routes: what is not for this node cannot be delivered (§6.1.4, §6.1).
        Counters::bump(&counters.protocol_errors);
        reply(refusal_answer(&msg, &node.local, why));
        return;
    }
    // §6.1.2: a retransmission of a request answered before gets the same answer.
    let origin = match &node.serving.duplicates {
        Some(cache) => {
            let origin = msg.find(avp::ORIGIN_HOST).map(|a| a.data_bytes());
            let header = msg.header();
            if let (true, Some(o)) = (header.flags.is_retransmit(), &origin) {
                if let Some(answer) = cache.get(o, header.end_to_end, clock::now()) {
                    Counters::bump(&counters.duplicates);
                    Counters::bump(&counters.answers_sent);
                    let answer = fix_identifiers(answer, header);
                    node.observer.sent_bytes(&slot.name, &answer);
                    out.extend_from_slice(&answer);
                    return;
                }
            }
            origin
        }
        None => None,
    };
    let Some(app) = node.serving.apps.get(&msg.application_id()) else {
        Counters::bump(&counters.protocol_errors);
        reply(
            node_answer(
                &msg,
                &node.local,
                ResultCode::DIAMETER_APPLICATION_UNSUPPORTED.0,
                "application not supported by this node",
            )
            .build(),
        );
        return;
    };
    let Some(handler) = app.handler.as_ref().filter(|_| app.serves(msg.code())) else {
        Counters::bump(&counters.protocol_errors);
        reply(
            node_answer(
                &msg,
                &node.local,
                ResultCode::DIAMETER_COMMAND_UNSUPPORTED.0,
                "command not served by this application",
            )
            .build(),
        );
        return;
    };
    match validate_counting(&msg, DecodeCx::with_policy(app.policy)) {
        Ok(d) if d.is_empty() => {}
        Ok(d) => {
            Counters::bump(&counters.tolerated_deviations);
            debug!(deviations = d.count, first = ?d.first, "request accepted with deviations");
        }
        Err(e) => {
            Counters::bump(&counters.protocol_errors);
            reply(error_answer(&msg, &node.local, &e));
            return;
        }
    }
    node.doic.note_handlers(handlers.len());
    if handlers.len() >= node.config.limits.max_concurrent_handlers {
        Counters::bump(&counters.too_busy);
        reply(node_answer(&msg, &node.local, ResultCode::DIAMETER_TOO_BUSY.0, TOO_BUSY).build());
        return;
    }
    // The node-wide bound (python-diameter's max_threads): run now, wait in the queue, or
    // 3004 when the queue is full too.
    let bound = node.serving.handler_bound.as_ref();
    let permit = match bound.map(|b| (b, b.start())) {
        None => None,
        Some((_, Start::Now(p))) => Some(p),
        Some((_, Start::Refused)) => {
            Counters::bump(&counters.too_busy);
            reply(
                node_answer(&msg, &node.local, ResultCode::DIAMETER_TOO_BUSY.0, TOO_BUSY).build(),
            );
            return;
        }
        Some((bound, Start::Queued)) => {
            let ticket = handlers.start(msg.clone());
            let policy = app.policy;
            queue(
                node,
                bound,
                slot,
                (conn, ticket),
                later,
                handler.clone(),
                msg,
                origin,
                policy,
            );
            return;
        }
    };
    let header = *msg.header();
    let request =
        Request::new(msg.clone(), slot.name.clone(), node.local.clone()).with_policy(app.policy);
    let mut fut = CatchUnwind(handler.call(request));
    // Polled once here: a handler that waits for nothing is answered without a task. (A
    // pending one is polled again by its task, with that task's waker, before it waits.)
    if let Poll::Ready(outcome) = Pin::new(&mut fut).poll(&mut Context::from_waker(Waker::noop())) {
        let bytes = answer_bytes(node, slot, &msg, &header, origin, outcome);
        Counters::bump(&counters.answers_sent);
        node.observer.sent_bytes(&slot.name, &bytes);
        out.extend_from_slice(&bytes);
        return;
    }
    // Kept until its handler answers: a drain out of time answers it 3002 instead.
    let ticket = handlers.start(msg.clone());
    let later = later.clone();
    let slot = slot.clone();
    let local = node.local.clone();
    let node = (origin.is_some() || node.doic.enabled()).then(|| node.clone());
    tokio::spawn(async move {
        let outcome = fut.await;
        drop(permit);
        let mut bytes = finish(outcome, &msg, &local, &header, &slot.counters);
        if let Some(node) = node {
            bytes = node.doic.outgoing_answer(&msg, bytes);
            remember(&node, origin.as_deref(), &header, &bytes);
        }
        // Counted and observed by the peer's task, if it still goes (`answer_later`).
        let _ = later.send(Late::Handler(conn, ticket, bytes));
    });
}

/// Handles a request that waits for a place under the node-wide bound, in its own task;
/// its answer goes back through `later` to connection `to.0` with its ticket `to.1`, like
/// that of a handler that waits.
#[allow(clippy::too_many_arguments)]
fn queue(
    node: &Arc<NodeShared>,
    bound: &Arc<crate::bound::HandlerBound>,
    slot: &Arc<PeerSlot>,
    (conn, ticket): (ConnId, u64),
    later: &Answers,
    handler: Arc<dyn crate::app::Handler>,
    msg: Message,
    origin: Option<Bytes>,
    policy: Policy,
) {
    let (node, bound, slot, later) = (node.clone(), bound.clone(), slot.clone(), later.clone());
    tokio::spawn(async move {
        let permit = bound.wait().await;
        let header = *msg.header();
        let request =
            Request::new(msg.clone(), slot.name.clone(), node.local.clone()).with_policy(policy);
        let outcome = CatchUnwind(handler.call(request)).await;
        drop(permit);
        let bytes = answer_bytes(&node, &slot, &msg, &header, origin, outcome);
        let _ = later.send(Late::Handler(conn, ticket, bytes));
    });
}

/// The answer to send for a handler's outcome, once DOIC and duplicate detection have
/// seen it (the caller counts it and tells the observer when it goes).
fn answer_bytes(
    node: &NodeShared,
    slot: &PeerSlot,
    msg: &Message,
    header: &Header,
    origin: Option<Bytes>,
    outcome: Result<Answer, HandlerError>,
) -> Bytes {
    let bytes = finish(outcome, msg, &node.local, header, &slot.counters);
    let bytes = node.doic.outgoing_answer(msg, bytes);
    remember(node, origin.as_deref(), header, &bytes);
    bytes
}

/// Keeps an answer for retransmissions of its request (duplicate detection on).
fn remember(node: &NodeShared, origin: Option<&[u8]>, header: &Header, answer: &Bytes) {
    if let (Some(cache), Some(origin)) = (&node.serving.duplicates, origin) {
        cache.insert(origin, header.end_to_end, answer.clone(), clock::now());
    }
}

/// Where a received request is forwarded, and what it holds meanwhile.
struct Forwarding<'a> {
    target: &'a PeerSlot,
    proxy: bool,
    /// Its route's `retry_on_timeout`.
    retry: bool,
    conn: ConnId,
    later: &'a Answers,
    /// Its place under the node-wide bound, held while its answer is owed.
    permit: ForwardPermit,
}

/// Sends a received request on to `target` (relay or proxy, §6.1.8): Route-Record
/// naming the peer it came from, the proxy hook if any; its answer comes back through
/// `later`. `Err`: the answer to give instead.
fn forward(
    node: &Arc<NodeShared>,
    ingress: &Arc<PeerSlot>,
    fwd: Forwarding<'_>,
    msg: Message,
) -> Result<(), Message> {
    let Forwarding {
        target,
        proxy,
        retry,
        conn,
        later,
        permit,
    } = fwd;
    let hop_by_hop = msg.header().hop_by_hop;
    let received = msg.clone();
    let msg = match (&node.routing.proxy, proxy) {
        (Some(hook), true) => match hook.request(msg.clone()) {
            Ok(m) => m,
            Err(code) => {
                let why = "refused by the proxy hook";
                return Err(node_answer(&msg, &node.local, code.0, why).build());
            }
        },
        _ => msg,
    };
    let Some(request) = with_route_record(msg.as_bytes(), &ingress.name) else {
        let code = ResultCode::DIAMETER_UNABLE_TO_DELIVER.0;
        let why = "the request is too long to add a Route-Record";
        return Err(node_answer(&msg, &node.local, code, why).build());
    };
    Counters::bump(&ingress.counters.forwarded);
    // Owed to the ingress peer from now on: its drain waits for it (or answers it 3002).
    let ticket = ingress.owed.register(conn, received, permit);
    let o = Pending {
        request,
        deadline: clock::now() + node.config.timers.request_timeout,
        hops: 0,
        // A 3006 from upstream goes back to where the request came from.
        follows_redirects: false,
        retry: retry.then_some(node.config.timers.request_timeout),
        waiter: Reply::Forward(Ingress {
            slot: ingress.clone(),
            back: later.clone(),
            conn,
            hop_by_hop,
            proxy,
            ticket,
        }),
    };
    if let Err(e) = target.tx.send(PeerCommand::Request(o)) {
        // The peer's task is gone: 3002 through the usual way back.
        if let PeerCommand::Request(o) = e.0 {
            fail(node, o, crate::error::RequestError::PeerGone);
        }
    }
    Ok(())
}

/// Error-Message of the 3004 answers the node's bounds give.
const TOO_BUSY: &str = "too many requests in progress";

/// The bytes to send for a handler's outcome.
fn finish(
    outcome: Result<Answer, HandlerError>,
    msg: &Message,
    local: &LocalCapabilities,
    header: &Header,
    counters: &Counters,
) -> Bytes {
    match outcome {
        Ok(answer) => fix_identifiers(answer.0, header),
        Err(e) => {
            debug!(error = %e, "handler failed");
            match e {
                HandlerError::UnsupportedCommand => node_answer(
                    msg,
                    local,
                    ResultCode::DIAMETER_COMMAND_UNSUPPORTED.0,
                    "command not served by this application",
                )
                .build(),
                HandlerError::ResultCode(code) => node_answer(msg, local, code, "").build(),
                HandlerError::Decode(err) => error_answer(msg, local, &err),
                HandlerError::Failed(_) => {
                    Counters::bump(&counters.handler_failures);
                    let code = ResultCode::DIAMETER_UNABLE_TO_COMPLY.0;
                    node_answer(msg, local, code, "the application failed").build()
                }
            }
            .into_bytes()
        }
    }
}

/// Makes sure an answer carries the request's Hop-by-Hop and End-to-End Identifiers and
/// no R bit (§6.2); copies only when the handler got them wrong.
fn fix_identifiers(answer: Bytes, request: &Header) -> Bytes {
    let hbh = request.hop_by_hop.to_be_bytes();
    let e2e = request.end_to_end.to_be_bytes();
    if answer.len() < 20
        || (answer[12..16] == hbh && answer[16..20] == e2e && answer[4] & 0x80 == 0)
    {
        return answer;
    }
    crate::framing::edit_header(answer, |h| {
        h[4] &= !0x80;
        h[12..16].copy_from_slice(&hbh);
        h[16..20].copy_from_slice(&e2e);
    })
}
