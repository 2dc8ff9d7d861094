//! The HTTP face: health routes, GET queries, GraphiQL, content negotiation, malformed and
//! oversized requests.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

use crate::helpers::raw::response;
use crate::helpers::{PASSWORD, assert_bad_input, assert_code, assert_no_leak};

backend_tests!(health_routes_answer_200, |app| {
    for path in ["/healthz", "/readyz"] {
        let response = app.at(path).get().await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
    }
});

backend_tests!(readyz_follows_the_database, |app| {
    // Only PostgreSQL can be taken away from under a running server.
    if app.pg_refuse_connections().await.is_none() {
        return;
    }
    let response = app.at("/readyz").get().await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.at("/healthz").get().await.status, StatusCode::OK);
    app.pg_admin("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true")
        .await;
    let response = app.at("/readyz").get().await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "ready again once the database is back"
    );
});

backend_tests!(get_runs_a_query, |app| {
    let response = app
        .request("{ __typename }")
        .header("accept", "application/json")
        .get()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.json(),
        json!({ "data": { "__typename": "Query" } })
    );
});

backend_tests!(get_refuses_a_mutation_with_405, |app| {
    let signup = format!(
        "mutation {{ signup(input: {{ email: \"viaget@example.com\", password: \"{PASSWORD}\" }}) \
         {{ accessToken }} }}"
    );
    let response = app.request(&signup).get().await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    // Nothing was written: the email is still free.
    app.signup("viaget@example.com", PASSWORD).await;
});

backend_tests!(a_browser_gets_graphiql, |app| {
    let page = app.at("/graphql").header("accept", "text/html");
    let response = page.get().await;
    assert_eq!(response.status, StatusCode::OK);
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text.to_lowercase();
    assert!(html.contains("graphiql"), "the playground: {html}");
});

backend_tests!(post_answers_in_the_content_type_asked_for, |app| {
    for accept in ["application/json", "application/graphql-response+json"] {
        let request = app.request("{ __typename }").header("accept", accept);
        let response = request.send().await;
        assert_eq!(response.status, StatusCode::OK, "Accept: {accept}");
        let content_type = response.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with(accept),
            "Accept: {accept}, got {content_type}"
        );
        assert_eq!(response.data()["__typename"], "Query");
    }
});

backend_tests!(invalid_operations_are_bad_user_input, |app| {
    let token = app.user("http").await;
    let bad = [
        "{ nope }",
        "{ me { nope } }",
        "{ me {",
        "mutation { createTodo(input: { title: \"x\", bogus: 1 }) { id } }",
        "mutation { createTodo(input: { title: 5 }) { id } }",
        "{ todos(orderBy: { field: SIDEWAYS }) { totalCount } }",
    ];
    for query in bad {
        let response = app.request(query).token(&token).send().await;
        let body = response.json();
        assert_eq!(response.status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["data"], Value::Null, "{query}: {body}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
        assert_code(&body["errors"][0], "BAD_USER_INPUT");
        assert_no_leak(&body);
    }
    assert_eq!(app.counts(&token).await, (0, 0, 0));
});

backend_tests!(a_malformed_body_is_a_400, |app| {
    for body in ["{not json", "", "[]", "{\"query\": 5}"] {
        let response = app.raw_json(body).send().await;
        let answer = response.json();
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{body:?}: {answer}"
        );
        assert_bad_input(&answer["errors"][0], "request");
        assert_no_leak(&answer);
    }
});

backend_tests!(a_body_over_the_limit_is_refused_from_its_length, |app| {
    // The server refuses from `Content-Length` alone, so only the head and a little of the
    // body are sent: the answer cannot race the rest of the upload.
    let pad = "x".repeat(1024 * 1024 + 1024);
    for body in [
        json!({ "query": "{ __typename }", "variables": { "pad": pad } }),
        json!({ "query": format!("{{ __typename }} # {pad}") }),
    ] {
        let body = body.to_string();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(app.addr)
            .await
            .expect("a TCP connection");
        let start = format!("{head}{}", &body[..1024]);
        stream
            .write_all(start.as_bytes())
            .await
            .expect("the head is sent");
        let (head, answer) = response(&mut stream, Duration::from_secs(30))
            .await
            .expect("an answer to the head");
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        let answer: Value = serde_json::from_str(&answer).expect("a JSON body");
        assert_bad_input(&answer["errors"][0], "request");
        assert_eq!(answer["data"], Value::Null, "{answer}");
    }
});
