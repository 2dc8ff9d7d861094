//! Which of a todo's columns a read fetches. A list or point read asks only for what its
//! answer shows: a column left out is read as a fixed placeholder, which no resolver shows
//! because the answer did not select its field. The id is always read.

use chrono::NaiveDateTime;

use super::listing::OrderField;

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

/// The time a column left out reads as.
pub(super) fn placeholder_time() -> NaiveDateTime {
    NaiveDateTime::default()
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

/// The select clause of a `Todo` (in its field order) fetching only `$columns`.
macro_rules! todo_columns {
    ($columns:expr) => {{
        use diesel::{
            IntoSql,
            sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp},
        };
        use $crate::store::{schema::todos, todos::columns::column};
        let columns: $crate::store::todos::Columns = $columns;
        let none_text: Option<String> = None;
        let none_time: Option<chrono::NaiveDateTime> = None;
        let time = $crate::store::todos::columns::placeholder_time();
        (
            todos::id,
            column!(columns.title, todos::title, String::new(), Text),
            column!(
                columns.notes,
                todos::notes,
                none_text.clone(),
                Nullable<Text>
            ),
            column!(columns.completed, todos::completed, false, Bool),
            column!(
                columns.completed_at,
                todos::completed_at,
                none_time,
                Nullable<Timestamp>
            ),
            column!(columns.priority, todos::priority, 0_i32, Integer),
            column!(
                columns.due_at,
                todos::due_at,
                none_time,
                Nullable<Timestamp>
            ),
            column!(columns.version, todos::version, 0_i32, Integer),
            column!(columns.created_at, todos::created_at, time, Timestamp),
            column!(columns.updated_at, todos::updated_at, time, Timestamp),
            // The change numbers serve the change feed, which reads whole rows itself.
            0_i64.into_sql::<BigInt>(),
            0_i64.into_sql::<BigInt>(),
            column!(
                columns.client_id,
                todos::client_id,
                none_text,
                Nullable<Text>
            ),
        )
    }};
}

pub(super) use {column, todo_columns};
