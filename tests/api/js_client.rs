//! The `graphql-ws` JavaScript client library, the one Apollo Client, urql and GraphiQL
//! use, driving `todoEvents` end to end against the real server (`tests/js/subscribe.mjs`:
//! a 4403 retried with a fresh token, live events for HTTP writes, a `since` replay).

use crate::helpers::node;

backend_tests!(the_graphql_ws_client_follows_todo_events, |app| {
    if !node::installed("graphql-ws") {
        return;
    }
    let stdout = node::run("subscribe.mjs", app.url("")).await;
    assert!(
        stdout.contains("\"ok\":true"),
        "unexpected output: {stdout}"
    );
});
