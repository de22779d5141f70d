//! `diameter serve --metrics ADDR`: the Prometheus exposition over HTTP, with a request
//! sent to the server counted in it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{diameter, start_serve};

const SECS: Duration = Duration::from_secs(10);

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to the metrics listener");
    s.set_read_timeout(Some(SECS)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_exposes_metrics() {
    let (mut serve, port) = start_serve(&["--app", "4", "--metrics", "127.0.0.1:0"]);
    let line = serve
        .wait_for("metrics on http://", SECS)
        .unwrap_or_else(|| panic!("no metrics line: {}", serve.stderr()));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("an address")
        .to_owned();

    // One CCR-I (send's default request) through `diameter send`, answered 2001.
    let out = diameter(
        &[
            "send",
            "--peer",
            &format!("127.0.0.1:{port}"),
            "--origin-host",
            "client.example.org",
            "--origin-realm",
            "example.org",
        ],
        b"",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout().contains("2001"), "{}", out.stdout());

    let response = get(&addr, "/metrics");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.contains("# TYPE diameter_peer_up gauge"),
        "{response}"
    );
    assert!(
        response.contains("# TYPE diameter_messages counter"),
        "{response}"
    );
    assert!(response.trim_end().ends_with("# EOF"), "{response}");
    let received = "peer=\"client.example.org\",direction=\"received\",type=\"request\",\
                    application=\"4\",command=\"Credit-Control\",code=\"272\",result_code=\"\"} 1";
    assert!(response.contains(received), "{response}");
    assert!(response.contains("result_code=\"2001\"} 1"), "{response}");
    assert!(get(&addr, "/").starts_with("HTTP/1.1 404"));

    serve.terminate();
    assert_eq!(serve.wait_exit(SECS), Some(0), "{}", serve.stderr());
}
