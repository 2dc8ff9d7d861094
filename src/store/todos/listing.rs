//! Listing the owner's todos: filters, orders and keyset paging.
//!
//! Every order ends in the todo's id, so the order is total and a [`Position`] (a row's sort
//! key and id) names one place even when many rows share a key, as PRIORITY does. A page
//! is "the rows strictly beyond a position", which stays correct under inserts. Todos with
//! no due date sort after all others in both directions of DUE_AT.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::{
    Priority, Todo,
    columns::{Columns, Partial, column, todo_columns},
    owned_by,
};
use crate::{
    auth::UserId,
    db::{self, DbConn, with_conn},
    error::AppError,
    store::schema::todos,
};

#[diesel::declare_sql_function]
extern "SQL" {
    /// SQL `lower()`: the title sort key and case-insensitive search.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What to list. Serialized only to fingerprint cursors.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Filter {
    /// Only completed (true) or open (false) todos.
    pub(crate) completed: Option<bool>,
    /// Case-insensitive substring of the title or the notes.
    pub(crate) search: Option<String>,
    /// Only these priorities.
    pub(crate) priority_in: Option<Vec<Priority>>,
    /// Due strictly before this instant.
    pub(crate) due_before: Option<DateTime<Utc>>,
    /// Due at or after this instant.
    pub(crate) due_after: Option<DateTime<Utc>>,
}

/// The field a list is ordered by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) enum OrderField {
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first (the default).
    #[default]
    Desc,
}

/// An order: a field and a direction; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Order {
    /// The field.
    pub(crate) field: OrderField,
    /// The direction.
    pub(crate) direction: Direction,
}

/// A row's place in a list: its sort key under the list's [`OrderField`] and its id, which
/// breaks ties. One variant per order field, so a key always has its order's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    /// CREATED_AT.
    CreatedAt { key: NaiveDateTime, id: String },
    /// UPDATED_AT.
    UpdatedAt { key: NaiveDateTime, id: String },
    /// DUE_AT; `None` for a todo without a due date.
    DueAt {
        key: Option<NaiveDateTime>,
        id: String,
    },
    /// PRIORITY, as stored (0 to 3).
    Priority { key: i32, id: String },
    /// TITLE, lower-cased by the database.
    Title { key: String, id: String },
}

impl Position {
    /// The id of the row.
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::CreatedAt { id, .. }
            | Self::UpdatedAt { id, .. }
            | Self::DueAt { id, .. }
            | Self::Priority { id, .. }
            | Self::Title { id, .. } => id,
        }
    }

    /// The position of `todo`, whose lower-cased title is `title_key` (read for TITLE
    /// only), under `field`.
    fn of(field: OrderField, todo: &Todo, title_key: Option<String>) -> Self {
        let id = todo.id.clone();
        match field {
            OrderField::CreatedAt => Self::CreatedAt {
                key: todo.created_at,
                id,
            },
            OrderField::UpdatedAt => Self::UpdatedAt {
                key: todo.updated_at,
                id,
            },
            OrderField::DueAt => Self::DueAt {
                key: todo.due_at,
                id,
            },
            OrderField::Priority => Self::Priority {
                key: todo.priority,
                id,
            },
            OrderField::Title => Self::Title {
                key: title_key.unwrap_or_default(),
                id,
            },
        }
    }
}

/// One page request, already checked by the caller; `after` and `before` are positions
/// under `order.field`.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery<'a> {
    /// Which rows.
    pub(crate) filter: &'a Filter,
    /// In which order.
    pub(crate) order: Order,
    /// Only rows after this position.
    pub(crate) after: Option<&'a Position>,
    /// Only rows before this position.
    pub(crate) before: Option<&'a Position>,
    /// At most this many rows.
    pub(crate) limit: i64,
    /// Take the rows from the end (`last`) instead of the start (`first`).
    pub(crate) from_end: bool,
    /// What the answer shows of each row; the sort key is read besides.
    pub(crate) columns: Columns,
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

/// Keeps the rows of the boxed `$query` strictly beyond `$position` (sort key, then id).
/// `$cmp` is `gt` on a walk up the order and `lt` on a walk down; `$nulls_last` says
/// whether undated rows end the walk (it matters to DUE_AT only). A macro because `gt` and
/// `lt` build different expression types, and the query body is expanded per backend.
macro_rules! beyond {
    (@key $col:expr, $key:expr, $id:expr, $cmp:ident) => {
        $col.$cmp($key).or($col.eq($key).and(todos::id.$cmp($id)))
    };
    ($query:expr, $position:expr, $cmp:ident, $nulls_last:expr) => {{
        let (query, position, nulls_last): (_, &Position, bool) = ($query, $position, $nulls_last);
        match position {
            Position::CreatedAt { key, id } => {
                query.filter(beyond!(@key todos::created_at, *key, id.as_str(), $cmp))
            }
            Position::UpdatedAt { key, id } => {
                query.filter(beyond!(@key todos::updated_at, *key, id.as_str(), $cmp))
            }
            Position::Priority { key, id } => {
                query.filter(beyond!(@key todos::priority, *key, id.as_str(), $cmp))
            }
            Position::Title { key, id } => {
                query.filter(beyond!(@key lower(todos::title), key.as_str(), id.as_str(), $cmp))
            }
            Position::DueAt { key: Some(due), id } => {
                let dated = beyond!(@key todos::due_at, *due, id.as_str(), $cmp);
                if nulls_last {
                    query.filter(todos::due_at.is_null().or(dated))
                } else {
                    query.filter(todos::due_at.is_not_null().and(dated))
                }
            }
            Position::DueAt { key: None, id } => {
                let undated = todos::due_at.is_null().and(todos::id.$cmp(id.as_str()));
                if nulls_last {
                    query.filter(undated)
                } else {
                    query.filter(todos::due_at.is_not_null().or(undated))
                }
            }
        }
    }};
}

/// One page of the owner's todos with each row's position, in the requested order.
pub(crate) async fn list(
    conn: &mut DbConn,
    owner: &UserId,
    query: &ListQuery<'_>,
) -> Result<Vec<(Todo, Position)>, AppError> {
    // Unfiltered, a page is an index walk of at most `limit` rows: in place (see
    // `db::in_place`). A filter may pass over every row of the account before it fills one.
    if *query.filter == Filter::default() {
        db::in_place(list_page(conn, owner, query)).await
    } else {
        list_page(conn, owner, query).await
    }
}

async fn list_page(
    conn: &mut DbConn,
    owner: &UserId,
    query: &ListQuery<'_>,
) -> Result<Vec<(Todo, Position)>, AppError> {
    let requested_asc = query.order.direction == Direction::Asc;
    // Taking from the end walks the order backwards, then the page is turned around.
    let up = requested_asc != query.from_end;
    let field = query.order.field;
    let columns = query.columns.with_sort_key(field);
    let rows: Vec<(Partial, Option<String>)> = with_conn!(conn, |c| {
        let title_key = column!(
            field == OrderField::Title,
            lower(todos::title).nullable(),
            None::<String>,
            diesel::sql_types::Nullable<diesel::sql_types::Text>
        );
        let mut q = filtered!(
            owned_by(owner)
                .select((todo_columns!(columns), title_key))
                .into_boxed(),
            query.filter
        );
        // `after` is beyond in the requested order, where undated rows come last;
        // `before` is beyond in the reverse order, where they come first.
        if let Some(after) = query.after {
            q = if requested_asc {
                beyond!(q, after, gt, true)
            } else {
                beyond!(q, after, lt, true)
            };
        }
        if let Some(before) = query.before {
            q = if requested_asc {
                beyond!(q, before, lt, false)
            } else {
                beyond!(q, before, gt, false)
            };
        }
        q = match (field, up) {
            (OrderField::CreatedAt, true) => q.order_by(todos::created_at.asc()),
            (OrderField::CreatedAt, false) => q.order_by(todos::created_at.desc()),
            (OrderField::UpdatedAt, true) => q.order_by(todos::updated_at.asc()),
            (OrderField::UpdatedAt, false) => q.order_by(todos::updated_at.desc()),
            (OrderField::Priority, true) => q.order_by(todos::priority.asc()),
            (OrderField::Priority, false) => q.order_by(todos::priority.desc()),
            (OrderField::Title, true) => q.order_by(lower(todos::title).asc()),
            (OrderField::Title, false) => q.order_by(lower(todos::title).desc()),
            (OrderField::DueAt, _) => {
                // Undated last in the requested order: the null flag runs ascending then.
                let undated = todos::due_at.is_null();
                let q = if query.from_end {
                    q.order_by(undated.desc())
                } else {
                    q.order_by(undated.asc())
                };
                if up {
                    q.then_order_by(todos::due_at.asc())
                } else {
                    q.then_order_by(todos::due_at.desc())
                }
            }
        };
        q = if up {
            q.then_order_by(todos::id.asc())
        } else {
            q.then_order_by(todos::id.desc())
        };
        q.limit(query.limit).load(c).await
    })?;
    let mut page: Vec<(Todo, Position)> = rows
        .into_iter()
        .map(|(todo, title_key)| {
            let todo = Todo::from(todo);
            let position = Position::of(field, &todo, title_key);
            (todo, position)
        })
        .collect();
    if query.from_end {
        page.reverse();
    }
    Ok(page)
}

/// How many of the owner's todos match `filter`.
pub(crate) async fn count(
    conn: &mut DbConn,
    owner: &UserId,
    filter: &Filter,
) -> Result<i64, AppError> {
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
}
