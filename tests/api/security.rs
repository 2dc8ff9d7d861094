//! Each guard of the hardening issue, attacked: the attack is sent and the refusal checked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Response, assert_bad_input, assert_code, assert_reason, reason};

const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
const SIGNUP: &str = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }";

/// The most demanding query the README shows: a full page of 100 with every field.
pub const README_DEEPEST: &str = "{ me { id email displayName todoCounts { all active completed } }
  todos(first: 100, orderBy: { field: PRIORITY, direction: DESC }) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id title notes completed completedAt priority dueAt createdAt updatedAt version } } } }";

backend_tests!(limits_refuse_deep_wide_and_aliased_documents, |app| {
    let token = app.user("limits").await;
    let deep = format!("{{ {}x{} }}", "a { ".repeat(11), " }".repeat(11));
    let error = app.gql_err(Some(&token), &deep, json!({})).await;
    assert_reason(&error, "BAD_USER_INPUT", "QUERY_TOO_DEEP");

    let aliases: String = (0..16).map(|i| format!("a{i}: __typename ")).collect();
    let error = app
        .gql_err(None, &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_reason(&error, "BAD_USER_INPUT", "TOO_MANY_ALIASES");

    // 2,000 aliased __typename fields: async-graphql's complexity limit alone lets them by;
    // the document's size stops them before they are parsed.
    let bomb: String = (0..2000).map(|i| format!("a{i}:__typename ")).collect();
    let error = app.gql_err(None, &format!("{{{bomb}}}"), json!({})).await;
    assert_reason(&error, "BAD_USER_INPUT", "DOCUMENT_TOO_LARGE");

    let wide: String = (0..10)
        .map(|i| format!("t{i}: todos(first: 100) {{ nodes {{ id }} }} "))
        .collect();
    let error = app
        .gql_err(Some(&token), &format!("{{ {wide} }}"), json!({}))
        .await;
    assert_reason(&error, "BAD_USER_INPUT", "QUERY_TOO_COMPLEX");

    let directives = "{ me @include(if: true) { id @skip(if: false) email @skip(if: false) } }"
        .replace(
            "email @skip(if: false)",
            &"email @skip(if: false) ".repeat(10),
        );
    let error = app.gql_err(Some(&token), &directives, json!({})).await;
    assert_reason(&error, "BAD_USER_INPUT", "TOO_MANY_DIRECTIVES");

    let data = app.gql_ok(Some(&token), README_DEEPEST, json!({})).await;
    assert_eq!(data["todos"]["totalCount"], 0);
});

backend_tests!(introspection_passes_in_development, |app| {
    let data = app.gql_ok(None, INTROSPECTION, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
});

backend_tests!(
    production_hides_the_schema,
    ["--production", "true"],
    |app| {
        let error = app
            .gql_err(None, "{ __schema { types { name } } }", json!({}))
            .await;
        assert_code(&error, "BAD_USER_INPUT");
        let token = app.user("prod").await;
        let error = app
            .gql_err(Some(&token), "{ me { emial } }", json!({}))
            .await;
        assert_code(&error, "BAD_USER_INPUT");
        assert_eq!(
            error["message"],
            "Unknown field \"emial\" on type \"User\"."
        );
        let page = app.at("/graphql").header("accept", "text/html").get().await;
        assert!(
            !page.text.to_lowercase().contains("graphiql"),
            "{}",
            page.text
        );
    }
);

backend_tests!(bodies_batches_and_content_types_are_checked, |app| {
    let refused = |response: &Response, status: StatusCode| {
        assert_eq!(response.status, status, "{}", response.text);
        assert_bad_input(&response.json()["errors"][0], "request");
    };
    // A body over the limit is refused from its length before it is read; that answer can
    // race the upload through an ordinary client, so `http::a_body_over_the_limit_is_refused
    // _from_its_length` sends it over a raw socket instead.

    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    // Batching is off by default.
    refused(&app.raw_json(batch).send().await, StatusCode::BAD_REQUEST);

    let typename = app.request("{ __typename }");
    for kind in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = app
            .request("{ __typename }")
            .header("content-type", kind)
            .send()
            .await;
        refused(&response, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let preflighted = typename
        .header("content-type", "text/plain")
        .header("apollo-require-preflight", "1");
    assert_eq!(preflighted.send().await.data()["__typename"], "Query");

    let get = app
        .request("mutation { clearCompletedTodos { count } }")
        .get()
        .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
});

backend_tests!(
    batches_when_enabled_hold_at_most_the_limit,
    ["--graphql-batch-max", "10"],
    |app| {
        let batch = |n: usize| {
            let ops = vec![json!({ "query": "{ __typename }" }); n];
            app.raw_json(Value::Array(ops).to_string())
        };
        let ok = batch(10).send().await;
        assert_eq!(ok.status, StatusCode::OK);
        let answer = json!({ "data": { "__typename": "Query" } });
        assert_eq!(ok.json(), Value::Array(vec![answer; 10]));
        let over = batch(11).send().await;
        assert_eq!(over.status, StatusCode::BAD_REQUEST);
        assert_bad_input(&over.json()["errors"][0], "request");
    }
);

backend_tests!(
    cors_allows_only_listed_origins,
    ["--cors-allowed-origins", "https://app.example"],
    |app| {
        let preflight = |origin: &str| {
            app.at("/graphql")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .method(reqwest::Method::OPTIONS)
        };
        let allowed = preflight("https://app.example").await;
        assert_eq!(
            allowed.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        let refused = preflight("https://evil.example").await;
        assert_eq!(refused.header("access-control-allow-origin"), None);
    }
);

backend_tests!(responses_carry_security_headers, |app| {
    let query = app.request("{ __typename }").get().await;
    let health = app.at("/healthz").get().await;
    let page = app.at("/graphql").header("accept", "text/html").get().await;
    for response in [&query, &health, &page] {
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
    }
    for response in [&query, &health] {
        assert_eq!(
            response.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    assert_eq!(query.header("cache-control"), Some("no-store"));
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("https://unpkg.com") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
});

backend_tests!(
    logins_are_limited_per_ip_counting_each_attempt,
    [
        "--auth-rate-limit-ip",
        "3/5m",
        "--auth-rate-limit-account",
        "off"
    ],
    |app| {
        let email = "ip-limit@example.com";
        let input = json!({ "input": { "email": email, "password": PASSWORD } });
        app.gql_ok(None, SIGNUP, input.clone()).await;
        for _ in 0..2 {
            app.gql_ok(None, LOGIN, input.clone()).await;
        }
        let error = app.gql_err(None, LOGIN, input.clone()).await;
        assert_code(&error, "RATE_LIMITED");
        let retry = error["extensions"]["retryAfter"]
            .as_u64()
            .unwrap_or_default();
        assert!((1..=300).contains(&retry), "{error}");
        // Another client behind an untrusted peer shares the peer's limit.
        let behind = app.request(LOGIN).variables(input);
        let behind = behind.header("x-forwarded-for", "203.0.113.9").send().await;
        assert_code(&behind.error(), "RATE_LIMITED");
    }
);

backend_tests!(
    forty_aliased_logins_are_refused_before_any_guess,
    ["--auth-rate-limit-account", "2/5m"],
    |app| {
        let email = "aliases@example.com";
        app.signup(email, PASSWORD).await;
        let guesses: String = (0..40)
            .map(|i| format!("g{i}: login(input: {{ email: \"{email}\", password: \"guess {i} x\" }}) {{ accessToken }} "))
            .collect();
        let error = app
            .gql_err(None, &format!("mutation {{ {guesses} }}"), json!({}))
            .await;
        assert_code(&error, "BAD_USER_INPUT");
        let two = "mutation { a: login(input: { email: \"x@example.com\", password: \"p1 p1 p1 p1\" }) { accessToken } \
                   b: login(input: { email: \"x@example.com\", password: \"p2 p2 p2 p2\" }) { accessToken } }";
        let error = app.gql_err(None, two, json!({})).await;
        assert_eq!(reason(&error), "TOO_MANY_AUTH_OPERATIONS");
        // No guess was made, so the account is not limited: the password still works.
        let input = json!({ "input": { "email": email, "password": PASSWORD } });
        app.gql_ok(None, LOGIN, input).await;
    }
);

backend_tests!(
    a_limited_account_refuses_even_the_right_password,
    ["--auth-rate-limit-account", "2/5m"],
    |app| {
        let email = "account-limit@example.com";
        app.signup(email, PASSWORD).await;
        let wrong = json!({ "input": { "email": email, "password": "not the password" } });
        for _ in 0..2 {
            let error = app.gql_err(None, LOGIN, wrong.clone()).await;
            assert_code(&error, "INVALID_CREDENTIALS");
        }
        let error = app.gql_err(None, LOGIN, wrong).await;
        assert_code(&error, "RATE_LIMITED");
        let right = json!({ "input": { "email": email, "password": PASSWORD } });
        let error = app.gql_err(None, LOGIN, right).await;
        assert_code(&error, "RATE_LIMITED");
        assert!(
            error["extensions"]["retryAfter"]
                .as_u64()
                .unwrap_or_default()
                >= 1
        );
        // An unknown email is limited the same way: the limit is no existence oracle.
        let ghost =
            json!({ "input": { "email": "ghost@example.com", "password": "not the password" } });
        for _ in 0..2 {
            assert_code(
                &app.gql_err(None, LOGIN, ghost.clone()).await,
                "INVALID_CREDENTIALS",
            );
        }
        assert_code(&app.gql_err(None, LOGIN, ghost).await, "RATE_LIMITED");
    }
);

backend_tests!(
    hashing_saturation_answers_rate_limited,
    [
        "--hashing-concurrency",
        "1",
        "--hashing-queue-timeout",
        "1ms",
        // 16 signups and the logins that check them exceed the 30 attempts per IP.
        "--auth-rate-limit-ip",
        "off"
    ],
    |app| {
        let signups = (0..16).map(|i| {
            let input = json!({ "input": { "email": format!("storm{i}@example.com"), "password": PASSWORD } });
            app.gql(None, SIGNUP, input)
        });
        let results = futures_util::future::join_all(signups).await;
        let codes: Vec<&str> = results
            .iter()
            .map(|(_, body)| {
                body["errors"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or("OK")
            })
            .collect();
        assert!(codes.contains(&"OK"), "{codes:?}");
        assert!(codes.contains(&"RATE_LIMITED"), "{codes:?}");
        assert!(
            codes.iter().all(|c| matches!(*c, "OK" | "RATE_LIMITED")),
            "{codes:?}"
        );
        // Each signup that was turned away made no account: its email is still free.
        let refused = results
            .iter()
            .zip(0..)
            .filter(|((_, body), _)| body.get("errors").is_some());
        for (_, i) in refused {
            let input = json!({ "input": { "email": format!("storm{i}@example.com"), "password": PASSWORD } });
            let error = app.gql_err(None, LOGIN, input).await;
            assert_code(&error, "INVALID_CREDENTIALS");
        }
    }
);

backend_tests!(weak_passwords_are_refused_with_a_reason, |app| {
    for (email, password, why) in [
        ("weak1@example.com", "password123", "too easy to guess"),
        ("weak2@example.com", "12345678", "too easy to guess"),
        ("weak3@example.com", "qwertyuiop", "too easy to guess"),
        (
            "jonathan.harker@example.com",
            "jonathanharker",
            "must not contain your email address",
        ),
    ] {
        let input = json!({ "input": { "email": email, "password": password } });
        let error = app.gql_err(None, SIGNUP, input).await;
        assert_code(&error, "BAD_USER_INPUT");
        assert_eq!(error["extensions"]["field"], "input.password");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{password}: {message}");
    }
});

backend_tests!(
    the_minimum_length_is_configurable,
    ["--password-min-length", "15"],
    |app| {
        let input = json!({ "input": { "email": "len@example.com", "password": "Tr4ck-Sh0rt!" } });
        let error = app.gql_err(None, SIGNUP, input).await;
        assert_bad_input(&error, "input.password");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("at least 15")),
            "{error}"
        );
    }
);

backend_tests!(
    a_request_over_its_time_limit_is_stopped,
    ["--request-timeout", "1ms"],
    |app| {
        let input = json!({ "input": { "email": "slow@example.com", "password": PASSWORD } });
        let error = app.gql_err(None, SIGNUP, input).await;
        assert_reason(&error, "INTERNAL_SERVER_ERROR", "TIMEOUT");
    }
);

/// The introspection query GraphiQL sends.
const INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name }
  subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description
  args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description
  isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }";
