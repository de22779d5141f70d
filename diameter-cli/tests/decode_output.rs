//! What `diameter decode` shows beyond the raw values, as a Wireshark user expects it:
//! result names, addresses, 3GPP formats and flag bits (text and JSON), capture times,
//! answers linked to requests, `--summary` and the filters.

mod common;

use std::path::PathBuf;

use common::diameter;

/// Encodes one JSON message with `diameter encode`; returns its hex.
fn encode(json: &str) -> String {
    let run = diameter(&["encode"], json.as_bytes());
    assert_eq!(run.status, 0, "{}", run.stderr);
    run.stdout().trim().to_owned()
}

/// An S6a ULR with flag AVPs, a PLMN id and Supported-Features.
fn ulr() -> String {
    encode(
        r#"{"command":"Update-Location-Request","application_id":16777251,"avps":[
        {"name":"Session-Id","value":"mme;1;2"},{"name":"Origin-Host","value":"mme.example"},
        {"name":"Origin-Realm","value":"example"},{"name":"Destination-Realm","value":"hss.example"},
        {"name":"Auth-Session-State","value":1},{"name":"User-Name","value":"001010123456789"},
        {"name":"RAT-Type","value":1004},{"name":"ULR-Flags","value":34},
        {"name":"Visited-PLMN-Id","hex":"00f110"},
        {"name":"Supported-Features","avps":[{"name":"Vendor-Id","value":10415},
          {"name":"Feature-List-ID","value":1},{"name":"Feature-List","value":3221225475}]}]}"#,
    )
}

/// A Gx CCR with location, time zone, address and MSISDN values, and an S6a ULA with an
/// Experimental-Result.
fn gx_and_ula() -> String {
    let ccr = encode(
        r#"{"command":"Credit-Control-Request","application_id":16777238,"avps":[
        {"name":"Session-Id","value":"pgw;1"},{"name":"Origin-Host","value":"pgw"},
        {"name":"Origin-Realm","value":"example"},{"name":"Destination-Realm","value":"pcrf"},
        {"name":"Auth-Application-Id","value":16777238},{"name":"CC-Request-Type","value":1},
        {"name":"CC-Request-Number","value":0},
        {"name":"Framed-IP-Address","hex":"0a2d0001"},
        {"name":"3GPP-User-Location-Info","hex":"8200f110000100f11000000102"},
        {"name":"3GPP-MS-TimeZone","hex":"4001"},
        {"name":"MSISDN","hex":"94710243f5"}]}"#,
    );
    let ula = encode(
        r#"{"command":"Update-Location-Answer","application_id":16777251,"avps":[
        {"name":"Session-Id","value":"mme;1;2"},{"name":"Auth-Session-State","value":1},
        {"name":"Origin-Host","value":"hss"},{"name":"Origin-Realm","value":"example"},
        {"name":"Experimental-Result","avps":[{"name":"Vendor-Id","value":10415},
          {"name":"Experimental-Result-Code","value":5420}]},
        {"name":"ULA-Flags","value":1}]}"#,
    );
    format!("{ccr}\n{ula}\n")
}

#[test]
fn text_shows_decoded_values() {
    let input = format!("{}\n{}", ulr(), gx_and_ula());
    let run = diameter(&["decode", "--hex-file", "-"], input.as_bytes());
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    for line in [
        "Unsigned32: 34 (0x00000022: S6a/S6d-Indicator, Initial-Attach-Indicator)",
        "OctetString: 0x00f110 (MCC 001 MNC 01)",
        "Unsigned32: 3221225475 (0xc0000003: ODB-all-APN, ODB-HPLMN-APN, Local-Time-Zone-Retrieval, Additional-MSISDN)",
        "OctetString: 0x0a2d0001 (10.45.0.1)",
        "OctetString: 0x8200f110000100f11000000102 (TAI and ECGI: TAI MCC 001 MNC 01 TAC 0x0001, ECGI MCC 001 MNC 01 ECI 0x0000102 (eNodeB 1, cell 2))",
        "OctetString: 0x4001 (GMT +1:00, +1 hour adjustment for Daylight Saving Time)",
        "OctetString: 0x94710243f5 (491720345)",
        "Unsigned32: 5420 DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION",
        "Unsigned32: 1 (0x00000001: Separation-Indication)",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }
}

#[test]
fn json_carries_the_same_and_still_encodes_back() {
    let input = format!("{}\n{}", ulr(), gx_and_ula());
    let run = diameter(
        &["decode", "--hex-file", "-", "--format", "jsonl"],
        input.as_bytes(),
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let v = run.jsonl();
    let find = |m: usize, name: &str| -> serde_json::Value {
        fn walk(avps: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
            avps.as_array()?.iter().find_map(|a| {
                if a["name"] == name {
                    Some(a.clone())
                } else {
                    walk(&a["avps"], name)
                }
            })
        }
        walk(&v[m]["avps"], name).unwrap_or_else(|| panic!("{name} in message {m}"))
    };
    assert_eq!(
        find(0, "ULR-Flags")["bits"],
        serde_json::json!(["S6a/S6d-Indicator", "Initial-Attach-Indicator"])
    );
    assert_eq!(find(0, "Visited-PLMN-Id")["decoded"], "MCC 001 MNC 01");
    assert_eq!(find(1, "Framed-IP-Address")["decoded"], "10.45.0.1");
    assert_eq!(
        find(2, "Experimental-Result-Code")["value_name"],
        "DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION"
    );
    // The extra members do not get in the way of encoding.
    let back = diameter(&["encode"], &run.stdout);
    assert_eq!(back.stdout(), input);
}

/// Integer32 and Unsigned32 AVPs whose specification names some values show the name, as
/// Wireshark does (TS 32.299 Cause-Code §7.2.35, Change-Condition §7.2.37,
/// Variable-Part-Type §7.2.242aC); a value the specification does not name stays a number.
#[test]
fn named_integer_values() {
    let acr = encode(
        r#"{"command":"Accounting-Request","application_id":3,"avps":[
        {"name":"Session-Id","value":"cscf;1"},{"name":"Origin-Host","value":"cscf"},
        {"name":"Origin-Realm","value":"example"},{"name":"Destination-Realm","value":"ofcs"},
        {"name":"Accounting-Record-Type","value":4},{"name":"Accounting-Record-Number","value":1},
        {"name":"Cause-Code","value":-1},{"name":"Change-Condition","value":46},
        {"name":"Variable-Part-Type","value":4},{"name":"Cause-Code","value":486}]}"#,
    );
    let run = diameter(&["decode", "--hex-file", "-"], acr.as_bytes());
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    for line in [
        "Integer32: -1 Successful transaction",
        "Integer32: 46 VoLTE Bearer Normal Release",
        "Unsigned32: 4 Currency",
        "Integer32: 486\n",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }
    let run = diameter(
        &["decode", "--hex-file", "-", "--format", "jsonl"],
        acr.as_bytes(),
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let v = run.jsonl();
    let cause = v[0]["avps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Cause-Code")
        .unwrap();
    assert_eq!(cause["value"], -1);
    assert_eq!(cause["value_name"], "Successful transaction");
}

fn capture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn capture_times_and_answers_linked() {
    let run = diameter(&["decode", "--pcap", &capture("tcp-ethernet.pcap")], b"");
    assert_eq!(run.status, 0, "{}", run.stderr);
    let heads: Vec<String> = run
        .stdout()
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        heads[..5],
        [
            "# message 1 (frame 5, tcp 10.0.0.1:40000 -> 10.0.0.2:3868, stream offset 0)",
            "# time 2023-11-14T22:13:20.015000Z (+0.015000 s)",
            "# message 2 (frame 7, tcp 10.0.0.2:3868 -> 10.0.0.1:40000, stream offset 0)",
            "# time 2023-11-14T22:13:20.025000Z (+0.025000 s)",
            "# answer to message 1 (frame 5), response time 10.000 ms",
        ]
    );
    // Nanosecond captures keep their nanoseconds (the file's, float-made: ...456707).
    let run = diameter(
        &[
            "decode",
            "--pcap",
            &capture("big-endian-nanosecond.pcap"),
            "--format",
            "jsonl",
        ],
        b"",
    );
    let v = run.jsonl();
    assert_eq!(v[0]["capture"]["time"], "2023-11-14T22:13:20.133456707Z");
    assert_eq!(v[1]["answer_to"]["message"], 1);
    // A binary resolution (2^-20 s) and an if_tsoffset in a big-endian pcapng: the time
    // tshark shows (frame.time_epoch 1700000000.133457183).
    let run = diameter(
        &[
            "decode",
            "--pcap",
            &capture("tsresol-binary.pcapng"),
            "--format",
            "jsonl",
        ],
        b"",
    );
    assert_eq!(
        run.jsonl()[0]["capture"]["time"],
        "2023-11-14T22:13:20.133457183Z"
    );
    assert!((v[1]["answer_to"]["response_time"].as_f64().unwrap() - 0.0125).abs() < 1e-6);
}

#[test]
fn summary_like_tshark_srt() {
    let run = diameter(
        &[
            "decode",
            "--pcap",
            &capture("tcp-ethernet.pcap"),
            "--summary",
        ],
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = run.stdout();
    assert!(out.contains("6 messages"), "{out}");
    assert!(
        out.contains(
            "Credit-Control (272, 4)                   3        3          0     5.000     6.667     5.000    10.000    10.000    10.000"
        ),
        "{out}"
    );
    assert!(out.contains("Result-Code 2001 DIAMETER_SUCCESS"), "{out}");
    let run = diameter(
        &[
            "decode",
            "--pcap",
            &capture("tcp-ethernet.pcap"),
            "--summary",
            "--format",
            "json",
        ],
        b"",
    );
    let v = run.json();
    assert_eq!(v["commands"][0]["answers"], 3);
    assert_eq!(v["commands"][0]["results"][0]["code"], 2001);
    assert_eq!(v["commands"][0]["response_time_ms"]["p90"], 10.0);
}

#[test]
fn filters() {
    let count = |args: &[&str]| {
        let cap = capture("multi-interface.pcapng");
        let mut all = vec!["decode", "--pcap", &cap, "--format", "jsonl"];
        all.extend_from_slice(args);
        let run = diameter(&all, b"");
        assert_eq!(run.status, 0, "{}", run.stderr);
        run.jsonl()
    };
    assert_eq!(count(&[]).len(), 10);
    let answers = count(&["--command", "CCA"]);
    assert_eq!(answers.len(), 5);
    // An answer shown without its request still names it.
    assert!(answers.iter().all(|a| a["answer_to"]["message"].is_u64()));
    assert_eq!(count(&["--command", "credit-control"]).len(), 10);
    assert_eq!(count(&["--command", "257"]).len(), 0);
    assert_eq!(count(&["--application", "4"]).len(), 10);
    assert_eq!(count(&["--application", "16777251"]).len(), 0);
    let session = "pgw01.epc.mnc001.mcc262.3gppnetwork.org;1700000000;42;gy-0000000001";
    assert_eq!(count(&["--session-id", session]).len(), 10);
    assert_eq!(count(&["--session-id", "other"]).len(), 0);
    let run = diameter(&["decode", "--hex", "00", "--command", "Nope"], b"");
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("--command Nope"), "{}", run.stderr);
}
