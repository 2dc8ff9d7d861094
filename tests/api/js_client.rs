//! The `graphql-ws` JavaScript client library, the one Apollo Client, urql and GraphiQL
//! use, driving `todoEvents` end to end against the real server (`tests/js/subscribe.mjs`:
//! a 4403 retried with a fresh token, live events for HTTP writes, a `since` replay).
//! Needs `npm ci` in `tests/js`; without it the test is skipped, unless
//! `REQUIRE_JS_CLIENT=1` (as in CI) makes that a failure.

use std::path::Path;

fn client_installed() -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if dir.join("node_modules/graphql-ws").exists() {
        return true;
    }
    assert!(
        std::env::var("REQUIRE_JS_CLIENT").as_deref() != Ok("1"),
        "REQUIRE_JS_CLIENT=1 but tests/js has no node_modules: run `npm ci --prefix tests/js`"
    );
    eprintln!("skipped: the graphql-ws client is not installed (npm ci --prefix tests/js)");
    false
}

backend_tests!(the_graphql_ws_client_follows_todo_events, |app| {
    if !client_installed() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/subscribe.mjs");
    let url = app.url("");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .env("API_URL", url)
            .output()
    })
    .await
    .expect("the node task")
    .expect("node runs (Node 20 or later on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the graphql-ws client failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("\"ok\":true"),
        "unexpected output: {stdout}"
    );
});
