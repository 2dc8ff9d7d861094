//! The shared rate-limit counters (`rate_limits`, PostgreSQL only): GCRA arrival times per
//! key on the database's clock, read and moved only through the functions the migration
//! defines, so each call is one statement whatever it counts. Keys are built by
//! `shared_limits`; this module only runs the statements.
//!
//! On SQLite there is no such table: `shared_limits` is never started there, and these
//! functions answer an error rather than pretend.

use std::time::Duration;

use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Nullable, Text},
};
use diesel_async::RunQueryDsl;

use crate::{
    db::{DbConn, Prepared, with_backend},
    error::AppError,
};

/// What the check before a password hash found, in microseconds: 0 for a key that was
/// counted (IP) or would take one more (account), else how long until it would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub(crate) struct AuthWaits {
    /// Until the client IP's attempt would fit; 0 when it was counted (or there is no IP).
    #[diesel(sql_type = BigInt)]
    pub(crate) ip: i64,
    /// How far the account's failures are ahead of the clock; 0 when there are none.
    #[diesel(sql_type = BigInt)]
    pub(crate) account_backlog: i64,
}

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    backlog: i64,
}

#[derive(QueryableByName)]
struct KeyBacklog {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    backlog: i64,
}

/// A rate in the table's units: microseconds per event, and the period.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gcra {
    /// The emission interval, period / count.
    pub(crate) step_us: i64,
    /// The period (the burst is the whole count).
    pub(crate) period_us: i64,
}

impl Gcra {
    /// The table's units for `count` events per `period`.
    pub(crate) fn new(count: u32, period: Duration) -> Self {
        let period_us = i64::try_from(period.as_micros()).unwrap_or(i64::MAX);
        Self {
            step_us: (period_us / i64::from(count.max(1))).max(1),
            period_us,
        }
    }
}

fn only_postgres() -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        "the rate-limit table exists only on PostgreSQL".into(),
    )
}

/// The one statement before a password check: counts an attempt on `ip` (when given, if it
/// fits `ip_rate`) and reads the backlog of `account`'s failures (when given).
pub(crate) async fn check_auth(
    conn: &mut DbConn,
    ip: Option<(&str, Gcra)>,
    account: Option<&str>,
) -> Result<AuthWaits, AppError> {
    let (ip_key, step, period) = match ip {
        Some((key, rate)) => (Some(key), rate.step_us, rate.period_us),
        None => (None, 0, 0),
    };
    let waits = with_backend!(
        conn,
        postgres
            | c
            | {
                Prepared(diesel::sql_query(
                "SELECT CASE WHEN $1::text IS NULL THEN 0 ELSE rate_limit_take($1, $2, $3) END AS ip, \
                 CASE WHEN $4::text IS NULL THEN 0 ELSE rate_limit_backlog($4) END \
                 AS account_backlog",
            )
            .bind::<Nullable<Text>, _>(ip_key)
            .bind::<BigInt, _>(step)
            .bind::<BigInt, _>(period)
            .bind::<Nullable<Text>, _>(account))
            .get_result::<AuthWaits>(c)
            .await
            },
        sqlite | _c | Err(only_postgres())
    )?;
    Ok(waits)
}

/// Counts `amount_us` worth of events on `key`, fitting or not; the backlog after, in µs.
pub(crate) async fn add(conn: &mut DbConn, key: &str, amount_us: i64) -> Result<i64, AppError> {
    let row = with_backend!(
        conn,
        postgres | c | {
            Prepared(
                diesel::sql_query("SELECT rate_limit_add($1, $2) AS backlog")
                    .bind::<Text, _>(key)
                    .bind::<BigInt, _>(amount_us),
            )
            .get_result::<Backlog>(c)
            .await
        },
        sqlite | _c | Err(only_postgres())
    )?;
    Ok(row.backlog)
}

/// Adds each key's `amount_us` (0 only reads) and answers every key's backlog after, in
/// one statement. The keys are locked in the order given: callers sort them, so two
/// replicas flushing at once cannot deadlock.
pub(crate) async fn add_many(
    conn: &mut DbConn,
    keys: &[String],
    amounts_us: &[i64],
) -> Result<Vec<(String, i64)>, AppError> {
    let rows = with_backend!(
        conn,
        postgres | c | {
            Prepared(
                diesel::sql_query(
                    "SELECT u.k AS key, rate_limit_add(u.k, u.n) AS backlog \
                 FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(k, n, i) ORDER BY u.i",
                )
                .bind::<Array<Text>, _>(keys)
                .bind::<Array<BigInt>, _>(amounts_us),
            )
            .load::<KeyBacklog>(c)
            .await
        },
        sqlite | _c | Err(only_postgres())
    )?;
    Ok(rows.into_iter().map(|r| (r.key, r.backlog)).collect())
}

/// Deletes the keys whose arrival time has passed (they limit nothing); how many.
pub(crate) async fn sweep(conn: &mut DbConn) -> Result<usize, AppError> {
    let deleted = with_backend!(
        conn,
        postgres | c | {
            diesel::sql_query("DELETE FROM rate_limits WHERE tat < clock_timestamp()")
                .execute(c)
                .await
        },
        sqlite | _c | Err(only_postgres())
    )?;
    Ok(deleted)
}
