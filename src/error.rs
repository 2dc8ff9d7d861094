//! The one error type, and the one place that turns errors into the contract's codes.
//!
//! Resolvers return `Result<T, AppError>`; async-graphql keeps the `AppError` as the
//! error's source, and [`shape_response`] reads it after execution to set
//! `extensions.code`. Anything it does not recognise is masked as `INTERNAL_SERVER_ERROR`
//! with the request id, and only the log sees the detail.

use async_graphql::{ErrorExtensionValues, Response, ServerError};

/// Why an `UNAUTHENTICATED` error happened, for clients that react to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No viewer where one is needed.
    Missing,
    /// The token's `exp` has passed.
    TokenExpired,
    /// Malformed, badly signed, wrong algorithm, audience, issuer, or not yet valid.
    TokenInvalid,
    /// An access or refresh token of a session that was revoked (logout, password change,
    /// account deletion, refresh-token reuse).
    SessionRevoked,
    /// A refresh token that was already rotated, presented again after the grace window:
    /// treated as theft, so its whole session is now revoked.
    RefreshTokenReused,
    /// A refresh token past its expiry.
    RefreshTokenExpired,
    /// A refresh token that was never issued (or whose session is gone).
    RefreshTokenInvalid,
}

impl AuthFailure {
    fn reason(self) -> Option<&'static str> {
        match self {
            Self::Missing => None,
            Self::TokenExpired => Some("TOKEN_EXPIRED"),
            Self::TokenInvalid => Some("TOKEN_INVALID"),
            Self::SessionRevoked => Some("SESSION_REVOKED"),
            Self::RefreshTokenReused => Some("REFRESH_TOKEN_REUSED"),
            Self::RefreshTokenExpired => Some("REFRESH_TOKEN_EXPIRED"),
            Self::RefreshTokenInvalid => Some("REFRESH_TOKEN_INVALID"),
        }
    }
}

/// Every refusal the API can give, one variant per contract code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// `UNAUTHENTICATED`
    #[error("{}", unauthenticated_message(*.0))]
    Unauthenticated(AuthFailure),
    /// `INVALID_CREDENTIALS`
    #[error("invalid email or password")]
    InvalidCredentials,
    /// `EMAIL_TAKEN`
    #[error("an account with this email already exists")]
    EmailTaken,
    /// `BAD_USER_INPUT`, naming the argument path that broke a rule.
    #[error("{message}")]
    BadUserInput {
        /// The argument path, as `input.title` or `first`.
        field: String,
        /// What is wrong, for people.
        message: String,
    },
    /// `BAD_USER_INPUT` on `query`: the document breaks a limit, or its answer would be
    /// larger than allowed; `reason` says which.
    #[error("{message}")]
    QueryRefused {
        /// The stable reason, as `QUERY_TOO_DEEP`.
        reason: &'static str,
        /// What is wrong, for people.
        message: String,
    },
    /// `BAD_USER_INPUT` on `input.clientId` with reason `CLIENT_ID_REUSED`: the viewer
    /// already created a todo with this client id, from other fields.
    #[error(
        "this clientId was already used for a todo with other fields; make a new clientId for a new todo"
    )]
    ClientIdReused,
    /// `NOT_FOUND`: does not exist or is not the viewer's; the two are indistinguishable.
    #[error("not found")]
    NotFound,
    /// `CONFLICT`: `expectedVersion` differs from the stored version.
    #[error("the todo was changed since version {expected}; it is now at version {current}")]
    Conflict {
        /// What the client expected.
        expected: i32,
        /// What is stored.
        current: i32,
    },
    /// `RATE_LIMITED`: too many attempts; try again after `retry_after` seconds.
    #[error("too many attempts; try again in {retry_after} seconds")]
    RateLimited {
        /// Seconds until an attempt may succeed.
        retry_after: u64,
    },
    /// `QUOTA_EXCEEDED`: the viewer already holds the most todos an account may; nothing
    /// was written.
    #[error("an account may hold at most {limit} todos; delete some to make room")]
    QuotaExceeded {
        /// The most todos an account may hold.
        limit: u32,
    },
    /// `PERSISTED_QUERY_NOT_FOUND`: a request named its document by a hash the server does
    /// not know, and did not send the document. The message is the one Apollo Client and
    /// urql look for before they retry with the document.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// `INTERNAL_SERVER_ERROR` with reason `TIMEOUT`: the request ran out of time.
    #[error("the request took too long and was stopped")]
    Timeout,
    /// `INTERNAL_SERVER_ERROR`: logged in full, shown masked.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn unauthenticated_message(failure: AuthFailure) -> &'static str {
    match failure {
        AuthFailure::Missing => "authentication required: send an Authorization: Bearer token",
        AuthFailure::TokenExpired => "the access token has expired",
        AuthFailure::TokenInvalid => "the access token is invalid",
        AuthFailure::SessionRevoked => "the session has been signed out; log in again",
        AuthFailure::RefreshTokenReused => {
            "the refresh token was already used; the session has been signed out for safety"
        }
        AuthFailure::RefreshTokenExpired => "the refresh token has expired; log in again",
        AuthFailure::RefreshTokenInvalid => "the refresh token is invalid; log in again",
    }
}

impl AppError {
    /// A `BAD_USER_INPUT` error for `field`.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The contract's code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::EmailTaken => "EMAIL_TAKEN",
            Self::BadUserInput { .. } | Self::QueryRefused { .. } | Self::ClientIdReused => {
                "BAD_USER_INPUT"
            }
            Self::NotFound => "NOT_FOUND",
            Self::Conflict { .. } => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Timeout | Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// This error as a GraphQL error with its extensions, for responses built outside
    /// execution (the HTTP layer's 401, for one).
    pub fn to_server_error(&self, request_id: &str) -> ServerError {
        let mut error = ServerError::new(self.to_string(), None);
        shape_app_error(&mut error, self, request_id);
        error
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Internal(error.into())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Internal(anyhow::anyhow!("database pool: {error}"))
    }
}

/// The fixed message of a masked error.
pub const INTERNAL_MESSAGE: &str = "internal server error";

fn shape_app_error(error: &mut ServerError, app: &AppError, request_id: &str) {
    let ext = error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    ext.set("code", app.code());
    match app {
        AppError::Unauthenticated(failure) => {
            if let Some(reason) = failure.reason() {
                ext.set("reason", reason);
            }
        }
        AppError::BadUserInput { field, .. } => ext.set("field", field.as_str()),
        AppError::QueryRefused { reason, .. } => {
            ext.set("field", "query");
            ext.set("reason", *reason);
        }
        AppError::ClientIdReused => {
            ext.set("field", "input.clientId");
            ext.set("reason", "CLIENT_ID_REUSED");
        }
        AppError::Conflict { current, .. } => ext.set("currentVersion", *current),
        AppError::RateLimited { retry_after } => ext.set("retryAfter", *retry_after),
        AppError::QuotaExceeded { limit } => ext.set("limit", *limit),
        AppError::Timeout => {
            ext.set("reason", "TIMEOUT");
            ext.set("requestId", request_id);
        }
        AppError::Internal(detail) => {
            tracing::error!(request_id, error = ?detail, "internal error");
            error.message = INTERNAL_MESSAGE.to_owned();
            error.locations.clear();
            ext.set("requestId", request_id);
        }
        _ => {}
    }
}

/// Gives every error of `response` its contract code, masking what is not ours.
///
/// Errors without an `AppError` source come from async-graphql itself: parse, validation and
/// argument-coercion failures, all caused by the request, so they are `BAD_USER_INPUT`.
/// An error with some other source is unexpected and is masked.
pub fn shape_response(response: &mut Response, request_id: &str) {
    for error in &mut response.errors {
        shape_error(error, request_id);
    }
}

/// The contract code of an error that [`shape_response`] has shaped, for metrics: one of
/// the contract's codes, never free text.
pub fn shaped_code(error: &ServerError) -> &'static str {
    let code = error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(code.as_str()),
            _ => None,
        });
    CODES
        .into_iter()
        .find(|known| Some(*known) == code)
        .unwrap_or("INTERNAL_SERVER_ERROR")
}

/// Every code an error can carry.
const CODES: [&str; 10] = [
    "UNAUTHENTICATED",
    "INVALID_CREDENTIALS",
    "EMAIL_TAKEN",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "RATE_LIMITED",
    "QUOTA_EXCEEDED",
    "PERSISTED_QUERY_NOT_FOUND",
    "INTERNAL_SERVER_ERROR",
];

/// The start of async-graphql's message for a document over `limit_complexity`, the one
/// engine refusal that gets its own reason. A test below fails if the engine rewords it.
const ENGINE_TOO_COMPLEX: &str = "Query is too complex";

fn shape_error(error: &mut ServerError, request_id: &str) {
    let app = error
        .source
        .clone()
        .map(|source| source.downcast::<AppError>());
    match app {
        Some(Ok(app)) => shape_app_error(error, &app, request_id),
        Some(Err(_)) => {
            let masked = AppError::Internal(anyhow::anyhow!("{}", error.message));
            shape_app_error(error, &masked, request_id);
        }
        None => {
            let too_complex = error.message.starts_with(ENGINE_TOO_COMPLEX);
            let ext = error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default);
            // Ours (built before execution) already carry their code and fields. The
            // engine's refusals are about the document or its variables as a whole.
            if ext.get("code").is_none() {
                ext.set("code", "BAD_USER_INPUT");
                if ext.get("field").is_none() {
                    ext.set("field", "query");
                }
            }
            if too_complex {
                ext.set("reason", "QUERY_TOO_COMPLEX");
            }
        }
    }
}

/// A JSON `errors` body with one error, for refusals made before GraphQL runs.
pub fn error_body(error: ServerError) -> serde_json::Value {
    serde_json::json!({ "errors": [error] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    struct Query;

    #[Object]
    impl Query {
        async fn conflict(&self) -> Result<i32, AppError> {
            Err(AppError::Conflict {
                expected: 1,
                current: 3,
            })
        }
        async fn broken(&self) -> Result<i32, AppError> {
            Err(anyhow::anyhow!("SELECT secret FROM users").into())
        }
    }

    async fn run(query: &str) -> serde_json::Value {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let mut response = schema.execute(query).await;
        shape_response(&mut response, "req-1");
        serde_json::to_value(&response).unwrap_or_default()
    }

    #[tokio::test]
    async fn app_errors_get_their_code_and_extras() {
        let body = run("{ conflict }").await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
        assert_eq!(body["errors"][0]["extensions"]["currentVersion"], 3);
    }

    #[tokio::test]
    async fn internal_errors_are_masked_with_the_request_id() {
        let body = run("{ broken }").await;
        let error = &body["errors"][0];
        assert_eq!(error["message"], INTERNAL_MESSAGE);
        assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
        assert_eq!(error["extensions"]["requestId"], "req-1");
        assert!(!body.to_string().contains("SELECT"));
    }

    #[tokio::test]
    async fn engine_errors_are_bad_user_input() {
        let body = run("{ nope }").await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "query");
    }

    #[tokio::test]
    async fn the_engine_complexity_refusal_gets_its_reason() {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_complexity(1)
            .finish();
        let mut response = schema.execute("{ conflict broken }").await;
        shape_response(&mut response, "req-1");
        assert_eq!(response.errors.len(), 1);
        assert_eq!(shaped_code(&response.errors[0]), "BAD_USER_INPUT");
        let body = serde_json::to_value(&response).unwrap_or_default();
        assert_eq!(
            body["errors"][0]["extensions"]["reason"],
            "QUERY_TOO_COMPLEX"
        );
    }

    #[test]
    fn every_code_is_known_to_metrics() {
        let errors = [
            AppError::Unauthenticated(AuthFailure::Missing),
            AppError::InvalidCredentials,
            AppError::EmailTaken,
            AppError::bad_input("f", "m"),
            AppError::ClientIdReused,
            AppError::NotFound,
            AppError::Conflict {
                expected: 1,
                current: 2,
            },
            AppError::RateLimited { retry_after: 1 },
            AppError::QuotaExceeded { limit: 3 },
            AppError::QueryRefused {
                reason: "QUERY_TOO_DEEP",
                message: "m".into(),
            },
            AppError::Timeout,
        ];
        for error in errors {
            let shaped = error.to_server_error("-");
            assert_eq!(shaped_code(&shaped), error.code());
        }
    }
}
