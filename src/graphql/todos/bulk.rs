//! The TodoMVC bulk mutations, whose answers hold every todo they changed (with `id` and
//! `version`) or the ids of every todo they deleted, so a normalized client cache
//! (Apollo Client, urql, Relay) applies them without a refetch.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::{TodoObject, advanced};
use crate::{
    error::AppError,
    graphql::{ContextExt, ids},
    store::todos,
};

/// What "toggle all" changed.
#[derive(SimpleObject)]
pub(crate) struct BulkUpdatePayload {
    /// How many todos changed (the length of `todos`).
    count: i32,
    /// Exactly the todos that changed, as they are now (versions raised); todos already
    /// in the requested state are not in it, and were not written.
    todos: Vec<TodoObject>,
}

/// What "clear completed" deleted.
#[derive(SimpleObject)]
pub(crate) struct BulkDeletePayload {
    /// How many todos were deleted (the length of `deletedIds`).
    count: i32,
    /// The global ids of the deleted todos, as `deleteTodo` returns them: evict these.
    deleted_ids: Vec<ID>,
}

/// The bulk todo mutations.
#[derive(Default)]
pub(crate) struct TodoBulkMutation;

#[Object]
impl TodoBulkMutation {
    /// "Toggle all": marks every todo of the viewer completed (or open) and returns the
    /// todos that changed. With nothing to change, nothing is written (`count: 0`).
    async fn set_all_todos_completed(
        &self,
        ctx: &Context<'_>,
        completed: bool,
    ) -> Result<BulkUpdatePayload, AppError> {
        let viewer = ctx.writer()?;
        let mut conn = ctx.conn().await?;
        let (changed, seq) =
            todos::set_all_completed(&mut conn, viewer.user_id(), completed).await?;
        advanced(ctx.state()?, viewer, seq);
        Ok(BulkUpdatePayload {
            count: i32::try_from(changed.len()).unwrap_or(i32::MAX),
            todos: changed.into_iter().map(TodoObject).collect(),
        })
    }

    /// Deletes the viewer's completed todos and returns their ids. With none completed,
    /// nothing is written (`count: 0`).
    async fn clear_completed_todos(
        &self,
        ctx: &Context<'_>,
    ) -> Result<BulkDeletePayload, AppError> {
        let viewer = ctx.writer()?;
        let mut conn = ctx.conn().await?;
        let (deleted, seq) = todos::clear_completed(&mut conn, viewer.user_id()).await?;
        advanced(ctx.state()?, viewer, seq);
        Ok(BulkDeletePayload {
            count: i32::try_from(deleted.len()).unwrap_or(i32::MAX),
            deleted_ids: deleted
                .iter()
                .map(|id| ids::encode(ids::Kind::Todo, id))
                .collect(),
        })
    }
}
