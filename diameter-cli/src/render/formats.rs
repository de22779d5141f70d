//! Which AVPs carry a value format that their dictionary type does not say: addresses in
//! OctetStrings (RADIUS heritage), 3GPP location, time zone, PLMN and TBCD values, and
//! Unsigned32 bit masks whose bits the specifications name. The dictionaries have no
//! attribute for these, so they are listed here by AVP name (resolved once against the
//! compiled-in dictionaries) with the clause that defines them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use diameter_core::AvpKey;
use diameter_core::dictionary;

use super::tgpp;

/// How an AVP's value is shown beyond its dictionary type.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Format {
    /// 4 or 16 bytes: an IPv4 or IPv6 address.
    IpAddress,
    /// RFC 3162 §2.3: reserved byte, prefix length, prefix.
    Ipv6Prefix,
    /// TS 29.061 §16.4.7.2 item 22.
    UserLocationInfo,
    /// TS 29.061 §16.4.7.2 item 23.
    MsTimeZone,
    /// 3 bytes of MCC/MNC BCD.
    Plmn,
    /// TBCD digits.
    Tbcd,
    /// An Unsigned32 whose bits are named (bit 0 the least significant).
    Bits(&'static [&'static str]),
}

/// TS 29.272 §7.3.7.
const ULR_FLAGS: &[&str] = &[
    "Single-Registration-Indication",
    "S6a/S6d-Indicator",
    "Skip-Subscriber-Data",
    "GPRS-Subscription-Data-Indicator",
    "Node-Type-Indicator",
    "Initial-Attach-Indicator",
    "PS-LCS-Not-Supported-By-UE",
    "SMS-Only-Indication",
    "Dual-Registration-5G-Indicator",
    "Inter-PLMN-inter-MME-handover",
];
/// TS 29.272 §7.3.8.
const ULA_FLAGS: &[&str] = &["Separation-Indication", "MME-Registered-for-SMS"];
/// TS 29.272 §7.3.25.
const DSR_FLAGS: &[&str] = &[
    "Regional-Subscription-Withdrawal",
    "Complete-APN-Configuration-Profile-Withdrawal",
    "Subscribed-Charging-Characteristics-Withdrawal",
    "PDN-subscription-contexts-Withdrawal",
    "STN-SR",
    "Complete-PDP-context-list-Withdrawal",
    "PDP-contexts-Withdrawal",
    "Roaming-Restricted-due-to-unsupported-feature",
    "Trace-Data-Withdrawal",
    "CSG-Deleted",
    "APN-OI-Replacement",
    "GMLC-List-Withdrawal",
    "LCS-Withdrawal",
    "SMS-Withdrawal",
    "Subscribed-periodic-RAU-TAU-Timer-Withdrawal",
    "Subscribed-VSRVCC-Withdrawal",
    "A-MSISDN-Withdrawal",
    "ProSe-Withdrawal",
    "Reset-IDs",
    "DL-Buffering-Suggested-Packet-Count-Withdrawal",
    "Subscribed-IMSI-Group-Id-Withdrawal",
    "Delete-monitoring-events",
    "User-Plane-Integrity-Protection-Withdrawal",
    "MSISDN-Withdrawal",
    "UE-Usage-Type-Withdrawal",
    "V2X-Withdrawal",
    "External-Identifier-Withdrawal",
    "Aerial-UE-Subscription-Withdrawal",
    "Paging-Time-Window-Subscription-Withdrawal",
    "Active-Time-Withdrawal",
    "eDRX-Cycle-Length-Withdrawal",
    "Service-Gap-Time-Withdrawal",
];
/// TS 29.272 §7.3.26.
const DSA_FLAGS: &[&str] = &["Network-Node-area-restricted"];
/// TS 29.272 §7.3.103.
const IDR_FLAGS: &[&str] = &[
    "UE-Reachability-Request",
    "T-ADS-Data-Request",
    "EPS-User-State-Request",
    "EPS-Location-Information-Request",
    "Current-Location-Request",
    "Local-Time-Zone-Request",
    "Remove-SMS-Registration",
    "RAT-Type-Requested",
    "P-CSCF-Restoration-Request",
];
/// TS 29.272 §7.3.47.
const IDA_FLAGS: &[&str] = &["Network-Node-area-restricted"];
/// TS 29.272 §7.3.152.
const CLR_FLAGS: &[&str] = &["S6a/S6d-Indicator", "Reattach-Required"];
/// TS 29.272 §7.3.149.
const PUR_FLAGS: &[&str] = &["UE-Purged-in-MME", "UE-Purged-in-SGSN"];
/// TS 29.272 §7.3.48.
const PUA_FLAGS: &[&str] = &["Freeze-M-TMSI", "Freeze-P-TMSI"];
/// TS 29.272 §7.3.49.
const NOR_FLAGS: &[&str] = &[
    "Single-Registration-Indication",
    "SGSN-area-restricted",
    "Ready-for-SM-from-SGSN",
    "UE-Reachable-from-MME",
    "Reserved",
    "UE-Reachable-from-SGSN",
    "Ready-for-SM-from-MME",
    "Homogeneous-Support-of-IMS-Voice-Over-PS-Sessions",
    "S6a/S6d-Indicator",
    "Removal-of-MME-Registration-for-SMS",
];
/// TS 29.272 §7.3.201.
const AIR_FLAGS: &[&str] = &["Send-UE-Usage-Type"];

/// TS 29.272 §7.3.10, Feature-List-ID 1 of S6a/S6d (application 16777251).
pub(crate) const S6A_FEATURES_1: &[&str] = &[
    "ODB-all-APN",
    "ODB-HPLMN-APN",
    "ODB-VPLMN-APN",
    "ODB-all-OG",
    "ODB-all-InternationalOG",
    "ODB-all-InternationalOGNotToHPLMN-Country",
    "ODB-all-InterzonalOG",
    "ODB-all-InterzonalOGNotToHPLMN-Country",
    "ODB-all-InterzonalOGAndInternationalOGNotToHPLMN-Country",
    "RegSub",
    "Trace",
    "LCS-all-PrivExcep",
    "LCS-Universal",
    "LCS-CallSessionRelated",
    "LCS-CallSessionUnrelated",
    "LCS-PLMNOperator",
    "LCS-ServiceType",
    "LCS-all-MOLR-SS",
    "LCS-BasicSelfLocation",
    "LCS-AutonomousSelfLocation",
    "LCS-TransferToThirdParty",
    "SM-MO-PP",
    "Barring-OutgoingCalls",
    "BAOC",
    "BOIC",
    "BOICExHC",
    "UE-Reachability-Notification",
    "T-ADS-Data-Retrieval",
    "State/Location-Information-Retrieval",
    "Partial-Purge",
    "Local-Time-Zone-Retrieval",
    "Additional-MSISDN",
];
/// TS 29.272 §7.3.10, Feature-List-ID 2 of S6a/S6d.
pub(crate) const S6A_FEATURES_2: &[&str] = &[
    "SMS-in-MME",
    "SMS-in-SGSN",
    "Dia-LCS-all-PrivExcep",
    "Dia-LCS-Universal",
    "Dia-LCS-CallSessionRelated",
    "Dia-LCS-CallSessionUnrelated",
    "Dia-LCS-PLMNOperator",
    "Dia-LCS-ServiceType",
    "Dia-LCS-all-MOLR-SS",
    "Dia-LCS-BasicSelfLocation",
    "Dia-LCS-AutonomousSelfLocation",
    "Dia-LCS-TransferToThirdParty",
    "Gdd-in-SGSN",
    "Optimized-LCS-Proc-Support",
    "SGSN-CAMEL-Capability",
    "ProSe-Capability",
    "P-CSCF-Restoration",
    "Reset-IDs",
    "Communication-Failure-Handling",
    "NR-as-Secondary-RAT",
    "Unlicensed-Spectrum-as-Secondary-RAT",
    "External-Identifier",
    "NR-in-5GS-Access",
    "Dia-Aerial-UE-Subscription",
];

/// The application id of S6a/S6d (TS 29.272 §7.1.8).
pub(crate) const S6A: u32 = 16_777_251;

const TABLE: &[(&str, Format)] = &[
    // RFC 7155 §4.4.10.5.1, RFC 4005: addresses as 4 (or 16) octets.
    ("Framed-IP-Address", Format::IpAddress),
    ("Framed-IP-Netmask", Format::IpAddress),
    ("NAS-IP-Address", Format::IpAddress),
    ("NAS-IPv6-Address", Format::IpAddress),
    ("Login-IP-Host", Format::IpAddress),
    ("Login-IPv6-Host", Format::IpAddress),
    ("Framed-IPv6-Prefix", Format::Ipv6Prefix),
    ("Delegated-IPv6-Prefix", Format::Ipv6Prefix),
    // TS 29.061 §16.4.7.2.
    ("3GPP-GGSN-Address", Format::IpAddress),
    ("3GPP-SGSN-Address", Format::IpAddress),
    ("3GPP-GGSN-IPv6-Address", Format::IpAddress),
    ("3GPP-SGSN-IPv6-Address", Format::IpAddress),
    ("3GPP-CG-Address", Format::IpAddress),
    ("3GPP-CG-IPv6-Address", Format::IpAddress),
    // TS 29.061 §17.7.
    ("MBMS-GGSN-Address", Format::IpAddress),
    ("MBMS-GGSN-IPv6-Address", Format::IpAddress),
    ("MBMS-BMSC-SSM-IP-Address", Format::IpAddress),
    ("MBMS-BMSC-SSM-IPv6-Address", Format::IpAddress),
    ("3GPP-User-Location-Info", Format::UserLocationInfo),
    ("3GPP-MS-TimeZone", Format::MsTimeZone),
    // TS 29.272 §7.3.9, §7.3.185, §7.3.191.
    ("Visited-PLMN-Id", Format::Plmn),
    ("MDT-Allowed-PLMN-Id", Format::Plmn),
    ("Group-PLMN-Id", Format::Plmn),
    // ISDN numbers "encoded as a TBCD-string": TS 29.329 §6.3.2 (MSISDN), TS 29.272
    // (A-MSISDN, SGSN-Number, MME-Number-for-MT-SMS, GMLC-Number, STN-SR, MSC-Number,
    // SMSF-3GPP-Number), TS 29.338 (SC-Address), TS 29.336 (IP-SM-GW-Number).
    ("MSISDN", Format::Tbcd),
    ("A-MSISDN", Format::Tbcd),
    ("SGSN-Number", Format::Tbcd),
    ("MME-Number-for-MT-SMS", Format::Tbcd),
    ("GMLC-Number", Format::Tbcd),
    ("STN-SR", Format::Tbcd),
    ("MSC-Number", Format::Tbcd),
    ("SMSF-3GPP-Number", Format::Tbcd),
    ("SC-Address", Format::Tbcd),
    ("IP-SM-GW-Number", Format::Tbcd),
    ("ULR-Flags", Format::Bits(ULR_FLAGS)),
    ("ULA-Flags", Format::Bits(ULA_FLAGS)),
    ("DSR-Flags", Format::Bits(DSR_FLAGS)),
    ("DSA-Flags", Format::Bits(DSA_FLAGS)),
    ("IDR-Flags", Format::Bits(IDR_FLAGS)),
    ("IDA-Flags", Format::Bits(IDA_FLAGS)),
    ("CLR-Flags", Format::Bits(CLR_FLAGS)),
    ("PUR-Flags", Format::Bits(PUR_FLAGS)),
    ("PUA-Flags", Format::Bits(PUA_FLAGS)),
    ("NOR-Flags", Format::Bits(NOR_FLAGS)),
    ("AIR-Flags", Format::Bits(AIR_FLAGS)),
];

/// `(code, vendor)` and format, sorted: a binary search is cheaper than hashing, which
/// showed in profiles (this is looked up for every AVP shown).
fn table() -> &'static [((u32, u32), Format)] {
    static T: OnceLock<Vec<((u32, u32), Format)>> = OnceLock::new();
    T.get_or_init(|| {
        // Every AVP of that name: several specifications define some of them.
        let mut t: Vec<_> = dictionary::modules()
            .flat_map(|m| m.avps.iter())
            .filter_map(|d| {
                let (_, f) = TABLE.iter().find(|(name, _)| *name == d.name)?;
                Some(((d.code, d.vendor), *f))
            })
            .collect();
        t.sort_unstable_by_key(|(k, _)| *k);
        t.dedup_by_key(|(k, _)| *k);
        t
    })
}

/// The format of an AVP, if it has one.
pub(crate) fn format_of(key: AvpKey) -> Option<Format> {
    let t = table();
    let i = t
        .binary_search_by_key(&(key.code, key.vendor), |(k, _)| *k)
        .ok()?;
    Some(t[i].1)
}

/// The key of the Feature-List AVP (TS 29.229 §6.3.31), whose bits depend on the
/// application and the Feature-List-ID beside it.
pub(crate) fn feature_list_key() -> Option<AvpKey> {
    static K: OnceLock<Option<AvpKey>> = OnceLock::new();
    *K.get_or_init(|| {
        dictionary::avp_by_name("Feature-List").map(|d| AvpKey {
            code: d.code,
            vendor: d.vendor,
        })
    })
}

/// The names of the bits set in `v`; unnamed bits as `bit N`.
pub(crate) fn bit_names(v: u32, names: &[&'static str]) -> Vec<std::borrow::Cow<'static, str>> {
    (0..32)
        .filter(|b| v & (1 << b) != 0)
        .map(|b| match names.get(b) {
            Some(n) => (*n).into(),
            None => format!("bit {b}").into(),
        })
        .collect()
}

/// A decoded form of `data` by `format` (not for bits, which need the integer).
pub(crate) fn decode(format: Format, data: &[u8]) -> Option<String> {
    match format {
        Format::IpAddress => match data.len() {
            4 => Some(Ipv4Addr::new(data[0], data[1], data[2], data[3]).to_string()),
            16 => {
                let a: [u8; 16] = data.try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(a)).to_string())
            }
            _ => None,
        },
        Format::Ipv6Prefix => {
            let (&len, rest) = data.get(1..)?.split_first()?;
            if len > 128 || rest.len() > 16 || rest.len() * 8 < usize::from(len) {
                return None;
            }
            let mut a = [0u8; 16];
            a[..rest.len()].copy_from_slice(rest);
            Some(format!("{}/{len}", Ipv6Addr::from(a)))
        }
        Format::UserLocationInfo => tgpp::user_location_info(data),
        Format::MsTimeZone => tgpp::ms_time_zone(data),
        Format::Plmn => tgpp::plmn(data),
        Format::Tbcd => tgpp::tbcd(data),
        Format::Bits(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_avp_is_in_the_dictionaries() {
        let missing: Vec<&str> = TABLE
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| dictionary::avp_by_name(n).is_none())
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        assert!(feature_list_key().is_some());
    }

    #[test]
    fn addresses_and_bits() {
        assert_eq!(
            decode(Format::IpAddress, &[10, 1, 2, 3]).as_deref(),
            Some("10.1.2.3")
        );
        assert_eq!(decode(Format::IpAddress, &[10, 1, 2]), None);
        let p = [0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1];
        assert_eq!(
            decode(Format::Ipv6Prefix, &p).as_deref(),
            Some("2001:db8:0:1::/64")
        );
        assert_eq!(
            bit_names(0b100010, ULR_FLAGS),
            ["S6a/S6d-Indicator", "Initial-Attach-Indicator"]
        );
        assert_eq!(bit_names(1 << 31, ULA_FLAGS), ["bit 31"]);
    }
}
