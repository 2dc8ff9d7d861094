//! The Relay `Node` interface and the `node` query.

use async_graphql::{Context, ID, Interface, Object};

use super::{ContextExt, ids, sessions::SessionObject, todos::TodoObject, users};
use crate::{
    error::AppError,
    store::{sessions, todos},
};

/// An object with an opaque global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub(crate) enum Node {
    /// A user.
    User(users::UserObject),
    /// A todo.
    Todo(TodoObject),
    /// A session.
    Session(SessionObject),
}

/// The `node` query.
#[derive(Default)]
pub(crate) struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object of the viewer's by global id; null when it does not exist or is not the
    /// viewer's.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>, AppError> {
        let viewer = ctx.viewer()?;
        let (kind, raw) = ids::decode(&id, "id")?;
        match kind {
            ids::Kind::Todo => {
                let mut conn = ctx.conn().await?;
                let columns = super::todos::selected_columns(&[ctx.look_ahead()]);
                let todo = todos::get(&mut conn, viewer.user_id(), &raw, columns).await?;
                Ok(todo.map(|t| Node::Todo(TodoObject(t))))
            }
            ids::Kind::User if raw == viewer.user_id().as_str() => {
                let user = users::load_viewer(ctx, viewer.user_id()).await?;
                Ok(Some(Node::User(user)))
            }
            ids::Kind::User => Ok(None),
            ids::Kind::Session => {
                let mut conn = ctx.conn().await?;
                let session = sessions::get(&mut conn, viewer.user_id(), &raw).await?;
                Ok(session.map(|row| Node::Session(SessionObject::new(row, viewer))))
            }
        }
    }
}
