//! Rate limits on password and token guesses, counted per attempt (one auth mutation is one
//! attempt, however it is batched or aliased), per client IP and per account email.
//!
//! A failed password check counts against the account whichever mutation made it (`login`,
//! `changePassword`, `deleteAccount`). While an account is limited every password check for
//! it is `RATE_LIMITED`, the right password included, so the limit tells an attacker nothing. Limits are kept in this process's
//! memory: behind a load balancer each replica counts on its own.

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

use crate::{config::Rate, error::AppError};

/// The per-IP and per-account limiters.
pub struct RateLimits {
    ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    account: Option<DefaultKeyedRateLimiter<String>>,
    /// Accounts over their limit, and until when.
    blocked: Mutex<HashMap<String, Instant>>,
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
        }
    }

    /// Counts one attempt from `ip`; `RATE_LIMITED` when it is over its rate.
    pub fn attempt_from(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
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
    pub fn check_account(&self, email: &str) -> Result<(), AppError> {
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

    /// Counts a failed password check for `email`: `INVALID_CREDENTIALS`, or
    /// `RATE_LIMITED` when this failure put the account over its rate.
    pub fn login_failed(&self, email: &str) -> AppError {
        let Some(limiter) = &self.account else {
            return AppError::InvalidCredentials;
        };
        let Err(until) = limiter.check_key(&email.to_owned()) else {
            return AppError::InvalidCredentials;
        };
        let wait = until.wait_time_from(DefaultClock::default().now());
        if let Ok(mut blocked) = self.blocked.lock() {
            let now = Instant::now();
            if blocked.len() > 100_000 {
                blocked.retain(|_, until| *until > now);
                limiter.retain_recent();
            }
            blocked.insert(email.to_owned(), now + wait);
        }
        retry_after(wait)
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
            limits.login_failed("a@x.io"),
            AppError::InvalidCredentials
        ));
        assert!(matches!(
            limits.login_failed("a@x.io"),
            AppError::InvalidCredentials
        ));
        assert!(matches!(
            limits.login_failed("a@x.io"),
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
                limits.login_failed("a@x.io"),
                AppError::InvalidCredentials
            ));
        }
    }
}
