//! `todos(filter:)`: each filter alone and combined, literal search, and totalCount.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_bad_input, edges_nodes};

/// A seeded todo: title, notes, priority, dueAt, completed.
type Seed = (
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    bool,
);

const SEEDS: [Seed; 10] = [
    (
        "Buy MILK",
        None,
        "HIGH",
        Some("2030-01-10T09:00:00Z"),
        false,
    ),
    (
        "call mom",
        Some("ask about Milk prices"),
        "LOW",
        Some("2030-01-20T09:00:00Z"),
        true,
    ),
    ("100% done", None, "MEDIUM", None, false),
    ("a_b", None, "NONE", Some("2030-02-01T09:00:00Z"), false),
    (
        "axb",
        Some("plain"),
        "HIGH",
        Some("2029-12-01T09:00:00Z"),
        true,
    ),
    ("back\\slash", Some("c:\\temp"), "LOW", None, false),
    (
        "plain",
        Some("nothing here"),
        "NONE",
        Some("2030-03-01T09:00:00Z"),
        true,
    ),
    (
        "MILKSHAKE",
        None,
        "MEDIUM",
        Some("2030-01-15T09:00:00Z"),
        false,
    ),
    (
        "sale",
        Some("50% off, 1_000 left"),
        "HIGH",
        Some("2030-01-12T09:00:00Z"),
        false,
    ),
    ("quote's \"and\" more", None, "NONE", None, true),
];

async fn seed(app: &TestApp) -> String {
    let token = app.user("filterer").await;
    for (title, notes, priority, due, completed) in SEEDS {
        let input = json!({ "title": title, "notes": notes, "priority": priority,
                            "dueAt": due, "completed": completed });
        app.create_todo(&token, input).await;
    }
    // Another user's matching todos must never count.
    let other = app.user("bystander").await;
    app.create_todo(
        &other,
        json!({ "title": "milk 100% a_b", "priority": "HIGH" }),
    )
    .await;
    token
}

fn titles(nodes: &[Value]) -> BTreeSet<String> {
    nodes
        .iter()
        .map(|n| n["title"].as_str().expect("a title").to_owned())
        .collect()
}

fn expected(keep: impl Fn(&Seed) -> bool) -> BTreeSet<String> {
    SEEDS
        .iter()
        .filter(|s| keep(s))
        .map(|s| s.0.to_owned())
        .collect()
}

fn matches(seed: &Seed, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    seed.0.to_lowercase().contains(&needle)
        || seed.1.is_some_and(|n| n.to_lowercase().contains(&needle))
}

fn due(seed: &Seed) -> Option<&'static str> {
    seed.3
}

/// The filtered set, read in one page and in pages of 2, equals `want`, with its totalCount.
async fn assert_filter(app: &TestApp, token: &str, filter: Value, want: BTreeSet<String>) {
    let whole = app
        .page(token, json!({ "first": 100, "filter": filter }))
        .await;
    assert_eq!(whole["totalCount"], want.len(), "totalCount for {filter}");
    let nodes = edges_nodes(&whole);
    assert_eq!(titles(&nodes), want, "filter {filter}");
    assert_eq!(nodes.len(), want.len(), "filter {filter}");
    let paged = app
        .walk_forward(token, 2, json!({ "filter": filter }))
        .await;
    assert_eq!(titles(&paged), want, "filter {filter}, in pages of 2");
    assert_eq!(paged.len(), want.len(), "filter {filter}, in pages of 2");
}

backend_tests!(filter_by_completed, |app| {
    let token = seed(app).await;
    for completed in [true, false] {
        let want = expected(|s| s.4 == completed);
        assert_filter(app, &token, json!({ "completed": completed }), want).await;
    }
});

backend_tests!(
    search_is_a_case_insensitive_substring_of_title_or_notes,
    |app| {
        let token = seed(app).await;
        for needle in ["milk", "MILK", "mIlK", "shake", "PRICES", "plain", "zzz"] {
            let want = expected(|s| matches(s, needle));
            assert_filter(app, &token, json!({ "search": needle }), want).await;
        }
        assert_eq!(
            expected(|s| matches(s, "milk")).len(),
            3,
            "the seeds cover title and notes"
        );
    }
);

backend_tests!(search_treats_wildcards_and_escapes_literally, |app| {
    let token = seed(app).await;
    for needle in [
        "%", "_", "a_b", "0%", "%%", "\\", "c:\\", "'", "\"and\"", "1_0",
    ] {
        let want = expected(|s| matches(s, needle));
        assert_filter(app, &token, json!({ "search": needle }), want).await;
    }
    assert_eq!(
        expected(|s| matches(s, "_")).len(),
        2,
        "`_` matches only the two literal ones"
    );
});

backend_tests!(search_at_most_200_chars, |app| {
    let token = seed(app).await;
    let error = app
        .page_err(&token, json!({ "filter": { "search": "m".repeat(201) } }))
        .await;
    assert_bad_input(&error, "filter.search");
    assert_filter(
        app,
        &token,
        json!({ "search": "m".repeat(200) }),
        BTreeSet::new(),
    )
    .await;
});

backend_tests!(filter_by_priority, |app| {
    let token = seed(app).await;
    for set in [
        vec!["HIGH", "MEDIUM"],
        vec!["NONE"],
        vec!["LOW", "NONE", "MEDIUM", "HIGH"],
    ] {
        let want = expected(|s| set.contains(&s.2));
        assert_filter(app, &token, json!({ "priorityIn": set }), want).await;
    }
});

backend_tests!(filter_by_due_dates, |app| {
    let token = seed(app).await;
    let (low, high) = ("2030-01-11T00:00:00Z", "2030-01-25T00:00:00Z");
    let want = expected(|s| due(s).is_some_and(|d| d < high));
    assert_filter(app, &token, json!({ "dueBefore": high }), want).await;
    let want = expected(|s| due(s).is_some_and(|d| d > low));
    assert_filter(app, &token, json!({ "dueAfter": low }), want).await;
    let want = expected(|s| due(s).is_some_and(|d| d > low && d < high));
    assert_filter(
        app,
        &token,
        json!({ "dueAfter": low, "dueBefore": high }),
        want,
    )
    .await;
    assert_eq!(
        expected(|s| due(s).is_some_and(|d| d > low && d < high)).len(),
        3
    );
});

backend_tests!(filters_combine, |app| {
    let token = seed(app).await;
    let filter = json!({ "completed": false, "search": "milk", "priorityIn": ["HIGH"] });
    assert_filter(app, &token, filter, expected(|s| s.0 == "Buy MILK")).await;
    let before = "2030-06-01T00:00:00Z";
    let filter =
        json!({ "completed": false, "priorityIn": ["MEDIUM", "HIGH"], "dueBefore": before });
    let want = expected(|s| {
        !s.4 && ["MEDIUM", "HIGH"].contains(&s.2) && due(s).is_some_and(|d| d < before)
    });
    assert_eq!(want.len(), 3);
    assert_filter(app, &token, filter, want).await;
});
