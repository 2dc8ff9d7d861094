//! GraphQL over HTTP conformance: the audits of the `graphql-http` package
//! (`tests/js/audit.mjs`) run against the real server, and every one of them must pass,
//! with no warning and no notice.

use serde_json::Value;

use crate::helpers::node;

/// How many audits graphql-http 1.x runs.
const AUDITS: usize = 61;

backend_tests!(every_graphql_over_http_audit_passes, |app| {
    if !node::installed("graphql-http") {
        return;
    }
    let stdout = node::run("audit.mjs", app.url("")).await;
    let report: Vec<Value> = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("a JSON report ({err}):\n{stdout}"));
    assert_eq!(report.len(), AUDITS, "{stdout}");
    let failed: Vec<&Value> = report
        .iter()
        .filter(|audit| audit["status"] != "ok")
        .collect();
    assert!(failed.is_empty(), "audits not ok: {failed:#?}");
});
