//! The write limit: todo writes per account (`WRITE_RATE_LIMIT`), counted per mutation
//! field, so aliases and batches count each, and checked before the write.
//!
//! Keyed by the verified user id, so only real accounts take memory, and idle keys are
//! dropped once many accumulate. Kept in this process's memory: each replica counts its own.

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
};

/// How many accounts are tracked before the idle ones are dropped.
const PRUNE_AT: usize = 100_000;

/// Todo writes per account.
pub(crate) struct WriteLimit {
    limiter: Option<DefaultKeyedRateLimiter<UserId>>,
}

impl WriteLimit {
    /// A limit of `rate` writes per account; `None` turns it off.
    pub(crate) fn new(rate: Option<Rate>) -> Self {
        Self {
            limiter: rate.and_then(limiter),
        }
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
        limiter
            .check_key(owner)
            .map_err(|until| retry_after(until.wait_time_from(DefaultClock::default().now())))
    }
}
