//! The HTTP face: health routes, GET queries, GraphiQL, content negotiation, malformed and
//! oversized requests.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_no_leak, code, headers};

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().expect("an ASCII header").to_owned())
        .unwrap_or_default()
}

async fn get_graphql(app: &TestApp, query: &str, accept: &str) -> reqwest::Response {
    app.client
        .get(app.url("/graphql"))
        .query(&[("query", query)])
        .header("Accept", accept)
        .send()
        .await
        .expect("the server answers")
}

async fn json_body(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("JSON ({err}), got {status}: {text}"))
}

backend_tests!(health_routes_answer_200, |app| {
    for path in ["/healthz", "/readyz"] {
        let response = app.get(path, HeaderMap::new()).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
});

backend_tests!(readyz_follows_the_database, |app| {
    // Only PostgreSQL can be taken away from under a running server.
    if app.pg_refuse_connections().await.is_none() {
        return;
    }
    let response = app.get("/readyz", HeaderMap::new()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.get("/healthz", HeaderMap::new()).await.status(),
        StatusCode::OK
    );
    app.pg_admin("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true")
        .await;
    let response = app.get("/readyz", HeaderMap::new()).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "ready again once the database is back"
    );
});

backend_tests!(get_runs_a_query, |app| {
    let response = get_graphql(app, "{ __typename }", "application/json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json_body(response).await,
        json!({ "data": { "__typename": "Query" } })
    );
});

backend_tests!(get_refuses_a_mutation_with_405, |app| {
    let signup = format!(
        "mutation {{ signup(input: {{ email: \"viaget@example.com\", password: \"{PASSWORD}\" }}) \
         {{ accessToken }} }}"
    );
    let response = get_graphql(app, &signup, "application/json").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Nothing was written: the email is still free.
    app.signup("viaget@example.com", PASSWORD).await;
});

backend_tests!(a_browser_gets_graphiql, |app| {
    let response = app
        .get("/graphql", headers(&[("Accept", "text/html")]))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        content_type(&response).starts_with("text/html"),
        "{}",
        content_type(&response)
    );
    let html = response.text().await.expect("a body").to_lowercase();
    assert!(html.contains("graphiql"), "the playground: {html}");
});

backend_tests!(post_answers_in_the_content_type_asked_for, |app| {
    for accept in ["application/json", "application/graphql-response+json"] {
        let response = app
            .post_raw(
                "/graphql",
                headers(&[("Content-Type", "application/json"), ("Accept", accept)]),
                json!({ "query": "{ __typename }" }).to_string(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "Accept: {accept}");
        assert!(
            content_type(&response).starts_with(accept),
            "Accept: {accept}, got {}",
            content_type(&response)
        );
        assert_eq!(json_body(response).await["data"]["__typename"], "Query");
    }
});

backend_tests!(invalid_operations_carry_an_error_code, |app| {
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
        let (status, body) = app.gql(Some(&token), query, json!({})).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{query}: {status} {body}"
        );
        assert!(
            body.get("data").is_none_or(Value::is_null),
            "{query}: {body}"
        );
        assert!(!code(&body["errors"][0]).is_empty(), "{query}");
        assert_no_leak(&body);
    }
    assert_eq!(app.counts(&token).await, (0, 0, 0));
});

backend_tests!(a_malformed_body_is_a_client_error, |app| {
    let json_type = headers(&[("Content-Type", "application/json")]);
    for body in ["{not json", "", "[]", "{\"query\": 5}"] {
        let response = app.post_raw("/graphql", json_type.clone(), body).await;
        let status = response.status();
        assert!(status.is_client_error(), "{body:?} gives {status}");
        let text = response.text().await.expect("a body");
        for word in ["diesel", "sql", "postgres"] {
            assert!(
                !text.to_lowercase().contains(word),
                "{body:?} leaks {word}: {text}"
            );
        }
    }
});

backend_tests!(a_body_over_1_mib_is_refused, |app| {
    let pad = "x".repeat(1024 * 1024 + 1024);
    for body in [
        json!({ "query": "{ __typename }", "variables": { "pad": pad } }),
        json!({ "query": format!("{{ __typename }} # {pad}") }),
    ] {
        let sent = app
            .client
            .post(app.url("/graphql"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        // The server may also close the connection while the body is still arriving.
        let Ok(response) = sent else { continue };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status != StatusCode::PAYLOAD_TOO_LARGE {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert!(
                body["data"]["__typename"].is_null(),
                "an oversized body was served: {status} {text}"
            );
            assert!(
                status.is_client_error() || body.get("errors").is_some(),
                "{status} {text}"
            );
        }
    }
});
