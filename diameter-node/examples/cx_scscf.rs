//! A Cx S-CSCF (3GPP TS 29.229): registers a user at the HSS with a Server-Assignment-Request
//! and answers the Registration-Termination-Request (RTR) with which the HSS deregisters
//! her.
//!
//! `cargo run -p diameter-node --example cx_scscf -- 127.0.0.1:3868` (with `cx_hss` there).
use std::sync::Arc;
use std::time::Duration;

use diameter_core::generated::base::AuthSessionState;
use diameter_core::generated::ts29229::{
    RegistrationTerminationRequest, ServerAssignmentRequest, ServerAssignmentType,
    UserDataAlreadyAvailable, application,
};
use diameter_node::{Application, Ctx, HandlerError, Node, NodeConfig, PeerSpec};
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hss = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3868".into());
    let config = NodeConfig::new("scscf.example.net", "example.net")
        .peer(PeerSpec::new("aaa://hss.example.net").address(hss.parse()?));
    let deregistered = Arc::new(Notify::new());
    let cx = Application::vendor_auth(10415, application::TGPP_CX)
        .state(deregistered.clone())
        .route(|rtr: RegistrationTerminationRequest, cx: Ctx<Arc<Notify>>| async move {
            println!("S-CSCF: RTR for {}", rtr.user_name);
            cx.state().notify_one();
            Ok::<_, HandlerError>(cx.answer(&rtr, 2001))
        });
    let node = Node::builder(config).application(cx).start().await?;
    node.wait_for_ready(Duration::from_secs(5)).await?;

    let sar = ServerAssignmentRequest {
        user_name: Some("alice@example.net".into()),
        public_identity: vec!["sip:alice@example.net".into()],
        server_name: "sip:scscf.example.net".into(),
        server_assignment_type: ServerAssignmentType::REGISTRATION,
        user_data_already_available: UserDataAlreadyAvailable::USER_DATA_NOT_AVAILABLE,
        auth_session_state: AuthSessionState::NO_STATE_MAINTAINED,
        ..Default::default()
    };
    let saa = node.request(sar).await?;
    println!("S-CSCF: SAA {:?}", saa.result_code);
    tokio::time::timeout(Duration::from_secs(5), deregistered.notified()).await?;
    println!("S-CSCF: alice deregistered by the HSS");
    node.shutdown().await;
    Ok(())
}
