//! The TodoMVC bulk actions: toggle all and clear completed. Each is one change in the
//! owner's log, and answers exactly the rows it changed (RETURNING), so a client's cache
//! can apply the answer as it is.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{Todo, owned_by, quota};
use crate::{
    auth::UserId,
    db::{DbConn, Outcome, with_conn},
    error::AppError,
    store::{
        changes,
        schema::{todos, users},
    },
};

/// Marks all the owner's todos completed (or open); returns the todos that changed, as
/// they are now, and the change number (`None` when none changed: nothing is written).
pub(crate) async fn set_all_completed(
    conn: &mut DbConn,
    owner: &UserId,
    completed: bool,
) -> Result<(Vec<Todo>, Option<i64>), AppError> {
    let now = crate::store::now().naive_utc();
    let (answer, seq) = conn
        .transaction_or_rollback(async |conn| {
            let account = users::table.find(owner.as_str());
            let Some(seq) = changes::advance!(&mut *conn, account)? else {
                return Ok(Outcome::Rollback((Vec::new(), None)));
            };
            let values = (
                todos::completed.eq(completed),
                todos::completed_at.eq(completed.then_some(now)),
                todos::version.eq(todos::version + 1),
                todos::updated_at.eq(now),
                todos::change_seq.eq(seq),
            );
            let mut changed: Vec<Todo> = with_conn!(&mut *conn, |c| {
                diesel::update(owned_by(owner).filter(todos::completed.ne(completed)))
                    .set(values)
                    .returning(Todo::as_returning())
                    .load(c)
                    .await
            })?;
            if changed.is_empty() {
                return Ok(Outcome::Rollback((changed, None)));
            }
            changed.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(Outcome::Commit((changed, Some(seq))))
        })
        .await?;
    changes::announce(conn, owner, seq).await;
    Ok((answer, seq))
}

/// Deletes the owner's completed todos, leaving their tombstones; returns their ids and
/// the change number (`None` when there were none: nothing is written).
pub(crate) async fn clear_completed(
    conn: &mut DbConn,
    owner: &UserId,
) -> Result<(Vec<String>, Option<i64>), AppError> {
    let (answer, seq) = conn
        .transaction_or_rollback(async |conn| {
            let account = users::table.find(owner.as_str());
            let Some(seq) = changes::advance!(&mut *conn, account)? else {
                return Ok(Outcome::Rollback((Vec::new(), None)));
            };
            // The tombstones first: they copy the rows the delete then removes.
            let buried = changes::bury!(&mut *conn, owner, seq, todos::completed.eq(true))?;
            if buried == 0 {
                return Ok(Outcome::Rollback((Vec::new(), None)));
            }
            let mut deleted: Vec<String> = with_conn!(&mut *conn, |c| {
                diesel::delete(owned_by(owner).filter(todos::completed.eq(true)))
                    .returning(todos::id)
                    .load(c)
                    .await
            })?;
            deleted.sort();
            quota::free_slots(conn, owner, deleted.len()).await?;
            Ok(Outcome::Commit((deleted, Some(seq))))
        })
        .await?;
    changes::announce(conn, owner, seq).await;
    Ok((answer, seq))
}
