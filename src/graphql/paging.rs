//! The `todos` connection: arguments, opaque cursors and page info.
//!
//! A cursor is `base64url(JSON)` of a row's position plus a fingerprint of the filter and
//! order it was made under, so a cursor reused with another filter or order is refused
//! instead of silently skipping rows.

use async_graphql::{ComplexObject, Context, InputObject, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::{ContextExt, DateTime, text, todos::Todo};
use crate::{
    auth::UserId,
    db::DbConn,
    error::AppError,
    store::todos::{
        self, Direction, Filter, ListQuery, Order, OrderField, Position, Priority, SortKey,
    },
};

const DEFAULT_PAGE: i32 = 20;
const MAX_PAGE: i32 = 100;
const SEARCH_MAX: usize = 200;

/// Which todos to list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct TodoFilter {
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

/// The order of a list; ties are broken by id, so paging never repeats or skips a row.
#[derive(InputObject)]
pub struct TodoOrder {
    /// The field to sort by.
    #[graphql(default_with = "OrderField::CreatedAt")]
    field: OrderField,
    /// The direction.
    #[graphql(default_with = "Direction::Desc")]
    direction: Direction,
}

/// The arguments of `todos`.
pub struct Args {
    /// Page size from the start.
    pub first: Option<i32>,
    /// Cursor to start after.
    pub after: Option<String>,
    /// Page size from the end.
    pub last: Option<i32>,
    /// Cursor to end before.
    pub before: Option<String>,
    /// Filter.
    pub filter: Option<TodoFilter>,
    /// Order.
    pub order_by: Option<TodoOrder>,
}

/// An edge: a todo and its cursor.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TodoEdge {
    /// The todo.
    node: Todo,
    #[graphql(skip)]
    position: Position,
    #[graphql(skip)]
    fingerprint: Arc<str>,
}

#[ComplexObject]
impl TodoEdge {
    /// Opaque; pass to `after` or `before`.
    async fn cursor(&self) -> String {
        encode_cursor(&self.fingerprint, &self.position)
    }
}

/// Where a page sits in the whole list.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PageInfo {
    /// More todos follow this page.
    has_next_page: bool,
    /// Todos come before this page.
    has_previous_page: bool,
    #[graphql(skip)]
    start: Option<Position>,
    #[graphql(skip)]
    end: Option<Position>,
    #[graphql(skip)]
    fingerprint: Arc<str>,
}

// Cursors are encoded only when asked for: most clients read one (`endCursor`), not one per
// edge.
#[ComplexObject]
impl PageInfo {
    /// Cursor of the first edge.
    async fn start_cursor(&self) -> Option<String> {
        self.start
            .as_ref()
            .map(|p| encode_cursor(&self.fingerprint, p))
    }
    /// Cursor of the last edge.
    async fn end_cursor(&self) -> Option<String> {
        self.end
            .as_ref()
            .map(|p| encode_cursor(&self.fingerprint, p))
    }
}

/// A page of todos.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TodoConnection {
    /// The todos with their cursors.
    edges: Vec<TodoEdge>,
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
    async fn nodes(&self) -> Vec<Todo> {
        self.edges.iter().map(|e| Todo(e.node.0.clone())).collect()
    }

    /// How many todos match the filter, over all pages. Counted only when asked for.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32, AppError> {
        let mut conn = ctx.conn().await?;
        let n = todos::count(&mut conn, &self.owner, &self.filter).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

#[derive(Serialize, Deserialize)]
struct CursorData<F, P> {
    /// Fingerprint of filter and order.
    f: F,
    /// The position.
    p: P,
}

impl TodoConnection {
    /// Checks the arguments and loads one page for `owner`.
    pub async fn load(conn: &mut DbConn, owner: UserId, args: Args) -> Result<Self, AppError> {
        let filter = to_filter(args.filter)?;
        let order = args
            .order_by
            .map(|o| Order {
                field: o.field,
                direction: o.direction,
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
        let fingerprint = fingerprint(&filter, order);
        let after = decode_cursor(args.after.as_deref(), &fingerprint, order.field, "after")?;
        let before = decode_cursor(args.before.as_deref(), &fingerprint, order.field, "before")?;
        let query = ListQuery {
            filter: &filter,
            order,
            after: after.as_ref(),
            before: before.as_ref(),
            limit: i64::from(size) + 1,
            from_end,
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
        let fingerprint: Arc<str> = fingerprint.into();
        let edges: Vec<TodoEdge> = rows
            .into_iter()
            .map(|(todo, position)| TodoEdge {
                node: Todo(todo),
                position,
                fingerprint: Arc::clone(&fingerprint),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: if from_end { before.is_some() } else { more },
            has_previous_page: if from_end { more } else { after.is_some() },
            start: edges.first().map(|e| e.position.clone()),
            end: edges.last().map(|e| e.position.clone()),
            fingerprint,
        };
        Ok(Self {
            edges,
            page_info,
            owner,
            filter,
        })
    }
}

/// The query cost of a connection: a fixed cost for its database round trip, plus its
/// page size times the cost of what is selected per page.
pub fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
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
        priority_in: input.priority_in,
        due_before: input.due_before.map(|d| d.0),
        due_after: input.due_after.map(|d| d.0),
    })
}

fn fingerprint(filter: &Filter, order: Order) -> String {
    let canonical = serde_json::to_vec(&(filter, order)).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    URL_SAFE_NO_PAD.encode(&digest[..9])
}

fn encode_cursor(fingerprint: &str, position: &Position) -> String {
    let data = CursorData {
        f: fingerprint,
        p: position,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
}

fn decode_cursor(
    cursor: Option<&str>,
    fingerprint: &str,
    field: OrderField,
    arg: &str,
) -> Result<Option<Position>, AppError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad = |why: &str| AppError::bad_input(arg, format!("{arg} is not a valid cursor: {why}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad("malformed"))?;
    let data: CursorData<String, Position> =
        serde_json::from_slice(&bytes).map_err(|_| bad("malformed"))?;
    if data.f != fingerprint || !data.p.fits(field) {
        return Err(bad("it was made for another filter or orderBy"));
    }
    // A cursor is only base64: its strings are as untrusted as any argument.
    text::line(&data.p.id, arg)?;
    if let SortKey::Text(key) = &data.p.key {
        text::line(key, arg)?;
    }
    Ok(Some(data.p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::todos::SortKey;

    #[test]
    fn cursors_round_trip_only_under_their_own_filter_and_order() {
        let filter = Filter::default();
        let order = Order::default();
        let fp = fingerprint(&filter, order);
        let position = Position {
            key: SortKey::Int(3),
            id: "abc".into(),
        };
        let cursor = encode_cursor(&fp, &position);
        let decoded = decode_cursor(Some(&cursor), &fp, OrderField::Priority, "after");
        assert_eq!(decoded.ok().flatten(), Some(position));
        let other = fingerprint(
            &Filter {
                completed: Some(true),
                ..Filter::default()
            },
            order,
        );
        assert!(decode_cursor(Some(&cursor), &other, OrderField::Priority, "after").is_err());
        assert!(decode_cursor(Some("garbage!"), &fp, OrderField::Priority, "after").is_err());
    }
}
