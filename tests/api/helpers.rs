//! The test harness: a `TestApp` per test on a fresh database, the `backend_tests!` macro
//! that runs one test body on SQLite and on PostgreSQL, and the assertions tests share.
//! The client side (one request builder, typed helpers) is in the submodules; a `TestApp`
//! dereferences to its [`Api`].

use std::time::Duration;

use clap::Parser as _;
use serde_json::Value;
use tempfile::TempDir;
use todo_graphql::{app, config};

use pg::{PgDatabase, create_pg_database, database_url_for};

pub use accounts::{AUTH_FIELDS, Auth, claims};
pub use request::{Api, Failure, Response};
pub use sync::Replica;
pub use todos::{edges_nodes, id, update_query};

pub mod accounts;
pub mod cookies;
pub mod node;
pub mod pg;
pub mod raw;
pub mod request;
pub mod sync;
pub mod todos;
pub mod ws;

/// The HS256 secret every test server signs with, so token tests can re-sign claims.
pub const JWT_SECRET: &str = "integration-tests-secret-0123456789-abcdefghijklmnop";
/// A password that satisfies every rule.
pub const PASSWORD: &str = "correct horse battery staple";

/// Every field of a `Todo`, for queries that read a whole row back.
pub const TODO_FIELDS: &str =
    "id title notes completed completedAt priority dueAt createdAt updatedAt version clientId";

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
    api: Api,
    /// The database this app serves from (a second instance can share it).
    pub database_url: String,
    server: Option<app::Server>,
    // Dropped after the server field: the database outlives the server.
    pg: Option<PgDatabase>,
    _dir: TempDir,
}

impl std::ops::Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
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
        TestApp::start(dir, database_url, pg, extra).await
    }

    /// Starts the app on a fresh PostgreSQL database reached through the pooler at
    /// `pooler_url` (its path replaced by the database's name), its LISTEN connections
    /// direct, with extra settings; also returns the database's direct URL.
    pub async fn spawn_pooled(pooler_url: &str, extra: &[&str]) -> (TestApp, String) {
        let dir = tempfile::tempdir().expect("a temp dir for the test");
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .expect("TEST_DATABASE_URL is needed behind the pooler too");
        let pg = create_pg_database(&admin_url).await;
        let direct = database_url_for(&admin_url, &pg.name);
        let pooled = database_url_for(pooler_url, &pg.name);
        let mut settings = vec!["--database-listen-url", direct.as_str()];
        settings.extend_from_slice(extra);
        let app = TestApp::start(dir, pooled, Some(pg), &settings).await;
        (app, direct)
    }

    async fn start(
        dir: TempDir,
        database_url: String,
        pg: Option<PgDatabase>,
        extra: &[&str],
    ) -> TestApp {
        let data_dir = dir.path().to_str().expect("a UTF-8 temp dir").to_owned();
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
            "--log-format",
            "pretty",
        ];
        // The contract's default, unless the test sets its own.
        let ttl: &[&str] = if extra.contains(&"--access-token-ttl") {
            &[]
        } else {
            &["--access-token-ttl", "15m"]
        };
        let settings = config::Settings::try_parse_from(base.iter().chain(ttl).chain(extra))
            .expect("the test settings parse");
        let server = app::spawn(settings)
            .await
            .expect("the app starts on a fresh database");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a reqwest client");
        TestApp {
            api: Api {
                client,
                addr: server.addr,
            },
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
            api: Api {
                client: self.client.clone(),
                addr: server.addr,
            },
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

/// `extensions.reason` of a GraphQL error object.
pub fn reason(error: &Value) -> &str {
    error["extensions"]["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with extensions.reason: {error}"))
}

/// Asserts that a GraphQL error is `code` for `why` (`extensions.reason`).
pub fn assert_reason(error: &Value, code: &str, why: &str) {
    assert_code(error, code);
    assert_eq!(reason(error), why, "error: {error}");
}
