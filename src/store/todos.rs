//! Todos, always through their owner: every function takes the owner's [`UserId`] first and
//! starts from [`owned_by`], so a todo of someone else reads as one that does not exist.

mod bulk;
mod columns;
mod create;
mod listing;
mod quota;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{dsl, prelude::*};
use diesel_async::RunQueryDsl;
use serde::Serialize;

pub(crate) use bulk::{clear_completed, set_all_completed};
pub(crate) use columns::Columns;
pub(crate) use create::create;
pub(crate) use listing::{Direction, Filter, ListQuery, Order, OrderField, Position, count, list};

use super::{
    changes,
    schema::{todos, users},
};
use crate::{
    auth::UserId,
    db::{self, DbConn, Outcome, Prepared, with_conn},
    error::AppError,
};

/// How urgent a todo is; stored as 0 to 3 so that sorting by it means something.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) enum Priority {
    /// No priority (the default).
    #[default]
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Priority {
    fn as_i32(self) -> i32 {
        match self {
            Self::None => 0,
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }

    fn from_i32(value: i32) -> Self {
        match value {
            1 => Self::Low,
            2 => Self::Medium,
            3 => Self::High,
            _ => Self::None,
        }
    }
}

/// A stored todo, as its owner sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = todos)]
pub(crate) struct Todo {
    /// Random UUID.
    pub(crate) id: String,
    /// Trimmed, 1 to 500 characters.
    pub(crate) title: String,
    /// Free text, at most 10,000 characters.
    pub(crate) notes: Option<String>,
    /// Done or not.
    pub(crate) completed: bool,
    completed_at: Option<NaiveDateTime>,
    priority: i32,
    due_at: Option<NaiveDateTime>,
    /// Starts at 1, +1 on every change.
    pub(crate) version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    change_seq: i64,
    created_seq: i64,
    client_id: Option<String>,
}

impl Todo {
    /// When it was last marked completed; `None` while open.
    pub(crate) fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at.map(|t| t.and_utc())
    }
    /// Its priority.
    pub(crate) fn priority(&self) -> Priority {
        Priority::from_i32(self.priority)
    }
    /// When it is due, if ever.
    pub(crate) fn due_at(&self) -> Option<DateTime<Utc>> {
        self.due_at.map(|t| t.and_utc())
    }
    /// When it was created.
    pub(crate) fn created_at(&self) -> DateTime<Utc> {
        self.created_at.and_utc()
    }
    /// When it last changed.
    pub(crate) fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at.and_utc()
    }
    /// Where its last change is in its owner's change log.
    pub(crate) fn position(&self) -> changes::Position {
        changes::Position {
            seq: self.change_seq,
            id: self.id.clone(),
        }
    }
    /// The change number that created it: a change at this number is its creation.
    pub(crate) fn created_seq(&self) -> i64 {
        self.created_seq
    }
    /// The id its client made for it, if any (idempotent creates).
    pub(crate) fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

#[cfg(test)]
impl Todo {
    /// A todo as a read gives it, without a database: every field set when `full`, every
    /// optional one empty otherwise.
    pub(crate) fn sample(id: &str, full: bool) -> Self {
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .unwrap_or_else(|e| panic!("{s}: {e}"))
        };
        Self {
            id: id.to_owned(),
            title: format!("title \"{id}\"\n"),
            notes: full.then(|| "notes".to_owned()),
            completed: full,
            completed_at: full.then(|| at("2030-01-02 03:04:05.123456")),
            priority: if full { 3 } else { 0 },
            due_at: full.then(|| at("2031-02-03 04:05:06")),
            version: 7,
            created_at: at("2029-05-06 07:08:09.5"),
            updated_at: at("2029-05-07 07:08:09"),
            change_seq: 9,
            created_seq: 1,
            client_id: full.then(|| "6f1c1d3e-0d7a-4b6e-9a53-0c1f8f5d2b11".to_owned()),
        }
    }
}

/// A todo to create; its values already checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewTodo {
    /// Trimmed title.
    pub(crate) title: String,
    /// Notes.
    pub(crate) notes: Option<String>,
    /// Priority.
    pub(crate) priority: Priority,
    /// Due date.
    pub(crate) due_at: Option<DateTime<Utc>>,
    /// Whether it starts completed.
    pub(crate) completed: bool,
    /// A client-made UUID (hyphenated, lower case) that makes the create idempotent.
    pub(crate) client_id: Option<String>,
}

/// A partial update: `None` leaves a field as it is; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub(crate) struct TodoChanges {
    /// New title.
    pub(crate) title: Option<String>,
    /// New notes, or `Some(None)` to clear them.
    pub(crate) notes: Option<Option<String>>,
    /// New priority.
    pub(crate) priority: Option<Priority>,
    /// New due date, or `Some(None)` to clear it.
    pub(crate) due_at: Option<Option<DateTime<Utc>>>,
    /// New completion state.
    pub(crate) completed: Option<bool>,
}

/// How many todos the owner has, in all and by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Open todos.
    pub(crate) active: i64,
    /// Completed todos.
    pub(crate) completed: i64,
}

/// The owner's todos: the start of every query over todos.
pub(super) fn owned_by(
    owner: &UserId,
) -> dsl::Filter<todos::table, dsl::Eq<todos::owner_id, &str>> {
    todos::table.filter(todos::owner_id.eq(owner.as_str()))
}

/// The owner's todo with this id, if there is one, with only `columns` read.
pub(crate) async fn get(
    conn: &mut DbConn,
    owner: &UserId,
    id: &str,
    columns: Columns,
) -> Result<Option<Todo>, AppError> {
    // One row by its key: in place (see `db::in_place`).
    let todo: Option<columns::Partial> = db::in_place(async {
        with_conn!(conn, |c| {
            owned_by(owner)
                .filter(todos::id.eq(id))
                .select(columns::todo_columns!(columns))
                .first(c)
                .await
                .optional()
        })
    })
    .await?;
    Ok(todo.map(Todo::from))
}

/// Applies `changes` to the owner's todo; returns it and the change number the update
/// took. With `expected`, a stored version that differs is `CONFLICT` and nothing is
/// written. A change that changes nothing writes nothing (and takes no number).
pub(crate) async fn update(
    conn: &mut DbConn,
    owner: &UserId,
    id: &str,
    changes: &TodoChanges,
    expected: Option<i32>,
) -> Result<(Todo, Option<i64>), AppError> {
    // One todo and the account's row: in place (see `db::in_place`).
    db::in_place(update_in_place(conn, owner, id, changes, expected)).await
}

async fn update_in_place(
    conn: &mut DbConn,
    owner: &UserId,
    id: &str,
    changes: &TodoChanges,
    expected: Option<i32>,
) -> Result<(Todo, Option<i64>), AppError> {
    // Optimistic: read, compute, write only if the version is still the one read. A lost
    // race reads again, so a concurrent change is never overwritten blindly.
    for _ in 0..8 {
        let current = get(conn, owner, id, Columns::ALL)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(expected) = expected.filter(|v| *v != current.version) {
            return Err(AppError::Conflict {
                expected,
                current: current.version,
            });
        }
        let Some(next) = apply(&current, changes) else {
            return Ok((current, None));
        };
        let now = super::now().naive_utc();
        let completed_at = match (current.completed, next.completed) {
            (false, true) => Some(now),
            (true, false) => None,
            _ => current.completed_at,
        };
        let written = conn
            .transaction_or_rollback(async |conn| {
                // The account's row first, as every todo write does: one lock order.
                let account = users::table.find(owner.as_str());
                let seq = changes::advance!(&mut *conn, account)?.ok_or(AppError::NotFound)?;
                let values = (
                    todos::title.eq(next.title),
                    todos::notes.eq(next.notes),
                    todos::completed.eq(next.completed),
                    todos::completed_at.eq(completed_at),
                    todos::priority.eq(next.priority),
                    todos::due_at.eq(next.due_at),
                    todos::version.eq(current.version + 1),
                    todos::updated_at.eq(now),
                    todos::change_seq.eq(seq),
                );
                let todo = with_conn!(&mut *conn, |c| {
                    // Every field set: one text (see `db::Prepared`).
                    Prepared(
                        diesel::update(
                            owned_by(owner)
                                .filter(todos::id.eq(id))
                                .filter(todos::version.eq(current.version)),
                        )
                        .set(values)
                        .returning(Todo::as_returning()),
                    )
                    .get_result(c)
                    .await
                    .optional()
                })?;
                Ok(match todo {
                    Some(todo) => Outcome::Commit(Some((todo, seq))),
                    None => Outcome::Rollback(None),
                })
            })
            .await?;
        if let Some((todo, seq)) = written {
            changes::announce(conn, owner, Some(seq)).await;
            return Ok((todo, Some(seq)));
        }
    }
    Err(anyhow::anyhow!("todo update lost eight races in a row").into())
}

/// The fields a todo would have after `changes`, or `None` when nothing would change.
fn apply(current: &Todo, changes: &TodoChanges) -> Option<Todo> {
    let mut next = current.clone();
    if let Some(title) = &changes.title {
        next.title.clone_from(title);
    }
    if let Some(notes) = &changes.notes {
        next.notes.clone_from(notes);
    }
    if let Some(priority) = changes.priority {
        next.priority = priority.as_i32();
    }
    if let Some(due_at) = changes.due_at {
        next.due_at = due_at.map(|d| d.naive_utc());
    }
    if let Some(completed) = changes.completed {
        next.completed = completed;
    }
    let changed = next.title != current.title
        || next.notes != current.notes
        || next.priority != current.priority
        || next.due_at != current.due_at
        || next.completed != current.completed;
    changed.then_some(next)
}

/// Deletes the owner's todo and leaves its tombstone; the change number, or `None` when
/// there was no such todo.
pub(crate) async fn delete(
    conn: &mut DbConn,
    owner: &UserId,
    id: &str,
) -> Result<Option<i64>, AppError> {
    // One todo, its tombstone and the account's row: in place (see `db::in_place`).
    let seq = db::in_place(conn.transaction_or_rollback(async |conn| {
        // One todo at most goes, so its slot is freed in the statement that numbers the
        // change (undone with it when nothing was deleted).
        let Some(seq) = quota::free_slot_numbered(conn, owner).await? else {
            return Ok(Outcome::Rollback(None));
        };
        let buried = changes::bury!(&mut *conn, owner, seq, todos::id.eq(id))?;
        if buried == 0 {
            return Ok(Outcome::Rollback(None));
        }
        with_conn!(&mut *conn, |c| {
            diesel::delete(owned_by(owner).filter(todos::id.eq(id)))
                .execute(c)
                .await
        })?;
        Ok(Outcome::Commit(Some(seq)))
    }))
    .await?;
    changes::announce(conn, owner, seq).await;
    Ok(seq)
}

/// The owner's todo counts, in one query.
pub(crate) async fn counts(conn: &mut DbConn, owner: &UserId) -> Result<Counts, AppError> {
    let rows: Vec<(bool, i64)> = with_conn!(conn, |c| {
        owned_by(owner)
            .group_by(todos::completed)
            .select((todos::completed, dsl::count_star()))
            .load(c)
            .await
    })?;
    let mut counts = Counts::default();
    for (completed, n) in rows {
        if completed {
            counts.completed = n;
        } else {
            counts.active = n;
        }
    }
    Ok(counts)
}
