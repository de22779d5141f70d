//! Typed code for the ACME Widget application, generated at build time by
//! `diameter_codegen::Builder` (see build.rs).
#![forbid(unsafe_code)]

include!(concat!(env!("OUT_DIR"), "/diameter_generated.rs"));
