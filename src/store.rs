//! Everything that reads or writes the database.
//!
//! The rule: the tables in `schema` are private to this module, and every function over
//! owned rows takes the owner's [`UserId`](crate::auth::UserId) first and starts from a
//! query already filtered by it. There is no way to reach a todo without its owner.

mod schema;
pub mod sessions;
pub mod todos;
pub mod users;

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
