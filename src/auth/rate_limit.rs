//! Rate limits on password and token guesses, counted per attempt (one auth mutation is one
//! attempt, however it is batched or aliased), per client IP and per account email.
//!
//! A failed password check counts against the account whichever mutation made it (`login`,
//! `changePassword`, `deleteAccount`). While an account is limited every password check for
//! it is `RATE_LIMITED`, the right password included, so the limit tells an attacker nothing.
//!
//! Every attempt is counted in this process's memory first, which sheds a flood without a
//! database round trip. With a shared store (`shared_limits`, on PostgreSQL) an attempt
//! allowed here then makes one statement before any password hash: it counts the IP and
//! reads the account's failures, so replicas share one budget; a failure is counted there
//! too. Failures are counted when they happen rather than up front and refunded on
//! success, so a good login pays one statement, not two; the price is that guesses already
//! hashing when an account reaches its limit all finish (at most the hashing slots of each
//! replica), and are all counted, which lengthens the wait.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

use crate::{
    config::Rate,
    error::AppError,
    shared_limits::{SharedLimits, micros},
    store::rate_limits::Gcra,
};

/// The per-IP and per-account limiters.
pub struct RateLimits {
    ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    account: Option<DefaultKeyedRateLimiter<String>>,
    /// Accounts over their limit, and until when.
    blocked: Mutex<HashMap<String, Instant>>,
    ip_rate: Option<Rate>,
    account_rate: Option<Rate>,
    /// The store shared with the other replicas, when there is one.
    shared: Option<SharedLimits>,
}

/// A keyed limiter allowing `rate`, bursts included; `None` for a rate that allows nothing.
pub(crate) fn limiter<K: std::hash::Hash + Eq + Clone>(
    rate: Rate,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let burst = NonZeroU32::new(rate.count)?;
    let quota = Quota::with_period(rate.period / rate.count)?.allow_burst(burst);
    Some(DefaultKeyedRateLimiter::keyed(quota))
}

/// `RATE_LIMITED`, with the wait rounded up to whole seconds.
pub(crate) fn retry_after(wait: Duration) -> AppError {
    AppError::RateLimited {
        retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

impl RateLimits {
    /// Limiters for the two rates; `None` turns one off.
    pub fn new(per_ip: Option<Rate>, per_account: Option<Rate>) -> Self {
        Self {
            ip: per_ip.and_then(limiter),
            account: per_account.and_then(limiter),
            blocked: Mutex::new(HashMap::new()),
            ip_rate: per_ip,
            account_rate: per_account,
            shared: None,
        }
    }

    /// These limits, also counted in `shared` (with the other replicas).
    pub(crate) fn shared_through(self, shared: SharedLimits) -> Self {
        Self {
            shared: Some(shared),
            ..self
        }
    }

    /// Counts one attempt from `ip` that may check a password of `account`, before the
    /// check: `RATE_LIMITED` when the IP is over its rate or the account over its rate of
    /// failures. Here first, then (if allowed) in the shared store; when that does not
    /// answer in time, the decision made here stands.
    pub async fn attempt(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<(), AppError> {
        self.attempt_from(ip)?;
        if let Some(email) = account {
            self.check_account(email)?;
        }
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let ip = self.ip_rate.zip(ip).map(|(rate, ip)| (ip, rate));
        let account = self.account_rate.zip(account);
        if ip.is_none() && account.is_none() {
            return Ok(());
        }
        let Some(waits) = shared.check_auth(ip, account.map(|(_, email)| email)).await else {
            return Ok(());
        };
        if waits.ip > 0 {
            return Err(retry_after(micros(waits.ip)));
        }
        if let Some((rate, email)) = account {
            let gcra = Gcra::new(rate.count, rate.period);
            // One more failure would put the account over: refuse before hashing.
            let over = waits.account_backlog + gcra.step_us - gcra.period_us;
            if over > 0 {
                return Err(self.block(email, micros(over)));
            }
        }
        Ok(())
    }

    /// Counts one attempt from `ip`; `RATE_LIMITED` when it is over its rate.
    fn attempt_from(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        let (Some(limiter), Some(ip)) = (&self.ip, ip) else {
            return Ok(());
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&ip)
            .map_err(|until| retry_after(until.wait_time_from(DefaultClock::default().now())))
    }

    /// `RATE_LIMITED` while `email` is over its rate of failed logins.
    fn check_account(&self, email: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let Ok(mut blocked) = self.blocked.lock() else {
            return Ok(());
        };
        match blocked.get(email) {
            Some(until) if *until > now => Err(retry_after(*until - now)),
            Some(_) => {
                blocked.remove(email);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed password check for `email`, here and in the shared store:
    /// `INVALID_CREDENTIALS`, or `RATE_LIMITED` when this failure put the account over its
    /// rate (in either count).
    pub async fn login_failed(&self, email: &str) -> AppError {
        let local = self.failed_here(email);
        let (Some(shared), Some(rate)) = (&self.shared, self.account_rate) else {
            return local;
        };
        // Counted there even when over here: every failure that was hashed is counted.
        let Some(backlog) = shared.count_failure(email, rate).await else {
            return local;
        };
        match backlog.checked_sub(rate.period) {
            Some(over) if !over.is_zero() => self.block(email, over),
            _ => local,
        }
    }

    /// [`Self::login_failed`] in this process's count only.
    fn failed_here(&self, email: &str) -> AppError {
        let Some(limiter) = &self.account else {
            return AppError::InvalidCredentials;
        };
        let Err(until) = limiter.check_key(&email.to_owned()) else {
            return AppError::InvalidCredentials;
        };
        self.block(email, until.wait_time_from(DefaultClock::default().now()))
    }

    /// Refuses `email`'s password checks here for `wait` at least (the shared store would
    /// refuse them as long, so this spares it the round trips); the `RATE_LIMITED` to
    /// answer, with the longer of `wait` and an earlier block's.
    fn block(&self, email: &str, wait: Duration) -> AppError {
        let now = Instant::now();
        let Ok(mut blocked) = self.blocked.lock() else {
            return retry_after(wait);
        };
        if blocked.len() > 100_000 {
            blocked.retain(|_, until| *until > now);
            if let Some(limiter) = &self.account {
                limiter.retain_recent();
            }
        }
        let until = blocked.entry(email.to_owned()).or_insert(now);
        *until = (*until).max(now + wait);
        retry_after(*until - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(count: u32) -> Option<Rate> {
        Some(Rate {
            count,
            period: Duration::from_secs(300),
        })
    }

    #[test]
    fn ip_attempts_over_the_rate_are_limited_with_a_retry_time() {
        let limits = RateLimits::new(rate(3), None);
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..3 {
            assert!(limits.attempt_from(ip).is_ok());
        }
        match limits.attempt_from(ip) {
            Err(AppError::RateLimited { retry_after }) => assert!((1..=100).contains(&retry_after)),
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        assert!(
            limits
                .attempt_from(Some(IpAddr::from([127, 0, 0, 2])))
                .is_ok()
        );
    }

    #[test]
    fn a_limited_account_stays_limited() {
        let limits = RateLimits::new(None, rate(2));
        assert!(matches!(
            limits.failed_here("a@x.io"),
            AppError::InvalidCredentials
        ));
        assert!(matches!(
            limits.failed_here("a@x.io"),
            AppError::InvalidCredentials
        ));
        assert!(matches!(
            limits.failed_here("a@x.io"),
            AppError::RateLimited { .. }
        ));
        assert!(limits.check_account("a@x.io").is_err());
        assert!(limits.check_account("b@x.io").is_ok());
    }

    #[test]
    fn off_means_unlimited() {
        let limits = RateLimits::new(None, None);
        for _ in 0..100 {
            assert!(
                limits
                    .attempt_from(Some(IpAddr::from([127, 0, 0, 1])))
                    .is_ok()
            );
            assert!(matches!(
                limits.failed_here("a@x.io"),
                AppError::InvalidCredentials
            ));
        }
    }
}
