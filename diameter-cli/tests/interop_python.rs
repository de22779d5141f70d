//! Interoperability with python-diameter 0.9.0 (PyPI), both ways, over loopback TCP:
//!
//! - its client (`interop/python/client.py`) against `diameter serve`: CER/CEA, CCR/CCA
//!   and ACR/ACA both 2001, DPR/DPA;
//! - `diameter send` against its server (`interop/python/server.py`): a CCR and an ACR,
//!   exit 0 and Result-Code 2001 each (and an STR it does not handle: 3001, no E bit).
//!
//! python-diameter's own quirks are accepted: its CCR's Origin-Host/Origin-Realm lack the
//! M bit, and it never sets the E bit.
//!
//! The venv comes from `scripts/python-venv` (which `scripts/test-all` runs first; run
//! here again, it returns at once when the venv is there). When it cannot be made (no
//! network), the tests print "skipped: python-diameter venv not available" and pass.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use common::{Background, diameter, free_port, start_serve};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The venv's python, making the venv first if needed; `None` when it cannot be made.
fn python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let root = workspace();
            let out = std::process::Command::new(root.join("scripts/python-venv"))
                .current_dir(&root)
                .output();
            let python = root.join(".venv-interop/bin/python");
            match out {
                Ok(o) if o.status.success() && python.exists() => Some(python),
                Ok(o) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "scripts/python-venv failed ({}): {}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    );
                    None
                }
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "scripts/python-venv did not run: {e}");
                    None
                }
            }
        })
        .clone()
}

/// The venv's python, or a visible skip.
macro_rules! python_or_skip {
    ($test:literal) => {
        match python() {
            Some(p) => p,
            None => {
                // Straight to stderr, past the test harness's capture: visible in any run.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: python-diameter venv not available ({})",
                    $test
                );
                return;
            }
        }
    };
}

fn script(name: &str) -> String {
    workspace()
        .join("interop/python")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn python_client_against_diameter_serve() {
    let python = python_or_skip!("python_client_against_diameter_serve");
    let (mut serve, port) = start_serve(&["--verbose"]);
    let port_arg = port.to_string();
    let client_script = script("client.py");
    let mut client = Background::spawn(
        &python,
        &[
            &client_script,
            "--port",
            &port_arg,
            "--peer-host",
            "server.example.org",
            "--peer-realm",
            "example.org",
            "--origin-host",
            "pyclient.example.org",
            "--realm",
            "example.org",
        ],
    );
    let status = client.wait_exit(Duration::from_secs(30));
    let (out, err) = (client.stdout(), client.stderr());
    assert_eq!(
        status,
        Some(0),
        "client:\n{out}\n{err}\nserve:\n{}",
        serve.stderr()
    );
    assert!(
        out.contains("CCA 2001 CC-Request-Type 1 CC-Request-Number 0 granted [1048576]"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("ACA 2001 Accounting-Record-Type 1 Accounting-Record-Number 0"),
        "{out}\n{err}"
    );
    serve.terminate();
    assert_eq!(serve.wait_exit(Duration::from_secs(10)), Some(0));
    let log = serve.stderr();
    for needle in [
        "pyclient.example.org <- CER from pyclient.example.org (python-diameter)",
        "pyclient.example.org -> CEA 2001",
        "pyclient.example.org <- DPR",
        "pyclient.example.org -> DPA 2001",
        "2 request(s) received, 2 answer(s) sent, 0 protocol error(s)",
        // python-diameter's CCR: Origin-Host without the M bit, answered 2001 all the same.
        "<- CCR session pyclient.example.org;",
        "Origin-Host (264) [---] DiameterIdentity: \"pyclient.example.org\"",
        "-> CCA 2001",
        "-> ACA 2001",
    ] {
        assert!(log.contains(needle), "no {needle:?} in\n{log}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "interop: python-diameter 0.9.0 client -> diameter serve: CER/CEA, CCR/CCA 2001, \
         ACR/ACA 2001, DPR/DPA"
    );
}

#[test]
fn diameter_send_against_python_server() {
    let python = python_or_skip!("diameter_send_against_python_server");
    let port = free_port();
    let port_arg = port.to_string();
    let server_script = script("server.py");
    let mut server = Background::spawn(
        &python,
        &[
            &server_script,
            "--port",
            &port_arg,
            "--origin-host",
            "pyserver.example.org",
            "--realm",
            "example.org",
            "--peer",
            "client.example.org",
        ],
    );
    assert!(
        server
            .wait_for("ready 127.0.0.1:", Duration::from_secs(20))
            .is_some(),
        "python server did not start:\n{}\n{}",
        server.stdout(),
        server.stderr()
    );
    let peer = format!("127.0.0.1:{port}");
    let send = |extra: &[&str], stdin: &[u8]| {
        let mut args = vec![
            "send",
            "--peer",
            &peer,
            "--origin-host",
            "client.example.org",
            "--origin-realm",
            "example.org",
            "--format",
            "json",
            "--timeout",
            "10",
        ];
        args.extend_from_slice(extra);
        diameter(&args, stdin)
    };
    let result_code = |answer: &Value| {
        answer["avps"]
            .as_array()
            .and_then(|a| a.iter().find(|v| v["name"] == "Result-Code"))
            .map(|v| v["value"].clone())
    };

    // The default Gy CCR-I.
    let run = send(&[], b"");
    assert_eq!(
        run.status,
        0,
        "{}\nserver:\n{}",
        run.stderr,
        server.stderr()
    );
    let cca = run.json();
    assert_eq!(cca["command"], "Credit-Control-Answer", "{cca:#}");
    assert_eq!(result_code(&cca), Some(2001.into()), "{cca:#}");

    // An ACR.
    let acr = br#"{"command": "Accounting-Request", "application_id": 3, "avps": [
        {"name": "Accounting-Record-Type", "value": "EVENT_RECORD"},
        {"name": "Accounting-Record-Number", "value": 0},
        {"name": "Acct-Application-Id", "value": 3}]}"#;
    let run = send(&["--json", "-"], acr);
    assert_eq!(
        run.status,
        0,
        "{}\nserver:\n{}",
        run.stderr,
        server.stderr()
    );
    let aca = run.json();
    assert_eq!(aca["command"], "Accounting-Answer", "{aca:#}");
    assert_eq!(result_code(&aca), Some(2001.into()), "{aca:#}");

    // A command its application does not handle: 3001 without the E bit (python-diameter
    // never sets it), taken as the answer it is.
    let str_ = br#"{"command_code": 275, "application_id": 4,
        "flags": {"request": true, "proxiable": true}, "avps": [
        {"name": "Auth-Application-Id", "value": 4},
        {"name": "Termination-Cause", "value": "DIAMETER_LOGOUT"}]}"#;
    let run = send(&["--json", "-"], str_);
    assert_eq!(
        run.status,
        0,
        "{}\nserver:\n{}",
        run.stderr,
        server.stderr()
    );
    let sta = run.json();
    assert_eq!(result_code(&sta), Some(3001.into()), "{sta:#}");
    assert_eq!(sta["flags"]["error"], false, "{sta:#}");

    assert!(
        server
            .wait_for("CCR from client.example.org", Duration::from_secs(5))
            .is_some()
    );
    assert!(
        server
            .wait_for("ACR from client.example.org", Duration::from_secs(5))
            .is_some()
    );
    // End of input: the python node stops (python-diameter takes a few seconds).
    server.close_stdin();
    let _ = server.wait_exit(Duration::from_secs(15));
    let _ = writeln!(
        std::io::stderr(),
        "interop: diameter send -> python-diameter 0.9.0 server: CCR/CCA 2001, ACR/ACA 2001"
    );
}
