//! Our `diameter` command (crate diameter-cli) as a separate process: the binary, built by
//! cargo when needed, and `diameter serve` running in the background.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::time::Duration;

use crate::process::Child;
use crate::tools::workspace_dir;

/// `cargo` arguments that build the binary (see `build`): the package selection, profile and
/// features of `scripts/test-all`'s `cargo test` step, examples and binaries together (only
/// then are the dev-dependencies' features the same), as `scripts/examples` builds.
pub const BUILD_ARGS: [&str; 13] = [
    "build",
    "--profile",
    "test",
    "--workspace",
    "--exclude",
    "diameter-interop",
    "--exclude",
    "diameter-bench",
    "--features",
    "diameter-node/sctp",
    "--examples",
    "--bins",
    "--quiet",
];

/// How long building the binary may take (a fresh machine, two cores).
const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Cargo's target folder: `$CARGO_TARGET_DIR` (a relative one taken from the workspace
/// root, where the build below runs), else the one this test binary was built into
/// (`<target>/debug/deps/<test>`), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return workspace_dir().join(d);
    }
    let exe = std::env::current_exe().ok();
    let built_into = exe
        .as_deref()
        .and_then(Path::parent)
        .filter(|deps| deps.file_name().is_some_and(|n| n == "deps"))
        .and_then(Path::parent)
        .and_then(Path::parent);
    match built_into {
        Some(target) => target.to_path_buf(),
        None => workspace_dir().join("target"),
    }
}

/// The `diameter` binary, `<target>/debug/diameter` (the test profile's folder), after `cargo`
/// with [`BUILD_ARGS`] (once per test process; nothing to do when it is up to date, as after
/// `scripts/interop`, which builds it first). Without cargo an existing binary is taken
/// as it is.
pub fn diameter_binary() -> Result<PathBuf, String> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY.get_or_init(build).clone()
}

fn build() -> Result<PathBuf, String> {
    let bin = target_dir().join("debug").join("diameter");
    // Cargo sets $CARGO for the tests it runs.
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .or_else(|| crate::tools::which("cargo"));
    let Some(cargo) = cargo else {
        return if bin.is_file() {
            println!(
                "interop: note: no cargo to rebuild {}, taken as it is",
                bin.display()
            );
            Ok(bin)
        } else {
            Err(format!(
                "{} missing and no cargo to build it",
                bin.display()
            ))
        };
    };
    let dir = crate::util::TempDir::new("cargo-build").map_err(|e| e.to_string())?;
    let mut cmd = crate::process::command(cargo);
    // As `scripts/test-all`'s `cargo test` step built it (BUILD_ARGS): any other selection
    // would compile diameter-core and what depends on it once more.
    cmd.args(BUILD_ARGS).current_dir(workspace_dir());
    // Without the variables cargo set for this test (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...):
    // build scripts that watch them (ring's `rerun-if-env-changed`) would run again, and
    // ring, rustls, diameter-node and diameter-cli be rebuilt (20 s on two cores), here
    // and once more by the next plain `cargo build` (`scripts/interop`'s first step).
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(set_by_cargo_for_tests) {
            cmd.env_remove(key);
        }
    }
    let out = crate::process::run_blocking("cargo-build", cmd, dir.path(), BUILD_TIMEOUT)?;
    if !out.status.success() {
        return Err(format!(
            "cargo build of the diameter binary (test profile) failed ({}):\n{}",
            out.status, out.stderr
        ));
    }
    if !bin.is_file() {
        return Err(format!(
            "cargo build of the diameter binary (test profile) left no {}:\n{}",
            bin.display(),
            out.stderr
        ));
    }
    Ok(bin)
}

/// Whether cargo sets `key` for the crates and tests it runs (not for itself): the
/// package's metadata, its manifest and target folders, the binaries of the package.
fn set_by_cargo_for_tests(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
        || matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// A running `diameter serve`.
#[derive(Debug)]
pub struct Serve {
    child: Child,
    port: u16,
}

impl Serve {
    /// Starts `diameter serve --listen 127.0.0.1:0 ARGS` (its log in `dir/serve.log`) and
    /// waits (10 s at most) for its start-up line, which gives the port.
    pub async fn start(binary: &Path, dir: &Path, args: &[&str]) -> Result<Self, String> {
        let mut cmd = crate::process::command(binary);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir);
        let mut child = Child::spawn("diameter serve", cmd, &dir.join("serve.log"))?;
        child
            .wait_for_log("its start-up line", Duration::from_secs(10), |l| {
                l.contains(" listening on ")
            })
            .await?;
        let log = child.log();
        let port = log
            .lines()
            .find_map(|l| {
                let rest = l.split(" listening on 127.0.0.1:").nth(1)?;
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<u16>().ok()
            })
            .ok_or_else(|| format!("diameter serve: no port in its start-up line:\n{log}"))?;
        Ok(Self { child, port })
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its log (stderr) so far.
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        self.child.log_tail(n)
    }

    /// Waits at most `timeout` until its log holds a line with every one of `needles`.
    pub async fn wait_for_line(
        &mut self,
        needles: &[&str],
        timeout: Duration,
    ) -> Result<(), String> {
        self.child
            .wait_for_log(&format!("a line with {needles:?}"), timeout, |log| {
                log.lines().any(|l| needles.iter().all(|n| l.contains(n)))
            })
            .await
    }

    /// SIGTERM (DPR to its open peers), then its exit status within `timeout` (killed
    /// otherwise).
    pub async fn stop(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        if let Some(status) = self.child.exit_status() {
            return Err(format!(
                "diameter serve had exited ({status}); log:\n{}",
                self.child.log_tail(40)
            ));
        }
        self.child.signal("TERM")?;
        match self.child.wait_exit(timeout).await {
            Some(status) => Ok(status),
            None => {
                self.child.kill();
                Err(format!(
                    "diameter serve did not exit within {timeout:?} of SIGTERM; log:\n{}",
                    self.child.log_tail(40)
                ))
            }
        }
    }
}
