//! Tests of DOIC: the wire format, both roles' rules, the node glue.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use diameter_core::avp::{put_header, put_padding};
use diameter_core::generated::base::avp as base;
use diameter_core::generated::doic::{OcReportType, avp};
use diameter_core::{AvpFlags, AvpKey, Message};

use super::node::{Doic, splitmix64};
use super::reacting::{ReactingState, ReportOutcome, Target};
use super::reporting::Reporter;
use super::wire::{MAX_STATES, feature_vector, has_supported_features, parse_olr, requests_loss};
use super::*;
use crate::config::DoicConfig;
use crate::error::RequestError;
use crate::framing::append_avps;
use diameter_core::MessageBuilder;

fn t0() -> Instant {
    Instant::now()
}

fn report(sequence: u64, reduction: u32, validity: u64) -> OverloadReport {
    OverloadReport {
        sequence,
        report_type: OcReportType::HOST_REPORT,
        reduction,
        validity: Duration::from_secs(validity),
    }
}

/// An answer with Origin-Host/Realm and the given extra encoded AVPs.
fn answer_with(extra: &[u8]) -> Message {
    let mut b = MessageBuilder::request(272, 4, true);
    let flags = b
        .header()
        .flags
        .with(diameter_core::CommandFlags::REQUEST, false);
    b.header_mut().flags = flags;
    b.add(
        base::ORIGIN_HOST,
        &diameter_core::DiameterIdentity::from("Server.Example.Org"),
    );
    b.add(
        base::ORIGIN_REALM,
        &diameter_core::DiameterIdentity::from("example.org"),
    );
    b.extend_raw(extra);
    b.build()
}

fn olr_bytes(r: &OverloadReport) -> Vec<u8> {
    let mut b = BytesMut::new();
    r.encode(&mut b);
    b.to_vec()
}

/// An AVP without flags holding `data` as it is (well formed or not: the malformed reports
/// below are built from these).
fn avp(key: AvpKey, data: &[u8]) -> Vec<u8> {
    let mut v = BytesMut::new();
    put_header(&mut v, key.code, AvpFlags::default(), 0, data.len());
    v.extend_from_slice(data);
    put_padding(&mut v, data.len());
    v.to_vec()
}

fn grouped(key: AvpKey, members: &[Vec<u8>]) -> Vec<u8> {
    avp(key, &members.concat())
}

/// OC-Supported-Features selecting loss, as the node writes it.
fn features_loss() -> Vec<u8> {
    let mut b = BytesMut::new();
    super::wire::put_supported_features_loss(&mut b);
    b.to_vec()
}

fn parse(bytes: &[u8]) -> Option<OverloadReport> {
    let m = answer_with(bytes);
    let found = AnswerAvps::of(&m);
    parse_olr(found.olr.as_ref()?)
}

#[test]
fn olr_round_trips_and_matches_the_dictionary() {
    let r = report(7, 50, 10);
    let bytes = olr_bytes(&r);
    assert_eq!(bytes.len(), 60);
    assert_eq!(parse(&bytes), Some(r));
    // The generic dump knows every member by name: the codes are the dictionary's.
    let m = answer_with(&[&features_loss()[..], &bytes].concat());
    let text = diameter_core::dump::text(&m);
    for name in [
        "OC-Supported-Features",
        "OC-Feature-Vector",
        "OC-OLR",
        "OC-Sequence-Number",
        "OC-Report-Type",
        "OC-Reduction-Percentage",
        "OC-Validity-Duration",
    ] {
        assert!(text.contains(name), "{name} missing in\n{text}");
    }
    let found = AnswerAvps::of(&m);
    assert_eq!(found.report(), Some(r));
    assert_eq!(found.origin_host, Some("Server.Example.Org"));
    assert_eq!(found.origin_realm, Some("example.org"));
}

#[test]
fn validity_defaults_and_maximum() {
    let seq = avp(avp::OC_SEQUENCE_NUMBER, &9u64.to_be_bytes());
    let ty = avp(avp::OC_REPORT_TYPE, &1i32.to_be_bytes());
    let red = avp(avp::OC_REDUCTION_PERCENTAGE, &30u32.to_be_bytes());
    let absent = grouped(avp::OC_OLR, &[seq.clone(), ty.clone(), red.clone()]);
    let r = parse(&absent).unwrap();
    assert_eq!(r.validity, DEFAULT_VALIDITY);
    assert_eq!(r.report_type, OcReportType::REALM_REPORT);
    let max = grouped(
        avp::OC_OLR,
        &[
            seq.clone(),
            ty.clone(),
            red.clone(),
            avp(avp::OC_VALIDITY_DURATION, &86_400u32.to_be_bytes()),
        ],
    );
    assert_eq!(parse(&max).unwrap().validity, MAX_VALIDITY);
    let above = grouped(
        avp::OC_OLR,
        &[
            seq,
            ty,
            red,
            avp(avp::OC_VALIDITY_DURATION, &86_401u32.to_be_bytes()),
        ],
    );
    assert_eq!(parse(&above).unwrap().validity, DEFAULT_VALIDITY);
}

#[test]
fn malformed_reports_are_ignored() {
    let seq = avp(avp::OC_SEQUENCE_NUMBER, &9u64.to_be_bytes());
    let host = avp(avp::OC_REPORT_TYPE, &0i32.to_be_bytes());
    let red = avp(avp::OC_REDUCTION_PERCENTAGE, &30u32.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "no sequence",
            grouped(avp::OC_OLR, &[host.clone(), red.clone()]),
        ),
        (
            "no report type",
            grouped(avp::OC_OLR, &[seq.clone(), red.clone()]),
        ),
        (
            "no reduction",
            grouped(avp::OC_OLR, &[seq.clone(), host.clone()]),
        ),
        (
            "reduction above 100",
            grouped(
                avp::OC_OLR,
                &[
                    seq.clone(),
                    host.clone(),
                    avp(avp::OC_REDUCTION_PERCENTAGE, &101u32.to_be_bytes()),
                ],
            ),
        ),
        (
            "short sequence",
            grouped(
                avp::OC_OLR,
                &[
                    avp(avp::OC_SEQUENCE_NUMBER, &9u32.to_be_bytes()),
                    host.clone(),
                    red.clone(),
                ],
            ),
        ),
        (
            "PEER_REPORT (RFC 8581, not supported)",
            grouped(
                avp::OC_OLR,
                &[
                    seq.clone(),
                    avp(avp::OC_REPORT_TYPE, &2i32.to_be_bytes()),
                    red.clone(),
                ],
            ),
        ),
        (
            "unknown report type",
            grouped(
                avp::OC_OLR,
                &[
                    seq.clone(),
                    avp(avp::OC_REPORT_TYPE, &77i32.to_be_bytes()),
                    red.clone(),
                ],
            ),
        ),
        (
            "sequence twice",
            grouped(
                avp::OC_OLR,
                &[seq.clone(), seq.clone(), host.clone(), red.clone()],
            ),
        ),
        ("member length beyond the group", {
            let mut g = grouped(avp::OC_OLR, &[seq.clone(), host.clone(), red.clone()]);
            // Inflate the last member's length past the end of the group.
            let last = g.len() - 12;
            g[last + 7] = 200;
            g
        }),
    ];
    for (what, bytes) in cases {
        assert_eq!(parse(&bytes), None, "{what}");
    }
    // Unknown members (extensions) are skipped, vendor-specific ones too.
    // OC-Sequence-Number's code with Vendor-Id 10415: another AVP, not a second sequence.
    let vendor = {
        let mut v = BytesMut::new();
        let (key, data) = (avp::OC_SEQUENCE_NUMBER, 1u64.to_be_bytes());
        put_header(
            &mut v,
            key.code,
            AvpFlags(AvpFlags::VENDOR),
            10415,
            data.len(),
        );
        v.extend_from_slice(&data);
        v.to_vec()
    };
    let ok = grouped(
        avp::OC_OLR,
        &[
            seq,
            host,
            red,
            // An AVP the OC-OLR ABNF does not name (an extension's, to this node).
            avp(base::USER_NAME, b"x"),
            vendor,
        ],
    );
    assert_eq!(parse(&ok).map(|r| r.sequence), Some(9));
}

#[test]
fn truncated_and_garbage_answers_never_panic() {
    let full = answer_with(&[&features_loss()[..], &olr_bytes(&report(1, 50, 5))].concat());
    let bytes = full.as_bytes().clone();
    // Every truncation of the OLR inside a well-framed message, and random noise.
    for cut in 1..60 {
        let mut olr = olr_bytes(&report(1, 50, 5));
        olr.truncate(60 - cut);
        let _ = parse(&olr);
    }
    let mut state = 0x1234_5678_u64;
    for _ in 0..2000 {
        let mut olr = olr_bytes(&report(1, 50, 5));
        for b in olr.iter_mut().skip(8) {
            state = splitmix64(state);
            if state % 7 == 0 {
                *b = state as u8;
            }
        }
        let m = answer_with(&[&features_loss()[..], &olr].concat());
        let found = AnswerAvps::of(&m);
        let _ = found.report();
    }
    assert!(Message::decode(bytes).is_ok());
}

#[test]
fn the_answer_must_select_loss() {
    let olr = olr_bytes(&report(3, 40, 5));
    // No OC-Supported-Features: no algorithm selected, the OLR is not interpreted.
    assert_eq!(AnswerAvps::of(&answer_with(&olr)).report(), None);
    // OC-Supported-Features without a vector: loss (§7.2).
    let bare = grouped(avp::OC_SUPPORTED_FEATURES, &[]);
    let m = answer_with(&[bare, olr.clone()].concat());
    assert_eq!(AnswerAvps::of(&m).report().map(|r| r.reduction), Some(40));
    // A vector selecting only another algorithm.
    let other = grouped(
        avp::OC_SUPPORTED_FEATURES,
        &[avp(avp::OC_FEATURE_VECTOR, &2u64.to_be_bytes())],
    );
    let m = answer_with(&[other, olr].concat());
    assert_eq!(AnswerAvps::of(&m).report(), None);
}

#[test]
fn requests_announce_loss() {
    let mut b = MessageBuilder::request(272, 4, true);
    assert!(!requests_loss(&b.clone().build()));
    b.extend_raw(&features_loss());
    assert!(requests_loss(&b.build()));
    let mut b = MessageBuilder::request(272, 4, true);
    b.extend_raw(&grouped(avp::OC_SUPPORTED_FEATURES, &[]));
    assert!(requests_loss(&b.build()), "no vector means loss");
    let mut b = MessageBuilder::request(272, 4, true);
    b.extend_raw(&grouped(
        avp::OC_SUPPORTED_FEATURES,
        &[avp(avp::OC_FEATURE_VECTOR, &16u64.to_be_bytes())],
    ));
    assert!(!requests_loss(&b.build()));
}

#[test]
fn top_level_search() {
    let m = answer_with(&features_loss());
    assert!(has_supported_features(m.as_bytes()));
    let nested = grouped(avp::OC_OLR, &[features_loss()]);
    assert!(
        !has_supported_features(answer_with(&nested).as_bytes()),
        "members are not top level"
    );
    assert!(!has_supported_features(answer_with(&[]).as_bytes()));
    // Lengths that lie stop the walk without reading past the end.
    let mut bad = m.as_bytes().to_vec();
    bad[20 + 7] = 3;
    assert!(!has_supported_features(&bad));
    for cut in 0..m.as_bytes().len() {
        let _ = has_supported_features(&m.as_bytes()[..cut]);
    }
}

#[test]
fn append_fixes_the_length() {
    let m = MessageBuilder::request(272, 4, true).build();
    let shared = m.as_bytes().clone();
    let out = append_avps(m.into_bytes(), &features_loss());
    assert_eq!(out.len(), shared.len() + 24);
    let decoded = Message::decode(out).unwrap();
    assert!(decoded.find(avp::OC_SUPPORTED_FEATURES).is_some());
    assert_eq!(
        feature_vector(&decoded.find(avp::OC_SUPPORTED_FEATURES).unwrap()),
        Some(OLR_DEFAULT_ALGO)
    );
    // Too short to be a message: left alone.
    assert_eq!(append_avps(Bytes::from_static(b"abc"), b"1234").len(), 3);
}

fn target<'a>(host: Option<&'a str>, realm: Option<&'a str>, next_hop: &'a str) -> Target<'a> {
    Target {
        application: 4,
        destination_host: host,
        destination_realm: realm,
        next_hop,
    }
}

#[test]
fn sequence_numbers_only_increase() {
    let now = t0();
    let mut st = ReactingState::default();
    let h = Some("server.example.org");
    let r = Some("example.org");
    assert_eq!(
        st.on_report(now, 4, h, r, &report(5, 50, 10)),
        ReportOutcome::Created
    );
    assert_eq!(
        st.on_report(now, 4, h, r, &report(5, 90, 10)),
        ReportOutcome::Stale
    );
    assert_eq!(
        st.on_report(now, 4, h, r, &report(4, 90, 10)),
        ReportOutcome::Stale
    );
    let to = target(None, r, "server.example.org");
    assert_eq!(st.reductions(now, &to), (50, 0));
    assert_eq!(
        st.on_report(now, 4, h, r, &report(6, 20, 10)),
        ReportOutcome::Updated
    );
    assert_eq!(st.reductions(now, &to), (20, 0));
    // Case does not matter in DiameterIdentities.
    assert_eq!(
        st.on_report(now, 4, Some("SERVER.example.org"), r, &report(7, 30, 10)),
        ReportOutcome::Updated
    );
    assert_eq!(st.len(), 1);
    // Another application has its own state.
    assert_eq!(
        st.on_report(now, 5, h, r, &report(1, 10, 10)),
        ReportOutcome::Created
    );
    assert_eq!(st.len(), 2);
}

#[test]
fn ending_reports_and_late_older_ones() {
    let now = t0();
    let mut st = ReactingState::default();
    let h = Some("server.example.org");
    let to = target(None, None, "server.example.org");
    st.on_report(now, 4, h, None, &report(10, 50, 10));
    // Validity 0 ends the condition.
    assert_eq!(
        st.on_report(now, 4, h, None, &report(11, 50, 0)),
        ReportOutcome::Ended
    );
    assert_eq!(st.reductions(now, &to), (0, 0));
    // An older report arriving late does not revive it.
    assert_eq!(
        st.on_report(now, 4, h, None, &report(10, 50, 10)),
        ReportOutcome::Stale
    );
    assert_eq!(st.reductions(now, &to), (0, 0));
    // Reduction 0 ends it too (§7.7: no need for abatement).
    st.on_report(now, 4, h, None, &report(12, 50, 10));
    assert_eq!(st.reductions(now, &to), (50, 0));
    assert_eq!(
        st.on_report(now, 4, h, None, &report(13, 0, 10)),
        ReportOutcome::Ended
    );
    assert_eq!(st.reductions(now, &to), (0, 0));
    // An ending report for an unknown condition creates nothing.
    let mut empty = ReactingState::default();
    assert_eq!(
        empty.on_report(now, 4, h, None, &report(1, 0, 0)),
        ReportOutcome::Ended
    );
    assert!(empty.is_empty());
    // Without the origin there is nothing to key the state on.
    assert_eq!(
        empty.on_report(now, 4, None, None, &report(1, 50, 5)),
        ReportOutcome::NoOrigin
    );
}

#[test]
fn states_expire_with_their_validity() {
    let now = t0();
    let mut st = ReactingState::default();
    st.on_report(now, 4, Some("a.example.org"), None, &report(1, 50, 2));
    let to = target(None, None, "a.example.org");
    assert_eq!(
        st.reductions(now + Duration::from_millis(1999), &to),
        (50, 0)
    );
    assert_eq!(st.reductions(now + Duration::from_secs(2), &to), (0, 0));
    assert!(st.is_empty());
    // The validity counts from the first reception of a sequence number: a repeat does
    // not extend it.
    st.on_report(now, 4, Some("a.example.org"), None, &report(2, 50, 2));
    st.on_report(
        now + Duration::from_secs(1),
        4,
        Some("a.example.org"),
        None,
        &report(2, 50, 2),
    );
    assert_eq!(st.reductions(now + Duration::from_secs(2), &to), (0, 0));
}

#[test]
fn host_and_realm_reports_match_their_requests() {
    let now = t0();
    let mut st = ReactingState::default();
    let host = OverloadReport {
        report_type: OcReportType::HOST_REPORT,
        ..report(1, 40, 10)
    };
    let realm = OverloadReport {
        report_type: OcReportType::REALM_REPORT,
        ..report(1, 30, 10)
    };
    st.on_report(now, 4, Some("hss1.example.org"), Some("example.org"), &host);
    st.on_report(
        now,
        4,
        Some("hss2.example.org"),
        Some("example.org"),
        &realm,
    );
    // Host-routed to the overloaded host, through any peer.
    let r = st.reductions(
        now,
        &target(Some("HSS1.example.org"), Some("example.org"), "dra"),
    );
    assert_eq!(
        r,
        (40, 0),
        "host-routed requests are not under the realm report"
    );
    // Host-routed elsewhere: nothing.
    let r = st.reductions(
        now,
        &target(Some("hss3.example.org"), Some("example.org"), "dra"),
    );
    assert_eq!(r, (0, 0));
    // Realm-routed through an agent: the realm report only.
    let r = st.reductions(now, &target(None, Some("example.org"), "dra.example.org"));
    assert_eq!(r, (0, 30));
    // Realm-routed straight to the overloaded host: both.
    let r = st.reductions(now, &target(None, Some("example.org"), "hss1.example.org"));
    assert_eq!(r, (40, 30));
    // Another realm, another application: nothing.
    let r = st.reductions(now, &target(None, Some("other.org"), "dra"));
    assert_eq!(r, (0, 0));
    let mut other_app = target(None, Some("example.org"), "hss1.example.org");
    other_app.application = 16_777_251;
    assert_eq!(st.reductions(now, &other_app), (0, 0));
}

#[test]
fn loss_throttles_the_reported_share() {
    let now = t0();
    let mut st = ReactingState::default();
    let to = target(None, Some("example.org"), "server.example.org");
    st.on_report(now, 4, Some("server.example.org"), None, &report(1, 50, 10));
    // The draw is a uniform u32: below half is throttled at 50 %.
    assert!(st.throttle(now, &to, 0));
    assert!(st.throttle(now, &to, u32::MAX / 2 - 1_000_000));
    assert!(!st.throttle(now, &to, u32::MAX / 2 + 1_000_000));
    assert!(!st.throttle(now, &to, u32::MAX));
    let mut x = 42u64;
    let mut count = |st: &mut ReactingState| {
        (0..10_000)
            .filter(|_| {
                x = splitmix64(x);
                st.throttle(now, &to, x as u32)
            })
            .count()
    };
    let n = count(&mut st);
    assert!(
        (4_700..=5_300).contains(&n),
        "{n} of 10,000 throttled at 50 %"
    );
    st.on_report(
        now,
        4,
        Some("server.example.org"),
        None,
        &report(2, 100, 10),
    );
    assert_eq!(count(&mut st), 10_000);
    st.on_report(now, 4, Some("server.example.org"), None, &report(3, 10, 10));
    let n = count(&mut st);
    assert!(
        (800..=1_200).contains(&n),
        "{n} of 10,000 throttled at 10 %"
    );
    // Host 50 % and realm 50 %: 75 % throttled.
    st.on_report(now, 4, Some("server.example.org"), None, &report(4, 50, 10));
    let realm = OverloadReport {
        report_type: OcReportType::REALM_REPORT,
        ..report(1, 50, 10)
    };
    st.on_report(now, 4, None, Some("example.org"), &realm);
    let n = count(&mut st);
    assert!(
        (7_200..=7_800).contains(&n),
        "{n} of 10,000 throttled at 50 % × 50 %"
    );
    // Nothing in force: nothing throttled, whatever the draw.
    let mut empty = ReactingState::default();
    assert!(!empty.throttle(now, &to, 0));
}

#[test]
fn reporter_numbers_every_change() {
    let now = t0();
    let mut r = Reporter::new(OcReportType::HOST_REPORT, 100, now);
    assert_eq!(r.report(now, None), None);
    let o = Overload::new(50, Duration::from_secs(10)).unwrap();
    let first = r.report(now, Some(o)).unwrap();
    assert_eq!((first.sequence, first.reduction), (101, 50));
    assert_eq!(first.validity, Duration::from_secs(10));
    // Unchanged: the same report.
    assert_eq!(r.report(now + Duration::from_secs(1), Some(o)), Some(first));
    // Changed: a new number.
    let o2 = Overload::new(70, Duration::from_secs(10)).unwrap();
    let second = r.report(now + Duration::from_secs(2), Some(o2)).unwrap();
    assert_eq!((second.sequence, second.reduction), (102, 70));
    // Re-issued at half the validity, so that it stays in force at reacting nodes.
    let third = r.report(now + Duration::from_secs(7), Some(o2)).unwrap();
    assert_eq!(third.sequence, 103);
    assert_eq!(third.reduction, 70);
    // Ended: validity 0 with a new number, for the last report's validity, then none.
    let end = r.report(now + Duration::from_secs(8), None).unwrap();
    assert_eq!(end.sequence, 104);
    assert!(end.ends_overload());
    assert_eq!(end.validity, Duration::ZERO);
    assert!(r.ending());
    assert_eq!(r.report(now + Duration::from_secs(17), None), Some(end));
    assert_eq!(r.report(now + Duration::from_secs(18), None), None);
    assert!(!r.ending());
    // A reacting node follows the whole story.
    let mut st = ReactingState::default();
    let h = Some("s.example.org");
    let to = target(None, None, "s.example.org");
    for rep in [first, second, third] {
        st.on_report(now, 4, h, None, &rep);
    }
    assert_eq!(st.reductions(now, &to), (70, 0));
    st.on_report(now, 4, h, None, &end);
    assert_eq!(st.reductions(now, &to), (0, 0));
}

#[test]
fn overload_parameters_are_bounded() {
    assert_eq!(Overload::new(0, Duration::from_secs(5)), None);
    let o = Overload::new(150, Duration::ZERO).unwrap();
    assert_eq!((o.reduction, o.validity), (100, Duration::from_secs(1)));
    let o = Overload::new(10, Duration::from_secs(1_000_000)).unwrap();
    assert_eq!(o.validity, MAX_VALIDITY);
}

fn doic(config: DoicConfig) -> Doic {
    Doic::new(&config, 7)
}

/// The default configuration, turned on (DOIC is off by default).
fn on() -> DoicConfig {
    DoicConfig {
        enabled: true,
        ..DoicConfig::default()
    }
}

fn request_with_doic() -> Message {
    let mut b = MessageBuilder::request(272, 4, true);
    b.add(
        base::DESTINATION_REALM,
        &diameter_core::DiameterIdentity::from("example.org"),
    );
    b.extend_raw(&features_loss());
    b.build()
}

fn plain_answer() -> Bytes {
    answer_with(&[]).into_bytes()
}

#[test]
fn node_glue_reporting() {
    let d = doic(on());
    let req = request_with_doic();
    // Not overloaded: OC-Supported-Features only.
    let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
    assert!(a.find(avp::OC_SUPPORTED_FEATURES).is_some());
    assert!(a.find(avp::OC_OLR).is_none());
    // A request without DOIC gets none.
    let bare = MessageBuilder::request(272, 4, true).build();
    let a = Message::decode(d.outgoing_answer(&bare, plain_answer())).unwrap();
    assert!(a.find(avp::OC_SUPPORTED_FEATURES).is_none());
    // Overloaded: the OLR.
    d.set_overload(Overload::new(50, Duration::from_secs(5)));
    let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
    let r = AnswerAvps::of(&a).report().unwrap();
    assert_eq!((r.reduction, r.validity), (50, Duration::from_secs(5)));
    assert_eq!(r.report_type, OcReportType::HOST_REPORT);
    // An answer that already has DOIC AVPs (the handler does DOIC) is left alone.
    let own = answer_with(&features_loss()).into_bytes();
    assert_eq!(d.outgoing_answer(&req, own.clone()), own);
    // Ended: validity 0 with a newer number.
    d.set_overload(None);
    let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
    let end = AnswerAvps::of(&a).report().unwrap();
    assert!(end.ends_overload() && end.sequence > r.sequence);
    // Disabled: nothing.
    let off = doic(DoicConfig {
        enabled: false,
        ..DoicConfig::default()
    });
    off.set_overload(Overload::new(50, Duration::from_secs(5)));
    let plain = plain_answer();
    assert_eq!(off.outgoing_answer(&req, plain.clone()), plain);
}

#[test]
fn node_glue_automatic_overload() {
    let d = doic(DoicConfig {
        overload_handlers: 3,
        overload_reduction: 25,
        report_type: crate::config::DoicReportType::Realm,
        ..on()
    });
    let req = request_with_doic();
    d.note_handlers(2);
    let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
    assert!(a.find(avp::OC_OLR).is_none());
    d.note_handlers(3);
    let a = Message::decode(d.outgoing_answer(&req, plain_answer())).unwrap();
    let r = AnswerAvps::of(&a).report().unwrap();
    assert_eq!(
        (r.reduction, r.report_type),
        (25, OcReportType::REALM_REPORT)
    );
}

#[test]
fn node_glue_reacting() {
    let d = doic(on());
    // Requests get OC-Supported-Features once.
    let req = MessageBuilder::request(272, 4, true).build();
    let bytes = d.outgoing(req, "server.example.org").unwrap();
    let sent = Message::decode(bytes).unwrap();
    assert_eq!(sent.find_all(avp::OC_SUPPORTED_FEATURES).count(), 1);
    let again = d.outgoing(sent, "server.example.org").unwrap();
    assert_eq!(
        Message::decode(again)
            .unwrap()
            .find_all(avp::OC_SUPPORTED_FEATURES)
            .count(),
        1
    );
    // A 100 % report throttles everything to that host, nothing elsewhere.
    let olr = olr_bytes(&report(1, 100, 5));
    d.incoming_answer(&answer_with(&[&features_loss()[..], &olr].concat()));
    assert_eq!(d.states().len(), 1);
    let req = MessageBuilder::request(272, 4, true).build();
    assert_eq!(
        d.outgoing(req.clone(), "server.example.org"),
        Err(RequestError::Throttled)
    );
    assert!(d.outgoing(req.clone(), "other.example.org").is_ok());
    // An ending report releases it.
    let end = olr_bytes(&report(2, 0, 0));
    d.incoming_answer(&answer_with(&[&features_loss()[..], &end].concat()));
    assert!(d.outgoing(req.clone(), "server.example.org").is_ok());
    // Disabled: no AVP added, nothing throttled.
    let off = doic(DoicConfig {
        enabled: false,
        ..DoicConfig::default()
    });
    let bytes = off.outgoing(req.clone(), "server.example.org").unwrap();
    assert_eq!(&bytes, req.as_bytes());
}

#[test]
fn states_are_bounded() {
    let mut st = ReactingState::default();
    let now = t0();
    for n in 0..(MAX_STATES + 50) {
        let host = format!("h{n}.example.org");
        st.on_report(now, 4, Some(&host), None, &report(1, 50, 60 + n as u64));
    }
    assert_eq!(st.states().len(), MAX_STATES);
    // The newest is kept, the first (ending soonest) went.
    assert!(st.states().iter().any(|s| &*s.name == "h1073.example.org"));
    assert!(!st.states().iter().any(|s| &*s.name == "h0.example.org"));
}
