//! A Gy online charging server (3GPP TS 32.299, RFC 4006): every session starts with a
//! balance of 10 MB; CCR-I and CCR-U are granted up to 1 MB of what is left, the usage they
//! report is charged, an empty balance is answered 4012 CREDIT_LIMIT_REACHED and CCR-T
//! closes the session.
//!
//! `cargo run -p diameter-node --example gy_ocs -- 127.0.0.1:3868` (Ctrl-C stops it).
use std::collections::HashMap;
use std::sync::Mutex;

use diameter_core::generated::credit_control::{
    CcRequestType, GrantedServiceUnit, MultipleServicesCreditControl,
};
use diameter_core::generated::ts32299::{CreditControlAnswer, CreditControlRequest};
use diameter_node::{Application, Ctx, HandlerError, Node, NodeConfig};

const BALANCE: u64 = 10_000_000;
const GRANT: u64 = 1_000_000;

/// Octets left per Session-Id.
#[derive(Default)]
struct Ocs(Mutex<HashMap<String, u64>>);

async fn credit_control(
    ccr: CreditControlRequest,
    cx: Ctx<Ocs>,
) -> Result<CreditControlAnswer, HandlerError> {
    let mut sessions = cx.state().0.lock().unwrap();
    let left = sessions.entry(ccr.session_id.to_string()).or_insert(BALANCE);
    let mscc = ccr.multiple_services_credit_control.iter();
    let used: u64 = mscc.flat_map(|m| &m.used_service_unit).filter_map(|u| u.cc_total_octets).sum();
    *left = left.saturating_sub(used);
    if ccr.cc_request_type == CcRequestType::TERMINATION_REQUEST {
        sessions.remove(&*ccr.session_id);
        return Ok(cx.answer(&ccr, 2001));
    }
    let grant = (*left).min(GRANT);
    if grant == 0 {
        return Ok(cx.answer(&ccr, 4012)); // DIAMETER_CREDIT_LIMIT_REACHED
    }
    let mut cca = cx.answer(&ccr, 2001);
    cca.multiple_services_credit_control.push(MultipleServicesCreditControl {
        granted_service_unit: Some(
            GrantedServiceUnit { cc_total_octets: Some(grant), ..Default::default() }.into(),
        ),
        result_code: Some(2001),
        ..Default::default()
    });
    Ok(cca)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3868".into());
    let config = NodeConfig::new("ocs.example.net", "example.net")
        .listen(listen.parse()?)
        .accept_unknown_peers("*");
    let gy = Application::auth(4).state(Ocs::default()).route(credit_control);
    let node = Node::builder(config).application(gy).start().await?;
    println!("OCS listening on {}", node.local_addrs()[0]);
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    Ok(())
}
