//! The PostgreSQL pool and its connections, and how their transactions begin: a plain
//! `BEGIN` on a direct connection; behind a transaction-mode pooler `BEGIN; SET LOCAL
//! statement_timeout`, and a transaction of its own for a statement run outside one.

use std::sync::Arc;

use diesel_async::{
    AnsiTransactionManager, AsyncPgConnection, TransactionManager as _,
    pooled_connection::deadpool::{Object, Pool},
};

use super::{begin_on, commit_on, rollback_on};

/// The PostgreSQL pool, and how its transactions begin.
#[derive(Clone)]
pub struct PgPool {
    pub(super) pool: Pool<AsyncPgConnection>,
    /// Behind a transaction-mode pooler, what each transaction begins with (`BEGIN; SET
    /// LOCAL statement_timeout = …`); `None` on a direct connection.
    pub(super) pooler_begin: Option<Arc<str>>,
}

/// A PostgreSQL connection checked out of a [`PgPool`]; it dereferences to the connection.
pub struct PgConn {
    pub(super) conn: Object<AsyncPgConnection>,
    pub(super) pooler_begin: Option<Arc<str>>,
}

impl std::ops::Deref for PgConn {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

impl PgConn {
    /// Opens a transaction (behind a pooler with its `SET LOCAL`, in the same round trip);
    /// a nested one is a savepoint as usual.
    pub(super) async fn begin(&mut self) -> diesel::QueryResult<()> {
        let conn: &mut AsyncPgConnection = &mut self.conn;
        match &self.pooler_begin {
            Some(begin) if depth(conn)?.is_none() => {
                AnsiTransactionManager::begin_transaction_sql(conn, begin).await
            }
            _ => begin_on(conn).await,
        }
    }

    /// Behind a transaction-mode pooler and outside a transaction, opens one (with its
    /// `SET LOCAL statement_timeout`) and says so; otherwise does nothing.
    pub(crate) async fn own_transaction(&mut self) -> diesel::QueryResult<bool> {
        let Some(begin) = &self.pooler_begin else {
            return Ok(false);
        };
        let conn: &mut AsyncPgConnection = &mut self.conn;
        if depth(conn)?.is_some() {
            return Ok(false);
        }
        AnsiTransactionManager::begin_transaction_sql(conn, begin).await?;
        Ok(true)
    }

    /// Ends the transaction [`Self::own_transaction`] opened: commits after `Ok` (a
    /// failed commit becomes the error), rolls back after `Err`.
    pub(crate) async fn end_own_transaction<T, E: From<diesel::result::Error>>(
        &mut self,
        result: Result<T, E>,
    ) -> Result<T, E> {
        let conn: &mut AsyncPgConnection = &mut self.conn;
        match result {
            Ok(value) => {
                commit_on(conn).await?;
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = rollback_on(conn).await {
                    tracing::warn!(%rollback, "rolling back a statement's transaction failed");
                }
                Err(error)
            }
        }
    }
}

fn depth(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<std::num::NonZeroU32>> {
    AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()
}
