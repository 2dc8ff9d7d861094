//! Keyset paging over every order: forward and backward walks agree, cover every todo once,
//! follow the order, and report the ends; page-size and cursor rules.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_bad_input, edges_nodes, time};

const WORDS: [&str; 11] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo",
];
const PRIORITIES: [&str; 4] = ["NONE", "LOW", "MEDIUM", "HIGH"];
const SEEDED: usize = 31;

fn ids(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| n["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn rank(priority: &Value) -> usize {
    PRIORITIES
        .iter()
        .position(|p| priority == p)
        .expect("a known priority")
}

/// The order of two todos by `field`; `None` when either `dueAt` is null.
fn compare(field: &str, a: &Value, b: &Value) -> Option<Ordering> {
    Some(match field {
        "CREATED_AT" => time(&a["createdAt"]).cmp(&time(&b["createdAt"])),
        "UPDATED_AT" => time(&a["updatedAt"]).cmp(&time(&b["updatedAt"])),
        "DUE_AT" if a["dueAt"].is_null() || b["dueAt"].is_null() => return None,
        "DUE_AT" => time(&a["dueAt"]).cmp(&time(&b["dueAt"])),
        "PRIORITY" => rank(&a["priority"]).cmp(&rank(&b["priority"])),
        "TITLE" => a["title"].as_str().cmp(&b["title"].as_str()),
        other => panic!("unknown field {other}"),
    })
}

fn assert_ordered(field: &str, direction: &str, nodes: &[Value]) {
    let wrong = if direction == "ASC" {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    let present: Vec<&Value> = nodes
        .iter()
        .filter(|n| field != "DUE_AT" || !n["dueAt"].is_null())
        .collect();
    for pair in present.windows(2) {
        assert_ne!(
            compare(field, pair[0], pair[1]),
            Some(wrong),
            "{field} {direction}: {} then {}",
            pair[0],
            pair[1]
        );
    }
    if field == "DUE_AT" {
        let nulls: Vec<bool> = nodes.iter().map(|n| n["dueAt"].is_null()).collect();
        let switches = nulls.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(switches <= 1, "null dueAt grouped at one end: {nulls:?}");
    }
}

/// Signs up a user with `SEEDED` todos of varied (often tied) titles, priorities and due
/// dates (some null), some updated after creation. Returns the token and every todo id.
pub async fn seed(app: &TestApp) -> (String, HashSet<String>) {
    let token = app.user("pager").await;
    let mut ids = HashSet::new();
    for i in 0..SEEDED {
        let due = (i % 4 != 0).then(|| format!("2030-01-{:02}T12:00:00Z", 1 + (i * 13) % 9));
        let input = json!({ "title": WORDS[(i * 7) % WORDS.len()],
                            "priority": PRIORITIES[(i * 5 % 7) % 4], "dueAt": due });
        let todo = app.create_todo(&token, input).await;
        ids.insert(todo["id"].as_str().expect("an id").to_owned());
    }
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    let update = "mutation($id: ID!) { updateTodo(id: $id, input: { notes: \"touched\" }) { id } }";
    for id in sorted.iter().step_by(4) {
        app.gql_ok(Some(&token), update, json!({ "id": id })).await;
    }
    (token, ids)
}

async fn check_order(app: &TestApp, field: &str) {
    let (token, seeded) = seed(app).await;
    for direction in ["ASC", "DESC"] {
        let base = json!({ "orderBy": { "field": field, "direction": direction } });
        let forward = app.walk_forward(&token, 7, base.clone()).await;
        let unique: HashSet<String> = ids(&forward).into_iter().collect();
        assert_eq!(
            unique.len(),
            forward.len(),
            "no repeats in {field} {direction}"
        );
        assert_eq!(unique, seeded, "no gaps in {field} {direction}");
        assert_ordered(field, direction, &forward);
        let backward = app.walk_backward(&token, 7, base).await;
        assert_eq!(
            ids(&backward),
            ids(&forward),
            "{field} {direction}: backward == forward"
        );
    }
}

backend_tests!(order_by_created_at, |app| {
    check_order(app, "CREATED_AT").await;
});

backend_tests!(order_by_updated_at, |app| {
    check_order(app, "UPDATED_AT").await;
});

backend_tests!(order_by_due_at, |app| {
    check_order(app, "DUE_AT").await;
});

backend_tests!(order_by_priority, |app| {
    check_order(app, "PRIORITY").await;
});

backend_tests!(order_by_title, |app| {
    check_order(app, "TITLE").await;
});

backend_tests!(the_default_order_is_created_at_desc_in_pages_of_20, |app| {
    let (token, _) = seed(app).await;
    let default = app.page(&token, json!({})).await;
    assert_eq!(default["totalCount"], SEEDED);
    assert_eq!(default["pageInfo"]["hasNextPage"], true);
    let nodes = edges_nodes(&default);
    assert_eq!(nodes.len(), 20, "the default page size");
    let base = json!({ "orderBy": { "field": "CREATED_AT", "direction": "DESC" } });
    let explicit = app.walk_forward(&token, 20, base).await;
    assert_eq!(ids(&nodes), ids(&explicit[..20]));
    let by_default = json!({ "orderBy": {} });
    let defaulted = app.walk_forward(&token, 20, by_default).await;
    assert_eq!(
        ids(&defaulted),
        ids(&explicit),
        "TodoOrder defaults to CREATED_AT DESC"
    );
});

backend_tests!(page_size_limits, |app| {
    let token = app.user("sizer").await;
    for i in 0..101 {
        app.create_todo(&token, json!({ "title": format!("t{i:03}") }))
            .await;
    }
    for arg in ["first", "last"] {
        let full = app.page(&token, json!({ arg: 100 })).await;
        assert_eq!(edges_nodes(&full).len(), 100, "{arg}: 100 is allowed");
        assert_eq!(full["totalCount"], 101);
        let more = if arg == "first" {
            "hasNextPage"
        } else {
            "hasPreviousPage"
        };
        assert_eq!(full["pageInfo"][more], true);
        assert_bad_input(&app.page_err(&token, json!({ arg: 101 })).await, arg);
        assert_bad_input(&app.page_err(&token, json!({ arg: -1 })).await, arg);
    }
});

backend_tests!(bad_cursors_are_bad_user_input, |app| {
    let token = app.user("cursors").await;
    for i in 0..5 {
        app.create_todo(&token, json!({ "title": format!("t{i}") }))
            .await;
    }
    for cursor in [
        "garbage",
        "",
        "eyJ4IjoxfQ",
        "%%%",
        "AAAAAAAAAAAAAAAAAAAAAA==",
    ] {
        let error = app
            .page_err(&token, json!({ "first": 2, "after": cursor }))
            .await;
        assert_bad_input(&error, "after");
        let error = app
            .page_err(&token, json!({ "last": 2, "before": cursor }))
            .await;
        assert_bad_input(&error, "before");
    }
});

backend_tests!(a_cursor_only_works_with_its_own_order_and_filter, |app| {
    let token = app.user("cursors").await;
    for i in 0..6 {
        app.create_todo(&token, json!({ "title": format!("t{i}"), "notes": "n" }))
            .await;
    }
    let order = json!({ "field": "CREATED_AT", "direction": "DESC" });
    let filter = json!({ "search": "t" });
    let first = app
        .page(
            &token,
            json!({ "first": 2, "orderBy": order, "filter": filter }),
        )
        .await;
    let cursor = first["pageInfo"]["endCursor"].clone();
    let same = json!({ "first": 2, "after": cursor, "orderBy": order, "filter": filter });
    assert_eq!(edges_nodes(&app.page(&token, same).await).len(), 2);

    let others = [
        json!({ "orderBy": { "field": "TITLE", "direction": "DESC" }, "filter": filter }),
        json!({ "orderBy": { "field": "CREATED_AT", "direction": "ASC" }, "filter": filter }),
        json!({ "orderBy": order, "filter": { "search": "n" } }),
        json!({ "orderBy": order, "filter": { "search": "t", "completed": false } }),
        json!({ "orderBy": order }),
    ];
    for mut vars in others {
        vars["first"] = json!(2);
        vars["after"] = cursor.clone();
        assert_bad_input(&app.page_err(&token, vars).await, "after");
    }
});

backend_tests!(cursors_are_stable_when_todos_are_inserted, |app| {
    let (token, _) = seed(app).await;
    for (field, direction, title) in [("CREATED_AT", "DESC", "new"), ("TITLE", "ASC", "aaa")] {
        let base = json!({ "orderBy": { "field": field, "direction": direction } });
        let expected = ids(&app.walk_forward(&token, 7, base.clone()).await);
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let mut vars = base.clone();
            vars["first"] = json!(7);
            vars["after"] = after;
            let page = app.page(&token, vars).await;
            seen.extend(ids(&edges_nodes(&page)));
            // Each insert lands before every cursor already handed out.
            app.create_todo(&token, json!({ "title": title })).await;
            if page["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, expected, "{field} {direction}: no repeats, no gaps");
    }
});
