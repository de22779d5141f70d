//! Validation of a message against its command's ABNF and the AVP definitions
//! (RFC 6733 §3.2, §4.1, §7.1), giving the Result-Code and Failed-AVP to answer with.
//!
//! What is checked, in message order: AVP framing at every depth (5014), reserved AVP flag
//! bits and the V bit with Vendor-ID 0 (3009), unknown AVPs with the M bit (5001), AVPs the
//! ABNF does not allow (5008), too many occurrences (5009), fixed AVPs out of place (5008),
//! data that does not fit the type (5004/5014), Grouped AVPs nested deeper than the limit
//! (5012), then missing required AVPs (5005). Commands and AVPs not in the compiled-in
//! dictionaries are not judged beyond framing and the M bit.
//!
//! Values the dictionary constrains beyond their type (5004 with the AVP in Failed-AVP):
//!
//! - DiameterIdentity (§4.3.1: an FQDN or realm, in ASCII): one or more of the letters,
//!   digits, `-`, `.` and `_` (the underscore, which DNS names do not allow, is tolerated:
//!   it occurs in deployed host names). A space, a control character or a non-ASCII byte
//!   is refused.
//! - Enumerated: an IETF AVP (Vendor-ID 0) received with the M bit must hold one of the
//!   values its dictionary lists (§4.1: an M-bit AVP whose value is not recognised makes
//!   the message rejected). IETF value sets are IANA registries, transcribed whole in
//!   `dictionaries/`. Vendor AVPs (3GPP and others) are not checked: their specifications
//!   add values release after release, and a dictionary holds one release; AVPs without
//!   the M bit may be ignored (§4.1), and those whose dictionary lists no value are not
//!   checked either.
//! - Host-IP-Address (§5.3.5, the sender's IP address, in CER and CEA): IPv4 or IPv6 only.
//!
//! These rules are the tolerant reading of what RFC 6733 requires. Beyond them, the
//! context's [`Policy`](crate::Policy) decides about deviations inside Grouped AVPs ([`crate::policy`]):
//! [`validate`] is strict; [`validate_counting`] under [`Policy::Tolerant`](crate::Policy::Tolerant) accepts them and
//! counts them. The members of Failed-AVP (§7.5) are checked for framing only: they are, by
//! definition, the AVPs that were found wrong.

use crate::avp::{AvpFlags, AvpIter, AvpKey, AvpRef};
use crate::data::{Address, AvpData, DecodeCx, DiameterUri, Time};
use crate::dictionary::{self, AvpType, Rule, RuleKind, UNBOUNDED};
use crate::error::{DecodeError, ErrorKind};
use crate::message::Message;
use crate::message::codes;
use crate::policy::Deviations;
use crate::typed::missing;

mod rule_index;

/// Validates a decoded message, strictly. `Ok` means a handler may trust the ABNF.
pub fn validate(msg: &Message) -> Result<(), DecodeError> {
    validate_with(msg, DecodeCx::default())
}

/// Validates with an explicit nesting limit and policy (deviations a tolerant policy
/// accepts are not reported: see [`validate_counting`]).
pub fn validate_with(msg: &Message, cx: DecodeCx) -> Result<(), DecodeError> {
    validate_counting(msg, cx).map(drop)
}

/// Validates, and counts the deviations the context's policy accepted (none under
/// [`Policy::Strict`](crate::Policy::Strict), which refuses them).
pub fn validate_counting(msg: &Message, cx: DecodeCx) -> Result<Deviations, DecodeError> {
    let rules = if !msg.is_request() && msg.header().flags.is_error() {
        // §7.2: an answer with the E bit follows the answer-message ABNF.
        Some(ANSWER_MESSAGE)
    } else {
        dictionary::command(msg.code(), msg.application_id()).map(|c| c.rules(msg.is_request()))
    };
    let mut dev = Deviations::default();
    check_list(
        msg.avps(),
        rules,
        cx,
        msg.header().length as usize,
        &mut dev,
    )?;
    Ok(dev)
}

/// `Ok` (and counted) when the policy accepts `e`, found in `avp` of a list at `cx`'s depth.
#[cold]
fn deviation(
    cx: DecodeCx,
    mandatory: bool,
    e: DecodeError,
    dev: &mut Deviations,
) -> Result<(), DecodeError> {
    if cx
        .policy()
        .tolerates(&e.kind, usize::from(cx.depth()), mandatory)
    {
        dev.record(e);
        Ok(())
    } else {
        Err(e)
    }
}

const fn rule(kind: RuleKind, code: u32, min: u32, max: u32) -> Rule {
    Rule {
        kind,
        avp: Some(AvpKey::new(code, 0)),
        min,
        max,
    }
}

/// RFC 6733 §7.2 `<answer-message>`: what every answer with the E bit carries.
const ANSWER_MESSAGE: &[Rule] = &[
    rule(RuleKind::Optional, 263, 0, 1), // 0*1< Session-Id > (position not enforced)
    rule(RuleKind::Required, 264, 1, 1), // { Origin-Host }
    rule(RuleKind::Required, 296, 1, 1), // { Origin-Realm }
    rule(RuleKind::Required, 268, 1, 1), // { Result-Code }
    rule(RuleKind::Optional, 278, 0, 1), // [ Origin-State-Id ]
    rule(RuleKind::Optional, 281, 0, 1), // [ Error-Message ]
    rule(RuleKind::Optional, 294, 0, 1), // [ Error-Reporting-Host ]
    rule(RuleKind::Optional, 279, 0, 1), // [ Failed-AVP ]
    rule(RuleKind::Optional, 297, 0, 1), // [ Experimental-Result ]
    rule(RuleKind::Optional, 284, 0, UNBOUNDED), // * [ Proxy-Info ]
    Rule {
        kind: RuleKind::Optional,
        avp: None,
        min: 0,
        max: UNBOUNDED,
    }, // * [ AVP ]
];

/// Checks a list of AVPs (a message body or Grouped data) against `rules`, or only the
/// AVPs themselves when the rules are unknown.
fn check_list(
    avps: AvpIter<'_>,
    rules: Option<&'static [Rule]>,
    cx: DecodeCx,
    end_offset: usize,
    dev: &mut Deviations,
) -> Result<(), DecodeError> {
    // Occurrence counts per rule, on the stack and only as many zeroed as the list is
    // long, within reason: most lists are short (PS-Information, the longest of the 3GPP
    // lists, has 74 rules).
    match rules {
        None => check_counted(avps, None, &mut [], cx, end_offset, dev),
        Some(r) if r.len() <= 24 => {
            check_counted(avps, rules, &mut [0u32; 24][..r.len()], cx, end_offset, dev)
        }
        Some(r) if r.len() <= 96 => {
            check_counted(avps, rules, &mut [0u32; 96][..r.len()], cx, end_offset, dev)
        }
        Some(r) => check_counted(avps, rules, &mut vec![0; r.len()], cx, end_offset, dev),
    }
}

/// [`check_list`] with zeroed `counts`, one per rule.
fn check_counted(
    avps: AvpIter<'_>,
    rules: Option<&'static [Rule]>,
    counts: &mut [u32],
    cx: DecodeCx,
    end_offset: usize,
    dev: &mut Deviations,
) -> Result<(), DecodeError> {
    // Whether the rules have a `*[ AVP ]` slot: looked up only for an AVP no rule names.
    let mut any_slot = None;
    // The rules, indexed: which rule names an AVP, and how many have a minimum.
    let index = rules.map(rule_index::index_of);
    // Where a scan for the next AVP's rule starts (AVPs mostly come in rule order).
    let mut next_rule = 0;
    // Rules with a minimum whose count reached it: when that is all of them (the common
    // case), no pass over the rules is needed at the end.
    let mut met = 0u32;
    let mut avps = avps;
    let mut position = 0;
    loop {
        let avp = match avps.next_framed() {
            Some(avp) => avp,
            // The end, or an AVP that does not frame: the iterator tells which.
            None => match avps.next() {
                None => break,
                Some(r) => r?,
            },
        };
        let this = position;
        position += 1;
        // Reserved bits, or V with Vendor-ID 0 (no vendor: the V bit says a Vendor-ID
        // follows, and 0 is none, §4.1). One test for the common case (neither bit).
        if avp.flags.0 & (AvpFlags::RESERVED | AvpFlags::VENDOR) != 0
            && (avp.flags.0 & AvpFlags::RESERVED != 0 || avp.vendor == 0)
        {
            return Err(avp.error(ErrorKind::InvalidAvpBits(avp.flags.0)));
        }
        let key = avp.key();
        let def = dictionary::avp(key);
        if def.is_none() && avp.flags.is_mandatory() {
            return Err(avp.error(ErrorKind::UnsupportedMandatoryAvp(key)));
        }
        if let Some(index) = index {
            let rules = index.rules();
            match index.find(key, next_rule) {
                Some(i) => {
                    next_rule = i + 1;
                    counts[i] += 1;
                    let rule = &rules[i];
                    if counts[i] == rule.min {
                        met += 1;
                    }
                    let m = avp.flags.is_mandatory();
                    if rule.max != UNBOUNDED && counts[i] > rule.max {
                        deviation(cx, m, avp.error(ErrorKind::TooManyAvps(key)), dev)?;
                    }
                    if rule.kind == RuleKind::Fixed && i != this {
                        deviation(cx, m, avp.error(ErrorKind::FixedAvpOutOfPlace(key)), dev)?;
                    }
                }
                None if def.is_none()
                    || *any_slot.get_or_insert_with(|| rules.iter().any(|r| r.avp.is_none())) => {}
                None => deviation(
                    cx,
                    avp.flags.is_mandatory(),
                    avp.error(ErrorKind::AvpNotAllowed(key)),
                    dev,
                )?,
            }
        }
        if let Some(def) = def {
            if let Err(e) = check_value(&avp, def, cx, dev) {
                deviation(cx, avp.flags.is_mandatory(), e, dev)?;
            }
        }
    }
    match index {
        Some(index) if met != index.required => {
            match missing_required(index.rules(), counts, end_offset) {
                Ok(()) => Ok(()),
                Err(e) => deviation(cx, true, e, dev),
            }
        }
        _ => Ok(()),
    }
}

/// The first rule whose minimum was not reached: 5005 with the missing AVP (§7.5).
#[cold]
fn missing_required(rules: &[Rule], counts: &[u32], end_offset: usize) -> Result<(), DecodeError> {
    for (rule, count) in rules.iter().zip(counts.iter()) {
        if let (Some(key), true) = (rule.avp, *count < rule.min) {
            let (ty, flags) = dictionary::avp(key)
                .map_or((AvpType::OctetString, AvpFlags::default()), |d| {
                    (d.ty, d.default_flags())
                });
            return Err(missing(key, ty, flags, end_offset));
        }
    }
    Ok(())
}

/// Checks one AVP's data against its type (and, for Grouped, its members' rules).
fn check_value(
    avp: &AvpRef<'_>,
    def: &dictionary::AvpDef,
    cx: DecodeCx,
    dev: &mut Deviations,
) -> Result<(), DecodeError> {
    match def.ty {
        AvpType::Grouped => {
            // Too deep: an error about this AVP itself. Its members' errors are inside it.
            let inner = cx.enter(avp)?;
            let members = if def.code == codes::FAILED_AVP && def.vendor == 0 {
                check_framing(avp.children())
            } else {
                let rules = (!def.grouped.is_empty()).then_some(def.grouped);
                check_list(avp.children(), rules, inner, avp.offset, dev)
            };
            members.map_err(|e| {
                if e.avp.is_some() {
                    e.within(def.key())
                } else {
                    e
                }
            })
        }
        AvpType::Enumerated => {
            let v = i32::decode(avp, cx)?;
            if avp.flags.is_mandatory()
                && def.vendor == 0
                && !def.enums.is_empty()
                && def.enum_name(v).is_none()
            {
                return Err(avp.error(ErrorKind::InvalidAvpValue(
                    "value not defined for this Enumerated AVP (M bit set)",
                )));
            }
            Ok(())
        }
        AvpType::Integer32 => i32::decode(avp, cx).map(drop),
        AvpType::Unsigned32 => u32::decode(avp, cx).map(drop),
        AvpType::Integer64 => i64::decode(avp, cx).map(drop),
        AvpType::Unsigned64 => u64::decode(avp, cx).map(drop),
        AvpType::Float32 => f32::decode(avp, cx).map(drop),
        AvpType::Float64 => f64::decode(avp, cx).map(drop),
        AvpType::Time => Time::decode(avp, cx).map(drop),
        AvpType::Address => {
            let a = Address::decode(avp, cx)?;
            if def.code == HOST_IP_ADDRESS && def.vendor == 0 && a.ip().is_none() {
                return Err(avp.error(ErrorKind::InvalidAvpValue(
                    "Host-IP-Address of an address family other than IPv4 or IPv6",
                )));
            }
            Ok(())
        }
        AvpType::DiameterIdentity => {
            if !is_diameter_identity(avp.data) {
                return Err(avp.error(ErrorKind::InvalidAvpValue(
                    "not a DiameterIdentity (FQDN: letters, digits, '-', '.')",
                )));
            }
            Ok(())
        }
        AvpType::UTF8String | AvpType::IPFilterRule | AvpType::QoSFilterRule => {
            if std::str::from_utf8(avp.data).is_err() {
                return Err(avp.error(ErrorKind::InvalidAvpValue("not valid UTF-8")));
            }
            Ok(())
        }
        AvpType::DiameterURI => DiameterUri::decode(avp, cx).map(drop),
        AvpType::OctetString => Ok(()),
    }
}

/// Host-IP-Address (RFC 6733 §5.3.5).
const HOST_IP_ADDRESS: u32 = 257;

/// Only the framing of a list of AVPs (the members of Failed-AVP).
fn check_framing(mut avps: AvpIter<'_>) -> Result<(), DecodeError> {
    while avps.next_framed().is_some() {}
    avps.finish()
}

/// The bytes a DiameterIdentity may hold: ASCII letters, digits, `-`, `.`, and `_`.
static IDENTITY_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_';
        c += 1;
    }
    t
};

/// Whether `data` is a DiameterIdentity as the module documentation says: not empty, and
/// only the bytes `IDENTITY_BYTES` allows (which are ASCII, so the text is valid UTF-8 too).
#[inline]
pub fn is_diameter_identity(data: &[u8]) -> bool {
    // No early exit: a branch-free pass over a short name is cheaper than a branch per byte.
    !data.is_empty()
        && data
            .iter()
            .fold(true, |ok, &b| ok & IDENTITY_BYTES[usize::from(b)])
}
