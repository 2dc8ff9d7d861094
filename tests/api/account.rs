//! The account's lifecycle: `changePassword` ends the other sessions and keeps this one,
//! `deleteAccount` takes the account, its todos and sessions (leaving the todos'
//! tombstones for sync until they are purged), and a login after argon2's parameters were
//! raised re-hashes the password.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    AUTH_FIELDS, Auth, Backend, PASSWORD, TestApp, assert_bad_input, assert_code,
};

const NEW_PASSWORD: &str = "purple elephants dance quietly at noon";

/// One text value read straight from the database: `sql` selects one column, cast to text.
async fn db_text(app: &TestApp, sql: &str) -> String {
    if app.database_url.starts_with("postgres") {
        let (client, connection) =
            tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls)
                .await
                .expect("a connection to the test database");
        tokio::spawn(connection);
        let row = client.query_one(sql, &[]).await.expect("the query runs");
        return row.get(0);
    }
    use diesel::{Connection as _, RunQueryDsl as _};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let sql = sql.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::SqliteConnection::establish(&path).expect("the SQLite file opens");
        let rows: Vec<Row> = diesel::sql_query(format!("SELECT value FROM ({sql}) AS q"))
            .load(&mut conn)
            .expect("the query runs");
        rows.into_iter().next().expect("one row").value
    })
    .await
    .expect("the query task")
}

async fn password_hash(app: &TestApp, email: &str) -> String {
    db_text(
        app,
        &format!("SELECT password_hash AS value FROM users WHERE email = '{email}'"),
    )
    .await
}

backend_tests!(changing_the_password_ends_the_other_sessions, |app| {
    let here = app.signup("ann@example.com", PASSWORD).await;
    let phone = app.login("ann@example.com", PASSWORD).await;
    let change = format!(
        "mutation($current: String!, $new: String!) {{ \
         changePassword(currentPassword: $current, newPassword: $new) {{ {AUTH_FIELDS} }} }}"
    );
    let wrong = json!({ "current": "not my password at all", "new": NEW_PASSWORD });
    let error = app.gql_err(Some(&here.access), &change, wrong).await;
    assert_code(&error, "INVALID_CREDENTIALS");
    let weak = json!({ "current": PASSWORD, "new": "short" });
    let error = app.gql_err(Some(&here.access), &change, weak).await;
    assert_bad_input(&error, "newPassword");
    app.assert_works(&phone.access).await;

    let good = json!({ "current": PASSWORD, "new": NEW_PASSWORD });
    let data = app.gql_ok(Some(&here.access), &change, good).await;
    let fresh = Auth::from_payload(&data["changePassword"]);
    app.assert_works(&fresh.access).await;
    app.assert_revoked(&phone.access).await;
    assert_eq!(
        app.refresh(&phone.refresh).await.err().as_deref(),
        Some("SESSION_REVOKED")
    );
    // This session's earlier refresh token is gone; the new one works.
    assert_eq!(
        app.refresh(&here.refresh).await.err().as_deref(),
        Some("REFRESH_TOKEN_INVALID")
    );
    app.refresh(&fresh.refresh)
        .await
        .expect("the fresh refresh token works");

    let login_query = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
    let old = json!({ "input": { "email": "ann@example.com", "password": PASSWORD } });
    assert_code(
        &app.gql_err(None, login_query, old).await,
        "INVALID_CREDENTIALS",
    );
    app.login_from("ann@example.com", NEW_PASSWORD, "test-agent")
        .await;
});

backend_tests!(
    deleting_the_account_takes_everything_and_its_tokens,
    |app| {
        let ann = app.signup("ann@example.com", PASSWORD).await;
        let ann_phone = app.login("ann@example.com", PASSWORD).await;
        let bob = app.signup("bob@example.com", PASSWORD).await;
        for token in [&ann.access, &bob.access] {
            app.create_todo(token, json!({ "title": "keep me?" })).await;
        }
        let delete = "mutation($password: String!) { deleteAccount(password: $password) }";
        let error = app
            .gql_err(
                Some(&ann.access),
                delete,
                json!({ "password": "wrong password here" }),
            )
            .await;
        assert_code(&error, "INVALID_CREDENTIALS");
        app.assert_works(&ann_phone.access).await;

        let data = app
            .gql_ok(Some(&ann.access), delete, json!({ "password": PASSWORD }))
            .await;
        assert_eq!(data["deleteAccount"], true);
        app.assert_revoked(&ann.access).await;
        app.assert_revoked(&ann_phone.access).await;
        assert_eq!(
            app.refresh(&ann_phone.refresh).await.err().as_deref(),
            Some("REFRESH_TOKEN_INVALID")
        );
        let login_query = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
        let input = json!({ "input": { "email": "ann@example.com", "password": PASSWORD } });
        assert_code(
            &app.gql_err(None, login_query, input).await,
            "INVALID_CREDENTIALS",
        );

        let left = |table: &str| format!("SELECT CAST(COUNT(*) AS TEXT) AS value FROM {table}");
        assert_eq!(db_text(app, &left("users")).await, "1");
        assert_eq!(
            db_text(app, &left("todos")).await,
            "1",
            "only bob's todo is left"
        );
        assert_eq!(db_text(app, &left("sessions")).await, "1");
        assert_eq!(app.all_todos(&bob.access).await.len(), 1);
        // The email is free again.
        app.signup("ann@example.com", PASSWORD).await;
    }
);

/// A login on an instance with raised argon2 costs re-hashes the password.
async fn a_login_rehashes_after_the_costs_are_raised(cheap: &TestApp) {
    let hash_before_signup = "$argon2id$v=19$m=8192,t=1,p=1$";
    cheap.signup("ann@example.com", PASSWORD).await;
    let before = password_hash(cheap, "ann@example.com").await;
    assert!(before.starts_with(hash_before_signup), "{before}");

    let raised = cheap.sibling(&[]).await;
    let session = raised.login("ann@example.com", PASSWORD).await;
    let after = password_hash(cheap, "ann@example.com").await;
    assert!(
        after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{after}"
    );
    assert_ne!(before, after);
    // The new hash still checks the same password, on both instances.
    raised.login("ann@example.com", PASSWORD).await;
    cheap.login("ann@example.com", PASSWORD).await;
    assert_eq!(raised.me_status(&session.access).await.0, StatusCode::OK);
    raised.shutdown().await;
}

const CHEAP: [&str; 4] = ["--argon2-memory-kib", "8192", "--argon2-iterations", "1"];

#[tokio::test(flavor = "multi_thread")]
async fn a_login_rehashes_after_the_costs_are_raised_sqlite() {
    let app = TestApp::spawn_with(Backend::Sqlite, &CHEAP).await;
    a_login_rehashes_after_the_costs_are_raised(&app).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_rehashes_after_the_costs_are_raised_postgres() {
    let Some(app) = TestApp::spawn_postgres_with(&CHEAP).await else {
        return;
    };
    a_login_rehashes_after_the_costs_are_raised(&app).await;
    app.shutdown().await;
}

backend_tests!(
    a_deleted_account_leaves_tombstones_until_the_purge,
    ["--sync-tombstone-ttl", "2s"],
    |app| {
        let ann = app.signup("ann@example.com", PASSWORD).await;
        let mut ids = Vec::new();
        for title in ["a", "b", "c"] {
            ids.push(
                app.create_todo(&ann.access, json!({ "title": title }))
                    .await,
            );
        }
        app.delete_todo(&ann.access, ids[0]["id"].as_str().expect("an id"))
            .await;
        let delete = "mutation($password: String!) { deleteAccount(password: $password) }";
        app.gql_ok(Some(&ann.access), delete, json!({ "password": PASSWORD }))
            .await;
        let count = |sql: &str| format!("SELECT CAST(COUNT(*) AS TEXT) AS value FROM {sql}");
        assert_eq!(db_text(app, &count("todos")).await, "0");
        assert_eq!(
            db_text(app, &count("todo_tombstones")).await,
            "3",
            "every todo of the account, the one deleted before included"
        );
        let numbers = "SELECT CAST(change_seq AS TEXT) AS value FROM todo_tombstones \
                       GROUP BY change_seq ORDER BY change_seq";
        assert_eq!(
            db_text(app, &count(&format!("({numbers}) AS n"))).await,
            "2",
            "the account's deletion is one change"
        );
        // Past the TTL and the purge's interval (half of it).
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        assert_eq!(db_text(app, &count("todo_tombstones")).await, "0");
    }
);
