//! Seeing inside: Prometheus metrics at `/metrics`, an `x-request-id` on every response,
//! and JSON logs whose request lines carry the request id, the operation and the viewer
//! and never a password or a token.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Response, TestApp, assert_code, claims};
use crate::process::Process;

/// One sample of the Prometheus text exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `GET /metrics`, parsed.
async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app.at("/metrics").get().await;
    assert_eq!(response.status, StatusCode::OK);
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "the Prometheus text format: {content_type}"
    );
    let samples = response
        .text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    samples
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
            let labels = labels.strip_suffix('}').expect("labels end with }");
            let labels = labels.split(',').filter(|pair| !pair.is_empty());
            Sample {
                name: name.to_owned(),
                labels: labels
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').expect("label=\"value\"");
                        (key.to_owned(), value.trim_matches('"').to_owned())
                    })
                    .collect(),
                value: value.parse().expect("a numeric sample"),
            }
        })
        .collect()
}

/// The value of the series `name{labels}`, if it was exposed.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == labels)
        .map(|s| s.value)
}

/// The sum over every series of `name`.
fn total(samples: &[Sample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

/// The distinct values of `label` among the series of `name`.
fn label_values(samples: &[Sample], name: &str, label: &str) -> BTreeSet<String> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter_map(|s| s.labels.get(label).cloned())
        .collect()
}

const LOGIN: &str =
    "mutation BadLogin($input: LoginInput!) { login(input: $input) { accessToken } }";
const SIGNUP_AGAIN: &str =
    "mutation SignupAgain($input: SignupInput!) { signup(input: $input) { accessToken } }";

backend_tests!(
    metrics_count_operations_outcomes_and_the_pool,
    ["--database-pool-size", "3"],
    |app| {
        // The helper's signup is an anonymous mutation.
        let token = app.user("metrics").await;
        let list = "query ListMine { todos(first: 5) { totalCount } }";
        app.gql_ok(Some(&token), list, json!({})).await;
        app.gql_ok(Some(&token), "{ me { id } }", json!({})).await;
        let wrong =
            json!({ "input": { "email": "metrics@example.com", "password": "not the password" } });
        assert_code(
            &app.gql_err(None, LOGIN, wrong).await,
            "INVALID_CREDENTIALS",
        );
        let taken = json!({ "input": { "email": "metrics@example.com", "password": PASSWORD } });
        assert_code(&app.gql_err(None, SIGNUP_AGAIN, taken).await, "EMAIL_TAKEN");
        assert_code(
            &app.gql_err(None, "{ todos(", json!({})).await,
            "BAD_USER_INPUT",
        );
        let anonymous_list = "query Mine { todos { totalCount } }";
        let error = app.gql_err(None, anonymous_list, json!({})).await;
        assert_code(&error, "UNAUTHENTICATED");

        let m = scrape(app).await;
        let requests = |operation, outcome| {
            value(
                &m,
                "graphql_requests_total",
                &[("operation", operation), ("outcome", outcome)],
            )
        };
        assert_eq!(requests("ListMine", "OK"), Some(1.0));
        assert_eq!(requests("anonymous", "OK"), Some(2.0), "signup and me");
        assert_eq!(requests("BadLogin", "INVALID_CREDENTIALS"), Some(1.0));
        assert_eq!(requests("SignupAgain", "EMAIL_TAKEN"), Some(1.0));
        assert_eq!(
            requests("unknown", "BAD_USER_INPUT"),
            Some(1.0),
            "unparsable"
        );
        assert_eq!(requests("Mine", "UNAUTHENTICATED"), Some(1.0));
        assert_eq!(
            total(&m, "graphql_requests_total"),
            7.0,
            "one count per request"
        );

        let auth = |mutation, outcome| {
            value(
                &m,
                "auth_attempts_total",
                &[("mutation", mutation), ("outcome", outcome)],
            )
        };
        assert_eq!(auth("signup", "OK"), Some(1.0));
        assert_eq!(auth("signup", "EMAIL_TAKEN"), Some(1.0));
        assert_eq!(auth("login", "INVALID_CREDENTIALS"), Some(1.0));
        assert_eq!(total(&m, "auth_attempts_total"), 3.0);

        let latency = "graphql_request_duration_seconds";
        let listed = [("operation", "ListMine")];
        let count = value(&m, &format!("{latency}_count"), &listed);
        assert_eq!(count, Some(1.0), "one ListMine in the histogram");
        let all = [("operation", "ListMine"), ("le", "+Inf")];
        assert_eq!(value(&m, &format!("{latency}_bucket"), &all), Some(1.0));
        let sum = value(&m, &format!("{latency}_sum"), &listed).expect("a latency sum");
        assert!(sum > 0.0 && sum < 10.0, "ListMine took {sum} s");
        let anonymous = [("operation", "anonymous")];
        assert_eq!(
            value(&m, &format!("{latency}_count"), &anonymous),
            Some(2.0)
        );

        let pool = |state| value(&m, "db_pool_connections", &[("state", state)]);
        let gauge = |state| pool(state).unwrap_or_else(|| panic!("a pool gauge for {state}"));
        assert_eq!(gauge("max"), 3.0, "--database-pool-size");
        let open = gauge("open");
        assert!((1.0..=3.0).contains(&open), "open connections: {open}");
        assert_eq!(
            gauge("idle") + gauge("in_use"),
            open,
            "idle + in use = open"
        );
        assert_eq!(gauge("in_use"), 0.0, "nothing runs between requests");
        assert_eq!(gauge("waiting"), 0.0);
    }
);

backend_tests!(
    operation_labels_are_bounded_and_come_from_the_document,
    |app| {
        for i in 0..150 {
            let query = format!("query Op{i} {{ __typename }}");
            app.gql_ok(None, &query, json!({})).await;
        }
        // An operationName that names nothing in the document is not a label.
        let real = app.request("query Real { __typename }");
        let response = real.operation_name("Injected").send().await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        let body = response.json();
        assert_code(&body["errors"][0], "BAD_USER_INPUT");
        assert_eq!(body["data"], Value::Null, "{body}");

        let m = scrape(app).await;
        let shared = ["anonymous", "other", "unknown"];
        for name in [
            "graphql_requests_total",
            "graphql_request_duration_seconds_count",
        ] {
            let labels = label_values(&m, name, "operation");
            let own: Vec<_> = labels
                .iter()
                .filter(|l| !shared.contains(&l.as_str()))
                .collect();
            assert!(own.len() <= 100, "{name}: {} operation labels", own.len());
            assert!(!labels.contains("Injected"), "{name}: {labels:?}");
        }
        let other = [("operation", "other"), ("outcome", "OK")];
        assert_eq!(
            value(&m, "graphql_requests_total", &other),
            Some(50.0),
            "names past the first 100 share `other`"
        );
        assert_eq!(total(&m, "graphql_requests_total"), 151.0);
    }
);

/// The `x-request-id` of a response.
fn request_id(response: &Response) -> String {
    let id = response.header("x-request-id");
    id.unwrap_or_else(|| panic!("no x-request-id on {response:?}"))
        .to_owned()
}

backend_tests!(every_response_carries_a_request_id, |app| {
    let token = app.user("requestid").await;
    let me = "{ me { id } }";
    let mut responses = vec![
        app.request(me).send().await,
        app.request(me).send().await,
        app.request(me).token(&token).send().await,
        app.request(me).token("nonsense").send().await,
        app.request(me)
            .header("content-type", "text/plain")
            .send()
            .await,
        app.raw_json("{ not json").send().await,
    ];
    for path in ["/healthz", "/readyz", "/metrics", "/nowhere"] {
        responses.push(app.at(path).get().await);
    }
    let browser = app.at("/graphql").header("accept", "text/html");
    responses.push(browser.get().await);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 401, 415, 400, 200, 200, 200, 404, 200]
    );
    let ids: Vec<String> = responses.iter().map(request_id).collect();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "one id per request: {ids:?}");
    let fresh = |id: &String| uuid::Uuid::parse_str(id).is_ok();
    assert!(ids.iter().all(fresh), "a fresh UUID each: {ids:?}");

    // A caller's own id is kept, so a trace spans services.
    let mine = "trace-4711-from-the-caller";
    let sent = app.request(me).header("x-request-id", mine).send().await;
    assert_eq!(request_id(&sent), mine);
    let sent = app.at("/healthz").header("x-request-id", mine).get().await;
    assert_eq!(request_id(&sent), mine);
});

/// Every span a JSON log line was written in.
fn spans(line: &Value) -> impl Iterator<Item = &Value> {
    let list = line["spans"].as_array().into_iter().flatten();
    line.get("span").into_iter().chain(list)
}

process_tests!(json_logs_carry_request_id_operation_and_viewer, |db| {
    let mut server = Process::start(db, "info,tower_http=debug", &[]).await;
    let password = "Log-probe passphrase 4711 never-logged";
    let token = server.signup("logs@example.com", password).await.access;

    // A named operation, with a token and a password in its variables.
    let login = "mutation LoginAgain($input: LoginInput!) { login(input: $input) { accessToken } }";
    let input = json!({ "input": { "email": "logs@example.com", "password": password } });
    let response = server.request(login).token(&token).variables(input);
    let response = response.send().await;
    let id = request_id(&response);
    let data = response.data();
    let fresh = data["login"]["accessToken"].as_str();
    let fresh = fresh
        .unwrap_or_else(|| panic!("a token: {data}"))
        .to_owned();
    let viewer = claims(&token)["sub"]
        .as_str()
        .expect("a sub claim")
        .to_owned();

    let started = Instant::now();
    let tagged = |line: &Value| {
        spans(line).any(|span| {
            span["request_id"] == id.as_str()
                && span["operation"] == "LoginAgain"
                && span["viewer"] == viewer.as_str()
        })
    };
    while !server.json_lines().iter().any(tagged) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no log line carries request_id={id}, operation=LoginAgain and viewer={viewer}:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;

    let logs = server.logs();
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            parsed.is_ok_and(|v| v.is_object()),
            "not a JSON object: {line}"
        );
    }
    assert!(!logs.contains(password), "the password is logged:\n{logs}");
    for secret in [&token, &fresh] {
        let signature = secret.rsplit('.').next().expect("a JWT signature");
        assert!(!logs.contains(signature), "a token is logged:\n{logs}");
    }
});
