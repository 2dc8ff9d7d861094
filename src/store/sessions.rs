//! Sessions, their refresh tokens, and the tombstones of revoked sessions.
//!
//! Sessions are owned rows: listing, reading and revoking take the owner first and start
//! from [`owned_by`]. Two reads are not scoped, because they are how an owner is found:
//! [`find_by_refresh_hash`] (the refresh token is the credential, as an email and password
//! are for `users::find_by_email`) and [`revoked`] (the process-wide revoked set).
//!
//! Only SHA-256 hashes of refresh tokens are stored. A used token keeps its row, marked
//! `used_at`, until it expires, so presenting it again is recognised as reuse.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{dsl, prelude::*};
use diesel_async::RunQueryDsl;

use super::schema::{refresh_tokens, revoked_sessions, sessions};
use crate::{
    auth::{SessionId, UserId},
    db::{DbConn, Prepared, with_backend, with_conn},
    error::AppError,
};

/// The PostgreSQL channel on which revocations are announced; the payload is
/// `"<session id> <unix seconds until which its tokens must be refused>"`.
pub const REVOKED_CHANNEL: &str = "todo_graphql_sessions_revoked";

/// A stored session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Random UUID.
    pub id: String,
    /// The owner's id.
    pub user_id: String,
    created_at: NaiveDateTime,
    last_used_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    /// The `User-Agent` of the signup or login that started it.
    pub user_agent: Option<String>,
    /// The client address of the signup or login that started it.
    pub ip: Option<String>,
    revoked_at: Option<NaiveDateTime>,
}

impl Session {
    /// When it started.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at.and_utc()
    }
    /// When it was last refreshed (or started).
    pub fn last_used_at(&self) -> DateTime<Utc> {
        self.last_used_at.and_utc()
    }
    /// When its newest refresh token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at.and_utc()
    }
    /// Whether it was revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// A stored refresh token (its hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    /// Its SHA-256, hex.
    pub token_hash: String,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

impl RefreshToken {
    /// When it stops working.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at.and_utc()
    }
    /// When it was exchanged for a new one, if it was.
    pub fn used_at(&self) -> Option<DateTime<Utc>> {
        self.used_at.map(|t| t.and_utc())
    }
}

/// A new session: where it comes from, and the hash of its first refresh token.
pub struct NewSession<'a> {
    /// `User-Agent`, if sent.
    pub user_agent: Option<&'a str>,
    /// Client address, if known.
    pub ip: Option<&'a str>,
    /// SHA-256 of the first refresh token.
    pub token_hash: &'a str,
    /// When that token expires.
    pub expires_at: DateTime<Utc>,
}

/// Which of the owner's live sessions to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// This one.
    One(&'a SessionId),
    /// The one a client named by its id: unverified, so only the owner filter scopes it.
    Named(&'a str),
    /// All but this one.
    AllBut(&'a SessionId),
    /// All of them.
    All,
}

fn owned_by(owner: &UserId) -> dsl::Filter<sessions::table, dsl::Eq<sessions::user_id, &str>> {
    sessions::table.filter(sessions::user_id.eq(owner.as_str()))
}

/// Creates a session for `owner` with its first refresh token.
pub async fn create(
    conn: &mut DbConn,
    owner: &UserId,
    new: NewSession<'_>,
) -> Result<Session, AppError> {
    let now = super::now().naive_utc();
    let expires_at = new.expires_at.naive_utc();
    let id = uuid::Uuid::new_v4().to_string();
    let row = (
        sessions::id.eq(&id),
        sessions::user_id.eq(owner.as_str()),
        sessions::created_at.eq(now),
        sessions::last_used_at.eq(now),
        sessions::expires_at.eq(expires_at),
        sessions::user_agent.eq(new.user_agent),
        sessions::ip.eq(new.ip),
    );
    let token = (
        refresh_tokens::token_hash.eq(new.token_hash),
        refresh_tokens::session_id.eq(&id),
        refresh_tokens::created_at.eq(now),
        refresh_tokens::expires_at.eq(expires_at),
    );
    conn.transaction(async |conn| {
        let session = with_conn!(&mut *conn, |c| {
            diesel::insert_into(sessions::table)
                .values(row)
                .returning(Session::as_returning())
                .get_result(c)
                .await
        })?;
        with_conn!(&mut *conn, |c| {
            diesel::insert_into(refresh_tokens::table)
                .values(token)
                .execute(c)
                .await
        })?;
        Ok(session)
    })
    .await
}

/// The owner's live sessions (not revoked, not expired), newest first.
pub async fn list(conn: &mut DbConn, owner: &UserId) -> Result<Vec<Session>, AppError> {
    let now = super::now().naive_utc();
    let rows = with_conn!(conn, |c| {
        owned_by(owner)
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .order((sessions::created_at.desc(), sessions::id.desc()))
            .select(Session::as_select())
            .load(c)
            .await
    })?;
    Ok(rows)
}

/// One of the owner's live sessions.
pub async fn get(conn: &mut DbConn, owner: &UserId, id: &str) -> Result<Option<Session>, AppError> {
    let now = super::now().naive_utc();
    let row = with_conn!(conn, |c| {
        owned_by(owner)
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .select(Session::as_select())
            .first(c)
            .await
            .optional()
    })?;
    Ok(row)
}

/// Marks the unused refresh token with this hash as used, now; the id of its session when
/// this call was the one that did (so of two concurrent refreshes, one wins here).
///
/// A write, so it can open a transaction on SQLite (see [`DbConn::transaction`]).
pub async fn claim(conn: &mut DbConn, hash: &str) -> Result<Option<String>, AppError> {
    let now = super::now().naive_utc();
    let claimed = with_conn!(conn, |c| {
        Prepared(
            diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::token_hash.eq(hash))
                    .filter(refresh_tokens::used_at.is_null()),
            )
            .set(refresh_tokens::used_at.eq(now))
            .returning(refresh_tokens::session_id),
        )
        .get_result::<String>(c)
        .await
        .optional()
    })?;
    Ok(claimed)
}

/// The refresh token with this hash and its session, if such a token was issued and has
/// not been purged.
pub async fn find_by_refresh_hash(
    conn: &mut DbConn,
    hash: &str,
) -> Result<Option<(RefreshToken, Session)>, AppError> {
    let found = with_conn!(conn, |c| {
        refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq(hash))
            .select((RefreshToken::as_select(), Session::as_select()))
            .first(c)
            .await
            .optional()
    })?;
    Ok(found)
}

/// Adds a refresh token to the owner's session and moves the session's last use and expiry.
pub async fn add_token(
    conn: &mut DbConn,
    owner: &UserId,
    session: &SessionId,
    hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), AppError> {
    let now = super::now().naive_utc();
    let expires_at = expires_at.naive_utc();
    let touched = with_conn!(&mut *conn, |c| {
        diesel::update(owned_by(owner).filter(sessions::id.eq(session.as_str())))
            .set((
                sessions::last_used_at.eq(now),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(c)
            .await
    })?;
    if touched == 0 {
        return Err(AppError::NotFound);
    }
    let token = (
        refresh_tokens::token_hash.eq(hash),
        refresh_tokens::session_id.eq(session.as_str()),
        refresh_tokens::created_at.eq(now),
        refresh_tokens::expires_at.eq(expires_at),
    );
    with_conn!(conn, |c| {
        diesel::insert_into(refresh_tokens::table)
            .values(token)
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Deletes every refresh token of the owner's session (after a password change, so none
/// handed out before it works).
pub async fn drop_tokens(
    conn: &mut DbConn,
    owner: &UserId,
    session: &SessionId,
) -> Result<(), AppError> {
    let theirs = owned_by(owner)
        .filter(sessions::id.eq(session.as_str()))
        .select(sessions::id);
    with_conn!(conn, |c| {
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(theirs)))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Revokes the owner's live sessions that `which` names: marks them, writes their
/// tombstones (refused until `until`), and on PostgreSQL announces each on
/// [`REVOKED_CHANNEL`] (delivered when the transaction commits). Returns their ids.
///
/// Its first statement is a write. Call it inside a transaction, so the announcement and
/// the rows commit together.
pub async fn revoke(
    conn: &mut DbConn,
    owner: &UserId,
    which: Which<'_>,
    until: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    let now = super::now().naive_utc();
    // One statement per shape: diesel cannot update through a boxed query.
    macro_rules! revoke_where {
        ($condition:expr) => {
            with_conn!(&mut *conn, |c| {
                diesel::update(
                    owned_by(owner)
                        .filter($condition)
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::expires_at.gt(now)),
                )
                .set(sessions::revoked_at.eq(now))
                .returning(sessions::id)
                .load::<String>(c)
                .await
            })
        };
    }
    let ids = match which {
        Which::One(id) => revoke_where!(sessions::id.eq(id.as_str())),
        Which::Named(id) => revoke_where!(sessions::id.eq(id)),
        Which::AllBut(id) => revoke_where!(sessions::id.ne(id.as_str())),
        Which::All => revoke_where!(sessions::id.is_not_null()),
    }?;
    tombstone(conn, &ids, until).await?;
    Ok(ids)
}

/// Writes tombstones for `ids` (refused until `until`) and announces them.
async fn tombstone(
    conn: &mut DbConn,
    ids: &[String],
    until: DateTime<Utc>,
) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let until = until.naive_utc();
    for id in ids {
        let row = (
            revoked_sessions::session_id.eq(id.as_str()),
            revoked_sessions::until.eq(until),
        );
        with_conn!(&mut *conn, |c| {
            diesel::insert_into(revoked_sessions::table)
                .values(row)
                .on_conflict(revoked_sessions::session_id)
                .do_update()
                .set(revoked_sessions::until.eq(until))
                .execute(c)
                .await
        })?;
    }
    for id in ids {
        let payload = format!("{id} {}", until.and_utc().timestamp());
        with_backend!(
            &mut *conn,
            postgres | c | {
                diesel::sql_query("SELECT pg_notify($1, $2)")
                    .bind::<diesel::sql_types::Text, _>(REVOKED_CHANNEL)
                    .bind::<diesel::sql_types::Text, _>(&payload)
                    .execute(c)
                    .await
                    .map(drop)
            },
            sqlite | _c | Ok::<(), diesel::result::Error>(())
        )?;
    }
    Ok(())
}

/// Every tombstone still in force: the session ids whose access tokens must be refused,
/// with the time until which they must be.
pub async fn revoked(conn: &mut DbConn) -> Result<Vec<(String, DateTime<Utc>)>, AppError> {
    let now = super::now().naive_utc();
    let rows: Vec<(String, NaiveDateTime)> = with_conn!(conn, |c| {
        revoked_sessions::table
            .filter(revoked_sessions::until.gt(now))
            .select((revoked_sessions::session_id, revoked_sessions::until))
            .load(c)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, until)| (id, until.and_utc()))
        .collect())
}

/// Deletes what can no longer matter: expired refresh tokens and sessions, and tombstones
/// past their time. Returns how many rows went.
pub async fn purge(conn: &mut DbConn) -> Result<usize, AppError> {
    let now = super::now().naive_utc();
    let tokens = with_conn!(&mut *conn, |c| {
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(now)))
            .execute(c)
            .await
    })?;
    let sessions = with_conn!(&mut *conn, |c| {
        diesel::delete(sessions::table.filter(sessions::expires_at.lt(now)))
            .execute(c)
            .await
    })?;
    let tombstones = with_conn!(conn, |c| {
        diesel::delete(revoked_sessions::table.filter(revoked_sessions::until.lt(now)))
            .execute(c)
            .await
    })?;
    Ok(tokens + sessions + tombstones)
}
