//! Queries and mutations over the socket: they run, and they answer and fail exactly as
//! over HTTP, through the same checks (document limits, the one-auth-mutation rule, the
//! rate limits).

use serde_json::json;

use crate::helpers::{PASSWORD, assert_code, assert_reason};

const CREATE: &str =
    "mutation($i: CreateTodoInput!) { createTodo(input: $i) { id title version } }";

backend_tests!(a_query_and_a_mutation_run_over_the_socket, |app| {
    let token = app.user("ann").await;
    let mut ws = app.ws_ready(Some(&token)).await;
    let created = ws
        .request("1", CREATE, json!({ "i": { "title": "Buy milk" } }))
        .await;
    assert_eq!(created["data"]["createTodo"]["title"], "Buy milk");
    assert_eq!(created["data"]["createTodo"]["version"], 1);
    let listed = ws
        .request("2", "{ todos { totalCount nodes { title } } }", json!({}))
        .await;
    assert_eq!(listed["data"]["todos"]["totalCount"], 1);
    let over_http = app
        .gql_ok(Some(&token), "{ todos { nodes { title } } }", json!({}))
        .await;
    assert_eq!(
        over_http["todos"]["nodes"],
        listed["data"]["todos"]["nodes"]
    );
});

backend_tests!(execution_errors_are_shaped_as_over_http, |app| {
    let token = app.user("ann").await;
    let todo = app.create_todo(&token, json!({ "title": "gone" })).await;
    let delete = "mutation($id: ID!) { deleteTodo(id: $id) }";
    let vars = json!({ "id": todo["id"] });
    app.gql_ok(Some(&token), delete, vars.clone()).await;
    let mut ws = app.ws_ready(Some(&token)).await;
    let over_ws = ws.request("1", delete, vars.clone()).await;
    let (_, over_http) = app.gql(Some(&token), delete, vars).await;
    assert_code(&over_ws["errors"][0], "NOT_FOUND");
    assert_eq!(over_ws, over_http);

    let mut anonymous = app.ws_ready(None).await;
    let me = anonymous.request("1", "{ me { id } }", json!({})).await;
    let (_, over_http) = app.gql(None, "{ me { id } }", json!({})).await;
    assert_code(&me["errors"][0], "UNAUTHENTICATED");
    assert_eq!(me, over_http);
});

backend_tests!(
    a_refused_document_gets_an_error_and_the_socket_stays_open,
    |app| {
        let mut ws = app.ws_ready(None).await;
        let aliases: String = (0..20).map(|i| format!("a{i}: __typename ")).collect();
        let aliases = format!("{{ {aliases}}}");
        let errors = ws.refused("1", &aliases, json!({})).await;
        assert_reason(&errors[0], "BAD_USER_INPUT", "TOO_MANY_ALIASES");
        let (_, over_http) = app.gql(None, &aliases, json!({})).await;
        assert_eq!(errors, over_http["errors"]);
        let parse = ws.refused("2", "{ me ", json!({})).await;
        assert_code(&parse[0], "BAD_USER_INPUT");
        let unknown = ws.refused("3", "{ nope }", json!({})).await;
        assert_code(&unknown[0], "BAD_USER_INPUT");
        ws.assert_open().await;
        // A finished operation's id may be used again.
        let again = ws.request("1", "{ __typename }", json!({})).await;
        assert_eq!(again, json!({ "data": { "__typename": "Query" } }));
    }
);

backend_tests!(
    auth_mutations_keep_their_rules_and_rate_limits,
    ["--auth-rate-limit-ip", "3/5m"],
    |app| {
        app.signup("ann@example.com", PASSWORD).await;
        let mut ws = app.ws_ready(None).await;
        let two = "mutation { a: login(input: { email: \"ann@example.com\", password: \"x\" }) { accessToken } \
                   b: login(input: { email: \"ann@example.com\", password: \"y\" }) { accessToken } }";
        let errors = ws.refused("1", two, json!({})).await;
        assert_reason(&errors[0], "BAD_USER_INPUT", "TOO_MANY_AUTH_OPERATIONS");
        let login = "mutation($p: String!) { login(input: { email: \"ann@example.com\", password: $p }) { accessToken } }";
        // The signup over HTTP was the first attempt from this address.
        for expected in ["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "RATE_LIMITED"] {
            let answer = ws
                .request("2", login, json!({ "p": "wrong password" }))
                .await;
            assert_code(&answer["errors"][0], expected);
        }
        let (_, over_http) = app.gql(None, login, json!({ "p": PASSWORD })).await;
        assert_code(&over_http["errors"][0], "RATE_LIMITED");
    }
);

backend_tests!(operations_on_one_socket_run_concurrently, |app| {
    let token = app.user("ann").await;
    let mut ws = app.ws_ready(Some(&token)).await;
    for i in 0..10 {
        let id = format!("c{i}");
        let input = json!({ "i": { "title": format!("todo {i}") } });
        ws.subscribe(&id, CREATE, input).await;
    }
    let mut completed = 0;
    while completed < 10 {
        let message = ws.next_skipping_pings().await;
        match message["type"].as_str() {
            Some("next") => assert!(message["payload"].get("errors").is_none(), "{message}"),
            Some("complete") => completed += 1,
            _ => panic!("unexpected: {message}"),
        }
    }
    let count = app
        .gql_ok(Some(&token), "{ todos { totalCount } }", json!({}))
        .await;
    assert_eq!(count["todos"]["totalCount"], 10);
});

backend_tests!(websocket_metrics_are_exported, |app| {
    let mut ws = app.ws_ready(None).await;
    ws.request("1", "query Probe { __typename }", json!({}))
        .await;
    let metrics = app.at("/metrics").get().await.text;
    for line in [
        "ws_connections_open 1",
        "ws_messages_sent_total{type=\"connection_ack\"} 1",
        "ws_messages_sent_total{type=\"next\"} 1",
        "ws_messages_sent_total{type=\"complete\"} 1",
        "graphql_requests_total{operation=\"Probe\",outcome=\"OK\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line:?} in:\n{metrics}");
    }
});
