//! A Gy client (a PGW's charging function): 100 concurrent sessions, each CCR-I, CCR-U
//! reporting what it used until the OCS refuses more (4012), then CCR-T. Prints the totals.
//!
//! `cargo run -p diameter-node --example gy_client -- 127.0.0.1:3868` (with `gy_ocs` there).
use std::time::Duration;

use diameter_core::generated::credit_control::{
    CcRequestType, MultipleServicesCreditControl, UsedServiceUnit,
};
use diameter_core::generated::ts32299::{CreditControlAnswer, CreditControlRequest};
use diameter_node::{Application, CallError, Node, NodeConfig, NodeHandle, PeerSpec};

/// A CCR of the session, reporting `used` octets.
fn ccr(
    session_id: &str,
    kind: CcRequestType,
    number: u32,
    used: Option<u64>,
) -> CreditControlRequest {
    let usu = used.map(|o| UsedServiceUnit { cc_total_octets: Some(o), ..Default::default() });
    CreditControlRequest {
        session_id: session_id.into(),
        auth_application_id: 4,
        service_context_id: "32251@3gpp.org".into(),
        cc_request_type: kind,
        cc_request_number: number,
        multiple_services_credit_control: vec![MultipleServicesCreditControl {
            used_service_unit: usu.into_iter().collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// One session; returns the octets granted in all.
async fn session(node: NodeHandle) -> Result<u64, CallError> {
    let id = node.new_session_id();
    let (mut granted, mut used) = (0, None);
    for number in 0u32.. {
        let kind = if number == 0 {
            CcRequestType::INITIAL_REQUEST
        } else {
            CcRequestType::UPDATE_REQUEST
        };
        match node.request(ccr(&id, kind, number, used)).await {
            Ok(cca) => used = granted_octets(&cca), // and spent at once
            Err(CallError::Answer(e)) if e.code() == 4012 => {
                // CREDIT_LIMIT_REACHED: the session ends.
                node.request(ccr(&id, CcRequestType::TERMINATION_REQUEST, number + 1, None))
                    .await?;
                return Ok(granted);
            }
            Err(e) => return Err(e),
        }
        granted += used.unwrap_or(0);
    }
    unreachable!("the OCS ends every session")
}

fn granted_octets(cca: &CreditControlAnswer) -> Option<u64> {
    let mscc = cca.multiple_services_credit_control.first()?;
    mscc.granted_service_unit.as_ref()?.cc_total_octets
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ocs = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3868".into());
    let config = NodeConfig::new("pgw.example.net", "example.net")
        .peer(PeerSpec::new("aaa://ocs.example.net").address(ocs.parse()?));
    let node = Node::builder(config).application(Application::auth(4)).start().await?;
    node.wait_for_ready(Duration::from_secs(5)).await?;
    let sessions: Vec<_> = (0..100).map(|_| tokio::spawn(session(node.clone()))).collect();
    let mut total = 0;
    for s in sessions {
        total += s.await??;
    }
    println!("100 sessions, {total} octets granted");
    node.shutdown().await;
    Ok(())
}
