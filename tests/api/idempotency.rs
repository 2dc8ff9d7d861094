//! Idempotent creates: a `clientId` makes `createTodo` safe to retry. A replay answers the
//! first create's todo as it is now and writes nothing; the same id with other fields is
//! `CLIENT_ID_REUSED`; a replay of a deleted todo is `NOT_FOUND`; ten concurrent twins
//! make one todo; another viewer's clientIds are invisible; the quota still holds.

use serde_json::{Value, json};

use crate::helpers::{TODO_FIELDS, TestApp, assert_bad_input, assert_code, assert_reason, id};

fn create_query() -> String {
    format!(
        "mutation($input: CreateTodoInput!) {{ createTodo(input: $input) {{ {TODO_FIELDS} }} }}"
    )
}

async fn create_err(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql_err(Some(token), &create_query(), json!({ "input": input }))
        .await
}

fn client_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

backend_tests!(a_replay_answers_the_first_todo_as_it_is_now, |app| {
    let token = app.user("ann").await;
    let cid = client_id();
    let input = json!({ "title": "  milk ", "priority": "HIGH", "clientId": cid });
    let first = app.create_todo(&token, input.clone()).await;
    assert_eq!(first["clientId"], cid.as_str());
    let since = app.changes(&token, None).await;
    let replay = app.create_todo(&token, input.clone()).await;
    assert_eq!(replay, first, "the same todo, unchanged");
    let trimmed = json!({ "title": "milk", "priority": "HIGH", "clientId": cid });
    assert_eq!(
        app.create_todo(&token, trimmed).await,
        first,
        "fields compare trimmed"
    );
    let upper = json!({ "title": "milk", "priority": "HIGH", "clientId": cid.to_uppercase() });
    assert_eq!(
        app.create_todo(&token, upper).await,
        first,
        "any UUID spelling"
    );

    let edited = app
        .update_todo(&token, id(&first), json!({ "title": "oat milk" }))
        .await;
    assert_eq!(app.create_todo(&token, input).await, edited, "as it is now");
    assert_eq!(
        app.all_todos(&token).await,
        std::slice::from_ref(&edited),
        "one todo"
    );
    let page = app
        .changes(&token, Some(since["cursor"].as_str().expect("cursor")))
        .await;
    assert_eq!(page["upserted"], json!([edited]), "replays wrote nothing");
});

backend_tests!(
    a_client_id_for_other_fields_is_reused_and_for_a_deleted_todo_not_found,
    |app| {
        let token = app.user("ann").await;
        let cid = client_id();
        let todo = app
            .create_todo(&token, json!({ "title": "milk", "clientId": cid }))
            .await;
        for other in [
            json!({ "title": "bread", "clientId": cid }),
            json!({ "title": "milk", "notes": "", "clientId": cid }),
            json!({ "title": "milk", "completed": true, "clientId": cid }),
            json!({ "title": "milk", "priority": "LOW", "clientId": cid }),
            json!({ "title": "milk", "dueAt": "2030-01-01T00:00:00Z", "clientId": cid }),
        ] {
            let error = create_err(app, &token, other.clone()).await;
            assert_bad_input(&error, "input.clientId");
            assert_reason(&error, "BAD_USER_INPUT", "CLIENT_ID_REUSED");
        }
        for bad in ["", "not-a-uuid", "1234", &format!("{cid}0")] {
            let error = create_err(app, &token, json!({ "title": "x", "clientId": bad })).await;
            assert_bad_input(&error, "input.clientId");
        }
        app.delete_todo(&token, id(&todo)).await;
        let error = create_err(app, &token, json!({ "title": "milk", "clientId": cid })).await;
        assert_code(&error, "NOT_FOUND");
        let error = create_err(app, &token, json!({ "title": "other", "clientId": cid })).await;
        assert_reason(&error, "BAD_USER_INPUT", "CLIENT_ID_REUSED");
        assert!(
            app.all_todos(&token).await.is_empty(),
            "nothing was created"
        );
        assert_eq!(app.counts(&token).await, (0, 0, 0));
    }
);

backend_tests!(
    ten_concurrent_creates_with_one_client_id_make_one_todo,
    |app| {
        let token = app.user("ann").await;
        let cid = client_id();
        let creates = (0..10).map(|_| {
            let input = json!({ "title": "once", "clientId": cid });
            let token = token.clone();
            async move { app.create_todo(&token, input).await }
        });
        let answers = futures_util::future::join_all(creates).await;
        let todos = app.all_todos(&token).await;
        assert_eq!(todos.len(), 1, "{todos:?}");
        for answer in &answers {
            assert_eq!(answer, &todos[0], "every caller gets the one todo");
        }
        assert_eq!(app.counts(&token).await, (1, 1, 0), "one slot taken");
        let page = app.changes(&token, None).await;
        assert_eq!(page["upserted"], json!(todos));
    }
);

backend_tests!(another_viewers_client_ids_are_invisible, |app| {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cid = client_id();
    let hers = app
        .create_todo(&ann, json!({ "title": "hers", "clientId": cid }))
        .await;
    let his = app
        .create_todo(&bob, json!({ "title": "his", "clientId": cid }))
        .await;
    assert_ne!(id(&his), id(&hers), "an ordinary create");
    assert_eq!(his["title"], "his");
    app.delete_todo(&bob, id(&his)).await;
    let again = app
        .create_todo(&ann, json!({ "title": "hers", "clientId": cid }))
        .await;
    assert_eq!(again, hers, "bob's deletion is not ann's");
    assert_eq!(app.all_todos(&ann).await, [hers]);
});

backend_tests!(
    the_quota_holds_with_client_ids,
    ["--max-todos-per-user", "2"],
    |app| {
        let token = app.user("ann").await;
        let (a, b) = (client_id(), client_id());
        let first = app
            .create_todo(&token, json!({ "title": "a", "clientId": a }))
            .await;
        app.create_todo(&token, json!({ "title": "b", "clientId": b }))
            .await;
        let error = create_err(
            app,
            &token,
            json!({ "title": "c", "clientId": client_id() }),
        )
        .await;
        assert_code(&error, "QUOTA_EXCEEDED");
        let replay = app
            .create_todo(&token, json!({ "title": "a", "clientId": a }))
            .await;
        assert_eq!(replay, first, "a replay takes no slot");
        let twins = (0..5).map(|_| {
            let token = token.clone();
            async move {
                create_err(
                    app,
                    &token,
                    json!({ "title": "d", "clientId": client_id() }),
                )
                .await
            }
        });
        for error in futures_util::future::join_all(twins).await {
            assert_code(&error, "QUOTA_EXCEEDED");
        }
        assert_eq!(app.counts(&token).await, (2, 2, 0));
    }
);
