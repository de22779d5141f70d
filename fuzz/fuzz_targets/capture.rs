//! Fuzz target: `diameter decode --pcap`'s capture reader (pcap/pcapng files, link layers,
//! IP reassembly, TCP and SCTP reassembly, framing) must never panic, hang or allocate
//! without bound on any input. The CLI is a binary crate, so its modules are compiled in
//! here from their files.
#![no_main]
#![allow(dead_code, unused_imports, unreachable_pub, missing_docs)]

#[path = "../../diameter-cli/src/capture/mod.rs"]
mod capture;
#[path = "../../diameter-cli/src/framing.rs"]
mod framing;
#[path = "../../diameter-cli/src/input.rs"]
mod input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = capture::Options::default();
    let mut items = 0usize;
    let (_report, _result) = capture::read(data, &opts, &mut |_item| {
        items += 1;
        Ok(())
    });
});
