//! Each attack class of the untrusted-input issue, sent to the real server as an attacker
//! would, with no token unless the attack needs one: the refusal is checked, then that the
//! process still serves (`/healthz`, and a real query). The time each took is printed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_bad_input, assert_code, reason};

/// The process still answers: `/healthz` within 2 s, and a real query.
async fn still_serving(app: &TestApp) {
    let health = tokio::time::timeout(Duration::from_secs(2), app.at("/healthz").get())
        .await
        .expect("/healthz answers within 2 s");
    assert_eq!(health.status, StatusCode::OK);
    let data = app.gql_ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
}

/// POSTs `query` anonymously, expects one refusal with `reason`, and says how long it took.
async fn refused(app: &TestApp, what: &str, query: &str, expected: &str) -> Value {
    let started = Instant::now();
    let error = app.gql_err(None, query, json!({})).await;
    eprintln!("{what}: refused in {:?}", started.elapsed());
    assert_code(&error, "BAD_USER_INPUT");
    assert_eq!(reason(&error), expected, "{what}: {error}");
    assert_eq!(error["extensions"]["field"], "query", "{error}");
    error
}

/// `inner` inside `n` pairs of `open` and `close`.
fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

/// A chain of `n` fragments, each spreading the next twice: 2^n fields once inlined.
fn doubling_chain(n: usize) -> String {
    let mut query = String::from("{ ...F0 }");
    for i in 0..n {
        query.push_str(&format!(
            " fragment F{i} on Query{{...F{} ...F{}}}",
            i + 1,
            i + 1
        ));
    }
    query.push_str(&format!(" fragment F{n} on Query{{__typename}}"));
    query
}

backend_tests!(
    fragment_cycles_are_refused_over_post_and_get,
    ["--production", "true"],
    |app| {
        let cycles = [
            ("self", "{ ...A } fragment A on Query { ...A }"),
            (
                "pair",
                "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            ),
            (
                "under a field",
                "{ me { ...U } } fragment U on User { id todoCounts { all } ...U }",
            ),
            ("unused", "{ __typename } fragment A on Query { ...A }"),
        ];
        for (what, query) in cycles {
            let error = refused(app, what, query, "FRAGMENT_CYCLE").await;
            assert!(
                error["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("spreads itself"))
            );
        }
        refused(app, "unknown", "{ ...Nope }", "UNKNOWN_FRAGMENT").await;
        // Over GET, as a cross-site <img> would send it.
        let cycle = app.request("{ ...A } fragment A on Query { ...A }");
        let body = cycle.get().await.json();
        assert_code(&body["errors"][0], "BAD_USER_INPUT");
        assert_eq!(reason(&body["errors"][0]), "FRAGMENT_CYCLE", "{body}");
        assert_eq!(body["data"], Value::Null, "{body}");
        still_serving(app).await;
    }
);

backend_tests!(fragment_bombs_are_refused_without_being_walked, |app| {
    for n in [12, 30, 64, 150] {
        let query = doubling_chain(n);
        refused(
            app,
            &format!("a doubling chain of {n}"),
            &query,
            "TOO_MANY_SELECTIONS",
        )
        .await;
    }
    // Two at once, while /healthz must still answer.
    let (first, second) = (doubling_chain(60), doubling_chain(61));
    let (a, b, _) = tokio::join!(
        app.gql(None, &first, json!({})),
        app.gql(None, &second, json!({})),
        still_serving(app),
    );
    assert_eq!(reason(&a.1["errors"][0]), "TOO_MANY_SELECTIONS");
    assert_eq!(reason(&b.1["errors"][0]), "TOO_MANY_SELECTIONS");
    // Fragments a real client writes still pass: a diamond, used twice.
    let token = app.user("fragments").await;
    let data = app
        .gql_ok(
            Some(&token),
            "{ me { ...Who } a: todos(first: 2) { ...Page } b: todos(last: 2) { ...Page } }
             fragment Who on User { id ...Counts }
             fragment Counts on User { todoCounts { all } }
             fragment Page on TodoConnection { totalCount nodes { ...Row } }
             fragment Row on Todo { id title }",
            json!({}),
        )
        .await;
    assert_eq!(data["me"]["todoCounts"]["all"], 0);
    still_serving(app).await;
});

backend_tests!(introspection_is_bounded_and_still_serves_tools, |app| {
    // possibleTypes { interfaces { possibleTypes ... } } grows the answer 3^n.
    let mut nested = String::from("name");
    for i in 0..8 {
        let list = if i % 2 == 0 {
            "possibleTypes"
        } else {
            "interfaces"
        };
        nested = format!("{list} {{ {nested} }}");
    }
    let amplification = format!("{{ __schema {{ types {{ {nested} }} }} }}");
    refused(app, "introspection lists", &amplification, "QUERY_TOO_DEEP").await;
    let via_fragment = "{ __type(name: \"Node\") { ...P } } fragment P on __Type { possibleTypes { interfaces { possibleTypes { name } } } }";
    refused(
        app,
        "introspection lists in a fragment",
        via_fragment,
        "QUERY_TOO_DEEP",
    )
    .await;
    let of_type = format!(
        "{{ __type(name: \"Todo\") {{ {}name{} }} }}",
        "ofType { ".repeat(24),
        " }".repeat(24)
    );
    refused(app, "ofType chain", &of_type, "QUERY_TOO_DEEP").await;
    for (tool, query) in [
        ("GraphiQL / graphql-js", GRAPHQL_JS_INTROSPECTION),
        ("graphql-codegen", CODEGEN_INTROSPECTION),
        ("Apollo", APOLLO_INTROSPECTION),
    ] {
        let started = Instant::now();
        let response = app.request(query).send().await;
        let data = response.data();
        let types = data["__schema"]["types"].as_array().expect("types");
        assert!(types.iter().any(|t| t["name"] == "Todo"), "{tool}");
        let size = response.text.len();
        eprintln!("{tool}: {size} bytes in {:?}", started.elapsed());
    }
    still_serving(app).await;
});

backend_tests!(deep_nesting_is_refused_before_parsing, |app| {
    let selections = format!("{{ {} }}", nested("me { ", "__typename", " }", 300));
    refused(app, "300 nested selections", &selections, "QUERY_TOO_DEEP").await;
    let list = format!(
        "{{ todos(filter: {{ priorityIn: {} }}) {{ totalCount }} }}",
        nested("[", "HIGH", "]", 900)
    );
    refused(app, "900 nested lists", &list, "QUERY_TOO_DEEP").await;
    let object = format!(
        "{{ todos(filter: {}) {{ totalCount }} }}",
        nested("{ search: ", "", " }", 500)
    );
    refused(app, "500 nested input objects", &object, "QUERY_TOO_DEEP").await;
    // Just under the bound the parser takes it, and validation refuses the type.
    let at_bound = format!(
        "{{ todos(filter: {{ priorityIn: {} }}) {{ totalCount }} }}",
        nested("[", "HIGH", "]", 60)
    );
    let error = app.gql_err(None, &at_bound, json!({})).await;
    assert_code(&error, "BAD_USER_INPUT");
    assert!(error["extensions"]["reason"].is_null(), "{error}");
    // Variables are JSON: deep nesting there is a clean refusal too, not a crash.
    let deep_json = format!(
        "{{\"query\":\"query($f: TodoFilter) {{ todos(filter: $f) {{ totalCount }} }}\",\"variables\":{{\"f\":{}1{}}}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let response = app.raw_json(deep_json).send().await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_bad_input(&response.json()["errors"][0], "request");
    let token = app.user("nested").await;
    let mut value = json!("x");
    for _ in 0..100 {
        value = json!([value]);
    }
    let error = app
        .gql_err(
            Some(&token),
            "query($f: TodoFilter) { todos(filter: $f) { totalCount } }",
            json!({ "f": value }),
        )
        .await;
    assert_code(&error, "BAD_USER_INPUT");
    still_serving(app).await;
});

backend_tests!(
    answers_over_the_response_limit_are_refused,
    ["--max-response-bytes", "20000"],
    |app| {
        let token = app.user("big").await;
        let notes = "n".repeat(5000);
        for i in 0..5 {
            app.create_todo(&token, json!({ "title": format!("t{i}"), "notes": notes }))
                .await;
        }
        let error = app
            .gql_err(
                Some(&token),
                "{ todos(first: 5) { nodes { notes } } }",
                json!({}),
            )
            .await;
        assert_code(&error, "BAD_USER_INPUT");
        assert_eq!(reason(&error), "RESPONSE_TOO_LARGE", "{error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("20000 bytes"))
        );
        let data = app
            .gql_ok(
                Some(&token),
                "{ todos(first: 2) { nodes { notes } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["todos"]["nodes"].as_array().map(Vec::len), Some(2));
        // The whole standard introspection answer is larger than this limit too.
        let error = app.gql_err(None, GRAPHQL_JS_INTROSPECTION, json!({})).await;
        assert_eq!(reason(&error), "RESPONSE_TOO_LARGE", "{error}");
        still_serving(app).await;
    }
);

backend_tests!(
    a_batch_shares_one_response_limit,
    ["--graphql-batch-max", "3", "--max-response-bytes", "6000"],
    |app| {
        let token = app.user("batch").await;
        app.create_todo(&token, json!({ "title": "t", "notes": "n".repeat(2500) }))
            .await;
        // Each answer alone fits; the three together do not.
        let one = json!({ "query": "{ todos(first: 1) { nodes { notes } } }" });
        let body = serde_json::to_vec(&json!([one, one, one])).expect("a JSON batch");
        let response = app.raw_json(body).token(&token).send().await;
        assert_eq!(response.status, StatusCode::OK);
        let answers = response.json();
        let answers = answers.as_array().expect("a JSON array");
        assert_eq!(answers.len(), 3);
        for answer in &answers[..2] {
            assert!(answer.get("errors").is_none(), "{answer}");
        }
        assert_eq!(reason(&answers[2]["errors"][0]), "RESPONSE_TOO_LARGE");
        assert!(response.text.len() <= 6000, "{} bytes", response.text.len());
        still_serving(app).await;
    }
);

const CHANGE: &str = "mutation($current: String!, $new: String!) {
    changePassword(currentPassword: $current, newPassword: $new) { accessToken } }";
const DELETE: &str = "mutation($password: String!) { deleteAccount(password: $password) }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
const NEW_PASSWORD: &str = "a quite different passphrase 42";

backend_tests!(
    password_checks_count_toward_the_account_limit,
    ["--auth-rate-limit-account", "3/5m"],
    |app| {
        let token = app.signup("oracle@example.com", PASSWORD).await.access;
        let aliased =
            "mutation { a: deleteAccount(password: \"x\") b: deleteAccount(password: \"y\") }";
        let error = app.gql_err(Some(&token), aliased, json!({})).await;
        assert_eq!(reason(&error), "TOO_MANY_AUTH_OPERATIONS", "{error}");
        let mixed = "mutation { deleteAccount(password: \"x\") login(input: { email: \"oracle@example.com\", password: \"y\" }) { accessToken } }";
        let error = app.gql_err(Some(&token), mixed, json!({})).await;
        assert_eq!(reason(&error), "TOO_MANY_AUTH_OPERATIONS", "{error}");

        // One failed login, one failed deleteAccount, one failed changePassword: the limit.
        let wrong = |p: &str| json!({ "input": { "email": "oracle@example.com", "password": p } });
        let error = app.gql_err(None, LOGIN, wrong("wrong one")).await;
        assert_code(&error, "INVALID_CREDENTIALS");
        let error = app
            .gql_err(Some(&token), DELETE, json!({ "password": "wrong two" }))
            .await;
        assert_code(&error, "INVALID_CREDENTIALS");
        let change = |current: &str| {
            let variables = json!({ "current": current, "new": NEW_PASSWORD });
            app.gql_err(Some(&token), CHANGE, variables)
        };
        assert_code(&change("wrong three").await, "INVALID_CREDENTIALS");
        let error = change("wrong four").await;
        assert_code(&error, "RATE_LIMITED");
        assert!(
            error["extensions"]["retryAfter"]
                .as_u64()
                .is_some_and(|s| s > 0)
        );

        // Now every password check is limited, the right password included.
        assert_code(&change(PASSWORD).await, "RATE_LIMITED");
        let error = app
            .gql_err(Some(&token), DELETE, json!({ "password": PASSWORD }))
            .await;
        assert_code(&error, "RATE_LIMITED");
        let error = app.gql_err(None, LOGIN, wrong(PASSWORD)).await;
        assert_code(&error, "RATE_LIMITED");
        // Nothing changed: the account and its password are as they were.
        let data = app
            .gql_ok(Some(&token), "{ me { email } }", json!({}))
            .await;
        assert_eq!(data["me"]["email"], "oracle@example.com");
        still_serving(app).await;
    }
);

/// graphql-js's `getIntrospectionQuery` with every option on, as GraphiQL sends it.
pub const GRAPHQL_JS_INTROSPECTION: &str = "query IntrospectionQuery {
  __schema { description queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } } } }
fragment FullType on __Type { kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name } } } } } } } } } }";

/// graphql-codegen's schema loader: graphql-js's query with its default options.
const CODEGEN_INTROSPECTION: &str = "query IntrospectionQuery {
  __schema { queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef }
    isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

/// Apollo's tooling (Rover, Studio's explorer): `__typename`s and a named operation.
const APOLLO_INTROSPECTION: &str = "query IntrospectionQuery {
  __schema { __typename queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType } directives { name description isRepeatable locations args { ...InputValue } } } }
fragment FullType on __Type { __typename kind name description specifiedByURL
  fields(includeDeprecated: true) { __typename name description args { ...InputValue } type { ...TypeRef }
    isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { __typename name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { __typename name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { __typename kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
