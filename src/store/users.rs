//! Accounts: create, and find by email (for login) or by id (for the viewer).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::users;
use crate::{auth::UserId, db::DbConn, db::with_conn, error::AppError};

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Random UUID, never shown raw to clients.
    pub id: String,
    /// Trimmed and lower-cased.
    pub email: String,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
    /// Optional name to show.
    pub display_name: Option<String>,
    created_at: NaiveDateTime,
}

impl User {
    /// When the account was created, in UTC.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at.and_utc()
    }
}

/// A new account, its email already normalised and its password already hashed.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Normalised email.
    pub email: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Optional name to show.
    pub display_name: Option<&'a str>,
}

/// Creates an account; `EMAIL_TAKEN` when the email exists.
pub async fn create(conn: &mut DbConn, new: NewUser<'_>) -> Result<User, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = super::now().naive_utc();
    let row = (
        users::id.eq(&id),
        new,
        users::created_at.eq(now),
        users::updated_at.eq(now),
    );
    let result = with_conn!(conn, |c| {
        diesel::insert_into(users::table)
            .values(row)
            .returning(User::as_returning())
            .get_result(c)
            .await
    });
    result.map_err(|e| {
        if super::is_unique_violation(&e) {
            AppError::EmailTaken
        } else {
            e.into()
        }
    })
}

/// The account with this normalised email, if any.
pub async fn find_by_email(conn: &mut DbConn, email: &str) -> Result<Option<User>, AppError> {
    let found = with_conn!(conn, |c| {
        users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(found?)
}

/// The viewer's own account; `None` when it has been deleted since the token was issued.
pub async fn find(conn: &mut DbConn, viewer: &UserId) -> Result<Option<User>, AppError> {
    let found = with_conn!(conn, |c| {
        users::table
            .find(viewer.as_str())
            .select(User::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(found?)
}

/// Replaces the owner's password hash.
pub async fn set_password_hash(
    conn: &mut DbConn,
    owner: &UserId,
    hash: &str,
) -> Result<(), AppError> {
    let now = super::now().naive_utc();
    with_conn!(conn, |c| {
        diesel::update(users::table.find(owner.as_str()))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Deletes the owner's account; their todos and sessions go with it (`ON DELETE CASCADE`),
/// and their todos leave tombstones first, numbered by one last change (returned; `None`
/// when there was no account). Call it in a transaction.
pub async fn delete(conn: &mut DbConn, owner: &UserId) -> Result<Option<i64>, AppError> {
    let Some(seq) = super::changes::bury_account(conn, owner).await? else {
        return Ok(None);
    };
    with_conn!(conn, |c| {
        diesel::delete(users::table.find(owner.as_str()))
            .execute(c)
            .await
    })?;
    Ok(Some(seq))
}
