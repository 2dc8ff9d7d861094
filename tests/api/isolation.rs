//! Owner scoping: another user cannot read, change or delete my todos, and cannot even tell
//! that they exist (every refusal is byte-identical to one about an id that never existed).

use serde_json::{Value, json};

use crate::helpers::{TODO_FIELDS, TestApp, assert_code, assert_no_leak, id};

/// Operations on one todo id (`$id`), as another user would try them, with the field
/// each answers in.
fn operations() -> Vec<(&'static str, String, Value)> {
    let update = |extra: &str| {
        format!(
            "mutation($id: ID!, $input: UpdateTodoInput!) {{ \
             updateTodo(id: $id, input: $input{extra}) {{ {TODO_FIELDS} }} }}"
        )
    };
    let pwned = json!({ "input": { "title": "pwned" } });
    vec![
        (
            "todo",
            format!("query($id: ID!) {{ todo(id: $id) {{ {TODO_FIELDS} }} }}"),
            json!({}),
        ),
        (
            "node",
            "query($id: ID!) { node(id: $id) { id ... on Todo { title } } }".into(),
            json!({}),
        ),
        (
            "updateTodo",
            update(""),
            json!({ "input": { "title": "pwned", "completed": true } }),
        ),
        (
            "updateTodo",
            update(""),
            json!({ "input": { "notes": null, "dueAt": null } }),
        ),
        ("updateTodo", update(", expectedVersion: 1"), pwned.clone()),
        ("updateTodo", update(", expectedVersion: 2"), pwned),
        (
            "deleteTodo",
            "mutation($id: ID!) { deleteTodo(id: $id) }".into(),
            json!({}),
        ),
    ]
}

/// A well-formed id of `token`'s user that no longer exists.
async fn ghost_id(app: &TestApp, token: &str) -> String {
    let ghost = app.create_todo(token, json!({ "title": "ghost" })).await;
    app.delete_todo(token, id(&ghost)).await;
    id(&ghost).to_owned()
}

backend_tests!(another_user_sees_my_todos_as_nonexistent, |app| {
    let alice = app.user("alice").await;
    let input = json!({ "title": "secret plan", "notes": "private", "priority": "HIGH",
                        "dueAt": "2030-01-01T00:00:00Z" });
    let plan = app.create_todo(&alice, input).await;
    let plan = id(&plan);
    let update = "mutation($id: ID!) { updateTodo(id: $id, input: { title: \"secret plan 2\" }) { version } }";
    let data = app
        .gql_ok(Some(&alice), update, json!({ "id": plan }))
        .await;
    assert_eq!(data["updateTodo"]["version"], 2);
    let done = app
        .create_todo(&alice, json!({ "title": "done", "completed": true }))
        .await;
    let done = id(&done);
    let before = app.all_todos(&alice).await;

    let bob = app.user("bob").await;
    let ghost = ghost_id(app, &bob).await;
    for (field, query, vars) in operations() {
        let with = |id: &str| {
            let mut vars = vars.clone();
            vars["id"] = json!(id);
            vars
        };
        let ghost_answer = app.request(&query).token(&bob).variables(with(&ghost));
        let ghost_answer = ghost_answer.send().await;
        let parsed = ghost_answer.json();
        assert_no_leak(&parsed);
        if query.starts_with("mutation") {
            assert_eq!(parsed["data"], Value::Null, "{parsed}");
            assert_eq!(
                parsed["errors"].as_array().map(Vec::len),
                Some(1),
                "{parsed}"
            );
            assert_code(&parsed["errors"][0], "NOT_FOUND");
        } else {
            assert_eq!(parsed, json!({ "data": { field: null } }));
        }
        for theirs in [plan, done] {
            let answer = app.request(&query).token(&bob).variables(with(theirs));
            let answer = answer.send().await;
            assert_eq!(answer.status, ghost_answer.status, "{query}");
            assert_eq!(
                answer.text, ghost_answer.text,
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
    let mine = app.create_todo(&bob, json!({ "title": "b1" })).await;
    let mine = id(&mine);

    let listed = app.all_todos(&bob).await;
    assert_eq!(listed.iter().map(id).collect::<Vec<_>>(), [mine]);
    let query = "query($f: TodoFilter) { todos(filter: $f) { totalCount nodes { id } } }";
    // Each filter matches alice's todos; only bob's own may come back.
    for (filter, expected) in [
        (json!({ "search": "a" }), vec![]),
        (json!({ "search": "1" }), vec![mine]),
        (json!({ "completed": true }), vec![]),
        (json!({ "completed": false }), vec![mine]),
        (json!({}), vec![mine]),
    ] {
        let data = app.gql_ok(Some(&bob), query, json!({ "f": filter })).await;
        let nodes = data["todos"]["nodes"].as_array().expect("nodes");
        assert_eq!(
            nodes.iter().map(id).collect::<Vec<_>>(),
            expected,
            "{filter}"
        );
        assert_eq!(data["todos"]["totalCount"], expected.len(), "{filter}");
    }
    assert_eq!(app.counts(&bob).await, (1, 1, 0));

    let toggled = app.set_all_completed(&bob, true).await;
    assert_eq!(toggled["count"], 1, "only bob's one todo: {toggled}");
    let cleared = app.clear_completed(&bob).await;
    assert_eq!(cleared["count"], 1, "only bob's one todo: {cleared}");
    assert_eq!(app.set_all_completed(&bob, false).await["count"], 0);

    assert_eq!(
        app.all_todos(&alice).await,
        before,
        "nothing of alice's changed"
    );
    assert_eq!(app.counts(&alice).await, (3, 2, 1));
});

backend_tests!(another_users_cursor_and_user_id_reveal_nothing, |app| {
    let bob = app.user("bob").await;
    let older = app.create_todo(&bob, json!({ "title": "b0" })).await;
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
    app.create_todo(&bob, json!({ "title": "b1" })).await;

    // A cursor is a position in an order, not a key to alice's rows: from it bob walks on
    // through his own todos, to the one older than the position.
    let query = "query($c: String) { todos(first: 10, after: $c) { nodes { id } } }";
    let data = app.gql_ok(Some(&bob), query, json!({ "c": cursor })).await;
    assert_eq!(data["todos"]["nodes"], json!([{ "id": id(&older) }]));

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
