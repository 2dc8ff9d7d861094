//! Listing the owner's todos: filters, orders and keyset paging.
//!
//! Every order ends in the todo's id, so the order is total and a cursor (the sort key and
//! id of a row) names one position even when many rows share a key, as PRIORITY does. A
//! page is "the rows strictly beyond a position", which stays correct under inserts.
//! Todos with no due date sort after all others in both directions of DUE_AT.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};

use super::{Priority, Todo, owned_by};
use crate::{auth::UserId, db::DbConn, db::with_conn, error::AppError, store::schema::todos};

#[diesel::declare_sql_function]
extern "SQL" {
    /// SQL `lower()`: the title sort key and case-insensitive search.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filter {
    /// Only completed (true) or open (false) todos.
    pub completed: Option<bool>,
    /// Case-insensitive substring of the title or the notes.
    pub search: Option<String>,
    /// Only these priorities.
    pub priority_in: Option<Vec<Priority>>,
    /// Due strictly before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Due at or after this instant.
    pub due_after: Option<DateTime<Utc>>,
}

/// The field a list is ordered by.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum,
)]
#[graphql(name = "TodoOrderField")]
pub enum OrderField {
    /// When created (the default).
    #[default]
    CreatedAt,
    /// When last changed.
    UpdatedAt,
    /// When due; todos without a due date come last in either direction.
    DueAt,
    /// NONE < LOW < MEDIUM < HIGH.
    Priority,
    /// The title, compared after lower-casing ASCII letters, byte by byte.
    Title,
}

/// Ascending or descending.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum,
)]
#[graphql(name = "OrderDirection")]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first (the default).
    #[default]
    Desc,
}

/// An order: a field and a direction; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The field.
    pub field: OrderField,
    /// The direction.
    pub direction: Direction,
}

/// A row's sort key under some [`OrderField`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SortKey {
    /// CREATED_AT or UPDATED_AT.
    Time(NaiveDateTime),
    /// DUE_AT, which may be empty.
    MaybeTime(Option<NaiveDateTime>),
    /// PRIORITY.
    Int(i32),
    /// TITLE, lower-cased by the database.
    Text(String),
}

/// A position in a list: a row's sort key and id. Cursors carry one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The sort key of the row.
    pub key: SortKey,
    /// The id of the row.
    pub id: String,
}

impl Position {
    /// Whether this position can belong to a list ordered by `field`.
    pub fn fits(&self, field: OrderField) -> bool {
        matches!(
            (&self.key, field),
            (
                SortKey::Time(_),
                OrderField::CreatedAt | OrderField::UpdatedAt
            ) | (SortKey::MaybeTime(_), OrderField::DueAt)
                | (SortKey::Int(_), OrderField::Priority)
                | (SortKey::Text(_), OrderField::Title)
        )
    }
}

/// One page request, already checked by the caller.
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    /// Which rows.
    pub filter: &'a Filter,
    /// In which order.
    pub order: Order,
    /// Only rows after this position.
    pub after: Option<&'a Position>,
    /// Only rows before this position.
    pub before: Option<&'a Position>,
    /// At most this many rows.
    pub limit: i64,
    /// Take the rows from the end (`last`) instead of the start (`first`).
    pub from_end: bool,
}

/// Applies a [`Filter`] to a boxed query of todos.
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        let filter: &Filter = $filter;
        let mut query = $query;
        if let Some(completed) = filter.completed {
            query = query.filter(todos::completed.eq(completed));
        }
        if let Some(search) = &filter.search {
            let pattern = format!("%{}%", escape_like(search));
            query = query.filter(
                lower(todos::title)
                    .like(lower(pattern.clone()))
                    .escape('\\')
                    .or(todos::notes.is_not_null().and(
                        lower(todos::notes.assume_not_null())
                            .like(lower(pattern))
                            .escape('\\'),
                    )),
            );
        }
        if let Some(priorities) = &filter.priority_in {
            let values: Vec<i32> = priorities.iter().map(|p| p.as_i32()).collect();
            query = query.filter(todos::priority.eq_any(values));
        }
        if let Some(before) = filter.due_before {
            query = query.filter(todos::due_at.lt(before.naive_utc()));
        }
        if let Some(after) = filter.due_after {
            query = query.filter(todos::due_at.ge(after.naive_utc()));
        }
        query
    }};
}

/// Keeps the rows strictly beyond `($key, $id)` over `$col`, then id, where "beyond" is
/// `$cmp` (`gt` walking ascending, `lt` descending).
macro_rules! beyond {
    ($query:expr, $col:expr, $key:expr, $id:expr, $cmp:ident) => {
        $query.filter($col.$cmp($key).or($col.eq($key).and(todos::id.$cmp($id))))
    };
}

/// Orders by `$col`, then id, both ascending when `$asc`.
macro_rules! ordered {
    ($query:expr, $col:expr, $asc:expr) => {
        if $asc {
            $query.order_by($col.asc()).then_order_by(todos::id.asc())
        } else {
            $query.order_by($col.desc()).then_order_by(todos::id.desc())
        }
    };
}

/// Keeps rows beyond a DUE_AT position. `$cmp` compares dates and ids in the walk's
/// direction; `$nulls_last` says whether undated rows come after the dated ones in it.
macro_rules! beyond_due {
    ($query:expr, $due:expr, $id:expr, $cmp:ident, $nulls_last:expr) => {{
        let id: &str = $id;
        match ($due, $nulls_last) {
            (None, true) => $query.filter(todos::due_at.is_null().and(todos::id.$cmp(id))),
            (None, false) => $query.filter(
                todos::due_at
                    .is_not_null()
                    .or(todos::due_at.is_null().and(todos::id.$cmp(id))),
            ),
            (Some(due), true) => $query.filter(
                todos::due_at.is_null().or(todos::due_at
                    .$cmp(due)
                    .or(todos::due_at.eq(due).and(todos::id.$cmp(id)))),
            ),
            (Some(due), false) => $query.filter(
                todos::due_at.is_not_null().and(
                    todos::due_at
                        .$cmp(due)
                        .or(todos::due_at.eq(due).and(todos::id.$cmp(id))),
                ),
            ),
        }
    }};
}

/// Applies one position bound, named `$arg` in errors. `$asc` is the direction of the walk
/// the bound is "beyond" in; `$nulls_last` whether undated rows end that walk.
macro_rules! bounded {
    ($query:expr, $field:expr, $position:expr, $arg:expr, $asc:expr, $nulls_last:expr) => {{
        let position: &Position = $position;
        if $asc {
            bounded!(@walk $query, $field, position, $arg, gt, $nulls_last)
        } else {
            bounded!(@walk $query, $field, position, $arg, lt, $nulls_last)
        }
    }};
    (@walk $query:expr, $field:expr, $position:expr, $arg:expr, $cmp:ident, $nulls_last:expr) => {{
        let id = $position.id.as_str();
        match (&$position.key, $field) {
            (SortKey::Time(t), OrderField::CreatedAt) => beyond!($query, todos::created_at, *t, id, $cmp),
            (SortKey::Time(t), OrderField::UpdatedAt) => beyond!($query, todos::updated_at, *t, id, $cmp),
            (SortKey::Int(p), OrderField::Priority) => beyond!($query, todos::priority, *p, id, $cmp),
            (SortKey::Text(t), OrderField::Title) => {
                beyond!($query, lower(todos::title), t.as_str(), id, $cmp)
            }
            (SortKey::MaybeTime(due), OrderField::DueAt) => {
                beyond_due!($query, *due, id, $cmp, $nulls_last)
            }
            _ => return Err(AppError::bad_input($arg, "the cursor does not fit this order")),
        }
    }};
}

/// One page of the owner's todos with each row's position, in the requested order.
pub async fn list(
    conn: &mut DbConn,
    owner: &UserId,
    query: &ListQuery<'_>,
) -> Result<Vec<(Todo, Position)>, AppError> {
    let requested_asc = query.order.direction == Direction::Asc;
    // Taking from the end walks the order backwards, then the page is turned around.
    let walk_asc = requested_asc != query.from_end;
    let field = query.order.field;
    let rows: Vec<(Todo, String)> = with_conn!(conn, |c| {
        let mut q = filtered!(
            owned_by(owner)
                .select((Todo::as_select(), lower(todos::title)))
                .into_boxed(),
            query.filter
        );
        if let Some(after) = query.after {
            q = bounded!(q, field, after, "after", requested_asc, true);
        }
        if let Some(before) = query.before {
            q = bounded!(q, field, before, "before", !requested_asc, false);
        }
        q = match field {
            OrderField::CreatedAt => ordered!(q, todos::created_at, walk_asc),
            OrderField::UpdatedAt => ordered!(q, todos::updated_at, walk_asc),
            OrderField::Priority => ordered!(q, todos::priority, walk_asc),
            OrderField::Title => ordered!(q, lower(todos::title), walk_asc),
            OrderField::DueAt => {
                // Undated last in the requested order: the null flag runs ascending then.
                let flag = todos::due_at.is_null();
                let q = if walk_asc == requested_asc {
                    q.order_by(flag.asc())
                } else {
                    q.order_by(flag.desc())
                };
                if walk_asc {
                    q.then_order_by(todos::due_at.asc())
                        .then_order_by(todos::id.asc())
                } else {
                    q.then_order_by(todos::due_at.desc())
                        .then_order_by(todos::id.desc())
                }
            }
        };
        q.limit(query.limit).load(c).await
    })?;
    let mut page: Vec<(Todo, Position)> = rows
        .into_iter()
        .map(|(todo, title_key)| {
            let key = match field {
                OrderField::CreatedAt => SortKey::Time(todo.created_at),
                OrderField::UpdatedAt => SortKey::Time(todo.updated_at),
                OrderField::DueAt => SortKey::MaybeTime(todo.due_at),
                OrderField::Priority => SortKey::Int(todo.priority),
                OrderField::Title => SortKey::Text(title_key),
            };
            let id = todo.id.clone();
            (todo, Position { key, id })
        })
        .collect();
    if query.from_end {
        page.reverse();
    }
    Ok(page)
}

/// How many of the owner's todos match `filter`.
pub async fn count(conn: &mut DbConn, owner: &UserId, filter: &Filter) -> Result<i64, AppError> {
    let n = with_conn!(conn, |c| {
        filtered!(owned_by(owner).into_boxed(), filter)
            .count()
            .get_result(c)
            .await
    })?;
    Ok(n)
}

/// Escapes LIKE's wildcards so a search is a literal substring.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn positions_fit_only_their_field() {
        let p = Position {
            key: SortKey::Int(2),
            id: "x".into(),
        };
        assert!(p.fits(OrderField::Priority));
        assert!(!p.fits(OrderField::Title));
    }
}
