//! Per-application validation policies at the node (issue 13): a request with a deviation
//! real networks send inside a Grouped AVP is answered 2001 and counted in
//! `tolerated_deviations` by an application under the tolerant policy (the default), and
//! answered with RFC 6733's Result-Code and Failed-AVP under the strict one.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use diameter_core::{AvpFlags, Message, MessageBuilder, Policy, Utf8String};
use diameter_node::{Node, NodeHandle};

const V3GPP: u32 = 10415;
const M: AvpFlags = AvpFlags(AvpFlags::MANDATORY);
const VM: AvpFlags = AvpFlags(AvpFlags::MANDATORY | AvpFlags::VENDOR);
const V: AvpFlags = AvpFlags(AvpFlags::VENDOR);

async fn server(policy: Option<Policy>) -> NodeHandle {
    let mut app = gy_server_app(Seen::default());
    if let Some(p) = policy {
        app = app.validation(p);
    }
    Node::builder(server_config("server.example.org", &[loopback()]))
        .application(app)
        .start()
        .await
        .expect("server starts")
}

/// A valid CCR from `client` with `deviation` appended.
fn ccr_with(client: &NodeHandle, deviation: fn(&mut MessageBuilder)) -> Message {
    let base = ccr(client, 0, None);
    let mut b = MessageBuilder::new(*base.header());
    for avp in base.avps() {
        b.raw_ref(&avp.unwrap());
    }
    deviation(&mut b);
    b.build()
}

/// A deviation: what it is, how to add it to a request, the strict policy's Result-Code.
type Deviation = (&'static str, fn(&mut MessageBuilder), u32);

/// The four deviations of issue 13.
fn deviations() -> [Deviation; 4] {
    [
        (
            "Supported-Features without its Vendor-Id",
            |b| {
                b.grouped(628, V3GPP, V, |g| {
                    g.avp(629, V3GPP, VM, &1u32);
                    g.avp(630, V3GPP, VM, &3u32);
                });
            },
            5005,
        ),
        (
            "Redirect-Support inside Redirect-Server",
            |b| {
                b.grouped(434, 0, M, |g| {
                    g.avp(433, 0, M, &0i32);
                    g.avp(435, 0, M, &Utf8String::from("192.0.2.1"));
                    g.avp(1086, V3GPP, V, &1i32);
                });
            },
            5008,
        ),
        (
            "three Flow-Descriptions where the ABNF allows two",
            |b| {
                b.grouped(519, V3GPP, VM, |g| {
                    g.avp(509, V3GPP, VM, &1u32);
                    for _ in 0..3 {
                        let rule = Utf8String::from("permit out 17 from 192.0.2.1 to 198.51.100.1");
                        g.avp(507, V3GPP, VM, &rule);
                    }
                });
            },
            5009,
        ),
        (
            "a DiameterURI that does not parse",
            |b| {
                b.grouped(618, V3GPP, VM, |g| {
                    g.avp(619, V3GPP, VM, &Bytes::from_static(b"ecf.example.net:3868"));
                });
            },
            5004,
        ),
    ]
}

async fn answers(policy: Option<Policy>) -> (Vec<(u32, bool)>, u64) {
    let server = server(policy).await;
    let client = start_client(server.local_addrs()[0]).await;
    client
        .wait_for_application(GY, Duration::from_secs(5))
        .await
        .expect("client connects");
    let mut out = Vec::new();
    for (what, deviation, _) in deviations() {
        let a = client
            .send(ccr_with(&client, deviation))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        out.push((
            a.result_code().unwrap_or(0),
            a.find(diameter_core::generated::base::avp::FAILED_AVP)
                .is_some(),
        ));
    }
    let counted = server.stats().tolerated_deviations;
    client.shutdown().await;
    server.shutdown().await;
    (out, counted)
}

#[tokio::test]
async fn the_default_policy_is_tolerant_and_counts() {
    let (codes, counted) = answers(None).await;
    assert_eq!(codes, [(2001, false); 4]);
    assert_eq!(counted, 4);
}

#[tokio::test]
async fn the_strict_policy_answers_the_rfc_codes_with_failed_avp() {
    let (codes, counted) = answers(Some(Policy::Strict)).await;
    let expected: Vec<(u32, bool)> = deviations().iter().map(|d| (d.2, true)).collect();
    assert_eq!(codes, expected);
    assert_eq!(counted, 0);
}
