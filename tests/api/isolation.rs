//! Owner scoping: another user cannot read, change or delete my todos, and cannot even tell
//! that they exist (every refusal is byte-identical to one about an id that never existed).

use serde_json::{Value, json};

use crate::helpers::{TODO_FIELDS, TestApp, assert_code, assert_no_leak, code};

/// Operations on one todo id (`$id`), as another user would try them.
fn operations() -> Vec<(String, Value)> {
    let update = |extra: &str| {
        format!(
            "mutation($id: ID!, $input: UpdateTodoInput!) {{ \
             updateTodo(id: $id, input: $input{extra}) {{ {TODO_FIELDS} }} }}"
        )
    };
    vec![
        (
            format!("query($id: ID!) {{ todo(id: $id) {{ {TODO_FIELDS} }} }}"),
            json!({}),
        ),
        (
            "query($id: ID!) { node(id: $id) { id ... on Todo { title } } }".into(),
            json!({}),
        ),
        (
            update(""),
            json!({ "input": { "title": "pwned", "completed": true } }),
        ),
        (
            update(""),
            json!({ "input": { "notes": null, "dueAt": null } }),
        ),
        (
            update(", expectedVersion: 1"),
            json!({ "input": { "title": "pwned" } }),
        ),
        (
            update(", expectedVersion: 2"),
            json!({ "input": { "title": "pwned" } }),
        ),
        (
            "mutation($id: ID!) { deleteTodo(id: $id) }".into(),
            json!({}),
        ),
    ]
}

fn id(todo: &Value) -> String {
    todo["id"].as_str().expect("an id").to_owned()
}

/// A well-formed id of `token`'s user that no longer exists.
async fn ghost_id(app: &TestApp, token: &str) -> String {
    let ghost = id(&app.create_todo(token, json!({ "title": "ghost" })).await);
    let delete = "mutation($id: ID!) { deleteTodo(id: $id) }";
    app.gql_ok(Some(token), delete, json!({ "id": ghost }))
        .await;
    ghost
}

backend_tests!(another_user_sees_my_todos_as_nonexistent, |app| {
    let alice = app.user("alice").await;
    let input = json!({ "title": "secret plan", "notes": "private", "priority": "HIGH",
                        "dueAt": "2030-01-01T00:00:00Z" });
    let plan = id(&app.create_todo(&alice, input).await);
    let update = "mutation($id: ID!) { updateTodo(id: $id, input: { title: \"secret plan 2\" }) { version } }";
    let data = app
        .gql_ok(Some(&alice), update, json!({ "id": plan }))
        .await;
    assert_eq!(data["updateTodo"]["version"], 2);
    let done = id(&app
        .create_todo(&alice, json!({ "title": "done", "completed": true }))
        .await);
    let before = app.all_todos(&alice).await;

    let bob = app.user("bob").await;
    let ghost = ghost_id(app, &bob).await;
    for (query, vars) in operations() {
        let with = |id: &str| {
            let mut vars = vars.clone();
            vars["id"] = json!(id);
            vars
        };
        let (ghost_status, ghost_body) = app.gql_raw(Some(&bob), &query, with(&ghost)).await;
        let parsed: Value = serde_json::from_str(&ghost_body).expect("a JSON body");
        assert_no_leak(&parsed);
        if query.starts_with("mutation") {
            assert_code(&parsed["errors"][0], "NOT_FOUND");
        } else {
            assert!(parsed.get("errors").is_none(), "{parsed}");
        }
        for theirs in [&plan, &done] {
            let (status, body) = app.gql_raw(Some(&bob), &query, with(theirs)).await;
            assert_eq!(status, ghost_status, "{query}");
            assert_eq!(
                body, ghost_body,
                "{query}: the same answer as for an id that never was"
            );
        }
    }
    assert_eq!(
        app.all_todos(&alice).await,
        before,
        "nothing of alice's changed"
    );
    assert_eq!(app.counts(&alice).await, (2, 1, 1));
});

backend_tests!(lists_and_bulk_actions_see_only_the_viewers_todos, |app| {
    let alice = app.user("alice").await;
    for (title, completed) in [("a1", false), ("a2", true), ("a3", false)] {
        app.create_todo(&alice, json!({ "title": title, "completed": completed }))
            .await;
    }
    let before = app.all_todos(&alice).await;
    let bob = app.user("bob").await;
    let mine = id(&app.create_todo(&bob, json!({ "title": "b1" })).await);

    let listed = app.all_todos(&bob).await;
    assert_eq!(
        listed.iter().map(id).collect::<Vec<_>>(),
        vec![mine.clone()]
    );
    let query = "query($f: TodoFilter) { todos(filter: $f) { totalCount nodes { id } } }";
    for filter in [
        json!({ "search": "a" }),
        json!({ "completed": true }),
        json!({}),
    ] {
        let data = app.gql_ok(Some(&bob), query, json!({ "f": filter })).await;
        let nodes = data["todos"]["nodes"].as_array().expect("nodes");
        assert!(
            nodes.iter().all(|n| n["id"] == mine.as_str()),
            "{filter}: {data}"
        );
        assert_eq!(data["todos"]["totalCount"], nodes.len());
    }
    assert_eq!(app.counts(&bob).await, (1, 1, 0));

    let set_all = "mutation($c: Boolean!) { setAllTodosCompleted(completed: $c) }";
    let data = app.gql_ok(Some(&bob), set_all, json!({ "c": true })).await;
    assert_eq!(data["setAllTodosCompleted"], 1, "only bob's one todo");
    let data = app
        .gql_ok(Some(&bob), "mutation { clearCompletedTodos }", json!({}))
        .await;
    assert_eq!(data["clearCompletedTodos"], 1, "only bob's one todo");
    let data = app.gql_ok(Some(&bob), set_all, json!({ "c": false })).await;
    assert_eq!(data["setAllTodosCompleted"], 0);

    assert_eq!(
        app.all_todos(&alice).await,
        before,
        "nothing of alice's changed"
    );
    assert_eq!(app.counts(&alice).await, (3, 2, 1));
});

backend_tests!(another_users_cursor_and_user_id_reveal_nothing, |app| {
    let alice = app.user("alice").await;
    for i in 0..4 {
        app.create_todo(&alice, json!({ "title": format!("a{i}") }))
            .await;
    }
    let data = app
        .gql_ok(
            Some(&alice),
            "{ me { id } todos(first: 2) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = &data["todos"]["pageInfo"]["endCursor"];
    let bob = app.user("bob").await;
    let mine = id(&app.create_todo(&bob, json!({ "title": "b" })).await);

    let query = "query($c: String) { todos(first: 10, after: $c) { nodes { id } } }";
    let (_, body) = app.gql(Some(&bob), query, json!({ "c": cursor })).await;
    assert_no_leak(&body);
    if let Some(nodes) = body["data"]["todos"]["nodes"].as_array() {
        assert!(nodes.iter().all(|n| n["id"] == mine.as_str()), "{body}");
    } else {
        assert_eq!(code(&body["errors"][0]), "BAD_USER_INPUT", "{body}");
    }

    let node = "query($id: ID!) { node(id: $id) { id ... on User { email } } }";
    let (_, body) = app
        .gql(Some(&bob), node, json!({ "id": data["me"]["id"] }))
        .await;
    assert_no_leak(&body);
    assert_eq!(
        body["data"]["node"],
        Value::Null,
        "alice's user is not bob's to read: {body}"
    );
    assert!(!body.to_string().contains("alice@"), "{body}");
});
