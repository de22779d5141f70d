//! The DOIC AVPs on the wire (RFC 7683 §7): OC-Supported-Features and OC-OLR read with
//! the generated views (`OcSupportedFeaturesView`, `OcOlrView`) and written with the
//! generated writers, the answer's DOIC AVPs found in one walk over its headers. Hostile
//! input never panics: what does not decode is ignored.

use std::time::Duration;

use bytes::BytesMut;
use diameter_core::avp::AvpHeaders;
use diameter_core::generated::base::avp as base;
use diameter_core::generated::doic::{
    OcOlr, OcOlrView, OcReportType, OcSupportedFeatures, OcSupportedFeaturesView, avp,
};
use diameter_core::writer::AvpWriter;
use diameter_core::{AvpRef, Message};

/// OLR_DEFAULT_ALGO (§7.2): the loss algorithm of §6, which every DOIC node supports.
pub const OLR_DEFAULT_ALGO: u64 = 0x1;

/// OC-Validity-Duration when the OC-OLR has none, or one above the maximum (§7.5).
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(30);

/// The largest OC-Validity-Duration (§7.5: 86,400 s).
pub const MAX_VALIDITY: Duration = Duration::from_secs(86_400);

/// Overload control states kept at most by a reacting node.
pub(crate) const MAX_STATES: usize = 1024;

/// An overload report (OC-OLR, §7.3) as the loss algorithm reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverloadReport {
    /// OC-Sequence-Number (§7.4): increases with every change of the report.
    pub sequence: u64,
    /// OC-Report-Type (§7.6): HOST_REPORT or REALM_REPORT.
    pub report_type: OcReportType,
    /// OC-Reduction-Percentage (§7.7), 0..=100.
    pub reduction: u32,
    /// OC-Validity-Duration (§7.5), after the default and the maximum are applied; zero
    /// ends the overload condition.
    pub validity: Duration,
}

impl OverloadReport {
    /// Whether this report ends the overload condition (validity or reduction 0).
    pub fn ends_overload(&self) -> bool {
        self.validity.is_zero() || self.reduction == 0
    }

    /// Appends the OC-OLR AVP (the generated writer: the dictionary's codes and flags).
    pub fn encode(&self, buf: &mut BytesMut) {
        let secs = u32::try_from(self.validity.as_secs()).unwrap_or(u32::MAX);
        AvpWriter::new(buf).group::<OcOlr>(0, false, |w| {
            w.oc_sequence_number(self.sequence)
                .oc_report_type(self.report_type)
                .oc_reduction_percentage(self.reduction)
                .oc_validity_duration(secs);
        });
    }
}

/// Appends OC-Supported-Features { OC-Feature-Vector = OLR_DEFAULT_ALGO }: what a
/// reacting node announces and a reporting node selects. No M bit (the dictionary's
/// flags: RFC 7683 §7.8 does not require it, so that nodes without DOIC ignore the AVP).
pub(crate) fn put_supported_features_loss(buf: &mut BytesMut) {
    AvpWriter::new(buf).group::<OcSupportedFeatures>(0, false, |w| {
        w.oc_feature_vector(OLR_DEFAULT_ALGO);
    });
}

/// Reads an OC-OLR AVP. `None` — the OLR is ignored — when it does not decode (does not
/// frame, misses OC-Sequence-Number or OC-Report-Type, the fixed members of §7.3, has a
/// member twice or of the wrong size), misses OC-Reduction-Percentage (which the loss
/// algorithm needs, §6.2), has a report type other than HOST_REPORT and REALM_REPORT, or
/// a reduction above 100 (§7.7). Members outside the ABNF (the `*[ AVP ]` of §7.3) belong
/// to extensions we do not know and are skipped.
pub(crate) fn parse_olr(olr: &AvpRef<'_>) -> Option<OverloadReport> {
    let view = OcOlrView::decode(olr).ok()?;
    let report_type = view.oc_report_type();
    if report_type != OcReportType::HOST_REPORT && report_type != OcReportType::REALM_REPORT {
        return None;
    }
    let reduction = view.oc_reduction_percentage()?;
    if reduction > 100 {
        return None;
    }
    let validity = match view
        .oc_validity_duration()
        .map(|s| Duration::from_secs(s.into()))
    {
        None => DEFAULT_VALIDITY,
        Some(v) if v > MAX_VALIDITY => DEFAULT_VALIDITY,
        Some(v) => v,
    };
    Some(OverloadReport {
        sequence: view.oc_sequence_number(),
        report_type,
        reduction,
        validity,
    })
}

/// The features announced by an OC-Supported-Features AVP: its OC-Feature-Vector, or
/// OLR_DEFAULT_ALGO when it has none (§7.2). `None` when the AVP does not decode.
pub(crate) fn feature_vector(features: &AvpRef<'_>) -> Option<u64> {
    let view = OcSupportedFeaturesView::decode(features).ok()?;
    Some(view.oc_feature_vector().unwrap_or(OLR_DEFAULT_ALGO))
}

/// Whether an encoded message has a top-level OC-Supported-Features: a walk over the AVP
/// headers alone (the answers the node writes, once per answer).
pub(crate) fn has_supported_features(message: &[u8]) -> bool {
    AvpHeaders::message(message).any(|(key, _)| key == avp::OC_SUPPORTED_FEATURES)
}

/// The DOIC AVPs of an answer, found in one walk over its top-level AVPs.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnswerAvps<'a> {
    /// OC-Supported-Features.
    pub features: Option<AvpRef<'a>>,
    /// OC-OLR.
    pub olr: Option<AvpRef<'a>>,
    /// Origin-Host (the reporting host of a HOST_REPORT).
    pub origin_host: Option<&'a str>,
    /// Origin-Realm (the reporting realm of a REALM_REPORT).
    pub origin_realm: Option<&'a str>,
}

impl<'a> AnswerAvps<'a> {
    /// Walks the answer's AVPs once.
    pub fn of(answer: &'a Message) -> Self {
        let mut out = Self::default();
        for a in answer.avps() {
            let Ok(a) = a else { break };
            let key = a.key();
            if key == avp::OC_SUPPORTED_FEATURES {
                out.features.get_or_insert(a);
            } else if key == avp::OC_OLR {
                out.olr.get_or_insert(a);
            } else if key == base::ORIGIN_HOST {
                out.origin_host = out.origin_host.or_else(|| text(&a));
            } else if key == base::ORIGIN_REALM {
                out.origin_realm = out.origin_realm.or_else(|| text(&a));
            }
        }
        out
    }

    /// The overload report to act on, if any: present, well formed, and interpreted
    /// under the loss algorithm, the one the answer's OC-Supported-Features selected
    /// (absent OC-Feature-Vector: loss, §7.2). Without OC-Supported-Features the answer
    /// selected no algorithm, and its OLR cannot be interpreted.
    pub fn report(&self) -> Option<OverloadReport> {
        let olr = self.olr.as_ref()?;
        let vector = feature_vector(self.features.as_ref()?)?;
        if vector & OLR_DEFAULT_ALGO == 0 {
            return None;
        }
        parse_olr(olr)
    }
}

pub(crate) fn text<'a>(a: &AvpRef<'a>) -> Option<&'a str> {
    std::str::from_utf8(a.data).ok()
}

/// Whether a request asks for DOIC with the loss algorithm: OC-Supported-Features present,
/// with OLR_DEFAULT_ALGO or without OC-Feature-Vector (§7.2).
pub(crate) fn requests_loss(request: &Message) -> bool {
    request
        .find(avp::OC_SUPPORTED_FEATURES)
        .and_then(|f| feature_vector(&f))
        .is_some_and(|v| v & OLR_DEFAULT_ALGO != 0)
}
