//! Time (RFC 6733 §4.3.1): seconds since 1900-01-01 00:00 UTC, as NTP writes them, with the
//! RFC's rule for the 2036 wrap: values with the top bit clear are counted from
//! 2036-02-07 06:28:16 UTC (the start of NTP era 1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;

use super::{AvpData, DecodeCx};
use crate::avp::AvpRef;
use crate::dictionary::AvpType;
use crate::error::{DecodeError, ErrorKind};

/// Seconds from 1900-01-01 to 1970-01-01.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// Length of one NTP era in seconds.
const ERA: u64 = 1 << 32;

/// A Time value: the raw 32-bit NTP seconds, kept as received so it round-trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Time(pub u32);

impl Time {
    /// Seconds since the Unix epoch (UTC), applying the §4.3.1 wrap rule: the top bit clear
    /// means era 1 (2036 onward).
    pub fn unix_seconds(self) -> i64 {
        let ntp = u64::from(self.0);
        let ntp = if self.0 & 0x8000_0000 == 0 {
            ntp + ERA
        } else {
            ntp
        };
        ntp as i64 - NTP_UNIX_OFFSET as i64
    }

    /// From seconds since the Unix epoch; representable from 1968-01-20 to 2104-02-26.
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        let ntp = secs.checked_add(NTP_UNIX_OFFSET as i64)?;
        let ntp = u64::try_from(ntp).ok()?;
        // Era 0 is only usable for its second half (top bit set), era 1 for its first half.
        match ntp {
            n if (0x8000_0000..ERA).contains(&n) => Some(Self(n as u32)),
            n if (ERA..ERA + 0x8000_0000).contains(&n) => Some(Self((n - ERA) as u32)),
            _ => None,
        }
    }

    /// As a `SystemTime` (UTC).
    pub fn to_system_time(self) -> SystemTime {
        let s = self.unix_seconds();
        if s >= 0 {
            UNIX_EPOCH + Duration::from_secs(s as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(s.unsigned_abs())
        }
    }

    /// From a `SystemTime`, truncated to whole seconds.
    pub fn from_system_time(t: SystemTime) -> Option<Self> {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).ok()?,
            Err(e) => -i64::try_from(e.duration().as_secs()).ok()?,
        };
        Self::from_unix_seconds(secs)
    }

    /// The current time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now()).unwrap_or(Self(0))
    }

    /// RFC 3339 text in UTC, e.g. `2024-05-01T12:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = self.unix_seconds();
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
                let oh: i64 = tz.get(1..3)?.parse().ok()?;
                let om: i64 = tz.get(4..6)?.parse().ok()?;
                let o = oh * 3600 + om * 60;
                if tz.starts_with('-') { -o } else { o }
            }
            _ => return None,
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
        Self::from_unix_seconds(secs)
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

// Howard Hinnant's civil-date algorithms (public domain), in days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl AvpData for Time {
    const TYPE: AvpType = AvpType::Time;

    // Inline, as the numbers' decoders are: a view's check of a Time member inlines it
    // whichever codegen unit it lands in (left out of line, it cost the CCA view's check of
    // Granted-Service-Unit a call; BENCHMARKS.md, "Generated code: tables as text").
    #[inline]
    fn decode(avp: &AvpRef<'_>, _cx: DecodeCx) -> Result<Self, DecodeError> {
        <[u8; 4]>::try_from(avp.data)
            .map(|b| Self(u32::from_be_bytes(b)))
            .map_err(|_| {
                avp.error(ErrorKind::InvalidDataLength {
                    ty: "Time",
                    have: avp.data.len(),
                })
            })
    }
    fn data_len(&self) -> usize {
        4
    }
    fn encode_data(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(&self.0.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_in_2036() {
        // 0x80000000 is 1968-01-20T03:14:08Z; 0 after the wrap is 2036-02-07T06:28:16Z.
        assert_eq!(Time(0x8000_0000).to_rfc3339(), "1968-01-20T03:14:08Z");
        assert_eq!(Time(0).to_rfc3339(), "2036-02-07T06:28:16Z");
        let t = Time::from_unix_seconds(1_700_000_000).unwrap();
        assert_eq!(t.unix_seconds(), 1_700_000_000);
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn rfc3339_round_trip() {
        for s in [
            "2024-03-29T01:01:52Z",
            "2040-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
        ] {
            let t = Time::parse_rfc3339(s).unwrap();
            assert_eq!(t.to_rfc3339(), s);
        }
        assert_eq!(
            Time::parse_rfc3339("2024-03-29T03:01:52+02:00"),
            Time::parse_rfc3339("2024-03-29T01:01:52Z")
        );
        assert!(Time::parse_rfc3339("2200-01-01T00:00:00Z").is_none());
    }
}
