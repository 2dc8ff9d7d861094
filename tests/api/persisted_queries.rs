//! Apollo's automatic persisted queries, as Apollo Client's persisted-query link and urql's
//! persistedExchange speak them: the hash alone first, `PersistedQueryNotFound` in an HTTP
//! 200, the retry with the document, then the hash alone served. Over POST, over GET (a
//! cacheable URL, still no mutations) and over WebSocket.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helpers::{Response, TestApp, assert_bad_input};

/// What Apollo Client's HttpLink sends as `Accept`.
const APOLLO_ACCEPT: &str = "application/graphql-response+json,application/json;q=0.9";
/// What urql's fetch exchange sends as `Accept`.
const URQL_ACCEPT: &str = "application/graphql-response+json, application/graphql+json, \
                           application/json, text/event-stream, multipart/mixed";

const TITLES: &str = "query Titles($first: Int) { todos(first: $first) { nodes { title } } }";
const CREATE: &str =
    "mutation Create($title: String!) { createTodo(input: { title: $title }) { title } }";

/// The lower-case hex SHA-256 of a document, as the clients compute it.
fn sha256(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// The exact body both clients look for before retrying with the document.
fn assert_not_found(response: &Response) {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(
        response.json(),
        json!({ "errors": [{
            "message": "PersistedQueryNotFound",
            "extensions": { "code": "PERSISTED_QUERY_NOT_FOUND" },
        }] })
    );
}

/// A request with `operationName`, `variables` and the hash, and no `query`: the first
/// request of the protocol.
fn hash_only(
    app: &TestApp,
    token: &str,
    name: &str,
    document: &str,
    variables: Value,
) -> crate::helpers::request::Request {
    app.at("/graphql")
        .token(token)
        .operation_name(name)
        .variables(variables)
        .extensions(persisted(&sha256(document)))
}

/// How a client sends its requests.
#[derive(Clone, Copy)]
enum Method {
    Post,
    Get,
}

async fn send(request: crate::helpers::request::Request, method: Method) -> Response {
    match method {
        Method::Post => request.send().await,
        Method::Get => request.get().await,
    }
}

/// The whole protocol over `method` with a client's `accept`: the hash alone is not found,
/// the retry with the document runs and stores it, then the hash alone is served.
async fn apollo_flow(app: &TestApp, method: Method, accept: &str) {
    let token = app.user("apq").await;
    app.create_todo(&token, json!({ "title": "persisted" }))
        .await;
    let vars = json!({ "first": 5 });
    let hashed =
        |vars: Value| hash_only(app, &token, "Titles", TITLES, vars).header("accept", accept);
    assert_not_found(&send(hashed(vars.clone()), method).await);
    let retry = app
        .request(TITLES)
        .token(&token)
        .operation_name("Titles")
        .variables(vars.clone())
        .extensions(persisted(&sha256(TITLES)))
        .header("accept", accept);
    let expected = json!({ "todos": { "nodes": [{ "title": "persisted" }] } });
    assert_eq!(send(retry, method).await.data(), expected);
    assert_eq!(send(hashed(vars), method).await.data(), expected);
    // Other variables, the same stored document.
    let none = send(hashed(json!({ "first": 0 })), method).await;
    assert_eq!(none.data(), json!({ "todos": { "nodes": [] } }));
}

backend_tests!(apollo_flow_over_post, |app| {
    apollo_flow(app, Method::Post, APOLLO_ACCEPT).await;
});

backend_tests!(apollo_flow_over_get, |app| {
    apollo_flow(app, Method::Get, URQL_ACCEPT).await;
});

backend_tests!(
    a_mutation_by_hash_is_refused_over_get_and_runs_over_post,
    |app| {
        let token = app.user("apq-mutation").await;
        let vars = json!({ "title": "first" });
        assert_not_found(
            &hash_only(app, &token, "Create", CREATE, vars.clone())
                .send()
                .await,
        );
        let created = app
            .request(CREATE)
            .token(&token)
            .operation_name("Create")
            .variables(vars)
            .extensions(persisted(&sha256(CREATE)))
            .send()
            .await;
        assert_eq!(
            created.data(),
            json!({ "createTodo": { "title": "first" } })
        );
        let vars = json!({ "title": "second" });
        let over_get = hash_only(app, &token, "Create", CREATE, vars.clone())
            .get()
            .await;
        assert_eq!(
            over_get.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{}",
            over_get.text
        );
        assert_eq!(over_get.header("allow"), Some("POST"));
        let over_post = hash_only(app, &token, "Create", CREATE, vars).send().await;
        assert_eq!(
            over_post.data(),
            json!({ "createTodo": { "title": "second" } })
        );
        let titles: Vec<Value> = app
            .all_todos(&token)
            .await
            .iter()
            .map(|todo| todo["title"].clone())
            .collect();
        assert_eq!(titles.len(), 2, "the refused GET wrote nothing: {titles:?}");
    }
);

backend_tests!(a_hash_that_is_not_the_documents_is_refused, |app| {
    let token = app.user("apq-mismatch").await;
    let wrong = app
        .request(TITLES)
        .token(&token)
        .extensions(persisted(&sha256("{ me { id } }")))
        .send()
        .await;
    assert_bad_input(&wrong.error(), "extensions.persistedQuery.sha256Hash");
    // Upper-case hex names the same hash.
    let upper = app
        .request(TITLES)
        .token(&token)
        .extensions(persisted(&sha256(TITLES).to_ascii_uppercase()))
        .send()
        .await;
    assert_eq!(upper.data(), json!({ "todos": { "nodes": [] } }));
    // The mismatching request stored nothing under the hash it sent.
    let never_stored = hash_only(app, &token, "Me", "{ me { id } }", json!({}))
        .send()
        .await;
    assert_not_found(&never_stored);
});

backend_tests!(other_versions_and_malformed_hashes_are_refused, |app| {
    let hash = sha256(TITLES);
    for (extensions, says) in [
        (
            json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
            "version 2",
        ),
        (
            json!({ "persistedQuery": { "sha256Hash": hash } }),
            "version: 1",
        ),
        (
            json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
            "64",
        ),
        (json!({ "persistedQuery": "abc" }), "version: 1"),
    ] {
        for accept in [APOLLO_ACCEPT, "application/json"] {
            let response = app
                .at("/graphql")
                .extensions(extensions.clone())
                .header("accept", accept)
                .send()
                .await;
            let body = response.json();
            let error = &body["errors"][0];
            assert_bad_input(error, "extensions.persistedQuery");
            let message = error["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{message} should say {says}");
            let status = if accept == APOLLO_ACCEPT {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            assert_eq!(response.status, status, "{accept}: {body}");
        }
    }
});

backend_tests!(persisted_queries_work_over_websocket, |app| {
    let token = app.user("apq-ws").await;
    app.create_todo(&token, json!({ "title": "socket" })).await;
    let mut ws = app.ws_ready(Some(&token)).await;
    let subscribe = |id: &str, query: Option<&str>| {
        let mut payload = json!({
            "operationName": "Titles",
            "variables": { "first": 5 },
            "extensions": persisted(&sha256(TITLES)),
        });
        if let Some(query) = query {
            payload["query"] = json!(query);
        }
        json!({ "type": "subscribe", "id": id, "payload": payload })
    };
    ws.send(subscribe("1", None)).await;
    let missing = ws.next_skipping_pings().await;
    assert_eq!(missing["type"], "error", "{missing}");
    assert_eq!(
        missing["payload"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let expected = json!({ "data": { "todos": { "nodes": [{ "title": "socket" }] } } });
    for (id, query) in [("2", Some(TITLES)), ("3", None)] {
        ws.send(subscribe(id, query)).await;
        let next = ws.next_skipping_pings().await;
        assert_eq!(next["type"], "next", "{next}");
        assert_eq!(next["payload"], expected);
        let complete = ws.next_skipping_pings().await;
        assert_eq!(complete, json!({ "type": "complete", "id": id }));
    }
});
