//! Where in a capture a message was found, and how times are written.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Transport a captured message came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Sctp,
}

/// Where in a capture a message was found.
#[derive(Clone, Debug)]
pub(crate) struct Meta {
    /// Packet number (1-based, as Wireshark counts) holding the message's last byte; `None`
    /// for what is reported at the end of the capture.
    pub(crate) frame: Option<u64>,
    /// Capture time since the Unix epoch.
    pub(crate) time: Option<Duration>,
    /// Capture time since the capture's first packet (Wireshark's relative time).
    pub(crate) relative: Option<Duration>,
    pub(crate) transport: Transport,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    /// TCP: offset of the message in its direction's byte stream.
    pub(crate) stream_offset: Option<u64>,
    /// SCTP: stream identifier.
    pub(crate) sctp_stream: Option<u16>,
}

impl Meta {
    /// The connection's two ends (source, destination).
    pub(crate) fn ends(&self) -> (SocketAddr, SocketAddr) {
        (self.src, self.dst)
    }

    /// Appends the `"capture"` object of a message's JSON.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        out.extend_from_slice(b"{\"frame\":");
        match self.frame {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.extend_from_slice(b"null"),
        }
        let t = match self.transport {
            Transport::Tcp => "tcp",
            Transport::Sctp => "sctp",
        };
        let _ = write!(
            out,
            ",\"transport\":\"{t}\",\"src\":\"{}\",\"dst\":\"{}\"",
            self.src, self.dst
        );
        if let Some(t) = self.time {
            let _ = write!(out, ",\"time\":\"{}\"", rfc3339(t));
        }
        if let Some(r) = self.relative {
            let _ = write!(out, ",\"time_relative\":{}", r.as_secs_f64());
        }
        if let Some(o) = self.stream_offset {
            let _ = write!(out, ",\"stream_offset\":{o}");
        }
        if let Some(s) = self.sctp_stream {
            let _ = write!(out, ",\"sctp_stream\":{s}");
        }
        out.push(b'}');
    }
}

impl fmt::Display for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.frame {
            Some(n) => write!(f, "frame {n}")?,
            None => f.write_str("end of capture")?,
        }
        let t = match self.transport {
            Transport::Tcp => "tcp",
            Transport::Sctp => "sctp",
        };
        write!(f, ", {t} {} -> {}", self.src, self.dst)?;
        if let Some(o) = self.stream_offset {
            write!(f, ", stream offset {o}")?;
        }
        if let Some(s) = self.sctp_stream {
            write!(f, ", stream {s}")?;
        }
        Ok(())
    }
}

/// Formats a time since the Unix epoch as RFC 3339 UTC with microseconds (nanoseconds when
/// the capture has them).
pub(crate) fn rfc3339(t: Duration) -> String {
    let secs = t.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let nanos = t.subsec_nanos();
    let frac = if nanos % 1000 == 0 {
        format!("{:06}", nanos / 1000)
    } else {
        format!("{nanos:09}")
    };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formatting() {
        assert_eq!(rfc3339(Duration::new(0, 0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(Duration::new(1_709_210_096, 123_456_000)),
            "2024-02-29T12:34:56.123456Z"
        );
        assert_eq!(
            rfc3339(Duration::new(1_709_210_096, 123_456_789)),
            "2024-02-29T12:34:56.123456789Z"
        );
    }
}
