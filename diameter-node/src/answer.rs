//! Building answers (RFC 6733 §6.2, §7): the python-diameter `generate_answer` helper, and
//! the protocol-error answers the node sends by itself (§7.1.3 with the E bit, §7.5
//! Failed-AVP), including answers to messages that did not decode.

use bytes::Bytes;
use diameter_core::avp::AvpIter;
use diameter_core::generated::base::avp;
use diameter_core::header::HEADER_LEN;
use diameter_core::{AvpFlags, DecodeError, DiameterIdentity, Message, MessageBuilder, Utf8String};

use crate::framing::RawHeader;
use crate::peer::LocalCapabilities;

const M: AvpFlags = AvpFlags(AvpFlags::MANDATORY);

/// The answer to `request` with `result_code` (python-diameter's `generate_answer`):
/// same identifiers, command and application; Session-Id and Proxy-Info copied (§6.2);
/// Result-Code (E bit for 3xxx), Origin-Host and Origin-Realm of `local`; the request's
/// Auth-Application-Id / Acct-Application-Id copied. The caller appends its own AVPs.
pub fn generate_answer(
    request: &Message,
    local: &LocalCapabilities,
    result_code: u32,
) -> MessageBuilder {
    let mut b = request.to_answer();
    b.result_code(result_code);
    add_origin(&mut b, local);
    for key in [avp::AUTH_APPLICATION_ID, avp::ACCT_APPLICATION_ID] {
        if let Some(a) = request.find(key) {
            b.raw_ref(&a);
        }
    }
    b
}

/// An error answer for a decode or validation error of `request` (§7.1, §7.5): the
/// error's Result-Code and Failed-AVP, an Error-Message with the reason.
pub fn error_answer(request: &Message, local: &LocalCapabilities, err: &DecodeError) -> Message {
    let mut b = request.to_answer();
    b.result_code(err.result_code());
    add_origin(&mut b, local);
    b.avp(
        avp::ERROR_MESSAGE.code,
        0,
        AvpFlags::default(),
        &Utf8String::from(err.to_string()),
    );
    if let Some(f) = err.failed_avp() {
        b.failed_avp(f);
    }
    b.build()
}

/// An error answer to a message that did not decode (bad header bits, version, length, or
/// broken AVP framing). `None` when `raw` is not a request or has no complete header.
pub fn raw_error_answer(
    raw: &Bytes,
    local: &LocalCapabilities,
    result_code: u32,
    failed_avp: Option<&Bytes>,
) -> Option<Message> {
    let header = RawHeader::parse(raw)?;
    if !header.flags.is_request() {
        return None;
    }
    let mut b = MessageBuilder::new(header.answer_header(result_code));
    // Session-Id, if it can be found before the damage.
    let end = raw
        .len()
        .min(diameter_core::Header::peek_length(raw).map_or(HEADER_LEN, |l| l as usize));
    if let Some(s) = AvpIter::within(raw, HEADER_LEN, end)
        .map_while(Result::ok)
        .find(|a| a.key() == avp::SESSION_ID)
    {
        b.raw_ref(&s);
    }
    b.result_code(result_code);
    add_origin(&mut b, local);
    if let Some(f) = failed_avp {
        b.failed_avp(f);
    }
    Some(b.build())
}

fn add_origin(b: &mut MessageBuilder, local: &LocalCapabilities) {
    b.avp(
        avp::ORIGIN_HOST.code,
        0,
        M,
        &DiameterIdentity::from(local.origin_host.as_str()),
    );
    b.avp(
        avp::ORIGIN_REALM.code,
        0,
        M,
        &DiameterIdentity::from(local.origin_realm.as_str()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::MessageBuilder;

    fn local() -> LocalCapabilities {
        LocalCapabilities::new("server.example.org", "example.org")
    }

    fn request() -> Message {
        let mut b = MessageBuilder::request(272, 4, true);
        b.header_mut().hop_by_hop = 7;
        b.header_mut().end_to_end = 8;
        b.add(avp::SESSION_ID, &Utf8String::from("c;1;2"));
        b.add(avp::AUTH_APPLICATION_ID, &4u32);
        b.build()
    }

    #[test]
    fn generate_answer_fills_identity() {
        let a = generate_answer(&request(), &local(), 2001).build();
        assert!(!a.is_request());
        assert_eq!((a.header().hop_by_hop, a.header().end_to_end), (7, 8));
        assert_eq!(a.session_id(), Some("c;1;2"));
        assert_eq!(a.result_code(), Some(2001));
        assert_eq!(
            a.find(avp::ORIGIN_HOST).unwrap().data,
            b"server.example.org"
        );
        assert!(a.find(avp::AUTH_APPLICATION_ID).is_some());
        let e = generate_answer(&request(), &local(), 3001).build();
        assert!(e.header().flags.is_error());
    }

    #[test]
    fn raw_error_answer_for_undecodable_request() {
        let mut bytes = request().into_bytes().to_vec();
        bytes[4] |= 0x20; // E bit on a request
        let raw = Bytes::from(bytes);
        let a = raw_error_answer(&raw, &local(), 3008, None).unwrap();
        assert!(a.header().flags.is_error() && !a.is_request());
        assert_eq!(a.session_id(), Some("c;1;2"));
        assert_eq!(a.result_code(), Some(3008));
        assert_eq!(a.header().hop_by_hop, 7);
    }
}
