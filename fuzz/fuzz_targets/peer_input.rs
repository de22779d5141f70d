//! Fuzz target: what the node reads from a peer beyond the codec
//! (`diameter_node::fuzzing::peer_input`: capabilities negotiation, answers built for the
//! message, redirects, DOIC reports, relaying edits) must never panic, hang or allocate
//! without bound on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    diameter_node::fuzzing::peer_input(data);
});
