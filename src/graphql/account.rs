//! `signup` and `login`, the rules their inputs must follow, and the `AuthPayload` every
//! mutation that starts or renews a session returns.

use async_graphql::{Context, InputObject, Object};

use super::{ContextExt, DateTime, session_cookie, text, users::UserObject};
use crate::{
    accounts::{SignedIn, Signup},
    error::AppError,
    request_meta::RequestMeta,
};

const DISPLAY_NAME_MAX: usize = 100;
const EMAIL_MAX: usize = 254;

/// New account details.
#[derive(InputObject)]
pub struct SignupInput {
    /// Trimmed and lower-cased; must be a valid address. Unique regardless of case.
    email: String,
    /// 8 (or the configured minimum) to 128 characters, never truncated, NFKC-normalised;
    /// common passwords, ones containing the email address, and ones made only of the
    /// display name's words are refused, with the reason in the message.
    password: String,
    /// At most 100 characters; blank means none.
    display_name: Option<String>,
    /// For a browser: `true` puts the refresh token in the HttpOnly `__Host-refresh_token`
    /// cookie instead of the body (`refreshToken` is then null). Keep the access token in
    /// memory only; on a reload call `refreshSession` without an argument. HTTP POST only
    /// (`BAD_USER_INPUT` over a WebSocket); a cross-origin app sends
    /// `credentials: 'include'` from an origin in `CORS_ALLOWED_ORIGINS`.
    #[graphql(default_with = "Some(false)")]
    refresh_token_cookie: Option<bool>,
}

/// Sign-in details.
#[derive(InputObject)]
pub struct LoginInput {
    /// The account's email, in any case.
    email: String,
    /// The password.
    password: String,
    /// `true`: the refresh token goes into the HttpOnly `__Host-refresh_token` cookie, not
    /// the body; see `SignupInput.refreshTokenCookie`.
    #[graphql(default_with = "Some(false)")]
    refresh_token_cookie: Option<bool>,
}

/// A signed-in session: an access token for the `Authorization: Bearer` header, and the
/// refresh token that gets the next one (unless it went into the cookie).
pub struct AuthPayload {
    token: String,
    expires_at: DateTime,
    refresh_token: Option<String>,
    refresh_token_expires_at: DateTime,
    user: UserObject,
}

impl AuthPayload {
    /// The payload of a session's fresh tokens.
    pub(super) fn new(signed_in: SignedIn) -> Self {
        let pair = signed_in.tokens;
        Self {
            token: pair.access.token,
            expires_at: pair.access.expires_at.into(),
            refresh_token: Some(pair.refresh_token),
            refresh_token_expires_at: pair.refresh_expires_at.into(),
            user: UserObject::new(signed_in.user, signed_in.user_id),
        }
    }

    /// Takes the refresh token out of the body, for delivery in the cookie.
    pub(super) fn take_refresh_token(&mut self) -> Option<String> {
        self.refresh_token.take()
    }
}

/// What signup and login return.
#[Object]
impl AuthPayload {
    /// The JWT to send as `Authorization: Bearer <accessToken>`.
    async fn access_token(&self) -> &str {
        &self.token
    }
    /// Always `Bearer`.
    async fn token_type(&self) -> &str {
        "Bearer"
    }
    /// When the access token stops working; call `refreshSession` before (or on
    /// `UNAUTHENTICATED` with reason `TOKEN_EXPIRED`).
    async fn expires_at(&self) -> DateTime {
        self.expires_at
    }
    /// Opaque, single-use: `refreshSession` exchanges it for a new pair. Keep it secret.
    /// Null when it went into the `__Host-refresh_token` cookie instead (a cookie session:
    /// `refreshTokenCookie: true`, or `refreshSession`/`changePassword` in one), which
    /// page scripts cannot read.
    async fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }
    /// When the refresh token stops working; log in again after it.
    async fn refresh_token_expires_at(&self) -> DateTime {
        self.refresh_token_expires_at
    }
    /// The signed-in user.
    async fn user(&self) -> &UserObject {
        &self.user
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and signs it in (the refresh token in the cookie with
    /// `refreshTokenCookie: true`). `EMAIL_TAKEN` if the email exists (in any case);
    /// `BAD_USER_INPUT` naming the field for a rule broken.
    async fn signup(&self, ctx: &Context<'_>, input: SignupInput) -> Result<AuthPayload, AppError> {
        let email = normalize_email(&input.email, "input.email")?;
        text::line(&input.password, "input.password")?;
        let display_name = input
            .display_name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty());
        text::line_opt(display_name, "input.displayName")?;
        let delivery =
            session_cookie::requested(ctx, input.refresh_token_cookie, "input.refreshTokenCookie")?;
        if display_name.is_some_and(|name| name.chars().count() > DISPLAY_NAME_MAX) {
            return Err(AppError::bad_input(
                "input.displayName",
                format!("displayName must be at most {DISPLAY_NAME_MAX} characters"),
            ));
        }
        let state = ctx.state()?;
        let signup = Signup {
            email: &email,
            password: &input.password,
            display_name,
        };
        let signed_in = state.accounts.signup(signup, &meta(ctx)).await?;
        session_cookie::deliver(ctx, signed_in, delivery)
    }

    /// Signs in (the refresh token in the cookie with `refreshTokenCookie: true`). An
    /// unknown email and a wrong password get the same `INVALID_CREDENTIALS`,
    /// in about the same time.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload, AppError> {
        let email = input.email.trim().to_lowercase();
        text::line(&email, "input.email")?;
        text::line(&input.password, "input.password")?;
        let delivery =
            session_cookie::requested(ctx, input.refresh_token_cookie, "input.refreshTokenCookie")?;
        let state = ctx.state()?;
        let signed_in = state
            .accounts
            .login(&email, &input.password, &meta(ctx))
            .await?;
        session_cookie::deliver(ctx, signed_in, delivery)
    }
}

/// Where the request came from, recorded with the sessions it starts.
fn meta(ctx: &Context<'_>) -> RequestMeta {
    ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default()
}

/// Trims, lower-cases and checks an email address.
fn normalize_email(raw: &str, field: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    text::line(&email, field)?;
    let domain_ok = email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.contains('.') && !domain.ends_with('.'));
    if email.len() > EMAIL_MAX || !domain_ok || !email_address::EmailAddress::is_valid(&email) {
        return Err(AppError::bad_input(field, "email is not a valid address"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ", "e").ok().as_deref(),
            Some("ann@example.com")
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
        ] {
            assert!(normalize_email(bad, "e").is_err(), "{bad}");
        }
    }
}
