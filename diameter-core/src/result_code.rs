//! Result-Code values, RFC 6733 §7.1.
//!
//! A newtype over the wire value so that codes from other specifications (RFC 4006's 4010,
//! 3GPP's Experimental-Result-Codes) round-trip unchanged; the constants name the RFC 6733
//! ones.

macro_rules! result_codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl ResultCode {
            $($(#[$doc])* pub const $name: Self = Self($value);)*

            /// The RFC name of a known code.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

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

result_codes! {
    /// §7.1.1: authentication needs another round trip.
    DIAMETER_MULTI_ROUND_AUTH = 1001;
    /// §7.1.2: the request was successfully completed.
    DIAMETER_SUCCESS = 2001;
    /// §7.1.2: completed, but additional processing is required.
    DIAMETER_LIMITED_SUCCESS = 2002;
    /// §7.1.3: the command code is not recognised or supported.
    DIAMETER_COMMAND_UNSUPPORTED = 3001;
    /// §7.1.3: the message could not be delivered.
    DIAMETER_UNABLE_TO_DELIVER = 3002;
    /// §7.1.3: the intended realm was not recognised.
    DIAMETER_REALM_NOT_SERVED = 3003;
    /// §7.1.3: the server is too busy.
    DIAMETER_TOO_BUSY = 3004;
    /// §7.1.3: a routing loop was detected.
    DIAMETER_LOOP_DETECTED = 3005;
    /// §7.1.3: a redirect agent answered with Redirect-Host.
    DIAMETER_REDIRECT_INDICATION = 3006;
    /// §7.1.3: the application is not supported.
    DIAMETER_APPLICATION_UNSUPPORTED = 3007;
    /// §7.1.3: invalid command flag bits.
    DIAMETER_INVALID_HDR_BITS = 3008;
    /// §7.1.3: invalid AVP flag bits.
    DIAMETER_INVALID_AVP_BITS = 3009;
    /// §7.1.3: CER from a peer that is not known.
    DIAMETER_UNKNOWN_PEER = 3010;
    /// §7.1.4: authentication failed.
    DIAMETER_AUTHENTICATION_REJECTED = 4001;
    /// §7.1.4: accounting storage exhausted.
    DIAMETER_OUT_OF_SPACE = 4002;
    /// §7.1.4: lost the election (§5.6.4).
    ELECTION_LOST = 4003;
    /// §7.1.5: an AVP is not supported.
    DIAMETER_AVP_UNSUPPORTED = 5001;
    /// §7.1.5: unknown session.
    DIAMETER_UNKNOWN_SESSION_ID = 5002;
    /// §7.1.5: authorization rejected.
    DIAMETER_AUTHORIZATION_REJECTED = 5003;
    /// §7.1.5: an AVP has an invalid value.
    DIAMETER_INVALID_AVP_VALUE = 5004;
    /// §7.1.5: a required AVP is missing.
    DIAMETER_MISSING_AVP = 5005;
    /// §7.1.5: resources exceeded.
    DIAMETER_RESOURCES_EXCEEDED = 5006;
    /// §7.1.5: contradicting AVPs.
    DIAMETER_CONTRADICTING_AVPS = 5007;
    /// §7.1.5: an AVP that must not be present.
    DIAMETER_AVP_NOT_ALLOWED = 5008;
    /// §7.1.5: an AVP occurs too many times.
    DIAMETER_AVP_OCCURS_TOO_MANY_TIMES = 5009;
    /// §7.1.5: no application in common (CER/CEA).
    DIAMETER_NO_COMMON_APPLICATION = 5010;
    /// §7.1.5: unsupported protocol version.
    DIAMETER_UNSUPPORTED_VERSION = 5011;
    /// §7.1.5: the request could not be processed.
    DIAMETER_UNABLE_TO_COMPLY = 5012;
    /// §7.1.5: a reserved bit is set.
    DIAMETER_INVALID_BIT_IN_HEADER = 5013;
    /// §7.1.5: an AVP has an invalid length.
    DIAMETER_INVALID_AVP_LENGTH = 5014;
    /// §7.1.5: the message has an invalid length.
    DIAMETER_INVALID_MESSAGE_LENGTH = 5015;
    /// §7.1.5: a grouped AVP holds an invalid combination of AVPs.
    DIAMETER_INVALID_AVP_BIT_COMBO = 5016;
    /// §7.1.5: no common security mechanism.
    DIAMETER_NO_COMMON_SECURITY = 5017;
}
