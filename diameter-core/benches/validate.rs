#![allow(missing_docs)]
//! §7 validation of the Gy CCR-I and CCA of shared/bench (`cargo bench -p diameter-core
//! --bench validate`): what a node pays for every received message before its handler
//! runs (the loopback benchmark of diameter-bench includes it on the server's side).

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use diameter_core::Message;
use std::hint::black_box;

fn hex(name: &str) -> Bytes {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    Bytes::from(diameter_core::dump::parse_hex(text.trim()).unwrap())
}

fn bench(c: &mut Criterion) {
    for name in ["ccr.hex", "cca.hex"] {
        let msg = Message::decode(hex(name)).unwrap();
        diameter_core::validate(&msg).unwrap();
        c.bench_function(&format!("validate {name}"), |b| {
            b.iter(|| diameter_core::validate(black_box(&msg)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
