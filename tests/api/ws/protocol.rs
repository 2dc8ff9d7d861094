//! The protocol's close codes and clocks: malformed messages (4400), `subscribe` before
//! the ack (4401), no subprotocol (4406), the init timeout (4408), a second init (4429),
//! pings, pongs and the idle close (1001), the size cap (1009), the legacy protocol, and
//! shutdown (1012).

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::helpers::{assert_reason, ws::WAIT};

backend_tests!(malformed_messages_close_4400, |app| {
    let bad = [
        "not json",
        r#"{"type":"nonsense"}"#,
        r#"{"type":"subscribe","payload":{"query":"{ __typename }"}}"#,
        r#"{"type":"subscribe","id":"1"}"#,
        r#"{"type":"complete"}"#,
        r#"{"type":"start","id":"1","payload":{"query":"{ __typename }"}}"#,
    ];
    for text in bad {
        let mut ws = app.ws_ready(None).await;
        ws.send_text(text).await;
        ws.expect_close(4400).await;
    }
    let mut before_init = app.ws().await;
    before_init.send_text("{").await;
    before_init.expect_close(4400).await;
    let mut binary = app.ws_ready(None).await;
    binary.send_frame(Message::binary(b"{}".to_vec())).await;
    binary.expect_close(4400).await;
});

backend_tests!(subscribe_before_the_ack_closes_4401, |app| {
    let mut ws = app.ws().await;
    ws.subscribe("1", "{ __typename }", json!({})).await;
    ws.expect_close(4401).await;
});

backend_tests!(a_second_connection_init_closes_4429, |app| {
    let mut ws = app.ws_ready(None).await;
    ws.init(json!({})).await;
    ws.expect_close(4429).await;
});

backend_tests!(
    no_connection_init_in_time_closes_4408,
    ["--ws-init-timeout", "300ms"],
    |app| {
        let started = Instant::now();
        let mut ws = app.ws().await;
        ws.expect_close(4408).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(2),
            "{took:?}"
        );
        // Acknowledged sockets are not subject to it.
        let mut ready = app.ws_ready(None).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        ready.assert_open().await;
    }
);

backend_tests!(no_subprotocol_closes_4406, |app| {
    let mut ws = app.ws_with(&[], &[]).await.expect("the upgrade succeeds");
    assert_eq!(ws.protocol, None);
    ws.expect_close(4406).await;
});

backend_tests!(
    the_server_pings_and_answers_pings,
    ["--ws-ping-interval", "200ms"],
    |app| {
        let mut ws = app.ws_ready(None).await;
        let ping = ws.next().await;
        assert_eq!(ping, json!({ "type": "ping" }));
        ws.send(json!({ "type": "pong" })).await;
        ws.send(json!({ "type": "ping", "payload": { "at": 1 } }))
            .await;
        assert_eq!(ws.next_skipping_pings().await, json!({ "type": "pong" }));
    }
);

backend_tests!(
    a_socket_that_sends_nothing_is_closed_1001,
    ["--ws-idle-timeout", "600ms", "--ws-ping-interval", "1h"],
    |app| {
        let mut ws = app.ws_ready(None).await;
        // Any frame counts as a sign of life: a pong every 200 ms keeps it open.
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            ws.send(json!({ "type": "pong" })).await;
        }
        ws.send_frame(Message::Pong(Default::default())).await;
        ws.assert_open().await;
        let quiet = Instant::now();
        ws.expect_close(1001).await;
        let took = quiet.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }
);

backend_tests!(messages_over_64_kib_close_1009, |app| {
    let mut ws = app.ws_ready(None).await;
    // Under the cap, a document over its own limit is refused like any other.
    let padding = " ".repeat(60 * 1024);
    let query = format!("{{ __typename {padding}}}");
    let errors = ws.refused("1", &query, json!({})).await;
    assert_reason(&errors[0], "BAD_USER_INPUT", "DOCUMENT_TOO_LARGE");
    ws.assert_open().await;
    let big = format!(
        r#"{{"type":"subscribe","id":"2","payload":{{"query":"{}"}}}}"#,
        "x".repeat(65 * 1024)
    );
    ws.send_text(&big).await;
    ws.expect_close(1009).await;
});

backend_tests!(the_legacy_protocol_is_off_by_default, |app| {
    match app.ws_with(&["graphql-ws"], &[]).await {
        // The server chose no subprotocol, which the client refuses.
        Err(tungstenite::Error::Protocol(_)) => {}
        Err(other) => panic!("a subprotocol failure, got {other:?}"),
        Ok(_) => panic!("the legacy protocol was accepted"),
    }
});

backend_tests!(
    the_legacy_protocol_speaks_its_own_messages_when_enabled,
    [
        "--ws-legacy-protocol",
        "true",
        "--ws-ping-interval",
        "300ms"
    ],
    |app| {
        let both = app
            .ws_with(&["graphql-ws", "graphql-transport-ws"], &[])
            .await
            .expect("the upgrade succeeds");
        assert_eq!(both.protocol.as_deref(), Some("graphql-transport-ws"));
        let mut ws = app
            .ws_with(&["graphql-ws"], &[])
            .await
            .expect("the upgrade succeeds");
        assert_eq!(ws.protocol.as_deref(), Some("graphql-ws"));
        ws.init(json!({})).await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        let start = json!({ "type": "start", "id": "1", "payload": { "query": "{ __typename }" } });
        ws.send(start).await;
        let data = ws.next().await;
        assert_eq!(
            data,
            json!({ "type": "data", "id": "1", "payload": { "data": { "__typename": "Query" } } })
        );
        assert_eq!(ws.next().await, json!({ "type": "complete", "id": "1" }));
        assert_eq!(ws.next().await, json!({ "type": "ka" }));
        ws.send(json!({ "type": "connection_terminate" })).await;
        ws.expect_close(1000).await;
        let mut modern_message = app
            .ws_with(&["graphql-ws"], &[])
            .await
            .expect("the upgrade succeeds");
        modern_message.init(json!({})).await;
        modern_message.next().await;
        modern_message
            .send(
                json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ __typename }" } }),
            )
            .await;
        modern_message.expect_close(4400).await;
    }
);

backend_tests!(shutdown_closes_every_socket_1012, |app| {
    let replica = app.sibling(&[]).await;
    let token = replica.user("ann").await;
    let mut sockets = Vec::new();
    for token in [None, Some(token.as_str())] {
        sockets.push(replica.ws_ready(token).await);
    }
    let mut waiting = replica.ws().await;
    let started = Instant::now();
    let api = (*replica).clone();
    let stopping = tokio::spawn(replica.shutdown());
    for ws in &mut sockets {
        ws.expect_close(1012).await;
    }
    waiting.expect_close(1012).await;
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("shutdown does not wait on open sockets")
        .expect("the shutdown task");
    assert!(started.elapsed() < WAIT, "{:?}", started.elapsed());
    assert!(api.ws_with(&["graphql-transport-ws"], &[]).await.is_err());
});
