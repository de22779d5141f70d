//! A relay agent (RFC 6733 §2.8.1): requests for realm example.net go to the OCS behind it,
//! with Route-Record added and loops refused; answers come back the same way. With several
//! peers on the route it balances them and fails requests over with the T flag.
//!
//! `cargo run -p diameter-node --example relay -- 127.0.0.1:3869 127.0.0.1:3868` (listen
//! address, then the OCS's); clients of the OCS then connect to the relay instead.
use diameter_node::routing::{RouteAction, RouteSpec};
use diameter_node::{Node, NodeConfig, PeerSpec};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:3869".into());
    let ocs = args.next().unwrap_or_else(|| "127.0.0.1:3868".into());
    let config = NodeConfig::new("dra.example.net", "example.net")
        .listen(listen.parse()?)
        .accept_unknown_peers("*")
        .relay(true)
        .peer(PeerSpec::new("aaa://ocs.example.net").address(ocs.parse()?))
        .route(RouteSpec::new("example.net", RouteAction::Relay).peer("ocs.example.net"));
    let node = Node::builder(config).start().await?;
    println!("relay listening on {}", node.local_addrs()[0]);
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    Ok(())
}
