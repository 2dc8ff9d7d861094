//! Checkpoints of SQLite's write-ahead log, outside the writers' turns.
//!
//! A commit appends the pages it changed to the log; a checkpoint copies them into the
//! database file and syncs both files. SQLite's default runs one inside the commit that
//! took the log past 1,000 pages, on the writer, while every other write waits behind it:
//! measured, a fifth of a `createTodo`'s CPU, with two disk syncs, in the writers' path. Here
//! the writer never checkpoints (`wal_autocheckpoint = 0`). After writes, this task copies
//! the log on a connection of its own while writes go on; once the log is long, it then
//! takes one writer's turn to copy the pages committed meanwhile, so that the next write
//! starts the log over from its beginning: a log that is never copied to its end is never
//! reused, and only grows.

use std::{
    sync::Weak,
    time::{Duration, Instant},
};

use diesel::{QueryResult, QueryableByName, RunQueryDsl, sql_types::Integer};
use tokio::sync::{Mutex, mpsc};

use super::{SqliteConn, sqlite::open_sqlite_conn};

/// A log this long (in pages: 4 MiB, about SQLite's own 1,000) is copied to its end in a
/// writer's turn, which costs the writes waiting behind it a few milliseconds (mostly the
/// two syncs). Under load that is every round, and longer logs measured worse (createTodo
/// p99 65 to 82 ms at 4,096 pages against 36 to 55 ms at 1,024, alternating on one
/// database): each page a write reads is looked up in a longer log index, and a log that
/// starts over rewrites pages of its file instead of extending it.
const LONG_LOG: i32 = 1024;

/// At most this many more copies before the writer's turn is taken, until one leaves at
/// most [`SHORT_REST`] pages.
const CATCH_UP: usize = 4;
const SHORT_REST: i32 = 256;

/// The least time between two checkpoints: the pages of the writes in between are copied
/// and synced together.
const PAUSE: Duration = Duration::from_millis(100);

/// Starts the checkpoints of the database at `path`, whose writer connection is `writer`.
/// Send on the returned channel after a write; the task ends when every sender is gone.
pub(super) fn spawn(path: String, writer: Weak<Mutex<SqliteConn>>) -> mpsc::Sender<()> {
    let (wrote, mut writes) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut own = None;
        let mut failing = false;
        while writes.recv().await.is_some() {
            let started = Instant::now();
            match checkpoint(&path, &mut own, &writer).await {
                // Said once a failing streak (a full disk fails every round, up to ten a
                // second); the connection is reopened on the next round, and the log
                // waits for it meanwhile.
                Err(error) => {
                    own = None;
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(%error, "checkpointing the SQLite log failed");
                    }
                }
                Ok(()) if std::mem::take(&mut failing) => {
                    tracing::info!("checkpointing the SQLite log works again");
                }
                Ok(()) => {}
            }
            tokio::time::sleep(PAUSE.saturating_sub(started.elapsed())).await;
        }
    });
    wrote
}

/// One round: the log copied while writes go on, then, when it is long, its rest in a
/// writer's turn.
async fn checkpoint(
    path: &str,
    own: &mut Option<SqliteConn>,
    writer: &Weak<Mutex<SqliteConn>>,
) -> anyhow::Result<()> {
    let conn = match own {
        Some(conn) => conn,
        None => own.insert(open_sqlite_conn(path).await?),
    };
    // Copied up to where the log ended when the copy began: writes went on meanwhile.
    let copied = passive(conn).await?;
    if copied.log < LONG_LOG {
        return Ok(());
    }
    // Again while the last copy let much be appended: what the writer's turn must wait
    // for (copying, and syncing the log's new pages first) shrinks with each copy.
    let copied = copy_until_short(conn, copied).await?;
    // The copies wrote the database file without syncing it (SQLite syncs it only when a
    // copy reaches the log's end, which is below, in the turn): sync it now, so that the
    // turn's sync has only the pages of the copies after this one to write.
    let file = path.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(file)?.sync_data()).await??;
    copy_until_short(conn, copied).await?;
    let Some(writer) = writer.upgrade() else {
        return Ok(());
    };
    // Queued behind the writes already waiting, like one more; nothing is appended while
    // the turn is held, so the copy can reach the log's end (unless a reader still needs
    // older pages, when the next round tries again).
    let turn = writer.lock().await;
    passive(conn).await?;
    drop(turn);
    Ok(())
}

/// Copies again, at most [`CATCH_UP`] times, until one began at most [`SHORT_REST`] pages
/// after the one before (`copied`).
async fn copy_until_short(conn: &mut SqliteConn, mut copied: Progress) -> QueryResult<Progress> {
    for _ in 0..CATCH_UP {
        let before = copied.log;
        copied = passive(conn).await?;
        if copied.log - before <= SHORT_REST {
            break;
        }
    }
    Ok(copied)
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(QueryableByName)]
struct Progress {
    /// Pages in the log when the copy began (`-1` outside WAL mode); the copy took them
    /// all to the database file, as far as no reader still needed their older versions.
    #[diesel(sql_type = Integer)]
    log: i32,
}

/// Copies what it can of the log without waiting for any lock, on the blocking pool.
async fn passive(conn: &mut SqliteConn) -> QueryResult<Progress> {
    conn.spawn_blocking(|c| {
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<Progress>(c)
    })
    .await
}
