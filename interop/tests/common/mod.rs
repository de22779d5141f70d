//! What the freeDiameter tests share: identities, timers, test_app's Test-Request and our
//! handler of it, the skip when the tools are missing, failing with freeDiameter's log.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diameter_core::generated::base::avp;
use diameter_core::{AvpFlags, AvpKey, DiameterIdentity, Message};
use diameter_interop::freediameter::{FreeDiameter, test_app};
use diameter_interop::{Tools, scenario_skipped};
use diameter_node::{Application, HandlerError, NodeHandle, Request, Timers};

pub const FD_HOST: &str = "fd.interop.test";
pub const OUR_HOST: &str = "ours.interop.test";
pub const REALM: &str = "interop.test";

pub const TEST_AVP: AvpKey = AvpKey::new(test_app::TEST_AVP, test_app::VENDOR_ID);

/// The tools, or a skipped line.
pub fn tools_or_skip(scenario: &str) -> Option<Tools> {
    match Tools::detect() {
        Ok(t) => Some(t),
        Err(why) => {
            scenario_skipped(scenario, &why);
            None
        }
    }
}

pub fn timers(watchdog: Duration) -> Timers {
    Timers {
        watchdog,
        watchdog_jitter: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(3),
        cea_timeout: Duration::from_secs(5),
        dpa_timeout: Duration::from_secs(5),
        reconnect_min: Duration::from_millis(500),
        reconnect_max: Duration::from_secs(5),
        quiet_after_dpr: Duration::from_secs(60),
        request_timeout: Duration::from_secs(5),
        frame_timeout: Duration::from_secs(5),
        drain_timeout: Duration::from_secs(1),
    }
}

/// A Test-Request of freeDiameter's test_app: Session-Id first, Origin-Host/Realm,
/// Destination-Realm, and Test-AVP (Integer32, vendor 999999, V bit) when `value` is given.
pub fn test_request(node: &NodeHandle, value: Option<i32>, dest_realm: &str) -> Message {
    let mut b = node.new_request(test_app::COMMAND_CODE, test_app::APPLICATION_ID, true);
    b.add(avp::DESTINATION_REALM, &DiameterIdentity::from(dest_realm));
    if let Some(v) = value {
        b.avp(TEST_AVP.code, TEST_AVP.vendor, AvpFlags::default(), &v);
    }
    b.build()
}

/// The Test-AVP value of a message.
pub fn test_avp(m: &Message) -> Option<i32> {
    m.get::<i32>(TEST_AVP).and_then(Result::ok)
}

/// Panics with freeDiameter's log tail.
pub fn fail(fd: &FreeDiameter, what: &str) -> ! {
    panic!(
        "{what}\n---- freeDiameterd log ({}):\n{}",
        fd.conf().display(),
        fd.log_tail(80)
    )
}

/// Our handler of test_app's Test-Request: 2001 with Test-AVP echoed.
pub fn test_app_server(seen: Arc<AtomicUsize>) -> Application {
    Application::vendor_auth(test_app::VENDOR_ID, test_app::APPLICATION_ID)
        .commands(&[test_app::COMMAND_CODE])
        .handler(move |req: Request| {
            let seen = seen.clone();
            async move {
                let msg = req.message();
                let Some(test) = msg.find(TEST_AVP) else {
                    return Err(HandlerError::ResultCode(5005));
                };
                seen.fetch_add(1, Ordering::SeqCst);
                let mut a = req.answer(2001);
                a.raw_ref(&test);
                Ok::<_, HandlerError>(a)
            }
        })
}

/// Waits (10 s at most) until `node` has an open peer with test_app's application, else
/// fails with `what`, the peers and freeDiameter's log.
pub async fn wait_admitted(node: &NodeHandle, fd: &FreeDiameter, what: &str) {
    if let Err(e) = node
        .wait_for_application(test_app::APPLICATION_ID, Duration::from_secs(10))
        .await
    {
        fail(fd, &format!("{what}: {e}; peers {:#?}", node.peers()));
    }
}

/// Sends a Test-Request with Test-AVP `value` to freeDiameter's test_app (realm
/// [`REALM`]) and checks its answer: 2001 with the Test-AVP echoed. Fails with
/// freeDiameter's log otherwise.
pub async fn echo_test_request(node: &NodeHandle, fd: &FreeDiameter, value: i32) -> Message {
    let answer = node
        .send(test_request(node, Some(value), REALM))
        .await
        .unwrap_or_else(|e| fail(fd, &format!("Test-Request {value}: {e}")));
    let dump = diameter_core::dump::text(&answer);
    assert_eq!(answer.result_code(), Some(2001), "{dump}");
    assert_eq!(test_avp(&answer), Some(value), "{dump}");
    answer
}
