//! tshark: captures the loopback traffic of a scenario's ports, then dissects every Diameter
//! message in it.
//!
//! The capture (`tshark -i lo -f "tcp port A or tcp port B" -w file.pcapng`) starts before the
//! peers and stops after them. The dissection decodes those ports as Diameter, with
//! Wireshark's dictionary plus freeDiameter's test application (so that Test-AVP is checked
//! like any other AVP instead of showing as unknown), and reports per message: ports,
//! command, flags, and the expert infos and malformed-packet marks of its frame.
//!
//! Wireshark ignores `WIRESHARK_DATA_DIR` (where the extra dictionary goes) for root, so as
//! root the dissection runs as `nobody` through `setpriv`; the capture itself needs root.
//!
//! [`Dissection::verdict`] judges every message of a capture, ours and the peer's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::freediameter::test_app;
use crate::process::Child;
use crate::tools::is_root;

/// A running capture.
#[derive(Debug)]
pub struct Capture {
    child: Child,
    file: PathBuf,
    ports: Vec<u16>,
}

impl Capture {
    /// Starts capturing TCP traffic of `ports` on `lo` into `dir/<name>.pcapng` with
    /// `tshark`, and waits (10 s at most) until tshark says it is capturing.
    pub async fn start(
        tshark: &Path,
        dir: &Path,
        name: &str,
        ports: &[u16],
    ) -> Result<Self, String> {
        let file = dir.join(format!("{name}.pcapng"));
        let filter = ports
            .iter()
            .map(|p| format!("tcp port {p}"))
            .collect::<Vec<_>>()
            .join(" or ");
        // Stops by itself after 5 minutes should nobody stop it (its dumpcap would outlive a
        // killed test otherwise).
        let mut cmd = crate::process::command(tshark);
        cmd.args(["-n", "-i", "lo", "-a", "duration:300", "-f", &filter, "-w"])
            .arg(&file)
            .current_dir(dir);
        let log = dir.join(format!("{name}.tshark.log"));
        let mut child = Child::spawn("tshark (capture)", cmd, &log)?;
        // "Capturing on" comes before dumpcap runs; "Capture started." once it has the file
        // open and its filter set (earlier packets are lost).
        child
            .wait_for_log("the capture to start", Duration::from_secs(10), |l| {
                l.contains("Capturing on")
            })
            .await?;
        if child
            .wait_for_log("dumpcap", Duration::from_secs(3), |l| {
                l.contains("Capture started")
            })
            .await
            .is_err()
        {
            // A tshark that does not say so: give dumpcap time.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(Self {
            child,
            file,
            ports: ports.to_vec(),
        })
    }

    /// The ports captured.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Stops the capture (SIGINT, so that the file is complete) and returns the file.
    pub async fn stop(mut self) -> Result<PathBuf, String> {
        // Let the last segments reach the capture.
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.child.signal("INT")?;
        if self
            .child
            .wait_exit(Duration::from_secs(10))
            .await
            .is_none()
        {
            self.child.kill();
            return Err(format!(
                "tshark did not stop within 10 s; log:\n{}",
                self.child.log_tail(20)
            ));
        }
        if !self.file.is_file() {
            return Err(format!(
                "tshark wrote no {}; log:\n{}",
                self.file.display(),
                self.child.log_tail(20)
            ));
        }
        Ok(self.file.clone())
    }
}

/// The Wireshark severity of an expert info.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Comment.
    Comment,
    /// Chat.
    Chat,
    /// Note.
    Note,
    /// Warning.
    Warning,
    /// Error.
    Error,
}

impl Severity {
    fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let v = if let Some(hex) = s.strip_prefix("0x") {
            u32::from_str_radix(hex, 16).ok()?
        } else if let Ok(v) = s.parse::<u32>() {
            v
        } else {
            return match s.to_ascii_lowercase().as_str() {
                "comment" => Some(Self::Comment),
                "chat" => Some(Self::Chat),
                "note" => Some(Self::Note),
                "warning" | "warn" => Some(Self::Warning),
                "error" => Some(Self::Error),
                _ => None,
            };
        };
        Some(match v {
            0x0010_0000 => Self::Comment,
            0x0020_0000 => Self::Chat,
            0x0040_0000 => Self::Note,
            0x0060_0000 => Self::Warning,
            _ if v >= 0x0080_0000 => Self::Error,
            _ => Self::Note,
        })
    }
}

/// One expert info of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertInfo {
    /// Severity.
    pub severity: Severity,
    /// Wireshark's group (as tshark prints it).
    pub group: String,
    /// Its text.
    pub message: String,
}

impl ExpertInfo {
    /// Wireshark's PI_SEQUENCE group (TCP sequence analysis: resets, retransmissions,
    /// segments not captured).
    pub const GROUP_SEQUENCE: u32 = 0x0200_0000;

    /// Whether it is about the TCP stream rather than a message's content.
    pub fn is_transport(&self) -> bool {
        let g = self.group.trim();
        let v = g
            .strip_prefix("0x")
            .map_or_else(|| g.parse().ok(), |h| u32::from_str_radix(h, 16).ok());
        v == Some(Self::GROUP_SEQUENCE) || g.eq_ignore_ascii_case("sequence")
    }
}

/// One Diameter message seen by tshark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DissectedMessage {
    /// Frame number in the capture (several messages can share a frame).
    pub frame: u32,
    /// TCP source port.
    pub src_port: u16,
    /// TCP destination port.
    pub dst_port: u16,
    /// Command code.
    pub code: u32,
    /// R bit.
    pub request: bool,
    /// E bit.
    pub error: bool,
    /// Application-Id.
    pub application_id: u32,
    /// Wireshark's command name (`"Capabilities-Exchange Request"`, ...).
    pub name: String,
}

impl DissectedMessage {
    /// A short name: `CER`, `DWA`, `Test-Request` ...
    pub fn short_name(&self) -> String {
        short_name(self.code, self.request)
    }
}

/// The short name of a command: `CER`, `DWA`, `CCR`, `Test-Request`, `code 999 request`.
pub fn short_name(code: u32, request: bool) -> String {
    let base = match code {
        257 => "CE",
        258 => "RA",
        271 => "AC",
        272 => "CC",
        274 => "AS",
        275 => "ST",
        280 => "DW",
        282 => "DP",
        test_app::COMMAND_CODE => {
            return format!("Test-{}", if request { "Request" } else { "Answer" });
        }
        _ => return format!("code {code} {}", if request { "request" } else { "answer" }),
    };
    format!("{base}{}", if request { 'R' } else { 'A' })
}

/// A frame with a problem: malformed, or an expert info of warning severity or worse (TCP
/// sequence analysis aside: see [`Dissection::transport`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Frame number.
    pub frame: u32,
    /// TCP source port.
    pub src_port: u16,
    /// TCP destination port.
    pub dst_port: u16,
    /// Whether tshark marked it malformed.
    pub malformed: bool,
    /// Its expert infos of warning severity or worse.
    pub experts: Vec<ExpertInfo>,
    /// The Diameter commands in it.
    pub commands: Vec<String>,
}

/// What tshark found in a capture.
#[derive(Clone, Debug, Default)]
pub struct Dissection {
    /// Every Diameter message, in capture order.
    pub messages: Vec<DissectedMessage>,
    /// Frames with problems (any protocol of the frame).
    pub problems: Vec<Problem>,
    /// Every expert info of every Diameter frame, whatever its severity.
    pub experts: Vec<(u32, ExpertInfo)>,
    /// TCP sequence-analysis warnings (frame, ports, info): transport events such as resets
    /// or segments the capture missed, not problems of a Diameter message.
    pub transport: Vec<(u32, u16, u16, ExpertInfo)>,
}

impl Dissection {
    /// Messages satisfying `pred`.
    pub fn count(&self, pred: impl Fn(&DissectedMessage) -> bool) -> usize {
        self.messages.iter().filter(|m| pred(m)).count()
    }

    /// Messages per short name, e.g. `{"CEA": 1, "CER": 1, ...}`, of the messages satisfying
    /// `pred`.
    pub fn histogram(&self, pred: impl Fn(&DissectedMessage) -> bool) -> BTreeMap<String, usize> {
        let mut h = BTreeMap::new();
        for m in self.messages.iter().filter(|m| pred(m)) {
            *h.entry(m.short_name()).or_insert(0) += 1;
        }
        h
    }

    /// The problems of frames satisfying `pred` (e.g. sent by our node).
    pub fn problems_where(&self, pred: impl Fn(u16, u16) -> bool) -> Vec<&Problem> {
        self.problems
            .iter()
            .filter(|p| pred(p.src_port, p.dst_port))
            .collect()
    }

    /// One line per message, for failure reports.
    pub fn listing(&self) -> String {
        let mut s = String::new();
        for m in &self.messages {
            let _ = writeln!(
                s,
                "  frame {:>4} {:>5} -> {:<5} {:<14} app {} {}{}",
                m.frame,
                m.src_port,
                m.dst_port,
                m.short_name(),
                m.application_id,
                m.name,
                if m.error { " [E]" } else { "" }
            );
        }
        for p in &self.problems {
            let _ = writeln!(s, "  problem: {p:?}");
        }
        s
    }
}

/// How every message of a capture fared: [`Dissection::verdict`].
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// What fails the scenario: a malformed frame or an expert error on either side, an
    /// expert warning on ours.
    pub failures: Vec<String>,
    /// What is only worth seeing: expert warnings on the peer's messages (its own quirks).
    pub notes: Vec<String>,
    /// TCP sequence-analysis warnings (resets, segments the capture missed): about the
    /// connections, not the messages.
    pub transport: Vec<String>,
}

impl Verdict {
    /// Whether nothing failed.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }
}

impl Dissection {
    /// Judges every frame of the capture, ours (told by `ours(src_port, dst_port)`) and the
    /// peer's: malformed or with an expert error, whoever sent it, it fails; with an expert
    /// warning it fails when ours and is a note when the peer's.
    pub fn verdict(&self, ours: impl Fn(u16, u16) -> bool) -> Verdict {
        let mut v = Verdict::default();
        for p in &self.problems {
            let side = if ours(p.src_port, p.dst_port) {
                "ours"
            } else {
                "theirs"
            };
            let errors: Vec<&ExpertInfo> = p
                .experts
                .iter()
                .filter(|e| e.severity >= Severity::Error)
                .collect();
            let line = format!(
                "frame {} ({side}, {} -> {}, {}){}: {}",
                p.frame,
                p.src_port,
                p.dst_port,
                if p.commands.is_empty() {
                    "no Diameter message".to_string()
                } else {
                    p.commands.join(" ")
                },
                if p.malformed { " MALFORMED" } else { "" },
                p.experts
                    .iter()
                    .map(|e| format!("{:?}: {}", e.severity, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            if p.malformed || !errors.is_empty() || side == "ours" {
                v.failures.push(line);
            } else {
                v.notes.push(line);
            }
        }
        for (frame, src, dst, e) in &self.transport {
            let side = if ours(*src, *dst) { "ours" } else { "theirs" };
            v.transport.push(format!(
                "frame {frame} ({side}, {src} -> {dst}) TCP: {:?}: {}",
                e.severity, e.message
            ));
        }
        v
    }
}

/// Wireshark's data folder with one more dictionary file: freeDiameter's test application,
/// and the command and AVP of [`crate::erlang::UNSUPPORTED_COMMAND`] and
/// [`crate::erlang::UNKNOWN_AVP`].
fn wireshark_data_dir(work: &Path) -> Result<PathBuf, String> {
    let system = Path::new("/usr/share/wireshark");
    let data = work.join("wireshark-data");
    let diameter = data.join("diameter");
    let io = |e: std::io::Error| format!("preparing {}: {e}", data.display());
    std::fs::create_dir_all(&diameter).map_err(io)?;
    for entry in std::fs::read_dir(system).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let link = data.join(&name);
        if name != "diameter" && !link.exists() {
            std::os::unix::fs::symlink(entry.path(), link).map_err(io)?;
        }
    }
    for entry in std::fs::read_dir(system.join("diameter")).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let link = diameter.join(&name);
        if name != "Custom.xml" && !link.exists() {
            std::os::unix::fs::symlink(entry.path(), link).map_err(io)?;
        }
    }
    let custom = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<!-- freeDiameter's test application (extensions/test_app), for diameter-interop -->
<vendor vendor-id="FdTestApp" code="{vendor}" name="freeDiameter test_app dummy vendor"/>
<application id="{app}" name="freeDiameter test_app">
	<command name="Test" code="{cmd}" vendor-id="None"/>
	<avp name="Test-AVP" code="{avp}" vendor-id="FdTestApp" mandatory="mustnot" vendor-bit="must" may-encrypt="no">
		<type type-name="Integer32"/>
	</avp>
	<!-- diameter-interop's Erlang tests: the command nobody serves (answered 3001) and
	     the AVP sent with the M bit (answered 5001), known to tshark only -->
	<command name="Interop-Unsupported" code="{unsupported}" vendor-id="None"/>
	<avp name="Interop-Unknown-AVP" code="{unknown}" mandatory="may" may-encrypt="no">
		<type type-name="Unsigned32"/>
	</avp>
</application>
"#,
        unknown = crate::erlang::UNKNOWN_AVP,
        unsupported = crate::erlang::UNSUPPORTED_COMMAND,
        vendor = test_app::VENDOR_ID,
        app = test_app::APPLICATION_ID,
        cmd = test_app::COMMAND_CODE,
        avp = test_app::TEST_AVP,
    );
    std::fs::write(diameter.join("Custom.xml"), custom).map_err(io)?;
    Ok(data)
}

/// Runs `tshark` on `pcap` with `ports` decoded as Diameter; its standard output.
fn run_tshark(
    tshark: &Path,
    work: &Path,
    pcap: &Path,
    ports: &[u16],
    args: &[&str],
) -> Result<String, String> {
    let data = wireshark_data_dir(work)?;
    let home = work.join("wireshark-home");
    std::fs::create_dir_all(&home).map_err(|e| format!("{}: {e}", home.display()))?;
    let mut cmd = if is_root() {
        // Readable by nobody (its home writable).
        for (mode, p) in [("a+rX", work), ("a+r", pcap), ("a+rwX", home.as_path())] {
            let _ = Command::new("chmod").arg(mode).arg(p).status();
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(tshark);
        c
    } else {
        Command::new(tshark)
    };
    cmd.env("WIRESHARK_DATA_DIR", &data)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .arg("-n")
        .arg("-r")
        .arg(pcap);
    for p in ports {
        cmd.arg("-d").arg(format!("tcp.port=={p},diameter"));
    }
    cmd.args(args);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tshark {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Dissects `pcap` with `tshark`: every Diameter message, and every frame that is malformed
/// or has expert infos of warning severity or worse. `work` is a folder for tshark's data
/// and home.
pub fn dissect(
    tshark: &Path,
    work: &Path,
    pcap: &Path,
    ports: &[u16],
) -> Result<Dissection, String> {
    // Fields of one frame, tab-separated; several messages of a frame are
    // aggregated with U+001F.
    let fields = [
        "frame.number",
        "tcp.srcport",
        "tcp.dstport",
        "diameter.cmd.code",
        "diameter.flags.request",
        "diameter.flags.error",
        "diameter.applicationId",
        "_ws.expert.severity",
        "_ws.expert.group",
        "_ws.expert.message",
        "_ws.malformed",
        "_ws.col.Info",
    ];
    let mut args: Vec<&str> = vec![
        "-Y",
        "diameter || _ws.malformed || _ws.expert.severity >= 0x00600000",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=\u{1f}",
    ];
    for f in &fields {
        args.push("-e");
        args.push(f);
    }
    let out = run_tshark(tshark, work, pcap, ports, &args)?;
    let mut d = Dissection::default();
    for line in out.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < fields.len() {
            continue;
        }
        let list = |i: usize| -> Vec<&str> {
            if cols[i].is_empty() {
                Vec::new()
            } else {
                cols[i].split('\u{1f}').collect()
            }
        };
        let num = |s: &str| -> u32 {
            let s = s.trim();
            s.strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |h| u32::from_str_radix(h, 16).ok())
                .unwrap_or(0)
        };
        let flag = |s: &str| matches!(s.trim(), "1" | "True" | "true");
        let frame = num(cols[0]);
        let src_port = num(cols[1].split('\u{1f}').next().unwrap_or("")) as u16;
        let dst_port = num(cols[2].split('\u{1f}').next().unwrap_or("")) as u16;
        let codes = list(3);
        let requests = list(4);
        let errors = list(5);
        let apps = list(6);
        let info = cols[11];
        let names: Vec<&str> = info.split(" | ").collect();
        for (i, code) in codes.iter().enumerate() {
            d.messages.push(DissectedMessage {
                frame,
                src_port,
                dst_port,
                code: num(code),
                request: requests.get(i).is_some_and(|s| flag(s)),
                error: errors.get(i).is_some_and(|s| flag(s)),
                application_id: apps.get(i).map_or(0, |s| num(s)),
                name: names.get(i).map_or(String::new(), |s| s.trim().to_string()),
            });
        }
        let severities = list(7);
        let groups = list(8);
        let messages = list(9);
        let mut bad = Vec::new();
        for (i, s) in severities.iter().enumerate() {
            let e = ExpertInfo {
                severity: Severity::parse(s).unwrap_or(Severity::Error),
                group: groups.get(i).map_or(String::new(), |s| s.to_string()),
                message: messages.get(i).map_or(String::new(), |s| s.to_string()),
            };
            if e.severity >= Severity::Warning {
                if e.is_transport() {
                    d.transport.push((frame, src_port, dst_port, e.clone()));
                } else {
                    bad.push(e.clone());
                }
            }
            if !codes.is_empty() {
                d.experts.push((frame, e));
            }
        }
        let malformed = !cols[10].is_empty();
        if malformed || !bad.is_empty() {
            d.problems.push(Problem {
                frame,
                src_port,
                dst_port,
                malformed,
                experts: bad,
                commands: codes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| short_name(num(c), requests.get(i).is_some_and(|s| flag(s))))
                    .collect(),
            });
        }
    }
    Ok(d)
}
