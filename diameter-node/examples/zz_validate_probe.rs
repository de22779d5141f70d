#![allow(missing_docs)]
//! TEMPORARY probe (to be removed): time of validate() and friends on the bench CCR.
use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use diameter_core::Message;

fn main() {
    let text = std::fs::read_to_string("/work/shared/bench/ccr.hex").unwrap();
    let ccr = Bytes::from(diameter_core::dump::parse_hex(text.trim()).unwrap());
    let m = Message::decode(ccr.clone()).unwrap();
    diameter_core::validate(&m).unwrap();
    for _ in 0..3 {
        let n = 2_000_000;
        let t = Instant::now();
        for _ in 0..n {
            black_box(diameter_core::validate(black_box(&m))).unwrap();
        }
        let v = t.elapsed().as_nanos() as f64 / n as f64;
        let t = Instant::now();
        for _ in 0..n {
            black_box(Message::decode(black_box(ccr.clone()))).unwrap();
        }
        let d = t.elapsed().as_nanos() as f64 / n as f64;
        println!("validate {v:.1} ns, decode {d:.1} ns");
    }
}
