//! python-diameter 0.9.0 (PyPI) in the venv `scripts/python-venv` makes
//! (`<workspace>/.venv-interop`), and the scripts of `interop/python/`.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::tools::workspace_dir;

/// How long making the venv may take (pip, from PyPI).
const VENV_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The venv's python, after `scripts/python-venv` (once per test process; at once when
/// the venv is there), or why there is none.
pub fn python() -> Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> Result<PathBuf, String> {
    let root = workspace_dir();
    let python = root.join(".venv-interop/bin/python");
    let dir = crate::util::TempDir::new("python-venv").map_err(|e| e.to_string())?;
    let mut cmd = crate::process::command(root.join("scripts/python-venv"));
    cmd.current_dir(&root);
    let out = crate::process::run_blocking("python-venv", cmd, dir.path(), VENV_TIMEOUT)
        .map_err(|e| format!("python-diameter venv not available: {e}"))?;
    if !out.status.success() || !python.exists() {
        return Err(format!(
            "python-diameter venv not available (scripts/python-venv: {}: {})",
            out.status,
            out.stderr.trim()
        ));
    }
    Ok(python)
}

/// `interop/python/<name>`.
pub fn script(name: &str) -> PathBuf {
    workspace_dir().join("interop/python").join(name)
}
