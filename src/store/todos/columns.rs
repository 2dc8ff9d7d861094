//! Which of a todo's columns a read fetches. A list or point read asks only for what its
//! answer shows: a column left out is read as NULL and becomes a fixed placeholder, which
//! no resolver shows because the answer did not select its field. The id is always read.
//! A NULL costs nothing to decode, where a placeholder sent back by the database cost as
//! much as a real value: half of a list's columns are left out.

use chrono::NaiveDateTime;
use diesel::Queryable;

use super::{Todo, listing::OrderField};

/// The columns a read fetches, one flag per field of the schema's `Todo` besides `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Columns {
    /// `title`.
    pub(crate) title: bool,
    /// `notes`, up to 10,000 characters: the one worth leaving behind.
    pub(crate) notes: bool,
    /// `completed`.
    pub(crate) completed: bool,
    /// `completedAt`.
    pub(crate) completed_at: bool,
    /// `priority`.
    pub(crate) priority: bool,
    /// `dueAt`.
    pub(crate) due_at: bool,
    /// `version`.
    pub(crate) version: bool,
    /// `createdAt`.
    pub(crate) created_at: bool,
    /// `updatedAt`.
    pub(crate) updated_at: bool,
    /// `clientId`.
    pub(crate) client_id: bool,
}

impl Columns {
    /// Every column.
    pub(crate) const ALL: Self = Self {
        title: true,
        notes: true,
        completed: true,
        completed_at: true,
        priority: true,
        due_at: true,
        version: true,
        created_at: true,
        updated_at: true,
        client_id: true,
    };

    /// These columns and the one a list in `field`'s order needs for its cursors. TITLE
    /// sorts by a key the database computes, not by the title itself.
    pub(super) fn with_sort_key(self, field: OrderField) -> Self {
        match field {
            OrderField::CreatedAt => Self {
                created_at: true,
                ..self
            },
            OrderField::UpdatedAt => Self {
                updated_at: true,
                ..self
            },
            OrderField::DueAt => Self {
                due_at: true,
                ..self
            },
            OrderField::Priority => Self {
                priority: true,
                ..self
            },
            OrderField::Title => self,
        }
    }
}

/// `$column` when `$wanted`, else the placeholder `$absent` bound as a value of the same
/// SQL type: one boxed select expression, so every choice has one query type. A macro
/// because the backend is known only inside the per-backend expansion of a query body.
macro_rules! column {
    ($wanted:expr, $column:expr, $absent:expr, $sql:ty) => {{
        let expression: Box<
            dyn diesel::expression::BoxableExpression<
                    $crate::store::schema::todos::table,
                    _,
                    SqlType = $sql,
                >,
        > = if $wanted {
            Box::new($column)
        } else {
            Box::new(diesel::IntoSql::into_sql::<$sql>($absent))
        };
        expression
    }};
}

/// The select clause of a [`Partial`] (in `Todo`'s field order) fetching only `$columns`.
macro_rules! todo_columns {
    ($columns:expr) => {{
        use diesel::{
            NullableExpressionMethods as _,
            sql_types::{Bool, Integer, Nullable, Text, Timestamp},
        };
        use $crate::store::{schema::todos, todos::columns::column};
        let columns: $crate::store::todos::Columns = $columns;
        let text: Option<String> = None;
        let time: Option<chrono::NaiveDateTime> = None;
        let int: Option<i32> = None;
        (
            todos::id,
            column!(
                columns.title,
                todos::title.nullable(),
                text.clone(),
                Nullable<Text>
            ),
            column!(columns.notes, todos::notes, text.clone(), Nullable<Text>),
            column!(
                columns.completed,
                todos::completed.nullable(),
                None::<bool>,
                Nullable<Bool>
            ),
            column!(
                columns.completed_at,
                todos::completed_at,
                time,
                Nullable<Timestamp>
            ),
            column!(
                columns.priority,
                todos::priority.nullable(),
                int,
                Nullable<Integer>
            ),
            column!(columns.due_at, todos::due_at, time, Nullable<Timestamp>),
            column!(
                columns.version,
                todos::version.nullable(),
                int,
                Nullable<Integer>
            ),
            column!(
                columns.created_at,
                todos::created_at.nullable(),
                time,
                Nullable<Timestamp>
            ),
            column!(
                columns.updated_at,
                todos::updated_at.nullable(),
                time,
                Nullable<Timestamp>
            ),
            column!(columns.client_id, todos::client_id, text, Nullable<Text>),
        )
    }};
}

/// A todo read by [`todo_columns!`]: each column left out is NULL.
#[derive(Queryable)]
pub(crate) struct Partial {
    id: String,
    title: Option<String>,
    notes: Option<String>,
    completed: Option<bool>,
    completed_at: Option<NaiveDateTime>,
    priority: Option<i32>,
    due_at: Option<NaiveDateTime>,
    version: Option<i32>,
    created_at: Option<NaiveDateTime>,
    updated_at: Option<NaiveDateTime>,
    client_id: Option<String>,
}

impl From<Partial> for Todo {
    /// The todo, each column left out as the placeholder of its type.
    fn from(row: Partial) -> Self {
        Self {
            id: row.id,
            title: row.title.unwrap_or_default(),
            notes: row.notes,
            completed: row.completed.unwrap_or_default(),
            completed_at: row.completed_at,
            priority: row.priority.unwrap_or_default(),
            due_at: row.due_at,
            version: row.version.unwrap_or_default(),
            created_at: row.created_at.unwrap_or_default(),
            updated_at: row.updated_at.unwrap_or_default(),
            // The change numbers serve the change feed, which reads whole rows itself.
            change_seq: 0,
            created_seq: 0,
            client_id: row.client_id,
        }
    }
}

pub(super) use {column, todo_columns};
