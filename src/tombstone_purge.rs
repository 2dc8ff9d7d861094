//! The background task that ends the tombstones of deleted todos once they are older than
//! `SYNC_TOMBSTONE_TTL` (`store::changes::purge`). It runs at least twice per TTL (and at
//! least hourly), so a tombstone outlives its TTL by at most half of it; a sync cursor
//! older than what was purged then gets a full resync.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::{db::DbPool, store::changes};

/// The running purge; dropping it stops the task.
pub(crate) struct TombstonePurge {
    task: JoinHandle<()>,
}

impl Drop for TombstonePurge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How often to purge for a TTL of `ttl`.
fn interval(ttl: Duration) -> Duration {
    (ttl / 2).clamp(Duration::from_millis(100), Duration::from_secs(3600))
}

impl TombstonePurge {
    /// Starts purging `db`'s tombstones older than `ttl`.
    pub(crate) fn start(db: DbPool, ttl: Duration) -> Self {
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval(ttl));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let purged = match db.get().await {
                    Ok(mut conn) => changes::purge(&mut conn, ttl).await,
                    Err(error) => Err(error),
                };
                match purged {
                    Ok(0) => {}
                    Ok(rows) => tracing::info!(rows, "purged expired tombstones of deleted todos"),
                    Err(error) => tracing::warn!(%error, "purging tombstones failed; retrying"),
                }
            }
        });
        Self { task }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_runs_at_least_twice_per_ttl_and_hourly() {
        assert_eq!(interval(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(
            interval(Duration::from_secs(30 * 86_400)),
            Duration::from_secs(3600)
        );
        assert_eq!(interval(Duration::ZERO), Duration::from_millis(100));
    }
}
