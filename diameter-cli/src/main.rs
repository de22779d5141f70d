//! The `diameter` command: decode, encode and dictionary look-ups over the `diameter-core`
//! codec.
//!
//! One module per subcommand (`decode`, `encode`, `dict`), each with its clap `Args` and a
//! `run(args) -> anyhow::Result<ExitCode>`; the input plumbing they share (hex lines,
//! length-framed streams, pcap/pcapng captures) lives beside them. Network subcommands
//! (`serve`, `send`, `bench`) are added the same way: a module, a [`Command`] variant and a
//! dispatch arm.
#![forbid(unsafe_code)]

mod capture;
mod decode;
mod dict;
mod encode;
mod framing;
mod input;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Diameter (RFC 6733) messages: decode, encode, and look up the dictionaries.
#[derive(Debug, Parser)]
#[command(name = "diameter", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode messages from hex, raw bytes or a pcap/pcapng capture.
    Decode(decode::Args),
    /// Encode messages from JSON (an object, an array, or one object per line).
    Encode(encode::Args),
    /// List or look up the compiled-in dictionaries.
    Dict(dict::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Encode(args) => encode::run(args),
        Command::Dict(args) => dict::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("diameter: {e:#}");
            ExitCode::FAILURE
        }
    }
}
