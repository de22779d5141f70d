//! Requests for `send`, `bench` and `demo`: the default Gy CCR-I, reading requests in
//! `decode`'s JSON shape, filling in what the user may leave out, and templates that only
//! need a fresh Session-Id per request.

use anyhow::{Context, Result, bail};
use bytes::{Bytes, BytesMut};
use diameter_core::dictionary;
use diameter_core::dump;
use diameter_core::generated::base::avp as base;
use diameter_core::{
    AvpData, AvpKey, DiameterIdentity, Header, Message, MessageBuilder, Utf8String,
};
use serde_json::{Value, json};

/// The default request: a Gy (3GPP TS 32.299) CCR-I for one subscriber with one
/// Multiple-Services-Credit-Control asking for units of rating group 1. Session-Id,
/// Origin-Host/Realm and Destination-Realm are filled in by [`fill`].
pub(crate) fn default_ccr() -> Value {
    json!({
        "command": "Credit-Control-Request",
        "application_id": 4,
        "avps": [
            {"name": "Auth-Application-Id", "value": 4},
            {"name": "Service-Context-Id", "value": "32251@3gpp.org"},
            {"name": "CC-Request-Type", "value": "INITIAL_REQUEST"},
            {"name": "CC-Request-Number", "value": 0},
            {"name": "Subscription-Id", "avps": [
                {"name": "Subscription-Id-Type", "value": "END_USER_E164"},
                {"name": "Subscription-Id-Data", "value": "15551234567"}
            ]},
            {"name": "Multiple-Services-Indicator", "value": "MULTIPLE_SERVICES_SUPPORTED"},
            {"name": "Multiple-Services-Credit-Control", "avps": [
                {"name": "Requested-Service-Unit", "avps": [
                    {"name": "CC-Total-Octets", "value": 1048576}
                ]},
                {"name": "Rating-Group", "value": 1}
            ]}
        ]
    })
}

/// The request of `--json FILE` (`-` for stdin), or the default Gy CCR-I.
pub(crate) fn load(path: Option<&std::path::Path>) -> Result<Message> {
    use std::io::Read;
    match path {
        Some(path) => {
            let mut text = String::new();
            crate::input::open(path)?
                .read_to_string(&mut text)
                .with_context(|| format!("reading {}", path.display()))?;
            parse_request(&text, &path.display().to_string())
        }
        None => dump::from_json(&default_ccr()).context("the default CCR"),
    }
}

/// Reads one request from JSON text (`decode --format json` shape; a one-element array
/// is accepted too).
pub(crate) fn parse_request(text: &str, what: &str) -> Result<Message> {
    let v: Value = serde_json::from_str(text).with_context(|| format!("{what}: invalid JSON"))?;
    let v = match v {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        Value::Array(items) => bail!("{what}: expected one message, found {}", items.len()),
        v => v,
    };
    let msg = dump::from_json(&v).with_context(|| format!("{what}: not a message"))?;
    if !msg.is_request() {
        bail!(
            "{what}: {} is not a request",
            dump::command_name(msg.code(), msg.application_id(), false)
        );
    }
    Ok(msg)
}

/// The identity and destination a request is filled in with.
#[derive(Clone, Debug)]
pub(crate) struct Fill<'a> {
    pub(crate) origin_host: &'a str,
    pub(crate) origin_realm: &'a str,
    pub(crate) destination_realm: &'a str,
    pub(crate) destination_host: Option<&'a str>,
    /// Replaces the header's Application-Id when set.
    pub(crate) application_id: Option<u32>,
}

/// A request with Session-Id first (kept if present, else `session_id`), then the
/// Origin-Host, Origin-Realm, Destination-Realm, Destination-Host and Auth-/Acct-
/// Application-Id it lacks (the last two when its ABNF requires them), then its own AVPs.
/// Hop-by-Hop and End-to-End are left to the node.
pub(crate) fn fill(msg: &Message, f: &Fill<'_>, session_id: &str) -> Message {
    let mut header: Header = *msg.header();
    if let Some(app) = f.application_id {
        header.application_id = app;
    }
    let mut b = MessageBuilder::with_capacity(header, msg.as_bytes().len() + 128);
    match msg.find(base::SESSION_ID) {
        Some(s) => b.raw_ref(&s),
        None => b.add(base::SESSION_ID, &Utf8String::from(session_id)),
    };
    let missing = |k: AvpKey| msg.find(k).is_none();
    if missing(base::ORIGIN_HOST) {
        b.add(base::ORIGIN_HOST, &DiameterIdentity::from(f.origin_host));
    }
    if missing(base::ORIGIN_REALM) {
        b.add(base::ORIGIN_REALM, &DiameterIdentity::from(f.origin_realm));
    }
    if missing(base::DESTINATION_REALM) {
        b.add(
            base::DESTINATION_REALM,
            &DiameterIdentity::from(f.destination_realm),
        );
    }
    if let (Some(h), true) = (f.destination_host, missing(base::DESTINATION_HOST)) {
        b.add(base::DESTINATION_HOST, &DiameterIdentity::from(h));
    }
    if let Some(def) = dictionary::command(header.code, header.application_id) {
        for key in [base::AUTH_APPLICATION_ID, base::ACCT_APPLICATION_ID] {
            let required = def.request.iter().any(|r| r.avp == Some(key) && r.min > 0);
            if required && missing(key) {
                b.add(key, &header.application_id);
            }
        }
    }
    for avp in msg.avps().flatten() {
        if avp.key() != base::SESSION_ID {
            b.raw_ref(&avp);
        }
    }
    b.build()
}

/// A filled request cut around its Session-Id, to stamp out copies with new Session-Ids
/// cheaply (`bench`).
#[derive(Clone, Debug)]
pub(crate) struct Template {
    header: Header,
    /// Every AVP after the Session-Id, encoded.
    rest: Bytes,
}

impl Template {
    /// From a request whose first AVP is its Session-Id (as [`fill`] makes them).
    pub(crate) fn new(filled: &Message) -> Self {
        let mut rest = BytesMut::new();
        for avp in filled.avps().flatten() {
            if avp.key() != base::SESSION_ID {
                avp.to_raw().encode(&mut rest);
            }
        }
        Self {
            header: *filled.header(),
            rest: rest.freeze(),
        }
    }

    /// A copy with this Session-Id.
    pub(crate) fn with_session_id(&self, session_id: &str) -> Message {
        let sid = Utf8String::from(session_id);
        let mut b =
            MessageBuilder::with_capacity(self.header, 20 + 12 + sid.data_len() + self.rest.len());
        b.add(base::SESSION_ID, &sid);
        b.extend_raw(&self.rest);
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filler() -> Fill<'static> {
        Fill {
            origin_host: "client.example.org",
            origin_realm: "example.org",
            destination_realm: "server.realm",
            destination_host: None,
            application_id: None,
        }
    }

    #[test]
    fn default_ccr_is_filled_and_valid() {
        let ccr = dump::from_json(&default_ccr()).unwrap();
        let filled = fill(&ccr, &filler(), "client.example.org;1;2");
        diameter_core::validate(&filled).unwrap();
        let first = filled.avps().next().unwrap().unwrap();
        assert_eq!(first.key(), base::SESSION_ID);
        assert_eq!(
            filled.find(base::DESTINATION_REALM).unwrap().data,
            b"server.realm"
        );
        assert_eq!(
            filled.find(base::ORIGIN_HOST).unwrap().data,
            b"client.example.org"
        );
        let t = Template::new(&filled);
        let copy = t.with_session_id("client.example.org;1;3");
        assert_eq!(copy.session_id(), Some("client.example.org;1;3"));
        assert_eq!(copy.as_bytes().len(), filled.as_bytes().len());
        diameter_core::validate(&copy).unwrap();
    }

    #[test]
    fn given_avps_are_kept_and_application_ids_added() {
        let acr = parse_request(
            r#"{"command": "Accounting-Request", "application_id": 3, "avps": [
                {"name": "Accounting-Record-Type", "value": "EVENT_RECORD"},
                {"name": "Accounting-Record-Number", "value": 0},
                {"name": "Origin-Host", "value": "mine.example.org"},
                {"name": "Session-Id", "value": "given;1"}]}"#,
            "test",
        )
        .unwrap();
        let filled = fill(&acr, &filler(), "unused");
        diameter_core::validate(&filled).unwrap();
        assert_eq!(filled.session_id(), Some("given;1"));
        assert_eq!(
            filled.find(base::ORIGIN_HOST).unwrap().data,
            b"mine.example.org"
        );
        assert_eq!(filled.find_all(base::ORIGIN_HOST).count(), 1);
        assert!(
            parse_request(
                r#"{"command": "Accounting-Answer", "application_id": 3}"#,
                "t"
            )
            .is_err()
        );
        assert!(parse_request("[{}, {}]", "t").is_err());
    }
}
