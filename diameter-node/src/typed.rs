//! Typed requests and their outcomes: [`NodeHandle::request`] sends a generated request
//! struct and returns its typed answer, or an [`ErrorAnswer`] that keeps the Result-Code (or
//! Experimental-Result), Failed-AVP, Error-Message and Origin-Host of an answer that reports
//! failure, or the [`RequestError`] that ended the request. An error answer is never turned
//! into a decode error.
//!
//! ```no_run
//! # async fn f(node: diameter_node::NodeHandle) -> Result<(), diameter_node::CallError> {
//! use diameter_core::generated::base::SessionTerminationRequest;
//! // Session-Id, Origin-*, Destination-Realm and the header's Application-Id (from
//! // Auth-Application-Id, since STR is a base command) are filled in by the node.
//! let str_ = SessionTerminationRequest {
//!     auth_application_id: 4,
//!     termination_cause: 1.into(),
//!     ..Default::default()
//! };
//! let sta = node.request(str_).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use diameter_core::generated::base::avp;
use diameter_core::typed::{AnswerResult, Filler, RequestCommand};
use diameter_core::{DecodeError, Message, RawAvp, ResultCode};

use crate::error::RequestError;
use crate::node::NodeHandle;

/// An answer that reports failure: the E bit, or a Result-Code / Experimental-Result-Code
/// outside 2xxx.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorAnswer {
    /// The Result-Code or Experimental-Result (absent from a malformed answer: then
    /// 5012 DIAMETER_UNABLE_TO_COMPLY is reported).
    pub result: AnswerResult,
    /// The Failed-AVP's contents (§7.5): the AVPs that caused the failure.
    pub failed_avps: Vec<RawAvp>,
    /// Error-Message (§7.3).
    pub error_message: Option<String>,
    /// Error-Reporting-Host (§7.4), else Origin-Host: who answered.
    pub origin_host: Option<String>,
    /// The whole answer, for anything else it carries.
    pub message: Message,
}

impl ErrorAnswer {
    /// Reads what an answer says of its outcome: `None` for a success (2xxx, no E bit).
    pub fn from_answer(message: &Message) -> Option<Self> {
        let result = AnswerResult::of(message);
        let error = message.header().flags.is_error();
        if !error && result.is_some_and(AnswerResult::is_success) {
            return None;
        }
        let text = |key| {
            message
                .find(key)
                .and_then(|a| std::str::from_utf8(a.data).ok().map(str::to_owned))
        };
        let failed_avps = message
            .avps()
            .flatten()
            .filter(|a| a.key() == avp::FAILED_AVP)
            .flat_map(|f| {
                f.children()
                    .flatten()
                    .map(|c| c.to_raw())
                    .collect::<Vec<_>>()
            })
            .collect();
        Some(Self {
            result: result.unwrap_or(ResultCode::DIAMETER_UNABLE_TO_COMPLY.into()),
            failed_avps,
            error_message: text(avp::ERROR_MESSAGE),
            origin_host: text(avp::ERROR_REPORTING_HOST).or_else(|| text(avp::ORIGIN_HOST)),
            message: message.clone(),
        })
    }

    /// The code (Result-Code or Experimental-Result-Code).
    pub fn code(&self) -> u32 {
        self.result.code()
    }

    /// The answer decoded as `A`, where its shape allows (an application's answer with a
    /// failure code often still fits its ABNF).
    pub fn typed<A: diameter_core::typed::Command>(&self) -> Result<A, DecodeError> {
        A::decode(&self.message)
    }
}

impl std::fmt::Display for ErrorAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "answered {}", self.result)?;
        if let Some(h) = &self.origin_host {
            write!(f, " by {h}")?;
        }
        if let Some(m) = &self.error_message {
            write!(f, ": {m}")?;
        }
        for a in &self.failed_avps {
            write!(f, " (Failed-AVP: code {}", a.code)?;
            if a.vendor != 0 {
                write!(f, ", vendor {}", a.vendor)?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// Why a typed request has no typed answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The peer answered with a failure (E bit, or a code outside 2xxx).
    #[error("{0}")]
    Answer(Box<ErrorAnswer>),
    /// The request ended without an answer (timeout, no peer, connection lost, ...).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A required member was left empty: the request was not sent.
    #[error("required AVP {0} is missing or empty: not sent")]
    Missing(&'static str),
    /// A success answer that does not decode as the command's answer.
    #[error("answer does not decode: {0}")]
    Decode(DecodeError),
}

impl CallError {
    /// The error answer, when the peer answered with a failure.
    pub fn answer(&self) -> Option<&ErrorAnswer> {
        match self {
            Self::Answer(a) => Some(a),
            _ => None,
        }
    }
}

/// What the node fills into a typed request.
struct NodeFiller<'a> {
    node: &'a NodeHandle,
    destination_realm: Option<String>,
}

impl Filler for NodeFiller<'_> {
    fn session_id(&mut self) -> String {
        self.node.new_session_id()
    }
    fn origin_host(&self) -> &str {
        &self.node.local().origin_host
    }
    fn origin_realm(&self) -> &str {
        &self.node.local().origin_realm
    }
    fn destination_realm(&self) -> Option<&str> {
        self.destination_realm.as_deref()
    }
    fn application_vendor(&self, application_id: u32) -> Option<u32> {
        let apps = &self.node.local().applications;
        apps.iter()
            .find(|a| a.id == application_id)
            .and_then(|a| a.vendor_id)
    }
}

impl NodeHandle {
    /// Sends a typed request and returns its typed answer, with the configured request
    /// timeout. What the caller left empty of Session-Id, Origin-Host, Origin-Realm and
    /// Destination-Realm is filled in (the realm of the peer the request goes to), and the
    /// header's Application-Id is the command's (or, for base commands such as STR, that of
    /// its Auth-/Acct-Application-Id); a request with a required member still empty is
    /// refused before sending ([`CallError::Missing`]).
    pub async fn request<Q: RequestCommand>(&self, request: Q) -> Result<Q::Answer, CallError> {
        let timeout = self.request_timeout();
        self.request_with_timeout(request, timeout).await
    }

    /// [`NodeHandle::request`] waiting at most `timeout` for the answer.
    pub async fn request_with_timeout<Q: RequestCommand>(
        &self,
        mut request: Q,
        timeout: Duration,
    ) -> Result<Q::Answer, CallError> {
        let mut filler = NodeFiller {
            node: self,
            destination_realm: None,
        };
        request.fill(&mut filler);
        if request.missing() == Some("Destination-Realm") {
            // The realm of the peer the request would go to.
            let app = request.header().application_id;
            if let Some(realm) = self.peer_realm(&request.to_message(), app) {
                filler.destination_realm = Some(realm);
                request.fill(&mut filler);
            }
        }
        if let Some(name) = request.missing() {
            return Err(CallError::Missing(name));
        }
        let answer = self
            .send_with_timeout(request.to_message(), timeout)
            .await?;
        if let Some(e) = ErrorAnswer::from_answer(&answer) {
            return Err(CallError::Answer(Box::new(e)));
        }
        <Q::Answer as diameter_core::typed::Command>::decode(&answer).map_err(CallError::Decode)
    }
}
