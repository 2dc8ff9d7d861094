//! The write limit: todo writes per account (`WRITE_RATE_LIMIT`), counted per mutation
//! field, so aliases and batches count each, and checked before the write.
//!
//! Keyed by the verified user id, so only real accounts take memory, and idle keys are
//! dropped once many accumulate. Counted in this process's memory; with a shared store
//! (PostgreSQL) also against what the other replicas counted, as last synced (`shared`):
//! a write pays no round trip for it.

mod shared;

use std::sync::Arc;

use governor::{
    DefaultKeyedRateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::{
    auth::{
        UserId,
        rate_limit::{limiter, retry_after},
    },
    config::Rate,
    error::AppError,
    metrics::Metrics,
    shared_limits::SharedLimits,
};

use shared::SharedWrites;
pub(crate) use shared::WriteSync;

/// How many accounts are tracked before the idle ones are dropped.
const PRUNE_AT: usize = 100_000;

/// Todo writes per account.
pub(crate) struct WriteLimit {
    limiter: Option<DefaultKeyedRateLimiter<UserId>>,
    shared: Option<Arc<SharedWrites>>,
}

impl WriteLimit {
    /// A limit of `rate` writes per account; `None` turns it off.
    pub(crate) fn new(rate: Option<Rate>) -> Self {
        Self {
            limiter: rate.and_then(limiter),
            shared: None,
        }
    }

    /// A limit of `rate` writes per account, also counted against the other replicas'
    /// writes through `store`; and the task that syncs the counts (the counting stays local
    /// once it is dropped).
    pub(crate) fn shared(
        rate: Option<Rate>,
        store: SharedLimits,
        metrics: Arc<Metrics>,
    ) -> (Self, Option<WriteSync>) {
        let Some(rate) = rate else {
            return (Self::new(None), None);
        };
        let shared = Arc::new(SharedWrites::new(rate));
        let sync = WriteSync::start(shared.clone(), store, metrics);
        let limit = Self {
            limiter: limiter(rate),
            shared: Some(shared),
        };
        (limit, Some(sync))
    }

    /// Counts one write by `owner`; `RATE_LIMITED` with the seconds to wait when over.
    pub(crate) fn check(&self, owner: &UserId) -> Result<(), AppError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > PRUNE_AT {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let here = || {
            limiter
                .check_key(owner)
                .map_err(|until| retry_after(until.wait_time_from(DefaultClock::default().now())))
        };
        match &self.shared {
            Some(shared) => shared.admit(owner, here),
            None => here(),
        }
    }
}
