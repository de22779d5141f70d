//! Applications (RFC 6733 §1.3.4, §2.4): request handlers registered per Application-Id,
//! the python-diameter `SimpleThreadingApplication(request_handler=...)` as async closures.
//!
//! ```no_run
//! use diameter_node::app::{Application, Request, HandlerError};
//! let gy = Application::auth(4).commands(&[272]).handler(|req: Request| async move {
//!     // python-diameter's app.generate_answer(message)
//!     Ok::<_, HandlerError>(req.answer(2001))
//! });
//! ```
//!
//! A handler returns an [`Answer`] (a generic [`Message`], a [`MessageBuilder`], a
//! [`TypedMessage`] or any typed command through [`Answer::typed`]) or a [`HandlerError`].
//! An error or a panic becomes 5012 DIAMETER_UNABLE_TO_COMPLY and the node keeps serving.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use diameter_core::generated::{TypedMessage, decode_typed};
use diameter_core::typed::Command;
use diameter_core::{CommandFlags, DecodeError, Header, Message, MessageBuilder};

use crate::answer::generate_answer;
use crate::peer::LocalCapabilities;
use crate::peer::capabilities::SupportedApplication;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a handler produced no answer of its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The handler does not serve this command: 3001 DIAMETER_COMMAND_UNSUPPORTED.
    #[error("command not supported")]
    UnsupportedCommand,
    /// Answer with this Result-Code (filled in by [`generate_answer`]).
    #[error("answer with Result-Code {0}")]
    ResultCode(u32),
    /// The request did not decode as expected: its Result-Code and Failed-AVP.
    #[error("request does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// Anything else: 5012 DIAMETER_UNABLE_TO_COMPLY.
    #[error("handler failed: {0}")]
    Failed(String),
}

/// What a handler answers with: one encoded answer message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer(pub Bytes);

impl Answer {
    /// From a typed answer (generated command struct).
    pub fn typed<C: Command>(answer: &C) -> Self {
        Self(answer.to_bytes())
    }
}

impl From<Message> for Answer {
    fn from(m: Message) -> Self {
        Self(m.into_bytes())
    }
}

impl From<MessageBuilder> for Answer {
    fn from(b: MessageBuilder) -> Self {
        Self(b.build().into_bytes())
    }
}

impl From<TypedMessage> for Answer {
    fn from(m: TypedMessage) -> Self {
        Self(m.to_bytes())
    }
}

/// A received request, validated (§7), handed to a handler.
#[derive(Clone, Debug)]
pub struct Request {
    msg: Message,
    peer: Arc<str>,
    local: Arc<LocalCapabilities>,
}

impl Request {
    /// Wraps a request (the node does this; public for handler unit tests).
    pub fn new(msg: Message, peer: Arc<str>, local: Arc<LocalCapabilities>) -> Self {
        Self { msg, peer, local }
    }

    /// The request.
    pub fn message(&self) -> &Message {
        &self.msg
    }

    /// The request, owned.
    pub fn into_message(self) -> Message {
        self.msg
    }

    /// Origin-Host of the peer it came from.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The local node's identity and capabilities.
    pub fn local(&self) -> &LocalCapabilities {
        &self.local
    }

    /// The typed request (generated from the dictionaries), or generic when the command
    /// has no typed definition.
    pub fn typed(&self) -> Result<TypedMessage, DecodeError> {
        decode_typed(&self.msg)
    }

    /// python-diameter's `generate_answer`: the answer with this Result-Code, Session-Id,
    /// Origin-Host, Origin-Realm and the application id AVPs filled in; append more AVPs
    /// to the builder.
    pub fn answer(&self, result_code: u32) -> MessageBuilder {
        generate_answer(&self.msg, &self.local, result_code)
    }

    /// The header a typed answer must carry (identifiers, command, application, P bit).
    pub fn answer_header(&self) -> Header {
        let h = self.msg.header();
        Header {
            flags: CommandFlags(h.flags.0 & CommandFlags::PROXIABLE),
            length: 0,
            ..*h
        }
    }
}

/// An async request handler.
///
/// The node polls a handler's future first on the peer's own task: one that completes
/// without waiting (the common case) is answered right there, with no task spawned; one
/// that waits goes on in its own task. So a handler that computes for long without an
/// `.await` holds up the other messages of its peer meanwhile: give such work to
/// `tokio::task::spawn_blocking` (or another task) and await it.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, request: Request) -> BoxFuture<Result<Answer, HandlerError>>;
}

impl<F, Fut, A> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<A, HandlerError>> + Send + 'static,
    A: Into<Answer>,
{
    fn call(&self, request: Request) -> BoxFuture<Result<Answer, HandlerError>> {
        let fut = self(request);
        Box::pin(async move { fut.await.map(Into::into) })
    }
}

/// A handler taking the typed request.
struct Typed<F>(F);

impl<F, Fut, A> Handler for Typed<F>
where
    F: Fn(Request, TypedMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<A, HandlerError>> + Send + 'static,
    A: Into<Answer>,
{
    fn call(&self, request: Request) -> BoxFuture<Result<Answer, HandlerError>> {
        match request.typed() {
            Ok(t) => {
                let fut = (self.0)(request, t);
                Box::pin(async move { fut.await.map(Into::into) })
            }
            Err(e) => Box::pin(async move { Err(HandlerError::Decode(e)) }),
        }
    }
}

/// An application the node supports: advertised in CER/CEA, and, with a handler, served.
#[derive(Clone)]
pub struct Application {
    pub(crate) support: SupportedApplication,
    pub(crate) commands: Option<Vec<u32>>,
    pub(crate) handler: Option<Arc<dyn Handler>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("support", &self.support)
            .field("commands", &self.commands)
            .field("handler", &self.handler.is_some())
            .finish()
    }
}

impl Application {
    /// An application advertised as it is given.
    pub fn new(support: SupportedApplication) -> Self {
        Self {
            support,
            commands: None,
            handler: None,
        }
    }

    /// An authentication/authorization application (Auth-Application-Id).
    pub fn auth(id: u32) -> Self {
        Self::new(SupportedApplication::auth(id))
    }

    /// An accounting application (Acct-Application-Id).
    pub fn acct(id: u32) -> Self {
        Self::new(SupportedApplication::acct(id))
    }

    /// A vendor-specific auth application (Vendor-Specific-Application-Id).
    pub fn vendor_auth(vendor_id: u32, id: u32) -> Self {
        Self::new(SupportedApplication::vendor_auth(vendor_id, id))
    }

    /// The Application-Id.
    pub fn id(&self) -> u32 {
        self.support.id
    }

    /// The command codes served; others are answered 3001. Without this list every
    /// command reaches the handler (which may return [`HandlerError::UnsupportedCommand`]).
    pub fn commands(mut self, codes: &[u32]) -> Self {
        self.commands = Some(codes.to_vec());
        self
    }

    /// Serves requests with `handler` (an async closure `Fn(Request) -> Result<A, _>`).
    pub fn handler(mut self, handler: impl Handler) -> Self {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// Serves requests with a handler that takes the typed request
    /// ([`TypedMessage`], generic for commands without a typed definition).
    pub fn typed_handler<F, Fut, A>(mut self, handler: F) -> Self
    where
        F: Fn(Request, TypedMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<A, HandlerError>> + Send + 'static,
        A: Into<Answer>,
    {
        self.handler = Some(Arc::new(Typed(handler)));
        self
    }

    /// Whether `code` is served.
    pub(crate) fn serves(&self, code: u32) -> bool {
        self.commands.as_ref().is_none_or(|c| c.contains(&code))
    }
}

/// Runs a handler future, turning a panic into an error (so that one bad request becomes
/// a 5012 and never takes the node down).
pub(crate) struct CatchUnwind(pub(crate) BoxFuture<Result<Answer, HandlerError>>);

impl Future for CatchUnwind {
    type Output = Result<Answer, HandlerError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(p) => p,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Poll::Ready(Err(HandlerError::Failed(format!(
                    "handler panicked: {what}"
                ))))
            }
        }
    }
}
