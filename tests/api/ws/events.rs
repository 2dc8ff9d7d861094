//! `todoEvents`: every write path gives its events, only to its owner; `since` replays
//! without gap or repeat; a subscription's id is its own while it runs; a slow reader gets
//! RESYNC and then 1013; replicas on one PostgreSQL hear each other; shutdown gives 1012.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_code, assert_reason, id, ws::Ws};

const EVENTS: &str = "subscription($since: String) { todoEvents(since: $since) { \
                      kind todoId cursor todo { id title completed version } } }";

/// Subscribes `ws` to todoEvents as `id`, and proves the subscription is registered by
/// waiting for a ping's pong behind it.
async fn follow(ws: &mut Ws, id: &str, since: Option<&str>) {
    ws.subscribe(id, EVENTS, json!({ "since": since })).await;
    ws.assert_open().await;
}

/// The next event on `ws` (for subscription `id`).
async fn event(ws: &mut Ws, id: &str) -> Value {
    let message = ws.next_skipping_pings().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], id, "{message}");
    message["payload"]["data"]["todoEvents"].clone()
}

fn kind(event: &Value) -> &str {
    event["kind"].as_str().expect("a kind")
}

backend_tests!(every_write_path_gives_its_events, |app| {
    let token = app.user("ann").await;
    let mut ws = app.ws_ready(Some(&token)).await;
    follow(&mut ws, "e", None).await;

    let a = app.create_todo(&token, json!({ "title": "a" })).await;
    let created = event(&mut ws, "e").await;
    assert_eq!(kind(&created), "CREATED");
    assert_eq!(created["todoId"], a["id"]);
    assert_eq!(created["todo"]["title"], "a");
    assert_eq!(created["todo"]["version"], 1);

    app.update_todo(&token, id(&a), json!({ "title": "a2" }))
        .await;
    let updated = event(&mut ws, "e").await;
    assert_eq!(kind(&updated), "UPDATED");
    assert_eq!(updated["todo"]["title"], "a2");
    assert_eq!(updated["todo"]["version"], 2);

    let b = app.create_todo(&token, json!({ "title": "b" })).await;
    assert_eq!(kind(&event(&mut ws, "e").await), "CREATED");
    let toggled = app.set_all_completed(&token, true).await;
    assert_eq!(toggled["count"], 2);
    let mut ids = vec![];
    for _ in 0..2 {
        let e = event(&mut ws, "e").await;
        assert_eq!(kind(&e), "UPDATED");
        assert_eq!(e["todo"]["completed"], true);
        ids.push(e["todoId"].as_str().expect("an id").to_owned());
    }
    ids.sort();
    let mut expected = vec![id(&a).to_owned(), id(&b).to_owned()];
    expected.sort();
    assert_eq!(ids, expected, "one event per toggled todo");

    app.delete_todo(&token, id(&a)).await;
    let deleted = event(&mut ws, "e").await;
    assert_eq!(kind(&deleted), "DELETED");
    assert_eq!(deleted["todoId"], a["id"]);
    assert_eq!(deleted["todo"], Value::Null);

    app.clear_completed(&token).await;
    let cleared = event(&mut ws, "e").await;
    assert_eq!(kind(&cleared), "DELETED");
    assert_eq!(cleared["todoId"], b["id"]);

    // The last event's cursor is where `changes` goes on from: nothing after it.
    let after = app.changes(&token, cleared["cursor"].as_str()).await;
    assert_eq!(after["fullResync"], false);
    assert_eq!(after["upserted"], json!([]));
    assert_eq!(after["deletedIds"], json!([]));
});

backend_tests!(nobody_hears_of_another_users_todos, |app| {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let mut bobs = app.ws_ready(Some(&bob)).await;
    follow(&mut bobs, "e", None).await;
    let mut anns = app.ws_ready(Some(&ann)).await;
    follow(&mut anns, "e", None).await;

    let hers = app.create_todo(&ann, json!({ "title": "hers" })).await;
    app.update_todo(&ann, id(&hers), json!({ "completed": true }))
        .await;
    app.set_all_completed(&ann, false).await;
    app.clear_completed(&ann).await;
    app.delete_todo(&ann, id(&hers)).await;
    let his = app.create_todo(&bob, json!({ "title": "his" })).await;

    // Bob's first event is his own todo: nothing of Ann's came before it.
    let first = event(&mut bobs, "e").await;
    assert_eq!(first["todoId"], his["id"]);
    // Ann hears of each of her writes (some may arrive merged), ending with the delete.
    loop {
        let e = event(&mut anns, "e").await;
        assert_eq!(e["todoId"], hers["id"]);
        if kind(&e) == "DELETED" {
            break;
        }
    }

    // A subscription needs a viewer; an anonymous one is told so.
    let mut anonymous = app.ws_ready(None).await;
    let errors = anonymous.refused("e", EVENTS, json!({})).await;
    assert_code(&errors[0], "UNAUTHENTICATED");

    // Another viewer's cursor is refused, as by `changes`.
    let errors = anns
        .refused("c", EVENTS, json!({ "since": first["cursor"] }))
        .await;
    assert_code(&errors[0], "BAD_USER_INPUT");
    assert_eq!(errors[0]["extensions"]["field"], "since");
});

backend_tests!(since_replays_what_was_missed_then_goes_live, |app| {
    let token = app.user("ann").await;
    let first = app.create_todo(&token, json!({ "title": "seen" })).await;
    let seen = app.changes(&token, None).await;
    let cursor = seen["cursor"].as_str().expect("a cursor").to_owned();
    assert_eq!(seen["upserted"][0]["id"], first["id"]);

    // Missed while offline: a change, a create, a delete.
    app.update_todo(&token, id(&first), json!({ "title": "renamed" }))
        .await;
    let second = app.create_todo(&token, json!({ "title": "new" })).await;
    let third = app.create_todo(&token, json!({ "title": "gone" })).await;
    app.delete_todo(&token, id(&third)).await;

    let mut ws = app.ws_ready(Some(&token)).await;
    ws.subscribe("e", EVENTS, json!({ "since": cursor })).await;
    // Written while the replay may be running: delivered once, replayed or live.
    let fourth = app.create_todo(&token, json!({ "title": "live" })).await;

    let mut got: Vec<(String, String)> = vec![];
    while got.len() < 4 {
        let e = event(&mut ws, "e").await;
        got.push((
            kind(&e).to_owned(),
            e["todoId"].as_str().expect("an id").to_owned(),
        ));
    }
    let want = vec![
        ("UPDATED".to_owned(), id(&first).to_owned()),
        ("CREATED".to_owned(), id(&second).to_owned()),
        ("DELETED".to_owned(), id(&third).to_owned()),
        ("CREATED".to_owned(), id(&fourth).to_owned()),
    ];
    assert_eq!(got, want);
    // No repeat after the switch to live: the next event is the next write.
    let fifth = app.create_todo(&token, json!({ "title": "after" })).await;
    let next = event(&mut ws, "e").await;
    assert_eq!(next["todoId"], fifth["id"]);

    // A cursor nobody can read back is refused.
    let mut other = app.ws_ready(Some(&token)).await;
    let errors = other
        .refused("x", EVENTS, json!({ "since": "not-a-cursor" }))
        .await;
    assert_code(&errors[0], "BAD_USER_INPUT");
});

backend_tests!(
    a_running_subscription_keeps_its_id_and_the_socket_its_limit,
    |app| {
        let token = app.user("ann").await;
        let mut ws = app.ws_ready(Some(&token)).await;
        for n in 0..16 {
            follow(&mut ws, &format!("s{n}"), None).await;
        }
        let errors = ws.refused("s16", EVENTS, json!({})).await;
        assert_reason(&errors[0], "BAD_USER_INPUT", "TOO_MANY_SUBSCRIPTIONS");
        // Completing one frees a place.
        ws.send(json!({ "type": "complete", "id": "s0" })).await;
        ws.assert_open().await;
        follow(&mut ws, "s16", None).await;
        // Reusing a running id closes the socket.
        ws.subscribe("s5", EVENTS, json!({})).await;
        ws.expect_close(4409).await;
    }
);

backend_tests!(
    a_slow_reader_gets_resync_then_is_closed,
    ["--ws-queue", "1", "--write-rate-limit", "off"],
    |app| {
        let token = app.user("ann").await;
        let todo = app.create_todo(&token, json!({ "title": "big" })).await;
        let mut ws = app.ws_ready(Some(&token)).await;
        let big = "subscription { todoEvents { kind cursor todo { notes } } }";
        ws.subscribe("e", big, json!({})).await;
        ws.assert_open().await;
        // The client stops reading; 10 KB events fill the socket's buffers and its queue.
        // Each write waits until its event was sent or dropped, so the first drop is seen
        // before another event comes.
        let mut writes = 0;
        while counted(app).await.dropped == 0 {
            let notes = format!("{writes}{}", "x".repeat(9_990));
            write_and_wait(app, &token, id(&todo), notes).await;
            writes += 1;
            assert!(writes < 5_000, "no event was ever dropped");
        }
        // Reading again: the queued events, then one RESYNC in place of the dropped one.
        let resync = loop {
            let e = event(&mut ws, "e").await;
            if kind(&e) == "RESYNC" {
                break e;
            }
        };
        assert_eq!(resync["todo"], Value::Null);
        let metrics = app.at("/metrics").get().await.text;
        assert!(
            metrics.contains("ws_resyncs_total{cause=\"socket_queue\"} 1"),
            "{metrics}"
        );
        let caught_up = app.changes(&token, resync["cursor"].as_str()).await;
        assert_eq!(caught_up["fullResync"], false);
        assert_eq!(caught_up["upserted"][0]["id"], todo["id"]);
        assert_eq!(caught_up["upserted"][0]["version"], writes + 1);

        // Behind again, and still behind at the next event: closed 1013.
        let mut more = 0;
        while counted(app).await.slow_closes == 0 {
            let notes = format!("again {more}{}", "y".repeat(9_900));
            app.update_todo(&token, id(&todo), json!({ "notes": notes }))
                .await;
            more += 1;
            assert!(more < 5_000, "the slow reader was never closed");
        }
        ws.expect_close_within(1013, Duration::from_secs(30)).await;
    }
);

/// Updates the todo's notes, then waits until the server sent or dropped its event.
async fn write_and_wait(app: &TestApp, token: &str, todo: &str, notes: String) {
    let before = counted(app).await;
    app.update_todo(token, todo, json!({ "notes": notes }))
        .await;
    for _ in 0..200 {
        let now = counted(app).await;
        if now.sent + now.dropped > before.sent + before.dropped {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the event was neither sent nor dropped");
}

/// What `/metrics` says of subscription events.
struct Counted {
    sent: u64,
    dropped: u64,
    slow_closes: u64,
}

async fn counted(app: &TestApp) -> Counted {
    let text = app.at("/metrics").get().await.text;
    let value = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Counted {
        sent: value("ws_subscription_events_total{outcome=\"sent\"}"),
        dropped: value("ws_subscription_events_total{outcome=\"dropped\"}"),
        slow_closes: value("ws_closed_total{code=\"1013\"}"),
    }
}

backend_tests!(shutdown_closes_a_live_subscription_1012, |app| {
    let token = app.user("ann").await;
    let replica = app.sibling(&[]).await;
    let mut ws = replica.ws_ready(Some(&token)).await;
    follow(&mut ws, "e", None).await;
    let stopping = tokio::spawn(replica.shutdown());
    ws.expect_close(1012).await;
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown does not wait on subscriptions")
        .expect("the shutdown task");
});

/// Two replicas on one PostgreSQL: a write on A is an event on B within a second.
#[tokio::test(flavor = "multi_thread")]
async fn replicas_hear_each_others_writes() {
    let Some(a) = TestApp::spawn_postgres_with(&[]).await else {
        return;
    };
    let b = a.sibling(&[]).await;
    let token = a.user("ann").await;
    let mut ws = b.ws_ready(Some(&token)).await;
    follow(&mut ws, "e", None).await;
    for n in 0..5 {
        let started = std::time::Instant::now();
        let todo = a
            .create_todo(&token, json!({ "title": format!("t{n}") }))
            .await;
        let e = event(&mut ws, "e").await;
        assert_eq!(e["todoId"], todo["id"]);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the event took {:?}",
            started.elapsed()
        );
    }
    let metrics = b.at("/metrics").get().await.text;
    let heard = metrics
        .lines()
        .find(|l| l.starts_with("change_notification_lag_seconds_count"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        heard.is_some_and(|n| n >= 5),
        "B measured its lag: {metrics}"
    );
    b.shutdown().await;
    a.shutdown().await;
}

/// When B's listening connection is cut, every subscriber on B is told RESYNC, and B
/// hears A again once it reconnects.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_notification_stream_gives_resync() {
    let Some(a) = TestApp::spawn_postgres_with(&[]).await else {
        return;
    };
    let token = a.user("ann").await;
    let mut ws = a.ws_ready(Some(&token)).await;
    follow(&mut ws, "e", None).await;
    a.pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{db}' AND query LIKE 'LISTEN \"todo_graphql_todo_changes\"%'",
    )
    .await;
    let resync = event(&mut ws, "e").await;
    assert_eq!(kind(&resync), "RESYNC");
    let todo = a.create_todo(&token, json!({ "title": "after" })).await;
    let e = event(&mut ws, "e").await;
    assert_eq!(e["todoId"], todo["id"]);
    a.shutdown().await;
}

backend_tests!(
    a_cursor_from_inside_a_full_resync_gives_resync_first,
    |app| {
        let token = app.user("ann").await;
        for title in ["a", "b"] {
            app.create_todo(&token, json!({ "title": title })).await;
        }
        // The first page of a full resync: its cursor continues the pass, not the live log.
        let page = app.changes_page(&token, None, Some(1)).await;
        assert_eq!(page["fullResync"], true);
        assert_eq!(page["hasMore"], true);
        let cursor = page["cursor"].as_str().expect("a cursor");
        let mut ws = app.ws_ready(Some(&token)).await;
        ws.subscribe("e", EVENTS, json!({ "since": cursor })).await;
        let resync = event(&mut ws, "e").await;
        assert_eq!(kind(&resync), "RESYNC");
        assert_eq!(
            resync["cursor"], cursor,
            "the client finishes its pass from there"
        );
        // Then live events as usual.
        ws.assert_open().await;
        let c = app.create_todo(&token, json!({ "title": "c" })).await;
        let live = event(&mut ws, "e").await;
        assert_eq!(kind(&live), "CREATED");
        assert_eq!(live["todoId"], c["id"]);
    }
);
