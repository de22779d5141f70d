//! A Cx HSS (3GPP TS 29.229): answers an S-CSCF's Server-Assignment-Request (SAR) and then,
//! as an HSS does when a subscription is withdrawn, deregisters the user with a
//! Registration-Termination-Request (RTR) sent to that S-CSCF.
//!
//! `cargo run -p diameter-node --example cx_hss -- 127.0.0.1:3868` (Ctrl-C stops it); run
//! `cx_scscf` against it.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diameter_core::generated::base::AuthSessionState;
use diameter_core::generated::ts29229::{
    DeregistrationReason, ReasonCode, RegistrationTerminationRequest, ServerAssignmentAnswer,
    ServerAssignmentRequest, application,
};
use diameter_node::{Application, Ctx, HandlerError, Node, NodeConfig, NodeHandle};

/// The HSS's own node, to send RTRs from a handler (set once the node runs).
type Hss = Arc<OnceLock<NodeHandle>>;

async fn server_assignment(
    sar: ServerAssignmentRequest,
    cx: Ctx<Hss>,
) -> Result<ServerAssignmentAnswer, HandlerError> {
    let node = cx.state().get().cloned().ok_or(HandlerError::ResultCode(5012))?;
    let rtr = RegistrationTerminationRequest {
        destination_host: sar.origin_host.clone(),
        user_name: sar.user_name.clone().unwrap_or_default(),
        auth_session_state: AuthSessionState::NO_STATE_MAINTAINED,
        deregistration_reason: DeregistrationReason {
            reason_code: ReasonCode::PERMANENT_TERMINATION,
            ..Default::default()
        },
        ..Default::default()
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await; // after the SAA
        match node.request(rtr).await {
            Ok(rta) => println!("HSS: RTA {:?}", rta.result_code),
            Err(e) => println!("HSS: RTR failed: {e}"),
        }
    });
    Ok(cx.answer(&sar, 2001))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3868".into());
    let config = NodeConfig::new("hss.example.net", "example.net")
        .listen(listen.parse()?)
        .accept_unknown_peers("*");
    let hss = Hss::default();
    let cx = Application::vendor_auth(10415, application::TGPP_CX).state(hss.clone());
    let node = Node::builder(config).application(cx.route(server_assignment)).start().await?;
    hss.set(node.clone()).ok();
    println!("HSS listening on {}", node.local_addrs()[0]);
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    Ok(())
}
