//! The rate limits shared by replicas through PostgreSQL (`RATE_LIMIT_STORE`): two servers
//! on one database count the auth limits and the write limit together, directly and
//! through PgBouncer; a held lock on the limiter's table falls back to each replica's own
//! counts (still limiting, and counted in a metric); `memory` keeps per-replica counting;
//! and `postgres` on SQLite refuses to start.
//!
//! PostgreSQL-only by design (what is tested is the sharing through it), so these are
//! skipped without `TEST_DATABASE_URL`, except the SQLite start-up refusal.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_code};

const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
const CREATE: &str = "mutation { createTodo(input: { title: \"t\" }) { id } }";

/// Two replicas of one deployment on a fresh PostgreSQL database, both with `extra`.
async fn replicas(extra: &[&str]) -> Option<(TestApp, TestApp)> {
    let a = TestApp::spawn_postgres_with(extra).await?;
    let b = a.sibling(extra).await;
    Some((a, b))
}

fn credentials(email: &str, password: &str) -> serde_json::Value {
    json!({ "input": { "email": email, "password": password } })
}

/// The value of the metric `name{labels}` (a counter), 0 when not yet exposed.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.at("/metrics").get().await.text;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().expect("a numeric sample"))
}

/// Waits until `app` completed `rounds` more write syncs than when called.
async fn synced(app: &TestApp, rounds: f64) {
    let series = "rate_limit_write_syncs_total";
    let start = metric(app, series).await;
    for _ in 0..200 {
        if metric(app, series).await >= start + rounds {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {rounds} write syncs in 10 s");
}

/// The keys in the limiter's table.
async fn keys(database_url: &str) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .expect("a direct connection");
    tokio::spawn(connection);
    let rows = client
        .query("SELECT key FROM rate_limits ORDER BY key", &[])
        .await
        .expect("the keys");
    rows.iter().map(|row| row.get(0)).collect()
}

/// Failed logins split between replicas count against one budget: after one failure on
/// each, a limit of two refuses the right password on both. The table holds no email.
async fn account_limit_holds_across(a: &TestApp, b: &TestApp, database_url: &str) {
    let email = "ann@example.com";
    a.signup(email, PASSWORD).await;
    let wrong = credentials(email, "not the password");
    assert_code(
        &a.gql_err(None, LOGIN, wrong.clone()).await,
        "INVALID_CREDENTIALS",
    );
    assert_code(&b.gql_err(None, LOGIN, wrong).await, "INVALID_CREDENTIALS");
    for app in [a, b] {
        let error = app.gql_err(None, LOGIN, credentials(email, PASSWORD)).await;
        assert_code(&error, "RATE_LIMITED");
        assert!(
            error["extensions"]["retryAfter"]
                .as_u64()
                .unwrap_or_default()
                >= 1
        );
    }
    let keys = keys(database_url).await;
    assert!(keys.iter().any(|k| k.starts_with("account:")), "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains("ann")), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_on_two_replicas_count_together() {
    let limits = [
        "--auth-rate-limit-account",
        "2/5m",
        "--auth-rate-limit-ip",
        "off",
    ];
    let Some((a, b)) = replicas(&limits).await else {
        return;
    };
    account_limit_holds_across(&a, &b, &a.database_url).await;
    b.shutdown().await;
    a.shutdown().await;
}

/// Attempts from one IP split between replicas count together: the fifth of a limit of
/// four is refused on either.
#[tokio::test(flavor = "multi_thread")]
async fn attempts_from_one_ip_on_two_replicas_count_together() {
    let limits = [
        "--auth-rate-limit-ip",
        "4/5m",
        "--auth-rate-limit-account",
        "off",
    ];
    let Some((a, b)) = replicas(&limits).await else {
        return;
    };
    let input = credentials("ann@example.com", PASSWORD);
    a.signup("ann@example.com", PASSWORD).await;
    a.gql_ok(None, LOGIN, input.clone()).await;
    b.gql_ok(None, LOGIN, input.clone()).await;
    b.gql_ok(None, LOGIN, input.clone()).await;
    assert_code(&a.gql_err(None, LOGIN, input.clone()).await, "RATE_LIMITED");
    assert_code(&b.gql_err(None, LOGIN, input).await, "RATE_LIMITED");
    assert!(
        keys(&a.database_url)
            .await
            .contains(&"ip:127.0.0.1".to_owned())
    );
    b.shutdown().await;
    a.shutdown().await;
}

/// Writes split between replicas count together once both synced: three on each fill a
/// limit of six, and the next is refused on both. (Per ten minutes, so that no write is
/// refilled however slowly the syncs come.)
#[tokio::test(flavor = "multi_thread")]
async fn writes_on_two_replicas_count_together_after_a_sync() {
    let Some((a, b)) = replicas(&["--write-rate-limit", "6/10m"]).await else {
        return;
    };
    let token = a.user("ann").await;
    for app in [&a, &b, &a, &b, &a, &b] {
        app.gql_ok(Some(&token), CREATE, json!({})).await;
    }
    // Two rounds on each, one after the other: each replica then read back a total that
    // includes the other's flush.
    for _ in 0..2 {
        synced(&a, 2.0).await;
        synced(&b, 2.0).await;
    }
    for app in [&a, &b] {
        let error = app.gql_err(Some(&token), CREATE, json!({})).await;
        let error = assert_code(&error, "RATE_LIMITED");
        assert!(
            error["extensions"]["retryAfter"]
                .as_u64()
                .unwrap_or_default()
                >= 1
        );
    }
    assert_eq!(a.all_todos(&token).await.len(), 6);
    b.shutdown().await;
    a.shutdown().await;
}

/// With the limiter's table locked, each replica decides with its own counts: still
/// limited (the fourth attempt of three on one replica is refused), and every statement
/// that could not run is counted in `rate_limit_fallbacks_total`.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_table_falls_back_to_each_replicas_own_limits() {
    let limits = [
        "--auth-rate-limit-ip",
        "3/5m",
        "--write-rate-limit",
        "2/10m",
    ];
    let Some((a, b)) = replicas(&limits).await else {
        return;
    };
    let token = b.user("bob").await;
    let (locker, connection) = tokio_postgres::connect(&a.database_url, tokio_postgres::NoTls)
        .await
        .expect("a direct connection");
    tokio::spawn(connection);
    locker
        .batch_execute("BEGIN; LOCK TABLE rate_limits IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("the lock");
    let input = credentials("ann@example.com", PASSWORD);
    a.signup("ann@example.com", PASSWORD).await;
    a.gql_ok(None, LOGIN, input.clone()).await;
    a.gql_ok(None, LOGIN, input.clone()).await;
    assert_code(&a.gql_err(None, LOGIN, input).await, "RATE_LIMITED");
    let fallbacks = metric(&a, "rate_limit_fallbacks_total{limit=\"auth\"}").await;
    assert!(fallbacks >= 3.0, "{fallbacks} fallbacks");
    // The write limit falls back too: its syncs fail, and it still counts here.
    for _ in 0..2 {
        b.gql_ok(Some(&token), CREATE, json!({})).await;
    }
    assert_code(
        &b.gql_err(Some(&token), CREATE, json!({})).await,
        "RATE_LIMITED",
    );
    synced(&b, 2.0).await;
    assert!(metric(&b, "rate_limit_fallbacks_total{limit=\"write\"}").await >= 1.0);
    locker.batch_execute("ROLLBACK").await.expect("the unlock");
    b.shutdown().await;
    a.shutdown().await;
}

/// `RATE_LIMIT_STORE=memory` on PostgreSQL: each replica counts its own, as before.
#[tokio::test(flavor = "multi_thread")]
async fn the_memory_store_counts_per_replica() {
    let limits = [
        "--rate-limit-store",
        "memory",
        "--auth-rate-limit-ip",
        "2/5m",
    ];
    let Some((a, b)) = replicas(&limits).await else {
        return;
    };
    let input = credentials("ann@example.com", PASSWORD);
    a.signup("ann@example.com", PASSWORD).await;
    a.gql_ok(None, LOGIN, input.clone()).await;
    assert_code(&a.gql_err(None, LOGIN, input.clone()).await, "RATE_LIMITED");
    b.gql_ok(None, LOGIN, input.clone()).await;
    b.gql_ok(None, LOGIN, input.clone()).await;
    assert_code(&b.gql_err(None, LOGIN, input).await, "RATE_LIMITED");
    assert!(keys(&a.database_url).await.is_empty());
    b.shutdown().await;
    a.shutdown().await;
}

/// Through PgBouncer in transaction mode (no session state), the shared account limit
/// holds across two replicas the same way.
#[tokio::test(flavor = "multi_thread")]
async fn the_account_limit_holds_across_replicas_through_pgbouncer() {
    let limits = ["--auth-rate-limit-account", "2/5m"];
    let Some((a, b, direct)) = crate::pooler::replicas(&limits).await else {
        return;
    };
    account_limit_holds_across(&a, &b, &direct).await;
    b.shutdown().await;
    a.shutdown().await;
}

/// `RATE_LIMIT_STORE=postgres` with SQLite is a start-up error that says why.
#[tokio::test(flavor = "multi_thread")]
async fn the_postgres_store_on_sqlite_refuses_to_start() {
    use clap::Parser as _;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().to_str().expect("a UTF-8 temp dir");
    let database_url = format!("sqlite://{data_dir}/test.db");
    let settings = todo_graphql::config::Settings::try_parse_from([
        "todo-graphql",
        "--listen-addr",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--data-dir",
        data_dir,
        "--jwt-secret",
        crate::helpers::JWT_SECRET,
        "--rate-limit-store",
        "postgres",
    ])
    .expect("the settings parse");
    match todo_graphql::app::spawn(settings).await {
        Ok(_) => panic!("the server started with RATE_LIMIT_STORE=postgres on SQLite"),
        Err(error) => {
            let error = format!("{error:#}");
            assert!(
                error.contains("RATE_LIMIT_STORE=postgres needs a PostgreSQL"),
                "{error}"
            );
        }
    }
}
