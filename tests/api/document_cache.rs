//! The document cache, seen through `/metrics`: a document sent again is a hit whatever
//! the transport, a refused one is refused again from the cache with the same error, the
//! operation is picked per request, and a small cache evicts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_code};

/// The cache's counters: hits, misses, evictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;

    fn sub(self, before: Counts) -> Counts {
        Counts {
            hits: self.hits - before.hits,
            misses: self.misses - before.misses,
            evictions: self.evictions - before.evictions,
        }
    }
}

async fn counts(app: &TestApp) -> Counts {
    let response = app.at("/metrics").get().await;
    assert_eq!(response.status, StatusCode::OK);
    let sample = |series: &str| {
        response
            .text
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0, |value| value.parse().expect("a counter"))
    };
    Counts {
        hits: sample("graphql_document_cache_lookups_total{result=\"hit\"}"),
        misses: sample("graphql_document_cache_lookups_total{result=\"miss\"}"),
        evictions: sample("graphql_document_cache_evictions_total"),
    }
}

/// Runs `query` anonymously over POST and returns the body.
async fn post(app: &TestApp, query: &str) -> Value {
    app.request(query).send().await.json()
}

backend_tests!(a_document_sent_again_is_a_hit_over_every_transport, |app| {
    const QUERY: &str = "query CacheHit { __typename }";
    let before = counts(app).await;
    assert_eq!(
        post(app, QUERY).await,
        json!({ "data": { "__typename": "Query" } })
    );
    let once = counts(app).await - before;
    assert_eq!((once.hits, once.misses), (0, 1), "{once:?}");
    assert_eq!(
        post(app, QUERY).await,
        json!({ "data": { "__typename": "Query" } })
    );
    assert_eq!(
        app.request(QUERY).get().await.data(),
        json!({ "__typename": "Query" })
    );
    let mut ws = app.ws_ready(None).await;
    let answer = ws.request("1", QUERY, json!({})).await;
    assert_eq!(answer, json!({ "data": { "__typename": "Query" } }));
    let after = counts(app).await - before;
    assert_eq!((after.hits, after.misses), (3, 1), "{after:?}");
});

backend_tests!(a_refused_document_is_refused_again_from_the_cache, |app| {
    let too_many_aliases = format!(
        "{{ {} }}",
        (0..16)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for query in ["{ me { id ", "{ nope }", too_many_aliases.as_str()] {
        let before = counts(app).await;
        let first = post(app, query).await;
        let second = post(app, query).await;
        assert_code(&first["errors"][0], "BAD_USER_INPUT");
        assert!(
            first.get("data").is_none(),
            "never ran, so no data: {first}"
        );
        assert_eq!(first, second, "the same refusal twice");
        let seen = counts(app).await - before;
        assert_eq!((seen.hits, seen.misses), (1, 1), "{query}: {seen:?}");
    }
});

backend_tests!(
    each_request_picks_its_operation_from_the_cached_document,
    |app| {
        const TWO: &str = "query One { one: __typename } query Two { two: __typename }";
        let before = counts(app).await;
        for (name, field) in [("One", "one"), ("Two", "two"), ("One", "one")] {
            let data = app.request(TWO).operation_name(name).send().await.data();
            assert_eq!(data, json!({ field: "Query" }), "{name}");
        }
        let unknown = app
            .request(TWO)
            .operation_name("Three")
            .send()
            .await
            .error();
        assert_code(&unknown, "BAD_USER_INPUT");
        let seen = counts(app).await - before;
        assert_eq!((seen.hits, seen.misses), (3, 1), "{seen:?}");
    }
);

backend_tests!(
    a_small_cache_evicts,
    ["--document-cache-entries", "2"],
    |app| {
        let query = |i: usize| format!("query Evict{i} {{ __typename }}");
        let before = counts(app).await;
        for i in 0..6 {
            assert_eq!(post(app, &query(i)).await["data"]["__typename"], "Query");
        }
        let seen = counts(app).await - before;
        assert_eq!(seen.misses, 6, "{seen:?}");
        assert!(seen.evictions >= 4, "six documents in two places: {seen:?}");
        // Which two stay is the cache's choice; at most two of the six can be hits, and
        // an evicted document still answers.
        let again = counts(app).await;
        for i in 0..6 {
            assert_eq!(post(app, &query(i)).await["data"]["__typename"], "Query");
        }
        let seen = counts(app).await - again;
        assert!(seen.hits <= 2 && seen.misses >= 4, "{seen:?}");
    }
);

backend_tests!(
    a_document_that_passed_validation_is_still_checked_where_the_request_can_change_it,
    |app| {
        // Its variables can make a document invalid after it ran once, so validation runs
        // in full for a document that declares any, every time.
        let token = app.user("validated").await;
        const PAGE: &str = "query Page($n: Int) { todos(first: $n) { nodes { id } } }";
        let bad = json!({ "n": "twenty" });
        let refused = |body: &Value| {
            assert!(body.get("data").is_none(), "never ran: {body}");
            body["errors"][0].clone()
        };
        let send = |variables: Value| app.request(PAGE).token(&token).variables(variables);
        let first = refused(&send(bad.clone()).send().await.json());
        assert_code(&first, "BAD_USER_INPUT");
        send(json!({ "n": 1 })).send().await.data();
        assert_eq!(refused(&send(bad).send().await.json()), first);

        // A document without variables that passed keeps answering as it did; picked by
        // another name it is refused as before.
        const LIST: &str = "query List { todos(first: 1) { nodes { id } } }";
        for _ in 0..3 {
            let data = app.request(LIST).token(&token).send().await.data();
            assert_eq!(data, json!({ "todos": { "nodes": [] } }));
        }
        let other = app.request(LIST).token(&token).operation_name("Other");
        assert_code(&refused(&other.send().await.json()), "BAD_USER_INPUT");

        // One that failed validation fails it every time.
        const WRONG: &str = "query Wrong { todos(first: 1) { nodes { nope } } }";
        let wrong = refused(&app.request(WRONG).token(&token).send().await.json());
        for _ in 0..2 {
            let again = app.request(WRONG).token(&token).send().await.json();
            assert_eq!(refused(&again), wrong);
        }
    }
);
