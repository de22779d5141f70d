//! Result-Code values (RFC 6733 §7.1) and vendors' Experimental-Result-Code values (§7.6,
//! §7.7).
//!
//! [`ResultCode`] is a newtype over the wire value so that codes from other specifications
//! (RFC 8506's 4012, say) round-trip unchanged. Its associated constants
//! (`ResultCode::DIAMETER_SUCCESS`, ...) are RFC 6733's, generated from
//! `dictionaries/base.xml`; every dictionary module has a `result_code` module with the
//! values of its specification, e.g.
//! `generated::credit_control::result_code::DIAMETER_CREDIT_LIMIT_REACHED` (a [`ResultCode`])
//! or `generated::ts29272::result_code::DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION` (an
//! [`ExperimentalResultCode`] of 3GPP, vendor 10415). [`name_of`] names either kind.

use crate::typed::AnswerResult;

/// A Result-Code (AVP 268) value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResultCode(pub u32);

impl ResultCode {
    /// 1xxx: informational.
    pub fn is_informational(self) -> bool {
        (1000..2000).contains(&self.0)
    }
    /// 2xxx: success.
    pub fn is_success(self) -> bool {
        (2000..3000).contains(&self.0)
    }
    /// 3xxx: protocol error (answer carries the E bit).
    pub fn is_protocol_error(self) -> bool {
        (3000..4000).contains(&self.0)
    }
    /// 4xxx: transient failure.
    pub fn is_transient_failure(self) -> bool {
        (4000..5000).contains(&self.0)
    }
    /// 5xxx: permanent failure.
    pub fn is_permanent_failure(self) -> bool {
        (5000..6000).contains(&self.0)
    }

    /// The specification's name of the code, from the compiled-in and registered
    /// dictionaries: RFC 6733's always, others (RFC 8506's 4012
    /// `DIAMETER_CREDIT_LIMIT_REACHED`, ...) when their dictionary is compiled in.
    pub fn name(self) -> Option<&'static str> {
        crate::dictionary::result_code_name(self.0)
    }
}

impl std::fmt::Debug for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "ResultCode({})", self.0),
        }
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl From<ResultCode> for u32 {
    fn from(r: ResultCode) -> u32 {
        r.0
    }
}

/// A vendor's Experimental-Result-Code value (RFC 6733 §7.7): what an Experimental-Result
/// AVP (§7.6) carries, its Vendor-Id and Experimental-Result-Code. 3GPP's are vendor 10415,
/// e.g. `generated::ts29272::result_code::DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExperimentalResultCode {
    /// Vendor-Id: the vendor that assigned the code.
    pub vendor_id: u32,
    /// Experimental-Result-Code.
    pub code: u32,
}

impl ExperimentalResultCode {
    /// Vendor `vendor_id`'s code `code`.
    pub const fn new(vendor_id: u32, code: u32) -> Self {
        Self { vendor_id, code }
    }

    /// 2xxx: success (vendors follow RFC 6733's classes, e.g. 3GPP TS 29.230 §8.1).
    pub fn is_success(self) -> bool {
        (2000..3000).contains(&self.code)
    }

    /// The specification's name of the code, from the compiled-in and registered
    /// dictionaries (TS 29.272's when it is compiled in, and so on).
    pub fn name(self) -> Option<&'static str> {
        crate::dictionary::experimental_result_code_name(self.vendor_id, self.code)
    }
}

impl std::fmt::Debug for ExperimentalResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name().unwrap_or("ExperimentalResultCode");
        write!(f, "{name}({}, vendor {})", self.code, self.vendor_id)
    }
}

impl std::fmt::Display for ExperimentalResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} {n} (vendor {})", self.code, self.vendor_id),
            None => write!(f, "{} (vendor {})", self.code, self.vendor_id),
        }
    }
}

impl From<ExperimentalResultCode> for AnswerResult {
    fn from(e: ExperimentalResultCode) -> Self {
        Self::Experimental {
            vendor_id: e.vendor_id,
            code: e.code,
        }
    }
}

impl TryFrom<AnswerResult> for ExperimentalResultCode {
    /// The result itself, when it is a Result-Code.
    type Error = AnswerResult;

    fn try_from(r: AnswerResult) -> Result<Self, AnswerResult> {
        match r {
            AnswerResult::Experimental { vendor_id, code } => Ok(Self { vendor_id, code }),
            other => Err(other),
        }
    }
}

impl PartialEq<ExperimentalResultCode> for AnswerResult {
    fn eq(&self, other: &ExperimentalResultCode) -> bool {
        *self == AnswerResult::from(*other)
    }
}

impl PartialEq<ResultCode> for AnswerResult {
    fn eq(&self, other: &ResultCode) -> bool {
        *self == AnswerResult::Code(*other)
    }
}

/// The specification's name of an answer's result, from the compiled-in and registered
/// dictionaries: a Result-Code by value, an Experimental-Result-Code by (vendor, value).
///
/// ```
/// use diameter_core::{ResultCode, result_code::name_of, typed::AnswerResult};
/// assert_eq!(name_of(AnswerResult::Code(ResultCode(2001))), Some("DIAMETER_SUCCESS"));
/// // An Experimental-Result-Code is named only together with its vendor.
/// assert_eq!(name_of(AnswerResult::Experimental { vendor_id: 0, code: 2001 }), None);
/// ```
pub fn name_of(result: AnswerResult) -> Option<&'static str> {
    match result {
        AnswerResult::Code(c) => c.name(),
        AnswerResult::Experimental { vendor_id, code } => {
            crate::dictionary::experimental_result_code_name(vendor_id, code)
        }
    }
}
