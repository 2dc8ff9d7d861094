//! Sessions: signup and login start one, `refreshSession` rotates its refresh token (reuse
//! after the grace window revokes it), `logout` and `revokeSession` end them, `me { sessions }`
//! lists them, and a revoked session's access tokens are refused at once, on every instance.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_code, time};

/// Every `AuthPayload` field.
pub const AUTH_FIELDS: &str =
    "accessToken tokenType expiresAt refreshToken refreshTokenExpiresAt user { id email }";
const ME: &str = "{ me { id } }";
const SESSIONS: &str =
    "{ me { sessions { id createdAt lastUsedAt expiresAt userAgent ip current } } }";

/// A signed-in session's tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Tokens {
    fn from_payload(payload: &Value) -> Tokens {
        let get = |field: &str| {
            payload[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} in {payload}"))
                .to_owned()
        };
        Tokens {
            access: get("accessToken"),
            refresh: get("refreshToken"),
        }
    }
}

/// POSTs a GraphQL request with an optional token and `User-Agent`.
async fn send(
    app: &TestApp,
    token: Option<&str>,
    user_agent: Option<&str>,
    query: &str,
    variables: Value,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("Content-Type", "application/json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(user_agent) = user_agent {
        request = request.header("User-Agent", user_agent);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

/// Signs up `email` with the standard password; returns the whole payload.
pub async fn signup(app: &TestApp, email: &str) -> Value {
    let query =
        format!("mutation($input: SignupInput!) {{ signup(input: $input) {{ {AUTH_FIELDS} }} }}");
    let input = json!({ "input": { "email": email, "password": PASSWORD } });
    app.gql_ok(None, &query, input).await["signup"].clone()
}

/// Logs in (a new session) with `password`, from `user_agent`; returns the tokens.
pub async fn login_as(app: &TestApp, email: &str, password: &str, user_agent: &str) -> Tokens {
    let query =
        format!("mutation($input: LoginInput!) {{ login(input: $input) {{ {AUTH_FIELDS} }} }}");
    let input = json!({ "input": { "email": email, "password": password } });
    let (status, body) = send(app, None, Some(user_agent), &query, input).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "login failed: {body}");
    Tokens::from_payload(&body["data"]["login"])
}

/// Logs in with the standard password.
pub async fn login(app: &TestApp, email: &str) -> Tokens {
    login_as(app, email, PASSWORD, "test-agent").await
}

/// `refreshSession`: the payload, or the error's reason.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> Result<Value, String> {
    let query =
        format!("mutation($t: String!) {{ refreshSession(refreshToken: $t) {{ {AUTH_FIELDS} }} }}");
    let (status, body) = app.gql(None, &query, json!({ "t": refresh_token })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    match body.get("errors") {
        None => Ok(body["data"]["refreshSession"].clone()),
        Some(errors) => {
            let error = assert_code(&errors[0], "UNAUTHENTICATED");
            Err(error["extensions"]["reason"]
                .as_str()
                .unwrap_or("-")
                .to_owned())
        }
    }
}

/// The HTTP status and the `UNAUTHENTICATED` reason (if any) of `{ me { id } }` with `token`.
pub async fn me_status(app: &TestApp, token: &str) -> (StatusCode, Option<String>) {
    let (status, body) = app.gql(Some(token), ME, json!({})).await;
    let reason = body["errors"][0]["extensions"]["reason"]
        .as_str()
        .map(str::to_owned);
    (status, reason)
}

/// The token works.
pub async fn assert_works(app: &TestApp, token: &str) {
    assert_eq!(me_status(app, token).await, (StatusCode::OK, None));
}

/// The token is refused with 401, reason `SESSION_REVOKED`.
pub async fn assert_revoked(app: &TestApp, token: &str) {
    assert_eq!(
        me_status(app, token).await,
        (StatusCode::UNAUTHORIZED, Some("SESSION_REVOKED".to_owned()))
    );
}

fn claims(token: &str) -> serde_json::Map<String, Value> {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("the app's token decodes")
}

async fn logout(app: &TestApp, token: &str, scope: Option<&str>) -> i64 {
    let query = match scope {
        Some(scope) => format!("mutation {{ logout(scope: {scope}) }}"),
        None => "mutation { logout }".to_owned(),
    };
    let data = app.gql_ok(Some(token), &query, json!({})).await;
    data["logout"].as_i64().expect("a count")
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let data = app.gql_ok(Some(token), SESSIONS, json!({})).await;
    data["me"]["sessions"].as_array().expect("sessions").clone()
}

backend_tests!(signup_and_login_start_sessions, |app| {
    let before = chrono::Utc::now();
    let payload = signup(app, "ann@example.com").await;
    let first = Tokens::from_payload(&payload);
    // 256 random bits, base64url: at least 43 characters.
    assert!(first.refresh.len() >= 43, "{}", first.refresh);
    let refresh_expiry = time(&payload["refreshTokenExpiresAt"]);
    let thirty_days = chrono::Duration::days(30);
    assert!(refresh_expiry >= before + thirty_days - chrono::Duration::seconds(5));
    assert!(refresh_expiry <= chrono::Utc::now() + thirty_days + chrono::Duration::seconds(5));
    let sid = claims(&first.access)["sid"]
        .as_str()
        .expect("a sid claim")
        .to_owned();

    let second = login_as(app, "ann@example.com", PASSWORD, "Firefox/145").await;
    assert_ne!(
        claims(&second.access)["sid"],
        json!(sid),
        "a login is a new session"
    );
    let listed = sessions(app, &second.access).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    // Newest first; `current` marks the session of the token asking.
    assert_eq!(listed[0]["current"], true);
    assert_eq!(listed[0]["userAgent"], "Firefox/145");
    assert_eq!(listed[0]["ip"], "127.0.0.1");
    assert_eq!(listed[1]["current"], false);
    assert!(time(&listed[0]["createdAt"]) >= time(&listed[1]["createdAt"]));
    for session in &listed {
        assert!(time(&session["expiresAt"]) > time(&session["lastUsedAt"]));
    }
    let from_first = sessions(app, &first.access).await;
    assert_eq!(from_first[1]["current"], true);
});

backend_tests!(
    refresh_rotates_and_reuse_revokes_the_session,
    ["--refresh-reuse-grace", "0s"],
    |app| {
        let first = Tokens::from_payload(&signup(app, "ann@example.com").await);
        let rotated = refresh(app, &first.refresh).await.expect("a refresh");
        let second = Tokens::from_payload(&rotated);
        assert_ne!(second.refresh, first.refresh);
        assert_eq!(rotated["user"]["email"], "ann@example.com");
        assert_eq!(claims(&second.access)["sid"], claims(&first.access)["sid"]);
        assert_works(app, &second.access).await;
        let third = Tokens::from_payload(&refresh(app, &second.refresh).await.expect("again"));
        assert_works(app, &third.access).await;

        // The first refresh token again: theft. The whole session ends.
        assert_eq!(
            refresh(app, &first.refresh).await.err().as_deref(),
            Some("REFRESH_TOKEN_REUSED")
        );
        for access in [&first.access, &second.access, &third.access] {
            assert_revoked(app, access).await;
        }
        assert_eq!(
            refresh(app, &third.refresh).await.err().as_deref(),
            Some("SESSION_REVOKED")
        );
        // Another session of the same user is untouched.
        let other = login(app, "ann@example.com").await;
        assert_works(app, &other.access).await;
    }
);

backend_tests!(two_tabs_refreshing_at_once_both_succeed, |app| {
    let first = Tokens::from_payload(&signup(app, "ann@example.com").await);
    let (a, b) = tokio::join!(refresh(app, &first.refresh), refresh(app, &first.refresh));
    let a = Tokens::from_payload(&a.expect("tab A refreshes"));
    let b = Tokens::from_payload(&b.expect("tab B refreshes within the grace window"));
    assert_ne!(a.refresh, b.refresh);
    assert_eq!(
        claims(&a.access)["sid"],
        claims(&b.access)["sid"],
        "one session"
    );
    assert_works(app, &a.access).await;
    assert_works(app, &b.access).await;
    // Whichever tab's token was stored, the next refresh works.
    refresh(app, &a.refresh).await.expect("tab A's token works");
    refresh(app, &b.refresh).await.expect("tab B's token works");
    assert_eq!(sessions(app, &a.access).await.len(), 1);
});

backend_tests!(
    expired_and_unknown_refresh_tokens_are_refused,
    ["--refresh-token-ttl", "1s"],
    |app| {
        let first = Tokens::from_payload(&signup(app, "ann@example.com").await);
        assert_eq!(
            refresh(app, "not-a-token-we-issued").await.err().as_deref(),
            Some("REFRESH_TOKEN_INVALID")
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            refresh(app, &first.refresh).await.err().as_deref(),
            Some("REFRESH_TOKEN_EXPIRED")
        );
    }
);

backend_tests!(each_logout_scope_revokes_what_it_names, |app| {
    let one = Tokens::from_payload(&signup(app, "ann@example.com").await);
    let two = login(app, "ann@example.com").await;
    let three = login(app, "ann@example.com").await;
    let bob = Tokens::from_payload(&signup(app, "bob@example.com").await);

    assert_eq!(logout(app, &one.access, Some("OTHERS")).await, 2);
    assert_works(app, &one.access).await;
    assert_revoked(app, &two.access).await;
    assert_revoked(app, &three.access).await;
    assert_eq!(
        refresh(app, &two.refresh).await.err().as_deref(),
        Some("SESSION_REVOKED")
    );
    assert_eq!(sessions(app, &one.access).await.len(), 1);

    let four = login(app, "ann@example.com").await;
    assert_eq!(logout(app, &four.access, Some("ALL")).await, 2);
    assert_revoked(app, &one.access).await;
    assert_revoked(app, &four.access).await;

    let five = login(app, "ann@example.com").await;
    let six = login(app, "ann@example.com").await;
    assert_eq!(
        logout(app, &five.access, None).await,
        1,
        "CURRENT by default"
    );
    assert_revoked(app, &five.access).await;
    assert_works(app, &six.access).await;
    assert_works(app, &bob.access).await;
});

backend_tests!(sessions_are_listed_and_revoked_only_by_their_owner, |app| {
    let ann = Tokens::from_payload(&signup(app, "ann@example.com").await);
    let ann_phone = login(app, "ann@example.com").await;
    let bob = Tokens::from_payload(&signup(app, "bob@example.com").await);
    let listed = sessions(app, &ann.access).await;
    let phone_id = listed[0]["id"].as_str().expect("an id").to_owned();
    assert_eq!(listed[0]["current"], false);

    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    let error = app
        .gql_err(Some(&bob.access), revoke, json!({ "id": phone_id }))
        .await;
    assert_code(&error, "NOT_FOUND");
    assert_works(app, &ann_phone.access).await;
    let node = "query($id: ID!) { node(id: $id) { id ... on Session { current } } }";
    let data = app
        .gql_ok(Some(&bob.access), node, json!({ "id": phone_id }))
        .await;
    assert_eq!(
        data["node"],
        Value::Null,
        "another's session reads as nothing"
    );
    let data = app
        .gql_ok(Some(&ann.access), node, json!({ "id": phone_id }))
        .await;
    assert_eq!(data["node"]["id"], json!(phone_id));

    let data = app
        .gql_ok(Some(&ann.access), revoke, json!({ "id": phone_id }))
        .await;
    assert_eq!(data["revokeSession"], true);
    assert_revoked(app, &ann_phone.access).await;
    assert_eq!(sessions(app, &ann.access).await.len(), 1);
    let again = app
        .gql_err(Some(&ann.access), revoke, json!({ "id": phone_id }))
        .await;
    assert_code(&again, "NOT_FOUND");
    let bad = app
        .gql_err(Some(&ann.access), revoke, json!({ "id": "nope" }))
        .await;
    assert_code(&bad, "BAD_USER_INPUT");
    assert_works(app, &bob.access).await;
});

/// Polls `token` on `app` until it is refused; how long that took.
async fn time_until_refused(app: &TestApp, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (status, reason) = me_status(app, token).await;
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(reason.as_deref(), Some("SESSION_REVOKED"));
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "still accepted after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two instances on one database: a logout through A is refused by B within a second, and
/// an instance started afterwards refuses it from the start.
async fn second_instance_refuses_within_a_second(a: &TestApp, b_extra: &[&str]) {
    let b = a.sibling(b_extra).await;
    let session = Tokens::from_payload(&signup(a, "ann@example.com").await);
    let other = login(a, "ann@example.com").await;
    assert_works(&b, &session.access).await;
    assert_eq!(logout(a, &session.access, None).await, 1);
    let took = time_until_refused(&b, &session.access, Duration::from_secs(1)).await;
    eprintln!("instance B refused the revoked token after {took:?}");
    assert_works(&b, &other.access).await;
    let c = a.sibling(&[]).await;
    assert_revoked(&c, &session.access).await;
    assert_works(&c, &other.access).await;
    c.shutdown().await;
    b.shutdown().await;
}

/// On PostgreSQL, B learns of the revocation by notification: its periodic re-read is left
/// at the default 5 s, far slower than the second allowed.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_reaches_another_instance_within_a_second_postgres() {
    let Some(a) = TestApp::spawn_postgres_with(&[]).await else {
        return;
    };
    second_instance_refuses_within_a_second(&a, &[]).await;
    a.shutdown().await;
}

/// On SQLite (no notifications), the periodic re-read is the fallback that still gets there.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_reaches_another_instance_by_rereading_sqlite() {
    let a = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &[]).await;
    second_instance_refuses_within_a_second(&a, &["--revocation-poll-interval", "200ms"]).await;
    a.shutdown().await;
}

/// B's LISTEN connection is killed: it reconnects by itself, and the next revocation still
/// reaches B by notification (its re-read is an hour away, so nothing else could).
#[tokio::test(flavor = "multi_thread")]
async fn the_listen_connection_comes_back_after_it_is_killed_postgres() {
    let Some(a) = TestApp::spawn_postgres_with(&[]).await else {
        return;
    };
    let b = a.sibling(&["--revocation-poll-interval", "1h"]).await;
    let first = Tokens::from_payload(&signup(&a, "ann@example.com").await);
    let second = login(&a, "ann@example.com").await;
    assert_works(&b, &first.access).await;
    a.pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{db}' AND query LIKE 'LISTEN%'",
    )
    .await;
    // The listener's back-off starts at 250 ms; give it a few tries.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(logout(&a, &first.access, None).await, 1);
    let took = time_until_refused(&b, &first.access, Duration::from_secs(1)).await;
    eprintln!("after a reconnect, instance B refused the revoked token after {took:?}");
    assert_works(&b, &second.access).await;
    b.shutdown().await;
    a.shutdown().await;
}
