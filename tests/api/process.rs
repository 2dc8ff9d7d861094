//! The real `todo-graphql` binary as a child process, for what only a process shows: its
//! log output and its answer to signals. `process_tests!` runs a body on SQLite and on
//! PostgreSQL with a fresh [`Database`] the body starts servers on.

use std::{
    collections::BTreeMap,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{
    Api, Backend, JWT_SECRET,
    pg::{PgDatabase, create_pg_database, database_url_for},
};

/// `process_tests!(name, |db| { ... })` expands to `mod name { fn sqlite() fn postgres() }`;
/// the body sees `db: &Database`. PostgreSQL is skipped as in `backend_tests!`.
macro_rules! process_tests {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: &crate::process::Database) $body

            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let db = crate::process::Database::create(crate::helpers::Backend::Sqlite)
                    .await
                    .expect("SQLite is always available");
                body(&db).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let Some(db) =
                    crate::process::Database::create(crate::helpers::Backend::Postgres).await
                else {
                    return;
                };
                body(&db).await;
            }
        }
    };
}

/// A fresh database and data directory that outlive the servers started on them.
pub struct Database {
    pub url: String,
    dir: TempDir,
    /// The PostgreSQL database created for this test, dropped with it.
    _pg: Option<PgDatabase>,
}

impl Database {
    /// A temp-file SQLite, or a new PostgreSQL database next to `TEST_DATABASE_URL`'s;
    /// `None` (skip) when PostgreSQL is not configured and `REQUIRE_POSTGRES` is not `1`.
    pub async fn create(backend: Backend) -> Option<Database> {
        let dir = tempfile::tempdir().expect("a temp dir for the test");
        if backend == Backend::Sqlite {
            let url = format!("sqlite://{}/test.db", dir.path().display());
            return Some(Database {
                url,
                dir,
                _pg: None,
            });
        }
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            let required = std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"
            );
            eprintln!("skipped on PostgreSQL: TEST_DATABASE_URL is not set");
            return None;
        };
        let pg = create_pg_database(&admin_url).await;
        Some(Database {
            url: database_url_for(&admin_url, &pg.name),
            dir,
            _pg: Some(pg),
        })
    }
}

/// A running `todo-graphql` process and a client for it (it dereferences to its [`Api`]);
/// killed on drop if it is still running.
pub struct Process {
    api: Api,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Process {
    /// Starts the binary on `db` with JSON logs at `rust_log` and waits (at most 60 s) for
    /// the log line that says where it listens.
    pub async fn start(db: &Database, rust_log: &str, extra: &[&str]) -> Process {
        let data_dir = db.dir.path().to_str().expect("a UTF-8 temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_todo-graphql"))
            .args(["--listen-addr", "127.0.0.1:0", "--database-url", &db.url])
            .args(["--data-dir", data_dir, "--jwt-secret", JWT_SECRET])
            .args(["--log-format", "json"])
            .args(extra)
            .env("RUST_LOG", rust_log)
            // Away from the repository, whose `.env` would be read.
            .current_dir(db.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the todo-graphql binary starts");
        let stderr = child.stderr.take().expect("a piped stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("the log buffer").push(line);
            }
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a reqwest client");
        let mut process = Process {
            api: Api {
                client,
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            },
            child,
            lines,
            reader: Some(reader),
        };
        let started = Instant::now();
        loop {
            let addr = process.json_lines().iter().find_map(|line| {
                let message = line["message"].as_str()?;
                message.starts_with("serving").then_some(())?;
                line["addr"].as_str()?.parse::<SocketAddr>().ok()
            });
            if let Some(addr) = addr {
                process.api.addr = addr;
                return process;
            }
            if let Some(status) = process.child.try_wait().expect("the child's status") {
                panic!(
                    "the server exited ({status}) before serving:\n{}",
                    process.logs()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not say where it listens within 60 s:\n{}",
                process.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every todo of the viewer, id → title, page by page (at most 1,000 pages).
    pub async fn todos(&self, token: &str) -> BTreeMap<String, String> {
        let query = "query Page($after: String) { todos(first: 100, after: $after) \
                     { nodes { id title } pageInfo { hasNextPage endCursor } } }";
        let mut todos = BTreeMap::new();
        let mut after = Value::Null;
        for _ in 0..1000 {
            let data = self
                .gql_ok(Some(token), query, json!({ "after": after }))
                .await;
            let nodes = data["todos"]["nodes"].as_array();
            for node in nodes.unwrap_or_else(|| panic!("a page of todos: {data}")) {
                let id = node["id"].as_str().expect("an id").to_owned();
                todos.insert(id, node["title"].as_str().expect("a title").to_owned());
            }
            let info = &data["todos"]["pageInfo"];
            if info["hasNextPage"] != true {
                return todos;
            }
            after = info["endCursor"].clone();
        }
        panic!("more than 1,000 pages of todos");
    }

    /// Everything written to stderr so far.
    pub fn logs(&self) -> String {
        self.lines.lock().expect("the log buffer").join("\n")
    }

    /// The stderr lines that are JSON objects.
    pub fn json_lines(&self) -> Vec<Value> {
        let lines = self.lines.lock().expect("the log buffer");
        lines
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(Value::is_object)
            .collect()
    }

    /// Sends SIGTERM with the `kill` command.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("the kill command runs");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits at most `limit` for the process to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                // Its stderr is closed now: let the reader take the last lines.
                if let Some(reader) = self.reader.take() {
                    reader.join().expect("the log reader");
                }
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and asserts a clean exit (status 0) within 20 s; the logs are
    /// complete afterwards.
    pub async fn stop(&mut self) {
        self.terminate();
        let status = self.wait_exit(Duration::from_secs(20)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "exit after SIGTERM: {status:?}\n{}",
            self.logs()
        );
    }
}

impl std::ops::Deref for Process {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A GraphQL POST over a raw connection in two halves: the head and half of `body`, then
/// (once `resume` says so) the rest. Returns the response's status line and body, read up
/// to its `Content-Length`. Blocking: run it on a thread.
pub fn post_in_two_halves(
    addr: SocketAddr,
    token: &str,
    body: &str,
    halfway: mpsc::Sender<()>,
    resume: mpsc::Receiver<()>,
) -> (String, String) {
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).expect("the server accepts a connection");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    stream
        .write_all(format!("{head}{first}").as_bytes())
        .expect("the first half is sent");
    halfway.send(()).expect("the test waits for the first half");
    resume.recv().expect("the test says when to go on");
    let mut answer = Vec::new();
    // The server may close the connection after answering; the rest is then refused.
    if stream.write_all(rest.as_bytes()).is_ok() {
        let mut buffer = [0_u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut buffer) {
            answer.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&answer);
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}
