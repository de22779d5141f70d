//! freeDiameter 1.2.1 as a peer: its configuration, written into a temporary folder, and the
//! `freeDiameterd -c conf` process.
//!
//! What this machine taught (issue 6): no TLS credentials are needed with `SecPort = 0;`
//! (peers then use `No_TLS`, or `ALLOW_IPSEC` in the `acl_wl.fdx` whitelist); undeclared and
//! unlisted peers get 3010; `ListenOn` does not stop it from binding every interface, so each
//! daemon gets a port nobody else uses; it advertises its non-loopback Host-IP-Addresses;
//! `Prefer_TCP` and `No_SCTP` are needed (no SCTP here); `TwTimer = 6` is its minimum.
//!
//! TLS ([`FdTls`]): `TLS_Cred` and `TLS_CA` name PEM files, `SecPort` is where it accepts
//! RFC 6733 TLS at connection start, and a `ConnectPeer` without `No_TLS` (nor the global
//! `TLS_old_method`) connects to its `Port` with TLS at connection start, checking that the
//! peer's certificate names the peer's identity (GnuTLS's hostname check).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use crate::process::Child;
use crate::tools::Tools;

/// freeDiameter's test application (extensions/test_app): these are the defaults of its
/// `ta_conf_init` (test_app.c), also written explicitly into its configuration.
pub mod test_app {
    /// Its dummy vendor (`vendor-id`, default 999999): the application is advertised in a
    /// Vendor-Specific-Application-Id with this Vendor-Id, and Test-AVP is of this vendor.
    pub const VENDOR_ID: u32 = 999_999;
    /// Application-Id (`appli-id`, default 0xffffff).
    pub const APPLICATION_ID: u32 = 0x00ff_ffff;
    /// Test-Request / Test-Answer command code (`cmd-id`, default 0xfffffe), P bit set.
    pub const COMMAND_CODE: u32 = 0x00ff_fffe;
    /// Test-AVP code (`avp-id`, default 0xffffff): Integer32, V bit, vendor [`VENDOR_ID`];
    /// required in Test-Request and Test-Answer (ta_dict.c), echoed by the server.
    pub const TEST_AVP: u32 = 0x00ff_ffff;
}

/// test_app's roles (`mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestAppMode {
    /// Answers Test-Requests.
    Server,
    /// Sends one Test-Request per signal (SIGUSR1).
    Client,
    /// Both.
    Both,
}

/// test_app's configuration.
#[derive(Clone, Debug)]
pub struct TestAppConfig {
    /// Role.
    pub mode: TestAppMode,
    /// Destination-Realm of the requests it sends.
    pub dest_realm: String,
    /// Destination-Host of the requests it sends.
    pub dest_host: Option<String>,
}

/// A peer freeDiameter connects to (`ConnectPeer`).
#[derive(Clone, Debug)]
pub struct ConnectPeer {
    /// Its DiameterIdentity.
    pub identity: String,
    /// Its address.
    pub address: IpAddr,
    /// Its port.
    pub port: u16,
}

/// freeDiameter's TLS credentials and secure port (PEM files, e.g. written by the test).
#[derive(Clone, Debug)]
pub struct FdTls {
    /// `TLS_Cred`: its certificate (DNS name = its identity).
    pub certificate: PathBuf,
    /// `TLS_Cred`: the certificate's private key.
    pub private_key: PathBuf,
    /// `TLS_CA`: the CA its peers' certificates must chain to.
    pub ca: PathBuf,
    /// `SecPort`: TLS at connection start (bound on every interface, like `Port`).
    pub sec_port: u16,
}

/// What goes into `freeDiameter.conf`.
#[derive(Clone, Debug)]
pub struct FdConfig {
    /// `Identity`.
    pub identity: String,
    /// `Realm`.
    pub realm: String,
    /// `Port` (bound on every interface).
    pub port: u16,
    /// `ListenOn`.
    pub listen_on: IpAddr,
    /// `TwTimer` (6 at least).
    pub tw_timer: u32,
    /// `NoRelay`: no Relay application in its CER/CEA, so the test application has to be
    /// found in its Vendor-Specific-Application-Id.
    pub no_relay: bool,
    /// Identities (wildcards allowed) whitelisted by `acl_wl.fdx` with `ALLOW_IPSEC` (no TLS).
    pub whitelist: Vec<String>,
    /// Identities whitelisted with `ALLOW_OLD_TLS`: TLS after CER/CEA on the plain `Port`
    /// (Inband-Security-Id, RFC 3588; needs [`Self::tls`]).
    pub old_tls_whitelist: Vec<String>,
    /// Peers it connects to.
    pub connect_peers: Vec<ConnectPeer>,
    /// TLS credentials and `SecPort`; without them `SecPort = 0` (no TLS).
    pub tls: Option<FdTls>,
    /// Peers it connects to with TLS at connection start (needs [`Self::tls`]).
    pub tls_connect_peers: Vec<ConnectPeer>,
    /// Extra extensions of Debian's package (`dict_nasreq.fdx`, ...).
    pub extensions: Vec<String>,
    /// The test application, when loaded.
    pub test_app: Option<TestAppConfig>,
    /// `dbg_msg_dumps.fdx` mask: every message sent and received is logged on one line.
    pub dump_messages: bool,
}

impl FdConfig {
    /// A configuration with the suite's defaults (`TwTimer = 6`, `NoRelay`, message dumps).
    pub fn new(identity: &str, realm: &str, port: u16) -> Self {
        Self {
            identity: identity.into(),
            realm: realm.into(),
            port,
            listen_on: IpAddr::from([127, 0, 0, 1]),
            tw_timer: 6,
            no_relay: true,
            whitelist: Vec::new(),
            old_tls_whitelist: Vec::new(),
            connect_peers: Vec::new(),
            tls: None,
            tls_connect_peers: Vec::new(),
            extensions: Vec::new(),
            test_app: None,
            dump_messages: true,
        }
    }

    /// The text of `freeDiameter.conf`, with the files it names in `dir`.
    pub fn render(&self, tools: &Tools, dir: &Path) -> String {
        let mut c = String::new();
        let mut line = |s: String| {
            c.push_str(&s);
            c.push('\n');
        };
        line(format!("Identity = \"{}\";", self.identity));
        line(format!("Realm = \"{}\";", self.realm));
        line(format!("Port = {};", self.port));
        match &self.tls {
            Some(t) => {
                line(format!("SecPort = {};", t.sec_port));
                line(format!(
                    "TLS_Cred = \"{}\", \"{}\";",
                    t.certificate.display(),
                    t.private_key.display()
                ));
                line(format!("TLS_CA = \"{}\";", t.ca.display()));
            }
            None => line("SecPort = 0;".into()),
        }
        line("No_SCTP;".into());
        line("Prefer_TCP;".into());
        if self.listen_on.is_ipv4() {
            line("No_IPv6;".into());
        }
        line(format!("ListenOn = \"{}\";", self.listen_on));
        line(format!("TwTimer = {};", self.tw_timer));
        if self.no_relay {
            line("NoRelay;".into());
        }
        line("AppServThreads = 2;".into());
        let ext = |name: &str| tools.extension_dir.join(name).display().to_string();
        line(format!(
            "LoadExtension = \"{}\" : \"{}\";",
            ext("acl_wl.fdx"),
            dir.join("acl_wl.conf").display()
        ));
        if self.dump_messages {
            // dbg_msg_dumps: errors as trees (0x0008), sent and received messages on one
            // line each (0x0040), peer connections compact (0x2000).
            line(format!(
                "LoadExtension = \"{}\" : \"0x2048\";",
                ext("dbg_msg_dumps.fdx")
            ));
        }
        for e in &self.extensions {
            line(format!("LoadExtension = \"{}\";", ext(e)));
        }
        if self.test_app.is_some() {
            line(format!(
                "LoadExtension = \"{}\" : \"{}\";",
                tools.test_app.display(),
                dir.join("test_app.conf").display()
            ));
        }
        for p in &self.connect_peers {
            line(format!(
                "ConnectPeer = \"{}\" {{ ConnectTo = \"{}\"; Port = {}; No_TLS; Prefer_TCP; No_SCTP; }};",
                p.identity, p.address, p.port
            ));
        }
        for p in &self.tls_connect_peers {
            line(format!(
                "ConnectPeer = \"{}\" {{ ConnectTo = \"{}\"; Port = {}; Prefer_TCP; No_SCTP; }};",
                p.identity, p.address, p.port
            ));
        }
        c
    }

    /// `acl_wl.conf`.
    pub fn render_acl(&self) -> String {
        let ipsec = self.whitelist.iter().map(|p| format!("ALLOW_IPSEC {p}\n"));
        let old_tls = self
            .old_tls_whitelist
            .iter()
            .map(|p| format!("ALLOW_OLD_TLS {p}\n"));
        ipsec.chain(old_tls).collect()
    }

    /// `test_app.conf` (empty without the test application).
    pub fn render_test_app(&self) -> String {
        let Some(t) = &self.test_app else {
            return String::new();
        };
        let mode = match t.mode {
            TestAppMode::Server => "server",
            TestAppMode::Client => "client",
            TestAppMode::Both => "both",
        };
        let mut c = format!(
            "vendor-id = {};\nappli-id = {};\ncmd-id = {};\navp-id = {};\nmode = {mode};\ndest-realm = \"{}\";\n",
            test_app::VENDOR_ID,
            test_app::APPLICATION_ID,
            test_app::COMMAND_CODE,
            test_app::TEST_AVP,
            t.dest_realm
        );
        if let Some(h) = &t.dest_host {
            c.push_str(&format!("dest-host = \"{h}\";\n"));
        }
        c
    }
}

/// The log without freeDiameter's own records (`HH:MM:SS  LEVEL ...` up to and including
/// their newline): fd_log writes each record in one call, but test_app writes a report in
/// pieces (`RECV `, then the Test-AVP value, then the status ...), so a record from another
/// thread can land inside a report, even after `RECV ` on the same line. What is left is
/// test_app's output, its reports whole again.
pub fn test_app_output(log: &str) -> String {
    let b = log.as_bytes();
    let stamp_at = |i: usize| {
        let d = |k: usize| b.get(i + k).is_some_and(u8::is_ascii_digit);
        d(0) && d(1)
            && b.get(i + 2) == Some(&b':')
            && d(3)
            && d(4)
            && b.get(i + 5) == Some(&b':')
            && d(6)
            && d(7)
            && b.get(i + 8..i + 10) == Some(b"  ")
            && b.get(i + 10).is_some_and(u8::is_ascii_uppercase)
    };
    let mut out = String::with_capacity(log.len());
    let mut from = 0;
    let mut i = 0;
    while i < b.len() {
        if stamp_at(i) {
            out.push_str(&log[from..i]);
            i = log[i..].find('\n').map_or(b.len(), |n| i + n + 1);
            from = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&log[from..]);
    out
}

/// What test_app reported: requests sent, answers received, and answers it found right
/// (Test-AVP echoed, Result-Code 2001) from `answered_by`. Counted as pieces of its output,
/// not lines: test_app writes a report in several calls from more than one thread (a `RECV `
/// can be followed by another request's `SEND ...` before the rest of its answer), so only the
/// pieces themselves are whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestAppReports {
    /// Requests sent (`SEND `).
    pub sent: usize,
    /// Answers received (`RECV `).
    pub answered: usize,
    /// Answers test_app found right, from the expected peer.
    pub ok: usize,
}

/// test_app's reports in a freeDiameter log (see [`TestAppReports`]).
pub fn test_app_reports(log: &str, answered_by: &str) -> TestAppReports {
    let out = test_app_output(log);
    TestAppReports {
        sent: out.matches("SEND ").count(),
        answered: out.matches("RECV ").count(),
        ok: out
            .matches(&format!("(Ok) Status: 2001 From '{answered_by}'"))
            .count(),
    }
}

/// The log's lines, with test_app's `SEND `/`RECV ` reports split off when they share a
/// line: test_app writes a report and its newline in separate calls from several threads,
/// so two answers arriving together print as `RECV a ... secRECV b ... sec` followed by two
/// empty lines.
pub fn records(log: &str) -> impl Iterator<Item = &str> {
    log.lines().flat_map(|line| {
        let mut starts: Vec<usize> = ["SEND ", "RECV "]
            .iter()
            .flat_map(|m| line.match_indices(m).map(|(i, _)| i))
            .filter(|&i| i > 0)
            .collect();
        starts.sort_unstable();
        starts.push(line.len());
        let mut from = 0;
        starts.into_iter().map(move |to| {
            let piece = &line[from..to];
            from = to;
            piece
        })
    })
}

/// A running `freeDiameterd`.
#[derive(Debug)]
pub struct FreeDiameter {
    child: Child,
    conf: PathBuf,
}

impl FreeDiameter {
    /// Writes the configuration into `dir`, starts the daemon and waits (10 s at most) until
    /// it reports it is initialized.
    pub async fn start(tools: &Tools, dir: &Path, config: &FdConfig) -> Result<Self, String> {
        let conf = dir.join("freeDiameter.conf");
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).map_err(|e| format!("writing {name}: {e}"))
        };
        write("freeDiameter.conf", config.render(tools, dir))?;
        write("acl_wl.conf", config.render_acl())?;
        if config.test_app.is_some() {
            write("test_app.conf", config.render_test_app())?;
        }
        let mut cmd = crate::process::command(&tools.freediameterd);
        cmd.arg("-c").arg(&conf).current_dir(dir);
        let child = Child::spawn("freeDiameterd", cmd, &dir.join("freeDiameterd.log"))?;
        let mut fd = Self { child, conf };
        fd.child
            .wait_for_log("initialization", Duration::from_secs(10), |log| {
                log.contains("freeDiameterd daemon initialized")
            })
            .await?;
        Ok(fd)
    }

    /// The configuration file.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// Its log (stdout and stderr) so far.
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        self.child.log_tail(n)
    }

    /// How many log lines satisfy `pred` (see [`records`] for what a line is).
    pub fn count_lines(&self, pred: impl Fn(&str) -> bool) -> usize {
        records(&self.log()).filter(|l| pred(l)).count()
    }

    /// Waits at most `timeout` until `cond` holds for the log.
    pub async fn wait_for_log(
        &mut self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        self.child.wait_for_log(what, timeout, cond).await
    }

    /// Waits until at least `n` log lines satisfy `pred`.
    pub async fn wait_for_lines(
        &mut self,
        what: &str,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        self.child
            .wait_for_log(what, timeout, |log| {
                records(log).filter(|l| pred(l)).count() >= n
            })
            .await
    }

    /// A round of test_app (client mode): `m` Test-Requests, one SIGUSR1 at a time
    /// (signals do not queue: each waits for test_app's SEND line), then `m` answers that
    /// test_app found right (Test-AVP, Result-Code 2001, Origin-Host/Realm) from
    /// `answered_by`, and no other.
    pub async fn test_app_round(&mut self, m: usize, answered_by: &str) -> Result<(), String> {
        for i in 1..=m {
            self.trigger_test_request()?;
            self.child
                .wait_for_log("test_app's request", Duration::from_secs(5), |log| {
                    test_app_reports(log, answered_by).sent >= i
                })
                .await?;
        }
        self.child
            .wait_for_log("test_app's answers", Duration::from_secs(10), |log| {
                test_app_reports(log, answered_by).ok >= m
            })
            .await?;
        let r = test_app_reports(&self.log(), answered_by);
        match r.answered - r.ok.min(r.answered) {
            0 => Ok(()),
            bad => Err(format!(
                "test_app found problems in {bad} answer(s):\n{}",
                self.log_tail(40)
            )),
        }
    }

    /// Makes test_app (client mode) send one Test-Request: its signal, SIGUSR1.
    pub fn trigger_test_request(&self) -> Result<(), String> {
        self.child.signal("USR1")
    }

    /// Whether the daemon still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.is_running()
    }

    /// Graceful stop: SIGTERM (freeDiameter then sends DPR to its open peers), then waits at
    /// most `timeout` for it to exit; killed if it does not.
    pub async fn stop(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        if let Some(status) = self.child.exit_status() {
            return Ok(status);
        }
        self.child.signal("TERM")?;
        match self.child.wait_exit(timeout).await {
            Some(status) => Ok(status),
            None => {
                self.child.kill();
                Err(format!(
                    "freeDiameterd did not exit within {timeout:?} of SIGTERM; log:\n{}",
                    self.child.log_tail(60)
                ))
            }
        }
    }
}

/// Lines of the `dbg_msg_dumps` log (`RCV from 'peer': ...` / `SND to 'peer': ...`) about a
/// message named `name` (`"Device-Watchdog-Request"`, ...), received from or sent to `peer`.
pub fn dump_line(line: &str, received: bool, peer: &str, name: &str) -> bool {
    let head = if received {
        format!("RCV from '{peer}'")
    } else {
        format!("SND to '{peer}'")
    };
    line.contains(&head) && line.contains(name)
}
