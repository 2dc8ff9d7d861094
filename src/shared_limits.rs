//! The rate limits shared by every replica through PostgreSQL (`RATE_LIMIT_STORE`): the
//! auth limits' one statement before a password hash, the count of a failed one, the
//! write limit's periodic sync (`write_limit`), and the sweep of expired keys.
//!
//! The rule: the database is asked only after this process's in-memory limits allowed the
//! request (they count everything the shared store counts, so a local refusal is one the
//! shared store would make too, and a flood is shed without a round trip), and an answer
//! that does not come within [`DEADLINE`] (a held lock, a pool with no connection to give,
//! a failed statement) leaves the in-memory decision standing: the limits never fail open,
//! they only fall back to per-replica counting, counted in `rate_limit_fallbacks_total`.
//!
//! Times are the database's clock (GCRA arrival times in the `rate_limits` table), so
//! replicas with skewed clocks still share one count. Account keys are a SHA-256 of the
//! email under a fixed prefix, not the email: the table is UNLOGGED and readable by anyone
//! with the database, and a per-deployment secret would split the keys of replicas whose
//! secrets differ (EdDSA replicas may each generate their own).

mod sweep;

use std::{future::Future, net::IpAddr, sync::Arc, time::Duration};

use anyhow::bail;
use sha2::{Digest, Sha256};

use crate::{
    config::{Rate, RateLimitStore},
    db::DbPool,
    error::AppError,
    metrics::Metrics,
    store::rate_limits::{self, AuthWaits, Gcra},
};

pub(crate) use sweep::Sweep;

/// The longest the limits wait for the database (a connection and the statement) before
/// deciding in memory. Each statement also gives up a lock after 50 ms (the functions'
/// own `lock_timeout`), so a held lock ends server-side well within this.
pub(crate) const DEADLINE: Duration = Duration::from_millis(250);

/// Whether the limits are shared, from `RATE_LIMIT_STORE` and the backend the pool holds;
/// an error for `postgres` on SQLite.
pub(crate) fn shared(store: RateLimitStore, db: &DbPool) -> anyhow::Result<bool> {
    let postgres = matches!(db, DbPool::Postgres(_));
    match store {
        RateLimitStore::Auto => Ok(postgres),
        RateLimitStore::Memory => Ok(false),
        RateLimitStore::Postgres if postgres => Ok(true),
        RateLimitStore::Postgres => bail!(
            "RATE_LIMIT_STORE=postgres needs a PostgreSQL DATABASE_URL; SQLite serves one \
             process, whose in-memory limits are the whole count (use auto or memory)"
        ),
    }
}

/// The shared store: the pool whose database holds `rate_limits`, and where fallbacks are
/// counted.
#[derive(Clone)]
pub(crate) struct SharedLimits {
    db: DbPool,
    metrics: Arc<Metrics>,
}

/// The key of a client IP.
fn ip_key(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// The key of an account email: its hash, never the address itself.
fn account_key(email: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"todo-graphql rate limit account\0");
    hash.update(email.as_bytes());
    let digest = hash.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("account:{hex}")
}

/// A duration from the table's microseconds (negative is none).
pub(crate) fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

impl SharedLimits {
    /// The store over `db` (a PostgreSQL pool), counting fallbacks in `metrics`.
    pub(crate) fn new(db: DbPool, metrics: Arc<Metrics>) -> Self {
        Self { db, metrics }
    }

    /// Starts the sweep of expired keys; it stops when the handle is dropped.
    pub(crate) fn sweep(&self) -> Sweep {
        Sweep::start(self.db.clone())
    }

    /// The pool, for the write limit's sync.
    pub(crate) fn db(&self) -> &DbPool {
        &self.db
    }

    /// Runs `statement` within [`DEADLINE`]; `None` (counted as a fallback for `limit`,
    /// and logged) when it failed or took longer.
    pub(crate) async fn within_deadline<T>(
        &self,
        limit: &str,
        statement: impl Future<Output = Result<T, AppError>>,
    ) -> Option<T> {
        let error = match tokio::time::timeout(DEADLINE, statement).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {DEADLINE:?}"),
        };
        self.metrics.rate_limit_fallback(limit);
        tracing::warn!(
            limit,
            %error,
            "the shared rate limit did not answer; deciding with this replica's counts"
        );
        None
    }

    /// The statement before a password check: counts an attempt from `ip` against
    /// `ip_rate` and reads the failures of `account`. `None` when the database did not
    /// answer in time.
    pub(crate) async fn check_auth(
        &self,
        ip: Option<(IpAddr, Rate)>,
        account: Option<&str>,
    ) -> Option<AuthWaits> {
        let ip = ip.map(|(ip, rate)| (ip_key(ip), Gcra::new(rate.count, rate.period)));
        let account = account.map(account_key);
        self.within_deadline("auth", async {
            let mut conn = self.db.get().await?;
            let ip = ip.as_ref().map(|(key, rate)| (key.as_str(), *rate));
            rate_limits::check_auth(&mut conn, ip, account.as_deref()).await
        })
        .await
    }

    /// Counts one failed password check of `email` against `rate`; how far its failures
    /// are then ahead of the clock. `None` when the database did not answer in time.
    pub(crate) async fn count_failure(&self, email: &str, rate: Rate) -> Option<Duration> {
        let key = account_key(email);
        let step = Gcra::new(rate.count, rate.period).step_us;
        self.within_deadline("auth_failure", async {
            rate_limits::add(&mut self.db.get().await?, &key, step).await
        })
        .await
        .map(micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_hide_the_email_and_keep_accounts_apart() {
        let ann = account_key("ann@example.com");
        assert!(ann.starts_with("account:") && !ann.contains("ann"));
        assert_eq!(ann.len(), "account:".len() + 64);
        assert_eq!(ann, account_key("ann@example.com"));
        assert_ne!(ann, account_key("bob@example.com"));
    }

    #[test]
    fn negative_microseconds_are_no_wait() {
        assert_eq!(micros(-5), Duration::ZERO);
        assert_eq!(micros(1_500_000), Duration::from_millis(1500));
    }
}
