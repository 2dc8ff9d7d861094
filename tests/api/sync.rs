//! Sync: `changes(since:)` as an offline-first client uses it. A full resync without a
//! cursor, incremental pages after every kind of write, paging while writes happen between
//! pages (no repeats, no gaps: the client's copy ends equal to the server's), tombstone
//! expiry, and cursors that are another viewer's, altered, cut or another deployment's.

use serde_json::{Value, json};

use crate::helpers::{Replica, TestApp, assert_bad_input, id};

async fn seed(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    let mut todos = Vec::new();
    for i in 0..n {
        let todo = app
            .create_todo(token, json!({ "title": format!("todo {i:02}") }))
            .await;
        todos.push(todo);
    }
    todos
}

fn ids_of(values: &Value) -> Vec<&str> {
    values
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().or_else(|| v["id"].as_str()).expect("an id"))
        .collect()
}

fn cursor(page: &Value) -> &str {
    page["cursor"].as_str().expect("a cursor")
}

backend_tests!(a_full_sync_lists_every_live_todo_and_no_deletions, |app| {
    let token = app.user("ann").await;
    let todos = seed(app, &token, 5).await;
    app.delete_todo(&token, id(&todos[1])).await;
    let page = app.changes(&token, None).await;
    assert_eq!(page["fullResync"], true, "{page}");
    assert_eq!(page["hasMore"], false, "{page}");
    assert_eq!(page["deletedIds"], json!([]), "{page}");
    let mut upserted: Vec<Value> = page["upserted"].as_array().expect("upserted").clone();
    upserted.sort_by(|a, b| id(a).cmp(id(b)));
    assert_eq!(
        upserted,
        app.all_todos(&token).await,
        "every live todo, every field"
    );

    let next = app.changes(&token, Some(cursor(&page))).await;
    assert_eq!(next["fullResync"], false, "{next}");
    assert_eq!(next["upserted"], json!([]), "{next}");
    assert_eq!(next["deletedIds"], json!([]), "{next}");
    assert_eq!(next["hasMore"], false, "{next}");

    let empty = app.changes(&app.user("bob").await, None).await;
    assert_eq!(empty["upserted"], json!([]), "{empty}");
    assert_eq!(empty["fullResync"], true, "{empty}");
});

backend_tests!(each_kind_of_write_shows_up_in_the_next_pull, |app| {
    let token = app.user("ann").await;
    let mut at = app.changes(&token, None).await;
    let pull = async |at: &mut Value| {
        let page = app.changes(&token, Some(cursor(at))).await;
        assert_eq!(page["fullResync"], false, "{page}");
        assert_eq!(page["hasMore"], false, "{page}");
        *at = page.clone();
        page
    };

    let a = app.create_todo(&token, json!({ "title": "a" })).await;
    let b = app.create_todo(&token, json!({ "title": "b" })).await;
    let page = pull(&mut at).await;
    assert_eq!(page["upserted"], json!([a, b]), "creates, in order");

    app.update_todo(&token, id(&a), json!({ "title": "a1" }))
        .await;
    let a2 = app
        .update_todo(&token, id(&a), json!({ "notes": "n" }))
        .await;
    let page = pull(&mut at).await;
    assert_eq!(page["upserted"], json!([a2]), "once, at its last change");
    assert_eq!(a2["version"], 3);

    let unchanged = app
        .update_todo(&token, id(&b), json!({ "title": "b" }))
        .await;
    assert_eq!(unchanged, b, "a no-op update writes nothing");
    let page = pull(&mut at).await;
    assert_eq!(page["upserted"], json!([]), "nothing changed: {page}");

    app.delete_todo(&token, id(&b)).await;
    let page = pull(&mut at).await;
    assert_eq!(page["upserted"], json!([]), "{page}");
    assert_eq!(ids_of(&page["deletedIds"]), [id(&b)]);

    let c = app.create_todo(&token, json!({ "title": "c" })).await;
    let toggled = app.set_all_completed(&token, true).await;
    let page = pull(&mut at).await;
    assert_eq!(page["upserted"], toggled["todos"], "{page}");
    assert_eq!(toggled["count"], 2);
    let mut toggled_ids = ids_of(&toggled["todos"]);
    toggled_ids.sort();
    let mut expected = vec![id(&a), id(&c)];
    expected.sort();
    assert_eq!(toggled_ids, expected);

    assert_eq!(app.set_all_completed(&token, true).await["count"], 0);
    let page = pull(&mut at).await;
    assert_eq!(
        page["upserted"],
        json!([]),
        "a toggle with nothing to toggle writes nothing"
    );

    let cleared = app.clear_completed(&token).await;
    let page = pull(&mut at).await;
    assert_eq!(page["upserted"], json!([]), "{page}");
    assert_eq!(page["deletedIds"], cleared["deletedIds"], "{page}");
    assert_eq!(cleared["count"], 2);
});

backend_tests!(
    pages_have_no_repeats_or_gaps_while_writes_happen_between_them,
    |app| {
        let token = app.user("ann").await;
        let todos = seed(app, &token, 25).await;
        let mut replica = Replica::default();

        // A full resync a few todos at a time, with writes between the pages: to todos already
        // sent and to todos not yet sent, deletions of both, and new todos.
        let first = replica.pull_page(app, &token, 4).await;
        assert_eq!(first["fullResync"], true);
        let sent: Vec<String> = replica.todos.keys().cloned().collect();
        let unsent: Vec<String> = todos
            .iter()
            .map(|t| id(t).to_owned())
            .filter(|t| !sent.contains(t))
            .collect();
        app.update_todo(
            &token,
            &sent[0],
            json!({ "title": "changed after it was sent" }),
        )
        .await;
        app.delete_todo(&token, &sent[1]).await;
        app.update_todo(&token, &unsent[0], json!({ "completed": true }))
            .await;
        app.delete_todo(&token, &unsent[1]).await;
        let mut written = 0;
        loop {
            let page = replica.pull_page(app, &token, 4).await;
            if page["hasMore"] == false {
                break;
            }
            written += 1;
            app.create_todo(&token, json!({ "title": format!("new {written}") }))
                .await;
            app.update_todo(&token, &unsent[2 + written], json!({ "notes": "x" }))
                .await;
        }
        assert!(written > 3, "several pages");
        // The pass's end resumes deletions from where the pass began.
        let after_pass = replica.pull(app, &token, 4).await;
        assert!(!after_pass.full_resync);
        assert!(
            after_pass.deleted.contains(&sent[1]),
            "a todo sent on the first page and deleted during the pass is reported deleted"
        );
        assert_eq!(replica.sorted(), app.all_todos(&token).await);

        // Incremental pages, with writes between them.
        for round in 0..3 {
            let live = app.all_todos(&token).await;
            app.update_todo(
                &token,
                id(&live[round]),
                json!({ "title": format!("r{round}") }),
            )
            .await;
            app.delete_todo(&token, id(&live[round + 5])).await;
            app.create_todo(&token, json!({ "title": format!("round {round}") }))
                .await;
            replica.pull_page(app, &token, 2).await;
            app.set_all_completed(&token, round % 2 == 0).await;
        }
        let rest = replica.pull(app, &token, 2).await;
        assert!(!rest.full_resync);
        assert_eq!(replica.sorted(), app.all_todos(&token).await);
        app.clear_completed(&token).await;
        replica.pull(app, &token, 3).await;
        assert_eq!(replica.sorted(), app.all_todos(&token).await);
    }
);

backend_tests!(first_is_one_to_a_thousand_and_counts_both_kinds, |app| {
    let token = app.user("ann").await;
    for first in [0, -1, 1001] {
        let error = app.changes_err(&token, Value::Null, json!(first)).await;
        assert_bad_input(&error, "first");
    }
    let todos = seed(app, &token, 3).await;
    let start = app.changes_page(&token, None, Some(1000)).await;
    app.delete_todo(&token, id(&todos[0])).await;
    app.delete_todo(&token, id(&todos[1])).await;
    app.update_todo(&token, id(&todos[2]), json!({ "title": "z" }))
        .await;
    let page = app
        .changes_page(&token, Some(cursor(&start)), Some(2))
        .await;
    assert_eq!(ids_of(&page["deletedIds"]), [id(&todos[0]), id(&todos[1])]);
    assert_eq!(page["upserted"], json!([]));
    assert_eq!(page["hasMore"], true);
    let page = app.changes_page(&token, Some(cursor(&page)), Some(2)).await;
    assert_eq!(ids_of(&page["upserted"]), [id(&todos[2])]);
    assert_eq!(page["hasMore"], false);
    let default = app
        .gql_ok(
            Some(&token),
            "{ changes { hasMore fullResync } }",
            json!({}),
        )
        .await;
    assert_eq!(default["changes"]["fullResync"], true);
});

backend_tests!(
    an_expired_tombstone_turns_an_old_cursor_into_a_full_resync,
    ["--sync-tombstone-ttl", "2s"],
    |app| {
        let token = app.user("ann").await;
        let todos = seed(app, &token, 3).await;
        let before = app.changes(&token, None).await;
        app.delete_todo(&token, id(&todos[0])).await;
        let after = app.changes(&token, Some(cursor(&before))).await;
        assert_eq!(
            ids_of(&after["deletedIds"]),
            [id(&todos[0])],
            "kept for now"
        );
        app.update_todo(&token, id(&todos[1]), json!({ "title": "later" }))
            .await;
        let after = app.changes(&token, Some(cursor(&after))).await;
        // Past the TTL, plus the purge's interval (half the TTL), with room to spare.
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let old = app.changes(&token, Some(cursor(&before))).await;
        assert_eq!(old["fullResync"], true, "its deletions are gone: {old}");
        assert_eq!(old["deletedIds"], json!([]));
        assert_eq!(ids_of(&old["upserted"]), [id(&todos[2]), id(&todos[1])]);
        let recent = app.changes(&token, Some(cursor(&after))).await;
        assert_eq!(recent["fullResync"], false, "it lost nothing: {recent}");
        assert_eq!(recent["upserted"], json!([]), "{recent}");
        let resumed = app.changes(&token, Some(cursor(&old))).await;
        assert_eq!(resumed["fullResync"], false, "{resumed}");
    }
);

backend_tests!(
    another_viewers_altered_or_cut_cursors_are_bad_input,
    |app| {
        let ann = app.user("ann").await;
        let bob = app.user("bob").await;
        seed(app, &ann, 2).await;
        let page = app.changes(&ann, None).await;
        let theirs = cursor(&page);
        let error = app.changes_err(&bob, json!(theirs), Value::Null).await;
        assert_bad_input(&error, "since");
        let mut altered: Vec<char> = theirs.chars().collect();
        let middle = altered.len() / 2;
        altered[middle] = if altered[middle] == 'A' { 'B' } else { 'A' };
        let altered: String = altered.into_iter().collect();
        let cut = &theirs[..theirs.len() - 3];
        for bad in [
            altered.as_str(),
            cut,
            "",
            "not a cursor",
            "AAAA",
            &format!("{theirs}A"),
        ] {
            let error = app.changes_err(&ann, json!(bad), Value::Null).await;
            assert_bad_input(&error, "since");
        }
        // A list cursor is not a sync cursor.
        let list = app.page(&ann, json!({ "first": 1 })).await;
        let error = app
            .changes_err(&ann, list["pageInfo"]["endCursor"].clone(), Value::Null)
            .await;
        assert_bad_input(&error, "since");
        assert_eq!(app.changes(&ann, Some(theirs)).await["fullResync"], false);
    }
);

backend_tests!(another_deployments_cursor_gets_a_full_resync, |app| {
    let ann = app.user("ann").await;
    let todos = seed(app, &ann, 2).await;
    let page = app.changes(&ann, None).await;
    app.delete_todo(&ann, id(&todos[0])).await;
    let other_secret = "another deployment's secret, 0123456789abcdef";
    let other = app.sibling(&["--jwt-secret", other_secret]).await;
    let ann_there = other
        .login("ann@example.com", crate::helpers::PASSWORD)
        .await
        .access;
    let foreign = other.changes(&ann_there, Some(cursor(&page))).await;
    assert_eq!(foreign["fullResync"], true, "{foreign}");
    assert_eq!(ids_of(&foreign["upserted"]), [id(&todos[1])]);
    other.shutdown().await;

    // A deployment that rotated its secret still opens the cursors of the old one.
    let rotated = app
        .sibling(&[
            "--jwt-secret",
            other_secret,
            "--jwt-secret-previous",
            crate::helpers::JWT_SECRET,
        ])
        .await;
    let resumed = rotated.changes(&ann, Some(cursor(&page))).await;
    assert_eq!(resumed["fullResync"], false, "{resumed}");
    assert_eq!(ids_of(&resumed["deletedIds"]), [id(&todos[0])]);
    rotated.shutdown().await;
});

backend_tests!(cursors_survive_a_restart_and_work_on_every_replica, |app| {
    let ann = app.user("ann").await;
    let page = app.changes(&ann, None).await;
    let todo = app.create_todo(&ann, json!({ "title": "a" })).await;
    let replica = app.sibling(&[]).await;
    let there = replica.changes(&ann, Some(cursor(&page))).await;
    assert_eq!(there["fullResync"], false, "{there}");
    assert_eq!(there["upserted"], json!([todo]));
    replica.shutdown().await;
});

backend_tests!(
    each_write_notifies_its_number_once_and_a_no_op_nothing,
    |app| {
        use std::time::Duration;
        let token = app.user("ann").await;
        let owner = app.raw_user_id(&token).await;
        // PostgreSQL replicas hear each other's writes; SQLite has no one else to tell.
        let mut listener = match app.database_url.starts_with("postgres") {
            true => Some(
                crate::helpers::pg::PgListener::start(
                    &app.database_url,
                    "todo_graphql_todo_changes",
                )
                .await,
            ),
            false => None,
        };
        let mut expect = async |seq: Option<u32>| {
            let Some(listener) = listener.as_mut() else {
                return;
            };
            match seq {
                Some(seq) => {
                    let payload = listener.next(Duration::from_secs(5)).await;
                    let payload = payload.expect("a notification");
                    let parts: Vec<&str> = payload.split(' ').collect();
                    assert_eq!(parts[..2], [owner.as_str(), &seq.to_string()], "{payload}");
                    assert!(
                        parts.len() == 3 && parts[2].parse::<i64>().is_ok(),
                        "the sending clock: {payload}"
                    );
                }
                None => assert_eq!(listener.next(Duration::from_millis(300)).await, None),
            }
        };
        let cid = uuid::Uuid::new_v4().to_string();
        let a = app
            .create_todo(&token, json!({ "title": "a", "clientId": cid }))
            .await;
        expect(Some(1)).await;
        app.create_todo(&token, json!({ "title": "a", "clientId": cid }))
            .await;
        expect(None).await;
        app.update_todo(&token, id(&a), json!({ "title": "a2" }))
            .await;
        expect(Some(2)).await;
        app.update_todo(&token, id(&a), json!({ "title": "a2" }))
            .await;
        expect(None).await;
        app.set_all_completed(&token, false).await;
        expect(None).await;
        app.clear_completed(&token).await;
        expect(None).await;
        app.set_all_completed(&token, true).await;
        expect(Some(3)).await;
        app.clear_completed(&token).await;
        expect(Some(4)).await;
        let b = app.create_todo(&token, json!({ "title": "b" })).await;
        expect(Some(5)).await;
        app.delete_todo(&token, id(&b)).await;
        expect(Some(6)).await;
        app.delete_todo_err(&token, id(&b)).await;
        expect(None).await;
    }
);
