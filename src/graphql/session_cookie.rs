//! Where a session's refresh token travels: in the `AuthPayload` body, or, for a browser
//! that asked, in the HttpOnly `__Host-refresh_token` cookie (see `auth::refresh_cookie`).
//! Resolvers decide with [`requested`] or [`renewal`], hand the tokens out with
//! [`deliver`], and drop the cookie with [`clear`]. Over WebSocket there is no cookie: the
//! transport puts no [`CookieChannel`] in the request's data.

use async_graphql::Context;
use axum::http::header::SET_COOKIE;

use super::{ContextExt, account::AuthPayload};
use crate::{
    accounts::SignedIn,
    auth::refresh_cookie::{self, CookieChannel},
    error::{AppError, AuthFailure},
};

/// Where the refresh token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// In `AuthPayload.refreshToken`.
    Body,
    /// In the cookie; `refreshToken` is null.
    Cookie,
}

fn channel<'a>(ctx: &Context<'a>) -> Option<&'a CookieChannel> {
    ctx.data_opt::<CookieChannel>()
}

/// The delivery a signup or login asked for with `refreshTokenCookie` (named `field`);
/// `BAD_USER_INPUT` when it asks for the cookie over a transport that cannot set one.
pub(super) fn requested(
    ctx: &Context<'_>,
    wants_cookie: Option<bool>,
    field: &str,
) -> Result<Delivery, AppError> {
    if wants_cookie != Some(true) {
        return Ok(Delivery::Body);
    }
    if channel(ctx).is_none() {
        return Err(AppError::bad_input(
            field,
            "a cookie cannot be set over a WebSocket; sign in over HTTP POST for a cookie session",
        ));
    }
    Ok(Delivery::Cookie)
}

/// The delivery for a session's renewed tokens: the cookie when the request carried one
/// (the session is a browser's cookie session), the body otherwise.
pub(super) fn renewal(ctx: &Context<'_>) -> Delivery {
    match channel(ctx).and_then(CookieChannel::presented) {
        Some(_) => Delivery::Cookie,
        None => Delivery::Body,
    }
}

/// The refresh token the request's cookie carried: `BAD_USER_INPUT` on `field` over a
/// WebSocket, `UNAUTHENTICATED` (`REFRESH_TOKEN_INVALID`) over HTTP without the cookie.
pub(super) fn presented<'a>(ctx: &Context<'a>, field: &str) -> Result<&'a str, AppError> {
    let Some(channel) = channel(ctx) else {
        return Err(AppError::bad_input(
            field,
            "refreshToken is required over a WebSocket: the cookie does not travel there",
        ));
    };
    channel
        .presented()
        .ok_or(AppError::Unauthenticated(AuthFailure::RefreshTokenInvalid))
}

/// The payload of a session's fresh tokens, its refresh token where `delivery` says.
pub(super) fn deliver(
    ctx: &Context<'_>,
    signed_in: SignedIn,
    delivery: Delivery,
) -> Result<AuthPayload, AppError> {
    let mut payload = AuthPayload::new(signed_in);
    if delivery == Delivery::Cookie {
        let ttl = ctx.state()?.accounts.sessions.refresh_ttl;
        let token = payload.take_refresh_token();
        let value = token
            .as_deref()
            .and_then(|token| refresh_cookie::set(token, ttl))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the refresh cookie is unset")))?;
        ctx.append_http_header(SET_COOKIE, value);
    }
    Ok(payload)
}

/// Tells the browser to drop the cookie, when the request carried it.
pub(super) fn clear(ctx: &Context<'_>) {
    if renewal(ctx) == Delivery::Cookie
        && let Some(value) = refresh_cookie::clear()
    {
        ctx.append_http_header(SET_COOKIE, value);
    }
}
