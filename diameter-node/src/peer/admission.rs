//! Which connecting peers are let in, RFC 6733 §5.6.1 and §5.3.
//!
//! An incoming connection is anonymous until its CER arrives; the Origin-Host of that CER
//! picks the peer state machine. A CER from a host that is not configured is answered with
//! 3010 DIAMETER_UNKNOWN_PEER and the connection closed (§5.3), unless local policy admits
//! it: here, a list of realm patterns matched against the CER's Origin-Realm. A peer
//! admitted that way lives as long as its connection (§5.3).

/// A pattern over realms: `*` (any), `*.example.org` (any subdomain of example.org, and
/// example.org itself) or an exact realm; ASCII case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RealmPattern(String);

impl RealmPattern {
    /// A pattern from its text.
    pub(crate) fn new(pattern: impl Into<String>) -> Self {
        Self(pattern.into().to_ascii_lowercase())
    }

    /// Whether `realm` matches.
    pub(crate) fn matches(&self, realm: &str) -> bool {
        let realm = realm.to_ascii_lowercase();
        match self.0.strip_prefix("*") {
            Some("") => true,
            Some(suffix) => {
                realm.ends_with(suffix) || suffix.strip_prefix('.').is_some_and(|s| s == realm)
            }
            None => self.0 == realm,
        }
    }
}

/// The decision about a CER on a new incoming connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The Origin-Host is a configured peer: hand the connection to its state machine.
    Known,
    /// Unknown, but a realm pattern admits it: make a peer for the connection's lifetime.
    Dynamic,
    /// Answer 3010 DIAMETER_UNKNOWN_PEER and close.
    Reject,
}

/// Decides about a CER from `origin_host`/`origin_realm`.
pub(crate) fn admit(known: bool, origin_realm: &str, patterns: &[RealmPattern]) -> Admission {
    if known {
        Admission::Known
    } else if patterns.iter().any(|p| p.matches(origin_realm)) {
        Admission::Dynamic
    } else {
        Admission::Reject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let sub = RealmPattern::new("*.Example.org");
        assert!(sub.matches("a.example.org") && sub.matches("example.org"));
        assert!(!sub.matches("badexample.org") && !sub.matches("example.com"));
        assert!(RealmPattern::new("*").matches("anything"));
        assert!(RealmPattern::new("realm").matches("REALM"));
        let p = [sub];
        assert_eq!(admit(true, "x", &p), Admission::Known);
        assert_eq!(admit(false, "b.example.org", &p), Admission::Dynamic);
        assert_eq!(admit(false, "example.net", &p), Admission::Reject);
    }
}
