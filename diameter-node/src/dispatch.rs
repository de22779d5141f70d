//! What happens to a received request before and while a handler runs (RFC 6733 §6.1,
//! §7): the checks that need no handler, in this order —
//!
//! 1. an Application-Id the node does not serve: 3007 DIAMETER_APPLICATION_UNSUPPORTED;
//! 2. a command the application does not serve: 3001 DIAMETER_COMMAND_UNSUPPORTED;
//! 3. validation against the dictionary ([`diameter_core::validate()`]): 5001, 5004, 5005,
//!    5008, 5009, 5014, 3009 with Failed-AVP (§7.5);
//! 4. the connection's concurrency bound: 3004 DIAMETER_TOO_BUSY;
//!
//! then the handler runs in its own task; an error or a panic becomes 5012
//! DIAMETER_UNABLE_TO_COMPLY. (Header-level errors such as 3008 are answered before, when
//! the message fails to decode.) Every answer carries the request's identifiers, whatever
//! the handler wrote.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use diameter_core::{Message, ResultCode};
use tokio::sync::Semaphore;
use tracing::debug;

use crate::answer::{error_answer, generate_answer};
use crate::app::{CatchUnwind, HandlerError, Request};
use crate::connection::{Writer, WriterMsg};
use crate::node::{NodeShared, PeerSlot};
use crate::stats::Counters;

/// Handles one received request (never a base-protocol one: the peer core answers those).
pub(crate) fn handle_request(
    node: &Arc<NodeShared>,
    slot: &Arc<PeerSlot>,
    writer: &Writer,
    permits: &Arc<Semaphore>,
    msg: Message,
) {
    let counters = &slot.counters;
    Counters::bump(&counters.requests_received);
    let reply = |answer: Message| {
        Counters::bump(&counters.answers_sent);
        let _ = writer.send(WriterMsg::Frame(answer.into_bytes()));
    };
    let Some(app) = node.apps.get(&msg.application_id()) else {
        Counters::bump(&counters.protocol_errors);
        reply(
            generate_answer(
                &msg,
                &node.local,
                ResultCode::DIAMETER_APPLICATION_UNSUPPORTED.0,
            )
            .build(),
        );
        return;
    };
    let Some(handler) = app.handler.clone().filter(|_| app.serves(msg.code())) else {
        Counters::bump(&counters.protocol_errors);
        reply(
            generate_answer(
                &msg,
                &node.local,
                ResultCode::DIAMETER_COMMAND_UNSUPPORTED.0,
            )
            .build(),
        );
        return;
    };
    if let Err(e) = diameter_core::validate(&msg) {
        Counters::bump(&counters.protocol_errors);
        reply(error_answer(&msg, &node.local, &e));
        return;
    }
    let Ok(permit) = permits.clone().try_acquire_owned() else {
        Counters::bump(&counters.too_busy);
        reply(generate_answer(&msg, &node.local, ResultCode::DIAMETER_TOO_BUSY.0).build());
        return;
    };
    let request = Request::new(msg, slot.name.clone(), node.local.clone());
    let writer = writer.clone();
    let slot = slot.clone();
    tokio::spawn(async move {
        let header = *request.message().header();
        let outcome = CatchUnwind(handler.call(request.clone())).await;
        drop(permit);
        let bytes = match outcome {
            Ok(answer) => fix_identifiers(answer.0, &header),
            Err(e) => {
                debug!(error = %e, "handler failed");
                let msg = request.message();
                let local = request.local();
                match e {
                    HandlerError::UnsupportedCommand => {
                        generate_answer(msg, local, ResultCode::DIAMETER_COMMAND_UNSUPPORTED.0)
                            .build()
                    }
                    HandlerError::ResultCode(code) => generate_answer(msg, local, code).build(),
                    HandlerError::Decode(err) => error_answer(msg, local, &err),
                    HandlerError::Failed(_) => {
                        Counters::bump(&slot.counters.handler_failures);
                        generate_answer(msg, local, ResultCode::DIAMETER_UNABLE_TO_COMPLY.0).build()
                    }
                }
                .into_bytes()
            }
        };
        Counters::bump(&slot.counters.answers_sent);
        let _ = writer.send(WriterMsg::Frame(bytes));
    });
}

/// Makes sure an answer carries the request's Hop-by-Hop and End-to-End Identifiers and
/// no R bit (§6.2); copies only when the handler got them wrong.
fn fix_identifiers(answer: Bytes, request: &diameter_core::Header) -> Bytes {
    let hbh = request.hop_by_hop.to_be_bytes();
    let e2e = request.end_to_end.to_be_bytes();
    if answer.len() < 20
        || (answer[12..16] == hbh && answer[16..20] == e2e && answer[4] & 0x80 == 0)
    {
        return answer;
    }
    let mut b = BytesMut::from(&answer[..]);
    b[4] &= !0x80;
    b[12..16].copy_from_slice(&hbh);
    b[16..20].copy_from_slice(&e2e);
    b.freeze()
}
