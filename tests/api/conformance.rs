//! GraphQL over HTTP conformance: the audits of the `graphql-http` package
//! (`tests/js/audit.mjs`) run against the real server, and every one of them must pass,
//! with no warning and no notice. Needs `npm ci` in `tests/js`; without it the test is
//! skipped, unless `REQUIRE_JS_CLIENT=1` (as in CI) makes that a failure.

use std::path::Path;

use serde_json::Value;

/// How many audits graphql-http 1.x runs.
const AUDITS: usize = 61;

fn auditor_installed() -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if dir.join("node_modules/graphql-http").exists() {
        return true;
    }
    assert!(
        std::env::var("REQUIRE_JS_CLIENT").as_deref() != Ok("1"),
        "REQUIRE_JS_CLIENT=1 but tests/js has no graphql-http: run `npm ci --prefix tests/js`"
    );
    eprintln!("skipped: graphql-http is not installed (npm ci --prefix tests/js)");
    false
}

backend_tests!(every_graphql_over_http_audit_passes, |app| {
    if !auditor_installed() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/audit.mjs");
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
        "the audit failed:\n{stdout}\n{stderr}"
    );
    let report: Vec<Value> = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("a JSON report ({err}):\n{stdout}\n{stderr}"));
    assert_eq!(report.len(), AUDITS, "{stdout}");
    let failed: Vec<&Value> = report
        .iter()
        .filter(|audit| audit["status"] != "ok")
        .collect();
    assert!(failed.is_empty(), "audits not ok: {failed:#?}");
});
