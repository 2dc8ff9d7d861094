//! The `todos` connection: its arguments, order enums, edges and page info. Cursors are
//! made and read in [`cursor`].

mod cursor;

use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Name, SimpleObject,
    parser::types::{Field, SelectionSet},
};

use super::{
    ContextExt, DateTime,
    plain::{self, Fragments, Plain},
    text,
    todos::{Priority, TodoObject},
};
use crate::{
    auth::UserId,
    db::DbConn,
    error::AppError,
    execute::Json,
    store::todos::{self, Columns, Direction, Filter, ListQuery, Order, OrderField, Position},
};
use cursor::Cursors;

const DEFAULT_PAGE: i32 = 20;
const MAX_PAGE: i32 = 100;
const SEARCH_MAX: usize = 200;

/// Which todos to list. All given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct TodoFilter {
    /// Only completed (true) or open (false) todos.
    completed: Option<bool>,
    /// Case-insensitive substring of the title or the notes; `%` and `_` are literal. At most
    /// 200 characters. On SQLite only ASCII letters fold case.
    search: Option<String>,
    /// Only these priorities (an empty list matches nothing).
    priority_in: Option<Vec<Priority>>,
    /// Due strictly before this instant (todos without a due date never match).
    due_before: Option<DateTime>,
    /// Due at or after this instant (todos without a due date never match).
    due_after: Option<DateTime>,
}

/// The field a list is ordered by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TodoOrderField {
    /// When created (the default).
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

impl From<TodoOrderField> for OrderField {
    fn from(field: TodoOrderField) -> Self {
        match field {
            TodoOrderField::CreatedAt => Self::CreatedAt,
            TodoOrderField::UpdatedAt => Self::UpdatedAt,
            TodoOrderField::DueAt => Self::DueAt,
            TodoOrderField::Priority => Self::Priority,
            TodoOrderField::Title => Self::Title,
        }
    }
}

/// Ascending or descending.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first (the default).
    Desc,
}

impl From<OrderDirection> for Direction {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => Self::Asc,
            OrderDirection::Desc => Self::Desc,
        }
    }
}

/// The order of a list; ties are broken by id, so paging never repeats or skips a row.
#[derive(InputObject)]
pub(crate) struct TodoOrder {
    /// The field to sort by.
    #[graphql(default_with = "TodoOrderField::CreatedAt")]
    field: TodoOrderField,
    /// The direction.
    #[graphql(default_with = "OrderDirection::Desc")]
    direction: OrderDirection,
}

/// The arguments of `todos`.
pub(crate) struct Args {
    /// Page size from the start.
    pub(crate) first: Option<i32>,
    /// Cursor to start after.
    pub(crate) after: Option<String>,
    /// Page size from the end.
    pub(crate) last: Option<i32>,
    /// Cursor to end before.
    pub(crate) before: Option<String>,
    /// Filter.
    pub(crate) filter: Option<TodoFilter>,
    /// Order.
    pub(crate) order_by: Option<TodoOrder>,
}

/// An edge: a todo and its cursor.
#[derive(SimpleObject)]
#[graphql(complex)]
pub(crate) struct TodoEdge {
    /// The todo.
    node: TodoObject,
    #[graphql(skip)]
    position: Position,
    #[graphql(skip)]
    cursors: Cursors,
}

#[ComplexObject]
impl TodoEdge {
    /// Opaque; pass to `after` or `before`.
    async fn cursor(&self) -> String {
        self.cursor_text()
    }
}

impl TodoEdge {
    fn cursor_text(&self) -> String {
        self.cursors.encode(&self.position)
    }
}

/// A field of `TodoEdge`.
pub(crate) enum EdgeField {
    Typename,
    Node(<TodoObject as Plain>::Plan),
    Cursor,
}

impl EdgeField {
    fn of(field: &Field, fragments: &Fragments) -> Option<Self> {
        Some(match field.name.node.as_str() {
            "__typename" => Self::Typename,
            "node" => Self::Node(TodoObject::plan(&field.selection_set.node, fragments)?),
            "cursor" => Self::Cursor,
            _ => return None,
        })
    }
}

impl Plain for TodoEdge {
    type Plan = Vec<(Name, EdgeField)>;

    fn plan(set: &SelectionSet, fragments: &Fragments) -> Option<Self::Plan> {
        plain::plan_fields(set, fragments, &["TodoEdge"], &mut |field| {
            EdgeField::of(field, fragments)
        })
    }

    fn render(&self, plan: &Self::Plan, out: &mut Json) {
        plain::render_fields(plan, out, |field, out| match field {
            EdgeField::Typename => out.str("TodoEdge"),
            EdgeField::Node(plan) => self.node.render(plan, out),
            EdgeField::Cursor => out.str(&self.cursor_text()),
        });
    }
}

/// Where a page sits in the whole list.
#[derive(SimpleObject)]
#[graphql(complex)]
pub(crate) struct PageInfo {
    /// More todos follow this page.
    has_next_page: bool,
    /// Todos come before this page.
    has_previous_page: bool,
    #[graphql(skip)]
    start: Option<Position>,
    #[graphql(skip)]
    end: Option<Position>,
    #[graphql(skip)]
    cursors: Cursors,
}

// Cursors are encoded only when asked for: most clients read one (`endCursor`), not one per
// edge.
#[ComplexObject]
impl PageInfo {
    /// Cursor of the first edge.
    async fn start_cursor(&self) -> Option<String> {
        self.start.as_ref().map(|p| self.cursors.encode(p))
    }
    /// Cursor of the last edge.
    async fn end_cursor(&self) -> Option<String> {
        self.end.as_ref().map(|p| self.cursors.encode(p))
    }
}

/// A page of todos.
#[derive(SimpleObject)]
#[graphql(complex)]
pub(crate) struct TodoConnection {
    /// The todos with their cursors.
    edges: plain::List<TodoEdge>,
    /// Where this page sits.
    page_info: PageInfo,
    #[graphql(skip)]
    owner: UserId,
    #[graphql(skip)]
    filter: Filter,
}

#[ComplexObject]
impl TodoConnection {
    /// The todos of the page, without cursors.
    async fn nodes(&self) -> plain::List<TodoObject> {
        plain::List(self.edges.0.iter().map(|e| e.node.clone()).collect())
    }

    /// How many todos match the filter, over all pages. Counted only when asked for.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32, AppError> {
        let mut conn = ctx.conn().await?;
        let n = todos::count(&mut conn, &self.owner, &self.filter).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

impl TodoConnection {
    /// Checks the arguments and loads one page for `owner`.
    pub(crate) async fn load(
        conn: &mut DbConn,
        owner: UserId,
        args: Args,
        columns: Columns,
    ) -> Result<Self, AppError> {
        let filter = to_filter(args.filter)?;
        let order = args
            .order_by
            .map(|o| Order {
                field: o.field.into(),
                direction: o.direction.into(),
            })
            .unwrap_or_default();
        let (size, from_end) = match (args.first, args.last) {
            (Some(_), Some(_)) => {
                return Err(AppError::bad_input(
                    "last",
                    "first and last cannot be used together",
                ));
            }
            (None, Some(last)) => (check_size(last, "last")?, true),
            (first, None) => (check_size(first.unwrap_or(DEFAULT_PAGE), "first")?, false),
        };
        let cursors = Cursors::new(&filter, order);
        let decode =
            |cursor: Option<String>, arg| cursor.map(|c| cursors.decode(&c, arg)).transpose();
        let after = decode(args.after, "after")?;
        let before = decode(args.before, "before")?;
        let query = ListQuery {
            filter: &filter,
            order,
            after: after.as_ref(),
            before: before.as_ref(),
            limit: i64::from(size) + 1,
            from_end,
            columns,
        };
        let mut rows = todos::list(conn, &owner, &query).await?;
        let size = usize::try_from(size).unwrap_or_default();
        let more = rows.len() > size;
        if more {
            // The extra row was fetched only to learn that more exist.
            if from_end {
                rows.remove(0);
            } else {
                rows.truncate(size);
            }
        }
        let edges: Vec<TodoEdge> = rows
            .into_iter()
            .map(|(todo, position)| TodoEdge {
                node: TodoObject(todo),
                position,
                cursors: cursors.clone(),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: if from_end { before.is_some() } else { more },
            has_previous_page: if from_end { more } else { after.is_some() },
            start: edges.first().map(|e| e.position.clone()),
            end: edges.last().map(|e| e.position.clone()),
            cursors,
        };
        Ok(Self {
            edges: plain::List(edges),
            page_info,
            owner,
            filter,
        })
    }
}

/// The query cost of a connection: a fixed cost for its database round trip, plus its
/// page size times the cost of what is selected per page.
pub(crate) fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    const ROUND_TRIP: usize = 500;
    let size = first.or(last).unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    usize::try_from(size)
        .unwrap_or(1)
        .saturating_mul(child_complexity)
        .saturating_add(ROUND_TRIP)
}

fn check_size(size: i32, field: &str) -> Result<i32, AppError> {
    if !(0..=MAX_PAGE).contains(&size) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be between 0 and {MAX_PAGE}"),
        ));
    }
    Ok(size)
}

fn to_filter(input: Option<TodoFilter>) -> Result<Filter, AppError> {
    let input = input.unwrap_or_default();
    text::line_opt(input.search.as_deref(), "filter.search")?;
    if input
        .search
        .as_deref()
        .is_some_and(|s| s.chars().count() > SEARCH_MAX)
    {
        return Err(AppError::bad_input(
            "filter.search",
            format!("search must be at most {SEARCH_MAX} characters"),
        ));
    }
    Ok(Filter {
        completed: input.completed,
        search: input.search.filter(|s| !s.is_empty()),
        priority_in: input
            .priority_in
            .map(|ps| ps.into_iter().map(Into::into).collect()),
        due_before: input.due_before.map(|d| d.0),
        due_after: input.due_after.map(|d| d.0),
    })
}

#[cfg(test)]
mod tests {
    use async_graphql::Object;

    use super::*;
    use crate::graphql::todos::plan_tests::{assert_same_answers, todos};

    struct Edges;

    #[Object]
    impl Edges {
        async fn plain(&self) -> plain::List<TodoEdge> {
            plain::List(edges())
        }
        async fn general(&self) -> Vec<TodoEdge> {
            edges()
        }
    }

    fn edges() -> Vec<TodoEdge> {
        let cursors = Cursors::new(&Filter::default(), Order::default());
        todos()
            .into_iter()
            .map(|node| TodoEdge {
                position: Position::CreatedAt {
                    key: node.0.created_at().naive_utc(),
                    id: node.0.id.clone(),
                },
                node,
                cursors: cursors.clone(),
            })
            .collect()
    }

    #[tokio::test]
    async fn edges_answer_as_the_resolvers_do() {
        for (shape, fragments) in [
            (
                "FIELD { cursor node { id title dueAt __typename } __typename }",
                "",
            ),
            (
                "FIELD { n: node { priority } c: cursor node { version } }",
                "",
            ),
            (
                "FIELD { node { ...F } cursor }",
                "fragment F on Todo { id completedAt }",
            ),
        ] {
            assert_same_answers(Edges, shape, fragments).await;
        }
    }
}
