//! SQLite's writer: while another process holds the file's write lock, a write waits for
//! it (asking again without a thread asleep in SQLite) and reads go on meanwhile; once the
//! lock is free the write lands, once; past `DATABASE_TIMEOUT` it fails and writes nothing.

use std::time::Duration;

use diesel::{Connection, SqliteConnection, connection::SimpleConnection};
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_code};

#[tokio::test(flavor = "multi_thread")]
async fn a_write_waits_for_another_process_and_reads_go_on() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[]).await;
    let token = app.user("ada").await;
    let first = app.create_todo(&token, json!({ "title": "first" })).await;
    let first_id = first["id"].as_str().expect("an id").to_owned();

    let mut other = holding_the_write_lock(&app);

    let write = app.create_todo(&token, json!({ "title": "second" }));
    tokio::pin!(write);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut write)
            .await
            .is_err(),
        "the write must wait while another process holds the lock"
    );
    // Every worker is free: reads answer while the write waits.
    for _ in 0..20 {
        assert_eq!(app.read_todo(&token, &first_id).await["title"], "first");
        assert_eq!(app.all_todos(&token).await.len(), 1);
    }

    other.batch_execute("ROLLBACK").expect("the lock released");
    let second = write.await;
    assert_eq!(second["title"], "second");
    let titles: Vec<_> = app
        .all_todos(&token)
        .await
        .iter()
        .map(|t| t["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"second".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_never_gets_the_lock_fails_and_writes_nothing() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--database-timeout", "300ms"]).await;
    let token = app.user("ada").await;
    let mut other = holding_the_write_lock(&app);

    let error = app
        .gql_err(
            Some(&token),
            r#"mutation { createTodo(input: { title: "never" }) { id } }"#,
            json!({}),
        )
        .await;
    assert_code(&error, "INTERNAL_SERVER_ERROR");

    other.batch_execute("ROLLBACK").expect("the lock released");
    assert!(
        app.all_todos(&token).await.is_empty(),
        "nothing was written"
    );
    // The writer is usable again at once.
    let todo = app.create_todo(&token, json!({ "title": "after" })).await;
    assert_eq!(todo["title"], "after");
}

/// The writer never checkpoints inside a write (`sqlite_checkpoint` does it beside): the
/// log's pages still reach the database file, and once the log is long it starts over
/// from its beginning (its header's checkpoint sequence number goes up) instead of growing
/// without end.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_reaches_the_database_file_and_starts_over() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[]).await;
    let path = database_file(&app);
    let token = app.user("ada").await;
    let file_len = || std::fs::metadata(&path).expect("the database file").len();
    // Bytes 12..16 of the log's header: how many times it has started over.
    let restarts = || {
        let mut header = [0u8; 32];
        std::fs::File::open(format!("{path}-wal"))
            .and_then(|mut log| std::io::Read::read_exact(&mut log, &mut header))
            .expect("the log's header");
        u32::from_be_bytes(header[12..16].try_into().expect("four bytes"))
    };
    let (file_before, restarts_before) = (file_len(), restarts());

    // About 15 pages each: several times the 1,024 pages of a long log.
    let notes = "n".repeat(10_000);
    for _ in 0..25 {
        let creates = (0..16)
            .map(|i| app.create_todo(&token, json!({ "title": format!("t{i}"), "notes": notes })));
        futures_util::future::join_all(creates).await;
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while restarts() == restarts_before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log never started over: {} bytes",
            std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len())
        );
        // A log starts over at the first write after a checkpoint that reached its end.
        app.create_todo(&token, json!({ "title": "one more" }))
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        file_len() > file_before + 400 * 10_000,
        "the notes reached the database file: {} -> {} bytes",
        file_before,
        file_len()
    );
    let data = app
        .gql_ok(
            Some(&token),
            "{ todos(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(data["todos"]["totalCount"].as_u64() >= Some(400), "{data}");
}

/// The path of the server's SQLite file.
fn database_file(app: &TestApp) -> String {
    app.database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_owned()
}

/// A second connection to the server's file, holding its write lock as another process
/// would (with a busy timeout, as any would set: the server's checkpoints take SQLite's
/// locks for moments of their own).
fn holding_the_write_lock(app: &TestApp) -> SqliteConnection {
    let mut other = SqliteConnection::establish(&database_file(app)).expect("a second connection");
    other
        .batch_execute("PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE")
        .expect("the write lock");
    other
}
