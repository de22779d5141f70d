//! Child processes that cannot outlive a test: each runs in its own process group (tshark
//! starts dumpcap), its output goes to a log file, and dropping the handle kills the group.
//! Started through [`command`], a child also gets SIGKILL when the test's thread dies without
//! dropping it (the test binary killed or interrupted).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// A command for `program` that dies with the calling thread: `setpriv --pdeathsig KILL --
/// program` (util-linux), or `program` alone where setpriv is missing.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    match crate::tools::which("setpriv") {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.args(["--pdeathsig", "KILL", "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// A running child process with its log.
#[derive(Debug)]
pub struct Child {
    name: String,
    child: std::process::Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Child {
    /// Spawns `cmd` in a new process group, stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self, String> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{name}: cannot open {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{name}: cannot open {}: {e}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("{name}: cannot start {cmd:?}: {e}"))?;
        Ok(Self {
            name: name.into(),
            child,
            log: log.to_owned(),
            exited: None,
        })
    }

    /// The process id (and process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends a signal (`"TERM"`, `"INT"`, `"USR1"`, ...) to the process.
    pub fn signal(&self, signal: &str) -> Result<(), String> {
        if self.exited.is_some() {
            return Err(format!("{} has exited", self.name));
        }
        kill(signal, &self.id().to_string())
    }

    /// Whether it still runs (reaps it when it has exited).
    pub fn is_running(&mut self) -> bool {
        if self.exited.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
            }
        }
        self.exited.is_none()
    }

    /// The exit status, once it has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.is_running();
        self.exited
    }

    /// Waits at most `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        crate::util::wait_until(timeout, || !self.is_running()).await;
        self.exited
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits at most `timeout` until `cond` holds for the log; fails early (with the log's
    /// tail) if the process exits first.
    pub async fn wait_for_log(
        &mut self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let mut exited = false;
        let ok = crate::util::wait_until(timeout, || {
            if cond(&self.log()) {
                return true;
            }
            exited = !self.is_running();
            exited
        })
        .await;
        if ok && !exited {
            return Ok(());
        }
        let why = if exited {
            format!("{} exited ({:?})", self.name, self.exited)
        } else {
            format!("not within {timeout:?}")
        };
        Err(format!(
            "{}: waiting for {what}: {why}; log {}:\n{}",
            self.name,
            self.log.display(),
            self.log_tail(80)
        ))
    }

    /// Kills the process group at once.
    pub fn kill(&mut self) {
        if self.is_running() {
            // The group first (tshark's dumpcap), while the leader is not reaped so that its
            // id cannot have been reused.
            let _ = kill("KILL", &format!("-{}", self.id()));
            let _ = self.child.kill();
            if let Ok(status) = self.child.wait() {
                self.exited = Some(status);
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let running = self.is_running();
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- {} ({}) log {}, last lines:\n{}\n----",
                self.name,
                if running { "killed" } else { "had exited" },
                self.log.display(),
                self.log_tail(60)
            );
        }
    }
}

/// `kill -s SIGNAL -- TARGET` (a pid, or `-pgid` for a group).
fn kill(signal: &str, target: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .args(["-s", signal, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -s {signal} {target}: {status}"))
    }
}
