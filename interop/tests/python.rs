//! Our `diameter` command against python-diameter 0.9.0 (PyPI, in the venv of
//! `scripts/python-venv`), both ways over loopback TCP, every message captured and dissected
//! by tshark:
//!
//! - `python_client_to_diameter_serve`: its client (`interop/python/client.py`) against
//!   `diameter serve`: CER/CEA, CCR/CCA and ACR/ACA both 2001, DPR/DPA;
//! - `diameter_send_to_python_server`: `diameter send` against its server
//!   (`interop/python/server.py`): a CCR and an ACR answered 2001, and an STR it does not
//!   handle answered 3001 (without the E bit: python-diameter never sets it); each
//!   `diameter send` with its own CER/CEA and DPR/DPA.
//!
//! python-diameter's own quirks are accepted: its CCR's Origin-Host/Origin-Realm lack the
//! M bit, and it never sets the E bit. tshark's expert warnings on its messages are printed
//! as notes; a malformed frame or an expert error on anybody's message, or any expert
//! warning on ours, fails the test.
//!
//! Without the venv (no python3, no PyPI) or tshark each test prints a skipped line and
//! passes. Run them with `scripts/interop`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diameter_interop::check::{Expect, check_dissection};
use diameter_interop::cli::{Serve, diameter_binary};
use diameter_interop::process::{self, Child, Output};
use diameter_interop::tshark::{self, Capture};
use diameter_interop::util::{TempDir, free_port};
use diameter_interop::{python, scenario_ok, scenario_skipped, tools};

/// The venv's python and tshark, or a skipped line.
fn python_and_tshark_or_skip(scenario: &str) -> Option<(PathBuf, PathBuf)> {
    let found = python::python().and_then(|p| tools::tshark().map(|t| (p, t)));
    match found {
        Ok(found) => Some(found),
        Err(why) => {
            scenario_skipped(scenario, &why);
            None
        }
    }
}

/// A python script of `interop/python/` with `args`, dying with the test.
fn python_command(python: &Path, script: &str, args: &[&str]) -> Command {
    let mut cmd = process::command(python);
    cmd.arg(python::script(script))
        .args(args)
        .env("PYTHONUNBUFFERED", "1");
    cmd
}

/// The value of the first `Result-Code (268) [-M-] Unsigned32: 2001 DIAMETER_SUCCESS` line
/// of a text dump (the top-level one comes first; the name follows where it is known).
fn result_code(dump: &str) -> Option<u32> {
    dump.lines()
        .find(|l| l.trim_start().starts_with("Result-Code (268)"))?
        .rsplit_once(": ")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The command flags of a text dump's first line (`... flags [-P--] ...`).
fn command_flags(dump: &str) -> &str {
    dump.lines()
        .next()
        .and_then(|l| l.split(" flags [").nth(1))
        .and_then(|f| f.split(']').next())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_to_diameter_serve() {
    const S: &str = "python-diameter client -> diameter serve";
    let Some((python, tshark)) = python_and_tshark_or_skip(S) else {
        return;
    };
    let diameter = diameter_binary().unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("py-to-serve").expect("temp dir");

    let mut serve = Serve::start(
        &diameter,
        dir.path(),
        &[
            "--origin-host",
            "server.example.org",
            "--origin-realm",
            "example.org",
            "--verbose",
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let port = serve.port();
    let capture = Capture::start(&tshark, dir.path(), "py-to-serve", &[port])
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let port_arg = port.to_string();
    let client = python_command(
        &python,
        "client.py",
        &[
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
    let Output {
        status,
        stdout,
        stderr,
    } = process::run("python-client", client, dir.path(), Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}\nserve:\n{}", serve.log_tail(40)));
    let fail = |serve: &Serve, what: &str| -> ! {
        panic!(
            "{what}\nclient ({status}):\n{stdout}\n{stderr}\nserve:\n{}",
            serve.log_tail(60)
        )
    };
    if !status.success() {
        fail(&serve, "python-diameter's client failed");
    }
    for needle in [
        "CCA 2001 CC-Request-Type 1 CC-Request-Number 0 granted [1048576]",
        "ACA 2001 Accounting-Record-Type 1 Accounting-Record-Number 0",
    ] {
        if !stdout.contains(needle) {
            fail(&serve, &format!("no {needle:?} from the client"));
        }
    }
    // The client's node stops with DPR before it exits.
    if let Err(e) = serve
        .wait_for_line(
            &["pyclient.example.org", "-> DPA 2001"],
            Duration::from_secs(5),
        )
        .await
    {
        fail(&serve, &e);
    }
    let status = serve
        .stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success(),
        "diameter serve: {status}\n{}",
        serve.log_tail(40)
    );
    let log = serve.log();
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
        assert!(
            log.contains(needle),
            "no {needle:?} in diameter serve's log:\n{log}"
        );
    }
    scenario_ok(
        S,
        "CER/CEA, CCR/CCA 2001 (units granted), ACR/ACA 2001, DPR/DPA; serve exit 0",
    );

    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tshark, dir.path(), &pcap, &[port]).unwrap_or_else(|e| panic!("{e}"));
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |src, _| src == port,
        &[
            ("CER", Expect::Theirs(1)),
            ("CEA", Expect::Ours(1)),
            ("CCR", Expect::Theirs(1)),
            ("CCA", Expect::Ours(1)),
            ("ACR", Expect::Theirs(1)),
            ("ACA", Expect::Ours(1)),
            // Neither side's watchdog (30 s) is due in so short a run, but a slow machine
            // may see one.
            ("DWR", Expect::TheirsAtLeast(0)),
            ("DWA", Expect::OursAtLeast(0)),
            ("DPR", Expect::Theirs(1)),
            ("DPA", Expect::Ours(1)),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diameter_send_to_python_server() {
    const S: &str = "diameter send -> python-diameter server";
    let Some((python, tshark)) = python_and_tshark_or_skip(S) else {
        return;
    };
    let diameter = diameter_binary().unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("send-to-py").expect("temp dir");
    let port = free_port().expect("free port");
    let capture = Capture::start(&tshark, dir.path(), "send-to-py", &[port])
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // It stops when its stdin closes.
    let port_arg = port.to_string();
    let cmd = python_command(
        &python,
        "server.py",
        &[
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
    let mut server = Child::spawn_with_stdin(
        "python-diameter server",
        cmd,
        &dir.path().join("python-server.log"),
        true,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    server
        .wait_for_log("ready", Duration::from_secs(20), |l| {
            l.contains("ready 127.0.0.1:")
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let acr = dir.path().join("acr.json");
    std::fs::write(
        &acr,
        r#"{"command": "Accounting-Request", "application_id": 3, "avps": [
        {"name": "Accounting-Record-Type", "value": "EVENT_RECORD"},
        {"name": "Accounting-Record-Number", "value": 0},
        {"name": "Acct-Application-Id", "value": 3}]}"#,
    )
    .expect("acr.json");
    let str_ = dir.path().join("str.json");
    std::fs::write(
        &str_,
        r#"{"command_code": 275, "application_id": 4,
        "flags": {"request": true, "proxiable": true}, "avps": [
        {"name": "Auth-Application-Id", "value": 4},
        {"name": "Termination-Cause", "value": "DIAMETER_LOGOUT"}]}"#,
    )
    .expect("str.json");
    let peer = format!("127.0.0.1:{port}");
    // (name, --json file or the default Gy CCR-I, answer expected, Result-Code expected)
    let sends: [(&str, Option<&Path>, &str, u32); 3] = [
        ("CCR", None, "Credit-Control-Answer", 2001),
        ("ACR", Some(&acr), "Accounting-Answer", 2001),
        ("STR", Some(&str_), "Session-Termination-Answer", 3001),
    ];
    let mut seen = Vec::new();
    for (name, json, answer, code) in sends {
        let mut cmd = process::command(&diameter);
        cmd.args([
            "send",
            "--peer",
            &peer,
            "--origin-host",
            "client.example.org",
            "--origin-realm",
            "example.org",
            "--timeout",
            "10",
        ]);
        if let Some(json) = json {
            cmd.arg("--json").arg(json);
        }
        let out = process::run(
            &format!("send-{name}"),
            cmd,
            dir.path(),
            Duration::from_secs(30),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\nserver:\n{}", server.log_tail(30)));
        let ok = out.status.success()
            && out.stdout.contains(answer)
            && result_code(&out.stdout) == Some(code);
        assert!(
            ok,
            "diameter send {name}: {}, {answer} {code} expected:\n{}\n{}\nserver:\n{}",
            out.status,
            out.stdout,
            out.stderr,
            server.log_tail(30)
        );
        // python-diameter never sets the E bit, not even on its 3001 (a protocol error).
        let flags = command_flags(&out.stdout);
        assert!(
            flags.len() == 4 && !flags.contains('E'),
            "flags {flags:?}:\n{}",
            out.stdout
        );
        seen.push(format!("{name} {code}"));
    }
    for needle in [
        "CCR from client.example.org",
        "ACR from client.example.org",
        "command 275 from client.example.org",
    ] {
        server
            .wait_for_log(needle, Duration::from_secs(5), |l| l.contains(needle))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // End of input: the python node stops (python-diameter takes a few seconds).
    server.close_stdin();
    if server.wait_exit(Duration::from_secs(15)).await.is_none() {
        println!(
            "interop: note: {S}: python-diameter server still running 15 s after its stdin closed, killed"
        );
        server.kill();
    }
    scenario_ok(
        S,
        &format!("{}, each with CER/CEA and DPR/DPA", seen.join(", ")),
    );

    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tshark, dir.path(), &pcap, &[port]).unwrap_or_else(|e| panic!("{e}"));
    check_dissection(
        &format!("tshark {S}"),
        &d,
        |_, dst| dst == port,
        &[
            ("CER", Expect::Ours(3)),
            ("CEA", Expect::Theirs(3)),
            ("CCR", Expect::Ours(1)),
            ("CCA", Expect::Theirs(1)),
            ("ACR", Expect::Ours(1)),
            ("ACA", Expect::Theirs(1)),
            ("STR", Expect::Ours(1)),
            ("STA", Expect::Theirs(1)),
            ("DWR", Expect::OursAtLeast(0)),
            ("DWA", Expect::TheirsAtLeast(0)),
            ("DPR", Expect::Ours(3)),
            ("DPA", Expect::Theirs(3)),
        ],
    );
}
