//! Typed helpers for accounts and sessions, as a user reaches them through the API:
//! `signup`, `login`, `refresh`, `logout`, `sessions`, whether a token still works, and the
//! claims of a token.

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::{Api, PASSWORD, assert_code};

/// Every `AuthPayload` field.
pub const AUTH_FIELDS: &str =
    "accessToken tokenType expiresAt refreshToken refreshTokenExpiresAt user { id email }";
const SESSIONS: &str =
    "{ me { sessions { id createdAt lastUsedAt expiresAt userAgent ip current } } }";

/// A signed-in session: its tokens, its user and the whole `AuthPayload`.
#[derive(Debug, Clone)]
pub struct Auth {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub payload: Value,
}

impl Auth {
    /// The session an `AuthPayload` (with [`AUTH_FIELDS`]) starts.
    pub fn from_payload(payload: &Value) -> Auth {
        let get = |value: &Value, what: &str| {
            value
                .as_str()
                .unwrap_or_else(|| panic!("{what} in {payload}"))
                .to_owned()
        };
        Auth {
            access: get(&payload["accessToken"], "accessToken"),
            refresh: get(&payload["refreshToken"], "refreshToken"),
            user_id: get(&payload["user"]["id"], "user.id"),
            payload: payload.clone(),
        }
    }
}

/// A token's claims, read without checking its signature.
pub fn claims(token: &str) -> Map<String, Value> {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("the app's token decodes")
}

impl Api {
    /// Signs up through the API.
    pub async fn signup(&self, email: &str, password: &str) -> Auth {
        let query = format!(
            "mutation($input: SignupInput!) {{ signup(input: $input) {{ {AUTH_FIELDS} }} }}"
        );
        let input = json!({ "input": { "email": email, "password": password } });
        Auth::from_payload(&self.gql_ok(None, &query, input).await["signup"])
    }

    /// Signs up `{name}@example.com` with the standard password; returns the access token.
    pub async fn user(&self, name: &str) -> String {
        let email = format!("{name}@example.com");
        self.signup(&email, PASSWORD).await.access
    }

    /// Logs in (a new session) with `password`, from `user_agent`.
    pub async fn login_from(&self, email: &str, password: &str, user_agent: &str) -> Auth {
        let query =
            format!("mutation($input: LoginInput!) {{ login(input: $input) {{ {AUTH_FIELDS} }} }}");
        let input = json!({ "input": { "email": email, "password": password } });
        let request = self.request(&query).variables(input);
        let data = request.header("user-agent", user_agent).send().await.data();
        Auth::from_payload(&data["login"])
    }

    /// Logs in with `password`.
    pub async fn login(&self, email: &str, password: &str) -> Auth {
        self.login_from(email, password, "test-agent").await
    }

    /// `refreshSession`: the payload, or the `UNAUTHENTICATED` error's reason.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Value, String> {
        let query = format!(
            "mutation($t: String!) {{ refreshSession(refreshToken: $t) {{ {AUTH_FIELDS} }} }}"
        );
        let (status, body) = self.gql(None, &query, json!({ "t": refresh_token })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        match body.get("errors") {
            None => Ok(body["data"]["refreshSession"].clone()),
            Some(errors) => {
                let error = assert_code(&errors[0], "UNAUTHENTICATED");
                let reason = error["extensions"]["reason"].as_str();
                Err(reason
                    .unwrap_or_else(|| panic!("a reason: {error}"))
                    .to_owned())
            }
        }
    }

    /// `logout(scope:)` (the default scope with `None`); returns how many were revoked.
    pub async fn logout(&self, token: &str, scope: Option<&str>) -> i64 {
        let query = match scope {
            Some(scope) => format!("mutation {{ logout(scope: {scope}) }}"),
            None => "mutation { logout }".to_owned(),
        };
        let data = self.gql_ok(Some(token), &query, json!({})).await;
        data["logout"].as_i64().expect("a count")
    }

    /// The viewer's sessions, every field, as listed.
    pub async fn sessions(&self, token: &str) -> Vec<Value> {
        let data = self.gql_ok(Some(token), SESSIONS, json!({})).await;
        data["me"]["sessions"].as_array().expect("sessions").clone()
    }

    /// The HTTP status and the `UNAUTHENTICATED` reason (if any) of `{ me { id } }`.
    pub async fn me_status(&self, token: &str) -> (StatusCode, Option<String>) {
        let (status, body) = self.gql(Some(token), "{ me { id } }", json!({})).await;
        let reason = body["errors"][0]["extensions"]["reason"].as_str();
        (status, reason.map(str::to_owned))
    }

    /// The token works.
    pub async fn assert_works(&self, token: &str) {
        assert_eq!(self.me_status(token).await, (StatusCode::OK, None));
    }

    /// The token is refused with 401, reason `SESSION_REVOKED`.
    pub async fn assert_revoked(&self, token: &str) {
        assert_eq!(
            self.me_status(token).await,
            (StatusCode::UNAUTHORIZED, Some("SESSION_REVOKED".to_owned()))
        );
    }
}
