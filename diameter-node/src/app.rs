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
use diameter_core::data::DecodeCx;
use diameter_core::generated::{TypedMessage, decode_typed};
use diameter_core::typed::{AnswerResult, Command, RequestCommand};
use diameter_core::{CommandFlags, DecodeError, Header, Message, MessageBuilder, Policy};

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
    /// Answer with this Result-Code (the rest filled in as python-diameter's `generate_answer` does).
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
    policy: Policy,
}

impl Request {
    /// Wraps a request (the node does this; public for handler unit tests). Typed
    /// handlers decode it strictly; see [`Request::with_policy`].
    pub fn new(msg: Message, peer: Arc<str>, local: Arc<LocalCapabilities>) -> Self {
        Self {
            msg,
            peer,
            local,
            policy: Policy::Strict,
        }
    }

    /// The same request, decoded for typed handlers under `policy` (the node gives the
    /// application's [`Application::validation`]).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The validation policy the request was accepted under.
    pub fn policy(&self) -> Policy {
        self.policy
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
    /// Handlers per command code, from [`Application::route`].
    routes: Vec<(u32, Arc<dyn Handler>)>,
    /// The state given to routed handlers ([`Application::state`]).
    state: Arc<dyn std::any::Any + Send + Sync>,
    /// How strictly its requests are validated ([`Application::validation`]).
    pub(crate) policy: Policy,
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
            routes: Vec::new(),
            state: Arc::new(()),
            policy: Policy::Tolerant,
        }
    }

    /// How strictly this application's requests are validated (RFC 6733 §7, see
    /// [`diameter_core::policy`]). The default is [`Policy::Tolerant`]: deviations real
    /// networks send inside Grouped AVPs (a Supported-Features without its Vendor-Id, a
    /// member the ABNF does not list, one occurrence too many, a value that does not parse
    /// in a member) are accepted, counted in `tolerated_deviations` and given to handlers as
    /// far as they decode, as freeDiameter does; the message itself (header, lengths, M-bit
    /// AVPs, the command's required AVPs) is judged strictly under both policies.
    /// [`Policy::Strict`] answers every deviation with RFC 6733's Result-Code and Failed-AVP.
    pub fn validation(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
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

    /// The state handed to the handlers of [`Application::route`] (through
    /// [`Ctx::state`]): one value for the application, shared by every request. Set it
    /// before the routes that use it.
    pub fn state<S: Send + Sync + 'static>(mut self, state: S) -> Self {
        self.state = Arc::new(state);
        self
    }

    /// Serves the typed request `Q` (a generated request struct, named by the handler's
    /// argument) with `handler`, which returns `Q`'s typed answer (made with
    /// [`Ctx::answer`]) or a [`HandlerError`]. Each route adds its command to those served:
    /// any other command of the application is answered 3001 with no code of yours. A
    /// request that does not decode as `Q` is answered with its Result-Code and Failed-AVP.
    ///
    /// ```no_run
    /// use diameter_core::generated::credit_control::CreditControlRequest;
    /// use diameter_node::app::{Application, Ctx};
    /// use diameter_node::HandlerError;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// let gy = Application::auth(4).state(AtomicU64::new(0)).route(
    ///     |ccr: CreditControlRequest, cx: Ctx<AtomicU64>| async move {
    ///         cx.state().fetch_add(1, Ordering::Relaxed);
    ///         Ok::<_, HandlerError>(cx.answer(&ccr, 2001))
    ///     },
    /// );
    /// ```
    ///
    /// # Panics
    /// When the handler's state type is not the one given to [`Application::state`] (or
    /// `()` without it): a mistake in the program, found when the node is built.
    pub fn route<Q, S, F, Fut>(mut self, handler: F) -> Self
    where
        Q: RequestCommand + Send + 'static,
        S: Send + Sync + 'static,
        F: Fn(Q, Ctx<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Q::Answer, HandlerError>> + Send + 'static,
    {
        let state = Arc::clone(&self.state).downcast::<S>().unwrap_or_else(|_| {
            panic!(
                "Application::route: the handler of {} takes Ctx<{}>, not the type given to Application::state",
                Q::NAME,
                std::any::type_name::<S>()
            )
        });
        Q::register_dictionary();
        let route: Arc<dyn Handler> = Arc::new(Route {
            handler,
            state,
            request: std::marker::PhantomData::<fn() -> Q>,
        });
        self.routes.retain(|(code, _)| *code != Q::CODE);
        self.routes.push((Q::CODE, route));
        let codes: Vec<u32> = self.routes.iter().map(|(c, _)| *c).collect();
        self.commands = Some(codes);
        self.handler = Some(Arc::new(Routes(self.routes.clone())));
        self
    }

    /// Whether `code` is served.
    pub(crate) fn serves(&self, code: u32) -> bool {
        self.commands.as_ref().is_none_or(|c| c.contains(&code))
    }
}

/// What a routed handler gets besides its typed request: the application's state, the
/// request as received (peer, raw message) and the node's identity for answers.
pub struct Ctx<S = ()> {
    request: Request,
    state: Arc<S>,
}

impl<S> Ctx<S> {
    /// The application's state ([`Application::state`]).
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The application's state, shared.
    pub fn state_arc(&self) -> Arc<S> {
        Arc::clone(&self.state)
    }

    /// The request as received (its peer, its raw AVPs).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The typed answer to `request` (generated `RequestCommand::answer`): this node's
    /// Origin-Host and Origin-Realm, the request's identifiers, Session-Id, application ids
    /// and the members the answer mirrors, and `result`: a Result-Code (`2001`,
    /// `ResultCode::DIAMETER_SUCCESS`) or an Experimental-Result.
    pub fn answer<Q: RequestCommand>(
        &self,
        request: &Q,
        result: impl Into<AnswerResult>,
    ) -> Q::Answer {
        let local = self.request.local();
        request.answer(&local.origin_host, &local.origin_realm, result.into())
    }
}

/// One command's typed handler.
struct Route<Q, S, F> {
    handler: F,
    state: Arc<S>,
    request: std::marker::PhantomData<fn() -> Q>,
}

impl<Q, S, F, Fut> Handler for Route<Q, S, F>
where
    Q: RequestCommand + Send + 'static,
    S: Send + Sync + 'static,
    F: Fn(Q, Ctx<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Q::Answer, HandlerError>> + Send + 'static,
{
    fn call(&self, request: Request) -> BoxFuture<Result<Answer, HandlerError>> {
        let cx = DecodeCx::with_policy(request.policy());
        match Q::decode_avps(request.message(), cx) {
            Ok(q) => {
                let cx = Ctx {
                    request,
                    state: Arc::clone(&self.state),
                };
                let fut = (self.handler)(q, cx);
                Box::pin(async move { fut.await.map(|a| Answer::typed(&a)) })
            }
            Err(e) => Box::pin(async move { Err(HandlerError::Decode(e)) }),
        }
    }
}

/// The routes of an application: the handler of the request's command code.
struct Routes(Vec<(u32, Arc<dyn Handler>)>);

impl Handler for Routes {
    fn call(&self, request: Request) -> BoxFuture<Result<Answer, HandlerError>> {
        let code = request.message().code();
        match self.0.iter().find(|(c, _)| *c == code) {
            Some((_, h)) => h.call(request),
            None => Box::pin(async { Err(HandlerError::UnsupportedCommand) }),
        }
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
