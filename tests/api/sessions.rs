//! Sessions: signup and login start one, `refreshSession` rotates its refresh token (reuse
//! after the grace window revokes it), `logout` and `revokeSession` end them, `me { sessions }`
//! lists them, and a revoked session's access tokens are refused at once, on every instance.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Auth, PASSWORD, TestApp, assert_code, claims, time};

backend_tests!(signup_and_login_start_sessions, |app| {
    let before = chrono::Utc::now();
    let first = app.signup("ann@example.com", PASSWORD).await;
    // 256 random bits, base64url: at least 43 characters.
    assert!(first.refresh.len() >= 43, "{}", first.refresh);
    let refresh_expiry = time(&first.payload["refreshTokenExpiresAt"]);
    let thirty_days = chrono::Duration::days(30);
    assert!(refresh_expiry >= before + thirty_days - chrono::Duration::seconds(5));
    assert!(refresh_expiry <= chrono::Utc::now() + thirty_days + chrono::Duration::seconds(5));
    let sid = claims(&first.access)["sid"]
        .as_str()
        .expect("a sid claim")
        .to_owned();

    let second = app
        .login_from("ann@example.com", PASSWORD, "Firefox/145")
        .await;
    assert_ne!(
        claims(&second.access)["sid"],
        json!(sid),
        "a login is a new session"
    );
    let listed = app.sessions(&second.access).await;
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
    let from_first = app.sessions(&first.access).await;
    assert_eq!(from_first[1]["current"], true);
});

backend_tests!(
    refresh_rotates_and_reuse_revokes_the_session,
    ["--refresh-reuse-grace", "0s"],
    |app| {
        let first = app.signup("ann@example.com", PASSWORD).await;
        let rotated = app.refresh(&first.refresh).await.expect("a refresh");
        let second = Auth::from_payload(&rotated);
        assert_ne!(second.refresh, first.refresh);
        assert_eq!(rotated["user"]["email"], "ann@example.com");
        assert_eq!(claims(&second.access)["sid"], claims(&first.access)["sid"]);
        app.assert_works(&second.access).await;
        let third = Auth::from_payload(&app.refresh(&second.refresh).await.expect("again"));
        app.assert_works(&third.access).await;

        // The first refresh token again: theft. The whole session ends.
        assert_eq!(
            app.refresh(&first.refresh).await.err().as_deref(),
            Some("REFRESH_TOKEN_REUSED")
        );
        for access in [&first.access, &second.access, &third.access] {
            app.assert_revoked(access).await;
        }
        assert_eq!(
            app.refresh(&third.refresh).await.err().as_deref(),
            Some("SESSION_REVOKED")
        );
        // Another session of the same user is untouched.
        let other = app.login("ann@example.com", PASSWORD).await;
        app.assert_works(&other.access).await;
    }
);

backend_tests!(two_tabs_refreshing_at_once_both_succeed, |app| {
    let first = app.signup("ann@example.com", PASSWORD).await;
    let (a, b) = tokio::join!(app.refresh(&first.refresh), app.refresh(&first.refresh));
    let a = Auth::from_payload(&a.expect("tab A refreshes"));
    let b = Auth::from_payload(&b.expect("tab B refreshes within the grace window"));
    assert_ne!(a.refresh, b.refresh);
    assert_eq!(
        claims(&a.access)["sid"],
        claims(&b.access)["sid"],
        "one session"
    );
    app.assert_works(&a.access).await;
    app.assert_works(&b.access).await;
    // Whichever tab's token was stored, the next refresh works.
    app.refresh(&a.refresh).await.expect("tab A's token works");
    app.refresh(&b.refresh).await.expect("tab B's token works");
    assert_eq!(app.sessions(&a.access).await.len(), 1);
});

backend_tests!(
    expired_and_unknown_refresh_tokens_are_refused,
    ["--refresh-token-ttl", "1s"],
    |app| {
        let first = app.signup("ann@example.com", PASSWORD).await;
        assert_eq!(
            app.refresh("not-a-token-we-issued").await.err().as_deref(),
            Some("REFRESH_TOKEN_INVALID")
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            app.refresh(&first.refresh).await.err().as_deref(),
            Some("REFRESH_TOKEN_EXPIRED")
        );
    }
);

backend_tests!(each_logout_scope_revokes_what_it_names, |app| {
    let one = app.signup("ann@example.com", PASSWORD).await;
    let two = app.login("ann@example.com", PASSWORD).await;
    let three = app.login("ann@example.com", PASSWORD).await;
    let bob = app.signup("bob@example.com", PASSWORD).await;

    assert_eq!(app.logout(&one.access, Some("OTHERS")).await, 2);
    app.assert_works(&one.access).await;
    app.assert_revoked(&two.access).await;
    app.assert_revoked(&three.access).await;
    assert_eq!(
        app.refresh(&two.refresh).await.err().as_deref(),
        Some("SESSION_REVOKED")
    );
    assert_eq!(app.sessions(&one.access).await.len(), 1);

    let four = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(app.logout(&four.access, Some("ALL")).await, 2);
    app.assert_revoked(&one.access).await;
    app.assert_revoked(&four.access).await;

    let five = app.login("ann@example.com", PASSWORD).await;
    let six = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(
        app.logout(&five.access, None).await,
        1,
        "CURRENT by default"
    );
    app.assert_revoked(&five.access).await;
    app.assert_works(&six.access).await;
    app.assert_works(&bob.access).await;
});

backend_tests!(sessions_are_listed_and_revoked_only_by_their_owner, |app| {
    let ann = app.signup("ann@example.com", PASSWORD).await;
    let ann_phone = app.login("ann@example.com", PASSWORD).await;
    let bob = app.signup("bob@example.com", PASSWORD).await;
    let listed = app.sessions(&ann.access).await;
    let phone_id = listed[0]["id"].as_str().expect("an id").to_owned();
    assert_eq!(listed[0]["current"], false);

    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    let error = app
        .gql_err(Some(&bob.access), revoke, json!({ "id": phone_id }))
        .await;
    assert_code(&error, "NOT_FOUND");
    app.assert_works(&ann_phone.access).await;
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
    app.assert_revoked(&ann_phone.access).await;
    assert_eq!(app.sessions(&ann.access).await.len(), 1);
    let again = app
        .gql_err(Some(&ann.access), revoke, json!({ "id": phone_id }))
        .await;
    assert_code(&again, "NOT_FOUND");
    let bad = app
        .gql_err(Some(&ann.access), revoke, json!({ "id": "nope" }))
        .await;
    assert_code(&bad, "BAD_USER_INPUT");
    app.assert_works(&bob.access).await;
});

/// Polls `token` on `app` until it is refused; how long that took.
async fn time_until_refused(app: &TestApp, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (status, reason) = app.me_status(token).await;
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
    let session = a.signup("ann@example.com", PASSWORD).await;
    let other = a.login("ann@example.com", PASSWORD).await;
    b.assert_works(&session.access).await;
    assert_eq!(a.logout(&session.access, None).await, 1);
    let took = time_until_refused(&b, &session.access, Duration::from_secs(1)).await;
    eprintln!("instance B refused the revoked token after {took:?}");
    b.assert_works(&other.access).await;
    let c = a.sibling(&[]).await;
    c.assert_revoked(&session.access).await;
    c.assert_works(&other.access).await;
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
    let first = a.signup("ann@example.com", PASSWORD).await;
    let second = a.login("ann@example.com", PASSWORD).await;
    b.assert_works(&first.access).await;
    a.pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{db}' AND query LIKE 'LISTEN%'",
    )
    .await;
    // The listener's back-off starts at 250 ms; give it a few tries.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(a.logout(&first.access, None).await, 1);
    let took = time_until_refused(&b, &first.access, Duration::from_secs(1)).await;
    eprintln!("after a reconnect, instance B refused the revoked token after {took:?}");
    b.assert_works(&second.access).await;
    b.shutdown().await;
    a.shutdown().await;
}
