//! The TodoMVC bulk actions (toggle all, clear completed), the counts, and anonymous access.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_code, assert_no_leak, id, time};

/// Toggles all; checks that the payload holds exactly the todos that changed, as they
/// now read, and returns how many.
async fn set_all(app: &TestApp, token: &str, completed: bool) -> i64 {
    let before = app.all_todos(token).await;
    let payload = app.set_all_completed(token, completed).await;
    let after = app.all_todos(token).await;
    let changed: Vec<&Value> = after.iter().filter(|todo| !before.contains(todo)).collect();
    let mut answered: Vec<Value> = payload["todos"].as_array().expect("todos").clone();
    answered.sort_by(|a, b| id(a).cmp(id(b)));
    assert_eq!(
        answered.iter().collect::<Vec<_>>(),
        changed,
        "exactly the changed todos"
    );
    let count = payload["count"].as_i64().expect("a count");
    assert_eq!(usize::try_from(count).ok(), Some(answered.len()));
    count
}

/// Clears completed; checks that the payload names exactly the deleted todos, and returns
/// how many.
async fn clear(app: &TestApp, token: &str) -> i64 {
    let before = app.all_todos(token).await;
    let payload = app.clear_completed(token).await;
    let after = app.all_todos(token).await;
    let mut gone: Vec<&str> = before
        .iter()
        .filter(|todo| !after.contains(todo))
        .map(id)
        .collect();
    gone.sort();
    let mut answered: Vec<&str> = payload["deletedIds"]
        .as_array()
        .expect("deletedIds")
        .iter()
        .map(|id| id.as_str().expect("an id"))
        .collect();
    answered.sort();
    assert_eq!(answered, gone, "exactly the deleted todos, by global id");
    let count = payload["count"].as_i64().expect("a count");
    assert_eq!(usize::try_from(count).ok(), Some(answered.len()));
    count
}

fn ids(todos: &[Value]) -> Vec<&str> {
    todos.iter().map(id).collect()
}

async fn seed(app: &TestApp, token: &str, completed: &[bool]) {
    for (i, done) in completed.iter().enumerate() {
        app.create_todo(
            token,
            json!({ "title": format!("todo {i}"), "completed": done }),
        )
        .await;
    }
}

backend_tests!(set_all_completed_counts_only_the_todos_it_changes, |app| {
    let token = app.user("tess").await;
    seed(app, &token, &[false, true, false, false]).await;
    let before = app.all_todos(&token).await;
    assert_eq!(set_all(app, &token, true).await, 3);
    assert_eq!(app.counts(&token).await, (4, 0, 4));
    let after = app.all_todos(&token).await;
    assert_eq!(ids(&after), ids(&before), "the same todos");
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(new["completed"], true);
        time(&new["completedAt"]);
        let bump = if old["completed"] == true { 0 } else { 1 };
        assert_eq!(
            new["version"],
            old["version"].as_i64().expect("a version") + bump,
            "{new}"
        );
        if old["completed"] == true {
            assert_eq!(new, old, "an already-completed todo is untouched");
        }
    }
    assert_eq!(
        set_all(app, &token, true).await,
        0,
        "nothing left to change"
    );
    assert_eq!(app.all_todos(&token).await, after);

    assert_eq!(set_all(app, &token, false).await, 4);
    assert_eq!(app.counts(&token).await, (4, 4, 0));
    for todo in app.all_todos(&token).await {
        assert_eq!(todo["completed"], false);
        assert_eq!(todo["completedAt"], Value::Null);
    }
    assert_eq!(set_all(app, &token, false).await, 0);
});

backend_tests!(set_all_completed_on_no_todos_is_zero, |app| {
    let token = app.user("tess").await;
    assert_eq!(set_all(app, &token, true).await, 0);
    assert_eq!(clear(app, &token).await, 0);
    assert_eq!(app.counts(&token).await, (0, 0, 0));
});

backend_tests!(clear_completed_deletes_only_completed_todos, |app| {
    let token = app.user("tess").await;
    seed(app, &token, &[true, false, true, false, false]).await;
    let active: Vec<Value> = app
        .all_todos(&token)
        .await
        .into_iter()
        .filter(|t| t["completed"] == false)
        .collect();
    assert_eq!(clear(app, &token).await, 2);
    assert_eq!(
        app.all_todos(&token).await,
        active,
        "the active todos are untouched"
    );
    assert_eq!(app.counts(&token).await, (3, 3, 0));
    assert_eq!(clear(app, &token).await, 0);

    assert_eq!(set_all(app, &token, true).await, 3);
    assert_eq!(clear(app, &token).await, 3);
    assert_eq!(app.counts(&token).await, (0, 0, 0));
    assert!(app.all_todos(&token).await.is_empty());
});

backend_tests!(counts_follow_every_change, |app| {
    let token = app.user("tess").await;
    let a = app.create_todo(&token, json!({ "title": "a" })).await;
    assert_eq!(app.counts(&token).await, (1, 1, 0));
    let b = app
        .create_todo(&token, json!({ "title": "b", "completed": true }))
        .await;
    assert_eq!(app.counts(&token).await, (2, 1, 1));
    let update = "mutation($id: ID!) { updateTodo(id: $id, input: { completed: true }) { id } }";
    app.gql_ok(Some(&token), update, json!({ "id": a["id"] }))
        .await;
    assert_eq!(app.counts(&token).await, (2, 0, 2));
    app.delete_todo(&token, id(&b)).await;
    assert_eq!(app.counts(&token).await, (1, 0, 1));
});

backend_tests!(
    owned_operations_without_a_token_are_unauthenticated,
    |app| {
        let token = app.user("tess").await;
        let todo = app.create_todo(&token, json!({ "title": "mine" })).await;
        let operations = [
            ("{ todos { totalCount } }", json!({})),
            (
                "query($id: ID!) { todo(id: $id) { id } }",
                json!({ "id": todo["id"] }),
            ),
            (
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": todo["id"] }),
            ),
            (
                "mutation { createTodo(input: { title: \"anon\" }) { id } }",
                json!({}),
            ),
            (
                "mutation($id: ID!) { updateTodo(id: $id, input: { title: \"anon\" }) { id } }",
                json!({ "id": todo["id"] }),
            ),
            (
                "mutation($id: ID!) { deleteTodo(id: $id) }",
                json!({ "id": todo["id"] }),
            ),
            (
                "mutation { setAllTodosCompleted(completed: true) { count } }",
                json!({}),
            ),
            ("mutation { clearCompletedTodos { count } }", json!({})),
        ];
        for (query, vars) in operations {
            let (status, body) = app.gql(None, query, vars).await;
            assert_eq!(status, reqwest::StatusCode::OK, "{query}: {body}");
            // No data at all, not even a null `todo`: the refusal is the whole answer.
            assert_eq!(body["data"], Value::Null, "{query} gives no data: {body}");
            assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
            assert_code(&body["errors"][0], "UNAUTHENTICATED");
            assert_no_leak(&body);
        }
        assert_eq!(app.read_todo(&token, id(&todo)).await, todo);
        assert_eq!(app.counts(&token).await, (1, 1, 0));
    }
);
