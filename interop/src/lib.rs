//! Interoperability harness: real, independent Diameter implementations started on loopback
//! next to ours (`diameter-node` in-process, or the `diameter` command), with every scenario
//! captured and dissected by tshark.
//!
//! - [`tools`]: finds `freeDiameterd`, its extensions, freeDiameter's `test_app.fdx` (built by
//!   `scripts/freediameter-setup`) and `tshark`; when they are missing the tests print
//!   `skipped: freeDiameter not installed` and pass.
//! - [`freediameter`]: writes a freeDiameter configuration into a temporary folder, runs
//!   `freeDiameterd -c conf` as a child process (killed on drop) and reads its log.
//! - [`tshark`]: captures loopback traffic of chosen ports into a pcapng file, then dissects it
//!   (message counts, malformed packets, expert infos) and judges every message.
//! - [`cli`]: our `diameter` binary (built by cargo when needed) and `diameter serve` in the
//!   background.
//! - [`python`]: python-diameter 0.9.0 in the venv of `scripts/python-venv` and the scripts
//!   of `interop/python/`; without the venv or tshark those tests print a skipped line.
//! - [`erlang`]: Erlang/OTP's diameter application (`scripts/erlang-setup`), one VM per test
//!   process running `interop/erlang/interop_peer.escript`; without it those tests print a
//!   skipped line.
//! - [`check`]: the check a scenario ends with, on every message of its capture.
//! - [`process`], [`util`]: child processes that cannot outlive a test, temporary folders,
//!   free ports, bounded waits.
//!
//! Each scenario prints one line, `interop: <scenario> ... ok`, which `scripts/interop` sums
//! up.
#![forbid(unsafe_code)]

pub mod check;
pub mod cli;
pub mod erlang;
pub mod freediameter;
pub mod process;
pub mod python;
pub mod tools;
pub mod tshark;
pub mod util;

pub use tools::Tools;

/// Prints the line of a scenario that passed: `interop: <scenario> ... ok (<detail>)`.
pub fn scenario_ok(scenario: &str, detail: &str) {
    if detail.is_empty() {
        println!("interop: {scenario} ... ok");
    } else {
        println!("interop: {scenario} ... ok ({detail})");
    }
}

/// Prints the line of a scenario that could not run: `interop: <scenario> ... skipped: <why>`.
pub fn scenario_skipped(scenario: &str, why: &str) {
    println!("interop: {scenario} ... skipped: {why}");
}
