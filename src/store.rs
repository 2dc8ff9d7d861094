//! Everything that reads or writes the database.
//!
//! The rule: the tables in `schema` are private to this module, and every function over
//! owned rows takes the owner's [`UserId`](crate::auth::UserId) first and starts from a
//! query already filtered by it. There is no way to reach a todo without its owner.
//!
//! Two writes are not scoped by an owner, on purpose, and both are in `sessions`:
//! `sessions::claim` marks a refresh token used by its hash (the token is the credential,
//! and its owner is what the claim finds out), and `sessions::purge` deletes expired
//! tokens, sessions and tombstones of every account (housekeeping that no request drives).
//! `changes::purge` is the same housekeeping for the tombstones of deleted todos.
//! `rate_limits` holds no owned rows at all: counters keyed by IP, hashed email or user id.
//! Two reads are likewise unscoped: `users::find_by_email` and
//! `sessions::find_by_refresh_hash`, which find an owner from a credential.

pub(crate) mod changes;
pub(crate) mod rate_limits;
mod schema;
pub(crate) mod sessions;
pub(crate) mod todos;
pub(crate) mod users;

use chrono::{DateTime, SubsecRound, Utc};

/// The current time, cut to microseconds: what PostgreSQL keeps, so a timestamp read back
/// (and a cursor made from it) equals the one written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Whether a diesel error is a unique-constraint violation.
fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
