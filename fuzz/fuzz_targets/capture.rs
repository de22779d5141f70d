//! Fuzz target: `diameter decode --pcap`'s capture reader (pcap/pcapng files, link layers,
//! IP reassembly, TCP and SCTP reassembly, framing) and its renderers (text and JSON of every
//! message found, with the 3GPP value decoders) must never panic, hang or allocate without
//! bound on any input. The CLI is a binary crate, so its modules are compiled in here from
//! their files.
#![no_main]
#![allow(dead_code, unused_imports, unreachable_pub, missing_docs)]

#[path = "../../diameter-cli/src/capture/mod.rs"]
mod capture;
#[path = "../../diameter-cli/src/framing.rs"]
mod framing;
#[path = "../../diameter-cli/src/input.rs"]
mod input;
#[path = "../../diameter-cli/src/render/mod.rs"]
mod render;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = capture::Options::default();
    let mut text = String::new();
    let mut json = Vec::new();
    let (_report, _result) = capture::read(data, &opts, &mut |item| {
        if let input::Item::Frame(input::Frame { data: Ok(bytes), .. }) = item {
            if let Ok(msg) = diameter_core::Message::decode(bytes) {
                text.clear();
                json.clear();
                render::text::message(&mut text, &msg);
                render::json::message_open(&mut json, &msg);
            }
        }
        Ok(())
    });
});
