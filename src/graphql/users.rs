//! The viewer's account: `me`, `User` and its todo counts.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::{ContextExt, DateTime, ids, sessions::SessionObject};
use crate::{
    auth::UserId,
    error::{AppError, AuthFailure},
    store::{sessions, todos, users},
};

/// An account, only ever shown to its owner.
pub(crate) struct UserObject {
    row: users::User,
    owner: UserId,
}

impl UserObject {
    /// The account `owner` proved to be theirs.
    pub fn new(row: users::User, owner: UserId) -> Self {
        Self { row, owner }
    }
}

/// A person with an account.
#[Object(name = "User")]
impl UserObject {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ids::encode(ids::Kind::User, &self.row.id)
    }
    /// Sign-in email, trimmed and lower-cased.
    async fn email(&self) -> &str {
        &self.row.email
    }
    /// Name to show, if set.
    async fn display_name(&self) -> Option<&str> {
        self.row.display_name.as_deref()
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime {
        self.row.created_at().into()
    }
    /// The account's live sessions (signed-in devices), newest first.
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<SessionObject>, AppError> {
        let viewer = ctx.viewer()?;
        let mut conn = ctx.conn().await?;
        let rows = sessions::list(&mut conn, &self.owner).await?;
        Ok(rows
            .into_iter()
            .map(|row| SessionObject::new(row, viewer))
            .collect())
    }
    /// How many todos the account has: the TodoMVC "items left" figures.
    async fn todo_counts(&self, ctx: &Context<'_>) -> Result<TodoCounts, AppError> {
        let mut conn = ctx.conn().await?;
        let counts = todos::counts(&mut conn, &self.owner).await?;
        let int = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(TodoCounts {
            all: int(counts.active + counts.completed),
            active: int(counts.active),
            completed: int(counts.completed),
        })
    }
}

/// Todo counts of the viewer.
#[derive(SimpleObject)]
pub struct TodoCounts {
    /// Every todo.
    all: i32,
    /// Todos not completed.
    active: i32,
    /// Completed todos.
    completed: i32,
}

/// Queries about the viewer.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user. `UNAUTHENTICATED` without a token.
    async fn me(&self, ctx: &Context<'_>) -> Result<UserObject, AppError> {
        let viewer = ctx.viewer()?;
        load_viewer(ctx, viewer.user_id()).await
    }
}

/// The viewer's account; `UNAUTHENTICATED` (`SESSION_REVOKED`: deleting an account revokes
/// its sessions) when it no longer exists.
pub(crate) async fn load_viewer(ctx: &Context<'_>, owner: &UserId) -> Result<UserObject, AppError> {
    let mut conn = ctx.conn().await?;
    let row = users::find(&mut conn, owner)
        .await?
        .ok_or(AppError::Unauthenticated(AuthFailure::SessionRevoked))?;
    Ok(UserObject::new(row, owner.clone()))
}
