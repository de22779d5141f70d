//! Fuzz target: `diameter_core::fuzzing::decode_message` must never panic, hang or allocate without
//! bound on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    diameter_core::fuzzing::decode_message(data);
});
