//! Credentials over the socket, first found wins (the upgrade's header, the init
//! payload's `accessToken`, its `Authorization`): a bad, expired or revoked one gets no
//! ack and close 4403; a bound socket closes 4403 within a second of its session's
//! revocation (on this instance or another) and at its token's `exp`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, claims};

const PROTOCOL: &[&str] = &["graphql-transport-ws"];

/// A socket whose upgrade carried `Authorization: Bearer {token}`.
async fn with_header(app: &TestApp, token: &str) -> crate::helpers::ws::Ws {
    let bearer = format!("Bearer {token}");
    app.ws_with(PROTOCOL, &[("authorization", &bearer)])
        .await
        .expect("the upgrade succeeds, whatever the token")
}

/// Waits until the token's `exp` has passed by the server's exact rule.
async fn until_expired(token: &str) {
    let exp = claims(token)["exp"].as_i64().expect("an exp");
    let at = chrono::DateTime::from_timestamp(exp, 0).expect("a time");
    let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(50)).await;
}

backend_tests!(bad_credentials_from_anywhere_close_4403, |app| {
    let good = app.user("ann").await;
    let mut header = with_header(app, "not-a-token").await;
    header.expect_close(4403).await;
    let mut scheme = app
        .ws_with(PROTOCOL, &[("authorization", "Basic abc")])
        .await
        .expect("the upgrade succeeds");
    scheme.expect_close(4403).await;
    let payloads = [
        json!({ "accessToken": "not-a-token" }),
        json!({ "accessToken": 42 }),
        json!({ "Authorization": "Bearer not-a-token" }),
        json!({ "authorization": good.clone() }),
        json!({ "accessToken": format!("{good}x") }),
    ];
    for payload in payloads {
        let mut ws = app.ws().await;
        ws.init(payload.clone()).await;
        ws.expect_close(4403).await;
    }
});

backend_tests!(good_credentials_from_anywhere_are_acknowledged, |app| {
    let token = app.user("ann").await;
    let me = "{ me { id } }";
    let (_, over_http) = app.gql(Some(&token), me, json!({})).await;
    let payloads = [
        json!({ "accessToken": token }),
        json!({ "Authorization": format!("Bearer {token}") }),
        json!({ "authorization": format!("bearer {token}") }),
    ];
    for payload in payloads {
        let mut ws = app.ws().await;
        ws.init(payload).await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        assert_eq!(ws.request("1", me, json!({})).await, over_http);
    }
    // The header comes first: a bad token in the payload does not matter then.
    let mut ws = with_header(app, &token).await;
    ws.init(json!({ "accessToken": "not-a-token" })).await;
    assert_eq!(ws.next().await["type"], "connection_ack");
    assert_eq!(ws.request("1", me, json!({})).await, over_http);
});

backend_tests!(
    an_expired_token_closes_4403_though_http_still_allows_its_leeway,
    ["--access-token-ttl", "1s"],
    |app| {
        let token = app.user("ann").await;
        until_expired(&token).await;
        app.assert_works(&token).await;
        with_header(app, &token).await.expect_close(4403).await;
        let mut ws = app.ws().await;
        ws.init(json!({ "accessToken": token })).await;
        ws.expect_close(4403).await;
    }
);

backend_tests!(
    a_bound_socket_closes_4403_at_its_tokens_exp,
    ["--access-token-ttl", "3s"],
    |app| {
        let token = app.user("ann").await;
        let mut ws = app.ws_ready(Some(&token)).await;
        let mut anonymous = app.ws_ready(None).await;
        let exp = claims(&token)["exp"].as_i64().expect("an exp") * 1000;
        ws.expect_close_within(4403, Duration::from_secs(6)).await;
        let closed = chrono::Utc::now().timestamp_millis();
        assert!(
            closed >= exp && closed < exp + 1000,
            "closed at {closed}, exp {exp}"
        );
        anonymous.assert_open().await;
    }
);

/// Waits for `ws` to close 4403; how long it took, which must be under a second.
async fn closed_within_a_second(ws: &mut crate::helpers::ws::Ws, since: Instant) -> Duration {
    ws.expect_close_within(4403, Duration::from_secs(1)).await;
    since.elapsed()
}

backend_tests!(revoking_the_session_closes_its_sockets_4403, |app| {
    let ann = app.signup("ann@example.com", PASSWORD).await;
    let laptop = app.login("ann@example.com", PASSWORD).await;
    let mut phone_socket = app.ws_ready(Some(&ann.access)).await;
    let mut laptop_socket = app.ws_ready(Some(&laptop.access)).await;
    let mut header_socket = with_header(app, &ann.access).await;
    header_socket.init(Value::Null).await;
    assert_eq!(header_socket.next().await["type"], "connection_ack");
    let started = Instant::now();
    assert_eq!(app.logout(&ann.access, None).await, 1);
    closed_within_a_second(&mut phone_socket, started).await;
    closed_within_a_second(&mut header_socket, started).await;
    laptop_socket.assert_open().await;

    let tablet = app.login("ann@example.com", PASSWORD).await;
    let mut tablet_socket = app.ws_ready(Some(&tablet.access)).await;
    let sessions = app.sessions(&laptop.access).await;
    let tablet_id = sessions
        .iter()
        .find(|s| s["current"] == false)
        .map(|s| s["id"].clone())
        .expect("the tablet's session");
    let started = Instant::now();
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    app.gql_ok(Some(&laptop.access), revoke, json!({ "id": tablet_id }))
        .await;
    closed_within_a_second(&mut tablet_socket, started).await;
    laptop_socket.assert_open().await;

    let started = Instant::now();
    let delete = "mutation($p: String!) { deleteAccount(password: $p) }";
    app.gql_ok(Some(&laptop.access), delete, json!({ "p": PASSWORD }))
        .await;
    closed_within_a_second(&mut laptop_socket, started).await;
});

/// A socket on instance B is closed within a second of a logout through instance A.
async fn revocation_reaches_a_socket_on_another_instance(a: &TestApp, b_extra: &[&str]) {
    let b = a.sibling(b_extra).await;
    let ann = a.signup("ann@example.com", PASSWORD).await;
    let other = a.login("ann@example.com", PASSWORD).await;
    let mut revoked = b.ws_ready(Some(&ann.access)).await;
    let mut kept = b.ws_ready(Some(&other.access)).await;
    let started = Instant::now();
    assert_eq!(a.logout(&ann.access, None).await, 1);
    let took = closed_within_a_second(&mut revoked, started).await;
    eprintln!("instance B closed the revoked session's socket after {took:?}");
    kept.assert_open().await;
    b.shutdown().await;
}

/// On PostgreSQL, B hears of it by notification (its re-read is left at 5 s).
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_closes_a_socket_on_another_instance_postgres() {
    let Some(a) = TestApp::spawn_postgres_with(&[]).await else {
        return;
    };
    revocation_reaches_a_socket_on_another_instance(&a, &[]).await;
    a.shutdown().await;
}

/// On SQLite (no notifications), B's re-read wakes the socket when it finds the session.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_closes_a_socket_on_another_instance_sqlite() {
    let a = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &[]).await;
    revocation_reaches_a_socket_on_another_instance(&a, &["--revocation-poll-interval", "200ms"])
        .await;
    a.shutdown().await;
}
