//! Typed requests and answers (`NodeHandle::request`, `Application::route`): a typed
//! client gets its typed answer, or the error answer with its Result-Code (or
//! Experimental-Result), Failed-AVP and Error-Message, never a decode error; the node fills
//! and checks what a request needs before it goes on the wire.

mod common;

use std::time::Duration;

use common::*;
use diameter_core::generated::base::{
    SessionTerminationAnswer, SessionTerminationRequest, TerminationCause, avp,
};
use diameter_core::generated::credit_control::{CcRequestType, CreditControlRequest};
use diameter_core::generated::ts29229::RegistrationTerminationRequest;
use diameter_core::generated::ts29272::UpdateLocationRequest;
use diameter_core::typed::AnswerResult;
use diameter_core::{AvpFlags, RawAvp};
use diameter_node::app::{Application, Ctx};
use diameter_node::peer::capabilities::SupportedApplication;
use diameter_node::{CallError, HandlerError, Node, NodeConfig, NodeHandle, PeerSpec, Request};

const S6A: u32 = 16_777_251;
const CX: u32 = 16_777_216;
const TGPP: u32 = 10_415;

/// A server whose Gy handler answers each CC-Request-Number with a chosen failure, as a
/// peer would: 1 → 3004 (E bit), 2 → 5001 with Failed-AVP, 3 → 5005 with Failed-AVP,
/// 4 → 3002 (E bit) with Error-Message; anything else 2001. Its S6a route answers ULR with
/// Experimental-Result 5420, and it serves STR in Gy.
async fn failing_server() -> NodeHandle {
    let gy = Application::auth(GY)
        .commands(&[CC, 275])
        .handler(|req: Request| async move {
            if req.message().code() == 275 {
                return Ok::<_, HandlerError>(req.answer(2001).into());
            }
            let number = req
                .message()
                .get::<u32>(avp_key(CC_REQUEST_NUMBER))
                .and_then(Result::ok)
                .unwrap_or(0);
            let failed = |code: u32, data: &'static [u8]| {
                let mut buf = bytes::BytesMut::new();
                RawAvp {
                    code,
                    flags: AvpFlags(AvpFlags::MANDATORY),
                    vendor: 0,
                    data: bytes::Bytes::from_static(data),
                }
                .encode(&mut buf);
                buf.freeze()
            };
            let a = match number {
                1 => req.answer(3004),
                2 => {
                    let mut a = req.answer(5001);
                    a.failed_avp(&failed(99_999, b"x"));
                    a
                }
                3 => {
                    let mut a = req.answer(5005);
                    a.failed_avp(&failed(CC_REQUEST_TYPE, &[0, 0, 0, 0]));
                    a
                }
                4 => {
                    let mut a = req.answer(3002);
                    a.add(
                        avp::ERROR_MESSAGE,
                        &diameter_core::Utf8String::from("no route to ocs9"),
                    );
                    a
                }
                _ => {
                    use diameter_core::typed::{Command, RequestCommand};
                    let ccr = CreditControlRequest::decode(req.message())?;
                    let local = req.local();
                    let cca = ccr.answer(&local.origin_host, &local.origin_realm, 2001.into());
                    return Ok(diameter_node::Answer::typed(&cca));
                }
            };
            // Protocol errors (3xxx) carry the E bit (RFC 6733 §7.1.3).
            assert_eq!(a.header().flags.is_error(), matches!(number, 1 | 4));
            Ok(a.into())
        });
    let s6a = Application::vendor_auth(TGPP, S6A).route(
        |ulr: UpdateLocationRequest, cx: Ctx| async move {
            Ok::<_, HandlerError>(cx.answer(
                &ulr,
                AnswerResult::Experimental {
                    vendor_id: TGPP,
                    code: 5420,
                },
            ))
        },
    );
    Node::builder(server_config("server.example.org", &[loopback()]))
        .application(gy)
        .application(s6a)
        .start()
        .await
        .expect("server starts")
}

fn avp_key(code: u32) -> diameter_core::AvpKey {
    diameter_core::AvpKey::new(code, 0)
}

async fn client(server: &NodeHandle, apps: &[SupportedApplication]) -> NodeHandle {
    let uri = format!("aaa://{}:3868;transport=tcp", server.local().origin_host);
    let mut config = NodeConfig::new("client.example.org", "example.org")
        .timers(timers())
        .peer(PeerSpec::new(uri).address(server.local_addrs()[0]));
    for a in apps {
        config = config.application(*a);
    }
    let node = Node::builder(config).start().await.expect("client starts");
    node.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    node
}

fn ccr(number: u32) -> CreditControlRequest {
    CreditControlRequest {
        auth_application_id: GY,
        service_context_id: "32251@3gpp.org".into(),
        cc_request_type: CcRequestType::UPDATE_REQUEST,
        cc_request_number: number,
        ..Default::default()
    }
}

#[tokio::test]
async fn error_answers_keep_their_result_code_and_failed_avp() {
    let server = failing_server().await;
    let client = client(&server, &[SupportedApplication::auth(GY)]).await;

    // 2001: the typed answer.
    let cca = client.request(ccr(0)).await.unwrap();
    assert_eq!(cca.result_code, 2001);
    assert_eq!(cca.cc_request_number, 0);

    let err = |n| {
        let client = client.clone();
        async move {
            match client.request(ccr(n)).await {
                Err(CallError::Answer(e)) => *e,
                other => panic!("request {n}: expected an error answer, got {other:?}"),
            }
        }
    };
    let busy = err(1).await;
    assert_eq!(
        busy.result,
        AnswerResult::Code(diameter_core::ResultCode(3004))
    );
    assert!(busy.message.header().flags.is_error());
    assert_eq!(busy.origin_host.as_deref(), Some("server.example.org"));

    let unsupported = err(2).await;
    assert_eq!(unsupported.code(), 5001);
    assert_eq!(unsupported.failed_avps.len(), 1);
    assert_eq!(unsupported.failed_avps[0].code, 99_999);
    assert!(unsupported.to_string().contains("5001"), "{unsupported}");

    let missing = err(3).await;
    assert_eq!(missing.code(), 5005);
    assert_eq!(missing.failed_avps[0].code, CC_REQUEST_TYPE);

    let undeliverable = err(4).await;
    assert_eq!(undeliverable.code(), 3002);
    assert!(undeliverable.message.header().flags.is_error());
    assert_eq!(
        undeliverable.error_message.as_deref(),
        Some("no route to ocs9")
    );

    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_experimental_result_is_reported_with_its_vendor() {
    let server = failing_server().await;
    let client = client(&server, &[SupportedApplication::vendor_auth(TGPP, S6A)]).await;
    let ulr = UpdateLocationRequest {
        user_name: "262011234567890".into(),
        rat_type: 1004.into(),
        ulr_flags: 0x22,
        visited_plmn_id: bytes::Bytes::from_static(&[0x62, 0xf2, 0x10]),
        ..Default::default()
    };
    match client.request(ulr).await {
        Err(CallError::Answer(e)) => {
            assert_eq!(
                e.result,
                AnswerResult::Experimental {
                    vendor_id: TGPP,
                    code: 5420
                }
            );
            assert!(!e.message.header().flags.is_error());
            // The answer still decodes as ULA, for whoever wants its other members.
            let ula = e
                .typed::<diameter_core::generated::ts29272::UpdateLocationAnswer>()
                .unwrap();
            assert_eq!(
                ula.experimental_result.unwrap().experimental_result_code,
                5420
            );
        }
        other => panic!("expected the 5420 error answer, got {other:?}"),
    }
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_required_member_left_empty_is_refused_before_sending() {
    let server = failing_server().await;
    let client = client(&server, &[SupportedApplication::auth(GY)]).await;
    let mut no_context = ccr(0);
    no_context.service_context_id = "".into();
    assert_eq!(
        client.request(no_context).await.unwrap_err(),
        CallError::Missing("Service-Context-Id")
    );
    assert_eq!(client.stats().requests_sent, 0, "nothing went on the wire");
    // What the node owns is filled in: Session-Id, Origin-*, Destination-Realm (the peer's).
    let cca = client.request(ccr(0)).await.unwrap();
    assert!(
        cca.session_id.starts_with("client.example.org;"),
        "{}",
        cca.session_id
    );
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_typed_str_goes_out_in_its_session_s_application() {
    let server = failing_server().await;
    let client = client(&server, &[SupportedApplication::auth(GY)]).await;
    // STR is a base command (application 0 in its ABNF): the header's Application-Id comes
    // from Auth-Application-Id. Sent in application 0 it would be answered 3007.
    let str_ = SessionTerminationRequest {
        auth_application_id: GY,
        termination_cause: TerminationCause::DIAMETER_LOGOUT,
        ..Default::default()
    };
    let sta: SessionTerminationAnswer = client.request(str_).await.unwrap();
    assert_eq!(sta.result_code, 2001);
    assert_eq!(sta.header.application_id, GY);
    client.shutdown().await;
    server.shutdown().await;
}

/// A Cx HSS sends RTR to the S-CSCF, which answers it with a typed route: the RTR goes out
/// in Cx (16777216) and Vendor-Specific-Application-Id comes back in the RTA.
#[tokio::test]
async fn a_typed_rtr_goes_out_in_cx_and_comes_back_answered() {
    let scscf = Node::builder(server_config("scscf.example.org", &[loopback()]))
        .application(Application::vendor_auth(TGPP, CX).route(
            |rtr: RegistrationTerminationRequest, cx: Ctx| async move {
                Ok::<_, HandlerError>(cx.answer(&rtr, 2001))
            },
        ))
        .start()
        .await
        .unwrap();
    let hss = client(&scscf, &[SupportedApplication::vendor_auth(TGPP, CX)]).await;
    let mut rtr = RegistrationTerminationRequest {
        destination_host: "scscf.example.org".into(),
        user_name: "alice@example.org".into(),
        auth_session_state: 1.into(),
        ..Default::default()
    };
    rtr.vendor_specific_application_id.vendor_id = TGPP;
    rtr.vendor_specific_application_id.auth_application_id = Some(CX);
    rtr.deregistration_reason.reason_code = 0.into();
    let rta = hss.request(rtr).await.unwrap();
    assert_eq!(rta.header.application_id, CX);
    assert_eq!(rta.result_code, Some(2001));
    assert_eq!(
        rta.vendor_specific_application_id.auth_application_id,
        Some(CX)
    );
    hss.shutdown().await;
    scscf.shutdown().await;
}

/// A peer that cannot be reached says why: the node's `wait_for_ready` error and the
/// peer's `last_failure` name the refused connection.
#[tokio::test]
async fn not_ready_says_the_connection_was_refused() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let client = start_client(addr).await;
    let err = client
        .wait_for_ready(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    let why = client.peers()[0].last_failure.clone().unwrap_or_default();
    assert!(why.contains("refused"), "{why}");
    client.abort();
}
