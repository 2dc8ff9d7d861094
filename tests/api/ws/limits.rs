//! The socket limits: per session (5) and per user (20), refused with close 1008; per
//! instance (`WS_MAX_CONNECTIONS`), refused with 503 before the upgrade; and the `Origin`
//! check (403 before the upgrade).

use crate::helpers::PASSWORD;

const PROTOCOL: &[&str] = &["graphql-transport-ws"];

backend_tests!(a_session_holds_five_sockets_and_a_user_twenty, |app| {
    let ann = app.signup("ann@example.com", PASSWORD).await;
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(app.ws_ready(Some(&ann.access)).await);
    }
    let mut sixth = app.ws().await;
    sixth
        .init(serde_json::json!({ "accessToken": ann.access }))
        .await;
    let reason = sixth.expect_close(1008).await;
    assert!(reason.contains("session"), "{reason}");
    // Anonymous sockets are not anyone's.
    open.push(app.ws_ready(None).await);
    for _ in 0..3 {
        let session = app.login("ann@example.com", PASSWORD).await;
        for _ in 0..5 {
            open.push(app.ws_ready(Some(&session.access)).await);
        }
    }
    let fifth_session = app.login("ann@example.com", PASSWORD).await;
    let mut over = app.ws().await;
    over.init(serde_json::json!({ "accessToken": fifth_session.access }))
        .await;
    let reason = over.expect_close(1008).await;
    assert!(reason.contains("user"), "{reason}");
    let bob = app.user("bob").await;
    app.ws_ready(Some(&bob)).await.assert_open().await;
    for ws in &mut open {
        ws.assert_open().await;
    }
});

backend_tests!(
    the_instance_refuses_sockets_past_its_cap_with_503,
    ["--ws-max-connections", "2"],
    |app| {
        let mut first = app.ws_ready(None).await;
        let _second = app.ws().await;
        assert_eq!(app.ws_refused(PROTOCOL, &[]).await, 503);
        // HTTP is not counted.
        app.gql_ok(None, "{ __typename }", serde_json::json!({}))
            .await;
        first.assert_open().await;
    }
);

backend_tests!(
    a_browser_upgrade_from_a_foreign_origin_is_refused_403,
    ["--cors-allowed-origins", "https://app.example"],
    |app| {
        let evil = [("origin", "https://evil.example")];
        assert_eq!(app.ws_refused(PROTOCOL, &evil).await, 403);
        let listed = [("origin", "https://app.example")];
        app.ws_with(PROTOCOL, &listed)
            .await
            .expect("a listed origin");
        let own = format!("http://{}", app.addr);
        let same = [("origin", own.as_str())];
        app.ws_with(PROTOCOL, &same).await.expect("the same origin");
        app.ws_with(PROTOCOL, &[])
            .await
            .expect("no origin: not a browser");
    }
);
