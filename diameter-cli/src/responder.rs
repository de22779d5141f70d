//! The answers of `diameter serve` (and of `bench`'s and `demo`'s embedded server): 2001
//! with every AVP the answer's ABNF requires, built from the dictionaries.
//!
//! python-diameter's `generate_answer` gives Session-Id, Result-Code, Origin-Host/Realm and
//! the Auth/Acct-Application-Id. Then, for each rule of the answer's ABNF
//! ([`dictionary::command`]): an AVP the request also carries is copied (CC-Request-Type
//! and -Number, Accounting-Record-Type and -Number, Auth-Session-State, User-Name, ...:
//! required ones always, optional ones when they are not Grouped and describe the session
//! rather than the sender or the route); a required AVP the request lacks gets a default
//! of its type (the first enumerated value, 0, empty text, this node's identity, now,
//! Grouped ones built from their own required members).
//!
//! Credit control: each Multiple-Services-Credit-Control with a Requested-Service-Unit is
//! answered with its Rating-Group / Service-Identifier, a Granted-Service-Unit of what was
//! asked (10 MiB when nothing was) and Result-Code 2001; a top-level Requested-Service-Unit
//! gets a top-level Granted-Service-Unit.

use bytes::BytesMut;
use diameter_core::avp::{AvpRef, put_avp_with};
use diameter_core::data::{Address, AvpData, DiameterUri, Time};
use diameter_core::dictionary::{self, AvpType, Rule};
use diameter_core::generated::base::avp as base;
use diameter_core::generated::credit_control::avp as cc;
use diameter_core::{AvpFlags, AvpKey, DiameterIdentity, Message, Utf8String};
use diameter_node::app::{Answer, Application, HandlerError, Request};
use diameter_node::peer::{LocalCapabilities, SupportedApplication};

/// Grouped defaults nest at most this deep.
const MAX_DEPTH: usize = 4;
/// What a Granted-Service-Unit holds when the request asked for no amount.
const DEFAULT_GRANT_OCTETS: u64 = 10 * 1024 * 1024;

/// Optional AVPs never copied from the request: they describe the sender, the route or an
/// error, not the session.
pub(crate) const NEVER_COPY: [AvpKey; 10] = [
    base::ORIGIN_STATE_ID,
    base::DESTINATION_HOST,
    base::DESTINATION_REALM,
    base::ROUTE_RECORD,
    base::FAILED_AVP,
    base::ERROR_MESSAGE,
    base::ERROR_REPORTING_HOST,
    base::EXPERIMENTAL_RESULT,
    base::REDIRECT_HOST,
    base::REDIRECT_HOST_USAGE,
];

/// An application served by [`answer`], advertised as `support` says.
pub(crate) fn application(support: SupportedApplication) -> Application {
    Application::new(support).handler(|req: Request| async move { answer(&req) })
}

/// The 2001 answer to `req`; 3001 (by the node) for a command the dictionaries lack.
pub(crate) fn answer(req: &Request) -> Result<Answer, HandlerError> {
    let msg = req.message();
    let def = dictionary::command(msg.code(), msg.application_id())
        .ok_or(HandlerError::UnsupportedCommand)?;
    let mut b = req.answer(2001);
    let mut body = BytesMut::with_capacity(256);
    append_required(&mut body, msg, def.answer, req.local());
    b.extend_raw(&body);
    Ok(b.into())
}

/// Appends what the answer rules `rules` call for beyond `generate_answer`'s AVPs.
fn append_required(body: &mut BytesMut, msg: &Message, rules: &[Rule], local: &LocalCapabilities) {
    let mut done: Vec<AvpKey> = vec![
        base::SESSION_ID,
        base::PROXY_INFO,
        base::RESULT_CODE,
        base::ORIGIN_HOST,
        base::ORIGIN_REALM,
    ];
    // The request's AVPs walked once (the rules are looked up against this list).
    let avps: Vec<AvpRef<'_>> = msg.avps().flatten().collect();
    let all = |key: AvpKey| avps.iter().filter(move |a| a.key() == key);
    for key in [base::AUTH_APPLICATION_ID, base::ACCT_APPLICATION_ID] {
        if all(key).next().is_some() {
            done.push(key);
        }
    }
    for rule in rules {
        let Some(key) = rule.avp else { continue };
        if done.contains(&key) {
            continue;
        }
        done.push(key);
        if key == cc::MULTIPLE_SERVICES_CREDIT_CONTROL {
            for mscc in all(key) {
                grant_mscc(body, mscc);
            }
            continue;
        }
        if key == cc::GRANTED_SERVICE_UNIT {
            if let Some(rsu) = all(cc::REQUESTED_SERVICE_UNIT).next() {
                grant(body, rsu);
            }
            continue;
        }
        let def = dictionary::avp(key);
        let grouped = def.is_some_and(|d| d.ty == AvpType::Grouped);
        let copy = rule.min > 0
            || key == base::VENDOR_SPECIFIC_APPLICATION_ID
            || (!grouped && !NEVER_COPY.contains(&key));
        let mut n = 0u32;
        if copy {
            for a in all(key).take(rule.max as usize) {
                a.to_raw().encode(body);
                n += 1;
            }
        }
        while n < rule.min {
            write_default(body, key, local, 0);
            n += 1;
        }
    }
}

/// Writes a default value of the AVP `key` (see the module documentation).
fn write_default(buf: &mut BytesMut, key: AvpKey, local: &LocalCapabilities, depth: usize) {
    let Some(def) = dictionary::avp(key) else {
        return;
    };
    let flags = def.default_flags();
    let (code, vendor) = (key.code, key.vendor);
    match def.ty {
        AvpType::Integer32 => 0i32.encode_avp(buf, code, flags, vendor),
        AvpType::Integer64 => 0i64.encode_avp(buf, code, flags, vendor),
        AvpType::Unsigned32 => 0u32.encode_avp(buf, code, flags, vendor),
        AvpType::Unsigned64 => 0u64.encode_avp(buf, code, flags, vendor),
        AvpType::Float32 => 0f32.encode_avp(buf, code, flags, vendor),
        AvpType::Float64 => 0f64.encode_avp(buf, code, flags, vendor),
        AvpType::Enumerated => {
            let first = def.enums.first().map_or(0, |(v, _)| *v);
            first.encode_avp(buf, code, flags, vendor);
        }
        AvpType::Address => {
            Address::V4(std::net::Ipv4Addr::LOCALHOST).encode_avp(buf, code, flags, vendor)
        }
        AvpType::Time => Time::now().encode_avp(buf, code, flags, vendor),
        AvpType::DiameterIdentity => {
            DiameterIdentity::from(local.origin_host.as_str()).encode_avp(buf, code, flags, vendor)
        }
        AvpType::DiameterURI => DiameterUri::from(format!("aaa://{}", local.origin_host).as_str())
            .encode_avp(buf, code, flags, vendor),
        AvpType::UTF8String
        | AvpType::OctetString
        | AvpType::IPFilterRule
        | AvpType::QoSFilterRule => Utf8String::from("").encode_avp(buf, code, flags, vendor),
        AvpType::Grouped => {
            if depth >= MAX_DEPTH {
                return;
            }
            put_avp_with(buf, code, flags, vendor, |g| {
                for rule in def.grouped {
                    if let Some(member) = rule.avp {
                        for _ in 0..rule.min {
                            write_default(g, member, local, depth + 1);
                        }
                    }
                }
            });
        }
    }
}

/// Answers one Multiple-Services-Credit-Control: its identifiers, a grant when it asked
/// for units, Result-Code 2001.
fn grant_mscc(buf: &mut BytesMut, mscc: &AvpRef<'_>) {
    let flags = flags_of(cc::MULTIPLE_SERVICES_CREDIT_CONTROL);
    put_avp_with(buf, mscc.code, flags, mscc.vendor, |g| {
        let mut rsu = None;
        for member in mscc.children().flatten() {
            let k = member.key();
            if k == cc::RATING_GROUP || k == cc::SERVICE_IDENTIFIER {
                member.to_raw().encode(g);
            } else if k == cc::REQUESTED_SERVICE_UNIT {
                rsu = Some(member);
            }
        }
        if let Some(rsu) = rsu {
            grant(g, &rsu);
        }
        2001u32.encode_avp(g, base::RESULT_CODE.code, AvpFlags(AvpFlags::MANDATORY), 0);
    });
}

/// A Granted-Service-Unit with the amounts of a Requested-Service-Unit (or 10 MiB).
fn grant(buf: &mut BytesMut, rsu: &AvpRef<'_>) {
    let key = cc::GRANTED_SERVICE_UNIT;
    put_avp_with(buf, key.code, flags_of(key), key.vendor, |g| {
        let mut any = false;
        for unit in rsu.children().flatten() {
            // Every member of Requested-Service-Unit (CC-Time, CC-Money, CC-Total-Octets,
            // CC-Input-Octets, CC-Output-Octets, CC-Service-Specific-Units) is also one of
            // Granted-Service-Unit.
            unit.to_raw().encode(g);
            any = true;
        }
        if !any {
            DEFAULT_GRANT_OCTETS.encode_avp(
                g,
                cc::CC_TOTAL_OCTETS.code,
                flags_of(cc::CC_TOTAL_OCTETS),
                0,
            );
        }
    });
}

fn flags_of(key: AvpKey) -> AvpFlags {
    dictionary::avp(key).map_or(AvpFlags(AvpFlags::MANDATORY), |d| d.default_flags())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diameter_core::dump;
    use serde_json::json;

    use super::*;

    fn local() -> Arc<LocalCapabilities> {
        Arc::new(LocalCapabilities::new("server.example.org", "example.org"))
    }

    fn answer_to(request: serde_json::Value) -> Message {
        let msg = dump::from_json(&request).unwrap();
        let req = Request::new(msg, "client.example.org".into(), local());
        let a = answer(&req).unwrap();
        Message::decode(a.0).unwrap()
    }

    #[test]
    fn cca_copies_the_request_numbers_and_grants_units() {
        let cca = answer_to(json!({
            "command": "Credit-Control-Request", "application_id": 4,
            "hop_by_hop": 7, "end_to_end": 9,
            "avps": [
                {"name": "Session-Id", "value": "client;1;2"},
                {"name": "Origin-Host", "value": "client.example.org"},
                {"name": "Origin-Realm", "value": "example.org"},
                {"name": "Destination-Realm", "value": "example.org"},
                {"name": "Auth-Application-Id", "value": 4},
                {"name": "Service-Context-Id", "value": "32251@3gpp.org"},
                {"name": "CC-Request-Type", "value": "UPDATE_REQUEST"},
                {"name": "CC-Request-Number", "value": 3},
                {"name": "Origin-State-Id", "value": 77},
                {"name": "Multiple-Services-Credit-Control", "avps": [
                    {"name": "Requested-Service-Unit", "avps": [
                        {"name": "CC-Total-Octets", "value": 5000}]},
                    {"name": "Rating-Group", "value": 10}]},
                {"name": "Multiple-Services-Credit-Control", "avps": [
                    {"name": "Rating-Group", "value": 20},
                    {"name": "Used-Service-Unit", "avps": [
                        {"name": "CC-Time", "value": 60}]}]}
            ]
        }));
        diameter_core::validate(&cca).unwrap();
        assert!(!cca.is_request());
        assert_eq!((cca.header().hop_by_hop, cca.header().end_to_end), (7, 9));
        assert_eq!(cca.session_id(), Some("client;1;2"));
        assert_eq!(cca.result_code(), Some(2001));
        assert_eq!(cca.get::<i32>(cc::CC_REQUEST_TYPE).unwrap().unwrap(), 2);
        assert_eq!(cca.get::<u32>(cc::CC_REQUEST_NUMBER).unwrap().unwrap(), 3);
        assert_eq!(
            cca.get::<u32>(base::AUTH_APPLICATION_ID).unwrap().unwrap(),
            4
        );
        // The sender's Origin-State-Id is not ours to echo.
        assert!(cca.find(base::ORIGIN_STATE_ID).is_none());
        let granted = cca.find_path_all(&[
            cc::MULTIPLE_SERVICES_CREDIT_CONTROL,
            cc::GRANTED_SERVICE_UNIT,
            cc::CC_TOTAL_OCTETS,
        ]);
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0].data, 5000u64.to_be_bytes());
        let codes = cca.find_path_all(&[cc::MULTIPLE_SERVICES_CREDIT_CONTROL, base::RESULT_CODE]);
        assert_eq!(codes.len(), 2);
        let groups = cca.find_path_all(&[cc::MULTIPLE_SERVICES_CREDIT_CONTROL, cc::RATING_GROUP]);
        assert_eq!(groups.len(), 2);
    }

    #[test]
    fn aca_copies_the_record_type_and_number() {
        let aca = answer_to(json!({
            "command": "Accounting-Request", "application_id": 3,
            "avps": [
                {"name": "Session-Id", "value": "client;1;3"},
                {"name": "Origin-Host", "value": "client.example.org"},
                {"name": "Origin-Realm", "value": "example.org"},
                {"name": "Destination-Realm", "value": "example.org"},
                {"name": "Accounting-Record-Type", "value": "STOP_RECORD"},
                {"name": "Accounting-Record-Number", "value": 5},
                {"name": "Acct-Application-Id", "value": 3},
                {"name": "User-Name", "value": "alice"}
            ]
        }));
        diameter_core::validate(&aca).unwrap();
        assert_eq!(aca.result_code(), Some(2001));
        assert_eq!(
            aca.get::<i32>(base::ACCOUNTING_RECORD_TYPE)
                .unwrap()
                .unwrap(),
            4
        );
        assert_eq!(
            aca.get::<u32>(base::ACCOUNTING_RECORD_NUMBER)
                .unwrap()
                .unwrap(),
            5
        );
        assert_eq!(aca.find(base::USER_NAME).unwrap().data, b"alice");
        assert!(aca.find(base::ACCT_APPLICATION_ID).is_some());
    }

    #[test]
    fn missing_required_avps_get_defaults_for_every_command() {
        // Every command of every compiled-in application, asked with a bare request: the
        // answer carries every AVP its ABNF requires.
        let local = local();
        for module in dictionary::modules() {
            for command in module.commands {
                let mut b = diameter_core::MessageBuilder::request(
                    command.code,
                    command.application,
                    command.proxiable,
                );
                b.add(base::SESSION_ID, &Utf8String::from("c;1;1"));
                let req = Request::new(b.build(), "c".into(), local.clone());
                let a = Message::decode(answer(&req).unwrap().0).unwrap();
                for rule in command.answer.iter().filter(|r| r.min > 0) {
                    let key = rule.avp.unwrap();
                    assert!(
                        a.find(key).is_some(),
                        "{}-Answer (app {}) lacks {key}",
                        command.name,
                        command.application
                    );
                }
            }
        }
    }
}
