//! The operations running on one socket, by the client's id, and the task that runs each.
//!
//! An id is taken from `subscribe` until the operation's last message is queued, so a
//! client may reuse it as soon as it sees `complete` or `error`, and never earlier (4409).
//! Each task holds a [`Ticket`] that frees the id when the task is done or dropped.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use futures_util::StreamExt as _;
use tokio::task::AbortHandle;

use super::{
    delivery::{Delivery, Forwarded, forward},
    outbox::Outbox,
    protocol::Protocol,
};
use crate::{
    execute::{Call, Executor},
    metrics::Metrics,
};

/// The running operations of one socket.
#[derive(Clone, Default)]
pub(super) struct Operations(Arc<Mutex<Table>>);

#[derive(Default)]
struct Table {
    next: u64,
    running: HashMap<String, Running>,
}

struct Running {
    seq: u64,
    subscription: bool,
    task: AbortHandle,
}

/// An operation's claim on its id; dropping it frees the id (unless the client already
/// stopped the operation and reused the id).
pub(super) struct Ticket {
    operations: Operations,
    id: String,
    seq: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut table = self.operations.table();
        if table
            .running
            .get(&self.id)
            .is_some_and(|r| r.seq == self.seq)
        {
            table.running.remove(&self.id);
        }
    }
}

/// What an operation's task needs besides its call.
pub(super) struct Context {
    pub(super) executor: Executor,
    pub(super) protocol: Protocol,
    pub(super) outbox: Outbox,
    pub(super) metrics: Arc<Metrics>,
}

impl Operations {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `id` is running.
    pub(super) fn contains(&self, id: &str) -> bool {
        self.table().running.contains_key(id)
    }

    /// How many subscriptions (`true`) or queries and mutations (`false`) are running.
    pub(super) fn count(&self, subscription: bool) -> usize {
        let table = self.table();
        let running = table.running.values();
        running.filter(|r| r.subscription == subscription).count()
    }

    /// Starts the operation `id` in a task of its own.
    pub(super) fn start(&self, id: String, subscription: bool, call: Call, context: Context) {
        let span = tracing::info_span!(
            "operation",
            request_id = %call.request_id,
            operation = tracing::field::Empty,
            viewer = tracing::field::Empty,
        );
        // Held while spawning, so the task cannot free its id before it is recorded.
        let mut table = self.table();
        table.next += 1;
        let ticket = Ticket {
            operations: self.clone(),
            id: id.clone(),
            seq: table.next,
        };
        let task = if subscription {
            tokio::spawn(tracing::Instrument::instrument(
                stream(call, context, ticket),
                span,
            ))
        } else {
            tokio::spawn(tracing::Instrument::instrument(
                once(call, context, ticket),
                span,
            ))
        };
        let running = Running {
            seq: table.next,
            subscription,
            task: task.abort_handle(),
        };
        table.running.insert(id, running);
    }

    /// Stops the operation `id` (the client's `complete`); nothing more is sent for it.
    pub(super) fn stop(&self, id: &str) {
        if let Some(running) = self.table().running.remove(id) {
            running.task.abort();
        }
    }

    /// Stops every operation: the socket is closing.
    pub(super) fn stop_all(&self) {
        for (_, running) in self.table().running.drain() {
            running.task.abort();
        }
    }
}

/// A query or mutation: one answer (`next` and `complete`), or `error` when it never ran.
async fn once(call: Call, context: Context, ticket: Ticket) {
    let Context {
        executor,
        protocol,
        outbox,
        ..
    } = context;
    let answer = executor.run(call, executor.max_response_bytes()).await;
    let id = ticket.id.clone();
    drop(ticket);
    if answer.never_ran {
        outbox.send(protocol.error(&id, &answer.encoded)).await;
    } else {
        outbox.send(protocol.next(&id, &answer.encoded)).await;
        outbox.send(protocol.complete(&id)).await;
    }
}

/// A subscription: its answers as `next` messages under the overflow policy, then
/// `complete`; or `error` when it never ran.
async fn stream(mut call: Call, context: Context, ticket: Ticket) {
    let Context {
        executor,
        protocol,
        outbox,
        metrics,
    } = context;
    let delivery = Delivery::default();
    call.request = call.request.data(delivery.clone());
    let mut answers = executor.subscribe(call);
    let id = ticket.id.clone();
    let Some(first) = answers.next().await else {
        drop(ticket);
        outbox.send(protocol.complete(&id)).await;
        return;
    };
    // A subscription refused as it starts (no viewer, a bad cursor) ends with `error`.
    if first.never_ran || first.no_data {
        drop(ticket);
        outbox.send(protocol.error(&id, &first.encoded)).await;
        return;
    }
    let messages = futures_util::stream::once(async { first })
        .chain(answers)
        .map(|answer| protocol.next(&id, &answer.encoded));
    let forwarded = forward(Box::pin(messages), &outbox, &delivery, &metrics).await;
    drop(ticket);
    if forwarded == Forwarded::Ended {
        outbox.send(protocol.complete(&id)).await;
    }
}
