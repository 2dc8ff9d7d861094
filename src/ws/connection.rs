//! One socket's loop: reads the client's messages and answers the protocol, and watches
//! the clocks (init, idle, ping, the token's expiry), the revoked set and the shutdown
//! signal, until one of them ends the socket. Operations run in tasks of their own
//! (`operations`); everything sent goes through the socket's `outbox`.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{StreamExt as _, stream::SplitStream};
use serde_json::{Map, Value};
use tokio::time::{Instant, sleep_until};

use super::{
    Hub, Verified,
    operations::{Context, Operations},
    outbox::{self, CLOSE_GRACE, Control, End, Outbox},
    protocol::{Close, Inbound, Protocol},
    registry::Binding,
};
use crate::{
    auth::{Viewer, bearer},
    error::{AppError, AuthFailure, error_body},
    execute::Call,
    request_meta::RequestMeta,
};

/// Serves one upgraded socket until it ends.
pub(super) async fn serve(
    hub: Hub,
    socket: WebSocket,
    protocol: Option<Protocol>,
    header: Option<Result<Verified, AuthFailure>>,
    meta: RequestMeta,
) {
    let metrics = hub.inner.metrics.clone();
    let _open = metrics.socket_opened();
    let (sink, mut stream) = socket.split();
    let (outbox, inbox) = Outbox::new(hub.inner.options.queue);
    let writer = tokio::spawn(outbox::write(sink, inbox, metrics.clone()));
    let operations = Operations::default();
    let end = match protocol {
        None => End::Close(Close::SUBPROTOCOL),
        Some(protocol) => {
            let mut socket = Socket {
                hub: hub.clone(),
                protocol,
                outbox: outbox.clone(),
                operations: operations.clone(),
                meta,
                header,
                state: State::Waiting,
            };
            socket.run(&mut stream).await
        }
    };
    operations.stop_all();
    outbox.end(end);
    let end = *outbox.ending().borrow();
    if let Some(End::Close(close)) = end {
        tracing::debug!(
            code = close.code,
            reason = close.reason,
            "closing the socket"
        );
        metrics.ws_closed(close.code);
        // The client's answer to the close frame, briefly.
        let drain = async { while let Some(Ok(_)) = stream.next().await {} };
        let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE * 2, writer).await;
}

/// Where the socket is in its life.
enum State {
    /// No `connection_init` yet.
    Waiting,
    /// Acknowledged: anonymous, or bound to a session.
    Ready(Option<Bound>),
}

/// A socket bound to a verified token's session.
struct Bound {
    viewer: Viewer,
    expires: Instant,
    _binding: Binding,
}

struct Socket {
    hub: Hub,
    protocol: Protocol,
    outbox: Outbox,
    operations: Operations,
    meta: RequestMeta,
    header: Option<Result<Verified, AuthFailure>>,
    state: State,
}

impl Socket {
    fn bound(&self) -> Option<&Bound> {
        match &self.state {
            State::Ready(bound) => bound.as_ref(),
            State::Waiting => None,
        }
    }

    async fn run(&mut self, stream: &mut SplitStream<WebSocket>) -> End {
        let options = self.hub.inner.options.clone();
        let init_deadline = Instant::now() + options.init_timeout;
        let mut idle_deadline = Instant::now() + options.idle_timeout;
        let mut ping = tokio::time::interval_at(
            Instant::now() + options.ping_interval,
            options.ping_interval,
        );
        let mut revoked = self.hub.inner.revocations.changes();
        let mut shutdown = self.hub.inner.shutdown.subscribe();
        let mut ending = self.outbox.ending();
        if matches!(self.header, Some(Err(_))) {
            return End::Close(Close::FORBIDDEN);
        }
        if *shutdown.borrow_and_update() {
            return End::Close(Close::RESTART);
        }
        loop {
            let waiting = matches!(self.state, State::Waiting);
            let expires = self.bound().map(|bound| bound.expires);
            let far = Instant::now() + Duration::from_secs(86_400 * 365);
            tokio::select! {
                frame = stream.next() => {
                    idle_deadline = Instant::now() + options.idle_timeout;
                    let message = match frame {
                        None | Some(Ok(Message::Close(_))) => return End::Peer,
                        Some(Err(error)) => return read_error(error),
                        Some(Ok(message)) => message,
                    };
                    if let Err(close) = self.receive(message) {
                        return End::Close(close);
                    }
                }
                () = sleep_until(init_deadline), if waiting => {
                    return End::Close(Close::INIT_TIMEOUT);
                }
                () = sleep_until(idle_deadline) => return End::Close(Close::IDLE),
                _ = ping.tick() => {
                    self.outbox.control(Control::Text(self.protocol.keep_alive()));
                    self.outbox.control(Control::Ping);
                }
                Ok(()) = revoked.changed(), if expires.is_some() => {
                    let revoked_now = self.bound().is_some_and(|bound| {
                        self.hub.inner.revocations.is_revoked(bound.viewer.session_id())
                    });
                    if revoked_now {
                        return End::Close(Close::FORBIDDEN);
                    }
                }
                () = sleep_until(expires.unwrap_or(far)), if expires.is_some() => {
                    return End::Close(Close::FORBIDDEN);
                }
                _ = shutdown.changed() => return End::Close(Close::RESTART),
                _ = ending.changed() => return (*ending.borrow()).unwrap_or(End::Peer),
            }
        }
    }

    /// Handles one frame; `Err` closes the socket.
    fn receive(&mut self, message: Message) -> Result<(), Close> {
        let text = match message {
            Message::Text(text) => text,
            // Answered by the WebSocket layer itself; they count as signs of life.
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
            Message::Binary(_) | Message::Close(_) => return Err(Close::MALFORMED),
        };
        let inbound = self
            .protocol
            .parse(text.as_str())
            .map_err(|_| Close::MALFORMED)?;
        match inbound {
            Inbound::Init(payload) => self.init(&payload),
            Inbound::Subscribe { id, request } => self.subscribe(id, *request),
            Inbound::Complete { id } => {
                self.operations.stop(&id);
                Ok(())
            }
            Inbound::Ping => {
                self.outbox.control(Control::Text(self.protocol.pong()));
                Ok(())
            }
            Inbound::Pong => Ok(()),
            Inbound::Terminate => Err(Close::NORMAL),
        }
    }

    /// `connection_init`: finds the credential, binds the socket to its session, acks.
    fn init(&mut self, payload: &Map<String, Value>) -> Result<(), Close> {
        if !matches!(self.state, State::Waiting) {
            return Err(Close::DUPLICATE_INIT);
        }
        let found = match self.header.take() {
            Some(header) => Some(header),
            None => credential(payload).map(|token| token.and_then(|t| self.hub.verify(t))),
        };
        let bound = match found {
            None => None,
            Some(Err(_)) => return Err(Close::FORBIDDEN),
            Some(Ok((viewer, expires_at))) => {
                let binding = self.hub.inner.registry.bind(&viewer)?;
                let left = (expires_at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or_default();
                tracing::Span::current().record("viewer", viewer.user_id().as_str());
                Some(Bound {
                    viewer,
                    expires: Instant::now() + left,
                    _binding: binding,
                })
            }
        };
        self.state = State::Ready(bound);
        self.outbox.control(Control::Text(self.protocol.ack()));
        Ok(())
    }

    /// `subscribe`: checks the document and starts the operation.
    fn subscribe(&mut self, id: String, mut request: async_graphql::Request) -> Result<(), Close> {
        let State::Ready(bound) = &self.state else {
            return Err(Close::UNAUTHORIZED);
        };
        if self.operations.contains(&id) {
            return Err(Close::DUPLICATE_ID);
        }
        let executor = self.hub.inner.executor.clone();
        let inspection = executor.inspect(&mut request);
        let subscription = inspection.refusal.is_none()
            && inspection
                .operation
                .as_ref()
                .is_some_and(|op| op.subscription);
        let request_id = uuid::Uuid::new_v4().to_string();
        let max = self.hub.inner.options.max_subscriptions;
        if self.operations.count(subscription) >= max {
            let (what, reason) = if subscription {
                ("subscriptions", "TOO_MANY_SUBSCRIPTIONS")
            } else {
                ("queries and mutations in flight", "TOO_MANY_OPERATIONS")
            };
            let refusal = AppError::QueryRefused {
                reason,
                message: format!("a socket may run at most {max} {what} at once"),
            };
            let body = error_body(refusal.to_server_error(&request_id));
            let body = serde_json::to_vec(&body).unwrap_or_default();
            self.outbox
                .control(Control::Text(self.protocol.error(&id, &body)));
            return Ok(());
        }
        let call = Call {
            request,
            inspection,
            viewer: bound.as_ref().map(|bound| bound.viewer.clone()),
            meta: self.meta.clone(),
            request_id,
            cookie: None,
        };
        let context = Context {
            executor,
            protocol: self.protocol,
            outbox: self.outbox.clone(),
            metrics: self.hub.inner.metrics.clone(),
        };
        self.operations.start(id, subscription, call, context);
        Ok(())
    }
}

/// The `connection_init` payload's credential: `accessToken`, else an `Authorization` (or
/// `authorization`) string `Bearer <token>`. `Err` for one that is there but unusable.
fn credential(payload: &Map<String, Value>) -> Option<Result<&str, AuthFailure>> {
    if let Some(token) = payload.get("accessToken") {
        let token = token.as_str().map(str::trim).filter(|t| !t.is_empty());
        return Some(token.ok_or(AuthFailure::TokenInvalid));
    }
    ["Authorization", "authorization"]
        .into_iter()
        .find_map(|key| payload.get(key))
        .map(|value| {
            value
                .as_str()
                .and_then(bearer)
                .ok_or(AuthFailure::TokenInvalid)
        })
}

/// A read that failed: a message or frame over the size cap closes 1009; anything else
/// means the client is gone.
fn read_error(error: axum::Error) -> End {
    use tokio_tungstenite::tungstenite::Error;
    let inner = error.into_inner();
    match inner.downcast_ref::<Error>() {
        Some(Error::Capacity(_)) => End::Close(Close::TOO_BIG),
        Some(Error::Utf8(_)) => End::Close(Close::MALFORMED),
        _ => End::Peer,
    }
}
