//! The per-account change log that sync (`changes`) and live updates read.
//!
//! Every write transaction over an account's todos first raises `users.sync_version` by one
//! ([`advance!`]), which locks the account's row until commit: writes of one account are
//! numbered in the order they commit, and writes of different accounts never wait on each
//! other. The rows the write changed carry that number (`todos.change_seq`); the todos it
//! deleted leave a tombstone with it (`todo_tombstones`), kept until [`purge`]. Once the
//! write committed, [`announce`] notifies [`CHANNEL`] on PostgreSQL.
//!
//! The log is ordered by [`Position`] (number, then todo id); [`since`] reads what lies
//! beyond one, a todo once at its last change.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

mod tombstones;

pub(crate) use tombstones::bury;
pub(super) use tombstones::bury_account;
pub(crate) use tombstones::purge;

use super::{
    schema::{todo_tombstones, todos, users},
    todos::{Todo, owned_by},
};
use crate::{
    auth::UserId,
    db::{DbConn, Prepared, with_backend, with_conn},
    error::AppError,
};

/// The PostgreSQL NOTIFY channel; payload "<owner id> <new sync_version> <the clock when
/// it was sent, in microseconds since the epoch>" (the last for the listeners' lag metric).
pub(crate) const CHANNEL: &str = "todo_graphql_todo_changes";

/// Tells the other replicas (PostgreSQL `NOTIFY` on [`CHANNEL`]) that `owner`'s log
/// reached `seq`; nothing on SQLite, or when the write took no number. Call it after the
/// write committed, on the same connection.
///
/// Not inside the write's transaction: PostgreSQL holds one database-wide lock from a
/// notifying transaction's commit until its WAL is flushed, so notifying writes would
/// queue behind each other's disk flushes (measured: half the `createTodo` throughput).
/// A notification alone commits without a flush. A notification lost to a crash in
/// between delays the other replicas' live updates until the account's next write; the
/// log itself is intact.
pub(crate) async fn announce(conn: &mut DbConn, owner: &UserId, seq: Option<i64>) {
    let Some(seq) = seq else { return };
    let payload = format!("{} {seq}", owner.as_str());
    let sent = with_backend!(
        conn,
        postgres | c | {
            // The clock is the notification's own, just after the commit.
            Prepared(
                diesel::sql_query(
                    "SELECT pg_notify($1, $2 || ' ' || \
                     (extract(epoch from clock_timestamp()) * 1000000)::bigint)",
                )
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Text, _>(&payload),
            )
            .execute(c)
            .await
            .map(drop)
        },
        sqlite | _c | Ok::<(), diesel::result::Error>(())
    );
    if let Err(error) = sent {
        tracing::warn!(%error, "announcing a todo change failed; other replicas hear of it later");
    }
}

/// `diesel::update($target).set(..)` that raises the account's `sync_version` by one, with
/// `$extra` assignments (as `todo_count`), returning the new number. Evaluates to
/// `QueryResult<Option<i64>>` (`None` when `$target` matched no account).
macro_rules! advance {
    ($conn:expr, $target:expr) => {
        $crate::store::changes::advance!(@run $conn, $target, (
            $crate::store::schema::users::sync_version
                .eq($crate::store::schema::users::sync_version + 1),
        ))
    };
    ($conn:expr, $target:expr, $($extra:expr),+) => {
        $crate::store::changes::advance!(@run $conn, $target, (
            $crate::store::schema::users::sync_version
                .eq($crate::store::schema::users::sync_version + 1),
            $($extra),+
        ))
    };
    (@run $conn:expr, $target:expr, $values:expr) => {{
        use $crate::store::schema::users;
        let values = $values;
        $crate::db::with_conn!($conn, |c| {
            // One text per call site: kept prepared (see `db::Prepared`).
            $crate::db::Prepared(
                diesel::update($target)
                    .set(values)
                    .returning(users::sync_version),
            )
            .get_result::<i64>(c)
            .await
            .optional()
        })
    }};
}
pub(crate) use advance;

/// A place in one owner's change log; the log is ordered by (seq, id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Position {
    /// The owner's `sync_version` of the change.
    pub(crate) seq: i64,
    /// The todo's id; `""` sorts before every todo of its `seq`.
    pub(crate) id: String,
}

impl Position {
    /// The place right after every change numbered `seq` or lower: where a follower that
    /// starts at the log's end stands.
    pub(crate) fn after_seq(seq: i64) -> Self {
        Self {
            seq: seq + 1,
            id: String::new(),
        }
    }

    /// The highest number whose changes all lie at or before this position.
    pub(crate) fn seen_through(&self) -> i64 {
        if self.id.is_empty() {
            self.seq - 1
        } else {
            self.seq
        }
    }
}

/// The owner's newest change number (0 for an account without changes, or one that is
/// gone).
pub(crate) async fn head(conn: &mut DbConn, owner: &UserId) -> Result<i64, AppError> {
    let head = with_conn!(conn, |c| {
        users::table
            .find(owner.as_str())
            .select(users::sync_version)
            .first::<i64>(c)
            .await
            .optional()
    })?;
    Ok(head.unwrap_or(0))
}

/// One entry of the change log.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// A todo created or changed, as it is now.
    Upserted(Todo),
    /// A todo deleted.
    Deleted {
        /// Its raw id.
        id: String,
        /// Where its deletion is in the log.
        position: Position,
    },
}

impl Change {
    /// Where this change is in the log.
    pub(crate) fn position(&self) -> Position {
        match self {
            Self::Upserted(todo) => todo.position(),
            Self::Deleted { position, .. } => position.clone(),
        }
    }
}

/// One page of the change log.
#[derive(Debug, Clone)]
pub(crate) struct ChangePage {
    /// In (seq, id) order.
    pub(crate) changes: Vec<Change>,
    /// More changes lie beyond the last one.
    pub(crate) has_more: bool,
    /// The owner's `sync_version` when the page was read, no later than the page's own
    /// view of the rows: every change not in the page's snapshot is numbered above it
    /// (0 when the account is gone).
    pub(crate) head: i64,
}

/// Where a read of the log starts: live todos beyond one position, tombstones beyond
/// another (or none at all: a full resync lists what exists, not what went).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan<'a> {
    /// Todos changed beyond this position; `None`: every live todo.
    pub(crate) todos: Option<&'a Position>,
    /// Tombstones beyond this position; `None`: no tombstones.
    pub(crate) tombstones: Option<&'a Position>,
}

/// The owner's changes after `after` (None: from the start, a full resync — live todos
/// only, no tombstones), at most `first`, in (seq, id) order; a todo appears once at its
/// last change. `Ok(None)` when `after` is older than the tombstones kept
/// (after.seq <= users.sync_purged) or ahead of the log (after.seq > users.sync_version:
/// another database): the caller must full-resync. Works for a deleted account (its
/// tombstones remain until purged; a missing users row counts as sync_purged 0 and no
/// upper bound).
pub(crate) async fn since(
    conn: &mut DbConn,
    owner: &UserId,
    after: Option<&Position>,
    first: usize,
) -> Result<Option<ChangePage>, AppError> {
    let scan = Scan {
        todos: after,
        tombstones: after,
    };
    read(conn, owner, scan, first).await
}

/// [`since`] with the todos' and the tombstones' starting places given apart, as a
/// resumed full resync needs. `Ok(None)` as for [`since`], judged by the tombstones'
/// place for the purge and by the later of the two for the log's end.
pub(crate) async fn read(
    conn: &mut DbConn,
    owner: &UserId,
    scan: Scan<'_>,
    first: usize,
) -> Result<Option<ChangePage>, AppError> {
    let limit = i64::try_from(first.saturating_add(1)).unwrap_or(i64::MAX);
    // The tombstones first, with the account's marks of the same snapshot: a purge that
    // removed some of them is always noticed, and the head is no newer than the todos read
    // next.
    let (mut marks, deleted) = match scan.tombstones {
        Some(after) => tombstones_after(conn, owner, after, limit).await?,
        None => (None, Vec::new()),
    };
    // Tombstones numbered up to `purged` are gone, all of a number at once (they share
    // their time): a client that may lack some of them, even of its own last number (a page
    // can end inside one change), must resync.
    if let (Some(after), Some((_, purged))) = (scan.tombstones, marks)
        && purged >= after.seq
    {
        return Ok(None);
    }
    let head_now = users::table
        .find(owner.as_str())
        .select(users::sync_version)
        .single_value();
    // One statement, one snapshot: the head read with the rows is never newer than them.
    let live: Vec<(Todo, Option<i64>)> = with_conn!(&mut *conn, |c| {
        let mut q = owned_by(owner)
            .select((Todo::as_select(), head_now))
            .order_by((todos::change_seq.asc(), todos::id.asc()))
            .limit(limit)
            .into_boxed();
        if let Some(after) = scan.todos {
            // The redundant `>=` lets the index range start at `after.seq`.
            q = q.filter(
                todos::change_seq.ge(after.seq).and(
                    todos::change_seq
                        .gt(after.seq)
                        .or(todos::id.gt(after.id.as_str())),
                ),
            );
        }
        q.load(c).await
    })?;
    let mut head = marks.map(|(head, _)| head);
    // (`RunQueryDsl::first` would shadow the slice's.)
    head = head.or_else(|| <[_]>::first(&live).and_then(|(_, head)| *head));
    if head.is_none() && scan.tombstones.is_none() {
        // A full resync of an account without todos: the head is still needed.
        marks = marks_of(conn, owner).await?;
        head = marks.map(|(head, _)| head);
    }
    let furthest = scan.todos.max(scan.tombstones);
    if let (Some(after), Some(head)) = (furthest, head)
        && after.seen_through() > head
    {
        return Ok(None);
    }
    Ok(Some(merge(live, deleted, first, head.unwrap_or(0))))
}

/// The account's (sync_version, sync_purged); `None` when it is gone.
async fn marks_of(conn: &mut DbConn, owner: &UserId) -> Result<Option<(i64, i64)>, AppError> {
    let marks = with_conn!(conn, |c| {
        users::table
            .find(owner.as_str())
            .select((users::sync_version, users::sync_purged))
            .first(c)
            .await
            .optional()
    })?;
    Ok(marks)
}

/// The account's marks and up to `limit` of its tombstones beyond `after`, in one
/// statement: the account's row joined to its tombstones, so it answers a row even when
/// there is no tombstone. A deleted account (no row) has its tombstones read alone.
async fn tombstones_after(
    conn: &mut DbConn,
    owner: &UserId,
    after: &Position,
    limit: i64,
) -> Result<(Option<(i64, i64)>, Vec<(String, i64)>), AppError> {
    let beyond = todo_tombstones::change_seq.ge(after.seq).and(
        todo_tombstones::change_seq
            .gt(after.seq)
            .or(todo_tombstones::todo_id.gt(after.id.as_str())),
    );
    let order = (
        todo_tombstones::change_seq.asc(),
        todo_tombstones::todo_id.asc(),
    );
    type Row = (i64, i64, Option<String>, Option<i64>);
    let rows: Vec<Row> = with_conn!(&mut *conn, |c| {
        users::table
            .left_join(
                todo_tombstones::table.on(todo_tombstones::owner_id.eq(users::id).and(beyond)),
            )
            .filter(users::id.eq(owner.as_str()))
            .order_by(order)
            .limit(limit)
            .select((
                users::sync_version,
                users::sync_purged,
                todo_tombstones::todo_id.nullable(),
                todo_tombstones::change_seq.nullable(),
            ))
            .load(c)
            .await
    })?;
    if let Some((head, purged, _, _)) = <[_]>::first(&rows) {
        let marks = Some((*head, *purged));
        let deleted = rows
            .into_iter()
            .filter_map(|(_, _, id, seq)| Some((id?, seq?)))
            .collect();
        return Ok((marks, deleted));
    }
    let deleted = with_conn!(&mut *conn, |c| {
        todo_tombstones::table
            .filter(todo_tombstones::owner_id.eq(owner.as_str()))
            .filter(beyond)
            .order_by(order)
            .limit(limit)
            .select((todo_tombstones::todo_id, todo_tombstones::change_seq))
            .load(c)
            .await
    })?;
    Ok((None, deleted))
}

/// The two sorted lists as one, cut at `first`.
fn merge(
    todos: Vec<(Todo, Option<i64>)>,
    deleted: Vec<(String, i64)>,
    first: usize,
    head: i64,
) -> ChangePage {
    let mut upserts = todos.into_iter().map(|(todo, _)| Change::Upserted(todo));
    let mut deletions = deleted.into_iter().map(|(id, seq)| Change::Deleted {
        position: Position {
            seq,
            id: id.clone(),
        },
        id,
    });
    let mut changes = Vec::new();
    let (mut next_upsert, mut next_deletion) = (upserts.next(), deletions.next());
    loop {
        let take_upsert = match (&next_upsert, &next_deletion) {
            (Some(u), Some(d)) => u.position() < d.position(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let change = if take_upsert {
            std::mem::replace(&mut next_upsert, upserts.next())
        } else {
            std::mem::replace(&mut next_deletion, deletions.next())
        };
        changes.extend(change);
    }
    let has_more = changes.len() > first;
    changes.truncate(first);
    ChangePage {
        changes,
        has_more,
        head,
    }
}
