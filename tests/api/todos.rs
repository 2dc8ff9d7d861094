//! One todo at a time: create, read, update (partial, nulls, versions, conflicts), delete.

use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::{TODO_FIELDS, assert_bad_input, assert_code, id, time, update_query};

const CREATE_ID: &str = "mutation($input: CreateTodoInput!) { createTodo(input: $input) { id } }";

/// Asserts `after` equals `before` except in `changed`, with `version` one higher.
fn assert_only_changed(before: &Value, after: &Value, changed: &[&str]) {
    for field in TODO_FIELDS.split(' ') {
        if field == "version" {
            assert_eq!(
                after["version"],
                before["version"].as_i64().expect("a version") + 1
            );
        } else if field == "updatedAt" {
            assert!(
                time(&after[field]) >= time(&before[field]),
                "{before} -> {after}"
            );
        } else if !changed.contains(&field) {
            assert_eq!(
                after[field], before[field],
                "{field} must not change: {before} -> {after}"
            );
        }
    }
}

fn assert_recent(value: &Value) {
    let age = Utc::now() - time(value);
    assert!(
        age.num_seconds().abs() < 60,
        "a timestamp of now, got {value}"
    );
}

backend_tests!(create_applies_defaults_and_trims_the_title, |app| {
    let token = app.user("ann").await;
    let todo = app
        .create_todo(&token, json!({ "title": "  Buy milk \n" }))
        .await;
    assert_eq!(todo["title"], "Buy milk");
    assert_eq!(todo["notes"], Value::Null);
    assert_eq!(todo["completed"], false);
    assert_eq!(todo["completedAt"], Value::Null);
    assert_eq!(todo["priority"], "NONE");
    assert_eq!(todo["dueAt"], Value::Null);
    assert_eq!(todo["version"], 1);
    assert_recent(&todo["createdAt"]);
    assert!(time(&todo["updatedAt"]) >= time(&todo["createdAt"]));
    assert!(id(&todo).parse::<i64>().is_err(), "ids are opaque: {todo}");
});

backend_tests!(create_keeps_every_given_field, |app| {
    let token = app.user("ann").await;
    let input = json!({ "title": "Taxes", "notes": "forms in the drawer", "priority": "HIGH",
                        "dueAt": "2030-01-02T03:04:05Z", "completed": true });
    let todo = app.create_todo(&token, input).await;
    assert_eq!(todo["notes"], "forms in the drawer");
    assert_eq!(todo["priority"], "HIGH");
    assert_eq!(time(&todo["dueAt"]), time(&json!("2030-01-02T03:04:05Z")));
    assert_eq!(todo["completed"], true);
    assert_recent(&todo["completedAt"]);
    assert_eq!(app.read_todo(&token, id(&todo)).await, todo);
});

backend_tests!(title_must_be_1_to_500_chars_after_trimming, |app| {
    let token = app.user("ann").await;
    for title in [
        "".to_owned(),
        "   ".to_owned(),
        "\t\n".to_owned(),
        "x".repeat(501),
        "ü".repeat(501),
    ] {
        let error = app
            .gql_err(
                Some(&token),
                CREATE_ID,
                json!({ "input": { "title": title } }),
            )
            .await;
        assert_bad_input(&error, "input.title");
    }
    let long = app
        .create_todo(&token, json!({ "title": "ü".repeat(500) }))
        .await;
    assert_eq!(long["title"], "ü".repeat(500));
    let padded = format!("  {}  ", "y".repeat(500));
    let trimmed = app.create_todo(&token, json!({ "title": padded })).await;
    assert_eq!(trimmed["title"], "y".repeat(500));
    assert_eq!(
        app.counts(&token).await,
        (2, 2, 0),
        "refused todos leave no row"
    );
});

backend_tests!(notes_at_most_10000_chars, |app| {
    let token = app.user("ann").await;
    let input = json!({ "title": "t", "notes": "n".repeat(10_001) });
    let error = app
        .gql_err(Some(&token), CREATE_ID, json!({ "input": input }))
        .await;
    assert_bad_input(&error, "input.notes");
    let todo = app
        .create_todo(&token, json!({ "title": "t", "notes": "n".repeat(10_000) }))
        .await;
    assert_eq!(todo["notes"], "n".repeat(10_000));
    assert_eq!(app.counts(&token).await, (1, 1, 0));
});

backend_tests!(update_applies_the_same_input_rules, |app| {
    let token = app.user("ann").await;
    let todo = app.create_todo(&token, json!({ "title": "keep" })).await;
    let cases = [
        (json!({ "title": "  " }), "input.title"),
        (json!({ "title": "x".repeat(501) }), "input.title"),
        (json!({ "notes": "n".repeat(10_001) }), "input.notes"),
        (json!({ "title": null }), "input.title"),
        (json!({ "priority": null }), "input.priority"),
        (json!({ "completed": null }), "input.completed"),
    ];
    for (input, field) in cases {
        assert_bad_input(
            &app.update_todo_err(&token, id(&todo), input, None).await,
            field,
        );
    }
    assert_eq!(
        app.read_todo(&token, id(&todo)).await,
        todo,
        "refused updates change nothing"
    );
});

backend_tests!(todo_and_node_read_a_todo_back, |app| {
    let token = app.user("ann").await;
    let todo = app
        .create_todo(&token, json!({ "title": "read me", "priority": "LOW" }))
        .await;
    assert_eq!(app.read_todo(&token, id(&todo)).await, todo);
    let query = "query($id: ID!) { node(id: $id) { __typename id ... on Todo { title version } } }";
    let data = app
        .gql_ok(Some(&token), query, json!({ "id": id(&todo) }))
        .await;
    assert_eq!(
        data["node"],
        json!({ "__typename": "Todo", "id": id(&todo), "title": "read me", "version": 1 })
    );
    let me = app.gql_ok(Some(&token), "{ me { id } }", json!({})).await;
    let query = "query($id: ID!) { node(id: $id) { __typename id } }";
    let data = app
        .gql_ok(Some(&token), query, json!({ "id": me["me"]["id"] }))
        .await;
    assert_eq!(
        data["node"],
        json!({ "__typename": "User", "id": me["me"]["id"] })
    );
});

backend_tests!(update_changes_only_the_given_fields, |app| {
    let token = app.user("ann").await;
    let input = json!({ "title": "plan", "notes": "n", "priority": "HIGH",
                        "dueAt": "2031-05-06T07:08:09Z" });
    let v1 = app.create_todo(&token, input).await;
    let v2 = app
        .update_todo(&token, id(&v1), json!({ "priority": "LOW" }))
        .await;
    assert_eq!(v2["priority"], "LOW");
    assert_only_changed(&v1, &v2, &["priority"]);
    let v3 = app
        .update_todo(&token, id(&v1), json!({ "title": "  replan  " }))
        .await;
    assert_eq!(v3["title"], "replan");
    assert_only_changed(&v2, &v3, &["title"]);
    let v4 = app
        .update_todo(&token, id(&v1), json!({ "dueAt": "2032-01-01T00:00:00Z" }))
        .await;
    assert_eq!(time(&v4["dueAt"]), time(&json!("2032-01-01T00:00:00Z")));
    assert_only_changed(&v3, &v4, &["dueAt"]);
    assert_eq!(v4["version"], 4);
    assert_eq!(app.read_todo(&token, id(&v1)).await, v4);
});

backend_tests!(explicit_null_clears_notes_and_due_at, |app| {
    let token = app.user("ann").await;
    let input = json!({ "title": "t", "notes": "n", "dueAt": "2031-05-06T07:08:09Z" });
    let v1 = app.create_todo(&token, input).await;
    let v2 = app
        .update_todo(&token, id(&v1), json!({ "notes": null }))
        .await;
    assert_eq!(v2["notes"], Value::Null);
    assert_only_changed(&v1, &v2, &["notes"]);
    let v3 = app
        .update_todo(&token, id(&v1), json!({ "dueAt": null }))
        .await;
    assert_eq!(v3["dueAt"], Value::Null);
    assert_only_changed(&v2, &v3, &["dueAt"]);
    assert_eq!(app.read_todo(&token, id(&v1)).await, v3);
});

backend_tests!(
    completing_sets_completed_at_and_reopening_clears_it,
    |app| {
        let token = app.user("ann").await;
        let v1 = app.create_todo(&token, json!({ "title": "t" })).await;
        let v2 = app
            .update_todo(&token, id(&v1), json!({ "completed": true }))
            .await;
        assert_eq!(v2["completed"], true);
        assert_recent(&v2["completedAt"]);
        assert_only_changed(&v1, &v2, &["completed", "completedAt"]);
        let v3 = app
            .update_todo(&token, id(&v1), json!({ "completed": false }))
            .await;
        assert_eq!(v3["completed"], false);
        assert_eq!(v3["completedAt"], Value::Null);
        assert_only_changed(&v2, &v3, &["completed", "completedAt"]);
        assert_eq!(app.read_todo(&token, id(&v1)).await, v3);
    }
);

backend_tests!(
    a_stale_expected_version_is_a_conflict_and_writes_nothing,
    |app| {
        let token = app.user("ann").await;
        let v1 = app.create_todo(&token, json!({ "title": "shared" })).await;
        let vars = json!({ "id": id(&v1), "input": { "title": "mine" }, "v": 1 });
        let data = app.gql_ok(Some(&token), &update_query(), vars).await;
        let v2 = data["updateTodo"].clone();
        assert_eq!(v2["version"], 2);
        for stale in [1, 3, 99] {
            let input = json!({ "title": "theirs", "completed": true });
            let error = app
                .update_todo_err(&token, id(&v1), input, Some(stale))
                .await;
            assert_code(&error, "CONFLICT");
            assert_eq!(error["extensions"]["currentVersion"], 2, "{error}");
            assert_eq!(
                app.read_todo(&token, id(&v1)).await,
                v2,
                "a conflict writes nothing"
            );
        }
    }
);

backend_tests!(delete_returns_the_id_and_the_todo_is_gone, |app| {
    let token = app.user("ann").await;
    let keep = app.create_todo(&token, json!({ "title": "keep" })).await;
    let todo = app.create_todo(&token, json!({ "title": "bin" })).await;
    app.delete_todo(&token, id(&todo)).await;
    assert_eq!(app.read_todo(&token, id(&todo)).await, Value::Null);
    let node = app
        .gql_ok(
            Some(&token),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id(&todo) }),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
    assert_code(&app.delete_todo_err(&token, id(&todo)).await, "NOT_FOUND");
    let error = app
        .update_todo_err(&token, id(&todo), json!({ "title": "x" }), None)
        .await;
    assert_code(&error, "NOT_FOUND");
    assert_eq!(app.read_todo(&token, id(&keep)).await, keep);
    assert_eq!(app.counts(&token).await, (1, 1, 0));
});

backend_tests!(malformed_ids_are_bad_user_input, |app| {
    let token = app.user("ann").await;
    let todo = app.create_todo(&token, json!({ "title": "keep" })).await;
    let read = "query($id: ID!) { todo(id: $id) { id } }";
    for bad in ["garbage", "", "1", "%00"] {
        let vars = json!({ "id": bad });
        assert_bad_input(&app.gql_err(Some(&token), read, vars.clone()).await, "id");
        assert_bad_input(&app.delete_todo_err(&token, bad).await, "id");
        let error = app
            .update_todo_err(&token, bad, json!({ "title": "x" }), None)
            .await;
        assert_bad_input(&error, "id");
    }
    assert_eq!(app.read_todo(&token, id(&todo)).await, todo);
});

backend_tests!(another_types_id_is_not_a_todo, |app| {
    let token = app.user("ann").await;
    let me = app.gql_ok(Some(&token), "{ me { id } }", json!({})).await;
    let user_id = me["me"]["id"].as_str().expect("a user id");
    // A well-formed id of another kind names no todo: not found, not a bad id.
    assert_eq!(app.read_todo(&token, user_id).await, Value::Null);
    assert_code(&app.delete_todo_err(&token, user_id).await, "NOT_FOUND");
    let error = app
        .update_todo_err(&token, user_id, json!({ "title": "x" }), None)
        .await;
    assert_code(&error, "NOT_FOUND");
    assert_eq!(app.all_todos(&token).await, Vec::<Value>::new());
    app.gql_ok(Some(&token), "{ me { id } }", json!({})).await;
});
