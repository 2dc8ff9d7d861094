//! GraphQL over WebSocket: the `graphql-transport-ws` subprotocol (and the legacy
//! `graphql-ws` behind `WS_LEGACY_PROTOCOL`), driven by our own connection loop.
//!
//! The HTTP layer upgrades `GET /graphql` (`http::upgrade`: origin, capacity, subprotocol,
//! the `Authorization` header's token) and hands the socket to [`Hub::serve`]. From there:
//!
//! - **Credentials**, first found wins: the upgrade's `Authorization: Bearer` header, the
//!   `connection_init` payload's `accessToken`, its `Authorization`/`authorization` string.
//!   None: acknowledged as anonymous. A bad, expired or revoked one: no `connection_ack`,
//!   close 4403. Tokens are checked with no clock-skew leeway.
//! - **Binding**: the socket belongs to the token's session. [`Revocations`] wakes every
//!   socket when a session joins the revoked set (on any replica: its feed is the
//!   PostgreSQL `LISTEN` one), and a socket whose session it is closes 4403; so does a
//!   socket at its token's `exp`.
//! - **Operations** (queries, mutations, subscriptions) run concurrently, each through the
//!   same [`Executor`] as HTTP: the same limits, rate limits and error shaping. A document
//!   that never runs gets an `error` message and the socket stays open.
//! - **Close codes**: 4400 malformed, 4401 `subscribe` before the ack, 4403 credentials,
//!   4406 no subprotocol we speak, 4408 no `connection_init` in `WS_INIT_TIMEOUT`, 4409 a
//!   running id reused, 4429 a second `connection_init`, 1001 idle past
//!   `WS_IDLE_TIMEOUT`, 1008 too many sockets for the session or user, 1009 a message over
//!   `WS_MAX_MESSAGE_BYTES`, 1012 shutdown, 1013 a client that reads too slowly.
//!
//! # The outbound queue and the overflow interface for subscriptions
//!
//! Each socket has ONE bounded queue of `WS_QUEUE` messages, drained by its writer task.
//! Answers of queries and mutations, `error` and `complete` wait for room; a subscription's
//! events never wait: an event that finds the queue full is dropped, and so a slow reader
//! stalls neither other sockets nor the other streams of its own socket.
//!
//! What replaces dropped events is for the subscription to say, through a [`Delivery`]
//! that the socket puts in the data of every subscription it runs. A resolver wraps its
//! event stream with [`resync_on_overflow`], giving the item to send instead:
//!
//! ```ignore
//! let events = feed.subscribe(viewer.user_id());
//! Ok(ws::resync_on_overflow(ctx, events, move || TodoEvent::resync(&cursor)))
//! ```
//!
//! The policy: when an event does not fit, the socket drops it and waits for room; the
//! first time there is room again it asks the stream for the replacement (the wrapped
//! stream yields `resync()` at its next poll, in place of polling the events), and sends
//! that one item, executed against the client's selection like any event, in the freed
//! slot. Events that arrive after the drop and before the replacement are dropped too
//! (the replacement covers them). If another event arrives while the queue is still full
//! (it overflowed twice in a row), the socket closes 1013. Without the wrapper (over HTTP,
//! or a stream that does not use it) nothing replaces the dropped events and the stream
//! carries on once there is room; the 1013 rule still holds.

mod connection;
mod delivery;
mod operations;
mod outbox;
mod protocol;
mod registry;

use std::{sync::Arc, time::Duration};

use axum::extract::ws::WebSocket;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub(crate) use delivery::resync_on_overflow;
pub(crate) use protocol::Protocol;
pub(crate) use registry::Slot;

use crate::{
    auth::{Revocations, Tokens, Viewer},
    error::AuthFailure,
    execute::Executor,
    metrics::Metrics,
    request_meta::RequestMeta,
};

/// The WebSocket settings.
#[derive(Debug, Clone)]
pub struct WsOptions {
    /// Also speak the legacy `graphql-ws` subprotocol.
    pub legacy_protocol: bool,
    /// How long a socket may take to send `connection_init`.
    pub init_timeout: Duration,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// How long a socket may send nothing.
    pub idle_timeout: Duration,
    /// Open sockets on this instance at most.
    pub max_connections: usize,
    /// Largest inbound message and frame, in bytes.
    pub max_message_bytes: usize,
    /// Messages waiting to be written to one socket at most.
    pub queue: usize,
    /// Subscriptions running on one socket at most (and queries and mutations in flight).
    pub max_subscriptions: usize,
    /// Open sockets of one session at most.
    pub max_per_session: usize,
    /// Open sockets of one user at most.
    pub max_per_user: usize,
}

/// What every socket of this instance shares: the settings, the executor, the token
/// service and the revoked set, the socket counts, and the shutdown signal.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    options: WsOptions,
    executor: Executor,
    tokens: Tokens,
    revocations: Revocations,
    metrics: Arc<Metrics>,
    registry: Arc<registry::Registry>,
    shutdown: watch::Sender<bool>,
}

/// A verified access token: who, and until when.
pub(crate) type Verified = (Viewer, DateTime<Utc>);

impl Hub {
    /// The sockets' shared state.
    pub fn new(
        options: WsOptions,
        executor: Executor,
        tokens: Tokens,
        revocations: Revocations,
        metrics: Arc<Metrics>,
    ) -> Self {
        let registry = Arc::new(registry::Registry::new(&options));
        Self {
            inner: Arc::new(Inner {
                options,
                executor,
                tokens,
                revocations,
                metrics,
                registry,
                shutdown: watch::Sender::new(false),
            }),
        }
    }

    /// The subprotocols spoken, in the order of preference.
    pub(crate) fn protocols(&self) -> Vec<&'static str> {
        let mut protocols = vec![Protocol::TransportWs.name()];
        if self.inner.options.legacy_protocol {
            protocols.push(Protocol::Legacy.name());
        }
        protocols
    }

    /// The largest inbound message and frame.
    pub(crate) fn max_message_bytes(&self) -> usize {
        self.inner.options.max_message_bytes
    }

    /// Takes a place for one more socket; `None` when the instance has `WS_MAX_CONNECTIONS`
    /// open (or is shutting down).
    pub(crate) fn reserve(&self) -> Option<Slot> {
        if *self.inner.shutdown.borrow() {
            return None;
        }
        self.inner.registry.open()
    }

    /// Verifies an access token for a socket: no leeway; gives its expiry.
    pub(crate) fn verify(&self, token: &str) -> Result<Verified, AuthFailure> {
        self.inner.tokens.verify_exact(token)
    }

    /// Serves one upgraded socket until it closes. `protocol` is the negotiated
    /// subprotocol (`None`: none we speak was offered, closed 4406); `header` is the
    /// upgrade's `Authorization` token, if it had one.
    pub(crate) async fn serve(
        self,
        socket: WebSocket,
        protocol: Option<Protocol>,
        header: Option<Result<Verified, AuthFailure>>,
        meta: RequestMeta,
        slot: Slot,
    ) {
        connection::serve(self, socket, protocol, header, meta).await;
        drop(slot);
    }

    /// Closes every socket with 1012 (new ones are refused) and waits, at most `grace`,
    /// for them to be gone.
    pub async fn shut_down(&self, grace: Duration) {
        self.inner.shutdown.send_replace(true);
        if tokio::time::timeout(grace, self.inner.registry.all_closed())
            .await
            .is_err()
        {
            tracing::warn!(?grace, "WebSockets still open after the shutdown grace");
        }
    }
}
