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

/// A process running in the background: its stdout and stderr collected line by line by
/// two threads, killed when dropped.
pub(crate) struct Background {
    pub(crate) child: std::process::Child,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Background {
    /// Starts `program` with `args`, stdin piped (see [`Self::close_stdin`]).
    pub(crate) fn spawn(program: &std::path::Path, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
        let collect = |r: Box<dyn std::io::Read + Send>| {
            let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = lines.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().unwrap().push(line);
                }
            });
            lines
        };
        let stdout = collect(Box::new(child.stdout.take().expect("stdout")));
        let stderr = collect(Box::new(child.stderr.take().expect("stderr")));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Starts the built `diameter` binary.
    pub(crate) fn diameter(args: &[&str]) -> Self {
        Self::spawn(std::path::Path::new(env!("CARGO_BIN_EXE_diameter")), args)
    }

    /// Everything printed on stdout so far.
    pub(crate) fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Everything printed on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// The first line of stdout or stderr containing `needle`, waiting up to `timeout`.
    pub(crate) fn wait_for(&self, needle: &str, timeout: std::time::Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            for lines in [&self.stdout, &self.stderr] {
                if let Some(l) = lines.lock().unwrap().iter().find(|l| l.contains(needle)) {
                    return Some(l.clone());
                }
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Closes its stdin (end of input).
    pub(crate) fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `timeout` for the exit status (`None`: still running, or killed by a
    /// signal).
    pub(crate) fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader threads take the last lines.
                std::thread::sleep(std::time::Duration::from_millis(50));
                return status.code();
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `diameter serve` on 127.0.0.1 (an ephemeral port) with `extra` arguments, and its port.
pub(crate) fn start_serve(extra: &[&str]) -> (Background, u16) {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--origin-host",
        "server.example.org",
        "--origin-realm",
        "example.org",
    ];
    args.extend_from_slice(extra);
    let serve = Background::diameter(&args);
    let line = serve
        .wait_for(
            "listening on 127.0.0.1:",
            std::time::Duration::from_secs(10),
        )
        .unwrap_or_else(|| panic!("serve did not start: {}", serve.stderr()));
    let port = line
        .split("listening on 127.0.0.1:")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (serve, port)
}

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}
