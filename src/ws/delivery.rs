//! The overflow policy between a subscription's events and the socket's one queue (see the
//! parent module): [`forward`] on the socket's side, [`resync_on_overflow`] on the
//! resolver's, and the [`Delivery`] flags they share.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::Poll,
};

use futures_util::{Stream, StreamExt as _, task::AtomicWaker};

use super::{outbox::Outbox, protocol::Close};
use crate::metrics::Metrics;

/// What a socket and one of its subscriptions tell each other about dropped events. The
/// socket puts one in the data of every subscription it runs; resolvers reach it through
/// [`resync_on_overflow`].
#[derive(Clone, Default)]
pub(crate) struct Delivery(Arc<Flags>);

#[derive(Default)]
struct Flags {
    /// A stream wrapped by [`resync_on_overflow`] serves this subscription.
    attached: AtomicBool,
    /// The socket wants the replacement item at the stream's next poll.
    requested: AtomicBool,
    /// The stream has yielded the replacement, not yet seen by the socket.
    yielded: AtomicBool,
    /// Wakes the stream for the replacement: the engine polls a subscription's stream only
    /// when it is woken, not each time its own answer stream is polled.
    waker: AtomicWaker,
}

impl Delivery {
    fn attach(&self) {
        self.0.attached.store(true, Ordering::SeqCst);
    }

    fn attached(&self) -> bool {
        self.0.attached.load(Ordering::SeqCst)
    }

    fn request(&self) {
        self.0.requested.store(true, Ordering::SeqCst);
        self.0.waker.wake();
    }

    /// The stream's side: whether to yield the replacement now (and marks it yielded).
    fn take_request(&self) -> bool {
        let requested = self.0.requested.swap(false, Ordering::SeqCst);
        if requested {
            self.0.yielded.store(true, Ordering::SeqCst);
        }
        requested
    }

    /// The socket's side: whether the answer just received is the replacement. Sound
    /// because the engine resolves a subscription's items one at a time, in order.
    fn take_yielded(&self) -> bool {
        self.0.yielded.swap(false, Ordering::SeqCst)
    }
}

/// Wraps a subscription resolver's `events` so that, over a WebSocket whose queue dropped
/// some of them, `resync()` is yielded in their place (see the parent module's policy).
/// Elsewhere (no [`Delivery`] in the context) the events pass through untouched.
pub(crate) fn resync_on_overflow<T, S, F>(
    ctx: &async_graphql::Context<'_>,
    events: S,
    resync: F,
) -> impl Stream<Item = T> + Send + 'static + use<T, S, F>
where
    S: Stream<Item = T> + Send + 'static,
    F: FnMut() -> T + Send + 'static,
{
    resyncing(ctx.data_opt::<Delivery>().cloned(), events, resync)
}

fn resyncing<T, S, F>(
    delivery: Option<Delivery>,
    events: S,
    mut resync: F,
) -> impl Stream<Item = T> + Send + 'static
where
    S: Stream<Item = T> + Send + 'static,
    F: FnMut() -> T + Send + 'static,
{
    if let Some(delivery) = &delivery {
        delivery.attach();
    }
    let mut events: Pin<Box<S>> = Box::pin(events);
    futures_util::stream::poll_fn(move |cx| {
        if let Some(delivery) = &delivery {
            delivery.0.waker.register(cx.waker());
        }
        if delivery.as_ref().is_some_and(Delivery::take_request) {
            return Poll::Ready(Some(resync()));
        }
        events.as_mut().poll_next(cx)
    })
}

/// How [`forward`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Forwarded {
    /// The stream ended: the subscription is complete.
    Ended,
    /// The socket is closing (or this subscription closed it, 1013).
    Closed,
}

/// Forwards a subscription's `next` messages into the socket's queue under the overflow
/// policy, until the stream ends or the socket closes.
pub(super) async fn forward<S>(
    mut messages: S,
    outbox: &Outbox,
    delivery: &Delivery,
    metrics: &Metrics,
) -> Forwarded
where
    S: Stream<Item = String> + Unpin,
{
    loop {
        let Some(message) = messages.next().await else {
            return Forwarded::Ended;
        };
        match outbox.try_reserve() {
            Ok(permit) => {
                permit.send(message);
                metrics.ws_event(true);
            }
            Err(false) => return Forwarded::Closed,
            Err(true) => {
                metrics.ws_event(false);
                if let Some(ended) = catch_up(&mut messages, outbox, delivery, metrics).await {
                    return ended;
                }
            }
        }
    }
}

/// After a dropped event: waits for room (a further event first means the client is still
/// behind: close 1013), then sends the replacement in it. `None` when the stream goes on.
async fn catch_up<S>(
    messages: &mut S,
    outbox: &Outbox,
    delivery: &Delivery,
    metrics: &Metrics,
) -> Option<Forwarded>
where
    S: Stream<Item = String> + Unpin,
{
    let permit = tokio::select! {
        biased;
        permit = outbox.reserve() => permit?,
        next = messages.next() => {
            if next.is_none() {
                return Some(Forwarded::Ended);
            }
            metrics.ws_event(false);
            outbox.close(Close::SLOW);
            return Some(Forwarded::Closed);
        }
    };
    if !delivery.attached() {
        return None;
    }
    delivery.request();
    loop {
        let Some(message) = messages.next().await else {
            return Some(Forwarded::Ended);
        };
        if delivery.take_yielded() {
            permit.send(message);
            metrics.ws_event(true);
            metrics.ws_resync("socket_queue");
            return None;
        }
        // Resolved before the request: the replacement covers it.
        metrics.ws_event(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// An event source, its wrapped stream of messages, a socket queue of one message and
    /// its writer's side.
    fn setup() -> (
        mpsc::UnboundedSender<String>,
        impl Stream<Item = String> + Unpin,
        Delivery,
        Outbox,
        super::super::outbox::Inbox,
    ) {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let delivery = Delivery::default();
        let wrapped = resyncing(Some(delivery.clone()), events, || "RESYNC".to_owned());
        let (outbox, inbox) = Outbox::new(1);
        (tx, Box::pin(wrapped), delivery, outbox, inbox)
    }

    async fn settle() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn a_dropped_event_is_replaced_once_there_is_room() -> anyhow::Result<()> {
        let metrics = Arc::new(Metrics::new()?);
        let (tx, messages, delivery, outbox, mut inbox) = setup();
        let forwarding = {
            let (outbox, metrics) = (outbox.clone(), Arc::clone(&metrics));
            tokio::spawn(async move { forward(messages, &outbox, &delivery, &metrics).await })
        };
        tx.send("e1".into())?;
        tx.send("e2".into())?;
        settle().await;
        assert_eq!(inbox.next().await.as_deref(), Some("e1"), "e2 did not fit");
        settle().await;
        assert_eq!(inbox.next().await.as_deref(), Some("RESYNC"));
        tx.send("e3".into())?;
        assert_eq!(inbox.next().await.as_deref(), Some("e3"));
        drop(tx);
        assert_eq!(forwarding.await?, Forwarded::Ended);
        Ok(())
    }

    #[tokio::test]
    async fn a_second_overflow_in_a_row_closes_1013() -> anyhow::Result<()> {
        let metrics = Arc::new(Metrics::new()?);
        let (tx, messages, delivery, outbox, inbox) = setup();
        let mut ending = outbox.ending();
        let forwarding = {
            let outbox = outbox.clone();
            tokio::spawn(async move { forward(messages, &outbox, &delivery, &metrics).await })
        };
        for event in ["e1", "e2", "e3"] {
            tx.send(event.into())?;
            settle().await;
        }
        assert_eq!(forwarding.await?, Forwarded::Closed);
        ending.changed().await?;
        assert_eq!(
            *ending.borrow(),
            Some(super::super::outbox::End::Close(Close::SLOW))
        );
        drop(inbox);
        Ok(())
    }
}
