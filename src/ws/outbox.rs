//! A socket's outbound side: ONE bounded queue of messages (answers, events, `error`,
//! `complete`), a small queue for the connection's own control messages (ack, ping, pong),
//! the close signal, and the writer task that drains them into the socket.
//!
//! The writer prefers the close signal, then control messages, then the queue. A control
//! message that finds its queue full means the client reads nothing at all: the socket
//! closes 1013. When the close comes the writer sends the close frame (if the server is
//! the one closing) and stops; a client that does not take it within a second is dropped.

use std::{sync::Arc, time::Duration};

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt as _};
use tokio::sync::{
    mpsc::{self, Permit, error::TrySendError},
    watch,
};

use super::protocol::{Close, kind_of};
use crate::metrics::Metrics;

/// How long a close frame, or the client's answer to it, may take.
pub(super) const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Control messages waiting at most: more means the client reads nothing.
const CONTROL_QUEUE: usize = 16;

/// How a socket ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The server closes it with this code.
    Close(Close),
    /// The client closed it, or went away.
    Peer,
}

/// A control message: text, or a WebSocket ping frame.
#[derive(Debug)]
pub(super) enum Control {
    Text(String),
    Ping,
}

/// The sending side, shared by the connection loop and its operations.
#[derive(Clone)]
pub(crate) struct Outbox {
    queue: mpsc::Sender<String>,
    control: mpsc::Sender<Control>,
    end: Arc<watch::Sender<Option<End>>>,
}

/// The writer's side.
pub(super) struct Inbox {
    queue: mpsc::Receiver<String>,
    control: mpsc::Receiver<Control>,
    end: watch::Receiver<Option<End>>,
}

impl Outbox {
    /// An outbox whose queue holds `capacity` messages, and its writer's side.
    pub(super) fn new(capacity: usize) -> (Self, Inbox) {
        let (queue, queued) = mpsc::channel(capacity.max(1));
        let (control, controls) = mpsc::channel(CONTROL_QUEUE);
        let (end, ended) = watch::channel(None);
        let outbox = Self {
            queue,
            control,
            end: Arc::new(end),
        };
        let inbox = Inbox {
            queue: queued,
            control: controls,
            end: ended,
        };
        (outbox, inbox)
    }

    /// Queues `message`, waiting for room; dropped if the socket is closing.
    pub(crate) async fn send(&self, message: String) {
        let _ = self.queue.send(message).await;
    }

    /// A place in the queue now, or `Err(true)` when it is full (`Err(false)`: closed).
    pub(crate) fn try_reserve(&self) -> Result<Permit<'_, String>, bool> {
        self.queue.try_reserve().map_err(|error| match error {
            TrySendError::Full(()) => true,
            TrySendError::Closed(()) => false,
        })
    }

    /// A place in the queue once there is room; `None` when the socket is closing.
    pub(crate) async fn reserve(&self) -> Option<Permit<'_, String>> {
        self.queue.reserve().await.ok()
    }

    /// Sends a control message ahead of the queue; a client that lets them pile up is
    /// closed 1013.
    pub(super) fn control(&self, message: Control) {
        if let Err(TrySendError::Full(_)) = self.control.try_send(message) {
            self.end(End::Close(Close::SLOW));
        }
    }

    /// Ends the socket; the first end given wins.
    pub(crate) fn end(&self, end: End) {
        self.end.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(end);
            }
            first
        });
    }

    /// Closes the socket with `close`, unless it is already ending.
    pub(crate) fn close(&self, close: Close) {
        self.end(End::Close(close));
    }

    /// Sees the socket's end when it comes.
    pub(super) fn ending(&self) -> watch::Receiver<Option<End>> {
        self.end.subscribe()
    }
}

/// Writes what `inbox` receives to `sink` until the socket ends, then closes it.
pub(super) async fn write<S>(mut sink: S, mut inbox: Inbox, metrics: Arc<Metrics>)
where
    S: Sink<Message> + Unpin,
{
    loop {
        let (message, kind) = tokio::select! {
            biased;
            _ = inbox.end.changed() => break,
            Some(control) = inbox.control.recv() => match control {
                Control::Text(text) => {
                    let kind = kind_of(&text);
                    (Message::Text(text.into()), kind)
                }
                Control::Ping => (Message::Ping(Default::default()), "ping_frame"),
            },
            Some(text) = inbox.queue.recv() => {
                let kind = kind_of(&text);
                (Message::Text(text.into()), kind)
            }
            else => break,
        };
        let sent = tokio::select! {
            biased;
            _ = inbox.end.changed() => break,
            sent = sink.send(message) => sent,
        };
        if sent.is_err() {
            break;
        }
        metrics.ws_sent(kind);
    }
    let end = *inbox.end.borrow();
    if let Some(End::Close(close)) = end {
        let frame = CloseFrame {
            code: close.code,
            reason: close.reason.into(),
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
}

#[cfg(test)]
impl Inbox {
    /// The next queued message, as the writer would take it.
    pub(super) async fn next(&mut self) -> Option<String> {
        self.queue.recv().await
    }
}
