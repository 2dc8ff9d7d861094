//! Quotas and write limits: `MAX_TODOS_PER_USER` refuses a create past it with
//! `QUOTA_EXCEEDED` and `limit`, even under concurrent creates, and deletes free room;
//! `WRITE_RATE_LIMIT` counts every todo mutation field (aliases each) and answers
//! `RATE_LIMITED` with `retryAfter` before writing; `off` turns it off.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_code};

const CREATE: &str = "mutation($input: CreateTodoInput!) { createTodo(input: $input) { id } }";

async fn create(app: &TestApp, token: &str, title: &str) -> (bool, Value) {
    let (_, body) = app
        .gql(Some(token), CREATE, json!({ "input": { "title": title } }))
        .await;
    let ok = body.get("errors").is_none();
    (ok, body)
}

fn titles(todos: &[Value]) -> Vec<String> {
    let mut titles: Vec<String> = todos
        .iter()
        .map(|t| t["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    titles.sort();
    titles
}

fn assert_quota(body: &Value, limit: i64) {
    let error = assert_code(&body["errors"][0], "QUOTA_EXCEEDED");
    assert_eq!(error["extensions"]["limit"], limit, "{body}");
}

/// `n` creates aliased in one document.
fn aliased_creates(n: usize) -> String {
    let fields: String = (0..n)
        .map(|i| format!("c{i}: createTodo(input: {{ title: \"t{i}\" }}) {{ id }} "))
        .collect();
    format!("mutation {{ {fields}}}")
}

backend_tests!(
    creates_past_the_quota_are_refused,
    ["--max-todos-per-user", "3"],
    |app| {
        let token = app.user("ann").await;
        for title in ["a", "b", "c"] {
            assert!(create(app, &token, title).await.0);
        }
        let (ok, body) = create(app, &token, "d").await;
        assert!(!ok);
        assert_quota(&body, 3);
        assert_eq!(titles(&app.all_todos(&token).await), ["a", "b", "c"]);

        // Someone else's quota is their own.
        let bob = app.user("bob").await;
        assert!(create(app, &bob, "bob's").await.0);

        // A delete frees one slot, and clearing completed todos frees theirs.
        let first = app.all_todos(&token).await[0]["id"].clone();
        app.delete_todo(&token, first.as_str().expect("an id"))
            .await;
        assert!(create(app, &token, "d").await.0);
        assert_quota(&create(app, &token, "e").await.1, 3);
        app.set_all_completed(&token, true).await;
        app.clear_completed(&token).await;
        let (_, body) = app.gql(Some(&token), &aliased_creates(5), json!({})).await;
        let refused: Vec<&Value> = body["errors"].as_array().into_iter().flatten().collect();
        assert_eq!(refused.len(), 2, "{body}");
        for (error, path) in refused.into_iter().zip(["c3", "c4"]) {
            assert_eq!(error["path"], json!([path]), "{body}");
            assert_quota(&json!({ "errors": [error] }), 3);
        }
        assert_eq!(titles(&app.all_todos(&token).await), ["t0", "t1", "t2"]);
        assert_eq!(app.counts(&token).await, (3, 3, 0));
    }
);

backend_tests!(
    concurrent_creates_stop_at_the_quota,
    ["--max-todos-per-user", "3"],
    |app| {
        let token = app.user("ann").await;
        let creates = (0..10).map(|i| {
            let token = token.clone();
            async move { create(app, &token, &format!("t{i}")).await }
        });
        let results = futures_util::future::join_all(creates).await;
        let made = results.iter().filter(|(ok, _)| *ok).count();
        assert_eq!(made, 3, "{results:?}");
        for (_, body) in results.iter().filter(|(ok, _)| !ok) {
            assert_quota(body, 3);
        }
        assert_eq!(app.all_todos(&token).await.len(), 3);
        assert_eq!(app.counts(&token).await, (3, 3, 0));
    }
);

backend_tests!(
    every_todo_write_counts_against_the_rate,
    ["--write-rate-limit", "5/1m"],
    |app| {
        let ann = app.user("ann").await;
        let token = Some(ann.as_str());
        let data = app.gql_ok(token, &aliased_creates(2), json!({})).await;
        let (a, b) = (&data["c0"]["id"], &data["c1"]["id"]);
        let update = "mutation($id: ID!) { updateTodo(id: $id, input: { title: \"a2\" }) { id } \
                  all: setAllTodosCompleted(completed: true) { count } }";
        app.gql_ok(token, update, json!({ "id": a })).await;
        app.delete_todo(&ann, b.as_str().expect("an id")).await;
        let error = app
            .gql_err(
                token,
                "mutation { clearCompletedTodos { count } }",
                json!({}),
            )
            .await;
        assert_code(&error, "RATE_LIMITED");
        assert!(
            error["extensions"]["retryAfter"]
                .as_u64()
                .is_some_and(|s| (1..=60).contains(&s)),
            "{error}"
        );

        // Nothing was written by the refused one, reads are not counted, and others may write.
        let left = app.all_todos(&ann).await;
        assert_eq!(titles(&left), ["a2"]);
        assert_eq!(left[0]["completed"], true);
        let bob = app.user("bob").await;
        assert!(create(app, &bob, "bob's").await.0);
    }
);

backend_tests!(
    aliased_writes_count_each,
    ["--write-rate-limit", "3/1m"],
    |app| {
        let token = app.user("ann").await;
        let (_, body) = app.gql(Some(&token), &aliased_creates(4), json!({})).await;
        let error = assert_code(&body["errors"][0], "RATE_LIMITED");
        assert_eq!(error["path"], json!(["c3"]), "{body}");
        assert_eq!(titles(&app.all_todos(&token).await), ["t0", "t1", "t2"]);
    }
);

backend_tests!(
    the_write_limit_can_be_off,
    ["--write-rate-limit", "off"],
    |app| {
        let token = app.user("ann").await;
        for _ in 0..3 {
            app.gql_ok(Some(&token), &aliased_creates(15), json!({}))
                .await;
        }
        assert_eq!(app.counts(&token).await, (45, 45, 0));
    }
);
