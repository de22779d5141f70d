//! A zero-copy Diameter (RFC 6733) codec with typed messages generated from XML
//! dictionaries.
//!
//! - [`Message`] is the generic view: a checked header plus the received bytes; its AVPs are
//!   read in place ([`AvpRef`]) without allocating.
//! - [`generated`] holds one module per dictionary file (`cargo xtask regen` writes it), with
//!   typed requests, answers, Grouped AVP structs and Enumerated newtypes, plus
//!   [`generated::decode_typed`], which picks the typed command for any message.
//! - Each typed command and Grouped AVP also has a generated `…View` (runtime in [`view`]):
//!   `CreditControlRequestView::from_bytes(&bytes)` checks the message once, at every level,
//!   and its accessors then read members straight from the bytes, without allocating.
//! - Each typed command and Grouped AVP also has a generated `…Writer` (runtime in
//!   [`writer`]): `CreditControlRequest::writer(&mut buf, session_id)` then typed setters
//!   append each AVP straight into the output buffer, and `finish` checks the ABNF's
//!   required and single members and patches the Message Length.
//! - [`validate()`] checks a message against its ABNF and gives the RFC 6733 §7.1
//!   Result-Code and Failed-AVP.
//! - [`dump`] renders text and JSON, and builds messages from JSON.
//!
//! ```
//! use diameter_core::{Message, MessageBuilder, AvpKey};
//! use diameter_core::generated::base::{DeviceWatchdogRequest, avp};
//! use diameter_core::typed::Command;
//!
//! let mut dwr = DeviceWatchdogRequest::default();
//! dwr.origin_host = "client.example.org".into();
//! dwr.origin_realm = "example.org".into();
//! let bytes = dwr.to_bytes();
//! let msg = Message::decode(bytes).unwrap();
//! assert_eq!(msg.find(avp::ORIGIN_HOST).unwrap().data, b"client.example.org");
//! assert_eq!(DeviceWatchdogRequest::decode(&msg).unwrap(), dwr);
//! ```
#![forbid(unsafe_code)]
#![allow(clippy::large_enum_variant)]

pub mod avp;
pub mod data;
pub mod dictionary;
pub mod dump;
pub mod error;
/// Code generated from `dictionaries/*.xml` by `cargo xtask regen`: one module per
/// dictionary (AVP keys, application ids, Enumerated newtypes, Grouped structs, typed
/// requests and answers, tables), and in `mod.rs` the lookups over all of them and
/// [`generated::decode_typed`]. Never edited by hand; every item carries rustdoc naming its
/// specification and section.
#[allow(clippy::all, unreachable_pub)]
#[rustfmt::skip]
pub mod generated;
pub mod header;
pub mod lazy;
pub mod message;
pub mod policy;
pub mod result_code;
pub mod typed;
pub mod validate;
pub mod view;
pub mod writer;

#[cfg(test)]
mod features_tests;

pub use avp::{AvpFlags, AvpIter, AvpKey, AvpRef, RawAvp};
pub use bytes;
pub use data::{Address, AvpData, DiameterIdentity, DiameterUri, Time, Utf8String};
pub use error::{DecodeError, ErrorKind};
pub use header::{CommandFlags, Header};
pub use message::{Limits, Message, MessageBuilder};
pub use policy::{Deviations, Policy};
pub use result_code::ResultCode;
pub use validate::validate;

/// Default largest message accepted (RFC 6733 sets none; 1 MiB is far above real traffic).
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 1 << 20;
/// Default deepest Grouped nesting accepted: ten times what real traffic reaches (3GPP trees
/// nest about 6 levels), and a bound on the recursion of validation, typed decoding and
/// dumps whatever the input (tests/malformed.rs runs 100,000 levels through them on a 1 MiB
/// stack, in a debug build). Deeper input is refused with 5012 and a Failed-AVP holding
/// only the header of the AVP one level too deep ([`ErrorKind::NestingTooDeep`]).
pub const DEFAULT_MAX_DEPTH: usize = 64;

#[doc(hidden)]
pub mod fuzzing {
    //! Hooks for the cargo-fuzz targets in `fuzz/`.
    use bytes::Bytes;

    /// Generic decode; when it succeeds, re-encoding must give back the input.
    pub fn decode_message(data: &[u8]) {
        if let Ok(msg) = crate::Message::decode(Bytes::copy_from_slice(data)) {
            assert_eq!(&msg.as_bytes()[..], data);
            for avp in msg.avps().flatten() {
                let _ = avp.children().count();
            }
            let _ = crate::dump::text(&msg);
            let _ = crate::dump::to_json(&msg);
        }
    }

    /// Typed decode; when it succeeds, encoding and decoding again gives an equal value.
    /// The typed view checks at least as much: when it accepts the message, so does the
    /// struct's decoding, and every view accessor reads without panicking.
    pub fn decode_typed(data: &[u8]) {
        if let Ok(msg) = crate::Message::decode(Bytes::copy_from_slice(data)) {
            let typed = crate::generated::decode_typed(&msg);
            if let Some(Ok(())) = crate::generated::check_view(&msg) {
                assert!(typed.is_ok(), "view accepts what the struct refuses");
            }
            #[cfg(feature = "gy")]
            if let Ok(v) = crate::generated::ts32299::CreditControlRequestView::decode(&msg) {
                read_ccr_view(&v);
            }
            if let Ok(t) = typed {
                let again = crate::Message::decode(t.to_bytes()).expect("typed encode decodes");
                let t2 = crate::generated::decode_typed(&again).expect("typed re-decode");
                assert_eq!(t, t2);
            }
        }
    }

    #[cfg(feature = "gy")]
    /// Reads every member of a Ro CCR view (and of its Grouped members, one level down).
    fn read_ccr_view(v: &crate::generated::ts32299::CreditControlRequestView<'_>) {
        let _ = (
            v.session_id(),
            v.origin_host(),
            v.cc_request_number(),
            v.user_name(),
        );
        for s in v.subscription_id() {
            let _ = (
                s.subscription_id_type(),
                s.subscription_id_data(),
                s.extra().count(),
            );
        }
        for m in v.multiple_services_credit_control() {
            let _ = (m.rating_group(), m.service_identifier().count());
            if let Some(u) = m.requested_service_unit() {
                let _ = (u.cc_total_octets(), u.cc_time(), u.extra().count());
            }
        }
        if let Some(p) = v.service_information().and_then(|s| s.ps_information()) {
            let _ = (
                p.tgpp_charging_id(),
                p.sgsn_address().count(),
                p.tgpp_imsi_mcc_mnc(),
            );
        }
        let _ = v.extra().count();
    }

    /// Validation never panics and agrees with typed decode on the Result-Code classes.
    pub fn validate(data: &[u8]) {
        if let Ok(msg) = crate::Message::decode(Bytes::copy_from_slice(data)) {
            if let Err(e) = crate::validate(&msg) {
                let _ = e.result_code();
                let _ = msg.to_error_answer(&e).build();
            }
        }
    }
}
