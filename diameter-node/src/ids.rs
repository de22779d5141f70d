//! Identifiers a node allocates (RFC 6733 §3, §8.8). No clock is read here: the node passes
//! the time in when it starts.
//!
//! - End-to-End Identifier (§3): unique per node; "the high-order 12 bits contain the low
//!   order 12 bits of current time, and the low-order 20 bits to a random value", then
//!   incremented per request. One atomic counter per node.
//! - Hop-by-Hop Identifier (§3): unique per connection; a random start incremented per
//!   request ([`HopByHop`], owned by the connection, no sharing).
//! - Session-Id (§8.8): `<DiameterIdentity>;<high 32 bits>;<low 32 bits>[;<optional value>]`,
//!   the high part the start time, the low part a counter.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The node's End-to-End Identifier source.
#[derive(Debug)]
pub(crate) struct EndToEndIds {
    next: AtomicU32,
}

impl EndToEndIds {
    /// Seeds the generator as §3 says: `unix_seconds`' low 12 bits on top, 20 random bits.
    pub(crate) fn new(unix_seconds: u64, random: u32) -> Self {
        Self {
            next: AtomicU32::new(Self::seed(unix_seconds, random)),
        }
    }

    /// The §3 seed value.
    pub(crate) const fn seed(unix_seconds: u64, random: u32) -> u32 {
        (((unix_seconds & 0xfff) as u32) << 20) | (random & 0x000f_ffff)
    }

    /// The next identifier.
    #[inline]
    pub(crate) fn next_id(&self) -> u32 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

/// A connection's Hop-by-Hop Identifier source.
#[derive(Clone, Debug)]
pub(crate) struct HopByHop {
    next: u32,
}

impl HopByHop {
    /// Starts at `random`.
    pub(crate) fn new(random: u32) -> Self {
        Self { next: random }
    }

    /// The next identifier.
    #[inline]
    pub(crate) fn next_id(&mut self) -> u32 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        id
    }
}

/// The node's Session-Id source (§8.8).
#[derive(Debug)]
pub(crate) struct SessionIds {
    identity: String,
    high: u32,
    low: AtomicU64,
}

impl SessionIds {
    /// Session-Ids of `identity` (the node's Origin-Host); `high` is typically the start
    /// time in seconds, so ids stay unique across restarts.
    pub(crate) fn new(identity: impl Into<String>, high: u32) -> Self {
        Self {
            identity: identity.into(),
            high,
            low: AtomicU64::new(0),
        }
    }

    /// The next Session-Id. When the 32-bit low part wraps, the high part moves on, as
    /// §8.8 suggests.
    pub(crate) fn next_id(&self) -> String {
        self.next_with(None)
    }

    /// The next Session-Id with an optional implementation-defined suffix.
    pub(crate) fn next_with(&self, optional: Option<&str>) -> String {
        let n = self.low.fetch_add(1, Ordering::Relaxed);
        let high = self.high.wrapping_add((n >> 32) as u32);
        let low = n as u32;
        // Written by hand: this runs once per request, and `format!` costs several times
        // more. The exact capacity lets `Utf8String::from(id)` keep the allocation as it is.
        let extra = optional.map_or(0, |o| 1 + o.len());
        let mut s = String::with_capacity(
            self.identity.len() + 2 + decimal_len(high) + decimal_len(low) + extra,
        );
        s.push_str(&self.identity);
        s.push(';');
        push_decimal(&mut s, high);
        s.push(';');
        push_decimal(&mut s, low);
        if let Some(o) = optional {
            s.push(';');
            s.push_str(o);
        }
        s
    }
}

/// The number of decimal digits of `n`.
fn decimal_len(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Appends `n` in decimal.
fn push_decimal(s: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        s.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end_seed_layout() {
        let e = EndToEndIds::new(0x1234_5abc, 0xfff1_2345);
        assert_eq!(e.next_id(), 0xabc1_2345);
        assert_eq!(e.next_id(), 0xabc1_2346);
    }

    #[test]
    fn hop_by_hop_wraps() {
        let mut h = HopByHop::new(u32::MAX);
        assert_eq!(h.next_id(), u32::MAX);
        assert_eq!(h.next_id(), 0);
    }

    #[test]
    fn session_id_format() {
        let s = SessionIds::new("client.example.org", 1_700_000_000);
        assert_eq!(s.next_id(), "client.example.org;1700000000;0");
        assert_eq!(s.next_with(Some("x")), "client.example.org;1700000000;1;x");
        for n in [
            0,
            7,
            9,
            10,
            99,
            100,
            1234,
            999_999_999,
            1_000_000_000,
            4_294_967_295,
        ] {
            let mut t = String::new();
            push_decimal(&mut t, n);
            assert_eq!(t, n.to_string());
            assert_eq!(decimal_len(n), t.len());
        }
        let id = s.next_with(Some("suffix"));
        assert_eq!(id.len(), id.capacity());
        let wrap = SessionIds::new("h", u32::MAX);
        wrap.low.store(u64::from(u32::MAX), Ordering::Relaxed);
        assert_eq!(wrap.next_id(), "h;4294967295;4294967295");
        assert_eq!(wrap.next_id(), "h;0;0");
    }
}
