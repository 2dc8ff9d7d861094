//! Todos, always through their owner: every function takes the owner's [`UserId`] first and
//! starts from [`owned_by`], so a todo of someone else reads as one that does not exist.

mod listing;
mod quota;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{dsl, prelude::*};
use diesel_async::RunQueryDsl;
use serde::Serialize;

pub(crate) use listing::{Direction, Filter, ListQuery, Order, OrderField, Position, count, list};

use super::schema::todos;
use crate::{auth::UserId, db::DbConn, db::with_conn, error::AppError};

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

/// The owner's todos: the start of every query in this module.
fn owned_by(owner: &UserId) -> dsl::Filter<todos::table, dsl::Eq<todos::owner_id, &str>> {
    todos::table.filter(todos::owner_id.eq(owner.as_str()))
}

/// Creates a todo for `owner`; `QUOTA_EXCEEDED`, writing nothing, when they already hold
/// `max_todos`.
pub(crate) async fn create(
    conn: &mut DbConn,
    owner: &UserId,
    new: NewTodo,
    max_todos: u32,
) -> Result<Todo, AppError> {
    let now = super::now().naive_utc();
    let values = (
        todos::id.eq(uuid::Uuid::new_v4().to_string()),
        todos::owner_id.eq(owner.as_str()),
        todos::title.eq(new.title),
        todos::notes.eq(new.notes),
        todos::completed.eq(new.completed),
        todos::completed_at.eq(new.completed.then_some(now)),
        todos::priority.eq(new.priority.as_i32()),
        todos::due_at.eq(new.due_at.map(|d| d.naive_utc())),
        todos::version.eq(1),
        todos::created_at.eq(now),
        todos::updated_at.eq(now),
    );
    conn.transaction(async |conn| {
        quota::take_slot(conn, owner, max_todos).await?;
        let todo = with_conn!(conn, |c| {
            diesel::insert_into(todos::table)
                .values(values)
                .returning(Todo::as_returning())
                .get_result(c)
                .await
        });
        todo.map_err(|e| match e {
            // The owner's account is gone: the token outlived it.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => AppError::Unauthenticated(crate::error::AuthFailure::SessionRevoked),
            e => e.into(),
        })
    })
    .await
}

/// The owner's todo with this id, if there is one.
pub(crate) async fn get(
    conn: &mut DbConn,
    owner: &UserId,
    id: &str,
) -> Result<Option<Todo>, AppError> {
    let todo = with_conn!(conn, |c| {
        owned_by(owner)
            .filter(todos::id.eq(id))
            .select(Todo::as_select())
            .first(c)
            .await
            .optional()
    })?;
    Ok(todo)
}

/// Applies `changes` to the owner's todo. With `expected`, a stored version that differs
/// is `CONFLICT` and nothing is written. A change that changes nothing writes nothing.
pub(crate) async fn update(
    conn: &mut DbConn,
    owner: &UserId,
    id: &str,
    changes: &TodoChanges,
    expected: Option<i32>,
) -> Result<Todo, AppError> {
    // Optimistic: read, compute, write only if the version is still the one read. A lost
    // race reads again, so a concurrent change is never overwritten blindly.
    for _ in 0..8 {
        let current = get(conn, owner, id).await?.ok_or(AppError::NotFound)?;
        if let Some(expected) = expected.filter(|v| *v != current.version) {
            return Err(AppError::Conflict {
                expected,
                current: current.version,
            });
        }
        let Some(next) = apply(&current, changes) else {
            return Ok(current);
        };
        let now = super::now().naive_utc();
        let completed_at = match (current.completed, next.completed) {
            (false, true) => Some(now),
            (true, false) => None,
            _ => current.completed_at,
        };
        let values = (
            todos::title.eq(next.title),
            todos::notes.eq(next.notes),
            todos::completed.eq(next.completed),
            todos::completed_at.eq(completed_at),
            todos::priority.eq(next.priority),
            todos::due_at.eq(next.due_at),
            todos::version.eq(current.version + 1),
            todos::updated_at.eq(now),
        );
        let written = with_conn!(conn, |c| {
            diesel::update(
                owned_by(owner)
                    .filter(todos::id.eq(id))
                    .filter(todos::version.eq(current.version)),
            )
            .set(values)
            .returning(Todo::as_returning())
            .get_result(c)
            .await
            .optional()
        })?;
        if let Some(todo) = written {
            return Ok(todo);
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

/// Deletes the owner's todo; `false` when there was none.
pub(crate) async fn delete(conn: &mut DbConn, owner: &UserId, id: &str) -> Result<bool, AppError> {
    conn.transaction(async |conn| {
        let deleted = with_conn!(conn, |c| {
            diesel::delete(owned_by(owner).filter(todos::id.eq(id)))
                .execute(c)
                .await
        })?;
        quota::free_slots(conn, owner, deleted).await?;
        Ok(deleted > 0)
    })
    .await
}

/// Marks all the owner's todos completed (or open); returns how many changed.
pub(crate) async fn set_all_completed(
    conn: &mut DbConn,
    owner: &UserId,
    completed: bool,
) -> Result<usize, AppError> {
    let now = super::now().naive_utc();
    let values = (
        todos::completed.eq(completed),
        todos::completed_at.eq(completed.then_some(now)),
        todos::version.eq(todos::version + 1),
        todos::updated_at.eq(now),
    );
    let changed = with_conn!(conn, |c| {
        diesel::update(owned_by(owner).filter(todos::completed.ne(completed)))
            .set(values)
            .execute(c)
            .await
    })?;
    Ok(changed)
}

/// Deletes the owner's completed todos; returns how many.
pub(crate) async fn clear_completed(conn: &mut DbConn, owner: &UserId) -> Result<usize, AppError> {
    conn.transaction(async |conn| {
        let deleted = with_conn!(conn, |c| {
            diesel::delete(owned_by(owner).filter(todos::completed.eq(true)))
                .execute(c)
                .await
        })?;
        quota::free_slots(conn, owner, deleted).await?;
        Ok(deleted)
    })
    .await
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
