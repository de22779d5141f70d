//! Child processes that cannot outlive a test: each runs in its own process group (tshark
//! starts dumpcap), its output goes to a log file, and dropping the handle kills the group.
//! Started through [`command`], a child also gets SIGKILL when the test's thread dies without
//! dropping it (the test binary killed or interrupted).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
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
    stdin: Option<ChildStdin>,
}

impl Child {
    /// Spawns `cmd` in a new process group, stdout and stderr appended to `log`, stdin
    /// empty.
    pub fn spawn(name: &str, cmd: Command, log: &Path) -> Result<Self, String> {
        Self::spawn_with_stdin(name, cmd, log, false)
    }

    /// [`Self::spawn`], with stdin a pipe that stays open until [`Self::close_stdin`] (for
    /// programs that stop at the end of their input) when `pipe` is set.
    pub fn spawn_with_stdin(
        name: &str,
        mut cmd: Command,
        log: &Path,
        pipe: bool,
    ) -> Result<Self, String> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{name}: cannot open {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{name}: cannot open {}: {e}", log.display()))?;
        cmd.stdin(if pipe { Stdio::piped() } else { Stdio::null() })
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{name}: cannot start {cmd:?}: {e}"))?;
        let stdin = child.stdin.take();
        Ok(Self {
            name: name.into(),
            child,
            log: log.to_owned(),
            exited: None,
            stdin,
        })
    }

    /// Writes `line` and a newline to its stdin, when it is a pipe.
    pub fn write_line(&mut self, line: &str) -> Result<(), String> {
        use std::io::Write as _;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| format!("{}: no stdin to write to", self.name))?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{}: writing to its stdin: {e}", self.name))
    }

    /// Closes its stdin (end of input), when it is a pipe.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
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

/// How a command run to its end went: [`run`].
#[derive(Clone, Debug)]
pub struct Output {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs `cmd` to its end in its own process group, at most `timeout` (the group is killed
/// then, and that is an error); stdout and stderr kept in `dir/<name>.stdout` and
/// `dir/<name>.stderr`.
pub async fn run(
    name: &str,
    cmd: Command,
    dir: &Path,
    timeout: Duration,
) -> Result<Output, String> {
    let (name, dir) = (name.to_owned(), dir.to_owned());
    tokio::task::spawn_blocking(move || run_blocking(&name, cmd, &dir, timeout))
        .await
        .map_err(|e| format!("running a command: {e}"))?
}

/// [`run`], blocking the calling thread.
pub fn run_blocking(
    name: &str,
    mut cmd: Command,
    dir: &Path,
    timeout: Duration,
) -> Result<Output, String> {
    let io = |e: std::io::Error| format!("{name}: {e}");
    let out_path = dir.join(format!("{name}.stdout"));
    let err_path = dir.join(format!("{name}.stderr"));
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path).map_err(io)?)
        .stderr(File::create(&err_path).map_err(io)?)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{name}: cannot start {cmd:?}: {e}"))?;
    let read = |p: &Path| {
        std::fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(Output {
                status,
                stdout: read(&out_path),
                stderr: read(&err_path),
            });
        }
        if std::time::Instant::now() >= deadline {
            let _ = kill("KILL", &format!("-{}", child.id()));
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{name} did not finish within {timeout:?}, killed; stdout:\n{}\nstderr:\n{}",
                read(&out_path),
                read(&err_path)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
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
