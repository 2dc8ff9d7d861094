//! Sync for offline-first clients: `changes(since:)` answers what changed in the viewer's
//! todos after a cursor, a page at a time, from the change log (`store::changes`).
//!
//! Without a cursor, or with one the log can no longer serve (older than the tombstones
//! kept, or another deployment's), the client gets a full resync: every live todo, in
//! pages whose cursors remember that they belong to the pass, with no deletions (the
//! client starts from empty). The pass's last cursor resumes the tombstones from the head
//! the pass began at, so a todo sent on page one and deleted before the pass ended is still
//! reported deleted by the next incremental call.

pub(crate) mod cursor;

use async_graphql::{Context, ID, Object, SimpleObject};

use super::{ContextExt, ids, todos::TodoObject};
use crate::{
    auth::UserId,
    db::DbConn,
    error::AppError,
    store::changes::{self, Change, ChangePage, Position, Scan},
};
use cursor::{CursorKeys, Since};

const DEFAULT_FIRST: i32 = 500;
const MAX_FIRST: i32 = 1000;

/// What changed in the viewer's todos after a cursor.
#[derive(SimpleObject)]
pub(crate) struct TodoChanges {
    /// Todos created or changed after the cursor, each once in its latest state, in the
    /// order of their last change. During a full resync: every todo the viewer has.
    upserted: Vec<TodoObject>,
    /// Ids of todos deleted after the cursor (possibly of todos this client never saw:
    /// ignore those). Always empty during a full resync.
    deleted_ids: Vec<ID>,
    /// Pass it as `since` next time (and to `todoEvents`). Opaque; valid for this viewer
    /// only, on every replica and across restarts.
    cursor: String,
    /// More changes are waiting beyond this page: call again with `cursor` now.
    has_more: bool,
    /// True on every page of a full resync: without `since`, or when the cursor is older
    /// than the tombstones kept (`SYNC_TOMBSTONE_TTL`) or comes from another deployment.
    /// On the first such page drop the local copy; `upserted` over the pass rebuilds it.
    full_resync: bool,
}

/// Sync queries.
#[derive(Default)]
pub(crate) struct SyncQuery;

#[Object]
impl SyncQuery {
    /// The viewer's todo changes after `since` (a cursor from an earlier call or from a
    /// `todoEvents` event): upserts and deletions together, at most `first` (1 to 1,000;
    /// default 500), in the order they happened, each todo once at its last change. Call
    /// again with `cursor` while `hasMore` is true. Without `since` (or when the cursor is
    /// too old or foreign), a full resync: see `fullResync`. A cursor that was altered,
    /// cut or made for another viewer is `BAD_USER_INPUT` on `since`.
    #[graphql(complexity = "cost(first.unwrap_or(DEFAULT_FIRST), child_complexity)")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        since: Option<String>,
        #[graphql(default_with = "Some(DEFAULT_FIRST)")] first: Option<i32>,
    ) -> Result<TodoChanges, AppError> {
        let viewer = ctx.viewer()?;
        // An explicit null asks for the default, as leaving it out does.
        let first = first.unwrap_or(DEFAULT_FIRST);
        if !(1..=MAX_FIRST).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_FIRST}"),
            ));
        }
        let first = usize::try_from(first).unwrap_or(1);
        let keys = &ctx.state()?.cursor_keys;
        let owner = viewer.user_id();
        let since = match since {
            None => Since::start(),
            Some(text) => cursor::decode(keys, owner, &text, "since")?,
        };
        let mut conn = ctx.conn().await?;
        pull(&mut conn, keys, owner, since, first).await
    }
}

/// A page of changes costs one round trip or two, and a change row a tenth of a listed
/// row (one range scan reads them all): the default page is allowed with every field.
fn cost(first: i32, child_complexity: usize) -> usize {
    const ROUND_TRIP: usize = 500;
    let rows = usize::try_from(first.clamp(1, MAX_FIRST)).unwrap_or(1);
    rows.div_ceil(10)
        .saturating_mul(child_complexity)
        .saturating_add(ROUND_TRIP)
}

/// Reads the page after `since`; restarts as a full resync when the log cannot serve it.
async fn pull(
    conn: &mut DbConn,
    keys: &CursorKeys,
    owner: &UserId,
    since: Since,
    first: usize,
) -> Result<TodoChanges, AppError> {
    if let Since::Changes { todos, tombstones } = &since {
        let scan = Scan {
            todos: Some(todos),
            tombstones: Some(tombstones),
        };
        if let Some(page) = changes::read(conn, owner, scan, first).await? {
            let (next_todos, next_tombstones) = match page.changes.last() {
                Some(last) => {
                    let last = last.position();
                    (
                        todos.clone().max(last.clone()),
                        tombstones.clone().max(last),
                    )
                }
                None => (todos.clone(), tombstones.clone()),
            };
            let next = Since::Changes {
                todos: next_todos,
                tombstones: next_tombstones,
            };
            return Ok(answer(keys, owner, page, &next, false));
        }
    }
    let (after, head) = match since {
        Since::FullPass { after, head } => (after, Some(head)),
        _ => (None, None),
    };
    let resumed = match &after {
        Some(after) => {
            let scan = Scan {
                todos: Some(after),
                tombstones: None,
            };
            changes::read(conn, owner, scan, first).await?
        }
        None => None,
    };
    let (page, after) = match resumed {
        Some(page) => (page, after),
        // The first page, or a pass cursor beyond this log (another database): from the
        // start.
        None => {
            let page = changes::since(conn, owner, None, first)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the change log refused a full read"))?;
            (page, None)
        }
    };
    // The first page fixes the pass's head: every deletion of a todo it sends lies above.
    let head = match (&after, head) {
        (Some(_), Some(head)) => head,
        _ => page.head,
    };
    let last = page.changes.last().map(Change::position).or(after);
    let next = if page.has_more {
        Since::FullPass { after: last, head }
    } else {
        Since::Changes {
            todos: last.unwrap_or_else(|| Position::after_seq(head)),
            tombstones: Position::after_seq(head),
        }
    };
    Ok(answer(keys, owner, page, &next, true))
}

fn answer(
    keys: &CursorKeys,
    owner: &UserId,
    page: ChangePage,
    next: &Since,
    full_resync: bool,
) -> TodoChanges {
    let mut upserted = Vec::new();
    let mut deleted_ids = Vec::new();
    for change in page.changes {
        match change {
            Change::Upserted(todo) => upserted.push(TodoObject(todo)),
            Change::Deleted { id, .. } => deleted_ids.push(ids::encode(ids::Kind::Todo, &id)),
        }
    }
    TodoChanges {
        upserted,
        deleted_ids,
        cursor: cursor::encode(keys, owner, next),
        has_more: page.has_more,
        full_resync,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_page_with_every_field_is_within_the_default_complexity() {
        // 11 todo fields plus the four of TodoChanges.
        assert!(super::cost(super::DEFAULT_FIRST, 15) <= 5000);
        assert!(super::cost(super::MAX_FIRST, 15) <= 5000);
    }
}
