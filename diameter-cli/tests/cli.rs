//! `diameter decode`, `encode` and `dict` on hex, raw and JSON input, run as the built
//! binary.

mod common;

use common::{cca, ccr, data_hex, diameter, from_hex, scratch, summary, to_hex, with_hop_by_hop};
use serde_json::Value;

const CCR_HOP: u64 = 0x1234_5678;

#[test]
fn decode_hex_text() {
    let run = diameter(&["decode", "--hex", &data_hex("ccr.hex")], b"");
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    assert!(
        out.starts_with("# message 1 (--hex)\nCredit-Control-Request (272)"),
        "{out}"
    );
    assert!(
        out.contains("Session-Id (263) [-M-] UTF8String: \"pgw01.epc"),
        "{out}"
    );
    // Nested Grouped AVPs are indented under their parent.
    assert!(
        out.contains("\n      CC-Total-Octets (421) [-M-] Unsigned64: 10485760\n"),
        "{out}"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let run = diameter(
        &["decode", "--hex", &data_hex("cca.hex"), "--validate"],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    assert!(out.contains("Credit-Control-Answer (272)"), "{out}");
    assert!(out.trim_end().ends_with("validation: ok"), "{out}");
}

#[test]
fn decode_json_single_object_and_array() {
    let run = diameter(
        &["decode", "--hex", &data_hex("ccr.hex"), "--format", "json"],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["command"], "Credit-Control-Request");
    assert_eq!(v["command_code"], 272);
    assert_eq!(v["application_id"], 4);
    assert_eq!(v["hop_by_hop"], CCR_HOP);
    assert_eq!(v["flags"]["request"], true);
    assert_eq!(v["avps"][0]["name"], "Session-Id");
    assert!(v.get("validation").is_none());

    let both = format!("{}\n{}\n", data_hex("ccr.hex"), data_hex("cca.hex"));
    let run = diameter(
        &["decode", "--hex-file", "-", "--format", "json"],
        both.as_bytes(),
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let list = run.json();
    let list = list.as_array().expect("an array for two messages");
    assert_eq!(
        summary(list),
        [
            (CCR_HOP, "Credit-Control-Request".to_owned()),
            (CCR_HOP, "Credit-Control-Answer".to_owned())
        ]
    );
}

#[test]
fn json_round_trip_gives_identical_hex() {
    let input = format!("{}\n{}\n", data_hex("ccr.hex"), data_hex("cca.hex"));
    for format in ["json", "jsonl"] {
        let json = diameter(
            &["decode", "--hex-file", "-", "--format", format],
            input.as_bytes(),
        );
        assert_eq!(json.status, 0, "{}", json.stderr);
        let hex = diameter(&["encode"], &json.stdout);
        assert_eq!(hex.status, 0, "{}", hex.stderr);
        assert_eq!(hex.stdout(), input, "round trip through {format}");
    }
    // One object (not an array) from a file.
    let json = diameter(
        &["decode", "--hex", &data_hex("cca.hex"), "--format", "json"],
        b"",
    );
    let path = scratch("cca.json");
    std::fs::write(&path, &json.stdout).unwrap();
    let hex = diameter(&["encode", "--json", path.to_str().unwrap()], b"");
    assert_eq!(hex.status, 0, "{}", hex.stderr);
    assert_eq!(hex.stdout().trim(), data_hex("cca.hex"));
}

#[test]
fn decode_jsonl_one_object_per_message_in_order() {
    let msgs: Vec<Vec<u8>> = (1..=5)
        .map(|h| with_hop_by_hop(&if h % 2 == 1 { ccr() } else { cca() }, h))
        .collect();
    let input: String = msgs.iter().map(|m| to_hex(m) + "\n").collect();
    let run = diameter(
        &[
            "decode",
            "--hex-file",
            "-",
            "--format",
            "jsonl",
            "--validate",
        ],
        input.as_bytes(),
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let lines = run.jsonl();
    assert_eq!(run.stdout().lines().count(), 5);
    let hops: Vec<u64> = summary(&lines).into_iter().map(|(h, _)| h).collect();
    assert_eq!(hops, [1, 2, 3, 4, 5]);
    for v in &lines {
        assert_eq!(v["validation"], serde_json::json!({"ok": true}));
    }
}

#[test]
fn encode_raw_and_jsonl_input() {
    let json = diameter(
        &["decode", "--hex", &data_hex("ccr.hex"), "--format", "jsonl"],
        b"",
    );
    let two = [json.stdout.clone(), json.stdout.clone()].concat();
    let raw = diameter(&["encode", "--format", "raw"], &two);
    assert_eq!(raw.status, 0, "{}", raw.stderr);
    assert_eq!(raw.stdout, [ccr(), ccr()].concat());

    // Names instead of codes, types omitted, an enum by name, a bad line in the middle.
    let input = concat!(
        r#"{"command":"Device-Watchdog-Request","hop_by_hop":7,"avps":[{"name":"Origin-Host","value":"a.example"},{"name":"Origin-Realm","value":"example"}]}"#,
        "\n{\"command\": oops}\n",
        r#"{"command":"Device-Watchdog-Answer","avps":[{"name":"Result-Code","value":2001},{"name":"Origin-Host","value":"b"},{"name":"Origin-Realm","value":"c"}]}"#,
        "\n"
    );
    let hex = diameter(&["encode"], input.as_bytes());
    assert_eq!(hex.status, 1);
    assert!(
        hex.stderr.contains("message 2") && hex.stderr.contains("line 2"),
        "{}",
        hex.stderr
    );
    let lines: Vec<String> = hex.stdout().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    let back = diameter(
        &[
            "decode",
            "--hex-file",
            "-",
            "--format",
            "jsonl",
            "--validate",
        ],
        hex.stdout.as_slice(),
    );
    assert_eq!(back.status, 0, "{}", back.stderr);
    let v = back.jsonl();
    assert_eq!(
        summary(&v),
        [
            (7, "Device-Watchdog-Request".to_owned()),
            (0, "Device-Watchdog-Answer".to_owned())
        ]
    );
}

#[test]
fn decode_raw_concatenated_messages() {
    let msgs = [
        with_hop_by_hop(&ccr(), 1),
        with_hop_by_hop(&cca(), 2),
        with_hop_by_hop(&ccr(), 3),
    ];
    let path = scratch("three.raw");
    std::fs::write(&path, msgs.concat()).unwrap();
    let run = diameter(
        &[
            "decode",
            "--raw",
            path.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let hops: Vec<u64> = summary(&run.jsonl()).into_iter().map(|(h, _)| h).collect();
    assert_eq!(hops, [1, 2, 3]);

    // From stdin, with garbage between messages and a truncated last message.
    let mut bad = msgs[0].clone();
    bad.extend_from_slice(b"\0\0\0\x05junk");
    bad.extend_from_slice(&msgs[1]);
    bad.extend_from_slice(&msgs[2][..100]);
    let run = diameter(&["decode", "--raw", "-", "--format", "jsonl"], &bad);
    assert_eq!(run.status, 1);
    let hops: Vec<u64> = summary(&run.jsonl()).into_iter().map(|(h, _)| h).collect();
    assert_eq!(hops, [1, 2]);
    assert!(
        run.stderr
            .contains("message 2 (file offset 528): not a Diameter header"),
        "{}",
        run.stderr
    );
    let tail = 528 + 8 + cca().len();
    assert!(
        run.stderr.contains(&format!(
            "message 4 (file offset {tail}): truncated message: header says 528 bytes, 100 present"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn malformed_message_in_hex_file() {
    let ccr = data_hex("ccr.hex");
    // Second message: the first AVP's length says 4 (less than an AVP header).
    let mut bad = from_hex(&ccr);
    bad[12..16].copy_from_slice(&2u32.to_be_bytes());
    bad[25..28].copy_from_slice(&[0, 0, 4]);
    let input = format!(
        "# three messages and a line that is not hex\n{}\n\n{}\n{}\nnot hex\n",
        to_hex(&with_hop_by_hop(&from_hex(&ccr), 1)),
        to_hex(&bad),
        to_hex(&with_hop_by_hop(&cca(), 3)),
    );
    let path = scratch("mixed.hex");
    std::fs::write(&path, input).unwrap();
    for format in ["jsonl", "text"] {
        let run = diameter(
            &[
                "decode",
                "--hex-file",
                path.to_str().unwrap(),
                "--format",
                format,
            ],
            b"",
        );
        assert_eq!(run.status, 1, "{format}");
        assert!(
            run.stderr
                .contains("error: message 2 (line 4): invalid AVP length 4 at offset 20"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("error: message 4 (line 6): invalid hex digit"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("2 of 4 messages decoded, 2 malformed"),
            "{}",
            run.stderr
        );
        if format == "jsonl" {
            let hops: Vec<u64> = summary(&run.jsonl()).into_iter().map(|(h, _)| h).collect();
            assert_eq!(hops, [1, 3]);
        } else {
            let heads: Vec<&str> = run
                .stdout
                .split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"# message"))
                .map(|l| std::str::from_utf8(l).unwrap())
                .collect();
            assert_eq!(heads, ["# message 1 (line 2)", "# message 3 (line 5)"]);
        }
    }
}

#[test]
fn validation_failure_names_the_result_code() {
    // A DWR without Origin-Host (5005).
    let json = r#"{"command":"Device-Watchdog-Request","avps":[{"name":"Origin-Realm","value":"example.org"}]}"#;
    let hex = diameter(&["encode"], json.as_bytes());
    assert_eq!(hex.status, 0, "{}", hex.stderr);
    let hex = hex.stdout();
    let run = diameter(
        &[
            "decode",
            "--hex",
            hex.trim(),
            "--validate",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(run.status, 1);
    let v: Value = run.json();
    assert_eq!(v["validation"]["ok"], false);
    assert_eq!(v["validation"]["result_code"], 5005);
    assert_eq!(v["validation"]["result"], "DIAMETER_MISSING_AVP");
    assert!(
        v["validation"]["failed_avp"]
            .as_str()
            .unwrap()
            .starts_with("00000108")
    );
    assert!(run.stderr.contains("1 failed validation"), "{}", run.stderr);

    let run = diameter(&["decode", "--hex", hex.trim(), "--validate"], b"");
    assert!(run.stdout().contains("validation: failed: Result-Code DIAMETER_MISSING_AVP(5005): missing AVP Origin-Host(264)"), "{}", run.stdout());
}

#[test]
fn dict_stats_agree_with_the_listing() {
    let run = diameter(&["dict", "--stats", "--format", "json"], b"");
    assert_eq!(run.status, 0, "{}", run.stderr);
    let stats = run.json();
    let n = |k: &str| {
        stats[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {stats}"))
    };
    assert!(
        n("avp_definitions") >= 50 && n("commands") >= 7 && n("modules") >= 1,
        "{stats}"
    );
    assert_eq!(n("typed_command_structs"), 2 * n("commands"));
    assert!(n("enumerated_values") > 0 && n("applications") > 0);

    let all = diameter(&["dict", "--format", "json"], b"");
    assert_eq!(all.status, 0, "{}", all.stderr);
    let all = all.json();
    let len = |k: &str| all[k].as_array().unwrap().len() as u64;
    assert_eq!(len("avps"), n("avp_definitions"));
    assert_eq!(len("commands"), n("commands"));
    assert_eq!(len("modules"), n("modules"));
    let enums: u64 = all["avps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a.get("enum")
                .and_then(Value::as_array)
                .map_or(0, |e| e.len() as u64)
        })
        .sum();
    assert_eq!(enums, n("enumerated_values"));

    let text = diameter(&["dict", "--stats"], b"").stdout();
    for label in [
        "AVP definitions",
        "vendors",
        "applications",
        "commands",
        "typed command structs",
        "enumerated values",
        "modules",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(label)),
            "{label} in {text}"
        );
    }
}

#[test]
fn dict_lookups() {
    let run = diameter(&["dict", "Session-Id"], b"");
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    assert!(
        out.starts_with("AVP Session-Id\n  code:     263\n"),
        "{out}"
    );
    assert!(out.contains("type:     UTF8String"), "{out}");

    // By code, every vendor; by code/vendor, one.
    let v = diameter(&["dict", "263", "--format", "json"], b"").json();
    assert!(
        v["avps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "Session-Id")
    );
    let v = diameter(&["dict", "263/0", "--format", "json"], b"").json();
    assert_eq!(v["avps"].as_array().unwrap().len(), 1);
    assert!(v["commands"].as_array().unwrap().is_empty());

    // Commands by name, abbreviation and code; the answer's ABNF is listed too.
    for q in [
        "Capabilities-Exchange",
        "CEA",
        "Capabilities-Exchange-Request",
    ] {
        let out = diameter(&["dict", q], b"").stdout();
        assert!(
            out.contains("Command Capabilities-Exchange (CER/CEA)"),
            "{q}: {out}"
        );
        assert!(
            out.contains("<Capabilities-Exchange-Answer> ::=\n    { Result-Code }"),
            "{q}: {out}"
        );
    }
    let v = diameter(&["dict", "280", "--format", "json"], b"").json();
    assert!(
        v["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Device-Watchdog")
    );

    // Applications by id; enumerated values are listed.
    let out = diameter(&["dict", "0"], b"").stdout();
    assert!(
        out.contains("Application Diameter Common Messages"),
        "{out}"
    );
    let out = diameter(&["dict", "Disconnect-Cause"], b"").stdout();
    assert!(out.contains("0  REBOOTING"), "{out}");

    let run = diameter(&["dict", "No-Such-AVP"], b"");
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("No-Such-AVP"));
}
