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

    let path = app
        .database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_owned();
    let mut other = SqliteConnection::establish(&path).expect("a second connection");
    other
        .batch_execute("BEGIN IMMEDIATE")
        .expect("the write lock");

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
    let path = app
        .database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_owned();
    let mut other = SqliteConnection::establish(&path).expect("a second connection");
    other
        .batch_execute("BEGIN IMMEDIATE")
        .expect("the write lock");

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
