//! The write limit: todo writes per account (`WRITE_RATE_LIMIT`), counted per mutation
//! field, so aliases and batches count each, and checked before the write.
//!
//! Keyed by the verified user id, so only real accounts take memory, and idle keys are
//! dropped once many accumulate. Kept in this process's memory: each replica counts its own.

use std::{num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

use crate::{auth::UserId, config::Rate, error::AppError};

/// How many accounts are tracked before the idle ones are dropped.
const PRUNE_AT: usize = 100_000;

/// Todo writes per account.
pub(crate) struct WriteLimit {
    limiter: Option<DefaultKeyedRateLimiter<UserId>>,
}

impl WriteLimit {
    /// A limit of `rate` writes per account; `None` turns it off.
    pub(crate) fn new(rate: Option<Rate>) -> Self {
        let limiter = rate.and_then(|rate| {
            let burst = NonZeroU32::new(rate.count)?;
            let quota = Quota::with_period(rate.period / rate.count)?.allow_burst(burst);
            Some(DefaultKeyedRateLimiter::keyed(quota))
        });
        Self { limiter }
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
        limiter.check_key(owner).map_err(|until| {
            let wait: Duration = until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited {
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}
