//! A rough loopback throughput probe (not a benchmark; no assertions on speed):
//! `cargo test -p diameter-node --release --test throughput -- --ignored --nocapture`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use diameter_node::Limits;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "manual probe; run in release"]
async fn ccr_round_trips_over_one_connection() {
    let (server, _) = start_server(&[loopback()], Limits::default()).await;
    let client = start_client(server.local_addrs()[0]).await;
    client.wait_for_ready(Duration::from_secs(3)).await.unwrap();
    for in_flight in [1usize, 16, 128] {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Instant::now() + Duration::from_secs(2);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..in_flight {
            let c = client.clone();
            let done = done.clone();
            set.spawn(async move {
                let mut n = 0u32;
                while Instant::now() < stop {
                    let a = c.send(ccr(&c, n, None)).await.unwrap();
                    assert_eq!(a.result_code(), Some(2001));
                    n += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while set.join_next().await.is_some() {}
        println!(
            "{in_flight:>4} in flight: {:>8.0} round trips/s",
            done.load(Ordering::Relaxed) as f64 / 2.0
        );
    }
    client.shutdown().await;
    server.shutdown().await;
}
