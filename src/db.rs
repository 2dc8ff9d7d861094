//! The connection pool over PostgreSQL or SQLite: connect, migrate, check out.
//!
//! This is the only module that knows there are two backends. Store functions take a
//! [`DbConn`] and write each query once inside [`with_conn!`], which expands the body for
//! both connection types, so every query is type-checked against both databases.
//!
//! Behind a transaction-mode pooler (`prepared_statements: false`), a connection keeps no
//! session state: no prepared-statement cache, no connect-time `statement_timeout`; each
//! transaction sets its own with `SET LOCAL` instead.
//!
//! On SQLite every write transaction runs on one writer connection (`sqlite_writer`), the
//! log is checkpointed beside it (`sqlite_checkpoint`), and statements inside [`in_place`]
//! run on the calling thread (`sqlite_runtime`).

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use diesel::Connection;
use diesel_async::{
    AsyncPgConnection, RunQueryDsl,
    async_connection_wrapper::AsyncConnectionWrapper,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
        deadpool::{Object, Pool},
    },
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

mod listen;
mod pg;
mod pooled;
mod prepared;
mod sqlite;
mod sqlite_checkpoint;
mod sqlite_runtime;
mod sqlite_writer;

use pg::{PgSession, establish_pg, pg_config, rustls_config};

pub use listen::{Listened, listen};
pub use pooled::{PgConn, PgPool};
pub(crate) use prepared::Prepared;
pub use sqlite::SqliteConn;
pub(crate) use sqlite_runtime::in_place;
pub use sqlite_writer::{SqliteHandle, Writer};

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// A pool of connections to one of the two backends.
#[derive(Clone)]
pub enum DbPool {
    /// PostgreSQL through tokio-postgres.
    Postgres(PgPool),
    /// The embedded SQLite file: the pool, and the one connection write transactions take
    /// turns on.
    Sqlite(Pool<SqliteConn>, Writer),
}

/// A connection checked out of a [`DbPool`]; it goes back when dropped.
#[expect(
    clippy::large_enum_variant,
    reason = "one lives per request on the stack; boxing would allocate per checkout"
)]
pub enum DbConn {
    /// PostgreSQL.
    Postgres(PgConn),
    /// SQLite (a pooled connection, or the writer during a transaction), with the pool's
    /// writer.
    Sqlite(SqliteHandle, Writer),
}

/// Runs one body per backend, for the rare statement that exists on only one of them:
/// `with_backend!(conn, postgres |c| pg_body, sqlite |c| sqlite_body)`. Each body returns
/// a `Result` whose error comes from diesel's.
///
/// Behind a transaction-mode pooler, a PostgreSQL body outside a transaction runs in one
/// of its own ([`PgConn::own_transaction`]): the pooler keeps a transaction on one server
/// connection, so a statement's Parse and its Bind cannot land on different ones, and its
/// `SET LOCAL statement_timeout` covers it.
macro_rules! with_backend {
    ($conn:expr, postgres |$pg:ident| $pg_body:expr, sqlite |$lite:ident| $lite_body:expr) => {
        match $conn {
            $crate::db::DbConn::Postgres(pg_conn) => {
                let pg_conn: &mut $crate::db::PgConn = &mut *pg_conn;
                match pg_conn.own_transaction().await {
                    Err(error) => Err(error.into()),
                    Ok(own) => {
                        let result = {
                            let $pg: &mut ::diesel_async::AsyncPgConnection = &mut *pg_conn;
                            $pg_body
                        };
                        if own {
                            pg_conn.end_own_transaction(result).await
                        } else {
                            result
                        }
                    }
                }
            }
            $crate::db::DbConn::Sqlite($lite, _) => {
                let $lite: &mut $crate::db::SqliteConn = &mut *$lite;
                $lite_body
            }
        }
    };
}
pub(crate) use with_backend;

/// Runs one query body on whichever backend `$conn` holds; `$c` is the concrete connection.
/// The body is expanded once per backend, so it is type-checked against both.
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        $crate::db::with_backend!($conn, postgres | $c | $body, sqlite | $c | $body)
    };
}
pub(crate) use with_conn;

impl DbConn {
    /// Runs `body` in a transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err` (whose error is returned). There is no other way to open one, so none
    /// can be left open by an early return; a connection dropped mid-transaction (a
    /// cancelled request) is discarded by the pool (on SQLite, the writer is reopened),
    /// never reused. On SQLite every transaction runs on the [`Writer`].
    pub async fn transaction<T>(
        &mut self,
        body: impl AsyncFnOnce(&mut DbConn) -> Result<T, crate::error::AppError>,
    ) -> Result<T, crate::error::AppError> {
        if let Some(mut writing) = self.writer().await? {
            let result = body(&mut writing).await;
            let result = writing.finish(result).await;
            writing.hand_over().await;
            return result;
        }
        self.begin().await?;
        let result = body(self).await;
        self.finish(result).await
    }

    /// [`Self::transaction`] whose body may also undo its writes and still answer
    /// ([`Outcome::Rollback`]): a write that turns out to change nothing, or loses a race
    /// to a unique constraint, leaves no trace (nor a notification, which PostgreSQL sends
    /// only on commit).
    pub async fn transaction_or_rollback<T>(
        &mut self,
        body: impl AsyncFnOnce(&mut DbConn) -> Result<Outcome<T>, crate::error::AppError>,
    ) -> Result<T, crate::error::AppError> {
        let mut writing = self.writer().await?;
        let conn = match &mut writing {
            Some(writing) => writing,
            None => {
                self.begin().await?;
                self
            }
        };
        let result = match body(conn).await {
            Ok(Outcome::Commit(value)) => conn.finish(Ok(value)).await,
            Ok(Outcome::Rollback(value)) => conn
                .end(Ending::Rollback)
                .await
                .map(|()| value)
                .map_err(Into::into),
            Err(error) => conn.finish(Err(error)).await,
        };
        if let Some(writing) = writing {
            writing.hand_over().await;
        }
        result
    }

    /// Gives SQLite's write turn to the next writer and lets it run first: the waker of the
    /// next one runs next on this worker thread, and the rest of this request (rendering,
    /// the socket) goes to the back of the queue, where the other workers can take it.
    /// Without the yield, each request's remaining work ran between two turns, on the
    /// writers' critical path.
    async fn hand_over(self) {
        if let Self::Sqlite(_, writer) = &self {
            writer.turn_ended();
        }
        drop(self);
        tokio::task::yield_now().await;
    }

    /// On SQLite outside a transaction, the writer with its transaction begun (see
    /// [`Writer`]): the outermost transaction runs there, a nested one is a savepoint of it.
    /// `None` on PostgreSQL, and inside a transaction.
    async fn writer(&self) -> Result<Option<DbConn>, crate::error::AppError> {
        match self {
            Self::Sqlite(SqliteHandle::Pooled(_), writer) => {
                Ok(Some(Self::Sqlite(writer.begin().await?, writer.clone())))
            }
            _ => Ok(None),
        }
    }

    // Not through `with_backend!`, which would open a transaction of its own around these
    // behind a pooler.
    async fn begin(&mut self) -> Result<(), crate::error::AppError> {
        match self {
            Self::Postgres(conn) => conn.begin().await?,
            Self::Sqlite(conn, _) => begin_on(&mut **conn).await?,
        }
        Ok(())
    }

    async fn end(&mut self, ending: Ending) -> diesel::QueryResult<()> {
        match (self, ending) {
            (Self::Postgres(conn), Ending::Commit) => commit_on(&mut **conn).await,
            (Self::Postgres(conn), Ending::Rollback) => rollback_on(&mut **conn).await,
            (Self::Sqlite(conn, _), Ending::Commit) => commit_on(&mut **conn).await,
            (Self::Sqlite(conn, _), Ending::Rollback) => rollback_on(&mut **conn).await,
        }
    }

    /// Commits the transaction when `result` is `Ok`, rolls it back otherwise; returns
    /// `result` (or the commit's failure).
    async fn finish<T>(
        &mut self,
        result: Result<T, crate::error::AppError>,
    ) -> Result<T, crate::error::AppError> {
        match result {
            Ok(value) => {
                self.end(Ending::Commit).await?;
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = self.end(Ending::Rollback).await {
                    tracing::warn!(error = %rollback, "rolling back a transaction failed");
                }
                Err(error)
            }
        }
    }
}

/// How a transaction ends.
enum Ending {
    Commit,
    Rollback,
}

async fn begin_on<C: diesel_async::AsyncConnection>(c: &mut C) -> diesel::QueryResult<()> {
    use diesel_async::TransactionManager as _;
    C::TransactionManager::begin_transaction(c).await
}

async fn commit_on<C: diesel_async::AsyncConnection>(c: &mut C) -> diesel::QueryResult<()> {
    use diesel_async::TransactionManager as _;
    C::TransactionManager::commit_transaction(c).await
}

async fn rollback_on<C: diesel_async::AsyncConnection>(c: &mut C) -> diesel::QueryResult<()> {
    use diesel_async::TransactionManager as _;
    C::TransactionManager::rollback_transaction(c).await
}

/// What the body of [`DbConn::transaction_or_rollback`] decided.
pub enum Outcome<T> {
    /// Keep the writes and answer `T`.
    Commit(T),
    /// Undo the writes and answer `T` all the same.
    Rollback(T),
}

/// How the pool behaves.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections; a default per backend when `None`.
    pub size: Option<usize>,
    /// Longest wait for a connection.
    pub timeout: Duration,
    /// Longest one statement may run (PostgreSQL).
    pub statement_timeout: Duration,
    /// Whether PostgreSQL connections keep session state: a prepared-statement cache and
    /// the statement timeout set at connect time. `false` behind a transaction-mode pooler,
    /// where the timeout is set per transaction (`SET LOCAL`) instead.
    pub prepared_statements: bool,
}

/// Which database a URL names, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Postgres(String),
    Sqlite(PathBuf),
}

fn parse_url(url: &str) -> anyhow::Result<Target> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .context("DATABASE_URL must start with sqlite:// or postgres://")?;
    if path.is_empty() {
        bail!("DATABASE_URL names no SQLite file");
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

impl DbPool {
    /// Connects to `url` and applies the embedded migrations of that backend that have not
    /// run yet.
    pub async fn connect(url: &str, options: PoolOptions) -> anyhow::Result<Self> {
        let PoolOptions {
            size,
            timeout,
            statement_timeout,
            prepared_statements,
        } = options;
        let pool = match parse_url(url)? {
            Target::Postgres(url) => {
                if pg_config(&url)?.1 {
                    // Fails here, at start, rather than on every connection later.
                    rustls_config()?;
                }
                let mut config = ManagerConfig::default();
                // A test query on every checkout would double each request's round trips;
                // a connection that died is noticed on use and replaced on the next checkout.
                config.recycling_method = RecyclingMethod::Fast;
                let millis = statement_timeout.as_millis();
                let (session, pooler_begin) = if prepared_statements {
                    let session = PgSession {
                        statement_timeout_ms: Some(millis),
                        prepared_statements: true,
                    };
                    (session, None)
                } else {
                    let session = PgSession {
                        statement_timeout_ms: None,
                        prepared_statements: false,
                    };
                    let begin = format!("BEGIN; SET LOCAL statement_timeout = {millis}");
                    (session, Some(Arc::from(begin)))
                };
                config.custom_setup = Box::new(move |url| establish_pg(url, session));
                let manager =
                    AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
                let pool = Pool::builder(manager)
                    .max_size(size.unwrap_or(16))
                    .wait_timeout(Some(timeout))
                    .create_timeout(Some(timeout))
                    .recycle_timeout(Some(timeout))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .context("building the PostgreSQL pool")?;
                let conn = Object::take(pool.get().await.context("connecting to PostgreSQL")?);
                let pool = PgPool { pool, pooler_begin };
                tokio::task::spawn_blocking(move || {
                    let mut wrapper = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
                    if prepared_statements {
                        run_migrations(&mut wrapper, PG_MIGRATIONS)
                    } else {
                        // Behind a pooler the harness's own queries need one server
                        // connection too: all of it in one transaction.
                        wrapper.transaction(|c| run_migrations(c, PG_MIGRATIONS))
                    }
                })
                .await??;
                Self::Postgres(pool)
            }
            Target::Sqlite(path) => {
                let (pool, writer) = sqlite::connect(&path, size, timeout).await?;
                Self::Sqlite(pool, writer)
            }
        };
        Ok(pool)
    }

    /// Checks out a connection, waiting at most the configured timeout.
    pub async fn get(&self) -> Result<DbConn, crate::error::AppError> {
        Ok(match self {
            Self::Postgres(PgPool { pool, pooler_begin }) => DbConn::Postgres(PgConn {
                conn: pool.get().await?,
                pooler_begin: pooler_begin.clone(),
            }),
            Self::Sqlite(pool, writer) => {
                DbConn::Sqlite(SqliteHandle::Pooled(pool.get().await?), writer.clone())
            }
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        let Ok(mut conn) = self.get().await else {
            return false;
        };
        with_conn!(&mut conn, |c| diesel::sql_query("SELECT 1")
            .execute(c)
            .await)
        .is_ok()
    }

    /// Stops handing out connections and closes the idle ones.
    pub fn close(&self) {
        match self {
            Self::Postgres(pg) => pg.pool.close(),
            Self::Sqlite(pool, _) => pool.close(),
        }
    }

    /// The pool's size, idle connections and waiters, for metrics.
    pub fn status(&self) -> deadpool::Status {
        match self {
            Self::Postgres(pg) => pg.pool.status(),
            Self::Sqlite(pool, _) => pool.status(),
        }
    }

    /// The backend's name, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(..) => "sqlite",
        }
    }
}

fn run_migrations<C>(conn: &mut C, migrations: EmbeddedMigrations) -> anyhow::Result<()>
where
    C: MigrationHarness<<C as Connection>::Backend> + Connection,
{
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            parse_url("sqlite://data/todo.db").ok(),
            Some(Target::Sqlite("data/todo.db".into()))
        );
        assert!(matches!(
            parse_url("postgres://u@h/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(parse_url("mysql://x").is_err());
        assert!(parse_url("sqlite://").is_err());
    }
}
