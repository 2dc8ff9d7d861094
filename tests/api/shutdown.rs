//! Surviving trouble: the database going away and coming back while requests run
//! (PostgreSQL), and SIGTERM to the real binary under a write load (both backends).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, Failure, PASSWORD, Response, TestApp};
use crate::process::{Process, post_in_two_halves};

/// `--database-timeout` in the outage test; no request may take longer than this plus
/// [`MARGIN`].
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);
const MARGIN: Duration = Duration::from_millis(1500);

const PROBE: &str = "query Probe { todos(first: 5) { totalCount } }";
const TERMINATE: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{db}' AND pid <> pg_backend_pid()";

/// One request of the background load: when it started, how long it took, and what it
/// got.
struct Probe {
    started: Instant,
    took: Duration,
    answer: Result<Response, Failure>,
}

/// Sends [`PROBE`] until `stop` (at most 3,000 times), recording every answer.
async fn probe_loop(
    api: Api,
    token: String,
    stop: Arc<AtomicBool>,
    probes: Arc<Mutex<Vec<Probe>>>,
) {
    for _ in 0..3000 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        let answer = api.request(PROBE).token(&token).try_send().await;
        let took = started.elapsed();
        let probe = Probe {
            started,
            took,
            answer,
        };
        probes.lock().expect("the probe log").push(probe);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `Ok(true)` for a page of todos, `Ok(false)` for a masked `INTERNAL_SERVER_ERROR` that
/// names its request id and nothing of the database, `Err` for anything else.
fn judge(probe: &Probe) -> Result<bool, String> {
    let response = probe.answer.as_ref().map_err(|why| format!("{why:?}"))?;
    let (status, text) = (response.status, &response.text);
    let id = response.header("x-request-id").unwrap_or_default();
    let body: Value =
        serde_json::from_str(text).map_err(|_| format!("{status}, not JSON: {text}"))?;
    if status != StatusCode::OK {
        return Err(format!("{status}: {text}"));
    }
    if body.get("errors").is_none() && body["data"]["todos"]["totalCount"].is_i64() {
        return Ok(true);
    }
    let error = &body["errors"][0];
    let lower = body["errors"].to_string().to_lowercase();
    let leaks = [
        "sql",
        "postgres",
        "diesel",
        "connection",
        "terminat",
        "pool",
    ];
    let masked = error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        && error["message"] == "internal server error"
        && error["extensions"]["requestId"] == id
        && !leaks.iter().any(|word| lower.contains(word));
    if masked {
        Ok(false)
    } else {
        Err(format!("not a masked error: {text}"))
    }
}

/// Waits (at most `limit`) for `done`; panics with `what` when it does not come.
async fn wait_for(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

async fn readyz(app: &TestApp) -> StatusCode {
    app.at("/readyz").get().await.status
}

backend_tests!(
    requests_fail_fast_and_masked_while_the_database_is_away,
    ["--database-timeout", "2s", "--database-pool-size", "4"],
    |app| {
        // Only PostgreSQL can be taken away from under a running server.
        if app.pg_admin("SELECT 1").await.is_none() {
            return;
        }
        let token = app.user("outage").await;
        app.create_todo(&token, json!({ "title": "before" })).await;
        let stop = Arc::new(AtomicBool::new(false));
        let probes = Arc::new(Mutex::new(Vec::new()));
        let loads: Vec<_> = (0..3)
            .map(|_| {
                let (token, stop, probes) = (token.clone(), stop.clone(), probes.clone());
                tokio::spawn(probe_loop(Api::clone(app), token, stop, probes))
            })
            .collect();
        let ok_since = |since: Instant| {
            let probes = probes.lock().expect("the probe log");
            let after = probes.iter().filter(|p| p.started > since);
            after.filter(|p| judge(p) == Ok(true)).count()
        };
        let start = Instant::now();
        wait_for(Duration::from_secs(10), "the load runs", async || {
            ok_since(start) >= 5
        })
        .await;

        // The server's connections are cut: the pool replaces them.
        app.pg_admin(TERMINATE).await;
        let cut = Instant::now();
        let what = "requests succeed again after pg_terminate_backend";
        wait_for(Duration::from_secs(5), what, async || ok_since(cut) >= 5).await;
        assert_eq!(readyz(app).await, StatusCode::OK);

        // The database refuses connections.
        app.pg_refuse_connections().await;
        let away = Instant::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let asked = Instant::now();
        assert_eq!(readyz(app).await, StatusCode::SERVICE_UNAVAILABLE);
        assert!(asked.elapsed() < DATABASE_TIMEOUT + MARGIN, "/readyz hung");
        let healthz = app.at("/healthz").get().await;
        assert_eq!(healthz.status, StatusCode::OK, "the process still serves");

        // The database is back: no restart needed.
        app.pg_admin("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true")
            .await;
        let back = Instant::now();
        let what = "requests succeed once the database is back";
        let recovered = wait_for(Duration::from_secs(5), what, async || ok_since(back) >= 3).await;
        let what = "/readyz is 200 once the database is back";
        wait_for(Duration::from_secs(5), what, async || {
            readyz(app).await == StatusCode::OK
        })
        .await;
        app.create_todo(&token, json!({ "title": "after" })).await;
        assert_eq!(app.counts(&token).await.0, 2, "both todos are there");
        stop.store(true, Ordering::Relaxed);
        for load in loads {
            tokio::time::timeout(Duration::from_secs(30), load)
                .await
                .expect("the load stops")
                .expect("the load task");
        }

        let probes = probes.lock().expect("the probe log");
        let wrong: Vec<String> = probes.iter().filter_map(|p| judge(p).err()).collect();
        assert!(wrong.is_empty(), "{} bad answers: {wrong:#?}", wrong.len());
        let slowest = probes.iter().map(|p| p.took).max().expect("probes ran");
        assert!(
            slowest < DATABASE_TIMEOUT + MARGIN,
            "a request took {slowest:?} (database timeout {DATABASE_TIMEOUT:?})"
        );
        // Requests that ran wholly while the database refused connections failed.
        let grace = away + Duration::from_millis(500);
        let outage: Vec<&Probe> = probes
            .iter()
            .filter(|p| p.started > grace && p.started + p.took < back)
            .collect();
        let succeeded = outage.iter().filter(|p| judge(p) == Ok(true)).count();
        assert_eq!(succeeded, 0, "requests succeeded with the database away");
        assert!(
            outage.len() >= 3,
            "only {} requests in the outage",
            outage.len()
        );
        eprintln!(
            "{} requests, {} during the outage, slowest {slowest:?}, recovered in {recovered:?}",
            probes.len(),
            outage.len()
        );
    }
);

const CREATE: &str = "mutation Add($input: CreateTodoInput!) { createTodo(input: $input) { id } }";

/// What one load client saw: the todos acknowledged (id → title), clean GraphQL errors,
/// answers that were not a full JSON answer, and the first request that got no answer at
/// all (when, and why).
#[derive(Default)]
struct Client {
    acked: BTreeMap<String, String>,
    clean_errors: Vec<String>,
    bad: Vec<String>,
    ended: Option<(Instant, String)>,
}

/// Creates todos titled `c{n}-{i}` until a request gets no answer (at most 20,000 or 60 s).
async fn create_loop(api: Api, token: String, n: usize) -> Client {
    let mut seen = Client::default();
    let started = Instant::now();
    for i in 0..20_000 {
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
        let title = format!("c{n}-{i}");
        let input = json!({ "input": { "title": title } });
        let request = api.request(CREATE).token(&token).variables(input);
        let (status, text) = match request.try_send().await {
            Ok(response) => (response.status, response.text),
            Err(Failure::NoAnswer(err)) => {
                seen.ended = Some((Instant::now(), err));
                break;
            }
            Err(Failure::CutBody(status, err)) => {
                seen.bad
                    .push(format!("{title}: {status}, then a cut body: {err}"));
                continue;
            }
        };
        let Ok(body) = serde_json::from_str::<Value>(&text) else {
            seen.bad
                .push(format!("{title}: {status}, not JSON: {text}"));
            continue;
        };
        if let Some(id) = body["data"]["createTodo"]["id"].as_str() {
            seen.acked.insert(id.to_owned(), title);
        } else if body["errors"][0]["extensions"]["code"].is_string() {
            seen.clean_errors.push(format!("{title}: {status}: {text}"));
        } else {
            seen.bad.push(format!("{title}: {status}: {text}"));
        }
    }
    seen
}

process_tests!(sigterm_under_load_answers_every_accepted_request, |db| {
    let mut server = Process::start(db, "info", &["--auth-rate-limit-ip", "off"]).await;
    let mut tokens = Vec::new();
    for n in 0..9 {
        let email = format!("load{n}@example.com");
        tokens.push(server.signup(&email, PASSWORD).await.access);
    }
    // The ninth user's one request is in the server's hands when SIGTERM comes.
    let (halfway, reached) = mpsc::channel();
    let (go_on, resume) = mpsc::channel();
    let (addr, token) = (server.addr, tokens[8].clone());
    let body = json!({ "query": CREATE, "variables": { "input": { "title": "in flight" } } });
    let in_flight = std::thread::spawn(move || {
        post_in_two_halves(addr, &token, &body.to_string(), halfway, resume)
    });
    reached
        .recv_timeout(Duration::from_secs(10))
        .expect("the first half is sent");

    let loads: Vec<_> = tokens[..8]
        .iter()
        .enumerate()
        .map(|(n, token)| tokio::spawn(create_loop(Api::clone(&server), token.clone(), n)))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let signalled = Instant::now();
    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let early = server.wait_exit(Duration::ZERO).await;
    assert!(
        early.is_none(),
        "exited ({early:?}) with a request half read"
    );
    go_on.send(()).expect("the in-flight request waits");
    let (status_line, body) = in_flight.join().expect("the in-flight request");
    let status = server.wait_exit(Duration::from_secs(20)).await;
    let logs = server.logs();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after SIGTERM under load: {status:?}\n{logs}"
    );
    let exited = signalled.elapsed();
    let said_stopped = server
        .json_lines()
        .iter()
        .any(|l| l["message"] == "stopped");
    assert!(said_stopped, "no `stopped` line:\n{logs}");
    assert!(
        status_line.starts_with("HTTP/1.1 200"),
        "the request in flight at SIGTERM: {status_line:?} {body}"
    );
    let body: Value = serde_json::from_str(&body).expect("a complete JSON answer");
    let in_flight_id = body["data"]["createTodo"]["id"].as_str();
    let in_flight_id = in_flight_id.unwrap_or_else(|| panic!("a todo: {body}"));

    let mut clients = Vec::new();
    for load in loads {
        let seen = tokio::time::timeout(Duration::from_secs(60), load)
            .await
            .expect("a client stops once the server is gone")
            .expect("a client task");
        clients.push(seen);
    }
    for (n, seen) in clients.iter().enumerate() {
        assert!(
            seen.bad.is_empty(),
            "client {n}: broken answers: {:#?}",
            seen.bad
        );
        // No answer at all is fine once the server was told to stop: the connection was
        // refused, or closed before the server read the request. A request it ran but did
        // not answer shows below as a stored todo nobody acknowledged.
        let (when, why) = seen
            .ended
            .as_ref()
            .expect("a client ends without an answer");
        assert!(
            *when >= signalled,
            "client {n}: no answer before SIGTERM: {why}"
        );
    }
    let acked: usize = clients.iter().map(|c| c.acked.len()).sum();
    let clean: Vec<&String> = clients.iter().flat_map(|c| &c.clean_errors).collect();
    assert!(acked >= 8, "the load ran: {acked} todos acknowledged");
    let endings: Vec<&str> = clients
        .iter()
        .filter_map(|c| c.ended.as_ref().map(|(_, why)| why.as_str()))
        .collect();
    eprintln!("{acked} acknowledged, exit {exited:?} after SIGTERM, clean errors {clean:?}");
    eprintln!("how the clients ended: {endings:#?}");

    // The same database again: every acknowledged todo is there, and nothing else.
    let mut again = Process::start(db, "info", &[]).await;
    for (n, (token, seen)) in tokens.iter().zip(&clients).enumerate() {
        let todos = again.todos(token).await;
        let lost: Vec<_> = seen
            .acked
            .keys()
            .filter(|id| !todos.contains_key(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "client {n}: acknowledged todos lost: {lost:?}"
        );
        let unanswered: Vec<_> = todos
            .iter()
            .filter(|(id, _)| !seen.acked.contains_key(*id))
            .map(|(_, title)| title)
            .collect();
        assert!(
            unanswered.is_empty(),
            "client {n}: written but never answered: {unanswered:?}"
        );
        assert_eq!(todos, seen.acked, "client {n}: titles as acknowledged");
    }
    let slow = again.todos(&tokens[8]).await;
    let expected = BTreeMap::from([(in_flight_id.to_owned(), "in flight".to_owned())]);
    assert_eq!(slow, expected, "the todo created across SIGTERM");
    again.stop().await;
});
