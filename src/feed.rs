//! The change feed: live todo changes, fanned out to every follower of an account.
//!
//! Every todo write advances its owner's change log (`store::changes`) to a new sequence
//! number and reports it here ([`ChangeFeed::advanced`]) once it commits; on PostgreSQL the
//! write's transaction also notifies [`changes::CHANNEL`], so every replica's one listening
//! connection reports the other replicas' writes too ([`ChangeFeed::listen`]). A report
//! carries no row: while an account has followers, one reader per account and replica
//! reads the changed rows from the change log once and hands them to all its followers.
//! So a lost or merged report loses nothing, and notes of any length never pass through
//! `NOTIFY`.
//!
//! Each follower has its own place in a bounded buffer; one that falls behind it misses
//! events and is told so with [`FeedEvent::Resync`], as is every follower when the
//! listening connection had to reconnect (notifications sent meanwhile are lost).

mod account;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::{
    sync::{broadcast, mpsc},
    task::JoinHandle,
};

pub(crate) use account::{FeedEvent, Follower};

use crate::{
    auth::UserId,
    db::{self, DbPool, Listened},
    error::AppError,
    metrics::Metrics,
    store::changes,
};

/// Events buffered per account before a slow follower misses some.
const BUFFER: usize = 256;

/// The accounts followed in this process, shared by every request.
#[derive(Clone)]
pub(crate) struct ChangeFeed {
    inner: Arc<Inner>,
}

struct Inner {
    db: DbPool,
    metrics: Arc<Metrics>,
    accounts: Mutex<HashMap<String, Arc<account::Account>>>,
}

impl ChangeFeed {
    /// A feed reading changed rows from `db`, counting into `metrics`.
    pub(crate) fn new(db: DbPool, metrics: Arc<Metrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                metrics,
                accounts: Mutex::default(),
            }),
        }
    }

    /// Reports that `owner`'s change log reached `seq`. A map lookup when nobody follows
    /// the account.
    pub(crate) fn advanced(&self, owner: &UserId, seq: i64) {
        self.advanced_raw(owner.as_str(), seq);
    }

    /// [`Self::advanced`] for an owner id heard from another replica.
    fn advanced_raw(&self, owner: &str, seq: i64) {
        let account = self.accounts().get(owner).cloned();
        if let Some(account) = account {
            account.advanced(seq);
        }
    }

    /// Tells every follower that events may have been lost, then catches up from the log.
    fn resync_all(&self) {
        let accounts: Vec<_> = self.accounts().values().cloned().collect();
        for account in accounts {
            account.resync();
        }
    }

    /// Follows `owner`'s changes from now on: the follower receives every change committed
    /// after the returned position (which is where its events start).
    pub(crate) async fn follow(&self, owner: &UserId) -> Result<Follower, AppError> {
        if let Some(follower) = self.join(owner) {
            return Ok(follower);
        }
        // The first follower: find where the log ends before anyone can be told of more.
        let head = {
            let mut conn = self.inner.db.get().await?;
            changes::head(&mut conn, owner).await?
        };
        let mut accounts = self.accounts();
        // Another first follower may have won the race meanwhile.
        if let Some(account) = accounts.get(owner.as_str()) {
            return Ok(account.join());
        }
        let (events, _) = broadcast::channel(BUFFER);
        let account = account::Account::start(
            self.inner.db.clone(),
            owner.clone(),
            head,
            events,
            Arc::downgrade(&self.inner),
            self.inner.metrics.clone(),
        );
        let follower = account.join();
        accounts.insert(owner.as_str().to_owned(), account);
        Ok(follower)
    }

    fn join(&self, owner: &UserId) -> Option<Follower> {
        self.accounts().get(owner.as_str()).map(|a| a.join())
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<account::Account>>> {
        self.inner
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// On PostgreSQL, hears the other replicas' writes through `LISTEN` on
    /// `database_url`; `None` on SQLite, where every writer is in this process.
    pub(crate) fn listen(&self, database_url: &str) -> anyhow::Result<Option<Listening>> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let Some(listener) = db::listen(database_url, changes::CHANNEL, tx)? else {
            return Ok(None);
        };
        let feed = self.clone();
        let forwarder = tokio::spawn(async move {
            let mut connected_before = false;
            while let Some(message) = rx.recv().await {
                match message {
                    Listened::Connected if connected_before => feed.resync_all(),
                    Listened::Connected => connected_before = true,
                    Listened::Notification(payload) => match parse(&payload) {
                        Some(heard) => {
                            if let Some(sent) = heard.sent {
                                let lag = chrono::Utc::now() - sent;
                                let seconds = lag.num_microseconds().unwrap_or(0) as f64 / 1e6;
                                feed.inner.metrics.notification_lag(seconds);
                            }
                            feed.advanced_raw(heard.owner, heard.seq);
                        }
                        None => tracing::warn!("an unreadable change notification"),
                    },
                }
            }
        });
        Ok(Some(Listening {
            tasks: [listener, forwarder],
        }))
    }
}

impl Inner {
    /// Forgets `owner`'s account once its last follower left (unless one just joined).
    fn forget(&self, owner: &str) {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        if accounts.get(owner).is_some_and(|a| a.followers() == 0) {
            accounts.remove(owner);
        }
    }
}

/// A change notification, as heard.
#[derive(Debug, PartialEq, Eq)]
struct Heard<'a> {
    owner: &'a str,
    seq: i64,
    /// When the write's statement ran, if the payload says.
    sent: Option<chrono::DateTime<chrono::Utc>>,
}

/// A change notification's payload: `"<owner id> <sequence number> [<microseconds since
/// the epoch>]"`.
fn parse(payload: &str) -> Option<Heard<'_>> {
    let mut parts = payload.split(' ');
    let owner = parts.next().filter(|o| !o.is_empty())?;
    let seq = parts.next()?.parse().ok()?;
    let sent = parts
        .next()
        .and_then(|micros| micros.parse().ok())
        .and_then(chrono::DateTime::from_timestamp_micros);
    Some(Heard { owner, seq, sent })
}

/// The tasks that hear other replicas' writes; dropping it stops them.
pub(crate) struct Listening {
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Listening {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn notifications_parse_or_are_ignored() {
        let heard = parse("u-1 42 1764633600000000").expect("a notification");
        assert_eq!((heard.owner, heard.seq), ("u-1", 42));
        assert_eq!(heard.sent.map(|t| t.timestamp()), Some(1_764_633_600));
        assert_eq!(parse("u-1 42").map(|h| h.sent), Some(None));
        assert_eq!(parse("u-1"), None);
        assert_eq!(parse("u-1 x"), None);
        assert_eq!(parse(" 1"), None);
    }
}
