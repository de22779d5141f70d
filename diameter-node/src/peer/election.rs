//! The election of RFC 6733 §5.6.4.
//!
//! When both peers connect to each other at once, each ends up with an initiator and a
//! responder connection. The election runs on the responder side: the local Origin-Host
//! is compared with the Origin-Host of the received CER "as two streams of octets", with
//! ASCII letters compared case-insensitively (DNS rules). If the local name succeeds the
//! remote one, the local node wins: it closes the connection it initiated and answers the
//! CER on the responder connection. The loser keeps its initiator connection and closes the
//! responder one when its CEA arrives. The two sides always reach opposite results.

use std::cmp::Ordering;

/// Compares two DiameterIdentities as §5.6.4 does: octet by octet, ASCII case-folded.
pub(crate) fn compare_identities(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Whether the local node wins the election against the Origin-Host of the received CER:
/// the local Origin-Host must lexicographically succeed the remote one (a tie, which only
/// a misconfiguration produces, is a loss).
pub(crate) fn local_wins(local_origin_host: &str, remote_origin_host: &str) -> bool {
    compare_identities(local_origin_host, remote_origin_host) == Ordering::Greater
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_name_wins_case_insensitively() {
        assert!(local_wins("b.example.org", "a.example.org"));
        assert!(!local_wins("a.example.org", "b.example.org"));
        assert!(local_wins("B.example.org", "a.EXAMPLE.org"));
        assert!(!local_wins("A.example.org", "a.example.org"));
        // A longer name with the same prefix succeeds the shorter one.
        assert!(local_wins("peer10", "peer1"));
        // The results on both ends are each other's inverse.
        for (x, y) in [("aaa", "aab"), ("z", "Y"), ("host", "host.realm")] {
            assert_ne!(local_wins(x, y), local_wins(y, x));
        }
    }
}
