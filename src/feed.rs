//! The change feed: who is told that an account's todos changed.
//!
//! Every todo write advances its owner's change log (`store::changes`) to a new sequence
//! number. The writer reports it here ([`ChangeFeed::advanced`]) once the write commits;
//! on PostgreSQL the write's transaction also notifies the other replicas, whose listener
//! reports it to their own feed. A follower of one account ([`ChangeFeed::follow`]) learns
//! the newest sequence number it has heard of, never the rows themselves: it reads those
//! from the change log, so a lost or merged notification loses nothing.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::watch;

use crate::auth::UserId;

/// The per-account heads this process has heard of, shared by every request.
#[derive(Clone, Default)]
pub(crate) struct ChangeFeed {
    heads: Arc<Mutex<HashMap<String, watch::Sender<i64>>>>,
}

impl ChangeFeed {
    /// Reports that `owner`'s change log reached `seq`. Costs a map lookup when nobody
    /// follows the account.
    pub(crate) fn advanced(&self, owner: &UserId, seq: i64) {
        self.advanced_raw(owner.as_str(), seq);
    }

    /// [`Self::advanced`] for an owner id heard from another replica.
    pub(crate) fn advanced_raw(&self, owner: &str, seq: i64) {
        let mut heads = self.heads.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(head) = heads.get(owner) {
            if head.is_closed() {
                heads.remove(owner);
            } else {
                head.send_if_modified(|current| {
                    let newer = seq > *current;
                    if newer {
                        *current = seq;
                    }
                    newer
                });
            }
        }
    }

    /// Follows `owner`'s head: the receiver wakes whenever a newer sequence number is heard.
    pub(crate) fn follow(&self, owner: &UserId) -> watch::Receiver<i64> {
        let mut heads = self.heads.lock().unwrap_or_else(PoisonError::into_inner);
        heads
            .entry(owner.as_str().to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn followers_hear_only_newer_heads_of_their_own_account() {
        let feed = ChangeFeed::default();
        let mut mine = feed.follow(&UserId::for_tests("a"));
        let theirs = feed.follow(&UserId::for_tests("b"));
        feed.advanced_raw("a", 3);
        mine.changed().await.expect("the feed is alive");
        assert_eq!(*mine.borrow_and_update(), 3);
        feed.advanced_raw("a", 2);
        assert!(!mine.has_changed().expect("alive"), "an older head is no news");
        assert!(!theirs.has_changed().expect("alive"));
    }
}
