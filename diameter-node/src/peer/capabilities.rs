//! Capabilities exchange, RFC 6733 §5.3: building CER/CEA from the local node's
//! capabilities, and reading the peer's from the CER or CEA it sent.
//!
//! - The common applications are the intersection of the local and remote
//!   Auth-Application-Id, Acct-Application-Id and Vendor-Specific-Application-Id values; the
//!   Vendor-Id inside Vendor-Specific-Application-Id is not used (§5.3). A side advertising
//!   Relay (0xffffffff, §2.4) has every application in common with the other.
//! - Nothing in common: 5010 DIAMETER_NO_COMMON_APPLICATION (§5.3, §7.1.5).
//! - In-band security (Inband-Security-Id, §6.10; RFC 3588 §2.1's TLS started after
//!   CER/CEA, still used by old peers): by default nothing is advertised
//!   (NO_INBAND_SECURITY), and a peer that lists only TLS (1) gets 5017
//!   DIAMETER_NO_COMMON_SECURITY. With [`InbandSecurity::Offer`] the CER lists both and TLS
//!   is chosen when the peer lists it; with [`InbandSecurity::Require`] only TLS is
//!   listed. The responder's CEA names the one chosen; when it is TLS, both sides start
//!   the handshake right after the CEA (`crate::peer::Event::StartTls`).
//! - Host-IP-Address is recorded, never compared with the socket's address: nodes such
//!   as freeDiameter advertise all their interfaces (§5.3.5 does not ask for a check).
//! - Whether an unknown peer may connect at all (3010 DIAMETER_UNKNOWN_PEER) is decided
//!   before the state machine sees the CER (§5.6.1); see `crate::peer::admission`.
//! - A CER is first checked as any request is (`check_cer`: `diameter_core::validate`,
//!   §7): an unknown AVP with the M bit (5001), a value its type or dictionary refuses
//!   (5004: an Origin-Host that is not an FQDN, a Host-IP-Address that is not IPv4 or
//!   IPv6), an AVP its ABNF or a Grouped member's does not allow (5008), a missing or
//!   repeated one (5005, 5009), a bad length (5014). The CEA then carries that
//!   Result-Code, the offending AVP in Failed-AVP (or a zero-filled one of the missing
//!   kind, §7.5) and an Error-Message (`LocalCapabilities::cea_refusing`), and the
//!   connection is closed (§5.3).

use std::net::IpAddr;

use bytes::Bytes;
use diameter_core::generated::base::{
    CapabilitiesExchangeAnswer, CapabilitiesExchangeRequest, VendorSpecificApplicationId,
};
use diameter_core::typed::Command;
use diameter_core::{Address, CommandFlags, DecodeError, Header, Message, ResultCode};

/// The Relay application id (RFC 6733 §2.4).
pub const RELAY_APPLICATION_ID: u32 = 0xffff_ffff;
/// Inband-Security-Id NO_INBAND_SECURITY (§6.10).
pub const NO_INBAND_SECURITY: u32 = 0;
/// Inband-Security-Id TLS (§6.10): TLS started after CER/CEA (RFC 3588).
pub const INBAND_TLS: u32 = 1;

/// What the node says in Inband-Security-Id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InbandSecurity {
    /// Nothing advertised: NO_INBAND_SECURITY (RFC 6733's choice: TLS, if any, at
    /// connection start).
    #[default]
    None,
    /// NO_INBAND_SECURITY and TLS: TLS after CER/CEA with peers that list it.
    Offer,
    /// TLS only: peers that do not list it get 5017 DIAMETER_NO_COMMON_SECURITY.
    Require,
}

impl InbandSecurity {
    /// The Inband-Security-Id values of a CER.
    pub fn advertised(self) -> Vec<u32> {
        match self {
            Self::None => Vec::new(),
            Self::Offer => vec![NO_INBAND_SECURITY, INBAND_TLS],
            Self::Require => vec![INBAND_TLS],
        }
    }

    fn supports(self, id: u32) -> bool {
        match self {
            Self::None => id == NO_INBAND_SECURITY,
            Self::Offer => id == NO_INBAND_SECURITY || id == INBAND_TLS,
            Self::Require => id == INBAND_TLS,
        }
    }
}

/// Whether an application is an authentication/authorization or an accounting one; it
/// decides the AVP that advertises it (§6.8, §6.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApplicationKind {
    /// Advertised in Auth-Application-Id.
    Auth,
    /// Advertised in Acct-Application-Id.
    Acct,
}

/// One application the local node supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SupportedApplication {
    /// Application-Id.
    pub id: u32,
    /// Auth or Acct.
    pub kind: ApplicationKind,
    /// Set for vendor-specific applications (3GPP: 10415), which are advertised inside
    /// Vendor-Specific-Application-Id.
    pub vendor_id: Option<u32>,
}

impl SupportedApplication {
    /// An authentication/authorization application.
    pub const fn auth(id: u32) -> Self {
        Self {
            id,
            kind: ApplicationKind::Auth,
            vendor_id: None,
        }
    }
    /// An accounting application.
    pub const fn acct(id: u32) -> Self {
        Self {
            id,
            kind: ApplicationKind::Acct,
            vendor_id: None,
        }
    }
    /// A vendor-specific authentication/authorization application.
    pub const fn vendor_auth(vendor_id: u32, id: u32) -> Self {
        Self {
            id,
            kind: ApplicationKind::Auth,
            vendor_id: Some(vendor_id),
        }
    }
}

/// What the local node advertises in CER and CEA (§5.3.1, §5.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCapabilities {
    /// Origin-Host.
    pub origin_host: String,
    /// Origin-Realm.
    pub origin_realm: String,
    /// Host-IP-Address values (at least one is required; 127.0.0.1 is used when empty).
    pub host_ip_addresses: Vec<IpAddr>,
    /// Vendor-Id (0 when the vendor has no IANA number).
    pub vendor_id: u32,
    /// Product-Name.
    pub product_name: String,
    /// Firmware-Revision.
    pub firmware_revision: Option<u32>,
    /// Origin-State-Id (§8.16): increases each time the node restarts with lost state.
    pub origin_state_id: Option<u32>,
    /// Supported-Vendor-Id values.
    pub supported_vendor_ids: Vec<u32>,
    /// The applications the node supports.
    pub applications: Vec<SupportedApplication>,
    /// Whether the node is a relay (advertises 0xffffffff).
    pub relay: bool,
    /// Inband-Security-Id (TLS after CER/CEA for old peers).
    pub inband_security: InbandSecurity,
}

impl LocalCapabilities {
    /// Capabilities with the given identity, no applications and our product name.
    pub fn new(origin_host: impl Into<String>, origin_realm: impl Into<String>) -> Self {
        Self {
            origin_host: origin_host.into(),
            origin_realm: origin_realm.into(),
            host_ip_addresses: Vec::new(),
            vendor_id: 0,
            product_name: "diameter-rs".into(),
            firmware_revision: Some(1),
            origin_state_id: None,
            supported_vendor_ids: Vec::new(),
            applications: Vec::new(),
            relay: false,
            inband_security: InbandSecurity::None,
        }
    }

    /// Every application id advertised (Relay included when the node is a relay).
    pub fn application_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.applications
            .iter()
            .map(|a| a.id)
            .chain(self.relay.then_some(RELAY_APPLICATION_ID))
    }

    fn advertise(
        &self,
        auth: &mut Vec<u32>,
        acct: &mut Vec<u32>,
        vsa: &mut Vec<VendorSpecificApplicationId>,
    ) {
        for app in &self.applications {
            match (app.vendor_id, app.kind) {
                (None, ApplicationKind::Auth) => auth.push(app.id),
                (None, ApplicationKind::Acct) => acct.push(app.id),
                (Some(vendor_id), kind) => vsa.push(VendorSpecificApplicationId {
                    vendor_id,
                    auth_application_id: (kind == ApplicationKind::Auth).then_some(app.id),
                    acct_application_id: (kind == ApplicationKind::Acct).then_some(app.id),
                    ..Default::default()
                }),
            }
        }
        if self.relay {
            auth.push(RELAY_APPLICATION_ID);
        }
    }

    fn addresses(&self) -> Vec<Address> {
        if self.host_ip_addresses.is_empty() {
            vec![Address::V4(std::net::Ipv4Addr::LOCALHOST)]
        } else {
            self.host_ip_addresses
                .iter()
                .map(|ip| Address::from(*ip))
                .collect()
        }
    }

    /// The CER (§5.3.1); the caller sets hop-by-hop and end-to-end.
    pub fn cer(&self) -> CapabilitiesExchangeRequest {
        let mut cer = CapabilitiesExchangeRequest {
            origin_host: self.origin_host.as_str().into(),
            origin_realm: self.origin_realm.as_str().into(),
            host_ip_address: self.addresses(),
            vendor_id: self.vendor_id,
            product_name: self.product_name.as_str().into(),
            origin_state_id: self.origin_state_id,
            supported_vendor_id: self.supported_vendor_ids.clone(),
            inband_security_id: self.inband_security.advertised(),
            firmware_revision: self.firmware_revision,
            ..Default::default()
        };
        self.advertise(
            &mut cer.auth_application_id,
            &mut cer.acct_application_id,
            &mut cer.vendor_specific_application_id,
        );
        cer
    }

    /// The CEA (§5.3.2) answering a CER with `request` as header. All local applications
    /// are listed, as a hint, whatever the result (§5.3). 3xxx results carry the E bit.
    pub fn cea(
        &self,
        request: &Header,
        result_code: u32,
        error_message: Option<&str>,
    ) -> CapabilitiesExchangeAnswer {
        let mut header = CapabilitiesExchangeAnswer::new_header();
        header.hop_by_hop = request.hop_by_hop;
        header.end_to_end = request.end_to_end;
        if ResultCode(result_code).is_protocol_error() {
            header.flags = header.flags.with(CommandFlags::ERROR, true);
        }
        let mut cea = CapabilitiesExchangeAnswer {
            header,
            result_code,
            origin_host: self.origin_host.as_str().into(),
            origin_realm: self.origin_realm.as_str().into(),
            host_ip_address: self.addresses(),
            vendor_id: self.vendor_id,
            product_name: self.product_name.as_str().into(),
            origin_state_id: self.origin_state_id,
            error_message: error_message.map(Into::into),
            supported_vendor_id: self.supported_vendor_ids.clone(),
            inband_security_id: self.inband_security.advertised(),
            firmware_revision: self.firmware_revision,
            ..Default::default()
        };
        self.advertise(
            &mut cea.auth_application_id,
            &mut cea.acct_application_id,
            &mut cea.vendor_specific_application_id,
        );
        cea
    }

    /// The encoded CEA refusing a CER that failed [`check_cer`] or typed decoding: the
    /// error's Result-Code (E bit for 3xxx), an Error-Message saying what is wrong, and
    /// the offending AVP in Failed-AVP (§7.5).
    pub(crate) fn cea_refusing(&self, request: &Header, err: &DecodeError) -> Bytes {
        let cea = self.cea(request, err.result_code(), Some(&err.to_string()));
        match err.failed_avp() {
            Some(failed) => {
                let mut b = cea.to_message().to_builder();
                b.failed_avp(failed);
                b.build().into_bytes()
            }
            None => cea.to_bytes(),
        }
    }

    /// Computes what the local node and a peer advertising `remote` have in common.
    pub(crate) fn negotiate(&self, remote: &RemoteAdvert<'_>) -> Result<Negotiated, Rejection> {
        // No Inband-Security-Id means NO_INBAND_SECURITY (§6.10).
        let remote_ids: &[u32] = match remote.inband_security_ids {
            [] => &[NO_INBAND_SECURITY],
            ids => ids,
        };
        let sec = self.inband_security;
        let tls = sec.supports(INBAND_TLS) && remote_ids.contains(&INBAND_TLS);
        let plain = sec.supports(NO_INBAND_SECURITY) && remote_ids.contains(&NO_INBAND_SECURITY);
        if !(tls || plain) {
            return Err(Rejection {
                result_code: ResultCode::DIAMETER_NO_COMMON_SECURITY.0,
                message: match sec {
                    InbandSecurity::Require => "TLS (Inband-Security-Id 1) is required",
                    _ => "only NO_INBAND_SECURITY is supported",
                },
            });
        }
        let advertised = remote.application_ids();
        let remote_relay = advertised.contains(&RELAY_APPLICATION_ID);
        let common: Vec<u32> = if self.relay {
            advertised.clone()
        } else if remote_relay {
            self.application_ids().collect()
        } else {
            let mut c: Vec<u32> = self
                .application_ids()
                .filter(|id| advertised.contains(id))
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        if common.is_empty() && !self.relay && !remote_relay {
            return Err(Rejection {
                result_code: ResultCode::DIAMETER_NO_COMMON_APPLICATION.0,
                message: "no application in common",
            });
        }
        Ok(Negotiated {
            advertised,
            common,
            relay: self.relay || remote_relay,
            tls,
        })
    }
}

/// Process-CER's check of the message itself, before its capabilities are read: the
/// validation every request gets (§7, `diameter_core::validate`: ABNF, M bit, values,
/// lengths). `Err`: answer with [`LocalCapabilities::cea_refusing`] and close.
pub(crate) fn check_cer(cer: &Message) -> Result<(), DecodeError> {
    diameter_core::validate(cer)
}

/// The application and security AVPs of a received CER or CEA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RemoteAdvert<'a> {
    /// Auth-Application-Id values.
    pub auth: &'a [u32],
    /// Acct-Application-Id values.
    pub acct: &'a [u32],
    /// Vendor-Specific-Application-Id values.
    pub vendor_specific: &'a [VendorSpecificApplicationId],
    /// Inband-Security-Id values.
    pub inband_security_ids: &'a [u32],
}

impl RemoteAdvert<'_> {
    /// Every advertised application id, vendor ids ignored (§5.3).
    pub(crate) fn application_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .auth
            .iter()
            .chain(self.acct)
            .copied()
            .chain(self.vendor_specific.iter().flat_map(|v| {
                v.auth_application_id
                    .into_iter()
                    .chain(v.acct_application_id)
            }))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The outcome of a successful negotiation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Every application id the peer advertised.
    pub advertised: Vec<u32>,
    /// The applications both sides support.
    pub common: Vec<u32>,
    /// Whether either side is a relay (then every application is common).
    pub relay: bool,
    /// Inband-Security-Id TLS was chosen: the TLS handshake follows the CEA.
    pub tls: bool,
}

/// Why a CER is refused: the Result-Code for the CEA, and an Error-Message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    /// Result-Code of the CEA.
    pub result_code: u32,
    /// Error-Message of the CEA.
    pub message: &'static str,
}

/// What a peer told us about itself in its CER or CEA, plus what we negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCapabilities {
    /// Origin-Host.
    pub origin_host: String,
    /// Origin-Realm.
    pub origin_realm: String,
    /// Host-IP-Address values, as advertised (not checked against the socket).
    pub host_ip_addresses: Vec<Address>,
    /// Vendor-Id.
    pub vendor_id: u32,
    /// Product-Name.
    pub product_name: String,
    /// Firmware-Revision.
    pub firmware_revision: Option<u32>,
    /// Origin-State-Id.
    pub origin_state_id: Option<u32>,
    /// Supported-Vendor-Id values.
    pub supported_vendor_ids: Vec<u32>,
    /// Application ids advertised and in common.
    pub applications: Negotiated,
}

impl PeerCapabilities {
    /// Whether requests of `application_id` may be sent to this peer (§5.3: only
    /// advertised applications; the common messages of application 0 always).
    pub fn supports(&self, application_id: u32) -> bool {
        application_id == 0
            || self.applications.relay
            || self.applications.common.contains(&application_id)
    }

    /// Reads a CER and negotiates with it.
    pub(crate) fn from_cer(
        local: &LocalCapabilities,
        cer: &CapabilitiesExchangeRequest,
    ) -> Result<Self, Rejection> {
        let applications = local.negotiate(&RemoteAdvert {
            auth: &cer.auth_application_id,
            acct: &cer.acct_application_id,
            vendor_specific: &cer.vendor_specific_application_id,
            inband_security_ids: &cer.inband_security_id,
        })?;
        Ok(Self {
            origin_host: cer.origin_host.to_string(),
            origin_realm: cer.origin_realm.to_string(),
            host_ip_addresses: cer.host_ip_address.clone(),
            vendor_id: cer.vendor_id,
            product_name: cer.product_name.to_string(),
            firmware_revision: cer.firmware_revision,
            origin_state_id: cer.origin_state_id,
            supported_vendor_ids: cer.supported_vendor_id.clone(),
            applications,
        })
    }

    /// Reads a successful CEA and negotiates with it.
    pub(crate) fn from_cea(
        local: &LocalCapabilities,
        cea: &CapabilitiesExchangeAnswer,
    ) -> Result<Self, Rejection> {
        let applications = local.negotiate(&RemoteAdvert {
            auth: &cea.auth_application_id,
            acct: &cea.acct_application_id,
            vendor_specific: &cea.vendor_specific_application_id,
            inband_security_ids: &cea.inband_security_id,
        })?;
        Ok(Self {
            origin_host: cea.origin_host.to_string(),
            origin_realm: cea.origin_realm.to_string(),
            host_ip_addresses: cea.host_ip_address.clone(),
            vendor_id: cea.vendor_id,
            product_name: cea.product_name.to_string(),
            firmware_revision: cea.firmware_revision,
            origin_state_id: cea.origin_state_id,
            supported_vendor_ids: cea.supported_vendor_id.clone(),
            applications,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(apps: &[SupportedApplication]) -> LocalCapabilities {
        let mut l = LocalCapabilities::new("a.example.org", "example.org");
        l.applications = apps.to_vec();
        l
    }

    fn cer_with(auth: &[u32], vsa: &[(u32, u32)]) -> CapabilitiesExchangeRequest {
        let mut cer = local(&[]).cer();
        cer.origin_host = "b.example.org".into();
        cer.host_ip_address = vec![Address::V4("192.0.2.99".parse().unwrap())];
        cer.auth_application_id = auth.to_vec();
        cer.vendor_specific_application_id = vsa
            .iter()
            .map(|(v, id)| VendorSpecificApplicationId {
                vendor_id: *v,
                auth_application_id: Some(*id),
                ..Default::default()
            })
            .collect();
        cer
    }

    #[test]
    fn cer_carries_every_capability() {
        let mut l = local(&[
            SupportedApplication::auth(4),
            SupportedApplication::acct(3),
            SupportedApplication::vendor_auth(10415, 16777238),
        ]);
        l.host_ip_addresses = vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        l.supported_vendor_ids = vec![10415];
        l.origin_state_id = Some(9);
        let cer = l.cer();
        assert_eq!(cer.auth_application_id, vec![4]);
        assert_eq!(cer.acct_application_id, vec![3]);
        assert_eq!(
            cer.vendor_specific_application_id[0].auth_application_id,
            Some(16777238)
        );
        assert_eq!(cer.host_ip_address.len(), 2);
        assert_eq!(cer.supported_vendor_id, vec![10415]);
        assert_eq!(cer.origin_state_id, Some(9));
        assert_eq!(cer.firmware_revision, Some(1));
        let bytes = cer.to_bytes();
        let msg = diameter_core::Message::decode(bytes).unwrap();
        diameter_core::validate(&msg).unwrap();
    }

    #[test]
    fn intersection_ignores_vendor_and_address() {
        let l = local(&[
            SupportedApplication::auth(4),
            SupportedApplication::vendor_auth(10415, 16777238),
        ]);
        // The vendor id inside Vendor-Specific-Application-Id is not used (§5.3), and the
        // advertised address differs from any socket: still accepted.
        let caps = PeerCapabilities::from_cer(&l, &cer_with(&[], &[(99, 16777238)])).unwrap();
        assert_eq!(caps.applications.common, vec![16777238]);
        assert!(caps.supports(16777238) && !caps.supports(4) && caps.supports(0));
    }

    #[test]
    fn nothing_in_common_is_5010() {
        let l = local(&[SupportedApplication::auth(4)]);
        let err = PeerCapabilities::from_cer(&l, &cer_with(&[5], &[])).unwrap_err();
        assert_eq!(err.result_code, 5010);
    }

    #[test]
    fn relay_on_either_side_has_everything_in_common() {
        let l = local(&[SupportedApplication::auth(4)]);
        let caps = PeerCapabilities::from_cer(&l, &cer_with(&[RELAY_APPLICATION_ID], &[])).unwrap();
        assert!(caps.applications.relay && caps.supports(4));
        let mut relay = local(&[]);
        relay.relay = true;
        let caps = PeerCapabilities::from_cer(&relay, &cer_with(&[16777238], &[])).unwrap();
        assert!(caps.supports(16777238));
        assert_eq!(relay.cer().auth_application_id, vec![RELAY_APPLICATION_ID]);
    }

    #[test]
    fn tls_only_peer_is_5017() {
        let l = local(&[SupportedApplication::auth(4)]);
        let mut cer = cer_with(&[4], &[]);
        cer.inband_security_id = vec![1];
        assert_eq!(
            PeerCapabilities::from_cer(&l, &cer)
                .unwrap_err()
                .result_code,
            5017
        );
        cer.inband_security_id = vec![1, 0];
        let caps = PeerCapabilities::from_cer(&l, &cer).unwrap();
        assert!(!caps.applications.tls);
    }

    #[test]
    fn inband_tls_is_chosen_when_both_list_it() {
        let mut l = local(&[SupportedApplication::auth(4)]);
        let mut cer = cer_with(&[4], &[]);
        let tls = |l: &LocalCapabilities, ids: &[u32], cer: &mut CapabilitiesExchangeRequest| {
            cer.inband_security_id = ids.to_vec();
            PeerCapabilities::from_cer(l, cer).map(|c| c.applications.tls)
        };
        l.inband_security = InbandSecurity::Offer;
        assert_eq!(l.cer().inband_security_id, [0, 1]);
        assert_eq!(tls(&l, &[0, 1], &mut cer), Ok(true));
        assert_eq!(tls(&l, &[1], &mut cer), Ok(true));
        assert_eq!(tls(&l, &[0], &mut cer), Ok(false));
        assert_eq!(tls(&l, &[], &mut cer), Ok(false));
        l.inband_security = InbandSecurity::Require;
        assert_eq!(l.cer().inband_security_id, [1]);
        assert_eq!(tls(&l, &[0, 1], &mut cer), Ok(true));
        assert_eq!(tls(&l, &[], &mut cer).unwrap_err().result_code, 5017);
        // Unknown values are ignored.
        assert_eq!(tls(&l, &[7, 1], &mut cer), Ok(true));
    }

    #[test]
    fn cea_sets_e_bit_for_protocol_errors() {
        let l = local(&[SupportedApplication::auth(4)]);
        let h = Header::default();
        assert!(l.cea(&h, 3010, None).header.flags.is_error());
        assert!(!l.cea(&h, 5010, None).header.flags.is_error());
        assert!(!l.cea(&h, 2001, None).header.flags.is_request());
    }
}
