//! Typed decode errors, each mapped to the RFC 6733 §7.1 Result-Code and the Failed-AVP
//! (§7.5) an answer must carry.

use bytes::Bytes;

use crate::avp::AvpKey;
use crate::result_code::ResultCode;

/// What went wrong, without where. See [`DecodeError`] for the position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Fewer bytes than a header or AVP header needs.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// Version field other than 1 (5011).
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// Message Length < 20, not a multiple of 4, or not the buffer's length (5015).
    #[error("invalid message length {0}")]
    InvalidMessageLength(u32),
    /// Message Length above the configured limit.
    #[error("message length {length} above the limit of {max}")]
    MessageTooLarge {
        /// Message Length field.
        length: u32,
        /// Configured maximum.
        max: u32,
    },
    /// E on a request (3008). (Reserved command flag bits are ignored, RFC 6733 §3.)
    #[error("invalid command flags {0:#04x}")]
    InvalidHeaderBits(u8),
    /// AVP Length < 8 (12 with V), or overrunning its parent (5014).
    #[error("invalid AVP length {length}")]
    InvalidAvpLength {
        /// The AVP Length field.
        length: u32,
    },
    /// Padding after an AVP missing at the end of its parent (5014).
    #[error("AVP padding missing")]
    InvalidPadding,
    /// Reserved AVP flag bits set, or the V bit with Vendor-ID 0 (3009).
    #[error("invalid AVP flags {0:#04x}")]
    InvalidAvpBits(u8),
    /// Data that does not fit the AVP's type (5004), or wrong fixed size (5014).
    #[error("invalid value: {0}")]
    InvalidAvpValue(&'static str),
    /// Data of the wrong length for a fixed-size type (5014).
    #[error("invalid data length {have} for {ty}")]
    InvalidDataLength {
        /// Name of the data type.
        ty: &'static str,
        /// Data length found.
        have: usize,
    },
    /// Grouped AVPs nested deeper than the limit ([`crate::DEFAULT_MAX_DEPTH`] unless set
    /// otherwise): 5012 DIAMETER_UNABLE_TO_COMPLY, since the data is well formed and it is
    /// this node that declines to read it. Failed-AVP holds only the header of the AVP one
    /// level too deep (see [`crate::data::DecodeCx::enter`]).
    #[error("Grouped AVPs nested deeper than {0} levels, this node's limit")]
    NestingTooDeep(usize),
    /// A required AVP is absent (5005).
    #[error("missing AVP {0}")]
    MissingAvp(AvpKey),
    /// An AVP appears more often than its rule allows (5009).
    #[error("AVP {0} occurs too many times")]
    TooManyAvps(AvpKey),
    /// An AVP the ABNF does not allow here (5008).
    #[error("AVP {0} not allowed here")]
    AvpNotAllowed(AvpKey),
    /// An unrecognised AVP with the M bit (5001).
    #[error("unsupported AVP {0} with the M bit set")]
    UnsupportedMandatoryAvp(AvpKey),
    /// A fixed AVP (`< AVP >`) out of its position (5008 per §3.2 ordering).
    #[error("AVP {0} out of its fixed position")]
    FixedAvpOutOfPlace(AvpKey),
}

impl ErrorKind {
    /// Attaches a byte offset.
    pub fn at(self, offset: usize) -> DecodeError {
        DecodeError {
            kind: self,
            offset,
            path: Vec::new(),
            avp: None,
        }
    }
}

/// A decode or validation error: what, at which byte offset of the message, inside which
/// AVPs, and the AVP to report in Failed-AVP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset in the message where the problem starts.
    pub offset: usize,
    /// Grouped AVPs enclosing the problem, outermost first.
    pub path: Vec<AvpKey>,
    /// The offending AVP, as it should appear in Failed-AVP (§7.5).
    pub avp: Option<Bytes>,
}

impl std::error::Error for DecodeError {}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at offset {}", self.kind, self.offset)?;
        if !self.path.is_empty() {
            f.write_str(" in ")?;
            // A deep path (only input made to be deep has one) shows its ends: the text
            // goes into Error-Message.
            const ENDS: usize = 2;
            let n = self.path.len();
            for (i, k) in self.path.iter().enumerate() {
                if n > 2 * ENDS + 1 && (ENDS..n - ENDS).contains(&i) {
                    if i == ENDS {
                        write!(f, "/…{} more…", n - 2 * ENDS)?;
                    }
                    continue;
                }
                if i > 0 {
                    f.write_str("/")?;
                }
                write!(f, "{k}")?;
            }
        }
        Ok(())
    }
}

impl DecodeError {
    /// Sets the Failed-AVP payload if none is set yet (the innermost AVP wins).
    pub fn with_avp(mut self, avp: Bytes) -> Self {
        if self.avp.is_none() {
            self.avp = Some(avp);
        }
        self
    }

    /// Prepends an enclosing Grouped AVP to the path.
    pub fn within(mut self, parent: AvpKey) -> Self {
        self.path.insert(0, parent);
        self
    }

    /// The Result-Code an answer to the offending message carries (RFC 6733 §7.1).
    pub fn result_code(&self) -> u32 {
        self.result_code_typed().0
    }

    /// [`Self::result_code`] as a [`ResultCode`].
    pub fn result_code_typed(&self) -> ResultCode {
        match self.kind {
            ErrorKind::UnsupportedVersion(_) => ResultCode::DIAMETER_UNSUPPORTED_VERSION,
            ErrorKind::Truncated { .. }
            | ErrorKind::InvalidMessageLength(_)
            | ErrorKind::MessageTooLarge { .. } => ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH,
            ErrorKind::InvalidHeaderBits(_) => ResultCode::DIAMETER_INVALID_HDR_BITS,
            ErrorKind::InvalidAvpBits(_) => ResultCode::DIAMETER_INVALID_AVP_BITS,
            ErrorKind::InvalidAvpLength { .. }
            | ErrorKind::InvalidPadding
            | ErrorKind::InvalidDataLength { .. } => ResultCode::DIAMETER_INVALID_AVP_LENGTH,
            ErrorKind::NestingTooDeep(_) => ResultCode::DIAMETER_UNABLE_TO_COMPLY,
            ErrorKind::InvalidAvpValue(_) => ResultCode::DIAMETER_INVALID_AVP_VALUE,
            ErrorKind::MissingAvp(_) => ResultCode::DIAMETER_MISSING_AVP,
            ErrorKind::TooManyAvps(_) => ResultCode::DIAMETER_AVP_OCCURS_TOO_MANY_TIMES,
            ErrorKind::AvpNotAllowed(_) | ErrorKind::FixedAvpOutOfPlace(_) => {
                ResultCode::DIAMETER_AVP_NOT_ALLOWED
            }
            ErrorKind::UnsupportedMandatoryAvp(_) => ResultCode::DIAMETER_AVP_UNSUPPORTED,
        }
    }

    /// The encoded AVP to put inside Failed-AVP, if the error concerns one.
    pub fn failed_avp(&self) -> Option<&Bytes> {
        self.avp.as_ref()
    }

    /// Whether the answer must be sent with the E bit (protocol errors, 3xxx).
    pub fn is_protocol_error(&self) -> bool {
        (3000..4000).contains(&self.result_code())
    }
}
