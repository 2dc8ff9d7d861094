//! Sessions in the schema: the `Session` type, and `refreshSession`, `logout`,
//! `revokeSession`, `changePassword` and `deleteAccount`.

use async_graphql::{Context, Enum, ID, Object};

use super::{
    ContextExt, DateTime,
    account::AuthPayload,
    ids,
    session_cookie::{self, Delivery},
    text,
};
use crate::{
    accounts::SignOut, auth::Viewer, error::AppError, request_meta::RequestMeta, store::sessions,
};

/// One of the viewer's signed-in sessions (a device or browser).
pub(crate) struct SessionObject {
    row: sessions::Session,
    current: bool,
}

impl SessionObject {
    /// A session row as `viewer` sees it.
    pub fn new(row: sessions::Session, viewer: &Viewer) -> Self {
        let current = row.id == viewer.session_id().as_str();
        Self { row, current }
    }
}

/// A signed-in session: started by a signup or login, kept alive by `refreshSession`.
#[Object(name = "Session")]
impl SessionObject {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ids::encode(ids::Kind::Session, &self.row.id)
    }
    /// When the signup or login happened.
    async fn created_at(&self) -> DateTime {
        self.row.created_at().into()
    }
    /// When it was last refreshed (or started).
    async fn last_used_at(&self) -> DateTime {
        self.row.last_used_at().into()
    }
    /// When it ends unless refreshed before.
    async fn expires_at(&self) -> DateTime {
        self.row.expires_at().into()
    }
    /// The `User-Agent` of the signup or login, if sent.
    async fn user_agent(&self) -> Option<&str> {
        self.row.user_agent.as_deref()
    }
    /// The client address of the signup or login.
    async fn ip(&self) -> Option<&str> {
        self.row.ip.as_deref()
    }
    /// Whether this is the session of the token making this request.
    async fn current(&self) -> bool {
        self.current
    }
}

/// Which sessions `logout` ends.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogoutScope {
    /// The session of the token making the request.
    #[default]
    Current,
    /// Every other session of the viewer ("sign out other devices").
    Others,
    /// Every session of the viewer.
    All,
}

impl From<LogoutScope> for SignOut {
    fn from(scope: LogoutScope) -> Self {
        match scope {
            LogoutScope::Current => Self::Current,
            LogoutScope::Others => Self::Others,
            LogoutScope::All => Self::All,
        }
    }
}

/// Session and account mutations.
#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Exchanges a refresh token for a new access token and a new refresh token; the one
    /// presented stops working. Presenting a used refresh token again after a few seconds
    /// is taken for theft: the session is revoked (`UNAUTHENTICATED`, reason
    /// `REFRESH_TOKEN_REUSED`). Reasons `REFRESH_TOKEN_EXPIRED` and
    /// `REFRESH_TOKEN_INVALID` mean: log in again.
    ///
    /// A browser in a cookie session (`refreshTokenCookie: true` at login) leaves
    /// `refreshToken` out: the `__Host-refresh_token` cookie is used, a rotated cookie is
    /// set and the body's `refreshToken` is null. Call it on every page load to get an
    /// access token, and again before `expiresAt`. No cookie: `UNAUTHENTICATED`,
    /// `REFRESH_TOKEN_INVALID`; a refused cookie is cleared. Over a WebSocket
    /// `refreshToken` is required (`BAD_USER_INPUT`).
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: Option<String>,
    ) -> Result<AuthPayload, AppError> {
        let state = ctx.state()?;
        if let Some(refresh_token) = refresh_token {
            text::line(&refresh_token, "refreshToken")?;
            let signed_in = state
                .accounts
                .refresh(&refresh_token, client_ip(ctx))
                .await?;
            return Ok(AuthPayload::new(signed_in));
        }
        let presented = session_cookie::presented(ctx, "refreshToken")?;
        match state.accounts.refresh(presented, client_ip(ctx)).await {
            Ok(signed_in) => session_cookie::deliver(ctx, signed_in, Delivery::Cookie),
            Err(refused @ AppError::Unauthenticated(_)) => {
                session_cookie::clear(ctx);
                Err(refused)
            }
            Err(other) => Err(other),
        }
    }

    /// Ends sessions: this one (`CURRENT`), every other (`OTHERS`) or all (`ALL`). Their
    /// access tokens are refused at once. Returns how many sessions ended. `CURRENT` and
    /// `ALL` also clear the refresh cookie the request carried.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(LogoutScope::Current)")] scope: Option<LogoutScope>,
    ) -> Result<i32, AppError> {
        let scope = scope.unwrap_or_default();
        let viewer = ctx.viewer()?;
        let count = ctx.state()?.accounts.logout(viewer, scope.into()).await?;
        if scope != LogoutScope::Others {
            session_cookie::clear(ctx);
        }
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// Ends one of the viewer's sessions. `NOT_FOUND` when it is not a live session of
    /// theirs.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool, AppError> {
        let viewer = ctx.viewer()?;
        let (kind, raw) = ids::decode(&id, "id")?;
        if kind != ids::Kind::Session {
            return Err(AppError::NotFound);
        }
        ctx.state()?.accounts.revoke_session(viewer, &raw).await?;
        Ok(true)
    }

    /// Changes the password: `INVALID_CREDENTIALS` when `currentPassword` is wrong; the
    /// signup rules for `newPassword` (`BAD_USER_INPUT` on `newPassword`). Every other
    /// session ends; this one gets fresh tokens. In a cookie session (the request carries
    /// the refresh cookie) the new refresh token goes into the cookie and the body's is
    /// null.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<AuthPayload, AppError> {
        let viewer = ctx.viewer()?;
        text::line(&current_password, "currentPassword")?;
        text::line(&new_password, "newPassword")?;
        let state = ctx.state()?;
        let signed_in = state
            .accounts
            .change_password(viewer, &current_password, &new_password, client_ip(ctx))
            .await?;
        session_cookie::deliver(ctx, signed_in, session_cookie::renewal(ctx))
    }

    /// Deletes the account with its todos and sessions; its tokens stop working at once.
    /// `INVALID_CREDENTIALS` when the password is wrong. Clears the refresh cookie the
    /// request carried.
    async fn delete_account(&self, ctx: &Context<'_>, password: String) -> Result<bool, AppError> {
        let viewer = ctx.viewer()?;
        text::line(&password, "password")?;
        let state = ctx.state()?;
        let seq = state
            .accounts
            .delete_account(viewer, &password, client_ip(ctx))
            .await?;
        if let Some(seq) = seq {
            state.feed.advanced(viewer.user_id(), seq);
        }
        session_cookie::clear(ctx);
        Ok(true)
    }
}

fn client_ip(ctx: &Context<'_>) -> Option<std::net::IpAddr> {
    ctx.data_opt::<RequestMeta>().and_then(|meta| meta.ip)
}
