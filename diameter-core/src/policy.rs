//! How strictly a received message is judged.
//!
//! RFC 6733's rules for the message itself hold under every policy: the header, every AVP
//! Length at every depth (5014), reserved AVP flag bits (3009), unknown AVPs with the M bit
//! at any depth (5001), nesting (5012), and the ABNF of the command: its required AVPs
//! (5005), AVPs it does not allow (5008), occurrence counts (5009) and the values of AVPs
//! with the M bit (5004).
//!
//! Real networks deviate inside Grouped AVPs: a Supported-Features without its Vendor-Id, a
//! Redirect-Support inside Redirect-Server, three Flow-Descriptions where the ABNF allows
//! two, a DiameterURI that does not parse inside a member nobody reads. A node that answers
//! such requests with 5xxx cannot talk to the networks that send them, and freeDiameter
//! accepts them. [`Policy::Tolerant`] accepts them and counts them ([`Deviations`]);
//! [`Policy::Strict`] answers what RFC 6733 §7 prescribes.
//!
//! What the tolerant policy accepts, precisely ([`Policy::tolerates`]):
//! - inside a Grouped AVP: a missing required member, a member its ABNF does not allow, too
//!   many occurrences, a fixed member out of place, and a value that does not fit its type;
//! - at the message level: a value that does not fit its type in an AVP without the M bit
//!   (§4.1: such an AVP may be ignored).
//!
//! Typed decoding under the tolerant policy keeps what it can: the first occurrence of a
//! member that occurs too often, no value for a member that is missing or does not decode
//! (the field's default, or `None`); the AVPs themselves stay in the message.

use crate::error::{DecodeError, ErrorKind};

/// How strictly received messages are judged (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Every deviation from the dictionary is refused with RFC 6733's Result-Code.
    #[default]
    Strict,
    /// Deviations inside Grouped AVPs (and bad values of AVPs without the M bit) are
    /// accepted and counted.
    Tolerant,
}

impl Policy {
    /// Whether an error of this kind, found at nesting `depth` (0: an AVP of the message
    /// itself) in an AVP with or without the M bit, is a deviation this policy accepts.
    pub fn tolerates(self, kind: &ErrorKind, depth: usize, mandatory: bool) -> bool {
        if self == Policy::Strict {
            return false;
        }
        match kind {
            ErrorKind::MissingAvp(_)
            | ErrorKind::TooManyAvps(_)
            | ErrorKind::AvpNotAllowed(_)
            | ErrorKind::FixedAvpOutOfPlace(_) => depth > 0,
            ErrorKind::InvalidAvpValue(_) | ErrorKind::InvalidDataLength { .. } => {
                depth > 0 || !mandatory
            }
            _ => false,
        }
    }
}

/// The deviations a tolerant validation accepted in one message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deviations {
    /// How many.
    pub count: u32,
    /// The first, as the strict policy would have refused it (Result-Code, Failed-AVP).
    pub first: Option<DecodeError>,
}

impl Deviations {
    /// No deviation.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(crate) fn record(&mut self, e: DecodeError) {
        self.count = self.count.saturating_add(1);
        if self.first.is_none() {
            self.first = Some(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AvpKey;

    #[test]
    fn the_message_level_stays_strict() {
        let missing = ErrorKind::MissingAvp(AvpKey::new(266, 0));
        assert!(Policy::Tolerant.tolerates(&missing, 1, true));
        assert!(!Policy::Tolerant.tolerates(&missing, 0, true));
        assert!(!Policy::Strict.tolerates(&missing, 1, true));
        let value = ErrorKind::InvalidAvpValue("bad");
        assert!(Policy::Tolerant.tolerates(&value, 0, false));
        assert!(!Policy::Tolerant.tolerates(&value, 0, true));
        // Framing and the M bit are never a matter of policy.
        let m = ErrorKind::UnsupportedMandatoryAvp(AvpKey::new(9999, 0));
        assert!(!Policy::Tolerant.tolerates(&m, 3, true));
        assert!(!Policy::Tolerant.tolerates(&ErrorKind::InvalidPadding, 3, false));
    }
}
