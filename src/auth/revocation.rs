//! The revoked sessions, held in memory so that checking a token costs no query.
//!
//! The set holds the ids of revoked sessions whose access tokens may not have expired yet
//! (the tombstones of `store::sessions`). It is loaded at start; this process adds what it
//! revokes at once; on PostgreSQL every instance hears the others' revocations through
//! `LISTEN`/`NOTIFY` within milliseconds, and re-reads the tombstones on an interval (and
//! after every reconnection) in case a notification was missed. Entries only ever arrive,
//! so a re-read merges and never drops a fresh local entry; they leave once past their time.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use super::SessionId;
use crate::{
    db::{self, DbPool, Listened},
    store::sessions,
};

/// How many re-reads pass between two purges of expired rows.
const PURGE_EVERY: u32 = 60;

/// The revoked-session set shared by every request of this process.
#[derive(Clone)]
pub struct Revocations {
    revoked: Arc<RwLock<HashMap<String, DateTime<Utc>>>>,
    /// Bumped whenever a session joins the set, so that long-lived connections bound to a
    /// session re-check it at once instead of polling.
    generation: Arc<watch::Sender<u64>>,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            revoked: Arc::default(),
            generation: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl Revocations {
    /// A receiver that sees a change every time a session joins the set (from this process,
    /// a notification or a re-read): the holder then asks [`Revocations::is_revoked`] about
    /// its own session.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn bump(&self, added: bool) {
        if added {
            self.generation.send_modify(|g| *g = g.wrapping_add(1));
        }
    }

    /// Whether `session` was revoked. A read lock and a hash lookup: the request hot path.
    pub fn is_revoked(&self, session: &SessionId) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(session.as_str())
    }

    /// Adds revoked sessions, refused until `until`.
    pub fn add<'a>(&self, ids: impl IntoIterator<Item = &'a String>, until: DateTime<Utc>) {
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        let before = revoked.len();
        for id in ids {
            let entry = revoked.entry(id.clone()).or_insert(until);
            *entry = (*entry).max(until);
        }
        let added = revoked.len() > before;
        drop(revoked);
        self.bump(added);
    }

    /// Merges the tombstones read from the database and forgets entries past their time.
    fn merge(&self, rows: Vec<(String, DateTime<Utc>)>) {
        let now = Utc::now();
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        let mut added = false;
        for (id, until) in rows {
            let entry = revoked.entry(id).or_insert_with(|| {
                added = true;
                until
            });
            *entry = (*entry).max(until);
        }
        revoked.retain(|_, until| *until > now);
        drop(revoked);
        self.bump(added);
    }

    /// Applies one notification: `"<session id> <unix seconds>"`. `false` when it does not
    /// parse (then the caller re-reads everything).
    fn apply_notification(&self, payload: &str) -> bool {
        let parsed = payload.split_once(' ').and_then(|(id, until)| {
            let until = DateTime::from_timestamp(until.parse().ok()?, 0)?;
            Some((id.to_owned(), until))
        });
        match parsed {
            Some((id, until)) => {
                self.add([&id], until);
                true
            }
            None => false,
        }
    }

    /// Loads the set from `db`, then keeps it in step in the background: notifications on
    /// PostgreSQL (`database_url` names the database to listen on), and a re-read every
    /// `interval` on either backend. The background tasks stop when the returned
    /// [`Follower`] is dropped.
    pub async fn follow(
        db: DbPool,
        database_url: &str,
        interval: Duration,
    ) -> anyhow::Result<(Self, Follower)> {
        let set = Self::default();
        set.reread(&db)
            .await
            .context("loading the revoked sessions")?;
        let (tx, rx) = mpsc::unbounded_channel();
        let listener = db::listen(database_url, sessions::REVOKED_CHANNEL, tx)?;
        let follower = tokio::spawn(follow(set.clone(), db, rx, interval));
        let mut tasks = vec![follower];
        tasks.extend(listener);
        Ok((set, Follower { tasks }))
    }

    async fn reread(&self, db: &DbPool) -> Result<(), crate::error::AppError> {
        let mut conn = db.get().await?;
        let rows = sessions::revoked(&mut conn).await?;
        self.merge(rows);
        Ok(())
    }
}

/// The background tasks that keep a [`Revocations`] in step; dropping it stops them.
pub struct Follower {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn follow(
    set: Revocations,
    db: DbPool,
    mut notifications: mpsc::UnboundedReceiver<Listened>,
    interval: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listening = true;
    let mut ticks = 0_u32;
    loop {
        let reread = tokio::select! {
            _ = ticker.tick() => {
                ticks = ticks.wrapping_add(1);
                if ticks.is_multiple_of(PURGE_EVERY) {
                    purge(&db).await;
                }
                true
            }
            message = notifications.recv(), if listening => match message {
                Some(Listened::Notification(payload)) => !set.apply_notification(&payload),
                Some(Listened::Connected) => true,
                // SQLite: nobody else to hear from; the interval still runs.
                None => {
                    listening = false;
                    false
                }
            },
        };
        if reread && let Err(error) = set.reread(&db).await {
            tracing::warn!(%error, "re-reading the revoked sessions failed; retrying");
        }
    }
}

async fn purge(db: &DbPool) {
    let purged = match db.get().await {
        Ok(mut conn) => sessions::purge(&mut conn).await,
        Err(error) => Err(error),
    };
    match purged {
        Ok(rows) if rows > 0 => tracing::info!(rows, "purged expired sessions and tokens"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "purging expired sessions failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(id: &str) -> SessionId {
        SessionId(id.to_owned())
    }

    #[test]
    fn notifications_and_rereads_add_and_time_removes() {
        let set = Revocations::default();
        assert!(set.apply_notification(&format!("s1 {}", Utc::now().timestamp() + 60)));
        assert!(!set.apply_notification("garbage"));
        assert!(set.is_revoked(&sid("s1")));
        set.merge(vec![
            ("s2".into(), Utc::now() + chrono::Duration::seconds(60)),
            ("old".into(), Utc::now() - chrono::Duration::seconds(1)),
        ]);
        assert!(
            set.is_revoked(&sid("s1")),
            "a re-read keeps what it did not see"
        );
        assert!(set.is_revoked(&sid("s2")));
        assert!(!set.is_revoked(&sid("old")));
        assert!(!set.is_revoked(&sid("s3")));
    }

    #[test]
    fn only_a_new_entry_wakes_the_watchers() {
        let set = Revocations::default();
        let mut changes = set.changes();
        let until = Utc::now() + chrono::Duration::seconds(60);
        set.add([&"s1".to_owned()], until);
        assert!(changes.has_changed().unwrap_or(false));
        changes.mark_unchanged();
        set.add([&"s1".to_owned()], until);
        set.merge(vec![("s1".into(), until)]);
        assert!(!changes.has_changed().unwrap_or(true), "nothing new joined");
        set.merge(vec![("s2".into(), until)]);
        assert!(changes.has_changed().unwrap_or(false));
    }
}
