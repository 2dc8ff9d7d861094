//! Reads fetch only the columns a query selects: whatever shape the selection takes
//! (fields, aliases, named and inline fragments, `edges` beside `nodes`, `node(id:)`),
//! every field it asks for answers the stored value, and fields it leaves out are absent.

use serde_json::{Value, json};

use crate::helpers::{TODO_FIELDS, TestApp, id};

/// A todo with every field set to something other than its placeholder.
async fn full_todo(app: &TestApp, token: &str) -> Value {
    let todo = app
        .create_todo(
            token,
            json!({ "title": "Selected", "notes": "long notes", "priority": "HIGH",
                    "dueAt": "2031-02-03T04:05:06Z", "completed": true,
                    "clientId": "6f1c1d3e-0d7a-4b6e-9a53-0c1f8f5d2b11" }),
        )
        .await;
    assert_eq!(todo["version"], 1);
    let todo = app
        .update_todo(token, id(&todo), json!({ "title": "Selected again" }))
        .await;
    assert_eq!(todo["version"], 2);
    todo
}

/// Asserts `got` holds exactly `fields` of `todo`, each with the stored value.
fn assert_fields(got: &Value, todo: &Value, fields: &[&str], shape: &str) {
    let object = got.as_object().unwrap_or_else(|| panic!("{shape}: {got}"));
    assert_eq!(object.len(), fields.len(), "{shape}: {got}");
    for field in fields {
        assert_eq!(got[*field], todo[*field], "{shape}: {field} in {got}");
    }
}

backend_tests!(each_field_alone_reads_its_stored_value, |app| {
    let token = app.user("selector").await;
    let todo = full_todo(app, &token).await;
    for field in TODO_FIELDS.split(' ') {
        let query = format!("query($id: ID!) {{ todo(id: $id) {{ {field} }} }}");
        let data = app
            .gql_ok(Some(&token), &query, json!({ "id": id(&todo) }))
            .await;
        assert_fields(&data["todo"], &todo, &[field], "todo(id:)");
        let list = format!("{{ todos {{ nodes {{ {field} }} edges {{ node {{ id }} }} }} }}");
        let data = app.gql_ok(Some(&token), &list, json!({})).await;
        assert_fields(&data["todos"]["nodes"][0], &todo, &[field], "nodes");
    }
});

backend_tests!(fragments_aliases_and_edges_select_what_they_name, |app| {
    let token = app.user("selector").await;
    let todo = full_todo(app, &token).await;
    let vars = json!({ "id": id(&todo) });
    let named = "query($id: ID!) { todo(id: $id) { ...A } } \
                 fragment A on Todo { notes ...B } fragment B on Todo { dueAt version }";
    let data = app.gql_ok(Some(&token), named, vars.clone()).await;
    assert_fields(
        &data["todo"],
        &todo,
        &["notes", "dueAt", "version"],
        "named",
    );

    let inline = "query($id: ID!) { node(id: $id) { id ... on Todo { title completedAt } } }";
    let data = app.gql_ok(Some(&token), inline, vars.clone()).await;
    assert_fields(
        &data["node"],
        &todo,
        &["id", "title", "completedAt"],
        "node",
    );

    let aliased = "query($id: ID!) { todo(id: $id) { heading: title words: notes } }";
    let data = app.gql_ok(Some(&token), aliased, vars).await;
    assert_eq!(data["todo"]["heading"], todo["title"]);
    assert_eq!(data["todo"]["words"], todo["notes"]);

    let split = "{ todos { nodes { title } edges { cursor node { clientId ...P } } } } \
                 fragment P on Todo { priority completed }";
    let data = app.gql_ok(Some(&token), split, json!({})).await;
    assert_fields(
        &data["todos"]["nodes"][0],
        &todo,
        &["title"],
        "nodes beside edges",
    );
    let node = &data["todos"]["edges"][0]["node"];
    assert_fields(node, &todo, &["clientId", "priority", "completed"], "edges");
});

backend_tests!(cursors_work_when_the_sort_key_is_not_selected, |app| {
    let token = app.user("selector").await;
    for title in ["b", "a", "c"] {
        app.create_todo(&token, json!({ "title": title, "priority": "LOW" }))
            .await;
    }
    for field in ["CREATED_AT", "UPDATED_AT", "DUE_AT", "PRIORITY", "TITLE"] {
        let query = "query($order: TodoOrder, $after: String) { \
                     todos(first: 1, after: $after, orderBy: $order) { \
                     nodes { id } pageInfo { endCursor hasNextPage } } }";
        let order = json!({ "field": field, "direction": "ASC" });
        let mut after = Value::Null;
        let mut seen = Vec::new();
        loop {
            let vars = json!({ "order": order, "after": after });
            let page = app.gql_ok(Some(&token), query, vars).await["todos"].clone();
            seen.extend(page["nodes"].as_array().expect("nodes").iter().cloned());
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        let whole = "query($order: TodoOrder) { todos(orderBy: $order) { nodes { id } } }";
        let data = app
            .gql_ok(Some(&token), whole, json!({ "order": order }))
            .await;
        assert_eq!(seen.len(), 3, "{field}: every todo once");
        assert_eq!(
            Value::from(seen),
            data["todos"]["nodes"],
            "{field}: in order"
        );
    }
});
