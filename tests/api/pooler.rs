//! Behind a transaction-mode pooler (the PgBouncer `.ci/pgbouncer` starts): two replicas
//! with `DATABASE_URL` through it, `DATABASE_LISTEN_URL` direct and
//! `DATABASE_PREPARED_STATEMENTS=false` serve, time out slow statements, and hear each
//! other's revocations and writes; and start-up errors carry the server's own words.
//! Skipped unless `TEST_PGBOUNCER_URL` is set; `REQUIRE_PGBOUNCER=1` makes that a failure.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_code, id};

/// The pooler's URL, or `None` (skip) when it is not set up.
fn pgbouncer_url() -> Option<String> {
    let url = std::env::var("TEST_PGBOUNCER_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var("REQUIRE_PGBOUNCER").is_ok_and(|v| v != "1")
                || std::env::var("REQUIRE_PGBOUNCER").is_err(),
            "REQUIRE_PGBOUNCER=1 but TEST_PGBOUNCER_URL is not set"
        );
        eprintln!("skipped: TEST_PGBOUNCER_URL is not set");
    }
    url
}

/// Replica A and replica B on one fresh database through the pooler, LISTEN direct, the
/// re-read of revocations an hour away (so only a notification can carry one in time);
/// and the database's direct URL.
pub(crate) async fn replicas(extra: &[&str]) -> Option<(TestApp, TestApp, String)> {
    let pooler = pgbouncer_url()?;
    assert!(
        std::env::var("TEST_DATABASE_URL").is_ok(),
        "TEST_PGBOUNCER_URL needs TEST_DATABASE_URL"
    );
    let mut settings = vec![
        "--database-prepared-statements",
        "false",
        "--revocation-poll-interval",
        "1h",
    ];
    settings.extend_from_slice(extra);
    let (a, direct) = TestApp::spawn_pooled(&pooler, &settings).await;
    settings.extend_from_slice(&["--database-listen-url", &direct]);
    let b = a.sibling(&settings).await;
    Some((a, b, direct))
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_todos_and_paging_work_through_the_pooler() {
    let Some((a, b, _)) = replicas(&[]).await else {
        return;
    };
    a.signup("ann@example.com", PASSWORD).await;
    let token = b.login("ann@example.com", PASSWORD).await.access;
    let mut ids = Vec::new();
    for n in 0..9 {
        let app = if n % 2 == 0 { &a } else { &b };
        let todo = app
            .create_todo(&token, json!({ "title": format!("t{n}") }))
            .await;
        ids.push(id(&todo).to_owned());
    }
    let updated = b
        .update_todo(&token, &ids[0], json!({ "completed": true }))
        .await;
    assert_eq!(updated["completed"], true);
    a.delete_todo(&token, &ids[1]).await;
    let walked = b.walk_forward(&token, 3, json!({})).await;
    assert_eq!(
        walked.len(),
        8,
        "every todo but the deleted one: {walked:?}"
    );
    assert_eq!(a.all_todos(&token).await.len(), 8);
    b.shutdown().await;
    a.shutdown().await;
}

/// Many requests at once from both replicas share the pooler's few server connections.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_share_the_server_connections() {
    let Some((a, b, _)) = replicas(&[]).await else {
        return;
    };
    let token = a.user("ann").await;
    let writes = (0..24).map(|n| {
        let (app, token) = (if n % 2 == 0 { &a } else { &b }, token.clone());
        async move {
            app.create_todo(&token, json!({ "title": format!("t{n}") }))
                .await;
            app.gql_ok(
                Some(&token),
                "{ todos(first: 5) { nodes { id } } }",
                json!({}),
            )
            .await;
        }
    });
    futures_util::future::join_all(writes).await;
    assert_eq!(b.all_todos(&token).await.len(), 24);
    b.shutdown().await;
    a.shutdown().await;
}

/// `statement_timeout` still holds inside a transaction (set there with `SET LOCAL`): a
/// create that waits on a lock is stopped after the statement timeout, long before the
/// request timeout.
#[tokio::test(flavor = "multi_thread")]
async fn a_statement_timeout_still_fires_through_the_pooler() {
    let Some((a, b, direct)) = replicas(&[
        "--database-statement-timeout",
        "1s",
        "--request-timeout",
        "30s",
    ])
    .await
    else {
        return;
    };
    let token = a.user("ann").await;
    let (locker, connection) = tokio_postgres::connect(&direct, tokio_postgres::NoTls)
        .await
        .expect("a direct connection");
    tokio::spawn(connection);
    locker
        .batch_execute("BEGIN; LOCK TABLE todos IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("the lock");
    let started = Instant::now();
    let error = a
        .gql_err(
            Some(&token),
            "mutation { createTodo(input: { title: \"blocked\" }) { id } }",
            json!({}),
        )
        .await;
    let took = started.elapsed();
    assert_code(&error, "INTERNAL_SERVER_ERROR");
    assert!(took < Duration::from_secs(10), "the statement ran {took:?}");
    locker.batch_execute("ROLLBACK").await.expect("unlocked");
    b.create_todo(&token, json!({ "title": "after" })).await;
    b.shutdown().await;
    a.shutdown().await;
}

/// A logout through A is refused by B within a second, by notification over B's direct
/// LISTEN connection (its re-read is an hour away).
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_crosses_replicas_within_a_second() {
    let Some((a, b, _)) = replicas(&[]).await else {
        return;
    };
    let session = a.signup("ann@example.com", PASSWORD).await;
    let other = a.login("ann@example.com", PASSWORD).await;
    b.assert_works(&session.access).await;
    assert_eq!(a.logout(&session.access, None).await, 1);
    let started = Instant::now();
    loop {
        let (status, _) = b.me_status(&session.access).await;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "B still accepts the revoked token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.assert_revoked(&session.access).await;
    b.assert_works(&other.access).await;
    b.shutdown().await;
    a.shutdown().await;
}

/// A write on A is a `todoEvents` event on B within a second.
#[tokio::test(flavor = "multi_thread")]
async fn a_live_event_crosses_replicas() {
    let Some((a, b, _)) = replicas(&[]).await else {
        return;
    };
    let token = a.user("ann").await;
    let mut ws = b.ws_ready(Some(&token)).await;
    ws.subscribe(
        "e",
        "subscription { todoEvents { kind todoId } }",
        json!({}),
    )
    .await;
    ws.assert_open().await;
    for n in 0..3 {
        let started = Instant::now();
        let todo = a
            .create_todo(&token, json!({ "title": format!("t{n}") }))
            .await;
        let message = ws.next_skipping_pings().await;
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"]["data"]["todoEvents"];
        assert_eq!(event["kind"], "CREATED");
        assert_eq!(event["todoId"], todo["id"]);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    b.shutdown().await;
    a.shutdown().await;
}

/// Through the pooler with the default settings, start-up fails with PgBouncer's own
/// refusal of the connect-time `statement_timeout`, not a bare `db error`.
#[tokio::test(flavor = "multi_thread")]
async fn a_misconfigured_pooler_is_named_in_the_startup_error() {
    let Some(pooler) = pgbouncer_url() else {
        return;
    };
    let url = crate::helpers::pg::database_url_for(&pooler, "test");
    let error = start_error(&url).await;
    assert!(
        error.contains("unsupported startup parameter: options"),
        "{error}"
    );
}

/// A refused connection says why in the server's words, and never prints the password.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_is_explained_without_the_password() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let mut url = reqwest::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
    url.set_path("/no_such_database_here");
    url.set_password(Some("hunter2-secret"))
        .expect("a password");
    let error = start_error(url.as_str()).await;
    assert!(
        error.contains("database \"no_such_database_here\" does not exist"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

/// The start-up error (with its causes) of a server on `database_url`.
async fn start_error(database_url: &str) -> String {
    use clap::Parser as _;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().to_str().expect("a UTF-8 temp dir");
    let settings = todo_graphql::config::Settings::try_parse_from([
        "todo-graphql",
        "--listen-addr",
        "127.0.0.1:0",
        "--database-url",
        database_url,
        "--data-dir",
        data_dir,
        "--jwt-secret",
        crate::helpers::JWT_SECRET,
        "--database-timeout",
        "3s",
    ])
    .expect("the settings parse");
    match todo_graphql::app::spawn(settings).await {
        Ok(_) => panic!("the server started on {database_url}"),
        Err(error) => format!("{error:#}"),
    }
}
