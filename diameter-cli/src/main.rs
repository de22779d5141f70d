//! The `diameter` command: decode, encode and dictionary look-ups over the `diameter-core`
//! codec, and a node (`diameter-node`) that serves, sends, benchmarks and demonstrates.
//!
//! One module per subcommand (`decode`, `encode`, `dict`, `serve`, `send`, `bench`,
//! `demo`), each with its clap `Args` and a `run(args) -> anyhow::Result<ExitCode>`; the
//! input plumbing they share (hex lines, length-framed streams, pcap/pcapng captures) lives
//! beside them, and so do the network subcommands' shared parts (`net`: runtime,
//! applications, configuration; `responder`: the generic 2001 answers; `requests`: the
//! default CCR and filling requests in).
#![forbid(unsafe_code)]

mod bench;
mod capture;
mod decode;
mod demo;
mod dict;
mod encode;
mod framing;
mod input;
mod net;
mod output;
mod render;
mod requests;
mod responder;
mod send;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Diameter (RFC 6733): decode, encode and look up messages; serve, send and benchmark
/// over TCP.
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
    /// Answer every request of the served applications with 2001 (a test server).
    Serve(serve::Args),
    /// Send one request to a peer and print its answer.
    Send(send::Args),
    /// Measure round trips against a peer or an embedded server.
    Bench(bench::Args),
    /// Two nodes on loopback: CER/CEA, CCR/CCA, DWR/DWA, DPR/DPA, every message printed.
    Demo(demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Encode(args) => encode::run(args),
        Command::Dict(args) => dict::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Send(args) => send::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Demo(args) => demo::run(args),
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
