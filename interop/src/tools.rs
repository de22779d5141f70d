//! Finds the external programs the suite runs. `scripts/freediameter-setup` installs them.

use std::path::{Path, PathBuf};

/// Overrides the folder holding `test_app.fdx` (default: `<workspace>/target/interop`).
pub const DIR_ENV: &str = "FD_INTEROP_DIR";

/// The freeDiameter daemon, its extension folder, freeDiameter's test application and
/// tshark.
#[derive(Clone, Debug)]
pub struct Tools {
    /// `freeDiameterd`.
    pub freediameterd: PathBuf,
    /// The folder of Debian's extensions (`acl_wl.fdx`, `dbg_msg_dumps.fdx`, ...).
    pub extension_dir: PathBuf,
    /// `test_app.fdx`, built from freeDiameter's source by `scripts/freediameter-setup`.
    pub test_app: PathBuf,
    /// `tshark`.
    pub tshark: PathBuf,
}

impl Tools {
    /// Everything found, or why not (the tests then print a skipped line).
    pub fn detect() -> Result<Self, String> {
        let hint = "run scripts/freediameter-setup";
        let freediameterd =
            which("freeDiameterd").ok_or(format!("freeDiameter not installed ({hint})"))?;
        let extension_dir = [
            "/usr/lib/freeDiameter",
            "/usr/lib/x86_64-linux-gnu/freeDiameter",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("acl_wl.fdx").is_file())
        .ok_or(format!(
            "freeDiameter not installed: no freediameter-extensions ({hint})"
        ))?;
        let test_app = interop_dir().join("test_app.fdx");
        if !test_app.is_file() {
            return Err(format!(
                "freeDiameter not installed: no {} ({hint})",
                test_app.display()
            ));
        }
        let tshark =
            which("tshark").ok_or(format!("freeDiameter not installed: no tshark ({hint})"))?;
        Ok(Self {
            freediameterd,
            extension_dir,
            test_app,
            tshark,
        })
    }
}

/// tshark alone, for the scenarios without freeDiameter (python-diameter's).
pub fn tshark() -> Result<PathBuf, String> {
    which("tshark").ok_or_else(|| "tshark not installed (run scripts/freediameter-setup)".into())
}

/// The workspace's root folder.
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Where `scripts/freediameter-setup` leaves `test_app.fdx`: `$FD_INTEROP_DIR`, else
/// `<workspace>/target/interop`.
pub fn interop_dir() -> PathBuf {
    match std::env::var_os(DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_dir().join("target").join("interop"),
    }
}

/// The first executable `name` in `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Whether this process runs as root (read from `/proc/self/status`, no `unsafe`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}
