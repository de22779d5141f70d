//! The tshark checks themselves: a capture with one good and one broken Diameter message
//! must show both messages, and flag the broken one (so that "no problem found" in the
//! interoperability tests means something).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use diameter_core::generated::base::avp;
use diameter_core::{DiameterIdentity, MessageBuilder};
use diameter_interop::tshark::{self, Capture};
use diameter_interop::util::TempDir;
use diameter_interop::{Tools, scenario_ok, scenario_skipped};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tshark_flags_a_broken_message() {
    const S: &str = "tshark flags a broken Diameter message";
    let tools = match Tools::detect() {
        Ok(t) => t,
        Err(why) => return scenario_skipped(S, &why),
    };
    let dir = TempDir::new("tshark-check").expect("temp dir");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let capture = Capture::start(&tools.tshark, dir.path(), "tshark-check", &[port])
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // A good DWR, then a DWR whose Origin-Host AVP claims 4 bytes (less than its header).
    let mut good = MessageBuilder::request(280, 0, false);
    good.header_mut().hop_by_hop = 1;
    good.header_mut().end_to_end = 1;
    good.add(
        avp::ORIGIN_HOST,
        &DiameterIdentity::from("raw.interop.test"),
    );
    good.add(avp::ORIGIN_REALM, &DiameterIdentity::from("interop.test"));
    let good = good.build().into_bytes();
    let mut bad = good.to_vec();
    bad[12..20].copy_from_slice(&[0, 0, 0, 2, 0, 0, 0, 2]);
    // First AVP's length field (bytes 5..8 of the AVP header, after the 20-byte header).
    bad[25..28].copy_from_slice(&[0, 0, 4]);
    let sent = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.set_nodelay(true).ok();
        c.write_all(&good).expect("write");
        std::thread::sleep(Duration::from_millis(100));
        c.write_all(&bad).expect("write");
        std::thread::sleep(Duration::from_millis(100));
    });
    let (mut server, _) = listener.accept().expect("accept");
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut sink = Vec::new();
    let _ = server.read_to_end(&mut sink);
    sent.join().expect("client");
    drop(server);

    let pcap = capture.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let d = tshark::dissect(&tools.tshark, dir.path(), &pcap, &[port])
        .unwrap_or_else(|e| panic!("{e}"));
    let from_client = |_: u16, dst: u16| dst == port;
    assert_eq!(
        d.count(|m| m.code == 280 && m.request),
        2,
        "{}",
        d.listing()
    );
    let problems = d.problems_where(from_client);
    assert_eq!(problems.len(), 1, "{}", d.listing());
    let p = problems[0];
    assert!(
        p.malformed
            || p.experts
                .iter()
                .any(|e| e.severity >= tshark::Severity::Warning),
        "{p:?}"
    );
    let first_frame = d.messages[0].frame;
    assert!(
        p.frame > first_frame,
        "the good message was flagged: {}",
        d.listing()
    );
    scenario_ok(
        S,
        &format!(
            "frame {}: {}",
            p.frame,
            if p.malformed {
                "malformed".to_string()
            } else {
                p.experts
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        ),
    );
}
