//! Erlang/OTP's `diameter` application (Debian's erlang-diameter and erlang-dev, installed by
//! `scripts/erlang-setup`) as a peer: one Erlang VM per test process, shared by its tests,
//! running `interop/erlang/interop_peer.escript`.
//!
//! At start-up the escript compiles the credit-control dictionaries of `interop/erlang/`
//! (OTP ships none) with `diameter_make`, then takes commands on its stdin, one a line
//! (`<id> service ...`, `<id> connect ...`, `<id> ccr ...`: see the escript), runs each in
//! an Erlang process of its own and prints `<id> ok <result>` or `<id> error <why>`, and
//! `event ...` lines for what its diameter services see (peers up and down, requests
//! served). [`Erlang::cmd`] sends a command and waits for its line; [`Erlang::wait_event`]
//! waits for an event. Each test starts diameter services of its own, with names of its
//! own, so that tests can share the VM (and its start-up, about two seconds, is paid
//! once).
//!
//! The VM is started by a thread that never ends (the test threads do, and a child started
//! through [`crate::process::command`] dies with the thread that started it); it dies with
//! the test process, and halts by itself at the end of its stdin.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::process::Child;
use crate::tools::{which, workspace_dir};
use crate::util::{TempDir, wait_until};

/// The command code the tests send to see 3001 DIAMETER_COMMAND_UNSUPPORTED: 0xffffff, one
/// of the two RFC 6733 §3.1 reserves for experimental use (freeDiameter's test_app has the
/// other); only the Erlang client's dictionary (`interop_cc_client.dia`) defines it.
pub const UNSUPPORTED_COMMAND: u32 = 0xff_ffff;

/// The AVP code the tests send with the M bit to see 5001 DIAMETER_AVP_UNSUPPORTED: no
/// dictionary of either stack defines it (tshark's is told of it, so that it does not warn
/// about an unknown AVP).
pub const UNKNOWN_AVP: u32 = 65_123;

/// How long `scripts/erlang-setup` may take (apt).
const SETUP_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long the VM may take to compile the dictionaries and say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The shared Erlang VM.
#[derive(Debug)]
pub struct Erlang {
    child: Mutex<Child>,
    log: PathBuf,
    next: AtomicU32,
    version: String,
    dir: TempDir,
}

/// `escript`, after `scripts/erlang-setup` (once per test process; at once when Erlang is
/// installed), or why there is none.
pub fn escript() -> Result<PathBuf, String> {
    static ESCRIPT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ESCRIPT.get_or_init(setup).clone()
}

fn setup() -> Result<PathBuf, String> {
    let root = workspace_dir();
    let dir = TempDir::new("erlang-setup").map_err(|e| e.to_string())?;
    let mut cmd = crate::process::command(root.join("scripts/erlang-setup"));
    cmd.current_dir(&root);
    let out = crate::process::run_blocking("erlang-setup", cmd, dir.path(), SETUP_TIMEOUT)
        .map_err(|e| format!("Erlang/OTP diameter not available: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "Erlang/OTP diameter not available (scripts/erlang-setup: {}: {})",
            out.status,
            out.stderr.trim()
        ));
    }
    which("escript").ok_or_else(|| "Erlang/OTP diameter not available: no escript".into())
}

/// `interop/erlang/`: the escript and its dictionaries.
pub fn erlang_dir() -> PathBuf {
    workspace_dir().join("interop/erlang")
}

impl Erlang {
    /// The VM of this test process, started at the first call, or why there is none
    /// (Erlang not installable: the tests print a skipped line; or it did not start).
    pub fn shared() -> Result<&'static Self, String> {
        static NODE: OnceLock<Result<Erlang, String>> = OnceLock::new();
        NODE.get_or_init(Self::start).as_ref().map_err(Clone::clone)
    }

    fn start() -> Result<Self, String> {
        let escript = escript()?;
        let dir = TempDir::new("erlang").map_err(|e| e.to_string())?;
        let out = dir.path().join("dictionaries");
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let log = dir.path().join("erlang.log");
        let mut cmd = crate::process::command(escript);
        cmd.arg(erlang_dir().join("interop_peer.escript"))
            .arg(erlang_dir())
            .arg(&out)
            .current_dir(dir.path());
        let (tx, rx) = std::sync::mpsc::channel();
        let log_path = log.clone();
        std::thread::Builder::new()
            .name("erlang-vm".into())
            .spawn(move || {
                let child = Child::spawn_with_stdin("erlang diameter", cmd, &log_path, true);
                let _ = tx.send(child);
                // The VM dies with this thread: it lives as long as the test process.
                loop {
                    std::thread::park();
                }
            })
            .map_err(|e| format!("starting the Erlang VM's thread: {e}"))?;
        let mut child = rx
            .recv()
            .map_err(|e| format!("starting the Erlang VM: {e}"))??;
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        let version = loop {
            let text = child.log();
            if let Some(line) = text.lines().find(|l| l.starts_with("ready ")) {
                break line.trim_start_matches("ready ").to_owned();
            }
            if !child.is_running() || std::time::Instant::now() >= deadline {
                return Err(format!(
                    "the Erlang VM did not start ({}); log {}:\n{}",
                    if child.is_running() {
                        format!("not ready within {START_TIMEOUT:?}")
                    } else {
                        format!("exited {:?}", child.exit_status())
                    },
                    log.display(),
                    child.log_tail(40)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(Self {
            child: Mutex::new(child),
            log,
            next: AtomicU32::new(1),
            version,
            dir,
        })
    }

    /// `otp 25 diameter 2.2.7`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The VM's folder (its log, the compiled dictionaries).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its log so far: what the escript printed.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn running(&self) -> bool {
        self.child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_running()
    }

    /// Sends `command` (`"ccr c1 interop.test 0"`) and waits at most `timeout` for its
    /// result: the text after `<id> ok `, or an error with the log's tail.
    pub async fn cmd(&self, command: &str, timeout: Duration) -> Result<String, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_line(&format!("{id} {command}"))?;
        let prefix = format!("{id} ");
        let find = || {
            self.log()
                .lines()
                .find(|l| l.starts_with(&prefix))
                .map(str::to_owned)
        };
        wait_until(timeout, || find().is_some() || !self.running()).await;
        match find() {
            Some(line) => match line[prefix.len()..].strip_prefix("ok ") {
                Some(result) => Ok(result.to_owned()),
                None => Err(format!(
                    "Erlang: {command:?} failed: {line}\n---- Erlang log:\n{}",
                    self.log_tail(40)
                )),
            },
            None => Err(format!(
                "Erlang: no result for {command:?} within {timeout:?}{}\n---- Erlang log:\n{}",
                if self.running() {
                    ""
                } else {
                    " (the VM has exited)"
                },
                self.log_tail(40)
            )),
        }
    }

    /// Waits at most `timeout` for an `event` line holding every one of `needles`; the
    /// line.
    pub async fn wait_event(&self, needles: &[&str], timeout: Duration) -> Result<String, String> {
        let find = || {
            self.log()
                .lines()
                .find(|l| l.starts_with("event ") && needles.iter().all(|n| l.contains(n)))
                .map(str::to_owned)
        };
        wait_until(timeout, || find().is_some() || !self.running()).await;
        find().ok_or_else(|| {
            format!(
                "Erlang: no event with {needles:?} within {timeout:?}\n---- Erlang log:\n{}",
                self.log_tail(40)
            )
        })
    }

    /// The `event` lines holding every one of `needles`.
    pub fn events(&self, needles: &[&str]) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.starts_with("event ") && needles.iter().all(|n| l.contains(n)))
            .map(str::to_owned)
            .collect()
    }
}
