//! Building answers (RFC 6733 §6.2, §7): the python-diameter `generate_answer` helper, and
//! the protocol-error answers the node sends by itself (§7.1.3 with the E bit, §7.5
//! Failed-AVP), including answers to messages that did not decode.

use bytes::Bytes;
use diameter_core::avp::{AvpHeaders, AvpIter, padded};
use diameter_core::generated::base::avp;
use diameter_core::header::HEADER_LEN;
use diameter_core::{
    AvpFlags, CommandFlags, DecodeError, Header, Message, MessageBuilder, ResultCode, Utf8String,
};

use crate::peer::LocalCapabilities;

const M: AvpFlags = AvpFlags(AvpFlags::MANDATORY);

/// The answer to `request` with `result_code` (python-diameter's `generate_answer`):
/// same identifiers, command and application; Session-Id and Proxy-Info copied (§6.2);
/// Result-Code (E bit for 3xxx), Origin-Host and Origin-Realm of `local`; the request's
/// Auth-Application-Id / Acct-Application-Id / Vendor-Specific-Application-Id copied, except
/// in a protocol error (3xxx), which follows §7.2's answer-message: peers that check it
/// strictly (Erlang/OTP's diameter) refuse an M-bit application id there. The caller appends
/// its own AVPs.
pub(crate) fn generate_answer(
    request: &Message,
    local: &LocalCapabilities,
    result_code: u32,
) -> MessageBuilder {
    // One walk over the request finds what the answer copies (the same AVPs, in the same
    // order, as `Message::to_answer` and a `find` for each application id would).
    let bytes = request.as_bytes();
    let mut session: Option<&[u8]> = None;
    let mut auth: Option<&[u8]> = None;
    let mut acct: Option<&[u8]> = None;
    let mut vendor_app: Option<&[u8]> = None;
    let mut proxy_info = false;
    for (key, avp) in AvpHeaders::message(bytes) {
        if key == avp::SESSION_ID {
            session.get_or_insert(avp);
        } else if key == avp::AUTH_APPLICATION_ID {
            auth.get_or_insert(avp);
        } else if key == avp::ACCT_APPLICATION_ID {
            acct.get_or_insert(avp);
        } else if key == avp::VENDOR_SPECIFIC_APPLICATION_ID {
            vendor_app.get_or_insert(avp);
        } else if key == avp::PROXY_INFO {
            proxy_info = true;
        }
    }
    let copied = |a: Option<&[u8]>| a.map_or(0, |a| a.len() + 3);
    let capacity = HEADER_LEN
        + copied(session)
        + copied(auth)
        + copied(acct)
        + copied(vendor_app)
        + 12
        + 2 * 12
        + local.origin_host.len()
        + local.origin_realm.len()
        + 128;
    let h = request.header();
    let mut b = MessageBuilder::with_capacity(
        Header {
            flags: CommandFlags(h.flags.0 & CommandFlags::PROXIABLE),
            length: 0,
            ..*h
        },
        capacity,
    );
    if let Some(s) = session {
        copy_avp(&mut b, s);
    }
    if proxy_info {
        for p in request.find_all(avp::PROXY_INFO) {
            b.raw_ref(&p);
        }
    }
    b.result_code(result_code);
    add_origin(&mut b, local);
    if !ResultCode(result_code).is_protocol_error() {
        // Cx/Dx, Sh, S6a... answers name their application in Vendor-Specific-Application-Id.
        for a in [auth, acct, vendor_app].into_iter().flatten() {
            copy_avp(&mut b, a);
        }
    }
    b
}

/// An answer the node makes by itself (no handler wrote it): [`generate_answer`], then,
/// unless it is a protocol error, the members its command's answer ABNF requires that the
/// request carries too ([`mirror_required`]), then an Error-Message saying why (none when
/// `why` is empty: a Result-Code the application chose).
pub(crate) fn node_answer(
    request: &Message,
    local: &LocalCapabilities,
    result_code: u32,
    why: &str,
) -> MessageBuilder {
    let mut b = generate_answer(request, local, result_code);
    if !ResultCode(result_code).is_protocol_error() {
        mirror_required(&mut b, request);
    }
    if !why.is_empty() {
        add_error_message(&mut b, why);
    }
    b
}

/// Appends the members the answer's ABNF requires that the request carries as well
/// (CC-Request-Type and CC-Request-Number in a CCA, Accounting-Record-Type and -Number in an
/// ACA, Auth-Session-State, ...), so that an answer the node builds by itself, a 5001 or a
/// 3004 without E bit, decodes as its command's answer at the peer (RFC 4006 §3.2: a CCA
/// without them is a 5005 to Erlang/OTP). What [`generate_answer`] writes is left out.
fn mirror_required(b: &mut MessageBuilder, request: &Message) {
    let Some(command) =
        diameter_core::dictionary::command(request.code(), request.application_id())
    else {
        return;
    };
    const WRITTEN: [diameter_core::AvpKey; 8] = [
        avp::SESSION_ID,
        avp::ORIGIN_HOST,
        avp::ORIGIN_REALM,
        avp::RESULT_CODE,
        avp::AUTH_APPLICATION_ID,
        avp::ACCT_APPLICATION_ID,
        avp::VENDOR_SPECIFIC_APPLICATION_ID,
        avp::PROXY_INFO,
    ];
    for rule in command.rules(false).iter().filter(|r| r.min > 0) {
        let Some(key) = rule.avp.filter(|k| !WRITTEN.contains(k)) else {
            continue;
        };
        if let Some(a) = request.find(key) {
            b.raw_ref(&a);
        }
    }
}

fn add_error_message(b: &mut MessageBuilder, why: &str) {
    b.avp(
        avp::ERROR_MESSAGE.code,
        0,
        AvpFlags::default(),
        &Utf8String::from(why),
    );
}

/// Appends an AVP as it was received, with zero padding (what `raw_ref` writes: the
/// header is re-encoded from the same code, flags, length and Vendor-ID).
fn copy_avp(b: &mut MessageBuilder, encoded: &[u8]) {
    b.extend_raw(encoded);
    b.extend_raw(&[0u8; 3][..padded(encoded.len()) - encoded.len()]);
}

/// An error answer for a decode or validation error of `request` (§7.1, §7.5): the
/// error's Result-Code and Failed-AVP, an Error-Message with the reason.
pub(crate) fn error_answer(
    request: &Message,
    local: &LocalCapabilities,
    err: &DecodeError,
) -> Message {
    let mut b = node_answer(request, local, err.result_code(), &err.to_string());
    if let Some(f) = err.failed_avp() {
        b.failed_avp(f);
    }
    b.build()
}

/// The header of the answer to a message read with [`Header::peek`]: R cleared, P kept,
/// E set for protocol errors (3xxx).
pub(crate) fn answer_header(request: &Header, result_code: u32) -> Header {
    let mut flags = CommandFlags(request.flags.0 & CommandFlags::PROXIABLE);
    if ResultCode(result_code).is_protocol_error() {
        flags = flags.with(CommandFlags::ERROR, true);
    }
    Header {
        flags,
        hop_by_hop: request.hop_by_hop,
        end_to_end: request.end_to_end,
        ..Header::new(request.code, request.application_id, flags)
    }
}

/// An error answer to a message that did not decode (bad header bits, version, length, or
/// broken AVP framing). `None` when `raw` is not a request or has no complete header.
pub(crate) fn raw_error_answer(
    raw: &Bytes,
    local: &LocalCapabilities,
    result_code: u32,
    failed_avp: Option<&Bytes>,
) -> Option<Message> {
    let header = Header::peek(raw)?;
    if !header.flags.is_request() {
        return None;
    }
    let mut b = MessageBuilder::new(answer_header(&header, result_code));
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

/// Origin-Host and Origin-Realm, written from the identity's bytes (what
/// `b.add(avp::ORIGIN_HOST, &DiameterIdentity::from(..))` writes, without building values).
fn add_origin(b: &mut MessageBuilder, local: &LocalCapabilities) {
    b.avp_bytes(avp::ORIGIN_HOST, M, local.origin_host.as_bytes());
    b.avp_bytes(avp::ORIGIN_REALM, M, local.origin_realm.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use diameter_core::DiameterIdentity;

    #[test]
    fn answer_header_of_a_raw_request() {
        let mut req = MessageBuilder::request(272, 4, true);
        (req.header_mut().hop_by_hop, req.header_mut().end_to_end) = (7, 9);
        let raw = Header::peek(req.build().as_bytes()).unwrap();
        let h = answer_header(&raw, 3008);
        assert!(h.flags.is_error() && !h.flags.is_request());
        assert_eq!(
            (h.code, h.application_id, h.hop_by_hop, h.end_to_end),
            (272, 4, 7, 9)
        );
        assert!(!answer_header(&raw, 5015).flags.is_error());
    }
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
        // §7.2's answer-message: no application id in a protocol error.
        assert!(e.find(avp::AUTH_APPLICATION_ID).is_none());
    }

    /// The answer as `to_answer` and one `find` per application id build it (no
    /// application id in a protocol error, §7.2).
    fn reference_answer(req: &Message, local: &LocalCapabilities, code: u32) -> Message {
        let mut b = req.to_answer();
        b.result_code(code);
        for (c, v) in [
            (avp::ORIGIN_HOST.code, &local.origin_host),
            (avp::ORIGIN_REALM.code, &local.origin_realm),
        ] {
            b.avp(c, 0, M, &DiameterIdentity::from(v.as_str()));
        }
        if !(3000..4000).contains(&code) {
            for key in [avp::AUTH_APPLICATION_ID, avp::ACCT_APPLICATION_ID] {
                if let Some(a) = req.find(key) {
                    b.raw_ref(&a);
                }
            }
        }
        b.build()
    }

    #[test]
    fn generate_answer_is_byte_identical_to_the_reference() {
        let mut b = MessageBuilder::request(272, 4, true);
        b.header_mut().hop_by_hop = 7;
        // A vendor AVP with padding to step over first.
        b.avp(
            1,
            10415,
            AvpFlags(AvpFlags::VENDOR),
            &Utf8String::from("odd"),
        );
        b.add(avp::SESSION_ID, &Utf8String::from("c;1;2"));
        b.add(avp::ACCT_APPLICATION_ID, &3u32);
        b.grouped(avp::PROXY_INFO.code, 0, M, |g| {
            g.add(avp::PROXY_HOST, &DiameterIdentity::from("p1.example.org"));
        });
        b.add(avp::AUTH_APPLICATION_ID, &4u32);
        b.add(avp::SESSION_ID, &Utf8String::from("second;is;ignored"));
        b.grouped(avp::PROXY_INFO.code, 0, M, |g| {
            g.add(avp::PROXY_HOST, &DiameterIdentity::from("p2.example.org"));
        });
        b.add(avp::AUTH_APPLICATION_ID, &5u32);
        let req = b.build();
        // Host names of every length modulo 4 (padding).
        for host in ["s.org", "se.org", "ser.org", "serv.org"] {
            let local = LocalCapabilities::new(host, "example.org");
            for code in [2001, 3004, 5012] {
                assert_eq!(
                    generate_answer(&req, &local, code).build(),
                    reference_answer(&req, &local, code)
                );
            }
        }
        let bare = MessageBuilder::request(272, 4, false).build();
        assert_eq!(
            generate_answer(&bare, &local(), 2001).build(),
            reference_answer(&bare, &local(), 2001)
        );
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
