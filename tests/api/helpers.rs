//! The test harness: a `TestApp` per test on a fresh database, a GraphQL client, and the
//! `backend_tests!` macro that runs one test body on SQLite and on PostgreSQL.

use std::time::Duration;

use clap::Parser as _;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tempfile::TempDir;
use todo_graphql::{app, config};

use pg::{PgDatabase, create_pg_database, database_url_for};

pub mod pg;

/// The HS256 secret every test server signs with, so token tests can re-sign claims.
pub const JWT_SECRET: &str = "integration-tests-secret-0123456789-abcdefghijklmnop";
/// A password that satisfies every rule.
pub const PASSWORD: &str = "correct horse battery staple";

/// Every field of a `Todo`, for queries that read a whole row back.
pub const TODO_FIELDS: &str =
    "id title notes completed completedAt priority dueAt createdAt updatedAt version";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend: `backend_tests!(name, |app| { ... })` expands to
/// `mod name { fn sqlite() fn postgres() }`; the body sees `app: &TestApp` and everything
/// in the enclosing module. The PostgreSQL variant is skipped (with a note) only when
/// `TEST_DATABASE_URL` is unset and `REQUIRE_POSTGRES` is not `1`.
macro_rules! backend_tests {
    ($name:ident, |$app:ident| $body:block) => {
        backend_tests!($name, [], |$app| $body);
    };
    ($name:ident, [$($arg:expr),*], |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: &crate::helpers::TestApp) $body

            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let app = crate::helpers::TestApp::spawn_with(
                    crate::helpers::Backend::Sqlite,
                    &[$($arg),*],
                )
                .await;
                body(&app).await;
                app.shutdown().await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let Some(app) = crate::helpers::TestApp::spawn_postgres_with(&[$($arg),*]).await else {
                    return;
                };
                body(&app).await;
                app.shutdown().await;
            }
        }
    };
}

/// A running server on a fresh database, and a client for it.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    /// The database this app serves from (a second instance can share it).
    pub database_url: String,
    server: Option<app::Server>,
    // Dropped after the server field: the database outlives the server.
    pg: Option<PgDatabase>,
    _dir: TempDir,
}

fn require_postgres() -> bool {
    std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestApp {
    /// Starts the app with extra command-line settings on a fresh database of `backend`;
    /// panics when that is impossible.
    pub async fn spawn_with(backend: Backend, extra: &[&str]) -> TestApp {
        let dir = tempfile::tempdir().expect("a temp dir for the test");
        let data_dir = dir.path().to_str().expect("a UTF-8 temp dir").to_owned();
        let (database_url, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{data_dir}/test.db"), None),
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_DATABASE_URL")
                    .expect("TEST_DATABASE_URL is needed for a PostgreSQL test");
                let pg = create_pg_database(&admin_url).await;
                (database_url_for(&admin_url, &pg.name), Some(pg))
            }
        };
        let base = [
            "todo-graphql",
            "--listen-addr",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
            "--data-dir",
            &data_dir,
            "--jwt-secret",
            JWT_SECRET,
            "--jwt-issuer",
            "todo-graphql",
            "--jwt-audience",
            "todo-graphql",
            "--access-token-ttl",
            "15m",
            "--log-format",
            "pretty",
        ];
        let settings = config::Settings::try_parse_from(base.iter().chain(extra))
            .expect("the test settings parse");
        let server = app::spawn(settings)
            .await
            .expect("the app starts on a fresh database");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a reqwest client");
        TestApp {
            addr: server.addr,
            client,
            database_url,
            server: Some(server),
            pg,
            _dir: dir,
        }
    }

    /// A second server on this app's database (its own data dir), with the test settings
    /// and `extra`: two instances of one deployment. It does not drop the database.
    pub async fn sibling(&self, extra: &[&str]) -> TestApp {
        let dir = tempfile::tempdir().expect("a temp dir for the sibling");
        let data_dir = dir.path().to_str().expect("a UTF-8 temp dir").to_owned();
        let base = [
            "todo-graphql",
            "--listen-addr",
            "127.0.0.1:0",
            "--database-url",
            &self.database_url,
            "--data-dir",
            &data_dir,
            "--jwt-issuer",
            "todo-graphql",
            "--jwt-audience",
            "todo-graphql",
        ];
        let has_secret = extra.contains(&"--jwt-secret");
        let secret: &[&str] = if has_secret {
            &[]
        } else {
            &["--jwt-secret", JWT_SECRET]
        };
        let settings = config::Settings::try_parse_from(base.iter().chain(secret).chain(extra))
            .expect("the sibling's settings parse");
        let server = app::spawn(settings).await.expect("the sibling starts");
        TestApp {
            addr: server.addr,
            client: self.client.clone(),
            database_url: self.database_url.clone(),
            server: Some(server),
            pg: None,
            _dir: dir,
        }
    }

    /// The PostgreSQL app with extra settings, or `None` (skip) when `TEST_DATABASE_URL` is
    /// unset and `REQUIRE_POSTGRES` is not `1`.
    pub async fn spawn_postgres_with(extra: &[&str]) -> Option<TestApp> {
        if std::env::var("TEST_DATABASE_URL").is_err() {
            assert!(
                !require_postgres(),
                "REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"
            );
            eprintln!("skipped on PostgreSQL: TEST_DATABASE_URL is not set");
            return None;
        }
        Some(TestApp::spawn_with(Backend::Postgres, extra).await)
    }

    /// Stops the server gracefully (the database is dropped afterwards, on drop).
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server
                .shutdown()
                .await
                .expect("the server stops gracefully");
        }
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs a GraphQL request to `/graphql`; returns the status and the JSON body.
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("Content-Type", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("a response body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("a JSON body ({err}), got {status}: {text}"));
        (status, body)
    }

    /// A request that must succeed: HTTP 200 and no errors. Returns `data`.
    pub async fn gql_ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(token, query, variables).await;
        assert_eq!(status, StatusCode::OK, "HTTP status for {query}: {body}");
        assert!(
            body.get("errors").is_none(),
            "unexpected errors for {query}: {body}"
        );
        body["data"].clone()
    }

    /// A request that must fail with one GraphQL error in an HTTP 200. Returns that error
    /// after checking that it leaks no internals.
    pub async fn gql_err(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(token, query, variables).await;
        assert_no_leak(&body);
        assert_eq!(status, StatusCode::OK, "HTTP status for {query}: {body}");
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("errors expected for {query}: {body}"));
        assert!(!errors.is_empty(), "errors expected for {query}: {body}");
        errors[0].clone()
    }

    /// Signs up through the API; returns the access token and the user's id.
    pub async fn signup(&self, email: &str, password: &str) -> (String, String) {
        let data = self
            .gql_ok(
                None,
                "mutation($input: SignupInput!) { signup(input: $input) { accessToken user { id } } }",
                json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        let token = data["signup"]["accessToken"]
            .as_str()
            .expect("a token")
            .to_owned();
        let id = data["signup"]["user"]["id"]
            .as_str()
            .expect("a user id")
            .to_owned();
        (token, id)
    }

    /// Signs up a user with a unique email and the standard password; returns the token.
    pub async fn user(&self, name: &str) -> String {
        self.signup(&format!("{name}@example.com"), PASSWORD)
            .await
            .0
    }

    /// Creates a todo from `input` (a `CreateTodoInput` object); returns every field.
    pub async fn create_todo(&self, token: &str, input: Value) -> Value {
        let query = format!(
            "mutation($input: CreateTodoInput!) {{ createTodo(input: $input) {{ {TODO_FIELDS} }} }}"
        );
        let data = self
            .gql_ok(Some(token), &query, json!({ "input": input }))
            .await;
        data["createTodo"].clone()
    }

    /// Reads one todo back (every field), or `Value::Null`.
    pub async fn read_todo(&self, token: &str, id: &str) -> Value {
        let query = format!("query($id: ID!) {{ todo(id: $id) {{ {TODO_FIELDS} }} }}");
        self.gql_ok(Some(token), &query, json!({ "id": id })).await["todo"].clone()
    }

    /// Every todo of the viewer (every field), sorted by id.
    pub async fn all_todos(&self, token: &str) -> Vec<Value> {
        let query = format!("{{ todos(first: 100) {{ totalCount nodes {{ {TODO_FIELDS} }} }} }}");
        let data = self.gql_ok(Some(token), &query, json!({})).await;
        let mut nodes = data["todos"]["nodes"].as_array().expect("nodes").clone();
        assert_eq!(data["todos"]["totalCount"], nodes.len(), "{data}");
        nodes.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        nodes
    }

    /// POSTs a GraphQL request and returns the status and the body exactly as sent.
    pub async fn gql_raw(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, String) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("Content-Type", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        (status, response.text().await.expect("a response body"))
    }

    /// POSTs an anonymous GraphQL request with extra headers.
    pub async fn gql_with_headers(
        &self,
        query: &str,
        variables: Value,
        extra: &[(&'static str, &str)],
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .headers(headers(extra))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Runs `sql` on the PostgreSQL admin connection, with `{db}` replaced by this test's
    /// database name. `None` on SQLite.
    pub async fn pg_admin(&self, sql: &str) -> Option<()> {
        let pg = self.pg.as_ref()?;
        let (client, connection) = tokio_postgres::connect(&pg.admin_url, tokio_postgres::NoTls)
            .await
            .expect("the admin connection");
        tokio::spawn(connection);
        client
            .batch_execute(&sql.replace("{db}", &pg.name))
            .await
            .expect("the admin statement runs");
        Some(())
    }

    /// Takes the PostgreSQL database away from under the server: new connections are
    /// refused, then its backends are terminated until none is left. Two steps, since
    /// statements sent together run in one implicit transaction and the ban must be
    /// committed first (or the pool just reconnects); and a connection that passed the ban
    /// just before it took effect may not be in `pg_stat_activity` yet at the first look.
    /// `None` on SQLite.
    pub async fn pg_refuse_connections(&self) -> Option<()> {
        self.pg_admin("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false")
            .await?;
        self.pg_admin(
            "DO $$ BEGIN FOR i IN 1..100 LOOP \
               PERFORM pg_stat_clear_snapshot(); \
               PERFORM pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{db}' AND pid <> pg_backend_pid(); \
               PERFORM pg_sleep(0.05); PERFORM pg_stat_clear_snapshot(); \
               EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity \
                 WHERE datname = '{db}' AND pid <> pg_backend_pid()); \
             END LOOP; END $$",
        )
        .await
    }

    /// The viewer's `todoCounts` as `(all, active, completed)`.
    pub async fn counts(&self, token: &str) -> (i64, i64, i64) {
        let data = self
            .gql_ok(
                Some(token),
                "{ me { todoCounts { all active completed } } }",
                json!({}),
            )
            .await;
        let counts = &data["me"]["todoCounts"];
        let get = |name: &str| counts[name].as_i64().expect("an integer count");
        (get("all"), get("active"), get("completed"))
    }

    /// A GET with extra headers.
    pub async fn get(&self, path: &str, headers: HeaderMap) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .headers(headers)
            .send()
            .await
            .expect("the server answers")
    }

    /// A POST of a raw body with extra headers.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: HeaderMap,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .headers(headers)
            .body(body)
            .send()
            .await
            .expect("the server answers")
    }
}

/// Headers from `(name, value)` pairs.
pub fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().expect("a valid header value"));
    }
    map
}

/// `extensions.code` of a GraphQL error object.
pub fn code(error: &Value) -> &str {
    error["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with extensions.code: {error}"))
}

/// Asserts that a GraphQL error is `code`, and returns it for more checks.
pub fn assert_code<'a>(error: &'a Value, expected: &str) -> &'a Value {
    assert_eq!(code(error), expected, "error: {error}");
    error
}

/// Asserts a `BAD_USER_INPUT` error about `field`.
pub fn assert_bad_input(error: &Value, field: &str) {
    assert_code(error, "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["field"], field, "error: {error}");
}

/// No error message or extension in `body` names the database layer.
pub fn assert_no_leak(body: &Value) {
    let Some(errors) = body.get("errors") else {
        return;
    };
    let text = errors.to_string().to_lowercase();
    for word in ["diesel", "sql", "postgres"] {
        assert!(!text.contains(word), "an error leaks {word:?}: {errors}");
    }
}

/// A timestamp field parsed as RFC 3339.
pub fn time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a DateTime, got {value}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("RFC 3339 ({err}): {text}"))
        .to_utc()
}
