//! The write limit across replicas without a round trip per write: each process counts its
//! accounts' writes locally, and about once a second ([`SYNC_INTERVAL`]) one statement adds
//! what it counted to the shared GCRA keys (`write:<user id>`) and reads back each key's
//! total. A write is allowed while the last known total plus the writes counted here since
//! fits the rate.
//!
//! The overshoot that allows: writes made on other replicas since their last sync (and
//! since this replica's last read) are not seen yet, so an account writing on every replica
//! at once can pass the limit by one to two sync intervals of writes per other replica (at
//! most the rate's whole burst each, if it bursts on all of them at once). Once synced,
//! every replica refuses until the total is back under the rate.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;

use crate::{
    auth::{UserId, rate_limit::retry_after},
    config::Rate,
    error::AppError,
    metrics::Metrics,
    shared_limits::{SharedLimits, micros},
    store::rate_limits::{self, Gcra},
};

/// How often the counts are synced.
pub(crate) const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// One account's writes as this replica knows them.
#[derive(Debug, Default)]
struct Tally {
    /// Counted here since the last sync began.
    pending: u32,
    /// Counted here and being synced now.
    in_flight: u32,
    /// Until when the shared key's arrival time lay ahead, at the last sync (this
    /// replica's flushed writes and every other replica's).
    shared_until: Option<Instant>,
}

/// The accounts' tallies and the rate.
pub(super) struct SharedWrites {
    rate: Gcra,
    tallies: Mutex<HashMap<UserId, Tally>>,
}

impl SharedWrites {
    pub(super) fn new(rate: Rate) -> Self {
        Self {
            rate: Gcra::new(rate.count, rate.period),
            tallies: Mutex::new(HashMap::new()),
        }
    }

    fn tallies(&self) -> MutexGuard<'_, HashMap<UserId, Tally>> {
        // A panic elsewhere while holding it leaves counts that are still counts.
        self.tallies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Allows one write by `owner` when the shared total as known plus this replica's
    /// unsynced writes leave room and `here` (the in-memory limit, which counts) allows it;
    /// counts it for the next sync.
    pub(super) fn admit(
        &self,
        owner: &UserId,
        here: impl FnOnce() -> Result<(), AppError>,
    ) -> Result<(), AppError> {
        let now = Instant::now();
        let step = micros(self.rate.step_us);
        let period = micros(self.rate.period_us);
        let mut tallies = self.tallies();
        let tally = tallies.entry(owner.clone()).or_default();
        let known = tally
            .shared_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        let ahead = known + step * (tally.pending + tally.in_flight + 1);
        if let Some(over) = ahead.checked_sub(period).filter(|over| !over.is_zero()) {
            return Err(retry_after(over));
        }
        here()?;
        tally.pending += 1;
        Ok(())
    }

    /// Moves every account's pending writes in flight: the keys to sync, sorted (so two
    /// replicas lock them in one order), with the microseconds each adds (0 for an account
    /// only read back, as its total may still be rising on other replicas).
    fn begin_sync(&self, now: Instant) -> Vec<(UserId, u32)> {
        let mut batch: Vec<(UserId, u32)> = self
            .tallies()
            .iter_mut()
            .filter(|(_, t)| t.pending > 0 || t.shared_until.is_some_and(|until| until > now))
            .map(|(owner, tally)| {
                let sent = tally.pending;
                tally.in_flight += sent;
                tally.pending = 0;
                (owner.clone(), sent)
            })
            .collect();
        batch.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        batch
    }

    /// Ends a sync: the totals read back, or `None` when it failed (the writes go back to
    /// pending, to be sent again: a count is never dropped); forgets idle accounts.
    fn end_sync(&self, batch: &[(UserId, u32)], totals: Option<Vec<(String, i64)>>) {
        let now = Instant::now();
        let mut tallies = self.tallies();
        let totals: Option<HashMap<String, i64>> = totals.map(|t| t.into_iter().collect());
        for (owner, sent) in batch {
            let Some(tally) = tallies.get_mut(owner) else {
                continue;
            };
            tally.in_flight -= sent;
            match totals.as_ref().and_then(|t| t.get(&key(owner))) {
                Some(backlog) => tally.shared_until = Some(now + micros(*backlog)),
                None => tally.pending += sent,
            }
        }
        tallies.retain(|_, t| {
            t.pending > 0 || t.in_flight > 0 || t.shared_until.is_some_and(|until| until > now)
        });
    }
}

/// The shared key of an account's writes.
fn key(owner: &UserId) -> String {
    format!("write:{}", owner.as_str())
}

/// The running sync; dropping it stops the task.
pub(crate) struct WriteSync {
    task: JoinHandle<()>,
}

impl Drop for WriteSync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WriteSync {
    /// Starts syncing `writes` through `store` every [`SYNC_INTERVAL`].
    pub(super) fn start(
        writes: Arc<SharedWrites>,
        store: SharedLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SYNC_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                sync(&writes, &store).await;
                metrics.write_limit_synced();
            }
        });
        Self { task }
    }
}

/// One round: flush, read back, record.
async fn sync(writes: &SharedWrites, store: &SharedLimits) {
    let batch = writes.begin_sync(Instant::now());
    if batch.is_empty() {
        return;
    }
    let keys: Vec<String> = batch.iter().map(|(owner, _)| key(owner)).collect();
    let amounts: Vec<i64> = batch
        .iter()
        .map(|(_, sent)| writes.rate.step_us.saturating_mul(i64::from(*sent)))
        .collect();
    let totals = store
        .within_deadline("write", async {
            rate_limits::add_many(&mut store.db().get().await?, &keys, &amounts).await
        })
        .await;
    writes.end_sync(&batch, totals);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(count: u32) -> SharedWrites {
        SharedWrites::new(Rate {
            count,
            period: Duration::from_secs(60),
        })
    }

    #[test]
    fn the_known_total_and_unsynced_writes_count_together() {
        let writes = writes(4);
        let ann = UserId::for_tests("ann");
        assert!(writes.admit(&ann, || Ok(())).is_ok());
        let batch = writes.begin_sync(Instant::now());
        assert_eq!(batch, vec![(ann.clone(), 1)]);
        // The other replicas wrote two more: the total read back is three writes' worth.
        writes.end_sync(&batch, Some(vec![(key(&ann), 45_000_000)]));
        assert!(writes.admit(&ann, || Ok(())).is_ok());
        assert!(matches!(
            writes.admit(&ann, || Ok(())),
            Err(AppError::RateLimited { .. })
        ));
        let bob = UserId::for_tests("bob");
        assert!(writes.admit(&bob, || Ok(())).is_ok());
    }

    #[test]
    fn a_failed_sync_keeps_the_writes_for_the_next() {
        let writes = writes(2);
        let ann = UserId::for_tests("ann");
        assert!(writes.admit(&ann, || Ok(())).is_ok());
        let batch = writes.begin_sync(Instant::now());
        writes.end_sync(&batch, None);
        assert_eq!(writes.begin_sync(Instant::now()), vec![(ann.clone(), 1)]);
        // In flight still counts: one in flight and one more fill the rate of two.
        assert!(writes.admit(&ann, || Ok(())).is_ok());
        assert!(writes.admit(&ann, || Ok(())).is_err());
    }

    #[test]
    fn the_in_memory_refusal_is_not_counted() {
        let writes = writes(5);
        let ann = UserId::for_tests("ann");
        let refused = writes.admit(&ann, || Err(AppError::RateLimited { retry_after: 1 }));
        assert!(refused.is_err());
        assert!(writes.begin_sync(Instant::now()).is_empty());
    }
}
