//! 3GPP value formats carried in OctetString AVPs, decoded as Wireshark shows them:
//! PLMN identities (MCC/MNC in BCD, TS 24.008 §10.5.1.13), TBCD digit strings (TS 29.002
//! TBCD-STRING: MSISDN and the like), the time zone of 3GPP-MS-TimeZone (TS 29.061
//! §16.4.7.2 item 23, TS 24.008 §10.5.3.8) and the location of 3GPP-User-Location-Info
//! (TS 29.061 §16.4.7.2 item 22: the Geographic Location Type and the field formats of
//! TS 29.274 §8.21: CGI, SAI, RAI, TAI, ECGI, eNodeB IDs, NCGI, 5GS TAI and their pairs).
//! Each returns `None` when the bytes do not fit the format, and the caller shows hex.

use std::fmt::Write;

/// Digits in swapped-nibble BCD; a filler 0xF ends the string, other non-digits fail.
pub(crate) fn tbcd(data: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(data.len() * 2);
    for (i, b) in data.iter().enumerate() {
        for (k, nibble) in [b & 0x0f, b >> 4].into_iter().enumerate() {
            match nibble {
                0..=9 => s.push(char::from(b'0' + nibble)),
                // The filler may only pad the last digit.
                0x0f if i + 1 == data.len() && k == 1 => {}
                _ => return None,
            }
        }
    }
    (!s.is_empty()).then_some(s)
}

/// MCC and MNC of a 3-byte PLMN identity.
fn mcc_mnc(p: &[u8]) -> Option<(String, String)> {
    let d = |n: u8| (n <= 9).then(|| char::from(b'0' + n));
    let mcc: String = [d(p[0] & 0x0f)?, d(p[0] >> 4)?, d(p[1] & 0x0f)?]
        .into_iter()
        .collect();
    let mut mnc: String = [d(p[2] & 0x0f)?, d(p[2] >> 4)?].into_iter().collect();
    match p[1] >> 4 {
        0x0f => {}
        n => mnc.push(d(n)?),
    }
    Some((mcc, mnc))
}

/// `MCC 262 MNC 01` from a 3-byte PLMN identity.
pub(crate) fn plmn(data: &[u8]) -> Option<String> {
    if data.len() != 3 {
        return None;
    }
    let (mcc, mnc) = mcc_mnc(data)?;
    Some(format!("MCC {mcc} MNC {mnc}"))
}

/// 3GPP-MS-TimeZone: the time zone in quarter hours (semi-octets, sign in bit 3) and the
/// daylight saving adjustment (0-2 hours).
pub(crate) fn ms_time_zone(data: &[u8]) -> Option<String> {
    let [tz, dst] = data else { return None };
    let sign = if tz & 0x08 != 0 { '-' } else { '+' };
    let (tens, units) = (tz & 0x07, tz >> 4);
    if units > 9 {
        return None;
    }
    let quarters = u32::from(tens) * 10 + u32::from(units);
    let dst = match dst & 0x03 {
        0 => "no adjustment",
        1 => "+1 hour adjustment for Daylight Saving Time",
        2 => "+2 hours adjustment for Daylight Saving Time",
        _ => return None,
    };
    Some(format!(
        "GMT {sign}{}:{:02}, {dst}",
        quarters / 4,
        quarters % 4 * 15
    ))
}

/// Appends ` MCC x MNC y` for the PLMN at the start of `p` and returns the rest.
fn put_plmn<'a>(out: &mut String, p: &'a [u8]) -> Option<&'a [u8]> {
    let (mcc, mnc) = mcc_mnc(p.get(..3)?)?;
    let _ = write!(out, " MCC {mcc} MNC {mnc}");
    p.get(3..)
}

fn be(p: &[u8]) -> u64 {
    p.iter().fold(0, |acc, b| acc << 8 | u64::from(*b))
}

/// CGI, SAI or RAI: PLMN, LAC, then CI, SAC or RAC.
fn lac_and(out: &mut String, p: &[u8], what: &str) -> Option<()> {
    let p = put_plmn(out, p)?;
    let (lac, rest) = (p.get(..2)?, p.get(2..)?);
    let _ = write!(out, " LAC {:#06x}", be(lac));
    let v = if what == "RAC" {
        be(rest.get(..1)?)
    } else {
        be(rest.get(..2)?)
    };
    let _ = write!(out, " {what} {v:#x}");
    Some(())
}

fn tai(out: &mut String, p: &[u8]) -> Option<usize> {
    out.push_str(" TAI");
    let p = put_plmn(out, p)?;
    let _ = write!(out, " TAC {:#06x}", be(p.get(..2)?));
    Some(5)
}

fn ecgi(out: &mut String, p: &[u8]) -> Option<()> {
    out.push_str(" ECGI");
    let p = put_plmn(out, p)?;
    // 4 spare bits, then the 28-bit E-UTRAN Cell Identifier.
    let eci = be(p.get(..4)?) & 0x0fff_ffff;
    let _ = write!(
        out,
        " ECI {eci:#09x} (eNodeB {}, cell {})",
        eci >> 8,
        eci & 0xff
    );
    Some(())
}

/// A macro eNodeB ID (20 bits after 4 spare) or an extended one (SMeNB flag, then 18 or 21
/// bits), TS 29.274 §8.21.7-8.
fn enb(out: &mut String, p: &[u8], extended: bool) -> Option<()> {
    out.push_str(" eNodeB");
    let p = put_plmn(out, p)?;
    let v = be(p.get(..3)?);
    if extended {
        if v & 0x80_0000 != 0 {
            let _ = write!(out, " short macro ID {}", v & 0x3_ffff);
        } else {
            let _ = write!(out, " long macro ID {}", v & 0x1f_ffff);
        }
    } else {
        let _ = write!(out, " ID {}", v & 0x0f_ffff);
    }
    Some(())
}

fn tai5g(out: &mut String, p: &[u8]) -> Option<usize> {
    out.push_str(" 5GS TAI");
    let p = put_plmn(out, p)?;
    let _ = write!(out, " TAC {:#08x}", be(p.get(..3)?));
    Some(6)
}

fn ncgi(out: &mut String, p: &[u8]) -> Option<()> {
    out.push_str(" NCGI");
    let p = put_plmn(out, p)?;
    // 4 spare bits, then the 36-bit NR Cell Identity.
    let nci = be(p.get(..5)?) & 0x0f_ffff_ffff;
    let _ = write!(out, " NCI {nci:#011x}");
    Some(())
}

/// 3GPP-User-Location-Info: the Geographic Location Type (TS 29.061 §16.4.7.2) and the
/// location it names.
pub(crate) fn user_location_info(data: &[u8]) -> Option<String> {
    let (&ty, p) = data.split_first()?;
    let mut out = String::new();
    match ty {
        0 => {
            out.push_str("CGI");
            lac_and(&mut out, p, "CI")?;
        }
        1 => {
            out.push_str("SAI");
            lac_and(&mut out, p, "SAC")?;
        }
        2 => {
            out.push_str("RAI");
            lac_and(&mut out, p, "RAC")?;
        }
        128 => {
            out.push_str("TAI:");
            tai(&mut out, p)?;
        }
        129 => {
            out.push_str("ECGI:");
            ecgi(&mut out, p)?;
        }
        130 => {
            out.push_str("TAI and ECGI:");
            let n = tai(&mut out, p)?;
            out.push(',');
            ecgi(&mut out, p.get(n..)?)?;
        }
        135 => {
            out.push_str("NCGI:");
            ncgi(&mut out, p)?;
        }
        136 => {
            out.push_str("5GS TAI:");
            tai5g(&mut out, p)?;
        }
        137 => {
            out.push_str("5GS TAI and NCGI:");
            let n = tai5g(&mut out, p)?;
            out.push(',');
            ncgi(&mut out, p.get(n..)?)?;
        }
        131 | 133 => {
            out.push_str(if ty == 131 {
                "eNodeB ID:"
            } else {
                "Extended eNodeB ID:"
            });
            enb(&mut out, p, ty == 133)?;
        }
        132 | 134 => {
            out.push_str(if ty == 132 {
                "TAI and eNodeB ID:"
            } else {
                "TAI and extended eNodeB ID:"
            });
            let n = tai(&mut out, p)?;
            out.push(',');
            enb(&mut out, p.get(n..)?, ty == 134)?;
        }
        other => {
            // NG-RAN node identities (138, 139) and types to come:
            // the type is named, the rest left as hex by the caller's raw value.
            let _ = write!(out, "Geographic Location Type {other}");
            put_plmn(&mut out, p)?;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tbcd_digits() {
        assert_eq!(
            tbcd(&[0x94, 0x71, 0x02, 0x43, 0xf5]).as_deref(),
            Some("491720345")
        );
        assert_eq!(tbcd(&[0x21, 0x43]).as_deref(), Some("1234"));
        assert_eq!(tbcd(&[0xf1, 0x43]), None);
        assert_eq!(tbcd(&[]), None);
    }

    #[test]
    fn plmn_ids() {
        assert_eq!(plmn(&[0x62, 0xf2, 0x10]).as_deref(), Some("MCC 262 MNC 01"));
        assert_eq!(
            plmn(&[0x13, 0x00, 0x14]).as_deref(),
            Some("MCC 310 MNC 410")
        );
        assert_eq!(plmn(&[0x00, 0xf1, 0x10]).as_deref(), Some("MCC 001 MNC 01"));
        assert_eq!(plmn(&[0xab, 0xf1, 0x10]), None);
        assert_eq!(plmn(&[0x00, 0xf1]), None);
    }

    #[test]
    fn time_zones() {
        // +1:00 (4 quarters), one hour of daylight saving.
        assert_eq!(
            ms_time_zone(&[0x40, 0x01]).as_deref(),
            Some("GMT +1:00, +1 hour adjustment for Daylight Saving Time")
        );
        // -5:30 (22 quarters: tens 2, units 2), sign bit set.
        assert_eq!(
            ms_time_zone(&[0x2a, 0x00]).as_deref(),
            Some("GMT -5:30, no adjustment")
        );
        assert_eq!(ms_time_zone(&[0x40]), None);
    }

    #[test]
    fn locations() {
        let plmn = [0x00, 0xf1, 0x10];
        let mut tai_ecgi = vec![130];
        tai_ecgi.extend_from_slice(&plmn);
        tai_ecgi.extend_from_slice(&[0x00, 0x01]);
        tai_ecgi.extend_from_slice(&plmn);
        tai_ecgi.extend_from_slice(&[0x00, 0x00, 0x01, 0x02]);
        assert_eq!(
            user_location_info(&tai_ecgi).as_deref(),
            Some(
                "TAI and ECGI: TAI MCC 001 MNC 01 TAC 0x0001, ECGI MCC 001 MNC 01 ECI 0x0000102 (eNodeB 1, cell 2)"
            )
        );
        let mut cgi = vec![0];
        cgi.extend_from_slice(&plmn);
        cgi.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(
            user_location_info(&cgi).as_deref(),
            Some("CGI MCC 001 MNC 01 LAC 0x1234 CI 0x5678")
        );
        let mut tai_ncgi = vec![137];
        tai_ncgi.extend_from_slice(&plmn);
        tai_ncgi.extend_from_slice(&[0, 0, 7]);
        tai_ncgi.extend_from_slice(&plmn);
        tai_ncgi.extend_from_slice(&[0x01, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(
            user_location_info(&tai_ncgi).as_deref(),
            Some(
                "5GS TAI and NCGI: 5GS TAI MCC 001 MNC 01 TAC 0x000007, NCGI MCC 001 MNC 01 NCI 0x123456789"
            )
        );
        let mut enb = vec![132];
        enb.extend_from_slice(&plmn);
        enb.extend_from_slice(&[0x00, 0x01]);
        enb.extend_from_slice(&plmn);
        enb.extend_from_slice(&[0x01, 0x00, 0x02]);
        assert_eq!(
            user_location_info(&enb).as_deref(),
            Some(
                "TAI and eNodeB ID: TAI MCC 001 MNC 01 TAC 0x0001, eNodeB MCC 001 MNC 01 ID 65538"
            )
        );
        assert_eq!(user_location_info(&[130, 0, 0xf1]), None);
        assert_eq!(user_location_info(&[]), None);
    }
}
