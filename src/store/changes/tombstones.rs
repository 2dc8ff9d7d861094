//! Tombstones: what a deleted todo leaves in the change log, for `SYNC_TOMBSTONE_TTL`, so
//! that a device that was offline learns of the deletion; and the purge that ends them.

use diesel::{dsl, prelude::*};
use diesel_async::RunQueryDsl;

use super::advance;
use crate::{
    auth::UserId,
    db::{DbConn, with_conn},
    error::AppError,
    store::schema::{todo_tombstones, users},
};

/// Writes a tombstone numbered `$seq` for each of `$owner`'s todos that `$filter` keeps,
/// copying their client ids: `bury!(conn, owner, seq, todos::completed.eq(true))`. Call it
/// just before deleting the same todos, in the transaction that took `$seq`: the account's
/// row is locked since, so no other write can change which todos the filter keeps.
/// Evaluates to `QueryResult<usize>`.
macro_rules! bury {
    ($conn:expr, $owner:expr, $seq:expr, $filter:expr) => {{
        use $crate::store::schema::{todo_tombstones, todos};
        let (owner, seq): (&$crate::auth::UserId, i64) = ($owner, $seq);
        let now = $crate::store::now().naive_utc();
        $crate::db::with_conn!($conn, |c| {
            diesel::insert_into(todo_tombstones::table)
                .values(
                    $crate::store::todos::owned_by(owner)
                        .filter($filter)
                        .select((
                            todos::owner_id,
                            todos::id,
                            seq.into_sql::<diesel::sql_types::BigInt>(),
                            now.into_sql::<diesel::sql_types::Timestamp>(),
                            todos::client_id,
                            todos::client_fingerprint,
                        )),
                )
                .into_columns((
                    todo_tombstones::owner_id,
                    todo_tombstones::todo_id,
                    todo_tombstones::change_seq,
                    todo_tombstones::deleted_at,
                    todo_tombstones::client_id,
                    todo_tombstones::client_fingerprint,
                ))
                .execute(c)
                .await
        })
    }};
}
pub(crate) use bury;

/// Before an account is deleted: takes a last change number and buries every todo of
/// the account with it, so devices still syncing learn of the deletions. `None` when the
/// account is already gone.
pub(in crate::store) async fn bury_account(
    conn: &mut DbConn,
    owner: &UserId,
) -> Result<Option<i64>, AppError> {
    let Some(seq) = advance!(&mut *conn, users::table.find(owner.as_str()))? else {
        return Ok(None);
    };
    bury!(&mut *conn, owner, seq, todos::id.is_not_null())?;
    Ok(Some(seq))
}

/// Deletes tombstones older than `ttl`, raising each affected owner's sync_purged first
/// (one transaction). Returns how many went.
pub(crate) async fn purge(conn: &mut DbConn, ttl: std::time::Duration) -> Result<usize, AppError> {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    let Some(cutoff) = crate::store::now().naive_utc().checked_sub_signed(ttl) else {
        return Ok(0);
    };
    // The highest number each owner loses, so their cursors below it resync. Read before
    // the transaction (whose first statement must be a write on SQLite): no tombstone
    // older than the cutoff can appear meanwhile.
    let lost: Vec<(String, Option<i64>)> = with_conn!(&mut *conn, |c| {
        todo_tombstones::table
            .filter(todo_tombstones::deleted_at.lt(cutoff))
            .group_by(todo_tombstones::owner_id)
            .select((
                todo_tombstones::owner_id,
                dsl::max(todo_tombstones::change_seq),
            ))
            .order_by(todo_tombstones::owner_id)
            .load(c)
            .await
    })?;
    if lost.is_empty() {
        return Ok(0);
    }
    conn.transaction(async |conn| {
        // In owner order, so two replicas purging at once cannot deadlock.
        for (owner, seq) in &lost {
            let Some(seq) = *seq else { continue };
            with_conn!(&mut *conn, |c| {
                diesel::update(
                    users::table
                        .find(owner.as_str())
                        .filter(users::sync_purged.lt(seq)),
                )
                .set(users::sync_purged.eq(seq))
                .execute(c)
                .await
            })?;
        }
        let removed = with_conn!(&mut *conn, |c| {
            diesel::delete(todo_tombstones::table.filter(todo_tombstones::deleted_at.lt(cutoff)))
                .execute(c)
                .await
        })?;
        Ok(removed)
    })
    .await
}
