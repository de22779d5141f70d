//! Helpers shared by the CLI tests: running the built binary and test messages.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// What a run of `diameter` gave.
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// The stdout as JSON lines.
    pub(crate) fn jsonl(&self) -> Vec<Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }

    /// The stdout as one JSON document.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).expect("stdout is JSON")
    }
}

/// Runs the built `diameter` binary with `args`, feeding `stdin`.
pub(crate) fn diameter(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_diameter"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("diameter runs");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The command may stop reading early; that is not a test failure.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("diameter finishes");
    writer.join().expect("stdin writer");
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A hex vector from tests/data (one line, trimmed).
pub(crate) fn data_hex(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_owned()
}

pub(crate) fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Gy CCR-I of ../shared/bench (528 bytes).
pub(crate) fn ccr() -> Vec<u8> {
    from_hex(&data_hex("ccr.hex"))
}

/// Its CCA.
pub(crate) fn cca() -> Vec<u8> {
    from_hex(&data_hex("cca.hex"))
}

/// A copy of `msg` with another Hop-by-Hop Identifier, to tell messages apart.
pub(crate) fn with_hop_by_hop(msg: &[u8], hbh: u32) -> Vec<u8> {
    let mut m = msg.to_vec();
    m[12..16].copy_from_slice(&hbh.to_be_bytes());
    m
}

/// A file path under the target's scratch directory for this test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diameter-cli-tests");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// `(hop_by_hop, command)` of each decoded JSON message.
pub(crate) fn summary(values: &[Value]) -> Vec<(u64, String)> {
    values
        .iter()
        .map(|v| {
            (
                v["hop_by_hop"].as_u64().expect("hop_by_hop"),
                v["command"].as_str().expect("command").to_owned(),
            )
        })
        .collect()
}
