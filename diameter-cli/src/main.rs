//! The `diameter` command.
#![forbid(unsafe_code)]

fn main() {}
