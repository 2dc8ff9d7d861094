//! One followed account: the reader that turns "the log reached N" into the changed rows,
//! read once for every follower, and the followers' shared buffer.

use std::{
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    sync::{Notify, broadcast, watch},
    task::JoinHandle,
};

use super::Inner;
use crate::{
    auth::UserId,
    db::DbPool,
    metrics::Metrics,
    store::changes::{self, Change, Position},
};

/// Rows read per round trip while catching up.
const PAGE: usize = 500;

/// How often a followed account's log is read without a notification.
const REREAD_EVERY: Duration = Duration::from_secs(30);

/// What a follower is told.
#[derive(Debug)]
pub(crate) enum FeedEvent {
    /// A todo changed; `created` when it did not exist at the position before.
    Change {
        /// The change, with the todo as it is now (or its tombstone).
        change: Change,
        /// Whether the todo was created since the follower's previous event.
        created: bool,
    },
    /// Events were lost after `after`: read the log from there.
    Resync {
        /// The last position delivered before the gap.
        after: Position,
        /// Why, for the metrics: `notifications` (the listening connection reconnected),
        /// `feed_buffer` (the follower fell behind), `cursor` (the log was purged past
        /// the account's reader).
        cause: &'static str,
    },
}

/// Where the account's reader is, and the buffer it fills: changed together, so a
/// follower that joins knows exactly which events it will get.
struct Published {
    position: Position,
    events: broadcast::Sender<Arc<FeedEvent>>,
}

/// A followed account.
pub(super) struct Account {
    owner: UserId,
    heard: watch::Sender<i64>,
    resync: Arc<Notify>,
    published: Arc<Mutex<Published>>,
    followers: AtomicUsize,
    feed: Weak<Inner>,
    reader: Mutex<Option<JoinHandle<()>>>,
    metrics: Arc<Metrics>,
}

impl Account {
    /// Starts following `owner` from the end of its log, `head`.
    pub(super) fn start(
        db: DbPool,
        owner: UserId,
        head: i64,
        events: broadcast::Sender<Arc<FeedEvent>>,
        feed: Weak<Inner>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let (heard, heard_rx) = watch::channel(head);
        let published = Arc::new(Mutex::new(Published {
            position: Position::after_seq(head),
            events,
        }));
        let resync = Arc::new(Notify::new());
        let reader = tokio::spawn(read(
            db,
            owner.clone(),
            heard_rx,
            resync.clone(),
            published.clone(),
        ));
        Arc::new(Self {
            owner,
            heard,
            resync,
            published,
            followers: AtomicUsize::new(0),
            feed,
            reader: Mutex::new(Some(reader)),
            metrics,
        })
    }

    /// A new follower, receiving every event after the current position.
    pub(super) fn join(self: &Arc<Self>) -> Follower {
        let published = self.published();
        self.followers.fetch_add(1, Ordering::SeqCst);
        Follower {
            events: published.events.subscribe(),
            last: published.position.clone(),
            account: self.clone(),
        }
    }

    /// How many followers it has.
    pub(super) fn followers(&self) -> usize {
        self.followers.load(Ordering::SeqCst)
    }

    /// The log reached `seq`.
    pub(super) fn advanced(&self, seq: i64) {
        self.heard.send_if_modified(|heard| {
            let newer = seq > *heard;
            if newer {
                *heard = seq;
            }
            newer
        });
    }

    /// Events may have been lost: tell the followers, then catch up.
    pub(super) fn resync(&self) {
        self.resync.notify_one();
    }

    fn published(&self) -> std::sync::MutexGuard<'_, Published> {
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(reader) = reader.as_ref() {
            reader.abort();
        }
    }
}

/// One follower of an account: its events, in the log's order.
pub(crate) struct Follower {
    events: broadcast::Receiver<Arc<FeedEvent>>,
    last: Position,
    account: Arc<Account>,
}

impl Follower {
    /// Where its events start, until the first one: the position it joined at.
    pub(crate) fn position(&self) -> &Position {
        &self.last
    }

    /// The next event. A follower that fell too far behind gets [`FeedEvent::Resync`]
    /// in place of the events it missed.
    pub(crate) async fn next(&mut self) -> Arc<FeedEvent> {
        loop {
            match self.events.recv().await {
                Ok(event) => {
                    match &*event {
                        FeedEvent::Change { change, .. } => self.last = change.position(),
                        FeedEvent::Resync { cause, .. } => self.account.metrics.ws_resync(cause),
                    }
                    return event;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.account.metrics.ws_resync("feed_buffer");
                    return Arc::new(FeedEvent::Resync {
                        after: self.last.clone(),
                        cause: "feed_buffer",
                    });
                }
                // The reader holds a sender for as long as the account lives, and the
                // follower holds the account: wait for the next event.
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// Counts a RESYNC its subscriber sent for its own `cause` (see the metric).
    pub(crate) fn count_resync(&self, cause: &str) {
        self.account.metrics.ws_resync(cause);
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        if self.account.followers.fetch_sub(1, Ordering::SeqCst) == 1
            && let Some(feed) = self.account.feed.upgrade()
        {
            feed.forget(self.account.owner.as_str());
        }
    }
}

/// The account's reader: on every report of a newer head (and once at start, for a write
/// that committed while the account was being set up), reads what changed after its
/// position and publishes it.
async fn read(
    db: DbPool,
    owner: UserId,
    mut heard: watch::Receiver<i64>,
    resync: Arc<Notify>,
    published: Arc<Mutex<Published>>,
) {
    let lock = || published.lock().unwrap_or_else(PoisonError::into_inner);
    let mut first = true;
    loop {
        if !first {
            // Read the log even unasked now and then: a writer that crashed between its
            // commit and its notification told nobody.
            let mut due = false;
            tokio::select! {
                changed = heard.changed() => if changed.is_err() { return },
                () = resync.notified() => {
                    let state = lock();
                    let _ = state.events.send(Arc::new(FeedEvent::Resync {
                        after: state.position.clone(),
                        cause: "notifications",
                    }));
                    due = true;
                }
                () = tokio::time::sleep(REREAD_EVERY) => due = true,
            }
            let newest = *heard.borrow_and_update();
            if !due && newest <= lock().position.seen_through() {
                continue;
            }
        }
        first = false;
        catch_up(&db, &owner, &published).await;
    }
}

/// Reads and publishes every change after the published position, retrying (with a
/// growing pause) while the database does not answer, so nothing is skipped.
async fn catch_up(db: &DbPool, owner: &UserId, published: &Mutex<Published>) {
    let lock = || published.lock().unwrap_or_else(PoisonError::into_inner);
    let mut pause = Duration::from_millis(100);
    loop {
        let from = lock().position.clone();
        let page = match db.get().await {
            Ok(mut conn) => changes::since(&mut conn, owner, Some(&from), PAGE).await,
            Err(error) => Err(error),
        };
        match page {
            Ok(Some(page)) => {
                let mut state = lock();
                for change in page.changes {
                    let created = matches!(&change, Change::Upserted(todo) if todo.created_seq() > from.seen_through());
                    state.position = change.position();
                    let _ = state
                        .events
                        .send(Arc::new(FeedEvent::Change { change, created }));
                }
                if !page.has_more {
                    return;
                }
            }
            // The log was purged past this position (an account followed for longer than
            // tombstones are kept): say so, and go on from the end of the log.
            Ok(None) => {
                let head = match db.get().await {
                    Ok(mut conn) => changes::head(&mut conn, owner).await,
                    Err(error) => Err(error),
                };
                if let Ok(head) = head {
                    let mut state = lock();
                    let _ = state.events.send(Arc::new(FeedEvent::Resync {
                        after: state.position.clone(),
                        cause: "cursor",
                    }));
                    state.position = Position::after_seq(head);
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "reading the change log failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
