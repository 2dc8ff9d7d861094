//! SQLite's one writer: the connection every write transaction of this process runs on.
//!
//! SQLite lets one writer in at a time. A transaction that found the file locked used to
//! sleep in SQLite's busy handler (1 ms, then longer) on whatever thread ran it; and since a
//! write by one connection empties the page cache of every other, writes spread over the
//! pool read their pages from the OS again each time. Here write transactions queue for
//! one connection, first come first served, whose cache stays warm; it begins with
//! `BEGIN IMMEDIATE` and never waits inside SQLite (`busy_timeout = 0`): when another
//! process holds the file's write lock it is asked again after an async sleep, so no thread
//! sleeps on a lock.

use std::{sync::Arc, time::Duration};

use diesel::{
    connection::{AnsiTransactionManager, SimpleConnection},
    result::Error as DieselError,
};
use diesel_async::{AsyncConnection, TransactionManager as _, pooled_connection::deadpool::Object};
use tokio::{
    sync::{Mutex, OwnedMutexGuard, mpsc},
    time::Instant,
};

use super::{SqliteConn, sqlite::open_sqlite_conn, sqlite_checkpoint};
use crate::error::AppError;

/// The writer connection, shared by the pool's clones.
#[derive(Clone)]
pub struct Writer {
    conn: Arc<Mutex<SqliteConn>>,
    path: Arc<str>,
    /// Told after each turn (see `sqlite_checkpoint`).
    checkpoints: mpsc::Sender<()>,
    /// Longest wait for the writers ahead, and again for another process's lock.
    timeout: Duration,
}

/// A SQLite connection in use: one of the pool's, or the writer while a transaction holds
/// it.
pub enum SqliteHandle {
    /// Checked out of the pool, for reads and single statements.
    Pooled(Object<SqliteConn>),
    /// The writer, inside a write transaction.
    Writing(OwnedMutexGuard<SqliteConn>),
}

impl std::ops::Deref for SqliteHandle {
    type Target = SqliteConn;

    fn deref(&self) -> &SqliteConn {
        match self {
            Self::Pooled(conn) => conn,
            Self::Writing(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for SqliteHandle {
    fn deref_mut(&mut self) -> &mut SqliteConn {
        match self {
            Self::Pooled(conn) => conn,
            Self::Writing(conn) => conn,
        }
    }
}

impl Writer {
    /// Opens the writer connection on the database at `path`.
    pub(super) async fn open(path: &str, timeout: Duration) -> diesel::ConnectionResult<Self> {
        let conn = Arc::new(Mutex::new(open_writer(path).await?));
        Ok(Self {
            checkpoints: sqlite_checkpoint::spawn(path.to_owned(), Arc::downgrade(&conn)),
            conn,
            path: Arc::from(path),
            timeout,
        })
    }

    /// Called once a turn has ended: its pages are in the log, to be checkpointed.
    pub(super) fn turn_ended(&self) {
        // A full channel already holds a round for these pages.
        let _ = self.checkpoints.try_send(());
    }

    /// Waits for the writer's turn and begins an immediate transaction on it; each of the
    /// two waits (this process's writers ahead, another process's lock) lasts at most the
    /// pool's timeout.
    pub(super) async fn begin(&self) -> Result<SqliteHandle, AppError> {
        let turn = Arc::clone(&self.conn).lock_owned();
        let mut conn = tokio::time::timeout(self.timeout, turn)
            .await
            .map_err(|_| anyhow::anyhow!("waited too long for the SQLite writer"))?;
        if !idle(&mut conn) {
            // A cancelled request left its transaction open (or the connection broken):
            // closing the connection rolls it back.
            *conn = open_writer(&self.path)
                .await
                .map_err(|e| anyhow::anyhow!("reopening the SQLite writer: {e}"))?;
        }
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let begun = conn
                .spawn_blocking(|c| {
                    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
                })
                .await;
            match begun {
                Ok(()) => return Ok(SqliteHandle::Writing(conn)),
                Err(error) if is_busy(&error) && started.elapsed() < self.timeout => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// Whether the connection is outside any transaction, as a turn must find it.
fn idle(conn: &mut SqliteConn) -> bool {
    matches!(
        <SqliteConn as AsyncConnection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth(),
        Ok(None)
    )
}

fn is_busy(error: &DieselError) -> bool {
    matches!(error, DieselError::DatabaseError(_, info) if info.message() == "database is locked")
}

async fn open_writer(path: &str) -> diesel::ConnectionResult<SqliteConn> {
    let mut conn = open_sqlite_conn(path).await?;
    // Its checkpoints run elsewhere (`sqlite_checkpoint`).
    conn.spawn_blocking(|c| {
        c.batch_execute("PRAGMA busy_timeout = 0; PRAGMA wal_autocheckpoint = 0")
    })
    .await
    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}
