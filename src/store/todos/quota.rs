//! The per-account todo quota: `users.todo_count`, moved in the same transaction as the rows
//! it counts. A create takes a slot with one conditional UPDATE (`todo_count < max`), which
//! locks the account's row on PostgreSQL and takes the write lock on SQLite, so concurrent
//! creates queue behind it and can never pass the quota together. The same statement
//! numbers the change in the account's change log (`store::changes`), so a write pays for
//! the log with no statement of its own.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{
    auth::UserId,
    db::{DbConn, with_conn},
    error::{AppError, AuthFailure},
    store::{changes::advance, schema::users},
};

/// Counts one more todo for `owner` and returns the change number of the create:
/// `QUOTA_EXCEEDED` when they already hold `max`.
pub(super) async fn take_slot(
    conn: &mut DbConn,
    owner: &UserId,
    max: u32,
) -> Result<i64, AppError> {
    let limit = i32::try_from(max).unwrap_or(i32::MAX);
    let account = users::table
        .find(owner.as_str())
        .filter(users::todo_count.lt(limit));
    let taken = advance!(
        &mut *conn,
        account,
        users::todo_count.eq(users::todo_count + 1)
    )?;
    if let Some(seq) = taken {
        return Ok(seq);
    }
    let account = with_conn!(conn, |c| {
        users::table
            .find(owner.as_str())
            .select(users::id)
            .first::<String>(c)
            .await
            .optional()
    })?;
    match account {
        Some(_) => Err(AppError::QuotaExceeded { limit: max }),
        // The owner's account is gone: the token outlived it.
        None => Err(AppError::Unauthenticated(AuthFailure::SessionRevoked)),
    }
}

/// Counts one todo fewer for `owner` and returns the change number of the delete; `None`
/// when the account is gone. For a delete of one todo, in a transaction that is undone
/// when no todo went.
pub(super) async fn free_slot_numbered(
    conn: &mut DbConn,
    owner: &UserId,
) -> Result<Option<i64>, AppError> {
    let account = users::table.find(owner.as_str());
    let seq = advance!(conn, account, users::todo_count.eq(users::todo_count - 1))?;
    Ok(seq)
}

/// Counts `deleted` fewer todos for `owner`.
pub(super) async fn free_slots(
    conn: &mut DbConn,
    owner: &UserId,
    deleted: usize,
) -> Result<(), AppError> {
    if deleted == 0 {
        return Ok(());
    }
    let deleted = i32::try_from(deleted).unwrap_or(i32::MAX);
    with_conn!(conn, |c| {
        diesel::update(users::table.find(owner.as_str()))
            .set(users::todo_count.eq(users::todo_count - deleted))
            .execute(c)
            .await
    })?;
    Ok(())
}
