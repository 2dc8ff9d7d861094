//! Opening the SQLite file: the pool of read connections, the writer, the PRAGMAs every
//! connection needs, and the migrations.

use std::{path::Path, time::Duration};

use anyhow::Context as _;
use diesel::{Connection, SqliteConnection, connection::SimpleConnection};
use diesel_async::{
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool::Pool,
    },
    sync_connection_wrapper::SyncConnectionWrapper,
};
use futures_util::{FutureExt, future::BoxFuture};

use super::{SQLITE_MIGRATIONS, Writer, run_migrations, sqlite_runtime::SqliteRuntime};

/// SQLite, wrapped so diesel-async can run it on the blocking pool (or in place).
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, SqliteRuntime>;

/// Creates the file's directory, applies the pending migrations and opens the pool (at
/// most `size` connections, 8 by default) and the writer.
pub(super) async fn connect(
    path: &Path,
    size: Option<usize>,
    timeout: Duration,
) -> anyhow::Result<(Pool<SqliteConn>, Writer)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let path = path
        .to_str()
        .context("the SQLite path is not UTF-8")?
        .to_owned();
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(establish_sqlite);
    let manager = AsyncDieselConnectionManager::<SqliteConn>::new_with_config(path.clone(), config);
    let pool = Pool::builder(manager)
        .max_size(size.unwrap_or(8))
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the SQLite pool")?;
    let migrate = path.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = open_sqlite(&migrate).context("opening SQLite")?;
        run_migrations(&mut conn, SQLITE_MIGRATIONS)
    })
    .await??;
    let writer = Writer::open(&path, timeout)
        .await
        .context("opening the SQLite writer")?;
    Ok((pool, writer))
}

/// A new connection to the file, set up as every one of them must be.
pub(super) fn open_sqlite(path: &str) -> diesel::ConnectionResult<SqliteConnection> {
    let mut conn = SqliteConnection::establish(path)?;
    // SQLite forgets PRAGMAs between connections, so every new one needs them. The size
    // limit truncates the WAL back to 64 MiB after a burst of writes made it longer.
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY; \
         PRAGMA journal_size_limit = 67108864;",
    )
    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

fn establish_sqlite(path: &str) -> BoxFuture<'_, diesel::ConnectionResult<SqliteConn>> {
    open_sqlite_conn(path).boxed()
}

/// [`open_sqlite`] on the blocking pool, wrapped for diesel-async.
pub(super) async fn open_sqlite_conn(path: &str) -> diesel::ConnectionResult<SqliteConn> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || open_sqlite(&path).map(SyncConnectionWrapper::new))
        .await
        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?
}
